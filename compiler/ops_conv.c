/* ops_conv.c — the rules of conv2d, maxpool and avgpool (ops.def), NCHW
 * and PyTorch's layouts.
 *
 * The steps call the kernels of runtime/dnn_kernels_conv.h and
 * dnn_kernels_pool.h with constant sizes: at speed (--optimize=speed) they
 * put filters, input channels or output columns in the vector lanes, and
 * with --optimize=size the plain loops serve. --inference fuses conv2d →
 * activation → pool into the pool's step (plan_inference): no conv output
 * is stored.
 */
#include "ops_rules.h"

#include <math.h>
#include <string.h>

/* ---- conv2d ---------------------------------------------------------------------------------- */

/* conv2d()'s note for a [H, W] or flat square input: the reshape to write. */
static const char *image_hint(const Value *x) {
    const char *name = x->name ? x->name : "x";
    if (x->shape.rank == 2)
        return arena_printf("reshape it first, e.g. reshape(%s, [1, %d, %d])", name, x->shape.dim[0], x->shape.dim[1]);
    if (x->shape.rank != 1)
        return NULL;
    int n = x->shape.dim[0], side = (int)(sqrt((double)n) + 0.5);
    if (side * side == n)
        return arena_printf("reshape it first, e.g. reshape(%s, [1, %d, %d])", name, side, side);
    return arena_printf("reshape it to [C, H, W] first, e.g. reshape(%s, [C, H, W])", name);
}

bool shape_conv2d(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, image_hint(x)))
        return false;
    if (!attr_at_least(v, 0, "filters", 1) || !attr_at_least(v, 1, "kernel", 1) ||
        !attr_at_least(v, 2, "stride", 1) || !attr_at_least(v, 3, "pad", 0))
        return false;
    int f = (int)v->attr[0], k = (int)v->attr[1], s = (int)v->attr[2], p = (int)v->attr[3];
    int c = x->shape.dim[0], h = x->shape.dim[1], w = x->shape.dim[2];
    long oh = ((long)h + 2L * p - k) / s + 1, ow = ((long)w + 2L * p - k) / s + 1;
    if ((long)h + 2L * p < k || (long)w + 2L * p < k) {
        error_at(v->attr_loc[1], "conv2d(): kernel %d is larger than the padded input %ldx%ld (input %s, pad %d)",
                 k, (long)h + 2L * p, (long)w + 2L * p, shape_str(&x->shape), p);
        return false;
    }
    if (mul_capped(mul_capped(mul_capped(f, c), k), k) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d(): a weight of [%d, %d, %d, %d] is too large", f, c, k, k);
        return false;
    }
    if (oh > MAX_ELEMENTS || ow > MAX_ELEMENTS || mul_capped(mul_capped(f, oh), ow) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d() would give [%d, %ld, %ld], more than %ld elements per sample", f, oh, ow,
                 (long)MAX_ELEMENTS);
        return false;
    }
    set_param_shape(v->in[1], (Shape){4, {f, c, k, k}}, c * k * k, f * k * k);
    set_param_shape(v->in[2], (Shape){1, {f}}, c * k * k, f * k * k);
    v->shape = (Shape){3, {f, (int)oh, (int)ow}};
    v->batched = x->batched;
    return true;
}

/* A conv2d's sizes, from its operands and attributes. */
typedef struct ConvDims {
    int F, C, H, W, K, S, P, OH, OW; /* filters, the input [C, H, W], kernel, stride, pad, the output's size */
} ConvDims;

static ConvDims conv_dims(const Value *conv) {
    const Value *x = conv->in[0];
    return (ConvDims){conv->shape.dim[0], x->shape.dim[0], x->shape.dim[1], x->shape.dim[2], (int)conv->attr[1],
                      (int)conv->attr[2], (int)conv->attr[3], conv->shape.dim[1], conv->shape.dim[2]};
}

/* conv2d: dnn_conv2d_forward (runtime/dnn_kernels_conv.h) with constant
 * sizes, which puts output columns or filters in the vector lanes where
 * they fit and runs the direct loops elsewhere; with --optimize=size the
 * direct loops, dnn_conv2d_forward_plain. */
void emit_conv2d_forward(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    emit(e, "dnn_conv2d_forward%s(out, in0, in1, %s, %s, %d, %d, %d, %d, %d, %d, %d);", e->generic ? "_plain" : "",
         v->in[2] ? "in2" : "NULL", samples_of(v), d.C, d.H, d.W, d.F, d.K, d.S, d.P);
}

/* The gradient of the input (arg 0), the weights (1) or the bias (2):
 * input channels or filters in the vector lanes where they fit, else the
 * direct loops (dnn_conv2d_backward_*); with --optimize=size the plain loops. */
void emit_conv2d_backward(Emitter *e, const Value *v, int arg) {
    ConvDims d = conv_dims(v);
    /* --optimize=size (firmware) takes the plain loops for the input and weight gradients: the lanes
       kernels' scratch arrays would put up to 20 KB on a device's stack (LeNet-5's second conv) */
    const char *plain = e->generic || (e->small && arg < 2) ? "_plain" : "";
    if (arg == 2 && v->grad_via_pool) /* dy is the pool's gradient (plan.c's fuse_pool_backward) */
        emit(e, "dnn_conv2d_relu_maxpool_backward(NULL, dx, dy, in0, in1, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d);",
             v->in[2] ? "in2" : "NULL", samples_of(v), d.C, d.H, d.W, d.F, d.K, d.S, d.P, (int)v->grad_via_pool->attr[0]);
    else if (arg == 2)
        emit(e, "dnn_conv2d_backward_bias%s(dx, dy, %s, %d, %d, %d);", plain, samples_of(v), d.F, d.OH, d.OW);
    else
        emit(e, "dnn_conv2d_backward_%s%s(dx, dy, %s, %s, %d, %d, %d, %d, %d, %d, %d);", arg ? "weight" : "input",
             plain, arg ? "in0" : "in1", samples_of(v), d.C, d.H, d.W, d.F, d.K, d.S, d.P);
}

/* ---- maxpool and avgpool --------------------------------------------------------------------- */

bool shape_pool(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, NULL))
        return false;
    if (!attr_at_least(v, 0, "size", 1) || !attr_at_least(v, 1, "stride", 0))
        return false;
    int k = (int)v->attr[0];
    if (v->attr[1] == 0)
        v->attr[1] = k; /* stride defaults to the window size */
    int s = (int)v->attr[1], p = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    if (p < 0 || 2L * p > k) {
        error_at(v->attr_loc[2], "maxpool(): pad must be between 0 and half the window (%d), got %d", k / 2, p);
        return false;
    }
    int h = x->shape.dim[1], w = x->shape.dim[2]; /* 2p <= k, so h + 2p - k <= h below */
    /* a window past the padded input, or one so large that it could only
     * ever cover all of a smaller input (and scanning it would not end) */
    bool huge = k > h && k > w && mul_capped(k, k) > MAX_ELEMENTS;
    if ((long)h + 2L * p < k || (long)w + 2L * p < k || huge) {
        error_at(v->attr_loc[0], "%s(): window %d is larger than the input %s", op_info[v->op].name, k,
                 shape_str(&x->shape));
        return false;
    }
    v->shape = (Shape){3, {x->shape.dim[0], (int)(((long)h + 2L * p - k) / s + 1), (int)(((long)w + 2L * p - k) / s + 1)}};
    v->batched = x->batched;
    return true;
}

/* The activation of a fused conv2d → activation → pool step, as the
 * kernel's dnn_act: dnn_relu (which the kernels apply to whole vectors),
 * NULL for none, else a function of one float printed before the step. */
static const char *fused_act(Emitter *e, const Value *act) {
    if (!act)
        return "NULL";
    if (act->op == OP_relu)
        return "dnn_relu";
    /* the double twin (--main: a frozen conv in training) has its own, in double */
    const char *name = arena_printf("%s_%s_%s%s", e->g->name, c_ident(act->label ? act->label : "t"),
                                    op_info[act->op].name, e->f64 ? "_f64" : "");
    const char *expr = op_info[act->op].cexpr;
    const char *text = arena_printf("/* the %s of a fused step */\nstatic float %s(float x) {\n", op_info[act->op].name, name);
    if ((act->op == OP_leaky_relu || act->op == OP_elu) && uses(expr, "a"))
        text = arena_printf("%s    const float a = %s;\n", text, flit(act->attr[0]));
    text = arena_printf("%s    return %s;\n}\n\n", text, expr);
    fputs(e->f64 ? f64_text(text) : text, e->defs);
    return name;
}

/* maxpool and avgpool (dnn_pool_forward: the windows of a maxpool that tile
 * its input without branches, else the plain loops); with a conv2d fused
 * into the step (--inference, plan_inference), conv2d → activation → pool
 * in one kernel that never stores the conv's output. With --optimize=size
 * the plain loops, whose sizes are parameters of the fused step (LeNet's
 * two conv → relu → pool steps are one function). */
void emit_pool_forward(Emitter *e, const Value *v) {
    bool max = v->op == OP_maxpool;
    int pool_pad = max ? (int)v->attr[2] : 0;
    /* a fused step the backward pass recomputes (training on the device) takes the plain loops, as the recomputation */
    const char *plain = e->generic || (v->fused_conv && v->needs_grad) ? "_plain" : "";
    if (v->fused_conv) {
        const Value *conv = v->fused_conv, *x = v->in[0];
        const char *act = fused_act(e, v->fused_act);
        emit(e, "dnn_conv2d_pool_forward%s(out, in0, in1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s);",
             plain, conv->in[2] ? "in2" : "NULL", samples_of(v), dim(e, "channels", x->shape.dim[0]),
             dim(e, "height", x->shape.dim[1]), dim(e, "width", x->shape.dim[2]), dim(e, "filters", conv->shape.dim[0]),
             dim(e, "kernel", (long)conv->attr[1]), dim(e, "stride", (long)conv->attr[2]),
             dim(e, "pad", (long)conv->attr[3]), dim(e, "pool_k", (long)v->attr[0]), dim(e, "pool_s", (long)v->attr[1]),
             dim(e, "pool_pad", pool_pad), max, act);
        return;
    }
    const Shape *x = &v->in[0]->shape;
    emit(e, "dnn_pool_forward%s(out, in0, %s, %d, %d, %d, %d, %d, %d, %d);", plain, samples_of(v), x->dim[0], x->dim[1],
         x->dim[2], (int)v->attr[0], (int)v->attr[1], pool_pad, max);
}

/* maxpool's gradient goes to the first maximum of each window, found again
 * from the input rather than stored; avgpool's is spread over the window. */
void emit_pool_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    if (v->fused_conv) { /* conv2d → relu → maxpool: the conv's output gradient, the maxima found again */
        ConvDims d = conv_dims(v->fused_conv);
        emit(e, "dnn_conv2d_relu_maxpool_backward(dx, NULL, dy, in0, in1, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d);",
             v->in[2] ? "in2" : "NULL", samples_of(v), d.C, d.H, d.W, d.F, d.K, d.S, d.P, (int)v->attr[0]);
        return;
    }
    bool max = v->op == OP_maxpool;
    const Shape *x = &v->in[0]->shape;
    const char *sizes = arena_printf("%s, %d, %d, %d, %d, %d, %d, %d", samples_of(v), x->dim[0], x->dim[1], x->dim[2],
                                     (int)v->attr[0], (int)v->attr[1], max ? (int)v->attr[2] : 0, max);
    if (e->generic) /* the plain loops find the maximum again without the result */
        emit(e, "dnn_pool_backward_plain(dx, dy, in0, %s);", sizes);
    else
        emit(e, "dnn_pool_backward(dx, dy, in0, out, %s);", sizes);
}
