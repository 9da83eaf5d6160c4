/* ops.c — the op table: ops.def's rows as data (op_info); the helpers
 * the rules share; and the rules of the leaves and of the backward graph's
 * own nodes. ops_dispatch.c calls the rules through the table.
 *
 * The rules of the other ops are in one file per family, each ordered as
 * ops.def, each op's shape rule, emitters and gradient rule together:
 * ops_dense.c, ops_conv.c, ops_train.c, ops_arith.c,
 * ops_loss.c. Shape rules check operands and set the result's per-sample
 * shape and batched flag; layer rules also give their parameters a shape
 * (the parameter's shape is inferred from its user, like PyTorch's lazy
 * modules). Gradient rules build IR: composite gradients from existing ops
 * (add → sum_to, reshape → reshape), opaque ones as a `backward` node that
 * the op's backward emitter prints. Emitters print C following the
 * conventions of struct Emitter (dnnc.h, cprint.c).
 */
#include "ops_rules.h"

#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(name, sig, flags, shape, forward, backward, grad, cexpr, dexpr) {#name, sig, flags, cexpr, dexpr},
#include "ops.def"
#undef OP
};

/* ---- helpers of the rules ------------------------------------------------------- */

/* "'h' [4]" or "dense() [4]": how a value arose, for shape messages. */
const char *describe(const Value *v) {
    const char *shape = v->dtype == DT_CLASS ? arena_printf("class(%d)", v->classes) : shape_str(&v->shape);
    if (v->op == OP_constant)
        return arena_printf("the number %g", v->attr[0]);
    if (v->name)
        return arena_printf("'%s' %s", v->name, shape);
    return arena_printf("%s() %s", op_info[v->op].name, shape);
}

/* An op as the user wrote it: "'*'" for an operator, "dense()" for a call. */
static const char *op_words(const Value *v) {
    switch (v->op) {
    case OP_add: return "'+'";
    case OP_sub: return "'-'";
    case OP_mul: return "'*'";
    case OP_div: return "'/'";
    case OP_matmul: return "'@'";
    case OP_neg: return "unary '-'";
    default: return arena_printf("%s()", op_info[v->op].name);
    }
}

bool float_operands(Value *v) {
    for (int i = 0; i < v->nin; i++)
        if (v->in[i] && v->in[i]->dtype == DT_CLASS) {
            error_at(v->loc, "%s cannot take the class target '%s'", op_words(v), v->in[i]->name);
            note("class targets hold integer labels and are only read by cross_entropy, nll and multi_margin");
            return false;
        }
    return true;
}

bool attr_at_least(Value *v, int k, const char *name, double lo) {
    if (v->attr[k] >= lo)
        return true;
    error_at(v->attr_loc[k], "%s(): '%s' must be at least %g, got %g", op_info[v->op].name, name, lo, v->attr[k]);
    return false;
}

void set_param_shape(Value *p, Shape s, int fan_in, int fan_out) {
    if (!p)
        return;
    p->shape = s;
    p->shaped = true;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
}

int size_of(const Value *v) { return (int)shape_size(&v->shape); }

bool need_rank(Value *v, const Value *x, int rank, const char *hint) {
    if (x->shape.rank == rank)
        return true;
    const char *what = rank == 1 ? "a rank-1 input" : rank == 3 ? "a [C, H, W] input" : "a matrix";
    error_at(v->loc, "%s() needs %s, got %s", op_info[v->op].name, what, shape_str(&x->shape));
    if (hint)
        note("%s", hint);
    return false;
}

bool same_layout(const Value *a, const Value *b) {
    if (a->batched != b->batched || a->shape.rank != b->shape.rank)
        return false;
    for (int i = 0; i < a->shape.rank; i++)
        if (a->shape.dim[i] != b->shape.dim[i])
            return false;
    return true;
}

bool shape_same(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape = v->in[0]->shape;
    v->batched = v->in[0]->batched;
    return true;
}

/* Whether identifier `name` occurs in a C expression. */
bool uses(const char *expr, const char *name) {
    size_t n = strlen(name);
    for (const char *p = expr; (p = strstr(p, name)); p += n) {
        bool start = p == expr || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
        char c = p[n];
        bool end = !(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        if (start && end)
            return true;
    }
    return false;
}

/* ---- leaves, and the backward graph's own nodes ------------------------------ */

/* Leaves are not computed (their shapes are declared), nor are `backward`
 * nodes by themselves: op_emit() prints those with their op's backward emitter. */
bool shape_leaf(Graph *g, Value *v) { (void)g; (void)v; return true; }
void emit_none(Emitter *e, const Value *v) { (void)e; (void)v; }
void no_backward(Emitter *e, const Value *v, int arg) { (void)e; (void)v; (void)arg; }
void grad_none(Graph *g, Value *v, Value *dy, Value **dx) { (void)g; (void)v; (void)dy; (void)dx; }

/* The generic gradient rule: a `backward` node per operand that needs a
 * gradient, printed by the op's backward emitter (arg = operand index). */
void grad_backward(Graph *g, Value *v, Value *dy, Value **dx) {
    for (int i = 0; i < v->nin; i++) {
        if (!v->in[i] || !v->in[i]->needs_grad)
            continue;
        if ((op_info[v->op].flags & F_LOSS) && i == 1 && v->op != OP_mse && v->op != OP_l1_loss &&
            v->op != OP_huber) {
            error_at(v->loc, "%s(): the target depends on a trainable parameter, and its gradient is not supported",
                     op_info[v->op].name);
            continue;
        }
        Value *b = new_value(g, OP_backward, v->loc);
        b->fwd = v;
        b->grad_arg = i;
        ir_operands(b, v->nin + 2);
        b->in[b->nin++] = dy;
        for (int k = 0; k < v->nin; k++)
            b->in[b->nin++] = v->in[k];
        b->in[b->nin++] = v;
        b->label = v->label;
        b->stmt_line = v->stmt_line;
        dx[i] = b;
    }
}

bool shape_backward(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->fwd->in[v->grad_arg];
    v->shape = x->shape;
    v->batched = x->batched;
    return true;
}

/* grad_store: a parameter's gradient into the gradient area */
bool shape_none(Graph *g, Value *v) { (void)g; v->shape.rank = 0; return true; }

void emit_grad_store_forward(Emitter *e, const Value *v) {
    emit(e, "memcpy(out, in0, sizeof(float) * %d);", size_of(v->in[0]));
}
