/* dnn_kernels_norm.h — batchnorm in training, per channel c of x[n][C][HW]
 * (HW = 1 for a [C] input). Part of dnn_kernels.h; dnnc calls
 * dnn_bn_forward and dnn_bn_backward (at the end) on a range of channels
 * at --optimize=speed and writes the same formulas as loops otherwise
 * (compiler/ops_train.c).
 *
 * The sums over the batch run in double, 4 partial sums (lane k the
 * positions i ≡ k mod 4 of each sample, then the positions left) added
 * ((0 + 1) + (2 + 3)): 4 independent chains, not one, and in double the
 * order does not show in the float result. The per-element loops write 8
 * values at a time from a local array, so that the compiler vectorises
 * them even when the output is the input (an in-place step). */

/* Σ over channel c of (x − shift)^p for p = 1 (sq NULL: sum only) or 1 and 2 */
DNN_KERNEL void dnn_bn_sums(double *sum, double *sq, const float *x, double shift, int n, int C, int HW, int c) {
    double a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
    const int HW4 = HW / 4 * 4;
    for (int s = 0; s < n; s++) {
        const float *xs = x + ((long)s * C + c) * HW;
        for (int i = 0; i < HW4; i += 4)
            for (int k = 0; k < 4; k++) {
                const double d = xs[i + k] - shift;
                a[k] += d;
                if (sq)
                    b[k] += d * d;
            }
        for (int i = HW4; i < HW; i++) {
            const double d = xs[i] - shift;
            a[i - HW4] += d;
            if (sq)
                b[i - HW4] += d * d;
        }
    }
    *sum = (a[0] + a[1]) + (a[2] + a[3]);
    if (sq)
        *sq = (b[0] + b[1]) + (b[2] + b[3]);
}

/* The batch's mean and biased variance of channel c: the mean, then the
 * squared deviations from it (two passes, as PyTorch's) */
DNN_KERNEL void dnn_bn_stats(double *mean, double *sq, const float *x, int n, int C, int HW, int c) {
    double sum;
    dnn_bn_sums(&sum, NULL, x, 0.0, n, C, HW, c);
    *mean = sum / ((double)n * HW);
    double dev;
    dnn_bn_sums(&dev, sq, x, *mean, n, C, HW, c);
}

/* out[s][c][i] = (x − mean) · inv · w + b */
DNN_KERNEL void dnn_bn_apply(float *out, const float *x, float mean, float inv, float w, float b, int n, int C, int HW,
                             int c) {
    for (int s = 0; s < n; s++) {
        const float *xs = x + ((long)s * C + c) * HW;
        float *ys = out + ((long)s * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8) {
            float t[8];
            for (int k = 0; k < 8; k++)
                t[k] = (xs[i + k] - mean) * inv * w + b;
            for (int k = 0; k < 8; k++)
                ys[i + k] = t[k];
        }
        for (; i < HW; i++)
            ys[i] = (xs[i] - mean) * inv * w + b;
    }
}

/* dβ = Σ dy and dγ = Σ dy · (x − mean) · inv over channel c (either NULL: not wanted) */
DNN_KERNEL void dnn_bn_grad_sums(float *dbeta, float *dgamma, const float *dy, const float *x, float mean, float inv,
                                 int n, int C, int HW, int c) {
    double a[4] = {0, 0, 0, 0}, b[4] = {0, 0, 0, 0};
    const int HW4 = HW / 4 * 4;
    for (int s = 0; s < n; s++) {
        const float *xs = x + ((long)s * C + c) * HW, *gs = dy + ((long)s * C + c) * HW;
        for (int i = 0; i < HW4; i += 4)
            for (int k = 0; k < 4; k++) {
                a[k] += gs[i + k];
                b[k] += gs[i + k] * ((xs[i + k] - mean) * inv);
            }
        for (int i = HW4; i < HW; i++) {
            a[i - HW4] += gs[i];
            b[i - HW4] += gs[i] * ((xs[i] - mean) * inv);
        }
    }
    if (dbeta)
        *dbeta = (float)((a[0] + a[1]) + (a[2] + a[3]));
    if (dgamma)
        *dgamma = (float)((b[0] + b[1]) + (b[2] + b[3]));
}

/* dx = scale · (M·dy − dβ − (x − mean) · inv · dγ), M = n·HW */
DNN_KERNEL void dnn_bn_backward_input(float *dx, const float *dy, const float *x, float mean, float inv, float scale,
                                      float dbeta, float dgamma, int n, int C, int HW, int c) {
    const float M = (float)(n * HW);
    for (int s = 0; s < n; s++) {
        const long o = ((long)s * C + c) * HW;
        int i = 0;
        for (; i + 8 <= HW; i += 8) {
            float t[8];
            for (int k = 0; k < 8; k++)
                t[k] = scale * (M * dy[o + i + k] - dbeta - (x[o + i + k] - mean) * inv * dgamma);
            for (int k = 0; k < 8; k++)
                dx[o + i + k] = t[k];
        }
        for (; i < HW; i++)
            dx[o + i] = scale * (M * dy[o + i] - dbeta - (x[o + i] - mean) * inv * dgamma);
    }
}

/* What a batchnorm step hands its channels (dnn_bn_forward,
 * dnn_bn_backward): every statistic and sum is a channel's own, so a step
 * may hand channel ranges to the program's threads (dnn_parallel_run_work)
 * and each sum keeps its order. */
typedef struct dnn_bn_split {
    float *y;                  /* forward: the output; backward: dx (NULL: not wanted) */
    const float *x, *grad;     /* the input x[n][C][HW]; backward: the output's gradient dy */
    const float *gamma, *beta; /* forward: both; backward: gamma */
    float *mean, *var;         /* forward: the running statistics, moved in training */
    float *dgamma, *dbeta;     /* backward: NULL when not wanted */
    int training, n;
} dnn_bn_split;

/* Channels lo .. hi of the forward pass: in training normalised with the
 * batch's statistics (biased variance), the running ones moved by
 * keep·running + mom·batch (unbiased variance), as PyTorch; in eval
 * normalised with the running ones. */
DNN_KERNEL void dnn_bn_forward(const dnn_bn_split *a, float keep, float mom, float eps, int C, int HW, int lo, int hi) {
    const int n = a->n;
    for (int c = lo; c < hi; c++) {
        float mean = a->mean[c], var = a->var[c];
        if (a->training) {
            double m, sq;
            dnn_bn_stats(&m, &sq, a->x, n, C, HW, c);
            mean = (float)m;
            var = (float)(sq / (n * HW));
            const double unbiased = n * HW > 1 ? sq / (n * HW - 1) : sq;
            a->mean[c] = keep * a->mean[c] + mom * mean;
            a->var[c] = keep * a->var[c] + mom * (float)unbiased;
        }
        const float inv = 1.0f / sqrtf(var + eps);
        dnn_bn_apply(a->y, a->x, mean, inv, a->gamma[c], a->beta[c], n, C, HW, c);
    }
}

/* Channels lo .. hi of the backward pass, the batch statistics recomputed
 * from the input: dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv/M · (M·dy − dβ − x̂·dγ). */
DNN_KERNEL void dnn_bn_backward(const dnn_bn_split *a, float eps, int C, int HW, int lo, int hi) {
    const int n = a->n;
    const int need_beta = a->y || a->dbeta, need_gamma = a->y || a->dgamma;
    for (int c = lo; c < hi; c++) {
        float mean = 0.0f, inv = 0.0f;
        if (need_gamma) {
            double m, sq;
            dnn_bn_stats(&m, &sq, a->x, n, C, HW, c);
            mean = (float)m, inv = 1.0f / sqrtf((float)(sq / (n * HW)) + eps);
        }
        float dbeta = 0.0f, dgamma = 0.0f;
        dnn_bn_grad_sums(need_beta ? &dbeta : NULL, need_gamma ? &dgamma : NULL, a->grad, a->x, mean, inv, n, C, HW, c);
        if (a->dgamma)
            a->dgamma[c] = dgamma;
        if (a->dbeta)
            a->dbeta[c] = dbeta;
        if (a->y)
            dnn_bn_backward_input(a->y, a->grad, a->x, mean, inv, a->gamma[c] * inv / (float)(n * HW), dbeta, dgamma, n,
                                  C, HW, c);
    }
}
