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
#if !defined(DNN_REAL) || !defined(DNN_PLAIN)
#error "dnn_kernels_plain.h is included by dnn_kernels.h, with DNN_REAL and DNN_PLAIN defined"
#endif

/* ---- dense: out[s][j] = bias[j] + Σ_i weight[j][i] · inp[s][i] ---------------------- */

/* bias may be NULL */
DNN_KERNEL void DNN_PLAIN(dense_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                         const DNN_REAL *bias, int n, int in, int units) {
    for (int s = 0; s < n; s++) {
        const DNN_REAL *x = inp + s * in;
        DNN_REAL *y = out + s * units;
        for (int j = 0; j < units; j++) {
            const DNN_REAL *w = weight + j * in;
            DNN_REAL acc = bias ? bias[j] : 0;
            for (int i = 0; i < in; i++)
                acc += w[i] * x[i];
            y[j] = acc;
        }
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
 * average of the PK × PK values. act may be NULL. */
DNN_KERNEL void DNN_PLAIN(conv2d_pool_forward)(DNN_REAL *out, const DNN_REAL *inp, const DNN_REAL *weight,
                                               const DNN_REAL *bias, int n, int C, int H, int W, int F, int K,
                                               int S, int P, int PK, int PS, int PP, int max,
                                               DNN_REAL (*act)(DNN_REAL)) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    const int PH = (OH + 2 * PP - PK) / PS + 1, PW = (OW + 2 * PP - PK) / PS + 1;
    for (int s = 0; s < n; s++)
        for (int f = 0; f < F; f++) {
            const DNN_REAL *xs = inp + s * C * H * W, *wf = weight + f * C * K * K;
            for (int py = 0; py < PH; py++)
                for (int px = 0; px < PW; px++) {
                    DNN_REAL top = -INFINITY, acc = 0;
                    int first = 1;
                    for (int wy = 0; wy < PK; wy++)
                        for (int wx = 0; wx < PK; wx++) {
                            const int oy = py * PS - PP + wy, ox = px * PS - PP + wx;
                            if (oy < 0 || oy >= OH || ox < 0 || ox >= OW)
                                continue;
                            DNN_REAL y = DNN_PLAIN(conv2d_at)(xs, wf, bias ? bias[f] : 0, oy, ox, C, H, W, K, S, P);
                            if (act)
                                y = act(y);
                            if (max) {
                                if (first || y > top || y != y)
                                    top = y;
                                first = 0;
                            } else
                                acc += y;
                        }
                    out[((s * F + f) * PH + py) * PW + px] = max ? top : acc / (DNN_REAL)(PK * PK);
                }
        }
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

#undef DNN_REAL
#undef DNN_PLAIN
