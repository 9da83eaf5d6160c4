/* ops_loss.c — the rules of the losses (ops.def): the elementwise ones,
 * the class losses over a row of scores per sample, and batch_mean, the
 * mean of a per-sample loss. reduction = mean (PyTorch's default) or sum
 * over the batch. */
#include "ops_rules.h"

#include <string.h>

/* ---- elementwise losses ---------------------------------------------------------------------- */

bool shape_loss(Graph *g, Value *v) {
    (void)g;
    const Value *p = v->in[0], *y = v->in[1];
    if (!float_operands(v))
        return false;
    if (!same_layout(p, y) && !(p->shape.rank == y->shape.rank &&
                                !memcmp(p->shape.dim, y->shape.dim, sizeof(int) * (size_t)p->shape.rank))) {
        error_at(v->loc, "%s() needs a prediction and a target of the same shape, got %s and %s",
                 op_info[v->op].name, describe(p), describe(y));
        return false;
    }
    if (v->op == OP_huber && v->attr[0] <= 0) {
        error_at(v->attr_loc[0], "huber(): delta must be positive, got %g", v->attr[0]);
        return false;
    }
    if (p->batched != y->batched) {
        error_at(v->loc, "%s(): the prediction and the target must both be per sample", op_info[v->op].name);
        return false;
    }
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* A loss's reduction: true for `reduction = sum`, false for mean. */
static bool sums(const Value *v) { return v->attr[attr_index(op_info[v->op].sig, "reduction")] != 0; }

/* Elementwise losses, averaged (or summed) over every element of the batch.
 * Each row: the per-element loss (p, t), and its derivative in p. */
static void loss_exprs(const Value *v, const char **loss_out, const char **deriv_out) {
    const char *loss, *deriv;
    switch (v->op) {
    case OP_mse:
        loss = "(p - t) * (p - t)";
        deriv = "2.0f * (p - t)";
        break;
    case OP_l1_loss:
        loss = "fabsf(p - t)";
        deriv = "(float)((p > t) - (p < t))";
        break;
    case OP_huber: /* |d| < δ: d²/2, else δ(|d| − δ/2) */
        loss = "fabsf(p - t) < a ? 0.5f * (p - t) * (p - t) : a * (fabsf(p - t) - 0.5f * a)";
        deriv = "p - t <= -a ? -a : p - t >= a ? a : p - t";
        break;
    case OP_bce: /* logs clamped at -100, as PyTorch */
        loss = "-(t * fmaxf(logf(p), -100.0f) + (1.0f - t) * fmaxf(logf(1.0f - p), -100.0f))";
        deriv = "(p - t) / fmaxf((1.0f - p) * p, 1e-12f)";
        break;
    case OP_bce_with_logits: /* (1 − t)·z + log(1 + e^−z), without overflow */
        loss = "(1.0f - t) * p + fmaxf(-p, 0.0f) + logf(expf(-fmaxf(-p, 0.0f)) + expf(-p - fmaxf(-p, 0.0f)))";
        deriv = "1.0f / (1.0f + expf(-p)) - t";
        break;
    case OP_hinge:
        loss = "fmaxf(0.0f, a - t * p)";
        deriv = "a - t * p > 0.0f ? -t : 0.0f";
        break;
    case OP_perceptron: /* the gradient includes the kink y·score = 0 */
        loss = "fmaxf(0.0f, -t * p)";
        deriv = "t * p <= 0.0f ? -t : 0.0f";
        break;
    default:
        ICE("%s is not an elementwise loss", op_info[v->op].name);
    }
    *loss_out = loss;
    *deriv_out = deriv;
}

/* huber's delta and hinge's margin: `a` */
static void emit_loss_attr(Emitter *e, const Value *v) {
    if (v->op == OP_huber || v->op == OP_hinge)
        emit(e, "const float a = %s;", flit(v->attr[0]));
}

void emit_loss_forward(Emitter *e, const Value *v) {
    const char *loss, *deriv, *count = count_of(v->in[0]);
    loss_exprs(v, &loss, &deriv);
    emit_loss_attr(e, v);
    emit(e, "double acc = 0.0;");
    emit(e, "for (int i = 0; i < %s; i++) {", count);
    emit(e, "    const float p = in0[i], t = in1[i];");
    emit(e, "    acc += %s;", loss);
    emit(e, "}");
    if (sums(v))
        emit(e, "out[0] = (float)acc;");
    else
        emit(e, "out[0] = (float)(acc / (%s));", count);
}

/* The gradient of the prediction (arg 0), or of a target that depends on a
 * parameter (arg 1: mse, l1_loss, huber), the derivative's negation. */
void emit_loss_backward(Emitter *e, const Value *v, int arg) {
    const char *loss, *deriv, *count = count_of(v->in[0]);
    loss_exprs(v, &loss, &deriv);
    emit_loss_attr(e, v);
    if (sums(v))
        emit(e, "const float scale = dy[0];");
    else
        emit(e, "const float scale = dy[0] / (float)(%s);", count);
    emit(e, "for (int i = 0; i < %s; i++) {", count);
    emit(e, "    const float p = in0[i], t = in1[i];");
    emit(e, "    dx[i] = %sscale * (%s);", arg == 1 ? "-" : "", deriv);
    emit(e, "}");
}

/* ---- class losses ---------------------------------------------------------------------------- */

bool shape_class_loss(Graph *g, Value *v) {
    (void)g;
    const Value *z = v->in[0], *t = v->in[1];
    const char *name = op_info[v->op].name;
    if (z->dtype != DT_FLOAT || z->shape.rank != 1) {
        error_at(v->loc, "%s() needs a vector of per-class scores, got %s", name, describe(z));
        if (z->shape.rank > 1)
            note("insert '|> flatten' before the layer that makes the scores");
        return false;
    }
    if (!z->batched || !t->batched) {
        error_at(v->loc, "%s() needs per-sample scores and labels", name);
        return false;
    }
    int k = z->shape.dim[0];
    if (t->dtype == DT_CLASS) {
        if (t->classes != k) {
            error_at(v->loc, "%s() has %d scores per sample but '%s' has %d classes", name, k, t->name, t->classes);
            note("make the last layer produce %d values, e.g. dense(%d)", t->classes, t->classes);
            return false;
        }
    } else if (v->op != OP_cross_entropy) {
        error_at(v->loc, "%s() needs a class target (target %s : class(%d)), got %s", name,
                 t->name ? t->name : "y", k, describe(t));
        return false;
    } else if (t->shape.rank != 1 || t->shape.dim[0] != k) {
        error_at(v->loc, "cross_entropy() with soft labels needs a target of the logits' shape [%d], got %s", k,
                 describe(t));
        return false;
    }
    if (v->op == OP_multi_margin && v->attr[0] < 0) {
        error_at(v->attr_loc[0], "multi_margin(): margin must not be negative");
        return false;
    }
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* cross_entropy, nll and multi_margin: one row of K scores per sample.
 * A label outside 0..K-1 makes the loss NaN and the row's gradient zero.
 * open_samples() opens the loop over the samples: the scores z (when
 * `scores`), `row` (a declaration, or NULL), then the target t, a soft
 * target's row or a label, with the statement `bad_label` for a label out
 * of range. */
static void open_samples(Emitter *e, const Value *v, bool scores, const char *row, const char *bad_label) {
    int k = v->in[0]->shape.dim[0];
    emit(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    if (scores)
        emit(e, "const float *z = in0 + s * %d;", k);
    if (row)
        emit(e, "%s", row);
    if (v->in[1]->dtype == DT_FLOAT)
        emit(e, "const float *t = in1 + s * %d;", k);
    else {
        emit(e, "const int32_t t = in1[s];");
        emit(e, "if (t < 0 || t >= %d) {", k);
        emit(e, "    %s", bad_label);
        emit(e, "    continue;");
        emit(e, "}");
    }
}

/* cross_entropy's log Σ e^z, shifted by the maximum: log_softmax(z)[i] =
 * (z[i] − max) − lsum, as emit_softmax_forward computes it. */
static void emit_lsum(Emitter *e, int k) {
    emit(e, "float max = z[0], sum = 0.0f;");
    emit(e, "for (int i = 1; i < %d; i++) max = z[i] > max ? z[i] : max;", k);
    emit(e, "for (int i = 0; i < %d; i++) sum += expf(z[i] - max);", k);
    emit(e, "const float lsum = logf(sum);");
}

void emit_class_loss_forward(Emitter *e, const Value *v) {
    int k = v->in[0]->shape.dim[0];
    emit(e, "double acc = 0.0;");
    open_samples(e, v, true, NULL, "acc = NAN;");
    switch (v->op) {
    case OP_cross_entropy:
        emit_lsum(e, k);
        if (v->in[1]->dtype == DT_FLOAT) /* −Σ t·log_softmax(z) */
            emit(e, "for (int i = 0; i < %d; i++) acc -= t[i] * ((z[i] - max) - lsum);", k);
        else
            emit(e, "acc += lsum - (z[t] - max);");
        break;
    case OP_nll:
        emit(e, "acc -= z[t];");
        break;
    default: /* multi_margin: Σ_{i≠t} max(0, margin − z[t] + z[i]) / K */
        emit(e, "const float margin = %s;", flit(v->attr[0]));
        emit(e, "for (int i = 0; i < %d; i++)", k);
        emit(e, "    if (i != t) acc += fmaxf(0.0f, margin - z[t] + z[i]) / %s;", flit(k));
        break;
    }
    e->indent--;
    emit(e, "}");
    emit(e, sums(v) ? "out[0] = (float)acc;" : "out[0] = (float)(acc / n);");
}

/* The scores' gradient, per sample; a label outside 0..K-1 gives its row zeros. */
void emit_class_loss_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int k = v->in[0]->shape.dim[0];
    emit(e, sums(v) ? "const float scale = dy[0];" : "const float scale = dy[0] / (float)n;");
    /* nll's gradient does not read the scores */
    open_samples(e, v, v->op != OP_nll, arena_printf("float *d = dx + s * %d;", k),
                 arena_printf("for (int i = 0; i < %d; i++) d[i] = 0.0f;", k));
    switch (v->op) {
    case OP_cross_entropy:
        emit_lsum(e, k);
        if (v->in[1]->dtype == DT_FLOAT) { /* softmax·Σt − t */
            emit(e, "float tsum = 0.0f;");
            emit(e, "for (int i = 0; i < %d; i++) tsum += t[i];", k);
            emit(e, "for (int i = 0; i < %d; i++) d[i] = scale * (expf((z[i] - max) - lsum) * tsum - t[i]);", k);
        } else
            emit(e, "for (int i = 0; i < %d; i++) d[i] = scale * (expf((z[i] - max) - lsum) - (i == t));", k);
        break;
    case OP_nll:
        emit(e, "for (int i = 0; i < %d; i++) d[i] = i == t ? -scale : 0.0f;", k);
        break;
    default:
        emit(e, "const float margin = %s;", flit(v->attr[0]));
        emit(e, "for (int i = 0; i < %d; i++) d[i] = 0.0f;", k);
        emit(e, "for (int i = 0; i < %d; i++)", k);
        emit(e, "    if (i != t && margin - z[t] + z[i] > 0.0f) {");
        emit(e, "        d[i] += scale / %s;", flit(k));
        emit(e, "        d[t] -= scale / %s;", flit(k));
        emit(e, "    }");
        break;
    }
    e->indent--;
    emit(e, "}");
}

/* ---- the mean over the batch of a per-sample loss -------------------------------------------- */

bool shape_batch_mean(Graph *g, Value *v) {
    (void)g;
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* The mean over the batch of a per-sample scalar. */
void emit_batch_mean_forward(Emitter *e, const Value *v) {
    (void)v;
    emit(e, "double acc = 0.0;");
    emit(e, "for (int s = 0; s < n; s++) acc += in0[s];");
    emit(e, "out[0] = (float)(acc / n);");
}

void emit_batch_mean_backward(Emitter *e, const Value *v, int arg) {
    (void)v, (void)arg;
    emit(e, "for (int s = 0; s < n; s++) dx[s] = dy[0] / (float)n;");
}
