/* shape.c — shape checking.
 *
 * Entry: check_shapes(). Runs each value's shape rule (ops.def) in creation
 * order, which is topological. A value whose operand failed is skipped
 * silently, so one mistake gives one error. Then the whole-model rules: the
 * loss is a scalar (a per-sample scalar is averaged over the batch, as the
 * language says), outputs are per-sample values, and values that reach no
 * output and not the loss are warned about.
 */
#include "dnnc.h"

#include <string.h>

static void mark_used(Value *v) {
    /* iterative: the graph can be deep */
    Value **stack = arena_alloc(sizeof(Value *) * 64);
    int n = 0, cap = 64;
    stack[n++] = v;
    while (n) {
        Value *x = stack[--n];
        if (!x || x->used)
            continue;
        x->used = true;
        for (int i = 0; i < x->nin; i++) {
            if (n == cap) {
                Value **bigger = arena_alloc(sizeof(Value *) * (size_t)cap * 2);
                memcpy(bigger, stack, sizeof(Value *) * (size_t)cap);
                stack = bigger;
                cap *= 2;
            }
            stack[n++] = x->in[i];
        }
    }
}

/* The loss an unbatched value is computed from (itself, or a loss among
 * its unbatched operands), or NULL: a parameter's or constant's arithmetic. */
static const Value *loss_within(const Value *v) {
    const Value **stack = arena_alloc(sizeof(Value *) * 64);
    int n = 0, cap = 64;
    stack[n++] = v;
    while (n) {
        const Value *x = stack[--n];
        if (op_info[x->op].flags & F_LOSS)
            return x;
        for (int i = 0; i < x->nin; i++) {
            if (!x->in[i] || x->in[i]->batched)
                continue;
            if (n == cap) {
                const Value **bigger = arena_alloc(sizeof(Value *) * (size_t)cap * 2);
                memcpy(bigger, stack, sizeof(Value *) * (size_t)cap);
                stack = bigger;
                cap *= 2;
            }
            stack[n++] = x->in[i];
        }
    }
    return NULL;
}

bool check_shapes(Graph *g) {
    int before = error_count();
    int n = g->nvalues; /* rules may not add values; batch_mean is added below */
    for (int i = 0; i < n; i++) {
        Value *v = g->values[i];
        if (v->op == OP_param || v->op == OP_input || v->op == OP_target || v->op == OP_constant)
            continue;
        bool inputs_ok = true;
        for (int k = 0; k < v->nin; k++)
            if (v->in[k] && !v->in[k]->shaped && v->in[k]->op != OP_param)
                inputs_ok = false;
        if (!inputs_ok)
            continue;
        if (op_shape(g, v)) {
            v->shaped = true;
            if (shape_size(&v->shape) > MAX_ELEMENTS) {
                error_at(v->loc, "%s() would give %s, more than %ld elements per sample",
                         op_info[v->op].name, shape_str(&v->shape), (long)MAX_ELEMENTS);
                v->shaped = false;
            }
        }
    }
    if (error_count() > before)
        return false;

    for (int i = 0; i < g->noutputs; i++) {
        Value *o = g->outputs[i];
        const Value *loss = o->batched ? NULL : loss_within(o);
        if (loss) {
            error_at(g->output_locs[i], "output '%s' %s: one number for the whole batch, and an output is one value per sample",
                     g->output_names[i], loss == o ? "is a loss" : arena_printf("comes from the loss %s()", op_info[loss->op].name));
            const Value *pred = loss->in[0];
            const char *show = pred->name ? arena_printf("'output %s;'", pred->name)
                                          : arena_printf("'p = %s(...); output p;'", op_info[pred->op].name);
            if (g->loss == o)
                note("it is the loss already; output the prediction it scores instead: %s", show);
            else if (g->loss)
                note("the loss statement trains the model; output the prediction instead: %s", show);
            else
                note("train on it with 'loss %s;' and output the prediction it scores: %s", g->output_names[i], show);
            continue;
        }
        if (!o->batched || o->dtype != DT_FLOAT || o->op == OP_target) {
            error_at(g->output_locs[i], "output '%s' must be computed from the inputs", g->output_names[i]);
            note("an output is returned per sample; parameters and targets are not outputs");
        }
    }
    Value *loss = g->loss;
    if (loss && loss->shape.rank != 0) {
        error_at(loss->loc, "the loss must be a scalar, got %s", shape_str(&loss->shape));
        note("reduce it, e.g. loss mean(...); or use a loss function such as mse()");
    } else if (loss && loss->dtype != DT_FLOAT) {
        error_at(loss->loc, "the loss must be a float value");
    } else if (loss && loss->batched) {
        /* a per-sample scalar used as the loss is averaged over the batch */
        Value *m = ir_node(g, OP_batch_mean, loss->loc, loss, NULL, NULL);
        m->shaped = op_shape(g, m);
        g->loss = m;
    }
    if (error_count() > before)
        return false;

    for (int i = 0; i < g->noutputs; i++)
        mark_used(g->outputs[i]);
    mark_used(g->loss);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (v->used || !v->name || v->op == OP_constant)
            continue;
        if (v->op == OP_input || v->op == OP_target)
            warning_at(v->loc, "%s '%s' is never used", v->op == OP_input ? "input" : "target", v->name);
        else if (v->op != OP_param || v->is_explicit)
            warning_at(v->loc, "'%s' is never used", v->name);
        else
            continue;
        note("it reaches no output and not the loss");
    }
    return error_count() == before;
}
