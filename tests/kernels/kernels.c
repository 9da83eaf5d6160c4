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
#include "kernel_cases.h"

enum { NMAX_DENSE = 9, NMAX_CONV = 3 };

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

/* dnn_dense_backward_weight_sgd against dnn_dense_backward_weight then
 * dnn_sgd_update: the same weight, gradient and momentum buffer, bit for
 * bit, without and with momentum (first step and later), nesterov and
 * weight decay. */
static void check_dense_sgd(const DenseCase *c, const Data *x, const Data *dy, const Data *w, int n) {
    static const float hparams[][6] = {/* lr, momentum, 1 - dampening, weight decay, nesterov, first */
                                       {0.1f, 0, 0, 0, 0, 0},       {0.1f, 0, 0, 0.01f, 0, 0},
                                       {0.05f, 0.9f, 0.9f, 0, 0, 1}, {0.05f, 0.9f, 0.9f, 0.01f, 0, 0},
                                       {0.05f, 0.9f, 1, 0, 1, 0}};
    const size_t nw = (size_t)c->units * c->in;
    float *wa = floats(nw), *wb = floats(nw), *ga = floats(nw), *gb = floats(nw), *ba = floats(nw), *bb = floats(nw);
    for (size_t h = 0; h < sizeof hparams / sizeof *hparams; h++) {
        const float *p = hparams[h];
        const int momentum = p[1] != 0.0f;
        memcpy(wa, w->f, nw * sizeof(float)), memcpy(wb, w->f, nw * sizeof(float));
        for (size_t i = 0; i < nw; i++)
            ba[i] = bb[i] = w->f[nw - 1 - i];
        c->dw(ga, dy->f, x->f, n);
        dnn_sgd_update(wa, ga, momentum ? ba : NULL, (int)nw, p[0], p[1], p[2], p[3], (int)p[4], (int)p[5]);
        c->dw_sgd(wb, gb, momentum ? bb : NULL, dy->f, x->f, n, p);
        same(c->tag, "backward_weight_sgd: the gradient", n, ga, gb, nw * sizeof(float), 0);
        same(c->tag, "backward_weight_sgd: the weight", n, wa, wb, nw * sizeof(float), 0);
        same(c->tag, "backward_weight_sgd: the momentum buffer", n, ba, bb, nw * sizeof(float), 0);
    }
    free(wa), free(wb), free(ga), free(gb), free(ba), free(bb);
}

/* dnn_parallel_run splitting the samples in three, run last range first,
 * gives the serial bits */
static void split_in_three(dnn_parallel_body *body, void *ctx, int n) {
    body(ctx, 2 * n / 3, n);
    body(ctx, n / 3, 2 * n / 3);
    body(ctx, 0, n / 3);
}
typedef struct {
    const DenseCase *c;
    float *out;
    const float *x, *w, *b;
} DenseRun;
static void dense_samples(void *ctx, int lo, int hi) {
    const DenseRun *r = ctx;
    r->c->fwd(r->out + lo * r->c->units, r->x + lo * r->c->in, r->w, r->b, hi - lo);
}
static void check_dense_parallel(const DenseCase *c, const Data *x, const Data *w, const Data *b, Results *r, int n) {
    DenseRun run = {c, r->k, x->f, w->f, b->f};
    c->fwd(r->g, x->f, w->f, b->f, n);
    dnn_parallel_for = split_in_three;
    dnn_parallel_run(dense_samples, &run, n);
    dnn_parallel_for = NULL;
    same(c->tag, "forward through dnn_parallel_run", n, r->g, r->k, (size_t)n * c->units * sizeof(float), 0);
}

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
        check_dense_sgd(c, &x, &dy, &w, n);
    }
    check_dense_parallel(c, &x, &w, &b, &r, N);
    release(&x), release(&w), release(&b), release(&dy);
    release_results(&r);
}

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
