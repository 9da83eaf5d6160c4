/* ops_dispatch.c — ops.def's rules as a table (shape rule, forward and
 * backward emitter, gradient rule), and the three calls the passes make
 * through it: op_shape() (shape.c, autodiff.c), op_grad() (autodiff.c) and
 * op_emit() (emit.c), and backward_reads() (plan.c); and the int8 rules of
 * --quantize=int8 (quantize.c, emit_int8.c). Nothing in ops*.c
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

/* --quantize=int8: the ops with an int8 form, their rules (ops_rules.h) */
static const struct Q8Rules {
    void (*calibrate)(const Value *v, float *y, const float *const *in);
    void (*emit)(FILE *c, const Value *v, const char *id); /* NULL: the operand's bytes (flatten) */
    const char *(*refusal)(const Value *v);
} q8_rules[OP_COUNT] = {
    [OP_flatten] = {q8_copy_float, NULL, NULL},
    [OP_reshape] = {q8_copy_float, NULL, NULL},
    [OP_dropout] = {q8_copy_float, NULL, NULL},
    [OP_relu] = {q8_relu_float, q8_relu_emit, NULL},
    [OP_add] = {q8_add_float, q8_add_emit, q8_add_refusal},
    [OP_dense] = {q8_dense_float, q8_dense_emit, NULL},
    [OP_conv2d] = {q8_conv2d_float, q8_conv2d_emit, NULL},
    [OP_maxpool] = {q8_pool_float, q8_pool_emit, NULL},
    [OP_avgpool] = {q8_pool_float, q8_pool_emit, q8_pool_refusal},
    [OP_global_avgpool] = {q8_pool_float, q8_pool_emit, q8_pool_refusal},
};

const char *op_int8(const Value *v) {
    if (!q8_rules[v->op].calibrate)
        return NULL;
    const char *why = q8_rules[v->op].refusal ? q8_rules[v->op].refusal(v) : NULL;
    return why ? why : "";
}
void op_q8_float(const Value *v, float *y, const float *const *in) { q8_rules[v->op].calibrate(v, y, in); }
bool op_q8_emit(FILE *c, const Value *v, const char *id) {
    if (q8_rules[v->op].emit)
        q8_rules[v->op].emit(c, v, id);
    return q8_rules[v->op].emit != NULL;
}

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
