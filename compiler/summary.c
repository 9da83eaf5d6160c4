/* summary.c — human-readable views of a checked model: --emit=summary (a
 * per-layer table in the manner of torchsummary) and --emit=ir. */
#include "dnnc.h"

#include <string.h>

static long param_count(const Value *v) {
    long n = 0;
    if (!(op_info[v->op].flags & F_LAYER))
        return 0;
    for (int i = 0; i < v->nin; i++)
        if (v->in[i] && v->in[i]->op == OP_param && !v->in[i]->is_buffer)
            n += shape_size(&v->in[i]->shape);
    return n;
}

/* 61706 → "61,706" */
static const char *grouped(long n) {
    char digits[32], out[48];
    int len = snprintf(digits, sizeof digits, "%ld", n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
    return arena_strdup(out);
}

void print_summary(Graph *g, FILE *out) {
    fprintf(out, "model %s\n", g->name);
    fprintf(out, "%-24s %-14s %-18s %12s\n", "layer", "op", "output shape", "params");
    fprintf(out, "%.*s\n", 71, "-----------------------------------------------------------------------------");
    for (int i = 0; i < g->ninputs; i++)
        fprintf(out, "%-24s %-14s %-18s %12s\n", g->inputs[i]->name, "input", shape_str(&g->inputs[i]->shape), "0");
    long total = 0, trainable = 0, buffers = 0;
    for (int i = 0; i < g->nforward; i++) {
        Value *v = g->values[i];
        if (v->op == OP_param) {
            if (v->is_buffer)
                buffers += shape_size(&v->shape);
            else {
                total += shape_size(&v->shape);
                if (v->trainable)
                    trainable += shape_size(&v->shape);
            }
        }
        /* arithmetic shows when it is a named value of its own */
        if (op_info[v->op].flags & F_INTERNAL && v->op != OP_matmul && v->op != OP_batch_mean &&
            !(v->name && !(op_info[v->op].flags & F_BACKWARD) && v->op != OP_constant && v->op != OP_param &&
              v->op != OP_input && v->op != OP_target))
            continue;
        if (!v->used)
            continue;
        const char *shape = v->shape.rank ? shape_str(&v->shape) : "scalar";
        fprintf(out, "%-24s %-14s %-18s %12s\n", v->label ? v->label : "", op_info[v->op].name, shape,
                grouped(param_count(v)));
    }
    fprintf(out, "%.*s\n", 71, "-----------------------------------------------------------------------------");
    fprintf(out, "total parameters:     %s\n", grouped(total));
    fprintf(out, "trainable parameters: %s\n", grouped(trainable));
    if (buffers)
        fprintf(out, "buffers:              %s\n", grouped(buffers));
    fprintf(out, "parameter memory:     %s bytes\n", grouped(total * 4 + buffers * 4));
}

void print_ir(Graph *g, FILE *out) {
    fprintf(out, "model %s\n", g->name);
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (i == g->nforward)
            fprintf(out, "# backward\n");
        fprintf(out, "%%%d = %s", v->id, v->op == OP_backward ? arena_printf("d_%s.%d", op_info[v->fwd->op].name, v->grad_arg)
                                                           : op_info[v->op].name);
        if (v->op == OP_param || v->op == OP_input || v->op == OP_target)
            fprintf(out, " \"%s\"", v->name);
        if (v->op == OP_constant)
            fprintf(out, " %g", v->attr[0]);
        for (int k = 0; k < v->nin; k++)
            fprintf(out, k ? ", %s" : " %s", v->in[k] ? arena_printf("%%%d", v->in[k]->id) : "none");
        if (v->op == OP_grad_store)
            fprintf(out, " -> grad \"%s\"", v->grad_of->name);
        fprintf(out, " : %s%s%s", v->dtype == DT_CLASS ? arena_printf("class(%d)", v->classes) : shape_str(&v->shape),
                v->batched ? " batched" : "", v->op == OP_param && !v->trainable ? " frozen" : "");
        fprintf(out, "   # line %d\n", v->loc.first_line);
    }
}
