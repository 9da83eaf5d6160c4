/* emit_struct.c — the model's part of NAME.h: size macros, the complete
 * struct NAME_model and the prototypes of generated-c.md. The struct's
 * members come from model_members(), which --emit=report (summary.c) adds
 * up to sizeof(NAME_model).
 */
#include "emit.h"
#include "dnn.h" /* dnn_rng: its size in the model struct */

#include <stddef.h>
#include <string.h>

/* Whether the model has a layer that samples in training (dropout): then
 * a training build also gets NAME_forward_mc. */
bool has_sampling_layer(const Graph *g) {
    for (int i = 0; i < g->nforward; i++)
        if (op_info[g->values[i]->op].flags & F_RNG)
            return true;
    return false;
}

#define ALIGN_OF(T) ((long)offsetof(struct { char c; T x; }, x))

static Member member(const char *decl, const char *comment, long size, long align, Part part) {
    return (Member){decl, comment, size, align, part};
}

static Member floats(const char *name, long n, const char *comment, Part part) {
    return member(arena_printf("float %s[%ld]", name, n), comment, n * (long)sizeof(float), ALIGN_OF(float), part);
}

int model_members(const Graph *g, const Plan *p, bool embedded, Member *m) {
    const char *n = g->name;
    int k = 0;
    long act = p->act > 0 ? p->act : 1;
    if (g->inference) { /* parameters (unless embedded) and the reused activation area; forward only */
        if (!embedded)
            m[k++] = floats("params", p->params, arena_printf("parameters then buffers, in %s_tensors order", n), PART_PARAMS);
        m[k++] = floats("act", act, arena_printf("activations, each slice reused once its value is dead (%ld without reuse)",
                                                 p->naive_act), PART_ACT);
        if (!embedded)
            m[k++] = member("dnn_rng rng", "initialisation", sizeof(dnn_rng), ALIGN_OF(dnn_rng), PART_OTHER);
    } else {
        long P8 = p->params ? (p->params + 7) / 8 * 8 : 8; /* each array a multiple of 32 bytes, so that vector loads stay aligned */
        const char *states[2];
        m[k++] = floats("params", P8, arena_printf("parameters then buffers, in %s_tensors order%s", n,
                                                   P8 > p->params ? arena_printf("; %ld used", p->params) : ""), PART_PARAMS);
        if (!g->fused_update) /* else each gradient is a slice of act, free once its update is done */
            m[k++] = floats("grads", P8, "gradients, laid out like params (zero where frozen)", PART_GRADS);
        for (int i = 0, ns = optimizer_states(&g->train, states); i < ns; i++)
            m[k++] = floats(states[i], P8, arena_printf("%s state, laid out like params", g->train.optimizer), PART_STATE);
        m[k++] = floats("act", act, arena_printf("activations, what backward reads and gradients: slices reused once dead "
                                                 "(%ld without reuse)", p->naive_act), PART_ACT);
        m[k++] = member("float lr", arena_printf("learning rate now; %s_set_epoch applies the schedule", n),
                        sizeof(float), ALIGN_OF(float), PART_OTHER);
        m[k++] = member("int epoch", arena_printf("last epoch given to %s_set_epoch", n), sizeof(int), ALIGN_OF(int), PART_OTHER);
        m[k++] = member("int training",
                        has_sampling_layer(g) ? arena_printf("1 while in a train-mode pass, 2 in %s_forward_mc", n)
                                              : "1 while in a train-mode pass",
                        sizeof(int), ALIGN_OF(int), PART_OTHER);
        m[k++] = member("int64_t step", "optimizer steps taken", sizeof(int64_t), ALIGN_OF(int64_t), PART_OTHER);
        m[k++] = member("dnn_rng rng", "initialisation and dropout", sizeof(dnn_rng), ALIGN_OF(dnn_rng), PART_OTHER);
        const char *hp[8], *list = "";
        int nhp = hparam_names(&g->train, hp);
        for (int i = 0; i < nhp; i++)
            list = arena_printf("%s%s %s", list, i ? "," : "", hp[i]);
        m[k++] = member(arena_printf("struct {\n        double%s;\n    } hparams", list),
                        arena_printf("the .dnn's hyper-parameters (%s_init), or %s_set_hparam's", n, n),
                        (long)sizeof(double) * nhp, ALIGN_OF(double), PART_OTHER);
        if (g->train.schedule && !strcmp(g->train.schedule, "cosine")) {
            m[k++] = member("double cosine_lr", "the cosine schedule's lr in double at count cosine_at (PyTorch's recursion)",
                            sizeof(double), ALIGN_OF(double), PART_OTHER);
            m[k++] = member("int64_t cosine_at", "the count cosine_lr belongs to", sizeof(int64_t), ALIGN_OF(int64_t), PART_OTHER);
        }
    }
    if (g->check_finite)
        m[k++] = member("const char *nonfinite", "--check-finite: the first result that held a NaN or infinity, or NULL",
                        sizeof(const char *), ALIGN_OF(const char *), PART_OTHER);
    if (k > MAX_MEMBERS)
        ICE("%d members in the model struct", k);
    return k;
}

long model_bytes(const Graph *g, const Plan *p, bool embedded, long part[PART_COUNT]) {
    Member m[MAX_MEMBERS];
    int n = model_members(g, p, embedded, m);
    long at = 0, align = 1;
    memset(part, 0, sizeof(long) * PART_COUNT);
    for (int i = 0; i < n; i++) {
        long start = (at + m[i].align - 1) / m[i].align * m[i].align;
        part[PART_OTHER] += start - at; /* padding */
        part[m[i].part] += m[i].size;
        at = start + m[i].size;
        if (m[i].align > align)
            align = m[i].align;
    }
    long total = (at + align - 1) / align * align;
    part[PART_OTHER] += total - at;
    return total;
}

static void emit_struct(Out *o) {
    Member m[MAX_MEMBERS];
    int n = model_members(o->g, o->plan, o->weights != NULL, m);
    fprintf(o->h, "struct %s_model {\n", o->name);
    for (int i = 0; i < n; i++)
        fprintf(o->h, "    %s; /* %s */\n", m[i].decl, m[i].comment);
    fprintf(o->h, "};\n\n");
}

/* --inference: parameters (unless embedded) and the reused activation area; forward only. */
static void emit_inference_header(Out *o) {
    Graph *g = o->g;
    FILE *h = o->h;
    const char *N = o->NAME, *n = o->name;
    emit_struct(o);
    char inputs[1024] = "", outputs[1024] = "";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), ", const float *%s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->noutputs; i++)
        snprintf(outputs + strlen(outputs), sizeof outputs - strlen(outputs), ", float *%s", arg_name(c_ident(g->output_names[i])));
    if (o->weights)
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* clears the activations; the weights are %s_weights */\n", n, n, n);
    else
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* parameters per the init rules */\n", n, n);
    fprintf(h, "void %s_forward(%s_model *m%s%s, int n); /* eval mode; n in 1..%s_BATCH */\n", n, n, inputs, outputs, N);
    fprintf(h, "extern const dnn_tensor_info %s_tensors[%s_NUM_TENSORS];\n", n, N);
    if (o->weights) {
        fprintf(h, "extern const float %s_weights[%ld]; /* --embed-weights: every tensor, in %s_tensors order (flash) */\n",
                n, o->plan->flash, n);
        fprintf(h, "const float *%s_tensor(const %s_model *m, int i); /* data of tensor i (read-only) */\n", n, n);
    } else {
        fprintf(h, "float *%s_tensor(%s_model *m, int i); /* data of tensor i, row-major, PyTorch layout */\n", n, n);
        fprintf(h, "int %s_load(%s_model *m, const void *safetensors, size_t len); /* 0 or DNN_E*; m unchanged on error */\n", n, n);
    }
    fprintf(h, "size_t %s_save(const %s_model *m, void *buf, size_t cap); /* bytes of the image; writes only if cap suffices */\n\n", n, n);
}

void emit_size_macros(const Graph *g, FILE *h) {
    const char *N = upper(g->name);
    fprintf(h, "#define %s_BATCH %d /* compile-time batch size */\n", N, g->train.batch);
    for (int i = 0; i < g->ninputs; i++)
        fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of input %s %s */\n", N, upper(c_ident(g->inputs[i]->name)),
                shape_size(&g->inputs[i]->shape), g->inputs[i]->name, shape_str(&g->inputs[i]->shape));
    for (int i = 0; i < g->ntargets; i++) {
        const Value *t = g->targets[i];
        if (t->dtype == DT_CLASS) {
            fprintf(h, "#define %s_%s_SIZE 1 /* target %s: one int32 class index per sample */\n", N, upper(c_ident(t->name)), t->name);
            fprintf(h, "#define %s_%s_CLASSES %d\n", N, upper(c_ident(t->name)), t->classes);
        } else
            fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of target %s %s */\n", N, upper(c_ident(t->name)),
                    shape_size(&t->shape), t->name, shape_str(&t->shape));
    }
    for (int i = 0; i < g->noutputs; i++)
        fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of output %s %s */\n", N, upper(c_ident(g->output_names[i])),
                shape_size(&g->outputs[i]->shape), g->output_names[i], shape_str(&g->outputs[i]->shape));
}

void emit_header(Out *o) {
    Graph *g = o->g;
    FILE *h = o->h;
    const char *N = o->NAME, *n = o->name;
    fprintf(h, "/* ---- model %s ---- */\n", n);
    emit_size_macros(g, h);
    fprintf(h, "#define %s_NUM_TENSORS %d /* entries of %s_tensors: parameters, then buffers */\n", N, g->nparams, n);
    fprintf(h, "#define %s_NUM_PARAMS %ld /* trainable scalars */\n", N, o->plan->trainable);
    fprintf(h, "#define %s_EPOCHS %d /* from train { epochs } */\n", N, g->train.epochs);
    fprintf(h, "#define %s_SEED %lluu /* from train { seed } */\n\n", N, (unsigned long long)g->train.seed);

    fprintf(h, "typedef struct %s_model %s_model;\n", n, n);
    if (g->inference) {
        emit_inference_header(o);
        return;
    }
    emit_struct(o);

    /* prototypes: inputs, then outputs (forward) or targets */
    char inputs[1024] = "", targets[1024] = "", outputs[1024] = "";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), ", const float *%s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->ntargets; i++)
        snprintf(targets + strlen(targets), sizeof targets - strlen(targets), ", const %s *%s",
                 g->targets[i]->dtype == DT_CLASS ? "int32_t" : "float", arg_name(g->targets[i]->name));
    for (int i = 0; i < g->noutputs; i++)
        snprintf(outputs + strlen(outputs), sizeof outputs - strlen(outputs), ", float *%s", arg_name(c_ident(g->output_names[i])));
    bool device = o->weights != NULL; /* training on the device: --embed-weights without --inference */
    if (device)
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* trainable tensors and buffers from %s_weights; optimizer state "
                   "and step zeroed; seed: dropout */\n", n, n, n);
    else
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* parameters per the init rules; optimizer state and step zeroed */\n", n, n);
    fprintf(h, "void %s_forward(%s_model *m%s%s, int n); /* eval mode; n in 1..%s_BATCH */\n", n, n, inputs, outputs, N);
    if (has_sampling_layer(g))
        fprintf(h, "void %s_forward_mc(%s_model *m%s%s, int n); /* eval mode but dropout samples masks from m->rng\n"
                   "   (Monte-Carlo dropout: call it several times); batchnorm uses its running statistics */\n",
                n, n, inputs, outputs);
    fprintf(h, "float %s_loss(%s_model *m%s%s, int n); /* eval mode, no gradients */\n", n, n, inputs, targets);
    if (g->fused_update)
        fprintf(h, "float %s_train_step(%s_model *m%s%s, int n); /* train mode: loss; each parameter's %s update fused into the\n"
                   "   backward pass, applied once its gradient is complete (no gradient buffers) */\n", n, n, inputs, targets,
                g->train.optimizer);
    else {
        fprintf(h, "float %s_backward(%s_model *m%s%s, int n); /* train mode: loss; gradients overwritten */\n", n, n, inputs, targets);
        fprintf(h, "void %s_step(%s_model *m); /* one %s update from the gradients */\n", n, n, g->train.optimizer);
        fprintf(h, "float %s_train_step(%s_model *m%s%s, int n); /* backward, then step */\n", n, n, inputs, targets);
    }
    fprintf(h, "void %s_set_epoch(%s_model *m, int epoch); /* applies the lr schedule */\n", n, n);
    fprintf(h, "int %s_set_hparam(%s_model *m, const char *name, float value); /* lr, momentum, ...: 0 or DNN_E*; m unchanged on error */\n", n, n);
    fprintf(h, "int %s_set_hparam_exact(%s_model *m, const char *name, double value); /* the same, as if the .dnn said value */\n", n, n);
    fprintf(h, "extern const dnn_tensor_info %s_tensors[%s_NUM_TENSORS];\n", n, N);
    if (device) {
        fprintf(h, "extern const float %s_weights[%ld]; /* --embed-weights: every tensor, in %s_tensors order (flash): the "
                   "frozen ones, and the others' initial values */\n", n, o->plan->flash, n);
        fprintf(h, "const float *%s_tensor(const %s_model *m, int i); /* data of tensor i (in RAM if trainable or a buffer, "
                   "else in flash) */\n", n, n);
    } else
        fprintf(h, "float *%s_tensor(%s_model *m, int i); /* data of tensor i, row-major, PyTorch layout */\n", n, n);
    if (!g->fused_update)
        fprintf(h, "float *%s_grad(%s_model *m, int i); /* its gradient; NULL if not trainable */\n", n, n);
    const char *what = device ? "the tensors in RAM (trainable, buffers) only: the device's own state" : "the image";
    fprintf(h, "int %s_load(%s_model *m, const void *safetensors, size_t len); /* %s0 or DNN_E*; m unchanged on error */\n",
            n, n, device ? arena_printf("reads %s; ", what) : "");
    fprintf(h, "size_t %s_save(const %s_model *m, void *buf, size_t cap); /* bytes of %s; writes only if cap suffices */\n\n", n, n,
            what);
}
