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

#include "dnn_kernels.h" /* the plain float kernels, for --quantize=int8's calibration */

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

/* A window's geometry: its size kh × kw (a conv2d's kernel, a pool's
 * window), strides and padding, from the attribute and its extra numbers
 * (bind.c's windows). */
typedef struct Window {
    int kh, kw, sh, sw, pt, pb, pl, pr;
} Window;

/* Attribute `name`'s numbers: its own slot, then its extra ones. */
static double window_num(const Value *v, const char *name, int i) {
    const char *sig = op_info[v->op].sig;
    return i ? v->attr[window_slot(sig, name) + i - 1] : v->attr[attr_index(sig, name)];
}

static Window window_of(const Value *v) {
    const char *size = v->op == OP_conv2d ? "kernel" : "size";
    Window w = {(int)window_num(v, size, 0), (int)window_num(v, size, 1), (int)window_num(v, "stride", 0),
                (int)window_num(v, "stride", 1), 0, 0, 0, 0};
    if (attr_index(op_info[v->op].sig, "pad") >= 0)
        w.pt = (int)window_num(v, "pad", 0), w.pb = (int)window_num(v, "pad", 1), w.pl = (int)window_num(v, "pad", 2),
        w.pr = (int)window_num(v, "pad", 3);
    return w;
}

/* "3" or "[10, 4]": a window attribute as written, for messages */
static const char *window_text(const Value *v, const char *name, int len) {
    bool one = true;
    for (int i = 1; i < len; i++)
        one = one && window_num(v, name, i) == window_num(v, name, 0);
    if (one)
        return num_str(window_num(v, name, 0));
    const char *text = "[";
    for (int i = 0; i < len; i++)
        text = arena_printf("%s%s%s", text, i ? ", " : "", num_str(window_num(v, name, i)));
    return arena_printf("%s]", text);
}

/* Every number of window attribute `name` at least lo, else an error. */
static bool window_at_least(Value *v, const char *name, int len, double lo) {
    int k = attr_index(op_info[v->op].sig, name);
    for (int i = 0; i < len; i++)
        if (window_num(v, name, i) < lo) {
            if (len > 1 && window_text(v, name, len)[0] == '[')
                error_at(v->attr_loc[k], "%s(): every number of '%s' must be at least %g, got %s", op_info[v->op].name,
                         name, lo, window_text(v, name, len));
            else
                return attr_at_least(v, k, name, lo);
            return false;
        }
    return true;
}

/* pad = same, TensorFlow's: per axis a total of max((⌈in/s⌉ − 1)·s + k − in, 0),
 * the odd one after (bottom, right); written into the pad's numbers. */
static void resolve_same(Value *v, int h, int w) {
    const char *sig = op_info[v->op].sig;
    Window win = window_of(v);
    int total_h = ((h + win.sh - 1) / win.sh - 1) * win.sh + win.kh - h;
    int total_w = ((w + win.sw - 1) / win.sw - 1) * win.sw + win.kw - w;
    total_h = total_h > 0 ? total_h : 0;
    total_w = total_w > 0 ? total_w : 0;
    int at = window_slot(sig, "pad");
    v->attr[attr_index(sig, "pad")] = total_h / 2;
    v->attr[at] = total_h - total_h / 2;
    v->attr[at + 1] = total_w / 2;
    v->attr[at + 2] = total_w - total_w / 2;
}

bool shape_conv2d(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, image_hint(x)))
        return false;
    int kpad = attr_index(op_info[v->op].sig, "pad"), kgroups = attr_index(op_info[v->op].sig, "groups");
    if (!attr_at_least(v, 0, "filters", 1) || !window_at_least(v, "kernel", 2, 1) ||
        !window_at_least(v, "stride", 2, 1))
        return false;
    int c = x->shape.dim[0], h = x->shape.dim[1], w = x->shape.dim[2];
    if (v->attr[kpad] == ATTR_SAME)
        resolve_same(v, h, w);
    if (!window_at_least(v, "pad", 4, 0) || !attr_at_least(v, kgroups, "groups", 1))
        return false;
    int f = (int)v->attr[0], groups = (int)v->attr[kgroups];
    Window win = window_of(v);
    if (c % groups) {
        error_at(v->attr_loc[kgroups], "conv2d(): groups = %d must divide the input's %d channels (input %s)", groups,
                 c, shape_str(&x->shape));
        note("each group convolves channels / groups of them; groups = %d is depthwise", c);
        return false;
    }
    if (f % groups) {
        error_at(v->attr_loc[kgroups], "conv2d(): groups = %d must divide the %d filters", groups, f);
        note("each group makes filters / groups of them: e.g. filters = %d", f < groups ? groups : f / groups * groups);
        return false;
    }
    long ph = (long)h + win.pt + win.pb, pw = (long)w + win.pl + win.pr;
    if (ph < win.kh || pw < win.kw) {
        error_at(v->attr_loc[1], "conv2d(): kernel %s is larger than the padded input %ldx%ld (input %s, pad %s)",
                 window_text(v, "kernel", 2), ph, pw, shape_str(&x->shape), window_text(v, "pad", 4));
        return false;
    }
    if (mul_capped(mul_capped(mul_capped(f, c / groups), win.kh), win.kw) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d(): a weight of [%d, %d, %d, %d] is too large", f, c / groups, win.kh, win.kw);
        return false;
    }
    long oh = (ph - win.kh) / win.sh + 1, ow = (pw - win.kw) / win.sw + 1;
    if (oh > MAX_ELEMENTS || ow > MAX_ELEMENTS || mul_capped(mul_capped(f, oh), ow) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d() would give [%d, %ld, %ld], more than %ld elements per sample", f, oh, ow,
                 (long)MAX_ELEMENTS);
        return false;
    }
    /* PyTorch's fans: the weight's [1] and [0] times the kernel's area */
    int fan_in = c / groups * win.kh * win.kw, fan_out = f * win.kh * win.kw;
    set_param_shape(v->in[1], (Shape){4, {f, c / groups, win.kh, win.kw}}, fan_in, fan_out);
    set_param_shape(v->in[2], (Shape){1, {f}}, fan_in, fan_out);
    v->shape = (Shape){3, {f, (int)oh, (int)ow}};
    v->batched = x->batched;
    return true;
}

/* A conv2d's sizes, from its operands and attributes. */
typedef struct ConvDims {
    int F, C, H, W, OH, OW, G; /* filters, the input [C, H, W], the output's size, groups */
    Window win;
} ConvDims;

static ConvDims conv_dims(const Value *conv) {
    const Value *x = conv->in[0];
    return (ConvDims){conv->shape.dim[0], x->shape.dim[0], x->shape.dim[1], x->shape.dim[2], conv->shape.dim[1],
                      conv->shape.dim[2], (int)conv->attr[attr_index(op_info[OP_conv2d].sig, "groups")],
                      window_of(conv)};
}

/* The dense kernels (dnn_kernels_conv.h) serve one group with a square
 * kernel, stride and padding, but for a pointwise conv, which
 * dnn_conv2d_grouped_* computes as a matrix product. */
static bool dense_conv(const ConvDims *d) {
    const Window *w = &d->win;
    bool square = w->kh == w->kw && w->sh == w->sw && w->pt == w->pb && w->pt == w->pl && w->pt == w->pr;
    bool pointwise = w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && square && w->pt == 0;
    return d->G == 1 && square && !pointwise;
}

bool conv_pool_fusable(const Value *conv, const Value *pool) {
    ConvDims d = conv_dims(conv);
    Window p = window_of(pool);
    return dense_conv(&d) && p.kh == p.kw && p.sh == p.sw;
}

/* A maxpool whose square windows tile its input: stride the window, no padding */
bool pool_tiles(const Value *pool) {
    if (pool->op != OP_maxpool)
        return false;
    Window p = window_of(pool);
    return p.kh == p.kw && p.sh == p.kh && p.sw == p.kw && p.pt == 0 && p.pb == 0 &&
           p.pl == 0 && p.pr == 0;
}

/* ... and whether its backward can recompute the maxima
 * (dnn_conv2d_relu_maxpool_backward: windows that tile the conv's output) */
bool pool_backward_fusable(const Value *conv, const Value *pool) { return conv_pool_fusable(conv, pool) && pool_tiles(pool); }

/* A conv2d can write its output over its input (dnn_conv2d_in_place) when
 * both are [C, H, W]: as many filters as channels, stride 1, padding that
 * keeps the size. Output row y then replaces input row y once the rows
 * later outputs still read are kept aside: rows y − PT .. y of one group's
 * channels. */
long conv_in_place_ring(const Value *conv) {
    if (conv->op != OP_conv2d)
        return 0;
    ConvDims d = conv_dims(conv);
    const Window *w = &d.win;
    bool same_size = d.OH == d.H && d.OW == d.W && w->sh == 1 && w->sw == 1;
    if (d.F != d.C || !same_size || conv->fused || conv->batched != conv->in[0]->batched)
        return 0;
    return (long)(w->pt + 1) * (d.C / d.G) * d.W;
}

/* The grouped kernels' sizes after the sample count: C, H, W, F, KH, KW,
 * SH, SW, PT, PB, PL, PR, G */
static const char *grouped_sizes(const ConvDims *d) {
    const Window *w = &d->win;
    return arena_printf("%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d", d->C, d->H, d->W, d->F, w->kh, w->kw,
                        w->sh, w->sw, w->pt, w->pb, w->pl, w->pr, d->G);
}

/* conv2d: dnn_conv2d_forward (runtime/dnn_kernels_conv.h) with constant
 * sizes, which puts output columns or filters in the vector lanes where
 * they fit and does matrix products elsewhere (dnn_kernels_gemm.h); with
 * --optimize=size the direct loops, dnn_conv2d_forward_plain. Groups, rectangular windows,
 * asymmetric padding and pointwise convs: dnn_conv2d_grouped_forward
 * (runtime/dnn_kernels_group.h). */
void emit_conv2d_forward(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    const char *plain = e->generic ? "_plain" : "";
    if (v->ring) { /* over its own input (plan.c), with rows kept aside in ring */
        emit(e, "dnn_conv2d_in_place(out, in1, %s, ring, %s, %d, %d, %d, %d, %d, %d, %d, %d);", v->in[2] ? "in2" : "NULL",
             samples_of(v), d.C, d.H, d.W, d.win.kh, d.win.kw, d.win.pt, d.win.pl, d.G);
        return;
    }
    const bool dense = dense_conv(&d);
    const char *sizes = dense ? arena_printf("%d, %d, %d, %d, %d, %d, %d", d.C, d.H, d.W, d.F, d.win.kh, d.win.sh, d.win.pt)
                              : grouped_sizes(&d);
    const long x = (long)d.C * d.H * d.W, y = (long)d.F * d.OH * d.OW;
    emit_by_sample(e, v, "forward", arena_printf("dnn_conv2d_%sforward%s", dense ? "" : "grouped_", plain),
                   (const char *[]){"out", "in0", "in1", v->in[2] ? "in2" : "NULL"}, (const long[]){y, x, 0, 0}, 4,
                   sizes, y * d.C / d.G * d.win.kh * d.win.kw);
}

/* The gradient of the input (arg 0), the weights (1) or the bias (2):
 * input channels or filters in the vector lanes where they fit, else
 * matrix products (dnn_conv2d_backward_*), with --optimize=size the plain loops;
 * dnn_conv2d_grouped_backward_* for the convs dnn_conv2d_grouped_forward computes. */
void emit_conv2d_backward(Emitter *e, const Value *v, int arg) {
    ConvDims d = conv_dims(v);
    /* --optimize=size (firmware) takes the plain loops for the input and weight gradients: the lanes
       kernels' scratch arrays would put up to 20 KB on a device's stack (LeNet-5's second conv) */
    const char *plain = e->generic || (e->small && arg < 2) ? "_plain" : "";
    const char *sizes = arena_printf("%d, %d, %d, %d, %d, %d, %d", d.C, d.H, d.W, d.F, d.win.kh, d.win.sh, d.win.pt);
    const long x = (long)d.C * d.H * d.W, y = (long)d.F * d.OH * d.OW, taps = (long)d.C * d.win.kh * d.win.kw;
    if (arg == 2 && v->grad_via_pool) /* dy is the pool's gradient (plan.c's fuse_pool_backward) */
        emit(e, "dnn_conv2d_relu_maxpool_backward(NULL, dx, dy, in0, in1, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d);",
             v->in[2] ? "in2" : "NULL", samples_of(v), d.C, d.H, d.W, d.F, d.win.kh, d.win.sh, d.win.pt,
             window_of(v->grad_via_pool).kh);
    else if (arg == 2 && !*plain && split_worth(e, y)) /* by filter: each its own sum */
        emit_split(e, v, "dbias", "dx", (const char *[]){"dy", NULL, NULL}, arena_printf("%d", d.F),
                   arena_printf("(long)n * %ld", y / d.F),
                   arena_printf("dnn_conv2d_backward_bias_part(a->out, a->in[0], a->n, %d, %d, %d, lo, hi);", d.F,
                                d.OH, d.OW));
    else if (arg == 2)
        emit(e, "dnn_conv2d_backward_bias%s(dx, dy, %s, %d, %d, %d);", plain, samples_of(v), d.F, d.OH, d.OW);
    else if (!dense_conv(&d) && arg == 0) /* by sample */
        emit_by_sample(e, v, "dinp", arena_printf("dnn_conv2d_grouped_backward_input%s", plain),
                       (const char *[]){"dx", "dy", "in1"}, (const long[]){x, y, 0}, 3, grouped_sizes(&d),
                       y * taps / d.G);
    else if (!dense_conv(&d) && !*plain && split_worth(e, y * taps / d.G)) /* by filter: each its own sums */
        emit_split(e, v, "dweight", "dx", (const char *[]){"dy", "in0", NULL},
                   arena_printf("dnn_conv2d_grouped_backward_weight_items(%s)", grouped_sizes(&d)),
                   arena_printf("(long)n * %ld", y * taps / d.G / d.F),
                   arena_printf("dnn_conv2d_grouped_backward_weight_part(a->out, a->in[0], a->in[1], a->n, %s, lo, hi);",
                                grouped_sizes(&d)));
    else if (!dense_conv(&d))
        emit(e, "dnn_conv2d_grouped_backward_weight%s(dx, dy, in0, %s, %s);", plain, samples_of(v), grouped_sizes(&d));
    else if (arg == 0) /* by sample */
        emit_by_sample(e, v, "dinp", arena_printf("dnn_conv2d_backward_input%s", plain),
                       (const char *[]){"dx", "dy", "in1"}, (const long[]){x, y, 0}, 3, sizes, y * taps);
    else if (!*plain && split_worth(e, y * taps)) /* by rows of taps (input channel, kernel row): each its own sums */
        emit_split(e, v, "dweight", "dx", (const char *[]){"dy", "in0", NULL},
                   arena_printf("dnn_conv2d_backward_weight_items(%s)", sizes),
                   arena_printf("(long)n * %ld", y * taps / d.C / d.win.kh),
                   arena_printf("dnn_conv2d_backward_weight_part(a->out, a->in[0], a->in[1], a->n, %s, lo, hi);", sizes));
    else
        emit(e, "dnn_conv2d_backward_weight%s(dx, dy, in0, %s, %s);", plain, samples_of(v), sizes);
}

/* ---- maxpool and avgpool --------------------------------------------------------------------- */

bool shape_pool(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    const char *name = op_info[v->op].name;
    if (!float_operands(v) || !need_rank(v, x, 3, NULL))
        return false;
    if (!window_at_least(v, "size", 2, 1) || !window_at_least(v, "stride", 2, 0))
        return false;
    const char *sig = op_info[v->op].sig;
    int kstride = attr_index(sig, "stride"), sstride = window_slot(sig, "stride");
    if (v->attr[kstride] == 0 || v->attr[sstride] == 0) /* stride defaults to the window size, per axis */
        v->attr[kstride] = v->attr[kstride] ? v->attr[kstride] : window_num(v, "size", 0),
        v->attr[sstride] = v->attr[sstride] ? v->attr[sstride] : window_num(v, "size", 1);
    Window win = window_of(v);
    int kmin = win.kh < win.kw ? win.kh : win.kw, p = win.pt;
    if (v->op == OP_maxpool) {
        int kpad = attr_index(sig, "pad");
        if (v->attr[kpad] == ATTR_SAME || p != win.pb || p != win.pl || p != win.pr) {
            error_at(v->attr_loc[kpad], "maxpool(): pad must be one number (on every side), got %s",
                     v->attr[kpad] == ATTR_SAME ? "same" : window_text(v, "pad", 4));
            note("pad = same and [top, bottom, left, right] are conv2d's");
            return false;
        }
        if (p < 0 || 2L * p > kmin) {
            error_at(v->attr_loc[kpad], "maxpool(): pad must be between 0 and half the window (%d), got %d", kmin / 2, p);
            return false;
        }
    }
    int h = x->shape.dim[1], w = x->shape.dim[2]; /* 2p <= k, so h + 2p - k <= h below */
    /* a window past the padded input, or one so large that it could only
     * ever cover all of a smaller input (and scanning it would not end) */
    bool huge = win.kh > h && win.kw > w && mul_capped(win.kh, win.kw) > MAX_ELEMENTS;
    if ((long)h + 2L * p < win.kh || (long)w + 2L * p < win.kw || huge) {
        error_at(v->attr_loc[0], "%s(): window %s is larger than the input %s", name, window_text(v, "size", 2),
                 shape_str(&x->shape));
        return false;
    }
    v->shape = (Shape){3, {x->shape.dim[0], (int)(((long)h + 2L * p - win.kh) / win.sh + 1),
                           (int)(((long)w + 2L * p - win.kw) / win.sw + 1)}};
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

/* A pool's pass over its input, as split_worth counts work: a pass over
 * memory, 4 multiply-adds' worth an input element read (LeNet-5's second
 * pool, 51,200 inputs at batch 32, took 26 µs backward and 11 forward on
 * one thread: worth a second one, where its window count alone was not) */
static long pool_work(const Value *v) {
    Window win = window_of(v);
    return 4L * size_of(v) * win.kh * win.kw;
}

/* maxpool and avgpool (dnn_pool_forward: the windows of a maxpool that tile
 * its input without branches, else the plain loops; a rectangular window
 * or stride, dnn_pool_rect_forward_plain); with a conv2d fused
 * into the step (--inference, plan_inference), conv2d → activation → pool
 * in one kernel that never stores the conv's output. With --optimize=size
 * the plain loops, whose sizes are parameters of the fused step (LeNet's
 * two conv → relu → pool steps are one function). */
void emit_pool_forward(Emitter *e, const Value *v) {
    bool max = v->op == OP_maxpool;
    Window win = window_of(v);
    /* a fused step the backward pass recomputes (training on the device) takes the plain loops, as the recomputation */
    const char *plain = e->generic || (v->fused_conv && v->needs_grad) ? "_plain" : "";
    if (v->fused_conv) {
        const Value *conv = v->fused_conv, *x = v->in[0];
        const char *act = fused_act(e, v->fused_act);
        emit(e, "dnn_conv2d_pool_forward%s(out, in0, in1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s);",
             plain, conv->in[2] ? "in2" : "NULL", samples_of(v), dim(e, "channels", x->shape.dim[0]),
             dim(e, "height", x->shape.dim[1]), dim(e, "width", x->shape.dim[2]), dim(e, "filters", conv->shape.dim[0]),
             dim(e, "kernel", (long)conv->attr[1]), dim(e, "stride", (long)conv->attr[2]),
             dim(e, "pad", (long)conv->attr[3]), dim(e, "pool_k", win.kh), dim(e, "pool_s", win.sh),
             dim(e, "pool_pad", win.pt), max, act);
        return;
    }
    const Shape *x = &v->in[0]->shape;
    if (win.kh != win.kw || win.sh != win.sw)
        emit(e, "dnn_pool_rect_forward_plain(out, in0, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d);", samples_of(v),
             x->dim[0], x->dim[1], x->dim[2], win.kh, win.kw, win.sh, win.sw, win.pt, max);
    else
        emit_by_sample(e, v, "forward", arena_printf("dnn_pool_forward%s", plain), (const char *[]){"out", "in0"},
                       (const long[]){size_of(v), size_of(v->in[0])}, 2,
                       arena_printf("%d, %d, %d, %d, %d, %d, %d", x->dim[0], x->dim[1], x->dim[2], win.kh, win.sh,
                                    win.pt, max),
                       pool_work(v));
}

/* maxpool's gradient goes to the first maximum of each window, found again
 * from the input rather than stored; avgpool's is spread over the window. */
void emit_pool_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    Window win = window_of(v);
    if (v->fused_conv) { /* conv2d → relu → maxpool: the conv's output gradient, the maxima found again */
        ConvDims d = conv_dims(v->fused_conv);
        emit(e, "dnn_conv2d_relu_maxpool_backward(dx, NULL, dy, in0, in1, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d);",
             v->in[2] ? "in2" : "NULL", samples_of(v), d.C, d.H, d.W, d.F, d.win.kh, d.win.sh, d.win.pt, win.kh);
        return;
    }
    bool max = v->op == OP_maxpool;
    const Shape *x = &v->in[0]->shape;
    if (v->relu_grad && e->generic) /* relu → maxpool: relu's input gradient (plan.c's fuse_relu_backward) */
        emit(e, "dnn_maxpool_relu_backward_plain(dx, dy, in0, %s, %d, %d, %d, %d);", samples_of(v), x->dim[0],
             x->dim[1], x->dim[2], win.kh);
    else if (v->relu_grad)
        emit_by_sample(e, v, "dinp", "dnn_maxpool_relu_backward", (const char *[]){"dx", "dy", "in0", "out"},
                       (const long[]){size_of(v->in[0]), size_of(v), size_of(v->in[0]), size_of(v)}, 4,
                       arena_printf("%d, %d, %d, %d", x->dim[0], x->dim[1], x->dim[2], win.kh),
                       pool_work(v));
    else if (win.kh != win.kw || win.sh != win.sw)
        emit(e, "dnn_pool_rect_backward_plain(dx, dy, in0, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d);", samples_of(v),
             x->dim[0], x->dim[1], x->dim[2], win.kh, win.kw, win.sh, win.sw, win.pt, max);
    else if (e->generic) /* the plain loops find the maximum again without the result */
        emit(e, "dnn_pool_backward_plain(dx, dy, in0, %s, %d, %d, %d, %d, %d, %d, %d);", samples_of(v), x->dim[0],
             x->dim[1], x->dim[2], win.kh, win.sh, win.pt, max);
    else
        emit_by_sample(e, v, "dinp", "dnn_pool_backward", (const char *[]){"dx", "dy", "in0", "out"},
                       (const long[]){size_of(v->in[0]), size_of(v), size_of(v->in[0]), size_of(v)}, 4,
                       arena_printf("%d, %d, %d, %d, %d, %d, %d", x->dim[0], x->dim[1], x->dim[2], win.kh, win.sh,
                                    win.pt, max),
                       pool_work(v));
}

/* ---- global_avgpool ------------------------------------------------------------------------- */

bool shape_global_avgpool(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, "global_avgpool() averages each channel of a [C, H, W] image"))
        return false;
    v->shape = (Shape){1, {x->shape.dim[0]}};
    v->batched = x->batched;
    return true;
}

/* One H × W window per channel: its sum in row order, divided by H·W. */
void emit_global_avgpool_forward(Emitter *e, const Value *v) {
    const Shape *x = &v->in[0]->shape;
    emit(e, "dnn_pool_rect_forward_plain(out, in0, %s, %d, %d, %d, %d, %d, 1, 1, 0, 0);", samples_of(v), x->dim[0],
         x->dim[1], x->dim[2], x->dim[1], x->dim[2]);
}

void emit_global_avgpool_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    const Shape *x = &v->in[0]->shape;
    emit(e, "dnn_pool_rect_backward_plain(dx, dy, in0, %s, %d, %d, %d, %d, %d, 1, 1, 0, 0);", samples_of(v),
         x->dim[0], x->dim[1], x->dim[2], x->dim[1], x->dim[2]);
}

/* ---- --quantize=int8 (quantize.c, emit_int8.c): conv2d and the pools ---- */

/* A pool's geometry as a dnn_q8_pool initializer, over x (global_avgpool:
 * kernel = stride = [h, w], as AdaptiveAvgPool2d(1)). */
static const char *q8_pool_geometry(const Value *v, const Value *x) {
    bool global = v->op == OP_global_avgpool;
    Window w = global ? (Window){x->shape.dim[1], x->shape.dim[2], x->shape.dim[1], x->shape.dim[2], 0, 0, 0, 0}
                      : window_of(v);
    return arena_printf("{%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d}", x->shape.dim[0], x->shape.dim[1],
                        x->shape.dim[2], global ? 1 : v->shape.dim[1], global ? 1 : v->shape.dim[2], w.kh, w.kw, w.sh,
                        w.sw, w.pt, w.pl);
}

const char *q8_pool_refusal(const Value *v) {
    const Shape *x = &v->in[0]->shape;
    if (v->op == OP_avgpool && window_of(v).kh * window_of(v).kw == 1)
        return "qnnpack refuses a 1x1 average pooling";
    if (v->op == OP_global_avgpool && x->dim[1] * x->dim[2] == 1)
        return "PyTorch averages a 1x1 input with its generic kernel, not qnnpack's";
    return NULL;
}

/* The fused float model's conv2d (batchnorm folded: v->q's weights). */
void q8_conv2d_float(const Value *v, float *y, const float *const *in) {
    ConvDims d = conv_dims(v);
    const Window *w = &d.win;
    dnn_conv2d_grouped_forward_plain(y, in[0], v->q->wf, v->q->bf, 1, d.C, d.H, d.W, d.F, w->kh, w->kw, w->sh, w->sw,
                                     w->pt, w->pb, w->pl, w->pr, d.G);
}

void q8_pool_float(const Value *v, float *y, const float *const *in) {
    const Shape *x = &v->in[0]->shape;
    if (v->op == OP_global_avgpool) {
        int hw = x->dim[1] * x->dim[2];
        for (int c = 0; c < x->dim[0]; c++) {
            float sum = 0.0f;
            for (int i = 0; i < hw; i++)
                sum += in[0][c * hw + i];
            y[c] = sum / (float)hw;
        }
        return;
    }
    Window w = window_of(v);
    dnn_pool_rect_forward_plain(y, in[0], 1, x->dim[0], x->dim[1], x->dim[2], w.kh, w.kw, w.sh, w.sw, w.pt,
                                v->op == OP_maxpool);
}

/* quantized::conv2d[_relu] (dnn_q8_conv2d), or with the maxpool after it in
 * one pass (dnn_q8_conv2d_maxpool) */
void q8_conv2d_emit(FILE *c, const Value *v, const char *id) {
    const Quant *q = v->q;
    ConvDims d = conv_dims(v);
    const Window *w = &d.win;
    fprintf(c, "    static const dnn_q8_conv geometry = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n", d.C,
            d.H, d.W, d.F, d.OH, d.OW, w->kh, w->kw, w->sh, w->sw, w->pt, w->pl, d.G);
    const char *args = arena_printf("%s_weight, %s_bias, %s_requant,\n        &geometry", id, id, id);
    const char *tail = arena_printf("%d, %d, %d, scratch", (int)v->in[0]->q->zp, (int)q->zp, q->relu != NULL);
    if (q->pool) {
        fprintf(c, "    static const dnn_q8_pool pool = %s;\n", q8_pool_geometry(q->pool, v));
        fprintf(c, "    dnn_q8_conv2d_maxpool(out, inp, %s, &pool, %s);\n", args, tail);
    } else
        fprintf(c, "    dnn_q8_conv2d(out, inp, %s, %s);\n", args, tail);
}

/* qnnpack's max pooling (a padded position reads the nearest row or column)
 * and average pooling (the divisor always the window's size) */
void q8_pool_emit(FILE *c, const Value *v, const char *id) {
    (void)id;
    fprintf(c, "    static const dnn_q8_pool geometry = %s;\n", q8_pool_geometry(v, v->in[0]));
    if (v->op == OP_maxpool)
        fprintf(c, "    dnn_q8_maxpool(out, inp, &geometry);\n");
    else
        fprintf(c, "    dnn_q8_avgpool(out, inp, &geometry, %af, %d);\n", (double)v->q->scale, (int)v->q->zp);
}
