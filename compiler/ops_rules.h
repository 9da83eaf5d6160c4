/* ops_rules.h — what the files of the op table (ops*.c) share: the rules
 * ops.def names and the helpers of ops.c. Included by ops*.c only. */
#ifndef OPS_RULES_H
#define OPS_RULES_H

#include "dnnc.h"

#define OP(name, sig, flags, shape, forward, backward, grad, cexpr, dexpr)                                           \
    bool shape(Graph *g, Value *v);                                                                                    \
    void forward(Emitter *e, const Value *v);                                                                          \
    void backward(Emitter *e, const Value *v, int arg);                                                                \
    void grad(Graph *g, Value *v, Value *dy, Value **dx);
#include "ops.def"
#undef OP

/* ---- ops.c: helpers of the rules ---------------------------------------------- */
const char *describe(const Value *v);   /* "'h' [4]" or "dense() [4]": how a value arose, for messages */
bool float_operands(Value *v);          /* false after an error when an operand is a class target */
bool attr_at_least(Value *v, int k, const char *name, double lo); /* attribute k >= lo, else an error */
bool need_rank(Value *v, const Value *x, int rank, const char *hint); /* operand x of that rank, else an error */
void set_param_shape(Value *p, Shape s, int fan_in, int fan_out);   /* a layer's parameter (p may be NULL) */
int size_of(const Value *v);            /* per-sample elements */
bool same_layout(const Value *a, const Value *b); /* same shape and batching */
bool uses(const char *expr, const char *name);    /* identifier `name` occurs in C expression expr */

/* ---- --quantize=int8: the ops with an int8 form (ops_dispatch.c's q8_rules) -------------------- */
/* Each: its float value in the calibration's pass (one sample; in[k] the operands; a layer's folded weights
 * in v->q); the body of its int8 step (a call of a dnn_kernels_int8.h kernel on out, inp[, inp2][, scratch];
 * id: the prefix of its constant arrays); why qnnpack has no int8 form of this one, or NULL. */
void q8_copy_float(const Value *v, float *y, const float *const *in);
void q8_relu_float(const Value *v, float *y, const float *const *in);
void q8_relu_emit(FILE *c, const Value *v, const char *id);
void q8_add_float(const Value *v, float *y, const float *const *in);
void q8_add_emit(FILE *c, const Value *v, const char *id);
const char *q8_add_refusal(const Value *v);
void q8_dense_float(const Value *v, float *y, const float *const *in);
void q8_dense_emit(FILE *c, const Value *v, const char *id);
void q8_conv2d_float(const Value *v, float *y, const float *const *in);
void q8_conv2d_emit(FILE *c, const Value *v, const char *id);
void q8_pool_float(const Value *v, float *y, const float *const *in);
void q8_pool_emit(FILE *c, const Value *v, const char *id);
const char *q8_pool_refusal(const Value *v);

#endif
