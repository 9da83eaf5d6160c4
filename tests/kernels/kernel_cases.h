/* kernel_cases.h — the cases of tests/kernels: for each line of cases.h
 * (generate.sh writes it) the kernel called with constant sizes, as
 * generated code calls it (TAG_fwd, TAG_dx, ...), and a table row with its
 * sizes. kernels.c checks them, throughput.c times them. */
#ifndef KERNEL_CASES_H
#define KERNEL_CASES_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

#if defined(EMULATE_V8X2) && defined(DNN_V8) && !defined(DNN_V8X2)
/* DNN_V8X2's helpers on two 8-float halves, so that the AVX-512 kernels'
 * blocking is tested on a CPU without AVX-512: each half is computed by
 * the DNN_V8 operations the real instructions match lane for lane. */
#define DNN_V8X2 1
typedef float dnn_v8x2 __attribute__((vector_size(64)));
static inline dnn_v8x2 dnn_v8x2_join(dnn_v8 lo, dnn_v8 hi) {
    float t[16];
    dnn_v8x2 v;
    dnn_v8_store(t, lo);
    dnn_v8_store(t + 8, hi);
    memcpy(&v, t, sizeof v);
    return v;
}
static inline dnn_v8 dnn_v8x2_lo(dnn_v8x2 v) { return dnn_v8_load((const float *)&v); }
static inline dnn_v8 dnn_v8x2_hi(dnn_v8x2 v) { return dnn_v8_load((const float *)&v + 8); }
static inline dnn_v8x2 dnn_v8x2_pair(const float *lo, const float *hi) { return dnn_v8x2_join(dnn_v8_load(lo), dnn_v8_load(hi)); }
static inline dnn_v8x2 dnn_v8x2_twice(const float *p) { return dnn_v8x2_pair(p, p); }
static inline dnn_v8x2 dnn_v8x2_load(const float *p) { return dnn_v8x2_pair(p, p + 8); }
static inline void dnn_v8x2_store(float *p, dnn_v8x2 v) { memcpy(p, &v, sizeof v); }
static inline dnn_v8x2 dnn_v8x2_splat(float x) { return dnn_v8x2_join(dnn_v8_splat(x), dnn_v8_splat(x)); }
static inline dnn_v8x2 dnn_v8x2_fma(dnn_v8x2 a, dnn_v8x2 b, dnn_v8x2 c) {
    return dnn_v8x2_join(dnn_v8_fma(dnn_v8x2_lo(a), dnn_v8x2_lo(b), dnn_v8x2_lo(c)),
                         dnn_v8_fma(dnn_v8x2_hi(a), dnn_v8x2_hi(b), dnn_v8x2_hi(c)));
}
#endif

#include "dnn_kernels.h"

/* cases.h lists the cases, one of these a line; each section below defines
 * its own kind and includes cases.h, the others expanding to nothing */
#define DENSE(...)
#define CONV(...)
#define CONVPOOL(...)
#define GCONV(...)
#define POOL(...)
#define UPDATE(...)

/* The fused activations as generated code computes them (compiler/ops.def). */
static float act_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static float act_leaky_relu(float x) { const float a = 0.01f; return x > 0.0f ? x : a * x; }
static double act_relu_f64(double x) { return x < 0.0 ? 0.0 : x; }
static double act_sigmoid_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
static double act_leaky_relu_f64(double x) { return x > 0.0 ? x : (double)0.01f * x; }
#define act_none NULL
#define act_none_f64 NULL
#define act_relu dnn_relu

/* ---- dense: DENSE(tag, IN, UNITS, BIAS) ---------------------------------------------------- */

#undef DENSE
#define DENSE(tag, IN, UNITS, BIAS)                                                                                    \
    static void tag##_fwd(float *o, const float *x, const float *w, const float *b, int n) {                         \
        dnn_dense_forward(o, x, w, BIAS ? b : NULL, n, IN, UNITS);                                                     \
    }                                                                                                                  \
    static void tag##_fwd_rows(float *o, const float *x, const float *w, const float *b, int n, int row, int rows) {  \
        dnn_dense_forward_rows(o, x, w, BIAS ? b : NULL, n, IN, UNITS, row, rows);                                     \
    }                                                                                                                  \
    static void tag##_fwd_batch_rows(float *o, const float *x, const float *w, const float *b, int n, int row,        \
                                     int rows) {                                                                       \
        dnn_dense_forward_batch_rows(o, x, w, BIAS ? b : NULL, n, IN, UNITS, row, rows);                               \
    }                                                                                                                  \
    static void tag##_dx(float *d, const float *dy, const float *w, int n) {                                          \
        dnn_dense_backward_input(d, dy, w, n, IN, UNITS);                                                              \
    }                                                                                                                  \
    static void tag##_dw(float *d, const float *dy, const float *x, int n) {                                          \
        dnn_dense_backward_weight(d, dy, x, n, IN, UNITS);                                                             \
    }                                                                                                                  \
    static void tag##_db(float *d, const float *dy, int n) { dnn_dense_backward_bias(d, dy, n, UNITS); }          \
    static void tag##_dw_sgd(float *w, float *d, float *buf, const float *dy, const float *x, int n, const float *h) { \
        dnn_dense_backward_weight_sgd(w, d, buf, dy, x, n, IN, UNITS, h[0], h[1], h[2], h[3], (int)h[4], (int)h[5]);  \
    }
#include "cases.h"
#undef DENSE

typedef struct {
    const char *tag;
    int in, units, bias;
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*fwd_rows)(float *, const float *, const float *, const float *, int, int, int); /* rows row .. row + rows */
    void (*fwd_batch_rows)(float *, const float *, const float *, const float *, int, int, int); /* one lane a sample */
    void (*dx)(float *, const float *, const float *, int);
    void (*dw)(float *, const float *, const float *, int);
    void (*db)(float *, const float *, int);
    /* dweight and SGD's step in one pass; h: lr, momentum, 1 - dampening, weight decay, nesterov, first */
    void (*dw_sgd)(float *, float *, float *, const float *, const float *, int, const float *);
} DenseCase;

#define DENSE(tag, IN, UNITS, BIAS) {#tag, IN, UNITS, BIAS, tag##_fwd, tag##_fwd_rows, tag##_fwd_batch_rows, tag##_dx, tag##_dw, tag##_db, tag##_dw_sgd},
static const DenseCase dense_cases[] = {
#include "cases.h"
};
#undef DENSE
#define DENSE(...)

/* ---- conv2d: CONV(tag, C, H, W, F, K, S, P, BIAS) ------------------------------------------------ */

#define OUT(H, K, S, P) (((H) + 2 * (P) - (K)) / (S) + 1)
#undef CONV
#define CONV(tag, C, H, W, F, K, S, P, BIAS)                                                                         \
    static void tag##_fwd(float *o, const float *x, const float *w, const float *b, int n) {                         \
        dnn_conv2d_forward(o, x, w, BIAS ? b : NULL, n, C, H, W, F, K, S, P);                                          \
    }                                                                                                                  \
    static void tag##_dx(float *d, const float *dy, const float *w, int n) {                                          \
        dnn_conv2d_backward_input(d, dy, w, n, C, H, W, F, K, S, P);                                                   \
    }                                                                                                                  \
    static void tag##_dw(float *d, const float *dy, const float *x, int n) {                                          \
        dnn_conv2d_backward_weight(d, dy, x, n, C, H, W, F, K, S, P);                                                  \
    }                                                                                                                  \
    static void tag##_db(float *d, const float *dy, int n) {                                                          \
        dnn_conv2d_backward_bias(d, dy, n, F, OUT(H, K, S, P), OUT(W, K, S, P));                                       \
    }
#include "cases.h"
#undef CONV

typedef struct {
    const char *tag;
    int C, H, W, F, K, S, P, bias;
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*dx)(float *, const float *, const float *, int);
    void (*dw)(float *, const float *, const float *, int);
    void (*db)(float *, const float *, int);
} ConvCase;

#define CONV(tag, C, H, W, F, K, S, P, BIAS) {#tag, C, H, W, F, K, S, P, BIAS, tag##_fwd, tag##_dx, tag##_dw, tag##_db},
static const ConvCase conv_cases[] = {
#include "cases.h"
};
#undef CONV
#define CONV(...)

/* ---- conv2d → activation → pool: CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT) ---- */

#undef CONVPOOL
#define CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT)                                                \
    static void tag##_fwd(float *o, const float *x, const float *w, const float *b, int n) {                         \
        dnn_conv2d_pool_forward(o, x, w, BIAS ? b : NULL, n, C, H, W, F, K, S, P, PK, PS, PP, MAX, act_##ACT);         \
    }
#include "cases.h"
#undef CONVPOOL

typedef struct {
    const char *tag;
    int C, H, W, F, K, S, P, bias, PK, PS, PP, max;
    dnn_act act;
    double (*act_f64)(double);
    void (*fwd)(float *, const float *, const float *, const float *, int);
} ConvPoolCase;

#define CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT)                                                \
    {#tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, act_##ACT, act_##ACT##_f64, tag##_fwd},
static const ConvPoolCase convpool_cases[] = {
#include "cases.h"
};
#undef CONVPOOL
#define CONVPOOL(...)

/* ---- grouped conv2d: GCONV(tag, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, BIAS) ------------ */

#define GOUT(H, K, S, P0, P1) (((H) + (P0) + (P1) - (K)) / (S) + 1)
#undef GCONV
#define GCONV(tag, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, BIAS)                                              \
    static void tag##_fwd(float *o, const float *x, const float *w, const float *b, int n) {                         \
        dnn_conv2d_grouped_forward(o, x, w, BIAS ? b : NULL, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);       \
    }                                                                                                                  \
    static void tag##_dx(float *d, const float *dy, const float *w, int n) {                                          \
        dnn_conv2d_grouped_backward_input(d, dy, w, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);                \
    }                                                                                                                  \
    static void tag##_dw(float *d, const float *dy, const float *x, int n) {                                          \
        dnn_conv2d_grouped_backward_weight(d, dy, x, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);               \
    }
#include "cases.h"
#undef GCONV

typedef struct {
    const char *tag;
    int C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, bias;
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*dx)(float *, const float *, const float *, int);
    void (*dw)(float *, const float *, const float *, int);
} GroupConvCase;

#define GCONV(tag, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, BIAS)                                              \
    {#tag, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, BIAS, tag##_fwd, tag##_dx, tag##_dw},
static const GroupConvCase gconv_cases[] = {
#include "cases.h"
};
#undef GCONV
#define GCONV(...)

/* ---- pooling: POOL(tag, C, H, W, K, S, P, MAX) ------------------------------------------------- */

#undef POOL
#define POOL(tag, C, H, W, K, S, P, MAX)                                                                              \
    static void tag##_fwd(float *o, const float *x, int n) { dnn_pool_forward(o, x, n, C, H, W, K, S, P, MAX); }     \
    static void tag##_dx(float *d, const float *dy, const float *x, const float *y, int n) {                        \
        dnn_pool_backward(d, dy, x, y, n, C, H, W, K, S, P, MAX);                                                      \
    }
#include "cases.h"
#undef POOL

typedef struct {
    const char *tag;
    int C, H, W, K, S, P, max;
    void (*fwd)(float *, const float *, int);
    void (*dx)(float *, const float *, const float *, const float *, int);
} PoolCase;

#define POOL(tag, C, H, W, K, S, P, MAX) {#tag, C, H, W, K, S, P, MAX, tag##_fwd, tag##_dx},
static const PoolCase pool_cases[] = {
#include "cases.h"
};
#undef POOL
#define POOL(...)

/* ---- optimizer updates: UPDATE(tag, KIND) ------------------------------------------------------
 * The kernel's loop over `count` parameters (tag_update: 8 at a time with
 * DNN_V8, then one at a time) and its step of one parameter (tag_step),
 * with the hyper-parameters h: lr, momentum (or beta1, alpha), 1 − dampening
 * (1 − beta1, 1 − alpha), weight decay, beta2, first (1 − beta2), eps,
 * step_size, bc2_sqrt. s0, s1: the state arrays. */

typedef void update_fn(float *p, const float *g, float *s0, float *s1, int count, const float *h);

#define UPDATE_SGD(tag, BUFFER, NESTEROV)                                                                               \
    static void tag##_update(float *p, const float *g, float *s0, float *s1, int count, const float *h) {           \
        (void)s0, (void)s1;                                                                                            \
        dnn_sgd_update(p, g, BUFFER, count, h[0], h[1], h[2], h[3], NESTEROV, (int)h[5]);                              \
    }                                                                                                                  \
    static void tag##_step(float *p, const float *g, float *s0, float *s1, int count, const float *h) {             \
        (void)s0, (void)s1, (void)count;                                                                               \
        dnn_sgd_step(p, g, BUFFER, h[0], h[1], h[2], h[3], NESTEROV, (int)h[5]);                                       \
    }
#define UPDATE_sgd(tag) UPDATE_SGD(tag, NULL, 0)
#define UPDATE_sgd_momentum(tag) UPDATE_SGD(tag, s0, 0)
#define UPDATE_sgd_nesterov(tag) UPDATE_SGD(tag, s0, 1)
#define UPDATE_ADAM(tag, DECOUPLED)                                                                                    \
    static void tag##_update(float *p, const float *g, float *s0, float *s1, int count, const float *h) {           \
        dnn_adam_update(p, g, s0, s1, count, h[0], h[1], h[2], h[4], h[5], h[6], h[3], DECOUPLED, h[7], h[8]);         \
    }                                                                                                                  \
    static void tag##_step(float *p, const float *g, float *s0, float *s1, int count, const float *h) {             \
        (void)count;                                                                                                   \
        dnn_adam_step(p, g, s0, s1, h[0], h[1], h[2], h[4], h[5], h[6], h[3], DECOUPLED, h[7], h[8]);                  \
    }
#define UPDATE_adam(tag) UPDATE_ADAM(tag, 0)
#define UPDATE_adamw(tag) UPDATE_ADAM(tag, 1)
#define UPDATE_adagrad(tag)                                                                                            \
    static void tag##_update(float *p, const float *g, float *s0, float *s1, int count, const float *h) {           \
        (void)s1;                                                                                                      \
        dnn_adagrad_update(p, g, s0, count, h[0], h[6], h[3]);                                                         \
    }                                                                                                                  \
    static void tag##_step(float *p, const float *g, float *s0, float *s1, int count, const float *h) {             \
        (void)s1, (void)count;                                                                                         \
        dnn_adagrad_step(p, g, s0, h[0], h[6], h[3]);                                                                  \
    }
#define UPDATE_RMSPROP(tag, BUFFER)                                                                                    \
    static void tag##_update(float *p, const float *g, float *s0, float *s1, int count, const float *h) {           \
        (void)s1;                                                                                                      \
        dnn_rmsprop_update(p, g, s0, BUFFER, count, h[0], h[1], h[2], h[6], h[4], h[3]);                               \
    }                                                                                                                  \
    static void tag##_step(float *p, const float *g, float *s0, float *s1, int count, const float *h) {             \
        (void)s1, (void)count;                                                                                         \
        dnn_rmsprop_step(p, g, s0, BUFFER, h[0], h[1], h[2], h[6], h[4], h[3]);                                        \
    }
#define UPDATE_rmsprop(tag) UPDATE_RMSPROP(tag, NULL)
#define UPDATE_rmsprop_momentum(tag) UPDATE_RMSPROP(tag, s1)
#undef UPDATE
#define UPDATE(tag, KIND) UPDATE_##KIND(tag)
#include "cases.h"
#undef UPDATE

typedef struct {
    const char *tag;
    int states;                     /* state arrays: 0, 1 or 2 */
    update_fn *update, *step;
} UpdateCase;

#define UPDATE_STATES_sgd 0
#define UPDATE_STATES_sgd_momentum 1
#define UPDATE_STATES_sgd_nesterov 1
#define UPDATE_STATES_adam 2
#define UPDATE_STATES_adamw 2
#define UPDATE_STATES_adagrad 1
#define UPDATE_STATES_rmsprop 1
#define UPDATE_STATES_rmsprop_momentum 2
#define UPDATE(tag, KIND) {#tag, UPDATE_STATES_##KIND, tag##_update, tag##_step},
static const UpdateCase update_cases[] = {
#include "cases.h"
};
#undef UPDATE
#define UPDATE(...)

#endif
