/* ops_dispatch.c — ops.def's rules as a table (shape rule, forward and
 * backward emitter, gradient rule), and the three calls the passes make
 * through it: op_shape() (shape.c, autodiff.c), op_grad() (autodiff.c) and
 * op_emit() (emit.c), and backward_reads() (plan.c). Nothing in ops*.c
 * calls back here, so the rules stay below the passes that use them. */
#include "ops_rules.h"

#include <stdlib.h>

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

/* Which operands backward node b reads (bit k: b->in[k], the incoming
 * gradient `dy`, the forward operands `in0, in1, ...` and the forward
 * result `out`), found in the C its emitter prints, in both forms (the
 * generic one is the double twin's): the memory plan keeps alive for the
 * backward pass only what it reads. */
/* Whether backward node b reads its operand k only to know where its
 * gradient goes: relu's result (where it passed), maxpool's input and
 * result (where each window's maximum was). Such a value could be kept as
 * a one-byte mask (activation_bound counts it so). */
bool backward_reads_mask(const Value *b, int k) {
    OpKind op = b->fwd->op;
    return (op == OP_relu && k == b->nin - 1) ||
           (op == OP_maxpool && !b->fwd->fused_conv && (k == 1 || k == b->nin - 1)); /* (a fused one reads the conv's input) */
}

unsigned backward_reads(const Graph *g, const Value *b) {
    unsigned mask = 0;
    for (int generic = 0; generic < 2; generic++) {
        char *text = NULL, *defs = NULL;
        size_t text_len = 0, defs_len = 0;
        Emitter e = {open_memstream(&text, &text_len), g, 1, generic, 0, {0}, {0}, false,
                     open_memstream(&defs, &defs_len), false, 0};
        if (!e.out || !e.defs)
            ICE("open_memstream failed");
        op_emit(&e, b);
        fclose(e.out);
        fclose(e.defs);
        for (int k = 0; k < b->nin; k++) {
            const char *name = k == 0 ? "dy" : k == b->nin - 1 ? "out" : arena_printf("in%d", k - 1);
            if (uses(text, name))
                mask |= 1u << k;
        }
        free(text);
        free(defs);
    }
    return mask;
}
