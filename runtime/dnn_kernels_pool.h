/* dnn_kernels_pool.h — maxpool and avgpool and their gradients. Part of
 * dnn_kernels.h. Images are [n][C][H][W]; a window K × K, stride S, zero
 * padding P (maxpool only), floor mode: OH = (H + 2P − K) / S + 1. The
 * formulas and their plain loops are dnn_pool_forward_plain and
 * dnn_pool_backward_plain (dnn_kernels_plain.h).
 *
 * maxpool takes each window's first maximum, NaN counting as a maximum
 * (PyTorch's CPU kernel), and its gradient goes to that element, found
 * again from the input rather than stored. */

/* ---- maxpool whose windows tile the input (S = K, P = 0) --------------------------------- */

/* Each window's first maximum without branches: a later value replaces the
 * running one when it is larger or NaN.
 * Still slower than the printed step at gcc -O3 for a few small shapes
 * (bench/README.md: 3 x 3 windows of 7 x 9 planes 2.9 times, 2 x 2 of 9 x 8
 * 1.4): gcc vectorises the printed step over the window rows (oy) but not
 * this loop, whose unrolled comparisons it canonicalises differently
 * (`val > top` and `top < val`), so its SLP discovery fails. LeNet-5's
 * shapes are as fast or faster. */
#ifdef DNN_V8
/* 8 windows of a 2 × 2 maxpool from column 2·ox of rows xr and xr + W
 * (with `half`, 4 windows, in lanes 0-3 and again in 4-7): the rows' even
 * and odd columns taken in the scalar loop's order (top left, top right,
 * bottom left, bottom right), the same choice per lane. */
DNN_KERNEL dnn_v8 dnn_maxpool2_v8(const float *xr, int W, int ox, int half) {
    const float *t = xr + 2 * ox, *b = t + W;
    const dnn_v8 t0 = dnn_v8_load(t), t1 = dnn_v8_load(half ? t : t + 8), b0 = dnn_v8_load(b),
                 b1 = dnn_v8_load(half ? b : b + 8);
    const dnn_v8 y[4] = {dnn_v8_evens2(t0, t1), dnn_v8_odds2(t0, t1), dnn_v8_evens2(b0, b1), dnn_v8_odds2(b0, b1)};
    dnn_v8 top = y[0];
    DNN_UNROLL for (int k = 1; k < 4; k++) top = dnn_v8_select(y[k] != y[k], y[k], dnn_v8_max(y[k], top));
    return top;
}
#endif

DNN_KERNEL void dnn_maxpool_forward_tiled(float *out, const float *inp, int n, int C, int H, int W, int K) {
    const int OH = H / K, OW = W / K;
    for (int sc = 0; sc < n * C; sc++)
        for (int oy = 0; oy < OH; oy++) {
            const float *xr = inp + (sc * H + oy * K) * W;
            const int o = (sc * OH + oy) * OW; /* an index, not a pointer: so gcc -O3 vectorises over sc */
            int ox = 0;
#ifdef DNN_V8
            if (K == 2 && OW >= 4) { /* w windows at a time, the last w overlapping the ones before */
                const int w = OW >= 8 ? 8 : 4;
                for (int x0 = 0;; x0 += w) {
                    x0 = x0 + w <= OW ? x0 : OW - w;
                    const dnn_v8 top = dnn_maxpool2_v8(xr, W, x0, w == 4);
                    memcpy(out + o + x0, &top, sizeof(float) * (size_t)w);
                    if (x0 + w == OW)
                        break;
                }
                ox = OW;
            }
#endif
            for (; ox < OW; ox++) {
                float top = xr[ox * K];
                DNN_UNROLL for (int i = 1; i < K * K; i++) {
                    const float val = xr[i / K * W + i % K + ox * K];
                    top = val > top || val != val ? val : top;
                }
                out[o + ox] = top;
            }
        }
}

#ifdef DNN_V8
/* The 2 × 2 gradient of 4 windows (8 columns of both rows) from column
 * 2·ox: the same choice as the scalar code — the window's first element
 * equal to its output (or the first NaN when that is NaN), else the last
 * one — made for the 8 lanes of each row at once, a lane's even neighbour
 * telling the odd lane whether it came first (tests/kernels checks the two
 * agree on ties and NaNs). With relu, an element x ≤ 0 gets 0: relu's
 * gradient, whose output x is. */
DNN_KERNEL void dnn_maxpool2_backward_v8(float *dr, const float *xr, const float *to, const float *go, int W, int ox,
                                         int relu) {
    const dnn_v8 t = dnn_v8_load(xr + 2 * ox), b = dnn_v8_load(xr + W + 2 * ox);
    const dnn_v8 top = {to[0], to[0], to[1], to[1], to[2], to[2], to[3], to[3]};
    const dnn_v8 g = {go[0], go[0], go[1], go[1], go[2], go[2], go[3], go[3]}, zero = {0};
    const dnn_v8i odd = {0, -1, 0, -1, 0, -1, 0, -1}, nan = top != top;
    const dnn_v8i mt = (t == top) | ((t != t) & nan), mb = (b == top) | ((b != b) & nan);
    const dnn_v8i mt_even = dnn_v8i_evens(mt), mt_odd = dnn_v8i_odds(mt), mb_even = dnn_v8i_evens(mb);
    const dnn_v8i first_t = mt & ~(mt_even & odd);
    const dnn_v8i first_b = ~(mt_even | mt_odd) & ((mb & ~odd) | (~mb_even & odd));
    dnn_v8_store(dr + 2 * ox, dnn_v8_select(relu ? first_t & ~(t <= zero) : first_t, g, zero));
    dnn_v8_store(dr + W + 2 * ox, dnn_v8_select(relu ? first_b & ~(b <= zero) : first_b, g, zero));
}
#endif

/* dinp from dout and the stored output `out`: the window's first element
 * equal to its output (the first NaN if that is NaN, else the last) gets
 * dout, the others 0, so every input is written once (no zeroing pass, no
 * scattered adds) but for the rows and columns no window covers. With
 * relu, the pool's input is relu's output and dinp relu's input gradient:
 * an element x ≤ 0 gets 0 (dnn_maxpool_relu_backward). */
DNN_KERNEL void dnn_maxpool_backward_tiled(float *dinp, const float *dout, const float *inp, const float *out, int n,
                                           int C, int H, int W, int K, int relu) {
    const int OH = H / K, OW = W / K;
    if (H % K || W % K) /* the rows and columns no window covers */
        memset(dinp, 0, sizeof(float) * (size_t)n * (size_t)(C * H * W));
    for (int sc = 0; sc < n * C; sc++)
        for (int oy = 0; oy < OH; oy++) {
            const float *xr = inp + (sc * H + oy * K) * W;
            const int o = (sc * OH + oy) * OW;
            float *dr = dinp + (sc * H + oy * K) * W;
            int ox = 0;
#ifdef DNN_V8
            if (K == 2 && OW >= 4)
                for (; ox + 4 <= W / 2; ox += 4)
                    dnn_maxpool2_backward_v8(dr, xr, out + o + ox, dout + o + ox, W, ox, relu);
#endif
            for (; ox < OW; ox++) {
                const float top = out[o + ox], g = dout[o + ox];
                const int nan = top != top;
                int found = 0; /* an earlier element of the window was the one */
                DNN_UNROLL for (int i = 0; i < K * K; i++) {
                    const float v = xr[i / K * W + i % K + ox * K];
                    const int m = !found && (i == K * K - 1 || v == top || (v != v && nan));
                    dr[i / K * W + i % K + ox * K] = m && !(relu && v <= 0.0f) ? g : 0.0f;
                    found |= m;
                }
            }
        }
}

/* ---- the dispatchers ---------------------------------------------------------------------- */

/* maxpool (max = 1) or avgpool (max = 0, P = 0): the tiled kernel when the
 * windows tile the input, else the plain loops. */
DNN_KERNEL void dnn_pool_forward(float *out, const float *inp, int n, int C, int H, int W, int K, int S, int P,
                                 int max) {
    if (max && K > 1 && S == K && P == 0)
        dnn_maxpool_forward_tiled(out, inp, n, C, H, W, K);
    else
        dnn_pool_forward_plain(out, inp, n, C, H, W, K, S, P, max);
}

/* dinp (overwritten); out is the forward result (the tiled maxpool's
 * gradient reads it). */
DNN_KERNEL void dnn_pool_backward(float *dinp, const float *dout, const float *inp, const float *out, int n, int C,
                                  int H, int W, int K, int S, int P, int max) {
    if (max && K > 1 && S == K && P == 0)
        dnn_maxpool_backward_tiled(dinp, dout, inp, out, n, C, H, W, K, 0);
    else
        dnn_pool_backward_plain(dinp, dout, inp, n, C, H, W, K, S, P, max);
}

/* maxpool's then relu's gradient in one pass, where relu feeds maxpool
 * (inp is relu's output, dinp relu's input gradient): the values of
 * dnn_pool_backward then relu's y ≤ 0 ? 0 : g, without the pool's gradient
 * stored between them. Windows that tile the input (S = K, P = 0). */
DNN_KERNEL void dnn_maxpool_relu_backward(float *dinp, const float *dout, const float *inp, const float *out, int n,
                                          int C, int H, int W, int K) {
    dnn_maxpool_backward_tiled(dinp, dout, inp, out, n, C, H, W, K, 1);
}
