/* ops_dense.c — the rules of matmul, dense, maxout and group_max (ops.def).
 *
 * dense is nn.Linear: y = W x + b per sample, computed by the kernels of
 * runtime/dnn_kernels_dense.h called with constant sizes (with
 * --optimize=size, their plain loops with the sizes as parameters). maxout
 * is a dense of units·pieces rows followed by group_max.
 */
#include "ops_rules.h"

#include <string.h>

#include "dnn_kernels.h" /* the plain float kernels, for --quantize=int8's calibration */

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

static bool on_vectors(const Value *v) { /* a batch of vectors in, a batch out */
    return v->in[0]->shape.rank == 1 && v->in[0]->batched && v->batched;
}

/* y = W x + b: dnn_dense_forward (runtime/dnn_kernels_dense.h), called with
 * constant sizes so that the C compiler specialises it, when the layer
 * takes a batch of vectors; else, and with --optimize=size (the sizes as
 * parameters, so that layers of one shape share a step), the plain loops
 * of dnn_dense_forward_plain. */
static bool dense_fast(const Emitter *e, const Value *v) {
    return !e->generic && on_vectors(v);
}

/* A loop over the weight's rows on the program's threads (the forward, the
 * weight gradient), in DNN_ROW_PARTS parts: rows r0 .. r1 of the `units`
 * in each range, the rows the update gives the same thread, so each weight
 * row is read and written by one core only (dnn_kernels.h). */
static void emit_by_rows(Emitter *e, const Value *v, const char *what, const char *out, const char *const in[3],
                         int inputs, int units, const char *call) {
    emit_split(e, v, what, out, in, "DNN_ROW_PARTS",
               arena_printf("(long)n * %ld", ((long)inputs * units + DNN_ROW_PARTS - 1) / DNN_ROW_PARTS),
               arena_printf("const int r0 = dnn_part_row(lo, %d), r1 = dnn_part_row(hi, %d);\n    %s", units, units,
                            call));
}

void emit_dense_forward(Emitter *e, const Value *v) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    const char *bias = v->in[2] ? "in2" : "NULL";
    if (dense_fast(e, v) && split_worth(e, (long)in * units)) /* by rows: each output its own sum */
        emit_by_rows(e, v, "forward", "out", (const char *[]){"in0", "in1", v->in[2] ? "in2" : NULL}, in, units,
                     arena_printf("dnn_dense_forward_batch_rows(a->out, a->in[0], a->in[1], a->in[2], a->n, %d, %d, r0, "
                                  "r1 - r0);", in, units));
    else if (dense_fast(e, v))
        emit(e, "dnn_dense_forward(out, in0, in1, %s, %s, %d, %d);", bias, samples_of(v), in, units);
    else
        emit(e, "dnn_dense_forward_plain(out, in0, in1, %s, %s, %s, %s);", bias, samples_of(v), dim(e, "inputs", in),
             dim(e, "units", units));
}

/* dx = Wᵀ dy (arg 0), dW = Σ dy xᵀ (arg 1), db = Σ dy (arg 2): sums of
 * outer products with one output per vector lane (dnn_dense_backward_*). */
void emit_dense_backward(Emitter *e, const Value *v, int arg) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    const char *plain = dense_fast(e, v) ? "" : "_plain", *n = samples_of(v);
    if (arg == 2) /* the fast kernel is the plain loop */
        emit(e, "dnn_dense_backward_bias%s(dx, dy, %s, %s);", e->generic ? "_plain" : "", n, dim(e, "units", units));
    else if (arg == 0 && dense_fast(e, v))
        emit_by_sample(e, v, "dinp", "dnn_dense_backward_input", (const char *[]){"dx", "dy", "in1"},
                       (const long[]){in, units, 0}, 3, arena_printf("%d, %d", in, units), (long)in * units);
    else if (arg == 0)
        emit(e, "dnn_dense_backward_input%s(dx, dy, in1, %s, %s, %s);", plain, n, dim(e, "inputs", in),
             dim(e, "units", units));
    else if (dense_fast(e, v) && split_worth(e, (long)in * units)) /* by rows of the weight: each its own sums over the samples */
        emit_by_rows(e, v, "dweight", "dx", (const char *[]){"dy", "in0", NULL}, in, units,
                     arena_printf("dnn_dense_backward_weight_rows(a->out + r0 * %d, a->in[0], a->in[1], a->n, %d, %d, "
                                  "r0, r1 - r0);", in, in, units));
    else
        emit(e, "dnn_dense_backward_weight%s(dx, dy, in0, %s, %s, %s);", plain, n, dim(e, "inputs", in),
             dim(e, "units", units));
}

/* Training on the device: a dense weight gradient whose update is fused is
 * computed a block of rows at a time at its store, each block's update
 * applied at once (plan.c gives the block its slice; emit_update.c calls).
 * The rows of a block: the largest divisor of the units whose block is at
 * most 256 floats (one row when a row is longer); 0 when the plain loops
 * compute this layer's gradient (no row kernel there). */
int dense_weight_block_rows(const Value *dense) {
    if (dense->op != OP_dense || !on_vectors(dense))
        return 0;
    int units = dense->shape.dim[0], in = dense->in[0]->shape.dim[0], rows = 1;
    for (int r = 2; r <= units && (long)r * in <= 256; r++)
        if (units % r == 0)
            rows = r;
    return rows;
}

/* The call computing block `row` of that gradient (rows b->block_rows) into drows. */
const char *dense_weight_rows_call(const Value *b, const char *drows, const char *dout, const char *inp, const char *row) {
    const Value *f = b->fwd;
    return arena_printf("dnn_dense_backward_weight_rows(%s, %s, %s, n, %d, %d, %s, %d);", drows, dout, inp,
                        f->in[0]->shape.dim[0], f->shape.dim[0], row, b->block_rows);
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

/* ---- --quantize=int8 (quantize.c, emit_int8.c) ---------------------------- */

/* The fused float model's dense (batchnorm folded: v->q's weights). */
void q8_dense_float(const Value *v, float *y, const float *const *in) {
    dnn_dense_forward_plain(y, in[0], v->q->wf, v->q->bf, 1, v->q->k, v->q->channels);
}

/* quantized::linear[_relu] */
void q8_dense_emit(FILE *c, const Value *v, const char *id) {
    const Quant *q = v->q;
    fprintf(c, "    dnn_q8_dense(out, inp, %s_weight, %s_bias, %s_requant, %d, %d, %d, %d);\n", id, id, id, q->k,
            q->channels, (int)q->zp, q->relu != NULL);
}
