/* dnn_kernels_inplace.h — a conv2d that writes its output over its input,
 * for inference builds that keep RAM small (--inference --optimize=size,
 * the firmware default). Part of dnn_kernels.h.
 *
 * A conv2d whose output has the input's shape [C][H][W] (as many filters
 * as channels, stride 1, padding that keeps the size: DS-CNN's depthwise
 * and pointwise convolutions, ResNet-8's second conv of a block) needs no
 * second map: output row y replaces input row y, one group at a time,
 * once the input rows that outputs from y on still read are kept aside.
 * With stride 1 those are rows y − PT .. y (the rows below y are still
 * the input's), so ring holds (PT + 1) rows of the group's C/G channels,
 * row r in slot r mod (PT + 1). Each output's sum runs as the plain
 * loops' (dnn_conv2d_grouped_forward_plain): the bias, then over c, ky,
 * kx in order, so the results are the same bits.
 */

/* out[ox] = b + Σ_c w[c] · rows[c][ox]: a row of a pointwise conv, each
 * output one sum over the channels (in a register, not swept along the row) */
DNN_KERNEL void dnn_pointwise_row(float *out, const float *w, float b, const float *rows, int CG, int W) {
    for (int ox = 0; ox < W; ox++) {
        float acc = b;
        for (int c = 0; c < CG; c++)
            acc += w[c] * rows[c * W + ox];
        out[ox] = acc;
    }
}

DNN_KERNEL void dnn_conv2d_in_place(float *x, const float *weight, const float *bias, float *ring, int n, int C,
                                    int H, int W, int KH, int KW, int PT, int PL, int G) {
    const int CG = C / G, R = PT + 1;
    for (int s = 0; s < n; s++)
        for (int g = 0; g < G; g++) {
            float *xg = x + ((long)s * C + g * CG) * H * W; /* the group's channels */
            for (int y = 0; y < H; y++) {
                for (int c = 0; c < CG; c++) /* row y of each channel, before output row y replaces it */
                    memcpy(ring + ((y % R) * CG + c) * W, xg + (c * H + y) * W, sizeof(float) * (size_t)W);
                if (KH == 1 && KW == 1) { /* pointwise */
                    for (int f = 0; f < CG; f++)
                        dnn_pointwise_row(xg + (f * H + y) * W, weight + ((long)g * CG + f) * CG,
                                          bias ? bias[g * CG + f] : 0.0f, ring, CG, W);
                    continue;
                }
                for (int f = 0; f < CG; f++) {
                    float *out = xg + (f * H + y) * W;
                    for (int ox = 0; ox < W; ox++)
                        out[ox] = bias ? bias[g * CG + f] : 0.0f;
                    for (int c = 0; c < CG; c++)
                        for (int ky = 0; ky < KH; ky++) {
                            const int iy = y - PT + ky;
                            if (iy < 0 || iy >= H)
                                continue;
                            /* rows up to y are in the ring, the ones below still in place */
                            const float *row = iy <= y ? ring + ((iy % R) * CG + c) * W : xg + (c * H + iy) * W;
                            for (int kx = 0; kx < KW; kx++) { /* each weight swept along the row */
                                const float w = weight[(((long)g * CG + f) * CG + c) * KH * KW + ky * KW + kx];
                                const int ox0 = PL - kx > 0 ? PL - kx : 0, ox1 = W + PL - kx < W ? W + PL - kx : W;
                                for (int ox = ox0; ox < ox1; ox++)
                                    out[ox] += w * row[ox - PL + kx];
                            }
                        }
                }
            }
        }
}
