/* ops_rules.h — what the files of the op table (ops*.c) share: the rules
 * ops.def names, the helpers of ops.c, and the conv2d kernels of
 * ops_conv_lanes.c that ops_conv.c calls. Included by ops*.c only. */
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

/* ---- ops_conv_lanes.c: conv2d at speed, and what ops_conv.c shares with it ---- */
typedef struct ConvDims {
    int F, C, H, W, K, S, P, OH, OW, Hp, Wp; /* Hp, Wp: the zero-padded input */
    int taps, NP, F8, C8;                    /* C·K·K, OH·OW, F and C rounded up to 8 */
} ConvDims;
ConvDims conv_dims(const Value *conv);
/* The largest tile: accumulator vectors kept in registers. */
enum { TILE_ACCS = 16 };
void emit_pool_take(Emitter *e, bool max);                            /* a fused step's pooling of y */
void emit_act_inplace(Emitter *e, const Value *act, const char *var); /* an activation of a float variable */
bool conv_lanes_fit(const Emitter *e, const ConvDims *d, int lanes);
bool conv_cols_fit(const Emitter *e, const ConvDims *d, const Value *pool, const Value *act);
void emit_conv_fwd_lanes(Emitter *e, const Value *conv, const Value *pool, const Value *act);
void emit_conv_fwd_cols(Emitter *e, const Value *conv, const Value *pool, const Value *act);
void emit_conv_dw_lanes(Emitter *e, const Value *conv);
void emit_conv_dx_lanes(Emitter *e, const Value *conv);

#endif
