/* bench_kernels_int8.c — batch-1 inference time of the int8 MLP
 * 784-128-64-10 with runtime/dnn_kernels_int8.h, as generated code would
 * call it: quantize the 784 floats, three dense layers (relu fused in the
 * first two), dequantize the 10 outputs. Sizes are constants and the
 * weights const arrays, as in a model compiled by dnnc. Prints the path the
 * flags selected and the best of 300 runs in ns per inference, whole and for
 * the three dense layers alone. A measurement, not a test:
 *
 *   sh tests/quant/bench.sh        (builds it for each path this CPU runs)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "dnn_kernels_int8.h"

static int8_t w1[128 * 784], w2[64 * 128], w3[10 * 64];
static int32_t b1[128], b2[64], b3[10];
static float m1[128], m2[64], m3[10];

static uint32_t state = 12345;
static uint32_t next(void) { return state = state * 1664525u + 1013904223u; }

static void fill(int8_t *w, int32_t *b, float *m, int rows, int k, int32_t zp_in) {
    for (int i = 0; i < rows * k; i++)
        w[i] = (int8_t)(next() >> 24);
    for (int r = 0; r < rows; r++) {
        b[r] = dnn_q8_fold_bias((int32_t)(next() >> 20) - 2048, w + r * k, k, zp_in);
        m[r] = dnn_q8_requant_scale(0.004f + (float)(next() >> 24) * 1e-5f, 0.02f, 0.6f);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static uint8_t h0[784], h1[128], h2[64], h3[10];

static void layers(void) {
    dnn_q8_dense(h1, h0, w1, b1, m1, 784, 128, 0, 1);
    dnn_q8_dense(h2, h1, w2, b2, m2, 128, 64, 0, 1);
    dnn_q8_dense(h3, h2, w3, b3, m3, 64, 10, 117, 0);
}

static void inference(const float *x, float *y) {
    dnn_q8_quantize(h0, x, 784, 0.02f, 42);
    layers();
    dnn_q8_dequantize(y, h3, 10, 0.1f, 117);
}

/* the best of 300 runs of n calls, in ns per call: short runs, so that on a
 * busy machine some run is not interrupted */
static double best(void (*run)(int), int n) {
    double fastest = 1e30;
    for (int rep = 0; rep < 300; rep++) {
        const double t0 = now();
        run(n);
        const double ns = (now() - t0) / n;
        fastest = ns < fastest ? ns : fastest;
    }
    return fastest;
}

static float x[784], y[10];
static volatile float sink;

static void run_whole(int n) {
    for (int i = 0; i < n; i++) {
        x[i % 784] += 1e-3f; /* a new input each time */
        inference(x, y);
        sink = y[0];
    }
}

static void run_layers(int n) {
    for (int i = 0; i < n; i++) {
        h0[i % 784]++;
        layers();
        sink = h3[0];
    }
}

int main(void) {
    fill(w1, b1, m1, 128, 784, 42);
    fill(w2, b2, m2, 64, 128, 0);
    fill(w3, b3, m3, 10, 64, 0);
    for (int i = 0; i < 784; i++)
        x[i] = (float)(next() >> 8) * 0x1p-24f * 4.0f - 0.8f;
    run_whole(20000); /* warm up */
    const double whole = best(run_whole, 300), dense = best(run_layers, 300);
    printf("%-10s %8.0f ns per MLP inference (784-128-64-10, batch 1; the three dense layers alone %.0f ns)\n",
           DNN_Q8_PATH, whole, dense);
    return 0;
}
