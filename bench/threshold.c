/* bench/threshold.c — a dense forward of 32 samples handed to 1 or 2 threads, by its work: where
 * DNN_PARALLEL_WORK comes from. cc -std=c99 -O3 -march=native -Iruntime bench/threshold.c build/libdnnrt.a -lm */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dnn_host.h"
#include "dnn_kernels.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float x[32 * 1024], w[1024 * 256], b[256], y[32 * 256];
#define PART(IN, U) static void part_##IN##_##U(void *c, int lo, int hi) { (void)c; dnn_dense_forward(y + lo * U, x + lo * IN, w, b, hi - lo, IN, U); }
PART(16, 16) PART(32, 32) PART(64, 32) PART(64, 64) PART(128, 64) PART(256, 64) PART(256, 128) PART(784, 128)
static double run(dnn_parallel_body *f) {
    double t[15];
    for (int r = 0; r < 15; r++) {
        int it = 2000; double t0 = now();
        for (int i = 0; i < it; i++) { if (dnn_parallel_for) dnn_parallel_for(f, NULL, 32); else f(NULL, 0, 32); }
        t[r] = (now() - t0) / it;
    }
    for (int i = 0; i < 15; i++) for (int j = i + 1; j < 15; j++) if (t[j] < t[i]) { double s = t[i]; t[i] = t[j]; t[j] = s; }
    return t[7];
}
int main(void) {
    for (int i = 0; i < 32 * 1024; i++) x[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < 1024 * 256; i++) w[i] = (float)(i % 5) * 0.01f;
    struct { dnn_parallel_body *f; int in, u; } c[] = {{part_16_16, 16, 16}, {part_32_32, 32, 32}, {part_64_32, 64, 32}, {part_64_64, 64, 64},
        {part_128_64, 128, 64}, {part_256_64, 256, 64}, {part_256_128, 256, 128}, {part_784_128, 784, 128}};
    for (int k = 0; k < 8; k++) {
        dnn_set_threads(1); double t1 = run(c[k].f);
        dnn_set_threads(2); double t2 = run(c[k].f);
        printf("work %8ld MACs (32 x %d x %d): 1 thread %8.2f us, 2 threads %8.2f us, speed-up %.2f\n", 32L * c[k].in * c[k].u, c[k].in, c[k].u, t1 * 1e6, t2 * 1e6, t1 / t2);
    }
    return 0;
}
