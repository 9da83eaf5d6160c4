/* ops_arith.c — the rules of arithmetic, the elementwise functions,
 * softmax and log_softmax, the shape changes, and the reductions and
 * penalties (ops.def).
 *
 * Arithmetic broadcasts as NumPy does; its gradients are composite (the
 * gradient of a broadcast operand is summed back with sum_to, of sum and
 * mean spread with expand, of reshape a reshape), so those ops have no
 * backward emitter.
 */
#include "ops_rules.h"

#include <string.h>

#include "dnn_kernels_int8.h" /* dnn_q8_add_params, for --quantize=int8 */

/* ---- arithmetic with NumPy broadcasting ------------------------------------------------------ */

bool shape_broadcast(Graph *g, Value *v) {
    (void)g;
    const Value *a = v->in[0], *b = v->in[1];
    if (!float_operands(v))
        return false;
    int r = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank;
    v->shape.rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->shape.rank), ib = i - (r - b->shape.rank);
        int da = ia >= 0 ? a->shape.dim[ia] : 1, db = ib >= 0 ? b->shape.dim[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            static const char sym[] = {[OP_add] = '+', [OP_sub] = '-', [OP_mul] = '*', [OP_div] = '/'};
            error_at(v->loc, "operands of '%c' have incompatible shapes: %s and %s", sym[v->op],
                     describe(a), describe(b));
            note("shapes broadcast as in NumPy: aligned from the last axis, each pair equal or 1");
            return false;
        }
        v->shape.dim[i] = da > db ? da : db;
    }
    v->batched = a->batched || b->batched;
    return true;
}

/* Index into operand `x` of a loop over the shape of `full` with loop
 * variables s (sample) and i0..i3: strides of broadcast axes are dropped. */
static const char *broadcast_index(const Value *x, const Value *full) {
    char buf[256] = "";
    int r = full->shape.rank, off = r - x->shape.rank, stride = 1;
    for (int d = x->shape.rank - 1; d >= 0; d--) {
        if (x->shape.dim[d] != 1) {
            if (stride == 1)
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%si%d", buf[0] ? " + " : "", d + off);
            else
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%si%d * %d", buf[0] ? " + " : "", d + off, stride);
        }
        stride *= x->shape.dim[d];
    }
    const char *batch = x->batched && full->batched ? arena_printf("s * %d", size_of(x)) : NULL;
    if (batch && buf[0])
        return arena_printf("%s + %s", batch, buf);
    return batch ? batch : buf[0] ? arena_strdup(buf) : "0";
}

/* Opens loops over `full`'s samples and axes; returns how many to close. */
static int open_loops(Emitter *e, const Value *full) {
    int opened = 0;
    if (full->batched) {
        emit(e, "for (int s = 0; s < n; s++) {");
        e->indent++;
        opened++;
    }
    for (int d = 0; d < full->shape.rank; d++) {
        emit(e, "for (int i%d = 0; i%d < %d; i%d++) {", d, d, full->shape.dim[d], d);
        e->indent++;
        opened++;
    }
    return opened;
}

static void close_loops(Emitter *e, int opened) {
    while (opened--) {
        e->indent--;
        emit(e, "}");
    }
}

/* An operand in an expression: a literal for constants. */
static const char *operand(const Value *v, const Value *x, int k, const char *index) {
    (void)v;
    if (x->op == OP_constant)
        return flit(x->attr[0]);
    return arena_printf("in%d[%s]", k, index);
}

/* Replaces the identifiers x0 and x1 (or x) in a C expression. */
static const char *subst(const char *expr, const char *x0, const char *x1) {
    char out[512];
    size_t o = 0;
    for (const char *p = expr; *p && o < sizeof out - 64;) {
        bool start = p == expr || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'));
        if (start && p[0] == 'x' && (p[1] == '0' || p[1] == '1') &&
            !(p[2] == '_' || (p[2] >= 'a' && p[2] <= 'z') || (p[2] >= '0' && p[2] <= '9'))) {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", p[1] == '0' ? x0 : x1);
            p += 2;
        } else
            out[o++] = *p++;
    }
    out[o] = 0;
    return arena_strdup(out);
}

/* out = in0 op in1, with loops over the result's axes where an operand is broadcast. */
void emit_binary_forward(Emitter *e, const Value *v) {
    const Value *a = v->in[0], *b = v->in[1];
    const char *cexpr = op_info[v->op].cexpr;
    if ((same_layout(a, v) || a->op == OP_constant) && (same_layout(b, v) || b->op == OP_constant)) {
        emit(e, "for (int i = 0; i < %s; i++)", count_of(v));
        emit(e, "    out[i] = %s;", subst(cexpr, operand(v, a, 0, "i"), operand(v, b, 1, "i")));
        return;
    }
    int opened = open_loops(e, v);
    emit(e, "out[%s] = %s;", broadcast_index(v, v),
         subst(cexpr, operand(v, a, 0, broadcast_index(a, v)), operand(v, b, 1, broadcast_index(b, v))));
    close_loops(e, opened);
}

/* d(a+b): the gradient, summed back over the axes each operand was broadcast along. */
static Value *reduce_to(Graph *g, Value *grad, Value *like) {
    if (same_layout(grad, like))
        return grad;
    Value *r = ir_node(g, OP_sum_to, like->loc, grad, like, NULL);
    shape_like_second(g, r);
    return r;
}

/* A node of a composite gradient, shaped by its op's shape rule (named
 * here, not looked up in the table: the rules stay below ops_dispatch.c). */
static Value *shaped(Graph *g, OpKind op, bool (*shape)(Graph *, Value *), Value *a, Value *b) {
    Value *v = ir_node(g, op, a->loc, a, b, NULL);
    if (!shape(g, v))
        ICE("gradient node %s has no shape", op_info[op].name);
    v->shaped = true;
    return v;
}

void grad_add(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, dy, v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, dy, v->in[1]);
}

void grad_sub(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, dy, v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, shaped(g, OP_neg, shape_same, dy, NULL), v->in[1]);
}

void grad_mul(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, shaped(g, OP_mul, shape_broadcast, dy, v->in[1]), v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, shaped(g, OP_mul, shape_broadcast, dy, v->in[0]), v->in[1]);
}

/* d(a/b)/da = dy/b; d(a/b)/db = -dy·a/b² = -(dy·out)/b */
void grad_div(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, shaped(g, OP_div, shape_broadcast, dy, v->in[1]), v->in[0]);
    if (v->in[1]->needs_grad) {
        Value *t = shaped(g, OP_div, shape_broadcast, shaped(g, OP_mul, shape_broadcast, dy, v), v->in[1]);
        dx[1] = reduce_to(g, shaped(g, OP_neg, shape_same, t, NULL), v->in[1]);
    }
}

/* sum_to and expand: the result has the layout of operand 1 */
bool shape_like_second(Graph *g, Value *v) {
    (void)g;
    v->shape = v->in[1]->shape;
    v->batched = v->in[1]->batched;
    return true;
}

void emit_sum_to_forward(Emitter *e, const Value *v) {
    const Value *dy = v->in[0];
    emit(e, "memset(out, 0, sizeof(float) * %s);", count_of(v));
    int opened = open_loops(e, dy);
    /* `out` has the operand's layout inside dy's loops */
    Value like = *v;
    like.batched = v->batched;
    emit(e, "out[%s] += in0[%s];", broadcast_index(&like, dy), broadcast_index(dy, dy));
    close_loops(e, opened);
}

/* ---- elementwise functions ------------------------------------------------------------------- */

/* y = f(x) elementwise, f the row's C expression (neg, relu, ...); the
 * gradient is dy · f'(x, y). */
static void emit_alpha(Emitter *e, const Value *v, const char *expr) {
    if ((v->op == OP_leaky_relu || v->op == OP_elu) && uses(expr, "a"))
        emit(e, "const float a = %s;", flit(v->attr[0]));
}

static void emit_xy(Emitter *e, const char *expr) {
    if (uses(expr, "x"))
        emit(e, "    const float x = in0[i];");
    if (uses(expr, "y"))
        emit(e, "    const float y = out[i];");
}

void emit_unary_forward(Emitter *e, const Value *v) {
    const char *expr = op_info[v->op].cexpr;
    emit_alpha(e, v, expr);
    const char *count = count_of(v);
    if (e->generic) /* --optimize=size: the element count is a parameter */
        count = v->batched ? arena_printf("n * %s", dim(e, "size", size_of(v))) : dim(e, "size", size_of(v));
    emit(e, "for (int i = 0; i < %s; i++) {", count);
    emit_xy(e, expr);
    emit(e, "    out[i] = %s;", expr);
    emit(e, "}");
}

void emit_unary_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    const char *expr = op_info[v->op].dexpr;
    emit_alpha(e, v, expr);
    emit(e, "for (int i = 0; i < %s; i++) {", count_of(v));
    emit_xy(e, expr);
    if (uses(expr, "g")) { /* a select of the incoming gradient g (relu, relu6), as PyTorch's */
        emit(e, "    const float g = dy[i];");
        emit(e, "    dx[i] = %s;", expr);
    } else { /* the derivative named first: gcc vectorises dy[i] * d, not dy[i] * (c ? 0.0f : 1.0f) */
        emit(e, "    const float d = (%s);", expr);
        emit(e, "    dx[i] = dy[i] * d;");
    }
    emit(e, "}");
}

/* PReLU with one shared slope: y = x > 0 ? x : a·x. */
void emit_prelu_forward(Emitter *e, const Value *v) {
    emit(e, "const float a = in1[0];");
    emit(e, "for (int i = 0; i < %s; i++) out[i] = in0[i] > 0.0f ? in0[i] : a * in0[i];", count_of(v));
}

/* dx (arg 0), or the slope's gradient (arg 1) summed over every element */
void emit_prelu_backward(Emitter *e, const Value *v, int arg) {
    if (arg == 0) {
        emit(e, "const float a = in1[0];");
        emit(e, "for (int i = 0; i < %s; i++) dx[i] = in0[i] > 0.0f ? dy[i] : a * dy[i];", count_of(v));
    } else {
        emit(e, "float acc = 0.0f;");
        emit(e, "for (int i = 0; i < %s; i++) acc += in0[i] > 0.0f ? 0.0f : in0[i] * dy[i];", count_of(v));
        emit(e, "dx[0] = acc;");
    }
}

/* ---- functions over the last axis ------------------------------------------------------------ */

bool shape_nonscalar(Graph *g, Value *v) {
    if (v->in[0]->shape.rank == 0) {
        error_at(v->loc, "%s() needs a vector, got a scalar", op_info[v->op].name);
        return false;
    }
    return shape_same(g, v);
}

/* softmax / log_softmax over the last axis, shifted by the row maximum;
 * log_softmax is (x − max) − log Σ e^(x − max) in that order, as PyTorch,
 * so a row of logits near ±1e4 keeps its precision (x − (max + log Σ)
 * would round the sum at the logits' magnitude). */
void emit_softmax_forward(Emitter *e, const Value *v) {
    int len = v->shape.dim[v->shape.rank - 1];
    int rows = v->batched ? 0 : size_of(v) / len;
    const char *L = dim(e, "len", len); /* --optimize=size shares the forward */
    const char *R = dim(e, "rows", rows ? rows : size_of(v) / len);
    emit(e, "for (int r = 0; r < %s%s; r++) {", rows ? "" : "n * ", R);
    e->indent++;
    emit(e, "const float *x = in0 + r * %s;", L);
    emit(e, "float *y = out + r * %s;", L);
    emit(e, "float max = x[0], sum = 0.0f;");
    emit(e, "for (int i = 1; i < %s; i++) max = x[i] > max ? x[i] : max;", L);
    if (v->op == OP_log_softmax) {
        emit(e, "for (int i = 0; i < %s; i++) sum += expf(x[i] - max);", L);
        emit(e, "const float lsum = logf(sum);");
        emit(e, "for (int i = 0; i < %s; i++) y[i] = (x[i] - max) - lsum;", L);
    } else {
        emit(e, "for (int i = 0; i < %s; i++) sum += (y[i] = expf(x[i] - max));", L);
        emit(e, "for (int i = 0; i < %s; i++) y[i] /= sum;", L);
    }
    e->indent--;
    emit(e, "}");
}

/* From the stored result y: softmax's dx = y · (dy − Σ dy·y), log_softmax's
 * dx = dy − softmax · Σdy. */
void emit_softmax_backward(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int len = v->shape.dim[v->shape.rank - 1];
    int rows = v->batched ? 0 : size_of(v) / len;
    emit(e, "for (int r = 0; r < %s%d; r++) {", rows ? "" : "n * ", rows ? rows : size_of(v) / len);
    e->indent++;
    emit(e, "const float *y = out + r * %d, *g = dy + r * %d;", len, len);
    emit(e, "float *d = dx + r * %d;", len);
    emit(e, "float dot = 0.0f;");
    if (v->op == OP_log_softmax) {
        emit(e, "for (int i = 0; i < %d; i++) dot += g[i];", len);
        emit(e, "for (int i = 0; i < %d; i++) d[i] = g[i] - expf(y[i]) * dot;", len);
    } else {
        emit(e, "for (int i = 0; i < %d; i++) dot += g[i] * y[i];", len);
        emit(e, "for (int i = 0; i < %d; i++) d[i] = y[i] * (g[i] - dot);", len);
    }
    e->indent--;
    emit(e, "}");
}

/* ---- shape changes --------------------------------------------------------------------------- */

bool shape_flatten(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape = (Shape){1, {size_of(v->in[0])}};
    v->batched = v->in[0]->batched;
    return true;
}

bool shape_reshape(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    long want = shape_size(&v->shape), have = size_of(v->in[0]);
    if (want > MAX_ELEMENTS) {
        error_at(v->attr_loc[0], "reshape() would give %s, more than %ld elements per sample", shape_str(&v->shape),
                 (long)MAX_ELEMENTS);
        return false;
    }
    if (want != have) {
        error_at(v->attr_loc[0], "reshape() cannot make %s (%ld elements) from %s (%ld elements)",
                 shape_str(&v->shape), want, describe(v->in[0]), have);
        return false;
    }
    v->batched = v->in[0]->batched;
    return true;
}

/* Same data, another shape: a copy (reshape and flatten). */
void emit_copy_forward(Emitter *e, const Value *v) {
    emit(e, "memcpy(out, in0, sizeof(float) * %s);", count_of(v));
}

void grad_reshape(Graph *g, Value *v, Value *dy, Value **dx) {
    if (!v->in[0]->needs_grad)
        return;
    Value *r = ir_node(g, OP_reshape, v->loc, dy, NULL, NULL);
    r->shape = v->in[0]->shape;
    r->batched = v->in[0]->batched;
    r->shaped = true;
    dx[0] = r;
}

bool shape_transpose(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 2, NULL))
        return false;
    v->shape = (Shape){2, {x->shape.dim[1], x->shape.dim[0]}};
    v->batched = x->batched;
    return true;
}

void emit_transpose_forward(Emitter *e, const Value *v) {
    int r = v->shape.dim[0], c = v->shape.dim[1];
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int i = 0; i < %d; i++)", r);
    emit(e, "        for (int j = 0; j < %d; j++)", c);
    emit(e, "            out[s * %d + i * %d + j] = in0[s * %d + j * %d + i];", r * c, c, r * c, r);
}

void grad_transpose(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = shaped(g, OP_transpose, shape_transpose, dy, NULL);
}

bool shape_concat(Graph *g, Value *v) {
    (void)g;
    const Value *a = v->in[0], *b = v->in[1];
    if (!float_operands(v))
        return false;
    int axis = (int)v->attr[0];
    if (a->shape.rank != b->shape.rank || a->shape.rank == 0) {
        error_at(v->loc, "concat() needs operands of the same rank, got %s and %s", describe(a), describe(b));
        return false;
    }
    if (axis < -a->shape.rank || axis >= a->shape.rank) {
        error_at(v->attr_loc[0], "concat(): axis %d is out of range for rank %d (axes count per-sample)",
                 axis, a->shape.rank);
        return false;
    }
    if (axis < 0) /* counted from the last axis, as torch.cat does */
        v->attr[0] = axis += a->shape.rank;
    for (int i = 0; i < a->shape.rank; i++)
        if (i != axis && a->shape.dim[i] != b->shape.dim[i]) {
            error_at(v->loc, "concat() along axis %d needs the other axes to agree: %s and %s", axis,
                     describe(a), describe(b));
            return false;
        }
    if (a->batched != b->batched) {
        error_at(v->loc, "concat() needs both operands per sample or both parameters");
        return false;
    }
    v->shape = a->shape;
    v->shape.dim[axis] += b->shape.dim[axis];
    v->batched = a->batched;
    return true;
}

/* concat(a, b, axis): per sample, `outer` blocks of a's slice then b's.
 * open_rows() opens the loop over the blocks (`row`: the block in buf) and
 * returns how many there are a sample; *la, *lb: the slices' lengths. */
static int open_rows(Emitter *e, const Value *v, const char *buf, int *la, int *lb) {
    int axis = (int)v->attr[0], outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= v->shape.dim[i];
    for (int i = axis + 1; i < v->shape.rank; i++)
        inner *= v->shape.dim[i];
    *la = v->in[0]->shape.dim[axis] * inner, *lb = v->in[1]->shape.dim[axis] * inner;
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int o = 0; o < %d; o++) {", outer);
    emit(e, "        float *row = %s + (s * %d + o) * %d;", buf, outer, *la + *lb);
    return outer;
}

void emit_concat_forward(Emitter *e, const Value *v) {
    int la, lb, outer = open_rows(e, v, "out", &la, &lb);
    emit(e, "        memcpy(row, in0 + (s * %d + o) * %d, sizeof(float) * %d);", outer, la, la);
    emit(e, "        memcpy(row + %d, in1 + (s * %d + o) * %d, sizeof(float) * %d);", la, outer, lb, lb);
    emit(e, "    }");
}

/* a's gradient is the first part of each block of dy, b's the second. */
void emit_concat_backward(Emitter *e, const Value *v, int arg) {
    int la, lb, outer = open_rows(e, v, "(float *)dy", &la, &lb);
    if (arg == 0)
        emit(e, "        memcpy(dx + (s * %d + o) * %d, row, sizeof(float) * %d);", outer, la, la);
    else
        emit(e, "        memcpy(dx + (s * %d + o) * %d, row + %d, sizeof(float) * %d);", outer, lb, la, lb);
    emit(e, "    }");
}

/* ---- reductions and penalties ---------------------------------------------------------------- */

bool shape_reduce(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape.rank = 0;
    v->batched = v->in[0]->batched;
    return true;
}

void emit_reduce_forward(Emitter *e, const Value *v) {
    int size = size_of(v->in[0]);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    emit(e, "    float acc = 0.0f;");
    emit(e, "    for (int i = 0; i < %d; i++) acc += in0[s * %d + i];", size, size);
    emit(e, "    out[s] = acc%s;", v->op == OP_mean ? arena_printf(" / %s", flit(size)) : "");
    emit(e, "}");
}

/* The gradient of a per-sample sum or mean: dy spread over the elements. */
void emit_expand_forward(Emitter *e, const Value *v) {
    int size = size_of(v);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int i = 0; i < %d; i++) out[s * %d + i] = in0[s]%s;", size, size,
         v->attr[0] != 1 ? arena_printf(" * %s", flit(v->attr[0])) : "");
}

void grad_reduce(Graph *g, Value *v, Value *dy, Value **dx) {
    if (!v->in[0]->needs_grad)
        return;
    Value *x = shaped(g, OP_expand, shape_like_second, dy, v->in[0]);
    x->attr[0] = v->op == OP_mean ? 1.0 / size_of(v->in[0]) : 1.0;
    dx[0] = x;
}

bool shape_penalty(Graph *g, Value *v) {
    (void)g;
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* l2: Σ p², l1: Σ |p| over each tensor of a set: 8 partial sums (lane k
 * takes i ≡ k mod 8) added in a fixed order, which vectorises, and is
 * closer to PyTorch's sum than one running float; then the tensors' sums
 * are added in the set's order. The speed build calls the kernel
 * dnn_penalty_sum (the same order on one vector); the others print the
 * loops. */
void emit_penalty_forward(Emitter *e, const Value *v) {
    const char *expr = op_info[v->op].cexpr;
    bool kernel = !e->generic && !e->small && !e->f64;
    int squares = v->op == OP_l2;
    if (v->nin == 1 && kernel) {
        emit(e, "out[0] = dnn_penalty_sum(in0, %d, %d);", size_of(v->in[0]), squares);
        return;
    }
    if (v->nin == 1) {
        int size = size_of(v->in[0]), size8 = size / 8 * 8;
        emit(e, "float part[8] = {0};");
        emit(e, "for (int i = 0; i < %d; i += 8)", size8);
        emit(e, "    for (int k = 0; k < 8; k++) {");
        emit(e, "        const float x = in0[i + k];");
        emit(e, "        part[k] += %s;", expr);
        emit(e, "    }");
        emit(e, "float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
        if (size8 < size) {
            emit(e, "for (int i = %d; i < %d; i++) {", size8, size);
            emit(e, "    const float x = in0[i];");
            emit(e, "    acc += %s;", expr);
            emit(e, "}");
        }
        emit(e, "out[0] = acc;");
        return;
    }
    const char *tensors = "in0", *sizes = arena_printf("%d", size_of(v->in[0]));
    for (int t = 1; t < v->nin; t++) {
        tensors = arena_printf("%s, in%d", tensors, t);
        sizes = arena_printf("%s, %d", sizes, size_of(v->in[t]));
    }
    emit(e, "const float *const tensor[%d] = {%s};", v->nin, tensors);
    emit(e, "static const int size[%d] = {%s};", v->nin, sizes);
    emit(e, "float total = 0.0f; /* 0 + the first sum is that sum: sums are >= +0 */");
    if (kernel) {
        emit(e, "for (int t = 0; t < %d; t++)", v->nin);
        emit(e, "    total += dnn_penalty_sum(tensor[t], size[t], %d);", squares);
        emit(e, "out[0] = total;");
        return;
    }
    emit(e, "for (int t = 0; t < %d; t++) {", v->nin);
    emit(e, "    const float *p = tensor[t];");
    emit(e, "    const int size8 = size[t] / 8 * 8;");
    emit(e, "    float part[8] = {0};");
    emit(e, "    for (int i = 0; i < size8; i += 8)");
    emit(e, "        for (int k = 0; k < 8; k++) {");
    emit(e, "            const float x = p[i + k];");
    emit(e, "            part[k] += %s;", expr);
    emit(e, "        }");
    emit(e, "    float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
    emit(e, "    for (int i = size8; i < size[t]; i++) {");
    emit(e, "        const float x = p[i];");
    emit(e, "        acc += %s;", expr);
    emit(e, "    }");
    emit(e, "    total += acc;");
    emit(e, "}");
    emit(e, "out[0] = total;");
}

/* The gradient of one tensor of the set, operand `arg`. */
void emit_penalty_backward(Emitter *e, const Value *v, int arg) {
    emit(e, "for (int i = 0; i < %d; i++) {", size_of(v->in[arg]));
    emit(e, "    const float x = in%d[i];", arg);
    emit(e, "    dx[i] = dy[0] * (%s);", op_info[v->op].dexpr);
    emit(e, "}");
}

/* ---- --quantize=int8 (quantize.c, emit_int8.c): relu, add, the same bytes ---- */

/* flatten, reshape (and dropout in eval mode): the same values */
void q8_copy_float(const Value *v, float *y, const float *const *in) {
    memcpy(y, in[0], sizeof(float) * (size_t)size_of(v));
}

void q8_relu_float(const Value *v, float *y, const float *const *in) {
    for (int i = 0; i < size_of(v); i++)
        y[i] = in[0][i] < 0.0f ? 0.0f : in[0][i];
}

void q8_add_float(const Value *v, float *y, const float *const *in) {
    for (int i = 0; i < size_of(v); i++)
        y[i] = in[0][i] + in[1][i];
}

/* qnnpack adds tensors of one shape, no broadcasting or constants */
const char *q8_add_refusal(const Value *v) {
    return same_layout(v->in[0], v->in[1]) && same_layout(v->in[0], v) ? NULL
           : "qnnpack adds two tensors of one shape (no broadcasting, no constants)";
}

/* a relu not fused into the layer before it: max(q, zp) */
void q8_relu_emit(FILE *c, const Value *v, const char *id) {
    (void)id;
    fprintf(c, "    dnn_q8_relu(out, inp, %d, %d);\n", size_of(v), (int)v->q->zp);
}

/* QFunctional.add: qnnpack's fixed point (dnn_q8_add_setup's numbers) */
void q8_add_emit(FILE *c, const Value *v, const char *id) {
    (void)id;
    const struct dnn_q8_add_params *p = v->q->add;
    fprintf(c, "    static const dnn_q8_add_params p = {%ld, %ld, %ld, %ld, %ld, %ld};\n", (long)p->ma, (long)p->mb,
            (long)p->offset, (long)p->shift, (long)p->zp, (long)p->lo);
    fprintf(c, "    dnn_q8_add(out, inp, inp2, %d, &p);\n", size_of(v));
}
