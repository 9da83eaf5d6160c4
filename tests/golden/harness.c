/* harness.c — checks one dnnc-generated model against its PyTorch goldens.
 *
 * One generic program, compiled once per golden case with the model's
 * names pasted in (tests/golden/run.sh does this):
 *
 *   cc -std=c99 -O1 -Wall -Wextra -Werror -Iruntime -I$TMP \
 *      -DMODEL=xor -DMODEL_UC=XOR -DCLASS_TARGET=0 -include $TMP/xor.h \
 *      tests/golden/harness.c $TMP/xor.c build/libdnnrt.a -lm
 *
 *   harness CASE.golden.safetensors CASE.weights.safetensors [OUT_PREFIX]
 *
 * In the style of llm.c's test_gpt2.c it loads the PyTorch weights, then
 * checks, printing one "PASS golden/CASE group (largest error)" or
 * "FAIL golden/CASE group: why" line per group:
 *   load     NAME_load accepts the PyTorch state_dict;
 *   forward  NAME_forward against `out`;
 *   loss     NAME_backward's and NAME_loss's returns against `loss`;
 *   grad     NAME_grad of every trainable tensor against `grad.NAME`;
 *   fd       those gradients against central differences of NAME_loss
 *            (of the train-mode loss for batchnorm/dropout: check_fd);
 *   dropout  drop_stats only: the masks (check_dropout);
 *   partial  weights reloaded, n = B/2 < BATCH: NAME_forward's first
 *            rows against `out`, NAME_loss and NAME_backward against
 *            `partial.loss`, the
 *            gradients against `partial.grad.NAME`;
 *   train    20 NAME_train_step calls (NAME_set_epoch(m, s / 5) before
 *            step s) against `traj.loss`, then every tensor (parameters
 *            and buffers) against `traj.NAME`;
 *   schedule a cosine schedule only (golden `sched.lr`): the lr at counts
 *            0..99, from NAME_set_epoch or (per_step) NAME_step, equal to
 *            the float32 of PyTorch's own scheduler's lr bit for bit, also
 *            when started at a late count (as after --resume);
 *   save     NAME_save -> NAME_load into a fresh model gives identical
 *            tensors and bytes; too small a buffer is left untouched; a
 *            truncated image is rejected and changes nothing.
 * With OUT_PREFIX it also writes OUT_PREFIX.trained.safetensors (the saved
 * trained weights) and OUT_PREFIX.out.f32 (their forward output on x, raw
 * floats) for the PyTorch round trip (torch_roundtrip.py).
 * Batchnorm and dropout models (golden `eval.loss` present): NAME_loss is
 * checked against `eval.loss`, buffers after one backward against
 * `state1.NAME`; without a golden `loss` (dropout's masks are dnnc's own)
 * the comparisons of train-mode values with PyTorch are left out (README.md).
 * Exit status: 0 when every group passed, 1 otherwise.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "dnn_host.h"

#ifndef MODEL
#error "compile with -DMODEL=name -DMODEL_UC=NAME -include name.h"
#endif
#ifndef CLASS_TARGET
#define CLASS_TARGET 0
#endif
/* -DEXTREME: the extreme-value cases of tests/numerics (make_numerics.py):
 * only load, forward, loss and grad, with infinities compared exactly */
#ifndef EXTREME
#define EXTREME 0
#endif
/* DEVICE: an embedded training build (dnnc --embed-weights without
 * --inference; run.sh's CASE.device): the weights are in the code, the
 * update fused, no NAME_backward, NAME_grad or NAME_step; only load (its
 * NAME_init), forward, the eval loss and train are checked. */
#ifndef DEVICE
#define DEVICE 0
#endif
#if EXTREME
#define SUITE "numerics"
#else
#define SUITE "golden"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#define FN(suffix) CAT(MODEL, suffix)    /* FN(_init) is xor_init */
#define UC(suffix) CAT(MODEL_UC, suffix) /* UC(_BATCH) is XOR_BATCH */

#define B UC(_BATCH)
#define NT UC(_NUM_TENSORS)
#define STEPS 20           /* optimizer steps in traj.* */
#define STEPS_PER_EPOCH 5  /* the epoch passed to NAME_set_epoch advances every 5 steps */
#define FD_SAMPLES 64      /* elements per tensor checked by finite differences (golden fd.samples: fewer) */

#if CLASS_TARGET
typedef int32_t target_t;
#else
typedef float target_t;
#endif

typedef FN(_model) model_t;

static model_t m;         /* static: the model struct may be large */
static float x[B * UC(_X_SIZE)];
static target_t y[B * UC(_Y_SIZE)];
static float out[B * UC(_OUT_SIZE)];
#if !DEVICE
static model_t m2;
static float out2[B * UC(_OUT_SIZE)];
static unsigned char img[1 << 22], img2[1 << 22];   /* fc_autoencoder saves 1.08 MB */
#endif

static const char *case_name = STR(MODEL);
static const unsigned char *golden;  /* the golden file's bytes */
static size_t golden_len;
static int failed;                   /* any group failed */
static int modal;        /* golden has eval.loss: batchnorm or dropout, eval and train differ */
static int random_train; /* golden has no train-mode loss: dropout masks are dnnc's own */

/* ---- check groups -------------------------------------------------------- */

/* One group of comparisons: the largest error seen, the first failure. */
typedef struct group {
    const char *name;     /* "forward", "grad", ... */
    double max_err;       /* largest |got - want| */
    double worst;         /* largest |got - want| / tolerance */
    int compared;         /* numeric comparisons made */
    int nonfinite;        /* of them, expected values that are not finite */
    int bad;              /* comparisons out of tolerance, and other failures */
    char why[256];        /* the first failure, or a setup error */
} group;

static group begin(const char *name) {
    group g;
    memset(&g, 0, sizeof g);
    g.name = name;
    return g;
}

/* A failure that is not a numeric mismatch (missing tensor, bad size, ...). */
static void fail(group *g, const char *why) {
    if (!g->bad++)
        snprintf(g->why, sizeof g->why, "%s", why);
}

/* One comparison: |got - want| <= atol + rtol*|want|; equal values (an
 * infinity of the same sign, NaN for NaN) always agree, and a finite
 * expected value is never matched by a non-finite one. `what`, with
 * `index` appended when it is not negative, names the value in a failure. */
static void compare(group *g, const char *what, int index, float got, float want, double atol,
                    double rtol) {
    int same = got == want || (got != got && want != want);
    if (EXTREME) /* relative accuracy down to the denormals */
        atol = 1e-37;
    double err = same ? 0.0 : fabs((double)got - want), tol = atol + rtol * fabs(want);
    g->compared++;
    g->nonfinite += !isfinite(want);
    if (err > g->max_err || err != err)
        g->max_err = err;
    if (same) /* even where the tolerance is not a number (a NaN expected) */
        return;
    if (err / tol > g->worst || err != err)
        g->worst = err / tol;
    if (!(err <= tol) && !g->bad++) {
        if (index >= 0)
            snprintf(g->why, sizeof g->why, "%s[%d] = %.7g, want %.7g", what, index, got, want);
        else
            snprintf(g->why, sizeof g->why, "%s = %.7g, want %.7g", what, got, want);
    }
}

/* Compares n elements. */
static void expect(group *g, const char *what, const float *got, const float *want, int n,
                   double atol, double rtol) {
    int i;
    for (i = 0; i < n; i++)
        compare(g, what, i, got[i], want[i], atol, rtol);
}

static int end(group *g) {
    if (g->bad) {
        printf("FAIL " SUITE "/%s %s: %s", case_name, g->name, g->why);
        if (g->bad > 1)
            printf(" (%d mismatches, largest error %.3g)", g->bad, g->max_err);
        printf("\n");
        failed = 1;
    } else if (g->compared) {
        printf("PASS " SUITE "/%s %s (largest error %.3g, %.2g of tolerance", case_name, g->name, g->max_err,
               g->worst);
        if (g->nonfinite)
            printf("; %d of %d values infinite, as in PyTorch", g->nonfinite, g->compared);
        printf(")\n");
    } else {
        printf("PASS " SUITE "/%s %s\n", case_name, g->name);
    }
    fflush(stdout);
    return !g->bad;
}

/* ---- golden tensors -------------------------------------------------------- */

/* Finds golden tensor `name`: DNN_OK and its bytes, or DNN_E_MISSING.
 * dnn_st_find checks the whole header on every call, in time quadratic in
 * its entries: 70 ms for mobilenet_v1_025's ~900, 40 s over its checks. So
 * main() checks the file once (dnn_st_count) and this finds the key in the
 * header text as make_goldens.py writes it, "NAME":{...,"data_offsets":[B,E]}. */
static int golden_find(const char *name, dnn_st_view *v) {
    const char *hdr = (const char *)golden + 8, *at, *end;
    size_t hlen = 0, klen = strlen(name), i, begin;
    char key[260], *rest;
    int k;
    for (k = 7; k >= 0; k--)
        hlen = hlen << 8 | golden[k];
    if (klen > 256)
        return DNN_E_MISSING;
    key[0] = '"';
    memcpy(key + 1, name, klen);
    memcpy(key + 1 + klen, "\":{", 4);
    for (i = 0; i + klen + 4 <= hlen; i++) {
        if (memcmp(hdr + i, key, klen + 4) != 0)
            continue;
        at = hdr + i;
        end = memchr(at, '}', hlen - i);
        while (end && at < end && memcmp(at, "\"data_offsets\":[", 16) != 0)
            at++;
        if (!end || at >= end)
            return DNN_E_HEADER;
        begin = strtoul(at + 16, &rest, 10);
        memset(v, 0, sizeof *v);
        v->data = golden + 8 + hlen + begin;
        v->nbytes = strtoul(rest + 1, NULL, 10) - begin;
        return DNN_OK;
    }
    return DNN_E_MISSING;
}

/* Copies golden tensor `name` (n elements of 4 bytes) into dst; 0 on success. */
static int golden_get(group *g, const char *name, void *dst, size_t n) {
    dnn_st_view v;
    char why[200];
    int rc = golden_find(name, &v);
    if (rc != DNN_OK) {
        snprintf(why, sizeof why, "golden tensor %s: %s", name, dnn_strerror(rc));
        fail(g, why);
        return -1;
    }
    if (v.nbytes != n * 4) {
        snprintf(why, sizeof why, "golden tensor %s has %lu elements, the model %lu", name,
                 (unsigned long)(v.nbytes / 4), (unsigned long)n);
        fail(g, why);
        return -1;
    }
    memcpy(dst, v.data, n * 4);
    return 0;
}

/* The golden tensor `prefix``name` as floats in a static buffer, or NULL. */
static const float *golden_param(group *g, const char *prefix, const char *name, int size) {
    static float buf[1 << 17];   /* fc_autoencoder's [128, 640] */
    char key[256];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    if ((size_t)size > sizeof buf / sizeof buf[0]) {
        fail(g, "tensor too large for the harness");
        return NULL;
    }
    return golden_get(g, key, buf, (size_t)size) ? NULL : buf;
}

/* Does the golden file hold tensor `name`? */
static int golden_has(const char *name) {
    dnn_st_view v;
    return golden_find(name, &v) == DNN_OK;
}

#if !DEVICE
/* Trainable tensors the golden file has gradients for ("grad.*" entries). */
static int golden_grad_count(void) {
    /* The keys "grad.*" in the JSON header, counted in one pass: dnn_st_at
     * parses the header up to entry i, which over mobilenet_v1_025's ~900
     * entries took 38 s. A key is the only string that can start "grad. */
    const unsigned char *b = golden;
    size_t hlen = 0, i;
    int k, count = 0;
    for (k = 7; k >= 0; k--)
        hlen = hlen << 8 | b[k];
    for (i = 8; golden_len >= 8 && hlen <= golden_len - 8 && i + 6 <= 8 + hlen; i++)
        if (memcmp(b + i, "\"grad.", 6) == 0)
            count++;
    return count;
}
#endif

/* ---- the checks ------------------------------------------------------------ */

/* init + load the PyTorch weights into *mm; 0 on success. */
static int load_weights(model_t *mm, const void *w, size_t wlen, group *g) {
    char why[200];
    int rc;
    FN(_init)(mm, 1);
    if (DEVICE) /* NAME_init copied the embedded weights, which are w's */
        return DNN_OK;
    rc = FN(_load)(mm, w, wlen);
    if (rc != DNN_OK) {
        snprintf(why, sizeof why, "%s_load of the PyTorch weights: %s", case_name, dnn_strerror(rc));
        fail(g, why);
    }
    return rc;
}

#if !DEVICE
/* Gradients of the last backward against golden `prefix`NAME ("grad." or
 * "partial.grad."); for a modal model also every buffer against
 * "state1.NAME" or "partial.state1.NAME" (its value after that pass). */
static void check_grads(group *g, const char *prefix) {
    int i, trainable = 0;
    char why[200];
    for (i = 0; i < NT; i++) {
        const dnn_tensor_info *t = &FN(_tensors)[i];
        const float *want, *got = FN(_grad)(&m, i);
        if (!t->trainable) {
            char key[256];
            if (got)
                fail(g, "a non-trainable tensor has a gradient");
            /* a buffer (batchnorm statistics) after the one train-mode pass */
            snprintf(key, sizeof key, "%sstate1.%s", strcmp(prefix, "grad.") ? "partial." : "", t->name);
            if (modal && (want = golden_param(g, "", key, t->size)) != NULL)
                expect(g, key, FN(_tensor)(&m, i), want, t->size, 1e-5, 1e-4);
            continue;
        }
        trainable++;
        if (!got) {
            snprintf(why, sizeof why, "%s_grad(%s) is NULL", case_name, t->name);
            fail(g, why);
        } else if ((want = golden_param(g, prefix, t->name, t->size)) != NULL) {
            expect(g, t->name, got, want, t->size, 1e-5, 1e-4);
        }
    }
    if (trainable != golden_grad_count()) {
        snprintf(why, sizeof why, "%d trainable tensors, PyTorch has %d", trainable, golden_grad_count());
        fail(g, why);
    }
}

/* Central differences of the loss against the gradients of a NAME_backward.
 * The step is 1e-3·max(1, |w|), and the difference divides by the step as
 * float actually represents it. In float32 the loss carries a rounding
 * error of ~1e-7·|loss|, which the division by 2e-3 turns into ~1e-4 for a
 * loss near 1; the truncation error is ~1e-7·|f'''|. The tolerance
 * 2e-3 + 2e-2·|g| sits well above both and well below any real gradient
 * error.
 *
 * A plain model: the gradients of the last NAME_backward against
 * differences of NAME_loss (eval mode, which is then the training loss).
 * A modal one (batchnorm, dropout): eval and train differ, so the loss
 * differenced is the train-mode one NAME_backward returns, every evaluation
 * starting from one snapshot of the whole model struct. That restores the
 * running statistics and the RNG state, so each evaluation draws the same
 * dropout mask as the backward pass whose gradients are checked: the check
 * holds the gradient to dy·mask for the mask the forward pass used. */
static model_t snap;
static float grad_save[UC(_NUM_PARAMS) + 1];

static void check_fd(void) {
    group g = begin("fd");
    int i, k, off = 0;
    float per_tensor = FD_SAMPLES;   /* the big networks' cases ask for fewer: each takes two passes */
    if (golden_has("fd.samples"))
        golden_get(&g, "fd.samples", &per_tensor, 1);
    if (modal) {
        memcpy(&snap, &m, sizeof m);
        FN(_backward)(&m, x, y, B);
        for (i = 0; i < NT; i++) {
            const float *grad = FN(_grad)(&m, i);
            if (FN(_tensors)[i].trainable && grad) {
                memcpy(grad_save + off, grad, sizeof(float) * (size_t)FN(_tensors)[i].size);
                off += FN(_tensors)[i].size;
            }
        }
        off = 0;
    }
    for (i = 0; i < NT; i++) {
        const dnn_tensor_info *t = &FN(_tensors)[i];
        float *w = FN(_tensor)(&m, i), *grad = FN(_grad)(&m, i);
        int samples = t->size < (int)per_tensor ? t->size : (int)per_tensor;
        if (!t->trainable || !grad)
            continue;
        if (modal) {
            grad = grad_save + off;
            off += t->size;
        }
        for (k = 0; k < samples; k++) {
            int j = (int)((long)k * t->size / samples);
            float w0 = w[j], h = 1e-3f * (fabsf(w0) > 1 ? fabsf(w0) : 1);
            float wp = w0 + h, wm = w0 - h, lp, lm, fd;
            char what[200];
            if (modal) {
                memcpy(&m, &snap, sizeof m);
                w[j] = wp;
                lp = FN(_backward)(&m, x, y, B);
                memcpy(&m, &snap, sizeof m);
                w[j] = wm;
                lm = FN(_backward)(&m, x, y, B);
                memcpy(&m, &snap, sizeof m);
            } else {
                w[j] = wp;
                lp = FN(_loss)(&m, x, y, B);
                w[j] = wm;
                lm = FN(_loss)(&m, x, y, B);
                w[j] = w0;
            }
            fd = (float)(((double)lp - lm) / ((double)wp - wm));
            snprintf(what, sizeof what, "%s_grad of %s[%d] (vs finite difference%s)", case_name,
                     t->name, j, modal ? " of the train-mode loss" : "");
            compare(&g, what, -1, grad[j], fd, 2e-3, 2e-2);
        }
    }
    end(&g);
}

/* drop_stats (golden `dropout.p`): out = dropout(x * g, p), loss
 * mean(out * y), x = 1 and y[s, i] = n*SIZE when i % n == s, else 0, so the
 * gradient of g (tensor 0) is the mask element i of sample i % n, and the
 * loss is sum(mask * g). Over DROP_CALLS train-mode passes: every mask value
 * is 0 or 1/(1-p), the loss agrees with the masks the gradient shows (the
 * forward pass kept x/(1-p) where the backward pass let dy through), the
 * share of zeros is p within 5 standard deviations, successive passes draw
 * different masks, and the eval forward is still the identity. */
#define DROP_CALLS 40
static void check_dropout(const float *out_want) {
    group g = begin("dropout");
    float p, first[UC(_X_SIZE)];
    const int size = UC(_X_SIZE);
    long zeros = 0, total = 0;
    int call, i, repeats = 0;
    char why[200];
    if (golden_get(&g, "dropout.p", &p, 1) || FN(_tensors)[0].size != size || !FN(_tensors)[0].trainable) {
        fail(&g, "drop_stats layout: tensor 0 must be the trainable g[X_SIZE]");
        end(&g);
        return;
    }
    for (call = 0; call < DROP_CALLS; call++) {
        float loss = FN(_backward)(&m, x, y, B);
        const float *mask = FN(_grad)(&m, 0), *w = FN(_tensor)(&m, 0);
        double sum = 0.0;
        int same = 1;
        for (i = 0; i < size; i++) {
            if (fabsf(mask[i]) <= 1e-6f)
                zeros++;
            else
                compare(&g, "a kept mask element (want 1/(1-p))", i, mask[i], 1.0f / (1.0f - p), 1e-6, 1e-5);
            sum += (double)mask[i] * w[i];
            total++;
            if (call == 0)
                first[i] = mask[i];
            else if (first[i] != mask[i])
                same = 0;
        }
        compare(&g, "train-mode loss (want sum(mask * g))", call, loss, (float)sum, 1e-5, 1e-4);
        repeats += call > 0 && same;
    }
    {
        double share = (double)zeros / total, sd = sqrt(p * (1.0 - p) / total);
        compare(&g, "share of dropped elements", -1, (float)share, p, 5 * sd, 0);
    }
    if (repeats) {
        snprintf(why, sizeof why, "%d training passes drew the first pass's mask again", repeats);
        fail(&g, why);
    }
    FN(_forward)(&m, x, out, B);
    expect(&g, "out (eval, after training passes)", out, out_want, B * UC(_OUT_SIZE), 1e-5, 1e-4);
    end(&g);
}

/* The first HALF samples alone: the batch loop must use n, not BATCH. */
#define HALF (B / 2 > 0 ? B / 2 : 1)
/* Reloads the weights first: the initial running statistics of batchnorm. */
static void check_partial(const float *out_want, const void *wbuf, size_t wlen) {
    group g = begin("partial");
    float want[1], got[1];
    if (load_weights(&m, wbuf, wlen, &g) != DNN_OK) {
        end(&g);
        return;
    }
    FN(_forward)(&m, x, out, HALF);
    expect(&g, "out (n = B/2)", out, out_want, HALF * UC(_OUT_SIZE), 1e-5, 1e-4);
    if (golden_get(&g, modal ? "partial.eval.loss" : "partial.loss", want, 1) == 0) {
        got[0] = FN(_loss)(&m, x, y, HALF);
        expect(&g, "loss (eval, n = B/2)", got, want, 1, 1e-5, 1e-4);
    }
    if (!random_train && golden_get(&g, "partial.loss", want, 1) == 0) {
        got[0] = FN(_backward)(&m, x, y, HALF);
        expect(&g, "loss (backward, n = B/2)", got, want, 1, 1e-5, 1e-4);
        check_grads(&g, "partial.grad.");
    }
    end(&g);
}

#endif

static void check_train(const void *w, size_t wlen) {
    group g = begin("train");
    float want_loss[STEPS], got_loss[STEPS];
    int s, i;
    if (load_weights(&m, w, wlen, &g) != DNN_OK ||
        (!random_train && golden_get(&g, "traj.loss", want_loss, STEPS))) {
        end(&g);
        return;
    }
    for (s = 0; s < STEPS; s++) {
        FN(_set_epoch)(&m, s / STEPS_PER_EPOCH);
        got_loss[s] = FN(_train_step)(&m, x, y, B);
    }
    if (random_train) { /* no PyTorch trajectory: the steps feed save and the round trip */
        for (s = 0; s < STEPS; s++)
            if (!isfinite(got_loss[s]))
                fail(&g, "a training step returned a non-finite loss");
        end(&g);
        return;
    }
    expect(&g, "loss before step", got_loss, want_loss, STEPS, 1e-5, 1e-4);
    for (i = 0; i < NT; i++) { /* every tensor: parameters and buffers (running statistics) */
        const dnn_tensor_info *t = &FN(_tensors)[i];
        const float *want;
        if ((want = golden_param(&g, "traj.", t->name, t->size)) != NULL)
            expect(&g, t->name, FN(_tensor)(&m, i), want, t->size, 1e-5, 1e-4);
    }
    end(&g);
}

#if !DEVICE
#define SCHED_COUNTS 100 /* sched.lr: the lr at counts 0..99 */

/* The cosine schedule's lr (PyTorch's recursion in double, then float)
 * against torch.optim.lr_scheduler.CosineAnnealingLR bit for bit: counts
 * are epochs given to NAME_set_epoch, or with per_step the NAME_step calls
 * (made with zero gradients). A fresh model set to a late count directly,
 * as --resume does, must get the same value as one that counted up to it. */
static void check_schedule(void) {
    group g = begin("schedule");
    float want[SCHED_COUNTS], got[SCHED_COUNTS], late;
    int per_step = golden_has("sched.per_step"), s, i;
    if (golden_get(&g, "sched.lr", want, SCHED_COUNTS)) {
        end(&g);
        return;
    }
    FN(_init)(&m, 1);
    for (i = 0; i < NT; i++)
        if (FN(_grad)(&m, i))
            memset(FN(_grad)(&m, i), 0, sizeof(float) * (size_t)FN(_tensors)[i].size);
    for (s = 0; s < SCHED_COUNTS; s++) {
        if (per_step)
            FN(_step)(&m); /* takes, and leaves in m.lr, the lr of step s */
        else
            FN(_set_epoch)(&m, s);
        got[s] = m.lr;
    }
    expect(&g, "lr", got, want, SCHED_COUNTS, 0, 0);
    FN(_init)(&m2, 1); /* straight to the last count, as a resumed run */
    if (per_step) {
        m2.step = SCHED_COUNTS - 1;
        FN(_set_epoch)(&m2, 0);
        late = m2.lr;
    } else {
        FN(_set_epoch)(&m2, SCHED_COUNTS - 1);
        late = m2.lr;
    }
    compare(&g, "lr at the last count, reached directly", -1, late, want[SCHED_COUNTS - 1], 0, 0);
    end(&g);
}

/* Tensors of m and m2 bit for bit equal? */
static int same_tensors(void) {
    int i;
    for (i = 0; i < NT; i++)
        if (memcmp(FN(_tensor)(&m, i), FN(_tensor)(&m2, i), (size_t)FN(_tensors)[i].size * 4))
            return 0;
    return 1;
}

/* Returns the image size (0 on failure). */
static size_t check_save(void) {
    group g = begin("save");
    char why[200];
    size_t len = FN(_save)(&m, img, sizeof img), len2, i;
    int rc;
    if (len == 0 || len > sizeof img) {
        snprintf(why, sizeof why, "%s_save returned %lu", case_name, (unsigned long)len);
        fail(&g, why);
        end(&g);
        return 0;
    }
    memset(img2, 0xA5, len);
    len2 = FN(_save)(&m, img2, len - 1);
    for (i = 0; i < len && img2[i] == 0xA5; i++)
        ;
    if (len2 != len)
        fail(&g, "save with a small buffer returned a different size");
    if (i != len)
        fail(&g, "save with a buffer one byte short wrote into it");

    FN(_init)(&m2, 7);
    rc = FN(_load)(&m2, img, len);
    if (rc != DNN_OK) {
        snprintf(why, sizeof why, "loading the saved image: %s", dnn_strerror(rc));
        fail(&g, why);
    } else if (!same_tensors()) {
        fail(&g, "tensors differ after save and load");
    } else {
        if (FN(_save)(&m2, img2, sizeof img2) != len || memcmp(img, img2, len))
            fail(&g, "saving the reloaded model gives different bytes");
        if (FN(_load)(&m2, img, len - 1) >= 0)
            fail(&g, "a truncated image loaded without error");
        else if (!same_tensors())
            fail(&g, "a failed load changed the model");
        FN(_forward)(&m, x, out, B);
        FN(_forward)(&m2, x, out2, B);
        if (memcmp(out, out2, sizeof out))
            fail(&g, "the reloaded model computes a different output");
    }
    end(&g);
    return g.bad ? 0 : len;
}

/* Leaves the trained weights and their output for torch_roundtrip.py. */
static void write_roundtrip(const char *prefix, size_t len) {
    char path[1024];
    int rc;
    snprintf(path, sizeof path, "%s.trained.safetensors", prefix);
    rc = dnn_write_file_atomic(path, img, len);
    FN(_forward)(&m, x, out, B);
    snprintf(path, sizeof path, "%s.out.f32", prefix);
    if (rc == DNN_OK)
        rc = dnn_write_file_atomic(path, out, sizeof out);
    if (rc != DNN_OK)
        fprintf(stderr, "harness: writing %s: %s\n", path, dnn_strerror(rc));
}

#endif

int main(int argc, char **argv) {
    void *gbuf, *wbuf;
    size_t wlen;
    int rc;
    group g;
    float loss_want[1], eval_want[1], loss_got[1];
    static float out_want[B * UC(_OUT_SIZE)];

    if (argc < 3) {
        fprintf(stderr, "usage: %s CASE.golden.safetensors CASE.weights.safetensors [OUT_PREFIX]\n", argv[0]);
        return 2;
    }
    g = begin("load");
    if ((rc = dnn_read_file_alloc(argv[1], &gbuf, &golden_len)) != DNN_OK ||
        (rc = dnn_read_file_alloc(argv[2], &wbuf, &wlen)) != DNN_OK) {
        printf("FAIL " SUITE "/%s load: reading %s: %s\n", case_name, rc == DNN_OK ? argv[2] : argv[1],
               dnn_strerror(rc));
        return 1;
    }
    golden = gbuf;
    if ((rc = dnn_st_count(golden, golden_len)) < 0) {   /* checked once: golden_find trusts it */
        printf("FAIL " SUITE "/%s load: %s: %s\n", case_name, argv[1], dnn_strerror(rc));
        return 1;
    }
    modal = golden_has("eval.loss");
    random_train = !golden_has("loss");
    golden_get(&g, "x", x, sizeof x / 4);
    golden_get(&g, "y", y, sizeof y / 4);
    golden_get(&g, "out", out_want, sizeof out_want / 4);
    golden_get(&g, modal ? "eval.loss" : "loss", eval_want, 1);
    if (!random_train)
        golden_get(&g, "loss", loss_want, 1);
    load_weights(&m, wbuf, wlen, &g);
    if (!end(&g))
        return 1;

    g = begin("forward");
    FN(_forward)(&m, x, out, B);
    expect(&g, "out", out, out_want, B * UC(_OUT_SIZE), 1e-5, 1e-4);
    end(&g);

    g = begin("loss");
    loss_got[0] = FN(_loss)(&m, x, y, B);
    expect(&g, "loss (eval)", loss_got, eval_want, 1, 1e-5, 1e-4);
#if DEVICE
    end(&g);
    check_train(wbuf, wlen);
    free(gbuf);
    free(wbuf);
    return failed;
#else
    loss_got[0] = FN(_backward)(&m, x, y, B);
    if (!random_train)
        expect(&g, "loss (backward)", loss_got, loss_want, 1, 1e-5, 1e-4);
    else if (!isfinite(loss_got[0]))
        fail(&g, "the train-mode loss is not finite");
    end(&g);

    if (random_train) {
        printf("SKIP " SUITE "/%s grad: training draws dnnc's own dropout masks (fd checks the gradients)\n",
               case_name);
    } else {
        g = begin("grad");
        check_grads(&g, "grad.");
        end(&g);
    }
    if (EXTREME) {
        free(gbuf);
        free(wbuf);
        return failed;
    }
    check_fd();
    if (golden_has("dropout.p"))
        check_dropout(out_want);
    check_partial(out_want, wbuf, wlen);
    check_train(wbuf, wlen);
    if ((wlen = check_save()) != 0 && argc > 3)
        write_roundtrip(argv[3], wlen);
    if (golden_has("sched.lr"))
        check_schedule();
    free(gbuf);
    free(wbuf);
    return failed;
#endif
}
