/* lower.c — AST → IR.
 *
 * Entry: lower_models(). Each `model` becomes a Graph whose values are in
 * creation order, which is a topological order. Names are resolved here,
 * calls are bound to their op's signature (ops.def), layer calls create
 * their parameters named as PyTorch's state_dict keys (language.md §5):
 *
 *   fc1 = dense(x, 128);            fc1.weight, fc1.bias
 *   f = x |> dense(8) |> relu ...   f.0.weight, f.0.bias (stage i → f.i)
 *
 * Parameter shapes are left open: the consuming layer's shape rule sets
 * them (shape.c), as PyTorch's lazy modules do. The train block is
 * lower_train.c's.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- lowering of one model ---------------------------------------------------- */

static Value *lower_expr(Ctx *c, const Node *n);

static Value *constant(Ctx *c, double x, Loc loc) {
    Value *v = new_value(c->g, OP_constant, loc);
    v->attr[0] = x;
    v->shaped = true;
    return v;
}

static Value *new_param(Ctx *c, const char *name, Loc loc) {
    Value *p = new_value(c->g, OP_param, loc);
    p->name = name;
    p->trainable = true;
    p->stmt_line = c->line;
    if (map_get(&c->params, name)) {
        error_at(loc, "a parameter named '%s' already exists", name);
        note("name the layers apart, e.g. with separate statements");
    } else
        map_put(&c->params, name, p);
    push_value(&c->g->params, &c->g->nparams, p);
    return p;
}

/* A layer call: creates its parameters under `prefix` (fc1, features.3)
 * and appends them to v's operands. They are made before v itself, so that
 * creation order stays topological. */
static void add_layer_params(Ctx *c, Value *v, const char *prefix) {
    Value *w, *b;
    switch (v->op) {
    case OP_dense:
    case OP_conv2d:
    case OP_maxout:
        w = new_param(c, arena_printf("%s.weight", prefix), v->loc);
        w->is_weight = true;
        v->in[v->nin++] = w;
        b = NULL;
        if (v->attr[v->op == OP_dense ? 1 : v->op == OP_conv2d ? 4 : 2]) {
            b = new_param(c, arena_printf("%s.bias", prefix), v->loc);
            b->is_bias = true;
        }
        v->in[v->nin++] = b;
        break;
    case OP_batchnorm:
        w = new_param(c, arena_printf("%s.weight", prefix), v->loc);
        b = new_param(c, arena_printf("%s.bias", prefix), v->loc);
        w->has_fill = b->has_fill = true;
        w->fill = 1;
        b->fill = 0;
        v->in[v->nin++] = w;
        v->in[v->nin++] = b;
        /* PyTorch's buffers, saved under its names (the counter as I64 by the runtime) */
        for (int i = 0; i < 3; i++) {
            static const char *const names[] = {"running_mean", "running_var", "num_batches_tracked"};
            Value *buf = new_param(c, arena_printf("%s.%s", prefix, names[i]), v->loc);
            buf->trainable = false;
            buf->is_buffer = true;
            buf->has_fill = true;
            buf->fill = i == 1;
            buf->shaped = i == 2; /* a scalar; the others get [C] from the shape rule */
            v->in[v->nin++] = buf;
        }
        break;
    case OP_prelu:
        w = new_param(c, arena_printf("%s.weight", prefix), v->loc);
        w->has_fill = true;
        w->fill = 0.25f;
        w->shape = (Shape){1, {1}};
        w->shaped = true;
        v->in[v->nin++] = w;
        break;
    default:
        ICE("%s is not a layer", op_info[v->op].name);
    }
}

/* The links of a chain of binary operators or pipes (a + b + c, x |> f |> g),
 * innermost first, in an array from malloc that the caller frees: long
 * chains are walked with loops, not recursion. */
static const Node **chain_spine(const Node *n, int *len) {
    *len = 0;
    for (const Node *p = n; p->kind == N_BINOP || p->kind == N_PIPE; p = p->a)
        (*len)++;
    const Node **spine = malloc(sizeof *spine * (size_t)*len);
    if (!spine)
        ICE("out of memory");
    int k = *len;
    for (const Node *p = n; k > 0; p = p->a)
        spine[--k] = p;
    return spine;
}

/* Counts the parameterised calls of an expression that are not pipe stages. */
static int count_layers(const Node *n, const Node **second) {
    if (!n)
        return 0;
    int count = 0;
    switch (n->kind) {
    case N_CALL:
        for (int op = 0; op < OP_COUNT; op++)
            if ((op_info[op].flags & F_LAYER) && !strcmp(op_info[op].name, n->name))
                count = 1;
        for (const Node *a = n->list; a; a = a->next) {
            int k = count_layers(a->kind == N_KWARG ? a->a : a, second);
            if (count + k >= 2 && !*second)
                *second = count ? n : a;
            count += k;
        }
        return count;
    case N_PIPE:
    case N_BINOP: {
        /* a chain, walked from its innermost link out (it can be very long) */
        int len;
        const Node **spine = chain_spine(n, &len);
        count = count_layers(spine[0]->a, second);
        for (int i = 0; i < len; i++) {
            if (spine[i]->kind == N_PIPE) {
                /* the stage itself is named by its position; its arguments are not */
                for (const Node *a = spine[i]->b->list; a; a = a->next) {
                    const Node *arg = a->kind == N_KWARG ? a->a : a;
                    int k = count_layers(arg, second);
                    if (count + k >= 2 && !*second) /* a layer in a stage's argument (found by fuzzing) */
                        *second = arg;
                    count += k;
                }
                continue;
            }
            int kb = count_layers(spine[i]->b, second);
            if (count && kb && !*second)
                *second = spine[i]->b;
            count += kb;
        }
        free(spine);
        return count;
    }
    case N_NEG:
        return count_layers(n->a, second);
    default:
        return 0;
    }
}

static OpKind find_op(const char *name) {
    for (int op = 0; op < OP_COUNT; op++)
        if (!(op_info[op].flags & F_INTERNAL) && !strcmp(op_info[op].name, name))
            return (OpKind)op;
    return OP_COUNT;
}

/* l1(p)/l2(p) over a parameter set: one node whose operands are the set's
 * tensors (its step adds their penalties in this order). A set too large
 * for one node (its gradient node reads dy, the tensors and the result)
 * becomes one node per tensor, added in the same order: the same sum. */
static Value *lower_penalty(Ctx *c, OpKind op, const Node *call, const Node *set) {
    Graph *g = c->g;
    Value *sum = NULL;
    if (set->kind != N_NAME) {
        error_at(set->loc, "%s() takes a parameter name, 'weights' or 'params'", op_info[op].name);
        return constant(c, 0, call->loc);
    }
    size_t len = strlen(set->name);
    Value **match = arena_alloc(sizeof(Value *) * (size_t)(g->nparams + 1));
    int nmatch = 0;
    for (int i = 0; i < g->nparams; i++) {
        Value *p = g->params[i];
        if (!strcmp(set->name, "weights") ? p->is_weight
            : !strcmp(set->name, "params") ? p->trainable && !p->is_buffer
            : !strcmp(p->name, set->name) ||
              (!strncmp(p->name, set->name, len) && p->name[len] == '.' && !p->is_buffer))
            match[nmatch++] = p;
    }
    int per_node = nmatch <= MAX_PENALTY ? nmatch : 1;
    for (int i = 0; i < nmatch; i += per_node) {
        Value *v = new_value(g, op, call->loc);
        ir_operands(v, per_node);
        for (int k = 0; k < per_node; k++)
            v->in[v->nin++] = match[i + k];
        v->attr_loc[0] = set->loc; /* summaries name the set as written */
        v->label = c->stmt;
        sum = sum ? ir_binary(g, OP_add, sum, v, call->loc) : v;
    }
    if (!sum) {
        error_at(set->loc, "%s(%s) names no parameter", op_info[op].name, set->name);
        const char **names = arena_alloc(sizeof(char *) * (size_t)(g->nparams + 1));
        for (int i = 0; i < g->nparams; i++)
            names[i] = g->params[i]->name;
        const char *near = closest_name(set->name, names, g->nparams);
        if (near)
            note("did you mean '%s'?", near);
        else if (strcmp(set->name, "weights") && strcmp(set->name, "params"))
            note("write a parameter's name (fc1.weight), a layer's name (fc1), 'weights' or 'params'");
        return constant(c, 0, call->loc);
    }
    return sum;
}

/* A call, possibly a pipe stage (then `first` is the piped value and
 * `stage_name` its NAME.i). */
static Value *lower_call(Ctx *c, const Node *call, const Node *first, Value *piped, const char *stage_name) {
    Graph *g = c->g;
    OpKind op = find_op(call->name);
    if (op == OP_COUNT) {
        error_at(call->loc, "unknown function '%s'", call->name);
        const char *names[OP_COUNT];
        int n = 0;
        for (int i = 0; i < OP_COUNT; i++)
            if (!(op_info[i].flags & F_INTERNAL))
                names[n++] = op_info[i].name;
        const char *near = closest_name(call->name, names, n);
        if (near)
            note("did you mean '%s'?", near);
        if (map_get(&c->syms, call->name))
            note("'%s' is a value, not a function", call->name);
        return NULL;
    }
    const char *what = arena_printf("%s()", call->name);
    Binding b;
    if (!bind_op_args(op_info[op].sig, what, call, first, &b))
        return NULL;
    if (op == OP_l1 || op == OP_l2)
        return lower_penalty(c, op, call, b.nodes[0]);

    Value *in[MAX_INPUTS];
    for (int i = 0; i < b.ntensors; i++) /* a piped value was lowered by the caller */
        if (!(in[i] = first && b.tensors[i] == first ? piped : lower_expr(c, b.tensors[i])))
            return NULL;
    /* the node is filled in a scratch Value first, so that a layer's
     * parameters are created (and numbered) before it */
    Value scratch = {.op = op, .loc = call->loc, .in = arena_alloc(sizeof(Value *) * NODE_INPUTS), .nin = b.ntensors};
    Value *v = &scratch;
    memcpy(v->in, in, sizeof(Value *) * (size_t)b.ntensors);
    memcpy(v->attr, b.vals, sizeof b.vals);
    memcpy(v->attr_loc, b.locs, sizeof b.locs);
    v->label = stage_name ? stage_name : c->stmt;
    v->stmt_line = c->line;
    if (op == OP_reshape) { /* the dims list becomes the shape, checked in shape.c */
        int r = 0;
        for (const Node *d = b.nodes[0]->list; d; d = d->next, r++) {
            double x;
            if (r == MAX_RANK) {
                error_at(d->loc, "reshape() supports at most %d dimensions", MAX_RANK);
                return NULL;
            }
            if (!const_eval(d, &x) || x != floor(x) || x < 1 || x > 2147483647.0) {
                error_at(d->loc, "reshape() dimensions must be positive whole numbers");
                return NULL;
            }
            v->shape.dim[r] = (int)x;
        }
        v->shape.rank = r;
    }
    if (op_info[op].flags & F_LAYER)
        add_layer_params(c, v, stage_name ? stage_name : c->stmt);
    v = new_value(g, op, call->loc);
    int id = v->id;
    *v = scratch;
    v->id = id;
    if (op == OP_maxout) { /* the max over each unit's pieces */
        Value *m = ir_node(g, OP_group_max, call->loc, v, NULL, NULL);
        m->attr[0] = v->attr[1];
        return m;
    }
    return v;
}

/* One link of a chain: `v op right` or `v |> stage`. */
static Value *lower_link(Ctx *c, const Node *n, Value *v, int stage) {
    if (n->kind == N_PIPE)
        return lower_call(c, n->b, n->a, v, arena_printf("%s.%d", c->stmt, stage));
    Value *b = lower_expr(c, n->b);
    if (!v || !b)
        return NULL;
    OpKind op = n->op == '+' ? OP_add : n->op == '-' ? OP_sub : n->op == '*' ? OP_mul
              : n->op == '/' ? OP_div : OP_matmul;
    v = ir_binary(c->g, op, v, b, n->loc);
    v->label = c->stmt;
    v->stmt_line = c->line;
    return v;
}

/* A left-associative chain of operators and pipes (a + b + c ...,
 * x |> f |> g ...), lowered with a loop from its innermost link out, not by
 * recursion: a one-line sum can have a million terms. A constant prefix
 * (1 + 2 + x) becomes one constant; stage i of a pipe is named NAME.i. */
static Value *lower_chain(Ctx *c, const Node *n) {
    int len;
    const Node **spine = chain_spine(n, &len);
    /* the longest constant prefix, folded as const_eval folds it */
    int folded = -1;
    double x = 0, y;
    bool constant_so_far = const_eval(spine[0]->a, &x);
    for (int i = 0; i < len && constant_so_far; i++) {
        constant_so_far = spine[i]->kind == N_BINOP && spine[i]->op != '@' && const_eval(spine[i]->b, &y) &&
                          isfinite(const_fold(spine[i]->op, x, y));
        if (constant_so_far) {
            x = const_fold(spine[i]->op, x, y);
            folded = i;
        }
    }
    Value *v = folded >= 0 ? constant(c, x, spine[folded]->loc) : lower_expr(c, spine[0]->a);
    int pipes = 0; /* pipe links in a row: the stage index */
    for (int i = folded + 1; i < len; i++) {
        int stage = spine[i]->kind == N_PIPE ? pipes++ : (pipes = 0);
        v = lower_link(c, spine[i], v, stage);
    }
    free(spine);
    return v;
}

static Value *lower_expr(Ctx *c, const Node *n) {
    Graph *g = c->g;
    switch (n->kind) {
    case N_NUM:
        return constant(c, n->num, n->loc);
    case N_NAME: {
        Sym *s = map_get(&c->syms, n->name);
        if (s) /* NULL when its statement failed: that was reported already */
            return s->value;
        const Node *def = map_get(&c->later, n->name);
        if (def) {
            error_at(n->loc, "'%s' is not defined", n->name);
            note("'%s' is defined at line %d; define it before this line", n->name, def->loc.first_line);
            return NULL;
        }
        if (strchr(n->name, '.')) {
            error_at(n->loc, "'%s' names a parameter; only freeze, l1() and l2() take parameter names", n->name);
            return NULL;
        }
        if (find_op(n->name) != OP_COUNT) {
            error_at(n->loc, "'%s' is a function; call it as %s(...)", n->name, n->name);
            return NULL;
        }
        error_at(n->loc, "'%s' is not defined", n->name);
        const char **names = arena_alloc(sizeof(char *) * (size_t)(c->syms.count + 1));
        int k = 0;
        for (int i = 0; i < c->syms.cap; i++)
            if (c->syms.slots[i].key)
                names[k++] = c->syms.slots[i].key;
        const char *near = closest_name(n->name, names, k);
        if (near)
            note("did you mean '%s'?", near);
        else
            note("define it with 'input %s[...];', 'param %s[...];' or '%s = ...;' before this line",
                 n->name, n->name, n->name);
        return NULL;
    }
    case N_STRING:
        error_at(n->loc, "a string is not a value here");
        return NULL;
    case N_LIST:
        error_at(n->loc, "a list is only allowed as the dimensions of reshape()");
        return NULL;
    case N_CALL:
        return lower_call(c, n, NULL, NULL, NULL);
    case N_PIPE:
    case N_BINOP:
        return lower_chain(c, n);
    case N_NEG: {
        double x;
        if (const_eval(n, &x))
            return constant(c, x, n->loc);
        Value *a = lower_expr(c, n->a);
        return a ? ir_node(g, OP_neg, n->loc, a, NULL, NULL) : NULL;
    }
    case N_KWARG:
        error_at(n->loc, "keyword argument outside a call");
        return NULL;
    default:
        ICE("unexpected node %d in an expression", n->kind);
    }
}

/* Shape from a declaration's dims list; false after an error. */
static bool decl_shape(const Node *dims, Shape *s, const char *what) {
    s->rank = 0;
    long total = 1;
    for (const Node *d = dims ? dims->list : NULL; d; d = d->next) {
        double x;
        if (s->rank == MAX_RANK) {
            error_at(d->loc, "%s has more than %d dimensions", what, MAX_RANK);
            return false;
        }
        if (!const_eval(d, &x) || x != floor(x)) {
            error_at(d->loc, "dimensions of %s must be whole numbers", what);
            return false;
        }
        if (x < 1) {
            error_at(d->loc, "dimension %g of %s must be positive", x, what);
            return false;
        }
        if (x > MAX_ELEMENTS || (total *= (long)x) > MAX_ELEMENTS) {
            error_at(d->loc, "%s is too large (more than %ld elements per sample)", what, (long)MAX_ELEMENTS);
            return false;
        }
        s->dim[s->rank++] = (int)x;
    }
    return true;
}

static bool define(Ctx *c, const char *name, Loc loc, Value *v, NodeKind kind) {
    Sym *old = map_get(&c->syms, name);
    if (old) {
        error_at(loc, "redefinition of '%s'", name);
        note("'%s' was defined at line %d; pick another name", name, old->loc.first_line);
        return false;
    }
    if (find_op(name) != OP_COUNT && kind != N_PARAM) {
        /* allowed, but worth knowing: the function stays callable */
    }
    Sym *s = arena_alloc(sizeof *s);
    *s = (Sym){v, loc, kind};
    map_put(&c->syms, name, s);
    return true;
}

/* ---- statements ---------------------------------------------------------------------- */

/* Lowers one statement; false when it failed (reported here or before). */
static bool lower_stmt(Ctx *c, const Node *s);

/* A statement that failed still defines its name, as a poisoned symbol
 * (value NULL): later uses of it are silent instead of "not defined". */
static void poison(Ctx *c, const Node *s) {
    bool names = s->kind == N_INPUT || s->kind == N_TARGET || s->kind == N_PARAM || s->kind == N_ASSIGN ||
                 (s->kind == N_OUTPUT && s->a);
    if (names && s->name && !map_get(&c->syms, s->name)) {
        Sym *sym = arena_alloc(sizeof *sym);
        *sym = (Sym){NULL, s->loc, s->kind};
        map_put(&c->syms, s->name, sym);
    }
    if (s->kind == N_LOSS)
        c->had_loss = true;
}

static bool lower_stmt(Ctx *c, const Node *s) {
    Graph *g = c->g;
    Value *v;
    Shape shape;
    c->line = s->loc.first_line;
    c->stmt = s->name;
    if (s->a && s->a->depth > MAX_NESTING) {
        error_at(s->a->loc, "expression nested too deeply (the limit is %d levels)", MAX_NESTING);
        return false;
    }
    switch (s->kind) {
    case N_INPUT:
    case N_TARGET: {
        bool is_input = s->kind == N_INPUT;
        const char *what = arena_printf("%s '%s'", is_input ? "input" : "target", s->name);
        v = new_value(g, is_input ? OP_input : OP_target, s->loc);
        v->name = v->label = s->name;
        v->batched = v->shaped = true;
        v->stmt_line = c->line;
        if (s->b) { /* target NAME : class(K) */
            Binding b;
            if (strcmp(s->b->name, "class")) {
                error_at(s->b->loc, "unknown target kind '%s'", s->b->name);
                note("write 'target %s : class(K);' for class labels or 'target %s[dims];'", s->name, s->name);
                return false;
            }
            if (!bind_args("classes:int", "class()", s->b, NULL, &b))
                return false;
            if (b.vals[0] < 2) {
                error_at(b.locs[0], "class() needs at least 2 classes, got %s", num_str(b.vals[0]));
                return false;
            }
            if (b.vals[0] > 1e7) {
                error_at(b.locs[0], "class() takes at most 10000000 classes, got %s", num_str(b.vals[0]));
                return false;
            }
            v->dtype = DT_CLASS;
            v->classes = (int)b.vals[0];
        } else if (!decl_shape(s->a, &v->shape, what))
            return false;
        else if (v->shape.rank == 0) {
            error_at(s->a->loc, "%s needs at least one dimension", what);
            note("write '%s[1]' for one number per sample", s->name);
            return false;
        }
        v->index = is_input ? g->ninputs : g->ntargets;
        if (define(c, s->name, s->loc, v, s->kind)) {
            if (is_input)
                push_value(&g->inputs, &g->ninputs, v);
            else
                push_value(&g->targets, &g->ntargets, v);
        }
        return true;
    }
    case N_PARAM:
        if (!decl_shape(s->a, &shape, arena_printf("param '%s'", s->name)))
            return false;
        if (s->b && !check_init(s->b))
            return false;
        if (map_get(&c->syms, s->name)) {
            define(c, s->name, s->loc, NULL, N_PARAM); /* reports the redefinition */
            return false;
        }
        v = new_param(c, s->name, s->loc);
        v->shape = shape;
        v->shaped = true;
        v->is_explicit = true;
        v->init = s->b;
        v->label = s->name;
        define(c, s->name, s->loc, v, N_PARAM);
        return true;
    case N_ASSIGN:
    case N_OUTPUT:
    case N_LOSS: {
        if (s->kind == N_LOSS)
            c->stmt = "loss";
        const Node *second = NULL;
        if (s->a && count_layers(s->a, &second) >= 2) {
            error_at(second->loc, "two layers in one statement need names of their own");
            note("write them as a pipe (x |> dense(8) |> dense(4)) or as separate statements");
            return false;
        }
        if (s->kind != N_LOSS && s->a && map_get(&c->syms, s->name)) {
            define(c, s->name, s->loc, NULL, s->kind); /* the root cause, before its layers' names clash */
            return false;
        }
        if (s->kind == N_OUTPUT && !s->a) { /* output NAME; */
            Sym *sym = map_get(&c->syms, s->name);
            if (!sym) {
                error_at(s->loc, "'%s' is not defined", s->name);
                note("define it before the output statement, or write 'output %s = EXPR;'", s->name);
                return false;
            }
            if (!(v = sym->value) || v->op == OP_constant)
                return false; /* its statement failed (a constant is reported there) */
        } else if (!(v = lower_expr(c, s->a)))
            return false;
        if (s->kind == N_LOSS) {
            if (c->had_loss) {
                error_at(s->loc, "a model has exactly one loss");
                note("combine terms in one statement: loss a + 0.1 * b;");
                return false;
            }
            c->had_loss = true;
            g->loss = v;
            return true;
        }
        if (s->a && !define(c, s->name, s->loc, v, s->kind))
            return false;
        if (v->op == OP_constant) {
            error_at(s->a->loc, "'%s' is a constant; a value must depend on an input or a parameter", s->name);
            return false;
        }
        if (!v->name || v->op == OP_param)
            v->name = v->op == OP_param ? v->name : s->name;
        if (s->kind == N_OUTPUT) {
            for (int i = 0; i < g->noutputs; i++)
                if (!strcmp(g->output_names[i], s->name)) {
                    error_at(s->loc, "'%s' is already an output", s->name);
                    return false;
                }
            int n = g->noutputs;
            push_value(&g->outputs, &g->noutputs, v);
            const char **names = arena_alloc(sizeof(char *) * (size_t)(n + 1));
            Loc *locs = arena_alloc(sizeof(Loc) * (size_t)(n + 1));
            if (n) {
                memcpy(names, g->output_names, sizeof(char *) * (size_t)n);
                memcpy(locs, g->output_locs, sizeof(Loc) * (size_t)n);
            }
            names[n] = s->name;
            locs[n] = s->loc;
            g->output_names = names;
            g->output_locs = locs;
        }
        return true;
    }
    case N_FREEZE:
        return true; /* after all statements: see freeze() */
    case N_TRAIN:
        lower_train(c, s);
        return true;
    default:
        ICE("unexpected statement kind %d", s->kind);
    }
    return false;
}

/* Whether freeze's `name` names parameter p: p itself, or a layer p is in
 * (a prefix of p ending at a dot); with a `*`, as a pattern. */
static bool freezes(const char *name, const char *p) {
    bool pattern = strchr(name, '*');
    size_t len = strlen(name);
    if (pattern ? glob_match(name, p) : !strcmp(p, name))
        return true;
    if (!pattern)
        return !strncmp(p, name, len) && p[len] == '.';
    for (const char *dot = strchr(p, '.'); dot; dot = strchr(dot + 1, '.'))
        if (glob_match(name, arena_printf("%.*s", (int)(dot - p), p)))
            return true;
    return false;
}

/* The notes for a pattern that matches nothing: the parameters nearest to
 * a match (within 2 edits, 1 when it has 3 letters or fewer), or them all. */
static void note_pattern_near(const Graph *g, const char *pat) {
    int letters = 0, best = 99, nbest = 0;
    for (const char *q = pat; *q; q++)
        letters += *q != '*';
    int *d = arena_alloc(sizeof(int) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++) {
        d[i] = g->params[i]->is_buffer ? 99 : glob_distance(pat, g->params[i]->name);
        best = d[i] < best ? d[i] : best;
    }
    bool near = best <= (letters <= 3 ? 1 : 2);
    const char *list = "";
    for (int i = 0; i < g->nparams; i++) {
        if (near ? d[i] != best : g->params[i]->is_buffer)
            continue;
        if (nbest++ < 6)
            list = arena_printf("%s%s'%s'", list, nbest > 1 ? ", " : "", g->params[i]->name);
    }
    const char *more = nbest > 6 ? arena_printf(" and %d more", nbest - 6) : "";
    if (near)
        note("the closest parameter names: %s%s", list, more);
    else
        note("'*' stands for any characters, dots too; the parameters are %s%s", list, more);
}

static void freeze(Ctx *c, const Node *s) {
    for (const Node *n = s->list; n; n = n->next) {
        bool any = false;
        for (int i = 0; i < c->g->nparams; i++) {
            Value *p = c->g->params[i];
            if (freezes(n->name, p->name)) {
                p->trainable = false;
                any = true;
            }
        }
        if (any)
            continue;
        if (strchr(n->name, '*')) {
            error_at(n->loc, "freeze: no parameter matches '%s'", n->name);
            note_pattern_near(c->g, n->name);
            continue;
        }
        error_at(n->loc, "freeze: no parameter is named '%s' or starts with '%s.'", n->name, n->name);
        const char **names = arena_alloc(sizeof(char *) * (size_t)(c->g->nparams + 1));
        for (int i = 0; i < c->g->nparams; i++)
            names[i] = c->g->params[i]->name;
        const char *near = closest_name(n->name, names, c->g->nparams);
        if (near)
            note("did you mean '%s'?", near);
        else
            note("freeze takes parameter names (fc1.weight), layer names (fc1) or patterns (features.*, *.weight)");
    }
}

static Graph *lower_model(const Node *m) {
    Graph *g = arena_alloc(sizeof *g);
    Ctx c = {.g = g};
    g->name = m->name;
    g->loc = m->loc;
    g->train = (Train){.optimizer = "sgd", .lr = 0.01, .batch = 1, .epochs = 1, .seed = 0,
                       .shuffle = true, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99};
    bool has_train = false;
    int errors_before = error_count();
    for (const Node *s = m->list; s; s = s->next) /* names defined anywhere, for notes */
        if (s->name && (s->kind != N_OUTPUT || s->a) && !map_get(&c.later, s->name))
            map_put(&c.later, s->name, (void *)s);
    for (const Node *s = m->list; s && !too_many_errors(); s = s->next) {
        has_train |= s->kind == N_TRAIN;
        if (s->kind == N_TRAIN && has_train && s != m->list) {
            for (const Node *t = m->list; t != s; t = t->next)
                if (t->kind == N_TRAIN)
                    error_at(s->loc, "a model has one train block");
        }
        if (!lower_stmt(&c, s))
            poison(&c, s);
    }
    for (const Node *s = m->list; s; s = s->next)
        if (s->kind == N_FREEZE)
            freeze(&c, s);
    for (const Node *s = m->list; s && !too_many_errors(); s = s->next)
        if (s->kind == N_TRAIN)
            lower_augment(&c, s);
    /* after an error the output or loss may be the statement that failed */
    bool failed = error_count() > errors_before || too_many_errors();
    if (!g->noutputs && !failed) {
        error_at(m->loc, "model '%s' has no output", m->name);
        note("add 'output NAME;' naming the value the forward pass returns");
    }
    if (!c.had_loss && !failed) {
        error_at(m->loc, "model '%s' has no loss", m->name);
        int k = 0;
        while (k < g->noutputs && !(op_info[g->outputs[k]->op].flags & F_LOSS))
            k++;
        if (k < g->noutputs) /* output l = mse(h, y); meant as the loss */
            note("output '%s' is a loss, one number per batch: make it the loss ('loss %s(...);') and output the "
                 "prediction instead", g->output_names[k], op_info[g->outputs[k]->op].name);
        else
            note("training needs exactly one loss; add e.g. 'loss mse(out, y);'");
    }
    return g;
}

Graph **lower_models(const Node *models, int *count) {
    int n = 0;
    for (const Node *m = models; m; m = m->next)
        n++;
    Graph **gs = arena_alloc(sizeof(Graph *) * (size_t)(n + 1));
    Map names = {0};
    *count = 0;
    for (const Node *m = models; m; m = m->next) {
        if (!m->name)
            continue; /* a model whose header failed to parse */
        const Node *old = map_get(&names, m->name);
        if (old) {
            error_at(m->loc, "redefinition of model '%s'", m->name);
            note("model '%s' was defined at line %d", m->name, old->loc.first_line);
            continue;
        }
        map_put(&names, m->name, (void *)m);
        gs[(*count)++] = lower_model(m);
    }
    return gs;
}
