/* ops_train.c — the rules of batchnorm and dropout (ops.def): layers that
 * behave differently in training (F_MODE: their steps get `training`). */
#include "ops_rules.h"

#include <math.h>
#include <string.h>

/* ---- batchnorm ------------------------------------------------------------------------------- */

bool shape_batchnorm(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v))
        return false;
    if (x->shape.rank != 1 && x->shape.rank != 3) {
        error_at(v->loc, "batchnorm() needs a [C] or [C, H, W] input, got %s", shape_str(&x->shape));
        return false;
    }
    if (!x->batched) {
        error_at(v->loc, "batchnorm() normalises over the batch; its input must come from an input");
        return false;
    }
    if (v->attr[0] < 0 || v->attr[0] > 1) {
        error_at(v->attr_loc[0], "batchnorm(): momentum must be between 0 and 1, got %g", v->attr[0]);
        return false;
    }
    if (v->attr[1] <= 0) {
        error_at(v->attr_loc[1], "batchnorm(): eps must be positive, got %g", v->attr[1]);
        return false;
    }
    int c = x->shape.dim[0];
    for (int i = 1; i <= 4; i++)
        set_param_shape(v->in[i], (Shape){1, {c}}, c, c);
    v->shape = x->shape;
    v->batched = true;
    return true;
}

/* Whether batchnorm's steps call dnn_kernels_norm.h (--optimize=speed)
 * rather than spell its loops out. */
static bool norm_kernels(const Emitter *e) {
    return !e->generic && !e->small && !e->f64;
}

/* The batch's mean m and sum of squared deviations sq for channel c, as loops. */
static void emit_batch_stats(Emitter *e, const char *xi, int HW, const char *ind) {
    emit(e, "%sdouble sum = 0.0, sq = 0.0;", ind);
    emit(e, "%sfor (int s = 0; s < n; s++)", ind);
    emit(e, "%s    for (int i = 0; i < %d; i++) sum += in0[%s];", ind, HW, xi);
    emit(e, "%sconst double m = sum / (n * %d);", ind, HW);
    emit(e, "%sfor (int s = 0; s < n; s++)", ind);
    emit(e, "%s    for (int i = 0; i < %d; i++) sq += (in0[%s] - m) * (in0[%s] - m);", ind, HW, xi, xi);
}

/* A call of dnn_bn_forward or dnn_bn_backward (`kernel`, its arguments
 * `args` before the sizes) over the C channels of `fields` (a dnn_bn_split's
 * initialisers), handed to the program's threads by channel when they are
 * worth it: at compile time the backward's 4 passes over the batch's
 * elements (the forward makes 3 in training), at run time `work` a channel
 * and sample. */
static void emit_bn_call(Emitter *e, const Value *v, const char *what, const char *kernel, const char *fields,
                         const char *args, int C, int HW, const char *work) {
    const char *ctx = arena_printf("&(dnn_bn_split){%s}", fields);
    if (!split_worth(e, 4L * C * HW)) {
        emit(e, "%s(%s, %s, %d, %d, 0, %d);", kernel, ctx, args, C, HW, C);
        return;
    }
    emit_hand_over(e, v, what, "channels", ctx, arena_printf("%d", C), arena_printf("(long)n * %s", work),
                   arena_printf("%s(ctx, %s, %d, %d, lo, hi);", kernel, args, C, HW));
}

/* A batchnorm whose weight and bias are both frozen runs as in eval mode
 * in training too (generated-c.md): running statistics, no updates. */
bool frozen_batchnorm(const Value *v) {
    return !v->in[1]->trainable && !v->in[2]->trainable;
}

/* BatchNorm1d/2d: per channel over the batch (and positions). Training
 * normalises with the batch's statistics (biased variance) and moves the
 * running ones (unbiased variance), as PyTorch; eval uses the running ones. */
void emit_batchnorm_forward(Emitter *e, const Value *v) {
    int C = v->shape.dim[0], HW = (int)(shape_size(&v->shape) / C);
    double mom = v->attr[0], eps = v->attr[1];
    const char *xi = arena_printf("(s * %d + c) * %d + i", C, HW);
    if (frozen_batchnorm(v)) {
        emit(e, "/* frozen: eval mode always, with the running statistics */");
        emit(e, "for (int c = 0; c < %d; c++) {", C);
        emit(e, "    const float mean = in3[c], inv = 1.0f / sqrtf(in4[c] + %s), w = in1[c], b = in2[c];", flit(eps));
        emit(e, "    for (int s = 0; s < n; s++)");
        emit(e, "        for (int i = 0; i < %d; i++) out[%s] = (in0[%s] - mean) * inv * w + b;", HW, xi, xi);
        emit(e, "}");
        return;
    }
    emit(e, "/* in3, in4, in5: buffers, updated here in training */");
    emit(e, "float *run_mean = (float *)in3, *run_var = (float *)in4, *tracked = (float *)in5;");
    emit(e, "if (training)");
    emit(e, "    *tracked += 1.0f;");
    if (norm_kernels(e)) {
        emit_bn_call(e, v, "forward", "dnn_bn_forward",
                     "out, in0, NULL, in1, in2, run_mean, run_var, NULL, NULL, training, n",
                     arena_printf("%s, %s, %s", flit(1 - mom), flit(mom), flit(eps)), C, HW,
                     arena_printf("(training ? %d : %d)", 3 * HW, HW));
        return;
    }
    emit(e, "for (int c = 0; c < %d; c++) {", C);
    e->indent++;
    emit(e, "float mean = run_mean[c], var = run_var[c];");
    emit(e, "if (training) {");
    emit_batch_stats(e, xi, HW, "    ");
    emit(e, "    mean = (float)m;");
    emit(e, "    var = (float)(sq / (n * %d));", HW);
    emit(e, "    const double unbiased = n * %d > 1 ? sq / (n * %d - 1) : sq;", HW, HW);
    emit(e, "    run_mean[c] = %s * run_mean[c] + %s * mean;", flit(1 - mom), flit(mom));
    emit(e, "    run_var[c] = %s * run_var[c] + %s * (float)unbiased;", flit(1 - mom), flit(mom));
    emit(e, "}");
    emit(e, "const float inv = 1.0f / sqrtf(var + %s), w = in1[c], b = in2[c];", flit(eps));
    emit(e, "for (int s = 0; s < n; s++)");
    emit(e, "    for (int i = 0; i < %d; i++) out[%s] = (in0[%s] - mean) * inv * w + b;", HW, xi, xi);
    e->indent--;
    emit(e, "}");
}

/* The folds fold_batchnorms (plan.c) chose, on the weights as read: per
 * output channel f, with s = γ/sqrt(running_var + eps) (in double),
 * weight[f] *= s and the batchnorm's bias, now the layer's, becomes
 * (bias[f] − running_mean[f])·s + β. */
void fold_batchnorm_weights(const Graph *g, float *weights) {
    for (int i = 0; i < g->nvalues; i++) {
        const Value *layer = g->values[i], *bn = layer->folded_bn;
        if (!bn)
            continue;
        const float *gamma = weights + bn->in[1]->flash, *mean = weights + bn->in[3]->flash,
                    *var = weights + bn->in[4]->flash;
        const float *bias = layer->unfolded_bias ? weights + layer->unfolded_bias->flash : NULL;
        float *w = weights + layer->in[1]->flash, *beta = weights + bn->in[2]->flash;
        int F = bn->in[1]->shape.dim[0];
        long per = shape_size(&layer->in[1]->shape) / F; /* conv2d [F, C/G, kh, kw], dense [F, in]: a block per f */
        for (int f = 0; f < F; f++) {
            double s = gamma[f] / sqrt((double)var[f] + bn->attr[1]);
            for (long k = 0; k < per; k++)
                w[f * per + k] = (float)(w[f * per + k] * s);
            beta[f] = (float)(((bias ? bias[f] : 0.0) - mean[f]) * s + beta[f]);
        }
    }
}

/* The gradient of the input (arg 0), the weight γ (1) or the bias β (2),
 * the batch statistics recomputed from the input:
 * dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv/M · (M·dy − dβ − x̂·dγ). When the step
 * computes several of them (e->step_args), the first one's emitter writes
 * them all (dx0, dx1, dx2) from one pass of statistics and sums per channel,
 * and the others print nothing: the same sums, once instead of per gradient. */
void emit_batchnorm_backward(Emitter *e, const Value *v, int arg) {
    int C = v->shape.dim[0], HW = (int)(shape_size(&v->shape) / C);
    double eps = v->attr[1];
    const char *xi = arena_printf("(s * %d + c) * %d + i", C, HW);
    if (frozen_batchnorm(v)) { /* eval mode: an affine map per channel, dx = dy·γ/sqrt(running_var + eps) */
        emit(e, "for (int c = 0; c < %d; c++) {", C);
        emit(e, "    const float scale = 1.0f / sqrtf(in4[c] + %s) * in1[c];", flit(eps));
        emit(e, "    for (int s = 0; s < n; s++)");
        emit(e, "        for (int i = 0; i < %d; i++) dx[%s] = dy[%s] * scale;", HW, xi, xi);
        emit(e, "}");
        return;
    }
    unsigned args = e->step_args & 1u << arg ? e->step_args & 7u : 1u << arg;
    if (args & ((1u << arg) - 1)) /* an earlier gradient's emitter writes this one */
        return;
    const char *out[3] = {"dx", "dx", "dx"};
    if (args != 1u << arg)
        out[0] = "dx0", out[1] = "dx1", out[2] = "dx2";
    if (norm_kernels(e)) {
        emit_bn_call(e, v, "backward", "dnn_bn_backward",
                     arena_printf("%s, in0, dy, %s, NULL, NULL, NULL, %s, %s, 0, n", args & 1u ? out[0] : "NULL",
                                  args & 1u ? "in1" : "NULL", args & 2u ? out[1] : "NULL", args & 4u ? out[2] : "NULL"),
                     flit(eps), C, HW, arena_printf("%d", 4 * HW));
        return;
    }
    bool need_beta = args & 5u, need_gamma = args & 3u;
    emit(e, "for (int c = 0; c < %d; c++) {", C);
    e->indent++;
    if (need_gamma) {
        emit_batch_stats(e, xi, HW, "");
        emit(e, "const float mean = (float)m, inv = 1.0f / sqrtf((float)(sq / (n * %d)) + %s);", HW, flit(eps));
    }
    emit(e, "float%s%s%s;", need_beta ? " dbeta = 0.0f" : "", need_beta && need_gamma ? "," : "",
         need_gamma ? " dgamma = 0.0f" : "");
    emit(e, "for (int s = 0; s < n; s++)");
    emit(e, "    for (int i = 0; i < %d; i++) {", HW);
    if (need_beta)
        emit(e, "        dbeta += dy[%s];", xi);
    if (need_gamma)
        emit(e, "        dgamma += dy[%s] * (in0[%s] - mean) * inv;", xi, xi);
    emit(e, "    }");
    if (args & 2u)
        emit(e, "%s[c] = dgamma;", out[1]);
    if (args & 4u)
        emit(e, "%s[c] = dbeta;", out[2]);
    if (args & 1u) {
        emit(e, "const float scale = in1[c] * inv / (float)(n * %d);", HW);
        emit(e, "for (int s = 0; s < n; s++)");
        emit(e, "    for (int i = 0; i < %d; i++)", HW);
        emit(e, "        %s[%s] = scale * ((float)(n * %d) * dy[%s] - dbeta - (in0[%s] - mean) * inv * dgamma);",
             out[0], xi, HW, xi, xi);
    }
    e->indent--;
    emit(e, "}");
}

/* ---- dropout --------------------------------------------------------------------------------- */

bool shape_dropout(Graph *g, Value *v) {
    if (v->attr[0] < 0 || v->attr[0] >= 1) {
        error_at(v->attr_loc[0], "dropout(): p must be in [0, 1), got %g", v->attr[0]);
        return false;
    }
    v->aux = (int)shape_size(&v->in[0]->shape); /* the mask */
    return shape_same(g, v);
}

/* Inverted dropout: in training each element is kept with probability 1−p
 * and scaled by 1/(1−p); the mask (0 or the scale) is kept after the result
 * for the backward pass. In eval it is the identity. */
static const char *dropout_mask(const Emitter *e, const Value *v) {
    return arena_printf("out + %ld", shape_size(&v->shape) * (v->batched ? e->g->train.batch : 1));
}

void emit_dropout_forward(Emitter *e, const Value *v) {
    double p = v->attr[0];
    emit(e, "if (!training) {");
    emit(e, "    memcpy(out, in0, sizeof(float) * %s);", count_of(v));
    emit(e, "    return;");
    emit(e, "}");
    emit(e, "float *mask = %s;", dropout_mask(e, v));
    emit(e, "for (int i = 0; i < %s; i++) {", count_of(v));
    emit(e, "    mask[i] = dnn_rng_next_float(rng) < %s ? 0.0f : %s;", flit(p), flit(1.0 / (1.0 - p)));
    emit(e, "    out[i] = in0[i] * mask[i];");
    emit(e, "}");
}

void emit_dropout_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    emit(e, "const float *mask = %s;", dropout_mask(e, v));
    emit(e, "for (int i = 0; i < %s; i++) dx[i] = dy[i] * mask[i];", count_of(v));
}

/* ---- fake_quant (quantization-aware training) ------------------------------------------------ */

bool shape_fake_quant(Graph *g, Value *v) {
    return shape_same(g, v);
}

/* The observer's buffers in[1], in[2] move in training only (frozen in
 * eval, as after PyTorch's disable_observer); the double twin (gradcheck)
 * checks the float model's gradients, so there the op is the identity. */
void emit_fake_quant_forward(Emitter *e, const Value *v) {
    const char *count = count_of(v);
    if (e->f64) {
        emit(e, "/* the double twin: no quantization */");
        emit(e, "for (int i = 0; i < %s; i++) out[i] = in0[i];", count);
        return;
    }
    emit(e, "float *lo = (float *)in1, *hi = (float *)in2;");
    if (v->attr[0]) {
        int F = v->shape.dim[0];
        long k = shape_size(&v->shape) / F;
        emit(e, "if (training)");
        emit(e, "    dnn_fq_observe_channels(lo, hi, in0, %d, %ld);", F, k);
        emit(e, "dnn_fq_weight_forward(out, in0, %d, %ld, lo, hi);", F, k);
        return;
    }
    emit(e, "if (training)");
    emit(e, "    dnn_fq_observe(lo, hi, in0, %s);", count);
    emit(e, "dnn_fq_act_forward(out, in0, %s, *lo, *hi);", count);
}

/* The straight-through estimator, with the scale and zero point the
 * forward step used (its observer has not moved since). */
void emit_fake_quant_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    const char *count = count_of(v);
    if (e->f64) {
        emit(e, "for (int i = 0; i < %s; i++) dx[i] = dy[i];", count);
        return;
    }
    if (v->attr[0]) {
        int F = v->shape.dim[0];
        emit(e, "dnn_fq_weight_backward(dx, dy, in0, %d, %ld, in1, in2);", F, shape_size(&v->shape) / F);
        return;
    }
    emit(e, "dnn_fq_act_backward(dx, dy, in0, %s, in1[0], in2[0]);", count);
}
