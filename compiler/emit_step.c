/* emit_step.c — the step functions of a model and their calls, as llm.c
 * writes them.
 *
 * One function per layer and direction: NAME_LAYER_OP_forward(out, inp,
 * weight, bias, n) and NAME_LAYER_OP_backward(dinp, dweight, dbias, dout,
 * inp, weight, n), taking only what its body reads and computing only the
 * gradients the model needs. An op's emitters (ops_*.c) print a body in
 * the IR's terms: `out`, operands `in0, in1, ...`, and for a gradient `dx`
 * (of operand `arg`) and `dy`; here those become llm.c's names, token by
 * token, and the backward nodes of one layer (one per operand, made
 * together by grad_backward) share one function and one call. Calls pass
 * named pointers into the model's arrays, declared at the top of each
 * entry point (begin_body/end_body), and carry the .dnn line of the layer.
 */
#include "emit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- names -------------------------------------------------------------------------------- */

const Value *storage_of(const Value *v) {
    while (v->alias_of)
        v = v->alias_of;
    return v;
}

/* The name of operand k of forward node f inside f's step functions:
 * a layer's parameters by their role (weight, bias, running_mean), a
 * penalty's by their own names; the other operands inp, or inp1, inp2...
 * when there are several, and a loss's second one target. */
static const char *operand_name(const Value *f, int k) {
    const Value *x = f->in[k];
    bool layer = op_info[f->op].flags & F_LAYER || f->fused_conv;
    if (x && x->op == OP_param && (f->op == OP_l1 || f->op == OP_l2))
        return c_ident(x->name);
    if (x && x->op == OP_param && layer && !x->is_explicit) {
        const char *dot = strrchr(x->name, '.');
        return dot ? dot + 1 : x->name;
    }
    bool loss = op_info[f->op].flags & F_LOSS;
    if (loss && k == 1)
        return "target";
    int data = 0, index = 0; /* the operands that are not a layer's parameters or a loss's target */
    for (int i = 0; i < f->nin; i++)
        if (!(f->in[i] && f->in[i]->op == OP_param && layer && !f->in[i]->is_explicit) && !(loss && i == 1)) {
            if (i == k)
                index = data;
            data++;
        }
    return data == 1 ? "inp" : arena_printf("inp%d", index + 1);
}

/* Each value's name at call sites (o->vname): parameters and gradients
 * after the tensor ("features_0_weight", "dfeatures_0_weight"), a layer's
 * result after the layer ("features_0"), a gradient after what it is the
 * gradient of ("dfeatures_1"); unique in the model and apart from the
 * entry points' own parameters. */
void name_values(Out *o) {
    Graph *g = o->g;
    o->vname = arena_alloc(sizeof(char *) * (size_t)g->nvalues);
    Map taken = {0}, counters = {0};
    const char **base_of = arena_alloc(sizeof(char *) * (size_t)g->nvalues); /* each name before its suffix */
    static const char *const reserved[] = {"m", "n", "i", "s", "loss", "seed", "buf", "cap", "len"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        map_put(&taken, reserved[i], "");
    for (int i = 0; i < g->ninputs; i++)
        map_put(&taken, arg_name(g->inputs[i]->name), "");
    for (int i = 0; i < g->ntargets; i++)
        map_put(&taken, arg_name(g->targets[i]->name), "");
    for (int i = 0; i < g->noutputs; i++)
        map_put(&taken, arg_name(c_ident(g->output_names[i])), "");
    const Value **grad_owner = arena_alloc(sizeof(Value *) * (size_t)(o->plan->params + 1));
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i]->area == AREA_PARAM)
            grad_owner[g->params[i]->offset] = g->params[i];
    /* parameters, stored gradients and statements' results first, so they get the plain names */
    for (int pass = 0; pass < 4; pass++)
        for (int i = 0; i < g->nvalues; i++) {
            const Value *v = g->values[i];
            bool param = v->op == OP_param, grad = !param && v->area == AREA_GRAD && !v->alias_of;
            bool result = !param && !grad && v->name && v->id < g->nforward;
            if (pass != (param ? 0 : grad ? 1 : result ? 2 : 3) || v->op == OP_input || v->op == OP_target ||
                v->op == OP_constant)
                continue;
            const char *base;
            if (param)
                base = c_ident(v->name);
            else if (grad && grad_owner[v->offset])
                base = arena_printf("d%s", c_ident(grad_owner[v->offset]->name));
            else if (v->op == OP_backward && v->fwd->fused_conv) /* conv → relu → maxpool's: the conv's output gradient */
                base = arena_printf("d%s", o->vname[v->fwd->fused_conv->id]);
            else if (v->op == OP_backward && v->fwd->relu_grad) /* relu → maxpool's: relu's input gradient */
                base = arena_printf("d%s", o->vname[v->fwd->in[0]->in[0]->id]);
            else if (v->op == OP_backward)
                base = arena_printf("d%s", o->vname[v->fwd->in[v->grad_arg]->id]);
            else if (v->id >= g->nforward && v->nin > 0 && base_of[v->in[0]->id] && base_of[v->in[0]->id][0] == 'd')
                base = base_of[v->in[0]->id]; /* sums and reshapes of gradients */
            else
                base = c_ident(result ? v->name : v->label ? v->label : "t");
            const char *name = base;
            if ((map_get(&taken, name) || strcmp(arg_name(name), name)) && v->id < g->nforward)
                name = arena_printf("%s_%s", base, op_info[v->op].name); /* the parts of one statement: loss_l2, loss_add */
            if (map_get(&taken, name)) { /* base_2, base_3, ...: each base counts on where it stopped */
                int *next = map_get(&counters, base);
                if (!next) {
                    next = arena_alloc(sizeof *next);
                    *next = 2;
                    map_put(&counters, base, next);
                }
                do
                    name = arena_printf("%s_%d", base, (*next)++);
                while (map_get(&taken, name));
            }
            map_put(&taken, name, (void *)name);
            o->vname[v->id] = name;
            base_of[v->id] = base;
        }
}

/* ---- the locals of an entry point --------------------------------------------------------- */

/* Starts an entry point's body: calls are printed into memory, and each
 * value they pass becomes a local pointer declared before them. */
void begin_body(Out *o) {
    o->body = NULL;
    o->body_len = 0;
    o->entry = o->c;
    o->c = open_memstream(&o->body, &o->body_len);
    if (!o->c)
        ICE("open_memstream failed");
    o->nlocals = 0;
    memset(o->declared, 0, (size_t)o->g->nvalues);
}

/* The expression for value v's buffer inside the current entry point. */
const char *local(Out *o, const Value *v) {
    if (!v)
        return "NULL";
    v = storage_of(v);
    switch (v->area) {
    case AREA_INPUT:
    case AREA_TARGET: return arg_name(v->name);
    case AREA_OUTPUT: return arg_name(c_ident(o->g->output_names[v->index]));
    case AREA_CONST: return arena_printf("%s_c%d", o->name, v->id);
    case AREA_FLASH:
    case AREA_PARAM:
    case AREA_GRAD:
    case AREA_ACT:
        if (!o->declared[v->id]) {
            o->declared[v->id] = true;
            o->locals[o->nlocals++] = v;
        }
        return o->vname[v->id];
    default: ICE("value %%%d has no storage", v->id);
    }
}

/* Ends the body: the declarations, then the calls. */
void end_body(Out *o) {
    fclose(o->c);
    o->c = o->entry;
    const char *scalar = o->f64 ? "double" : "float";
    bool uses_m = false;
    for (int i = 0; i < o->nlocals; i++) {
        const Value *v = o->locals[i];
        /* an inference build's embedded weights, and an embedded training build's frozen ones, are in flash */
        bool flash = v->area == AREA_FLASH || (v->area == AREA_PARAM && o->weights && o->g->inference);
        uses_m = uses_m || !flash;
        const char *base = flash ? arena_printf("%s_weights", o->name) : v->area == AREA_PARAM ? "m->params"
                           : v->area == AREA_GRAD ? "m->grads" : "m->act";
        const char *shape = shape_str(&v->shape);
        fprintf(o->c, "    %s%s *%s = %s + %d; /* %s%s%s */\n", v->area == AREA_PARAM || flash ? "const " : "", scalar,
                o->vname[v->id], base, flash ? v->flash : v->offset, v->batched ? (v->shape.rank ? "[n, " : "[n") : "",
                v->batched ? shape + 1 : shape, v->area == AREA_FLASH ? ", frozen" : "");
    }
    if (!uses_m && !strstr(o->body, "m->")) /* an inference build with its weights in flash and no activations */
        fprintf(o->c, "    (void)m;\n");
    fwrite(o->body, 1, o->body_len, o->c);
    free(o->body);
}

/* ---- step functions ----------------------------------------------------------------------- */

/* What a step's parameter is given at a call. */
typedef enum { ARG_VALUE, ARG_TRAINING, ARG_RNG, ARG_RING, ARG_N } ArgKind;
typedef struct Param {
    const char *name, *type;
    ArgKind kind;
    const Value *value;  /* ARG_VALUE: whose buffer */
} Param;
struct Step {
    const char *fn;
    Param *params;
    int nparams;
    const char *dims;    /* --optimize=size: the size arguments, ", 120, 400" */
    Value **nodes;       /* the IR nodes the call computes (a layer's gradients: several) */
    int nnodes;
};

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* body with each identifier from[i] replaced by to[i]. Dies if a new name
 * is already a word of the body (an emitter's local would be shadowed). */
static char *rename_words(const char *body, const char **from, const char **to, int n) {
    size_t cap = strlen(body) * 3 + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        ICE("out of memory");
    for (const char *p = body; *p;) {
        const char *start = p;
        if (isalpha((unsigned char)*p) || *p == '_') {
            while (ident_char(*p))
                p++;
            size_t wl = (size_t)(p - start);
            const char *word = NULL;
            for (int i = 0; i < n && !word; i++)
                if (strlen(from[i]) == wl && !memcmp(from[i], start, wl))
                    word = to[i];
            for (int i = 0; i < n && !word; i++)
                if (strlen(to[i]) == wl && !memcmp(to[i], start, wl))
                    ICE("a step's body already uses the name '%s'", to[i]);
            if (!word)
                word = arena_printf("%.*s", (int)wl, start);
            size_t add = strlen(word);
            if (len + add + 1 >= cap && !(out = realloc(out, cap = 2 * cap + add)))
                ICE("out of memory");
            memcpy(out + len, word, add);
            len += add;
        } else if (isdigit((unsigned char)*p)) { /* a number, with its suffixes and exponent */
            while (ident_char(*p) || *p == '.' || ((*p == '+' || *p == '-') && strchr("eEpP", p[-1])))
                p++;
            if (len + (size_t)(p - start) + 1 >= cap && !(out = realloc(out, cap = 2 * cap + (size_t)(p - start))))
                ICE("out of memory");
            memcpy(out + len, start, (size_t)(p - start));
            len += (size_t)(p - start);
        } else {
            if (len + 2 >= cap && !(out = realloc(out, cap *= 2)))
                ICE("out of memory");
            out[len++] = *p++;
        }
    }
    out[len] = 0;
    return out;
}

static bool uses_word(const char *body, const char *word) {
    size_t wl = strlen(word);
    for (const char *p = body; (p = strstr(p, word)); p += wl)
        if ((p == body || !ident_char(p[-1])) && !ident_char(p[wl]))
            return true;
    return false;
}

/* Where node v was written: "lenet5.dnn:7 conv2d(6, kernel = 5, pad = 2)",
 * or for an operator the line. */
static const char *source_of(const Out *o, const Value *v) {
    const char *call = source_call(v->loc);
    return arena_printf("%s:%d %s", o->source, v->loc.first_line, call ? call : source_line(v->loc.first_line));
}

static const char *describe(const Value *x) {
    return x->dtype == DT_CLASS ? arena_printf("class(%d)", x->classes) : shape_str(&x->shape);
}

/* Prints (once) the step function computing nodes[0..count): one forward
 * node, or the backward nodes of one layer (same fwd, same incoming
 * gradient); records the call in o->steps. */
void emit_step(Out *o, Value **nodes, int count) {
    const Value *v0 = nodes[0];
    bool backward = v0->op == OP_backward;
    const Value *f = backward ? v0->fwd : v0;
    const char *opname = op_info[f->op].name;
    if (f->fused_conv) /* conv2d → activation → pool in one step */
        opname = arena_printf("conv2d_%s%s%s", f->fused_act ? op_info[f->fused_act->op].name : "",
                              f->fused_act ? "_" : "", opname);
    if (backward && f->relu_grad) /* relu → maxpool's gradients in one step */
        opname = "relu_maxpool";
    const char *scalar = o->f64 ? "double" : "float";
    const char *cfloat = arena_printf("const %s *", scalar), *wfloat = arena_printf("%s *", scalar);

    /* the parameters, and the emitters' names for them */
    Param *params = arena_alloc(sizeof(Param) * (size_t)(count + MAX_INPUTS + 6));
    const char **from = arena_alloc(sizeof(char *) * (size_t)(count + MAX_INPUTS + 6)),
               **to = arena_alloc(sizeof(char *) * (size_t)(count + MAX_INPUTS + 6));
    int *to_param = arena_alloc(sizeof(int) * (size_t)(MAX_INPUTS + 6)); /* the parameter each renamed word becomes */
    int np = 0, nr = 0;
    if (backward)
        for (int j = 0; j < count; j++)
            params[np++] = (Param){f->fused_conv ? "dconv" /* conv → relu → maxpool's: the conv's output gradient */
                                                 : arena_printf("d%s", operand_name(f, nodes[j]->grad_arg)),
                                   wfloat, ARG_VALUE, nodes[j]};
    else
        params[np++] = (Param){"out", wfloat, ARG_VALUE, f};
    if (backward) {
        params[np++] = (Param){"dout", cfloat, ARG_VALUE, v0->in[0]};
        from[nr] = "dy", to_param[nr++] = np - 1;
    }
    for (int k = 0; k < f->nin; k++) {
        const Value *x = f->in[k];
        params[np++] = (Param){operand_name(f, k), x && x->dtype == DT_CLASS ? "const int32_t *" : cfloat, ARG_VALUE, x};
        from[nr] = arena_printf("in%d", k), to_param[nr++] = np - 1;
    }
    if (backward)
        params[np++] = (Param){"out", cfloat, ARG_VALUE, f};
    int flags = op_info[f->op].flags;
    if (flags & F_MODE && !backward)
        params[np++] = (Param){"training", "int ", ARG_TRAINING, NULL};
    if (flags & F_RNG && !backward)
        params[np++] = (Param){"rng", "dnn_rng *", ARG_RNG, NULL};
    if (f->ring && !backward) /* a conv2d over its own input: the rows it keeps aside */
        params[np++] = (Param){"ring", wfloat, ARG_RING, f};
    params[np++] = (Param){"n", "int ", ARG_N, NULL};

    /* the bodies, each node's in its emitter's names, then renamed */
    char *defs = NULL;
    size_t defs_len = 0;
    FILE *defs_mem = open_memstream(&defs, &defs_len);
    if (!defs_mem)
        ICE("open_memstream failed");
    /* the twin takes the portable paths: the generic ones have no vector code */
    Emitter e = {NULL, o->g, 1, (o->small && !backward) || o->f64, 0, {0}, {0}, o->f64, defs_mem, o->small, 0};
    char **texts = arena_alloc(sizeof(char *) * (size_t)count);
    for (int j = 0; j < count && backward; j++)
        e.step_args |= 1u << nodes[j]->grad_arg;
    for (int j = 0; j < count; j++) {
        size_t text_len = 0;
        e.out = open_memstream(&texts[j], &text_len);
        if (!e.out)
            ICE("open_memstream failed");
        e.indent = count > 1 ? 2 : 1;
        op_emit(&e, nodes[j]);
        fclose(e.out);
    }
    /* a name an emitter already uses for a local of its own (a parameter `i`) gets a _ */
    for (int k = 0; k < np; k++)
        for (int j = 0; j < count; j++)
            if (params[k].kind == ARG_VALUE && strcmp(params[k].name, "out") && uses_word(texts[j], params[k].name)) {
                params[k].name = arena_printf("%s_", params[k].name);
                j = -1; /* again, with the new name */
            }
    for (int i = 0; i < nr; i++)
        to[i] = params[to_param[i]].name;
    const char *body = "";
    for (int j = 0; j < count; j++) { /* dx, and dxK for operand K's gradient (one emitter writing several) */
        from[nr] = "dx", to[nr] = backward ? params[j].name : "dx";
        for (int k = 0; k < count && backward; k++)
            from[nr + 1 + k] = arena_printf("dx%d", nodes[k]->grad_arg), to[nr + 1 + k] = params[k].name;
        char *renamed = rename_words(texts[j], from, to, nr + 1 + (backward ? count : 0));
        free(texts[j]);
        if (!*renamed) { /* computed by a sibling's emitter */
            free(renamed);
            continue;
        }
        if (count > 1 && strchr(renamed, '\n') != renamed + strlen(renamed) - 1) /* several lines: a block of their own */
            body = arena_printf("%s    {\n%s    }\n", body, renamed);
        else if (count > 1) /* one line, indented as the block's would be */
            body = arena_printf("%s%s", body, renamed + 4);
        else
            body = arena_printf("%s%s", body, renamed);
        free(renamed);
    }
    fclose(defs_mem);

    /* the signature: the parameters the body reads or writes, then the sizes (--optimize=size) */
    const char *sig = "(";
    Param *kept = arena_alloc(sizeof(Param) * (size_t)np);
    int nk = 0;
    for (int k = 0; k < np; k++)
        if (uses_word(body, params[k].name)) {
            sig = arena_printf("%s%s%s%s", sig, nk ? ", " : "", params[k].type, params[k].name);
            kept[nk++] = params[k];
        }
    const char *dims = "";
    for (int k = 0; k < e.ndims; k++) {
        sig = arena_printf("%s%sint %s", sig, nk || k ? ", " : "", e.dim_names[k]);
        dims = arena_printf("%s%s%ld", dims, nk || k ? ", " : "", e.dim_values[k]);
    }
    sig = arena_printf("%s%s) ", sig, nk || e.ndims ? "" : "void");
    const char *whole = arena_printf("%s{\n%s}\n", sig, body);

    Step *step = arena_alloc(sizeof *step);
    *step = (Step){NULL, kept, nk, dims, nodes, count};
    o->steps[v0->id] = step;
    const char *existing = map_get(&o->bodies, whole);
    if (existing) {
        step->fn = existing;
        free(defs);
        /* --optimize=size: a step two layers share is called, not copied into each caller (fewer
           bytes: LeNet-5's relu, dense and conv → relu → pool steps, 16 B with gcc -Os) */
        if (o->small && !map_get(&o->shared, existing)) {
            map_put(&o->shared, existing, (void *)existing);
            o->prototypes = arena_printf("%sDNN_NOINLINE void %s%.*s;\n", o->prototypes ? o->prototypes : "", existing,
                                         (int)strlen(sig) - 1, sig);
        }
        return;
    }
    fputs(defs, o->c);
    free(defs);
    /* the backward pass's own nodes (sums of gradients, folds of broadcasts) are named after what they compute */
    bool grad_node = !backward && f->id >= o->g->nforward;
    const char *base = grad_node ? arena_printf("%s_%s_%s", o->name, o->vname[f->id], opname)
                                 : arena_printf("%s_%s_%s_%s", o->name, c_ident(f->label ? f->label : "t"), opname,
                                                backward ? "backward" : "forward");
    const char *name = base;
    for (int k = 2; map_get(&o->fn_names, name); k++)
        name = arena_printf("%s_%d", base, k);
    map_put(&o->fn_names, name, (void *)name);
    map_put(&o->bodies, whole, (void *)name);
    step->fn = name;

    /* a comment: the layer, its .dnn line, what goes in and comes out */
    if (grad_node)
        fprintf(o->c, "/* %s: %s in the backward pass, for %s\n *", o->vname[f->id], opname, source_of(o, f));
    else
        fprintf(o->c, "/* %s%s: %s\n *", backward ? "the gradients of " : "", f->label ? f->label : opname,
                source_of(o, f));
    int shown = 0;
    for (int k = backward ? count : 1; k < nk; k++)
        if (kept[k].kind == ARG_VALUE)
            fprintf(o->c, "%s %s %s", shown++ ? "," : "", kept[k].name, describe(kept[k].value));
    fprintf(o->c, " →");
    for (int k = 0; k < (backward ? count : 1) && k < nk; k++)
        fprintf(o->c, "%s %s %s", k ? "," : "", kept[k].name, describe(kept[k].value));
    fprintf(o->c, " */\nstatic void %s%s\n", name, whole);
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

/* The call of v's step, commented with its .dnn line (with --check-finite,
 * then the check of each result). */
void emit_call(Out *o, const Value *v) {
    const Step *s = o->steps[v->id];
    bool infer = o->g->inference; /* no training flag, no generator: eval mode */
    fprintf(o->c, "    %s(", s->fn);
    for (int k = 0; k < s->nparams; k++) {
        const Param *p = &s->params[k];
        /* m->training: 1 train mode; 2 NAME_forward_mc, where layers that sample (dropout)
           do as in training and the others (batchnorm) as in eval */
        const char *arg = p->kind == ARG_VALUE ? local(o, p->value)
                          : p->kind == ARG_N   ? "n"
                          : p->kind == ARG_RNG ? (infer ? "NULL" : "&m->rng")
                          : p->kind == ARG_RING ? arena_printf("m->act + %d", p->value->ring_offset)
                          : infer ? "0" : op_info[v->op].flags & F_RNG ? "m->training" : "m->training == 1";
        fprintf(o->c, "%s%s", k ? ", " : "", arg);
    }
    const Value *f = v->op == OP_backward ? v->fwd : v;
    fprintf(o->c, "%s); /* %s */\n", s->dims, source_of(o, f));
    for (int j = 0; o->g->check_finite && !o->f64 && j < s->nnodes; j++) {
        const Value *r = s->nodes[j];
        fprintf(o->c, "    if (!m->nonfinite && !%s_finite(%s, %s))\n        m->nonfinite = \"%s\";\n", o->name, local(o, r),
                r->op == OP_grad_store ? count_of(r->grad_of) : count_of(r), finite_label(r));
    }
}

/* The constants the calls pass (a loss's incoming gradient, 1), after the steps. */
void emit_constants(Out *o) {
    bool *printed = arena_alloc((size_t)o->g->nvalues), any = false;
    for (int i = 0; i < o->g->nvalues; i++)
        for (int k = 0; o->steps[i] && k < o->steps[i]->nparams; k++) {
            const Value *v = o->steps[i]->params[k].value;
            if (!v || storage_of(v)->area != AREA_CONST || printed[storage_of(v)->id])
                continue;
            v = storage_of(v);
            printed[v->id] = any = true;
            const char *line = arena_printf("static const float %s_c%d[1] = {%s};", o->name, v->id, flit(v->attr[0]));
            fprintf(o->c, "%s\n", o->f64 ? f64_text(line) : line);
        }
    if (any)
        fputc('\n', o->c);
}

/* How many nodes from values[i] share one step: the backward nodes of one
 * layer made together (same forward node, same incoming gradient). */
int step_group(const Graph *g, int i) {
    const Value *v = g->values[i];
    int count = 1;
    if (v->op == OP_backward)
        while (i + count < g->nvalues && g->values[i + count]->op == OP_backward && g->values[i + count]->fwd == v->fwd &&
               g->values[i + count]->in[0] == v->in[0])
            count++;
    return count;
}
