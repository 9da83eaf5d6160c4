/* throughput.c — each kernel of runtime/dnn_kernels.h against the step
 * dnnc generates today for the same layer, timed (not a test: it prints,
 * it does not judge). throughput.sh builds it over generate.sh's cases.
 *
 * For every case and role (forward, input / weight / bias gradient, a
 * pool's gradient, an optimizer's update) the generated step and the
 * kernel are timed alternately, BENCH_REPS (11) times each (which goes
 * first alternates too), every timing as many calls as fill about 10 ms
 * of CPU time; a line is
 *     TAG ROLE n GENERATED_US KERNEL_US RATIO
 * with the CPU-time medians per call in microseconds and RATIO = kernel /
 * generated (1.00: as fast; below 1: the kernel is faster). The last
 * lines are each role's geometric mean of the ratios. n: the samples of a
 * call (32 for dense, as a training batch; 8 for conv2d and pooling; 1 for
 * the fused inference step).
 *
 * Arguments: `control` times the generated step against itself the same
 * way (both columns the generated step: the ratios show the noise, what
 * a ratio must exceed to mean anything); any other argument is a part of
 * a case's tag, and only the cases whose tag contains one are timed. */
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

/* ---- the calls, role by role ------------------------------------------------------------- */

static void dense_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    (kernel ? c->fwd : c->gen_fwd)(o->out, o->x, o->w, o->b, o->n);
}
static void dense_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->dx(o->out, o->dy, o->w, o->n) : c->gen_dx(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void dense_dw(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->dw(o->out, o->dy, o->x, o->n) : c->gen_dw(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void dense_db(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const DenseCase *c = o->c;
    kernel ? c->db(o->out, o->dy, o->n) : c->gen_db(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void conv_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    (kernel ? c->fwd : c->gen_fwd)(o->out, o->x, o->w, o->b, o->n);
}
static void conv_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    kernel ? c->dx(o->out, o->dy, o->w, o->n) : c->gen_dx(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void conv_dw(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    kernel ? c->dw(o->out, o->dy, o->x, o->n) : c->gen_dw(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void conv_db(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvCase *c = o->c;
    kernel ? c->db(o->out, o->dy, o->n) : c->gen_db(o->out, o->dy, o->x, o->w, o->b, NULL, o->n);
}
static void convpool_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const ConvPoolCase *c = o->c;
    (kernel ? c->fwd : c->gen_fwd)(o->out, o->x, o->w, o->b, o->n);
}
static void pool_fwd(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const PoolCase *c = o->c;
    (kernel ? c->fwd : c->gen_fwd)(o->out, o->x, o->n);
}
static void pool_dx(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const PoolCase *c = o->c;
    (kernel ? c->dx : c->gen_dx)(o->out, o->dy, o->x, o->y, o->n);
}
/* an update over all 18 parameters of the case's model (o->x: the model struct), not the first step */
static void update_all(const void *ctx, int kernel) {
    const Operands *o = ctx;
    const UpdateCase *c = o->c;
    (kernel ? c->ker : c->gen)(o->x, 0, 18, 1e-6f, 0, 1e-6f, 0.7f);
}

/* ---- timing ------------------------------------------------------------------------------ */

static double ratio_log[8], ratio_count[8];
static int control;          /* both sides run the generated step */
static char **only, **only_end; /* the tags' parts asked for, if any */
static const char *const roles[8] = {"forward", "backward_input", "backward_weight", "backward_bias",
                                     "fused_forward", "pool_forward", "pool_backward", "update"};

/* Times one job: the generated step and the kernel alternately. */
static void time_job(const Job *j, int role) {
    int calls = 1;
    for (;;) { /* calls filling ~10 ms of the generated step */
        bench_clock t0 = bench_now();
        for (int i = 0; i < calls; i++)
            j->call(j->ctx, 0);
        if (bench_since(t0).cpu >= 10e-3 || calls >= 1 << 24)
            break;
        calls *= 2;
    }
    double cpu[2][BENCH_REPS];
    for (int r = 0; r < BENCH_REPS; r++)
        for (int side = 0; side < 2; side++) {
            const int kernel = side ^ (r & 1);
            bench_clock t0 = bench_now();
            for (int i = 0; i < calls; i++)
                j->call(j->ctx, kernel && !control);
            cpu[kernel][r] = bench_since(t0).cpu / calls;
        }
    const double gen = bench_median(cpu[0], BENCH_REPS), ker = bench_median(cpu[1], BENCH_REPS);
    printf("%-44s %-16s %3d %11.3f %11.3f %6.2f\n", j->tag, j->role, j->n, gen * 1e6, ker * 1e6, ker / gen);
    fflush(stdout);
    ratio_log[role] += log(ker / gen);
    ratio_count[role]++;
}

/* Whether the case is asked for. */
static int wanted(const char *tag) {
    if (only == only_end)
        return 1;
    for (char **t = only; t < only_end; t++)
        if (strstr(tag, *t))
            return 1;
    return 0;
}

static void run(const char *tag, int role, int n, void (*call)(const void *, int), const Operands *o) {
    if (!wanted(tag))
        return;
    const Job j = {tag, roles[role], n, call, o};
    time_job(&j, role);
}

static void release_operands(Operands *o) { free(o->x), free(o->w), free(o->b), free(o->dy), free(o->y), free(o->out); }

#define OUT(H, K, S, P) (((H) + 2 * (P) - (K)) / (S) + 1)

int main(int argc, char **argv) {
    control = argc > 1 && !strcmp(argv[1], "control");
    only = argv + 1 + control, only_end = argv + argc;
    if (control)
        printf("# control: the generated step against itself\n");
    printf("%-44s %-16s %3s %11s %11s %6s\n", "case", "role", "n", "generated_us", "kernel_us", "ratio");
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++) {
        const DenseCase *c = &dense_cases[i];
        Operands o = operands(c, N_DENSE, (size_t)N_DENSE * c->in, (size_t)c->units * c->in, (size_t)c->units,
                              (size_t)N_DENSE * c->units);
        run(c->tag, 0, N_DENSE, dense_fwd, &o);
        run(c->tag, 1, N_DENSE, dense_dx, &o);
        run(c->tag, 2, N_DENSE, dense_dw, &o);
        if (c->gen_db)
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
        if (c->gen_db)
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
        Operands o = operands(c, 1, c->size / sizeof(float), 0, 0, 0);
        for (size_t f = 0; f < c->size / sizeof(float); f++) /* positive state (Adagrad's and RMSprop's squares) */
            o.x[f] = fabsf(o.x[f]);
        c->set(o.x, 0.0);
        run(c->tag, 7, 1, update_all, &o);
        release_operands(&o);
    }
    printf("\ngeometric means of the ratios (%s):\n", control ? "generated / generated" : "kernel / generated");
    for (int r = 0; r < 8; r++)
        if (ratio_count[r])
            printf("  %-16s %5.2f over %.0f cases\n", roles[r], exp(ratio_log[r] / ratio_count[r]), ratio_count[r]);
    return 0;
}
