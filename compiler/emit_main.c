/* emit_main.c — `dnnc --main`: a training program around the model.
 *
 * Entry: emit_program(). Appends to the model's .c file a dnn_program
 * (runtime/dnn_train.h) describing the model — inputs, targets, outputs,
 * tensors, optimizer state, the train block, and wrappers that give every
 * entry point the same array-based signature — and a main() handing it to
 * the runtime's dnn_main(). The commands themselves (train, eval, predict,
 * gradcheck, check) are written once, in runtime/train/.
 */
#include "dnnc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnn.h"

/* The loss term whose prediction the program scores for accuracy: the
 * first loss of the graph that compares a value with a target. */
static const Value *scored_loss(const Graph *g) {
    for (int i = 0; i < g->nforward; i++) {
        const Value *v = g->values[i];
        if ((op_info[v->op].flags & F_LOSS) && v->in[1] && v->in[1]->op == OP_target && v->in[0]->area == AREA_ACT &&
            v->in[0]->batched)
            return v;
    }
    return NULL;
}

static int target_index(const Graph *g, const Value *t) {
    for (int i = 0; i < g->ntargets; i++)
        if (g->targets[i] == t)
            return i;
    return -1;
}

static void emit_io(FILE *c, const char *array, Value **vals, const char **names, int n) {
    if (!n) {
        fprintf(c, "static const dnn_io %s[1] = {{\"\", 0, 0, {0, 0, 0, 0}, 0}};\n", array);
        return;
    }
    fprintf(c, "static const dnn_io %s[%d] = {\n", array, n);
    for (int i = 0; i < n; i++) {
        const Value *v = vals[i];
        const Shape *s = &v->shape;
        bool cls = v->dtype == DT_CLASS;
        fprintf(c, "    {\"%s\", %ld, %d, {%d, %d, %d, %d}, %d},\n", names ? names[i] : v->name, cls ? 1 : shape_size(s),
                cls ? 0 : s->rank, s->rank > 0 && !cls ? s->dim[0] : 0, s->rank > 1 && !cls ? s->dim[1] : 0,
                s->rank > 2 && !cls ? s->dim[2] : 0, s->rank > 3 && !cls ? s->dim[3] : 0, cls ? v->classes : 0);
    }
    fprintf(c, "};\n");
}

/* "x[0], x[1]" for n operands of array a, each with an optional cast per class/float target. */
static const char *operands(const char *a, int n, Value **vals) {
    const char *s = "";
    for (int i = 0; i < n; i++) {
        const char *cast = !vals ? "" : vals[i]->dtype == DT_CLASS ? "(const int32_t *)" : "(const float *)";
        s = arena_printf("%s, %s%s[%d]", s, cast, a, i);
    }
    return s;
}

static void emit_wrappers(FILE *c, const Graph *g) {
    const char *n = g->name;
    const char *x = operands("x", g->ninputs, NULL), *y = operands("y", g->ntargets, g->targets);
    const char *out = operands("out", g->noutputs, NULL);
    const char *unused_y = g->ntargets ? "" : "    (void)y;\n", *unused_out = g->noutputs ? "" : "    (void)out;\n";
    fprintf(c, "static void program_init(void *m, uint64_t seed) { %s_init(m, seed); }\n", n);
    fprintf(c, "static void program_forward(void *m, const float *const *x, float *const *out, int n) {\n%s", unused_out);
    fprintf(c, "    %s_forward(m%s%s, n);\n}\n", n, x, out);
    if (has_sampling_layer(g)) {
        fprintf(c, "static void program_forward_mc(void *m, const float *const *x, float *const *out, int n) {\n%s",
                unused_out);
        fprintf(c, "    %s_forward_mc(m%s%s, n);\n}\n", n, x, out);
    }
    fprintf(c, "static float program_loss(void *m, const float *const *x, const void *const *y, int n) {\n%s", unused_y);
    fprintf(c, "    return %s_loss(m%s%s, n);\n}\n", n, x, y);
    fprintf(c, "static float program_backward(void *m, const float *const *x, const void *const *y, int n) {\n%s", unused_y);
    fprintf(c, "    return %s_backward(m%s%s, n);\n}\n", n, x, y);
    fprintf(c, "static void program_step(void *m) { %s_step(m); }\n", n);
    fprintf(c, "static void program_set_epoch(void *m, int epoch) { %s_set_epoch(m, epoch); }\n", n);
    fprintf(c, "static int program_set_hparam(void *m, const char *name, double value) {\n");
    fprintf(c, "    return %s_set_hparam_exact(m, name, value);\n}\n", n);
    fprintf(c, "static float *program_tensor(void *m, int i) { return %s_tensor(m, i); }\n", n);
    fprintf(c, "static float *program_grad(void *m, int i) { return %s_grad(m, i); }\n", n);
    if (g->check_finite)
        fprintf(c, "static const char *program_nonfinite(void *m) { return ((%s_model *)m)->nonfinite; }\n", n);
    fputc('\n', c);
}

/* gradcheck's access to NAME_f64_* (emit.c's emit_f64_twin): float targets
 * are handed over as doubles, class targets as they are. */
static void emit_f64_wrappers(FILE *c, const Graph *g, const Plan *plan) {
    const char *n = g->name, *y = "";
    for (int i = 0; i < g->ntargets; i++)
        y = arena_printf("%s, (const %s *)y[%d]", y, g->targets[i]->dtype == DT_CLASS ? "int32_t" : "double", i);
    const char *unused_y = g->ntargets ? "" : "    (void)y;\n";
    for (int grads = 0; grads < 2; grads++) {
        const char *fn = grads ? "backward" : "loss";
        fprintf(c, "static double program_f64_%s(void *m, const double *const *x, const void *const *y, int n) {\n%s", fn,
                unused_y);
        fprintf(c, "    return %s_f64_%s(m%s%s, n);\n}\n", n, fn, operands("x", g->ninputs, NULL), y);
    }
    fprintf(c, "static void program_f64_load(void *m64, const void *m) {\n");
    fprintf(c, "    %s_f64_model *to = m64;\n    const %s_model *from = m;\n", n, n);
    fprintf(c, "    for (int i = 0; i < %ld; i++)\n        to->params[i] = from->params[i];\n", plan->params);
    fprintf(c, "    to->rng = from->rng;\n}\n");
    fprintf(c, "static double *program_f64_params(void *m64) { return ((%s_f64_model *)m64)->params; }\n", n);
    fprintf(c, "static double *program_f64_grads(void *m64) { return ((%s_f64_model *)m64)->grads; }\n\n", n);
}

/* The train block's augment settings, in written order (nothing without any). */
static void emit_augment(FILE *c, const Graph *g) {
    static const char *const kinds[][3] = {
        {"noise", "NOISE", "std"}, {"hflip", "HFLIP", "p"}, {"crop", "CROP", "pad"}, {"rotate", "ROTATE", "degrees"}};
    const Train *t = &g->train;
    if (!t->naugment)
        return;
    fprintf(c, "static const dnn_augment program_augment[%d] = {\n", t->naugment);
    for (int i = 0; i < t->naugment; i++) {
        const Augment *a = &t->augment[i];
        int k = 0;
        while (k < 3 && strcmp(kinds[k][0], a->kind))
            k++;
        fprintf(c, "    {DNN_AUG_%s, %d, %.17g}, /* line %d: augment %s: %s(%s = %s) */\n", kinds[k][1], a->input,
                a->value, a->line, g->inputs[a->input]->name, a->kind, kinds[k][2], num_str(a->value));
    }
    fprintf(c, "};\n\n");
}

/* program_state or program_hparam: element i of names[], members of the
 * model struct (hparams.NAME for a hyper-parameter), by address. */
static void emit_accessors(FILE *c, const Graph *g, const char *type, const char *what, const char *const *names,
                           int count, const char *addr) {
    fprintf(c, "static %s *program_%s(void *m, int i) {\n", type, what);
    if (!count)
        fprintf(c, "    (void)m;\n    (void)i;\n");
    else
        fprintf(c, "    switch (i) {\n");
    for (int i = 0; i < count; i++)
        fprintf(c, "    case %d: return %s((%s_model *)m)->%s%s;\n", i, addr, g->name, *addr ? "hparams." : "", names[i]);
    fprintf(c, "%s    return NULL;\n}\n\n", count ? "    }\n" : "");
}

/* program_view: where the runtime finds the model's parts (dnn_model_view). */
static void emit_view(FILE *c, const Graph *g, const Value *scored) {
    fprintf(c, "static void program_view(void *m, dnn_model_view *v) {\n    %s_model *model = m;\n", g->name);
    fprintf(c, "    v->params = model->params;\n    v->lr = &model->lr;\n    v->step = &model->step;\n");
    fprintf(c, "    v->rng = &model->rng;\n");
    if (scored)
        fprintf(c, "    v->pred = model->act + %d; /* the prediction the %s on line %d compares */\n", scored->in[0]->offset,
                op_info[scored->op].name, scored->loc.first_line);
    else
        fprintf(c, "    v->pred = NULL;\n");
    fprintf(c, "}\n\n");
}

bool emit_program(Graph *g, const Plan *plan, const char *source, FILE *c) {
    const char *n = g->name;
    const Train *t = &g->train;
    fprintf(c, "/* ==== the training program (dnnc --main): see runtime/dnn_train.h ==== */\n\n");
    fprintf(c, "#include <stddef.h>\n\n#include \"dnn_train.h\"\n\n");
    emit_wrappers(c, g);
    emit_f64_wrappers(c, g, plan);

    emit_io(c, "program_inputs", g->inputs, NULL, g->ninputs);
    emit_io(c, "program_targets", g->targets, NULL, g->ntargets);
    emit_io(c, "program_outputs", g->outputs, g->output_names, g->noutputs);

    /* optimizer state arrays: the struct members after grads, before act */
    const char *states[2];
    int nstates = optimizer_states(t, states);
    fprintf(c, "static const char *const program_state_names[%d] = {", nstates ? nstates : 1);
    for (int i = 0; i < nstates; i++)
        fprintf(c, "%s\"%s\"", i ? ", " : "", states[i]);
    fprintf(c, "%s};\n", nstates ? "" : "\"\"");
    emit_accessors(c, g, "float", "state", states, nstates, "");

    emit_augment(c, g);
    /* run-time hyper-parameters: their names and where each double lives */
    const char *hp[8];
    int nhp = hparam_names(t, hp);
    fprintf(c, "static const char *const program_hparam_names[%d] = {", nhp);
    for (int i = 0; i < nhp; i++)
        fprintf(c, "%s\"%s\"", i ? ", " : "", hp[i]);
    fprintf(c, "};\n");
    emit_accessors(c, g, "double", "hparam", hp, nhp, "&");

    const Value *scored = scored_loss(g);
    const char *score = "DNN_SCORE_NONE";
    double threshold = 0, target_threshold = 0, chance = 0;
    if (scored) {
        OpKind op = scored->op;
        if (op == OP_cross_entropy) /* a uniform guess over C classes: ln C */
            chance = log(scored->in[1]->dtype == DT_CLASS ? scored->in[1]->classes : shape_size(&scored->in[0]->shape));
        if (op == OP_cross_entropy || op == OP_nll || op == OP_multi_margin)
            score = "DNN_SCORE_ARGMAX";
        else if (op == OP_bce || op == OP_bce_with_logits || op == OP_hinge || op == OP_perceptron) {
            score = "DNN_SCORE_THRESHOLD";
            threshold = op == OP_bce ? 0.5 : 0.0;
            target_threshold = op == OP_hinge || op == OP_perceptron ? 0.0 : 0.5;
        } else
            scored = NULL; /* a regression loss: no accuracy */
    }

    emit_view(c, g, scored);
    fprintf(c, "static const dnn_program program = {\n");
    fprintf(c, "    .name = \"%s\",\n    .source = \"%s\",\n", n, source);
    fprintf(c, "    .model_size = sizeof(%s_model),\n    .batch = %d,\n", n, t->batch);
    if (min_train_batch(g) > 1)
        fprintf(c, "    .min_batch = %d, /* a batchnorm cannot train on one sample */\n", min_train_batch(g));
    fprintf(c, "    .ninputs = %d, .ntargets = %d, .noutputs = %d,\n", g->ninputs, g->ntargets, g->noutputs);
    fprintf(c, "    .inputs = program_inputs, .targets = program_targets, .outputs = program_outputs,\n");
    fprintf(c, "    .num_tensors = %d, .tensors = %s_tensors,\n", g->nparams, n);
    fprintf(c, "    .params_size = %ld,\n", plan->params);
    fprintf(c, "    .nstates = %d, .state_names = program_state_names,\n", nstates);
    fprintf(c, "    .score = %s,\n", score);
    if (scored) {
        fprintf(c, "    /* accuracy from the prediction of the %s on line %d */\n", op_info[scored->op].name, scored->loc.first_line);
        fprintf(c, "    .score_target = %d,\n", target_index(g, scored->in[1]));
        fprintf(c, "    .pred_size = %ld,\n", shape_size(&scored->in[0]->shape));
        fprintf(c, "    .threshold = %s, .target_threshold = %s,\n", flit(threshold), flit(target_threshold));
    }
    if (chance > 0)
        fprintf(c, "    .chance_loss = %.17g, /* the %s of a uniform guess */\n", chance, op_info[scored->op].name);
    fprintf(c, "    .epochs = %d, .seed = %lluu, .shuffle = %d,\n", t->epochs, (unsigned long long)t->seed, t->shuffle);
    fprintf(c, "    .validation = %.17g,\n", t->validation);
    fprintf(c, "    .early_stop = %d, .patience = %d, .min_delta = %.17g,\n", t->early_stop, t->patience, t->min_delta);
    fprintf(c, "    .ema_decay = %.17g,\n", t->ema_decay);
    fprintf(c, "    .optimizer = \"%s\",\n", t->optimizer);
    if (t->naugment)
        fprintf(c, "    .naugment = %d, .augment = program_augment,\n", t->naugment);
    fprintf(c, "    .nhparams = %d, .hparam_names = program_hparam_names, .hparam = program_hparam,\n", nhp);
    fprintf(c, "    .set_hparam = program_set_hparam,\n");
    if (t->schedule)
        fprintf(c, "    .schedule = \"%s\", .per_step = %d,\n", t->schedule, t->per_step);
    fprintf(c, "    .init = program_init, .view = program_view, .state = program_state,\n");
    fprintf(c, "    .forward = program_forward, .loss = program_loss,\n");
    fprintf(c, "    .backward = program_backward, .step = program_step, .set_epoch = program_set_epoch,\n");
    fprintf(c, "    .tensor = program_tensor, .grad = program_grad,%s%s\n",
            g->check_finite ? " .nonfinite = program_nonfinite," : "",
            has_sampling_layer(g) ? " .forward_mc = program_forward_mc," : "");
    fprintf(c, "    .f64_model_size = sizeof(%s_f64_model), .f64_params = program_f64_params,\n", n);
    fprintf(c, "    .f64_grads = program_f64_grads, .f64_load = program_f64_load,\n");
    fprintf(c, "    .f64_loss = program_f64_loss, .f64_backward = program_f64_backward,\n");
    if (t->qat)
        fprintf(c, "    .qat = 1, /* quantize int8; */\n");
    fprintf(c, "};\n\n");
    fprintf(c, "int main(int argc, char **argv) {\n    return dnn_main(&program, argc, argv);\n}\n");
    return true;
}

/* ---- --emit=selftest ------------------------------------------------------------------------
 * NAME_selftest(): the inputs and expected outputs of a golden file (and,
 * with --weights, the weights) baked in as exact hexadecimal constants, so
 * a device can check that it computes what the host computed. */

static void *read_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dnnc: error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = cap < ((size_t)1 << 30) ? realloc(buf, cap *= 2) : NULL;
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        fprintf(stderr, "dnnc: error: '%s' is too large\n", path);
    *len = n;
    return buf;
}

/* One float array: "static const float NAME[N] = {...};" with exact hex floats. */
static void emit_floats(FILE *c, bool shared, const char *name, const unsigned char *le, long count) {
    fprintf(c, "%sconst float %s[%ld] = {", shared ? "" : "static ", name, count);
    for (long i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)le[4 * i] | (uint32_t)le[4 * i + 1] << 8 | (uint32_t)le[4 * i + 2] << 16 |
                        (uint32_t)le[4 * i + 3] << 24;
        float v;
        memcpy(&v, &bits, 4);
        fprintf(c, "%s%s%af", i % 6 ? " " : "\n    ", "", (double)v);
        if (i + 1 < count)
            fputc(',', c);
    }
    fprintf(c, "\n};\n");
}

/* The golden tensor `name`, F32 [N, per-sample...]: its data, or NULL after a message. */
static const unsigned char *golden_tensor(const void *buf, size_t len, const char *path, const char *name, long size,
                                          long *count) {
    dnn_st_view v;
    long per = 1;
    int rc = dnn_st_find(buf, len, name, &v);
    for (int k = 1; rc == DNN_OK && k < v.rank; k++)
        per *= (long)v.shape[k];
    if (rc != DNN_OK || v.dtype != DNN_DT_F32 || v.rank < 1 || per != size || v.shape[0] < 1 ||
        (*count && v.shape[0] != *count)) {
        fprintf(stderr, "dnnc: error: %s: '%s' must be an F32 tensor [N, ...] of %ld values per sample%s\n", path, name,
                size, rc == DNN_E_MISSING ? " (it is missing)" : rc != DNN_OK ? arena_printf(" (%s)", dnn_strerror(rc)) : "");
        return NULL;
    }
    for (size_t i = 0; i < v.nbytes; i += 4) {
        uint32_t bits;
        memcpy(&bits, (const char *)v.data + i, 4); /* little-endian host assumed by dnnc */
        if ((bits & 0x7f800000u) == 0x7f800000u) {
            fprintf(stderr, "dnnc: error: %s: '%s' holds a NaN or infinity\n", path, name);
            return NULL;
        }
    }
    *count = (long)v.shape[0];
    return v.data;
}

/* Input i's dnn.mean@NAME or dnn.std@NAME into *out (groups values), if
 * the file has it: one value per element or per channel, all finite, a
 * std positive. false after a message. */
static bool read_stats(const Graph *g, int i, const char *what, const void *buf, size_t len, char *text, size_t cap,
                       const char *path, float **out, int *groups) {
    const Value *in = g->inputs[i];
    const char *key = arena_printf("dnn.%s@%s", what, in->name);
    long size = shape_size(&in->shape), channels = in->shape.rank ? in->shape.dim[0] : size;
    *out = NULL;
    if (dnn_st_metadata(buf, len, key, text, cap) != DNN_OK)
        return true;
    long n = 1;
    for (const char *q = text; *q; q++)
        n += *q == ',';
    float *v = arena_alloc(sizeof(float) * (size_t)n);
    bool ok = n == size || n == channels;
    char *q = text, *end = text;
    for (long k = 0; k < n && ok; k++, q = end + 1) {
        v[k] = strtof(q, &end);
        ok = end != q && (*end == ',' || !*end) && isfinite(v[k]) && (strcmp(what, "std") || v[k] > 0);
    }
    if (!ok) {
        fprintf(stderr, "dnnc: error: %s: %s is damaged: %ld values, which must be finite%s and number %ld (one per "
                        "element of input %s %s) or %ld (one per channel)\n", path, key, n,
                strcmp(what, "std") ? "" : ", positive", size, in->name, shape_str(&in->shape), channels);
        return false;
    }
    *out = v;
    *groups = (int)n;
    return true;
}

/* g->prep from the metadata a training program saved (docs/training.md). */
static bool read_preprocess(Graph *g, const void *buf, size_t len, const char *path) {
    size_t cap = 1; /* the header's length bounds every value (a loaded file has one) */
    for (int k = 7; k >= 0; k--)
        cap += (size_t)((const unsigned char *)buf)[k] << (8 * k);
    char *text = malloc(cap), *end;
    Preprocess *pr = arena_alloc(sizeof *pr);
    bool ok = text != NULL;
    pr->scale = 1;
    pr->mean = arena_alloc(sizeof(float *) * (size_t)(g->ninputs + 1));
    pr->std = arena_alloc(sizeof(float *) * (size_t)(g->ninputs + 1));
    pr->groups = arena_alloc(sizeof(int) * (size_t)(g->ninputs + 1));
    if (ok && dnn_st_metadata(buf, len, "dnn.scale", text, cap) == DNN_OK) {
        pr->scale = strtod(text, &end);
        if (end == text || *end || !isfinite(pr->scale) || !(pr->scale > 0)) {
            fprintf(stderr, "dnnc: error: %s: dnn.scale is damaged: '%s' is not a positive number\n", path, text);
            ok = false;
        }
    }
    for (int i = 0; ok && i < g->ninputs; i++) {
        int std_groups = 0;
        ok = read_stats(g, i, "mean", buf, len, text, cap, path, &pr->mean[i], &pr->groups[i]) &&
             read_stats(g, i, "std", buf, len, text, cap, path, &pr->std[i], &std_groups);
        if (ok && pr->std[i] && (!pr->mean[i] || std_groups != pr->groups[i])) {
            fprintf(stderr, "dnnc: error: %s: dnn.std@%s goes with a dnn.mean@%s of as many values\n", path,
                    g->inputs[i]->name, g->inputs[i]->name);
            ok = false;
        }
    }
    free(text);
    g->prep = ok ? pr : NULL;
    return ok;
}

/* --from-qat: whether the weights file holds every observer buffer of a
 * `quantize int8;` model (else an error saying what the file is missing). */
bool qat_weights_ok(const Graph *g, const char *path) {
    size_t len;
    void *buf = read_bytes(path, &len);
    if (!buf)
        return false;
    dnn_st_view t;
    const Value *missing = NULL;
    for (int i = 0; i < g->nparams && !missing; i++) {
        const Value *p = g->params[i];
        const char *end = p->name + strlen(p->name) - strlen("min_val");
        if (p->is_buffer && (!strcmp(end, "min_val") || !strcmp(end, "max_val")) &&
            dnn_st_find(buf, len, p->name, &t) == DNN_E_MISSING)
            missing = p;
    }
    free(buf);
    if (missing)
        fprintf(stderr, "dnnc: error: %s: no observer '%s': --from-qat takes the weights a model trained with "
                        "'quantize int8;' saved (its observers' min and max beside the parameters); quantize float "
                        "weights with --embed-weights FILE --calibrate SAMPLES\n", path, missing->name);
    return !missing;
}

float *read_weights(Graph *g, const char *path) {
    size_t len;
    void *buf = read_bytes(path, &len);
    if (!buf)
        return NULL;
    long total = 0;
    for (int i = 0; i < g->nparams; i++)
        total += shape_size(&g->params[i]->shape);
    float *params = arena_alloc(sizeof(float) * (size_t)(total + 1));
    dnn_tensor_info *info = arena_alloc(sizeof *info * (size_t)(g->nparams + 1));
    float **dst = arena_alloc(sizeof(float *) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++) {
        const Value *p = g->params[i];
        info[p->index] = (dnn_tensor_info){p->name, p->shape.rank, {0, 0, 0, 0}, (int)shape_size(&p->shape), 1, DNN_DT_F32};
        for (int k = 0; k < p->shape.rank && k < 4; k++)
            info[p->index].shape[k] = p->shape.dim[k];
        dst[p->index] = params + p->flash;
    }
    int rc = dnn_safetensors_load(info, dst, g->nparams, buf, len);
    if (rc != DNN_OK && g->embedded && !g->inference) {
        /* training on the device: buffers may be absent, and start as NAME_init would set them */
        dnn_tensor_info *pinfo = arena_alloc(sizeof *pinfo * (size_t)(g->nparams + 1));
        float **pdst = arena_alloc(sizeof(float *) * (size_t)(g->nparams + 1));
        int np = 0;
        for (int i = 0; i < g->nparams; i++) {
            const Value *p = g->params[i];
            if (p->is_buffer)
                for (long k = 0; k < shape_size(&p->shape); k++)
                    params[p->flash + k] = p->has_fill ? p->fill : 0.0f;
            else {
                pinfo[np] = info[p->index];
                pdst[np++] = dst[p->index];
            }
        }
        if (np < g->nparams && dnn_safetensors_load(pinfo, pdst, np, buf, len) == DNN_OK)
            rc = DNN_OK;
    }
    if (rc != DNN_OK) {
        char why[512];
        dnn_safetensors_check(info, g->nparams, buf, len, why, sizeof why);
        fprintf(stderr, "dnnc: error: %s: %s (the file must hold exactly model '%s''s tensors)\n", path, why, g->name);
        free(buf);
        return NULL;
    }
    bool ok = read_preprocess(g, buf, len, path);
    free(buf);
    return ok ? params : NULL;
}

/* One input's calibration samples: an F32 tensor [N, its shape...] with
 * N > 0 and finite values; NULL after a message naming the file. */
static const float *calibration_of(const Value *in, const void *buf, size_t len, const char *path, int *count) {
    dnn_st_view t;
    int rc = dnn_st_find(buf, len, in->name, &t);
    if (rc != DNN_OK) {
        if (rc == DNN_E_MISSING)
            fprintf(stderr, "dnnc: error: %s: no tensor '%s'; the calibration set needs one per model input, "
                            "named after it, shaped [N, %s\n", path, in->name, shape_str(&in->shape) + 1);
        else
            fprintf(stderr, "dnnc: error: %s: not a safetensors file (%s)\n", path, dnn_strerror(rc));
        return NULL;
    }
    bool shaped = t.rank == in->shape.rank + 1;
    for (int k = 0; shaped && k < in->shape.rank; k++)
        shaped = t.shape[k + 1] == in->shape.dim[k];
    const char *got = "[";
    for (int k = 0; k < t.rank; k++)
        got = arena_printf("%s%s%lld", got, k ? ", " : "", (long long)t.shape[k]);
    if (t.dtype != DNN_DT_F32 || !shaped) {
        fprintf(stderr, "dnnc: error: %s: '%s' is %s %s]; the calibration set needs F32 [N, %s for input '%s'\n",
                path, in->name, t.dtype == DNN_DT_F32 ? "F32" : "not F32:", got, shape_str(&in->shape) + 1, in->name);
        return NULL;
    }
    if (t.shape[0] < 1 || t.shape[0] > INT32_MAX / 2) {
        fprintf(stderr, "dnnc: error: %s: '%s' holds %lld samples; calibration needs at least one\n", path, in->name,
                (long long)t.shape[0]);
        return NULL;
    }
    long per = shape_size(&in->shape);
    float *data = arena_alloc(t.nbytes + 1); /* (aligned: the view's data may not be) */
    memcpy(data, t.data, t.nbytes);
    for (size_t i = 0; i < t.nbytes / sizeof(float); i++)
        if (!isfinite(data[i])) {
            fprintf(stderr, "dnnc: error: %s: '%s' sample %zu, element %zu is %s; calibration needs finite values\n",
                    path, in->name, i / (size_t)per, i % (size_t)per, isnan(data[i]) ? "NaN" : "infinite");
            return NULL;
        }
    *count = (int)t.shape[0];
    return data;
}

Cal *read_calibration(const Graph *g, const char *path) {
    size_t len;
    void *buf = read_bytes(path, &len);
    if (!buf)
        return NULL;
    Cal *cal = arena_alloc(sizeof *cal);
    cal->data = arena_alloc(sizeof(float *) * (size_t)(g->ninputs + 1));
    for (int i = 0; i < g->ninputs; i++) {
        int n = 0;
        if (!(cal->data[i] = calibration_of(g->inputs[i], buf, len, path, &n))) {
            free(buf);
            return NULL;
        }
        if (i && n != cal->n) {
            fprintf(stderr, "dnnc: error: %s: '%s' holds %d samples and '%s' %d; every input needs the same number\n",
                    path, g->inputs[0]->name, cal->n, g->inputs[i]->name, n);
            free(buf);
            return NULL;
        }
        cal->n = n;
    }
    free(buf);
    return cal;
}

bool emit_selftest(Graph *g, const char *weights, const char *golden, FILE *c, FILE *h) {
    const char *n = g->name;
    size_t glen = 0;
    void *gbuf = read_bytes(golden, &glen);
    bool ok = gbuf != NULL;
    long count = 0;
    const unsigned char **ins = arena_alloc(sizeof(void *) * (size_t)(g->ninputs + 1));
    const unsigned char **outs = arena_alloc(sizeof(void *) * (size_t)(g->noutputs + 1));
    for (int i = 0; ok && i < g->ninputs; i++)
        ok = (ins[i] = golden_tensor(gbuf, glen, golden, g->inputs[i]->name, shape_size(&g->inputs[i]->shape), &count));
    for (int i = 0; ok && i < g->noutputs; i++)
        ok = (outs[i] = golden_tensor(gbuf, glen, golden, g->output_names[i], shape_size(&g->outputs[i]->shape),
                                      &count));
    Value **byindex = arena_alloc(sizeof(Value *) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++)
        byindex[g->params[i]->index] = g->params[i];
    float *params = NULL;
    if (ok && weights)
        ok = (params = read_weights(g, weights)) != NULL;
    if (ok) {
        fprintf(c, "/* ==== self-test (dnnc --emit=selftest): %ld samples of %s%s%s ==== */\n\n", count,
                strrchr(golden, '/') ? strrchr(golden, '/') + 1 : golden, weights ? ", weights of " : "",
                weights ? (strrchr(weights, '/') ? strrchr(weights, '/') + 1 : weights) : "");
        for (int i = 0; i < g->ninputs; i++)
            emit_floats(c, true, arena_printf("%s_selftest_in%d", n, i), ins[i], count * shape_size(&g->inputs[i]->shape));
        for (int i = 0; i < g->noutputs; i++)
            emit_floats(c, true, arena_printf("%s_selftest_want%d", n, i), outs[i],
                        count * shape_size(&g->outputs[i]->shape));
        for (int i = 0; params && i < g->nparams; i++) {
            unsigned char *le = arena_alloc(4 * (size_t)shape_size(&byindex[i]->shape) + 4);
            for (long k = 0; k < shape_size(&byindex[i]->shape); k++) { /* back to little-endian bytes */
                uint32_t bits;
                memcpy(&bits, &params[byindex[i]->flash + k], 4);
                for (int b = 0; b < 4; b++)
                    le[4 * k + b] = (unsigned char)(bits >> (8 * b));
            }
            fprintf(c, "/* %s */\n", byindex[i]->name);
            emit_floats(c, false, arena_printf("%s_selftest_w%d", n, i), le, shape_size(&byindex[i]->shape));
        }
        const char *N = arena_strdup(n);
        for (char *q = (char *)N; *q; q++)
            *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        fprintf(c, "\n/* tolerances: |got - want| <= ATOL + RTOL |want| (override with -D) */\n");
        fprintf(c, "#ifndef %s_SELFTEST_ATOL\n#define %s_SELFTEST_ATOL 1e-5f\n#endif\n", N, N);
        fprintf(c, "#ifndef %s_SELFTEST_RTOL\n#define %s_SELFTEST_RTOL 1e-4f\n#endif\n\n", N, N);
        fprintf(c, "int %s_selftest(%s_model *m, float *worst_error) {\n", n, n);
        if (params)
            for (int i = 0; i < g->nparams; i++)
                fprintf(c, "    memcpy(%s_tensor(m, %d), %s_selftest_w%d, sizeof %s_selftest_w%d);\n", n, i, n, i, n, i);
        for (int i = 0; i < g->noutputs; i++)
            fprintf(c, "    static float got%d[%s_BATCH * %ld];\n", i, N, shape_size(&g->outputs[i]->shape));
        fprintf(c, "    int bad = 0;\n    float worst = 0.0f;\n");
        fprintf(c, "    for (int s = 0; s < %ld; s += %s_BATCH) {\n", count, N);
        fprintf(c, "        const int n = %ld - s < %s_BATCH ? %ld - s : %s_BATCH;\n", count, N, count, N);
        fprintf(c, "        %s_forward(m", n);
        for (int i = 0; i < g->ninputs; i++)
            fprintf(c, ", %s_selftest_in%d + s * %ld", n, i, shape_size(&g->inputs[i]->shape));
        for (int i = 0; i < g->noutputs; i++)
            fprintf(c, ", got%d", i);
        fprintf(c, ", n);\n");
        for (int i = 0; i < g->noutputs; i++) {
            long size = shape_size(&g->outputs[i]->shape);
            fprintf(c, "        for (int i = 0; i < n * %ld; i++) {\n", size);
            fprintf(c, "            const float want = %s_selftest_want%d[s * %ld + i], err = fabsf(got%d[i] - want);\n", n,
                    i, size, i);
            fprintf(c, "            if (err > worst || err != err)\n                worst = err;\n");
            fprintf(c, "            if (!(err <= %s_SELFTEST_ATOL + %s_SELFTEST_RTOL * fabsf(want)))\n                bad++;\n", N, N);
            fprintf(c, "        }\n");
        }
        fprintf(c, "    }\n    if (worst_error)\n        *worst_error = worst;\n    return bad;\n}\n");
        fprintf(h, "/* --emit=selftest: forward on %ld stored samples%s; returns how many output values differ from\n"
                   "   the stored ones beyond the tolerances (0: pass), and the largest difference in *worst_error */\n",
                count, weights ? " with the stored weights (copied into m)" : "");
        fprintf(h, "int %s_selftest(%s_model *m, float *worst_error);\n", n, n);
        fprintf(h, "#define %s_SELFTEST_SAMPLES %ld /* the stored samples, [N][SIZE] each: */\n", N, count);
        for (int i = 0; i < g->ninputs; i++)
            fprintf(h, "extern const float %s_selftest_in%d[%ld]; /* input %s */\n", n, i,
                    count * shape_size(&g->inputs[i]->shape), g->inputs[i]->name);
        for (int i = 0; i < g->noutputs; i++)
            fprintf(h, "extern const float %s_selftest_want%d[%ld]; /* output %s as stored */\n", n, i,
                    count * shape_size(&g->outputs[i]->shape), g->output_names[i]);
        fputc('\n', h);
    }
    free(gbuf);
    return ok;
}
