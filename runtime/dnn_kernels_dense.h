/* dnn_kernels_dense.h — dense (nn.Linear) and its gradients. Part of
 * dnn_kernels.h. The weight is [units][in]; inputs and outputs are [n][in]
 * and [n][units]. */

/* ---- forward ---------------------------------------------------------------------------
 * out[s][j] = bias[j] + Σ_i weight[j][i] · inp[s][i]        (bias may be NULL)
 *
 * Reference: dnn_dense_forward_plain, one running sum per output.
 *
 * Each dot product keeps 8 partial sums — lane k sums the products of the
 * inputs i ≡ k (mod 8) below in8 = in / 8 · 8, in order — so that the C
 * compiler can vectorise without reassociating anything. Then its lanes
 * are added as ((0+1) + (2+3)) + ((4+5) + (6+7)), the inputs past in8 one
 * by one, and the bias.
 *
 * Blocking: a block is `samples` samples × `rows` weight rows, one
 * accumulator each, so that every weight vector loaded serves all the
 * block's samples and every input vector all its rows. With AVX-512 4 × 8
 * (two samples' accumulators share a 16-float vector: 16 registers); then
 * 2 × 6 (12 accumulators) and one sample at a time × 8. The rows left after
 * the whole blocks are one block of their own. Blocking never changes a
 * result: every output's sum is the same. Without vectors (a
 * microcontroller) the forward is the plain loops, one running sum per
 * output (the 8 lanes would live in memory). */

/* An accumulator block never has more than this many samples (per kind of
 * vector) and rows: the arrays below are sized by them, and after inlining
 * their loops unroll and each element lives in a register. */
enum { DNN_DENSE_SAMPLES = 2, DNN_DENSE_ROWS = 8 };

/* The bias and the tail (inputs in8 .. in) of one output: sum is its 8
 * lanes, already added. */
DNN_KERNEL float dnn_dense_finish(float sum, const float *w, const float *x, const float *bias, int in) {
    for (int i = in / 8 * 8; i < in; i++)
        sum += w[i] * x[i];
    return bias ? *bias + sum : sum;
}

#ifdef DNN_V8
/* Writes the block's outputs from its accumulators acc[p][r] (sample p,
 * row r): their lanes added with dnn_v8_sum8, eight at a time (a last group
 * is padded by repeating its last accumulator), or with dnn_v8_sum when
 * there are fewer than 4; then the tail and the bias. y, w and bias point
 * at the block's first row. */
DNN_KERNEL void dnn_dense_store_v8(float *y, const float *x, const float *w, const float *bias, int in, int units,
                                   int samples, int rows, dnn_v8 acc[DNN_DENSE_SAMPLES * 2][DNN_DENSE_ROWS]) {
    const int nacc = samples * rows;
    float sum[DNN_DENSE_SAMPLES * 2 * DNN_DENSE_ROWS];
    if (nacc >= 4) {
        DNN_UNROLL for (int q = 0; q < nacc; q += 8) {
            dnn_v8 v[8];
            DNN_UNROLL for (int k = 0; k < 8; k++) {
                const int at = q + k < nacc ? q + k : nacc - 1;
                v[k] = acc[at / rows][at % rows];
            }
            dnn_v8_store(sum + q, dnn_v8_sum8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
        }
    } else
        DNN_UNROLL for (int k = 0; k < nacc; k++) sum[k] = dnn_v8_sum(acc[k / rows][k % rows]);
    DNN_UNROLL for (int p = 0; p < samples; p++)
        DNN_UNROLL for (int r = 0; r < rows; r++)
            y[p * units + r] = dnn_dense_finish(sum[p * rows + r], w + r * in, x + p * in, bias ? bias + r : NULL, in);
}

/* One block with 8-float accumulators: samples × rows dot products of
 * x[p] (p < samples, rows of in floats) with w[r] (r < rows). */
DNN_KERNEL void dnn_dense_block_v8(float *y, const float *x, const float *w, const float *bias, int in, int units,
                                   int samples, int rows) {
    dnn_v8 acc[DNN_DENSE_SAMPLES * 2][DNN_DENSE_ROWS];
    DNN_UNROLL for (int p = 0; p < samples; p++)
        DNN_UNROLL for (int r = 0; r < rows; r++) acc[p][r] = (dnn_v8){0};
    for (int i = 0; i < in / 8 * 8; i += 8) {
        dnn_v8 xv[DNN_DENSE_SAMPLES], wv[DNN_DENSE_ROWS];
        DNN_UNROLL for (int p = 0; p < samples; p++) xv[p] = dnn_v8_load(x + p * in + i);
        DNN_UNROLL for (int r = 0; r < rows; r++) wv[r] = dnn_v8_load(w + r * in + i);
        DNN_UNROLL for (int p = 0; p < samples; p++)
            DNN_UNROLL for (int r = 0; r < rows; r++) acc[p][r] = dnn_v8_fma(wv[r], xv[p], acc[p][r]);
    }
    dnn_dense_store_v8(y, x, w, bias, in, units, samples, rows, acc);
}
#endif

#ifdef DNN_V8X2
/* One block with 16-float accumulators: pair[q][r] holds samples 2q (lanes
 * 0-7) and 2q + 1 (lanes 8-15) of row r, so each lane adds the same
 * products in the same order as dnn_dense_block_v8. samples is even. */
DNN_KERNEL void dnn_dense_block_v8x2(float *y, const float *x, const float *w, const float *bias, int in,
                                     int units, int samples, int rows) {
    dnn_v8x2 pair[DNN_DENSE_SAMPLES][DNN_DENSE_ROWS];
    DNN_UNROLL for (int q = 0; q < samples / 2; q++)
        DNN_UNROLL for (int r = 0; r < rows; r++) pair[q][r] = (dnn_v8x2){0};
    for (int i = 0; i < in / 8 * 8; i += 8) {
        dnn_v8x2 xv[DNN_DENSE_SAMPLES], wv[DNN_DENSE_ROWS];
        DNN_UNROLL for (int q = 0; q < samples / 2; q++) xv[q] = dnn_v8x2_pair(x + 2 * q * in + i, x + (2 * q + 1) * in + i);
        DNN_UNROLL for (int r = 0; r < rows; r++) wv[r] = dnn_v8x2_twice(w + r * in + i);
        DNN_UNROLL for (int q = 0; q < samples / 2; q++)
            DNN_UNROLL for (int r = 0; r < rows; r++) pair[q][r] = dnn_v8x2_fma(wv[r], xv[q], pair[q][r]);
    }
    dnn_v8 acc[DNN_DENSE_SAMPLES * 2][DNN_DENSE_ROWS];
    DNN_UNROLL for (int q = 0; q < samples / 2; q++)
        DNN_UNROLL for (int r = 0; r < rows; r++) {
            acc[2 * q][r] = dnn_v8x2_lo(pair[q][r]);
            acc[2 * q + 1][r] = dnn_v8x2_hi(pair[q][r]);
        }
    dnn_dense_store_v8(y, x, w, bias, in, units, samples, rows, acc);
}
#endif

#ifdef DNN_V8
/* One block by the kernel `form`: 2 (DNN_V8X2) or 1 (DNN_V8), a constant. */
DNN_KERNEL void dnn_dense_block(float *y, const float *x, const float *w, const float *bias, int in, int units,
                                int samples, int rows, int form) {
#ifdef DNN_V8X2
    if (form == 2)
        dnn_dense_block_v8x2(y, x, w, bias, in, units, samples, rows);
#endif
    if (form == 1)
        dnn_dense_block_v8(y, x, w, bias, in, units, samples, rows);
}

/* The blocks of `samples` samples (n of them, a multiple of `samples`;
 * y their outputs, `units` floats apart) × `rows` weight rows, over the
 * `count` rows of weight (and bias, y) given, then the rows left as one
 * block. Rows outermost: a block of weight rows (rows × in floats) stays
 * in L1 while every sample passes it, where samples outermost would stream
 * the whole weight from L2 once per block of samples. */
DNN_KERNEL void dnn_dense_rows(float *y, const float *x, const float *weight, const float *bias, int in, int units,
                               int count, int n, int samples, int rows, int form) {
    const int whole = count / rows * rows;
    for (int j = 0; j < whole; j += rows)
        for (int s = 0; s < n; s += samples)
            dnn_dense_block(y + s * units + j, x + s * in, weight + j * in, bias ? bias + j : NULL, in, units,
                            samples, rows, form);
    if (whole < count)
        for (int s = 0; s < n; s += samples)
            dnn_dense_block(y + s * units + whole, x + s * in, weight + whole * in, bias ? bias + whole : NULL, in,
                            units, samples, count - whole, form);
}
#endif

/* Outputs row .. row + rows − 1 of every sample (out[s][row + r], the
 * same bits as dnn_dense_forward's: each output is its own sum): the part
 * of a forward split by weight rows, which reads only those rows. */
DNN_KERNEL void dnn_dense_forward_rows(float *out, const float *inp, const float *weight, const float *bias, int n,
                                       int in, int units, int row, int rows) {
    out += row, weight += (long)row * in, bias = bias ? bias + row : NULL;
    int s = 0;
#ifdef DNN_V8X2
    dnn_dense_rows(out, inp, weight, bias, in, units, rows, n / 4 * 4, 4, 8, 2);
    s = n / 4 * 4;
#endif
#ifdef DNN_V8
    const int pairs = (n - s) / 2 * 2;
    dnn_dense_rows(out + s * units, inp + s * in, weight, bias, in, units, rows, pairs, 2, 6, 1);
    s += pairs;
    dnn_dense_rows(out + s * units, inp + s * in, weight, bias, in, units, rows, n - s, 1, 8, 1);
#else
    /* no vectors (a microcontroller): one running sum per output, dnn_dense_forward_plain. The
       8-lane arrays (blocks of 2 × 6 and 1 × 8 outputs) live in memory there: the FC autoencoder
       took 1.8 times the plain loops' instructions on a Cortex-M4 */
    if (rows == units)
        dnn_dense_forward_plain(out + s * units, inp + s * in, weight, bias, n - s, in, units);
    else
        for (; s < n; s++)
            dnn_dense_forward_plain(out + s * units, inp + s * in, weight, bias, 1, in, rows);
#endif
}

DNN_KERNEL void dnn_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int n, int in,
                                  int units) {
    dnn_dense_forward_rows(out, inp, weight, bias, n, in, units, 0, units);
}

/* ---- gradients: sums of outer products --------------------------------------------------
 * Both gradients of dense have the form
 *     C[r][c] = Σ_k A[r·ar + k·ak] · B[k·bk + c]        r < R, c < cols, k < K
 * dinp = dout · weight (rows: samples, sums over the units) and
 * dweight = doutᵀ · inp (rows: units, sums over the samples).
 *
 * Each output's sum runs over k in order, one output per vector lane, so
 * no sum is reassociated and the vector and plain paths add the same
 * products in the same order. Blocks of 6 rows × 16 columns (12
 * accumulators hide the FMA latency; each B vector loaded serves 6 rows),
 * with AVX-512 8 rows × 32 columns (16 of its 32 registers), columns
 * outermost so a slab of B stays in L1 across the rows; then 16 or 8
 * columns, then single columns (in plain C also with a vector build). The
 * rows left after the whole blocks are one block when `rest` is set (R is
 * a compile-time count: one block keeps its FMA chains independent), else
 * one row at a time (R is the run-time sample count). */

#ifdef DNN_V8X2
enum { DNN_OUTER_ROWS = 8, DNN_OUTER_WIDTH = 32 };
#else
enum { DNN_OUTER_ROWS = 6, DNN_OUTER_WIDTH = 16 };
#endif

/* One block: `rows` rows from r, `width` columns from c (16, 8 or 1).
 * With sgd (else NULL) each stored result is a gradient, and SGD's step is
 * applied to its parameter at once, while the block is in cache. */
DNN_KERNEL void dnn_outer_block(float *C, const float *A, const float *B, int r, int c, int rows, int width, int K,
                                int ar, int ak, int bk, int cr, const dnn_sgd *sgd) {
#ifdef DNN_V8X2
    if (width >= 16) {
        dnn_v8x2 acc[DNN_OUTER_ROWS][2];
        DNN_UNROLL for (int q = 0; q < rows; q++)
            DNN_UNROLL for (int u = 0; u < width / 16; u++) acc[q][u] = (dnn_v8x2){0};
        for (int k = 0; k < K; k++) {
            const float *a = A + r * ar + k * ak, *b = B + k * bk + c;
            dnn_v8x2 bv[2];
            DNN_UNROLL for (int u = 0; u < width / 16; u++) bv[u] = dnn_v8x2_load(b + 16 * u);
            DNN_UNROLL for (int q = 0; q < rows; q++) {
                const dnn_v8x2 av = dnn_v8x2_splat(a[q * ar]);
                DNN_UNROLL for (int u = 0; u < width / 16; u++) acc[q][u] = dnn_v8x2_fma(av, bv[u], acc[q][u]);
            }
        }
        DNN_UNROLL for (int q = 0; q < rows; q++)
            DNN_UNROLL for (int u = 0; u < width / 16; u++) {
                const long at = (long)(r + q) * cr + c + 16 * u;
                dnn_v8x2_store(C + at, acc[q][u]);
                if (sgd)
                    dnn_sgd_apply(sgd, C + at, at, 16);
            }
        return;
    }
#endif
#ifdef DNN_V8
    if (width >= 8) {
        dnn_v8 acc[DNN_OUTER_ROWS][2];
        DNN_UNROLL for (int q = 0; q < rows; q++)
            DNN_UNROLL for (int u = 0; u < width / 8; u++) acc[q][u] = (dnn_v8){0};
        for (int k = 0; k < K; k++) {
            const float *a = A + r * ar + k * ak, *b = B + k * bk + c;
            dnn_v8 bv[2];
            DNN_UNROLL for (int u = 0; u < width / 8; u++) bv[u] = dnn_v8_load(b + 8 * u);
            DNN_UNROLL for (int q = 0; q < rows; q++) {
                const dnn_v8 av = dnn_v8_splat(a[q * ar]);
                DNN_UNROLL for (int u = 0; u < width / 8; u++) acc[q][u] = dnn_v8_fma(av, bv[u], acc[q][u]);
            }
        }
        DNN_UNROLL for (int q = 0; q < rows; q++)
            DNN_UNROLL for (int u = 0; u < width / 8; u++) {
                const long at = (long)(r + q) * cr + c + 8 * u;
                dnn_v8_store(C + at, acc[q][u]);
                if (sgd)
                    dnn_sgd_apply(sgd, C + at, at, 8);
            }
        return;
    }
#endif
    float acc[DNN_OUTER_ROWS][16] = {{0}};
    for (int k = 0; k < K; k++) {
        const float *a = A + r * ar + k * ak, *b = B + k * bk + c;
        for (int q = 0; q < rows; q++)
            for (int u = 0; u < width; u++)
                acc[q][u] += a[q * ar] * b[u];
    }
    for (int q = 0; q < rows; q++) {
        const long at = (long)(r + q) * cr + c;
        for (int u = 0; u < width; u++)
            C[at + u] = acc[q][u];
        if (sgd)
            dnn_sgd_apply(sgd, C + at, at, width);
    }
}

/* The blocks of columns c .. c + width, over the rows. */
DNN_KERNEL void dnn_outer_columns(float *C, const float *A, const float *B, int c, int width, int R, int K, int ar,
                                  int ak, int bk, int cr, int rest, const dnn_sgd *sgd) {
    int r = 0;
    for (; r + DNN_OUTER_ROWS <= R; r += DNN_OUTER_ROWS)
        dnn_outer_block(C, A, B, r, c, DNN_OUTER_ROWS, width, K, ar, ak, bk, cr, sgd);
    if (rest && R % DNN_OUTER_ROWS)
        dnn_outer_block(C, A, B, r, c, R % DNN_OUTER_ROWS, width, K, ar, ak, bk, cr, sgd);
    else if (!rest)
        for (; r < R; r++)
            dnn_outer_block(C, A, B, r, c, 1, width, K, ar, ak, bk, cr, sgd);
}

DNN_KERNEL void dnn_outer(float *C, const float *A, const float *B, int R, int K, int cols, int ar, int ak, int bk,
                          int cr, int rest, const dnn_sgd *sgd) {
    const int cw = cols / DNN_OUTER_WIDTH * DNN_OUTER_WIDTH, c16 = cols / 16 * 16, c8 = cols / 8 * 8;
    for (int c = 0; c < cw; c += DNN_OUTER_WIDTH)
        dnn_outer_columns(C, A, B, c, DNN_OUTER_WIDTH, R, K, ar, ak, bk, cr, rest, sgd);
    if (cw < c16)
        dnn_outer_columns(C, A, B, cw, 16, R, K, ar, ak, bk, cr, rest, sgd);
    if (c16 < c8)
        dnn_outer_columns(C, A, B, c16, 8, R, K, ar, ak, bk, cr, rest, sgd);
    for (int c = c8; c < cols; c++)
        dnn_outer_columns(C, A, B, c, 1, R, K, ar, ak, bk, cr, rest, sgd);
}

/* dinp[s][i] = Σ_j dout[s][j] · weight[j][i]     (overwrites dinp) */
DNN_KERNEL void dnn_dense_backward_input(float *dinp, const float *dout, const float *weight, int n, int in,
                                         int units) {
    dnn_outer(dinp, dout, weight, n, units, in, units, 1, in, in, 0, NULL);
}

/* dweight[j][i] = Σ_s dout[s][j] · inp[s][i]     (overwrites dweight) */
DNN_KERNEL void dnn_dense_backward_weight(float *dweight, const float *dout, const float *inp, int n, int in,
                                          int units) {
    dnn_outer(dweight, dout, inp, units, n, in, 1, units, in, in, 1, NULL);
}

/* Rows row .. row + rows − 1 of dnn_dense_backward_weight's result, in
 * drows[rows][in]: the same bits, each element being its own sum. A fused
 * update (training on the device) takes the gradient a block at a time,
 * so the whole [units, in] gradient never needs RAM. */
DNN_KERNEL void dnn_dense_backward_weight_rows(float *drows, const float *dout, const float *inp, int n, int in,
                                               int units, int row, int rows) {
    dnn_outer(drows, dout + row, inp, rows, n, in, 1, units, in, in, 1, NULL);
}

/* The weight gradient and SGD's step in one pass (backward plus update):
 * dweight as dnn_dense_backward_weight computes it, each block of it
 * applied to weight (and momentum_buffer, NULL without momentum) as soon
 * as it is stored — the same bits as dnn_dense_backward_weight, then
 * dnn_sgd_update over the weight. For a weight no other layer shares,
 * without gradient clipping (which needs every gradient first). */
DNN_KERNEL void dnn_dense_backward_weight_sgd(float *weight, float *dweight, float *momentum_buffer, const float *dout,
                                              const float *inp, int n, int in, int units, float lr, float momentum,
                                              float one_minus_dampening, float weight_decay, int nesterov,
                                              int first) {
    const dnn_sgd sgd = {weight, momentum_buffer, lr, momentum, one_minus_dampening, weight_decay, nesterov, first};
    dnn_outer(dweight, dout, inp, units, n, in, 1, units, in, in, 1, &sgd);
}

/* dbias[j] = Σ_s dout[s][j]                       (overwrites dbias) */
DNN_KERNEL void dnn_dense_backward_bias(float *dbias, const float *dout, int n, int units) {
    dnn_dense_backward_bias_plain(dbias, dout, n, units);
}

/* ---- forward over a batch: one vector lane per sample -------------------------------------
 * The outputs of dnn_dense_forward, each summed another way: over the
 * inputs in order, one multiply-add at a time from 0, then the bias (the
 * plain reference's order, which starts from the bias). The samples are
 * the vector lanes: dnn_outer (above) over the input transposed to
 * [in][np], np = n rounded up to 8 with zero samples, into a transposed
 * output, then the bias and the transpose back; in chunks of samples and
 * rows, so that the stack holds a bounded scratch. Every output is one sum
 * in one lane, so AVX2 and AVX-512 give the same bits, any split by rows
 * (threads) or batch size n too, and the 16-float vectors are full, where
 * dnn_dense_forward's 8 partial sums per output fill AVX-512 vectors
 * only as two samples' halves. It pays only with a batch (the transposes,
 * the lanes up to 8): dnnc calls it for a training build's layers whose
 * forward is split by rows; batch-1 inference keeps dnn_dense_forward.
 * Without vectors, dnn_dense_forward_rows. */

#ifdef DNN_V8
/* xt[i][s] = x[s][i] (x is [n][in], xt [in][np]), zero for n <= s < np;
 * np a multiple of 8. */
DNN_KERNEL void dnn_transpose_pad(float *xt, const float *x, int n, int in, int np) {
    const int in8 = in / 8 * 8;
    for (int i0 = 0; i0 < in8; i0 += 8) /* inputs outermost: each row of xt written whole (a third faster) */
        for (int s0 = 0; s0 < np; s0 += 8) {
            dnn_v8 t[8];
            DNN_UNROLL for (int q = 0; q < 8; q++) t[q] = s0 + q < n ? dnn_v8_load(x + (long)(s0 + q) * in + i0) : (dnn_v8){0};
            dnn_v8_transpose8(t);
            DNN_UNROLL for (int q = 0; q < 8; q++) dnn_v8_store(xt + (long)(i0 + q) * np + s0, t[q]);
        }
    for (int i = in8; i < in; i++)
        for (int s = 0; s < np; s++)
            xt[(long)i * np + s] = s < n ? x[(long)s * in + i] : 0.0f;
}
#endif

/* A chunk of the batch forward: at most DNN_BATCH_SAMPLES samples (the
 * transposed input on the stack is in × 32 floats at most) and
 * DNN_BATCH_ROWS rows of transposed output (64 × 32 floats). */
enum { DNN_BATCH_SAMPLES = 32, DNN_BATCH_ROWS = 64 };

/* Outputs row .. row + rows − 1 of every sample (out[s][row + r]), each
 * summed in order with one lane per sample. */
DNN_KERNEL void dnn_dense_forward_batch_rows(float *out, const float *inp, const float *weight, const float *bias,
                                             int n, int in, int units, int row, int rows) {
#ifdef DNN_V8
    for (int s0 = 0; s0 < n; s0 += DNN_BATCH_SAMPLES) {
        const int m = n - s0 < DNN_BATCH_SAMPLES ? n - s0 : DNN_BATCH_SAMPLES, np = (m + 7) / 8 * 8;
        float xt[in * np], yt[DNN_BATCH_ROWS * np]; /* the input and a group of outputs, transposed */
        dnn_transpose_pad(xt, inp + (long)s0 * in, m, in, np);
        for (int r0 = 0; r0 < rows; r0 += DNN_BATCH_ROWS) {
            const int count = rows - r0 < DNN_BATCH_ROWS ? rows - r0 : DNN_BATCH_ROWS, j = row + r0;
            dnn_outer(yt, weight + (long)j * in, xt, count, in, np, in, 1, np, np, 1, NULL);
            for (int s = 0; s < m; s++)
                for (int r = 0; r < count; r++)
                    out[(long)(s0 + s) * units + j + r] = bias ? bias[j + r] + yt[r * np + s] : yt[r * np + s];
        }
    }
#else
    dnn_dense_forward_rows(out, inp, weight, bias, n, in, units, row, rows);
#endif
}
