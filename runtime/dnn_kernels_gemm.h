/* dnn_kernels_gemm.h — any conv2d (groups, rectangular kernels and
 * strides, asymmetric padding) and its gradients as matrix products, a
 * band of output rows at a time. Part of dnn_kernels.h.
 *
 * Layouts are those of dnn_kernels_group.h. For one sample, group g and a
 * band of output rows, the band's columns cols[t][j] are the input under
 * tap t = (c, ky, kx) at output position j (zero in the padding); then
 *   forward          y[f][j]  = Σ_t w[f][t] · cols[t][j], then + bias[f]
 *   input gradient   dc[t][j] = Σ_f w[f][t] · dout[f][j], added back to the
 *                    input under each tap (tap by tap, in order)
 *   weight gradient  dw[f][t] = Σ_j dout[f][j] · cols[t][j], one sum per
 *                    sample and band, added to dweight in that order
 * each a dnn_outer (dnn_kernels_dense.h: every sum over k in order, one
 * result per vector lane). A band has at most DNN_GEMM_FLOATS of columns.
 * The sums run in another order than the plain loops' (bias last, the
 * filters before the taps), each fixed, so the results agree with them to
 * rounding (tests/kernels bounds both against the double reference).
 *
 * The columns are a stack array of up to 64 KB, and without vectors the
 * products gain little: so the dispatchers call these only with DNN_V8 (a
 * host with AVX); elsewhere (a microcontroller) the plain loops, which need
 * no scratch. */

#ifdef DNN_V8
enum { DNN_GEMM_FLOATS = 16384 }; /* the most floats of a band's columns */

/* Output rows a band: as many as DNN_GEMM_FLOATS allows, at least 1. */
DNN_KERNEL int dnn_gemm_band(int taps, int OH, int OW) {
    const int rows = DNN_GEMM_FLOATS / (taps * OW);
    return rows < 1 ? 1 : rows > OH ? OH : rows;
}

/* The band's columns for output rows oy0 .. oy0 + rows − 1 of channels x
 * (CG of them, from the sample's group): transposed (cols[j][t], taps
 * contiguous) when `tr`, else cols[t][j]. */
DNN_KERNEL void dnn_im2col(float *cols, const float *x, int CG, int H, int W, int KH, int KW, int SH, int SW, int PT,
                           int PL, int OW, int oy0, int rows, int tr) {
    const int taps = CG * KH * KW, np = rows * OW;
    for (int c = 0; c < CG; c++)
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                const int t = (c * KH + ky) * KW + kx;
                int ox0, ox1;
                dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                if (ox1 < ox0)
                    ox1 = ox0;
                for (int r = 0; r < rows; r++) {
                    const int iy = (oy0 + r) * SH - PT + ky, j0 = r * OW;
                    const int in = iy >= 0 && iy < H;
                    const float *xr = x + (c * H + (in ? iy : 0)) * W - PL + kx;
                    for (int ox = 0; ox < OW; ox++) {
                        const float v = in && ox >= ox0 && ox < ox1 ? xr[ox * SW] : 0.0f;
                        if (tr)
                            cols[(j0 + ox) * taps + t] = v;
                        else
                            cols[t * np + j0 + ox] = v;
                    }
                }
            }
}

/* out (overwritten) = conv2d(inp) + bias */
DNN_KERNEL void dnn_conv2d_gemm_forward(float *out, const float *inp, const float *weight, const float *bias, int n,
                                        int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                        int PL, int PR, int G) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    const int taps = CG * KH * KW, band = dnn_gemm_band(taps, OH, OW);
    float cols[taps * band * OW];
    for (int s = 0; s < n; s++)
        for (int g = 0; g < G; g++)
            for (int oy0 = 0; oy0 < OH; oy0 += band) {
                const int rows = OH - oy0 < band ? OH - oy0 : band, np = rows * OW;
                dnn_im2col(cols, inp + (s * C + g * CG) * H * W, CG, H, W, KH, KW, SH, SW, PT, PL, OW, oy0, rows, 0);
                float *y = out + ((s * F + g * FG) * OH + oy0) * OW;
                dnn_outer(y, weight + g * FG * taps, cols, FG, taps, np, taps, 1, np, OH * OW, 1, NULL);
                for (int f = 0; bias && f < FG; f++)
                    for (int j = 0; j < np; j++)
                        y[f * OH * OW + j] += bias[g * FG + f];
            }
}

/* dinp (overwritten): each band's dc = wᵀ · dout, added under its taps */
DNN_KERNEL void dnn_conv2d_gemm_backward_input(float *dinp, const float *dout, const float *weight, int n, int C,
                                               int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                               int PL, int PR, int G) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    const int taps = CG * KH * KW, band = dnn_gemm_band(taps, OH, OW);
    float dc[taps * band * OW];
    memset(dinp, 0, sizeof(float) * (size_t)n * (size_t)(C * H * W));
    for (int s = 0; s < n; s++)
        for (int g = 0; g < G; g++)
            for (int oy0 = 0; oy0 < OH; oy0 += band) {
                const int rows = OH - oy0 < band ? OH - oy0 : band, np = rows * OW;
                dnn_outer(dc, weight + g * FG * taps, dout + ((s * F + g * FG) * OH + oy0) * OW, taps, FG, np, 1, taps,
                          OH * OW, np, 1, NULL);
                float *dx = dinp + (s * C + g * CG) * H * W;
                for (int c = 0; c < CG; c++)
                    for (int ky = 0; ky < KH; ky++)
                        for (int kx = 0; kx < KW; kx++) {
                            const float *d = dc + ((c * KH + ky) * KW + kx) * np;
                            int ox0, ox1;
                            dnn_conv_range(&ox0, &ox1, kx, W, SW, PL, OW);
                            for (int r = 0; r < rows; r++) {
                                const int iy = (oy0 + r) * SH - PT + ky;
                                if (iy < 0 || iy >= H)
                                    continue;
                                float *dr = dx + (c * H + iy) * W - PL + kx;
                                for (int ox = ox0; ox < ox1; ox++)
                                    dr[ox * SW] += d[r * OW + ox];
                            }
                        }
            }
}

/* dweight (overwritten): per sample and band dout · colsᵀ, added; filters
 * lo .. hi only (dnn_outer's sums do not depend on the rows it is given) */
DNN_KERNEL void dnn_conv2d_gemm_backward_weight_part(float *dweight, const float *dout, const float *inp, int n, int C,
                                                     int H, int W, int F, int KH, int KW, int SH, int SW, int PT,
                                                     int PB, int PL, int PR, int G, int lo, int hi) {
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, CG = C / G, FG = F / G;
    const int taps = CG * KH * KW, band = dnn_gemm_band(taps, OH, OW);
    float cols[band * OW * taps], part[FG * taps];
    memset(dweight + lo * taps, 0, sizeof(float) * (size_t)((hi - lo) * taps));
    for (int s = 0; s < n; s++)
        for (int g = lo / FG; g * FG < hi; g++) {
            const int f0 = g * FG > lo ? g * FG : lo, f1 = (g + 1) * FG < hi ? (g + 1) * FG : hi;
            for (int oy0 = 0; oy0 < OH; oy0 += band) {
                const int rows = OH - oy0 < band ? OH - oy0 : band, np = rows * OW;
                dnn_im2col(cols, inp + (s * C + g * CG) * H * W, CG, H, W, KH, KW, SH, SW, PT, PL, OW, oy0, rows, 1);
                dnn_outer(part, dout + ((s * F + f0) * OH + oy0) * OW, cols, f1 - f0, np, taps, OH * OW, 1, taps, taps,
                          1, NULL);
                float *dw = dweight + f0 * taps;
                for (int i = 0; i < (f1 - f0) * taps; i++)
                    dw[i] += part[i];
            }
        }
}
DNN_KERNEL void dnn_conv2d_gemm_backward_weight(float *dweight, const float *dout, const float *inp, int n, int C,
                                                int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB,
                                                int PL, int PR, int G) {
    dnn_conv2d_gemm_backward_weight_part(dweight, dout, inp, n, C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, G, 0, F);
}
#endif
