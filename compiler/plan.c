/* plan.c — the memory plan: where every value lives in the model struct.
 *
 * Entries: plan_memory() (training: forward, loss, backward) and
 * plan_inference() (--inference: forward only). Parameters are laid out in
 * NAME_tensors order (trainable and frozen parameters in creation order,
 * then buffers such as batchnorm running statistics), and gradients mirror
 * that layout, so the optimizer is one flat loop. Inputs and targets are the
 * caller's arrays; constants are static arrays in the .c file. Every other
 * value gets a slice of one activation area, sized for the compile-time
 * batch and placed by liveness at compile time, in order:
 *   - fusion: a maxpool/avgpool whose input is an activation of a conv2d
 *     (or the conv2d itself), each used only there and none on the path of
 *     a gradient (always in inference; in training, a frozen feature
 *     extractor), computes the conv and the activation per window; neither
 *     is stored (the full-resolution conv output is the largest tensor of a
 *     LeNet);
 *   - aliases: reshape and flatten (and eval-mode dropout) share their
 *     input's storage and emit nothing — the flattened input image of a
 *     training step is the caller's array;
 *   - (training) a parameter's gradient, when only the gradient store reads
 *     it, is computed straight into the gradient area: no copy;
 *   - allocation in program order, first fit in the holes left by values
 *     whose last reader has run; an elementwise op whose input dies at it
 *     writes in place;
 *   - (inference) an output is computed in the caller's array, and with
 *     --optimize=size a conv2d whose output has its input's shape writes
 *     over its input, keeping a few rows aside (dnn_conv2d_in_place).
 * A backward node keeps alive only the operands its emitter reads
 * (backward_reads), so a forward value that no gradient needs dies at its
 * last forward reader. Training orders the values of all three entry points as one program:
 * NAME_forward, NAME_loss and NAME_backward each run a subsequence of it, so
 * two values whose lifetimes do not overlap there never overlap in any of
 * them. Outputs live to the end of the forward values, the loss and the
 * loss's operands (the training program scores the prediction after each
 * step) to the end. Training slices start at multiples of 8 floats, so
 * vector loads on them are aligned. The plan records the most floats alive
 * at once (a lower bound for any layout) and the floats a layout without
 * reuse would take, for --emit=report.
 */
#include "dnnc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Floats a value takes in the activation area; capped, never wrapping. */
static long floats_of(const Value *v, long batch) {
    if (v->block_rows) /* one block of a dense weight gradient */
        return (long)v->block_rows * v->shape.dim[1];
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


/* Parameters and buffers, and the areas of leaves and gradient stores. */
static Plan lay_out_params(Graph *g) {
    Plan p = {0};
    int index = 0;
    for (int pass = 0; pass < 2; pass++) /* parameters, then buffers */
        for (int i = 0; i < g->nparams; i++) {
            Value *v = g->params[i];
            if (v->is_buffer != (pass == 1))
                continue;
            v->index = index++;
            v->flash = (int)p.flash; /* checked at the end (check_limits) */
            p.flash = add_capped(p.flash, shape_size(&v->shape));
            if (g->embedded && !g->inference && !v->trainable && !v->is_buffer) { /* frozen: stays in flash */
                v->area = AREA_FLASH;
                v->offset = v->flash;
                continue;
            }
            v->area = AREA_PARAM;
            v->offset = (int)p.params;
            p.params = add_capped(p.params, shape_size(&v->shape));
            if (v->trainable)
                p.trainable = add_capped(p.trainable, shape_size(&v->shape));
        }
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        switch (v->op) {
        case OP_param: break;
        case OP_input: v->area = AREA_INPUT; break;
        case OP_target: v->area = AREA_TARGET; break;
        case OP_constant: v->area = AREA_CONST; break;
        case OP_grad_store:
            v->area = AREA_GRAD;
            v->offset = v->grad_of->offset;
            break;
        default: v->area = AREA_NONE; /* placed below */
        }
    }
    return p;
}

/* A step whose result may take its operand's place: an elementwise op, or
 * in an inference build an eval-mode batchnorm (an affine map per channel)
 * and an arithmetic op without broadcasting (a residual block's sum). */
bool elementwise_step(const Graph *g, const Value *v) {
    if (op_info[v->op].flags & F_UNARY || (v->op == OP_batchnorm && g->inference))
        return true;
    bool arithmetic = v->op == OP_add || v->op == OP_sub || v->op == OP_mul || v->op == OP_div;
    for (int k = 0; arithmetic && k < 2; k++)
        arithmetic = v->in[k]->op != OP_constant && v->in[k]->batched == v->batched &&
                     shape_size(&v->in[k]->shape) == shape_size(&v->shape);
    return arithmetic && g->inference;
}

/* The floats of rows a conv2d computed over its own input keeps aside
 * (dnn_conv2d_in_place: inference builds for size); 0 when it is not. */
static long in_place_ring(const Graph *g, const Value *v) {
    return g->inference && g->small ? conv_in_place_ring(v) : 0;
}

static bool is_pool(const Value *v) { return v->op == OP_maxpool || v->op == OP_avgpool; }

static bool only_consumer(const Value *v, const int *consumers, const bool *keep) {
    return consumers[v->id] == 1 && !keep[v->id] && v->area == AREA_NONE;
}

static Value *root_of(Value *v) {
    while (v->alias_of)
        v = v->alias_of;
    return v;
}

/* Fuses conv2d → activation → pool where each feeds only the next and no
 * gradient flows through them (--inference, or a frozen feature extractor
 * in training: the backward pass reads none of them). */
static void fuse_conv_pools(Graph *g, const bool *needed, const int *consumers, const bool *keep) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *pool = g->values[i];
        if (!needed[i] || !is_pool(pool) || pool->needs_grad)
            continue;
        Value *act = pool->in[0], *conv = act;
        if (op_info[act->op].flags & F_UNARY)
            conv = act->in[0];
        else
            act = NULL;
        if (conv->op != OP_conv2d || !conv_pool_fusable(conv, pool) || (act && !only_consumer(act, consumers, keep)) ||
            !only_consumer(conv, consumers, keep))
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
}

/* A slice of the area: one value, or a chain of values computed in place. */
typedef struct Slice {
    long size, at;   /* floats (rounded up to the alignment), offset */
    int first, last; /* the program indices it is alive over, both included */
} Slice;

static int by_size(const void *pa, const void *pb) {
    const Slice *a = *(Slice *const *)pa, *b = *(Slice *const *)pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->first - b->first;
}

/* largest first, of equals the one that dies last */
static int by_size_late(const void *pa, const void *pb) {
    const Slice *a = *(Slice *const *)pa, *b = *(Slice *const *)pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->last != b->last ? (a->last > b->last ? -1 : 1) : a->first - b->first;
}

/* longest-lived first, then largest */
static int by_lifetime(const void *pa, const void *pb) {
    const Slice *a = *(Slice *const *)pa, *b = *(Slice *const *)pb;
    if (a->last - a->first != b->last - b->first)
        return a->last - a->first > b->last - b->first ? -1 : 1;
    return by_size(pa, pb);
}

static int by_offset(const void *pa, const void *pb) {
    const Slice *a = *(Slice *const *)pa, *b = *(Slice *const *)pb;
    return a->at < b->at ? -1 : a->at > b->at;
}

/* Places the slices in the order given, each at the lowest offset clear of
 * the slices placed so far that are alive at the same time (a big one at a
 * multiple of align), or with top at the top of that hole when it is closed
 * above (a small value between two large ones then leaves the hole below it
 * to the next large one); returns the floats the layout takes. by_time: the
 * order is program order, so slices dead before the current one are dropped. */
static long first_fit(Slice **order, int nslices, bool by_time, bool top, long align, Slice **placed, Slice **clash) {
    long end = 0;
    for (int k = 0, nplaced = 0; k < nslices; k++) {
        Slice *s = order[k];
        int nclash = 0, kept = 0;
        for (int j = 0; j < nplaced; j++) {
            Slice *q = placed[j];
            if (by_time && q->last < s->first) /* dead before s and every later slice */
                continue;
            placed[kept++] = q;
            if (q->first <= s->last && s->first <= q->last)
                clash[nclash++] = q;
        }
        nplaced = kept;
        qsort(clash, (size_t)nclash, sizeof *clash, by_offset);
        long at = 0, step = s->size >= 8 * align ? align : 1;
        int j = 0;
        for (; j < nclash && clash[j]->at < at + s->size; j++)
            if (clash[j]->at + clash[j]->size > at)
                at = add_capped(clash[j]->at + clash[j]->size, step - 1) / step * step;
        if (top && j < nclash) /* the hole ends where clash[j] starts */
            at = (clash[j]->at - s->size) / step * step > at ? (clash[j]->at - s->size) / step * step : at;
        s->at = at;
        placed[nplaced++] = s;
        if (add_capped(at, s->size) > end)
            end = add_capped(at, s->size);
    }
    return end;
}

/* The operand step i writes its result over, or NULL: one that dies at
 * i, in an activation slice as large as the result, of an elementwise
 * step or a conv2d over its own input. */
static Value *overwritten_operand(const Graph *g, Value *v, int i, const int *slice_of, const int *last_use) {
    bool conv = in_place_ring(g, v) > 0;
    if (!conv && !elementwise_step(g, v))
        return NULL;
    for (int k = 0; k < (conv ? 1 : v->nin); k++) {
        Value *x = v->in[k] ? root_of(v->in[k]) : NULL;
        if (x && slice_of[x->id] >= 0 && last_use[x->id] == i && shape_size(&x->shape) == shape_size(&v->shape) &&
            x->batched == v->batched)
            return x;
    }
    return NULL;
}

/* Places the needed values; keep_to[id] > 0: the value lives at least until
 * that index (outputs, the loss). Lifetimes first (a value is alive from
 * its step to its last reader's; an elementwise step whose operand dies
 * there extends the operand's slice), then the slices largest first, each
 * at the lowest offset clear of the slices placed so far that are alive at
 * the same time. */
static void place(Graph *g, Plan *p, const bool *needed, const int *keep_to, long align) {
    long batch = g->train.batch;
    int n = g->nvalues;
    int *last_use = arena_alloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        Value *v = g->values[i];
        if (!needed[i] || v->fused || v->alias_of)
            continue;
        if (last_use[i] < i)
            last_use[i] = i; /* read by nobody: dead at once */
        unsigned reads = v->op == OP_backward ? backward_reads(g, v) : ~0u; /* a gradient reads what its rule needs */
        for (int k = 0; k < v->nin; k++)
            if (v->in[k] && (reads >> k & 1))
                last_use[root_of(v->in[k])->id] = i;
        if (v->op == OP_grad_store && v->in[0]->block_rows) { /* the blocks are computed here, from the gradient's operands */
            Value *b = v->in[0];
            unsigned block_reads = backward_reads(g, b);
            for (int k = 0; k < b->nin; k++)
                if (b->in[k] && (block_reads >> k & 1))
                    last_use[root_of(b->in[k])->id] = i;
        }
    }
    for (int i = 0; i < n; i++) {
        Value *r = root_of(g->values[i]);
        if (needed[i] && keep_to[i] > last_use[r->id])
            last_use[r->id] = keep_to[i];
    }

    Slice *slices = arena_alloc(sizeof(Slice) * (size_t)n), **order = arena_alloc(sizeof(Slice *) * (size_t)n);
    int *slice_of = arena_alloc(sizeof(int) * (size_t)n), nslices = 0;
    int *ring_of = arena_alloc(sizeof(int) * (size_t)n); /* an in-place conv's ring slice */
    long *change = arena_alloc(sizeof(long) * (size_t)(n + 2)); /* floats coming alive at i, minus those dying before */
    p->act = p->naive_act = p->peak_live = 0;
    for (int i = 0; i < n; i++) {
        Value *v = g->values[i];
        slice_of[i] = ring_of[i] = -1;
        if (!needed[i] || v->area != AREA_NONE)
            continue;
        long size = floats_of(v, batch);
        p->naive_act = add_capped(p->naive_act, size); /* a no-reuse layout: every value its own slice */
        if (v->fused || v->alias_of)
            continue;
        Value *x = overwritten_operand(g, v, i, slice_of, last_use);
        if (x) {
            slice_of[i] = slice_of[x->id]; /* in place */
            change[i + 1] += size;         /* x's floats end after i, v's go on */
            change[last_use[i] + 1] -= size;
            slices[slice_of[i]].last = last_use[i];
            long ring = in_place_ring(g, v);
            if (ring) { /* the conv's rows kept aside, alive during its step */
                ring_of[i] = nslices;
                slices[nslices] = (Slice){ring, 0, i, i};
                order[nslices] = &slices[nslices];
                nslices++;
                change[i] = add_capped(change[i], ring);
                change[i + 1] -= ring;
            }
            continue;
        }
        slice_of[i] = nslices;
        /* big slices are rounded up to the alignment; placed first, they start aligned */
        slices[nslices] = (Slice){size >= 8 * align && size < LONG_MAX - align ? (size + align - 1) / align * align : size, 0, i, last_use[i]};
        order[nslices] = &slices[nslices];
        nslices++;
        change[i] = add_capped(change[i], size);
        change[last_use[i] + 1] -= size;
    }
    for (long i = 0, live = 0; i <= n; i++) { /* the lower bound: the most floats alive at once */
        live += change[i];
        if (live > p->peak_live)
            p->peak_live = live;
    }

    /* Largest first (of equals the first or the last to die), longest-lived first and in
     * program order: the smallest layout wins (the first of equals). A huge program (thousands of slices) only in program order, where the
     * slices already dead can be dropped from the search: first fit, in linear time. */
    bool by_time = nslices > 4096;
    Slice **placed = arena_alloc(sizeof(Slice *) * (size_t)(nslices + 1));
    Slice **clash = arena_alloc(sizeof(Slice *) * (size_t)(nslices + 1));
    long *best = arena_alloc(sizeof(long) * (size_t)(nslices + 1));
    int (*const orders[])(const void *, const void *) = {by_size, by_size_late, by_lifetime, NULL};
    p->act = LONG_MAX;
    for (int o = 0; o < 8; o++) {
        if ((by_time && o % 4 != 3) || (o >= 4 && !g->inference)) /* inference: each also at the holes' tops */
            continue;
        if (orders[o % 4])
            qsort(order, (size_t)nslices, sizeof *order, orders[o % 4]);
        else
            for (int k = 0; k < nslices; k++)
                order[k] = &slices[k];
        long act = first_fit(order, nslices, by_time, o >= 4, align, placed, clash);
        if (act < p->act) {
            p->act = act;
            for (int k = 0; k < nslices; k++)
                best[k] = slices[k].at;
        }
    }
    for (int k = 0; k < nslices; k++)
        slices[k].at = best[k];

    for (int i = 0; i < n; i++) {
        Value *v = g->values[i];
        if (slice_of[i] >= 0) {
            v->area = AREA_ACT;
            v->offset = (int)slices[slice_of[i]].at;
            if (ring_of[i] >= 0) {
                v->ring = (int)slices[ring_of[i]].size;
                v->ring_offset = (int)slices[ring_of[i]].at;
            }
        } else if (needed[i] && v->area == AREA_NONE && v->alias_of) {
            v->area = root_of(v)->area;
            v->offset = root_of(v)->offset;
        }
    }
}

/* Training on the device (a fused update): conv2d → relu → maxpool whose
 * windows tile the conv's output is one step forward, as a frozen one,
 * and one step backward that finds the maxima again by recomputing the
 * conv (dnn_conv2d_relu_maxpool_backward): neither the conv's output nor
 * relu's is ever stored. The step gives the conv's output gradient to the
 * conv's backward; a conv that needs only its bias gradient takes it
 * straight from the pool's gradient, and no gradient of the conv's output
 * is stored either. */
static void fuse_pool_backward(Graph *g, const bool *needed, const bool *keep) {
    int n = g->nvalues;
    int *users = arena_alloc(sizeof(int) * (size_t)n), *nbackward = arena_alloc(sizeof(int) * (size_t)n);
    Value **backward = arena_alloc(sizeof(Value *) * (size_t)n); /* by forward id: its (last) backward node */
    for (int i = 0; i < g->nforward; i++)
        for (int k = 0; needed[i] && k < g->values[i]->nin; k++)
            if (g->values[i]->in[k])
                users[g->values[i]->in[k]->id]++;
    for (int i = g->nforward; i < n; i++)
        if (g->values[i]->op == OP_backward) {
            nbackward[g->values[i]->fwd->id]++;
            backward[g->values[i]->fwd->id] = g->values[i];
        }
    for (int i = 0; i < g->nforward; i++) {
        Value *pool = g->values[i], *act = pool->in[0], *conv = act ? act->in[0] : NULL;
        if (!needed[i] || pool->op != OP_maxpool || !pool->needs_grad || act->op != OP_relu || conv->op != OP_conv2d ||
            !pool_backward_fusable(conv, pool) || users[act->id] != 1 || users[conv->id] != 1 || keep[act->id] ||
            keep[conv->id] || act->area != AREA_NONE || conv->area != AREA_NONE || nbackward[pool->id] != 1 ||
            nbackward[act->id] != 1)
            continue;
        Value *dpool = backward[pool->id], *dact = backward[act->id];
        bool ok = dact->in[0] == dpool, bias_only = true;
        for (int j = g->nforward; j < n && ok; j++) { /* nothing else reads relu's or the conv's output */
            Value *b = g->values[j];
            if (b == dpool || b == dact)
                continue;
            if (b->op == OP_backward && b->fwd == conv) {
                ok = b->in[0] == dact;
                bias_only = bias_only && b->grad_arg == 2;
            }
            unsigned reads = b->op == OP_backward ? backward_reads(g, b) : ~0u;
            for (int k = 0; k < b->nin; k++)
                if (b->in[k] && (reads >> k & 1) && (b->in[k] == act || b->in[k] == conv))
                    ok = false;
        }
        if (!ok)
            continue;
        conv->fused = act->fused = true; /* the forward step */
        pool->fused_conv = conv;
        pool->fused_act = act;
        ir_operands(pool, conv->nin);
        for (int k = 0; k < conv->nin; k++)
            pool->in[k] = conv->in[k];
        pool->nin = conv->nin;
        if (bias_only && nbackward[conv->id] == 1) { /* the conv's bias gradient straight from the pool's */
            backward[conv->id]->in[0] = dpool->in[0];
            conv->grad_via_pool = pool;
            dpool->fused = dact->fused = true;
            continue;
        }
        ir_operands(dpool, conv->nin + 2); /* the pool's gradient step reads what the forward step reads */
        dpool->in[conv->nin + 1] = pool;
        for (int k = 0; k < conv->nin; k++)
            dpool->in[k + 1] = conv->in[k];
        dpool->nin = conv->nin + 2;
        dact->alias_of = dpool; /* the pool's gradient step gives the conv's output gradient */
    }
}

/* Training on a host: relu → maxpool whose windows tile relu's output
 * takes both gradients in one step (dnn_maxpool_relu_backward), when
 * relu's gradient is computed from the pool's alone: the pool's gradient,
 * the size of relu's output, is never stored, nor read again. */
static void fuse_relu_backward(Graph *g, const int *consumers, const bool *keep) {
    for (int i = g->nforward; i < g->nvalues; i++) {
        Value *dact = g->values[i], *dpool = dact->nin ? dact->in[0] : NULL;
        if (dact->op != OP_backward || dact->fwd->op != OP_relu || !dpool || dpool->op != OP_backward ||
            !pool_tiles(dpool->fwd) || dpool->fwd->in[0] != dact->fwd || dpool->grad_arg != 0 ||
            consumers[dpool->id] != 1 || keep[dpool->id] || dpool->area != AREA_NONE || dact->area != AREA_NONE)
            continue;
        dpool->fwd->relu_grad = true;
        dact->alias_of = dpool; /* the pool's gradient step gives relu's input gradient */
    }
}

Plan plan_memory(Graph *g) {
    Plan p = lay_out_params(g);
    bool *needed = arena_alloc((size_t)g->nvalues); /* what the three entry points compute */
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    if (g->loss)
        mark_needed(g, g->loss, needed);
    for (int i = g->nforward; i < g->nvalues; i++)
        needed[i] = true;
    int *consumers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    int *keep_to = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        for (int k = 0; needed[i] && k < v->nin; k++)
            if (v->in[k])
                consumers[v->in[k]->id]++;
        if (needed[i] && (op_info[v->op].flags & F_LOSS)) /* the prediction is scored after the step */
            for (int k = 0; k < v->nin; k++)
                if (v->in[k])
                    keep_to[v->in[k]->id] = g->nvalues;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (keep_to[g->outputs[i]->id] < g->nforward)
            keep_to[g->outputs[i]->id] = g->nforward;
    if (g->loss)
        keep_to[g->loss->id] = g->nvalues;

    bool *kept = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++)
        kept[i] = keep_to[i] > 0;
    fuse_conv_pools(g, needed, consumers, kept);
    if (g->fused_update)
        fuse_pool_backward(g, needed, kept);
    else
        fuse_relu_backward(g, consumers, kept);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (needed[i] && (v->op == OP_reshape || v->op == OP_flatten) && !keep_to[i])
            v->alias_of = v->in[0];
    }
    for (int i = g->nforward; i < g->nvalues && !g->fused_update; i++) { /* gradients computed in place in the gradient area */
        Value *store = g->values[i], *grad = store->in[0];
        if (store->op != OP_grad_store || grad->id < g->nforward || grad->area != AREA_NONE || grad->alias_of || consumers[grad->id] != 1 ||
            grad->op == OP_reshape || grad->op == OP_flatten || shape_size(&grad->shape) != shape_size(&store->grad_of->shape) ||
            grad->batched)
            continue;
        grad->area = AREA_GRAD;
        grad->offset = store->offset;
        store->alias_of = grad;
        p.naive_act += shape_size(&grad->shape); /* a temporary in a layout without reuse */
    }
    for (int i = g->nforward; i < g->nvalues && g->fused_update; i++) { /* dense weight gradients a block at a time */
        Value *store = g->values[i], *grad = store->in[0];
        if (store->op == OP_grad_store && grad->op == OP_backward && grad->grad_arg == 1 && consumers[grad->id] == 1)
            grad->block_rows = dense_weight_block_rows(grad->fwd);
    }
    place(g, &p, needed, keep_to, 8);
    check_limits(g, &p);
    return p;
}

/* What step s reads: bit k set when it reads s->in[k] (a backward step: what its rule needs). */
static unsigned step_reads(const Graph *g, const Value *s) {
    return s->op == OP_backward ? backward_reads(g, s) : ~0u;
}

/* Bytes of value v's storage at a moment where it is needed whole (mask: as one byte an element). */
static long bytes_of(const Graph *g, Value *v, bool mask) {
    v = root_of(v);
    if (v->area != AREA_ACT || v->block_rows)
        return 0; /* a fused update's gradient block: the maths needs none */
    return mask ? floats_of(v, g->train.batch) : mul_capped(floats_of(v, g->train.batch), 4);
}

/* The bound, independent of where the plan put each value and of the order
 * of the steps: each step's operands and result are alive together (an
 * elementwise step may write over its operand), and at the loss every
 * forward value a backward step reads is alive, one a backward step reads
 * only as a mask (backward_reads_mask) at one byte an element. */
long activation_bound(const Graph *g) {
    int n = g->nvalues;
    bool *needed = arena_alloc((size_t)n), *saved = arena_alloc((size_t)n), *whole = arena_alloc((size_t)n);
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    if (g->loss && !g->inference)
        mark_needed(g, g->loss, needed);
    for (int i = g->nforward; i < n && !g->inference; i++) { /* the forward values backward reads, and how */
        Value *b = g->values[i];
        needed[i] = true;
        unsigned reads = step_reads(g, b);
        for (int k = 0; k < b->nin; k++)
            if (b->in[k] && (reads >> k & 1) && root_of(b->in[k])->id < g->nforward) {
                Value *x = root_of(b->in[k]);
                saved[x->id] = true;
                if (b->op != OP_backward || !backward_reads_mask(b, k))
                    whole[x->id] = true;
            }
    }
    long most = 0, at_loss = g->loss && !g->inference ? bytes_of(g, g->loss, false) : 0;
    for (int i = 0; i < g->nforward; i++)
        if (saved[i] && i != (g->loss ? g->loss->id : -1))
            at_loss = add_capped(at_loss, bytes_of(g, g->values[i], !whole[i]));
    int *seen = arena_alloc(sizeof(int) * (size_t)n); /* the step that last counted a value */
    for (int i = 0; i < n; i++) {
        Value *s = g->values[i];
        if (!needed[i] || s->fused || s->alias_of || s->op == OP_param || s->op == OP_input || s->op == OP_target ||
            s->op == OP_constant)
            continue;
        const Value *reader = s->op == OP_grad_store && s->in[0]->block_rows ? s->in[0] : s; /* the blocks are made here */
        unsigned reads = step_reads(g, reader);
        long own = bytes_of(g, s, false), total = own, overwritable = 0;
        seen[root_of(s)->id] = i + 1;
        for (int k = 0; k < reader->nin; k++) {
            Value *x = reader->in[k];
            if (!x || !(reads >> k & 1) || seen[root_of(x)->id] == i + 1)
                continue;
            seen[root_of(x)->id] = i + 1;
            bool mask = reader->op == OP_backward && backward_reads_mask(reader, k) && !whole[root_of(x)->id];
            long b = bytes_of(g, x, mask);
            total = add_capped(total, b);
            if (!mask && b == own)
                overwritable = own;
        }
        const Value *f = s->op == OP_backward ? s->fwd : s;
        if (elementwise_step(g, f)) /* the result may take its operand's place */
            total -= overwritable;
        else if (in_place_ring(g, f) && overwritable) /* a conv2d over its own input, with rows kept aside */
            total = add_capped(total - overwritable, mul_capped(in_place_ring(g, f), 4));
        if (total > most)
            most = total;
    }
    return at_loss > most ? at_loss : most;
}

/* --inference with embedded weights: a batchnorm right after a conv2d or
 * dense layer that nothing else reads is folded into it (the weights are
 * rewritten by fold_batchnorm_weights once read): the layer takes the
 * batchnorm's bias as its own, its readers read the layer, and the
 * batchnorm is no step at all. */
static void fold_batchnorms(Graph *g, bool *needed) {
    int *readers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++)
        for (int k = 0; needed[i] && k < g->values[i]->nin; k++)
            if (g->values[i]->in[k])
                readers[g->values[i]->in[k]->id]++;
    for (int i = 0; i < g->noutputs; i++)
        readers[g->outputs[i]->id]++;
    for (int i = 0; i < g->nvalues; i++) {
        Value *bn = g->values[i], *layer = bn->in[0];
        if (!needed[i] || bn->op != OP_batchnorm || (layer->op != OP_conv2d && layer->op != OP_dense) ||
            readers[layer->id] != 1 || readers[layer->in[1]->id] != 1 || readers[bn->in[2]->id] != 1)
            continue; /* (a tensor another step reads, an output for one, keeps its values) */
        layer->folded_bn = bn;
        layer->unfolded_bias = layer->in[2];
        layer->in[2] = bn->in[2];
        replace_uses(g, bn, layer);
        needed[i] = false;
    }
}

Plan plan_inference(Graph *g) {
    Plan p = lay_out_params(g);
    bool *needed = arena_alloc((size_t)g->nvalues); /* what the outputs depend on */
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    if (g->embedded)
        fold_batchnorms(g, needed);
    int *consumers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    int *keep_to = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    bool *is_output = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++) {
        is_output[g->outputs[i]->id] = true;
        keep_to[g->outputs[i]->id] = g->nvalues; /* copied out at the end */
    }
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        for (int k = 0; needed[i] && k < v->nin; k++)
            if (v->in[k])
                consumers[v->in[k]->id]++;
    }
    fuse_conv_pools(g, needed, consumers, is_output);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (needed[i] && (v->op == OP_reshape || v->op == OP_flatten || v->op == OP_dropout))
            v->alias_of = v->in[0];
    }
    for (int i = 0; i < g->noutputs; i++) { /* computed straight into the caller's array, unless two outputs are one */
        Value *r = root_of(g->outputs[i]);
        bool shared = false;
        for (int j = 0; j < g->noutputs; j++)
            shared = shared || (j != i && root_of(g->outputs[j]) == r);
        if (r->area == AREA_NONE && !r->fused && !shared) {
            r->area = AREA_OUTPUT;
            r->index = i;
        }
    }
    place(g, &p, needed, keep_to, 1);
    check_limits(g, &p);
    return p;
}
