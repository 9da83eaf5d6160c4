/* dnn_kernels_conv.h — conv2d, its gradients, and conv2d → activation →
 * pool in one step. Part of dnn_kernels.h.
 *
 * Layouts are PyTorch's: inputs [n][C][H][W], weights [F][C][K][K], outputs
 * [n][F][OH][OW] with OH = (H + 2P − K) / S + 1, OW likewise (stride S,
 * zero padding P). The formulas and their plain loops are
 * dnn_conv2d_*_plain (dnn_kernels_plain.h).
 *
 * The speed kernels put 8 values that need the same products in the 8
 * lanes of a vector (with AVX-512, dnn_vl: 16 in 16 lanes, or for the
 * columns' weight gradient two filters' 8), and keep a tile of up to 16
 * accumulator vectors in registers (32 with AVX-512):
 *   filters in the lanes   (forward, weight gradient): each input value is
 *                           broadcast and multiplies 8 filters' weights;
 *   channels in the lanes  (input gradient): each output gradient is
 *                           broadcast and multiplies 8 channels' weights;
 *   columns in the lanes   (forward and weight gradient with few filters,
 *                           LeNet-5's first layer: 6 of 8 lanes): 8
 *                           consecutive output columns, each weight
 *                           broadcast (the weight gradient adds its lanes
 *                           at the end);
 *   samples in the lanes   (input gradient with few channels, LeNet-5's
 *                           second layer): 8 samples, each weight broadcast.
 * Every lane is one result's own sum in a fixed order — forward: bias, then
 * the taps c, ky, kx — so the choice of kernel and tile changes the speed,
 * not the values, and the plain C path of each kernel (arrays instead of
 * vectors) adds the same products in the same order. The two gradient
 * kernels with columns or samples in the lanes have no plain C path (a
 * build without vectors uses the others), and their sums run in orders of
 * their own. The dispatchers
 * (dnn_conv2d_forward, ...) choose as dnnc always has; their rules are the
 * *_fit functions below, which reckon in 8-float vectors in every build,
 * and no lane's order depends on the vector's width, so an AVX-512 build
 * gives an AVX2 build's bits (tests/kernels' bits.avx512). */

enum {
    DNN_TILE_ACCS = 16,     /* accumulator vectors a tile keeps in registers */
    DNN_LANES_FLOATS = 65536 /* the most floats of stack arrays a lanes kernel uses */
};

/* The number of tile columns for `count` items a row: the largest divisor
 * of count from 3/4 of most to most (no remainder tile), else most. */
DNN_KERNEL int dnn_tile_cols(int count, int most) {
    if (most >= count)
        return count;
    for (int m = most; m * 4 >= most * 3; m--)
        if (count % m == 0)
            return m;
    return most;
}

/* Vectors per tile: the most, at most `most`, that divide the lane vectors (lanes / width). */
DNN_KERNEL int dnn_lane_block(int lanes, int width, int most) {
    for (int vb = most; vb > 1; vb--)
        if (lanes / width % vb == 0)
            return vb;
    return 1;
}

/* Whether the lanes kernels serve a conv whose lanes hold `lanes` channels
 * (filters or input channels): at least 4 (half the lanes), and stack
 * arrays of at most DNN_LANES_FLOATS. */
DNN_KERNEL int dnn_conv2d_lanes_fit(int C, int H, int W, int F, int K, int S, int P, int lanes) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1, Hp = H + 2 * P, Wp = W + 2 * P;
    const long F8 = (F + 7) / 8 * 8, C8 = (C + 7) / 8 * 8;
    const long floats = (long)C * K * K * F8 + (long)C * Hp * Wp + (long)OH * OW * F8 + (long)Hp * Wp * C8 +
                        (long)F * K * K * C8;
    return lanes >= 4 && floats <= DNN_LANES_FLOATS;
}

/* Whether the forward lanes kernel's stack arrays (the weights as
 * [tap][filter] and the input zero-padded) are small enough for the
 * target: any size with vectors (a host), at most `most` floats without
 * (a microcontroller, where the lanes are arrays in registers and memory:
 * ResNet-8's layers took 85 KB of stack and more instructions than the
 * plain loops, which read the input in place). */
enum {
    DNN_SMALL_STACK_FLOATS = 1024,     /* 4 KB: an unfused conv */
    DNN_SMALL_STACK_POOLED = 2560      /* 10 KB: a fused conv → pool (LeNet-5's second, 2,400 floats) */
};
DNN_KERNEL int dnn_conv2d_lanes_stack_ok(int C, int H, int W, int F, int K, int P, long most) {
#ifdef DNN_V8
    (void)C, (void)H, (void)W, (void)F, (void)K, (void)P, (void)most;
    return 1;
#else
    const long F8 = (F + 7) / 8 * 8, padded = P ? (long)C * (H + 2 * P) * (W + 2 * P) : 0;
    return (long)C * K * K * F8 + padded <= most;
#endif
}

/* One sample's image x[C][H][W] zero-padded by P, with rows XW long (at
 * least W + 2P): row iy of channel c at (c·(H + 2P) + iy + P)·XW + P. x
 * itself when it is that already, else its copy into xp, whose borders the
 * caller zeroes once. */
DNN_KERNEL const float *dnn_conv_padded(float *xp, const float *x, int C, int H, int W, int P, int XW) {
    if (!P && XW == W)
        return x;
    for (int c = 0; c < C; c++)
        for (int iy = 0; iy < H; iy++)
            memcpy(xp + (c * (H + 2 * P) + iy + P) * XW + P, x + (c * H + iy) * W, sizeof(float) * W);
    return xp;
}

/* ---- forward, filters in the lanes -------------------------------------------------------
 * Per sample: the weights as wt[tap][filter] (filters padded to F8 with
 * zeros) and the input zero-padded, so every vector load is contiguous;
 * then tiles of `cols` output positions along a row × vb vectors of
 * filters. In the vector code each input value is broadcast and serves
 * every filter of the tile.
 *
 * With a pool (dnnc --inference's fused step; PK > 0, no pool padding) a
 * tile is `cols` whole pool windows (PK × PK positions each) along a pool
 * row, activated and pooled straight from the registers, so no conv output
 * is stored: relu and none on whole vectors, any other activation lane by
 * lane. */

/* The column of tile position m relative to the tile's first, in conv
 * outputs: with a pool, window m / PK's column m % PK. */
DNN_KERNEL int dnn_tile_col(int m, int PK, int PS) { return PK ? m / PK * PS + m % PK : m; }

/* A pooled value from the PK × PK conv values of window i of a tile,
 * lane l: the first maximum or the average, after the activation. */
DNN_KERNEL float dnn_lanes_pool(float (*lanes)[2 * DNN_VL], int l, int i, int npos, int PK, int max, dnn_act act) {
    dnn_window win = {-INFINITY, 0.0f, 1};
    DNN_UNROLL for (int wy = 0; wy < PK; wy++)
        DNN_UNROLL for (int wx = 0; wx < PK; wx++) {
            const float y = lanes[wy * npos + i * PK + wx][l];
            dnn_window_take(&win, act ? act(y) : y, max);
        }
    return dnn_window_value(&win, max, PK * PK);
}

/* Writes a tile's results from lanes[j][16] (position j, the tile's filters
 * in the lanes): conv outputs to y (unfused: y is the tile's first output
 * of filter 0, NP floats a filter), or pooled windows to y (y: the first
 * window of filter 0, PH·PW floats a filter). Padding lanes are skipped. */
DNN_KERNEL void dnn_lanes_store(float *y, float (*lanes)[2 * DNN_VL], int f0, int vb, int F, int n, int NP, int npos,
                                int cols, int PK, int PH, int PW, int max, dnn_act act) {
    for (int v = 0; v < vb; v++)
        for (int l = 0; l < DNN_VL && f0 + v * DNN_VL + l < F; l++) {
            float *yf = y + (f0 + v * DNN_VL + l) * (PK ? PH * PW : NP);
            if (!PK)
                for (int j = 0; j < n; j++)
                    yf[j] = lanes[j][v * DNN_VL + l];
            else
                for (int i = 0; i < cols; i++)
                    yf[i] = dnn_lanes_pool(lanes, v * DNN_VL + l, i, npos, PK, max, act);
        }
}

enum {
    DNN_LANES_TILE = 32, /* positions a tile keeps in fixed arrays (registers); more go in VLAs */
    DNN_LANES_ACCS = 12   /* accumulator vectors a forward tile aims at */
};

/* The loops over a lanes tile's positions and inputs, unrolled whole
 * (more than DNN_UNROLL's 16: a 6 x 6 pool window has 36 positions, each
 * accumulator a register of its own) when their bounds are constants. */
#if defined(__GNUC__)
#define DNN_UNROLL_LANES _Pragma("GCC unroll 64")
#else
#define DNN_UNROLL_LANES
#endif

/* One tile: n = rows × npos positions (row r at xb + r·S·Wp, position m of
 * a row at column dnn_tile_col(m)·S) × vb vectors of filters from f0.
 * wt is [taps][FL], bs the bias padded to FL (filters rounded up to
 * DNN_VL). acc (vector builds) and lanes hold n positions' accumulators. */
DNN_KERNEL void dnn_lanes_tile(float *y, const float *xb, const float *wt, const float *bs, int f0, int vb, int rows,
                               int npos, int cols, int C, int K, int S, int Hp, int Wp, int F, int NP, int PK, int PS,
                               int PH, int PW, int max, dnn_act act, void *acc, float (*lanes)[2 * DNN_VL]) {
    const int n = rows * npos, FL = (F + DNN_VL - 1) / DNN_VL * DNN_VL;
#ifdef DNN_V8
    dnn_vl(*a)[2] = (dnn_vl(*)[2])acc;
    DNN_UNROLL_LANES for (int j = 0; j < n; j++)
        DNN_UNROLL for (int v = 0; v < vb; v++) a[j][v] = dnn_vl_load(bs + f0 + v * DNN_VL);
    /* Two orders of the same products (each accumulator still adds its taps c, ky, kx in order), so
       that gcc -O3 keeps the accumulators in the vector registers (16, or AVX-512's 32) (unrolled and left to itself it
       spilled them: 1.1 to 1.7 times the printed step's time):
       - a small tile takes each input of a kernel row once, broadcast, into every accumulator that
         reads it, with the row's K weight vectors held: n·vb + K·vb + 1 registers;
       - else tap by tap, each product's input broadcast anew from memory, the input pointer being
         volatile so that gcc cannot merge the broadcasts of neighbouring taps into long-lived
         registers: n·vb + vb + 1 registers. */
    const int span = dnn_tile_col(npos - 1, PK, PS) * S + K; /* the inputs of a tile row under a kernel row */
    const float *volatile xbv = xb;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++) {
            const float *w = wt + (c * K + ky) * K * FL + f0;
            if ((n + K) * vb + 1 <= DNN_VREGS) {
                const float *x = xb + (c * Hp + ky) * Wp;
                dnn_vl wv[DNN_VREGS][2];
                DNN_UNROLL for (int kx = 0; kx < K; kx++)
                    DNN_UNROLL for (int v = 0; v < vb; v++) wv[kx][v] = dnn_vl_load(w + kx * FL + v * DNN_VL);
                DNN_UNROLL for (int r = 0; r < rows; r++)
                    DNN_UNROLL_LANES for (int i = 0; i < span; i++) {
                        const dnn_vl xv = dnn_vl_splat(x[r * S * Wp + i]);
                        DNN_UNROLL for (int m = 0; m < npos; m++) {
                            const int kx = i - dnn_tile_col(m, PK, PS) * S;
                            if (kx >= 0 && kx < K)
                                DNN_UNROLL for (int v = 0; v < vb; v++)
                                    a[r * npos + m][v] = dnn_vl_fma(xv, wv[kx][v], a[r * npos + m][v]);
                        }
                    }
            } else
                DNN_UNROLL for (int kx = 0; kx < K; kx++) {
                    const float *x = xbv + (c * Hp + ky) * Wp + kx;
                    dnn_vl wv[2];
                    DNN_UNROLL for (int v = 0; v < vb; v++) wv[v] = dnn_vl_load(w + kx * FL + v * DNN_VL);
                    DNN_UNROLL_LANES for (int j = 0; j < n; j++) {
                        const dnn_vl xv = dnn_vl_splat(x[j / npos * S * Wp + dnn_tile_col(j % npos, PK, PS) * S]);
                        DNN_UNROLL for (int v = 0; v < vb; v++) a[j][v] = dnn_vl_fma(xv, wv[v], a[j][v]);
                    }
                }
        }
    if (PK && (!act || act == dnn_relu)) { /* pooled on whole vectors, as dnn_lanes_pool does per lane */
        for (int v = 0; v < vb; v++)
            DNN_UNROLL for (int i = 0; i < cols; i++) {
                const dnn_vl zero = dnn_vl_splat(0.0f);
                dnn_vl top = zero, sum = zero;
                DNN_UNROLL for (int k = 0; k < PK * PK; k++) {
                    dnn_vl yk = a[k / PK * npos + i * PK + k % PK][v];
                    if (act)
                        yk = dnn_vl_max(zero, yk); /* relu */
                    if (max)
                        top = k == 0 ? yk : dnn_vl_select(yk != yk, yk, dnn_vl_max(yk, top));
                    else
                        sum = k == 0 ? zero + yk : sum + yk;
                }
                if (!max)
                    top = sum / (float)(PK * PK);
                for (int l = 0; l < DNN_VL && f0 + v * DNN_VL + l < F; l++)
                    y[(f0 + v * DNN_VL + l) * PH * PW + i] = top[l];
            }
        return;
    }
    DNN_UNROLL for (int j = 0; j < n; j++) /* the lanes to memory, for dnn_lanes_store */
        DNN_UNROLL for (int v = 0; v < vb; v++) dnn_vl_store(lanes[j] + v * DNN_VL, a[j][v]);
#else
    (void)acc;
    for (int j = 0; j < n; j++)
        for (int l = 0; l < vb * DNN_VL; l++)
            lanes[j][l] = bs[f0 + l];
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++) {
            const int o = (c * Hp + ky) * Wp;
            const float *w = wt + (c * K + ky) * K * FL + f0;
            for (int kx = 0; kx < K; kx++, w += FL)
                for (int j = 0; j < n; j++) {
                    const float *xj = xb + j / npos * S * Wp + dnn_tile_col(j % npos, PK, PS) * S;
                    for (int l = 0; l < vb * DNN_VL; l++)
                        lanes[j][l] += xj[o + kx] * w[l];
                }
        }
#endif
    dnn_lanes_store(y, lanes, f0, vb, F, n, NP, npos, cols, PK, PH, PW, max, act);
}

/* A tile of `cols` items (output positions, or pool windows) with its
 * accumulators: in fixed arrays, or for a large pool window in VLAs. */
DNN_KERNEL void dnn_lanes_tile_at(float *y, const float *xb, int cols, const float *wt, const float *bs, int f0,
                                  int vb, int rows, int C, int K, int S, int Hp, int Wp, int F, int NP, int PK, int PS,
                                  int PH, int PW, int max, dnn_act act) {
    const int npos = cols * (PK ? PK : 1), n = rows * npos;
#ifdef DNN_V8
    typedef dnn_vl dnn_lanes_acc[2];
#else
    typedef float dnn_lanes_acc[1];
#endif
    if (n <= DNN_LANES_TILE) {
        dnn_lanes_acc acc[DNN_LANES_TILE];
        float lanes[DNN_LANES_TILE][2 * DNN_VL];
        dnn_lanes_tile(y, xb, wt, bs, f0, vb, rows, npos, cols, C, K, S, Hp, Wp, F, NP, PK, PS, PH, PW, max, act, acc,
                       lanes);
    } else {
        dnn_lanes_acc acc[n];
        float lanes[n][2 * DNN_VL];
        dnn_lanes_tile(y, xb, wt, bs, f0, vb, rows, npos, cols, C, K, S, Hp, Wp, F, NP, PK, PS, PH, PW, max, act, acc,
                       lanes);
    }
}

/* The tiles along one row of `count` items: `cols` at a time, then one
 * tile for the rest. x is the input under the row's first item, `step`
 * floats on to the next item's. */
DNN_KERNEL void dnn_lanes_row(float *y, const float *x, int step, int count, int cols, const float *wt,
                              const float *bs, int f0, int vb, int rows, int C, int K, int S, int Hp, int Wp, int F,
                              int NP, int PK, int PS, int PH, int PW, int max, dnn_act act) {
    const int whole = count / cols * cols;
    for (int i = 0; i < whole; i += cols)
        dnn_lanes_tile_at(y + i, x + i * step, cols, wt, bs, f0, vb, rows, C, K, S, Hp, Wp, F, NP, PK, PS, PH, PW,
                          max, act);
    if (whole < count)
        dnn_lanes_tile_at(y + whole, x + whole * step, count - whole, wt, bs, f0, vb, rows, C, K, S, Hp, Wp, F, NP,
                          PK, PS, PH, PW, max, act);
}

/* conv2d forward with filters in the lanes; with PK > 0, conv2d → act →
 * pool (window PK, stride PS, no padding; max or average). */
DNN_KERNEL void dnn_conv2d_forward_lanes(float *out, const float *inp, const float *weight, const float *bias, int n,
                                         int C, int H, int W, int F, int K, int S, int P, int PK, int PS, int max,
                                         dnn_act act) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1, Hp = H + 2 * P, Wp = W + 2 * P;
    const int taps = C * K * K, FL = (F + DNN_VL - 1) / DNN_VL * DNN_VL, NP = OH * OW, pk = PK ? PK : 1;
    const int PH = PK ? (OH - PK) / PS + 1 : 0, PW = PK ? (OW - PK) / PS + 1 : 0;
    /* 12 accumulator vectors a tile, not 16: with the weights and a broadcast they fit the 16
       registers (16 spilled: LeNet-5's conv2 took 1.1 times the printed step's time, now 0.6) */
    const int vb = dnn_lane_block(FL, DNN_VL, 2), most = DNN_LANES_ACCS / (vb * pk * pk);
    const int cols = dnn_tile_cols(PK ? PW : OW, most < 1 ? 1 : most);
    float wt[taps][FL], bs[FL]; /* the weights as [tap][filter], the bias: filters padded to FL */
    if (FL > F)
        memset(wt, 0, sizeof wt);
    for (int f = 0; f < FL; f++)
        bs[f] = bias && f < F ? bias[f] : 0.0f;
    for (int f = 0; f < F; f++)
        for (int t = 0; t < taps; t++)
            wt[t][f] = weight[f * taps + t];
    float xp[P ? C * Hp * Wp : 1]; /* the input, zero-padded */
    if (P)
        memset(xp, 0, sizeof xp);
    for (int s = 0; s < n; s++) {
        const float *xs = dnn_conv_padded(xp, inp + s * C * H * W, C, H, W, P, Wp);
        for (int f0 = 0; f0 < FL; f0 += vb * DNN_VL)
            if (PK)
                for (int py = 0; py < PH; py++)
                    dnn_lanes_row(out + s * F * PH * PW + py * PW, xs + py * PS * S * Wp, PS * S, PW, cols, wt[0], bs,
                                  f0, vb, PK, C, K, S, Hp, Wp, F, NP, PK, PS, PH, PW, max, act);
            else
                for (int oy = 0; oy < OH; oy++)
                    dnn_lanes_row(out + s * F * NP + oy * OW, xs + oy * S * Wp, S, OW, cols, wt[0], bs, f0, vb, 1, C,
                                  K, S, Hp, Wp, F, NP, 0, 0, 0, 0, max, act);
    }
}

/* ---- forward, output columns in the lanes ------------------------------------------------
 * For a conv with few filters the lanes hold consecutive output columns
 * instead: a tile is `rows` output rows × V vectors of 8 columns (8·V ≥ OW)
 * × FB filters, each product an input vector x[c][oy + ky][ox + kx .. + 8)
 * times one weight broadcast. Each input row loaded serves the kernel rows
 * of both tile rows that read it. The input is copied zero-padded, its rows
 * XW long so that the last vector's loads stay inside. With a 2 × 2 pool
 * (stride 2) the two rows of a tile are one pool row's windows: relu'd (or
 * not) and pooled from the registers. */

enum { DNN_COLS_V = 4, DNN_COLS_FB = 4 }; /* at most 32 columns a row, 4 filters a tile */

/* The tile: V vectors of `width` columns a row, FB filters (the most of
 * 4, 2 that divide F and fit 16 accumulators with 2 rows), the padded row
 * length XW. */
DNN_KERNEL void dnn_cols_tile_shape(int *V, int *FB, int *XW, int F, int K, int W, int P, int OW, int width) {
    *V = (OW + width - 1) / width;
    *XW = W + 2 * P > width * *V + K - 1 ? W + 2 * P : width * *V + K - 1;
    *FB = 1;
    for (int fb = 4; fb > 1; fb /= 2)
        if (F % fb == 0 && fb * 2 * *V <= DNN_TILE_ACCS) {
            *FB = fb;
            break;
        }
}

/* Whether the columns kernel serves a conv (with its fused pool, if PK > 0,
 * and activation): stride 1, at most 32 columns, a small enough padded
 * input, more lanes used than with filters in them, and a fused step's pool
 * 2 × 2 stride 2 (maxpool unpadded) after relu or nothing. */
DNN_KERNEL int dnn_conv2d_cols_fit(int C, int H, int W, int F, int K, int S, int P, int PK, int PS, int PP,
                                   dnn_act act) {
    const int OW = (W + 2 * P - K) / S + 1;
    int V, FB, XW; /* the 8-float tile's: the weight gradient's choice (and its sums) the same in every build */
    dnn_cols_tile_shape(&V, &FB, &XW, F, K, W, P, OW, 8);
    if (S != 1 || OW > 32 || (long)C * (H + 2 * P) * XW > DNN_LANES_FLOATS)
        return 0;
    if (PK && (PK != 2 || PS != 2 || PP != 0))
        return 0;
    if (act && act != dnn_relu)
        return 0;
    return OW * ((F + 7) / 8 * 8) > F * 8 * V; /* OW / 8V > F / F8, in integers (no soft double on a Cortex-M) */
}

#ifdef DNN_V8
/* Tap kx of input row iy for a tile's accumulators a: the row's V input
 * vectors from x, each times the weight of every filter of the tile, for
 * the tile rows (rows − 1 and row 0) that read input row iy. */
DNN_KERNEL void dnn_cols_tap(dnn_vl (*a)[2][DNN_COLS_V], const float *x, const float *w, int iy, int kx, int rows,
                             int V, int FB, int K, int taps) {
    dnn_vl xv[DNN_COLS_V];
    DNN_UNROLL for (int v = 0; v < V; v++) xv[v] = dnn_vl_load(x + DNN_VL * v);
    DNN_UNROLL for (int r = 0; r < rows; r++) {
        if (iy - r < 0 || iy - r >= K)
            continue;
        DNN_UNROLL for (int fb = 0; fb < FB; fb++) {
            const dnn_vl wv = dnn_vl_splat(w[fb * taps + (iy - r) * K + kx]);
            DNN_UNROLL for (int v = 0; v < V; v++) a[fb][r][v] = dnn_vl_fma(xv[v], wv, a[fb][r][v]);
        }
    }
}
#endif

/* The tile at output rows `row` (rows of them: 1 or 2) of filters f ..
 * f + FB. row points into the padded input (volatile: see below); y is
 * filter f's first output row (unfused) or pool row. */
DNN_KERNEL void dnn_cols_tile(float *y, const float *volatile *row, const float *weight, const float *bias, int f,
                              int rows, int V, int FB, int XW, int C, int K, int Hp, int OH, int OW, int PK, int max,
                              dnn_act act) {
    const int taps = C * K * K, PW = OW / 2, PH = OH / 2;
#ifdef DNN_V8
    dnn_vl a[DNN_COLS_FB][2][DNN_COLS_V];
    DNN_UNROLL for (int fb = 0; fb < FB; fb++)
        DNN_UNROLL for (int r = 0; r < rows; r++)
            DNN_UNROLL for (int v = 0; v < V; v++) a[fb][r][v] = dnn_vl_splat(bias ? bias[f + fb] : 0.0f);
    for (int c = 0; c < C; c++) {
        const float *w = weight + (f * C + c) * K * K;
        /* Unrolled, the kx loop needs registers for the accumulators, the input vectors and the
           weights of a kernel row (row 1 reuses row 0's broadcasts from the input row before). When
           they are more than the vector registers, it stays a loop: unrolled (gcc -O3 does it),
           the accumulators spill (LeNet-5's conv1 took 1.7 times the time, 4 filters of 8 x 8 1.7) */
        if (FB * rows * V + V + FB * K > DNN_VREGS)
            DNN_UNROLL for (int iy = 0; iy < K + rows - 1; iy++) /* kernel row iy of tile row 0, iy - 1 of row 1 */
                DNN_NO_UNROLL for (int kx = 0; kx < K; kx++)
                    dnn_cols_tap(a, *row + (c * Hp + iy) * XW + kx, w, iy, kx, rows, V, FB, K, taps);
        else
            DNN_UNROLL for (int iy = 0; iy < K + rows - 1; iy++)
                DNN_UNROLL for (int kx = 0; kx < K; kx++)
                    dnn_cols_tap(a, *row + (c * Hp + iy) * XW + kx, w, iy, kx, rows, V, FB, K, taps);
    }
    DNN_UNROLL for (int fb = 0; fb < FB; fb++) {
        float *yf = y + fb * (PK ? PH * PW : OH * OW);
        if (!PK) { /* the conv rows, cut to OW columns */
            DNN_UNROLL for (int r = 0; r < rows; r++)
                DNN_UNROLL for (int v = 0; v < V; v++) {
                    if (DNN_VL * v + DNN_VL <= OW)
                        dnn_vl_store(yf + r * OW + DNN_VL * v, a[fb][r][v]);
                    else
                        for (int l = 0; l < OW - DNN_VL * v; l++)
                            yf[r * OW + DNN_VL * v + l] = a[fb][r][v][l];
                }
            continue;
        }
        /* the pool on 8-float vectors (AVX-512's 16 as two halves): vector v of the pool row holds
           window 4v + k in lane 2k */
        dnn_v8 a8[2][DNN_COLS_V];
        DNN_UNROLL for (int r = 0; r < 2; r++)
            DNN_UNROLL for (int v = 0; v < V * DNN_VL / 8; v++) {
#ifdef DNN_V8X2
                a8[r][v] = v % 2 ? dnn_v8x2_hi(a[fb][r][v / 2]) : dnn_v8x2_lo(a[fb][r][v / 2]);
#else
                a8[r][v] = a[fb][r][v];
#endif
            }
        const int np = (PW + 3) / 4; /* the vectors that hold windows */
        dnn_v8 p[DNN_COLS_V];
        DNN_UNROLL for (int v = 0; v < np; v++) {
            dnn_v8 y4[4]; /* the window's values in order: top left, top right, bottom left, bottom right */
            DNN_UNROLL for (int r = 0; r < 2; r++) {
                const dnn_v8 rv = act ? dnn_v8_max((dnn_v8){0}, a8[r][v]) : a8[r][v]; /* relu */
                y4[2 * r] = (dnn_v8)dnn_v8i_evens((dnn_v8i)rv);
                y4[2 * r + 1] = (dnn_v8)dnn_v8i_odds((dnn_v8i)rv);
            }
            if (max) { /* the first maximum, NaN wins */
                p[v] = y4[0];
                DNN_UNROLL for (int k = 1; k < 4; k++) p[v] = dnn_v8_select(y4[k] != y4[k], y4[k], dnn_v8_max(y4[k], p[v]));
            } else
                p[v] = (((dnn_v8){0} + y4[0] + y4[1]) + y4[2] + y4[3]) / (float)4;
        }
        DNN_UNROLL for (int v = 0; v < (PW + 3) / 4; v += 2) { /* two vectors' even lanes: 8 windows */
            const dnn_v8 q = dnn_v8_evens2(p[v], p[4 * v + 4 < PW ? v + 1 : v]);
            if (4 * v + 8 <= PW)
                dnn_v8_store(yf + 4 * v, q);
            else
                for (int l = 0; l < PW - 4 * v; l++)
                    yf[4 * v + l] = q[l];
        }
    }
#else
    const float *xb = *row;
    const int W8 = DNN_VL * V;
    float a[DNN_COLS_FB][2][8 * DNN_COLS_V];
    for (int fb = 0; fb < FB; fb++)
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < W8; l++)
                a[fb][r][l] = bias ? bias[f + fb] : 0.0f;
    for (int c = 0; c < C; c++) {
        const float *w = weight + (f * C + c) * K * K;
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
                for (int fb = 0; fb < FB; fb++)
                    for (int r = 0; r < rows; r++)
                        for (int l = 0; l < W8; l++)
                            a[fb][r][l] += xb[(c * Hp + r + ky) * XW + kx + l] * w[fb * taps + ky * K + kx];
    }
    for (int fb = 0; fb < FB; fb++) {
        float *yf = y + fb * (PK ? PH * PW : OH * OW);
        if (!PK) {
            for (int r = 0; r < rows; r++)
                memcpy(yf + r * OW, a[fb][r], sizeof(float) * OW);
            continue;
        }
        for (int px = 0; px < PW; px++) { /* window px: a[fb][wy][2px + wx] */
            dnn_window win = {-INFINITY, 0.0f, 1};
            for (int wy = 0; wy < 2; wy++)
                for (int wx = 0; wx < 2; wx++) {
                    const float v = a[fb][wy][2 * px + wx];
                    dnn_window_take(&win, act ? act(v) : v, max);
                }
            yf[px] = dnn_window_value(&win, max, 4);
        }
    }
#endif
}

/* conv2d forward with columns in the lanes; with PK = 2, conv2d → relu (act
 * dnn_relu) or nothing (NULL) → 2 × 2 pool, stride 2. */
DNN_KERNEL void dnn_conv2d_forward_cols(float *out, const float *inp, const float *weight, const float *bias, int n,
                                        int C, int H, int W, int F, int K, int P, int PK, int max, dnn_act act) {
    const int OH = H + 2 * P - K + 1, OW = W + 2 * P - K + 1, Hp = H + 2 * P;
    int V, FB, XW;
    dnn_cols_tile_shape(&V, &FB, &XW, F, K, W, P, OW, DNN_VL);
    float xp[C * Hp * XW]; /* the input, zero-padded by P, rows XW long */
    memset(xp, 0, sizeof xp);
    for (int s = 0; s < n; s++) {
        const float *xs = dnn_conv_padded(xp, inp + s * C * H * W, C, H, W, P, XW);
        /* `row` is volatile, read anew by each of the vector path's input rows: gcc would otherwise
           hoist the tile's loads (the input's with the filters innermost, the weights' broadcasts with
           the rows innermost) out of the inner loop and spill them (LeNet-5's conv1: 3.8 us, not 2.8) */
        if (PK) {
            const int PH = OH / 2, PW = OW / 2;
            for (int py = 0; py < PH; py++)
                for (int f = 0; f < F; f += FB) {
                    const float *volatile row = xs + py * 2 * XW;
                    dnn_cols_tile(out + ((s * F + f) * PH + py) * PW, &row, weight, bias, f, 2, V, FB, XW, C, K, Hp, OH,
                                  OW, PK, max, act);
                }
        } else
            for (int oy = 0; oy < OH; oy += 2)
                for (int f = 0; f < F; f += FB) {
                    const float *volatile row = xs + oy * XW;
                    float *y = out + ((s * F + f) * OH + oy) * OW;
                    if (OH % 2 && oy + 1 == OH) /* the last row */
                        dnn_cols_tile(y, &row, weight, bias, f, 1, V, FB, XW, C, K, Hp, OH, OW, 0, 0, NULL);
                    else
                        dnn_cols_tile(y, &row, weight, bias, f, 2, V, FB, XW, C, K, Hp, OH, OW, 0, 0, NULL);
                }
    }
}

/* ---- conv2d → activation → pool, conv rows at a time ---------------------------------------
 * The fused step when neither lanes kernel serves it (a padded maxpool,
 * too large an input): per pool row, the PK conv rows its windows cover
 * are computed whole into a small array — each weight swept along a row,
 * which the C compiler vectorises, summing bias, c, ky, kx in order —
 * activated, then pooled (dnn_conv2d_pool_forward_plain's values). */
DNN_KERNEL void dnn_conv2d_pool_forward_rows(float *out, const float *inp, const float *weight, const float *bias,
                                             int n, int C, int H, int W, int F, int K, int S, int P, int PK, int PS,
                                             int PP, int max, dnn_act act) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    const int PH = (OH + 2 * PP - PK) / PS + 1, PW = (OW + 2 * PP - PK) / PS + 1;
    float rows[PK][OW];
    for (int s = 0; s < n; s++)
        for (int f = 0; f < F; f++) {
            const float *xs = inp + s * C * H * W, *wf = weight + f * C * K * K;
            for (int py = 0; py < PH; py++) {
                for (int wy = 0; wy < PK; wy++) {
                    const int oy = py * PS - PP + wy;
                    float *row = rows[wy];
                    if (oy < 0 || oy >= OH)
                        continue;
                    for (int ox = 0; ox < OW; ox++)
                        row[ox] = bias ? bias[f] : 0.0f;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++) {
                            const int iy = oy * S - P + ky;
                            if (iy < 0 || iy >= H)
                                continue;
                            const float *xr = xs + (c * H + iy) * W;
                            for (int kx = 0; kx < K; kx++) {
                                int ox0, ox1;
                                dnn_conv_range(&ox0, &ox1, kx, W, S, P, OW);
                                const float w = wf[(c * K + ky) * K + kx];
                                for (int ox = ox0; ox < ox1; ox++)
                                    row[ox] += w * xr[ox * S - P + kx];
                            }
                        }
                    if (act)
                        for (int ox = 0; ox < OW; ox++)
                            row[ox] = act(row[ox]);
                }
                for (int px = 0; px < PW; px++) {
                    dnn_window win = {-INFINITY, 0.0f, 1};
                    for (int wy = 0; wy < PK; wy++)
                        for (int wx = 0; wx < PK; wx++) {
                            const int oy = py * PS - PP + wy, ox = px * PS - PP + wx;
                            if (oy >= 0 && oy < OH && ox >= 0 && ox < OW)
                                dnn_window_take(&win, rows[wy][ox], max);
                        }
                    out[((s * F + f) * PH + py) * PW + px] = dnn_window_value(&win, max, PK * PK);
                }
            }
        }
}

/* ---- conv2d → relu → maxpool backward, the maxima found again -------------------------
 * Training on the device (a fused update): the forward pass keeps neither
 * the conv's output nor relu's (dnn_conv2d_pool_forward_plain pools them at
 * once), so the backward pass recomputes them, a band of PK conv rows at a
 * time, with the forward's arithmetic (bias, then c, ky, kx; relu), finds
 * each window's first maximum as dnn_pool_backward_plain does, and gives
 * it y ≤ 0 ? 0 : 0 + dout: what maxpool's then relu's backward
 * would store, zero elsewhere — into dconv (whole, for the conv's own
 * backward) or, with dconv NULL, straight into dbias, summed in
 * dnn_conv2d_backward_bias's order (a column over the samples, eight lanes
 * over the positions, pairwise, then the tail). The same bits as the three
 * backward steps, for one recomputed conv. Windows tile the conv output
 * (stride PK, no padding). */

/* Band py of filter f for one sample: rows py·PK .. py·PK + PK − 1 of relu(conv). */
DNN_KERNEL void dnn_conv_relu_band(int PK, int OW, float band[PK][OW], const float *xs, const float *wf, float b, int py,
                                   int C, int H, int W, int K, int S, int P) {
    for (int wy = 0; wy < PK; wy++)
        for (int ox = 0; ox < OW; ox++)
            band[wy][ox] = dnn_relu(dnn_conv2d_at_plain(xs, wf, b, py * PK + wy, ox, C, H, W, K, S, P));
}

DNN_KERNEL void dnn_conv2d_relu_maxpool_backward(float *dconv, float *dbias, const float *dout, const float *inp,
                                                 const float *weight, const float *bias, int n, int C, int H, int W,
                                                 int F, int K, int S, int P, int PK) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1, PH = OH / PK, PW = OW / PK;
    const int NP = OH * OW, NP8 = NP / 8 * 8;
    float band[PK][OW], col[PK][OW];
    if (dconv)
        memset(dconv, 0, sizeof(float) * (size_t)n * (size_t)F * (size_t)NP);
    for (int f = 0; f < F; f++) {
        float part[8] = {0}, tail[8] = {0};
        for (int py = 0; py < PH; py++) {
            memset(col, 0, sizeof col);
            for (int s = 0; s < n; s++) {
                dnn_conv_relu_band(PK, OW, band, inp + s * C * H * W, weight + f * C * K * K, bias ? bias[f] : 0.0f,
                                   py, C, H, W, K, S, P);
                for (int px = 0; px < PW; px++) {
                    int best = -1;
                    float top = -INFINITY;
                    for (int wy = 0; wy < PK && top == top; wy++)
                        for (int wx = 0; wx < PK && top == top; wx++) {
                            const float y = band[wy][px * PK + wx];
                            if (best < 0 || y > top || y != y) {
                                top = y;
                                best = wy * PK + wx;
                            }
                        }
                    const float g = top <= 0.0f ? 0.0f : 0.0f + dout[((s * F + f) * PH + py) * PW + px];
                    const int wy = best / PK, ox = px * PK + best % PK;
                    if (dconv)
                        dconv[(s * F + f) * NP + (py * PK + wy) * OW + ox] = g;
                    else
                        col[wy][ox] += g;
                }
            }
            for (int wy = 0; wy < PK && !dconv; wy++) /* the positions of the band, in order */
                for (int ox = 0; ox < OW; ox++) {
                    const int i = (py * PK + wy) * OW + ox;
                    if (i < NP8)
                        part[i % 8] += col[wy][ox];
                    else
                        tail[i - NP8] = col[wy][ox];
                }
        }
        if (!dconv) { /* the rows past the last window add zeros */
            float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
            for (int i = NP8; i < NP; i++)
                acc += tail[i - NP8];
            dbias[f] = acc;
        }
    }
}

/* ---- the forward dispatchers ------------------------------------------------------------- */

/* out = conv2d(inp): columns in the lanes, filters in the lanes, or the
 * matrix products (dnn_kernels_gemm.h), as dnn_conv2d_cols_fit and
 * dnn_conv2d_lanes_fit say. */
DNN_KERNEL void dnn_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias, int n, int C,
                                   int H, int W, int F, int K, int S, int P) {
    if (dnn_conv2d_cols_fit(C, H, W, F, K, S, P, 0, 0, 0, NULL))
        dnn_conv2d_forward_cols(out, inp, weight, bias, n, C, H, W, F, K, P, 0, 0, NULL);
    else if (dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F) &&
             dnn_conv2d_lanes_stack_ok(C, H, W, F, K, P, DNN_SMALL_STACK_FLOATS))
        dnn_conv2d_forward_lanes(out, inp, weight, bias, n, C, H, W, F, K, S, P, 0, 0, 0, NULL);
#ifdef DNN_V8
    else
        dnn_conv2d_gemm_forward(out, inp, weight, bias, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
#else
    else
        dnn_conv2d_forward_plain(out, inp, weight, bias, n, C, H, W, F, K, S, P);
#endif
}

/* out = pool(act(conv2d(inp))), the conv output never stored: maxpool
 * (max = 1: window PK, stride PS, pad PP) or avgpool (max = 0, PP = 0);
 * act NULL for none. The plain form is dnn_conv2d_pool_forward_plain. */
DNN_KERNEL void dnn_conv2d_pool_forward(float *out, const float *inp, const float *weight, const float *bias, int n,
                                        int C, int H, int W, int F, int K, int S, int P, int PK, int PS, int PP,
                                        int max, dnn_act act) {
    if (dnn_conv2d_cols_fit(C, H, W, F, K, S, P, PK, PS, PP, act))
        dnn_conv2d_forward_cols(out, inp, weight, bias, n, C, H, W, F, K, P, PK, max, act);
    else if (dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F) &&
             dnn_conv2d_lanes_stack_ok(C, H, W, F, K, P, DNN_SMALL_STACK_POOLED) && PP == 0)
        dnn_conv2d_forward_lanes(out, inp, weight, bias, n, C, H, W, F, K, S, P, PK, PS, max, act);
    else
        dnn_conv2d_pool_forward_rows(out, inp, weight, bias, n, C, H, W, F, K, S, P, PK, PS, PP, max, act);
}

/* ---- weight gradient ---------------------------------------------------------------------
 * dweight[f][c][ky][kx] = Σ_s Σ_{oy,ox} x[s][c][oy·S−P+ky][ox·S−P+kx] · dout[s][f][oy][ox]
 *
 * Filters in the lanes: dwt[tap][f] accumulates x · dout over the samples,
 * then the positions, in order; a tile is one kernel row (K taps) × vb
 * vectors of filters, over one sample's positions, U positions at a time
 * (each input value broadcast once serves U·K products). With fewer than 8
 * accumulators (LeNet-5's first layer: 5 taps × 1 vector) the vector path
 * keeps a second set for every other position of the U, so that 10 FMA
 * chains hide the latency, and adds the two sets at the end of the tile: a
 * fixed order, but no longer the plain C path's. The positions left after
 * the blocks of U are added one at a time as a multiply and an add (not an
 * FMA: the order dnnc has always had). */
DNN_KERNEL void dnn_conv2d_backward_weight_lanes(float *dweight, const float *dout, const float *inp, int n, int C,
                                                 int H, int W, int F, int K, int S, int P, int r0, int r1) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1, Hp = H + 2 * P, Wp = W + 2 * P;
    const int taps = C * K * K, FL = (F + DNN_VL - 1) / DNN_VL * DNN_VL, NP = OH * OW;
    const int vb = dnn_lane_block(FL, DNN_VL, DNN_VREGS / K < 3 ? DNN_VREGS / K : 3);
    /* the sums' order, the same at any width: two sets where the 8-float tile has fewer than 8 accumulators */
    const int vb8 = dnn_lane_block((F + 7) / 8 * 8, 8, DNN_TILE_ACCS / K < 3 ? DNN_TILE_ACCS / K : 3);
    const int U = dnn_tile_cols(OW, 4), two_sets = K * vb8 < 8 && U > 1, whole = OW / U * U;
#ifdef DNN_V8
    /* two rows of taps a tile where one leaves fewer than 8 FMA chains (AVX-512's 16 filters: K) */
    const int sets = two_sets ? 2 : 1, R = K * vb * sets < 8 && 2 * K * vb * sets + vb + 1 <= DNN_VREGS ? 2 : 1;
#else
    const int R = 1;
#endif
    float dwt[taps][FL], gt[NP][FL]; /* gt: one sample's dout as [position][filter] */
    memset(dwt, 0, sizeof dwt);
    memset(gt, 0, sizeof gt);
    float xp[P ? C * Hp * Wp : 1]; /* the input, zero-padded */
    if (P)
        memset(xp, 0, sizeof xp);
    for (int s = 0; s < n; s++) {
        const float *xs = dnn_conv_padded(xp, inp + s * C * H * W, C, H, W, P, Wp);
        for (int f = 0; f < F; f++)
            for (int p = 0; p < NP; p++)
                gt[p][f] = dout[(s * F + f) * NP + p];
        for (int f0 = 0; f0 < FL; f0 += vb * DNN_VL)
            for (int r = r0; r < r1; r += R) { /* the taps of channel c, kernel row ky: r = c·K + ky */
#ifdef DNN_V8
                const int rows = r1 - r < R ? r1 - r : R;
                dnn_vl a[2][DNN_TILE_ACCS][3], b[2][DNN_TILE_ACCS][3];
                DNN_UNROLL for (int q = 0; q < rows; q++)
                    DNN_UNROLL for (int j = 0; j < K; j++)
                        DNN_UNROLL for (int v = 0; v < vb; v++) {
                            a[q][j][v] = dnn_vl_load(dwt[(r + q) * K] + f0 + j * FL + v * DNN_VL);
                            b[q][j][v] = dnn_vl_splat(0.0f);
                        }
                for (int oy = 0; oy < OH; oy++) {
                    const float *xr[2], *g = gt[oy * OW] + f0;
                    DNN_UNROLL for (int q = 0; q < rows; q++)
                        xr[q] = xs + ((r + q) / K * Hp + oy * S + (r + q) % K) * Wp;
                    for (int ox = 0; ox < whole; ox += U, g += U * FL)
                        DNN_UNROLL for (int u = 0; u < U; u++) {
                            dnn_vl gv[3];
                            DNN_UNROLL for (int v = 0; v < vb; v++) gv[v] = dnn_vl_load(g + u * FL + v * DNN_VL);
                            DNN_UNROLL for (int q = 0; q < rows; q++)
                                DNN_UNROLL for (int j = 0; j < K; j++) {
                                    const dnn_vl xv = dnn_vl_splat(xr[q][(ox + u) * S + j]);
                                    DNN_UNROLL for (int v = 0; v < vb; v++) {
                                        if (two_sets && u % 2)
                                            b[q][j][v] = dnn_vl_fma(xv, gv[v], b[q][j][v]);
                                        else
                                            a[q][j][v] = dnn_vl_fma(xv, gv[v], a[q][j][v]);
                                    }
                                }
                        }
                    for (int ox = whole; ox < OW; ox++, g += FL) { /* one position at a time */
                        dnn_vl gv[3];
                        DNN_UNROLL for (int v = 0; v < vb; v++) gv[v] = dnn_vl_load(g + v * DNN_VL);
                        DNN_UNROLL for (int q = 0; q < rows; q++)
                            DNN_UNROLL for (int j = 0; j < K; j++)
                                DNN_UNROLL for (int v = 0; v < vb; v++) a[q][j][v] += xr[q][ox * S + j] * gv[v];
                    }
                }
                DNN_UNROLL for (int q = 0; q < rows; q++)
                    DNN_UNROLL for (int j = 0; j < K; j++)
                        DNN_UNROLL for (int v = 0; v < vb; v++)
                            dnn_vl_store(dwt[(r + q) * K] + f0 + j * FL + v * DNN_VL,
                                         two_sets ? a[q][j][v] + b[q][j][v] : a[q][j][v]);
#else
                (void)two_sets, (void)whole;
                const int c = r / K, ky = r % K;
                float *d = dwt[r * K] + f0, a[DNN_TILE_ACCS][24];
                for (int j = 0; j < K; j++)
                    for (int l = 0; l < vb * 8; l++)
                        a[j][l] = d[j * FL + l];
                for (int oy = 0; oy < OH; oy++) {
                    const float *xr = xs + (c * Hp + oy * S + ky) * Wp, *g = gt[oy * OW] + f0;
                    for (int ox = 0; ox < OW; ox++, g += FL) {
                        const float *xq = xr + ox * S;
                        for (int j = 0; j < K; j++)
                            for (int l = 0; l < vb * 8; l++)
                                a[j][l] += xq[j] * g[l];
                    }
                }
                for (int j = 0; j < K; j++)
                    for (int l = 0; l < vb * 8; l++)
                        d[j * FL + l] = a[j][l];
#endif
            }
    }
    for (int f = 0; f < F; f++)
        for (int t = r0 * K; t < r1 * K; t++)
            dweight[f * taps + t] = dwt[t][f];
}

#ifdef DNN_V8
/* ---- weight gradient, output columns in the lanes ------------------------------------------
 * For a conv with few filters (dnn_conv2d_cols_fit's; LeNet-5's first
 * layer: 6 filters, 28 columns) the lanes hold 8 output columns: tap
 * (f, c, ky, kx)'s accumulator vector takes x[c][oy + ky][ox + kx .. + 8)
 * times dout[f][oy][ox .. + 8) over the samples, the rows, the vectors of a
 * row, in order; its 8 lanes are added at the end (dnn_v8_sum). A tile is
 * FB filters × one kernel row's K taps, each input vector loaded once for
 * the FB filters. The lanes past the last column are zeros: the input's
 * masked (0 · NaN would be NaN), dout's rows copied zero-padded. Rows of
 * taps r0 .. r1 (r = c·K + ky), every filter, as the lanes kernel.
 * A dnn_vl holds 8 columns of DNN_DW_COLS_FPV filters (AVX-512: two side
 * by side, the input's 8 columns in both halves), each lane's sum as with
 * one filter a vector. */
enum { DNN_DW_COLS_FPV = DNN_VL / 8, DNN_DW_COLS_VB = 3 }; /* filters a vector; the most vectors a tile */
static inline dnn_vl dnn_dw_cols_x(const float *x) { /* 8 input columns, once for each filter */
#ifdef DNN_V8X2
    return dnn_v8x2_twice(x);
#else
    return dnn_v8_load(x);
#endif
}
static inline dnn_vl dnn_dw_cols_g(const float *g, int next) { /* 8 columns of dout, filters `next` floats apart */
#ifdef DNN_V8X2
    return dnn_v8x2_pair(g, g + next);
#else
    (void)next;
    return dnn_v8_load(g);
#endif
}
static inline float dnn_dw_cols_sum(dnn_vl a, int h) { /* filter h's 8 lanes added (dnn_v8_sum) */
#ifdef DNN_V8X2
    return dnn_v8_sum(h ? dnn_v8x2_hi(a) : dnn_v8x2_lo(a));
#else
    (void)h;
    return dnn_v8_sum(a);
#endif
}
DNN_KERNEL void dnn_conv2d_backward_weight_cols(float *dweight, const float *dout, const float *inp, int n, int C,
                                                int H, int W, int F, int K, int P, int r0, int r1) {
    const int OH = H + 2 * P - K + 1, OW = W + 2 * P - K + 1, Hp = H + 2 * P, NP = OH * OW;
    int V, FB, XW;
    dnn_cols_tile_shape(&V, &FB, &XW, F, K, W, P, OW, 8);
    /* FV vectors of filters (the last padded with zero rows of dout), VB of them a tile: as many as
       fit the registers with their dout vectors and an input vector */
    const int FV = (F + DNN_DW_COLS_FPV - 1) / DNN_DW_COLS_FPV, G = 8 * V; /* G: dout's padded row */
    int VB = (DNN_VREGS - 2) / (K + 1) < DNN_DW_COLS_VB ? (DNN_VREGS - 2) / (K + 1) : DNN_DW_COLS_VB;
    while (FV % VB)
        VB--;
    float xp[C * Hp * XW], gp[FV * DNN_DW_COLS_FPV * OH * G];
    dnn_vl acc[(r1 - r0) * FV * K];
    dnn_vli last; /* the lanes of the last vector inside the row */
    for (int l = 0; l < DNN_VL; l++)
        last[l] = 8 * (V - 1) + l % 8 < OW ? -1 : 0;
    memset(xp, 0, sizeof xp);
    memset(gp, 0, sizeof gp);
    for (int i = 0; i < (r1 - r0) * FV * K; i++)
        acc[i] = dnn_vl_splat(0.0f);
    for (int s = 0; s < n; s++) {
        const float *xs = dnn_conv_padded(xp, inp + s * C * H * W, C, H, W, P, XW);
        for (int i = 0; i < F * OH; i++)
            memcpy(gp + i * G, dout + s * F * NP + i * OW, sizeof(float) * OW);
        for (int r = r0; r < r1; r++)
            for (int fv = 0; fv < FV; fv += VB) {
                dnn_vl *a = acc + ((r - r0) * FV + fv) * K, t[DNN_DW_COLS_VB][DNN_TILE_ACCS];
                DNN_UNROLL for (int vb = 0; vb < VB; vb++)
                    DNN_UNROLL for (int kx = 0; kx < K; kx++) t[vb][kx] = a[vb * K + kx];
                for (int v = 0; v < V; v++) { /* down the column of vectors v: one long loop */
                    const dnn_vli m = v == V - 1 ? last : (dnn_vli){0} - 1;
                    const float *xr = xs + (r / K * Hp + r % K) * XW + 8 * v;
                    const float *g = gp + fv * DNN_DW_COLS_FPV * OH * G + 8 * v;
                    for (int oy = 0; oy < OH; oy++, xr += XW, g += G) {
                        dnn_vl gv[DNN_DW_COLS_VB];
                        DNN_UNROLL for (int vb = 0; vb < VB; vb++)
                            gv[vb] = dnn_dw_cols_g(g + vb * DNN_DW_COLS_FPV * OH * G, OH * G);
                        DNN_UNROLL for (int kx = 0; kx < K; kx++) {
                            const dnn_vl xv = dnn_vl_select(m, dnn_dw_cols_x(xr + kx), dnn_vl_splat(0.0f));
                            DNN_UNROLL for (int vb = 0; vb < VB; vb++) t[vb][kx] = dnn_vl_fma(xv, gv[vb], t[vb][kx]);
                        }
                    }
                }
                DNN_UNROLL for (int vb = 0; vb < VB; vb++)
                    DNN_UNROLL for (int kx = 0; kx < K; kx++) a[vb * K + kx] = t[vb][kx];
            }
    }
    for (int r = r0; r < r1; r++)
        for (int f = 0; f < F; f++)
            for (int kx = 0; kx < K; kx++)
                dweight[(f * C * K + r) * K + kx] =
                    dnn_dw_cols_sum(acc[((r - r0) * FV + f / DNN_DW_COLS_FPV) * K + kx], f % DNN_DW_COLS_FPV);
}
#endif

/* Whether dnn_conv2d_backward_weight puts output columns in the lanes: as the forward. */
DNN_KERNEL int dnn_conv2d_backward_weight_cols_fit(int C, int H, int W, int F, int K, int S, int P) {
#ifdef DNN_V8
    return K <= DNN_TILE_ACCS && dnn_conv2d_cols_fit(C, H, W, F, K, S, P, 0, 0, 0, NULL);
#else
    (void)C, (void)H, (void)W, (void)F, (void)K, (void)S, (void)P;
    return 0;
#endif
}

/* Whether dnn_conv2d_backward_weight puts the filters in the lanes. */
DNN_KERNEL int dnn_conv2d_backward_weight_fit(int C, int H, int W, int F, int K, int S, int P) {
    return K <= DNN_TILE_ACCS && dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, F);
}

/* dweight (overwritten): filters in the lanes, or matrix products
 * (dnn_kernels_gemm.h). */
DNN_KERNEL void dnn_conv2d_backward_weight(float *dweight, const float *dout, const float *inp, int n, int C, int H,
                                           int W, int F, int K, int S, int P) {
#ifdef DNN_V8
    if (dnn_conv2d_backward_weight_cols_fit(C, H, W, F, K, S, P))
        dnn_conv2d_backward_weight_cols(dweight, dout, inp, n, C, H, W, F, K, P, 0, C * K);
    else if (dnn_conv2d_backward_weight_fit(C, H, W, F, K, S, P))
        dnn_conv2d_backward_weight_lanes(dweight, dout, inp, n, C, H, W, F, K, S, P, 0, C * K);
    else
        dnn_conv2d_gemm_backward_weight(dweight, dout, inp, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
#else
    if (dnn_conv2d_backward_weight_fit(C, H, W, F, K, S, P))
        dnn_conv2d_backward_weight_lanes(dweight, dout, inp, n, C, H, W, F, K, S, P, 0, C * K);
    else
        dnn_conv2d_backward_weight_plain(dweight, dout, inp, n, C, H, W, F, K, S, P);
#endif
}

/* The weight gradient on threads: with the filters or the columns in the lanes, its C·K
 * rows of taps (input channel c, kernel row ky), each tap's sums its own,
 * computed rows lo .. hi by dnn_conv2d_backward_weight_part; otherwise one
 * item, the whole gradient. */
DNN_KERNEL int dnn_conv2d_backward_weight_items(int C, int H, int W, int F, int K, int S, int P) {
    return dnn_conv2d_backward_weight_cols_fit(C, H, W, F, K, S, P) || dnn_conv2d_backward_weight_fit(C, H, W, F, K, S, P)
               ? C * K
               : 1;
}
DNN_KERNEL void dnn_conv2d_backward_weight_part(float *dweight, const float *dout, const float *inp, int n, int C,
                                                int H, int W, int F, int K, int S, int P, int lo, int hi) {
#ifdef DNN_V8
    if (dnn_conv2d_backward_weight_cols_fit(C, H, W, F, K, S, P)) {
        dnn_conv2d_backward_weight_cols(dweight, dout, inp, n, C, H, W, F, K, P, lo, hi);
        return;
    }
#endif
    if (dnn_conv2d_backward_weight_fit(C, H, W, F, K, S, P))
        dnn_conv2d_backward_weight_lanes(dweight, dout, inp, n, C, H, W, F, K, S, P, lo, hi);
    else
        dnn_conv2d_backward_weight(dweight, dout, inp, n, C, H, W, F, K, S, P);
}

/* ---- input gradient ----------------------------------------------------------------------
 * dinp[s][c][iy][ix] = Σ_{f,ky,kx} weight[f][c][ky][kx] · dout[s][f][oy][ox] over the outputs
 * (oy, ox) that read x[c][iy][ix].
 *
 * Input channels in the lanes: per sample, dxt[padded position][c]
 * gathers the products tile by tile — tq output positions of a row × one
 * kernel row (K taps) × vb vectors of channels, summed over the filters in
 * order, then added to dxt in a fixed order — and is copied out without
 * its padding. */
/* One tile: nq output positions from g (one sample's dout at the tile's
 * first position) × the K taps of kernel row ky × vb vectors of channels
 * from c0, its sums over the filters added to t (dxt at the tile's first
 * input position and c0) position by position, tap by tap. */
DNN_KERNEL void dnn_dx_lanes_tile(float *t, const float *g, const float *w2, int c0, int ky, int nq, int vb, int F,
                                  int K, int S, int C8, int NP) {
#ifdef DNN_V8
    dnn_v8 a[DNN_TILE_ACCS][3];
    DNN_UNROLL for (int j = 0; j < nq * K; j++)
        DNN_UNROLL for (int v = 0; v < vb; v++) a[j][v] = (dnn_v8){0};
    for (int f = 0; f < F; f++) {
        const float *w = w2 + (f * K + ky) * K * C8 + c0;
        dnn_v8 wv[DNN_TILE_ACCS][3];
        DNN_UNROLL for (int k = 0; k < K; k++)
            DNN_UNROLL for (int v = 0; v < vb; v++) wv[k][v] = dnn_v8_load(w + k * C8 + v * 8);
        DNN_UNROLL for (int q = 0; q < nq; q++) {
            const dnn_v8 gq = dnn_v8_splat(g[f * NP + q]);
            DNN_UNROLL for (int k = 0; k < K; k++)
                DNN_UNROLL for (int v = 0; v < vb; v++) a[q * K + k][v] = dnn_v8_fma(gq, wv[k][v], a[q * K + k][v]);
        }
    }
    DNN_UNROLL for (int q = 0; q < nq; q++)
        DNN_UNROLL for (int k = 0; k < K; k++)
            DNN_UNROLL for (int v = 0; v < vb; v++) {
                float *at = t + (q * S + k) * C8 + v * 8;
                dnn_v8_store(at, dnn_v8_load(at) + a[q * K + k][v]);
            }
#else
    float a[DNN_TILE_ACCS][24] = {{0}};
    for (int f = 0; f < F; f++) {
        const float *w = w2 + (f * K + ky) * K * C8 + c0;
        for (int q = 0; q < nq; q++)
            for (int k = 0; k < K; k++)
                for (int l = 0; l < vb * 8; l++)
                    a[q * K + k][l] += g[f * NP + q] * w[k * C8 + l];
    }
    for (int q = 0; q < nq; q++)
        for (int k = 0; k < K; k++)
            for (int l = 0; l < vb * 8; l++)
                t[(q * S + k) * C8 + l] += a[q * K + k][l];
#endif
}

/* The tiles of nq positions from ox along output row oy. */
DNN_KERNEL void dnn_dx_lanes_tiles(float *dxt, const float *gs, const float *w2, int oy, int ox, int nq, int vb, int F,
                                   int K, int S, int Wp, int C8, int OW, int NP) {
    for (int c0 = 0; c0 < C8; c0 += vb * 8)
        for (int ky = 0; ky < K; ky++)
            dnn_dx_lanes_tile(dxt + ((oy * S + ky) * Wp + ox * S) * C8 + c0, gs + oy * OW + ox, w2, c0, ky, nq, vb, F, K,
                              S, C8, NP);
}

DNN_KERNEL void dnn_conv2d_backward_input_lanes(float *dinp, const float *dout, const float *weight, int n, int C,
                                                int H, int W, int F, int K, int S, int P) {
    const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1, Hp = H + 2 * P, Wp = W + 2 * P;
    const int C8 = (C + 7) / 8 * 8, NP = OH * OW;
    const int vb = dnn_lane_block(C8, 8, DNN_TILE_ACCS / K < 3 ? DNN_TILE_ACCS / K : 3);
    const int most = DNN_TILE_ACCS / (K * vb), tq = most < 1 ? 1 : most > OW ? OW : most, whole = OW / tq * tq;
    float w2[F * K * K][C8], dxt[Hp * Wp][C8]; /* w2: the weights as [filter, ky, kx][channel] */
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C8; c++)
            for (int k = 0; k < K * K; k++)
                w2[f * K * K + k][c] = c < C ? weight[(f * C + c) * K * K + k] : 0.0f;
    for (int s = 0; s < n; s++) {
        const float *gs = dout + s * F * NP;
        memset(dxt, 0, sizeof dxt);
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < whole; ox += tq)
                dnn_dx_lanes_tiles(dxt[0], gs, w2[0], oy, ox, tq, vb, F, K, S, Wp, C8, OW, NP);
            if (whole < OW) /* the last positions */
                dnn_dx_lanes_tiles(dxt[0], gs, w2[0], oy, whole, OW - whole, vb, F, K, S, Wp, C8, OW, NP);
        }
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < H; iy++)
                for (int ix = 0; ix < W; ix++)
                    dinp[((s * C + c) * H + iy) * W + ix] = dxt[(iy + P) * Wp + ix + P][c];
    }
}

#ifdef DNN_V8
/* ---- input gradient, samples in the lanes ------------------------------------------------
 * For a conv whose input channels leave the lanes part empty (LeNet-5's
 * second: 6 of 8) and whose rows are short, the lanes hold 8 samples:
 * dout copied as [f][oy][ox][sample], and each input row (c, iy) one tile
 * of its padded row's Wp accumulator vectors, which gathers weight[f][c][ky]
 * [kx] (broadcast) times dout[f][iy + P − ky][ox] into position ox + kx,
 * over f, ky, kx, ox in order: no padding multiplied, no partial sums
 * stored. A last group of fewer than 8 samples has zeros in the others'
 * lanes, which are dropped. With AVX-512 (dnn_vl) the lanes hold 16
 * samples, each lane's sums the same. */
enum { DNN_DX_SAMPLES_W = 15 }; /* the longest padded row: its accumulators and a weight in 16 registers */
DNN_KERNEL int dnn_conv2d_backward_input_samples_fit(int C, int H, int W, int F, int K, int S, int P) {
    const long OH = H + 2 * P - K + 1, OW = W + 2 * P - K + 1;
    return S == 1 && W + 2 * P <= DNN_DX_SAMPLES_W && C % 8 && 8 * (F * OH * OW + (long)C * H * W) <= DNN_LANES_FLOATS;
}
DNN_KERNEL void dnn_conv2d_backward_input_samples(float *dinp, const float *dout, const float *weight, int n, int C,
                                                  int H, int W, int F, int K, int P) {
    const int OH = H + 2 * P - K + 1, OW = W + 2 * P - K + 1, Wp = W + 2 * P, NP = OH * OW, in = C * H * W;
    float gt[F * NP][DNN_VL], dxt[in][DNN_VL];
    for (int s0 = 0; s0 < n; s0 += DNN_VL) {
        const int m = n - s0 < DNN_VL ? n - s0 : DNN_VL;
        for (int i = 0; i < F * NP; i++)
            for (int l = 0; l < DNN_VL; l++)
                gt[i][l] = l < m ? dout[(s0 + l) * F * NP + i] : 0.0f;
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < H; iy++) {
                const int y = iy + P, ky0 = y - OH + 1 > 0 ? y - OH + 1 : 0, ky1 = y + 1 < K ? y + 1 : K;
                dnn_vl a[DNN_DX_SAMPLES_W];
                DNN_UNROLL for (int j = 0; j < Wp; j++) a[j] = dnn_vl_splat(0.0f);
                for (int f = 0; f < F; f++)
                    for (int ky = ky0; ky < ky1; ky++) {
                        const float *g = gt[(f * OH + y - ky) * OW], *w = weight + ((f * C + c) * K + ky) * K;
                        DNN_UNROLL for (int kx = 0; kx < K; kx++) {
                            const dnn_vl wv = dnn_vl_splat(w[kx]);
                            DNN_UNROLL for (int ox = 0; ox < OW; ox++)
                                a[ox + kx] = dnn_vl_fma(wv, dnn_vl_load(g + DNN_VL * ox), a[ox + kx]);
                        }
                    }
                DNN_UNROLL for (int ix = 0; ix < W; ix++) dnn_vl_store(dxt[(c * H + iy) * W + ix], a[ix + P]);
            }
        for (int l = 0; l < m; l++)
            for (int i = 0; i < in; i++)
                dinp[(s0 + l) * in + i] = dxt[i][l];
    }
}
#endif

/* dinp (overwritten): samples or input channels in the lanes, or matrix products. */
DNN_KERNEL void dnn_conv2d_backward_input(float *dinp, const float *dout, const float *weight, int n, int C, int H,
                                          int W, int F, int K, int S, int P) {
#ifdef DNN_V8
    if (dnn_conv2d_backward_input_samples_fit(C, H, W, F, K, S, P)) {
        dnn_conv2d_backward_input_samples(dinp, dout, weight, n, C, H, W, F, K, P);
        return;
    }
#endif
    if (K <= DNN_TILE_ACCS && dnn_conv2d_lanes_fit(C, H, W, F, K, S, P, C))
        dnn_conv2d_backward_input_lanes(dinp, dout, weight, n, C, H, W, F, K, S, P);
#ifdef DNN_V8
    else
        dnn_conv2d_gemm_backward_input(dinp, dout, weight, n, C, H, W, F, K, K, S, S, P, P, P, P, 1);
#else
    else
        dnn_conv2d_backward_input_plain(dinp, dout, weight, n, C, H, W, F, K, S, P);
#endif
}

/* ---- bias gradient -----------------------------------------------------------------------
 * dbias[f] = Σ_s Σ_p dout[s][f][p]: per position over the samples, then the
 * positions in 8 partial sums added in a fixed tree, then the tail; each
 * filter its own sum, so _part computes filters lo .. hi for one thread. */
DNN_KERNEL void dnn_conv2d_backward_bias_part(float *dbias, const float *dout, int n, int F, int OH, int OW, int lo,
                                              int hi) {
    const int NP = OH * OW, NP8 = NP / 8 * 8;
    for (int f = lo; f < hi; f++) {
        float col[NP], part[8] = {0};
        memset(col, 0, sizeof col);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < NP; i++)
                col[i] += dout[(s * F + f) * NP + i];
        for (int i = 0; i < NP8; i += 8)
            for (int l = 0; l < 8; l++)
                part[l] += col[i + l];
        float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        for (int i = NP8; i < NP; i++)
            acc += col[i];
        dbias[f] = acc;
    }
}
DNN_KERNEL void dnn_conv2d_backward_bias(float *dbias, const float *dout, int n, int F, int OH, int OW) {
    dnn_conv2d_backward_bias_part(dbias, dout, n, F, OH, OW, 0, F);
}
