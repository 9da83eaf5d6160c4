/* emit_int8.c — the C of an int8 model (--quantize=int8, after
 * quantize_graph): the API of --inference (float inputs and outputs),
 * int8 weights, int32 biases and float32 requantization scales as const
 * arrays (flash), uint8 activations in NAME_model. One function per layer
 * calls a kernel of runtime/dnn_kernels_int8.h; NAME_forward quantizes each
 * sample, runs the layers, dequantizes, and computes the float part
 * (softmax, ...) with the float emitters of the op table.
 */
#include "dnnc.h"

#include <stdlib.h>
#include <string.h>

#include "dnn.h"
#include "dnn_kernels_int8.h"

typedef struct Q8Out {
    const Graph *g;
    FILE *c, *h;
    const char *name, *NAME, *source;
} Q8Out;

/* "logits_1": a value's name in C identifiers */
static const char *ident(const Value *v) {
    return c_ident(v->q->name);
}

/* "mlp.dnn:8 dense(128)" */
static const char *where(const Q8Out *o, const Value *v) {
    const char *call = source_call(v->loc);
    return arena_printf("%s:%d %s", o->source, v->loc.first_line, call ? call : op_info[v->op].name);
}

static const char *qtext(const Quant *q) {
    return arena_printf("s %s, zp %d", flit(q->scale), (int)q->zp);
}

/* ---- the tensors: const arrays and the table ------------------------------ */

static void put_i8(FILE *c, const char *decl, const int8_t *a, long n) {
    fprintf(c, "%s[%ld] = {", decl, n);
    for (long i = 0; i < n; i++)
        fprintf(c, "%s%d%s", i % 16 ? " " : "\n    ", a[i], i + 1 < n ? "," : "");
    fprintf(c, "\n};\n");
}

static void put_i32(FILE *c, const char *decl, const int32_t *a, long n) {
    fprintf(c, "%s[%ld] = {", decl, n);
    for (long i = 0; i < n; i++)
        fprintf(c, "%s%ld%s", i % 8 ? " " : "\n    ", (long)a[i], i + 1 < n ? "," : "");
    fprintf(c, "\n};\n");
}

static void put_f32(FILE *c, const char *decl, const float *a, long n) {
    fprintf(c, "%s[%ld] = {", decl, n);
    for (long i = 0; i < n; i++)
        fprintf(c, "%s%af%s", i % 6 ? " " : "\n    ", (double)a[i], i + 1 < n ? "," : "");
    fprintf(c, "\n};\n");
}

/* The tensors NAME_tensors lists (and NAME_save writes), in order: per
 * dense/conv2d its int8 weight, float weight scales and int32 bias; per
 * observed activation its scale and zero point. */
typedef struct Tensor {
    const char *name, *array; /* safetensors key; the C array holding it */
    int dtype;                /* DNN_DT_* */
    int rank, shape[4];
    long size;
} Tensor;

static int list_tensors(const Q8Out *o, Tensor *t) {
    const Graph *g = o->g;
    int n = 0;
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        const Quant *q = v->q;
        if (!q || !q->q8)
            continue;
        const char *id = arena_printf("%s_%s", o->name, ident(v));
        if (q->w) {
            const Value *w = v->in[1];
            Tensor tw = {w->name, arena_printf("%s_weight", id), DNN_DT_I8, w->shape.rank, {0}, q->channels * q->k};
            for (int k = 0; k < w->shape.rank && k < 4; k++)
                tw.shape[k] = w->shape.dim[k];
            t[n++] = tw;
            const char *base = v->q->name;
            t[n++] = (Tensor){arena_printf("%s.weight_scale", base), arena_printf("%s_weight_scale", id), DNN_DT_F32, 1,
                              {q->channels}, q->channels};
            t[n++] = (Tensor){arena_printf("%s.bias", base), arena_printf("%s_bias_q", id), DNN_DT_I32, 1,
                              {q->channels}, q->channels};
        }
        if (q8_has_qparams(v)) {
            const char *base = v->q->name;
            t[n++] = (Tensor){arena_printf("%s.scale", base), arena_printf("%s_qparams.scale", id), DNN_DT_F32, 0, {0}, 1};
            t[n++] = (Tensor){arena_printf("%s.zero_point", base), arena_printf("%s_qparams.zp", id), DNN_DT_I32, 0, {0},
                              1};
        }
    }
    return n;
}

static void emit_tensors(Q8Out *o) {
    FILE *c = o->c;
    const Graph *g = o->g;
    fprintf(c, "/* the quantized tensors, as PyTorch's int8 model holds them (flash) */\n");
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        const Quant *q = v->q;
        if (!q || !q->q8)
            continue;
        const char *id = arena_printf("%s_%s", o->name, ident(v));
        if (q->w) {
            long C = q->channels;
            fprintf(c, "/* %s: int8 weight, per channel scales, int32 bias (PyTorch's), the bias the kernel adds\n"
                       " * (bias - zp_in * sum of the channel's weights) and the requantization scales */\n",
                    v->q->name);
            put_i8(c, arena_printf("static const int8_t %s_weight", id), q->w, C * q->k);
            put_f32(c, arena_printf("static const float %s_weight_scale", id), q->w_scale, C);
            put_i32(c, arena_printf("static const int32_t %s_bias_q", id), q->bias_q, C);
            put_i32(c, arena_printf("static const int32_t %s_bias", id), q->bias, C);
            put_f32(c, arena_printf("static const float %s_requant", id), q->m, C);
        }
        if (q8_has_qparams(v))
            fprintf(c, "static const struct { float scale; int32_t zp; } %s_qparams = {%af, %d}; /* %s */\n", id,
                    (double)q->scale, (int)q->zp, qtext(q));
    }
    Tensor *t = arena_alloc(sizeof(Tensor) * (size_t)(5 * g->nvalues + 1));
    int n = list_tensors(o, t);
    fprintf(c, "\nconst dnn_tensor_info %s_tensors[%s_NUM_TENSORS] = {\n", o->name, o->NAME);
    for (int i = 0; i < n; i++)
        fprintf(c, "    {\"%s\", %d, {%d, %d, %d, %d}, %ld, 0, %s},\n", t[i].name, t[i].rank, t[i].shape[0], t[i].shape[1],
                t[i].shape[2], t[i].shape[3], t[i].size,
                t[i].dtype == DNN_DT_I8 ? "DNN_DT_I8" : t[i].dtype == DNN_DT_I32 ? "DNN_DT_I32" : "DNN_DT_F32");
    fprintf(c, "};\n\nstatic const void *const %s_data[%s_NUM_TENSORS] = {", o->name, o->NAME);
    for (int i = 0; i < n; i++)
        fprintf(c, "%s%s%s", i ? ", " : "", strchr(t[i].array, '.') ? "&" : "", t[i].array);
    fprintf(c, "};\n\n");
    fprintf(c, "const void *%s_tensor(const %s_model *m, int i) {\n    (void)m;\n", o->name, o->name);
    fprintf(c, "    return i >= 0 && i < %s_NUM_TENSORS ? %s_data[i] : NULL;\n}\n\n", o->NAME, o->name);
    fprintf(c, "size_t %s_save(const %s_model *m, void *buf, size_t cap) {\n    (void)m;\n", o->name, o->name);
    fprintf(c, "    return dnn_safetensors_save(%s_tensors, (const float *const *)%s_data, %s_NUM_TENSORS, buf, cap);\n}\n\n",
            o->name, o->name, o->NAME);
}

/* ---- the layers ------------------------------------------------------------ */

/* The function computing an int8 value (or nothing: a flatten, a fused relu). */
static void emit_layer(Q8Out *o, const Value *v) {
    const Quant *q = v->q, *in = v->op == OP_input ? NULL : v->in[0]->q;
    if (!q->q8 || q->fused || v->op == OP_input || q->storage != v)
        return;
    FILE *c = o->c;
    const char *fn = arena_printf("%s_%s_%s", o->name, ident(v), op_info[v->op].name);
    const char *id = arena_printf("%s_%s", o->name, ident(v));
    const Value *pool = q->pool;
    const Quant *out = q->relu ? q->relu->q : pool ? pool->q : q;
    fprintf(c, "/* %s: %s%s%s\n * uint8 %s (%s) -> uint8 %s (%s) */\n", v->q->name, where(o, v),
            q->relu ? ", relu fused" : "", pool ? ", its maxpool computed with it" : "",
            shape_str(&v->in[0]->shape), qtext(in), shape_str(&(pool ? pool : v)->shape), qtext(out));
    bool two = v->op == OP_add, conv = v->op == OP_conv2d;
    fprintf(c, "static void %s(uint8_t *out, const uint8_t *inp%s) {\n", fn, two ? ", const uint8_t *inp2" : "");
    if (conv) /* on the stack, not in NAME_model: alive only during this step */
        fprintf(c, "    uint8_t scratch[%ld]; /* one window and two bytes per output channel */\n",
                (long)DNN_Q8_CONV_SCRATCH(q->k, 1, 1, q->channels));
    op_q8_emit(c, v, id);
    fprintf(c, "}\n\n");
}

/* A float value's step: the op table's float emitter, one sample a call. */
static void emit_float_step(Q8Out *o, const Value *v) {
    char *body = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&body, &len);
    if (!mem)
        ICE("out of memory");
    Emitter e = {0};
    e.out = mem;
    e.g = o->g;
    e.indent = 1;
    e.defs = o->c;
    if (v->op == OP_dropout) /* eval mode: the same values (its emitter's is the training one) */
        fprintf(mem, "    memcpy(out, in0, sizeof(float) * (size_t)n * %ld);\n", shape_size(&v->shape));
    else
        op_emit(&e, v);
    fclose(mem);
    fprintf(o->c, "/* %s: %s, in float\n * %s */\n", v->q->name, where(o, v),
            shape_str(&v->shape));
    fprintf(o->c, "static void %s_%s_%s_forward(float *out", o->name, ident(v), op_info[v->op].name);
    for (int k = 0; k < v->nin; k++)
        fprintf(o->c, ", const float *in%d", k);
    fprintf(o->c, ", int n) {\n%s}\n\n", body);
    free(body);
}

/* ---- the header and the entry points --------------------------------------- */

static const char *byte_at(const Value *v) {
    return arena_printf("m->act + %d", v->q->offset);
}

/* output k's place for sample s, in the caller's array */
static const char *output_at(const Graph *g, int k) {
    return arena_printf("%s + s * %ld", arg_name(g->output_names[k]), shape_size(&g->outputs[k]->shape));
}

static const char *float_at(const Graph *g, const Value *v) {
    if (v->q->output)
        return output_at(g, v->q->output - 1);
    return arena_printf("m->fact + %d", v->q->q8 ? v->q->foffset : v->q->offset);
}

static void emit_header(Q8Out *o, int ntensors) {
    FILE *h = o->h;
    const Graph *g = o->g;
    const char *N = o->NAME, *n = o->name;
    fprintf(h, "/* ---- model %s, int8 ---- */\n", n);
    emit_size_macros(g, h);
    fprintf(h, "#define %s_NUM_TENSORS %d /* entries of %s_tensors: int8 weights, scales, int32 biases, zero points */\n",
            N, ntensors, n);
    fprintf(h, "\ntypedef struct %s_model %s_model;\nstruct %s_model {\n", n, n, n);
    fprintf(h, "    uint8_t act[%ld]; /* uint8 activations, each slice reused once its value is dead */\n",
            g->q8_act ? g->q8_act : 1);
    if (g->q8_float)
        fprintf(h, "    float fact[%ld]; /* float values: the dequantized ones and what follows them */\n", g->q8_float);
    fprintf(h, "};\n\n");
    for (int i = 0; i < g->ninputs; i++) {
        const Value *v = g->inputs[i];
        const char *X = upper(arg_name(v->name));
        fprintf(h, "#define %s_%s_QUANT_SCALE %af /* %.9g: %s_forward_u8 takes %s as bytes rne(x / QUANT_SCALE) + ZERO_POINT in 0..255 */\n",
                N, X, (double)v->q->scale, (double)v->q->scale, n, arg_name(v->name));
        fprintf(h, "#define %s_%s_ZERO_POINT %d\n", N, X, (int)v->q->zp);
    }
    fprintf(h, "\nvoid %s_init(%s_model *m, uint64_t seed); /* clears the activations; the weights are const */\n", n, n);
    for (int u8 = 0; u8 < 2; u8++) {
        fprintf(h, "void %s_forward%s(%s_model *m", n, u8 ? "_u8" : "", n);
        for (int i = 0; i < g->ninputs; i++)
            fprintf(h, ", const %s *%s", u8 ? "uint8_t" : "float", arg_name(g->inputs[i]->name));
        for (int i = 0; i < g->noutputs; i++)
            fprintf(h, ", float *%s", arg_name(g->output_names[i]));
        fprintf(h, u8 ? ", int n); /* the inputs already quantized (_QUANT_SCALE, _ZERO_POINT) */\n"
                      : ", int n); /* int8 inside; n in 1..%s_BATCH */\n", N);
    }
    fprintf(h, "extern const dnn_tensor_info %s_tensors[%s_NUM_TENSORS]; /* with their dtype: I8, F32, I32 */\n", n, N);
    fprintf(h, "const void *%s_tensor(const %s_model *m, int i); /* data of tensor i (read-only), of its dtype */\n", n,
            n);
    fprintf(h, "size_t %s_save(const %s_model *m, void *buf, size_t cap); /* bytes of the image; writes only if cap "
               "suffices */\n\n", n, n);
}

static void emit_forward(Q8Out *o) {
    FILE *c = o->c;
    const Graph *g = o->g;
    fprintf(c, "void %s_init(%s_model *m, uint64_t seed) {\n    (void)seed;\n    memset(m, 0, sizeof *m);\n}\n\n", o->name,
            o->name);
    /* sample s from its quantized inputs in m->act, for both entry points */
    fprintf(c, "static void %s_sample(%s_model *m", o->name, o->name);
    for (int i = 0; i < g->noutputs; i++)
        fprintf(c, ", float *%s", arg_name(g->output_names[i]));
    fprintf(c, ", int s) {\n");
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        const Quant *q = v->q;
        if (!q)
            continue;
        long size = shape_size(&v->shape);
        if (v->op == OP_input)
            continue; /* (quantized or copied there by the entry point) */
        if (!q->q8) {
            fprintf(c, "    %s_%s_%s_forward(%s", o->name, ident(v), op_info[v->op].name, float_at(g, v));
            for (int k = 0; k < v->nin; k++)
                fprintf(c, ", %s", float_at(g, v->in[k]));
            fprintf(c, ", 1); /* %s */\n", where(o, v));
        } else if (!q->fused && q->storage == v) {
            const Value *res = q->pool ? q->pool : v;
            fprintf(c, "    %s_%s_%s(%s, %s%s); /* %s */\n", o->name, ident(v), op_info[v->op].name, byte_at(res),
                    byte_at(v->in[0]), v->op == OP_add ? arena_printf(", %s", byte_at(v->in[1])) : "", where(o, v));
        }
        if (q->q8 && q->storage == v && q->dequant) /* float steps read its bytes (or a fused relu's) */
            fprintf(c, "    dnn_q8_dequantize(%s, %s, %ld, %af, %d);\n", float_at(g, v), byte_at(v), size,
                    (double)q->scale, (int)q->zp);
    }
    for (int i = 0; i < g->noutputs; i++) {
        const Value *v = g->outputs[i];
        long size = shape_size(&v->shape);
        if (v->q->q8)
            fprintf(c, "    dnn_q8_dequantize(%s, %s, %ld, %af, %d);\n", output_at(g, i), byte_at(v), size,
                    (double)v->q->scale, (int)v->q->zp);
        else if (v->q->output != i + 1) /* (computed there) */
            fprintf(c, "    memcpy(%s, %s, sizeof(float) * %ld);\n", output_at(g, i), float_at(g, v), size);
    }
    fprintf(c, "}\n\n");
    for (int u8 = 0; u8 < 2; u8++) {
        fprintf(c, "void %s_forward%s(%s_model *m", o->name, u8 ? "_u8" : "", o->name);
        for (int i = 0; i < g->ninputs; i++)
            fprintf(c, ", const %s *%s", u8 ? "uint8_t" : "float", arg_name(g->inputs[i]->name));
        for (int i = 0; i < g->noutputs; i++)
            fprintf(c, ", float *%s", arg_name(g->output_names[i]));
        fprintf(c, ", int n) {\n    if (n < 1 || n > %s_BATCH)\n        return;\n    for (int s = 0; s < n; s++) {\n",
                o->NAME);
        for (int i = 0; i < g->ninputs; i++) {
            const Value *v = g->inputs[i];
            long size = shape_size(&v->shape);
            if (u8)
                fprintf(c, "        memcpy(%s, %s + s * %ld, %ld);\n", byte_at(v), arg_name(v->name), size, size);
            else
                fprintf(c, "        dnn_q8_quantize(%s, %s + s * %ld, %ld, %af, %d); /* %s */\n", byte_at(v),
                        arg_name(v->name), size, size, (double)v->q->scale, (int)v->q->zp, qtext(v->q));
        }
        fprintf(c, "        %s_sample(m", o->name);
        for (int i = 0; i < g->noutputs; i++)
            fprintf(c, ", %s", arg_name(g->output_names[i]));
        fprintf(c, ", s);\n    }\n}\n\n");
    }
}

bool emit_int8_model(Graph *g, const EmitOptions *opt, FILE *c, FILE *h) {
    Q8Out o = {g, c, h, g->name, upper(g->name), opt->source};
    Tensor *t = arena_alloc(sizeof(Tensor) * (size_t)(5 * g->nvalues + 1));
    emit_header(&o, list_tensors(&o, t));
    fprintf(c, "#include \"dnn_kernels_int8.h\"\n\n/* ==== model %s, int8 (--quantize=int8: PyTorch's post-training "
               "static quantization, qnnpack) ==== */\n\n", g->name);
    emit_tensors(&o);
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->q && g->values[i]->q->q8)
            emit_layer(&o, g->values[i]);
        else if (g->values[i]->q)
            emit_float_step(&o, g->values[i]);
    emit_forward(&o);
    emit_preprocess(g, c, h); /* as --inference --embed-weights: the weights' input preprocessing */
    return true;
}
