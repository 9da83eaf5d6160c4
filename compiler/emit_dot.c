/* emit_dot.c — --emit=dot: the network as a Graphviz graph.
 *
 * Entry: print_dot(). Steps are boxes labelled with their layer name, op
 * and output shape; parameters are separate nodes; with --backward the
 * backward graph follows the forward one. */
#include "dnnc.h"

static bool is_leaf(const Value *v) {
    return v->op == OP_param || v->op == OP_input || v->op == OP_target || v->op == OP_constant;
}

void print_dot(Graph *g, bool backward, FILE *out) {
    int last = backward ? g->nvalues : g->nforward;
    fprintf(out, "digraph \"%s\" {\n    rankdir=TB;\n    node [fontname=\"Helvetica\", fontsize=10];\n", g->name);
    for (int i = 0; i < last; i++) {
        const Value *v = g->values[i];
        if (!v->used && i < g->nforward)
            continue;
        const char *name = v->op == OP_backward ? arena_printf("d %s", op_info[v->fwd->op].name) : op_info[v->op].name;
        const char *shape = v->shape.rank ? shape_str(&v->shape) : "scalar";
        if (is_leaf(v))
            fprintf(out, "    v%d [shape=ellipse, label=\"%s\\n%s\"];\n", v->id,
                    v->name ? v->name : v->op == OP_constant ? arena_printf("%g", v->attr[0]) : name, shape);
        else
            fprintf(out, "    v%d [shape=box, label=\"%s%s%s\\n%s\"];\n", v->id, v->label ? v->label : "",
                    v->label ? "  " : "", name, shape);
        for (int k = 0; k < v->nin; k++)
            if (v->in[k])
                fprintf(out, "    v%d -> v%d;\n", v->in[k]->id, v->id);
    }
    fprintf(out, "}\n");
}
