/* fuzz.h — what the libFuzzer targets share: a check of the results'
 * sense that aborts (libFuzzer then saves the input as a crash). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) \
    ((cond) ? (void)0 : (fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond), abort()))

#endif
