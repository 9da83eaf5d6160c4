/* qat_harness.c — a model trained with `quantize int8;` against PyTorch's
 * QAT of its twin (qat_golden.py), compiled per case by qat.sh with the
 * model's names pasted in (-DMODEL=mlp -DMODEL_UC=MLP -include mlp.h):
 *
 *   qat_harness CASE.golden.safetensors CASE.weights.safetensors TRAINED
 *
 * loads the twin's initial tensors (parameters, observers' +inf/-inf), then
 * for each of the 20 batches one NAME_train_step (fake quantization,
 * observers moving) and one NAME_forward (eval: observers frozen), and
 * prints "PASS quant/qat.CASE GROUP (largest relative error)" or "FAIL ...":
 *   loss     each step's loss against traj.loss;
 *   output   each eval output against traj.out;
 *   tensors  every parameter and observer buffer after the 20 steps
 *            against traj.NAME;
 *   resume   NAME_save -> NAME_load gives the same tensors (the observers
 *            are saved and resumed with the checkpoint).
 * Tolerance: 1e-4 relative, 1e-6 absolute (README.md §QAT goldens). The
 * trained model is written to TRAINED (what --from-qat reads).
 * Exit status: 0 when every group passed, 1 otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "dnn_host.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(MODEL, suffix)
#define UC(suffix) CAT(MODEL_UC, suffix)
#define STR_(a) #a
#define STR(a) STR_(a)

#define B UC(_BATCH)
#define NX UC(_X_SIZE)
#define NOUT UC(_LOGITS_SIZE)
#define STEPS 20

static const void *golden;
static size_t golden_len;
static int failed;

typedef struct { const char *name; double worst; int bad; char why[256], at[96]; } group;

static group begin(const char *name) {
    group g = {name, 0.0, 0, "", ""};
    return g;
}

static void end(group *g) {
    if (g->bad) {
        printf("FAIL quant/qat." STR(MODEL) " %s: %s\n", g->name, g->why);
        failed = 1;
    } else
        printf("PASS quant/qat." STR(MODEL) " %s (largest relative error %.2g%s%s)\n", g->name, g->worst,
               g->at[0] ? " at " : "", g->at);
}

static const float *get(group *g, const char *name, size_t n) {
    dnn_st_view v;
    if (dnn_st_find(golden, golden_len, name, &v) != DNN_OK || v.nbytes != n * 4) {
        if (!g->bad++)
            snprintf(g->why, sizeof g->why, "golden tensor %s missing or not %lu values", name, (unsigned long)n);
        return NULL;
    }
    return v.data;
}

/* got against want: |d| <= 1e-6 + 1e-4·|want|; infinities equal. */
static void expect(group *g, const char *what, const float *got, const float *want, size_t n) {
    for (size_t i = 0; want && i < n; i++) {
        float w;
        memcpy(&w, want + i, sizeof w);
        double d = fabs((double)got[i] - w), rel = d / (fabs(w) > 1e-6 ? fabs(w) : 1e-6);
        if (isinf(w) && got[i] == w)
            continue;
        if (rel > g->worst) {
            g->worst = rel;
            snprintf(g->at, sizeof g->at, "%s[%lu]: %.9g, PyTorch %.9g", what, (unsigned long)i, got[i], w);
        }
        if (!(d <= 1e-6 + 1e-4 * fabs(w)) && !g->bad++)
            snprintf(g->why, sizeof g->why, "%s[%lu] = %.9g, PyTorch %.9g", what, (unsigned long)i, got[i], w);
    }
}

static void compare_tensors(group *g, FN(_model) *m, const char *prefix, FN(_model) *other) {
    char key[300];
    for (int i = 0; i < UC(_NUM_TENSORS); i++) {
        const dnn_tensor_info *t = &FN(_tensors)[i];
        snprintf(key, sizeof key, "%s%s", prefix, t->name);
        const float *want = other ? FN(_tensor)(other, i) : get(g, key, (size_t)t->size);
        expect(g, t->name, FN(_tensor)(m, i), want, (size_t)t->size);
    }
}

int main(int argc, char **argv) {
    static FN(_model) m, resumed;
    static float out[B * NOUT];
    void *gbuf, *wbuf;
    size_t wlen;
    if (argc != 4) {
        fprintf(stderr, "usage: %s CASE.golden.safetensors CASE.weights.safetensors TRAINED\n", argv[0]);
        return 2;
    }
    if (dnn_read_file_alloc(argv[1], &gbuf, &golden_len) != DNN_OK ||
        dnn_read_file_alloc(argv[2], &wbuf, &wlen) != DNN_OK) {
        printf("FAIL quant/qat." STR(MODEL) " load: cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    golden = gbuf;
    group g = begin("load");
    FN(_init)(&m, 1);
    int rc = FN(_load)(&m, wbuf, wlen);
    if (rc != DNN_OK && !g.bad++)
        snprintf(g.why, sizeof g.why, "%s", dnn_strerror(rc));
    end(&g);
    if (g.bad)
        return 1;

    const float *x = get(&g, "x", (size_t)STEPS * B * NX);
    const int32_t *y = (const int32_t *)get(&g, "y", (size_t)STEPS * B);
    const float *losses = get(&g, "traj.loss", STEPS), *outs = get(&g, "traj.out", (size_t)STEPS * B * NOUT);
    group gl = begin("loss"), go = begin("output");
    for (int s = 0; x && y && s < STEPS; s++) {
        char what[32];
        float loss = FN(_train_step)(&m, x + (size_t)s * B * NX, y + (size_t)s * B, B);
        snprintf(what, sizeof what, "loss[%d]", s);
        expect(&gl, what, &loss, losses ? losses + s : NULL, 1);
        FN(_forward)(&m, x + (size_t)s * B * NX, out, B);
        snprintf(what, sizeof what, "out[%d]", s);
        expect(&go, what, out, outs ? outs + (size_t)s * B * NOUT : NULL, (size_t)B * NOUT);
    }
    end(&gl);
    end(&go);
    g = begin("tensors");
    compare_tensors(&g, &m, "traj.", NULL);
    end(&g);

    g = begin("resume");
    size_t len = FN(_save)(&m, NULL, 0);
    void *image = malloc(len);
    FILE *f = fopen(argv[3], "wb");
    if (!image || FN(_save)(&m, image, len) != len || (rc = FN(_load)(&resumed, image, len)) != DNN_OK || !f ||
        fwrite(image, 1, len, f) != len) {
        g.bad++;
        snprintf(g.why, sizeof g.why, "saving, reloading or writing %s failed", argv[3]);
    } else
        compare_tensors(&g, &resumed, "", &m);
    if (f)
        fclose(f);
    end(&g);
    free(image);
    free(gbuf);
    free(wbuf);
    return failed;
}
