/* kernel_cases.h — the cases of tests/kernels: for each line of cases.h
 * (run.sh writes it, with the generated steps in gen.h), the kernel
 * called with constant sizes as generated code will call it (TAG_fwd,
 * TAG_dx, ...) and a table row pairing it with the generated steps
 * (gen_TAG_fwd, ...). kernels.c checks them, throughput.c times them. */
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
static inline dnn_v8x2 dnn_v8x2_fma(dnn_v8x2 a, dnn_v8x2 b, dnn_v8x2 c) {
    return dnn_v8x2_join(dnn_v8_fma(dnn_v8x2_lo(a), dnn_v8x2_lo(b), dnn_v8x2_lo(c)),
                         dnn_v8_fma(dnn_v8x2_hi(a), dnn_v8x2_hi(b), dnn_v8x2_hi(c)));
}
#endif

#include "dnn_kernels.h"
#include "gen.h" /* the generated steps, renamed gen_TAG_ROLE */

/* cases.h lists the cases, one of these a line; each section below defines
 * its own kind and includes cases.h, the others expanding to nothing */
#define DENSE(...)
#define CONV(...)
#define CONVPOOL(...)
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

typedef void dense_step(float *, const float *, const float *, const float *, const float *, const float *, int);
typedef void dense_step_f64(double *, const double *, const double *, const double *, const double *,
                            const double *, int);

typedef struct {
    const char *tag;
    int in, units, bias;
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*dx)(float *, const float *, const float *, int);
    void (*dw)(float *, const float *, const float *, int);
    void (*db)(float *, const float *, int);
    /* dweight and SGD's step in one pass; h: lr, momentum, 1 - dampening, weight decay, nesterov, first */
    void (*dw_sgd)(float *, float *, float *, const float *, const float *, int, const float *);
    void (*gen_fwd)(float *, const float *, const float *, const float *, int);
    dense_step *gen_dx, *gen_dw, *gen_db;
    void (*gen_fwd_small)(float *, const float *, const float *, const float *, int, int, int);
    void (*gen_f64_fwd)(double *, const double *, const double *, const double *, int, int, int);
    dense_step_f64 *gen_f64_dx, *gen_f64_dw, *gen_f64_db;
} DenseCase;

#define DENSE(tag, IN, UNITS, BIAS)                                                                                    \
    {#tag,           IN,           UNITS,           BIAS,           tag##_fwd,           tag##_dx,                     \
     tag##_dw,       tag##_db,     tag##_dw_sgd,    gen_##tag##_fwd, gen_##tag##_dx,     gen_##tag##_dw,               \
     gen_##tag##_db, gen_##tag##_fwd_small, gen_##tag##_f64_fwd, gen_##tag##_f64_dx, gen_##tag##_f64_dw,               \
     gen_##tag##_f64_db},
static const DenseCase dense_cases[] = {
#include "cases.h"
};
#undef DENSE
#define DENSE(...)

/* ---- conv2d: CONV(tag, C, H, W, F, K, S, P, BIAS, FWD, DW, DX) ----------------------------------
 * FWD, DW, DX: the kernel the generated code used (run.sh reads its
 * comment): 0 the direct loops, 1 lanes, 2 columns in the lanes (forward),
 * 3 the rows kernel (weight gradient). */

#define OUT(H, K, S, P) (((H) + 2 * (P) - (K)) / (S) + 1)
#undef CONV
#define CONV(tag, C, H, W, F, K, S, P, BIAS, FWD, DW, DX)                                                             \
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
    int C, H, W, F, K, S, P, bias, fwd_kind, dw_kind, dx_kind;
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*dx)(float *, const float *, const float *, int);
    void (*dw)(float *, const float *, const float *, int);
    void (*db)(float *, const float *, int);
    void (*gen_fwd)(float *, const float *, const float *, const float *, int);
    dense_step *gen_dx, *gen_dw, *gen_db;
    void (*gen_fwd_small)(float *, const float *, const float *, const float *, int);
    void (*gen_f64_fwd)(double *, const double *, const double *, const double *, int);
    dense_step_f64 *gen_f64_dx, *gen_f64_dw, *gen_f64_db;
} ConvCase;

#define CONV(tag, C, H, W, F, K, S, P, BIAS, FWD, DW, DX)                                                             \
    {#tag,          C,              H,              W,                     F,                   K,                  \
     S,             P,              BIAS,           FWD,                   DW,                  DX,                 \
     tag##_fwd,     tag##_dx,       tag##_dw,       tag##_db,              gen_##tag##_fwd,     gen_##tag##_dx,     \
     gen_##tag##_dw, gen_##tag##_db, gen_##tag##_fwd_small, gen_##tag##_f64_fwd, gen_##tag##_f64_dx, gen_##tag##_f64_dw, \
     gen_##tag##_f64_db},
static const ConvCase conv_cases[] = {
#include "cases.h"
};
#undef CONV
#define CONV(...)

/* ---- conv2d → activation → pool: CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT, KIND)
 * KIND: the generated code's kernel: 1 lanes, 2 columns in the lanes, 3 conv rows at a time. */

#undef CONVPOOL
#define CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT, KIND)                                          \
    static void tag##_fwd(float *o, const float *x, const float *w, const float *b, int n) {                         \
        dnn_conv2d_pool_forward(o, x, w, BIAS ? b : NULL, n, C, H, W, F, K, S, P, PK, PS, PP, MAX, act_##ACT);         \
    }
#include "cases.h"
#undef CONVPOOL

typedef struct {
    const char *tag;
    int C, H, W, F, K, S, P, bias, PK, PS, PP, max, kind;
    dnn_act act;
    double (*act_f64)(double);
    void (*fwd)(float *, const float *, const float *, const float *, int);
    void (*gen_fwd)(float *, const float *, const float *, const float *, int);
    void (*gen_small)(float *, const float *, const float *, const float *, int, int, int, int, int, int, int, int,
                      int, int, int, int, int, int, int);
} ConvPoolCase;

#define CONVPOOL(tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, ACT, KIND)                                          \
    {#tag, C, H, W, F, K, S, P, BIAS, PK, PS, PP, MAX, KIND, act_##ACT, act_##ACT##_f64, tag##_fwd, gen_##tag##_fwd, \
     gen_##tag##_fwd_small},
static const ConvPoolCase convpool_cases[] = {
#include "cases.h"
};
#undef CONVPOOL
#define CONVPOOL(...)

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
    void (*gen_fwd)(float *, const float *, int);
    void (*gen_dx)(float *, const float *, const float *, const float *, int);
    void (*gen_fwd_small)(float *, const float *, int);
    void (*gen_f64_fwd)(double *, const double *, int);
    void (*gen_f64_dx)(double *, const double *, const double *, const double *, int);
} PoolCase;

#define POOL(tag, C, H, W, K, S, P, MAX)                                                                              \
    {#tag,           C, H, W, K, S, P, MAX, tag##_fwd, tag##_dx, gen_##tag##_fwd, gen_##tag##_dx, gen_##tag##_fwd_small, \
     gen_##tag##_f64_fwd, gen_##tag##_f64_dx},
static const PoolCase pool_cases[] = {
#include "cases.h"
};
#undef POOL
#define POOL(...)

/* ---- optimizer updates: UPDATE(tag, KIND) ------------------------------------------------------
 * The model tag_model (gen.h includes its header) and the generated
 * tag_update(m, from, to, lr, first[, step_size, bc2_sqrt]); the kernel is
 * called with the hyper-parameters' floats as the generated update
 * computes them. The whole model struct must come out the same. */

typedef void update_fn(void *m, int from, int to, float lr, int first, float step_size, float bc2_sqrt);

/* tag_gen: the generated update; tag_ker: the kernel; tag_set: the
 * hyper-parameters, with weight decay wd */
#define UPDATE_CASE(tag, GEN_ARGS, KERNEL_CALL, SET)                                                                  \
    static void tag##_gen(void *m, int from, int to, float lr, int first, float step_size, float bc2_sqrt) {         \
        (void)step_size, (void)bc2_sqrt;                                                                               \
        tag##_update GEN_ARGS;                                                                                         \
    }                                                                                                                  \
    static void tag##_ker(void *v, int from, int to, float lr, int first, float step_size, float bc2_sqrt) {         \
        tag##_model *m = v;                                                                                            \
        (void)lr, (void)first, (void)step_size, (void)bc2_sqrt;                                                        \
        KERNEL_CALL;                                                                                                   \
    }                                                                                                                  \
    static void tag##_set(void *v, double wd) {                                                                        \
        tag##_model *m = v;                                                                                            \
        m->hparams.weight_decay = wd;                                                                                  \
        SET;                                                                                                           \
    }
#define UPDATE_sgd(tag)                                                                                                \
    UPDATE_CASE(tag, (m, from, to, lr, first),                                                                         \
                dnn_sgd_update(m->params + from, m->grads + from, NULL, to - from, lr, 0.0f, 0.0f,                     \
                               (float)m->hparams.weight_decay, 0, first),                                              \
                (void)0)
#define UPDATE_SGD_MOMENTUM(tag, NESTEROV, DAMPENING)                                                                  \
    UPDATE_CASE(tag, (m, from, to, lr, first),                                                                         \
                dnn_sgd_update(m->params + from, m->grads + from, m->momentum_buffer + from, to - from, lr,            \
                               (float)m->hparams.momentum, (float)(1.0 - m->hparams.dampening),                       \
                               (float)m->hparams.weight_decay, NESTEROV, first),                                       \
                (m->hparams.momentum = 0.9, m->hparams.dampening = DAMPENING))
#define UPDATE_sgd_momentum(tag) UPDATE_SGD_MOMENTUM(tag, 0, 0.1)
#define UPDATE_sgd_nesterov(tag) UPDATE_SGD_MOMENTUM(tag, 1, 0.0)
#define UPDATE_ADAM(tag, DECOUPLED)                                                                                    \
    UPDATE_CASE(tag, (m, from, to, lr, first, step_size, bc2_sqrt),                                                    \
                dnn_adam_update(m->params + from, m->grads + from, m->exp_avg + from, m->exp_avg_sq + from, to - from, \
                                lr, (float)m->hparams.beta1, (float)(1.0 - m->hparams.beta1), (float)m->hparams.beta2, \
                                (float)(1.0 - m->hparams.beta2), (float)m->hparams.eps,                                \
                                (float)m->hparams.weight_decay, DECOUPLED, step_size, bc2_sqrt),                       \
                (m->hparams.beta1 = 0.9, m->hparams.beta2 = 0.999, m->hparams.eps = 1e-8))
#define UPDATE_adam(tag) UPDATE_ADAM(tag, 0)
#define UPDATE_adamw(tag) UPDATE_ADAM(tag, 1)
#define UPDATE_adagrad(tag)                                                                                            \
    UPDATE_CASE(tag, (m, from, to, lr, first),                                                                         \
                dnn_adagrad_update(m->params + from, m->grads + from, m->state_sum + from, to - from, lr,              \
                                   (float)m->hparams.eps, (float)m->hparams.weight_decay),                             \
                m->hparams.eps = 1e-10)
#define UPDATE_RMSPROP(tag, BUFFER, MOMENTUM, SET)                                                                     \
    UPDATE_CASE(tag, (m, from, to, lr, first),                                                                         \
                dnn_rmsprop_update(m->params + from, m->grads + from, m->square_avg + from, BUFFER, to - from, lr,     \
                                   (float)m->hparams.alpha, (float)(1.0 - m->hparams.alpha), (float)m->hparams.eps,    \
                                   MOMENTUM, (float)m->hparams.weight_decay),                                          \
                (m->hparams.alpha = 0.99, m->hparams.eps = 1e-8, SET))
#define UPDATE_rmsprop(tag) UPDATE_RMSPROP(tag, NULL, 0.0f, (void)0)
#define UPDATE_rmsprop_momentum(tag)                                                                                   \
    UPDATE_RMSPROP(tag, m->momentum_buffer + from, (float)m->hparams.momentum, m->hparams.momentum = 0.5)
#undef UPDATE
#define UPDATE(tag, KIND) UPDATE_##KIND(tag)
#include "cases.h"
#undef UPDATE

typedef struct {
    const char *tag;
    size_t size, grads; /* sizeof the model, offsetof its grads */
    update_fn *gen, *ker;
    void (*set)(void *, double);
} UpdateCase;

#define UPDATE(tag, KIND) {#tag, sizeof(tag##_model), offsetof(tag##_model, grads), tag##_gen, tag##_ker, tag##_set},
static const UpdateCase update_cases[] = {
#include "cases.h"
};
#undef UPDATE
#define UPDATE(...)

#endif
