/* emit.c — C for a checked, differentiated and planned model.
 *
 * Entry: emit_model(). Writes the model's part of NAME.h (size macros, the
 * complete struct, prototypes) and of NAME.c: one static step function per
 * IR node (llm.c style: outputs first, then operands, then the sample count
 * n), commented with the .dnn line it came from; then the public functions
 * of generated-c.md, each a flat list of step calls. Shapes are baked into
 * loop bounds so the C compiler can unroll and vectorise. Identical step
 * functions are emitted once. Output is deterministic: nothing depends on
 * time, addresses or hash order.
 */
#include "dnnc.h"
#include "dnn.h" /* dnn_rng: its size in the model struct */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names -------------------------------------------------------------------------- */

static const char *upper(const char *s) {
    char *u = arena_strdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

/* "features.3" → "features_3" */
static const char *c_ident(const char *s) {
    char *u = arena_strdup(s);
    for (char *p = u; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '_';
    return u;
}

/* A .dnn name used as a C parameter: kept unless it collides with a C
 * keyword or a name the generated function uses itself. */
static const char *arg_name(const char *s) {
    static const char *const taken[] = {"m", "n", "i", "s", "loss", "auto", "break", "case", "char",
        "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto",
        "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
        "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
        "int32_t", "size_t", "NULL", "bool"};
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
        if (!strcmp(s, taken[i]))
            return arena_printf("%s_", s);
    return s;
}

typedef struct Out {
    Graph *g;
    const Plan *plan;
    FILE *c, *h;
    const char *name, *NAME;  /* model name, and upper-cased for macros */
    const char *source;       /* the .dnn file's base name, for comments */
    const char **fn;          /* step function of each value (by id), or NULL */
    Map bodies;               /* signature+body → function name, to share identical steps */
    Map fn_names;             /* names in use */
    bool *for_outputs, *for_loss; /* forward values each entry point needs */
    const float *weights;     /* --embed-weights: the parameters, or NULL */
    bool small;               /* --optimize=size */
    const char **dim_args;    /* each value's size arguments (", 120, 400"), for --optimize=size */
    bool f64;                 /* the double-precision twin (NAME_f64_*) being emitted */
} Out;

/* The C expression for a value's buffer at a call site. */
static const char *ptr(const Out *o, const Value *v) {
    if (!v)
        return "NULL";
    while (v->alias_of)
        v = v->alias_of;
    switch (v->area) {
    case AREA_PARAM: return arena_printf("%s + %d", o->weights ? arena_printf("%s_weights", o->name) : "m->params", v->offset);
    case AREA_GRAD:  return arena_printf("m->grads + %d", v->offset);
    case AREA_ACT:   return arena_printf("m->act + %d", v->offset);
    case AREA_INPUT:
    case AREA_TARGET: return arg_name(v->name);
    case AREA_CONST: return arena_printf("%s_c%d", o->name, v->id);
    default: ICE("value %%%d has no storage", v->id);
    }
}

static bool is_leaf(const Value *v) {
    return v->op == OP_param || v->op == OP_input || v->op == OP_target || v->op == OP_constant;
}

/* ---- step functions ------------------------------------------------------------------ */

static const char *describe_operand(const Value *x) {
    if (!x)
        return "none";
    const char *shape = x->dtype == DT_CLASS ? arena_printf("class(%d)", x->classes) : shape_str(&x->shape);
    if (x->op == OP_constant)
        return arena_printf("%g", x->attr[0]);
    if (x->name && (is_leaf(x) || x->op != OP_backward))
        return arena_printf("%s %s", x->name, shape);
    return shape;
}

/* Prints (once) the step function of node v; records its name. */
static void emit_step(Out *o, Value *v) {
    bool backward = v->op == OP_backward;
    const Value *op_node = backward ? v->fwd : v;
    const char *opname = op_info[op_node->op].name;
    if (v->fused_conv) /* conv2d → activation → pool in one step */
        opname = arena_printf("conv2d_%s%s%s", v->fused_act ? op_info[v->fused_act->op].name : "",
                              v->fused_act ? "_" : "", opname);

    /* parameters: result, operands, sample count */
    char sig[1024];
    const char **params = arena_alloc(sizeof(char *) * (MAX_INPUTS + 6));
    int np = 0;
    const char *scalar = o->f64 ? "double" : "float";
    size_t len = (size_t)snprintf(sig, sizeof sig, "(%s *%s", scalar, backward ? "dx" : "out");
    params[np++] = backward ? "dx" : "out";
    for (int k = 0; k < v->nin; k++) {
        const char *pname = backward ? (k == 0 ? "dy" : k == v->nin - 1 ? "out" : arena_printf("in%d", k - 1))
                                     : arena_printf("in%d", k);
        const Value *x = v->in[k];
        const char *type = x && x->dtype == DT_CLASS ? "const int32_t *" : arena_printf("const %s *", scalar);
        len += (size_t)snprintf(sig + len, sizeof sig - len, ", %s%s", type, pname);
        params[np++] = pname;
    }
    int flags = op_info[op_node->op].flags;
    if (flags & F_MODE && !backward) {
        len += (size_t)snprintf(sig + len, sizeof sig - len, ", int training");
        params[np++] = "training";
    }
    if (flags & F_RNG && !backward) {
        len += (size_t)snprintf(sig + len, sizeof sig - len, ", dnn_rng *rng");
        params[np++] = "rng";
    }
    len += (size_t)snprintf(sig + len, sizeof sig - len, ", int n");
    params[np++] = "n";

    /* the body, into memory so unused parameters can be marked */
    char *body = NULL;
    size_t body_len = 0;
    FILE *mem = open_memstream(&body, &body_len);
    if (!mem)
        ICE("open_memstream failed");
    /* the twin takes the portable paths: the generic ones have no vector code */
    Emitter e = {mem, o->g, 1, (o->small && !backward) || o->f64, 0, {0}, {0}, o->f64};
    op_emit(&e, v);
    fclose(mem);
    const char *args = "";
    for (int k = 0; k < e.ndims; k++) { /* --optimize=size: the sizes are parameters too */
        len += (size_t)snprintf(sig + len, sizeof sig - len, ", int %s", e.dim_names[k]);
        args = arena_printf("%s, %ld", args, e.dim_values[k]);
    }
    o->dim_args[v->id] = args;
    snprintf(sig + len, sizeof sig - len, ") ");
    char *voids = arena_alloc(64 * (size_t)np + 1);
    for (int k = 0; k < np; k++) {
        size_t pl = strlen(params[k]);
        bool used = false;
        for (const char *p = body; (p = strstr(p, params[k])); p += pl)
            if ((p == body || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
                !(isalnum((unsigned char)p[pl]) || p[pl] == '_'))
                used = true;
        if (!used)
            sprintf(voids + strlen(voids), "    (void)%s;\n", params[k]);
    }
    const char *whole = arena_printf("%s{\n%s%s}\n", sig, voids, body);
    free(body);

    const char *existing = map_get(&o->bodies, whole);
    if (existing) {
        o->fn[v->id] = existing;
        return;
    }
    const char *base = arena_printf("%s_%s_%s%s", o->name, c_ident(v->label ? v->label : "t"), opname,
                                    backward ? arena_printf("_grad%d", v->grad_arg) : "");
    const char *name = base;
    for (int k = 2; map_get(&o->fn_names, name); k++)
        name = arena_printf("%s_%d", base, k);
    map_put(&o->fn_names, name, (void *)name);
    map_put(&o->bodies, whole, (void *)name);
    o->fn[v->id] = name;

    /* a comment naming the .dnn line and the operands */
    fprintf(o->c, "/* %s%s — %s:%d: %s\n", backward ? "gradient of " : "", opname,
            o->source, v->stmt_line ? v->stmt_line : v->loc.first_line,
            source_line(v->stmt_line ? v->stmt_line : v->loc.first_line));
    fprintf(o->c, " *");
    for (int k = 0; k < v->nin; k++)
        fprintf(o->c, " %s: %s%s", params[k + 1], describe_operand(v->in[k]), k + 1 < v->nin ? "," : "");
    fprintf(o->c, " → %s: %s */\n", params[0], shape_str(&v->shape));
    fprintf(o->c, "static void %s%s\n", name, whole);
}

/* --check-finite: how m->nonfinite names the value v computes, by its
 * layer's .dnn name: "h (dense, line 6)", "gradient at h (dense, line 6)"
 * (of its input), "gradient of h.weight at h (dense, line 6)", "gradient
 * of h.weight" (as stored). */
static const char *finite_label(const Value *v) {
    if (v->op == OP_grad_store)
        return arena_printf("gradient of %s", v->grad_of->name);
    const Value *f = v->fwd ? v->fwd : v, *of = v->fwd ? v->fwd->in[v->grad_arg] : NULL;
    const char *name = f->label ? f->label : f->name ? f->name : "(unnamed)";
    return arena_printf("%s%s%s%s (%s, line %d)", v->fwd ? "gradient " : "",
                        of && of->op == OP_param ? arena_printf("of %s ", of->name) : "", v->fwd ? "at " : "", name,
                        op_info[f->op].name, f->stmt_line ? f->stmt_line : f->loc.first_line);
}

/* A call of v's step function (with --check-finite, then the check of its result). */
static void emit_call(Out *o, const Value *v) {
    fprintf(o->c, "    %s(%s", o->fn[v->id], ptr(o, v));
    for (int k = 0; k < v->nin; k++)
        fprintf(o->c, ", %s", ptr(o, v->in[k]));
    int flags = op_info[v->op].flags;
    bool infer = o->g->inference; /* no training flag, no generator: eval mode */
    fprintf(o->c, "%s%s, n%s);\n", flags & F_MODE ? (infer ? ", 0" : ", m->training") : "",
            flags & F_RNG ? (infer ? ", NULL" : ", &m->rng") : "", o->dim_args[v->id] ? o->dim_args[v->id] : "");
    if (o->g->check_finite && !o->f64)
        fprintf(o->c, "    if (!m->nonfinite && !%s_finite(%s, %s))\n        m->nonfinite = \"%s\";\n", o->name, ptr(o, v),
                v->op == OP_grad_store ? count_of(v->grad_of) : count_of(v), finite_label(v));
}

/* --check-finite: the test behind m->nonfinite. */
static void emit_finite_fn(Out *o) {
    fprintf(o->c, "/* --check-finite: 1 when p[0..count) holds no NaN or infinity */\n");
    fprintf(o->c, "static int %s_finite(const float *p, int count) {\n", o->name);
    fprintf(o->c, "    for (int i = 0; i < count; i++)\n        if (!isfinite(p[i]))\n            return 0;\n");
    fprintf(o->c, "    return 1;\n}\n\n");
}


/* ---- the header ---------------------------------------------------------------------------- */

#define ALIGN_OF(T) ((long)offsetof(struct { char c; T x; }, x))

static Member member(const char *decl, const char *comment, long size, long align, Part part) {
    return (Member){decl, comment, size, align, part};
}

static Member floats(const char *name, long n, const char *comment, Part part) {
    return member(arena_printf("float %s[%ld]", name, n), comment, n * (long)sizeof(float), ALIGN_OF(float), part);
}

int model_members(const Graph *g, const Plan *p, bool embedded, Member *m) {
    const char *n = g->name;
    int k = 0;
    long act = p->act > 0 ? p->act : 1;
    if (g->inference) { /* parameters (unless embedded) and the reused activation area; forward only */
        if (!embedded)
            m[k++] = floats("params", p->params, arena_printf("parameters then buffers, in %s_tensors order", n), PART_PARAMS);
        m[k++] = floats("act", act, arena_printf("activations, each slice reused once its value is dead (%ld without reuse)",
                                                 p->naive_act), PART_ACT);
        if (!embedded)
            m[k++] = member("dnn_rng rng", "initialisation", sizeof(dnn_rng), ALIGN_OF(dnn_rng), PART_OTHER);
    } else {
        long P8 = (p->params + 7) / 8 * 8; /* each array a multiple of 32 bytes, so that vector loads stay aligned */
        const char *states[2];
        m[k++] = floats("params", P8, arena_printf("parameters then buffers, in %s_tensors order%s", n,
                                                   P8 > p->params ? arena_printf("; %ld used", p->params) : ""), PART_PARAMS);
        m[k++] = floats("grads", P8, "gradients, laid out like params (zero where frozen)", PART_GRADS);
        for (int i = 0, ns = optimizer_states(&g->train, states); i < ns; i++)
            m[k++] = floats(states[i], P8, arena_printf("%s state, laid out like params", g->train.optimizer), PART_STATE);
        m[k++] = floats("act", act, arena_printf("activations, what backward reads and gradients: slices reused once dead "
                                                 "(%ld without reuse)", p->naive_act), PART_ACT);
        m[k++] = member("float lr", arena_printf("learning rate now; %s_set_epoch applies the schedule", n),
                        sizeof(float), ALIGN_OF(float), PART_OTHER);
        m[k++] = member("int epoch", arena_printf("last epoch given to %s_set_epoch", n), sizeof(int), ALIGN_OF(int), PART_OTHER);
        m[k++] = member("int training", "1 while in a train-mode pass", sizeof(int), ALIGN_OF(int), PART_OTHER);
        m[k++] = member("int64_t step", "optimizer steps taken", sizeof(int64_t), ALIGN_OF(int64_t), PART_OTHER);
        m[k++] = member("dnn_rng rng", "initialisation and dropout", sizeof(dnn_rng), ALIGN_OF(dnn_rng), PART_OTHER);
        const char *hp[8], *list = "";
        int nhp = hparam_names(&g->train, hp);
        for (int i = 0; i < nhp; i++)
            list = arena_printf("%s%s %s", list, i ? "," : "", hp[i]);
        m[k++] = member(arena_printf("struct {\n        double%s;\n    } hparams", list),
                        arena_printf("the .dnn's hyper-parameters (%s_init), or %s_set_hparam's", n, n),
                        (long)sizeof(double) * nhp, ALIGN_OF(double), PART_OTHER);
        if (g->train.schedule && !strcmp(g->train.schedule, "cosine")) {
            m[k++] = member("double cosine_lr", "the cosine schedule's lr in double at count cosine_at (PyTorch's recursion)",
                            sizeof(double), ALIGN_OF(double), PART_OTHER);
            m[k++] = member("int64_t cosine_at", "the count cosine_lr belongs to", sizeof(int64_t), ALIGN_OF(int64_t), PART_OTHER);
        }
    }
    if (g->check_finite)
        m[k++] = member("const char *nonfinite", "--check-finite: the first result that held a NaN or infinity, or NULL",
                        sizeof(const char *), ALIGN_OF(const char *), PART_OTHER);
    if (k > MAX_MEMBERS)
        ICE("%d members in the model struct", k);
    return k;
}

static void emit_struct(Out *o) {
    Member m[MAX_MEMBERS];
    int n = model_members(o->g, o->plan, o->weights != NULL, m);
    fprintf(o->h, "struct %s_model {\n", o->name);
    for (int i = 0; i < n; i++)
        fprintf(o->h, "    %s; /* %s */\n", m[i].decl, m[i].comment);
    fprintf(o->h, "};\n\n");
}

/* --inference: parameters (unless embedded) and the reused activation area; forward only. */
static void emit_inference_header(Out *o) {
    Graph *g = o->g;
    FILE *h = o->h;
    const char *N = o->NAME, *n = o->name;
    emit_struct(o);
    char inputs[1024] = "", outputs[1024] = "";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), ", const float *%s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->noutputs; i++)
        snprintf(outputs + strlen(outputs), sizeof outputs - strlen(outputs), ", float *%s", arg_name(c_ident(g->output_names[i])));
    if (o->weights)
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* clears the activations; the weights are %s_weights */\n", n, n, n);
    else
        fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* parameters per the init rules */\n", n, n);
    fprintf(h, "void %s_forward(%s_model *m%s%s, int n); /* eval mode; n in 1..%s_BATCH */\n", n, n, inputs, outputs, N);
    fprintf(h, "extern const dnn_tensor_info %s_tensors[%s_NUM_TENSORS];\n", n, N);
    if (o->weights) {
        fprintf(h, "extern const float %s_weights[%ld]; /* --embed-weights: every tensor, in %s_tensors order (flash) */\n",
                n, o->plan->params, n);
        fprintf(h, "const float *%s_tensor(const %s_model *m, int i); /* data of tensor i (read-only) */\n", n, n);
    } else {
        fprintf(h, "float *%s_tensor(%s_model *m, int i); /* data of tensor i, row-major, PyTorch layout */\n", n, n);
        fprintf(h, "int %s_load(%s_model *m, const void *safetensors, size_t len); /* 0 or DNN_E*; m unchanged on error */\n", n, n);
    }
    fprintf(h, "size_t %s_save(const %s_model *m, void *buf, size_t cap); /* bytes of the image; writes only if cap suffices */\n\n", n, n);
}

static void emit_header(Out *o) {
    Graph *g = o->g;
    FILE *h = o->h;
    const char *N = o->NAME, *n = o->name;
    fprintf(h, "/* ---- model %s ---- */\n", n);
    fprintf(h, "#define %s_BATCH %d /* compile-time batch size */\n", N, g->train.batch);
    for (int i = 0; i < g->ninputs; i++)
        fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of input %s %s */\n", N, upper(c_ident(g->inputs[i]->name)),
                shape_size(&g->inputs[i]->shape), g->inputs[i]->name, shape_str(&g->inputs[i]->shape));
    for (int i = 0; i < g->ntargets; i++) {
        Value *t = g->targets[i];
        if (t->dtype == DT_CLASS) {
            fprintf(h, "#define %s_%s_SIZE 1 /* target %s: one int32 class index per sample */\n", N, upper(c_ident(t->name)), t->name);
            fprintf(h, "#define %s_%s_CLASSES %d\n", N, upper(c_ident(t->name)), t->classes);
        } else
            fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of target %s %s */\n", N, upper(c_ident(t->name)),
                    shape_size(&t->shape), t->name, shape_str(&t->shape));
    }
    for (int i = 0; i < g->noutputs; i++)
        fprintf(h, "#define %s_%s_SIZE %ld /* per-sample elements of output %s %s */\n", N, upper(c_ident(g->output_names[i])),
                shape_size(&g->outputs[i]->shape), g->output_names[i], shape_str(&g->outputs[i]->shape));
    fprintf(h, "#define %s_NUM_TENSORS %d /* entries of %s_tensors: parameters, then buffers */\n", N, g->nparams, n);
    fprintf(h, "#define %s_NUM_PARAMS %ld /* trainable scalars */\n", N, o->plan->trainable);
    fprintf(h, "#define %s_EPOCHS %d /* from train { epochs } */\n", N, g->train.epochs);
    fprintf(h, "#define %s_SEED %lluu /* from train { seed } */\n\n", N, (unsigned long long)g->train.seed);

    fprintf(h, "typedef struct %s_model %s_model;\n", n, n);
    if (g->inference) {
        emit_inference_header(o);
        return;
    }
    emit_struct(o);

    /* prototypes: inputs, then outputs (forward) or targets */
    char inputs[1024] = "", targets[1024] = "", outputs[1024] = "";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), ", const float *%s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->ntargets; i++)
        snprintf(targets + strlen(targets), sizeof targets - strlen(targets), ", const %s *%s",
                 g->targets[i]->dtype == DT_CLASS ? "int32_t" : "float", arg_name(g->targets[i]->name));
    for (int i = 0; i < g->noutputs; i++)
        snprintf(outputs + strlen(outputs), sizeof outputs - strlen(outputs), ", float *%s", arg_name(c_ident(g->output_names[i])));
    fprintf(h, "void %s_init(%s_model *m, uint64_t seed); /* parameters per the init rules; optimizer state and step zeroed */\n", n, n);
    fprintf(h, "void %s_forward(%s_model *m%s%s, int n); /* eval mode; n in 1..%s_BATCH */\n", n, n, inputs, outputs, N);
    fprintf(h, "float %s_loss(%s_model *m%s%s, int n); /* eval mode, no gradients */\n", n, n, inputs, targets);
    fprintf(h, "float %s_backward(%s_model *m%s%s, int n); /* train mode: loss; gradients overwritten */\n", n, n, inputs, targets);
    fprintf(h, "void %s_step(%s_model *m); /* one %s update from the gradients */\n", n, n, g->train.optimizer);
    fprintf(h, "float %s_train_step(%s_model *m%s%s, int n); /* backward, then step */\n", n, n, inputs, targets);
    fprintf(h, "void %s_set_epoch(%s_model *m, int epoch); /* applies the lr schedule */\n", n, n);
    fprintf(h, "int %s_set_hparam(%s_model *m, const char *name, float value); /* lr, momentum, ...: 0 or DNN_E*; m unchanged on error */\n", n, n);
    fprintf(h, "int %s_set_hparam_exact(%s_model *m, const char *name, double value); /* the same, as if the .dnn said value */\n", n, n);
    fprintf(h, "extern const dnn_tensor_info %s_tensors[%s_NUM_TENSORS];\n", n, N);
    fprintf(h, "float *%s_tensor(%s_model *m, int i); /* data of tensor i, row-major, PyTorch layout */\n", n, n);
    fprintf(h, "float *%s_grad(%s_model *m, int i); /* its gradient; NULL if not trainable */\n", n, n);
    fprintf(h, "int %s_load(%s_model *m, const void *safetensors, size_t len); /* 0 or DNN_E*; m unchanged on error */\n", n, n);
    fprintf(h, "size_t %s_save(const %s_model *m, void *buf, size_t cap); /* bytes of the image; writes only if cap suffices */\n\n", n, n);
}

/* ---- initialisation and the optimizer ------------------------------------------------------- */

static void fans(const Value *p, double *fan_in, double *fan_out) {
    if (p->fan_in) {
        *fan_in = p->fan_in;
        *fan_out = p->fan_out;
        return;
    }
    const Shape *s = &p->shape;
    double rest = 1;
    for (int i = 2; i < s->rank; i++)
        rest *= s->dim[i];
    *fan_in = s->rank >= 2 ? s->dim[1] * rest : s->rank == 1 ? s->dim[0] : 1;
    *fan_out = s->rank >= 2 ? s->dim[0] * rest : *fan_in;
}

static void emit_init_param(Out *o, const Value *p) {
    FILE *c = o->c;
    long size = shape_size(&p->shape);
    const char *dst = arena_printf("m->params + %d", p->offset);
    if (p->has_fill) {
        fprintf(c, "    /* %s %s: %g */\n", p->name, shape_str(&p->shape), p->fill);
        fprintf(c, "    for (int i = 0; i < %ld; i++) (%s)[i] = %s;\n", size, dst, flit(p->fill));
        return;
    }
    const Node *init = p->init ? p->init : o->g->train.init;
    const char *kind = init ? init->name : "pytorch";
    if (p->is_bias && strcmp(kind, "pytorch"))
        kind = "zeros"; /* biases are zero unless the init is pytorch */
    double fi, fo, a = 0, b = 0;
    fans(p, &fi, &fo);
    int nargs = 0;
    double args[2] = {0, 0};
    if (init && init->kind == N_CALL && strcmp(kind, "zeros") && (!p->is_bias || !strcmp(kind, "pytorch")))
        for (const Node *x = init->list; x && nargs < 2; x = x->next)
            const_eval(x->kind == N_KWARG ? x->a : x, &args[nargs++]);
    bool normal = false;
    if (!strcmp(kind, "pytorch")) a = 1 / sqrt(fi);
    else if (!strcmp(kind, "xavier")) { normal = true; b = sqrt(2 / (fi + fo)); }
    else if (!strcmp(kind, "xavier_uniform")) a = sqrt(6 / (fi + fo));
    else if (!strcmp(kind, "he")) { normal = true; b = sqrt(2 / fi); }
    else if (!strcmp(kind, "he_uniform")) a = sqrt(6 / fi);
    else if (!strcmp(kind, "uniform")) a = args[0];
    else if (!strcmp(kind, "normal")) { normal = true; a = args[0]; b = args[1]; }
    else {
        double v = !strcmp(kind, "ones") ? 1 : !strcmp(kind, "constant") ? args[0] : 0;
        fprintf(c, "    /* %s %s: %s */\n", p->name, shape_str(&p->shape), kind);
        fprintf(c, "    for (int i = 0; i < %ld; i++) (%s)[i] = %s;\n", size, dst, flit(v));
        return;
    }
    if (normal && strcmp(kind, "normal")) { /* zero-mean with std b */
        a = 0;
    }
    fprintf(c, "    /* %s %s: %s, %s */\n", p->name, shape_str(&p->shape), kind,
            normal ? arena_printf("N(%g, %g²)", a, b) : arena_printf("U(±%g)", a));
    if (normal)
        fprintf(c, "    for (int i = 0; i < %ld; i++) (%s)[i] = dnn_rng_normal(&m->rng, %s, %s);\n", size, dst, flit(a), flit(b));
    else
        fprintf(c, "    for (int i = 0; i < %ld; i++) (%s)[i] = dnn_rng_uniform(&m->rng, %s, %s);\n", size, dst, flit(-a), flit(a));
}

/* Trainable parameters as [begin, end) ranges of the params array. */
static int trainable_ranges(const Graph *g, int (*r)[2]) {
    int n = 0;
    for (int i = 0; i < g->nparams; i++) {
        const Value *p = g->params[i];
        if (!p->trainable || p->is_buffer)
            continue;
        int b = p->offset, e = p->offset + (int)shape_size(&p->shape);
        if (n && r[n - 1][1] == b)
            r[n - 1][1] = e;
        else {
            r[n][0] = b;
            r[n][1] = e;
            n++;
        }
    }
    return n;
}

/* clip_grad_norm V: torch.nn.utils.clip_grad_norm_(params, V) — the
 * gradients scaled by min(1, V / (‖g‖₂ + 1e-6)), ‖g‖ over every trainable
 * parameter at once. */
static void emit_clip(FILE *c, double max_norm, int (*ranges)[2], int nr) {
    fprintf(c, "    /* clip_grad_norm %g: the global gradient norm at most %g */\n", max_norm, max_norm);
    fprintf(c, "    double sq = 0.0;\n");
    for (int r = 0; r < nr; r++)
        fprintf(c, "    for (int i = %d; i < %d; i++) sq += (double)m->grads[i] * m->grads[i];\n", ranges[r][0], ranges[r][1]);
    fprintf(c, "    const float coef = %s / ((float)sqrt(sq) + 1e-6f);\n", flit(max_norm));
    fprintf(c, "    if (coef < 1.0f) {\n");
    for (int r = 0; r < nr; r++)
        fprintf(c, "        for (int i = %d; i < %d; i++) m->grads[i] *= coef;\n", ranges[r][0], ranges[r][1]);
    fprintf(c, "    }\n");
}

/* The update of one parameter i, or with `vector` of the 8 from i: the
 * same operations in the same order on float or dnn_v8 values (IEEE
 * element-wise, so the two agree bit for bit). The vector form is written
 * out because gcc will not vectorise sqrtf without -fno-math-errno. The
 * hyper-parameters are the float locals emit_update_fn declares. */
static void emit_update(FILE *c, const Train *t, bool vector) {
    const char *opt = t->optimizer, *T = vector ? "dnn_v8" : "float", *sqrt = vector ? "dnn_v8_sqrt" : "sqrtf";
#define LOAD(state) (vector ? "dnn_v8_load(m->" state " + i)" : "m->" state "[i]")
#define STORE(state, value)                                                                                            \
    (vector ? fprintf(c, "        dnn_v8_store(m->" state " + i, %s);\n", value)                                       \
            : fprintf(c, "        m->" state "[i] = %s;\n", value))
    fprintf(c, "        %s g = %s, p = %s;\n", T, LOAD("grads"), LOAD("params"));
    if (strcmp(opt, "adamw")) /* a run-time weight decay; PyTorch skips the term at 0 */
        fprintf(c, "        if (weight_decay != 0.0f)\n            g += weight_decay * p;\n");
    if (!strcmp(opt, "sgd")) {
        if (t->momentum > 0) {
            fprintf(c, "        const %s buf = first ? g : %s * momentum + one_minus_dampening * g;\n", T, LOAD("momentum_buffer"));
            STORE("momentum_buffer", "buf");
            if (t->nesterov)
                fprintf(c, "        g = g + momentum * buf;\n");
            else
                fprintf(c, "        g = buf;\n");
        }
        fprintf(c, "        p -= lr * g;\n");
    } else if (is_adam(t)) {
        if (!strcmp(opt, "adamw"))
            fprintf(c, "        p *= 1.0f - lr * weight_decay;\n");
        fprintf(c, "        const %s avg = %s * beta1 + g * one_minus_beta1;\n", T, LOAD("exp_avg"));
        fprintf(c, "        const %s avg_sq = %s * beta2 + one_minus_beta2 * g * g;\n", T, LOAD("exp_avg_sq"));
        STORE("exp_avg", "avg");
        STORE("exp_avg_sq", "avg_sq");
        fprintf(c, "        const %s denom = %s(avg_sq) / bc2_sqrt + eps;\n", T, sqrt);
        fprintf(c, "        p -= step_size * (avg / denom);\n");
    } else if (!strcmp(opt, "adagrad")) {
        fprintf(c, "        const %s sum = %s + g * g;\n", T, LOAD("state_sum"));
        STORE("state_sum", "sum");
        fprintf(c, "        p -= lr * (g / (%s(sum) + eps));\n", sqrt);
    } else { /* rmsprop */
        fprintf(c, "        const %s square_avg = %s * alpha + one_minus_alpha * g * g;\n", T, LOAD("square_avg"));
        STORE("square_avg", "square_avg");
        fprintf(c, "        const %s avg = %s(square_avg) + eps;\n", T, sqrt);
        if (t->momentum > 0) {
            fprintf(c, "        const %s buf = %s * momentum + g / avg;\n", T, LOAD("momentum_buffer"));
            STORE("momentum_buffer", "buf");
            fprintf(c, "        p -= lr * buf;\n");
        } else
            fprintf(c, "        p -= lr * (g / avg);\n");
    }
    STORE("params", "p");
#undef LOAD
#undef STORE
}

/* The float locals emit_update reads, from m->hparams: each the float
 * PyTorch's kernel gets (1 - beta1 is taken in double first, as Python
 * computes it), so a value equal to the .dnn's gives the same bits. */
static void emit_update_locals(FILE *c, const Train *t) {
    const char *opt = t->optimizer;
    fprintf(c, "    const float weight_decay = (float)m->hparams.weight_decay;\n");
    if (t->momentum > 0 && (!strcmp(opt, "sgd") || !strcmp(opt, "rmsprop")))
        fprintf(c, "    const float momentum = (float)m->hparams.momentum;\n");
    if (t->momentum > 0 && !strcmp(opt, "sgd"))
        fprintf(c, "    const float one_minus_dampening = (float)(1.0 - m->hparams.dampening);\n");
    if (is_adam(t)) {
        fprintf(c, "    const float beta1 = (float)m->hparams.beta1, one_minus_beta1 = (float)(1.0 - m->hparams.beta1);\n");
        fprintf(c, "    const float beta2 = (float)m->hparams.beta2, one_minus_beta2 = (float)(1.0 - m->hparams.beta2);\n");
    }
    if (!strcmp(opt, "rmsprop"))
        fprintf(c, "    const float alpha = (float)m->hparams.alpha, one_minus_alpha = (float)(1.0 - m->hparams.alpha);\n");
    if (strcmp(opt, "sgd"))
        fprintf(c, "    const float eps = (float)m->hparams.eps;\n");
}

/* ---- run-time hyper-parameters (NAME_set_hparam) ------------------------------------------- */

/* Every name NAME_set_hparam knows; a model has those of its optimizer and schedule. */
static const char *const all_hparams[] = {"lr", "momentum", "dampening", "weight_decay", "beta1", "beta2", "eps",
                                          "alpha", "every", "gamma", "k", "period", "min_lr"};

/* The C condition under which `value` is acceptable for hyper-parameter
 * `name` (torch.optim's own checks, and the compiler's). */
static const char *hparam_valid(const Train *t, const char *name) {
    bool sgd = !strcmp(t->optimizer, "sgd");
    if (!strcmp(name, "lr"))
        return "value > 0.0 && isfinite(value)";
    if (!strcmp(name, "beta1") || !strcmp(name, "beta2"))
        return "value >= 0.0 && value < 1.0";
    if (!strcmp(name, "every") || !strcmp(name, "period"))
        return "value >= 1.0 && value <= 2147483647.0 && value == floor(value)";
    if (!strcmp(name, "gamma") || !strcmp(name, "k"))
        return "isfinite(value)";
    /* nesterov needs momentum > 0 and dampening 0; SGD without momentum ignores dampening */
    if (sgd && t->nesterov && !strcmp(name, "momentum"))
        return "value > 0.0 && isfinite(value)";
    if (sgd && t->nesterov && !strcmp(name, "dampening"))
        return "value == 0.0";
    if (sgd && !strcmp(name, "momentum"))
        return "value >= 0.0 && isfinite(value) && (value > 0.0 || m->hparams.dampening == 0.0)";
    if (sgd && !strcmp(name, "dampening"))
        return "value >= 0.0 && isfinite(value) && (value == 0.0 || m->hparams.momentum > 0.0)";
    return "value >= 0.0 && isfinite(value)"; /* momentum, dampening, weight_decay, eps, alpha, min_lr */
}

/* The scalars one step's updates share (update_args: the same names, as arguments). */
static const char *update_params(const Train *t) {
    return is_adam(t) ? "const float lr, const int first, const float step_size, const float bc2_sqrt"
                      : "const float lr, const int first";
}
static const char *update_args(const Train *t) { return is_adam(t) ? "lr, first, step_size, bc2_sqrt" : "lr, first"; }

/* NAME_update(m, from, to, ...): the optimizer's update of params[from, to),
 * 8 at a time with DNN_V8, then one at a time; NAME_step calls it for every
 * trainable range (one loop in the code, not one per range). */
static void emit_update_fn(Out *o) {
    FILE *c = o->c;
    const Train *t = &o->g->train;
    fprintf(c, "/* the %s update of params[from, to) */\n", t->optimizer);
    fprintf(c, "static inline void %s_update(%s_model *m, int from, int to, %s) {\n", o->name, o->name, update_params(t));
    fprintf(c, "    (void)lr, (void)first;\n");
    emit_update_locals(c, t);
    fprintf(c, "#ifdef DNN_V8\n");
    fprintf(c, "    const int vectors_end = from + (to - from) / 8 * 8;\n");
    fprintf(c, "    for (int i = from; i < vectors_end; i += 8) {\n");
    emit_update(c, t, true);
    fprintf(c, "    }\n");
    fprintf(c, "#else\n");
    fprintf(c, "    const int vectors_end = from;\n");
    fprintf(c, "#endif\n");
    fprintf(c, "    for (int i = vectors_end; i < to; i++) {\n");
    emit_update(c, t, false);
    fprintf(c, "    }\n");
    fprintf(c, "}\n\n");
}

/* The update of torch.optim, step for step (PyTorch 1.13, single-tensor path). */
static void emit_step_fn(Out *o) {
    FILE *c = o->c;
    const Train *t = &o->g->train;
    const char *opt = t->optimizer;
    fprintf(c, "/* torch.optim.%s */\n", optimizer_of(t)->torch);
    fprintf(c, "void %s_step(%s_model *m) {\n", o->name, o->name);
    if (t->per_step)
        fprintf(c, "    %s_schedule(m, m->step); /* per_step: the schedule counts optimizer steps */\n", o->name);
    fprintf(c, "    const float lr = m->lr;\n");
    fprintf(c, "    const int first = m->step == 0;\n");
    fprintf(c, "    m->step++;\n");
    if (is_adam(t)) {
        fprintf(c, "    /* bias corrections in double, as PyTorch computes them */\n");
        fprintf(c, "    const double bc1 = 1.0 - pow(m->hparams.beta1, (double)m->step), bc2 = 1.0 - pow(m->hparams.beta2, (double)m->step);\n");
        fprintf(c, "    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);\n");
    }
    int (*ranges)[2] = arena_alloc(sizeof(int[2]) * (size_t)(o->g->nparams + 1));
    int nr = trainable_ranges(o->g, ranges);
    if (t->clip_grad_norm > 0)
        emit_clip(c, t->clip_grad_norm, ranges, nr);
    for (int r = 0; r < nr; r++)
        fprintf(c, "    %s_update(m, %d, %d, %s);\n", o->name, ranges[r][0], ranges[r][1], update_args(t));
    if (!nr)
        fprintf(c, "    (void)lr, (void)first; /* every parameter is frozen */\n");
    if (o->g->check_finite)
        fprintf(c, "    if (!m->nonfinite && !%s_finite(m->params, %ld))\n        m->nonfinite = \"the parameters after the %s step\";\n",
                o->name, o->plan->params, opt);
    fprintf(c, "}\n\n");
}

/* NAME_schedule(m, e): m->lr at count e of the schedule (epochs, or
 * optimizer steps with per_step), in double from m->hparams as PyTorch
 * computes it, then rounded to float. */
static void emit_schedule(Out *o) {
    const Train *t = &o->g->train;
    const char *sched = t->schedule ? t->schedule : "";
    FILE *c = o->c;
    fprintf(c, "/* the learning rate at count e of the schedule (%s) */\n", t->per_step ? "optimizer steps" : "epochs");
    fprintf(c, "static void %s_schedule(%s_model *m, int64_t e) {\n", o->name, o->name);
    if (!strcmp(sched, "step"))
        fprintf(c, "    m->lr = (float)(m->hparams.lr * pow(m->hparams.gamma, (double)(e / (int64_t)m->hparams.every))); /* step(every, gamma) */\n");
    else if (!strcmp(sched, "exponential"))
        fprintf(c, "    m->lr = (float)(m->hparams.lr * exp(-m->hparams.k * (double)e)); /* exponential(k) */\n");
    else if (!strcmp(sched, "inverse_time"))
        fprintf(c, "    m->lr = (float)(m->hparams.lr / (1.0 + m->hparams.k * (double)e)); /* inverse_time(k) */\n");
    else if (!strcmp(sched, "cosine")) {
        /* CosineAnnealingLR.get_lr() of PyTorch 1.13: a recursion on the
         * previous lr, term for term, in double; kept in m->cosine_lr so
         * that one more epoch or step costs one more term */
        fprintf(c, "    /* torch.optim.lr_scheduler.CosineAnnealingLR(T_max = period, eta_min = min_lr): its recursive form */\n");
        fprintf(c, "    const double base = m->hparams.lr, eta_min = m->hparams.min_lr, period = m->hparams.period, pi = 3.141592653589793;\n");
        fprintf(c, "    const int64_t t_max = (int64_t)period;\n");
        fprintf(c, "    if (e < m->cosine_at || m->cosine_at == 0) { /* from the start */\n");
        fprintf(c, "        m->cosine_at = 0;\n");
        fprintf(c, "        m->cosine_lr = base;\n");
        fprintf(c, "    }\n");
        fprintf(c, "    for (; m->cosine_at < e; m->cosine_at++) {\n");
        fprintf(c, "        const int64_t last = m->cosine_at + 1; /* PyTorch's last_epoch */\n");
        fprintf(c, "        if ((last - 1 - t_max) %% (2 * t_max) == 0)\n");
        fprintf(c, "            m->cosine_lr = m->cosine_lr + (base - eta_min) * (1.0 - cos(pi / period)) / 2.0;\n");
        fprintf(c, "        else\n");
        fprintf(c, "            m->cosine_lr = (1.0 + cos(pi * (double)last / period)) / (1.0 + cos(pi * (double)(last - 1) / period)) *\n");
        fprintf(c, "                           (m->cosine_lr - eta_min) + eta_min;\n");
        fprintf(c, "    }\n");
        fprintf(c, "    m->lr = (float)m->cosine_lr;\n");
    } else {
        fprintf(c, "    (void)e;\n");
        fprintf(c, "    m->lr = (float)m->hparams.lr; /* no schedule */\n");
    }
    fprintf(c, "}\n\n");
}

static void emit_set_epoch(Out *o) {
    const Train *t = &o->g->train;
    FILE *c = o->c;
    fprintf(c, "void %s_set_epoch(%s_model *m, int epoch) {\n", o->name, o->name);
    fprintf(c, "    m->epoch = epoch;\n");
    if (t->per_step)
        fprintf(c, "    %s_schedule(m, m->step); /* per_step: NAME_step advances the schedule */\n", o->name);
    else
        fprintf(c, "    %s_schedule(m, epoch);\n", o->name);
    fprintf(c, "}\n\n");
}

/* NAME_set_hparam_exact and NAME_set_hparam: a hyper-parameter of the
 * optimizer or schedule by its .dnn name; m unchanged on error. */
static void emit_set_hparam(Out *o) {
    const Train *t = &o->g->train;
    FILE *c = o->c;
    const char *names[8];
    int n = hparam_names(t, names);
    fprintf(c, "int %s_set_hparam_exact(%s_model *m, const char *name, double value) {\n", o->name, o->name);
    fprintf(c, "    static const char *const known[%d] = {", (int)(sizeof all_hparams / sizeof *all_hparams));
    for (size_t i = 0; i < sizeof all_hparams / sizeof *all_hparams; i++)
        fprintf(c, "%s\"%s\"", i ? ", " : "", all_hparams[i]);
    fprintf(c, "};\n");
    fprintf(c, "    if (!name)\n        return DNN_E_ARG;\n");
    for (int i = 0; i < n; i++) {
        fprintf(c, "    %sif (!strcmp(name, \"%s\")) {\n", i ? "} else " : "", names[i]);
        fprintf(c, "        if (!(%s))\n            return DNN_E_ARG;\n", hparam_valid(t, names[i]));
        fprintf(c, "        m->hparams.%s = value;\n", names[i]);
    }
    fprintf(c, "    } else {\n");
    fprintf(c, "        for (int i = 0; i < %d; i++)\n", (int)(sizeof all_hparams / sizeof *all_hparams));
    fprintf(c, "            if (!strcmp(name, known[i]))\n                return DNN_E_NOSTATE; /* not of this %s%s%s */\n",
            t->optimizer, t->schedule ? " and " : "", t->schedule ? t->schedule : "");
    fprintf(c, "        return DNN_E_HPARAM;\n");
    fprintf(c, "    }\n");
    if (t->schedule && !strcmp(t->schedule, "cosine"))
        fprintf(c, "    m->cosine_at = 0; /* the recursion again, with the new values */\n");
    fprintf(c, "    %s_schedule(m, %s);\n", o->name, t->per_step ? "m->step" : "m->epoch");
    fprintf(c, "    return 0;\n");
    fprintf(c, "}\n\n");
    fprintf(c, "int %s_set_hparam(%s_model *m, const char *name, float value) {\n", o->name, o->name);
    fprintf(c, "    return %s_set_hparam_exact(m, name, value);\n", o->name);
    fprintf(c, "}\n\n");
}

/* ---- entry points --------------------------------------------------------------------------- */

/* "(m, x, y, n)"-style parameter list of an entry point. */
static const char *entry_params(Out *o, bool targets, bool outputs) {
    Graph *g = o->g;
    const char *scalar = o->f64 ? "double" : "float";
    char buf[2048];
    int len = snprintf(buf, sizeof buf, "%s_model *m", o->name);
    for (int i = 0; i < g->ninputs; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", const %s *%s", scalar, arg_name(g->inputs[i]->name));
    for (int i = 0; outputs && i < g->noutputs; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", %s *%s", scalar, arg_name(c_ident(g->output_names[i])));
    for (int i = 0; targets && i < g->ntargets; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, ", const %s *%s",
                        g->targets[i]->dtype == DT_CLASS ? "int32_t" : scalar, arg_name(g->targets[i]->name));
    snprintf(buf + len, sizeof buf - (size_t)len, ", int n");
    return arena_strdup(buf);
}

/* Marks arguments the body does not read as unused. */
static void void_unused(Out *o, const bool *needed, bool targets) {
    Graph *g = o->g;
    for (int i = 0; i < g->ninputs; i++)
        if (!needed[g->inputs[i]->id])
            fprintf(o->c, "    (void)%s;\n", arg_name(g->inputs[i]->name));
    for (int i = 0; targets && i < g->ntargets; i++)
        if (!needed[g->targets[i]->id])
            fprintf(o->c, "    (void)%s;\n", arg_name(g->targets[i]->name));
}

static void emit_calls(Out *o, const bool *needed, int from, int to) {
    for (int i = from; i < to; i++) {
        Value *v = o->g->values[i];
        if (needed[v->id] && o->fn[v->id])
            emit_call(o, v);
    }
}

/* The smallest n NAME_backward trains on: 2 when a batchnorm the loss
 * needs normalises one value per channel and sample ([C], or [C, 1, 1]),
 * since PyTorch raises "Expected more than 1 value per channel when
 * training" when N·H·W is 1; else 1. */
int min_train_batch(const Graph *g) {
    if (g->inference || !g->loss)
        return 1;
    bool *needed = arena_alloc((size_t)g->nvalues);
    mark_needed(g, g->loss, needed);
    for (int i = 0; i < g->nforward; i++) {
        const Value *v = g->values[i];
        if (v->op == OP_batchnorm && needed[v->id] && shape_size(&v->shape) == v->shape.dim[0])
            return 2;
    }
    return 1;
}

static void emit_entry_points(Out *o) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;

    fprintf(c, "void %s_forward(%s) {\n", n, entry_params(o, false, true));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return;\n", N);
    void_unused(o, o->for_outputs, false);
    if (!g->inference)
        fprintf(c, "    m->training = 0;\n");
    emit_calls(o, o->for_outputs, 0, g->nforward);
    for (int i = 0; i < g->noutputs; i++)
        fprintf(c, "    memcpy(%s, %s, sizeof(float) * (size_t)n * %s_%s_SIZE);\n", arg_name(c_ident(g->output_names[i])),
                ptr(o, g->outputs[i]), N, upper(c_ident(g->output_names[i])));
    fprintf(c, "}\n\n");
    if (g->inference)
        return;

    const char *loss = ptr(o, g->loss);
    fprintf(c, "float %s_loss(%s) {\n", n, entry_params(o, true, false));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return NAN;\n", N);
    void_unused(o, o->for_loss, true);
    fprintf(c, "    m->training = 0;\n");
    emit_calls(o, o->for_loss, 0, g->nforward);
    fprintf(c, "    return (%s)[0];\n}\n\n", loss);

    bool *all = arena_alloc((size_t)g->nvalues);
    memcpy(all, o->for_loss, (size_t)g->nforward);
    for (int i = g->nforward; i < g->nvalues; i++)
        all[i] = true;
    /* batchnorm on one value per channel: PyTorch raises, the model is left as it is */
    const char *one = min_train_batch(g) > 1 ? "    if (n == 1) /* batchnorm needs more than 1 value per channel */\n"
                                               "        return (float)DNN_E_ARG;\n" : "";
    fprintf(c, "float %s_backward(%s) {\n", n, entry_params(o, true, false));
    fprintf(c, "    if (n < 1 || n > %s_BATCH)\n        return NAN;\n%s", N, one);
    void_unused(o, o->for_loss, true);
    fprintf(c, "    m->training = 1;\n");
    emit_calls(o, all, 0, g->nforward);
    fprintf(c, "    /* backward */\n");
    emit_calls(o, all, g->nforward, g->nvalues);
    fprintf(c, "    m->training = 0;\n");
    fprintf(c, "    return (%s)[0];\n}\n\n", loss);

    char args[1024] = "m";
    for (int i = 0; i < g->ninputs; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), ", %s", arg_name(g->inputs[i]->name));
    for (int i = 0; i < g->ntargets; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), ", %s", arg_name(g->targets[i]->name));
    fprintf(c, "float %s_train_step(%s) {\n%s", n, entry_params(o, true, false), one);
    fprintf(c, "    const float loss = %s_backward(%s, n);\n", n, args);
    fprintf(c, "    if (loss == loss) /* not NaN: n was valid */\n");
    fprintf(c, "        %s_step(m);\n", n);
    fprintf(c, "    return loss;\n}\n\n");
}

/* --embed-weights: the parameters as exact constants (flash); no loading. */
static void emit_embedded_api(Out *o) {
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    fprintf(c, "/* the weights, bit for bit, as hexadecimal float constants */\n");
    fprintf(c, "const float %s_weights[%ld] = {", n, o->plan->params);
    for (long i = 0; i < o->plan->params; i++)
        fprintf(c, "%s%af%s", i % 6 ? " " : "\n    ", (double)o->weights[i], i + 1 < o->plan->params ? "," : "");
    fprintf(c, "\n};\n\n");
    fprintf(c, "const float *%s_tensor(const %s_model *m, int i) {\n    (void)m;\n", n, n);
    fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS ? %s_weights + %s_offsets[i] : NULL;\n}\n\n", N, n, n);
    fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n", n, n);
    fprintf(c, "    const float *src[%s_NUM_TENSORS];\n    (void)m;\n", N);
    fprintf(c, "    for (int i = 0; i < %s_NUM_TENSORS; i++)\n        src[i] = %s_weights + %s_offsets[i];\n", N, n, n);
    fprintf(c, "    return dnn_safetensors_save(%s_tensors, src, %s_NUM_TENSORS, buf, cap);\n}\n\n", n, N);
    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n    (void)seed;\n    memset(m, 0, sizeof *m);\n}\n\n", n, n);
}

static void emit_tensor_api(Out *o) {
    Graph *g = o->g;
    FILE *c = o->c;
    const char *n = o->name, *N = o->NAME;
    Value **byindex = arena_alloc(sizeof(Value *) * (size_t)(g->nparams + 1));
    for (int i = 0; i < g->nparams; i++)
        byindex[g->params[i]->index] = g->params[i];
    fprintf(c, "const dnn_tensor_info %s_tensors[%s_NUM_TENSORS] = {\n", n, N);
    for (int i = 0; i < g->nparams; i++) {
        Value *p = byindex[i];
        const Shape *s = &p->shape;
        fprintf(c, "    {\"%s\", %d, {%d, %d, %d, %d}, %ld, %d},\n", p->name, s->rank, s->rank > 0 ? s->dim[0] : 0,
                s->rank > 1 ? s->dim[1] : 0, s->rank > 2 ? s->dim[2] : 0, s->rank > 3 ? s->dim[3] : 0, shape_size(s),
                p->trainable && !p->is_buffer);
    }
    fprintf(c, "};\n\n");
    fprintf(c, "/* where each tensor starts in params (and grads) */\n");
    fprintf(c, "static const int %s_offsets[%s_NUM_TENSORS] = {", n, N);
    for (int i = 0; i < g->nparams; i++)
        fprintf(c, "%s%d", i ? ", " : "", byindex[i]->offset);
    fprintf(c, "};\n\n");
    if (o->weights) {
        emit_embedded_api(o);
        return;
    }
    fprintf(c, "float *%s_tensor(%s_model *m, int i) {\n", n, n);
    fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS ? m->params + %s_offsets[i] : NULL;\n}\n\n", N, n);
    if (!g->inference) {
        fprintf(c, "float *%s_grad(%s_model *m, int i) {\n", n, n);
        fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS && %s_tensors[i].trainable ? m->grads + %s_offsets[i] : NULL;\n}\n\n",
                N, n, n);
    }
    fprintf(c, "int %s_load(%s_model *m, const void *safetensors, size_t len) {\n", n, n);
    fprintf(c, "    float *dst[%s_NUM_TENSORS];\n", N);
    fprintf(c, "    for (int i = 0; i < %s_NUM_TENSORS; i++)\n        dst[i] = m->params + %s_offsets[i];\n", N, n);
    fprintf(c, "    return dnn_safetensors_load(%s_tensors, dst, %s_NUM_TENSORS, safetensors, len);\n}\n\n", n, N);
    fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n", n, n);
    fprintf(c, "    const float *src[%s_NUM_TENSORS];\n", N);
    fprintf(c, "    for (int i = 0; i < %s_NUM_TENSORS; i++)\n        src[i] = m->params + %s_offsets[i];\n", N, n);
    fprintf(c, "    return dnn_safetensors_save(%s_tensors, src, %s_NUM_TENSORS, buf, cap);\n}\n\n", n, N);

    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n", n, n);
    fprintf(c, "    memset(m, 0, sizeof *m);\n");
    fprintf(c, "    dnn_rng_seed(&m->rng, seed);\n");
    for (int i = 0; i < g->nparams; i++)
        emit_init_param(o, byindex[i]);
    if (!g->inference) {
        const char *hp[8];
        for (int i = 0, k = hparam_names(&g->train, hp); i < k; i++)
            fprintf(c, "    m->hparams.%s = %.17g;\n", hp[i], hparam_value(&g->train, hp[i]));
        fprintf(c, "    %s_set_epoch(m, 0);\n", n);
    }
    fprintf(c, "}\n\n");
}

/* Which values the emitted steps read (constants are printed only when
 * one does): steps for the loss and every backward step, and those for
 * the outputs when for_outputs is given. */
static bool *values_read(const Out *o, const bool *for_outputs) {
    const Graph *g = o->g;
    bool *read = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (!is_leaf(v) && !v->alias_of && !v->fused && (o->for_loss[i] || (for_outputs && for_outputs[i]) || i >= g->nforward))
            for (int k = 0; k < v->nin; k++)
                if (v->in[k])
                    read[v->in[k]->id] = true;
    }
    return read;
}

/* ---- the double-precision twin (--main) ----------------------------------------------------
 * The training program's gradcheck compares the gradient of NAME_backward
 * with central differences of the loss. In float32 those resolve little
 * (the loss is rounded to ~1e-7 of itself), so the program gets the model
 * once more in double: NAME_f64_model holds params, grads and activations
 * as doubles at the float model's offsets, and NAME_f64_loss and
 * NAME_f64_backward run the same steps (printed through f64_text) in
 * train mode. Static: only the program's wrappers (emit_main.c) call them. */
static void emit_f64_twin(const Out *model) {
    Out t = *model; /* fn_names carries on, so the twin's step names stay distinct */
    Graph *g = t.g;
    FILE *c = t.c;
    t.name = arena_printf("%s_f64", model->name);
    t.f64 = true;
    t.bodies = (Map){0};
    t.fn = arena_alloc(sizeof(char *) * (size_t)g->nvalues);
    t.dim_args = arena_alloc(sizeof(char *) * (size_t)g->nvalues);
    const char *n = t.name;
    const bool *read = values_read(&t, NULL);
    fprintf(c, "/* ==== model %s in double precision, for the training program's gradcheck ==== */\n\n", g->name);
    fprintf(c, "typedef struct %s_model {\n", n);
    fprintf(c, "    double params[%ld]; /* laid out like %s_model's */\n", t.plan->params, model->name);
    fprintf(c, "    double grads[%ld];\n", t.plan->params);
    fprintf(c, "    double act[%ld];\n", t.plan->act > 0 ? t.plan->act : 1);
    fprintf(c, "    int training;\n");
    fprintf(c, "    dnn_rng rng; /* from %s_model's: dropout draws the same masks */\n", model->name);
    fprintf(c, "} %s_model;\n\n", n);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (v->op == OP_constant && read[i])
            fprintf(c, "%s\n", f64_text(arena_printf("static const float %s_c%d[1] = {%s};", n, v->id,
                                                     flit(v->attr[0]))));
    }
    fputc('\n', c);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!is_leaf(v) && !v->alias_of && !v->fused && (t.for_loss[i] || i >= g->nforward))
            emit_step(&t, v);
    }
    bool *all = arena_alloc((size_t)g->nvalues);
    memcpy(all, t.for_loss, (size_t)g->nforward);
    for (int i = g->nforward; i < g->nvalues; i++)
        all[i] = true;
    const char *loss = ptr(&t, g->loss);
    for (int grads = 0; grads < 2; grads++) {
        fprintf(c, "/* train mode: the loss%s */\n", grads ? " and the gradients" : "");
        fprintf(c, "static double %s_%s(%s) {\n", n, grads ? "backward" : "loss", entry_params(&t, true, false));
        void_unused(&t, t.for_loss, true);
        fprintf(c, "    m->training = 1;\n");
        emit_calls(&t, grads ? all : t.for_loss, 0, g->nforward);
        if (grads)
            emit_calls(&t, all, g->nforward, g->nvalues);
        fprintf(c, "    return (%s)[0];\n}\n\n", loss);
    }
}

/* --embed-weights: NAME_preprocess(raw inputs..., model inputs..., n), the
 * preprocessing saved in the weights file (g->prep) as the training
 * program applies it, constants as macros in the header. Without any it
 * copies, so a firmware may call it unconditionally. */
static void emit_preprocess(Out *o) {
    Graph *g = o->g;
    FILE *c = o->c, *h = o->h;
    const Preprocess *pr = g->prep;
    double scale = pr ? pr->scale : 1;
    char params[2048] = "";
    size_t len = 0;
    for (int i = 0; i < g->ninputs; i++)
        len += (size_t)snprintf(params + len, sizeof params - len, "const float *raw_%s, ", c_ident(g->inputs[i]->name));
    for (int i = 0; i < g->ninputs; i++)
        len += (size_t)snprintf(params + len, sizeof params - len, "float *%s, ", arg_name(g->inputs[i]->name));
    fprintf(h, "/* %s_preprocess: the input preprocessing saved with the embedded weights (their metadata:\n"
               " * --scale, --standardize, --center of the training program; docs/firmware.md), from raw inputs\n"
               " * to the model's, [n][SIZE] each, in place if the arrays are the same:\n", o->name);
    bool any = false;
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", o->NAME, upper(c_ident(in->name)));
        const char *x = arena_printf("(float)(raw_%s * %s_SCALE)", c_ident(in->name), I);
        bool per_channel = pr && pr->mean[i] && pr->groups[i] != shape_size(&in->shape);
        const char *at = per_channel ? "[c]" : "[i]";
        if (pr && pr->std[i])
            fprintf(h, " *   %s = (%s - %s_MEAN%s) / %s_STD%s\n", in->name, x, I, at, I, at);
        else if (pr && pr->mean[i])
            fprintf(h, " *   %s = %s - %s_MEAN%s\n", in->name, x, I, at);
        else
            fprintf(h, " *   %s = %s\n", in->name, x);
        if (per_channel)
            fprintf(h, " *   (c: the channel, the first dimension of %s)\n", shape_str(&in->shape));
        any |= (pr && pr->mean[i]) || scale != 1;
    }
    fprintf(h, " * %s */\n", any ? "Call it on raw data before the model's functions."
                                 : "The weights hold no preprocessing: it copies, and may be called all the same.");
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", o->NAME, upper(c_ident(in->name)));
        char text[40]; /* a double constant: "1.0", not the int "1" */
        snprintf(text, sizeof text, "%.17g", scale);
        fprintf(h, "#define %s_SCALE %s%s /* dnn.scale */\n", I, text, strpbrk(text, ".en") ? "" : ".0");
        for (int which = 0; pr && which < 2; which++) {
            const float *v = which ? pr->std[i] : pr->mean[i];
            if (!v)
                continue;
            fprintf(h, "#define %s_%s {", I, which ? "STD" : "MEAN");
            for (int k = 0; k < pr->groups[i]; k++)
                fprintf(h, "%s%s", k ? (k % 6 ? ", " : ", \\\n    ") : "", flit(v[k]));
            fprintf(h, "} /* dnn.%s@%s: one per %s */\n", which ? "std" : "mean", in->name,
                    pr->groups[i] == shape_size(&in->shape) ? "element" : "channel");
        }
    }
    fprintf(h, "void %s_preprocess(%sint n);\n\n", o->name, params);

    for (int i = 0; pr && i < g->ninputs; i++) /* the statistics, from the macros */
        for (int which = 0; which < 2; which++)
            if (which ? pr->std[i] : pr->mean[i])
                fprintf(c, "static const float %s_%s%d[%d] = %s_%s_%s;\n", o->name, which ? "std" : "mean", i,
                        pr->groups[i], o->NAME, upper(c_ident(g->inputs[i]->name)), which ? "STD" : "MEAN");
    fprintf(c, "\n/* the preprocessing saved with the weights, as the training program applies it */\n");
    fprintf(c, "void %s_preprocess(%sint n) {\n", o->name, params);
    fprintf(c, "    if (n <= 0)\n        return;\n");
    for (int i = 0; i < g->ninputs; i++) {
        const Value *in = g->inputs[i];
        const char *I = arena_printf("%s_%s", o->NAME, upper(c_ident(in->name))), *raw = c_ident(in->name);
        const char *x = arg_name(in->name);
        long size = shape_size(&in->shape), each = pr && pr->mean[i] ? size / pr->groups[i] : 1;
        if (scale == 1 && !(pr && pr->mean[i])) {
            fprintf(c, "    memmove(%s, raw_%s, sizeof(float) * (size_t)n * %ld); /* %s: none */\n", x, raw, size,
                    in->name);
            continue;
        }
        const char *at = arena_printf("(size_t)s * %ld + i", size), *k = each > 1 ? arena_printf("i / %ld", each) : "i";
        const char *value = scale == 1 ? arena_printf("raw_%s[%s]", raw, at)
                                       : arena_printf("(float)(raw_%s[%s] * %s_SCALE)", raw, at, I);
        fprintf(c, "    for (int s = 0; s < n; s++)\n        for (int i = 0; i < %ld; i++)\n", size);
        if (pr && pr->std[i])
            fprintf(c, "            %s[%s] = (%s - %s_mean%d[%s]) / %s_std%d[%s];\n", x, at, value, o->name, i, k, o->name,
                    i, k);
        else if (pr && pr->mean[i])
            fprintf(c, "            %s[%s] = %s - %s_mean%d[%s];\n", x, at, value, o->name, i, k);
        else
            fprintf(c, "            %s[%s] = %s;\n", x, at, value);
    }
    fprintf(c, "}\n\n");
}

bool emit_model(Graph *g, const Plan *plan, const EmitOptions *opt, FILE *c, FILE *h) {
    Out o = {.g = g, .plan = plan, .c = c, .h = h, .name = g->name, .NAME = upper(g->name), .source = opt->source,
             .weights = opt->weights, .small = opt->small};
    if (!g->nparams) {
        error_at(g->loc, "model '%s' has no parameters to train", g->name);
        note("add a layer such as dense(x, 4), or a 'param' declaration");
        return false;
    }

    o.fn = arena_alloc(sizeof(char *) * (size_t)g->nvalues);
    o.dim_args = arena_alloc(sizeof(char *) * (size_t)g->nvalues);
    o.for_outputs = arena_alloc((size_t)g->nvalues);
    o.for_loss = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], o.for_outputs);
    if (!g->inference) /* --inference computes only what the outputs need */
        mark_needed(g, g->loss, o.for_loss);

    emit_header(&o);

    fprintf(c, "/* ==== model %s ==== */\n\n", g->name);
    bool *read = values_read(&o, o.for_outputs);
    for (int i = 0; i < g->nvalues; i++) { /* constants */
        Value *v = g->values[i];
        if (v->op == OP_constant && read[i])
            fprintf(c, "static const float %s_c%d[1] = {%s};\n", o.name, v->id, flit(v->attr[0]));
    }
    fputc('\n', c);
    int (*ranges)[2] = arena_alloc(sizeof(int[2]) * (size_t)(g->nparams + 1));
    if (!g->inference && trainable_ranges(g, ranges)) /* none when every parameter is frozen */
        emit_update_fn(&o);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!is_leaf(v) && !v->alias_of && !v->fused && (o.for_loss[i] || o.for_outputs[i] || i >= g->nforward))
            emit_step(&o, v);
    }
    if (g->check_finite)
        emit_finite_fn(&o);
    emit_tensor_api(&o);
    if (!g->inference) {
        emit_schedule(&o);
        emit_set_epoch(&o);
        emit_set_hparam(&o);
    }
    emit_entry_points(&o);
    if (!g->inference)
        emit_step_fn(&o);
    if (opt->f64_twin && !g->inference)
        emit_f64_twin(&o);
    if (o.weights)
        emit_preprocess(&o);
    return true;
}
