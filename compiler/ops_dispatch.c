/* ops_dispatch.c — ops.def's rules as a table (shape rule, forward and
 * backward emitter, gradient rule), and the three calls the passes make
 * through it: op_shape() (shape.c, autodiff.c), op_grad() (autodiff.c) and
 * op_emit() (emit.c). Nothing in ops*.c calls back here, so the rules stay
 * below the passes that use them. */
#include "ops_rules.h"

static const struct Rules {
    bool (*shape)(Graph *, Value *);
    void (*forward)(Emitter *, const Value *);
    void (*backward)(Emitter *, const Value *, int);
    void (*grad)(Graph *, Value *, Value *, Value **);
} rules[OP_COUNT] = {
#define OP(name, sig, flags, shape, forward, backward, grad, cexpr, dexpr) {shape, forward, backward, grad},
#include "ops.def"
#undef OP
};

bool op_shape(Graph *g, Value *v) { return rules[v->op].shape(g, v); }
void op_grad(Graph *g, Value *v, Value *dy, Value **dx) { rules[v->op].grad(g, v, dy, dx); }

/* A backward node is printed by the backward emitter of the op it differentiates. */
void op_emit(Emitter *e, const Value *v) {
    if (v->op == OP_backward)
        rules[v->fwd->op].backward(e, v->fwd, v->grad_arg);
    else
        rules[v->op].forward(e, v);
}
