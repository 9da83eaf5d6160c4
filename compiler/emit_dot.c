/* emit_dot.c — --emit=dot: the network as a Graphviz graph.
 *
 * Entry: print_dot(). One DOT node per IR value, in id order, so the same
 * model always gives the same bytes. Steps are boxes labelled with their
 * layer name, op (with the attributes that differ from their defaults) and
 * output shape; parameters are small notes (batchnorm buffers cylinders,
 * frozen parameters grey and dashed); inputs and targets are houses; every
 * named output and the loss get a terminal node of their own. Constants are
 * not nodes: their number is written into the label of the step reading
 * them. Values that reach no output or loss are left out.
 *
 * With --backward the backward graph (values from g->nforward on) is a
 * cluster of its own. Its gradient flow is drawn in red; the forward values
 * it reads are joined to it by dashed grey edges. A gradient step reads all
 * of its forward step's operands and result; one edge from that forward
 * step stands for them, or the picture would be a hairball.
 */
#include "dnnc.h"

#include <stdlib.h>
#include <string.h>

#define STEP     "shape=box, style=\"rounded,filled\", fillcolor=\"#e3f2fd\""
#define PARAM    "shape=note, fontsize=8, fillcolor=\"#fff8e1\""
#define FROZEN   "shape=note, fontsize=8, style=\"filled,dashed\", fillcolor=\"#eeeeee\""
#define BUFFER   "shape=cylinder, fontsize=8, fillcolor=\"#eeeeee\""
#define INPUT    "shape=invhouse, fillcolor=\"#c8e6c9\", penwidth=1.5"
#define TARGET   "shape=invhouse, fillcolor=\"#f8bbd0\""
#define OUTPUT   "shape=house, fillcolor=\"#c8e6c9\", penwidth=1.5"
#define LOSS     "shape=doubleoctagon, fillcolor=\"#ffcdd2\""
#define GRAD     "shape=box, style=\"rounded,filled\", fillcolor=\"#fbe9e7\""
#define STORE    "shape=note, fontsize=8, fillcolor=\"#ffe0b2\""
#define FLOW     " [color=\"#c62828\"]"                  /* gradient to gradient */
#define READS    " [style=dashed, color=\"#9e9e9e\"]"    /* forward value read by backward */

/* s as the inside of a DOT string: quotes and backslashes escaped, line
 * breaks as \n (Graphviz's centred line break). */
static const char *esc(const char *s) {
    char *o = arena_alloc(strlen(s) * 2 + 1), *p = o;
    for (; *s; s++) {
        if (*s == '\n') {
            *p++ = '\\';
            *p++ = 'n';
            continue;
        }
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    return o;
}

/* Whether v is drawn: constants are folded into their readers, dead
 * forward values dropped, the backward graph only on request. */
static bool shown(const Graph *g, const Value *v, bool backward) {
    if (!v || v->op == OP_constant)
        return false;
    return v->id < g->nforward ? v->used : backward;
}

static const char *shape_text(const Value *v) {
    if (v->dtype == DT_CLASS)
        return arena_printf("class(%d)", v->classes);
    return v->shape.rank ? shape_str(&v->shape) : "scalar";
}

/* The op as it could be written, with the numeric attributes that differ
 * from their defaults: "conv2d(filters=6, kernel=5, pad=2)", and a
 * penalty's parameter set as written: "l2(weights)" (its tensors are the
 * node's edges). Booleans and lists are left out: the graph shows them. */
static const char *op_call(const Value *v) {
    const char *sig = op_info[v->op].sig, *text = op_info[v->op].name;
    int k = 0, shown_attrs = 0;
    while (sig && *sig && k < MAX_ATTRS) {
        char item[64];
        size_t len = strcspn(sig, ",");
        snprintf(item, sizeof item, "%.*s", (int)len, sig);
        sig += len;
        sig += strspn(sig, ", ");
        char *type = strchr(item, ':');
        if (!type)
            continue; /* a tensor operand */
        *type++ = 0;
        if (!strcmp(type, "params")) { /* a penalty's set, as written: l2(weights) */
            const char *set = source_text(v->attr_loc[k++]);
            if (set)
                text = arena_printf("%s%s%s", text, shown_attrs++ ? ", " : "(", set);
            continue;
        }
        char *def = strchr(type, '=');
        if (def)
            *def++ = 0;
        double x = v->attr[k++];
        if (strchr(type, '|')) { /* a choice of words: shown unless it is the default */
            const char *word = type;
            for (int i = 0; i < (int)x && strchr(word, '|'); i++)
                word = strchr(word, '|') + 1;
            size_t wl = strcspn(word, "|");
            if (!def || strlen(def) != wl || strncmp(def, word, wl))
                text = arena_printf("%s%s%s=%.*s", text, shown_attrs++ ? ", " : "(", item, (int)wl, word);
            continue;
        }
        const char *shown = num_str(x);
        int wlen = window_len(op_info[v->op].sig, item), slot = window_slot(op_info[v->op].sig, item);
        bool uniform = true; /* a window's numbers, [10, 4], unless they are all one */
        for (int i = 1; i < wlen; i++)
            uniform = uniform && v->attr[slot + i - 1] == x;
        for (int i = 1; i < wlen && !uniform; i++)
            shown = arena_printf("%s%s%s%s", i == 1 ? "[" : "", shown, ", ", num_str(v->attr[slot + i - 1]));
        if (!uniform)
            shown = arena_printf("%s]", shown);
        if ((strcmp(type, "int") && strcmp(type, "num")) || (uniform && def && strtod(def, NULL) == x))
            continue;
        text = arena_printf("%s%s%s=%s", text, shown_attrs++ ? ", " : "(", item, shown);
    }
    return shown_attrs ? arena_printf("%s)", text) : text;
}

/* A constant as written: a folded one (fold_constants) holds a float, shown
 * in the fewest digits that give that float back, "0.0001". */
static const char *constant_text(const Value *c) {
    double x = c->attr[0];
    const char *exact = num_str(x);
    if ((double)(float)x != x || strlen(exact) <= 9)
        return exact;
    for (int digits = 1; digits < 9; digits++) {
        const char *s = arena_printf("%.*g", digits, x);
        if ((float)strtod(s, NULL) == (float)x)
            return s;
    }
    return arena_printf("%.9g", x);
}

/* What a step computes. Arithmetic with a constant reads as a formula
 * ("0.0001 * x"); other constant operands are listed below the op. */
static const char *op_text(const Value *v) {
    const char *text = op_call(v);
    if (v->op == OP_backward) {
        const Value *f = v->fwd, *x = f->in[v->grad_arg];
        const char *wrt = !x ? "?" : x->op == OP_param || x->op == OP_input ? x->name : x->label ? x->label : op_info[x->op].name;
        text = arena_printf("%s gradient\nw.r.t. %s", op_info[f->op].name, wrt);
    }
    static const char sym[] = {[OP_add] = '+', [OP_sub] = '-', [OP_mul] = '*', [OP_div] = '/'};
    if (v->op < (int)sizeof sym && sym[v->op] && v->nin == 2 &&
        (v->in[0]->op == OP_constant || v->in[1]->op == OP_constant)) {
        const Value *a = v->in[0], *b = v->in[1];
        return arena_printf("%s %c %s", a->op == OP_constant ? constant_text(a) : "x", sym[v->op],
                            b->op == OP_constant ? constant_text(b) : "x");
    }
    for (int k = 0; k < v->nin; k++)
        if (v->in[k] && v->in[k]->op == OP_constant)
            text = arena_printf("%s\n%s = %s", text, v->op == OP_backward && k == 0 ? "dy" : arena_printf("in%d", k),
                                constant_text(v->in[k]));
    return text;
}

static void node(FILE *out, const Value *v, const char *style, const char *label) {
    fprintf(out, "    v%d [%s, label=\"%s\"];\n", v->id, style, esc(label));
}

/* One value's node. */
static void print_value(const Graph *g, const Value *v, FILE *out) {
    switch (v->op) {
    case OP_input:
        node(out, v, INPUT, arena_printf("input %s\n%s", v->name, shape_text(v)));
        return;
    case OP_target:
        node(out, v, TARGET, arena_printf("target %s\n%s", v->name, shape_text(v)));
        return;
    case OP_param:
        node(out, v, v->is_buffer ? BUFFER : v->trainable ? PARAM : FROZEN,
             arena_printf("%s\n%s%s", v->name, shape_text(v), v->is_buffer ? "  buffer" : v->trainable ? "" : "  frozen"));
        return;
    case OP_grad_store:
        node(out, v, STORE, arena_printf("grad %s", v->grad_of->name));
        return;
    default: {
        const char *name = v->label ? v->label : v->id < g->nforward ? v->name : NULL;
        node(out, v, v->id < g->nforward ? STEP : GRAD,
             arena_printf("%s%s%s\n%s", name ? name : "", name ? "\n" : "", op_text(v), shape_text(v)));
    }
    }
}

static long count_params(const Graph *g, bool trainable_only) {
    long n = 0;
    for (int i = 0; i < g->nparams; i++) {
        const Value *p = g->params[i];
        if (p->used && !p->is_buffer && (p->trainable || !trainable_only))
            n += shape_size(&p->shape);
    }
    return n;
}

/* 61706 → "61,706", as --emit=summary writes it */
static const char *grouped(long n) {
    const char *digits = arena_printf("%ld", n), *s = "";
    for (int i = 0, len = (int)strlen(digits); i < len; i++)
        s = arena_printf("%s%s%c", s, i && (len - i) % 3 == 0 ? "," : "", digits[i]);
    return s;
}

void print_dot(Graph *g, bool backward, FILE *out) {
    long total = count_params(g, false), trainable = count_params(g, true);
    const char *title = arena_printf("model %s%s\n%s parameters", g->name, backward ? ": forward and backward" : "",
                                     grouped(total));
    if (trainable != total)
        title = arena_printf("%s, %s trainable", title, grouped(trainable));
    fprintf(out, "digraph \"%s\" {\n", esc(g->name));
    fprintf(out, "    graph [label=\"%s\", labelloc=t, fontname=\"Helvetica\", fontsize=16, nodesep=0.3, ranksep=0.3];\n",
            esc(title));
    fprintf(out, "    node [fontname=\"Helvetica\", fontsize=10, style=filled, fillcolor=white];\n");
    fprintf(out, "    edge [color=\"#555555\", arrowsize=0.6];\n");

    for (int i = 0; i < g->nforward; i++)
        if (shown(g, g->values[i], backward))
            print_value(g, g->values[i], out);
    for (int i = 0; i < g->noutputs; i++)
        fprintf(out, "    output%d [" OUTPUT ", label=\"output %s\"];\n", i, esc(g->output_names[i]));
    if (g->loss)
        fprintf(out, "    loss [" LOSS ", label=\"loss\"];\n");
    fprintf(out, "    { rank=sink;");
    for (int i = 0; i < g->noutputs; i++)
        fprintf(out, " output%d;", i);
    fprintf(out, "%s }\n", g->loss ? " loss;" : "");

    if (backward && g->nvalues > g->nforward) {
        fprintf(out, "    subgraph cluster_backward {\n        label=\"backward: gradients\";\n"
                     "        style=\"dashed,rounded\"; color=\"#c62828\"; fontcolor=\"#c62828\";\n");
        for (int i = g->nforward; i < g->nvalues; i++)
            if (shown(g, g->values[i], backward)) {
                fprintf(out, "    ");
                print_value(g, g->values[i], out);
            }
        fprintf(out, "    }\n");
    }

    /* edges after all nodes, so the clusters hold only their own nodes */
    int last = backward ? g->nvalues : g->nforward;
    for (int i = 0; i < last; i++) {
        const Value *v = g->values[i];
        if (!shown(g, v, backward))
            continue;
        for (int k = 0; k < v->nin; k++) {
            const Value *x = v->in[k];
            if (!shown(g, x, backward))
                continue;
            /* one edge from the forward step stands for its operands */
            if (v->op == OP_backward && k > 0 && x != v->fwd)
                continue;
            const char *style = v->id < g->nforward ? "" : x->id >= g->nforward ? FLOW : READS;
            fprintf(out, "    v%d -> v%d%s;\n", x->id, v->id, style);
        }
    }
    for (int i = 0; i < g->noutputs; i++)
        fprintf(out, "    v%d -> output%d;\n", g->outputs[i]->id, i);
    if (g->loss)
        fprintf(out, "    v%d -> loss;\n", g->loss->id);
    fprintf(out, "}\n");
}
