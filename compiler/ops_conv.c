/* ops_conv.c — the rules of conv2d, maxpool and avgpool (ops.def), NCHW
 * and PyTorch's layouts.
 *
 * conv2d is a direct convolution, weight-stationary; at speed
 * (--optimize=speed) its forward pass and gradients put filters, input
 * channels or output columns in the vector lanes (ops_conv_lanes.c).
 * --inference fuses conv2d → activation → pool into the pool's step
 * (plan_inference): no conv output is stored.
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

/* Loop bounds that keep iy = o*S - P + k inside [0, size): emitted inline. */
static void emit_valid_range(Emitter *e, const char *o, const char *k, int size, int stride, int pad, int out) {
    emit(e, "const int %s0 = %s >= %d ? 0 : (%d - %s + %d) / %d;", o, k, pad, pad, k, stride - 1, stride);
    emit(e, "int %s1 = %d - %s < 0 ? 0 : (%d - %s) / %d + 1;", o, size - 1 + pad, k, size - 1 + pad, k, stride);
    emit(e, "if (%s1 > %d) %s1 = %d;", o, out, o, out);
}

/* Direct convolution, weight-stationary: for each weight (f, c, ky, kx), a
 * sweep over the output positions it touches, so the inner loop runs along
 * a row. open_taps() opens the loops over the weights and sets the range
 * oy0..oy1, ox0..ox1 of the sweep; the caller prints the sweep, with the
 * weight's index, the input row's offset and the input column of output ox
 * (C expressions) it returns. */
typedef struct {
    const char *w, *x, *ox;
} Taps;

static Taps open_taps(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    emit(e, "for (int f = 0; f < %d; f++)", d.F);
    emit(e, "for (int c = 0; c < %d; c++)", d.C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", d.K);
    e->indent++;
    emit_valid_range(e, "oy", "ky", d.H, d.S, d.P, d.OH);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", d.K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", d.W, d.S, d.P, d.OW);
    return (Taps){arena_printf("((f * %d + c) * %d + ky) * %d + kx", d.C, d.K, d.K),
                  arena_printf("(c * %d + oy * %d - %d + ky) * %d - %d + kx", d.H, d.S, d.P, d.W, d.P),
                  d.S == 1 ? "ox" : arena_printf("ox * %d", d.S)};
}

static void close_taps(Emitter *e) {
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* The portable forward pass: the bias, then each weight's products. */
static void emit_conv2d_direct(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    emit(e, "const float *xs = in0 + s * %d;", d.C * d.H * d.W);
    emit(e, "float *ys = out + s * %d;", d.F * d.NP);
    emit(e, "for (int f = 0; f < %d; f++)", d.F);
    emit(e, "    for (int i = 0; i < %d; i++) ys[f * %d + i] = %s;", d.NP, d.NP, v->in[2] ? "in2[f]" : "0.0f");
    Taps t = open_taps(e, v);
    emit(e, "const float w = in1[%s];", t.w);
    emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
    emit(e, "    const float *xr = xs + %s;", t.x);
    emit(e, "    float *yr = ys + (f * %d + oy) * %d;", d.OH, d.OW);
    emit(e, "    for (int ox = ox0; ox < ox1; ox++) yr[ox] += w * xr[%s];", t.ox);
    emit(e, "}");
    close_taps(e);
    e->indent--;
    emit(e, "}");
}

/* db = Σ dy over samples and positions: at speed per position over the
 * samples, then 8 partial sums. */
static void emit_conv2d_bias_grad(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    int F = d.F, NP = d.NP, NP8 = NP / 8 * 8;
    if (e->generic) {
        emit(e, "for (int f = 0; f < %d; f++) {", F);
        emit(e, "    float acc = 0.0f;");
        emit(e, "    for (int s = 0; s < n; s++)");
        emit(e, "        for (int i = 0; i < %d; i++) acc += dy[(s * %d + f) * %d + i];", NP, F, NP);
        emit(e, "    dx[f] = acc;");
        emit(e, "}");
        return;
    }
    emit(e, "for (int f = 0; f < %d; f++) {", F);
    e->indent++;
    emit(e, "float col[%d] = {0}, part[8] = {0};", NP);
    emit(e, "for (int s = 0; s < n; s++)");
    emit(e, "    for (int i = 0; i < %d; i++) col[i] += dy[(s * %d + f) * %d + i];", NP, F, NP);
    emit(e, "for (int i = 0; i < %d; i += 8)", NP8);
    emit(e, "    for (int l = 0; l < 8; l++) part[l] += col[i + l];");
    emit(e, "float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
    if (NP8 < NP)
        emit(e, "for (int i = %d; i < %d; i++) acc += col[i];", NP8, NP);
    emit(e, "dx[f] = acc;");
    e->indent--;
    emit(e, "}");
}

/* The portable gradients: of the input (arg 0), each weight's products
 * added to the input positions it read; of the weights (arg 1), each
 * weight's sum of x·dy over its sweep; of the bias (arg 2). */
static void emit_conv2d_direct_backward(Emitter *e, const Value *v, int arg) {
    ConvDims d = conv_dims(v);
    if (arg == 2) {
        emit_conv2d_bias_grad(e, v);
        return;
    }
    if (arg == 1)
        emit(e, "memset(dx, 0, sizeof(float) * %d);", d.F * d.taps);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    if (arg == 1)
        emit(e, "const float *xs = in0 + s * %d;", d.C * d.H * d.W);
    emit(e, "const float *gs = dy + s * %d;", d.F * d.NP);
    if (arg == 0) {
        emit(e, "float *ds = dx + s * %d;", d.C * d.H * d.W);
        emit(e, "memset(ds, 0, sizeof(float) * %d);", d.C * d.H * d.W);
    }
    Taps t = open_taps(e, v);
    if (arg == 0) {
        emit(e, "const float w = in1[%s];", t.w);
        emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
        emit(e, "    float *dr = ds + %s;", t.x);
        emit(e, "    const float *gr = gs + (f * %d + oy) * %d;", d.OH, d.OW);
        emit(e, "    for (int ox = ox0; ox < ox1; ox++) dr[%s] += w * gr[ox];", t.ox);
        emit(e, "}");
    } else {
        emit(e, "float acc = 0.0f;");
        emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
        emit(e, "    const float *xr = xs + %s;", t.x);
        emit(e, "    const float *gr = gs + (f * %d + oy) * %d;", d.OH, d.OW);
        emit(e, "    for (int ox = ox0; ox < ox1; ox++) acc += xr[%s] * gr[ox];", t.ox);
        emit(e, "}");
        emit(e, "dx[%s] += acc;", t.w);
    }
    close_taps(e);
    e->indent--;
    emit(e, "}");
}

/* The weight gradient of a stride-1 conv2d with AVX vectors (DNN_V8):
 * sample by sample (so its input and output gradient stay in cache), each
 * weight's sum over the output positions it touches runs along the rows 8
 * at a time, its lanes added in a fixed order. The portable code follows
 * after #else. */
static void emit_conv_dw_v8(Emitter *e, const ConvDims *d) {
    int F = d->F, C = d->C, H = d->H, W = d->W, K = d->K, P = d->P, OH = d->OH, OW = d->OW;
    emit(e, "#ifdef DNN_V8");
    emit(e, "memset(dx, 0, sizeof(float) * %d);", F * C * K * K);
    emit(e, "for (int s = 0; s < n; s++)");
    emit(e, "for (int f = 0; f < %d; f++)", F);
    emit(e, "for (int c = 0; c < %d; c++)", C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit_valid_range(e, "oy", "ky", H, 1, P, OH);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", W, 1, P, OW);
    emit(e, "dnn_v8 acc = {0};");
    emit(e, "float t = 0.0f;");
    emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
    emit(e, "    const float *g = dy + ((s * %d + f) * %d + oy) * %d;", F, OH, OW);
    emit(e, "    const float *xr = in0 + ((s * %d + c) * %d + oy - %d + ky) * %d - %d + kx;", C, H, P, W, P);
    emit(e, "    int ox = ox0;");
    emit(e, "    for (; ox + 8 <= ox1; ox += 8) acc += dnn_v8_load(g + ox) * dnn_v8_load(xr + ox);");
    emit(e, "    for (; ox < ox1; ox++) t += g[ox] * xr[ox];");
    emit(e, "}");
    emit(e, "dx[((f * %d + c) * %d + ky) * %d + kx] += dnn_v8_sum(acc) + t;", C, K, K);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    emit(e, "#else");
}

/* conv2d: at speed with output columns or filters in the vector lanes
 * (ops_conv_lanes.c), else the direct convolution. */
void emit_conv2d_forward(Emitter *e, const Value *v) {
    ConvDims d = conv_dims(v);
    if (conv_cols_fit(e, &d, NULL, NULL))
        emit_conv_fwd_cols(e, v, NULL, NULL);
    else if (conv_lanes_fit(e, &d, d.F))
        emit_conv_fwd_lanes(e, v, NULL, NULL);
    else
        emit_conv2d_direct(e, v);
}

/* The gradient of the input (arg 0), the weights (1) or the bias (2): at
 * speed with input channels or filters in the vector lanes, else direct. */
void emit_conv2d_backward(Emitter *e, const Value *v, int arg) {
    ConvDims d = conv_dims(v);
    if (arg == 1 && d.K <= TILE_ACCS && conv_lanes_fit(e, &d, d.F))
        emit_conv_dw_lanes(e, v);
    else if (arg == 0 && d.K <= TILE_ACCS && conv_lanes_fit(e, &d, d.C))
        emit_conv_dx_lanes(e, v);
    else if (arg == 1 && d.S == 1 && !e->generic) {
        emit_conv_dw_v8(e, &d);
        emit_conv2d_direct_backward(e, v, arg);
        emit(e, "#endif");
    } else
        emit_conv2d_direct_backward(e, v, arg);
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

/* --inference: conv2d → activation → pool as one step (plan_inference). Each
 * conv output is computed where the pool needs it — bias, then the sum over
 * channels and kernel rows and columns in conv2d's own order, so the values
 * are the unfused ones — passed through the activation and pooled at once;
 * the full-resolution conv output is never stored. */
static void emit_conv_act_pool(Emitter *e, const Value *v) {
    const Value *conv = v->fused_conv, *act = v->fused_act, *x = v->in[0];
    int max = v->op == OP_maxpool, pad = (int)conv->attr[3], pool_pad = max ? (int)v->attr[2] : 0;
    /* with --optimize=size every size is a parameter (and every bound is checked), so LeNet's two
       conv → relu → pool steps are one function */
    const char *F = dim(e, "filters", conv->shape.dim[0]), *OH = dim(e, "conv_h", conv->shape.dim[1]),
               *OW = dim(e, "conv_w", conv->shape.dim[2]), *C = dim(e, "channels", x->shape.dim[0]),
               *H = dim(e, "height", x->shape.dim[1]), *W = dim(e, "width", x->shape.dim[2]),
               *K = dim(e, "kernel", (long)conv->attr[1]), *S = dim(e, "stride", (long)conv->attr[2]),
               *P = dim(e, "pad", pad), *PH = dim(e, "pool_h", v->shape.dim[1]), *PW = dim(e, "pool_w", v->shape.dim[2]),
               *PK = dim(e, "pool_k", (long)v->attr[0]), *PS = dim(e, "pool_s", (long)v->attr[1]),
               *PP = dim(e, "pool_pad", pool_pad);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int f = 0; f < %s; f++) {", F);
    e->indent++;
    emit(e, "const float *xs = in0 + s * %s * %s * %s, *wf = in1 + f * %s * %s * %s;", C, H, W, C, K, K);
    emit(e, "for (int py = 0; py < %s; py++)", PH);
    emit(e, "for (int px = 0; px < %s; px++) {", PW);
    e->indent++;
    emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
    if (max)
        emit(e, "int first = 1;");
    emit(e, "for (int wy = 0; wy < %s; wy++)", PK);
    emit(e, "for (int wx = 0; wx < %s; wx++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %s - %s + wy, ox = px * %s - %s + wx;", PS, PP, PS, PP);
    if (pool_pad || e->generic)
        emit(e, "if (oy < 0 || oy >= %s || ox < 0 || ox >= %s) continue;", OH, OW);
    emit(e, "float y = %s;", conv->in[2] ? "in2[f]" : "0.0f");
    emit(e, "for (int c = 0; c < %s; c++)", C);
    emit(e, "for (int ky = 0; ky < %s; ky++) {", K);
    e->indent++;
    emit(e, "const int iy = oy * %s - %s + ky;", S, P);
    if (pad || e->generic)
        emit(e, "if (iy < 0 || iy >= %s) continue;", H);
    emit(e, "for (int kx = 0; kx < %s; kx++) {", K);
    emit(e, "    const int ix = ox * %s - %s + kx;", S, P);
    if (pad || e->generic)
        emit(e, "    if (ix < 0 || ix >= %s) continue;", W);
    emit(e, "    y += wf[(c * %s + ky) * %s + kx] * xs[(c * %s + iy) * %s + ix];", K, K, H, W);
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    if (act)
        emit_act_inplace(e, act, "y");
    emit_pool_take(e, max);
    e->indent--;
    emit(e, "}");
    emit(e, "out[((s * %s + f) * %s + py) * %s + px] = %s;", F, PH, PW,
         max ? "top" : arena_printf("acc / (float)(%s * %s)", PK, PK));
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* The same fused step at speed (--optimize=speed): per pool row, the conv
 * rows its windows cover are computed whole into a small array — each
 * weight swept along a row, which the C compiler vectorises, summing bias,
 * channels, kernel rows and columns in conv2d's order — activated, then
 * pooled. Still no full conv output: the array holds pool_k rows. */
static void emit_conv_act_pool_rows(Emitter *e, const Value *v) {
    const Value *conv = v->fused_conv, *act = v->fused_act, *x = v->in[0];
    int F = conv->shape.dim[0], OH = conv->shape.dim[1], OW = conv->shape.dim[2];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int K = (int)conv->attr[1], S = (int)conv->attr[2], P = (int)conv->attr[3];
    int PH = v->shape.dim[1], PW = v->shape.dim[2];
    int PK = (int)v->attr[0], PS = (int)v->attr[1], PP = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    bool max = v->op == OP_maxpool;
    emit(e, "float rows[%d][%d];", PK, OW);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int f = 0; f < %d; f++) {", F);
    e->indent++;
    emit(e, "const float *xs = in0 + s * %d, *wf = in1 + f * %d;", C * H * W, C * K * K);
    emit(e, "for (int py = 0; py < %d; py++) {", PH);
    e->indent++;
    emit(e, "for (int wy = 0; wy < %d; wy++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %d - %d + wy;", PS, PP);
    emit(e, "float *row = rows[wy];");
    if (PP)
        emit(e, "if (oy < 0 || oy >= %d) continue;", OH);
    emit(e, "for (int ox = 0; ox < %d; ox++) row[ox] = %s;", OW, conv->in[2] ? "in2[f]" : "0.0f");
    emit(e, "for (int c = 0; c < %d; c++)", C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit(e, "const int iy = oy * %d - %d + ky;", S, P);
    if (P)
        emit(e, "if (iy < 0 || iy >= %d) continue;", H);
    emit(e, "const float *xr = xs + (c * %d + iy) * %d;", H, W);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", W, S, P, OW);
    emit(e, "const float w = wf[(c * %d + ky) * %d + kx];", K, K);
    emit(e, "for (int ox = ox0; ox < ox1; ox++) row[ox] += w * xr[ox * %d - %d + kx];", S, P);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    if (act) {
        const char *expr = op_info[act->op].cexpr;
        emit(e, "for (int ox = 0; ox < %d; ox++) { /* %s */", OW, op_info[act->op].name);
        if ((act->op == OP_leaky_relu || act->op == OP_elu) && uses(expr, "a"))
            emit(e, "    const float a = %s;", flit(act->attr[0]));
        emit(e, "    const float x = row[ox];");
        emit(e, "    row[ox] = %s;", expr);
        emit(e, "}");
    }
    e->indent--;
    emit(e, "}");
    emit(e, "for (int px = 0; px < %d; px++) {", PW);
    e->indent++;
    emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
    if (max)
        emit(e, "int first = 1;");
    emit(e, "for (int wy = 0; wy < %d; wy++)", PK);
    emit(e, "for (int wx = 0; wx < %d; wx++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %d - %d + wy, ox = px * %d - %d + wx;", PS, PP, PS, PP);
    if (PP)
        emit(e, "if (oy < 0 || oy >= %d || ox < 0 || ox >= %d) continue;", OH, OW);
    else
        emit(e, "(void)oy;");
    emit(e, "const float y = rows[wy][ox];");
    emit_pool_take(e, max);
    e->indent--;
    emit(e, "}");
    emit(e, "out[((s * %d + f) * %d + py) * %d + px] = %s;", F, PH, PW, max ? "top" : arena_printf("acc / (float)(%d * %d)", PK, PK));
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* maxpool with windows that tile the input (stride = kernel, no padding),
 * at speed: the forward pass takes each window's first maximum (NaN wins)
 * without branches; the gradient finds that element again as the window's
 * first one equal to the stored output (`out`; the first NaN if that is
 * NaN, else the last), and writes every input's
 * gradient once — dy there, 0 elsewhere — so no zeroing pass and no
 * scattered adds. A row of windows at a time: */
static bool maxpool_tiled(const Emitter *e, const Value *v) {
    return !e->generic && v->op == OP_maxpool && v->attr[0] > 1 && v->attr[1] == v->attr[0] && v->attr[2] == 0;
}

static void open_tiled_rows(Emitter *e, const Value *v) {
    const Value *x = v->in[0];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int OH = v->shape.dim[1], OW = v->shape.dim[2], K = (int)v->attr[0];
    emit(e, "for (int sc = 0; sc < %s * %d; sc++)", samples_of(v), C);
    emit(e, "for (int oy = 0; oy < %d; oy++) {", OH);
    e->indent++;
    emit(e, "const float *xr = in0 + (sc * %d + oy * %d) * %d;", H, K, W);
    emit(e, "const int o = (sc * %d + oy) * %d;", OH, OW);
}

static void emit_maxpool_tiled_forward(Emitter *e, const Value *v) {
    int W = v->in[0]->shape.dim[2], OW = v->shape.dim[2], K = (int)v->attr[0];
    open_tiled_rows(e, v);
    emit(e, "int ox = 0;");
    emit(e, "for (; ox < %d; ox++) {", OW);
    e->indent++;
    emit(e, "float top = xr[ox * %d];", K);
    for (int i = 1; i < K * K; i++) {
        emit(e, "{");
        emit(e, "    const float val = xr[%d + ox * %d];", i / K * W + i % K, K);
        emit(e, "    top = val > top || val != val ? val : top;");
        emit(e, "}");
    }
    emit(e, "out[o + ox] = top;");
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* The gradient of 2×2 windows, 4 windows (8 columns of both rows) at a
 * time with DNN_V8: the same choice as the scalar code below — the window's
 * first element equal to its output (or the first NaN when that is NaN),
 * else the last one — made for the 8 lanes of each row at once, a lane's
 * even neighbour telling the odd lane whether it came first
 * (tests/kernels checks the two agree on ties and NaNs). */
static void emit_maxpool2_grad_v8(Emitter *e, int W) {
    emit(e, "#ifdef DNN_V8");
    emit(e, "for (; ox + 4 <= %d; ox += 4) {", W / 2);
    e->indent++;
    emit(e, "const dnn_v8 t = dnn_v8_load(xr + 2 * ox), b = dnn_v8_load(xr + %d + 2 * ox);", W);
    emit(e, "const float *to = out + o + ox, *go = dy + o + ox;");
    emit(e, "const dnn_v8 top = {to[0], to[0], to[1], to[1], to[2], to[2], to[3], to[3]};");
    emit(e, "const dnn_v8 g = {go[0], go[0], go[1], go[1], go[2], go[2], go[3], go[3]}, zero = {0};");
    emit(e, "const dnn_v8i odd = {0, -1, 0, -1, 0, -1, 0, -1}, nan = top != top;");
    emit(e, "const dnn_v8i mt = (t == top) | ((t != t) & nan), mb = (b == top) | ((b != b) & nan);");
    emit(e, "const dnn_v8i mt_even = dnn_v8i_evens(mt), mt_odd = dnn_v8i_odds(mt), mb_even = dnn_v8i_evens(mb);");
    emit(e, "const dnn_v8i first_t = mt & ~(mt_even & odd);");
    emit(e, "const dnn_v8i first_b = ~(mt_even | mt_odd) & ((mb & ~odd) | (~mb_even & odd));");
    emit(e, "dnn_v8_store(dr + 2 * ox, dnn_v8_select(first_t, g, zero));");
    emit(e, "dnn_v8_store(dr + %d + 2 * ox, dnn_v8_select(first_b, g, zero));", W);
    e->indent--;
    emit(e, "}");
    emit(e, "#endif");
}

static void emit_maxpool_tiled_backward(Emitter *e, const Value *v) {
    const Value *x = v->in[0];
    int H = x->shape.dim[1], W = x->shape.dim[2];
    int OW = v->shape.dim[2], K = (int)v->attr[0];
    if (H % K || W % K) /* the rows and columns no window covers */
        emit(e, "memset(dx, 0, sizeof(float) * %s);", count_of(x));
    open_tiled_rows(e, v);
    emit(e, "float *dr = dx + (sc * %d + oy * %d) * %d;", H, K, W);
    emit(e, "int ox = 0;");
    if (K == 2 && OW >= 4)
        emit_maxpool2_grad_v8(e, W);
    emit(e, "for (; ox < %d; ox++) {", OW);
    e->indent++;
    emit(e, "const float top = out[o + ox], g = dy[o + ox];");
    emit(e, "const int nan = top != top;");
    const char *before = "";
    for (int i = 0; i < K * K; i++) {
        int at = i / K * W + i % K;
        if (i < K * K - 1) {
            emit(e, "const float v%d = xr[%d + ox * %d];", i, at, K);
            emit(e, "const int m%d = %s((v%d == top) | ((v%d != v%d) & nan));", i, before, i, i, i);
        } else
            emit(e, "const int m%d = %s1;", i, before);
        before = arena_printf("%s(m%d ^ 1) & ", before, i);
    }
    for (int i = 0; i < K * K; i++)
        emit(e, "dr[%d + ox * %d] = m%d ? g : 0.0f;", i / K * W + i % K, K, i);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* maxpool and avgpool, floor mode, per sample, channel and output
 * position: open_windows() opens those loops, emit_window() scans one
 * window — for maxpool its first maximum `top` at `best` (NaN counts as a
 * maximum and ends the scan, as in PyTorch's CPU kernel), for avgpool the
 * statement `avg` per element. */
static const char *open_windows(Emitter *e, const Value *v) {
    int C = v->in[0]->shape.dim[0], OH = v->shape.dim[1], OW = v->shape.dim[2];
    emit(e, "for (int oy = 0; oy < %d; oy++)", OH);
    emit(e, "for (int ox = 0; ox < %d; ox++) {", OW);
    e->indent++;
    return arena_printf("(s * %d + c) * %d + oy * %d + ox", C, OH * OW, OW);
}

static void emit_window(Emitter *e, const Value *v, const char *avg) {
    const Value *x = v->in[0];
    int H = x->shape.dim[1], W = x->shape.dim[2];
    int K = (int)v->attr[0], S = (int)v->attr[1], P = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    bool max = v->op == OP_maxpool;
    if (max) {
        emit(e, "int best = -1;");
        emit(e, "float top = -INFINITY;");
    }
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    emit(e, "    const int iy = oy * %d - %d + ky;", S, P);
    if (P)
        emit(e, "    if (iy < 0 || iy >= %d) continue;", H);
    emit(e, "    for (int kx = 0; kx < %d; kx++) {", K);
    emit(e, "        const int ix = ox * %d - %d + kx;", S, P);
    if (P)
        emit(e, "        if (ix < 0 || ix >= %d) continue;", W);
    if (max) {
        emit(e, "        const float val = xc[iy * %d + ix];", W);
        emit(e, "        if (best < 0 || val > top || val != val) {");
        emit(e, "            top = val;");
        emit(e, "            best = iy * %d + ix;", W);
        emit(e, "        }");
        emit(e, "        if (top != top) break;");
    } else
        emit(e, "        %s", avg);
    emit(e, "    }");
    if (max)
        emit(e, "    if (top != top) break;");
    emit(e, "}");
}

static void close_windows(Emitter *e) {
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* maxpool and avgpool; with a conv2d fused into the step (--inference),
 * conv2d → activation → pool. */
void emit_pool_forward(Emitter *e, const Value *v) {
    if (v->fused_conv) {
        ConvDims d = conv_dims(v->fused_conv);
        if (e->generic)
            emit_conv_act_pool(e, v); /* --optimize=size: no row array, shared between layers */
        else if (conv_cols_fit(e, &d, v, v->fused_act))
            emit_conv_fwd_cols(e, v->fused_conv, v, v->fused_act);
        else if (conv_lanes_fit(e, &d, d.F) && (v->op != OP_maxpool || v->attr[2] == 0))
            emit_conv_fwd_lanes(e, v->fused_conv, v, v->fused_act);
        else
            emit_conv_act_pool_rows(e, v);
        return;
    }
    if (maxpool_tiled(e, v)) {
        emit_maxpool_tiled_forward(e, v);
        return;
    }
    const Value *x = v->in[0];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2], K = (int)v->attr[0];
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int c = 0; c < %d; c++) {", C);
    e->indent++;
    emit(e, "const float *xc = in0 + (s * %d + c) * %d;", C, H * W);
    const char *o = open_windows(e, v);
    if (v->op == OP_maxpool) {
        emit_window(e, v, NULL);
        emit(e, "out[%s] = top;", o);
    } else {
        emit(e, "float acc = 0.0f;");
        emit_window(e, v, arena_printf("acc += xc[iy * %d + ix];", W));
        emit(e, "out[%s] = acc / %s;", o, flit(K * K));
    }
    close_windows(e);
}

/* maxpool's gradient goes to the first maximum of each window, found again
 * from the input rather than stored; avgpool's is spread over the window. */
void emit_pool_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    if (maxpool_tiled(e, v)) {
        emit_maxpool_tiled_backward(e, v);
        return;
    }
    const Value *x = v->in[0];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2], K = (int)v->attr[0];
    emit(e, "memset(dx, 0, sizeof(float) * %s);", count_of(x));
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int c = 0; c < %d; c++) {", C);
    e->indent++;
    if (v->op == OP_maxpool)
        emit(e, "const float *xc = in0 + (s * %d + c) * %d;", C, H * W);
    emit(e, "float *dc = dx + (s * %d + c) * %d;", C, H * W);
    const char *o = open_windows(e, v);
    if (v->op == OP_maxpool) {
        emit_window(e, v, NULL);
        emit(e, "dc[best] += dy[%s];", o);
    } else
        emit_window(e, v, arena_printf("dc[iy * %d + ix] += dy[%s] / %s;", W, o, flit(K * K)));
    close_windows(e);
}
