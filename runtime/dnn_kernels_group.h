/* dnn_kernels_group.h — conv2d with groups, rectangular kernels and
 * strides, and asymmetric padding (TensorFlow's 'same'), and its
 * gradients. Part of dnn_kernels.h.
 *
 * Layouts are PyTorch's: inputs [n][C][H][W], weights [F][C/G][KH][KW],
 * outputs [n][F][OH][OW] with OH = (H + PT + PB − KH) / SH + 1, OW = (W +
 * PL + PR − KW) / SW + 1; filter f of group g = f / (F/G) reads the input
 * channels g·C/G .. (g+1)·C/G − 1. The formulas and their plain loops are
 * dnn_conv2d_grouped_*_plain (dnn_kernels_plain.h); the bias gradient is
 * dnn_conv2d_backward_bias's. dnnc calls these for a conv2d the dense
 * kernels (dnn_kernels_conv.h: one group, square kernel, stride and
 * padding) do not serve, and for pointwise ones.
 *
 * Two fast paths, else matrix products (dnn_kernels_gemm.h):
 *   depthwise (C = G = F): at stride 1 or 2 on a small plane, each weight
 *     swept once over one phase of the zero-padded plane, flat
 *     (dnn_depthwise_flat; at stride 2 the forward only for rows narrower
 *     than a vector); else
 *     along the output rows, as the plain loops do, 8 columns a vector
 *     (strides 1 and 2); the weight gradient with vectors a dnn_dot8 per
 *     tap over the padded plane (flat) or the band's im2col columns
 *     (lane k takes the positions ≡ k mod 8, added in one fixed
 *     tree, then the positions left), without them a running sum per tap,
 *     all taps in one pass over the outputs, in the plain loops' order.
 *   pointwise (1 × 1, stride 1, no padding): per sample and group a matrix
 *     product, out = weight · x over the H·W positions, in dnn_outer's
 *     register blocks (dnn_kernels_dense.h); the weight gradient with
 *     vectors dnn_kernels_gemm.h's, else a dnn_dot8 per weight.
 * The vector paths fuse each multiply-add (FMA), so they agree with the
 * plain C path to rounding; tests/kernels checks both against the plain
 * reference. */

DNN_KERNEL int dnn_conv2d_is_depthwise(int C, int F, int G) { return C == G && F == G; }
DNN_KERNEL int dnn_conv2d_is_pointwise(int KH, int KW, int SH, int SW, int PT, int PB, int PL, int PR) {
    return KH == 1 && KW == 1 && SH == 1 && SW == 1 && !PT && !PB && !PL && !PR;
}

/* Σ_{p < count} a[p] · b[p]: 8 partial sums (lane k the p ≡ k mod 8 below
 * count / 8 · 8, in order), added ((0+1) + (2+3)) + ((4+5) + (6+7)), then
 * the p left one by one */
DNN_KERNEL float dnn_dot8(const float *a, const float *b, int count) {
    const int c8 = count / 8 * 8;
    float sum;
#ifdef DNN_V8
    dnn_v8 acc = {0};
    for (int p = 0; p < c8; p += 8)
        acc = dnn_v8_fma(dnn_v8_load(a + p), dnn_v8_load(b + p), acc);
    sum = dnn_v8_sum(acc);
#else
    float acc[8] = {0};
    for (int p = 0; p < c8; p += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[p + k] * b[p + k];
    sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
#endif
    for (int p = c8; p < count; p++)
        sum += a[p] * b[p];
    return sum;
}

/* ---- depthwise ------------------------------------------------------------------------------- */

/* y[i] += w · x[i·stride] for i < count: 8 at a time for strides 1 and 2 */
DNN_KERNEL void dnn_row_axpy(float *y, const float *x, float w, int count, int stride) {
    int i = 0;
#ifdef DNN_V8
    const dnn_v8 wv = dnn_v8_splat(w);
    if (stride == 1)
        for (; i + 8 <= count; i += 8)
            dnn_v8_store(y + i, dnn_v8_fma(wv, dnn_v8_load(x + i), dnn_v8_load(y + i)));
    else if (stride == 2) /* loads x[2i .. 2i + 15]: one past the last read, so stop a vector early */
        for (; i + 9 <= count; i += 8)
            dnn_v8_store(y + i, dnn_v8_fma(wv, dnn_v8_evens2(dnn_v8_load(x + 2 * i), dnn_v8_load(x + 2 * i + 8)),
                                           dnn_v8_load(y + i)));
#endif
    for (; i < count; i++)
        y[i] += w * x[i * stride];
}

#ifdef DNN_V8
/* Stride S = 1 or 2 (both ways) on a plane of at most DNN_FLAT_FLOATS
 * padded floats: the zero-padded plane split into its S × S phases (rows
 * ≡ a, columns ≡ b mod S; one phase at stride 1), each WQ = ⌈(W + PL +
 * PR) / S⌉ wide, so that every tap is one flat, unit-stride sweep over
 * OH·WQ positions of one phase (the outputs' rows at stride WQ, the
 * columns past OW computed and dropped): whole vectors however narrow the
 * map (DS-CNN's is 5 wide). Each output is the same sum in the same order
 * (bias, then the taps ky, kx); the padding adds w · 0 where the row loops
 * add nothing, which differs only in the sign of a zero sum and for an
 * infinite weight or gradient. */
#define DNN_FLAT_FLOATS 4096
typedef struct {
    int S, WQ, PS, NQ; /* stride, phase width, floats per phase (with slack), positions swept */
} dnn_flat;

DNN_KERNEL int dnn_depthwise_flat(dnn_flat *f, int H, int W, int KH, int KW, int SH, int SW, int PT, int PB, int PL,
                                  int PR) {
    const int HP = H + PT + PB, WP = W + PL + PR, S = SH, OH = (HP - KH) / S + 1;
    f->S = S, f->WQ = (WP + S - 1) / S, f->PS = (HP + S - 1) / S * f->WQ + f->WQ + KW, f->NQ = OH * f->WQ;
    return SH == SW && (S == 1 || S == 2) && HP * WP <= DNN_FLAT_FLOATS;
}

/* The phases (f->PS floats each, phase a·S + b) of the plane x [H][W]
 * after PT rows and PL columns of zeros: padded row S·r + a, column S·c + b at r·WQ + c */
DNN_KERNEL void dnn_flat_phases(float *ph, const dnn_flat *f, const float *x, int H, int W, int PT, int PL) {
    const int S = f->S, WQ = f->WQ, PS = f->PS;
    memset(ph, 0, sizeof(float) * (size_t)(S * S * PS));
    for (int y = 0; y < H; y++) {
        float *row = ph + (y + PT) % S * S * PS + (y + PT) / S * WQ;
        if (S == 1)
            memcpy(row + PL, x + y * W, sizeof(float) * (size_t)W);
        else /* S = 2 */
            for (int i = 0; i < W; i++)
                row[((i + PL) & 1) * PS + ((i + PL) >> 1)] = x[y * W + i];
    }
}

/* x [H][W] = the plane of phases ph, without its padding (dnn_flat_phases reversed) */
DNN_KERNEL void dnn_flat_unphase(float *x, const float *ph, const dnn_flat *f, int H, int W, int PT, int PL) {
    const int S = f->S, WQ = f->WQ, PS = f->PS;
    for (int y = 0; y < H; y++) {
        const float *row = ph + (y + PT) % S * S * PS + (y + PT) / S * WQ;
        if (S == 1)
            memcpy(x + y * W, row + PL, sizeof(float) * (size_t)W);
        else /* S = 2 */
            for (int i = 0; i < W; i++)
                x[y * W + i] = row[((i + PL) & 1) * PS + ((i + PL) >> 1)];
    }
}

/* g [OH][OW] at row stride WQ, zeros after each row (NQ floats) */
DNN_KERNEL void dnn_flat_rows(float *gw, const dnn_flat *f, const float *g, int OH, int OW) {
    memset(gw, 0, sizeof(float) * (size_t)f->NQ);
    for (int y = 0; y < OH; y++)
        memcpy(gw + y * f->WQ, g + y * OW, sizeof(float) * (size_t)OW);
}

/* Where tap (ky, kx) reads: its phase, then the offset of output 0 in it */
DNN_KERNEL int dnn_flat_tap(const dnn_flat *f, int ky, int kx) {
    return (ky % f->S * f->S + kx % f->S) * f->PS + ky / f->S * f->WQ + kx / f->S;
}

/* dnn_dot8 of a and b over the positions p with keep[p] (−1; 0 drops a[p] · b[p]) */
DNN_KERNEL float dnn_dot8_kept(const float *a, const float *b, const int *keep, int count) {
    const int c8 = count / 8 * 8;
    dnn_v8 acc = {0};
    for (int p = 0; p < c8; p += 8) {
        dnn_v8i m;
        memcpy(&m, keep + p, sizeof m);
        acc = dnn_v8_fma(dnn_v8_select(m, dnn_v8_load(a + p), (dnn_v8){0}), dnn_v8_load(b + p), acc);
    }
    float sum = dnn_v8_sum(acc);
    for (int p = c8; p < count; p++)
        if (keep[p])
            sum += a[p] * b[p];
    return sum;
}
#endif

DNN_KERNEL void dnn_conv2d_depthwise_forward(float *out, const float *inp, const float *weight, const float *bias,
                                             int n, int C, int H, int W, int KH, int KW, int SH, int SW, int PT,
                                             int PB, int PL, int PR) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1;
#ifdef DNN_V8
    dnn_flat f; /* at stride 2 the row loops' vectors (dnn_v8_evens2) beat the phases' copying once a row fills one */
    if (dnn_depthwise_flat(&f, H, W, KH, KW, SH, SW, PT, PB, PL, PR) && (f.S == 1 || OW < 8)) {
        float ph[f.S * f.S * f.PS], acc[f.NQ];
        for (int sc = 0; sc < n * C; sc++) {
            const float *wc = weight + sc % C * KH * KW;
            dnn_flat_phases(ph, &f, inp + sc * H * W, H, W, PT, PL);
            for (int i = 0; i < f.NQ; i++)
                acc[i] = bias ? bias[sc % C] : 0.0f;
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++)
                    dnn_row_axpy(acc, ph + dnn_flat_tap(&f, ky, kx), wc[ky * KW + kx], f.NQ, 1);
            for (int oy = 0; oy < OH; oy++)
                memcpy(out + (sc * OH + oy) * OW, acc + oy * f.WQ, sizeof(float) * (size_t)OW);
        }
        return;
    }
#endif
    for (int sc = 0; sc < n * C; sc++) {
        const int c = sc % C;
        const float *xc = inp + sc * H * W, *wc = weight + c * KH * KW;
        float *yc = out + sc * OH * OW;
        for (int i = 0; i < OH * OW; i++)
            yc[i] = bias ? bias[c] : 0.0f;
        for (int ky = 0; ky < KH; ky++) {
            int oy0, oy1;
            dnn_conv_range(&oy0, &oy1, ky, H, SH, PT, OH);
            for (int kx = 0; kx < KW; kx++) {
                int ox0, ox1;
                dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                for (int oy = oy0; oy < oy1; oy++)
                    dnn_row_axpy(yc + oy * OW + ox0, xc + (oy * SH - PT + ky) * W + ox0 * SW - PL + kx,
                                 wc[ky * KW + kx], ox1 - ox0, SW);
            }
        }
    }
}

/* dinp[s][c][iy][ix] = Σ of weight · dout over the outputs that read it, tap by tap */
DNN_KERNEL void dnn_conv2d_depthwise_backward_input(float *dinp, const float *dout, const float *weight, int n, int C,
                                                    int H, int W, int KH, int KW, int SH, int SW, int PT, int PB,
                                                    int PL, int PR) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1;
#ifdef DNN_V8
    dnn_flat f;
    if (dnn_depthwise_flat(&f, H, W, KH, KW, SH, SW, PT, PB, PL, PR)) { /* into the phases of the padded plane */
        float dph[f.S * f.S * f.PS], gw[f.NQ];
        for (int sc = 0; sc < n * C; sc++) {
            const float *wc = weight + sc % C * KH * KW;
            dnn_flat_rows(gw, &f, dout + sc * OH * OW, OH, OW);
            memset(dph, 0, sizeof dph);
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++)
                    dnn_row_axpy(dph + dnn_flat_tap(&f, ky, kx), gw, wc[ky * KW + kx], f.NQ, 1);
            dnn_flat_unphase(dinp + sc * H * W, dph, &f, H, W, PT, PL);
        }
        return;
    }
#endif
    memset(dinp, 0, sizeof(float) * (size_t)n * (size_t)(C * H * W));
    for (int sc = 0; sc < n * C; sc++) {
        const float *gc = dout + sc * OH * OW, *wc = weight + sc % C * KH * KW;
        float *dc = dinp + sc * H * W;
        for (int ky = 0; ky < KH; ky++) {
            int oy0, oy1;
            dnn_conv_range(&oy0, &oy1, ky, H, SH, PT, OH);
            for (int kx = 0; kx < KW; kx++) {
                int ox0, ox1;
                dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                const float w = wc[ky * KW + kx];
                for (int oy = oy0; oy < oy1; oy++) {
                    float *dr = dc + (oy * SH - PT + ky) * W + ox0 * SW - PL + kx;
                    const float *gr = gc + oy * OW + ox0;
                    if (SW == 1)
                        dnn_row_axpy(dr, gr, w, ox1 - ox0, 1);
                    else
                        for (int ox = 0; ox < ox1 - ox0; ox++)
                            dr[ox * SW] += w * gr[ox];
                }
            }
        }
    }
}

/* dweight[c][ky][kx] = Σ_s Σ_{oy,ox} x · dout: with vectors, per sample
 * and channel the input under each tap over a band of output rows
 * (dnn_im2col) and its dnn_dot8 with the output gradient, added tap by
 * tap; without, every tap's running sum (in the plain loops' order, oy
 * then ox) in one pass over a sample's outputs, then added */
DNN_KERNEL void dnn_conv2d_depthwise_backward_weight(float *dweight, const float *dout, const float *inp, int n,
                                                     int C, int H, int W, int KH, int KW, int SH, int SW, int PT,
                                                     int PB, int PL, int PR, int lo, int hi) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1;
    memset(dweight + lo * KH * KW, 0, sizeof(float) * (size_t)((hi - lo) * KH * KW));
#ifdef DNN_V8
    dnn_flat f;
    if (dnn_depthwise_flat(&f, H, W, KH, KW, SH, SW, PT, PB, PL, PR)) {
        /* a dnn_dot8 per tap over its phase, the dropped columns' products
         * skipped (0 · an input would be NaN for an infinite one) */
        float ph[f.S * f.S * f.PS], gw[f.NQ];
        int keep[f.NQ];
        for (int i = 0; i < f.NQ; i++)
            keep[i] = i % f.WQ < OW ? -1 : 0;
        for (int sc = 0; sc < n * C; sc++) {
            if (sc % C < lo || sc % C >= hi) /* another thread's channel */
                continue;
            float *dw = dweight + sc % C * KH * KW;
            dnn_flat_phases(ph, &f, inp + sc * H * W, H, W, PT, PL);
            dnn_flat_rows(gw, &f, dout + sc * OH * OW, OH, OW);
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++)
                    dw[ky * KW + kx] += dnn_dot8_kept(ph + dnn_flat_tap(&f, ky, kx), gw, keep, f.NQ);
        }
        return;
    }
    const int taps = KH * KW, band = dnn_gemm_band(taps, OH, OW);
    float cols[taps * band * OW];
    for (int sc = 0; sc < n * C; sc++) {
        if (sc % C < lo || sc % C >= hi)
            continue;
        const float *gc = dout + sc * OH * OW;
        float *dw = dweight + sc % C * taps;
        for (int oy0 = 0; oy0 < OH; oy0 += band) {
            const int rows = OH - oy0 < band ? OH - oy0 : band, np = rows * OW;
            dnn_im2col(cols, inp + sc * H * W, 1, H, W, KH, KW, SH, SW, PT, PL, OW, oy0, rows, 0);
            for (int t = 0; t < taps; t++)
                dw[t] += dnn_dot8(cols + t * np, gc + oy0 * OW, np);
        }
    }
#else
    for (int sc = 0; sc < n * C; sc++) {
        if (sc % C < lo || sc % C >= hi)
            continue;
        const float *xc = inp + sc * H * W, *gc = dout + sc * OH * OW;
        float acc[KH * KW];
        for (int t = 0; t < KH * KW; t++)
            acc[t] = 0.0f;
        for (int oy = 0; oy < OH; oy++) {
            const int iy0 = oy * SH - PT, ky0 = iy0 < 0 ? -iy0 : 0, ky1 = H - iy0 < KH ? H - iy0 : KH;
            for (int ox = 0; ox < OW; ox++) {
                const int ix0 = ox * SW - PL, kx0 = ix0 < 0 ? -ix0 : 0, kx1 = W - ix0 < KW ? W - ix0 : KW;
                const float g = gc[oy * OW + ox];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc[ky * KW + kx] += xc[(iy0 + ky) * W + ix0 + kx] * g;
            }
        }
        for (int t = 0; t < KH * KW; t++)
            dweight[sc % C * KH * KW + t] += acc[t];
    }
#endif
}

/* ---- pointwise -------------------------------------------------------------------------------- */

/* out[s][f][p] = (Σ_c weight[f][c] · x[s][g·C/G + c][p]) + bias[f] */
DNN_KERNEL void dnn_conv2d_pointwise_forward(float *out, const float *inp, const float *weight, const float *bias,
                                             int n, int C, int HW, int F, int G) {
    const int CG = C / G, FG = F / G;
    for (int s = 0; s < n; s++)
        for (int g = 0; g < G; g++) {
            float *y = out + ((long)s * F + g * FG) * HW;
            dnn_outer(y, weight + g * FG * CG, inp + ((long)s * C + g * CG) * HW, FG, CG, HW, CG, 1, HW, HW, 1,
                      NULL);
            for (int f = 0; bias && f < FG; f++)
                for (int p = 0; p < HW; p++)
                    y[f * HW + p] += bias[g * FG + f];
        }
}

/* dinp[s][g·C/G + c][p] = Σ_f weight[g·F/G + f][c] · dout[s][g·F/G + f][p] */
DNN_KERNEL void dnn_conv2d_pointwise_backward_input(float *dinp, const float *dout, const float *weight, int n, int C,
                                                    int HW, int F, int G) {
    const int CG = C / G, FG = F / G;
    for (int s = 0; s < n; s++)
        for (int g = 0; g < G; g++)
            dnn_outer(dinp + ((long)s * C + g * CG) * HW, weight + g * FG * CG, dout + ((long)s * F + g * FG) * HW,
                      CG, FG, HW, 1, CG, HW, HW, 1, NULL);
}

/* dweight[f][c] = Σ_s Σ_p dout[s][f][p] · x[s][g·C/G + c][p]: with
 * vectors the matrix products of dnn_kernels_gemm.h (dout times the
 * input transposed), else a dnn_dot8 per weight and sample */
DNN_KERNEL void dnn_conv2d_pointwise_backward_weight(float *dweight, const float *dout, const float *inp, int n, int C,
                                                     int HW, int F, int G, int lo, int hi) {
#ifdef DNN_V8
    dnn_conv2d_gemm_backward_weight_part(dweight, dout, inp, n, C, HW, 1, F, 1, 1, 1, 1, 0, 0, 0, 0, G, lo, hi);
#else
    const int CG = C / G, FG = F / G;
    memset(dweight + lo * CG, 0, sizeof(float) * (size_t)((hi - lo) * CG));
    for (int s = 0; s < n; s++)
        for (int f = lo; f < hi; f++)
            for (int c = 0; c < CG; c++)
                dweight[f * CG + c] += dnn_dot8(dout + ((long)s * F + f) * HW,
                                                inp + ((long)s * C + f / FG * CG + c) * HW, HW);
#endif
}

/* ---- the dispatchers -------------------------------------------------------------------------- */

DNN_KERNEL void dnn_conv2d_grouped_forward(float *out, const float *inp, const float *weight, const float *bias, int n,
                                           int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                           int PL, int PR, int G) {
    if (dnn_conv2d_is_depthwise(C, F, G))
        dnn_conv2d_depthwise_forward(out, inp, weight, bias, n, C, H, W, KH, KW, SH, SW, PT, PB, PL, PR);
    else if (dnn_conv2d_is_pointwise(KH, KW, SH, SW, PT, PB, PL, PR))
        dnn_conv2d_pointwise_forward(out, inp, weight, bias, n, C, H * W, F, G);
#ifdef DNN_V8
    else
        dnn_conv2d_gemm_forward(out, inp, weight, bias, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);
#else
    else
        dnn_conv2d_grouped_forward_plain(out, inp, weight, bias, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);
#endif
}

DNN_KERNEL void dnn_conv2d_grouped_backward_input(float *dinp, const float *dout, const float *weight, int n, int C,
                                                  int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                                  int PL, int PR, int G) {
    if (dnn_conv2d_is_depthwise(C, F, G))
        dnn_conv2d_depthwise_backward_input(dinp, dout, weight, n, C, H, W, KH, KW, SH, SW, PT, PB, PL, PR);
    else if (dnn_conv2d_is_pointwise(KH, KW, SH, SW, PT, PB, PL, PR))
        dnn_conv2d_pointwise_backward_input(dinp, dout, weight, n, C, H * W, F, G);
#ifdef DNN_V8
    else
        dnn_conv2d_gemm_backward_input(dinp, dout, weight, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);
#else
    else
        dnn_conv2d_grouped_backward_input_plain(dinp, dout, weight, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);
#endif
}

/* The weight gradient's filters lo .. hi, each filter's sums its own and
 * added in the order of the whole gradient's, so that a step can hand
 * ranges of its dnn_conv2d_grouped_backward_weight_items to its threads;
 * without vectors a conv the fast paths do not serve is one item, the
 * whole gradient (dnn_conv2d_grouped_backward_weight_plain). */
DNN_KERNEL int dnn_conv2d_grouped_backward_weight_items(int C, int H, int W, int F, int KH, int KW, int SH, int SW,
                                                        int PT, int PB, int PL, int PR, int G) {
#ifdef DNN_V8
    const int gemm = 1; /* the matrix products serve every other conv */
#else
    const int gemm = 0;
#endif
    (void)H, (void)W;
    return gemm || dnn_conv2d_is_depthwise(C, F, G) || dnn_conv2d_is_pointwise(KH, KW, SH, SW, PT, PB, PL, PR) ? F : 1;
}
DNN_KERNEL void dnn_conv2d_grouped_backward_weight_part(float *dweight, const float *dout, const float *inp, int n,
                                                        int C, int H, int W, int F, int KH, int KW, int SH, int SW,
                                                        int PT, int PB, int PL, int PR, int G, int lo, int hi) {
    if (dnn_conv2d_is_depthwise(C, F, G))
        dnn_conv2d_depthwise_backward_weight(dweight, dout, inp, n, C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, lo, hi);
    else if (dnn_conv2d_is_pointwise(KH, KW, SH, SW, PT, PB, PL, PR))
        dnn_conv2d_pointwise_backward_weight(dweight, dout, inp, n, C, H * W, F, G, lo, hi);
#ifdef DNN_V8
    else
        dnn_conv2d_gemm_backward_weight_part(dweight, dout, inp, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, lo,
                                             hi);
#else
    else
        dnn_conv2d_grouped_backward_weight_plain(dweight, dout, inp, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G);
#endif
}

DNN_KERNEL void dnn_conv2d_grouped_backward_weight(float *dweight, const float *dout, const float *inp, int n, int C,
                                                   int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                                   int PL, int PR, int G) {
    dnn_conv2d_grouped_backward_weight_part(dweight, dout, inp, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, 0, F);
}
