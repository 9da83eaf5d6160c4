/* kernels.c — every kernel of runtime/dnn_kernels.h against dnnc's
 * generated code and against its plain reference.
 *
 * run.sh writes models with layers of many shapes (cases.h lists them,
 * one X-macro line each), compiles them with dnnc — for speed, for size
 * (--optimize=size), --inference (fused conv → act → pool) and --main (the
 * double twin) — and extracts their step functions into gen.h, renamed
 * gen_TAG_ROLE. For every case and every sample count n up to NMAX_*:
 *   1. the kernel, called with constant sizes as generated code will call
 *      it, gives the same bits as the generated step (outputs compared
 *      with memcmp, NaNs included);
 *   2. the kernel is within rounding of the plain reference in double:
 *      |kernel − ref| <= (terms + 2) · 2^-23 · ref(|operands|), the sum of
 *      the terms' magnitudes;
 *   3. the plain kernels give the same bits as the generic code of
 *      --optimize=size (float) and of the double twin.
 * Built once per path (run.sh: AVX2, AVX-512 or its emulation, plain C).
 * Prints a FAIL line per difference and a summary; exits 1 on any. */
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

enum { NMAX_DENSE = 9, NMAX_CONV = 3 };

/* The fused activations as generated code computes them (compiler/ops.def). */
static float act_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static float act_leaky_relu(float x) { const float a = 0.01f; return x > 0.0f ? x : a * x; }
static double act_relu_f64(double x) { return x < 0.0 ? 0.0 : x; }
static double act_sigmoid_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
static double act_leaky_relu_f64(double x) { return x > 0.0 ? x : (double)0.01f * x; }
#define act_none NULL
#define act_none_f64 NULL
#define act_relu dnn_relu

static int failures, checks;

static void fail(const char *tag, const char *what, int n, const char *fmt, double a, double b) {
    if (++failures <= 40) {
        printf("FAIL %s %s n=%d: ", tag, what, n);
        printf(fmt, a, b);
        printf("\n");
    }
}

/* The generated step and the kernel wrote the same bits. */
static void same(const char *tag, const char *what, int n, const void *gen, const void *ker, size_t bytes, int dbl) {
    checks++;
    if (!memcmp(gen, ker, bytes))
        return;
    size_t i = 0, size = dbl ? sizeof(double) : sizeof(float);
    while (!memcmp((const char *)gen + i * size, (const char *)ker + i * size, size))
        i++;
    double a = dbl ? ((const double *)gen)[i] : ((const float *)gen)[i];
    double b = dbl ? ((const double *)ker)[i] : ((const float *)ker)[i];
    char at[64];
    snprintf(at, sizeof at, "element %zu: generated %%.9g, kernel %%.9g", i);
    fail(tag, what, n, at, a, b);
}

/* got within (terms + 2) · 2^-23 · mag of ref, element by element (plus
 * `absolute`, for an activation's own rounding) */
static void close_to(const char *tag, const char *what, int n, const float *got, const double *ref, const double *mag,
                     size_t count, int terms, double absolute) {
    checks++;
    for (size_t i = 0; i < count; i++) {
        const double tol = (terms + 2) * ldexp(1.0, -23) * mag[i] + absolute + 1e-30;
        if (!(fabs(got[i] - ref[i]) <= tol)) {
            fail(tag, what, n, "kernel %.9g, reference %.9g", got[i], ref[i]);
            return;
        }
    }
}

/* Where a check puts its results: the generated step's (g), the kernel's
 * (k), the plain reference in double (ref), the reference on the operands'
 * magnitudes (mag) and the double twin's step (twin). */
typedef struct {
    float *g, *k;
    double *ref, *mag, *twin;
} Results;

static Results results(size_t count) {
    Results r = {calloc(count + 1, sizeof(float)), calloc(count + 1, sizeof(float)),
                 calloc(count + 1, sizeof(double)), calloc(count + 1, sizeof(double)),
                 calloc(count + 1, sizeof(double))};
    if (!r.g || !r.k || !r.ref || !r.mag || !r.twin) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return r;
}

static void release_results(Results *r) { free(r->g), free(r->k), free(r->ref), free(r->mag), free(r->twin); }

/* The kernel gave the generated step's bits and is within rounding of the
 * reference (terms: the most terms an output sums); the plain kernel in
 * double (ref) gave the double twin's bits. */
static void verify(const char *tag, const char *what, int n, const Results *r, size_t count, int terms) {
    char twin[96];
    same(tag, what, n, r->g, r->k, count * sizeof(float), 0);
    close_to(tag, what, n, r->k, r->ref, r->mag, count, terms, 0);
    snprintf(twin, sizeof twin, "%s: the double twin vs plain_f64", what);
    same(tag, twin, n, r->twin, r->ref, count * sizeof(double), 1);
}

/* ---- data ------------------------------------------------------------------------------- */

static unsigned long long seed = 1;
static double uniform(void) { /* [-1, 1) */
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* float arrays with a double copy and a double copy of the magnitudes */
typedef struct {
    float *f;
    double *d, *a;
    size_t count;
} Data;

static Data data(size_t count) {
    Data x = {calloc(count + 1, sizeof(float)), calloc(count + 1, sizeof(double)), calloc(count + 1, sizeof(double)),
              count};
    if (!x.f || !x.d || !x.a) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < count; i++) {
        x.f[i] = (float)uniform();
        x.d[i] = x.f[i];
        x.a[i] = fabs(x.d[i]);
    }
    return x;
}

/* Small integers with ties, -0 and NaN: where a pool's choice and relu's
 * NaN and -0 show (the sums of conv2d stay exact when the weights are
 * small integers too). */
static void ties(Data *x, int nan_one_in) {
    static const float v[] = {-1.0f, -0.0f, 0.0f, 1.0f, 2.0f};
    for (size_t i = 0; i < x->count; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x->f[i] = nan_one_in && (seed >> 33) % (unsigned)nan_one_in == 0 ? NAN : v[(seed >> 40) % 5];
        x->d[i] = x->f[i];
    }
}

static void release(Data *x) { free(x->f), free(x->d), free(x->a); }
static float *floats(size_t count) { return calloc(count + 1, sizeof(float)); }
static double *doubles(size_t count) { return calloc(count + 1, sizeof(double)); }

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
    static void tag##_db(float *d, const float *dy, int n) { dnn_dense_backward_bias(d, dy, n, UNITS); }
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
    void (*gen_fwd)(float *, const float *, const float *, const float *, int);
    dense_step *gen_dx, *gen_dw, *gen_db;
    void (*gen_fwd_small)(float *, const float *, const float *, const float *, int, int, int);
    void (*gen_f64_fwd)(double *, const double *, const double *, const double *, int, int, int);
    dense_step_f64 *gen_f64_dx, *gen_f64_dw, *gen_f64_db;
} DenseCase;

#define DENSE(tag, IN, UNITS, BIAS)                                                                                    \
    {#tag,           IN,           UNITS,           BIAS,           tag##_fwd,           tag##_dx,                     \
     tag##_dw,       tag##_db,     gen_##tag##_fwd, gen_##tag##_dx, gen_##tag##_dw,      gen_##tag##_db,               \
     gen_##tag##_fwd_small, gen_##tag##_f64_fwd, gen_##tag##_f64_dx, gen_##tag##_f64_dw, gen_##tag##_f64_db},
static const DenseCase dense_cases[] = {
#include "cases.h"
};
#undef DENSE
#define DENSE(...)

static void check_dense(const DenseCase *c) {
    const int in = c->in, units = c->units, N = NMAX_DENSE;
    Data x = data((size_t)N * in), w = data((size_t)units * in), b = data((size_t)units), dy = data((size_t)N * units);
    const float *bias = c->bias ? b.f : NULL;
    const double *bias_d = c->bias ? b.d : NULL, *bias_a = c->bias ? b.a : NULL;
    Results r = results((size_t)(N > units ? N : units) * in);
    for (int n = 1; n <= N; n++) {
        const size_t nout = (size_t)n * units, nin = (size_t)n * in, nw = (size_t)units * in;
        c->gen_fwd(r.g, x.f, w.f, b.f, n);
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_dense_forward_plain_f64(r.ref, x.d, w.d, bias_d, n, in, units);
        dnn_dense_forward_plain_f64(r.mag, x.a, w.a, bias_a, n, in, units);
        c->gen_f64_fwd(r.twin, x.d, w.d, b.d, n, in, units);
        verify(c->tag, "forward", n, &r, nout, in + 1);
        c->gen_fwd_small(r.g, x.f, w.f, b.f, n, in, units);
        dnn_dense_forward_plain(r.k, x.f, w.f, bias, n, in, units);
        same(c->tag, "forward_plain vs --optimize=size", n, r.g, r.k, nout * sizeof(float), 0);

        c->gen_dx(r.g, dy.f, x.f, w.f, b.f, NULL, n);
        c->dx(r.k, dy.f, w.f, n);
        dnn_dense_backward_input_plain_f64(r.ref, dy.d, w.d, n, in, units);
        dnn_dense_backward_input_plain_f64(r.mag, dy.a, w.a, n, in, units);
        c->gen_f64_dx(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
        verify(c->tag, "backward_input", n, &r, nin, units);

        c->gen_dw(r.g, dy.f, x.f, w.f, b.f, NULL, n);
        c->dw(r.k, dy.f, x.f, n);
        dnn_dense_backward_weight_plain_f64(r.ref, dy.d, x.d, n, in, units);
        dnn_dense_backward_weight_plain_f64(r.mag, dy.a, x.a, n, in, units);
        c->gen_f64_dw(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
        verify(c->tag, "backward_weight", n, &r, nw, n);

        if (c->gen_db) {
            c->gen_db(r.g, dy.f, x.f, w.f, b.f, NULL, n);
            c->db(r.k, dy.f, n);
            dnn_dense_backward_bias_plain_f64(r.ref, dy.d, n, units);
            dnn_dense_backward_bias_plain_f64(r.mag, dy.a, n, units);
            c->gen_f64_db(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
            verify(c->tag, "backward_bias", n, &r, (size_t)units, n);
        }
    }
    release(&x), release(&w), release(&b), release(&dy);
    release_results(&r);
}

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

/* The kernel each dispatcher takes, in the codes of CONV's FWD, DW, DX. */
static int fwd_kind(int C, int H, int W, int F, int K, int S, int P) {
    return dnn_conv2d_cols_fit(C, H, W, F, K, S, P, 0, 0, 0, NULL) ? 2 : dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F);
}
static int dw_kind(int C, int H, int W, int F, int K, int S, int P) {
    return K <= DNN_TILE_ACCS && dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F) ? 1 : S == 1 ? 3 : 0;
}
static int dx_kind(int C, int H, int W, int F, int K, int S, int P) {
    return K <= DNN_TILE_ACCS && dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, C);
}

static void check_conv(const ConvCase *c) {
    const int C = c->C, H = c->H, W = c->W, F = c->F, K = c->K, S = c->S, P = c->P, N = NMAX_CONV;
    const int OH = OUT(H, K, S, P), OW = OUT(W, K, S, P);
    const size_t in = (size_t)C * H * W, out = (size_t)F * OH * OW, nw = (size_t)F * C * K * K;
    Data x = data(N * in), w = data(nw), b = data((size_t)F), dy = data(N * out);
    const double *bias_d = c->bias ? b.d : NULL, *bias_a = c->bias ? b.a : NULL;
    const size_t most = N * in > N * out ? N * in : N * out;
    Results r = results(most > nw ? most : nw);
    checks++;
    if (fwd_kind(C, H, W, F, K, S, P) != c->fwd_kind || dw_kind(C, H, W, F, K, S, P) != c->dw_kind ||
        dx_kind(C, H, W, F, K, S, P) != c->dx_kind)
        fail(c->tag, "the kernels chosen (forward, weight gradient; input gradient)", 0,
             "the generated code's are not the dispatchers' (%g; %g)",
             c->fwd_kind * 100 + c->dw_kind * 10 + c->dx_kind,
             fwd_kind(C, H, W, F, K, S, P) * 100 + dw_kind(C, H, W, F, K, S, P) * 10 + dx_kind(C, H, W, F, K, S, P));
    for (int n = 1; n <= N; n++) {
        c->gen_fwd(r.g, x.f, w.f, b.f, n);
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_conv2d_forward_plain_f64(r.ref, x.d, w.d, bias_d, n, C, H, W, F, K, S, P);
        dnn_conv2d_forward_plain_f64(r.mag, x.a, w.a, bias_a, n, C, H, W, F, K, S, P);
        c->gen_f64_fwd(r.twin, x.d, w.d, b.d, n);
        verify(c->tag, "forward", n, &r, n * out, C * K * K + 1);
        c->gen_fwd_small(r.g, x.f, w.f, b.f, n);
        dnn_conv2d_forward_plain(r.k, x.f, w.f, c->bias ? b.f : NULL, n, C, H, W, F, K, S, P);
        same(c->tag, "forward_plain vs --optimize=size", n, r.g, r.k, n * out * sizeof(float), 0);

        c->gen_dx(r.g, dy.f, x.f, w.f, b.f, NULL, n);
        c->dx(r.k, dy.f, w.f, n);
        dnn_conv2d_backward_input_plain_f64(r.ref, dy.d, w.d, n, C, H, W, F, K, S, P);
        dnn_conv2d_backward_input_plain_f64(r.mag, dy.a, w.a, n, C, H, W, F, K, S, P);
        c->gen_f64_dx(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
        verify(c->tag, "backward_input", n, &r, n * in, F * K * K);

        c->gen_dw(r.g, dy.f, x.f, w.f, b.f, NULL, n);
        c->dw(r.k, dy.f, x.f, n);
        dnn_conv2d_backward_weight_plain_f64(r.ref, dy.d, x.d, n, C, H, W, F, K, S, P);
        dnn_conv2d_backward_weight_plain_f64(r.mag, dy.a, x.a, n, C, H, W, F, K, S, P);
        c->gen_f64_dw(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
        verify(c->tag, "backward_weight", n, &r, nw, n * OH * OW);

        if (c->gen_db) {
            c->gen_db(r.g, dy.f, x.f, w.f, b.f, NULL, n);
            c->db(r.k, dy.f, n);
            dnn_conv2d_backward_bias_plain_f64(r.ref, dy.d, n, F, OH, OW);
            dnn_conv2d_backward_bias_plain_f64(r.mag, dy.a, n, F, OH, OW);
            c->gen_f64_db(r.twin, dy.d, x.d, w.d, b.d, NULL, n);
            verify(c->tag, "backward_bias", n, &r, (size_t)F, n * OH * OW);
        }
    }
    release(&x), release(&w), release(&b), release(&dy);
    release_results(&r);
}

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

static void check_convpool(const ConvPoolCase *c) {
    const int C = c->C, H = c->H, W = c->W, F = c->F, K = c->K, S = c->S, P = c->P, N = NMAX_CONV;
    const int OH = OUT(H, K, S, P), OW = OUT(W, K, S, P), PH = OUT(OH, c->PK, c->PS, c->PP),
              PW = OUT(OW, c->PK, c->PS, c->PP);
    const size_t in = (size_t)C * H * W, out = (size_t)F * PH * PW, nw = (size_t)F * C * K * K;
    Data x = data(N * in), w = data(nw), b = data((size_t)F);
    float *g = floats(N * out), *k = floats(N * out);
    double *ref = doubles(N * out), *mag = doubles(N * out);
    const float *bias = c->bias ? b.f : NULL;
    const int kind = dnn_conv2d_cols_fit(C, H, W, F, K, S, P, c->PK, c->PS, c->PP, c->act)              ? 2
                     : dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F) && c->PP == 0 ? 1
                                                                                   : 3;
    checks++;
    if (kind != c->kind)
        fail(c->tag, "the kernel chosen", 0, "generated %g, dispatcher %g", c->kind, kind);
    for (int pass = 0; pass < 2; pass++) { /* random values, then ties, -0 and NaNs */
        for (int n = 1; n <= N; n++) {
            const char *what = pass ? "forward on ties and NaNs" : "forward";
            c->gen_fwd(g, x.f, w.f, b.f, n);
            c->fwd(k, x.f, w.f, b.f, n);
            same(c->tag, what, n, g, k, n * out * sizeof(float), 0);
            c->gen_small(g, x.f, w.f, b.f, n, F, OH, OW, C, H, W, K, S, P, PH, PW, c->PK, c->PS, c->PP);
            dnn_conv2d_pool_forward_plain(k, x.f, w.f, bias, n, C, H, W, F, K, S, P, c->PK, c->PS, c->PP, c->max, c->act);
            same(c->tag, pass ? "forward_plain vs --optimize=size on ties" : "forward_plain vs --optimize=size", n, g, k,
                 n * out * sizeof(float), 0);
            if (pass)
                continue;
            c->fwd(k, x.f, w.f, b.f, n);
            dnn_conv2d_pool_forward_plain_f64(ref, x.d, w.d, c->bias ? b.d : NULL, n, C, H, W, F, K, S, P, c->PK, c->PS,
                                              c->PP, c->max, c->act_f64);
            dnn_conv2d_pool_forward_plain_f64(mag, x.a, w.a, c->bias ? b.a : NULL, n, C, H, W, F, K, S, P, c->PK,
                                              c->PS, c->PP, c->max, NULL);
            close_to(c->tag, "forward vs reference", n, k, ref, mag, n * out, C * K * K + 1, c->act_f64 ? 1e-6 : 0);
        }
        ties(&x, 50), ties(&w, 0), ties(&b, 0);
    }
    release(&x), release(&w), release(&b);
    free(g), free(k), free(ref), free(mag);
}

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

static void check_pool(const PoolCase *c) {
    const int C = c->C, H = c->H, W = c->W, K = c->K, S = c->S, P = c->P, N = NMAX_CONV;
    const size_t in = (size_t)C * H * W, out = (size_t)C * OUT(H, K, S, P) * OUT(W, K, S, P);
    Data x = data(N * in), dy = data(N * out);
    float *y = floats(N * out), *g = floats(N * in), *k = floats(N * in);
    double *yd = doubles(N * out), *gd = doubles(N * in), *kd = doubles(N * in);
    for (int pass = 0; pass < 2; pass++) { /* random values, then ties and NaNs */
        for (int n = 1; n <= N; n++) {
            c->gen_fwd(g, x.f, n);
            c->fwd(k, x.f, n);
            same(c->tag, pass ? "forward on ties" : "forward", n, g, k, n * out * sizeof(float), 0);
            dnn_pool_forward_plain(g, x.f, n, C, H, W, K, S, P, c->max);
            same(c->tag, pass ? "forward vs plain on ties" : "forward vs plain", n, g, k, n * out * sizeof(float), 0);
            c->gen_fwd_small(g, x.f, n);
            same(c->tag, "forward_plain vs --optimize=size", n, g, k, n * out * sizeof(float), 0);
            memcpy(y, k, n * out * sizeof(float));
            c->gen_dx(g, dy.f, x.f, y, n);
            c->dx(k, dy.f, x.f, y, n);
            same(c->tag, pass ? "backward on ties" : "backward", n, g, k, n * in * sizeof(float), 0);
            dnn_pool_backward_plain(g, dy.f, x.f, n, C, H, W, K, S, P, c->max);
            same(c->tag, pass ? "backward vs plain on ties" : "backward vs plain", n, g, k, n * in * sizeof(float), 0);
            c->gen_f64_fwd(gd, x.d, n);
            dnn_pool_forward_plain_f64(kd, x.d, n, C, H, W, K, S, P, c->max);
            same(c->tag, "forward_plain_f64 vs the double twin", n, gd, kd, n * out * sizeof(double), 1);
            memcpy(yd, kd, n * out * sizeof(double));
            c->gen_f64_dx(gd, dy.d, x.d, yd, n);
            dnn_pool_backward_plain_f64(kd, dy.d, x.d, n, C, H, W, K, S, P, c->max);
            same(c->tag, "backward_plain_f64 vs the double twin", n, gd, kd, n * in * sizeof(double), 1);
        }
        ties(&x, 10);
    }
    release(&x), release(&dy);
    free(y), free(g), free(k), free(yd), free(gd), free(kd);
}

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

/* Each range of parameters (a vector part and a tail, or a tail only),
 * first step or not, with and without weight decay. */
static void check_update(const UpdateCase *c) {
    static const int ranges[][2] = {{0, 18}, {3, 17}, {5, 6}, {0, 8}, {1, 17}};
    unsigned char *g = malloc(c->size), *k = malloc(c->size);
    for (int r = 0; r < (int)(sizeof ranges / sizeof *ranges); r++)
        for (int first = 0; first < 2; first++)
            for (int decay = 0; decay < 2; decay++) {
                for (size_t i = 0; i + sizeof(float) <= c->size; i += sizeof(float)) { /* every float of the state */
                    const float v = (float)(uniform() + 1.0) / 2.0f;
                    memcpy(g + i, &v, sizeof v);
                }
                float *grads = (float *)(g + c->grads);
                for (int i = 0; i < 18; i++)
                    grads[i] = (float)uniform();
                c->set(g, decay ? 0.01 : 0.0);
                memcpy(k, g, c->size);
                c->gen(g, ranges[r][0], ranges[r][1], 0.05f, first, 0.1f, 0.7f);
                c->ker(k, ranges[r][0], ranges[r][1], 0.05f, first, 0.1f, 0.7f);
                same(c->tag, first ? "update, first step" : "update", ranges[r][1] - ranges[r][0], g, k, c->size, 0);
            }
    free(g), free(k);
}

int main(void) {
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++)
        check_dense(&dense_cases[i]);
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
        check_conv(&conv_cases[i]);
    for (size_t i = 0; i < sizeof convpool_cases / sizeof *convpool_cases; i++)
        check_convpool(&convpool_cases[i]);
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        check_pool(&pool_cases[i]);
    for (size_t i = 0; i < sizeof update_cases / sizeof *update_cases; i++)
        check_update(&update_cases[i]);
    printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "PASS", checks, failures);
    return failures != 0;
}
