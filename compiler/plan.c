/* plan.c — the memory plan: where every value lives in the model struct.
 *
 * Entry: plan_memory(). Parameters are laid out in NAME_tensors order
 * (trainable and frozen parameters in creation order, then buffers such as
 * batchnorm running statistics), and gradients mirror that layout, so the
 * optimizer is one flat loop. Inputs and targets are the caller's arrays;
 * constants are static arrays in the .c file. Every other value gets its
 * own slice of the activation area, sized for the compile-time batch.
 *
 * This is the simple plan: no slice is reused. A liveness-based plan can
 * replace this pass without touching the others.
 */
#include "dnnc.h"

#include <limits.h>
#include <string.h>

/* Floats a value takes in the activation area; capped, never wrapping. */
static long act_size(const Value *v, long batch) {
    return mul_capped(shape_size(&v->shape) + v->aux, v->batched ? batch : 1);
}

static long add_capped(long a, long b) { return a > LONG_MAX - b ? LONG_MAX : a + b; }

/* The generated code indexes floats and counts bytes with int (and 32-bit
 * targets have a 32-bit size_t), so the model struct and every array the
 * caller passes must stay within INT_MAX bytes: past that is an error here,
 * not a wrapped offset in the C. Reports each input or target that is too
 * large at the compiled batch, else each output, else the struct. */
static void check_limits(Graph *g, const Plan *p) {
    long batch = g->train.batch, limit = INT_MAX;
    bool arrays_ok = true;
    for (int k = 0; k < 3 && (k < 2 || arrays_ok); k++) {
        Value **vs = k == 0 ? g->inputs : k == 1 ? g->targets : g->outputs;
        int n = k == 0 ? g->ninputs : k == 1 ? g->ntargets : g->noutputs;
        for (int i = 0; i < n; i++) {
            const Value *v = vs[i];
            long bytes = mul_capped(mul_capped(v->dtype == DT_CLASS ? 1 : shape_size(&v->shape), batch), 4);
            if (bytes <= limit)
                continue;
            error_at(k == 2 ? g->output_locs[i] : v->loc,
                     "%s '%s' takes %s bytes at batch %ld; the generated code indexes arrays with int, so at most %ld",
                     k == 0 ? "input" : k == 1 ? "target" : "output", k == 2 ? g->output_names[i] : v->name,
                     bytes == LONG_MAX ? "more than 9223372036854775807" : arena_printf("%ld", bytes), batch, limit);
            note("a smaller batch ('batch N;' in the train block, or --batch) or smaller shapes bring it down");
            arrays_ok = false;
        }
    }
    const char *states[2];
    long copies = g->inference ? 1 : 2 + optimizer_states(&g->train, states); /* params, grads, optimizer state */
    long bytes = mul_capped(add_capped(mul_capped(p->params, copies), p->act), 4);
    if (arrays_ok && bytes > limit - 64) { /* 64: the struct's scalars */
        error_at(g->loc, "model '%s' needs %s bytes for its %s at batch %ld; the generated code indexes them with int, so at most %ld in all",
                 g->name, bytes == LONG_MAX ? "more than 9223372036854775807" : arena_printf("%ld", bytes),
                 g->inference ? "parameters and activations" : "parameters, gradients, optimizer state and activations",
                 batch, limit);
        note("%ld floats of parameters, %ld of activations%s; a smaller batch or smaller layers bring it down",
             p->params, p->act, g->inference ? "" : " and backward temporaries");
    }
}

Plan plan_memory(Graph *g) {
    Plan p = {0};
    int index = 0;
    for (int pass = 0; pass < 2; pass++) /* parameters, then buffers */
        for (int i = 0; i < g->nparams; i++) {
            Value *v = g->params[i];
            if (v->is_buffer != (pass == 1))
                continue;
            v->area = AREA_PARAM;
            v->offset = (int)p.params; /* checked below (check_limits) */
            v->index = index++;
            p.params = add_capped(p.params, shape_size(&v->shape));
            if (v->trainable)
                p.trainable = add_capped(p.trainable, shape_size(&v->shape));
        }
    long batch = g->train.batch;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        switch (v->op) {
        case OP_param:
            break;
        case OP_input:
            v->area = AREA_INPUT;
            break;
        case OP_target:
            v->area = AREA_TARGET;
            break;
        case OP_constant:
            v->area = AREA_CONST;
            break;
        case OP_grad_store:
            v->area = AREA_GRAD;
            v->offset = v->grad_of->offset;
            break;
        default:
            v->area = AREA_ACT;
            v->offset = (int)p.act;
            p.act = add_capped(p.act, act_size(v, batch));
        }
    }
    if (!g->inference) /* plan_inference lays out the activations again */
        check_limits(g, &p);
    return p;
}

/* ---- inference ---------------------------------------------------------------------------
 * Forward only, batch as compiled: the activation area is reused. In order:
 *   - fusion: a maxpool/avgpool whose input is an activation of a conv2d
 *     (or the conv2d itself), each used only there, computes the conv and
 *     the activation per window; neither is stored (the full-resolution
 *     conv output is the largest tensor of a LeNet);
 *   - aliases: reshape, flatten and eval-mode dropout share their input's
 *     storage and emit nothing;
 *   - allocation in topological order, first fit in the holes left by
 *     values whose last consumer has run; an elementwise op whose input
 *     dies at it writes in place. */

static bool is_pool(const Value *v) { return v->op == OP_maxpool || v->op == OP_avgpool; }

static bool only_consumer(const Value *v, const int *consumers, const bool *is_output) {
    return consumers[v->id] == 1 && !is_output[v->id] && v->area == AREA_NONE;
}

static Value *root_of(Value *v) {
    while (v->alias_of)
        v = v->alias_of;
    return v;
}

typedef struct Hole { long at, size; } Hole;

/* First fit in the holes, else at the top; returns the offset. */
static long take(Hole *holes, int *nholes, long *top, long size) {
    for (int i = 0; i < *nholes; i++)
        if (holes[i].size >= size) {
            long at = holes[i].at;
            holes[i].at += size;
            holes[i].size -= size;
            return at;
        }
    long at = *top;
    *top += size;
    return at;
}

/* Returns [at, at+size) to the holes, merging neighbours, sorted by offset. */
static void give(Hole *holes, int *nholes, long *top, long at, long size) {
    int i = 0;
    while (i < *nholes && holes[i].at < at)
        i++;
    memmove(&holes[i + 1], &holes[i], sizeof *holes * (size_t)(*nholes - i));
    holes[i] = (Hole){at, size};
    (*nholes)++;
    for (int k = *nholes - 2; k >= 0; k--) /* merge adjacent holes */
        if (holes[k].at + holes[k].size == holes[k + 1].at) {
            holes[k].size += holes[k + 1].size;
            memmove(&holes[k + 1], &holes[k + 2], sizeof *holes * (size_t)(*nholes - k - 2));
            (*nholes)--;
        }
    if (*nholes && holes[*nholes - 1].at + holes[*nholes - 1].size == *top) { /* a hole at the top lowers it */
        *top = holes[*nholes - 1].at;
        (*nholes)--;
    }
}

Plan plan_inference(Graph *g) {
    Plan p = plan_memory(g); /* parameters, and the areas of inputs and constants */
    long batch = g->train.batch;
    p.act = p.naive_act = 0;
    bool *needed = arena_alloc((size_t)g->nvalues); /* what the outputs depend on */
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    int *consumers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    int *last_use = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    bool *is_output = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++)
        is_output[g->outputs[i]->id] = true;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (v->area == AREA_ACT) {
            v->area = AREA_NONE; /* decided below */
            if (needed[i]) /* a no-reuse layout: every value its own slice */
                p.naive_act = add_capped(p.naive_act, act_size(v, batch));
        }
        for (int k = 0; needed[i] && k < v->nin; k++)
            if (v->in[k])
                consumers[v->in[k]->id]++;
    }

    /* fusion */
    for (int i = 0; i < g->nvalues; i++) {
        Value *pool = g->values[i];
        if (!needed[i] || !is_pool(pool))
            continue;
        Value *act = pool->in[0], *conv = act;
        if (op_info[act->op].flags & F_UNARY)
            conv = act->in[0];
        else
            act = NULL;
        if (conv->op != OP_conv2d || (act && !only_consumer(act, consumers, is_output)) ||
            !only_consumer(conv, consumers, is_output))
            continue;
        conv->fused = true;
        if (act)
            act->fused = true;
        pool->fused_conv = conv;
        pool->fused_act = act;
        for (int k = 0; k < conv->nin; k++) /* the pool now reads the conv's operands */
            pool->in[k] = conv->in[k];
        pool->nin = conv->nin;
    }

    /* aliases */
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (needed[i] && (v->op == OP_reshape || v->op == OP_flatten || v->op == OP_dropout))
            v->alias_of = v->in[0];
    }

    /* last uses, counted on the storage each value lives in */
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!needed[i] || v->fused || v->alias_of)
            continue;
        for (int k = 0; k < v->nin; k++)
            if (v->in[k])
                last_use[root_of(v->in[k])->id] = i;
    }
    for (int i = 0; i < g->noutputs; i++)
        last_use[root_of(g->outputs[i])->id] = g->nvalues; /* copied out at the end */

    Hole *holes = arena_alloc(sizeof(Hole) * (size_t)(g->nvalues + 2));
    int nholes = 0;
    long top = 0, live = 0; /* the area's high-water mark, and the floats of the values alive now */
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!needed[i] || v->area != AREA_NONE)
            continue;
        long size = act_size(v, batch);
        if (v->fused || v->alias_of) {
            if (v->alias_of) {
                v->area = root_of(v)->area;
                v->offset = root_of(v)->offset;
            }
            continue;
        }
        Value *x = v->nin ? root_of(v->in[0]) : NULL;
        if ((op_info[v->op].flags & F_UNARY) && x && x->area == AREA_ACT && last_use[x->id] == i &&
            shape_size(&x->shape) == shape_size(&v->shape) && x->batched == v->batched) {
            v->offset = x->offset; /* in place */
            last_use[x->id] = -1;  /* its slice now belongs to v */
        } else {
            v->offset = (int)take(holes, &nholes, &top, size);
            live += size;
        }
        v->area = AREA_ACT;
        if (live > p.peak_live)
            p.peak_live = live;
        for (int k = 0; k < v->nin; k++) { /* operands that die here give their slice back */
            Value *r = v->in[k] ? root_of(v->in[k]) : NULL;
            if (r && r->area == AREA_ACT && last_use[r->id] == i) {
                long freed = act_size(r, batch);
                give(holes, &nholes, &top, r->offset, freed);
                live -= freed;
                last_use[r->id] = -1;
            }
        }
        if (top > p.act)
            p.act = top;
    }
    check_limits(g, &p);
    return p;
}
