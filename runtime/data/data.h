/* data.h — what the data readers (runtime/data) share; not installed.
 * Small helpers are static inline here, so the library exports nothing
 * but the dnn_ functions of dnn_data.h.
 */
#ifndef DNN_DATA_PRIVATE_H
#define DNN_DATA_PRIVATE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

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

/* Asks Linux to back the 2 MB-aligned part of a large buffer with huge
 * pages: one fault per 2 MB instead of one per 4 KB page as the buffer
 * fills (47 MB of Fashion-MNIST bytes: 11,500 faults, 0.1 s in a VM).
 * Only a file that defines _DEFAULT_SOURCE sees madvise; elsewhere, and
 * off Linux, this does nothing. */
static inline void advise_huge(void *buf, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t huge = (uintptr_t)1 << 21, start = ((uintptr_t)buf + huge - 1) & ~(huge - 1),
              end = ((uintptr_t)buf + bytes) & ~(huge - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice: a failure changes nothing */
#else
    (void)buf, (void)bytes;
#endif
}

/* Room for more of the `count` elements (of elem bytes) a header
 * announces. The first call makes room for `first` of them (the most the
 * file's size allows, 0 when unknown; at least 16384, at most count), so
 * a file that holds what its header says is read into one allocation,
 * while a short file whose header claims terabytes ends as "truncated",
 * not as a huge allocation; each later call doubles the room. Returns the
 * new array, or NULL (out of memory; buf is still the caller's). */
static inline void *grow(void *buf, size_t *cap, size_t count, size_t elem, size_t first) {
    size_t start = first > 16384 ? first : 16384;
    size_t more = *cap ? (*cap < count - *cap ? 2 * *cap : count) : (count < start ? count : start);
    void *bigger = realloc(buf, (more ? more : 1) * elem);
    if (!bigger && !*cap && more > 16384) /* a bound too large to allocate: grow as the elements arrive */
        return grow(buf, cap, count, elem, 0);
    if (bigger) {
        *cap = more;
        advise_huge(bigger, more * elem);
    }
    return bigger;
}

#endif
