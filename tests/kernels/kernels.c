/* kernels.c — every kernel of runtime/dnn_kernels.h against its plain
 * reference, and its vector paths against its plain C path where a result
 * is a choice.
 *
 * generate.sh lists layers of many shapes (cases.h, one X-macro line
 * each); kernel_cases.h calls each kernel with constant sizes, as
 * generated code calls it. For every case and every sample count n up to
 * NMAX_*:
 *   1. the kernel is within rounding of the plain reference in double:
 *      |kernel − ref| <= (terms + 2) · 2^-23 · ref(|operands|), the sum of
 *      the terms' magnitudes;
 *   2. on small integers with ties, -0 and NaN (sums exact in any order)
 *      conv2d, the fused conv2d → activation → pool step and the pools
 *      give the plain kernels' values (the grouped conv2d the same values,
 *      -0 equal to 0) (maxpool's first maximum, NaN wins;
 *      relu's NaN and -0), bit for bit but for NaN payloads, and the pools'
 *      tiled kernels on any input;
 *   3. the dense weight gradient with SGD's step applied in the same pass
 *      gives the weight gradient then dnn_sgd_update, bit for bit, and a
 *      forward split over dnn_parallel_for (by sample, and by weight rows)
 *      the serial bits; the forward with a lane per sample
 *      (dnn_dense_forward_batch_rows) the same bits for a sample whatever
 *      the batch's size, and split by weight rows the serial bits;
 *   4. each optimizer's loop (8 at a time with DNN_V8) gives its step of
 *      one parameter applied to each, bit for bit.
 *   5. each dense and conv2d kernel's bits on random data (n = 1 .. 3 and
 *      NBITS, past two of AVX-512's 16-sample groups) go into a digest
 *      printed as "bits TAG WHAT DIGEST", which run.sh compares between the
 *      AVX2, emulated DNN_V8X2 and AVX-512 builds: their lanes' sums must be
 *      the same, so a model trained on either gives the same weights.
 * Built once per path (run.sh: AVX2, AVX-512 or its emulation, plain C),
 * so that the vector paths agree with plain C wherever the plain kernels
 * decide. Prints a FAIL line per difference and a summary; exits 1 on any. */
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

/* a and b hold the same bits (floats, or doubles with dbl); with
 * nan_any, any two NaNs count as the same (their payloads are the
 * hardware's choice). */
static void same_as(const char *tag, const char *what, int n, const void *a, const void *b, size_t bytes, int dbl,
                    int nan_any) {
    checks++;
    size_t size = dbl ? sizeof(double) : sizeof(float);
    for (size_t i = 0; i < bytes / size; i++) {
        const char *pa = (const char *)a + i * size, *pb = (const char *)b + i * size;
        double x = dbl ? *(const double *)pa : *(const float *)pa, y = dbl ? *(const double *)pb : *(const float *)pb;
        if (!memcmp(pa, pb, size) || (nan_any && x != x && y != y))
            continue;
        char at[64];
        snprintf(at, sizeof at, "element %zu: kernel %%.9g, plain %%.9g", i);
        fail(tag, what, n, at, x, y);
        return;
    }
}
static void same(const char *tag, const char *what, int n, const void *a, const void *b, size_t bytes, int dbl) {
    same_as(tag, what, n, a, b, bytes, dbl, 0);
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

/* Where a check puts its results: the kernel's (k), the plain kernel's
 * (p), the plain reference in double (ref) and the reference on the
 * operands' magnitudes (mag). */
typedef struct {
    float *k, *p;
    double *ref, *mag;
} Results;

static Results results(size_t count) {
    Results r = {calloc(count + 1, sizeof(float)), calloc(count + 1, sizeof(float)),
                 calloc(count + 1, sizeof(double)), calloc(count + 1, sizeof(double))};
    if (!r.k || !r.p || !r.ref || !r.mag) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return r;
}

static void release_results(Results *r) { free(r->k), free(r->p), free(r->ref), free(r->mag); }

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

/* dnn_parallel_run splitting the samples (or the rows' parts) in three,
 * run last range first, gives the serial bits */
static void split_in_three(dnn_parallel_body *body, void *ctx, int n) {
    body(ctx, 2 * n / 3, n);
    body(ctx, n / 3, 2 * n / 3);
    body(ctx, 0, n / 3);
}
typedef struct {
    const DenseCase *c;
    float *out;
    const float *x, *w, *b;
    int n;
} DenseRun;
static void dense_samples(void *ctx, int lo, int hi) {
    const DenseRun *r = ctx;
    r->c->fwd(r->out + lo * r->c->units, r->x + lo * r->c->in, r->w, r->b, hi - lo);
}
static void dense_rows(void *ctx, int lo, int hi) {
    const DenseRun *r = ctx;
    const int r0 = dnn_part_row(lo, r->c->units), r1 = dnn_part_row(hi, r->c->units);
    r->c->fwd_rows(r->out, r->x, r->w, r->b, r->n, r0, r1 - r0);
}
static void dense_batch_rows(void *ctx, int lo, int hi) {
    const DenseRun *r = ctx;
    const int r0 = dnn_part_row(lo, r->c->units), r1 = dnn_part_row(hi, r->c->units);
    r->c->fwd_batch_rows(r->out, r->x, r->w, r->b, r->n, r0, r1 - r0);
}
static void check_dense_parallel(const DenseCase *c, const Data *x, const Data *w, const Data *b, Results *r, int n) {
    DenseRun run = {c, r->p, x->f, w->f, b->f, n};
    c->fwd(r->k, x->f, w->f, b->f, n);
    dnn_parallel_for = split_in_three;
    dnn_parallel_run(dense_samples, &run, n);
    same(c->tag, "forward through dnn_parallel_run", n, r->k, r->p, (size_t)n * c->units * sizeof(float), 0);
    memset(r->p, 0xff, (size_t)n * c->units * sizeof(float));
    dnn_parallel_run(dense_rows, &run, DNN_ROW_PARTS);
    same(c->tag, "forward by rows through dnn_parallel_run", n, r->k, r->p, (size_t)n * c->units * sizeof(float), 0);
    c->fwd_batch_rows(r->k, x->f, w->f, b->f, n, 0, c->units);
    memset(r->p, 0xff, (size_t)n * c->units * sizeof(float));
    dnn_parallel_run(dense_batch_rows, &run, DNN_ROW_PARTS);
    same(c->tag, "forward_batch by rows through dnn_parallel_run", n, r->k, r->p, (size_t)n * c->units * sizeof(float),
         0);
    dnn_parallel_for = NULL;
    for (int m = 1; m < n; m++) { /* the first m samples alone: each lane its own sum */
        c->fwd_batch_rows(r->p, x->f, w->f, b->f, m, 0, c->units);
        same(c->tag, "forward_batch of fewer samples", m, r->k, r->p, (size_t)m * c->units * sizeof(float), 0);
    }
}

/* dnn_dense_forward_batch_rows over more samples than one of its chunks
 * (DNN_BATCH_SAMPLES): each sample's outputs are its outputs alone */
static void check_dense_batch_chunks(const DenseCase *c) {
    const int n = 2 * DNN_BATCH_SAMPLES + 3;
    Data x = data((size_t)n * c->in), w = data((size_t)c->units * c->in), b = data((size_t)c->units);
    float *all = floats((size_t)n * c->units), *one = floats((size_t)c->units);
    c->fwd_batch_rows(all, x.f, w.f, b.f, n, 0, c->units);
    for (int s = 0; s < n; s++) {
        c->fwd_batch_rows(one, x.f + (size_t)s * c->in, w.f, b.f, 1, 0, c->units);
        same(c->tag, "forward_batch: a sample of a large batch alone", s, all + (size_t)s * c->units, one,
             (size_t)c->units * sizeof(float), 0);
    }
    free(all), free(one);
    release(&x), release(&w), release(&b);
}

/* ---- the --optimize=size kernels against the formula's simplest loops ------------------
 * dnn_dense_forward_plain and dnn_conv2d_pool_forward_plain compute four
 * rows (filters) at a time with pointer walks and tap ranges
 * (dnn_kernels_plain.h); they must give the bits of these loops, one sum
 * at a time with a test per product (as they were before), on any data. */
static void formula_dense(float *out, const float *inp, const float *weight, const float *bias, int n, int in,
                          int units) {
    for (int s = 0; s < n; s++)
        for (int j = 0; j < units; j++) {
            float acc = bias ? bias[j] : 0;
            for (int i = 0; i < in; i++)
                acc += weight[j * in + i] * inp[s * in + i];
            out[s * units + j] = acc;
        }
}

static void formula_conv2d_pool(float *out, const float *inp, const float *weight, const float *bias, int n, int C,
                                int H, int W, int F, int K, int S, int P, int PK, int PS, int PP, int max,
                                float (*act)(float)) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    const int PH = (OH + 2 * PP - PK) / PS + 1, PW = (OW + 2 * PP - PK) / PS + 1;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < F; f++)
            for (int py = 0; py < PH; py++)
                for (int px = 0; px < PW; px++) {
                    float top = -INFINITY, acc = 0;
                    int first = 1;
                    for (int wy = 0; wy < PK; wy++)
                        for (int wx = 0; wx < PK; wx++) {
                            const int oy = py * PS - PP + wy, ox = px * PS - PP + wx;
                            if (oy < 0 || oy >= OH || ox < 0 || ox >= OW)
                                continue;
                            float y = bias ? bias[f] : 0;
                            for (int c = 0; c < C; c++)
                                for (int ky = 0; ky < K; ky++)
                                    for (int kx = 0; kx < K; kx++) {
                                        const int iy = oy * S - P + ky, ix = ox * S - P + kx;
                                        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                            y += weight[((f * C + c) * K + ky) * K + kx] *
                                                 inp[((s * C + c) * H + iy) * W + ix];
                                    }
                            if (act)
                                y = act(y);
                            if (max) {
                                if (first || y > top || y != y)
                                    top = y;
                                first = 0;
                            } else
                                acc += y;
                        }
                    out[((s * F + f) * PH + py) * PW + px] = max ? top : acc / (float)(PK * PK);
                }
}

static void check_dense(const DenseCase *c) {
    const int in = c->in, units = c->units, N = NMAX_DENSE;
    Data x = data((size_t)N * in), w = data((size_t)units * in), b = data((size_t)units), dy = data((size_t)N * units);
    const double *bias_d = c->bias ? b.d : NULL, *bias_a = c->bias ? b.a : NULL;
    Results r = results((size_t)(N > units ? N : units) * in);
    for (int n = 1; n <= N; n++) {
        const size_t nout = (size_t)n * units, nin = (size_t)n * in, nw = (size_t)units * in;
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_dense_forward_plain_f64(r.ref, x.d, w.d, bias_d, n, in, units);
        dnn_dense_forward_plain_f64(r.mag, x.a, w.a, bias_a, n, in, units);
        close_to(c->tag, "forward", n, r.k, r.ref, r.mag, nout, in + 1, 0);
        c->fwd_batch_rows(r.k, x.f, w.f, b.f, n, 0, units);
        close_to(c->tag, "forward_batch", n, r.k, r.ref, r.mag, nout, in + 1, 0);

        c->dx(r.k, dy.f, w.f, n);
        dnn_dense_backward_input_plain_f64(r.ref, dy.d, w.d, n, in, units);
        dnn_dense_backward_input_plain_f64(r.mag, dy.a, w.a, n, in, units);
        close_to(c->tag, "backward_input", n, r.k, r.ref, r.mag, nin, units, 0);

        c->dw(r.k, dy.f, x.f, n);
        dnn_dense_backward_weight_plain_f64(r.ref, dy.d, x.d, n, in, units);
        dnn_dense_backward_weight_plain_f64(r.mag, dy.a, x.a, n, in, units);
        close_to(c->tag, "backward_weight", n, r.k, r.ref, r.mag, nw, n, 0);

        c->db(r.k, dy.f, n);
        dnn_dense_backward_bias_plain_f64(r.ref, dy.d, n, units);
        dnn_dense_backward_bias_plain_f64(r.mag, dy.a, n, units);
        close_to(c->tag, "backward_bias", n, r.k, r.ref, r.mag, (size_t)units, n, 0);
        check_dense_sgd(c, &x, &dy, &w, n);
    }
    for (int n = 1; n <= N; n++) { /* the size kernel: the formula's bits */
        dnn_dense_forward_plain(r.k, x.f, w.f, c->bias ? b.f : NULL, n, in, units);
        formula_dense(r.p, x.f, w.f, c->bias ? b.f : NULL, n, in, units);
        same_as(c->tag, "forward_plain vs the formula", n, r.k, r.p, (size_t)n * units * sizeof(float), 0, 0);
    }
    check_dense_parallel(c, &x, &w, &b, &r, N);
    check_dense_batch_chunks(c);
    release(&x), release(&w), release(&b), release(&dy);
    release_results(&r);
}

static void check_conv(const ConvCase *c) {
    const int C = c->C, H = c->H, W = c->W, F = c->F, K = c->K, S = c->S, P = c->P, N = NMAX_CONV;
    const int OH = OUT(H, K, S, P), OW = OUT(W, K, S, P);
    const size_t in = (size_t)C * H * W, out = (size_t)F * OH * OW, nw = (size_t)F * C * K * K;
    Data x = data(N * in), w = data(nw), b = data((size_t)F), dy = data(N * out);
    const double *bias_d = c->bias ? b.d : NULL, *bias_a = c->bias ? b.a : NULL;
    const float *bias = c->bias ? b.f : NULL;
    const size_t most = N * in > N * out ? N * in : N * out;
    Results r = results(most > nw ? most : nw);
    for (int n = 1; n <= N; n++) {
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_conv2d_forward_plain_f64(r.ref, x.d, w.d, bias_d, n, C, H, W, F, K, S, P);
        dnn_conv2d_forward_plain_f64(r.mag, x.a, w.a, bias_a, n, C, H, W, F, K, S, P);
        close_to(c->tag, "forward", n, r.k, r.ref, r.mag, n * out, C * K * K + 1, 0);

        c->dx(r.k, dy.f, w.f, n);
        dnn_conv2d_backward_input_plain_f64(r.ref, dy.d, w.d, n, C, H, W, F, K, S, P);
        dnn_conv2d_backward_input_plain_f64(r.mag, dy.a, w.a, n, C, H, W, F, K, S, P);
        close_to(c->tag, "backward_input", n, r.k, r.ref, r.mag, n * in, F * K * K, 0);

        c->dw(r.k, dy.f, x.f, n);
        dnn_conv2d_backward_weight_plain_f64(r.ref, dy.d, x.d, n, C, H, W, F, K, S, P);
        dnn_conv2d_backward_weight_plain_f64(r.mag, dy.a, x.a, n, C, H, W, F, K, S, P);
        close_to(c->tag, "backward_weight", n, r.k, r.ref, r.mag, nw, n * OH * OW, 0);

        c->db(r.k, dy.f, n);
        dnn_conv2d_backward_bias_plain_f64(r.ref, dy.d, n, F, OH, OW);
        dnn_conv2d_backward_bias_plain_f64(r.mag, dy.a, n, F, OH, OW);
        close_to(c->tag, "backward_bias", n, r.k, r.ref, r.mag, (size_t)F, n * OH * OW, 0);
    }
    ties(&x, 50), ties(&w, 0), ties(&b, 0), ties(&dy, 0); /* exact sums: the plain kernels' values */
    for (int n = 1; n <= N; n++) {
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_conv2d_forward_plain(r.p, x.f, w.f, bias, n, C, H, W, F, K, S, P);
        same_as(c->tag, "forward vs plain on ties and NaNs", n, r.k, r.p, n * out * sizeof(float), 0, 1);
        c->dx(r.k, dy.f, w.f, n);
        dnn_conv2d_backward_input_plain(r.p, dy.f, w.f, n, C, H, W, F, K, S, P);
        same_as(c->tag, "backward_input vs plain on ties", n, r.k, r.p, n * in * sizeof(float), 0, 1);
        c->dw(r.k, dy.f, x.f, n);
        dnn_conv2d_backward_weight_plain(r.p, dy.f, x.f, n, C, H, W, F, K, S, P);
        same_as(c->tag, "backward_weight vs plain on ties and NaNs", n, r.k, r.p, nw * sizeof(float), 0, 1);
        c->db(r.k, dy.f, n);
        dnn_conv2d_backward_bias_plain(r.p, dy.f, n, F, OH, OW);
        same_as(c->tag, "backward_bias vs plain on ties", n, r.k, r.p, F * sizeof(float), 0, 1);
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
    float *k = floats(N * out), *p = floats(N * out);
    double *ref = doubles(N * out), *mag = doubles(N * out);
    const float *bias = c->bias ? b.f : NULL;
    for (int n = 1; n <= N; n++) {
        c->fwd(k, x.f, w.f, b.f, n);
        dnn_conv2d_pool_forward_plain_f64(ref, x.d, w.d, c->bias ? b.d : NULL, n, C, H, W, F, K, S, P, c->PK, c->PS,
                                          c->PP, c->max, c->act_f64);
        dnn_conv2d_pool_forward_plain_f64(mag, x.a, w.a, c->bias ? b.a : NULL, n, C, H, W, F, K, S, P, c->PK, c->PS,
                                          c->PP, c->max, NULL);
        close_to(c->tag, "forward vs reference", n, k, ref, mag, n * out, C * K * K + 1, c->act_f64 ? 1e-6 : 0);
    }
    for (int pass = 0; pass < 2; pass++) { /* the size kernel: the formula's bits, on data and on ties */
        for (int n = 1; n <= N; n++) {
            dnn_conv2d_pool_forward_plain(p, x.f, w.f, bias, n, C, H, W, F, K, S, P, c->PK, c->PS, c->PP, c->max,
                                          c->act);
            formula_conv2d_pool(k, x.f, w.f, bias, n, C, H, W, F, K, S, P, c->PK, c->PS, c->PP, c->max, c->act);
            same_as(c->tag, "forward_plain vs the formula", n, p, k, n * out * sizeof(float), 0, 1);
        }
        if (pass == 0)
            ties(&x, 50), ties(&w, 0), ties(&b, 0); /* exact sums: which value a window keeps, relu's NaN and -0 */
    }
    for (int n = 1; n <= N; n++) {
        c->fwd(k, x.f, w.f, b.f, n);
        dnn_conv2d_pool_forward_plain(p, x.f, w.f, bias, n, C, H, W, F, K, S, P, c->PK, c->PS, c->PP, c->max, c->act);
        same_as(c->tag, "forward vs plain on ties and NaNs", n, k, p, n * out * sizeof(float), 0, 1);
    }
    release(&x), release(&w), release(&b);
    free(k), free(p), free(ref), free(mag);
}

/* a and b the same values: NaN where the other is NaN, and -0 equal to 0
 * (a matrix product's sums start from 0, the plain loops' from the bias) */
static void same_values(const char *tag, const char *what, int n, const float *a, const float *b, size_t count) {
    checks++;
    for (size_t i = 0; i < count; i++)
        if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) {
            fail(tag, what, n, "kernel %.9g, plain %.9g", a[i], b[i]);
            return;
        }
}

/* A conv2d whose output has its input's shape, computed over its input
 * (dnn_conv2d_in_place): the same bits as the plain loops into another array. */
static void check_in_place(const GroupConvCase *c, const float *x, const float *w, const float *b, Results *r,
                           const char *what) {
    const int C = c->C, H = c->H, W = c->W, G = c->G;
    if (c->F != C || c->SH != 1 || c->SW != 1 || GOUT(H, c->KH, 1, c->PT, c->PB) != H ||
        GOUT(W, c->KW, 1, c->PL, c->PR) != W)
        return;
    const size_t in = (size_t)C * H * W;
    float *ring = floats((size_t)(c->PT + 1) * (C / G) * W);
    for (int n = 1; n <= NMAX_CONV; n++) {
        memcpy(r->k, x, n * in * sizeof(float));
        dnn_conv2d_in_place(r->k, w, c->bias ? b : NULL, ring, n, C, H, W, c->KH, c->KW, c->PT, c->PL, G);
        dnn_conv2d_grouped_forward_plain(r->p, x, w, c->bias ? b : NULL, n, C, H, W, C, c->KH, c->KW, 1, 1, c->PT,
                                         c->PB, c->PL, c->PR, G);
        same_values(c->tag, what, n, r->k, r->p, n * in);
    }
    free(ring);
}

/* The grouped kernels against the plain grouped loops in double, then on
 * small integers with NaNs (exact sums) against the float plain loops. */
static void check_gconv(const GroupConvCase *c) {
    const int C = c->C, H = c->H, W = c->W, F = c->F, KH = c->KH, KW = c->KW, G = c->G, N = NMAX_CONV;
#define GEOM c->KH, c->KW, c->SH, c->SW, c->PT, c->PB, c->PL, c->PR, G
    const int OH = GOUT(H, KH, c->SH, c->PT, c->PB), OW = GOUT(W, KW, c->SW, c->PL, c->PR);
    const size_t in = (size_t)C * H * W, out = (size_t)F * OH * OW, nw = (size_t)F * (C / G) * KH * KW;
    Data x = data(N * in), w = data(nw), b = data((size_t)F), dy = data(N * out);
    const size_t most = N * in > N * out ? N * in : N * out;
    Results r = results(most > nw ? most : nw);
    for (int n = 1; n <= N; n++) {
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_conv2d_grouped_forward_plain_f64(r.ref, x.d, w.d, c->bias ? b.d : NULL, n, C, H, W, F, GEOM);
        dnn_conv2d_grouped_forward_plain_f64(r.mag, x.a, w.a, c->bias ? b.a : NULL, n, C, H, W, F, GEOM);
        close_to(c->tag, "forward", n, r.k, r.ref, r.mag, n * out, C / G * KH * KW + 1, 0);
        c->dx(r.k, dy.f, w.f, n);
        dnn_conv2d_grouped_backward_input_plain_f64(r.ref, dy.d, w.d, n, C, H, W, F, GEOM);
        dnn_conv2d_grouped_backward_input_plain_f64(r.mag, dy.a, w.a, n, C, H, W, F, GEOM);
        close_to(c->tag, "backward_input", n, r.k, r.ref, r.mag, n * in, F / G * KH * KW, 0);
        c->dw(r.k, dy.f, x.f, n);
        dnn_conv2d_grouped_backward_weight_plain_f64(r.ref, dy.d, x.d, n, C, H, W, F, GEOM);
        dnn_conv2d_grouped_backward_weight_plain_f64(r.mag, dy.a, x.a, n, C, H, W, F, GEOM);
        close_to(c->tag, "backward_weight", n, r.k, r.ref, r.mag, nw, n * OH * OW, 0);
    }
    check_in_place(c, x.f, w.f, b.f, &r, "in place vs plain");
    ties(&x, 50), ties(&w, 0), ties(&b, 0), ties(&dy, 0);
    check_in_place(c, x.f, w.f, b.f, &r, "in place vs plain on ties and NaNs");
    for (int n = 1; n <= N; n++) {
        c->fwd(r.k, x.f, w.f, b.f, n);
        dnn_conv2d_grouped_forward_plain(r.p, x.f, w.f, c->bias ? b.f : NULL, n, C, H, W, F, GEOM);
        same_values(c->tag, "forward vs plain on ties and NaNs", n, r.k, r.p, n * out);
        c->dx(r.k, dy.f, w.f, n);
        dnn_conv2d_grouped_backward_input_plain(r.p, dy.f, w.f, n, C, H, W, F, GEOM);
        same_values(c->tag, "backward_input vs plain on ties", n, r.k, r.p, n * in);
        c->dw(r.k, dy.f, x.f, n);
        dnn_conv2d_grouped_backward_weight_plain(r.p, dy.f, x.f, n, C, H, W, F, GEOM);
        same_values(c->tag, "backward_weight vs plain on ties and NaNs", n, r.k, r.p, nw);
    }
#undef GEOM
    release(&x), release(&w), release(&b), release(&dy);
    release_results(&r);
}

static void check_pool(const PoolCase *c) {
    const int C = c->C, H = c->H, W = c->W, K = c->K, S = c->S, P = c->P, N = NMAX_CONV;
    const size_t in = (size_t)C * H * W, out = (size_t)C * OUT(H, K, S, P) * OUT(W, K, S, P);
    Data x = data(N * in), dy = data(N * out);
    float *y = floats(N * out), *k = floats(N * in), *p = floats(N * in);
    for (int pass = 0; pass < 2; pass++) { /* random values, then ties and NaNs */
        for (int n = 1; n <= N; n++) {
            c->fwd(k, x.f, n);
            dnn_pool_forward_plain(p, x.f, n, C, H, W, K, S, P, c->max);
            same(c->tag, pass ? "forward vs plain on ties" : "forward vs plain", n, k, p, n * out * sizeof(float), 0);
            memcpy(y, k, n * out * sizeof(float));
            c->dx(k, dy.f, x.f, y, n);
            dnn_pool_backward_plain(p, dy.f, x.f, n, C, H, W, K, S, P, c->max);
            same(c->tag, pass ? "backward vs plain on ties" : "backward vs plain", n, k, p, n * in * sizeof(float), 0);
            if (c->max && S == K && P == 0) { /* with the relu before it (its output x) */
                dnn_maxpool_relu_backward(k, dy.f, x.f, y, n, C, H, W, K);
                dnn_maxpool_relu_backward_plain(p, dy.f, x.f, n, C, H, W, K);
                same(c->tag, pass ? "relu backward vs plain on ties" : "relu backward vs plain", n, k, p,
                     n * in * sizeof(float), 0);
            }
        }
        ties(&x, 10);
    }
    release(&x), release(&dy);
    free(y), free(k), free(p);
}

/* The l2 and l1 sums against their plain loops, the same bits: counts with
 * and without a tail, random values, then ties and NaNs. */
static void check_penalty(void) {
    static const int counts[] = {48000, 150, 7, 1};
    Data x = data(48000);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
            for (int squares = 0; squares < 2; squares++) {
                const float k = dnn_penalty_sum(x.f, counts[i], squares), p = dnn_penalty_sum_plain(x.f, counts[i], squares);
                same_as(squares ? "l2" : "l1", pass ? "penalty_sum vs plain on ties" : "penalty_sum vs plain", counts[i],
                        &k, &p, sizeof k, 0, pass); /* (any NaN for a NaN) */
            }
        ties(&x, 1000);
    }
    release(&x);
}

/* The loop against the step of one parameter at a time: counts with a
 * vector part and a tail, or a tail only, first step or not, with and
 * without weight decay. */
static void check_update(const UpdateCase *c) {
    enum { MOST = 18 };
    static const int counts[] = {18, 17, 8, 1, 13};
    float st[2][4][MOST]; /* [the loop, the steps][param, grad, state 0, state 1] */
    for (int i = 0; i < (int)(sizeof counts / sizeof *counts); i++)
        for (int first = 0; first < 2; first++)
            for (int decay = 0; decay < 2; decay++) {
                /* lr, momentum / beta1 / alpha, 1 − dampening / 1 − beta1 / 1 − alpha, weight decay, beta2,
                   first / 1 − beta2, eps, step_size, bc2_sqrt */
                const float h[9] = {0.05f, 0.9f, 0.1f, decay ? 0.01f : 0.0f, 0.999f, first ? 1.0f : 0.001f, 1e-8f,
                                    0.1f, 0.7f};
                for (int a = 0; a < 4; a++)
                    for (int j = 0; j < MOST; j++) /* positive states: Adagrad's and RMSprop's squares */
                        st[0][a][j] = st[1][a][j] = a ? (float)(uniform() + 1.0) / 2.0f : (float)uniform();
                float *s1 = c->states > 1 ? st[0][3] : NULL, *t1 = c->states > 1 ? st[1][3] : NULL;
                c->update(st[0][0], st[0][1], c->states ? st[0][2] : NULL, s1, counts[i], h);
                for (int j = 0; j < counts[i]; j++)
                    c->step(st[1][0] + j, st[1][1] + j, c->states ? st[1][2] + j : NULL, t1 ? t1 + j : NULL, 1, h);
                same(c->tag, first ? "update vs step, first step" : "update vs step", counts[i], st[0], st[1],
                     sizeof st[0], 0);
            }
}

/* ---- the bits, for run.sh to compare between builds ------------------------------------- */

enum { NBITS = 19 };
static const int bits_n[] = {1, 2, 3, NBITS};

/* FNV-1a over the bytes of count floats, on from h */
static unsigned long long digest(unsigned long long h, const float *a, size_t count) {
    const unsigned char *p = (const unsigned char *)a;
    for (size_t i = 0; i < count * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* The digest of one kernel's results for each n of bits_n: run(n) computes
 * them into out (count(n) floats). */
typedef struct {
    const void *c;
    float *out, *x, *w, *b, *dy;
} BitsRun;
static void print_bits(const char *tag, const char *what, BitsRun *r, size_t (*run)(BitsRun *, int, int), int which) {
    unsigned long long h = 14695981039346656037ULL;
    for (size_t i = 0; i < sizeof bits_n / sizeof *bits_n; i++)
        h = digest(h, r->out, run(r, which, bits_n[i]));
    printf("bits %s %s %016llx\n", tag, what, h);
}
static size_t bits_dense(BitsRun *r, int which, int n) {
    const DenseCase *c = r->c;
    switch (which) {
    case 0: c->fwd(r->out, r->x, r->w, r->b, n); return (size_t)n * c->units;
    case 1: c->dx(r->out, r->dy, r->w, n); return (size_t)n * c->in;
    case 2: c->dw(r->out, r->dy, r->x, n); return (size_t)c->units * c->in;
    default: c->fwd_batch_rows(r->out, r->x, r->w, r->b, n, 0, c->units); return (size_t)n * c->units;
    }
}
static size_t bits_conv(BitsRun *r, int which, int n) {
    const ConvCase *c = r->c;
    switch (which) {
    case 0:
        c->fwd(r->out, r->x, r->w, r->b, n);
        return (size_t)n * c->F * OUT(c->H, c->K, c->S, c->P) * OUT(c->W, c->K, c->S, c->P);
    case 1: c->dx(r->out, r->dy, r->w, n); return (size_t)n * c->C * c->H * c->W;
    default: c->dw(r->out, r->dy, r->x, n); return (size_t)c->F * c->C * c->K * c->K;
    }
}
static size_t bits_convpool(BitsRun *r, int which, int n) {
    const ConvPoolCase *c = r->c;
    const int OH = OUT(c->H, c->K, c->S, c->P), OW = OUT(c->W, c->K, c->S, c->P);
    (void)which;
    c->fwd(r->out, r->x, r->w, r->b, n);
    return (size_t)n * c->F * OUT(OH, c->PK, c->PS, c->PP) * OUT(OW, c->PK, c->PS, c->PP);
}

/* Random operands for NBITS samples of `in` inputs and `out` outputs, nw weights. */
static BitsRun bits_data(const void *c, size_t in, size_t out, size_t nw, size_t nb) {
    Data x = data(NBITS * in), w = data(nw), b = data(nb), dy = data(NBITS * out);
    size_t most = NBITS * (in > out ? in : out);
    BitsRun r = {c, floats(most > nw ? most : nw), x.f, w.f, b.f, dy.f};
    free(x.d), free(x.a), free(w.d), free(w.a), free(b.d), free(b.a), free(dy.d), free(dy.a);
    return r;
}
static void bits_release(BitsRun *r) { free(r->out), free(r->x), free(r->w), free(r->b), free(r->dy); }

/* the three passes of a dense or conv2d kernel, as print_bits names them (and dense's forward with a lane per sample) */
static const char *const bits_pass[] = {"forward", "backward_input", "backward_weight", "forward_batch"};

static void print_all_bits(void) {
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++) {
        const DenseCase *c = &dense_cases[i];
        BitsRun r = bits_data(c, c->in, c->units, (size_t)c->in * c->units, c->units);
        for (int k = 0; k < 4; k++)
            print_bits(c->tag, bits_pass[k], &r, bits_dense, k);
        bits_release(&r);
    }
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
        const ConvCase *c = &conv_cases[i];
        const size_t out = (size_t)c->F * OUT(c->H, c->K, c->S, c->P) * OUT(c->W, c->K, c->S, c->P);
        BitsRun r = bits_data(c, (size_t)c->C * c->H * c->W, out, (size_t)c->F * c->C * c->K * c->K, c->F);
        for (int k = 0; k < 3; k++)
            print_bits(c->tag, bits_pass[k], &r, bits_conv, k);
        bits_release(&r);
    }
    for (size_t i = 0; i < sizeof convpool_cases / sizeof *convpool_cases; i++) {
        const ConvPoolCase *c = &convpool_cases[i];
        const int OH = OUT(c->H, c->K, c->S, c->P), OW = OUT(c->W, c->K, c->S, c->P);
        const size_t out = (size_t)c->F * OUT(OH, c->PK, c->PS, c->PP) * OUT(OW, c->PK, c->PS, c->PP);
        BitsRun r = bits_data(c, (size_t)c->C * c->H * c->W, out, (size_t)c->F * c->C * c->K * c->K, c->F);
        print_bits(c->tag, "forward", &r, bits_convpool, 0);
        bits_release(&r);
    }
}

int main(void) {
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++)
        check_dense(&dense_cases[i]);
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
        check_conv(&conv_cases[i]);
    for (size_t i = 0; i < sizeof convpool_cases / sizeof *convpool_cases; i++)
        check_convpool(&convpool_cases[i]);
    for (size_t i = 0; i < sizeof gconv_cases / sizeof *gconv_cases; i++)
        check_gconv(&gconv_cases[i]);
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        check_pool(&pool_cases[i]);
    for (size_t i = 0; i < sizeof update_cases / sizeof *update_cases; i++)
        check_update(&update_cases[i]);
    check_penalty();
    print_all_bits();
    printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "PASS", checks, failures);
    return failures != 0;
}
