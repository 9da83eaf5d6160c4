/* ops_conv_lanes.c — conv2d at speed (--optimize=speed): filters, input
 * channels or output columns in the vector lanes, the kernels ops_conv.c
 * picks for conv2d and for the fused conv2d → activation → pool step, and
 * the pieces both print (conv_dims, the fused step's pooling and activation).
 * Every vector path has a portable twin after #else that adds the same
 * products in the same order.
 */
#include "ops_rules.h"

#include <string.h>

/* ---- what ops_conv.c shares with the kernels ------------------------------------------------ */

/* A conv2d's sizes, from its operands and attributes. */
ConvDims conv_dims(const Value *conv) {
    const Value *x = conv->in[0];
    ConvDims d = {conv->shape.dim[0], x->shape.dim[0], x->shape.dim[1], x->shape.dim[2], (int)conv->attr[1],
                  (int)conv->attr[2], (int)conv->attr[3], conv->shape.dim[1], conv->shape.dim[2], 0, 0, 0, 0, 0, 0};
    d.Hp = d.H + 2 * d.P, d.Wp = d.W + 2 * d.P;
    d.taps = d.C * d.K * d.K, d.NP = d.OH * d.OW;
    d.F8 = (d.F + 7) / 8 * 8, d.C8 = (d.C + 7) / 8 * 8;
    return d;
}

/* A fused step's pooling of one activated conv value y: the first maximum
 * (NaN wins, as in maxpool) or the running sum. */
void emit_pool_take(Emitter *e, bool max) {
    if (max) {
        emit(e, "if (first || y > top || y != y)");
        emit(e, "    top = y;");
        emit(e, "first = 0;");
    } else
        emit(e, "acc += y;");
}

/* An activation applied to the float variable `var` in place. */
void emit_act_inplace(Emitter *e, const Value *act, const char *var) {
    const char *expr = op_info[act->op].cexpr;
    emit(e, "{ /* %s */", op_info[act->op].name);
    if ((act->op == OP_leaky_relu || act->op == OP_elu) && uses(expr, "a"))
        emit(e, "    const float a = %s;", flit(act->attr[0]));
    emit(e, "    const float x = %s;", var);
    emit(e, "    %s = %s;", var, expr);
    emit(e, "}");
}

/* ---- conv2d with channels in the vector lanes (--optimize=speed) ----------------------------
 * The forward pass and the weight gradient keep 8 filters per vector, the
 * input gradient 8 input channels; the other operand of each product — an
 * input value, an output gradient — is one float broadcast to all lanes. A
 * tile keeps up to 16 such vectors in registers. Every lane is one result's
 * own sum, taken in a fixed order (forward: bias, then the taps c, ky, kx),
 * so the portable path after #else, with plain arrays, computes the very
 * same sums as the AVX one (DNN_V8). Weights, one sample's zero-padded input
 * and one sample's gradients are first copied into arrays on the stack with
 * the channel innermost, so that every vector load is contiguous. */

/* Whether the lane kernels serve a conv whose lanes hold `lanes` channels:
 * at least 4 (half the lanes), and stack arrays of at most 64K floats. */
bool conv_lanes_fit(const Emitter *e, const ConvDims *d, int lanes) {
    long floats = (long)d->taps * d->F8 + (long)d->C * d->Hp * d->Wp + (long)d->NP * d->F8 +
                  (long)d->Hp * d->Wp * d->C8 + (long)d->F * d->K * d->K * d->C8;
    return !e->generic && lanes >= 4 && floats <= 65536;
}

/* Vectors per tile: vb dividing the lane vectors (lanes/8), at most `most`. */
static int lane_block(int lanes, int most) {
    for (int vb = most; vb > 1; vb--)
        if (lanes / 8 % vb == 0)
            return vb;
    return 1;
}

/* Tile row j, vector v, lane l: a vector's element or a plain array's. */
static const char *lane_acc(int j, int v, const char *l, bool vector) {
    return vector ? arena_printf("a%d_%d[%s]", j, v, l) : arena_printf("a[%d][%d + %s]", j, v * 8, l);
}

/* "for (int l = 0; l < 8; l++)" over the lanes of vector v that hold one of
 * `count` real channels, the block starting at channel `first` (a C
 * expression): the padding lanes of a last vector are skipped. */
static void emit_lane_loop(Emitter *e, int v, int count, const char *first, int per) {
    if (count % 8 == 0)
        emit(e, "for (int l = 0; l < %d; l++)", per);
    else
        emit(e, "for (int l = 0; l < %d && %s + %d + l < %d; l++)", per, first, v * 8, count);
}

/* The zero-padded copy of sample s: xp[C][Hp][Wp], borders zeroed once
 * (emit_conv_pad_clear), the interior per sample. Sets xs. */
static void emit_conv_pad_clear(Emitter *e, const ConvDims *d) {
    if (d->P)
        emit(e, "float xp[%d] = {0}; /* the input, zero-padded by %d */", d->C * d->Hp * d->Wp, d->P);
}

static void emit_conv_pad_copy(Emitter *e, const ConvDims *d, const char *src) {
    if (!d->P) {
        emit(e, "const float *xs = %s;", src);
        return;
    }
    emit(e, "for (int c = 0; c < %d; c++)", d->C);
    emit(e, "    for (int iy = 0; iy < %d; iy++)", d->H);
    emit(e, "        memcpy(xp + (c * %d + iy + %d) * %d + %d, %s + (c * %d + iy) * %d, sizeof(float) * %d);", d->Hp,
         d->P, d->Wp, d->P, src, d->H, d->W, d->W);
    emit(e, "const float *xs = xp;");
}

/* The weights tap-major, wt[tap][f] (filters padded to F8 with zeros), and
 * the bias padded likewise: the forward pass's vector operands. */
static void emit_conv_wt(Emitter *e, const ConvDims *d, bool bias) {
    emit(e, "float wt[%d][%d], bias[%d]; /* the weights as [tap][filter] */", d->taps, d->F8, d->F8);
    if (d->F8 > d->F)
        emit(e, "memset(wt, 0, sizeof wt);");
    emit(e, "for (int f = 0; f < %d; f++)", d->F8);
    emit(e, "    bias[f] = %s;", bias ? (d->F8 > d->F ? arena_printf("f < %d ? in2[f] : 0.0f", d->F) : "in2[f]") : "0.0f");
    emit(e, "for (int f = 0; f < %d; f++)", d->F);
    emit(e, "    for (int t = 0; t < %d; t++) wt[t][f] = in1[f * %d + t];", d->taps, d->taps);
}

/* The number of tile columns for `count` items a row: the largest divisor
 * of count from 3/4 of most to most (no remainder tile), else most. */
static int tile_cols(int count, int most) {
    if (most >= count)
        return count;
    for (int m = most; m * 4 >= most * 3; m--)
        if (count % m == 0)
            return m;
    return most;
}

/* What a forward tile computes: the conv outputs at rows × cols positions
 * of one output row (unfused), or at cols pool windows of one pool row,
 * activated and pooled (fused: pool set, rows = pool_k). */
typedef struct {
    const Value *pool, *act;
    int rows, cols, vb;
} Tile;

/* The column of tile position m, relative to the tile's first one. */
static int tile_col(const Tile *t, int m) {
    if (!t->pool)
        return m;
    int PK = (int)t->pool->attr[0], PS = (int)t->pool->attr[1];
    return m / PK * PS + m % PK;
}

/* The vector form of emit_pool_take's max, y into top: y if it is NaN, else
 * the larger (top on a tie: the first maximum), as vmaxps(y, top) picks. */
static const char *pool_take_v8(const char *y, const char *top) {
    return arena_printf("dnn_v8_select(%s != %s, %s, dnn_v8_max(%s, %s))", y, y, y, y, top);
}

/* A fused tile's relu (if any) and pool on whole vectors, as the scalar
 * code does per lane: relu each value, then the first maximum (NaN wins)
 * or the sum; the lanes then go to their filters' outputs. */
static void emit_pool_vectors(Emitter *e, const ConvDims *d, const Tile *t, int v, int npos) {
    const Value *pool = t->pool;
    bool max = pool->op == OP_maxpool;
    int PH = pool->shape.dim[1], PW = pool->shape.dim[2], PK = (int)pool->attr[0];
    for (int i = 0; i < t->cols; i++) {
        emit(e, "{ /* window %d */", i);
        e->indent++;
        for (int k = 0; k < PK * PK; k++) {
            const char *a = arena_printf("a%d_%d", k / PK * npos + i * PK + k % PK, v);
            if (t->act)
                emit(e, "const dnn_v8 y%d = dnn_v8_max((dnn_v8){0}, %s); /* relu */", k, a);
            else
                emit(e, "const dnn_v8 y%d = %s;", k, a);
            if (k == 0)
                emit(e, max ? "dnn_v8 top = y0;" : "dnn_v8 acc = (dnn_v8){0} + y0;");
            else if (max)
                emit(e, "top = %s;", pool_take_v8(arena_printf("y%d", k), "top"));
            else
                emit(e, "acc += y%d;", k);
        }
        if (!max)
            emit(e, "const dnn_v8 top = acc / (float)%d;", PK * PK);
        emit_lane_loop(e, v, d->F, "f0", 8);
        emit(e, "    out[(s * %d + f0 + %d + l) * %d + py * %d + px + %d] = top[l];", d->F, v * 8, PH * PW, PW, i);
        e->indent--;
        emit(e, "}");
    }
}

/* One forward tile: rows × (cols, or cols × pool_k) output positions from
 * xb (row r at xb + r·S·Wp) × vb vectors of filters from f0. In the vector
 * code each input value is broadcast once per kernel row and serves every
 * position and tap that reads it. */
static void emit_conv_fwd_tile(Emitter *e, const ConvDims *d, const Tile *t) {
    int npos = t->pool ? t->cols * (int)t->pool->attr[0] : t->cols, vb = t->vb, n = t->rows * npos;
    for (int vector = 1; vector >= 0; vector--) {
        emit(e, vector ? "#ifdef DNN_V8" : "#else");
        if (vector) {
            for (int j = 0; j < n; j++)
                for (int v = 0; v < vb; v++)
                    emit(e, "dnn_v8 a%d_%d = dnn_v8_load(bias + f0 + %d);", j, v, v * 8);
        } else {
            const char *list = "xb";
            for (int j = 1; j < n; j++)
                list = arena_printf("%s, xb + %d", list, j / npos * d->S * d->Wp + tile_col(t, j % npos) * d->S);
            emit(e, "const float *xj[%d] = {%s};", n, list);
            emit(e, "float a[%d][%d];", n, vb * 8);
            emit(e, "for (int j = 0; j < %d; j++)", n);
            emit(e, "    for (int l = 0; l < %d; l++) a[j][l] = bias[f0 + l];", vb * 8);
        }
        emit(e, "for (int c = 0; c < %d; c++)", d->C);
        emit(e, "for (int ky = 0; ky < %d; ky++) {", d->K);
        e->indent++;
        emit(e, "const int o = (c * %d + ky) * %d;", d->Hp, d->Wp);
        emit(e, "const float *w = wt[(c * %d + ky) * %d] + f0;", d->K, d->K);
        if (vector) {
            int span = tile_col(t, npos - 1) * d->S + d->K;
            for (int r = 0; r < t->rows; r++) {
                emit(e, "const float *x%d = xb + o + %d;", r, r * d->S * d->Wp);
                for (int i = 0; i < span; i++)
                    emit(e, "const dnn_v8 x%d_%d = dnn_v8_splat(x%d[%d]);", r, i, r, i);
            }
            for (int kx = 0; kx < d->K; kx++) {
                emit(e, "{");
                e->indent++;
                for (int v = 0; v < vb; v++)
                    emit(e, "const dnn_v8 w%d = dnn_v8_load(w + %d);", v, kx * d->F8 + v * 8);
                for (int j = 0; j < n; j++)
                    for (int v = 0; v < vb; v++)
                        emit(e, "a%d_%d = dnn_v8_fma(x%d_%d, w%d, a%d_%d);", j, v, j / npos, tile_col(t, j % npos) * d->S + kx, v, j, v);
                e->indent--;
                emit(e, "}");
            }
        } else {
            emit(e, "for (int kx = 0; kx < %d; kx++, w += %d)", d->K, d->F8);
            emit(e, "    for (int j = 0; j < %d; j++)", n);
            emit(e, "        for (int l = 0; l < %d; l++) a[j][l] += xj[j][o + kx] * w[l];", vb * 8);
        }
        e->indent--;
        emit(e, "}");
        for (int v = 0; v < vb; v++) {
            if (!t->pool) {
                emit_lane_loop(e, v, d->F, "f0", 8);
                emit(e, "{");
                for (int j = 0; j < n; j++)
                    emit(e, "    yr[(f0 + %d + l) * %d + %d] = %s;", v * 8, d->NP, j, lane_acc(j, v, "l", vector));
                emit(e, "}");
                continue;
            }
            const Value *pool = t->pool;
            bool max = pool->op == OP_maxpool;
            int PH = pool->shape.dim[1], PW = pool->shape.dim[2], PK = (int)pool->attr[0];
            if (vector && (!t->act || t->act->op == OP_relu)) {
                emit_pool_vectors(e, d, t, v, npos);
                continue;
            }
            emit_lane_loop(e, v, d->F, "f0", 8);
            emit(e, "{");
            e->indent++;
            for (int i = 0; i < t->cols; i++) {
                emit(e, "{ /* window %d */", i);
                e->indent++;
                emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
                if (max)
                    emit(e, "int first = 1;");
                for (int wy = 0; wy < PK; wy++)
                    for (int wx = 0; wx < PK; wx++) {
                        emit(e, "{");
                        e->indent++;
                        emit(e, "float y = %s;", lane_acc(wy * npos + i * PK + wx, v, "l", vector));
                        if (t->act)
                            emit_act_inplace(e, t->act, "y");
                        emit_pool_take(e, max);
                        e->indent--;
                        emit(e, "}");
                    }
                emit(e, "out[(s * %d + f0 + %d + l) * %d + py * %d + px + %d] = %s;", d->F, v * 8, PH * PW, PW, i,
                     max ? "top" : arena_printf("acc / (float)%d", PK * PK));
                e->indent--;
                emit(e, "}");
            }
            e->indent--;
            emit(e, "}");
        }
    }
    emit(e, "#endif");
}

/* The tiles along one row of `count` items (output positions, or pool
 * windows): `cols` at a time, then one tile for the rest. `xb` is the
 * input under the item `var` (a C expression of var). */
static void emit_conv_fwd_row(Emitter *e, const ConvDims *d, Tile t, int count, const char *var, const char *xb) {
    int per = t.cols, whole = count / per * per;
    for (int part = 0; part < 2; part++) {
        t.cols = part ? count - whole : per;
        if (t.cols == 0 || (part == 0 && whole == 0))
            continue;
        if (part == 0)
            emit(e, "for (int %s = 0; %s < %d; %s += %d) {", var, var, whole, var, per);
        else
            emit(e, "{ /* the last %d */", t.cols);
        e->indent++;
        if (part)
            emit(e, "const int %s = %d;", var, whole);
        emit(e, "const float *xb = %s;", xb);
        if (!t.pool)
            emit(e, "float *yr = ys + oy * %d + ox;", d->OW);
        emit_conv_fwd_tile(e, d, &t);
        e->indent--;
        emit(e, "}");
    }
}

/* conv2d forward, and with a pool (--inference's fused step) conv2d →
 * activation → pool: per sample, tiles of output positions along a row —
 * with a pool, of whole pool windows along a pool row, activated and pooled
 * straight from the registers, so no conv output is stored. */
void emit_conv_fwd_lanes(Emitter *e, const Value *conv, const Value *pool, const Value *act) {
    ConvDims d = conv_dims(conv);
    int vb = lane_block(d.F8, 2);
    Tile t = {pool, act, 1, 1, vb};
    int PK = pool ? (int)pool->attr[0] : 1, most = TILE_ACCS / (vb * PK * PK);
    t.rows = PK;
    t.cols = tile_cols(pool ? pool->shape.dim[2] : d.OW, most < 1 ? 1 : most);
    emit(e, "/* filters in the vector lanes: tiles of %d %s x %d filters */", t.cols,
         pool ? arena_printf("pool windows (%dx%d positions each)", PK, PK) : "output positions", vb * 8);
    emit_conv_wt(e, &d, conv->in[2] != NULL);
    emit_conv_pad_clear(e, &d);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(pool ? pool : conv));
    e->indent++;
    emit_conv_pad_copy(e, &d, arena_printf("in0 + s * %d", d.C * d.H * d.W));
    if (!pool)
        emit(e, "float *ys = out + s * %d;", d.F * d.NP);
    emit(e, "for (int f0 = 0; f0 < %d; f0 += %d)", d.F8, vb * 8);
    if (pool) {
        int PS = (int)pool->attr[1];
        emit(e, "for (int py = 0; py < %d; py++) {", pool->shape.dim[1]);
        e->indent++;
        emit_conv_fwd_row(e, &d, t, pool->shape.dim[2], "px",
                          arena_printf("xs + py * %d + px * %d", PS * d.S * d.Wp, PS * d.S));
    } else {
        emit(e, "for (int oy = 0; oy < %d; oy++) {", d.OH);
        e->indent++;
        emit_conv_fwd_row(e, &d, t, d.OW, "ox", arena_printf("xs + oy * %d + ox * %d", d.S * d.Wp, d.S));
    }
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* ---- conv2d with output columns in the vector lanes (--optimize=speed) -------------------
 * For a conv with few filters (LeNet-5's first layer: 6 of 8 lanes) the
 * lanes hold consecutive output columns instead: a tile is `rows` output
 * rows × V vectors of 8 columns × FB filters, each product an input vector
 * (x[oy + ky][ox + kx .. + 8)) times one weight broadcast. The sums are the
 * lane kernels' — bias, then the taps c, ky, kx in order — so both paths
 * give the same values. With a 2×2 pool (stride 2) the two rows of a tile
 * are one pool row's windows: activated and pooled from the registers. */

typedef struct {
    int V, FB, XW; /* vectors a row (8·V ≥ OW), filters a tile, the padded input's row stride */
} ColTile;

static ColTile col_tile(const ConvDims *d) {
    ColTile t = {(d->OW + 7) / 8, 1, 0};
    t.XW = d->Wp > 8 * t.V + d->K - 1 ? d->Wp : 8 * t.V + d->K - 1; /* a tile's loads stay in the row */
    for (int fb = 4; fb > 1; fb /= 2)
        if (d->F % fb == 0 && fb * 2 * t.V <= TILE_ACCS) {
            t.FB = fb;
            break;
        }
    return t;
}

/* Whether a conv (with its fused act and pool, if any) is better served with
 * columns in the lanes: stride 1, at most 32 columns, more lanes used than
 * with filters in them, and for a fused step a 2×2 stride-2 pool after relu
 * or nothing. */
bool conv_cols_fit(const Emitter *e, const ConvDims *d, const Value *pool, const Value *act) {
    ColTile t = col_tile(d);
    if (e->generic || d->S != 1 || d->OW > 32 || (long)d->C * d->Hp * t.XW > 65536)
        return false;
    if (pool && (pool->attr[0] != 2 || pool->attr[1] != 2 || (pool->op == OP_maxpool && pool->attr[2] != 0)))
        return false;
    if (act && act->op != OP_relu)
        return false;
    return (double)d->OW / (8 * t.V) > (double)d->F / d->F8;
}

/* The tile at output rows oy .. oy + rows of filters f .. f + FB: in the
 * vector form, a{fb}_{r}_{v}; in the plain C form, a[fb][r][column]. */
static void emit_conv_cols_tile(Emitter *e, const ConvDims *d, const ColTile *t, int rows, bool bias,
                                const Value *pool, const Value *act) {
    int V = t->V, FB = t->FB, W8 = 8 * V, PW = pool ? pool->shape.dim[2] : 0, PH = pool ? pool->shape.dim[1] : 0;
    bool max = pool && pool->op == OP_maxpool;
    for (int vector = 1; vector >= 0; vector--) {
        emit(e, vector ? "#ifdef DNN_V8" : "#else");
        if (vector) {
            for (int fb = 0; fb < FB; fb++)
                for (int r = 0; r < rows; r++)
                    for (int v = 0; v < V; v++)
                        emit(e, "dnn_v8 a%d_%d_%d = dnn_v8_splat(%s);", fb, r, v, bias ? arena_printf("in2[f + %d]", fb) : "0.0f");
        } else {
            emit(e, "const float *xb = row;");
            emit(e, "float a[%d][%d][%d];", FB, rows, W8);
            emit(e, "for (int fb = 0; fb < %d; fb++)", FB);
            emit(e, "    for (int r = 0; r < %d; r++)", rows);
            emit(e, "        for (int l = 0; l < %d; l++) a[fb][r][l] = %s;", W8, bias ? "in2[f + fb]" : "0.0f");
        }
        emit(e, "for (int c = 0; c < %d; c++) {", d->C);
        e->indent++;
        emit(e, "const float *w = in1 + (f * %d + c) * %d;", d->C, d->K * d->K);
        if (vector) /* input row iy is kernel row iy of the tile's row 0 and iy - 1 of its row 1 */
            for (int iy = 0; iy < d->K + rows - 1; iy++) {
                emit(e, "for (int kx = 0; kx < %d; kx++) { /* input row %d */", d->K, iy);
                e->indent++;
                emit(e, "const float *x = row + (c * %d + %d) * %d + kx;", d->Hp, iy, t->XW);
                for (int v = 0; v < V; v++)
                    emit(e, "const dnn_v8 x%d = dnn_v8_load(x + %d);", v, 8 * v);
                for (int r = 0; r < rows; r++) {
                    if (iy - r < 0 || iy - r >= d->K)
                        continue;
                    for (int fb = 0; fb < FB; fb++) {
                        emit(e, "const dnn_v8 w%d_%d = dnn_v8_splat(w[%d + kx]);", fb, r, fb * d->taps + (iy - r) * d->K);
                        for (int v = 0; v < V; v++)
                            emit(e, "a%d_%d_%d = dnn_v8_fma(x%d, w%d_%d, a%d_%d_%d);", fb, r, v, v, fb, r, fb, r, v);
                    }
                }
                e->indent--;
                emit(e, "}");
            }
        else {
            emit(e, "for (int ky = 0; ky < %d; ky++)", d->K);
            emit(e, "for (int kx = 0; kx < %d; kx++)", d->K);
            emit(e, "for (int fb = 0; fb < %d; fb++)", FB);
            emit(e, "for (int r = 0; r < %d; r++)", rows);
            emit(e, "for (int l = 0; l < %d; l++)", W8);
            emit(e, "    a[fb][r][l] += xb[(c * %d + r + ky) * %d + kx + l] * w[fb * %d + ky * %d + kx];", d->Hp, t->XW, d->taps, d->K);
        }
        e->indent--;
        emit(e, "}");
        for (int fb = 0; fb < FB; fb++) {
            if (!pool) { /* the conv rows, cut to OW columns */
                for (int r = 0; r < rows; r++) {
                    const char *yr = arena_printf("out + ((s * %d + f + %d) * %d + oy + %d) * %d", d->F, fb, d->OH, r, d->OW);
                    if (!vector) {
                        emit(e, "memcpy(%s, a[%d][%d], sizeof(float) * %d);", yr, fb, r, d->OW);
                        continue;
                    }
                    emit(e, "{");
                    e->indent++;
                    emit(e, "float *y = %s;", yr);
                    for (int v = 0; v < V; v++)
                        if (8 * v + 8 <= d->OW)
                            emit(e, "dnn_v8_store(y + %d, a%d_%d_%d);", 8 * v, fb, r, v);
                        else
                            emit(e, "for (int l = 0; l < %d; l++) y[%d + l] = a%d_%d_%d[l];", d->OW - 8 * v, 8 * v, fb, r, v);
                    e->indent--;
                    emit(e, "}");
                }
                continue;
            }
            const char *yp = arena_printf("out + ((s * %d + f + %d) * %d + py) * %d", d->F, fb, PH, PW);
            if (!vector) { /* window px: a[fb][wy][2px + wx], in emit_pool_take's order */
                emit(e, "for (int px = 0; px < %d; px++) {", PW);
                e->indent++;
                emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
                if (max)
                    emit(e, "int first = 1;");
                emit(e, "for (int wy = 0; wy < 2; wy++)");
                emit(e, "for (int wx = 0; wx < 2; wx++) {");
                e->indent++;
                emit(e, "float y = a[%d][wy][2 * px + wx];", fb);
                if (act)
                    emit_act_inplace(e, act, "y");
                emit_pool_take(e, max);
                e->indent--;
                emit(e, "}");
                emit(e, "(%s)[px] = %s;", yp, max ? "top" : "acc / (float)4");
                e->indent--;
                emit(e, "}");
                continue;
            }
            emit(e, "{ /* filter f + %d: vector v of the pool row holds window 4v + k in lane 2k */", fb);
            e->indent++;
            for (int v = 0; v < V && 4 * v < PW; v++) {
                emit(e, "dnn_v8 p%d;", v);
                emit(e, "{");
                e->indent++;
                for (int r = 0; r < 2; r++) {
                    const char *a = arena_printf("a%d_%d_%d", fb, r, v);
                    emit(e, act ? "const dnn_v8 r%d = dnn_v8_max((dnn_v8){0}, %s); /* relu */" : "const dnn_v8 r%d = %s;", r, a);
                    emit(e, "const dnn_v8 y%d = (dnn_v8)dnn_v8i_evens((dnn_v8i)r%d), y%d = (dnn_v8)dnn_v8i_odds((dnn_v8i)r%d);",
                         2 * r, r, 2 * r + 1, r);
                }
                if (max) { /* the first maximum, NaN wins: as emit_pool_take */
                    emit(e, "p%d = y0;", v);
                    for (int k = 1; k < 4; k++)
                        emit(e, "p%d = %s;", v, pool_take_v8(arena_printf("y%d", k), arena_printf("p%d", v)));
                } else
                    emit(e, "p%d = (((dnn_v8){0} + y0 + y1) + y2 + y3) / (float)4;", v);
                e->indent--;
                emit(e, "}");
            }
            emit(e, "float *y = %s;", yp);
            for (int v = 0; 4 * v < PW; v += 2) { /* two vectors' even lanes: 8 windows */
                const char *q = arena_printf("dnn_v8_evens2(p%d, p%d)", v, 4 * v + 4 < PW ? v + 1 : v);
                if (4 * v + 8 <= PW)
                    emit(e, "dnn_v8_store(y + %d, %s);", 4 * v, q);
                else {
                    emit(e, "const dnn_v8 q%d = %s;", v, q);
                    emit(e, "for (int l = 0; l < %d; l++) y[%d + l] = q%d[l];", PW - 4 * v, 4 * v, v);
                }
            }
            e->indent--;
            emit(e, "}");
        }
    }
    emit(e, "#endif");
}

/* conv2d forward, or with a pool conv2d → relu → pool (--inference's fused
 * step), with columns in the lanes: per sample a zero-padded copy whose
 * rows are long enough for the last vector's loads, then tiles of two
 * output rows (one pool row) × FB filters. */
void emit_conv_fwd_cols(Emitter *e, const Value *conv, const Value *pool, const Value *act) {
    ConvDims d = conv_dims(conv);
    ColTile t = col_tile(&d);
    bool bias = conv->in[2] != NULL;
    emit(e, "/* output columns in the vector lanes: tiles of 2 rows x %d columns x %d filters */", 8 * t.V, t.FB);
    emit(e, "float xp[%d] = {0}; /* the input, zero-padded by %d, rows %d long */", d.C * d.Hp * t.XW, d.P, t.XW);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(pool ? pool : conv));
    e->indent++;
    emit(e, "for (int c = 0; c < %d; c++)", d.C);
    emit(e, "    for (int iy = 0; iy < %d; iy++)", d.H);
    emit(e, "        memcpy(xp + (c * %d + iy + %d) * %d + %d, in0 + ((s * %d + c) * %d + iy) * %d, sizeof(float) * %d);", d.Hp,
         d.P, t.XW, d.P, d.C, d.H, d.W, d.W);
    /* `row` is volatile, read anew by each of the vector path's input rows: gcc would otherwise
       hoist the tile's loads (the input's with the filters innermost, the weights' broadcasts with
       the rows innermost) out of the inner loop and spill them (LeNet-5's conv1: 3.8 us, not 2.8) */
    if (pool) {
        emit(e, "for (int py = 0; py < %d; py++)", pool->shape.dim[1]);
        emit(e, "for (int f = 0; f < %d; f += %d) {", d.F, t.FB);
        e->indent++;
        emit(e, "const float *volatile row = xp + py * %d;", 2 * t.XW);
        emit_conv_cols_tile(e, &d, &t, 2, bias, pool, act);
    } else {
        emit(e, "for (int oy = 0; oy < %d; oy += 2)", d.OH);
        emit(e, "for (int f = 0; f < %d; f += %d) {", d.F, t.FB);
        e->indent++;
        emit(e, "const float *volatile row = xp + oy * %d;", t.XW);
        if (d.OH % 2) {
            emit(e, "if (oy + 1 == %d) { /* the last row */", d.OH);
            e->indent++;
            emit_conv_cols_tile(e, &d, &t, 1, bias, NULL, NULL);
            emit(e, "continue;");
            e->indent--;
            emit(e, "}");
        }
        emit_conv_cols_tile(e, &d, &t, 2, bias, NULL, NULL);
    }
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* conv2d's weight gradient, filters in the lanes: dwt[tap][f] accumulates
 * x·dy over the samples, then the positions, in order; a tile is one
 * kernel row (K taps) × vb vectors of filters, over one sample's positions.
 * With fewer than 8 accumulators (LeNet-5's first layer: 5 taps × 1 vector)
 * the vector path keeps a second set for every other position, so that 10
 * FMA chains hide the latency, and adds the two sets at the end of the
 * tile: a fixed order, no longer the plain C path's. */
void emit_conv_dw_lanes(Emitter *e, const Value *conv) {
    ConvDims d = conv_dims(conv);
    int vb = lane_block(d.F8, TILE_ACCS / d.K < 3 ? TILE_ACCS / d.K : 3), K = d.K;
    emit(e, "/* filters in the vector lanes: dwt[tap][filter] sums x * dy over samples and positions in order;");
    emit(e, "   a tile is a kernel row (%d taps) x %d filters */", K, vb * 8);
    emit(e, "float dwt[%d][%d], gt[%d][%d]; /* gt: one sample's dy as [position][filter] */", d.taps, d.F8, d.NP, d.F8);
    emit(e, "memset(dwt, 0, sizeof dwt);");
    emit(e, "memset(gt, 0, sizeof gt);");
    emit_conv_pad_clear(e, &d);
    emit(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit_conv_pad_copy(e, &d, arena_printf("in0 + s * %d", d.C * d.H * d.W));
    emit(e, "for (int f = 0; f < %d; f++)", d.F);
    emit(e, "    for (int p = 0; p < %d; p++) gt[p][f] = dy[(s * %d + f) * %d + p];", d.NP, d.F, d.NP);
    emit(e, "for (int f0 = 0; f0 < %d; f0 += %d)", d.F8, vb * 8);
    emit(e, "for (int c = 0; c < %d; c++)", d.C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit(e, "float *d = dwt[(c * %d + ky) * %d] + f0;", K, K);
    bool two_sets = K * vb < 8 && tile_cols(d.OW, 4) > 1;
    for (int vector = 1; vector >= 0; vector--) {
        emit(e, vector ? "#ifdef DNN_V8" : "#else");
        if (vector) {
            for (int j = 0; j < K; j++)
                for (int v = 0; v < vb; v++) {
                    emit(e, "dnn_v8 a%d_%d = dnn_v8_load(d + %d);", j, v, j * d.F8 + v * 8);
                    if (two_sets)
                        emit(e, "dnn_v8 b%d_%d = {0};", j, v);
                }
        } else {
            emit(e, "float a[%d][%d];", K, vb * 8);
            emit(e, "for (int j = 0; j < %d; j++)", K);
            emit(e, "    for (int l = 0; l < %d; l++) a[j][l] = d[j * %d + l];", vb * 8, d.F8);
        }
        emit(e, "for (int oy = 0; oy < %d; oy++) {", d.OH);
        e->indent++;
        emit(e, "const float *xr = xs + (c * %d + oy * %d + ky) * %d, *g = gt[oy * %d] + f0;", d.Hp, d.S, d.Wp, d.OW);
        int U = tile_cols(d.OW, 4), whole = vector ? d.OW / U * U : 0;
        const char *xq = arena_printf("const float *xq = xr + ox%s;", d.S == 1 ? "" : arena_printf(" * %d", d.S));
        if (whole) { /* U positions at a time: each input value broadcast once serves U·K products */
            emit(e, "for (int ox = 0; ox < %d; ox += %d, g += %d) {", whole, U, U * d.F8);
            e->indent++;
            emit(e, "%s", xq);
            for (int i = 0; i < (U - 1) * d.S + K; i++)
                emit(e, "const dnn_v8 x%d = dnn_v8_splat(xq[%d]);", i, i);
            for (int u = 0; u < U; u++)
                for (int v = 0; v < vb; v++)
                    emit(e, "const dnn_v8 g%d_%d = dnn_v8_load(g + %d);", u, v, u * d.F8 + v * 8);
            for (int u = 0; u < U; u++)
                for (int j = 0; j < K; j++)
                    for (int v = 0; v < vb; v++)
                        emit(e, "%c%d_%d = dnn_v8_fma(x%d, g%d_%d, %c%d_%d);", two_sets && u % 2 ? 'b' : 'a', j, v,
                             u * d.S + j, u, v, two_sets && u % 2 ? 'b' : 'a', j, v);
            e->indent--;
            emit(e, "}");
        }
        if (whole < d.OW) { /* one position at a time */
            emit(e, "for (int ox = %d; ox < %d; ox++, g += %d) {", whole, d.OW, d.F8);
            e->indent++;
            emit(e, "%s", xq);
            if (vector) {
                for (int v = 0; v < vb; v++)
                    emit(e, "const dnn_v8 g%d = dnn_v8_load(g + %d);", v, v * 8);
                for (int j = 0; j < K; j++)
                    for (int v = 0; v < vb; v++)
                        emit(e, "a%d_%d += xq[%d] * g%d;", j, v, j, v);
            } else {
                emit(e, "for (int j = 0; j < %d; j++)", K);
                emit(e, "    for (int l = 0; l < %d; l++) a[j][l] += xq[j] * g[l];", vb * 8);
            }
            e->indent--;
            emit(e, "}");
        }
        e->indent--;
        emit(e, "}");
        if (vector) {
            for (int j = 0; j < K; j++)
                for (int v = 0; v < vb; v++)
                    emit(e, two_sets ? "dnn_v8_store(d + %d, a%d_%d + b%d_%d);" : "dnn_v8_store(d + %d, a%d_%d);",
                         j * d.F8 + v * 8, j, v, j, v);
        } else {
            emit(e, "for (int j = 0; j < %d; j++)", K);
            emit(e, "    for (int l = 0; l < %d; l++) d[j * %d + l] = a[j][l];", vb * 8, d.F8);
        }
    }
    emit(e, "#endif");
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    emit(e, "for (int f = 0; f < %d; f++)", d.F);
    emit(e, "    for (int t = 0; t < %d; t++) dx[f * %d + t] = dwt[t][f];", d.taps, d.taps);
}

/* conv2d's input gradient, input channels in the lanes: per sample,
 * dxt[padded position][c] gathers Σ_f w·dy tile by tile — tq output
 * positions of a row × one kernel row (K taps) × vb vectors of channels,
 * summed over the filters in order, then added to dxt in a fixed order. */
void emit_conv_dx_lanes(Emitter *e, const Value *conv) {
    ConvDims d = conv_dims(conv);
    int K = d.K, vb = lane_block(d.C8, TILE_ACCS / K < 3 ? TILE_ACCS / K : 3);
    int tq = TILE_ACCS / (K * vb);
    if (tq < 1)
        tq = 1;
    if (tq > d.OW)
        tq = d.OW;
    emit(e, "/* input channels in the vector lanes: dxt[padded position][channel] gathers w * dy;");
    emit(e, "   a tile is %d output position%s x a kernel row (%d taps) x %d channels, summed over the filters */", tq,
         tq > 1 ? "s" : "", K, vb * 8);
    emit(e, "float w2[%d][%d], dxt[%d][%d]; /* w2: the weights as [filter, ky, kx][channel] */", d.F * K * K, d.C8,
         d.Hp * d.Wp, d.C8);
    emit(e, "for (int f = 0; f < %d; f++)", d.F);
    emit(e, "    for (int c = 0; c < %d; c++)", d.C8);
    emit(e, "        for (int k = 0; k < %d; k++) w2[f * %d + k][c] = c < %d ? in1[(f * %d + c) * %d + k] : 0.0f;", K * K,
         K * K, d.C, d.C, K * K);
    emit(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    emit(e, "const float *gs = dy + s * %d;", d.F * d.NP);
    emit(e, "memset(dxt, 0, sizeof dxt);");
    emit(e, "for (int oy = 0; oy < %d; oy++) {", d.OH);
    e->indent++;
    int whole = d.OW / tq * tq;
    for (int part = 0; part < 2; part++) {
        int nq = part ? d.OW - whole : tq;
        if (nq == 0 || (part == 0 && whole == 0))
            continue;
        if (part == 0)
            emit(e, "for (int ox = 0; ox < %d; ox += %d)", whole, tq);
        else {
            emit(e, "{ /* the last %d */", nq);
            e->indent++;
            emit(e, "const int ox = %d;", whole);
        }
        emit(e, "for (int c0 = 0; c0 < %d; c0 += %d)", d.C8, vb * 8);
        emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
        e->indent++;
        emit(e, "float *t = dxt[(oy * %d + ky) * %d + ox * %d] + c0;", d.S, d.Wp, d.S);
        emit(e, "const float *g = gs + oy * %d + ox;", d.OW);
        int rows = nq * K;
        for (int vector = 1; vector >= 0; vector--) {
            emit(e, vector ? "#ifdef DNN_V8" : "#else");
            if (vector) {
                for (int j = 0; j < rows; j++)
                    for (int v = 0; v < vb; v++)
                        emit(e, "dnn_v8 a%d_%d = {0};", j, v);
            } else
                emit(e, "float a[%d][%d] = {{0}};", rows, vb * 8);
            emit(e, "for (int f = 0; f < %d; f++) {", d.F);
            e->indent++;
            emit(e, "const float *w = w2[(f * %d + ky) * %d] + c0;", K, K);
            if (vector) {
                for (int k = 0; k < K; k++)
                    for (int v = 0; v < vb; v++)
                        emit(e, "const dnn_v8 w%d_%d = dnn_v8_load(w + %d);", k, v, k * d.C8 + v * 8);
                for (int q = 0; q < nq; q++) {
                    emit(e, "{");
                    emit(e, "    const dnn_v8 gq = dnn_v8_splat(g[f * %d + %d]);", d.NP, q);
                    for (int k = 0; k < K; k++)
                        for (int v = 0; v < vb; v++)
                            emit(e, "    a%d_%d = dnn_v8_fma(gq, w%d_%d, a%d_%d);", q * K + k, v, k, v, q * K + k, v);
                    emit(e, "}");
                }
            } else {
                emit(e, "for (int q = 0; q < %d; q++)", nq);
                emit(e, "    for (int k = 0; k < %d; k++)", K);
                emit(e, "        for (int l = 0; l < %d; l++) a[q * %d + k][l] += g[f * %d + q] * w[k * %d + l];", vb * 8,
                     K, d.NP, d.C8);
            }
            e->indent--;
            emit(e, "}");
            if (vector) {
                for (int q = 0; q < nq; q++)
                    for (int k = 0; k < K; k++)
                        for (int v = 0; v < vb; v++) {
                            const char *at = arena_printf("t + %d", (q * d.S + k) * d.C8 + v * 8);
                            emit(e, "dnn_v8_store(%s, dnn_v8_load(%s) + a%d_%d);", at, at, q * K + k, v);
                        }
            } else {
                emit(e, "for (int q = 0; q < %d; q++)", nq);
                emit(e, "    for (int k = 0; k < %d; k++)", K);
                emit(e, "        for (int l = 0; l < %d; l++) t[(q * %d + k) * %d + l] += a[q * %d + k][l];", vb * 8, d.S,
                     d.C8, K);
            }
        }
        emit(e, "#endif");
        e->indent--;
        emit(e, "}");
        if (part) {
            e->indent--;
            emit(e, "}");
        }
    }
    e->indent--;
    emit(e, "}");
    emit(e, "for (int c = 0; c < %d; c++)", d.C);
    emit(e, "    for (int iy = 0; iy < %d; iy++)", d.H);
    emit(e, "        for (int ix = 0; ix < %d; ix++)", d.W);
    emit(e, "            dx[((s * %d + c) * %d + iy) * %d + ix] = dxt[(iy + %d) * %d + ix + %d][c];", d.C, d.H, d.W, d.P,
         d.Wp, d.P);
    e->indent--;
    emit(e, "}");
}
