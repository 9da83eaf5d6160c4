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

#include <math.h>
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

/* ---- bce's operand: probabilities? ---------------------------------------------- */

/* Bounds on the values a value can take (±inf when unknown), and whether
 * they are a layer's scores: computed from a dense, conv2d, ... or @. */
typedef struct Range {
    double lo, hi;
    const Value *layer; /* the layer whose scores they are, or NULL */
} Range;

static const Range anything = {-INFINITY, INFINITY, NULL};

static Range hull(double a, double b, double c, double d) {
    double lo = fmin(fmin(a, b), fmin(c, d)), hi = fmax(fmax(a, b), fmax(c, d));
    if (isnan(a) || isnan(b) || isnan(c) || isnan(d)) /* 0 × inf: no bound */
        return anything;
    return (Range){lo, hi, NULL};
}

/* Interval arithmetic over one value's op; r holds its operands' ranges. */
static Range bounds_of(const Value *v, const Range *r) {
    Range x = v->nin && v->in[0] ? r[v->in[0]->id] : anything, y = v->nin > 1 && v->in[1] ? r[v->in[1]->id] : anything;
    switch (v->op) {
    case OP_constant: return (Range){v->attr[0], v->attr[0], NULL};
    case OP_sigmoid:
    case OP_softmax:
    case OP_step: return (Range){0, 1, NULL};
    case OP_tanh:
    case OP_sin:
    case OP_cos: return (Range){-1, 1, NULL};
    case OP_log_softmax: return (Range){-INFINITY, 0, NULL};
    case OP_relu: return (Range){fmax(x.lo, 0), fmax(x.hi, 0), NULL};
    case OP_exp: return (Range){exp(x.lo), exp(x.hi), NULL};
    case OP_sqrt: return (Range){sqrt(fmax(x.lo, 0)), sqrt(fmax(x.hi, 0)), NULL};
    case OP_neg: return (Range){-x.hi, -x.lo, NULL};
    case OP_abs:
    case OP_square: {
        double lo = x.lo > 0 ? x.lo : x.hi < 0 ? -x.hi : 0, hi = fmax(fabs(x.lo), fabs(x.hi));
        return v->op == OP_abs ? (Range){lo, hi, NULL} : (Range){lo * lo, hi * hi, NULL};
    }
    case OP_add: return (Range){x.lo + y.lo, x.hi + y.hi, NULL};
    case OP_sub: return (Range){x.lo - y.hi, x.hi - y.lo, NULL};
    case OP_mul: return hull(x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi);
    case OP_div:
        if (y.lo <= 0 && y.hi >= 0)
            return anything;
        return hull(x.lo / y.lo, x.lo / y.hi, x.hi / y.lo, x.hi / y.hi);
    case OP_concat: return (Range){fmin(x.lo, y.lo), fmax(x.hi, y.hi), NULL};
    case OP_maxpool: /* padding takes no part in the maximum */
    case OP_avgpool:
    case OP_global_avgpool:
    case OP_mean:
    case OP_flatten:
    case OP_reshape:
    case OP_transpose: return x;
    case OP_dropout: { /* in training: 0, or x / (1 - p) */
        double keep = 1 - v->attr[0];
        return (Range){fmin(0, x.lo / keep), fmax(0, x.hi / keep), NULL};
    }
    default: return anything;
    }
}

static Range range_of(const Value *v, const Range *r) {
    Range b = bounds_of(v, r);
    b.layer = (op_info[v->op].flags & F_LAYER) || v->op == OP_matmul ? v : NULL;
    for (int k = 0; !b.layer && k < v->nin; k++)
        b.layer = v->in[k] ? r[v->in[k]->id].layer : NULL;
    return b;
}

/* bce(prob, y) takes probabilities: PyTorch's BCELoss refuses a value
 * outside [0, 1] at run time, while the generated code would clamp its
 * logarithms and train, silently, on nonsense. Warns when the prediction
 * is a layer's scores not bounded to [0, 1] (no sigmoid, softmax or the
 * like after the layer); a value computed from the inputs alone may hold
 * probabilities the data brings, which only the run time can know. */
static void warn_bce_operands(Graph *g) {
    Range *r = arena_alloc(sizeof(Range) * (size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++)
        r[i] = range_of(g->values[i], r);
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i], *p = v->in[0];
        if (v->op != OP_bce || !v->used || !r[p->id].layer || (r[p->id].lo >= 0 && r[p->id].hi <= 1))
            continue;
        const Value *y = v->in[1], *layer = r[p->id].layer;
        const char *layer_name = op_info[layer->op].name;
        if (p->name)
            warning_at(v->loc, "bce() takes probabilities in [0, 1], but '%s' can fall outside them", p->name);
        else
            warning_at(v->loc, "bce() takes probabilities in [0, 1], but the %s() result can fall outside them",
                       op_info[p->op].name);
        note("%s computed from %s()'s scores; use %s, which applies the sigmoid itself, or end the layer in sigmoid()",
             p->name ? arena_printf("'%s' is", p->name) : "it is", layer_name,
             p->name && y->name ? arena_printf("bce_with_logits(%s, %s)", p->name, y->name) : "bce_with_logits()");
    }
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
    warn_bce_operands(g);
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
