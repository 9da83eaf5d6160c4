/* ops.c — the rules of every op in ops.def: shape rule, emitter and
 * gradient rule, kept next to each other per op group.
 *
 * Shape rules check operands and set the result's per-sample shape and
 * batched flag; layer rules also give their parameters a shape (the
 * parameter's shape is inferred from its user, like PyTorch's lazy
 * modules). Gradient rules build IR: composite gradients from existing ops
 * (add → sum_to, reshape → reshape), opaque ones as a `backward` node that
 * the op's own emitter prints with arg >= 0. Emitters print C following the
 * conventions of struct Emitter (dnnc.h).
 */
#include "dnnc.h"

#include <math.h>
#include <string.h>

#define RULES(name, sig, flags, shape, emit, grad, cexpr, dexpr)              \
    static bool shape(Graph *g, Value *v);                                    \
    static void emit(Emitter *e, const Value *v, int arg);                    \
    static void grad(Graph *g, Value *v, Value *dy, Value **dx);
#define OP RULES
#include "ops.def"
#undef OP

const OpInfo op_info[OP_COUNT] = {
#define OP(name, sig, flags, shape, emit, grad, cexpr, dexpr) {#name, sig, flags},
#include "ops.def"
#undef OP
};

static const struct Rules {
    bool (*shape)(Graph *, Value *);
    void (*emit)(Emitter *, const Value *, int);
    void (*grad)(Graph *, Value *, Value *, Value **);
    const char *cexpr, *dexpr;
} rules[OP_COUNT] = {
#define OP(name, sig, flags, shape, emit, grad, cexpr, dexpr) {shape, emit, grad, cexpr, dexpr},
#include "ops.def"
#undef OP
};

bool op_shape(Graph *g, Value *v) { return rules[v->op].shape(g, v); }
void op_grad(Graph *g, Value *v, Value *dy, Value **dx) { rules[v->op].grad(g, v, dy, dx); }

void op_emit(Emitter *e, const Value *v) {
    if (v->op == OP_backward)
        rules[v->fwd->op].emit(e, v->fwd, v->grad_arg);
    else
        rules[v->op].emit(e, v, -1);
}

/* ---- helpers ------------------------------------------------------------------ */

/* "'h' [4]" or "dense() [4]": how a value arose, for shape messages. */
static const char *describe(const Value *v) {
    const char *shape = v->dtype == DT_CLASS ? arena_printf("class(%d)", v->classes) : shape_str(&v->shape);
    if (v->op == OP_constant)
        return arena_printf("the number %g", v->attr[0]);
    if (v->name)
        return arena_printf("'%s' %s", v->name, shape);
    return arena_printf("%s() %s", op_info[v->op].name, shape);
}

/* An op as the user wrote it: "'*'" for an operator, "dense()" for a call. */
static const char *op_words(const Value *v) {
    switch (v->op) {
    case OP_add: return "'+'";
    case OP_sub: return "'-'";
    case OP_mul: return "'*'";
    case OP_div: return "'/'";
    case OP_matmul: return "'@'";
    case OP_neg: return "unary '-'";
    default: return arena_printf("%s()", op_info[v->op].name);
    }
}

static bool float_operands(Value *v) {
    for (int i = 0; i < v->nin; i++)
        if (v->in[i] && v->in[i]->dtype == DT_CLASS) {
            error_at(v->loc, "%s cannot take the class target '%s'", op_words(v), v->in[i]->name);
            note("class targets hold integer labels and are only read by cross_entropy, nll and multi_margin");
            return false;
        }
    return true;
}

static bool attr_at_least(Value *v, int k, const char *name, double lo) {
    if (v->attr[k] >= lo)
        return true;
    error_at(v->attr_loc[k], "%s(): '%s' must be at least %g, got %g", op_info[v->op].name, name, lo, v->attr[k]);
    return false;
}

static void set_param_shape(Value *p, Shape s, int fan_in, int fan_out) {
    if (!p)
        return;
    p->shape = s;
    p->shaped = true;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
}

static int size_of(const Value *v) { return (int)shape_size(&v->shape); }

static bool shape_leaf(Graph *g, Value *v) { (void)g; (void)v; return true; }
static bool shape_none(Graph *g, Value *v) { (void)g; v->shape.rank = 0; return true; }
static void emit_none(Emitter *e, const Value *v, int arg) { (void)e; (void)v; (void)arg; }
static void grad_none(Graph *g, Value *v, Value *dy, Value **dx) { (void)g; (void)v; (void)dy; (void)dx; }


/* The generic gradient rule: a `backward` node per operand that needs a
 * gradient, printed by the op's own emitter (arg = operand index). */
static void grad_backward(Graph *g, Value *v, Value *dy, Value **dx) {
    for (int i = 0; i < v->nin; i++) {
        if (!v->in[i] || !v->in[i]->needs_grad)
            continue;
        if ((op_info[v->op].flags & F_LOSS) && i == 1 && v->op != OP_mse && v->op != OP_l1_loss &&
            v->op != OP_huber) {
            error_at(v->loc, "%s(): the target depends on a trainable parameter, and its gradient is not supported",
                     op_info[v->op].name);
            continue;
        }
        Value *b = new_value(g, OP_backward, v->loc);
        b->fwd = v;
        b->grad_arg = i;
        b->in[b->nin++] = dy;
        for (int k = 0; k < v->nin; k++)
            b->in[b->nin++] = v->in[k];
        b->in[b->nin++] = v;
        b->label = v->label;
        b->stmt_line = v->stmt_line;
        dx[i] = b;
    }
}

static bool shape_backward(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->fwd->in[v->grad_arg];
    v->shape = x->shape;
    v->batched = x->batched;
    return true;
}

/* ---- elementwise with broadcasting ------------------------------------------- */

static bool shape_broadcast(Graph *g, Value *v) {
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

static bool same_layout(const Value *a, const Value *b) {
    if (a->batched != b->batched || a->shape.rank != b->shape.rank)
        return false;
    for (int i = 0; i < a->shape.rank; i++)
        if (a->shape.dim[i] != b->shape.dim[i])
            return false;
    return true;
}

/* An operand in an expression: a literal for constants. */
static const char *operand(const Value *v, const Value *x, int k, const char *index) {
    (void)v;
    if (x->op == OP_constant)
        return flit(x->attr[0]);
    return arena_printf("in%d[%s]", k, index);
}

static const char *subst(const char *expr, const char *x0, const char *x1);

static void emit_binary(Emitter *e, const Value *v, int arg) {
    (void)arg;
    const Value *a = v->in[0], *b = v->in[1];
    const char *cexpr = rules[v->op].cexpr;
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
    op_shape(g, r);
    return r;
}

static Value *shaped(Graph *g, OpKind op, Value *a, Value *b) {
    Value *v = ir_node(g, op, a->loc, a, b, NULL);
    if (!op_shape(g, v))
        ICE("gradient node %s has no shape", op_info[op].name);
    v->shaped = true;
    return v;
}

static void grad_add(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, dy, v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, dy, v->in[1]);
}

static void grad_sub(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, dy, v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, shaped(g, OP_neg, dy, NULL), v->in[1]);
}

static void grad_mul(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, shaped(g, OP_mul, dy, v->in[1]), v->in[0]);
    if (v->in[1]->needs_grad)
        dx[1] = reduce_to(g, shaped(g, OP_mul, dy, v->in[0]), v->in[1]);
}

/* d(a/b)/da = dy/b; d(a/b)/db = -dy·a/b² = -(dy·out)/b */
static void grad_div(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = reduce_to(g, shaped(g, OP_div, dy, v->in[1]), v->in[0]);
    if (v->in[1]->needs_grad) {
        Value *t = shaped(g, OP_div, shaped(g, OP_mul, dy, v), v->in[1]);
        dx[1] = reduce_to(g, shaped(g, OP_neg, t, NULL), v->in[1]);
    }
}

/* sum_to and expand: the result has the layout of operand 1 */
static bool shape_like_second(Graph *g, Value *v) {
    (void)g;
    v->shape = v->in[1]->shape;
    v->batched = v->in[1]->batched;
    return true;
}

static void emit_sum_to(Emitter *e, const Value *v, int arg) {
    (void)arg;
    const Value *dy = v->in[0];
    emit(e, "memset(out, 0, sizeof(float) * %s);", count_of(v));
    int opened = open_loops(e, dy);
    /* `out` has the operand's layout inside dy's loops */
    Value like = *v;
    like.batched = v->batched;
    emit(e, "out[%s] += in0[%s];", broadcast_index(&like, dy), broadcast_index(dy, dy));
    close_loops(e, opened);
}

/* ---- elementwise functions --------------------------------------------------------- */

static bool shape_same(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape = v->in[0]->shape;
    v->batched = v->in[0]->batched;
    return true;
}

/* Whether identifier `name` occurs in a C expression. */
static bool uses(const char *expr, const char *name) {
    size_t n = strlen(name);
    for (const char *p = expr; (p = strstr(p, name)); p += n) {
        bool start = p == expr || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
        char c = p[n];
        bool end = !(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        if (start && end)
            return true;
    }
    return false;
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

/* y = f(x) elementwise; the gradient is dy · f'(x, y). */
static void emit_unary(Emitter *e, const Value *v, int arg) {
    const char *expr = arg < 0 ? rules[v->op].cexpr : rules[v->op].dexpr;
    bool has_alpha = v->op == OP_leaky_relu || v->op == OP_elu;
    if (has_alpha && uses(expr, "a"))
        emit(e, "const float a = %s;", flit(v->attr[0]));
    const char *count = count_of(v);
    if (e->generic && arg < 0) /* --optimize=size: the element count is a parameter */
        count = v->batched ? arena_printf("n * %s", dim(e, "size", size_of(v))) : dim(e, "size", size_of(v));
    emit(e, "for (int i = 0; i < %s; i++) {", count);
    if (uses(expr, "x"))
        emit(e, "    const float x = in0[i];");
    if (uses(expr, "y"))
        emit(e, "    const float y = out[i];");
    if (arg < 0)
        emit(e, "    out[i] = %s;", expr);
    else
        emit(e, "    dx[i] = dy[i] * (%s);", expr);
    emit(e, "}");
}

/* ---- matrix product ------------------------------------------------------------------ */

/* [m,k] @ [k,n] → [m,n]; a vector on the left is [1,k], on the right [k,1]. */
static void matmul_dims(const Value *v, int *m, int *k, int *n) {
    const Shape *a = &v->in[0]->shape, *b = &v->in[1]->shape;
    *m = a->rank == 2 ? a->dim[0] : 1;
    *k = a->dim[a->rank - 1];
    *n = b->rank == 2 ? b->dim[1] : 1;
}

static bool shape_matmul(Graph *g, Value *v) {
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

static void emit_matmul(Emitter *e, const Value *v, int arg) {
    int m, k, n;
    matmul_dims(v, &m, &k, &n);
    const Value *a = v->in[0], *b = v->in[1];
    const Value *result = arg < 0 ? v : v->in[arg];
    if (arg >= 0 && !result->batched && v->batched) /* summed over the batch */
        emit(e, "memset(dx, 0, sizeof(float) * %d);", size_of(result));
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    if (arg != 0) /* dA needs only B, dB only A */
        emit_sample_ptr(e, "A", "in0", a, "const ");
    if (arg != 1)
        emit_sample_ptr(e, "B", "in1", b, "const ");
    if (arg < 0) { /* C = A B, row by row so the inner loop runs along B's rows */
        emit(e, "float *C = out + s * %d;", m * n);
        emit(e, "for (int i = 0; i < %d; i++) {", m);
        emit(e, "    for (int j = 0; j < %d; j++) C[i * %d + j] = 0.0f;", n, n);
        emit(e, "    for (int p = 0; p < %d; p++) {", k);
        emit(e, "        const float a = A[i * %d + p];", k);
        emit(e, "        for (int j = 0; j < %d; j++) C[i * %d + j] += a * B[p * %d + j];", n, n, n);
        emit(e, "    }");
        emit(e, "}");
    } else {
        emit(e, "const float *dC = dy + s * %d;", m * n);
        emit_sample_ptr(e, "dR", "dx", result, "");
        bool accumulate = !result->batched && v->batched;
        if (arg == 0) { /* dA = dC Bᵀ */
            emit(e, "for (int i = 0; i < %d; i++)", m);
            emit(e, "    for (int p = 0; p < %d; p++) {", k);
            emit(e, "        float acc = 0.0f;");
            emit(e, "        for (int j = 0; j < %d; j++) acc += dC[i * %d + j] * B[p * %d + j];", n, n, n);
            emit(e, "        dR[i * %d + p] %s acc;", k, accumulate ? "+=" : "=");
            emit(e, "    }");
        } else { /* dB = Aᵀ dC */
            if (!accumulate)
                emit(e, "for (int j = 0; j < %d; j++) dR[j] = 0.0f;", k * n);
            emit(e, "for (int i = 0; i < %d; i++)", m);
            emit(e, "    for (int p = 0; p < %d; p++) {", k);
            emit(e, "        const float a = A[i * %d + p];", k);
            emit(e, "        for (int j = 0; j < %d; j++) dR[p * %d + j] += a * dC[i * %d + j];", n, n, n);
            emit(e, "    }");
        }
    }
    e->indent--;
    emit(e, "}");
}

/* ---- layers ---------------------------------------------------------------------------- */

static bool need_rank(Value *v, const Value *x, int rank, const char *hint) {
    if (x->shape.rank == rank)
        return true;
    const char *what = rank == 1 ? "a rank-1 input" : rank == 3 ? "a [C, H, W] input" : "a matrix";
    error_at(v->loc, "%s() needs %s, got %s", op_info[v->op].name, what, shape_str(&x->shape));
    if (hint)
        note("%s", hint);
    return false;
}

static bool shape_dense(Graph *g, Value *v) {
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

static void emit_dense(Emitter *e, const Value *v, int arg) {
    int units = v->shape.dim[0], in = v->in[0]->shape.dim[0];
    bool bias = v->in[2] != NULL;
    bool plain = !e->generic && v->in[0]->shape.rank == 1 && v->in[0]->batched && v->batched;
    if (arg == -1 && plain) {
        emit_dense_fast(e, v);
        return;
    }
    if ((arg == 0 || arg == 1) && plain) {
        emit_dense_grad_fast(e, v, arg);
        return;
    }
    if (arg > 0) /* weight and bias gradients sum over the batch */
        emit(e, "memset(dx, 0, sizeof(float) * %d);", arg == 1 ? units * in : units);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    if (arg == 1)
        emit_sample_ptr(e, "x", "in0", v->in[0], "const ");
    else if (arg == -1) /* size_of(x) is the weight's row length */
        emit(e, "const float *x = in0%s;", v->in[0]->batched ? arena_printf(" + s * %s", dim(e, "inputs", in)) : "");
    switch (arg) {
    case -1: {
        const char *U = dim(e, "units", units), *I = dim(e, "inputs", in);
        emit(e, "float *y = out + s * %s;", U);
        emit(e, "for (int j = 0; j < %s; j++) {", U);
        emit(e, "    const float *w = in1 + j * %s;", I);
        emit(e, "    float acc = %s;", bias ? "in2[j]" : "0.0f");
        emit(e, "    for (int i = 0; i < %s; i++) acc += w[i] * x[i];", I);
        emit(e, "    y[j] = acc;");
        emit(e, "}");
        break;
    }
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

/* conv2d()'s note for a [H, W] or flat square input: the reshape to write. */
static const char *image_hint(const Value *x) {
    const char *name = x->name ? x->name : "x";
    if (x->shape.rank == 2)
        return arena_printf("reshape it first, e.g. reshape(%s, [1, %d, %d])", name, x->shape.dim[0], x->shape.dim[1]);
    if (x->shape.rank != 1)
        return NULL;
    int n = x->shape.dim[0], side = (int)(sqrt((double)n) + 0.5);
    if (side * side == n)
        return arena_printf("reshape it first, e.g. reshape(%s, [1, %d, %d])", name, side, side);
    return arena_printf("reshape it to [C, H, W] first, e.g. reshape(%s, [C, H, W])", name);
}

static bool shape_conv2d(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, image_hint(x)))
        return false;
    if (!attr_at_least(v, 0, "filters", 1) || !attr_at_least(v, 1, "kernel", 1) ||
        !attr_at_least(v, 2, "stride", 1) || !attr_at_least(v, 3, "pad", 0))
        return false;
    int f = (int)v->attr[0], k = (int)v->attr[1], s = (int)v->attr[2], p = (int)v->attr[3];
    int c = x->shape.dim[0], h = x->shape.dim[1], w = x->shape.dim[2];
    long oh = ((long)h + 2L * p - k) / s + 1, ow = ((long)w + 2L * p - k) / s + 1;
    if ((long)h + 2L * p < k || (long)w + 2L * p < k) {
        error_at(v->attr_loc[1], "conv2d(): kernel %d is larger than the padded input %ldx%ld (input %s, pad %d)",
                 k, (long)h + 2L * p, (long)w + 2L * p, shape_str(&x->shape), p);
        return false;
    }
    if (mul_capped(mul_capped(mul_capped(f, c), k), k) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d(): a weight of [%d, %d, %d, %d] is too large", f, c, k, k);
        return false;
    }
    if (oh > MAX_ELEMENTS || ow > MAX_ELEMENTS || mul_capped(mul_capped(f, oh), ow) > MAX_ELEMENTS) {
        error_at(v->loc, "conv2d() would give [%d, %ld, %ld], more than %ld elements per sample", f, oh, ow,
                 (long)MAX_ELEMENTS);
        return false;
    }
    set_param_shape(v->in[1], (Shape){4, {f, c, k, k}}, c * k * k, f * k * k);
    set_param_shape(v->in[2], (Shape){1, {f}}, c * k * k, f * k * k);
    v->shape = (Shape){3, {f, (int)oh, (int)ow}};
    v->batched = x->batched;
    return true;
}

static bool shape_batchnorm(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v))
        return false;
    if (x->shape.rank != 1 && x->shape.rank != 3) {
        error_at(v->loc, "batchnorm() needs a [C] or [C, H, W] input, got %s", shape_str(&x->shape));
        return false;
    }
    if (!x->batched) {
        error_at(v->loc, "batchnorm() normalises over the batch; its input must come from an input");
        return false;
    }
    if (v->attr[0] < 0 || v->attr[0] > 1) {
        error_at(v->attr_loc[0], "batchnorm(): momentum must be between 0 and 1, got %g", v->attr[0]);
        return false;
    }
    if (v->attr[1] <= 0) {
        error_at(v->attr_loc[1], "batchnorm(): eps must be positive, got %g", v->attr[1]);
        return false;
    }
    int c = x->shape.dim[0];
    for (int i = 1; i <= 4; i++)
        set_param_shape(v->in[i], (Shape){1, {c}}, c, c);
    v->shape = x->shape;
    v->batched = true;
    return true;
}

static bool shape_prelu(Graph *g, Value *v) { return shape_same(g, v); }

/* ---- last-axis functions, pooling, dropout ------------------------------------------ */

static bool shape_nonscalar(Graph *g, Value *v) {
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
static void emit_softmax(Emitter *e, const Value *v, int arg) {
    int len = v->shape.dim[v->shape.rank - 1];
    int rows = v->batched ? 0 : size_of(v) / len;
    bool log = v->op == OP_log_softmax;
    const char *L = arg < 0 ? dim(e, "len", len) : arena_printf("%d", len); /* --optimize=size shares the forward */
    const char *R = arg < 0 ? dim(e, "rows", rows ? rows : size_of(v) / len) : arena_printf("%d", rows ? rows : size_of(v) / len);
    emit(e, "for (int r = 0; r < %s%s; r++) {", rows ? "" : "n * ", R);
    e->indent++;
    if (arg < 0) {
        emit(e, "const float *x = in0 + r * %s;", L);
        emit(e, "float *y = out + r * %s;", L);
        emit(e, "float max = x[0], sum = 0.0f;");
        emit(e, "for (int i = 1; i < %s; i++) max = x[i] > max ? x[i] : max;", L);
        if (log) {
            emit(e, "for (int i = 0; i < %s; i++) sum += expf(x[i] - max);", L);
            emit(e, "const float lsum = logf(sum);");
            emit(e, "for (int i = 0; i < %s; i++) y[i] = (x[i] - max) - lsum;", L);
        } else {
            emit(e, "for (int i = 0; i < %s; i++) sum += (y[i] = expf(x[i] - max));", L);
            emit(e, "for (int i = 0; i < %s; i++) y[i] /= sum;", L);
        }
    } else {
        emit(e, "const float *y = out + r * %d, *g = dy + r * %d;", len, len);
        emit(e, "float *d = dx + r * %d;", len);
        emit(e, "float dot = 0.0f;");
        if (log) { /* dx = dy − softmax · Σdy */
            emit(e, "for (int i = 0; i < %d; i++) dot += g[i];", len);
            emit(e, "for (int i = 0; i < %d; i++) d[i] = g[i] - expf(y[i]) * dot;", len);
        } else { /* dx = y · (dy − Σ dy·y) */
            emit(e, "for (int i = 0; i < %d; i++) dot += g[i] * y[i];", len);
            emit(e, "for (int i = 0; i < %d; i++) d[i] = y[i] * (g[i] - dot);", len);
        }
    }
    e->indent--;
    emit(e, "}");
}

static bool shape_pool(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 3, NULL))
        return false;
    if (!attr_at_least(v, 0, "size", 1) || !attr_at_least(v, 1, "stride", 0))
        return false;
    int k = (int)v->attr[0];
    if (v->attr[1] == 0)
        v->attr[1] = k; /* stride defaults to the window size */
    int s = (int)v->attr[1], p = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    if (p < 0 || 2L * p > k) {
        error_at(v->attr_loc[2], "maxpool(): pad must be between 0 and half the window (%d), got %d", k / 2, p);
        return false;
    }
    int h = x->shape.dim[1], w = x->shape.dim[2]; /* 2p <= k, so h + 2p - k <= h below */
    /* a window past the padded input, or one so large that it could only
     * ever cover all of a smaller input (and scanning it would not end) */
    bool huge = k > h && k > w && mul_capped(k, k) > MAX_ELEMENTS;
    if ((long)h + 2L * p < k || (long)w + 2L * p < k || huge) {
        error_at(v->attr_loc[0], "%s(): window %d is larger than the input %s", op_info[v->op].name, k,
                 shape_str(&x->shape));
        return false;
    }
    v->shape = (Shape){3, {x->shape.dim[0], (int)(((long)h + 2L * p - k) / s + 1), (int)(((long)w + 2L * p - k) / s + 1)}};
    v->batched = x->batched;
    return true;
}

static bool shape_dropout(Graph *g, Value *v) {
    if (v->attr[0] < 0 || v->attr[0] >= 1) {
        error_at(v->attr_loc[0], "dropout(): p must be in [0, 1), got %g", v->attr[0]);
        return false;
    }
    v->aux = (int)shape_size(&v->in[0]->shape); /* the mask */
    return shape_same(g, v);
}

/* ---- shape changes ------------------------------------------------------------------ */

static bool shape_flatten(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape = (Shape){1, {size_of(v->in[0])}};
    v->batched = v->in[0]->batched;
    return true;
}

static bool shape_reshape(Graph *g, Value *v) {
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
static void emit_copy(Emitter *e, const Value *v, int arg) {
    (void)arg;
    emit(e, "memcpy(out, in0, sizeof(float) * %s);", count_of(v));
}

static void grad_reshape(Graph *g, Value *v, Value *dy, Value **dx) {
    if (!v->in[0]->needs_grad)
        return;
    Value *r = ir_node(g, OP_reshape, v->loc, dy, NULL, NULL);
    r->shape = v->in[0]->shape;
    r->batched = v->in[0]->batched;
    r->shaped = true;
    dx[0] = r;
}

static bool shape_transpose(Graph *g, Value *v) {
    (void)g;
    const Value *x = v->in[0];
    if (!float_operands(v) || !need_rank(v, x, 2, NULL))
        return false;
    v->shape = (Shape){2, {x->shape.dim[1], x->shape.dim[0]}};
    v->batched = x->batched;
    return true;
}

static void emit_transpose(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int r = v->shape.dim[0], c = v->shape.dim[1];
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int i = 0; i < %d; i++)", r);
    emit(e, "        for (int j = 0; j < %d; j++)", c);
    emit(e, "            out[s * %d + i * %d + j] = in0[s * %d + j * %d + i];", r * c, c, r * c, r);
}

static void grad_transpose(Graph *g, Value *v, Value *dy, Value **dx) {
    if (v->in[0]->needs_grad)
        dx[0] = shaped(g, OP_transpose, dy, NULL);
}

static bool shape_concat(Graph *g, Value *v) {
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

/* ---- reductions and penalties ------------------------------------------------------------ */

static bool shape_reduce(Graph *g, Value *v) {
    (void)g;
    if (!float_operands(v))
        return false;
    v->shape.rank = 0;
    v->batched = v->in[0]->batched;
    return true;
}

static void emit_reduce(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int size = size_of(v->in[0]);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    emit(e, "    float acc = 0.0f;");
    emit(e, "    for (int i = 0; i < %d; i++) acc += in0[s * %d + i];", size, size);
    emit(e, "    out[s] = acc%s;", v->op == OP_mean ? arena_printf(" / %s", flit(size)) : "");
    emit(e, "}");
}

/* The gradient of a per-sample sum or mean: dy spread over the elements. */
static void emit_expand(Emitter *e, const Value *v, int arg) {
    (void)arg;
    int size = size_of(v);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int i = 0; i < %d; i++) out[s * %d + i] = in0[s]%s;", size, size,
         v->attr[0] != 1 ? arena_printf(" * %s", flit(v->attr[0])) : "");
}

static void grad_reduce(Graph *g, Value *v, Value *dy, Value **dx) {
    if (!v->in[0]->needs_grad)
        return;
    Value *x = shaped(g, OP_expand, dy, v->in[0]);
    x->attr[0] = v->op == OP_mean ? 1.0 / size_of(v->in[0]) : 1.0;
    dx[0] = x;
}

static bool shape_penalty(Graph *g, Value *v) {
    (void)g;
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* l2: Σ p², l1: Σ |p| over one parameter (penalties over sets are sums). */
static void emit_penalty(Emitter *e, const Value *v, int arg) {
    const char *expr = arg < 0 ? rules[v->op].cexpr : rules[v->op].dexpr;
    int size = size_of(v->in[0]);
    if (arg < 0) { /* 8 partial sums (lane k takes i ≡ k mod 8) added in a fixed order:
                    * vectorises, and is closer to PyTorch's sum than one running float */
        int size8 = size / 8 * 8;
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
    } else {
        emit(e, "for (int i = 0; i < %d; i++) {", size);
        emit(e, "    const float x = in0[i];");
        emit(e, "    dx[i] = dy[0] * (%s);", expr);
        emit(e, "}");
    }
}

/* ---- losses ---------------------------------------------------------------------------------- */

static bool shape_loss(Graph *g, Value *v) {
    (void)g;
    const Value *p = v->in[0], *y = v->in[1];
    if (!float_operands(v))
        return false;
    if (!same_layout(p, y) && !(p->shape.rank == y->shape.rank &&
                                !memcmp(p->shape.dim, y->shape.dim, sizeof(int) * (size_t)p->shape.rank))) {
        error_at(v->loc, "%s() needs a prediction and a target of the same shape, got %s and %s",
                 op_info[v->op].name, describe(p), describe(y));
        return false;
    }
    if (v->op == OP_huber && v->attr[0] <= 0) {
        error_at(v->attr_loc[0], "huber(): delta must be positive, got %g", v->attr[0]);
        return false;
    }
    if (p->batched != y->batched) {
        error_at(v->loc, "%s(): the prediction and the target must both be per sample", op_info[v->op].name);
        return false;
    }
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* A loss's reduction: true for `reduction = sum`, false for mean. */
static bool sums(const Value *v) { return v->attr[attr_index(op_info[v->op].sig, "reduction")] != 0; }

/* Elementwise losses, averaged (or summed) over every element of the batch.
 * Each row: the per-element loss (p, t), and its derivative in p. */
static void emit_loss(Emitter *e, const Value *v, int arg) {
    const char *loss, *deriv;
    switch (v->op) {
    case OP_mse:
        loss = "(p - t) * (p - t)";
        deriv = "2.0f * (p - t)";
        break;
    case OP_l1_loss:
        loss = "fabsf(p - t)";
        deriv = "(float)((p > t) - (p < t))";
        break;
    case OP_huber: /* |d| < δ: d²/2, else δ(|d| − δ/2) */
        loss = "fabsf(p - t) < a ? 0.5f * (p - t) * (p - t) : a * (fabsf(p - t) - 0.5f * a)";
        deriv = "p - t <= -a ? -a : p - t >= a ? a : p - t";
        break;
    case OP_bce: /* logs clamped at -100, as PyTorch */
        loss = "-(t * fmaxf(logf(p), -100.0f) + (1.0f - t) * fmaxf(logf(1.0f - p), -100.0f))";
        deriv = "(p - t) / fmaxf((1.0f - p) * p, 1e-12f)";
        break;
    case OP_bce_with_logits: /* (1 − t)·z + log(1 + e^−z), without overflow */
        loss = "(1.0f - t) * p + fmaxf(-p, 0.0f) + logf(expf(-fmaxf(-p, 0.0f)) + expf(-p - fmaxf(-p, 0.0f)))";
        deriv = "1.0f / (1.0f + expf(-p)) - t";
        break;
    case OP_hinge:
        loss = "fmaxf(0.0f, a - t * p)";
        deriv = "a - t * p > 0.0f ? -t : 0.0f";
        break;
    case OP_perceptron: /* the gradient includes the kink y·score = 0 */
        loss = "fmaxf(0.0f, -t * p)";
        deriv = "t * p <= 0.0f ? -t : 0.0f";
        break;
    default:
        ICE("%s is not an elementwise loss", op_info[v->op].name);
    }
    const char *count = count_of(v->in[0]);
    if (v->op == OP_huber || v->op == OP_hinge)
        emit(e, "const float a = %s;", flit(v->attr[0]));
    if (arg < 0) {
        emit(e, "double acc = 0.0;");
        emit(e, "for (int i = 0; i < %s; i++) {", count);
        emit(e, "    const float p = in0[i], t = in1[i];");
        emit(e, "    acc += %s;", loss);
        emit(e, "}");
        if (sums(v))
            emit(e, "out[0] = (float)acc;");
        else
            emit(e, "out[0] = (float)(acc / (%s));", count);
    } else {
        if (sums(v))
            emit(e, "const float scale = dy[0];");
        else
            emit(e, "const float scale = dy[0] / (float)(%s);", count);
        emit(e, "for (int i = 0; i < %s; i++) {", count);
        emit(e, "    const float p = in0[i], t = in1[i];");
        emit(e, "    dx[i] = %sscale * (%s);", arg == 1 ? "-" : "", deriv);
        emit(e, "}");
    }
}

static bool shape_class_loss(Graph *g, Value *v) {
    (void)g;
    const Value *z = v->in[0], *t = v->in[1];
    const char *name = op_info[v->op].name;
    if (z->dtype != DT_FLOAT || z->shape.rank != 1) {
        error_at(v->loc, "%s() needs a vector of per-class scores, got %s", name, describe(z));
        if (z->shape.rank > 1)
            note("insert '|> flatten' before the layer that makes the scores");
        return false;
    }
    if (!z->batched || !t->batched) {
        error_at(v->loc, "%s() needs per-sample scores and labels", name);
        return false;
    }
    int k = z->shape.dim[0];
    if (t->dtype == DT_CLASS) {
        if (t->classes != k) {
            error_at(v->loc, "%s() has %d scores per sample but '%s' has %d classes", name, k, t->name, t->classes);
            note("make the last layer produce %d values, e.g. dense(%d)", t->classes, t->classes);
            return false;
        }
    } else if (v->op != OP_cross_entropy) {
        error_at(v->loc, "%s() needs a class target (target %s : class(%d)), got %s", name,
                 t->name ? t->name : "y", k, describe(t));
        return false;
    } else if (t->shape.rank != 1 || t->shape.dim[0] != k) {
        error_at(v->loc, "cross_entropy() with soft labels needs a target of the logits' shape [%d], got %s", k,
                 describe(t));
        return false;
    }
    if (v->op == OP_multi_margin && v->attr[0] < 0) {
        error_at(v->attr_loc[0], "multi_margin(): margin must not be negative");
        return false;
    }
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* cross_entropy, nll and multi_margin: one row of K scores per sample.
 * A label outside 0..K-1 makes the loss NaN and the row's gradient zero. */
static void emit_class_loss(Emitter *e, const Value *v, int arg) {
    int k = v->in[0]->shape.dim[0];
    bool soft = v->in[1]->dtype == DT_FLOAT;
    if (arg < 0)
        emit(e, "double acc = 0.0;");
    else
        emit(e, sums(v) ? "const float scale = dy[0];" : "const float scale = dy[0] / (float)n;");
    emit(e, "for (int s = 0; s < n; s++) {");
    e->indent++;
    if (arg < 0 || v->op != OP_nll) /* nll's gradient does not read the scores */
        emit(e, "const float *z = in0 + s * %d;", k);
    if (arg >= 0)
        emit(e, "float *d = dx + s * %d;", k);
    if (soft)
        emit(e, "const float *t = in1 + s * %d;", k);
    else {
        emit(e, "const int32_t t = in1[s];");
        emit(e, "if (t < 0 || t >= %d) {", k);
        if (arg < 0)
            emit(e, "    acc = NAN;");
        else
            emit(e, "    for (int i = 0; i < %d; i++) d[i] = 0.0f;", k);
        emit(e, "    continue;");
        emit(e, "}");
    }
    switch (v->op) {
    case OP_cross_entropy:
        emit(e, "float max = z[0], sum = 0.0f;");
        emit(e, "for (int i = 1; i < %d; i++) max = z[i] > max ? z[i] : max;", k);
        emit(e, "for (int i = 0; i < %d; i++) sum += expf(z[i] - max);", k);
        emit(e, "const float lsum = logf(sum);"); /* log_softmax(z)[i] = (z[i] − max) − lsum, as emit_softmax */
        if (arg < 0 && soft) { /* −Σ t·log_softmax(z) */
            emit(e, "for (int i = 0; i < %d; i++) acc -= t[i] * ((z[i] - max) - lsum);", k);
        } else if (arg < 0) {
            emit(e, "acc += lsum - (z[t] - max);");
        } else if (soft) { /* softmax·Σt − t */
            emit(e, "float tsum = 0.0f;");
            emit(e, "for (int i = 0; i < %d; i++) tsum += t[i];", k);
            emit(e, "for (int i = 0; i < %d; i++) d[i] = scale * (expf((z[i] - max) - lsum) * tsum - t[i]);", k);
        } else {
            emit(e, "for (int i = 0; i < %d; i++) d[i] = scale * (expf((z[i] - max) - lsum) - (i == t));", k);
        }
        break;
    case OP_nll:
        if (arg < 0)
            emit(e, "acc -= z[t];");
        else
            emit(e, "for (int i = 0; i < %d; i++) d[i] = i == t ? -scale : 0.0f;", k);
        break;
    default: /* multi_margin: Σ_{i≠t} max(0, margin − z[t] + z[i]) / K */
        emit(e, "const float margin = %s;", flit(v->attr[0]));
        if (arg < 0) {
            emit(e, "for (int i = 0; i < %d; i++)", k);
            emit(e, "    if (i != t) acc += fmaxf(0.0f, margin - z[t] + z[i]) / %s;", flit(k));
        } else {
            emit(e, "for (int i = 0; i < %d; i++) d[i] = 0.0f;", k);
            emit(e, "for (int i = 0; i < %d; i++)", k);
            emit(e, "    if (i != t && margin - z[t] + z[i] > 0.0f) {");
            emit(e, "        d[i] += scale / %s;", flit(k));
            emit(e, "        d[t] -= scale / %s;", flit(k));
            emit(e, "    }");
        }
        break;
    }
    e->indent--;
    emit(e, "}");
    if (arg < 0)
        emit(e, sums(v) ? "out[0] = (float)acc;" : "out[0] = (float)(acc / n);");
}

/* ---- made by the compiler ----------------------------------------------------------------- */

static bool shape_batch_mean(Graph *g, Value *v) {
    (void)g;
    v->shape.rank = 0;
    v->batched = false;
    return true;
}

/* The mean over the batch of a per-sample scalar. */
static void emit_batch_mean(Emitter *e, const Value *v, int arg) {
    (void)v;
    if (arg < 0) {
        emit(e, "double acc = 0.0;");
        emit(e, "for (int s = 0; s < n; s++) acc += in0[s];");
        emit(e, "out[0] = (float)(acc / n);");
    } else
        emit(e, "for (int s = 0; s < n; s++) dx[s] = dy[0] / (float)n;");
}

static void emit_backward(Emitter *e, const Value *v, int arg) {
    (void)e; (void)v; (void)arg; /* op_emit() sends backward nodes to their forward op */
}

static void emit_grad_store(Emitter *e, const Value *v, int arg) {
    (void)arg;
    emit(e, "memcpy(out, in0, sizeof(float) * %d);", size_of(v->in[0]));
}

/* ---- convolution and pooling (NCHW, PyTorch layouts) ------------------------------------- */

/* Loop bounds that keep iy = o*S - P + k inside [0, size): emitted inline. */
static void emit_valid_range(Emitter *e, const char *o, const char *k, int size, int stride, int pad, int out) {
    emit(e, "const int %s0 = %s >= %d ? 0 : (%d - %s + %d) / %d;", o, k, pad, pad, k, stride - 1, stride);
    emit(e, "int %s1 = %d - %s < 0 ? 0 : (%d - %s) / %d + 1;", o, size - 1 + pad, k, size - 1 + pad, k, stride);
    emit(e, "if (%s1 > %d) %s1 = %d;", o, out, o, out);
}

/* A fused step's pooling of one activated conv value y: the first maximum
 * (NaN wins, as in maxpool) or the running sum. */
static void emit_pool_take(Emitter *e, bool max) {
    if (max) {
        emit(e, "if (first || y > top || y != y)");
        emit(e, "    top = y;");
        emit(e, "first = 0;");
    } else
        emit(e, "acc += y;");
}

/* An activation applied to the float variable `var` in place. */
static void emit_act_inplace(Emitter *e, const Value *act, const char *var) {
    const char *expr = rules[act->op].cexpr;
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

typedef struct {
    int F, C, H, W, K, S, P, OH, OW, Hp, Wp; /* Hp, Wp: the zero-padded input */
    int taps, NP, F8, C8;                    /* C·K·K, OH·OW, F and C rounded up to 8 */
} ConvDims;

static ConvDims conv_dims(const Value *conv) {
    const Value *x = conv->in[0];
    ConvDims d = {conv->shape.dim[0], x->shape.dim[0], x->shape.dim[1], x->shape.dim[2], (int)conv->attr[1],
                  (int)conv->attr[2], (int)conv->attr[3], conv->shape.dim[1], conv->shape.dim[2], 0, 0, 0, 0, 0, 0};
    d.Hp = d.H + 2 * d.P, d.Wp = d.W + 2 * d.P;
    d.taps = d.C * d.K * d.K, d.NP = d.OH * d.OW;
    d.F8 = (d.F + 7) / 8 * 8, d.C8 = (d.C + 7) / 8 * 8;
    return d;
}

/* Whether the lane kernels serve a conv whose lanes hold `lanes` channels:
 * at least 4 (half the lanes), and stack arrays of at most 64K floats. */
static bool conv_lanes_fit(const Emitter *e, const ConvDims *d, int lanes) {
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

/* The largest tile: accumulator vectors kept in registers. */
enum { TILE_ACCS = 16 };

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
static void emit_conv_fwd_lanes(Emitter *e, const Value *conv, const Value *pool, const Value *act) {
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
static bool conv_cols_fit(const Emitter *e, const ConvDims *d, const Value *pool, const Value *act) {
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
static void emit_conv_fwd_cols(Emitter *e, const Value *conv, const Value *pool, const Value *act) {
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
static void emit_conv_dw_lanes(Emitter *e, const Value *conv) {
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
static void emit_conv_dx_lanes(Emitter *e, const Value *conv) {
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

static void emit_conv2d_body(Emitter *e, const Value *v, int arg);

/* The weight gradient of a stride-1 conv2d with AVX vectors (DNN_V8):
 * sample by sample (so its input and output gradient stay in cache), each
 * weight's sum over the output positions it touches runs along the rows 8
 * at a time, its lanes added in a fixed order. */
static void emit_conv_dw_v8(Emitter *e, int F, int C, int H, int W, int K, int P, int OH, int OW) {
    emit(e, "#ifdef DNN_V8");
    emit(e, "memset(dx, 0, sizeof(float) * %d);", F * C * K * K);
    emit(e, "for (int s = 0; s < n; s++)");
    emit(e, "for (int f = 0; f < %d; f++)", F);
    emit(e, "for (int c = 0; c < %d; c++)", C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit_valid_range(e, "oy", "ky", H, 1, P, OH);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", W, 1, P, OW);
    emit(e, "dnn_v8 acc = {0};");
    emit(e, "float t = 0.0f;");
    emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
    emit(e, "    const float *g = dy + ((s * %d + f) * %d + oy) * %d;", F, OH, OW);
    emit(e, "    const float *xr = in0 + ((s * %d + c) * %d + oy - %d + ky) * %d - %d + kx;", C, H, P, W, P);
    emit(e, "    int ox = ox0;");
    emit(e, "    for (; ox + 8 <= ox1; ox += 8) acc += dnn_v8_load(g + ox) * dnn_v8_load(xr + ox);");
    emit(e, "    for (; ox < ox1; ox++) t += g[ox] * xr[ox];");
    emit(e, "}");
    emit(e, "dx[((f * %d + c) * %d + ky) * %d + kx] += dnn_v8_sum(acc) + t;", C, K, K);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    emit(e, "#else");
}

/* Direct convolution, weight-stationary: for each weight, a sweep over the
 * output positions it touches, so the inner loop runs along a row. */
static void emit_conv2d(Emitter *e, const Value *v, int arg) {
    const Value *x = v->in[0];
    int F = v->shape.dim[0], OH = v->shape.dim[1], OW = v->shape.dim[2];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int K = (int)v->attr[1], S = (int)v->attr[2], P = (int)v->attr[3];
    ConvDims d = conv_dims(v);
    if (arg < 0 && conv_cols_fit(e, &d, NULL, NULL)) {
        emit_conv_fwd_cols(e, v, NULL, NULL);
        return;
    }
    if (arg < 0 && conv_lanes_fit(e, &d, F)) {
        emit_conv_fwd_lanes(e, v, NULL, NULL);
        return;
    }
    if (arg == 1 && K <= TILE_ACCS && conv_lanes_fit(e, &d, F)) {
        emit_conv_dw_lanes(e, v);
        return;
    }
    if (arg == 0 && K <= TILE_ACCS && conv_lanes_fit(e, &d, C)) {
        emit_conv_dx_lanes(e, v);
        return;
    }
    if (arg == 1 && S == 1 && !e->generic) {
        emit_conv_dw_v8(e, F, C, H, W, K, P, OH, OW);
        emit_conv2d_body(e, v, arg);
        emit(e, "#endif");
        return;
    }
    emit_conv2d_body(e, v, arg);
}

/* The portable direct convolution and its gradients. */
static void emit_conv2d_body(Emitter *e, const Value *v, int arg) {
    const Value *x = v->in[0];
    int F = v->shape.dim[0], OH = v->shape.dim[1], OW = v->shape.dim[2];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int K = (int)v->attr[1], S = (int)v->attr[2], P = (int)v->attr[3];
    if (arg == 2 && !e->generic) { /* db = Σ dy: per position over the samples, then 8 partial sums */
        int NP = OH * OW, NP8 = NP / 8 * 8;
        emit(e, "for (int f = 0; f < %d; f++) {", F);
        e->indent++;
        emit(e, "float col[%d] = {0}, part[8] = {0};", NP);
        emit(e, "for (int s = 0; s < n; s++)");
        emit(e, "    for (int i = 0; i < %d; i++) col[i] += dy[(s * %d + f) * %d + i];", NP, F, NP);
        emit(e, "for (int i = 0; i < %d; i += 8)", NP8);
        emit(e, "    for (int l = 0; l < 8; l++) part[l] += col[i + l];");
        emit(e, "float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
        if (NP8 < NP)
            emit(e, "for (int i = %d; i < %d; i++) acc += col[i];", NP8, NP);
        emit(e, "dx[f] = acc;");
        e->indent--;
        emit(e, "}");
        return;
    }
    if (arg == 2) { /* db = Σ dy over samples and positions */
        emit(e, "for (int f = 0; f < %d; f++) {", F);
        emit(e, "    float acc = 0.0f;");
        emit(e, "    for (int s = 0; s < n; s++)");
        emit(e, "        for (int i = 0; i < %d; i++) acc += dy[(s * %d + f) * %d + i];", OH * OW, F, OH * OW);
        emit(e, "    dx[f] = acc;");
        emit(e, "}");
        return;
    }
    if (arg == 1)
        emit(e, "memset(dx, 0, sizeof(float) * %d);", F * C * K * K);
    emit(e, "for (int s = 0; s < %s; s++) {", samples_of(v));
    e->indent++;
    if (arg != 0)
        emit(e, "const float *xs = in0 + s * %d;", C * H * W);
    if (arg < 0) {
        emit(e, "float *ys = out + s * %d;", F * OH * OW);
        emit(e, "for (int f = 0; f < %d; f++)", F);
        emit(e, "    for (int i = 0; i < %d; i++) ys[f * %d + i] = %s;", OH * OW, OH * OW, v->in[2] ? "in2[f]" : "0.0f");
    } else {
        emit(e, "const float *gs = dy + s * %d;", F * OH * OW);
        if (arg == 0) {
            emit(e, "float *ds = dx + s * %d;", C * H * W);
            emit(e, "memset(ds, 0, sizeof(float) * %d);", C * H * W);
        }
    }
    emit(e, "for (int f = 0; f < %d; f++)", F);
    emit(e, "for (int c = 0; c < %d; c++)", C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit_valid_range(e, "oy", "ky", H, S, P, OH);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", W, S, P, OW);
    const char *widx = arena_printf("((f * %d + c) * %d + ky) * %d + kx", C, K, K);
    const char *xrow = arena_printf("(c * %d + oy * %d - %d + ky) * %d - %d + kx", H, S, P, W, P);
    const char *stride = S == 1 ? "ox" : arena_printf("ox * %d", S);
    if (arg == 1)
        emit(e, "float acc = 0.0f;");
    else
        emit(e, "const float w = in1[%s];", widx);
    emit(e, "for (int oy = oy0; oy < oy1; oy++) {");
    e->indent++;
    if (arg < 0) {
        emit(e, "const float *xr = xs + %s;", xrow);
        emit(e, "float *yr = ys + (f * %d + oy) * %d;", OH, OW);
        emit(e, "for (int ox = ox0; ox < ox1; ox++) yr[ox] += w * xr[%s];", stride);
    } else if (arg == 0) {
        emit(e, "float *dr = ds + %s;", xrow);
        emit(e, "const float *gr = gs + (f * %d + oy) * %d;", OH, OW);
        emit(e, "for (int ox = ox0; ox < ox1; ox++) dr[%s] += w * gr[ox];", stride);
    } else {
        emit(e, "const float *xr = xs + %s;", xrow);
        emit(e, "const float *gr = gs + (f * %d + oy) * %d;", OH, OW);
        emit(e, "for (int ox = ox0; ox < ox1; ox++) acc += xr[%s] * gr[ox];", stride);
    }
    e->indent--;
    emit(e, "}");
    if (arg == 1)
        emit(e, "dx[%s] += acc;", widx);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* --inference: conv2d → activation → pool as one step (plan_inference). Each
 * conv output is computed where the pool needs it — bias, then the sum over
 * channels and kernel rows and columns in conv2d's own order, so the values
 * are the unfused ones — passed through the activation and pooled at once;
 * the full-resolution conv output is never stored. */
static void emit_conv_act_pool(Emitter *e, const Value *v) {
    const Value *conv = v->fused_conv, *act = v->fused_act, *x = v->in[0];
    int max = v->op == OP_maxpool, pad = (int)conv->attr[3], pool_pad = max ? (int)v->attr[2] : 0;
    /* with --optimize=size every size is a parameter (and every bound is checked), so LeNet's two
       conv → relu → pool steps are one function */
    const char *F = dim(e, "filters", conv->shape.dim[0]), *OH = dim(e, "conv_h", conv->shape.dim[1]),
               *OW = dim(e, "conv_w", conv->shape.dim[2]), *C = dim(e, "channels", x->shape.dim[0]),
               *H = dim(e, "height", x->shape.dim[1]), *W = dim(e, "width", x->shape.dim[2]),
               *K = dim(e, "kernel", (long)conv->attr[1]), *S = dim(e, "stride", (long)conv->attr[2]),
               *P = dim(e, "pad", pad), *PH = dim(e, "pool_h", v->shape.dim[1]), *PW = dim(e, "pool_w", v->shape.dim[2]),
               *PK = dim(e, "pool_k", (long)v->attr[0]), *PS = dim(e, "pool_s", (long)v->attr[1]),
               *PP = dim(e, "pool_pad", pool_pad);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int f = 0; f < %s; f++) {", F);
    e->indent++;
    emit(e, "const float *xs = in0 + s * %s * %s * %s, *wf = in1 + f * %s * %s * %s;", C, H, W, C, K, K);
    emit(e, "for (int py = 0; py < %s; py++)", PH);
    emit(e, "for (int px = 0; px < %s; px++) {", PW);
    e->indent++;
    emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
    if (max)
        emit(e, "int first = 1;");
    emit(e, "for (int wy = 0; wy < %s; wy++)", PK);
    emit(e, "for (int wx = 0; wx < %s; wx++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %s - %s + wy, ox = px * %s - %s + wx;", PS, PP, PS, PP);
    if (pool_pad || e->generic)
        emit(e, "if (oy < 0 || oy >= %s || ox < 0 || ox >= %s) continue;", OH, OW);
    emit(e, "float y = %s;", conv->in[2] ? "in2[f]" : "0.0f");
    emit(e, "for (int c = 0; c < %s; c++)", C);
    emit(e, "for (int ky = 0; ky < %s; ky++) {", K);
    e->indent++;
    emit(e, "const int iy = oy * %s - %s + ky;", S, P);
    if (pad || e->generic)
        emit(e, "if (iy < 0 || iy >= %s) continue;", H);
    emit(e, "for (int kx = 0; kx < %s; kx++) {", K);
    emit(e, "    const int ix = ox * %s - %s + kx;", S, P);
    if (pad || e->generic)
        emit(e, "    if (ix < 0 || ix >= %s) continue;", W);
    emit(e, "    y += wf[(c * %s + ky) * %s + kx] * xs[(c * %s + iy) * %s + ix];", K, K, H, W);
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    if (act)
        emit_act_inplace(e, act, "y");
    emit_pool_take(e, max);
    e->indent--;
    emit(e, "}");
    emit(e, "out[((s * %s + f) * %s + py) * %s + px] = %s;", F, PH, PW,
         max ? "top" : arena_printf("acc / (float)(%s * %s)", PK, PK));
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* The same fused step at speed (--optimize=speed): per pool row, the conv
 * rows its windows cover are computed whole into a small array — each
 * weight swept along a row, which the C compiler vectorises, summing bias,
 * channels, kernel rows and columns in conv2d's order — activated, then
 * pooled. Still no full conv output: the array holds pool_k rows. */
static void emit_conv_act_pool_rows(Emitter *e, const Value *v) {
    const Value *conv = v->fused_conv, *act = v->fused_act, *x = v->in[0];
    int F = conv->shape.dim[0], OH = conv->shape.dim[1], OW = conv->shape.dim[2];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int K = (int)conv->attr[1], S = (int)conv->attr[2], P = (int)conv->attr[3];
    int PH = v->shape.dim[1], PW = v->shape.dim[2];
    int PK = (int)v->attr[0], PS = (int)v->attr[1], PP = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    bool max = v->op == OP_maxpool;
    emit(e, "float rows[%d][%d];", PK, OW);
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int f = 0; f < %d; f++) {", F);
    e->indent++;
    emit(e, "const float *xs = in0 + s * %d, *wf = in1 + f * %d;", C * H * W, C * K * K);
    emit(e, "for (int py = 0; py < %d; py++) {", PH);
    e->indent++;
    emit(e, "for (int wy = 0; wy < %d; wy++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %d - %d + wy;", PS, PP);
    emit(e, "float *row = rows[wy];");
    if (PP)
        emit(e, "if (oy < 0 || oy >= %d) continue;", OH);
    emit(e, "for (int ox = 0; ox < %d; ox++) row[ox] = %s;", OW, conv->in[2] ? "in2[f]" : "0.0f");
    emit(e, "for (int c = 0; c < %d; c++)", C);
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    e->indent++;
    emit(e, "const int iy = oy * %d - %d + ky;", S, P);
    if (P)
        emit(e, "if (iy < 0 || iy >= %d) continue;", H);
    emit(e, "const float *xr = xs + (c * %d + iy) * %d;", H, W);
    emit(e, "for (int kx = 0; kx < %d; kx++) {", K);
    e->indent++;
    emit_valid_range(e, "ox", "kx", W, S, P, OW);
    emit(e, "const float w = wf[(c * %d + ky) * %d + kx];", K, K);
    emit(e, "for (int ox = ox0; ox < ox1; ox++) row[ox] += w * xr[ox * %d - %d + kx];", S, P);
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    if (act) {
        const char *expr = rules[act->op].cexpr;
        emit(e, "for (int ox = 0; ox < %d; ox++) { /* %s */", OW, op_info[act->op].name);
        if ((act->op == OP_leaky_relu || act->op == OP_elu) && uses(expr, "a"))
            emit(e, "    const float a = %s;", flit(act->attr[0]));
        emit(e, "    const float x = row[ox];");
        emit(e, "    row[ox] = %s;", expr);
        emit(e, "}");
    }
    e->indent--;
    emit(e, "}");
    emit(e, "for (int px = 0; px < %d; px++) {", PW);
    e->indent++;
    emit(e, max ? "float top = -INFINITY;" : "float acc = 0.0f;");
    if (max)
        emit(e, "int first = 1;");
    emit(e, "for (int wy = 0; wy < %d; wy++)", PK);
    emit(e, "for (int wx = 0; wx < %d; wx++) {", PK);
    e->indent++;
    emit(e, "const int oy = py * %d - %d + wy, ox = px * %d - %d + wx;", PS, PP, PS, PP);
    if (PP)
        emit(e, "if (oy < 0 || oy >= %d || ox < 0 || ox >= %d) continue;", OH, OW);
    else
        emit(e, "(void)oy;");
    emit(e, "const float y = rows[wy][ox];");
    emit_pool_take(e, max);
    e->indent--;
    emit(e, "}");
    emit(e, "out[((s * %d + f) * %d + py) * %d + px] = %s;", F, PH, PW, max ? "top" : arena_printf("acc / (float)(%d * %d)", PK, PK));
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* The gradient of 2×2 windows, 4 windows (8 columns of both rows) at a
 * time with DNN_V8: the same choice as the scalar code below — the window's
 * first element equal to its output (or the first NaN when that is NaN),
 * else the last one — made for the 8 lanes of each row at once, a lane's
 * even neighbour telling the odd lane whether it came first
 * (tests/kernels checks the two agree on ties and NaNs). */
static void emit_maxpool2_grad_v8(Emitter *e, int W) {
    emit(e, "#ifdef DNN_V8");
    emit(e, "for (; ox + 4 <= %d; ox += 4) {", W / 2);
    e->indent++;
    emit(e, "const dnn_v8 t = dnn_v8_load(xr + 2 * ox), b = dnn_v8_load(xr + %d + 2 * ox);", W);
    emit(e, "const float *to = out + o + ox, *go = dy + o + ox;");
    emit(e, "const dnn_v8 top = {to[0], to[0], to[1], to[1], to[2], to[2], to[3], to[3]};");
    emit(e, "const dnn_v8 g = {go[0], go[0], go[1], go[1], go[2], go[2], go[3], go[3]}, zero = {0};");
    emit(e, "const dnn_v8i odd = {0, -1, 0, -1, 0, -1, 0, -1}, nan = top != top;");
    emit(e, "const dnn_v8i mt = (t == top) | ((t != t) & nan), mb = (b == top) | ((b != b) & nan);");
    emit(e, "const dnn_v8i mt_even = dnn_v8i_evens(mt), mt_odd = dnn_v8i_odds(mt), mb_even = dnn_v8i_evens(mb);");
    emit(e, "const dnn_v8i first_t = mt & ~(mt_even & odd);");
    emit(e, "const dnn_v8i first_b = ~(mt_even | mt_odd) & ((mb & ~odd) | (~mb_even & odd));");
    emit(e, "dnn_v8_store(dr + 2 * ox, dnn_v8_select(first_t, g, zero));");
    emit(e, "dnn_v8_store(dr + %d + 2 * ox, dnn_v8_select(first_b, g, zero));", W);
    e->indent--;
    emit(e, "}");
    emit(e, "#endif");
}

/* maxpool with windows that tile the input (stride = kernel, no padding),
 * at speed: the forward pass takes each window's first maximum (NaN wins)
 * without branches; the gradient finds that element again as the window's
 * first one equal to the stored output (`out`; the first NaN if that is
 * NaN, else the last), and writes every input's
 * gradient once — dy there, 0 elsewhere — so no zeroing pass and no
 * scattered adds. */
static void emit_maxpool_tiled(Emitter *e, const Value *v, int arg) {
    const Value *x = v->in[0];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int OH = v->shape.dim[1], OW = v->shape.dim[2], K = (int)v->attr[0];
    if (arg >= 0 && (H % K || W % K)) /* the rows and columns no window covers */
        emit(e, "memset(dx, 0, sizeof(float) * %s);", count_of(x));
    emit(e, "for (int sc = 0; sc < %s * %d; sc++)", samples_of(v), C);
    emit(e, "for (int oy = 0; oy < %d; oy++) {", OH);
    e->indent++;
    emit(e, "const float *xr = in0 + (sc * %d + oy * %d) * %d;", H, K, W);
    emit(e, "const int o = (sc * %d + oy) * %d;", OH, OW);
    if (arg >= 0)
        emit(e, "float *dr = dx + (sc * %d + oy * %d) * %d;", H, K, W);
    emit(e, "int ox = 0;");
    if (arg >= 0 && K == 2 && OW >= 4)
        emit_maxpool2_grad_v8(e, W);
    emit(e, "for (; ox < %d; ox++) {", OW);
    e->indent++;
    if (arg < 0) {
        emit(e, "float top = xr[ox * %d];", K);
        for (int i = 1; i < K * K; i++) {
            emit(e, "{");
            emit(e, "    const float val = xr[%d + ox * %d];", i / K * W + i % K, K);
            emit(e, "    top = val > top || val != val ? val : top;");
            emit(e, "}");
        }
        emit(e, "out[o + ox] = top;");
    } else {
        emit(e, "const float top = out[o + ox], g = dy[o + ox];");
        emit(e, "const int nan = top != top;");
        const char *before = "";
        for (int i = 0; i < K * K; i++) {
            int at = i / K * W + i % K;
            if (i < K * K - 1) {
                emit(e, "const float v%d = xr[%d + ox * %d];", i, at, K);
                emit(e, "const int m%d = %s((v%d == top) | ((v%d != v%d) & nan));", i, before, i, i, i);
            } else
                emit(e, "const int m%d = %s1;", i, before);
            before = arena_printf("%s(m%d ^ 1) & ", before, i);
        }
        for (int i = 0; i < K * K; i++)
            emit(e, "dr[%d + ox * %d] = m%d ? g : 0.0f;", i / K * W + i % K, K, i);
    }
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* maxpool and avgpool, floor mode. maxpool's gradient goes to the first
 * maximum of each window (NaN counts as a maximum), as PyTorch's CPU kernel;
 * the arg-max is found again from the input rather than stored. */
static void emit_pool(Emitter *e, const Value *v, int arg) {
    if (v->fused_conv) {
        ConvDims d = conv_dims(v->fused_conv);
        if (e->generic)
            emit_conv_act_pool(e, v); /* --optimize=size: no row array, shared between layers */
        else if (conv_cols_fit(e, &d, v, v->fused_act))
            emit_conv_fwd_cols(e, v->fused_conv, v, v->fused_act);
        else if (conv_lanes_fit(e, &d, d.F) && (v->op != OP_maxpool || v->attr[2] == 0))
            emit_conv_fwd_lanes(e, v->fused_conv, v, v->fused_act);
        else
            emit_conv_act_pool_rows(e, v);
        return;
    }
    if (!e->generic && v->op == OP_maxpool && v->attr[0] > 1 && v->attr[1] == v->attr[0] && v->attr[2] == 0) {
        emit_maxpool_tiled(e, v, arg);
        return;
    }
    const Value *x = v->in[0];
    int C = x->shape.dim[0], H = x->shape.dim[1], W = x->shape.dim[2];
    int OH = v->shape.dim[1], OW = v->shape.dim[2];
    int K = (int)v->attr[0], S = (int)v->attr[1], P = v->op == OP_maxpool ? (int)v->attr[2] : 0;
    bool max = v->op == OP_maxpool;
    if (arg >= 0)
        emit(e, "memset(dx, 0, sizeof(float) * %s);", count_of(x));
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "for (int c = 0; c < %d; c++) {", C);
    e->indent++;
    if (max || arg < 0)
        emit(e, "const float *xc = in0 + (s * %d + c) * %d;", C, H * W);
    if (arg >= 0)
        emit(e, "float *dc = dx + (s * %d + c) * %d;", C, H * W);
    emit(e, "for (int oy = 0; oy < %d; oy++)", OH);
    emit(e, "for (int ox = 0; ox < %d; ox++) {", OW);
    e->indent++;
    const char *o = arena_printf("(s * %d + c) * %d + oy * %d + ox", C, OH * OW, OW);
    if (max) {
        emit(e, "int best = -1;");
        emit(e, "float top = -INFINITY;");
    } else if (arg < 0)
        emit(e, "float acc = 0.0f;");
    emit(e, "for (int ky = 0; ky < %d; ky++) {", K);
    emit(e, "    const int iy = oy * %d - %d + ky;", S, P);
    if (P)
        emit(e, "    if (iy < 0 || iy >= %d) continue;", H);
    emit(e, "    for (int kx = 0; kx < %d; kx++) {", K);
    emit(e, "        const int ix = ox * %d - %d + kx;", S, P);
    if (P)
        emit(e, "        if (ix < 0 || ix >= %d) continue;", W);
    if (max) {
        emit(e, "        const float val = xc[iy * %d + ix];", W);
        emit(e, "        if (best < 0 || val > top || val != val) {");
        emit(e, "            top = val;");
        emit(e, "            best = iy * %d + ix;", W);
        emit(e, "        }");
        emit(e, "        if (top != top) break;");
    } else if (arg < 0)
        emit(e, "        acc += xc[iy * %d + ix];", W);
    else
        emit(e, "        dc[iy * %d + ix] += dy[%s] / %s;", W, o, flit(K * K));
    emit(e, "    }");
    if (max)
        emit(e, "    if (top != top) break;");
    emit(e, "}");
    if (max && arg < 0)
        emit(e, "out[%s] = top;", o);
    else if (max)
        emit(e, "dc[best] += dy[%s];", o);
    else if (arg < 0)
        emit(e, "out[%s] = acc / %s;", o, flit(K * K));
    e->indent--;
    emit(e, "}");
    e->indent--;
    emit(e, "}");
}

/* ---- train/eval layers ----------------------------------------------------------------------- */

/* Inverted dropout: in training each element is kept with probability 1−p
 * and scaled by 1/(1−p); the mask (0 or the scale) is kept after the result
 * for the backward pass. In eval it is the identity. */
static void emit_dropout(Emitter *e, const Value *v, int arg) {
    const char *mask = arena_printf("out + %ld", shape_size(&v->shape) * (v->batched ? e->g->train.batch : 1));
    double p = v->attr[0];
    if (arg >= 0) {
        emit(e, "const float *mask = %s;", mask);
        emit(e, "for (int i = 0; i < %s; i++) dx[i] = dy[i] * mask[i];", count_of(v));
        return;
    }
    emit(e, "if (!training) {");
    emit(e, "    memcpy(out, in0, sizeof(float) * %s);", count_of(v));
    emit(e, "    return;");
    emit(e, "}");
    emit(e, "float *mask = %s;", mask);
    emit(e, "for (int i = 0; i < %s; i++) {", count_of(v));
    emit(e, "    mask[i] = dnn_rng_float(rng) < %s ? 0.0f : %s;", flit(p), flit(1.0 / (1.0 - p)));
    emit(e, "    out[i] = in0[i] * mask[i];");
    emit(e, "}");
}

/* The batch's mean m and sum of squared deviations sq for channel c. */
static void emit_batch_stats(Emitter *e, const char *xi, int HW, const char *ind) {
    emit(e, "%sdouble sum = 0.0, sq = 0.0;", ind);
    emit(e, "%sfor (int s = 0; s < n; s++)", ind);
    emit(e, "%s    for (int i = 0; i < %d; i++) sum += in0[%s];", ind, HW, xi);
    emit(e, "%sconst double m = sum / (n * %d);", ind, HW);
    emit(e, "%sfor (int s = 0; s < n; s++)", ind);
    emit(e, "%s    for (int i = 0; i < %d; i++) sq += (in0[%s] - m) * (in0[%s] - m);", ind, HW, xi, xi);
}

/* BatchNorm1d/2d: per channel over the batch (and positions). Training
 * normalises with the batch's statistics (biased variance) and moves the
 * running ones (unbiased variance), as PyTorch; eval uses the running ones.
 * The backward pass recomputes the batch statistics from the input. */
static void emit_batchnorm(Emitter *e, const Value *v, int arg) {
    int C = v->shape.dim[0], HW = (int)(shape_size(&v->shape) / C);
    double mom = v->attr[0], eps = v->attr[1];
    const char *xi = arena_printf("(s * %d + c) * %d + i", C, HW);
    if (arg < 0) {
        emit(e, "/* in3, in4: running mean and variance; in5: batches seen (buffers, updated here) */");
        emit(e, "float *running_mean = (float *)in3, *running_var = (float *)in4, *tracked = (float *)in5;");
        emit(e, "if (training)");
        emit(e, "    *tracked += 1.0f;");
        emit(e, "for (int c = 0; c < %d; c++) {", C);
        e->indent++;
        emit(e, "float mean = running_mean[c], var = running_var[c];");
        emit(e, "if (training) {");
        emit_batch_stats(e, xi, HW, "    ");
        emit(e, "    mean = (float)m;");
        emit(e, "    var = (float)(sq / (n * %d));", HW);
        emit(e, "    const double unbiased = n * %d > 1 ? sq / (n * %d - 1) : sq;", HW, HW);
        emit(e, "    running_mean[c] = %s * running_mean[c] + %s * mean;", flit(1 - mom), flit(mom));
        emit(e, "    running_var[c] = %s * running_var[c] + %s * (float)unbiased;", flit(1 - mom), flit(mom));
        emit(e, "}");
        emit(e, "const float inv = 1.0f / sqrtf(var + %s), w = in1[c], b = in2[c];", flit(eps));
        emit(e, "for (int s = 0; s < n; s++)");
        emit(e, "    for (int i = 0; i < %d; i++) out[%s] = (in0[%s] - mean) * inv * w + b;", HW, xi, xi);
    } else {
        /* dβ = Σdy, dγ = Σdy·x̂, dx = γ·inv/M · (M·dy − dβ − x̂·dγ) */
        bool need_beta = arg != 1, need_gamma = arg != 2;
        emit(e, "for (int c = 0; c < %d; c++) {", C);
        e->indent++;
        if (need_gamma) {
            emit_batch_stats(e, xi, HW, "");
            emit(e, "const float mean = (float)m, inv = 1.0f / sqrtf((float)(sq / (n * %d)) + %s);", HW, flit(eps));
        }
        emit(e, "float%s%s%s;", need_beta ? " dbeta = 0.0f" : "", need_beta && need_gamma ? "," : "",
             need_gamma ? " dgamma = 0.0f" : "");
        emit(e, "for (int s = 0; s < n; s++)");
        emit(e, "    for (int i = 0; i < %d; i++) {", HW);
        if (need_beta)
            emit(e, "        dbeta += dy[%s];", xi);
        if (need_gamma)
            emit(e, "        dgamma += dy[%s] * (in0[%s] - mean) * inv;", xi, xi);
        emit(e, "    }");
        if (arg == 1)
            emit(e, "dx[c] = dgamma;");
        else if (arg == 2)
            emit(e, "dx[c] = dbeta;");
        else {
            emit(e, "const float scale = in1[c] * inv / (float)(n * %d);", HW);
            emit(e, "for (int s = 0; s < n; s++)");
            emit(e, "    for (int i = 0; i < %d; i++)", HW);
            emit(e, "        dx[%s] = scale * ((float)(n * %d) * dy[%s] - dbeta - (in0[%s] - mean) * inv * dgamma);",
                 xi, HW, xi, xi);
        }
    }
    e->indent--;
    emit(e, "}");
}

/* PReLU with one shared slope: y = x > 0 ? x : a·x. */
static void emit_prelu(Emitter *e, const Value *v, int arg) {
    if (arg < 0) {
        emit(e, "const float a = in1[0];");
        emit(e, "for (int i = 0; i < %s; i++) out[i] = in0[i] > 0.0f ? in0[i] : a * in0[i];", count_of(v));
    } else if (arg == 0) {
        emit(e, "const float a = in1[0];");
        emit(e, "for (int i = 0; i < %s; i++) dx[i] = in0[i] > 0.0f ? dy[i] : a * dy[i];", count_of(v));
    } else {
        emit(e, "float acc = 0.0f;");
        emit(e, "for (int i = 0; i < %s; i++) acc += in0[i] > 0.0f ? 0.0f : in0[i] * dy[i];", count_of(v));
        emit(e, "dx[0] = acc;");
    }
}

/* ---- concat and maxout's group maximum ------------------------------------------------------- */

/* concat(a, b, axis): per sample, `outer` blocks of a's slice then b's. */
static void emit_concat(Emitter *e, const Value *v, int arg) {
    const Value *a = v->in[0], *b = v->in[1];
    int axis = (int)v->attr[0], outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= v->shape.dim[i];
    for (int i = axis + 1; i < v->shape.rank; i++)
        inner *= v->shape.dim[i];
    int la = a->shape.dim[axis] * inner, lb = b->shape.dim[axis] * inner;
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int o = 0; o < %d; o++) {", outer);
    emit(e, "        float *row = %s + (s * %d + o) * %d;", arg < 0 ? "out" : "(float *)dy", outer, la + lb);
    if (arg < 0) {
        emit(e, "        memcpy(row, in0 + (s * %d + o) * %d, sizeof(float) * %d);", outer, la, la);
        emit(e, "        memcpy(row + %d, in1 + (s * %d + o) * %d, sizeof(float) * %d);", la, outer, lb, lb);
    } else if (arg == 0)
        emit(e, "        memcpy(dx + (s * %d + o) * %d, row, sizeof(float) * %d);", outer, la, la);
    else
        emit(e, "        memcpy(dx + (s * %d + o) * %d, row + %d, sizeof(float) * %d);", outer, lb, la, lb);
    emit(e, "    }");
}

static bool shape_group_max(Graph *g, Value *v) {
    (void)g;
    v->shape = (Shape){1, {v->in[0]->shape.dim[0] / (int)v->attr[0]}};
    v->batched = v->in[0]->batched;
    return true;
}

/* out[j] = max of in[j·P … j·P+P−1]; the gradient goes to the first maximum. */
static void emit_group_max(Emitter *e, const Value *v, int arg) {
    int P = (int)v->attr[0], units = v->shape.dim[0];
    emit(e, "for (int s = 0; s < %s; s++)", samples_of(v));
    emit(e, "    for (int j = 0; j < %d; j++) {", units);
    emit(e, "        const float *z = in0 + (s * %d + j) * %d;", units, P);
    emit(e, "        int best = 0;");
    emit(e, "        for (int p = 1; p < %d; p++) best = z[p] > z[best] ? p : best;", P);
    if (arg < 0)
        emit(e, "        out[s * %d + j] = z[best];", units);
    else {
        emit(e, "        float *d = dx + (s * %d + j) * %d;", units, P);
        emit(e, "        for (int p = 0; p < %d; p++) d[p] = p == best ? dy[s * %d + j] : 0.0f;", P, units);
    }
    emit(e, "    }");
}
