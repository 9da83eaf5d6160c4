/* report.h — what the reports (runtime/report) share; not installed: the
 * string builder every file is written from. Static inline, so the
 * library exports nothing but the dnn_ functions of dnn_report.h.
 */
#ifndef DNN_REPORT_PRIVATE_H
#define DNN_REPORT_PRIVATE_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn_host.h"

/* A growing string; oom is set (and appends ignored) once malloc fails. */
typedef struct sbuf {
    char *p;     /* NUL-terminated text, or NULL before the first append */
    size_t len;  /* characters in p */
    size_t cap;  /* bytes allocated */
    int oom;     /* an allocation failed */
} sbuf;

static inline void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *q;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        if (!(q = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Writes the built text to path atomically and frees it. */
static inline int sb_write(sbuf *b, const char *path, char *msg, size_t msgcap) {
    int r;
    if (b->oom) {
        free(b->p);
        return dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory");
    }
    r = dnn_write_file_atomic(path, b->p ? b->p : "", b->len);
    free(b->p);
    if (r == DNN_E_ARG)
        return dnn_errorf(msg, msgcap, r, path, "path too long");
    if (r != DNN_OK)
        return dnn_errorf(msg, msgcap, r, path, "cannot write: %s", strerror(errno));
    return DNN_OK;
}

#endif
