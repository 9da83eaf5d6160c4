/* dnn_kernels_plain.h — every kernel's plain reference: the formula as the
 * simplest loop, with the sizes as run-time arguments. Part of
 * dnn_kernels.h, which includes this file twice: with DNN_REAL float, the
 * functions dnn_NAME_plain, and with DNN_REAL double, dnn_NAME_plain_f64
 * (the double-precision twin of dnnc --main). They are the kernels of
 * --optimize=size and the reference tests/kernels checks the fast kernels
 * against. Sums run in the formula's order, one product at a time.
 *
 * Layouts are PyTorch's: a dense weight is [units][in], a conv2d weight
 * [F][C][K][K], images [n][C][H][W]. A conv2d's output is OH × OW with
 * OH = (H + 2P − K) / S + 1 (likewise OW); a pool's likewise with its
 * window, stride and pad. Gradients are overwritten, not accumulated.
 */
#if !defined(DNN_REAL) || !defined(DNN_PLAIN) || !defined(DNN_RELU)
#error "dnn_kernels_plain.h is included by dnn_kernels.h, with DNN_REAL, DNN_PLAIN and DNN_RELU defined"
#endif

/* ---- dense: out[s][j] = bias[j] + Σ_i weight[j][i] · inp[s][i] ---------------------- */

/* ---- four sums at a time: the inner loops of --optimize=size --------------------------
 * A dense layer's rows and a conv's filters, four at a time: each input
 * value is loaded once for four products, and the pointers walk the
 * weights and the input with no test per product (a conv's padding is
 * left out by the tap ranges, not checked). Each sum still runs in the
 * formula's order. The four rows are consecutive: the last four of count
 * overlap the ones before (computing a row twice, the same value), and
 * with fewer than four rows in all, one row four times (step 0). */

/* the first of the four rows from row j of count, and the step to the next (0 or 1) */
DNN_KERNEL int DNN_PLAIN(rows4)(int j, int count, int *step) {
    *step = count >= 4;
    return *step && j > count - 4 ? count - 4 : j;
}

/* acc[r] += Σ_{i < len} w[r · step + i] · x[i] for r < 4, each in i's order
 * (len > 0). A function of its own, so that its pointers keep their
 * registers. */
DNN_NOINLINE void DNN_PLAIN(taps4)(DNN_REAL acc[4], const DNN_REAL *x, const DNN_REAL *w, int step, int len) {
    const DNN_REAL *w0 = w, *w1 = w0 + step, *w2 = w1 + step, *w3 = w2 + step;
    DNN_REAL a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    do {
        const DNN_REAL xi = *x++;
        a0 += *w0++ * xi;
        a1 += *w1++ * xi;
        a2 += *w2++ * xi;
        a3 += *w3++ * xi;
    } while (--len);
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* bias may be NULL; rows four at a time (taps4), summed in out (or with fewer than four rows, in one[4]) */
DNN_KERNEL void DNN_PLAIN(dense_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                         const DNN_REAL *bias, int n, int in, int units) {
    for (int s = 0; s < n; s++, inp += in, out += units)
        for (int j = 0, step; j < units; j += 1 + 3 * step) {
            const int j0 = DNN_PLAIN(rows4)(j, units, &step);
            DNN_REAL one[4], *acc = step ? out + j0 : one;
            for (int r = 0; r < 4; r++)
                acc[r] = bias ? bias[j0 + r * step] : 0;
            if (in > 0)
                DNN_PLAIN(taps4)(acc, inp, weight + j0 * in, step * in, in);
            out[j0] = acc[0];
        }
}

/* dinp[s][i] = Σ_j dout[s][j] · weight[j][i] */
DNN_KERNEL void DNN_PLAIN(dense_backward_input)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *weight,
                                                int n, int in, int units) {
    for (int s = 0; s < n; s++) {
        const DNN_REAL *g = dout + s * units;
        DNN_REAL *d = dinp + s * in;
        for (int i = 0; i < in; i++)
            d[i] = 0;
        for (int j = 0; j < units; j++) {
            const DNN_REAL *w = weight + j * in;
            for (int i = 0; i < in; i++)
                d[i] += g[j] * w[i];
        }
    }
}

/* dweight[j][i] = Σ_s dout[s][j] · inp[s][i] */
DNN_KERNEL void DNN_PLAIN(dense_backward_weight)(DNN_REAL *dweight, const DNN_REAL *dout, const DNN_REAL *inp,
                                                 int n, int in, int units) {
    memset(dweight, 0, sizeof(DNN_REAL) * (size_t)units * (size_t)in);
    for (int s = 0; s < n; s++) {
        const DNN_REAL *x = inp + s * in, *g = dout + s * units;
        for (int j = 0; j < units; j++)
            for (int i = 0; i < in; i++)
                dweight[j * in + i] += g[j] * x[i];
    }
}

/* dbias[j] = Σ_s dout[s][j] */
DNN_KERNEL void DNN_PLAIN(dense_backward_bias)(DNN_REAL *dbias, const DNN_REAL *dout, int n, int units) {
    memset(dbias, 0, sizeof(DNN_REAL) * (size_t)units);
    for (int s = 0; s < n; s++)
        for (int j = 0; j < units; j++)
            dbias[j] += dout[s * units + j];
}

/* ---- conv2d: out[s][f][oy][ox] = bias[f] + Σ_{c,ky,kx} weight[f][c][ky][kx] · x[s][g·C/G + c][oy·SH−PT+ky][ox·SW−PL+kx]
 * for filter f of group g = f / (F/G), c < C/G (x is 0 outside the image):
 * a kernel KH × KW, strides SH, SW, padding PT (top), PB (bottom), PL
 * (left), PR (right), G groups (PyTorch's weight [F][C/G][KH][KW]), so
 * OH = (H + PT + PB − KH) / SH + 1, OW likewise. Weight-stationary: each
 * weight swept along the output rows it touches, so the sum of an output
 * runs over c, ky, kx in order. The dense conv2d (one group, square
 * kernel, stride and padding) is the same loops. */

DNN_KERNEL void DNN_PLAIN(conv2d_grouped_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                                  const DNN_REAL *bias, int n, int C, int H, int W, int F, int KH,
                                                  int KW, int SH, int SW, int PT, int PB, int PL, int PR, int G) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    for (int s = 0; s < n; s++) {
        const DNN_REAL *xs = inp + s * C * H * W;
        DNN_REAL *ys = out + s * F * OH * OW;
        for (int f = 0; f < F; f++)
            for (int i = 0; i < OH * OW; i++)
                ys[f * OH * OW + i] = bias ? bias[f] : 0;
        for (int f = 0; f < F; f++)
            for (int c = 0; c < CG; c++)
                for (int ky = 0; ky < KH; ky++) {
                    int oy0, oy1;
                    dnn_conv_range(&oy0, &oy1, ky, H, SH, PT, OH);
                    for (int kx = 0; kx < KW; kx++) {
                        int ox0, ox1;
                        dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                        const DNN_REAL w = weight[((f * CG + c) * KH + ky) * KW + kx];
                        for (int oy = oy0; oy < oy1; oy++) {
                            const DNN_REAL *xr = xs + ((f / FG * CG + c) * H + oy * SH - PT + ky) * W - PL + kx;
                            DNN_REAL *yr = ys + (f * OH + oy) * OW;
                            for (int ox = ox0; ox < ox1; ox++)
                                yr[ox] += w * xr[ox * SW];
                        }
                    }
                }
    }
}

DNN_KERNEL void DNN_PLAIN(conv2d_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                          const DNN_REAL *bias, int n, int C, int H, int W, int F, int K, int S,
                                          int P) {
    DNN_PLAIN(conv2d_grouped_forward)(out, inp, weight, bias, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
}

/* dinp[s][c][iy][ix] = Σ over the outputs that read it of weight · dout, added
 * filter by filter, tap by tap */
DNN_KERNEL void DNN_PLAIN(conv2d_grouped_backward_input)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *weight,
                                                         int n, int C, int H, int W, int F, int KH, int KW, int SH,
                                                         int SW, int PT, int PB, int PL, int PR, int G) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    for (int s = 0; s < n; s++) {
        const DNN_REAL *gs = dout + s * F * OH * OW;
        DNN_REAL *ds = dinp + s * C * H * W;
        memset(ds, 0, sizeof(DNN_REAL) * (size_t)(C * H * W));
        for (int f = 0; f < F; f++)
            for (int c = 0; c < CG; c++)
                for (int ky = 0; ky < KH; ky++) {
                    int oy0, oy1;
                    dnn_conv_range(&oy0, &oy1, ky, H, SH, PT, OH);
                    for (int kx = 0; kx < KW; kx++) {
                        int ox0, ox1;
                        dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                        const DNN_REAL w = weight[((f * CG + c) * KH + ky) * KW + kx];
                        for (int oy = oy0; oy < oy1; oy++) {
                            DNN_REAL *dr = ds + ((f / FG * CG + c) * H + oy * SH - PT + ky) * W - PL + kx;
                            const DNN_REAL *gr = gs + (f * OH + oy) * OW;
                            for (int ox = ox0; ox < ox1; ox++)
                                dr[ox * SW] += w * gr[ox];
                        }
                    }
                }
    }
}

DNN_KERNEL void DNN_PLAIN(conv2d_backward_input)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *weight,
                                                 int n, int C, int H, int W, int F, int K, int S, int P) {
    DNN_PLAIN(conv2d_grouped_backward_input)(dinp, dout, weight, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
}

/* dweight[f][c][ky][kx] = Σ_s (Σ_{oy,ox} x · dout): one sample's sum, then added */
DNN_KERNEL void DNN_PLAIN(conv2d_grouped_backward_weight)(DNN_REAL *dweight, const DNN_REAL *dout,
                                                          const DNN_REAL *inp, int n, int C, int H, int W, int F,
                                                          int KH, int KW, int SH, int SW, int PT, int PB, int PL,
                                                          int PR, int G) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    memset(dweight, 0, sizeof(DNN_REAL) * (size_t)(F * CG * KH * KW));
    for (int s = 0; s < n; s++) {
        const DNN_REAL *xs = inp + s * C * H * W, *gs = dout + s * F * OH * OW;
        for (int f = 0; f < F; f++)
            for (int c = 0; c < CG; c++)
                for (int ky = 0; ky < KH; ky++) {
                    int oy0, oy1;
                    dnn_conv_range(&oy0, &oy1, ky, H, SH, PT, OH);
                    for (int kx = 0; kx < KW; kx++) {
                        int ox0, ox1;
                        dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                        DNN_REAL acc = 0;
                        for (int oy = oy0; oy < oy1; oy++) {
                            const DNN_REAL *xr = xs + ((f / FG * CG + c) * H + oy * SH - PT + ky) * W - PL + kx;
                            const DNN_REAL *gr = gs + (f * OH + oy) * OW;
                            for (int ox = ox0; ox < ox1; ox++)
                                acc += xr[ox * SW] * gr[ox];
                        }
                        dweight[((f * CG + c) * KH + ky) * KW + kx] += acc;
                    }
                }
    }
}

DNN_KERNEL void DNN_PLAIN(conv2d_backward_weight)(DNN_REAL *dweight, const DNN_REAL *dout, const DNN_REAL *inp,
                                                  int n, int C, int H, int W, int F, int K, int S, int P) {
    DNN_PLAIN(conv2d_grouped_backward_weight)(dweight, dout, inp, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
}

/* dbias[f] = Σ_{s,oy,ox} dout[s][f][oy][ox], in that order */
DNN_KERNEL void DNN_PLAIN(conv2d_backward_bias)(DNN_REAL *dbias, const DNN_REAL *dout, int n, int F, int OH,
                                                int OW) {
    for (int f = 0; f < F; f++) {
        DNN_REAL acc = 0;
        for (int s = 0; s < n; s++)
            for (int i = 0; i < OH * OW; i++)
                acc += dout[(s * F + f) * OH * OW + i];
        dbias[f] = acc;
    }
}

/* One conv output at (oy, ox) of one filter wf over one sample xs: b, then
 * the products in c, ky, kx order (the unfused conv's value) */
DNN_KERNEL DNN_REAL DNN_PLAIN(conv2d_at)(const DNN_REAL *xs, const DNN_REAL *wf, DNN_REAL b, int oy, int ox, int C,
                                         int H, int W, int K, int S, int P) {
    DNN_REAL y = b;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++) {
            const int iy = oy * S - P + ky;
            if (iy < 0 || iy >= H)
                continue;
            for (int kx = 0; kx < K; kx++) {
                const int ix = ox * S - P + kx;
                if (ix >= 0 && ix < W)
                    y += wf[(c * K + ky) * K + kx] * xs[(c * H + iy) * W + ix];
            }
        }
    return y;
}

/* ---- conv2d → activation → pool in one step (dnnc --inference) ------------------------
 * out[s][f][py][px] = pool over the window of act(conv2d(...)): each conv
 * output computed where the window needs it (bias, then c, ky, kx in
 * order, so the values are the unfused ones), activated and pooled at once;
 * the conv output is never stored. max: the window's first maximum
 * (dnn_pool_max_take, NaN wins), with pool padding PP skipped; else the
 * average of the PK × PK values. act may be NULL (relu: 1 for relu, act
 * then unused; conv2d_pool_forward below sets both). Four filters at a
 * time (taps4: one load of the input for four products), each conv output
 * over the taps inside the image only, each window kept in its outputs. */
DNN_KERNEL void DNN_PLAIN(conv2d_pool_steps)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                             const DNN_REAL *bias, int n, int C, int H, int W, int F, int K, int S,
                                             int P, int PK, int PS, int PP, int max, int relu,
                                             DNN_REAL (*act)(DNN_REAL)) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    const int PH = (OH + 2 * PP - PK) / PS + 1, PW = (OW + 2 * PP - PK) / PS + 1;
    for (int s = 0; s < n; s++, inp += C * H * W, out += F * PH * PW)
        for (int f = 0, step; f < F; f += 1 + 3 * step) { /* four filters at a time (taps4) */
            const int f0 = DNN_PLAIN(rows4)(f, F, &step);
            for (int p = 0; p < PH * PW; p++) {
                /* the window's values in order into its outputs o[r · PH · PW]: the maximum so
                   far (from −∞, so that the first value, even −∞ or NaN, is taken) or the sum */
                DNN_REAL *o = out + f0 * PH * PW + p;
                for (int r = 0; r < 1 + 3 * step; r++) /* each output once */
                    o[r * PH * PW] = max ? -INFINITY : 0;
                for (int i = 0; i < PK * PK; i++) {
                    const int oy = p / PW * PS - PP + i / PK, ox = p % PW * PS - PP + i % PK;
                    if (PP && ((unsigned)oy >= (unsigned)OH || (unsigned)ox >= (unsigned)OW))
                        continue; /* in the pool's padding (without, every window is inside) */
                    /* the conv output: its taps over the image, the rows inside it and their
                       columns kx0 .. kx1 − 1 (the padding adds nothing: no test per product) */
                    const int iy = oy * S - P, ix = ox * S - P;
                    const int kx0 = ix < 0 ? -ix : 0, kx1 = W - ix < K ? W - ix : K;
                    DNN_REAL y[4];
                    for (int r = 0; r < 4; r++)
                        y[r] = bias ? bias[f0 + r * step] : 0;
                    for (int row = 0; row < C * K; row++) /* c = row / K, ky = row % K */
                        if ((unsigned)(iy + row % K) < (unsigned)H && kx0 < kx1)
                            DNN_PLAIN(taps4)(y, inp + (row / K * H + iy + row % K) * W + ix + kx0,
                                             weight + (f0 * C * K + row) * K + kx0, step * C * K * K, kx1 - kx0);
                    for (int r = 0; r < 1 + 3 * step; r++) {
                        const DNN_REAL v = relu ? (y[r] < 0 ? 0 : y[r]) : act ? act(y[r]) : y[r], z = o[r * PH * PW];
                        o[r * PH * PW] = !max ? z + v : v > z || v != v ? v : z;
                    }
                }
                for (int r = 0; r < 1 + 3 * step && !max; r++)
                    o[r * PH * PW] /= (DNN_REAL)(PK * PK);
            }
        }
}

/* relu (DNN_RELU) as a flag, compared where the caller's act is a constant: no
   reference to the function is left for gcc -Os to keep a copy of */
DNN_INLINE void DNN_PLAIN(conv2d_pool_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                               const DNN_REAL *bias, int n, int C, int H, int W, int F, int K,
                                               int S, int P, int PK, int PS, int PP, int max,
                                               DNN_REAL (*act)(DNN_REAL)) {
    DNN_PLAIN(conv2d_pool_steps)(out, inp, weight, bias, n, C, H, W, F, K, S, P, PK, PS, PP, max, act == DNN_RELU,
                                 act == DNN_RELU ? NULL : act);
}

/* ---- pooling: maxpool (window KH × KW, strides SH, SW, pad P: the first
 * maximum, NaN wins) and avgpool (P = 0: the average of the window);
 * pool_forward and pool_backward are the square windows ------------------- */

DNN_KERNEL void DNN_PLAIN(pool_rect_forward)(DNN_REAL *out, const DNN_REAL *inp, int n, int C, int H, int W, int KH,
                                             int KW, int SH, int SW, int P, int max) {
    const int OH = (H + 2 * P - KH) / SH + 1, OW = (W + 2 * P - KW) / SW + 1;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < C; c++) {
            const DNN_REAL *xc = inp + (s * C + c) * H * W;
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    int best = -1;
                    DNN_REAL top = -INFINITY, acc = 0;
                    for (int ky = 0; ky < KH; ky++) {
                        const int iy = oy * SH - P + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int kx = 0; kx < KW; kx++) {
                            const int ix = ox * SW - P + kx;
                            if (ix < 0 || ix >= W)
                                continue;
                            const DNN_REAL val = xc[iy * W + ix];
                            if (!max)
                                acc += val;
                            else if (best < 0 || val > top || val != val) {
                                top = val;
                                best = iy * W + ix;
                            }
                            if (top != top)
                                break;
                        }
                        if (top != top)
                            break;
                    }
                    out[(s * C + c) * OH * OW + oy * OW + ox] = max ? top : acc / (DNN_REAL)(KH * KW);
                }
        }
}

DNN_KERNEL void DNN_PLAIN(pool_forward)(DNN_REAL *out, const DNN_REAL *inp, int n, int C, int H, int W, int K,
                                        int S, int P, int max) {
    DNN_PLAIN(pool_rect_forward)(out, inp, n, C, H, W, K, K, S, S, P, max);
}

/* dinp gets each window's dout: maxpool's at the window's first maximum
 * (found again from the input), avgpool's divided by KH·KW at every element */
DNN_KERNEL void DNN_PLAIN(pool_rect_backward)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *inp, int n,
                                              int C, int H, int W, int KH, int KW, int SH, int SW, int P, int max) {
    const int OH = (H + 2 * P - KH) / SH + 1, OW = (W + 2 * P - KW) / SW + 1;
    memset(dinp, 0, sizeof(DNN_REAL) * (size_t)n * (size_t)(C * H * W));
    for (int s = 0; s < n; s++)
        for (int c = 0; c < C; c++) {
            const DNN_REAL *xc = inp + (s * C + c) * H * W;
            DNN_REAL *dc = dinp + (s * C + c) * H * W;
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    const int o = (s * C + c) * OH * OW + oy * OW + ox;
                    int best = -1;
                    DNN_REAL top = -INFINITY;
                    for (int ky = 0; ky < KH; ky++) {
                        const int iy = oy * SH - P + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int kx = 0; kx < KW; kx++) {
                            const int ix = ox * SW - P + kx;
                            if (ix < 0 || ix >= W)
                                continue;
                            if (!max)
                                dc[iy * W + ix] += dout[o] / (DNN_REAL)(KH * KW);
                            else if (best < 0 || xc[iy * W + ix] > top || xc[iy * W + ix] != xc[iy * W + ix]) {
                                top = xc[iy * W + ix];
                                best = iy * W + ix;
                            }
                            if (top != top)
                                break;
                        }
                        if (top != top)
                            break;
                    }
                    if (max)
                        dc[best] += dout[o];
                }
        }
}

DNN_KERNEL void DNN_PLAIN(pool_backward)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *inp, int n, int C,
                                         int H, int W, int K, int S, int P, int max) {
    DNN_PLAIN(pool_rect_backward)(dinp, dout, inp, n, C, H, W, K, K, S, S, P, max);
}

/* relu → maxpool (windows K × K, stride K): maxpool's gradient, then
 * relu's from its output inp: y ≤ 0 ? 0 : g */
DNN_KERNEL void DNN_PLAIN(maxpool_relu_backward)(DNN_REAL *dinp, const DNN_REAL *dout, const DNN_REAL *inp, int n,
                                                 int C, int H, int W, int K) {
    DNN_PLAIN(pool_backward)(dinp, dout, inp, n, C, H, W, K, K, 0, 1);
    for (long i = 0; i < (long)n * C * H * W; i++)
        dinp[i] = inp[i] <= 0 ? 0 : dinp[i];
}

/* ---- l2, l1: Σ x² (squares) or Σ |x|, in 8 partial sums (lane k: i ≡ k mod 8) added
 * pairwise, then the tail: the order of dnnc's l2() and l1() ------------------------- */
DNN_KERNEL DNN_REAL DNN_PLAIN(penalty_sum)(const DNN_REAL *p, int count, int squares) {
    const int count8 = count / 8 * 8;
    DNN_REAL part[8] = {0};
    for (int i = 0; i < count8; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += squares ? p[i + k] * p[i + k] : (DNN_REAL)fabs((double)p[i + k]);
    DNN_REAL acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (int i = count8; i < count; i++)
        acc += squares ? p[i] * p[i] : (DNN_REAL)fabs((double)p[i]);
    return acc;
}

#undef DNN_REAL
#undef DNN_PLAIN
#undef DNN_RELU
