/* summary.c — human-readable views of a checked model: --emit=summary (a
 * per-layer table in the manner of torchsummary) and --emit=ir. */
#include "dnnc.h"

#include <string.h>

static long param_count(const Value *v) {
    long n = 0;
    if (!(op_info[v->op].flags & F_LAYER))
        return 0;
    for (int i = 0; i < v->nin; i++) {
        const Value *x = v->folded_bn && i == 2 ? v->unfolded_bias : v->in[i]; /* the batchnorm's bias counts below */
        if (x && x->op == OP_param && !x->is_buffer)
            n += shape_size(&x->shape);
    }
    return v->folded_bn ? n + param_count(v->folded_bn) : n;
}

/* The op column: a penalty names its parameter set as written, "l2(weights)". */
static const char *op_text(const Value *v) {
    const char *set = v->op == OP_l1 || v->op == OP_l2 ? source_text(v->attr_loc[0]) : NULL;
    return set ? arena_printf("%s(%s)", op_info[v->op].name, set) : op_info[v->op].name;
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
        fprintf(out, "%-24s %-14s %-18s %12s\n", v->label ? v->label : "", op_text(v), shape,
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

/* ---- --emit=report -------------------------------------------------------------------------- */

/* Multiply-accumulates per sample of one step (0 for elementwise work). */
static long macs_of(const Value *v) {
    const Value *op = v->fused_conv ? v->fused_conv : v;
    switch (op->op) {
    case OP_dense:
    case OP_maxout:
        return shape_size(&op->in[1]->shape); /* one per weight */
    case OP_conv2d: /* each output: channels × kernel² */
        return mul_capped(shape_size(&op->shape), shape_size(&op->in[1]->shape) / op->shape.dim[0]);
    case OP_matmul: {
        const Shape *a = &op->in[0]->shape, *b = &op->in[1]->shape;
        return mul_capped(mul_capped(a->rank == 2 ? a->dim[0] : 1, a->dim[a->rank - 1]), b->rank == 2 ? b->dim[1] : 1);
    }
    default:
        return 0;
    }
}

/* sizeof(NAME_model) part by part, from the members the header declares
 * (emit_struct.c's model_members) laid out as a C compiler lays out a struct:
 * each member at a multiple of its alignment, the whole a multiple of the
 * largest. Padding, and the params array's round-up, count as "other". */
enum { RAM_TRAINABLE, RAM_FROZEN, RAM_BUFFERS, RAM_GRADS, RAM_STATE, RAM_ACT, RAM_OTHER, RAM_PARTS };
static const char *const ram_text[RAM_PARTS] = {"trainable weights", "frozen weights", "buffers", "gradients",
                                                "optimizer state", "activations", "other"};
static const char *const ram_json[RAM_PARTS] = {"trainable_weights", "frozen_weights", "buffers", "gradients",
                                                "optimizer_state", "activations", "other"};
typedef struct Ram {
    long total, part[RAM_PARTS]; /* bytes in RAM: sizeof(NAME_model), and its parts */
    long flash, initial;         /* bytes of const weights (--embed-weights): frozen (an inference build's: all), and
                                    the initial values of what a training build copies into RAM */
} Ram;

static Ram ram_of(const Graph *g, const Plan *p, bool embedded, long buffers) {
    long part[PART_COUNT];
    Ram r = {0};
    r.total = model_bytes(g, p, embedded, part);
    r.part[RAM_GRADS] = part[PART_GRADS];
    r.part[RAM_STATE] = part[PART_STATE];
    r.part[RAM_ACT] = part[PART_ACT];
    r.part[RAM_OTHER] = part[PART_OTHER];
    if (part[PART_PARAMS]) { /* the params array: trainable, frozen (in RAM unless embedded), buffers, rounding */
        long trainable = g->inference ? 0 : p->trainable; /* an inference build trains nothing */
        r.part[RAM_TRAINABLE] = trainable * 4;
        r.part[RAM_BUFFERS] = buffers * 4;
        r.part[RAM_FROZEN] = (p->params - trainable - buffers) * 4;
        r.part[RAM_OTHER] += part[PART_PARAMS] - p->params * 4; /* rounded up to whole vectors */
    }
    r.flash = !embedded ? 0 : g->inference ? p->params * 4 : (p->flash - p->params) * 4;
    r.initial = embedded && !g->inference ? p->params * 4 : 0;
    return r;
}

typedef struct Row {
    const char *name, *op, *shape, *ram_note;
    long params, ram, macs;
} Row;

/* --quantize=int8: per step its tensor's type, scale and zero point (the
 * contract's report), its constants' bytes in flash and its uint8 or float
 * bytes in RAM; then sizeof(NAME_model) and the flash in all. */
static void print_int8_report(const Graph *g, bool json, FILE *out) {
    long flash = 0, act = g->q8_act, floats = g->q8_float * 4, scratch = g->q8_scratch, ram = q8_model_bytes(g);
    if (json)
        fprintf(out, "{\n  \"model\": \"%s\",\n  \"quantize\": \"int8\",\n  \"layers\": [", g->name);
    else {
        fprintf(out, "model %s: inference, int8 (--quantize=int8), batch %d\n", g->name, g->train.batch);
        fprintf(out, "%-24s %-20s %-14s %-6s %-16s %5s %10s %8s\n", "layer", "op", "output", "type", "scale", "zp",
                "flash B", "RAM B");
        fprintf(out, "%.*s\n", 110, "----------------------------------------------------------------------------------"
                                    "------------------------------");
    }
    bool first = true;
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        const Quant *q = v->q;
        if (!q)
            continue;
        const char *op = op_info[v->op].name;
        if (v->op == OP_input)
            op = "quantize";
        else if (q->relu || q->pool || v->folded_bn)
            op = arena_printf("%s%s%s%s", op, v->folded_bn ? "+batchnorm" : "", q->relu ? "+relu" : "",
                              q->pool ? "+maxpool" : "");
        long bytes = q->w ? (long)q->channels * q->k + 16L * q->channels : 0; /* int8 weights; 4 arrays of C */
        if (q8_has_qparams(v))
            bytes += 8; /* the scale and zero point */
        flash += bytes;
        bool own = q->storage == v && !(q->fused && v->op == OP_maxpool);
        long size = shape_size(&(q->pool ? q->pool : v)->shape);
        const char *where = !own || (q->fused && v->op == OP_relu) ? (v->op == OP_maxpool ? "fused" : "shared")
                            : q->output ? "output" : NULL;
        long bytes_ram = where ? 0 : q->q8 ? size : 4 * size;
        const char *scale = q->q8 ? arena_printf("%.9g", (double)q->scale) : "-";
        const char *zp = q->q8 ? arena_printf("%d", (int)q->zp) : "-";
        const char *name = q->name;
        if (json)
            fprintf(out, "%s\n    {\"name\": \"%s\", \"op\": \"%s\", \"type\": \"%s\", \"scale\": %s, \"zero_point\": %s, "
                         "\"flash_bytes\": %ld, \"ram_bytes\": %ld}", first ? "" : ",", name, op,
                    q->q8 ? "uint8" : "float", q->q8 ? scale : "null", q->q8 ? zp : "null", bytes, bytes_ram);
        else
            fprintf(out, "%-24s %-20s %-14s %-6s %-16s %5s %10s %8s\n", name, op, shape_str(&v->shape),
                    q->q8 ? "uint8" : "float", scale, zp, grouped(bytes), where ? where : grouped(bytes_ram));
        first = false;
    }
    if (json) {
        fprintf(out, "\n  ],\n  \"ram\": {\"bytes\": %ld, \"activations\": %ld, \"float_values\": %ld},\n"
                     "  \"stack\": {\"scratch\": %ld},\n  \"flash\": {\"bytes\": %ld}\n}\n", ram, act, floats, scratch, flash);
        return;
    }
    fprintf(out, "%.*s\n", 110, "----------------------------------------------------------------------------------"
                                "------------------------------");
    fprintf(out, "RAM of the model: %ld bytes\n  activations: %ld bytes\n", ram, act + floats);
    if (ram - act - floats)
        fprintf(out, "  alignment: %ld bytes\n", ram - act - floats);
    if (scratch)
        fprintf(out, "stack: %ld bytes at most of conv2d scratch, in the step that uses it (not in the model)\n",
                scratch);
    fprintf(out, "frozen weights: %ld bytes (int8 weights; per channel float scales, int32 biases, float requantization "
                 "scales; scales and zero points)\n", flash);
}

void print_report(Graph *g, const Plan *p, bool embedded, bool json, FILE *out) {
    if (g->int8) {
        print_int8_report(g, json, out);
        return;
    }
    /* the steps the outputs need, in order (after an inference plan's fusion) */
    bool *needed = arena_alloc((size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    Row *rows = arena_alloc(sizeof(Row) * (size_t)(g->nvalues + 1));
    int n = 0;
    long params = 0, macs = 0, batch = g->train.batch;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!needed[i] || v->op == OP_param || v->op == OP_input || v->op == OP_target || v->op == OP_constant)
            continue;
        Row *r = &rows[n++];
        const Value *layer = v->fused_conv ? v->fused_conv : v;
        r->name = v->label ? v->label : v->name ? v->name : "";
        if (v->fused_conv)
            r->name = arena_printf("%s..%s", layer->label ? layer->label : "", r->name);
        r->op = v->fused_conv ? arena_printf("conv2d+%s%s%s", v->fused_act ? op_info[v->fused_act->op].name : "",
                                             v->fused_act ? "+" : "", op_info[v->op].name)
                              : op_info[v->op].name;
        if (layer->folded_bn) /* folded into the weights */
            r->op = arena_printf("%s+batchnorm%s", op_info[layer->op].name, r->op + strlen(op_info[layer->op].name));
        r->shape = v->shape.rank ? shape_str(&v->shape) : "scalar";
        r->params = param_count(layer);
        r->macs = macs_of(v);
        r->ram = v->alias_of || v->area != AREA_ACT ? 0 : (shape_size(&v->shape) + v->aux) * (v->batched ? batch : 1) * 4;
        r->ram_note = v->alias_of ? "alias" : v->area == AREA_OUTPUT ? "output" : v->ring ? "in place" : "";
        for (int k = 0; !v->alias_of && k < v->nin; k++) /* in place: shares its operand's slice */
            if (v->in[k] && v->in[k]->area == AREA_ACT && v->in[k]->offset == v->offset &&
                elementwise_step(g, v))
                r->ram_note = "in place";
        params += r->params;
        macs += r->macs;
    }
    long buffers = 0;
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i]->is_buffer)
            buffers += shape_size(&g->params[i]->shape);
    long weight_bytes = (params + buffers) * 4, act_bytes = p->act * 4;
    long naive = p->naive_act * 4, bound = p->peak_live * 4;
    Ram ram = ram_of(g, p, embedded, buffers);
    /* the RAM any plan of these steps needs: the arrays of the struct, and the activations' bound */
    long act_bound = activation_bound(g), bound_total = act_bound;
    for (int i = 0; i < RAM_ACT; i++)
        bound_total += ram.part[i];
    if (json) {
        fprintf(out, "{\n  \"model\": \"%s\",\n  \"batch\": %ld,\n  \"inference\": %s,\n  \"layers\": [\n", g->name, batch,
                g->inference ? "true" : "false");
        for (int i = 0; i < n; i++)
            fprintf(out, "    {\"name\": \"%s\", \"op\": \"%s\", \"shape\": \"%s\", \"params\": %ld, \"weight_bytes\": %ld, "
                         "\"ram_bytes\": %ld, \"storage\": \"%s\", \"macs\": %ld}%s\n",
                    rows[i].name, rows[i].op, rows[i].shape, rows[i].params, rows[i].params * 4,
                    rows[i].ram_note[0] ? 0 : rows[i].ram, rows[i].ram_note[0] ? rows[i].ram_note : "own", rows[i].macs,
                    i + 1 < n ? "," : "");
        fprintf(out, "  ],\n  \"total\": {\"params\": %ld, \"buffers\": %ld, \"weight_bytes\": %ld, \"weights_in\": \"%s\", "
                     "\"activation_bytes\": %ld, \"activation_lower_bound_bytes\": %ld, \"activation_no_reuse_bytes\": %ld, "
                     "\"ram_bytes\": %ld, \"macs_per_sample\": %ld},\n",
                params, buffers, weight_bytes, embedded ? "flash" : "ram", act_bytes, bound, naive, ram.total, macs);
        fprintf(out, "  \"ram\": {\"bytes\": %ld", ram.total);
        for (int i = 0; i < RAM_PARTS; i++)
            fprintf(out, ", \"%s\": %ld", ram_json[i], ram.part[i]);
        fprintf(out, "},\n  \"ram_lower_bound\": {\"bytes\": %ld, \"activations\": %ld},\n  \"flash\": {\"frozen_weights\": %ld, \"initial_weights\": %ld}\n}\n", bound_total, act_bound,
                ram.flash, ram.initial);
        return;
    }
    fprintf(out, "model %s: %s, batch %ld\n", g->name, g->inference ? "inference" : "training", batch);
    fprintf(out, "%-28s %-22s %-14s %10s %10s %10s %12s\n", "layer", "op", "output", "params", "weights B", "RAM B",
            "MACs");
    fprintf(out, "%.*s\n", 112, "----------------------------------------------------------------------------------------"
                                "--------------------------------");
    for (int i = 0; i < n; i++)
        fprintf(out, "%-28s %-22s %-14s %10s %10s %10s %12s\n", rows[i].name, rows[i].op, rows[i].shape,
                grouped(rows[i].params), grouped(rows[i].params * 4),
                rows[i].ram_note[0] ? rows[i].ram_note : grouped(rows[i].ram), grouped(rows[i].macs));
    fprintf(out, "%.*s\n", 112, "----------------------------------------------------------------------------------------"
                                "--------------------------------");
    fprintf(out, "parameters:          %s (+ %s buffer values)\n", grouped(params), grouped(buffers));
    fprintf(out, "activations:         %s bytes (lower bound %s: the most alive at once; %s without reuse or fusion)\n",
            grouped(act_bytes), grouped(bound), grouped(naive));
    fprintf(out, "multiply-accumulates: %s per sample\n", grouped(macs));
    /* the lines of the design contract (generated-c.md), plain numbers: sizeof(NAME_model), part by part */
    fprintf(out, "RAM of the model: %ld bytes\n", ram.total);
    for (int i = 0; i < RAM_PARTS; i++)
        if (ram.part[i])
            fprintf(out, "  %s: %ld bytes\n", ram_text[i], ram.part[i]);
    fprintf(out, "RAM lower bound: %ld bytes (", bound_total);
    for (int i = 0, any = 0; i <= RAM_ACT; i++)
        if (i == RAM_ACT || ram.part[i])
            fprintf(out, "%s%s %ld", any++ ? " + " : "", ram_text[i], i == RAM_ACT ? act_bound : ram.part[i]);
    fprintf(out, ": the values alive together in any order of the steps, masks at one byte)\n");
    if (ram.flash)
        fprintf(out, "frozen weights: %ld bytes\n", ram.flash);
    if (ram.initial)
        fprintf(out, "initial weights: %ld bytes\n", ram.initial);
}
