/* ops_dense.c — the rules of matmul, dense, maxout and group_max (ops.def).
 *
 * dense is nn.Linear: y = W x + b per sample. At speed (a batch of vectors,
 * sizes known) the forward pass is 8 partial sums per dot product added in
 * a fixed order, and both gradients are sums of outer products with one
 * output per vector lane; with --optimize=size the loops take the sizes as
 * parameters. maxout is a dense of units·pieces rows followed by group_max.
 */
#include "ops_rules.h"

#include <string.h>

/* ---- matrix product -------------------------------------------------------------------------- */

/* [m,k] @ [k,n] → [m,n]; a vector on the left is [1,k], on the right [k,1]. */
static void matmul_dims(const Value *v, int *m, int *k, int *n) {
    const Shape *a = &v->in[0]->shape, *b = &v->in[1]->shape;
    *m = a->rank == 2 ? a->dim[0] : 1;
    *k = a->dim[a->rank - 1];
    *n = b->rank == 2 ? b->dim[1] : 1;
}

bool shape_matmul(Graph *g, Value *v) {
    (void)g;
    const Value *a = v->in[0], *b = v->in[1];
    if (!float_operands(v))
        return false;
    if (a->shape.rank < 1 || a->shape.rank > 2 || b->shape.rank < 1 || b->shape.rank > 2) {
        error_at(v->loc, "'@' needs matrices or vectors, got %s and %s", describe(a), describe(b));
        note("'@' multiplies [m, k] @ [k, n] or [m, k] @ [k]");
        return false;
    }
    int ka = a->shape.dim[a->shape.rank - 1], kb = b->shape.dim[0];
    if (ka != kb) {
        error_at(v->loc, "'@' needs the inner dimensions to agree: %s @ %s (%d vs %d)", describe(a),
                 describe(b), ka, kb);
        const char *an = a->name ? a->name : "...", *bn = b->name ? b->name : "...";
        if (a->shape.rank == 2 && a->shape.dim[0] == kb)
            note("did you mean to transpose the left operand: transpose(%s) @ %s?", an, bn);
        else if (b->shape.rank == 2 && b->shape.dim[1] == ka)
            note("did you mean to transpose the right operand: %s @ transpose(%s)?", an, bn);
        return false;
    }
    v->shape.rank = 0;
    if (a->shape.rank == 2)
        v->shape.dim[v->shape.rank++] = a->shape.dim[0];
    if (b->shape.rank == 2)
        v->shape.dim[v->shape.rank++] = b->shape.dim[1];
    v->batched = a->batched || b->batched;
    return true;
}

/* Pointer to sample s of operand k, or the operand itself when unbatched. */
static void emit_sample_ptr(Emitter *e, const char *name, const char *buf, const Value *x, const char *qual) {
    if (x->batched)
        emit(e, "%sfloat *%s = %s + s * %d;", qual, name, buf, size_of(x));
    else
        emit(e, "%sfloat *%s = %s;", qual, name, buf);
}

/* C = A B, row by row so the inner loop runs along B's rows. */
void emit_matmul_forward(Emitter *e, const Value *v) {
    int m, k, n;
    matmul_dims(v, &m, &k, &n);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    emit_sample_ptr(e, "A", "in0", v->in[0], "const ");
    emit_sample_ptr(e, "B", "in1", v->in[1], "const ");
    emit(e, "float *C = out + s * %d;", m * n);
    emit(e, "for (int i = 0; i < %d; i++) {", m);
    emit(e, "    for (int j = 0; j < %d; j++) C[i * %d + j] = 0.0f;", n, n);
    emit(e, "    for (int p = 0; p < %d; p++) {", k);
    emit(e, "        const float a = A[i * %d + p];", k);
    emit(e, "        for (int j = 0; j < %d; j++) C[i * %d + j] += a * B[p * %d + j];", n, n, n);
    emit(e, "    }");
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* dA = dC Bᵀ (arg 0), dB = Aᵀ dC (arg 1); summed over the batch for an unbatched operand. */
void emit_matmul_backward(Emitter *e, const Value *v, int arg) {
    int m, k, n;
    matmul_dims(v, &m, &k, &n);
    const Value *result = v->in[arg];
    bool accumulate = !result->batched && v->batched;
    if (accumulate)
        emit(e, "memset(dx, 0, sizeof(float) * %d);", size_of(result));
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    emit_sample_ptr(e, arg == 0 ? "B" : "A", arg == 0 ? "in1" : "in0", v->in[1 - arg], "const "); /* dA needs only B, dB only A */
    emit(e, "const float *dC = dy + s * %d;", m * n);
    emit_sample_ptr(e, "dR", "dx", result, "");
    if (arg == 0) {
        emit(e, "for (int i = 0; i < %d; i++)", m);
        emit(e, "    for (int p = 0; p < %d; p++) {", k);
        emit(e, "        float acc = 0.0f;");
        emit(e, "        for (int j = 0; j < %d; j++) acc += dC[i * %d + j] * B[p * %d + j];", n, n, n);
        emit(e, "        dR[i * %d + p] %s acc;", k, accumulate ? "+=" : "=");
        emit(e, "    }");
    } else {
        if (!accumulate)
            emit(e, "for (int j = 0; j < %d; j++) dR[j] = 0.0f;", k * n);
        emit(e, "for (int i = 0; i < %d; i++)", m);
        emit(e, "    for (int p = 0; p < %d; p++) {", k);
        emit(e, "        const float a = A[i * %d + p];", k);
        emit(e, "        for (int j = 0; j < %d; j++) dR[p * %d + j] += a * dC[i * %d + j];", n, n, n);
        emit(e, "    }");
    }
    e->indent--;
    emit(e, "}");
}

/* ---- dense and maxout (nn.Linear; maxout is a dense of units·pieces rows) -------------------- */

bool shape_dense(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v))
        return false;
    if (!need_rank(v, x, 1, x->shape.rank > 1 ? arena_printf("insert '|> flatten' before %s()", op_info[v->op].name) : NULL))
        return false;
    if (!attr_at_least(v, 0, "units", 1) || (v->op == OP_maxout && !attr_at_least(v, 1, "pieces", 1)))
        return false;
    int units = (int)v->attr[0], in = x->shape.dim[0];
    long rows = v->op == OP_maxout ? mul_capped(units, (long)v->attr[1]) : units;
    if (mul_capped(rows, in) > MAX_ELEMENTS) {
        error_at(v->attr_loc[0], "%s(): a weight of [%ld, %d] is too large", op_info[v->op].name, rows, in);
        return false;
    }
    set_param_shape(v->in[1], (Shape){2, {(int)rows, in}}, in, (int)rows);
    set_param_shape(v->in[2], (Shape){1, {(int)rows}}, in, (int)rows);
    v->shape = (Shape){1, {(int)rows}}; /* maxout: group_max takes it to [units] */
    v->batched = x->batched;
    return true;
}

/* y[s][j] = b[j] + Σ_i W[j][i] x[s][i]   (nn.Linear) */
/* How a dense block is computed: plain arrays, 8-float vectors, or 16-float
 * vectors that hold two samples' 8-float accumulators side by side
 * (DNN_V8X2, AVX-512: 32 registers keep 4 samples × 8 rows and their
 * operands out of memory). All three add the same products in the same
 * order, 8 partial sums per dot product. */
typedef enum { DENSE_ARRAYS, DENSE_V8, DENSE_V8X2 } DenseForm;

/* One output block of the vector kernel: `rows` weight rows against
 * `samples` samples, an 8-float accumulator each, over the first in8
 * inputs; then each sum's lanes in a fixed order (eight sums at a time
 * with dnn_v8_sum8), the tail, the bias. */
static void emit_dense_block(Emitter *e, int samples, int rows, int in, int units, bool bias, DenseForm form) {
    int in8 = in / 8 * 8, nacc = samples * rows;
    bool vector = form != DENSE_ARRAYS;
    if (form == DENSE_V8X2) { /* accumulator p·r holds samples 2p and 2p+1 */
        for (int p = 0; p < samples / 2; p++)
            for (int r = 0; r < rows; r++)
                emit(e, "dnn_v8x2 a%d%d = {0};", p, r);
        emit(e, "for (int i = 0; i < %d; i += 8) {", in8);
        for (int p = 0; p < samples / 2; p++)
            emit(e, "    const dnn_v8x2 x%d = dnn_v8x2_pair(x + %d + i, x + %d + i);", p, 2 * p * in, (2 * p + 1) * in);
        for (int r = 0; r < rows; r++)
            emit(e, "    const dnn_v8x2 w%d = dnn_v8x2_twice(w + %d + i);", r, r * in);
        for (int p = 0; p < samples / 2; p++)
            for (int r = 0; r < rows; r++)
                emit(e, "    a%d%d = dnn_v8x2_fma(w%d, x%d, a%d%d);", p, r, r, p, p, r);
        emit(e, "}");
    } else if (vector) {
        for (int a = 0; a < samples; a++)
            for (int r = 0; r < rows; r++)
                emit(e, "dnn_v8 a%d%d = {0};", a, r);
        emit(e, "for (int i = 0; i < %d; i += 8) {", in8);
        for (int a = 0; a < samples; a++)
            emit(e, "    const dnn_v8 x%d = dnn_v8_load(x + %d + i);", a, a * in);
        for (int r = 0; r < rows; r++)
            emit(e, "    const dnn_v8 w%d = dnn_v8_load(w + %d + i);", r, r * in);
        for (int a = 0; a < samples; a++)
            for (int r = 0; r < rows; r++)
                emit(e, "    a%d%d = dnn_v8_fma(w%d, x%d, a%d%d);", a, r, r, a, a, r);
        emit(e, "}");
    } else {
        emit(e, "float a[%d][%d][8] = {{{0}}};", samples, rows);
        emit(e, "for (int i = 0; i < %d; i += 8)", in8);
        emit(e, "    for (int p = 0; p < %d; p++)", samples);
        emit(e, "        for (int r = 0; r < %d; r++)", rows);
        emit(e, "            for (int k = 0; k < 8; k++) a[p][r][k] += w[r * %d + i + k] * x[p * %d + i + k];", in, in);
    }
    /* the accumulator of sample a, row r, as a dnn_v8 */
#define DENSE_ACC(a, r)                                                                                                \
    (form == DENSE_V8X2 ? arena_printf("dnn_v8x2_%s(a%d%d)", (a) % 2 ? "hi" : "lo", (a) / 2, r)                      \
                        : arena_printf("a%d%d", a, r))
    if (vector && nacc >= 4) { /* the sums eight at a time (the last group padded with repeats) */
        emit(e, "float sum[%d];", (nacc + 7) / 8 * 8);
        for (int q = 0; q < nacc; q += 8) {
            const char *list = "";
            for (int k = q; k < q + 8; k++) {
                int at = k < nacc ? k : nacc - 1;
                list = arena_printf("%s%s%s", list, k > q ? ", " : "", DENSE_ACC(at / rows, at % rows));
            }
            emit(e, "dnn_v8_store(sum + %d, dnn_v8_sum8(%s));", q, list);
        }
    }
    for (int a = 0; a < samples; a++)
        for (int r = 0; r < rows; r++) {
            const char *sum = !vector ? arena_printf("((a[%d][%d][0] + a[%d][%d][1]) + (a[%d][%d][2] + a[%d][%d][3])) + "
                                                     "((a[%d][%d][4] + a[%d][%d][5]) + (a[%d][%d][6] + a[%d][%d][7]))",
                                                     a, r, a, r, a, r, a, r, a, r, a, r, a, r, a, r)
                                  : nacc >= 4 ? arena_printf("sum[%d]", a * rows + r)
                                              : arena_printf("dnn_v8_sum(%s)", DENSE_ACC(a, r));
            if (in8 == in)
                emit(e, "y[%d + j + %d] = %s%s;", a * units, r, bias ? arena_printf("in2[j + %d] + ", r) : "", sum);
            else {
                emit(e, "{");
                emit(e, "    float t = %s;", sum);
                emit(e, "    for (int i = %d; i < %d; i++) t += w[%d + i] * x[%d + i];", in8, in, r * in, a * in);
                emit(e, "    y[%d + j + %d] = %st;", a * units, r, bias ? arena_printf("in2[j + %d] + ", r) : "");
                emit(e, "}");
            }
        }
#undef DENSE_ACC
}

/* The loops over the weight rows: blocks of `rows`, then the rest as one block. */
static void emit_dense_rows(Emitter *e, int samples, int rows, int in, int units, bool bias, DenseForm form) {
    int whole = units / rows * rows;
    for (int part = 0; part < 2; part++) {
        int from = part ? whole : 0, to = part ? units : whole, step = part ? units - whole : rows;
        if (from == to)
            continue;
        emit(e, "for (int j = %d; j < %d; j += %d) {", from, to, step);
        emit(e, "    const float *w = in1 + j * %d;", in);
        e->indent++;
        emit_dense_block(e, samples, step, in, units, bias, form);
        e->indent--;
        emit(e, "}");
    }
}

/* One loop over the samples, `samples` at a time while that many are left. */
static void emit_dense_samples(Emitter *e, const Value *v, int samples, int rows, DenseForm form) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    if (samples > 1)
        emit(e, "for (; s + %d <= %s; s += %d) {", samples, samples_of(v), samples);
    else
        emit(e, "for (; s < %s; s++) {", samples_of(v));
    e->indent++;
    emit(e, "const float *x = in0 + s * %d;", in);
    emit(e, "float *y = out + s * %d;", units);
    emit_dense_rows(e, samples, rows, in, units, v->in[2] != NULL, form);
    e->indent--;
    emit(e, "}");
}

/* y = W x + b at speed: with AVX-512, blocks of 4 samples × 8 weight rows;
 * then blocks of 2 samples × 6 rows and one sample × 8 rows for the rest.
 * 8 partial sums per dot product added in a fixed order, so the C compiler
 * vectorises without -ffast-math — with AVX vectors (DNN_V8, DNN_V8X2:
 * runtime/dnn.h) or plain arrays computing the same sums. Each weight row
 * loaded is used for several samples. */
static void emit_dense_fast(Emitter *e, const Value *v) {
    emit(e, "int s = 0;");
    if (v->batched) {
        emit(e, "#ifdef DNN_V8X2");
        emit_dense_samples(e, v, 4, 8, DENSE_V8X2);
        emit(e, "#endif");
    }
    for (int vector = 1; vector >= 0; vector--) {
        emit(e, vector ? "#ifdef DNN_V8" : "#else");
        DenseForm form = vector ? DENSE_V8 : DENSE_ARRAYS;
        emit_dense_samples(e, v, 2, 6, form);
        emit_dense_samples(e, v, 1, 8, form);
    }
    emit(e, "#endif");
}

/* y = W x + b; the vector kernels above when the layer takes a batch of
 * vectors (and sizes are constants). */
void emit_dense_forward(Emitter *e, const Value *v) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    if (!e->generic && v->in[0]->shape.rank == 1 && v->in[0]->batched && v->batched) {
        emit_dense_fast(e, v);
        return;
    }
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    /* size_of(x) is the weight's row length */
    emit(e, "const float *x = in0%s;", v->in[0]->batched ? arena_printf(" + s * %s", dim(e, "inputs", in)) : "");
    const char *U = dim(e, "units", units), *I = dim(e, "inputs", in);
    emit(e, "float *y = out + s * %s;", U);
    emit(e, "for (int j = 0; j < %s; j++) {", U);
    emit(e, "    const float *w = in1 + j * %s;", I);
    emit(e, "    float acc = %s;", v->in[2] ? "in2[j]" : "0.0f");
    emit(e, "    for (int i = 0; i < %s; i++) acc += w[i] * x[i];", I);
    emit(e, "    y[j] = acc;");
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* A sum of outer products, the shape of both gradients of dense:
 *     C[r][c] = Σ_k A[r·ar + k·ak] · B[k·bk + c]    for r < R, c < cols, k < K
 * accumulated over k in order for every output, so each of the 8 lanes of
 * a vector is one output and no sum is reassociated. Blocks of 6 rows × 16
 * columns (12 accumulators hide the FMA latency; each B vector loaded
 * serves 6 rows), columns outermost so a slab of B stays in L1 across the
 * rows; the rows left as one block (or, when R is a run-time expression,
 * 1 row at a time); then 8 columns, and single columns. R and K may be
 * run-time expressions (the sample count n). */
typedef struct Outer {
    const char *R, *K;     /* rows and the length of each sum, as C expressions */
    int rows;              /* R when it is a compile-time count, else 0 */
    int cols;              /* columns (a compile-time count) */
    const char *A, *B, *C; /* the operands' base pointers */
    int ar, ak, bk, cr;    /* strides, in floats */
} Outer;

/* "x * k", or "x" when k is 1; " + k", or "" when k is 0 (tidier generated code). */
static const char *times(const char *x, int k) { return k == 1 ? x : arena_printf("%s * %d", x, k); }
static const char *plus(int k) { return k ? arena_printf(" + %d", k) : ""; }

/* One block: `rows` rows from r, `width` columns from c (a multiple of 8 or 1). */
static void emit_outer_block(Emitter *e, const Outer *o, int rows, int width, bool vector) {
    int nv = width / 8;
    if (vector && nv) {
        for (int q = 0; q < rows; q++)
            for (int u = 0; u < nv; u++)
                emit(e, "dnn_v8 c%d%d = {0};", q, u);
        emit(e, "for (int k = 0; k < %s; k++) {", o->K);
        emit(e, "    const float *a = %s + %s + %s, *b = %s + %s + c;", o->A, times("r", o->ar), times("k", o->ak), o->B,
             times("k", o->bk));
        for (int u = 0; u < nv; u++)
            emit(e, "    const dnn_v8 b%d = dnn_v8_load(b%s);", u, plus(8 * u));
        for (int q = 0; q < rows; q++) {
            emit(e, "    const dnn_v8 a%d = dnn_v8_splat(a[%d]);", q, q * o->ar);
            for (int u = 0; u < nv; u++)
                emit(e, "    c%d%d = dnn_v8_fma(a%d, b%d, c%d%d);", q, u, q, u, q, u);
        }
        emit(e, "}");
        for (int q = 0; q < rows; q++)
            for (int u = 0; u < nv; u++)
                emit(e, "dnn_v8_store(%s + %s + c%s, c%d%d);", o->C, times(q ? arena_printf("(r + %d)", q) : "r", o->cr),
                     plus(8 * u), q, u);
        return;
    }
    emit(e, "float acc[%d][%d] = {{0}};", rows, width);
    emit(e, "for (int k = 0; k < %s; k++) {", o->K);
    emit(e, "    const float *a = %s + %s + %s, *b = %s + %s + c;", o->A, times("r", o->ar), times("k", o->ak), o->B,
         times("k", o->bk));
    emit(e, "    for (int q = 0; q < %d; q++)", rows);
    emit(e, "        for (int u = 0; u < %d; u++) acc[q][u] += a[%s] * b[u];", width, times("q", o->ar));
    emit(e, "}");
    emit(e, "for (int q = 0; q < %d; q++)", rows);
    emit(e, "    for (int u = 0; u < %d; u++) %s[(r + q) * %d + c + u] = acc[q][u];", width, o->C, o->cr);
}

static void emit_outer(Emitter *e, const Outer *o) {
    int c16 = o->cols / 16 * 16, c8 = o->cols / 8 * 8;
    int rest = o->rows % 6; /* rows after the blocks of 6, when R is a constant */
    for (int vector = 1; vector >= 0; vector--) {
        emit(e, vector ? "#ifdef DNN_V8" : "#else");
        for (int part = 0; part < 3; part++) { /* 16 columns at a time, then 8, then 1 */
            int from = part == 0 ? 0 : part == 1 ? c16 : c8, to = part == 0 ? c16 : part == 1 ? c8 : o->cols;
            int width = part == 0 ? 16 : part == 1 ? 8 : 1;
            if (from == to)
                continue;
            emit(e, "for (int c = %d; c < %d; c += %d) {", from, to, width);
            e->indent++;
            emit(e, "int r = 0;");
            emit(e, "for (; r + 6 <= %s; r += 6) {", o->R);
            e->indent++;
            emit_outer_block(e, o, 6, width, vector);
            e->indent--;
            emit(e, "}");
            if (rest > 1) { /* one block, not rest FMA chains one at a time, each waiting on its latency */
                emit(e, "{ /* the last %d rows */", rest);
                e->indent++;
                emit_outer_block(e, o, rest, width, vector);
            } else {
                emit(e, "for (; r < %s; r++) {", o->R);
                e->indent++;
                emit_outer_block(e, o, 1, width, vector);
            }
            e->indent--;
            emit(e, "}");
            e->indent--;
            emit(e, "}");
        }
    }
    emit(e, "#endif");
}

/* The gradients of dense as sums of outer products: dx = dy W per sample
 * (rows: samples, sums over the units), dW = dyᵀ x (rows: units, sums over
 * the samples). */
static void emit_dense_grad_fast(Emitter *e, const Value *v, int arg) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    Outer dx = {"n", dim(e, "units", units), 0, in, "dy", "in1", "dx", units, 1, in, in};
    Outer dw = {dim(e, "units", units), "n", e->generic ? 0 : units, in, "dy", "in0", "dx", 1, units, in, in};
    emit_outer(e, arg == 0 ? &dx : &dw);
}

/* dx = Wᵀ dy (arg 0), dW = Σ dy xᵀ (arg 1), db = Σ dy (arg 2): the sums of
 * outer products above for a batch of vectors. */
void emit_dense_backward(Emitter *e, const Value *v, int arg) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    bool plain = !e->generic && v->in[0]->shape.rank == 1 && v->in[0]->batched && v->batched;
    if (arg < 2 && plain) {
        emit_dense_grad_fast(e, v, arg);
        return;
    }
    if (arg > 0) /* weight and bias gradients sum over the batch */
        emit(e, "memset(dx, 0, sizeof(float) * %d);", arg == 1 ? units * in : units);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    switch (arg) {
    case 0: /* dx = Wᵀ dy */
        emit(e, "const float *g = dy + s * %d;", units);
        emit(e, "float *d = dx + s * %d;", in);
        emit(e, "for (int i = 0; i < %d; i++) d[i] = 0.0f;", in);
        emit(e, "for (int j = 0; j < %d; j++) {", units);
        emit(e, "    const float *w = in1 + j * %d;", in);
        emit(e, "    for (int i = 0; i < %d; i++) d[i] += g[j] * w[i];", in);
        emit(e, "}");
        break;
    case 1: /* dW += dy xᵀ */
        emit_sample_ptr(e, "x", "in0", v->in[0], "const ");
        emit(e, "const float *g = dy + s * %d;", units);
        emit(e, "for (int j = 0; j < %d; j++)", units);
        emit(e, "    for (int i = 0; i < %d; i++) dx[j * %d + i] += g[j] * x[i];", in, in);
        break;
    default: /* db += dy */
        emit(e, "for (int j = 0; j < %d; j++) dx[j] += dy[s * %d + j];", units, units);
        break;
    }
    e->indent--;
    emit(e, "}");
}

/* ---- maxout's group maximum ------------------------------------------------------------------ */

bool shape_group_max(Graph *g, Value *v) {
    (void)g;
    v->shape = (Shape){1, {v->in[0]->shape.dim[0] / (int)v->attr[0]}};
    v->batched = v->in[0]->batched;
    return true;
}

/* Per sample and unit j, `best`: the first maximum of in[j·P … j·P+P−1]. */
static void open_groups(Emitter *e, const Value *v) {
    int P = (int)v->attr[0], units = v->shape.dim[0];
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int j = 0; j < %d; j++) {", units);
    emit(e, "        const float *z = in0 + (s * %d + j) * %d;", units, P);
    emit(e, "        int best = 0;");
    emit(e, "        for (int p = 1; p < %d; p++) best = z[p] > z[best] ? p : best;", P);
}

void emit_group_max_forward(Emitter *e, const Value *v) {
    open_groups(e, v);
    emit(e, "        out[s * %d + j] = z[best];", v->shape.dim[0]);
    emit(e, "    }");
}

/* The gradient goes to the first maximum. */
void emit_group_max_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int P = (int)v->attr[0], units = v->shape.dim[0];
    open_groups(e, v);
    emit(e, "        float *d = dx + (s * %d + j) * %d;", units, P);
    emit(e, "        for (int p = 0; p < %d; p++) d[p] = p == best ? dy[s * %d + j] : 0.0f;", P, units);
    emit(e, "    }");
}
