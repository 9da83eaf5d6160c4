/* emit.c — C for a checked, differentiated and planned model.
 *
 * Entry: emit_model(). Writes the model's part of NAME.h (emit_struct.c:
 * size macros, the complete struct, prototypes) and of NAME.c: one static
 * step function per IR node (llm.c style: outputs first, then operands,
 * then the sample count n), commented with the .dnn line it came from;
 * then the public functions of generated-c.md, each a flat list of step
 * calls (initialisation and the optimizer: emit_update.c). Shapes are
 * baked into loop bounds so the C compiler can unroll and vectorise.
 * Identical step functions are emitted once. Output is deterministic:
 * nothing depends on time, addresses or hash order.
 */
#include "emit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_leaf(const Value *v) {
    return v->op == OP_param || v->op == OP_input || v->op == OP_target || v->op == OP_constant;
}

/* --check-finite: the test behind m->nonfinite. */
static void emit_finite_fn(Out *o) {
    fprintf(o->c, "/* --check-finite: 1 when p[0..count) holds no NaN or infinity */\n");
    fprintf(o->c, "static int %s_finite(const float *p, int count) {\n", o->name);
    fprintf(o->c, "    for (int i = 0; i < count; i++)\n        if (!isfinite(p[i]))\n            return 0;\n");
    fprintf(o->c, "    return 1;\n}\n\n");
}


/* ---- entry points --------------------------------------------------------------------------- */

/* "(m, x, y, n)"-style parameter list of an entry point. */
static const char *entry_params(Out *o, bool targets, bool outputs) {
    Graph *g = o->g;
    const char *scalar = o->f64 ? "double" : "float";
    char buf[2048];
    int len = snprintf(buf, sizeof buf, "%s_model *m", o->name);
    for (int i = 0; i < g->ninputs; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", const %s *%s", scalar, arg_name(g->inputs[i]->name));
    for (int i = 0; outputs && i < g->noutputs; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", %s *%s", scalar, arg_name(c_ident(g->output_names[i])));
    for (int i = 0; targets && i < g->ntargets; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", const %s *%s",
                        g->targets[i]->dtype == DT_CLASS ? "int32_t" : scalar, arg_name(g->targets[i]->name));
    snprintf(buf + len, sizeof buf - (size_t)len, ", int n");
    return arena_strdup(buf);
}

/* Marks arguments the body does not read as unused. */
static void void_unused(Out *o, const bool *needed, bool targets) {
    Graph *g = o->g;
    for (int i = 0; i < g->ninputs; i++)
        if (!needed[g->inputs[i]->id])
            fprintf(o->c, "    (void)%s;\n", arg_name(g->inputs[i]->name));
    for (int i = 0; targets && i < g->ntargets; i++)
        if (!needed[g->targets[i]->id])
            fprintf(o->c, "    (void)%s;\n", arg_name(g->targets[i]->name));
}

/* Training on the device: the update of parameter p as soon as its gradient b is complete; a
 * dense weight's gradient a block of rows at a time, each block's update at once. */
static void emit_update_now(Out *o, const Value *p, const Value *b) {
    if (b->block_rows) {
        fprintf(o->c, "    for (int row = 0; row < %d; row += %d) { /* %s: its gradient %d row%s at a time */\n", b->shape.dim[0],
                b->block_rows, p->name, b->block_rows, b->block_rows > 1 ? "s" : "");
        fprintf(o->c, "        %s\n", dense_weight_rows_call(b, local(o, b), local(o, b->in[0]), local(o, b->fwd->in[0]), "row"));
        emit_fused_update(o, p, local(o, b), b->block_rows, "    ");
        fprintf(o->c, "    }\n");
    } else
        emit_fused_update(o, p, local(o, b), 0, "");
    emit_finite_check(o, p);
}

static void emit_calls(Out *o, const bool *needed, int from, int to) {
    for (int i = from; i < to; i++) {
        Value *v = o->g->values[i];
        if (needed[v->id] && v->op == OP_grad_store && o->g->fused_update)
            emit_update_now(o, v->grad_of, v->in[0]);
        else if (needed[v->id] && o->steps[v->id])
            emit_call(o, v);
    }
}

/* The steps of every value entry points may compute: each forward node's
 * (of those for_outputs and for_loss need), each backward layer's. */
static void emit_steps(Out *o, const bool *for_outputs) {
    Graph *g = o->g;
    FILE *c = o->c; /* --optimize=size: the steps through memory, to declare the shared ones first */
    char *text = NULL;
    size_t len = 0;
    if (o->small && !(o->c = open_memstream(&text, &len)))
        ICE("open_memstream failed");
    for (int i = 0; i < g->nvalues;) {
        Value *v = g->values[i];
        int count = step_group(g, i);
        Value **nodes = g->values + i;
        if (v->op == OP_backward) { /* a block-wise weight gradient is computed at its store */
            nodes = arena_alloc(sizeof(Value *) * (size_t)count);
            int kept = 0;
            for (int j = 0; j < count; j++)
                if (!g->values[i + j]->block_rows)
                    nodes[kept++] = g->values[i + j];
            i += count - kept, count = kept;
        }
        if (count && !is_leaf(v) && !v->alias_of && !v->fused && !(v->op == OP_grad_store && g->fused_update) &&
            (o->for_loss[i] || (for_outputs && for_outputs[i]) || i >= g->nforward))
            emit_step(o, nodes, count);
        i += count;
    }
    if (o->small) {
        fclose(o->c);
        o->c = c;
        if (o->prototypes)
            fprintf(c, "/* the steps several layers call: functions of their own */\n%s\n", o->prototypes);
        fputs(text, c);
        free(text);
    }
}

/* A forward entry point: NAME_forward (mode 0, eval) or NAME_forward_mc (mode 2). */
static void emit_forward(Out *o, const char *suffix, int mode) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    fprintf(c, "void %s_forward%s(%s) {\n", n, suffix, entry_params(o, false, true));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return;\n", N);
    void_unused(o, o->for_outputs, false);
    begin_body(o);
    if (!g->inference)
        fprintf(o->c, "    m->training = %d;\n", mode);
    emit_calls(o, o->for_outputs, 0, g->nforward);
    for (int i = 0; i < g->noutputs; i++)
        if (storage_of(g->outputs[i])->area != AREA_OUTPUT) /* (else computed there) */
            fprintf(o->c, "    memcpy(%s, %s, sizeof(float) * (size_t)n * %s_%s_SIZE);\n", arg_name(c_ident(g->output_names[i])),
                    local(o, g->outputs[i]), N, upper(c_ident(g->output_names[i])));
    if (mode)
        fprintf(o->c, "    m->training = 0;\n");
    end_body(o);
    fprintf(c, "}\n\n");
}

/* The smallest n NAME_backward trains on: 2 when a batchnorm the loss
 * needs normalises one value per channel and sample ([C], or [C, 1, 1])
 * with the batch's statistics (not a frozen one, which uses the running ones),
 * since PyTorch raises "Expected more than 1 value per channel when
 * training" when N·H·W is 1; else 1. */
int min_train_batch(const Graph *g) {
    if (g->inference || !g->loss)
        return 1;
    bool *needed = arena_alloc((size_t)g->nvalues);
    mark_needed(g, g->loss, needed);
    for (int i = 0; i < g->nforward; i++) {
        const Value *v = g->values[i];
        if (v->op == OP_batchnorm && needed[v->id] && shape_size(&v->shape) == v->shape.dim[0] && !frozen_batchnorm(v))
            return 2;
    }
    return 1;
}

/* Training on the device: NAME_train_step runs the forward pass, then the
 * backward pass with each parameter's update as soon as its gradient is
 * complete (after the backward step of the parameter's first user, so
 * every input gradient uses the weights from before the step), and the
 * gradient's slice of the activations is free again: no gradient buffers. */
static void emit_fused_train_step(Out *o, const bool *all, const char *one) {
    Graph *g = o->g;
    fprintf(o->c, "float %s_train_step(%s) {\n", o->name, entry_params(o, true, false));
    fprintf(o->c, "    if (n < 1 || n > %s_BATCH)\n        return NAN;\n%s", o->NAME, one);
    void_unused(o, o->for_loss, true);
    begin_body(o);
    fprintf(o->c, "    m->training = 1;\n");
    emit_calls(o, all, 0, g->nforward);
    const char *loss = local(o, g->loss);
    fprintf(o->c, "    if (!(%s[0] == %s[0])) { /* NaN (a class out of range): no update, as NAME_step is skipped */\n", loss, loss);
    fprintf(o->c, "        m->training = 0;\n        return %s[0];\n    }\n", loss);
    fprintf(o->c, "    /* backward, each parameter updated as soon as its gradient is complete */\n");
    int (*ranges)[2] = arena_alloc(sizeof(int[2]) * (size_t)(g->nparams + 1));
    emit_update_prologue(o, trainable_ranges(g, ranges) > 0);
    emit_calls(o, all, g->nforward, g->nvalues);
    fprintf(o->c, "    m->training = 0;\n");
    fprintf(o->c, "    return %s[0];\n", loss);
    end_body(o);
    fprintf(o->c, "}\n\n");
}

static void emit_entry_points(Out *o) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;

    emit_forward(o, "", 0);
    if (g->inference)
        return;
    if (has_sampling_layer(g))
        emit_forward(o, "_mc", 2);

    fprintf(c, "float %s_loss(%s) {\n", n, entry_params(o, true, false));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return NAN;\n", N);
    void_unused(o, o->for_loss, true);
    begin_body(o);
    fprintf(o->c, "    m->training = 0;\n");
    emit_calls(o, o->for_loss, 0, g->nforward);
    fprintf(o->c, "    return %s[0];\n", local(o, g->loss));
    end_body(o);
    fprintf(c, "}\n\n");

    bool *all = arena_alloc((size_t)g->nvalues);
    memcpy(all, o->for_loss, (size_t)g->nforward);
    for (int i = g->nforward; i < g->nvalues; i++)
        all[i] = true;
    /* batchnorm on one value per channel: PyTorch raises, the model is left as it is */
    const char *one = min_train_batch(g) > 1 ? "    if (n == 1) /* batchnorm needs more than 1 value per channel */\n"
                                               "        return (float)DNN_E_ARG;\n" : "";
    if (g->fused_update) {
        emit_fused_train_step(o, all, one);
        return;
    }
    fprintf(c, "float %s_backward(%s) {\n", n, entry_params(o, true, false));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return NAN;\n%s", N, one);
    void_unused(o, o->for_loss, true);
    begin_body(o);
    fprintf(o->c, "    m->training = 1;\n");
    emit_calls(o, all, 0, g->nforward);
    fprintf(o->c, "    /* backward */\n");
    emit_calls(o, all, g->nforward, g->nvalues);
    fprintf(o->c, "    m->training = 0;\n");
    fprintf(o->c, "    return %s[0];\n", local(o, g->loss));
    end_body(o);
    fprintf(c, "}\n\n");

    char args[1024] = "m";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), ", %s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->ntargets; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), ", %s", arg_name(g->targets[i]->name));
    fprintf(c, "float %s_train_step(%s) {\n%s", n, entry_params(o, true, false), one);
    fprintf(c, "    const float loss = %s_backward(%s, n);\n", n, args);
    fprintf(c, "    if (loss == loss) /* not NaN: n was valid */\n");
    fprintf(c, "        %s_step(m);\n", n);
    fprintf(c, "    return loss;\n}\n\n");
}

/* --embed-weights: the parameters as exact constants (flash); no loading.
 * Where each tensor starts is a table of pointers into NAME_weights (as
 * the int8 build's NAME_data), which NAME_tensor and NAME_save read as it
 * is: no offsets turned into pointers at run time. */
static void emit_embedded_api(Out *o, Value **byindex) {
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    bool folded = false;
    for (int i = 0; i < o->g->nvalues; i++)
        folded |= o->g->values[i]->folded_bn != NULL;
    fprintf(c, "/* the weights, bit for bit, as hexadecimal float constants%s */\n",
            folded ? "; each batchnorm that follows a conv2d or dense\n"
                     " * layer folded into it: the layer's weight scaled, the batchnorm's bias its bias (docs/firmware.md)"
                   : "");
    fprintf(c, "const float %s_weights[%ld] = {", n, o->plan->flash);
    for (long i = 0; i < o->plan->flash; i++)
        fprintf(c, "%s%af%s", i % 6 ? " " : "\n    ", (double)o->weights[i], i + 1 < o->plan->flash ? "," : "");
    fprintf(c, "\n};\n\n");
    fprintf(c, "/* where each tensor starts in %s_weights */\nstatic const float *const %s_data[%s_NUM_TENSORS] = {", n, n, N);
    for (int i = 0; i < o->g->nparams; i++)
        fprintf(c, "%s%s_weights + %ld", i ? ", " : "", n, (long)byindex[i]->offset);
    fprintf(c, "};\n\n");
    fprintf(c, "const float *%s_tensor(const %s_model *m, int i) {\n    (void)m;\n", n, n);
    fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS ? %s_data[i] : NULL;\n}\n\n", N, n);
    fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n    (void)m;\n", n, n);
    fprintf(c, "    return dnn_safetensors_save(%s_tensors, %s_data, %s_NUM_TENSORS, buf, cap);\n}\n\n", n, n, N);
    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n    (void)seed;\n    memset(m, 0, sizeof *m);\n}\n\n", n, n);
}

/* p's entry of a dnn_tensor_info table */
static const char *tensor_info(const Value *p) {
    const Shape *s = &p->shape;
    return arena_printf("{\"%s\", %d, {%d, %d, %d, %d}, %ld, %d, DNN_DT_F32}", p->name, s->rank, s->rank > 0 ? s->dim[0] : 0,
                        s->rank > 1 ? s->dim[1] : 0, s->rank > 2 ? s->dim[2] : 0, s->rank > 3 ? s->dim[3] : 0,
                        shape_size(s), p->trainable && !p->is_buffer);
}

/* --embed-weights without --inference (training on the device): every
 * tensor in NAME_weights (flash), the frozen ones read from there, the
 * trainable ones and the buffers copied into m->params by NAME_init; what
 * NAME_save and NAME_load keep is those in RAM, the device's own state. */
static void emit_device_api(Out *o, Value **byindex) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    fprintf(c, "/* every tensor bit for bit, as hexadecimal float constants: the frozen ones, and the initial values\n"
               "   of those %s_init copies into RAM */\n", n);
    fprintf(c, "const float %s_weights[%ld] = {", n, o->plan->flash);
    for (long i = 0; i < o->plan->flash; i++)
        fprintf(c, "%s%af%s", i % 6 ? " " : "\n    ", (double)o->weights[i], i + 1 < o->plan->flash ? "," : "");
    fprintf(c, "\n};\n\n");
    fprintf(c, "/* where each tensor starts in %s_weights */\nstatic const int %s_flash_offsets[%s_NUM_TENSORS] = {", n, n, N);
    for (int i = 0; i < g->nparams; i++)
        fprintf(c, "%s%d", i ? ", " : "", byindex[i]->flash);
    fprintf(c, "};\n\n");
    int nstate = 0;
    for (int i = 0; i < g->nparams; i++)
        nstate += byindex[i]->area == AREA_PARAM;
    fprintf(c, "/* the tensors in RAM (trainable parameters, buffers), what %s_save and %s_load keep */\n", n, n);
    fprintf(c, "static const dnn_tensor_info %s_state_tensors[%d] = {\n", n, nstate ? nstate : 1);
    for (int i = 0; i < g->nparams; i++)
        if (byindex[i]->area == AREA_PARAM)
            fprintf(c, "    %s,\n", tensor_info(byindex[i]));
    fprintf(c, "};\n\n");
    fprintf(c, "const float *%s_tensor(const %s_model *m, int i) {\n", n, n);
    fprintf(c, "    if (i < 0 || i >= %s_NUM_TENSORS)\n        return NULL;\n", N);
    fprintf(c, "    return %s_offsets[i] >= 0 ? m->params + %s_offsets[i] : %s_weights + %s_flash_offsets[i];\n}\n\n", n, n, n, n);
    if (!g->fused_update) {
        fprintf(c, "float *%s_grad(%s_model *m, int i) {\n", n, n);
        fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS && %s_tensors[i].trainable ? m->grads + %s_offsets[i] : NULL;\n}\n\n",
                N, n, n);
    }
    for (int save = 0; save < 2; save++) {
        if (save)
            fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n    const float *at[%d];\n", n, n,
                    nstate ? nstate : 1);
        else
            fprintf(c, "int %s_load(%s_model *m, const void *safetensors, size_t len) {\n    float *at[%d];\n", n, n,
                    nstate ? nstate : 1);
        for (int i = 0, k = 0; i < g->nparams; i++)
            if (byindex[i]->area == AREA_PARAM)
                fprintf(c, "    at[%d] = m->params + %d; /* %s */\n", k++, byindex[i]->offset, byindex[i]->name);
        if (save)
            fprintf(c, "    return dnn_safetensors_save(%s_state_tensors, at, %d, buf, cap);\n}\n\n", n, nstate);
        else
            fprintf(c, "    return dnn_safetensors_load(%s_state_tensors, at, %d, safetensors, len);\n}\n\n", n, nstate);
    }
    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n", n, n);
    fprintf(c, "    memset(m, 0, sizeof *m);\n");
    fprintf(c, "    dnn_rng_seed(&m->rng, seed); /* for dropout and the like: the weights come from %s_weights */\n", n);
    for (int i = 0; i < g->nparams; i++) {
        const Value *p = byindex[i];
        if (p->area == AREA_PARAM)
            fprintf(c, "    memcpy(m->params + %d, %s_weights + %d, sizeof(float) * %ld); /* %s */\n", p->offset, n, p->flash,
                    shape_size(&p->shape), p->name);
    }
    const char *hp[8];
    for (int i = 0, k = hparam_names(&g->train, hp); i < k; i++)
        fprintf(c, "    m->hparams.%s = %.17g;\n", hp[i], hparam_value(&g->train, hp[i]));
    fprintf(c, "    %s_set_epoch(m, 0);\n}\n\n", n);
}

static void emit_tensor_api(Out *o) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    Value **byindex = arena_alloc(sizeof(Value *) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++)
        byindex[g->params[i]->index] = g->params[i];
    fprintf(c, "const dnn_tensor_info %s_tensors[%s_NUM_TENSORS] = {\n", n, N);
    for (int i = 0; i < g->nparams; i++)
        fprintf(c, "    %s,\n", tensor_info(byindex[i]));
    fprintf(c, "};\n\n");
    bool device = o->weights && !g->inference;
    if (o->weights && !device) {
        emit_embedded_api(o, byindex);
        return;
    }
    fprintf(c, "/* where each tensor starts in params (and grads)%s */\n", device ? "; -1: frozen, in flash only" : "");
    fprintf(c, "static const int %s_offsets[%s_NUM_TENSORS] = {", n, N);
    for (int i = 0; i < g->nparams; i++)
        fprintf(c, "%s%d", i ? ", " : "", byindex[i]->area == AREA_FLASH ? -1 : byindex[i]->offset);
    fprintf(c, "};\n\n");
    if (device) {
        emit_device_api(o, byindex);
        return;
    }
    fprintf(c, "float *%s_tensor(%s_model *m, int i) {\n", n, n);
    fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS ? m->params + %s_offsets[i] : NULL;\n}\n\n", N, n);
    if (!g->inference) {
        fprintf(c, "float *%s_grad(%s_model *m, int i) {\n", n, n);
        fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS && %s_tensors[i].trainable ? m->grads + %s_offsets[i] : NULL;\n}\n\n",
                N, n, n);
    }
    fprintf(c, "int %s_load(%s_model *m, const void *safetensors, size_t len) {\n", n, n);
    fprintf(c, "    float *dst[%s_NUM_TENSORS];\n", N);
    fprintf(c, "    for (int i = 0; i < %s_NUM_TENSORS; i++)\n        dst[i] = m->params + %s_offsets[i];\n", N, n);
    fprintf(c, "    return dnn_safetensors_load(%s_tensors, dst, %s_NUM_TENSORS, safetensors, len);\n}\n\n", n, N);
    fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n", n, n);
    fprintf(c, "    const float *src[%s_NUM_TENSORS];\n", N);
    fprintf(c, "    for (int i = 0; i < %s_NUM_TENSORS; i++)\n        src[i] = m->params + %s_offsets[i];\n", N, n);
    fprintf(c, "    return dnn_safetensors_save(%s_tensors, src, %s_NUM_TENSORS, buf, cap);\n}\n\n", n, N);

    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n", n, n);
    fprintf(c, "    memset(m, 0, sizeof *m);\n");
    fprintf(c, "    dnn_rng_seed(&m->rng, seed);\n");
    for (int i = 0; i < g->nparams; i++)
        emit_init_param(o, byindex[i]);
    if (!g->inference) {
        const char *hp[8];
        for (int i = 0, k = hparam_names(&g->train, hp); i < k; i++)
            fprintf(c, "    m->hparams.%s = %.17g;\n", hp[i], hparam_value(&g->train, hp[i]));
        fprintf(c, "    %s_set_epoch(m, 0);\n", n);
    }
    fprintf(c, "}\n\n");
}

/* ---- the double-precision twin (--main) ----------------------------------------------------
 * The training program's gradcheck compares the gradient of NAME_backward
 * with central differences of the loss. In float32 those resolve little
 * (the loss is rounded to ~1e-7 of itself), so the program gets the model
 * once more in double: NAME_f64_model holds params, grads and activations
 * as doubles at the float model's offsets, and NAME_f64_loss and
 * NAME_f64_backward run the same steps (printed through f64_text) in
 * train mode. Static: only the program's wrappers (emit_main.c) call them. */
static void emit_f64_twin(const Out *model) {
    Out t = *model; /* fn_names carries on, so the twin's step names stay distinct */
    Graph *g = t.g;
    FILE *c = t.c;
    t.name = arena_printf("%s_f64", model->name);
    t.f64 = true;
    t.bodies = t.shared = (Map){0};
    t.prototypes = NULL;
    t.steps = arena_alloc(sizeof(Step *) * (size_t)g->nvalues);
    const char *n = t.name;
    fprintf(c, "/* ==== model %s in double precision, for the training program's gradcheck ==== */\n\n", g->name);
    fprintf(c, "typedef struct %s_model {\n", n);
    fprintf(c, "    double params[%ld]; /* laid out like %s_model's */\n", t.plan->params, model->name);
    fprintf(c, "    double grads[%ld];\n", t.plan->params);
    fprintf(c, "    double act[%ld];\n", t.plan->act > 0 ? t.plan->act : 1);
    fprintf(c, "    int training;\n");
    fprintf(c, "    dnn_rng rng; /* from %s_model's: dropout draws the same masks */\n", model->name);
    fprintf(c, "} %s_model;\n\n", n);
    emit_steps(&t, NULL);
    emit_constants(&t);
    bool *all = arena_alloc((size_t)g->nvalues);
    memcpy(all, t.for_loss, (size_t)g->nforward);
    for (int i = g->nforward; i < g->nvalues; i++)
        all[i] = true;
    for (int grads = 0; grads < 2; grads++) {
        fprintf(c, "/* train mode: the loss%s */\n", grads ? " and the gradients" : "");
        fprintf(c, "static double %s_%s(%s) {\n", n, grads ? "backward" : "loss", entry_params(&t, true, false));
        void_unused(&t, t.for_loss, true);
        begin_body(&t);
        fprintf(t.c, "    m->training = 1;\n");
        emit_calls(&t, grads ? all : t.for_loss, 0, g->nforward);
        if (grads)
            emit_calls(&t, all, g->nforward, g->nvalues);
        fprintf(t.c, "    return %s[0];\n", local(&t, g->loss));
        end_body(&t);
        fprintf(c, "}\n\n");
    }
}

/* --embed-weights: NAME_preprocess(raw inputs..., model inputs..., n), the
 * preprocessing saved in the weights file (g->prep) as the training
 * program applies it, constants as macros in the header. Without any it
 * copies, so a firmware may call it unconditionally. */
void emit_preprocess(const Graph *g, FILE *c, FILE *h) {
    const char *name = g->name, *NAME = upper(g->name);
    const Preprocess *pr = g->prep;
    double scale = pr ? pr->scale : 1;
    char params[2048] = "";
    size_t len = 0;
    for (int i = 0; i < g->ninputs; i++)
        len += (size_t)snprintf(params + len, sizeof params - len, "const float *raw_%s, ", c_ident(g->inputs[i]->name));
    for (int i = 0; i < g->ninputs; i++)
        len += (size_t)snprintf(params + len, sizeof params - len, "float *%s, ", arg_name(g->inputs[i]->name));
    fprintf(h, "/* %s_preprocess: the input preprocessing saved with the embedded weights (their metadata:\n"
               " * --scale, --standardize, --center of the training program; docs/firmware.md), from raw inputs\n"
               " * to the model's, [n][SIZE] each, in place if the arrays are the same:\n", name);
    bool any = false;
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", NAME, upper(c_ident(in->name)));
        const char *x = arena_printf("(float)(raw_%s * %s_SCALE)", c_ident(in->name), I);
        bool per_channel = pr && pr->mean[i] && pr->groups[i] != shape_size(&in->shape);
        const char *at = per_channel ? "[c]" : "[i]";
        if (pr && pr->std[i])
            fprintf(h, " *   %s = (%s - %s_MEAN%s) / %s_STD%s\n", in->name, x, I, at, I, at);
        else if (pr && pr->mean[i])
            fprintf(h, " *   %s = %s - %s_MEAN%s\n", in->name, x, I, at);
        else
            fprintf(h, " *   %s = %s\n", in->name, x);
        if (per_channel)
            fprintf(h, " *   (c: the channel, the first dimension of %s)\n", shape_str(&in->shape));
        any |= (pr && pr->mean[i]) || scale != 1;
    }
    fprintf(h, " * %s */\n", any ? "Call it on raw data before the model's functions."
                                 : "The weights hold no preprocessing: it copies, and may be called all the same.");
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", NAME, upper(c_ident(in->name)));
        char text[40]; /* a double constant: "1.0", not the int "1" */
        snprintf(text, sizeof text, "%.17g", scale);
        fprintf(h, "#define %s_SCALE %s%s /* dnn.scale */\n", I, text, strpbrk(text, ".en") ? "" : ".0");
        for (int which = 0; pr && which < 2; which++) {
            const float *v = which ? pr->std[i] : pr->mean[i];
            if (!v)
                continue;
            fprintf(h, "#define %s_%s {", I, which ? "STD" : "MEAN");
            for (int k = 0; k < pr->groups[i]; k++)
                fprintf(h, "%s%s", k ? (k % 6 ? ", " : ", \\\n    ") : "", flit(v[k]));
            fprintf(h, "} /* dnn.%s@%s: one per %s */\n", which ? "std" : "mean", in->name,
                    pr->groups[i] == shape_size(&in->shape) ? "element" : "channel");
        }
    }
    fprintf(h, "void %s_preprocess(%sint n);\n\n", name, params);

    for (int i = 0; pr && i < g->ninputs; i++) /* the statistics, from the macros */
        for (int which = 0; which < 2; which++)
            if (which ? pr->std[i] : pr->mean[i])
                fprintf(c, "static const float %s_%s%d[%d] = %s_%s_%s;\n", name, which ? "std" : "mean", i,
                        pr->groups[i], NAME, upper(c_ident(g->inputs[i]->name)), which ? "STD" : "MEAN");
    fprintf(c, "\n/* the preprocessing saved with the weights, as the training program applies it */\n");
    fprintf(c, "void %s_preprocess(%sint n) {\n", name, params);
    fprintf(c, "    if (n <= 0)\n        return;\n");
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", NAME, upper(c_ident(in->name))), *raw = c_ident(in->name);
        const char *x = arg_name(in->name);
        long size = shape_size(&in->shape), each = pr && pr->mean[i] ? size / pr->groups[i] : 1;
        if (!(pr && pr->mean[i])) { /* none, or a scale alone: one loop over the n samples */
            if (scale == 1)
                fprintf(c, "    memmove(%s, raw_%s, sizeof(float) * (size_t)n * %ld); /* %s: none */\n", x, raw, size,
                        in->name);
            else
                fprintf(c, "    for (size_t i = 0; i < (size_t)n * %ld; i++)\n"
                           "        %s[i] = (float)(raw_%s[i] * %s_SCALE);\n", size, x, raw, I);
            continue;
        }
        const char *at = arena_printf("(size_t)s * %ld + i", size), *k = each > 1 ? arena_printf("i / %ld", each) : "i";
        const char *value = scale == 1 ? arena_printf("raw_%s[%s]", raw, at)
                                       : arena_printf("(float)(raw_%s[%s] * %s_SCALE)", raw, at, I);
        fprintf(c, "    for (int s = 0; s < n; s++)\n        for (int i = 0; i < %ld; i++)\n", size);
        if (pr && pr->std[i])
            fprintf(c, "            %s[%s] = (%s - %s_mean%d[%s]) / %s_std%d[%s];\n", x, at, value, name, i, k, name,
                    i, k);
        else
            fprintf(c, "            %s[%s] = %s - %s_mean%d[%s];\n", x, at, value, name, i, k);
    }
    fprintf(c, "}\n\n");
}

bool emit_model(Graph *g, const Plan *plan, const EmitOptions *opt, FILE *c, FILE *h) {
    Out o = {.g = g, .plan = plan, .c = c, .h = h, .name = g->name, .NAME = upper(g->name), .source = opt->source,
             .weights = opt->weights, .small = opt->small};
    if (!g->nparams) {
        error_at(g->loc, "model '%s' has no parameters to train", g->name);
        note("add a layer such as dense(x, 4), or a 'param' declaration");
        return false;
    }

    o.steps = arena_alloc(sizeof(Step *) * (size_t)g->nvalues);
    o.locals = arena_alloc(sizeof(Value *) * (size_t)g->nvalues);
    o.declared = arena_alloc((size_t)g->nvalues);
    o.for_outputs = arena_alloc((size_t)g->nvalues);
    o.for_loss = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], o.for_outputs);
    if (!g->inference) /* --inference computes only what the outputs need */
        mark_needed(g, g->loss, o.for_loss);

    emit_header(&o);

    fprintf(c, "/* ==== model %s ==== */\n\n", g->name);
    name_values(&o);
    emit_steps(&o, o.for_outputs);
    emit_constants(&o);
    if (g->check_finite)
        emit_finite_fn(&o);
    emit_tensor_api(&o);
    if (!g->inference) {
        emit_schedule(&o);
        emit_set_epoch(&o);
        emit_set_hparam(&o);
    }
    emit_entry_points(&o);
    if (!g->inference && !g->fused_update)
        emit_step_fn(&o);
    if (opt->f64_twin && !g->inference)
        emit_f64_twin(&o);
    if (o.weights)
        emit_preprocess(g, c, h);
    return true;
}
