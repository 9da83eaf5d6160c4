/* dnn_kernels_update.h — the optimizers' updates of torch.optim (PyTorch
 * 1.13, single-tensor path), over `count` parameters. Part of
 * dnn_kernels.h.
 *
 * Each optimizer is a step of one parameter, on floats and on 8-float
 * vectors with the same operations in the same order (IEEE element-wise,
 * so the two give the same bits), and a loop: 8 at a time with DNN_V8,
 * then one at a time. The vector form is written out because gcc will not
 * vectorise sqrtf without -fno-math-errno. A step takes pointers to the
 * parameter, its gradient and its state, so a kernel that has a block of
 * gradients in hand can apply the update at once.
 *
 * The hyper-parameters are the floats PyTorch's kernels get: 1 − beta1 and
 * the like are computed in double by the caller (as Python does) and
 * rounded once. A weight decay of 0 skips its term, as PyTorch does. */

/* ---- the l2 and l1 penalties -----------------------------------------------------------
 * Σ x² (squares) or Σ |x| over count floats: 8 partial sums, lane k taking
 * i ≡ k mod 8, added pairwise, then the tail one at a time: the order of
 * the loops dnnc prints for l2() and l1() (dnn_penalty_sum_plain). With
 * DNN_V8 the lanes are one vector, whose adds gcc otherwise spreads over
 * 16-float vectors and shuffles back (LeNet-5's l2: 18 µs a step, 4 here). */
DNN_KERNEL float dnn_penalty_sum(const float *p, int count, int squares) {
#ifdef DNN_V8
    const int count8 = count / 8 * 8;
    dnn_v8 part = {0};
    for (int i = 0; i < count8; i += 8) {
        const dnn_v8 x = dnn_v8_load(p + i);
        part += squares ? x * x : (dnn_v8)((dnn_v8i)x & 0x7fffffff); /* |x|: the sign bit off */
    }
    float acc = dnn_v8_sum(part);
    for (int i = count8; i < count; i++)
        acc += squares ? p[i] * p[i] : fabsf(p[i]);
    return acc;
#else
    return dnn_penalty_sum_plain(p, count, squares);
#endif
}

/* ---- SGD ---------------------------------------------------------------------------------
 *   g = grad + weight_decay · p
 *   with momentum:  buf = first ? g : buf · momentum + (1 − dampening) · g
 *                   g = nesterov ? g + momentum · buf : buf
 *   p = p − lr · g
 * momentum_buffer NULL: no momentum. */

DNN_KERNEL void dnn_sgd_step(float *param, const float *grad, float *momentum_buffer, float lr, float momentum,
                             float one_minus_dampening, float weight_decay, int nesterov, int first) {
    float g = *grad, p = *param;
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    if (momentum_buffer) {
        const float buf = first ? g : *momentum_buffer * momentum + one_minus_dampening * g;
        *momentum_buffer = buf;
        g = nesterov ? g + momentum * buf : buf;
    }
    p -= lr * g;
    *param = p;
}

#ifdef DNN_V8
DNN_KERNEL void dnn_sgd_step_v8(float *param, const float *grad, float *momentum_buffer, float lr, float momentum,
                                float one_minus_dampening, float weight_decay, int nesterov, int first) {
    dnn_v8 g = dnn_v8_load(grad), p = dnn_v8_load(param);
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    if (momentum_buffer) {
        const dnn_v8 buf = first ? g : dnn_v8_load(momentum_buffer) * momentum + one_minus_dampening * g;
        dnn_v8_store(momentum_buffer, buf);
        g = nesterov ? g + momentum * buf : buf;
    }
    p -= lr * g;
    dnn_v8_store(param, p);
}
#endif

DNN_KERNEL void dnn_sgd_update(float *param, const float *grad, float *momentum_buffer, int count, float lr,
                               float momentum, float one_minus_dampening, float weight_decay, int nesterov, int first) {
    int i = 0;
#ifdef DNN_V8
    for (; i < count / 8 * 8; i += 8)
        dnn_sgd_step_v8(param + i, grad + i, momentum_buffer ? momentum_buffer + i : NULL, lr, momentum,
                        one_minus_dampening, weight_decay, nesterov, first);
#endif
    for (; i < count; i++)
        dnn_sgd_step(param + i, grad + i, momentum_buffer ? momentum_buffer + i : NULL, lr, momentum,
                     one_minus_dampening, weight_decay, nesterov, first);
}

/* SGD's hyper-parameters and state, for the kernels that apply the step to
 * a block of gradients as they store it (dnn_dense_backward_weight_sgd):
 * param and momentum_buffer (NULL: no momentum) are laid out like the
 * gradient they are given with. */
typedef struct {
    float *param, *momentum_buffer;
    float lr, momentum, one_minus_dampening, weight_decay;
    int nesterov, first;
} dnn_sgd;

/* The step of the `count` (8 or 1) parameters at offset `at`, whose
 * gradients are at grad: the same bits as dnn_sgd_update gives them. */
DNN_KERNEL void dnn_sgd_apply(const dnn_sgd *o, const float *grad, long at, int count) {
    float *buf = o->momentum_buffer ? o->momentum_buffer + at : NULL;
    int i = 0;
#ifdef DNN_V8
    for (; i + 8 <= count; i += 8)
        dnn_sgd_step_v8(o->param + at + i, grad + i, buf ? buf + i : NULL, o->lr, o->momentum,
                        o->one_minus_dampening, o->weight_decay, o->nesterov, o->first);
#endif
    for (; i < count; i++)
        dnn_sgd_step(o->param + at + i, grad + i, buf ? buf + i : NULL, o->lr, o->momentum, o->one_minus_dampening,
                     o->weight_decay, o->nesterov, o->first);
}

/* ---- Adam and AdamW ----------------------------------------------------------------------
 *   Adam:   g = grad + weight_decay · p       AdamW (decoupled): p = p · (1 − lr · weight_decay)
 *   avg    = avg · beta1 + g · (1 − beta1)
 *   avg_sq = avg_sq · beta2 + (1 − beta2) · g · g
 *   p = p − step_size · (avg / (√avg_sq / bc2_sqrt + eps))
 * step_size = lr / (1 − beta1^t) and bc2_sqrt = √(1 − beta2^t), computed
 * in double by the caller for step t. */

DNN_KERNEL void dnn_adam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float lr,
                              float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float eps,
                              float weight_decay, int decoupled, float step_size, float bc2_sqrt) {
    float g = *grad, p = *param;
    if (!decoupled && weight_decay != 0.0f)
        g += weight_decay * p;
    if (decoupled)
        p *= 1.0f - lr * weight_decay;
    const float avg = *exp_avg * beta1 + g * one_minus_beta1;
    const float avg_sq = *exp_avg_sq * beta2 + one_minus_beta2 * g * g;
    *exp_avg = avg;
    *exp_avg_sq = avg_sq;
    const float denom = sqrtf(avg_sq) / bc2_sqrt + eps;
    p -= step_size * (avg / denom);
    *param = p;
}

#ifdef DNN_V8
DNN_KERNEL void dnn_adam_step_v8(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, float lr,
                                 float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float eps,
                                 float weight_decay, int decoupled, float step_size, float bc2_sqrt) {
    dnn_v8 g = dnn_v8_load(grad), p = dnn_v8_load(param);
    if (!decoupled && weight_decay != 0.0f)
        g += weight_decay * p;
    if (decoupled)
        p *= 1.0f - lr * weight_decay;
    const dnn_v8 avg = dnn_v8_load(exp_avg) * beta1 + g * one_minus_beta1;
    const dnn_v8 avg_sq = dnn_v8_load(exp_avg_sq) * beta2 + one_minus_beta2 * g * g;
    dnn_v8_store(exp_avg, avg);
    dnn_v8_store(exp_avg_sq, avg_sq);
    const dnn_v8 denom = dnn_v8_sqrt(avg_sq) / bc2_sqrt + eps;
    p -= step_size * (avg / denom);
    dnn_v8_store(param, p);
}
#endif

DNN_KERNEL void dnn_adam_update(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, int count,
                                float lr, float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                                float eps, float weight_decay, int decoupled, float step_size, float bc2_sqrt) {
    int i = 0;
#ifdef DNN_V8
    for (; i < count / 8 * 8; i += 8)
        dnn_adam_step_v8(param + i, grad + i, exp_avg + i, exp_avg_sq + i, lr, beta1, one_minus_beta1, beta2,
                         one_minus_beta2, eps, weight_decay, decoupled, step_size, bc2_sqrt);
#endif
    for (; i < count; i++)
        dnn_adam_step(param + i, grad + i, exp_avg + i, exp_avg_sq + i, lr, beta1, one_minus_beta1, beta2,
                      one_minus_beta2, eps, weight_decay, decoupled, step_size, bc2_sqrt);
}

/* ---- Adagrad -----------------------------------------------------------------------------
 *   g = grad + weight_decay · p;  sum = sum + g · g;  p = p − lr · (g / (√sum + eps)) */

DNN_KERNEL void dnn_adagrad_step(float *param, const float *grad, float *state_sum, float lr, float eps,
                                 float weight_decay) {
    float g = *grad, p = *param;
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    const float sum = *state_sum + g * g;
    *state_sum = sum;
    p -= lr * (g / (sqrtf(sum) + eps));
    *param = p;
}

#ifdef DNN_V8
DNN_KERNEL void dnn_adagrad_step_v8(float *param, const float *grad, float *state_sum, float lr, float eps,
                                    float weight_decay) {
    dnn_v8 g = dnn_v8_load(grad), p = dnn_v8_load(param);
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    const dnn_v8 sum = dnn_v8_load(state_sum) + g * g;
    dnn_v8_store(state_sum, sum);
    p -= lr * (g / (dnn_v8_sqrt(sum) + eps));
    dnn_v8_store(param, p);
}
#endif

DNN_KERNEL void dnn_adagrad_update(float *param, const float *grad, float *state_sum, int count, float lr, float eps,
                                   float weight_decay) {
    int i = 0;
#ifdef DNN_V8
    for (; i < count / 8 * 8; i += 8)
        dnn_adagrad_step_v8(param + i, grad + i, state_sum + i, lr, eps, weight_decay);
#endif
    for (; i < count; i++)
        dnn_adagrad_step(param + i, grad + i, state_sum + i, lr, eps, weight_decay);
}

/* ---- RMSprop -----------------------------------------------------------------------------
 *   g = grad + weight_decay · p
 *   square_avg = square_avg · alpha + (1 − alpha) · g · g;  avg = √square_avg + eps
 *   with momentum:  buf = buf · momentum + g / avg;  p = p − lr · buf
 *   without:        p = p − lr · (g / avg)
 * momentum_buffer NULL: no momentum. */

DNN_KERNEL void dnn_rmsprop_step(float *param, const float *grad, float *square_avg, float *momentum_buffer, float lr,
                                 float alpha, float one_minus_alpha, float eps, float momentum, float weight_decay) {
    float g = *grad, p = *param;
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    const float sq = *square_avg * alpha + one_minus_alpha * g * g;
    *square_avg = sq;
    const float avg = sqrtf(sq) + eps;
    if (momentum_buffer) {
        const float buf = *momentum_buffer * momentum + g / avg;
        *momentum_buffer = buf;
        p -= lr * buf;
    } else
        p -= lr * (g / avg);
    *param = p;
}

#ifdef DNN_V8
DNN_KERNEL void dnn_rmsprop_step_v8(float *param, const float *grad, float *square_avg, float *momentum_buffer,
                                    float lr, float alpha, float one_minus_alpha, float eps, float momentum,
                                    float weight_decay) {
    dnn_v8 g = dnn_v8_load(grad), p = dnn_v8_load(param);
    if (weight_decay != 0.0f)
        g += weight_decay * p;
    const dnn_v8 sq = dnn_v8_load(square_avg) * alpha + one_minus_alpha * g * g;
    dnn_v8_store(square_avg, sq);
    const dnn_v8 avg = dnn_v8_sqrt(sq) + eps;
    if (momentum_buffer) {
        const dnn_v8 buf = dnn_v8_load(momentum_buffer) * momentum + g / avg;
        dnn_v8_store(momentum_buffer, buf);
        p -= lr * buf;
    } else
        p -= lr * (g / avg);
    dnn_v8_store(param, p);
}
#endif

DNN_KERNEL void dnn_rmsprop_update(float *param, const float *grad, float *square_avg, float *momentum_buffer,
                                   int count, float lr, float alpha, float one_minus_alpha, float eps, float momentum,
                                   float weight_decay) {
    int i = 0;
#ifdef DNN_V8
    for (; i < count / 8 * 8; i += 8)
        dnn_rmsprop_step_v8(param + i, grad + i, square_avg + i, momentum_buffer ? momentum_buffer + i : NULL, lr,
                            alpha, one_minus_alpha, eps, momentum, weight_decay);
#endif
    for (; i < count; i++)
        dnn_rmsprop_step(param + i, grad + i, square_avg + i, momentum_buffer ? momentum_buffer + i : NULL, lr, alpha,
                         one_minus_alpha, eps, momentum, weight_decay);
}
