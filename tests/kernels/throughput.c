/* throughput.c — each kernel of runtime/dnn_kernels.h against its plain
 * reference (dnn_NAME_plain: the loops of --optimize=size, sizes as
 * run-time arguments), timed (not a test: it prints, it does not judge).
 * throughput.sh builds it over generate.sh's cases.
 *
 * For every case and role (forward, input / weight / bias gradient, a
 * pool's gradient, an optimizer's update) the plain loops and the kernel
 * are timed alternately, BENCH_REPS (11) times each, every timing as many
 * calls as fill about 2 ms of CPU time; a line is
 *     TAG ROLE n PLAIN_US KERNEL_US RATIO
 * with the CPU-time medians per call in microseconds and RATIO = kernel /
 * plain (below 1: what the kernel's blocking and vectors buy). The last
 * lines are each role's geometric mean of the ratios. n: the samples of a
 * call (32 for dense, as a training batch; 8 for conv2d and pooling; 1 for
 * the fused inference step). An update is over 18 parameters against its
 * step of one parameter at a time. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "bench.h"
#include "kernel_cases.h"

enum { N_DENSE = 32, N_CONV = 8, N_INFER = 1 };

/* One role of one case: call(ctx, kernel) runs the kernel (1) or the
 * generated step (0) once. */
typedef struct {
    const char *tag, *role;
    int n;
    void (*call)(const void *ctx, int kernel);
    const void *ctx;
} Job;

/* The operands every call of a case reads and writes: inputs x, weights w,
 * bias b, output gradient dy, output y, and where results go (out). */
typedef struct {
    const void *c; /* the case */
    int n;
    float *x, *w, *b, *dy, *y, *out;
} Operands;

static float *random_floats(size_t count) {
    float *v = malloc((count + 1) * sizeof(float));
    if (!v) {
        fprintf(stderr, "throughput: out of memory\n");
        exit(2);
    }
    unsigned long long s = count * 2654435761ULL + 1;
    for (size_t i = 0; i <= count; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    return v;
}

static Operands operands(const void *c, int n, size_t x, size_t w, size_t b, size_t y) {
    const size_t most = x > y ? x : y;
    Operands o = {c, n, random_floats(x), random_floats(w), random_floats(b), random_floats(y), random_floats(y),
                  random_floats(most > w ? most : w)};
    return o;
}

/* ---- the calls, role by role: the kernel (kernel = 1) or the plain loops ----------------- */

#define OUT(H, K, S, P) (((H) + 2 * (P) - (K)) / (S) + 1)

static void dense_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    if (kernel)
        c->fwd(o->out, o->x, o->w, o->b, o->n);
    else
        dnn_dense_forward_plain(o->out, o->x, o->w, c->bias ? o->b : NULL, o->n, c->in, c->units);
}
static void dense_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->dx(o->out, o->dy, o->w, o->n) : dnn_dense_backward_input_plain(o->out, o->dy, o->w, o->n, c->in, c->units);
}
static void dense_dw(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->dw(o->out, o->dy, o->x, o->n) : dnn_dense_backward_weight_plain(o->out, o->dy, o->x, o->n, c->in, c->units);
}
static void dense_db(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->db(o->out, o->dy, o->n) : dnn_dense_backward_bias_plain(o->out, o->dy, o->n, c->units);
}
static void conv_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    if (kernel)
        c->fwd(o->out, o->x, o->w, o->b, o->n);
    else
        dnn_conv2d_forward_plain(o->out, o->x, o->w, c->bias ? o->b : NULL, o->n, c->C, c->H, c->W, c->F, c->K, c->S, c->P);
}
static void conv_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    if (kernel)
        c->dx(o->out, o->dy, o->w, o->n);
    else
        dnn_conv2d_backward_input_plain(o->out, o->dy, o->w, o->n, c->C, c->H, c->W, c->F, c->K, c->S, c->P);
}
static void conv_dw(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    if (kernel)
        c->dw(o->out, o->dy, o->x, o->n);
    else
        dnn_conv2d_backward_weight_plain(o->out, o->dy, o->x, o->n, c->C, c->H, c->W, c->F, c->K, c->S, c->P);
}
static void conv_db(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    if (kernel)
        c->db(o->out, o->dy, o->n);
    else
        dnn_conv2d_backward_bias_plain(o->out, o->dy, o->n, c->F, OUT(c->H, c->K, c->S, c->P), OUT(c->W, c->K, c->S, c->P));
}
static void convpool_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvPoolCase *c = o->c;
    if (kernel)
        c->fwd(o->out, o->x, o->w, o->b, o->n);
    else
        dnn_conv2d_pool_forward_plain(o->out, o->x, o->w, c->bias ? o->b : NULL, o->n, c->C, c->H, c->W, c->F, c->K, c->S,
                                      c->P, c->PK, c->PS, c->PP, c->max, c->act);
}
static void pool_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const PoolCase *c = o->c;
    kernel ? c->fwd(o->out, o->x, o->n) : dnn_pool_forward_plain(o->out, o->x, o->n, c->C, c->H, c->W, c->K, c->S, c->P, c->max);
}
static void pool_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const PoolCase *c = o->c;
    if (kernel)
        c->dx(o->out, o->dy, o->x, o->y, o->n);
    else
        dnn_pool_backward_plain(o->out, o->dy, o->x, o->n, c->C, c->H, c->W, c->K, c->S, c->P, c->max);
}
/* an update of 18 parameters (o->x: parameters, gradients, states), not the first step */
static void update_all(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const UpdateCase *c = o->c;
    static const float h[9] = {1e-6f, 0.9f, 0.1f, 0.0f, 0.999f, 0.001f, 1e-8f, 1e-6f, 0.7f};
    float *s0 = c->states ? o->x + 36 : NULL, *s1 = c->states > 1 ? o->x + 54 : NULL;
    if (kernel)
        c->update(o->x, o->x + 18, s0, s1, 18, h);
    else
        for (int i = 0; i < 18; i++)
            c->step(o->x + i, o->x + 18 + i, s0 ? s0 + i : NULL, s1 ? s1 + i : NULL, 1, h);
}

/* ---- timing ------------------------------------------------------------------------------ */

static double ratio_log[8], ratio_count[8];
static const char *const roles[8] = {"forward", "backward_input", "backward_weight", "backward_bias",
                                     "fused_forward", "pool_forward", "pool_backward", "update"};

/* Times one job: the plain loops and the kernel alternately. */
static void time_job(const Job *j, int role) {
    int calls = 1;
    for (;;) { /* calls filling ~2 ms of the plain loops */
        bench_clock t0 = bench_now();
        for (int i = 0; i < calls; i++)
            j->call(j->ctx, 0);
        if (bench_since(t0).cpu >= 2e-3 || calls >= 1 << 24)
            break;
        calls *= 2;
    }
    double cpu[2][BENCH_REPS];
    for (int r = 0; r < BENCH_REPS; r++)
        for (int side = 0; side < 2; side++) {
            const int kernel = side ^ (r & 1); /* which goes first alternates */
            bench_clock t0 = bench_now();
            for (int i = 0; i < calls; i++)
                j->call(j->ctx, kernel);
            cpu[kernel][r] = bench_since(t0).cpu / calls;
        }
    const double plain = bench_median(cpu[0], BENCH_REPS), ker = bench_median(cpu[1], BENCH_REPS);
    printf("%-44s %-16s %3d %11.3f %11.3f %6.2f\n", j->tag, j->role, j->n, plain * 1e6, ker * 1e6, ker / plain);
    fflush(stdout);
    ratio_log[role] += log(ker / plain);
    ratio_count[role]++;
}

static void run(const char *tag, int role, int n, void (*call)(const void *, int), const Operands *o) {
    const Job j = {tag, roles[role], n, call, o};
    time_job(&j, role);
}

static void release_operands(Operands *o) { free(o->x), free(o->w), free(o->b), free(o->dy), free(o->y), free(o->out); }

int main(void) {
    printf("%-44s %-16s %3s %11s %11s %6s\n", "case", "role", "n", "plain_us", "kernel_us", "ratio");
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++) {
        const DenseCase *c = &dense_cases[i];
        Operands o = operands(c, N_DENSE, (size_t)N_DENSE * c->in, (size_t)c->units * c->in, (size_t)c->units,
                              (size_t)N_DENSE * c->units);
        run(c->tag, 0, N_DENSE, dense_fwd, &o);
        run(c->tag, 1, N_DENSE, dense_dx, &o);
        run(c->tag, 2, N_DENSE, dense_dw, &o);
        run(c->tag, 3, N_DENSE, dense_db, &o);
        release_operands(&o);
    }
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
        const ConvCase *c = &conv_cases[i];
        const size_t out = (size_t)c->F * OUT(c->H, c->K, c->S, c->P) * OUT(c->W, c->K, c->S, c->P);
        Operands o = operands(c, N_CONV, (size_t)N_CONV * c->C * c->H * c->W, (size_t)c->F * c->C * c->K * c->K,
                              (size_t)c->F, N_CONV * out);
        run(c->tag, 0, N_CONV, conv_fwd, &o);
        run(c->tag, 1, N_CONV, conv_dx, &o);
        run(c->tag, 2, N_CONV, conv_dw, &o);
        run(c->tag, 3, N_CONV, conv_db, &o);
        release_operands(&o);
    }
    for (size_t i = 0; i < sizeof convpool_cases / sizeof *convpool_cases; i++) {
        const ConvPoolCase *c = &convpool_cases[i];
        const int OH = OUT(c->H, c->K, c->S, c->P), OW = OUT(c->W, c->K, c->S, c->P);
        const size_t out = (size_t)c->F * OUT(OH, c->PK, c->PS, c->PP) * OUT(OW, c->PK, c->PS, c->PP);
        Operands o = operands(c, N_INFER, (size_t)N_INFER * c->C * c->H * c->W, (size_t)c->F * c->C * c->K * c->K,
                              (size_t)c->F, N_INFER * out);
        run(c->tag, 4, N_INFER, convpool_fwd, &o);
        release_operands(&o);
    }
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++) {
        const PoolCase *c = &pool_cases[i];
        const size_t out = (size_t)c->C * OUT(c->H, c->K, c->S, c->P) * OUT(c->W, c->K, c->S, c->P);
        Operands o = operands(c, N_CONV, (size_t)N_CONV * c->C * c->H * c->W, 0, 0, N_CONV * out);
        c->fwd(o.y, o.x, N_CONV); /* the gradient reads the forward's output */
        run(c->tag, 5, N_CONV, pool_fwd, &o);
        run(c->tag, 6, N_CONV, pool_dx, &o);
        release_operands(&o);
    }
    for (size_t i = 0; i < sizeof update_cases / sizeof *update_cases; i++) {
        const UpdateCase *c = &update_cases[i];
        Operands o = operands(c, 1, 4 * 18, 0, 0, 0);
        for (size_t f = 36; f < 4 * 18; f++) /* positive state (Adagrad's and RMSprop's squares) */
            o.x[f] = fabsf(o.x[f]);
        run(c->tag, 7, 1, update_all, &o);
        release_operands(&o);
    }
    printf("\ngeometric means of the ratios (kernel / plain):\n");
    for (int r = 0; r < 8; r++)
        if (ratio_count[r])
            printf("  %-16s %5.2f over %.0f cases\n", roles[r], exp(ratio_log[r] / ratio_count[r]), ratio_count[r]);
    return 0;
}
