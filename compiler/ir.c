/* ir.c — the IR every pass builds and reads: values and their graph.
 *
 * A Graph's values are in creation order, which is a topological order:
 * new_value() appends, ir_node() appends a node with its operands.
 * mark_needed() finds what a value depends on; fold_constants() turns
 * arithmetic on constants into constants; shape_str() and shape_size()
 * describe per-sample shapes.
 */
#include "dnnc.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- values ---------------------------------------------------------------- */

void push_value(Value ***arr, int *n, Value *v) {
    /* arrays grow by doubling; capacity is implied by n being a power of two */
    if ((*n & (*n - 1)) == 0) {
        Value **bigger = arena_alloc(sizeof(Value *) * (size_t)(*n ? 2 * *n : 4));
        if (*n)
            memcpy(bigger, *arr, sizeof(Value *) * (size_t)*n);
        *arr = bigger;
    }
    (*arr)[(*n)++] = v;
}

Value *new_value(Graph *g, OpKind op, Loc loc) {
    Value *v = arena_alloc(sizeof *v);
    v->id = g->nvalues;
    v->op = op;
    v->loc = loc;
    v->shaped = false;
    v->in = arena_alloc(sizeof(Value *) * NODE_INPUTS);
    push_value(&g->values, &g->nvalues, v);
    return v;
}

void ir_operands(Value *v, int n) {
    if (n > MAX_INPUTS)
        ICE("%d operands, more than MAX_INPUTS", n);
    if (n <= NODE_INPUTS)
        return;
    Value **in = arena_alloc(sizeof(Value *) * (size_t)n);
    memcpy(in, v->in, sizeof(Value *) * (size_t)v->nin);
    v->in = in;
}

/* Operands of all values: the most a walk of the graph can stack. */
static size_t operand_count(const Graph *g) {
    size_t n = 0;
    for (int i = 0; i < g->nvalues; i++)
        n += (size_t)g->values[i]->nin;
    return n;
}

/* Marks the values `root` depends on (iteratively: graphs can be deep). */
void mark_needed(const Graph *g, const Value *root, bool *needed) {
    Value **stack = arena_alloc(sizeof(Value *) * (operand_count(g) + 1));
    int top = 0;
    stack[top++] = (Value *)root;
    while (top) {
        Value *v = stack[--top];
        if (!v || needed[v->id])
            continue;
        needed[v->id] = true;
        for (int k = 0; k < v->nin; k++)
            stack[top++] = v->in[k];
    }
}

/* Every operand and model output that reads `old` reads `v` instead. */
void replace_uses(Graph *g, const Value *old, Value *v) {
    for (int j = 0; j < g->nvalues; j++)
        for (int k = 0; k < g->values[j]->nin; k++)
            if (g->values[j]->in[k] == old)
                g->values[j]->in[k] = v;
    for (int j = 0; j < g->noutputs; j++)
        if (g->outputs[j] == old)
            g->outputs[j] = v;
}

Value *ir_binary(Graph *g, OpKind op, Value *a, Value *b, Loc loc) {
    return ir_node(g, op, loc, a, b, NULL);
}

Value *ir_node(Graph *g, OpKind op, Loc loc, Value *a, Value *b, Value *c) {
    Value *v = new_value(g, op, loc);
    v->in[0] = a;
    v->in[1] = b;
    v->in[2] = c;
    v->nin = c ? 3 : b ? 2 : 1;
    if (a) {
        v->label = a->label;
        v->stmt_line = a->stmt_line;
    }
    return v;
}

/* ---- constant folding ---------------------------------------------------------- */

/* x op y as the generated C computes it: in float (C99: each operation
 * rounded to float), on the floats the constants are printed as. Also in
 * double, as the --main program's double twin computes it: a node folds
 * only where both agree (a product by 1, a sum with 0, a negation), so
 * neither program's numbers change. */
static bool fold(OpKind op, double a, double b, double *out) {
    const float fa = (float)a, fb = (float)b;
    float f;
    double d;
    switch (op) {
    case OP_add: f = fa + fb; d = (double)fa + (double)fb; break;
    case OP_sub: f = fa - fb; d = (double)fa - (double)fb; break;
    case OP_mul: f = fa * fb; d = (double)fa * (double)fb; break;
    case OP_div: f = fa / fb; d = (double)fa / (double)fb; break;
    case OP_neg: f = -fa; d = -(double)fa; break;
    default: return false;
    }
    if ((double)f != d || isinf(f)) /* NaN != NaN: not folded either */
        return false;
    *out = f;
    return true;
}

void fold_constants(Graph *g) {
    for (int i = 0; i < g->nvalues; i++) { /* in order: a folded operand folds its reader */
        Value *v = g->values[i];
        bool all_constant = v->nin > 0 && v->shape.rank == 0 && !v->batched;
        for (int k = 0; k < v->nin && all_constant; k++)
            all_constant = v->in[k] && v->in[k]->op == OP_constant;
        double x;
        if (!all_constant || !fold(v->op, v->in[0]->attr[0], v->nin > 1 ? v->in[1]->attr[0] : 0, &x))
            continue;
        v->op = OP_constant;
        v->attr[0] = x;
        v->nin = 0;
    }
}

/* ---- shapes ---------------------------------------------------------------- */

const char *shape_str(const Shape *s) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "[");
    for (int i = 0; i < s->rank; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%d", i ? ", " : "", s->dim[i]);
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    return arena_strdup(buf);
}

/* a * b for sizes (a, b >= 0), LONG_MAX when it would overflow: callers
 * compare with MAX_ELEMENTS, so "huge" is all they need to know. */
long mul_capped(long a, long b) {
    if (a < 0 || b < 0)
        ICE("negative size %ld * %ld", a, b);
    return b && a > LONG_MAX / b ? LONG_MAX : a * b;
}

long shape_size(const Shape *s) {
    long n = 1;
    for (int i = 0; i < s->rank; i++)
        n = mul_capped(n, s->dim[i]);
    return n;
}
