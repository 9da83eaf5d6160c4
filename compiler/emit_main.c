/* emit_main.c — `dnnc --main`: a training program around the model.
 *
 * Entry: emit_program(). Appends to the model's .c file a dnn_program
 * (runtime/dnn_train.h) describing the model — inputs, targets, outputs,
 * tensors, optimizer state, the train block, and wrappers that give every
 * entry point the same array-based signature — and a main() handing it to
 * the runtime's dnn_main(). The commands themselves (train, eval, predict,
 * gradcheck, check) are written once, in runtime/dnn_train.c.
 */
#include "dnnc.h"

#include <string.h>

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
    fprintf(c, "static float program_loss(void *m, const float *const *x, const void *const *y, int n) {\n%s", unused_y);
    fprintf(c, "    return %s_loss(m%s%s, n);\n}\n", n, x, y);
    fprintf(c, "static float program_backward(void *m, const float *const *x, const void *const *y, int n) {\n%s", unused_y);
    fprintf(c, "    return %s_backward(m%s%s, n);\n}\n", n, x, y);
    fprintf(c, "static void program_step(void *m) { %s_step(m); }\n", n);
    fprintf(c, "static void program_set_epoch(void *m, int epoch) { %s_set_epoch(m, epoch); }\n", n);
    fprintf(c, "static float *program_tensor(void *m, int i) { return %s_tensor(m, i); }\n", n);
    fprintf(c, "static float *program_grad(void *m, int i) { return %s_grad(m, i); }\n\n", n);
}

bool emit_program(Graph *g, const Plan *plan, const char *source, FILE *c) {
    const char *n = g->name;
    const Train *t = &g->train;
    fprintf(c, "/* ==== the training program (dnnc --main): see runtime/dnn_train.h ==== */\n\n");
    fprintf(c, "#include <stddef.h>\n\n#include \"dnn_train.h\"\n\n");
    emit_wrappers(c, g);

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
    fprintf(c, "static const size_t program_state_offsets[%d] = {", nstates ? nstates : 1);
    for (int i = 0; i < nstates; i++)
        fprintf(c, "%soffsetof(%s_model, %s)", i ? ", " : "", n, states[i]);
    fprintf(c, "%s};\n\n", nstates ? "" : "0");

    const Value *scored = scored_loss(g);
    const char *score = "DNN_SCORE_NONE";
    double threshold = 0, target_threshold = 0;
    if (scored) {
        OpKind op = scored->op;
        if (op == OP_cross_entropy || op == OP_nll || op == OP_multi_margin)
            score = "DNN_SCORE_ARGMAX";
        else if (op == OP_bce || op == OP_bce_with_logits || op == OP_hinge) {
            score = "DNN_SCORE_THRESHOLD";
            threshold = op == OP_bce ? 0.5 : 0.0;
            target_threshold = op == OP_hinge ? 0.0 : 0.5;
        } else
            scored = NULL; /* a regression loss: no accuracy */
    }

    fprintf(c, "static const dnn_program program = {\n");
    fprintf(c, "    .name = \"%s\",\n    .source = \"%s\",\n", n, source);
    fprintf(c, "    .model_size = sizeof(%s_model),\n    .batch = %d,\n", n, t->batch);
    fprintf(c, "    .ninputs = %d, .ntargets = %d, .noutputs = %d,\n", g->ninputs, g->ntargets, g->noutputs);
    fprintf(c, "    .inputs = program_inputs, .targets = program_targets, .outputs = program_outputs,\n");
    fprintf(c, "    .num_tensors = %d, .tensors = %s_tensors,\n", g->nparams, n);
    fprintf(c, "    .params_size = %ld,\n", plan->params);
    fprintf(c, "    .nstates = %d, .state_names = program_state_names, .state_offsets = program_state_offsets,\n", nstates);
    fprintf(c, "    .params_offset = offsetof(%s_model, params), .lr_offset = offsetof(%s_model, lr),\n", n, n);
    fprintf(c, "    .step_offset = offsetof(%s_model, step), .rng_offset = offsetof(%s_model, rng),\n", n, n);
    fprintf(c, "    .score = %s,\n", score);
    if (scored) {
        fprintf(c, "    /* accuracy from the prediction of the %s on line %d */\n", op_info[scored->op].name, scored->loc.first_line);
        fprintf(c, "    .score_target = %d,\n", target_index(g, scored->in[1]));
        fprintf(c, "    .pred_offset = offsetof(%s_model, act) + sizeof(float) * %d,\n", n, scored->in[0]->offset);
        fprintf(c, "    .pred_size = %ld,\n", shape_size(&scored->in[0]->shape));
        fprintf(c, "    .threshold = %s, .target_threshold = %s,\n", flit(threshold), flit(target_threshold));
    }
    fprintf(c, "    .epochs = %d, .seed = %lluu, .shuffle = %d,\n", t->epochs, (unsigned long long)t->seed, t->shuffle);
    fprintf(c, "    .validation = %.17g,\n", t->validation);
    fprintf(c, "    .early_stop = %d, .patience = %d, .min_delta = %.17g,\n", t->early_stop, t->patience, t->min_delta);
    fprintf(c, "    .ema_decay = %.17g,\n", t->ema_decay);
    fprintf(c, "    .optimizer = \"%s\",\n", t->optimizer);
    fprintf(c, "    .init = program_init, .forward = program_forward, .loss = program_loss,\n");
    fprintf(c, "    .backward = program_backward, .step = program_step, .set_epoch = program_set_epoch,\n");
    fprintf(c, "    .tensor = program_tensor, .grad = program_grad,\n");
    fprintf(c, "};\n\n");
    fprintf(c, "int main(int argc, char **argv) {\n    return dnn_main(&program, argc, argv);\n}\n");
    return true;
}
