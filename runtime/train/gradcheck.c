/* gradcheck.c — the self-checks: `gradcheck` (the generated gradients
 * against finite differences of the double-precision twin) and `check`
 * (outputs against a golden file). */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <float.h>
#include <math.h>

/* ---- gradcheck ------------------------------------------------------------------------------------
 * On the first batch, in training mode: the gradient of every trainable
 * tensor from the generated backward pass against central differences of
 * the loss, (L(w + h) − L(w − h)) / 2h with h = eps·max(1, |w|), at the K
 * elements whose gradients are largest. The differences are taken in
 * double precision, by the model's double-precision twin (NAME_f64_*,
 * which dnnc --main emits from the same op emitters with double for
 * float), at the float model's weights: the float32 loss is rounded to
 * ~1e-7 of itself, so its differences resolve gradients to ~1e-3 at best,
 * where double's resolve them to ~1e-9. Three comparisons:
 *   double: the twin's own backward against the differences — the gradient
 *           rules, free of float32 rounding (tolerance --tol);
 *   float:  NAME_backward's gradient, the one training uses, against them;
 *   all:    NAME_backward's gradient against the twin's over the whole
 *           tensor, as the norm of the difference (both --float-tol).
 * An error is |analytic − numeric| beyond the differences' own
 * uncertainty, relative to the larger of the two; for float at least
 * GC_FLOAT_FLOOR of the model's largest gradient, since float32 cannot
 * give a gradient far smaller than the others more precisely than that.
 * The norm is there because one element may differ wholly where float32
 * rounding left an activation on the other side of a kink (a relu, a
 * maxpool's arg-max) than double did.
 * A kink within h of w makes a difference quotient meaningless. The loss
 * at w ± h/2 shows it: over [w − h, w + h] a smooth loss is a parabola to
 * ~h³, so the third and fourth differences of the five losses measure how
 * far it is from one — rounding, or a kink (or a step too large for the
 * curvature) when more than rounding and enough to matter; such an element
 * is skipped, counted, and the next largest tried. Both models restart
 * from one snapshot before every evaluation, so dropout draws the same
 * masks in both precisions (the twin takes the float model's random state)
 * and batchnorm's running statistics stay put. */

#define GC_SKIP 0.1           /* judge an element when its differences are known to 10% of the tolerance */
#define GC_ROUNDING 64        /* the double loss's rounding, in DBL_EPSILON of its size */
#define GC_FLOAT_FLOOR 1e-4   /* float gradients are compared relative to at least 1e-4 of the largest */
#define GC_FLOAT_ZERO 1e-4    /* ... and to at least 1e-4 of max(1, |loss|): see float_floor */
#define GC_TRIES 4            /* elements tried per element checked, when some are skipped */
#define GC_LOSS_AGREE 1e-3    /* the float and double losses differ by float32 rounding, relative to max(1, |L|) */

/* The indices of the k largest g[i], i < n (k small: insertion). */
static int largest(const double *g, int n, int *top, int k) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int j = m < k ? m++ : k;
        if (j == k && g[i] <= g[top[k - 1]])
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && g[top[j - 1]] < g[i]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return m;
}

/* "[17, 403]": where element k lies in tensor t ("" for a scalar). */
static void index_str(char *buf, size_t cap, const dnn_tensor_info *t, int k) {
    int idx[4] = {0}, len = 0;
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = k % t->shape[d];
        k /= t->shape[d];
    }
    buf[0] = 0;
    for (int d = 0; d < t->rank && len < (int)cap; d++)
        len += snprintf(buf + len, cap - (size_t)len, "%s%d%s", d ? ", " : "[", idx[d], d + 1 < t->rank ? "" : "]");
}

/* The double model and the batch as it takes it. */
typedef struct Twin {
    const dnn_program *p;
    const void *snapshot;     /* the float model before any evaluation */
    const float *w0;          /* its parameters */
    void *m;                  /* NAME_f64_model */
    double *w, *g;            /* its parameters and gradients, laid out like params */
    double *x[MAX_SLOTS];     /* the inputs */
    const void *y[MAX_SLOTS]; /* the targets: doubles, or the batch's int32 labels */
    double *owned[MAX_SLOTS]; /* the doubles */
    int n;
} Twin;

static void twin_init(Twin *t, const dnn_program *p, void *snapshot, const Batch *b, int n) {
    dnn_model_view v;
    memset(t, 0, sizeof *t);
    p->view(snapshot, &v);
    t->p = p;
    t->snapshot = snapshot;
    t->w0 = v.params;
    t->n = n;
    t->m = xcalloc(1, p->f64_model_size);
    t->w = p->f64_params(t->m);
    t->g = p->f64_grads(t->m);
    for (int s = 0; s < p->ninputs + p->ntargets; s++) {
        const dnn_io *io = dnn_slot_io(p, s);
        const void *from = s < p->ninputs ? b->x[s] : b->y[s - p->ninputs];
        double *to = NULL;
        if (!io->classes) {
            to = t->owned[s] = xcalloc((size_t)n * (size_t)io->size, sizeof(double));
            for (long i = 0; i < (long)n * io->size; i++)
                to[i] = ((const float *)from)[i];
        }
        if (s < p->ninputs)
            t->x[s] = to;
        else
            t->y[s - p->ninputs] = to ? (const void *)to : from;
    }
}

static void twin_free(Twin *t) {
    for (int s = 0; s < MAX_SLOTS; s++)
        free(t->owned[s]);
    free(t->m);
}

/* The double model's train-mode loss at the snapshot's weights, element `at` set to w. */
static double twin_loss(Twin *t, size_t at, double w) {
    t->p->f64_load(t->m, t->snapshot);
    t->w[at] = w;
    return t->p->f64_loss(t->m, (const double *const *)t->x, t->y, t->n);
}

/* Central differences at one element, and how far they can be trusted. */
typedef struct Probe {
    double numeric;    /* (L(w + h) − L(w − h)) / 2h */
    double spread;     /* the third and fourth differences of L at w, w ± h/2, w ± h, over 2h */
    double rounding;   /* the smallest derivative the double loss resolves at this h */
} Probe;

static Probe probe(Twin *t, size_t at, double eps, double loss0) {
    const double w = t->w0[at];
    const double h = eps * fmax(1.0, fabs(w));
    const double lm = twin_loss(t, at, w - h), lm2 = twin_loss(t, at, w - h / 2);
    const double lp2 = twin_loss(t, at, w + h / 2), lp = twin_loss(t, at, w + h);
    const double third = lp - 2 * lp2 + 2 * lm2 - lm, fourth = lp - 4 * lp2 + 6 * loss0 - 4 * lm2 + lm;
    const double size = fmax(fmax(fabs(lm), fabs(lp)), fmax(fabs(loss0), fmax(fabs(lm2), fabs(lp2))));
    Probe q = {(lp - lm) / ((w + h) - (w - h)), (fabs(third) + fabs(fourth)) / (2 * h),
               GC_ROUNDING * DBL_EPSILON * size / h};
    return q;
}

/* |analytic − numeric| beyond the differences' uncertainty, relative to the larger of them or to floor. */
static double gc_error(double analytic, const Probe *q, double floor) {
    double scale = fmax(fmax(fabs(analytic), fabs(q->numeric)), floor);
    double excess = fabs(analytic - q->numeric) - q->spread;
    return excess > 0 ? excess / scale : 0.0;
}

/* The worst error of one comparison so far, and where. */
typedef struct Worst {
    double error;
    int tensor, index;   /* tensor -1: nothing compared */
} Worst;

static void worst_update(Worst *w, double error, int tensor, int index) {
    if (w->tensor < 0 || error > w->error || error != error) {
        w->error = error;
        w->tensor = tensor;
        w->index = index;
    }
}

/* "3.1e-09 [17, 403]", or "-" when nothing was compared */
static const char *worst_str(const dnn_program *p, const Worst *w, char *buf, size_t cap) {
    if (w->tensor < 0)
        return "-";
    char idx[64];
    index_str(idx, sizeof idx, &p->tensors[w->tensor], w->index);
    snprintf(buf, cap, "%.1e %s", w->error, idx);
    return buf;
}

/* The smallest scale a float gradient is compared relative to. Float32
 * cannot compute a gradient much smaller than the others precisely, nor
 * one that is mathematically zero: a conv or dense bias right before a
 * batchnorm, which subtracts it again, comes out as the rounding noise of a
 * sum over batch × H × W terms that cancel, and in DS-CNN or ResNet-8 that
 * noise is over 1e-6 of the largest gradient. The noise scales with the
 * loss those terms come from, so such gradients are judged absolutely, to
 * float_tol × 1e-4 × max(1, |loss|), far below any gradient a wrong rule
 * leaves in an element among the largest of its tensor. */
static double float_floor(double largest, double loss) {
    return fmax(GC_FLOAT_FLOOR * largest, GC_FLOAT_ZERO * fmax(1.0, fabs(loss)));
}

/* Both gradients of the model, and how gradcheck compares them with the differences. */
typedef struct Grads {
    const float *f;      /* NAME_backward's */
    const double *d;     /* the twin's */
    double loss;         /* the twin's train-mode loss */
    double largest;      /* the largest |d| of the model */
    double eps, tol, float_tol;
} Grads;

/* The K elements of largest gradient of tensor i from base (the next ones
 * when some are skipped) against the differences; returns how many were checked. */
static int check_elements(Twin *t, const Grads *g, int i, size_t base, const int *top, int k, int want,
                          Worst *wd, Worst *wf, int *skipped) {
    int checked = 0;
    for (int c = 0; c < k && checked < want; c++) {
        size_t at = base + (size_t)top[c];
        Probe q = probe(t, at, g->eps, g->loss);
        if (q.spread > q.rounding && q.spread > GC_SKIP * g->tol * fmax(fabs(g->d[at]), fabs(q.numeric))) {
            ++*skipped;
            continue;
        }
        checked++;
        worst_update(wd, gc_error(g->d[at], &q, q.rounding), i, top[c]);
        worst_update(wf, gc_error(g->f[at], &q, fmax(q.rounding, float_floor(g->largest, g->loss))), i, top[c]);
    }
    return checked;
}

/* ‖float − double‖ / ‖the larger‖ over tensor i, at the element that differs most. */
static Worst compare_all(const Grads *g, int i, size_t base, int size) {
    double diff = 0, norm = 0, most = -1;
    Worst w = {0, i, 0};
    for (int e = 0; e < size; e++) {
        double f = g->f[base + e], d = g->d[base + e];
        diff += (f - d) * (f - d);
        norm += fmax(f * f, d * d);
        if (fabs(f - d) > most || f != f) {
            most = fabs(f - d);
            w.index = e;
        }
    }
    double floor = float_floor(g->largest, g->loss) * sqrt((double)size);
    w.error = diff > 0 || diff != diff ? sqrt(diff) / fmax(sqrt(norm), floor) : 0.0;
    return w;
}

int dnn_cmd_gradcheck(Run *r) {
    const dnn_program *p = r->p;
    if (!p->f64_loss) {
        fail("this program has no double-precision model, which gradcheck needs; generate it again with this "
             "version of dnnc --main");
        return 1;
    }
    Data d;
    r->prep.scale = isnan(r->o.scale) ? 1.0 : r->o.scale;
    r->classes.learn = 1;
    if (dnn_start_weights(r, r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed, META_PREP | META_NAMES))
        return 1;
    if (dnn_load_data(p, &r->o, &r->classes, r->o.files, r->o.nfiles, p->ninputs + p->ntargets, &d)) {
        dnn_data_free(&d);
        return 1;
    }
    long *all = xcalloc((size_t)d.count, sizeof(long));
    for (long i = 0; i < d.count; i++)
        all[i] = i;
    dnn_prep_fit_options(p, &r->o, &r->prep, &d, all, d.count); /* unless the weights brought theirs */
    free(all);
    dnn_prep_apply(p, &r->prep, &d);
    int n = (int)(d.count < p->batch ? d.count : p->batch);
    if (n < p->min_batch) {
        fail("gradcheck needs at least %d samples: the model's batchnorm cannot train on 1 (PyTorch raises)", p->min_batch);
        dnn_data_free(&d);
        return 1;
    }
    Batch b;
    dnn_batch_alloc(p, &b);
    long *idx = xcalloc((size_t)n, sizeof(long));
    for (int i = 0; i < n; i++)
        idx[i] = i;
    dnn_batch_fill(p, &d, idx, n, &b);
    void *snapshot = xcalloc(1, p->model_size);
    memcpy(snapshot, r->m, p->model_size);

    /* the float gradient, then the double one, both at the snapshot */
    double loss_f = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
    float *grad_f = xcalloc(p->params_size, sizeof(float));
    double *grad_d = xcalloc(p->params_size, sizeof(double)), *order = xcalloc(p->params_size, sizeof(double));
    Twin t;
    twin_init(&t, p, snapshot, &b, n);
    p->f64_load(t.m, snapshot);
    Grads g = {grad_f, grad_d, p->f64_backward(t.m, (const double *const *)t.x, t.y, n), 0, r->o.eps, r->o.tol,
               r->o.float_tol};
    int most = 0; /* the largest trainable tensor */
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        size_t base = (size_t)(p->tensor(r->m, i) - r->v.params);
        memcpy(grad_f + base, p->grad(r->m, i), sizeof(float) * (size_t)p->tensors[i].size);
        for (int k = 0; k < p->tensors[i].size; k++) {
            grad_d[base + k] = t.g[base + k];
            order[base + k] = fmax(fabs(grad_d[base + k]), fabs(grad_f[base + k]));
            g.largest = fmax(g.largest, fabs(grad_d[base + k]));
        }
        most = p->tensors[i].size > most ? p->tensors[i].size : most;
    }
    memcpy(r->m, snapshot, p->model_size);

    printf("gradcheck of %s on %d samples: the %d largest gradients of each tensor against central differences\n"
           "of the loss in double precision, step %g·max(1, |w|)\n", p->name, n, r->o.coords, r->o.eps);
    int bad = !(fabs(loss_f - g.loss) <= GC_LOSS_AGREE * fmax(1.0, fabs(g.loss)));
    printf("loss %.9g (float), %.17g (double): %s\n", loss_f, g.loss,
           bad ? "they disagree: the double-precision model is not this model's twin" : "they agree");
    printf("  %-24s %8s %7s %7s  %-22s %-22s %s\n", "tensor", "values", "checked", "skipped", "double error at",
           "float error at", "all elements at");
    Worst wd = {0, -1, 0}, wf = {0, -1, 0}, wa = {0, -1, 0};
    int tries = r->o.coords < most / GC_TRIES ? r->o.coords * GC_TRIES : most;
    int *top = xcalloc((size_t)tries, sizeof(int));
    int skipped = 0;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        size_t base = (size_t)(p->tensor(r->m, i) - r->v.params);
        int size = p->tensors[i].size, skips = 0, k = largest(order + base, size, top, tries);
        Worst td = {0, -1, 0}, tf = {0, -1, 0}, ta = compare_all(&g, i, base, size);
        int checked = check_elements(&t, &g, i, base, top, k, r->o.coords, &td, &tf, &skips);
        char sd[96], sf[96], sa[96];
        printf("  %-24s %8d %7d %7d  %-22s %-22s %s%s\n", p->tensors[i].name, size, checked, skips,
               worst_str(p, &td, sd, sizeof sd), worst_str(p, &tf, sf, sizeof sf), worst_str(p, &ta, sa, sizeof sa),
               td.error > g.tol || (!p->qat && (tf.error > g.float_tol || ta.error > g.float_tol)) ? "  <-- too large"
                                                                                                : "");
        if (td.tensor >= 0)
            worst_update(&wd, td.error, td.tensor, td.index);
        if (tf.tensor >= 0)
            worst_update(&wf, tf.error, tf.tensor, tf.index);
        worst_update(&wa, ta.error, ta.tensor, ta.index);
        skipped += skips;
    }

    const struct { const char *what; const Worst *w; double tol; } verdicts[3] = {
        {"double backward against the differences", &wd, g.tol},
        {"float backward against the differences", &wf, g.float_tol},
        {"float backward against the double one, all elements", &wa, g.float_tol}};
    for (int k = 0; k < 3; k++) {
        const Worst *w = verdicts[k].w;
        if (w->tensor < 0)
            continue;
        if (k > 0 && p->qat) { /* no derivative to check: the rounding's gradient is a choice (STE) */
            printf("%-52s not checked: quantize int8 (the float model rounds; its gradient is the "
                   "straight-through estimator's)\n", verdicts[k].what);
            continue;
        }
        int over = !(w->error <= verdicts[k].tol);
        char where[64];
        index_str(where, sizeof where, &p->tensors[w->tensor], w->index);
        printf("%-52s worst %.2e at %s%s (tolerance %g): %s\n", verdicts[k].what, w->error, p->tensors[w->tensor].name,
               where, verdicts[k].tol, over ? "FAILED" : "ok");
        bad |= over;
    }
    if (skipped)
        printf("%d element%s skipped: the loss is not smooth within ±h of them (a kink, or a step too large)\n",
               skipped, skipped == 1 ? "" : "s");
    printf("gradcheck of %s: %s\n", p->name, bad ? "FAILED" : "ok");
    free(top);
    free(order);
    free(grad_d);
    free(grad_f);
    twin_free(&t);
    free(snapshot);
    free(idx);
    dnn_batch_free(p, &b);
    dnn_data_free(&d);
    return bad;
}

/* ---- check: golden outputs ----------------------------------------------------------------------- */

int dnn_cmd_check(Run *r) {
    const dnn_program *p = r->p;
    if (!r->o.golden || !r->o.weights) {
        fail("'check' needs --weights FILE and --golden FILE");
        return 2;
    }
    r->prep.scale = 1.0;
    p->init(r->m, p->seed);
    if (dnn_load_weights(r, r->o.weights, 0))
        return 1;
    void *buf;
    size_t len;
    if (dnn_read_whole(r->o.golden, &buf, &len))
        return 1;
    /* the stored inputs and outputs, [N, per-sample...] each, F32 */
    const float *in[MAX_SLOTS], *want[MAX_SLOTS];
    long count = -1;
    int rc = 0;
    for (int s = 0; s < p->ninputs + p->noutputs && !rc; s++) {
        const dnn_io *io = s < p->ninputs ? &p->inputs[s] : &p->outputs[s - p->ninputs];
        dnn_st_view v;
        int e = dnn_st_find(buf, len, io->name, &v);
        long per = 1;
        for (int k = 1; e == DNN_OK && k < v.rank; k++) /* v is unset on an error */
            per *= (long)v.shape[k];
        if (e != DNN_OK || v.dtype != DNN_DT_F32 || v.rank < 1 || per != io->size ||
            (count >= 0 && v.shape[0] != count) || ((uintptr_t)v.data & 3)) {
            fail("%s: %s '%s' must be F32 [N, %d values per sample]%s", r->o.golden,
                 s < p->ninputs ? "input" : "output", io->name, io->size, e != DNN_OK ? ", and it is missing" : "");
            rc = 1;
            break;
        }
        count = (long)v.shape[0];
        (s < p->ninputs ? in : want)[s < p->ninputs ? s : s - p->ninputs] = v.data;
    }
    if (!rc && count <= 0) {
        fail("%s holds no samples", r->o.golden);
        rc = 1;
    }
    Batch b;
    dnn_batch_alloc(p, &b);
    double *worst = xcalloc((size_t)p->noutputs + 1, sizeof(double));
    long *bad = xcalloc((size_t)p->noutputs + 1, sizeof(long));
    for (long start = 0; !rc && start < count; start += p->batch) {
        int n = (int)(count - start < p->batch ? count - start : p->batch);
        for (int s = 0; s < p->ninputs; s++)
            memcpy(b.x[s], in[s] + start * p->inputs[s].size, sizeof(float) * (size_t)n * (size_t)p->inputs[s].size);
        p->forward(r->m, (const float *const *)b.x, b.out, n);
        for (int k = 0; k < p->noutputs; k++)
            for (long e = 0; e < (long)n * p->outputs[k].size; e++) {
                double got = b.out[k][e], w = want[k][start * p->outputs[k].size + e], err = fabs(got - w);
                if (!(err <= r->o.atol + r->o.rtol * fabs(w)))
                    bad[k]++;
                if (err > worst[k] || err != err)
                    worst[k] = err;
            }
    }
    for (int k = 0; k < p->noutputs && !rc; k++) {
        char verdict[128] = "ok";
        if (bad[k])
            snprintf(verdict, sizeof verdict, "%ld values beyond %g + %g|want|: FAILED", bad[k], r->o.atol, r->o.rtol);
        printf("%-16s %ld samples  worst |error| %.3g  %s\n", p->outputs[k].name, count, worst[k], verdict);
        rc |= bad[k] != 0;
    }
    free(worst);
    free(bad);
    dnn_batch_free(p, &b);
    free(buf);
    return rc;
}
