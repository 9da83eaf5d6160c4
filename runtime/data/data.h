/* data.h — what the data readers (runtime/data) share; not installed.
 * Small helpers are static inline here, so the library exports nothing
 * but the dnn_ functions of dnn_data.h.
 */
#ifndef DNN_DATA_PRIVATE_H
#define DNN_DATA_PRIVATE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes the message into msg (when there is one) and returns code. */
static inline int say(char *msg, size_t msgcap, int code, const char *fmt, ...) {
    if (msg && msgcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msgcap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Room for more of the `count` elements (of elem bytes) a header
 * announces: buf grows (to at most count, at least 1) as the elements
 * arrive, so a short file whose header claims terabytes ends as
 * "truncated", not as a huge allocation. Returns the new array, or NULL
 * (out of memory; buf is still the caller's). */
static inline void *grow(void *buf, size_t *cap, size_t count, size_t elem) {
    size_t more = *cap ? (*cap < count - *cap ? 2 * *cap : count) : (count < 16384 ? count : 16384);
    void *bigger = realloc(buf, (more ? more : 1) * elem);
    if (bigger)
        *cap = more;
    return bigger;
}

#endif
