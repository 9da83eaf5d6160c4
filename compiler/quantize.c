/* quantize.c — --quantize=int8: PyTorch 1.13's eager-mode post-training
 * static quantization of an inference graph (engine qnnpack; the contract is
 * generated-c.md §int8, the arithmetic tests/quant/README.md):
 *
 *     fold batchnorms → calibrate → scales and zero points → int8 weights,
 *     int32 biases, requantization scales → storage
 *
 * Every number comes from runtime/dnn_kernels_int8.h's parameter helpers,
 * the C the kernels themselves use, and the calibration runs the runtime's
 * plain float kernels (dnn_kernels_plain.h). The graph stays as it is; each
 * value it computes gets a Quant (Value.q), which emit_int8.c prints.
 *
 * What is int8: the input (a QuantStub) and the ops of the op table's int8
 * rules (ops_dispatch.c's q8_rules; each op's float pass and int8 step sit
 * in its ops_*.c): dense and conv2d (a relu right after either fused into
 * it, a maxpool right after a conv2d[-relu] computed with it), relu,
 * maxpool, avgpool, global_avgpool, the add of two tensors, and
 * flatten/reshape/dropout (the same bytes). From the first other op on,
 * values are float (after a DeQuantStub): softmax, the outputs. A dense or
 * conv2d there is an error: it would lose its quantization silently.
 *
 * Quantization-aware training (`quantize int8;`, insert_fake_quant) puts
 * fake_quant nodes with their observers' buffers where this file observes
 * and on every dense/conv2d weight; --from-qat (cal NULL) takes the scales
 * from those buffers instead of calibrating, as PyTorch's convert does.
 */
#include "dnnc.h"

#include <math.h>
#include <string.h>

#include "dnn_kernels_int8.h"
#include "dnn_kernels_qat.h"

/* How messages name the setting: the option, or the train block's `quantize int8;` */
static const char *who = "--quantize=int8";

static Quant *new_quant(Value *v) {
    Quant *q = arena_alloc(sizeof *q);
    q->storage = v;
    q->min = INFINITY;
    q->max = -INFINITY;
    v->q = q;
    return q;
}

/* Which values are uint8, which float; relus fused into their layer and
 * maxpools into their conv2d; storage shared by the same bytes. */
static bool classify(Graph *g, const bool *needed, const int *readers) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!needed[i] || v->op == OP_param || v->op == OP_constant)
            continue;
        Quant *q = new_quant(v);
        const char *form = v->op == OP_input ? "" : op_int8(v); /* the op table's int8 rules */
        bool q8 = form != NULL;
        for (int k = 0; k < v->nin; k++) /* its operands but the parameters uint8 */
            q8 = q8 && (!v->in[k] || v->in[k]->op == OP_param || (v->in[k]->q && v->in[k]->q->q8));
        if (q8 && *form) {
            error_at(v->loc, "%s: %s", who, form);
            return false;
        }
        if ((v->op == OP_dense || v->op == OP_conv2d) && !q8) {
            error_at(v->loc, "%s: this %s reads a float value (%s has no int8 form)", who, op_info[v->op].name,
                     op_info[v->in[0]->op].name);
            note("int8 runs from the input up to the first op without an int8 form (softmax, ...); "
                 "a dense or conv2d after it is not computed in float");
            return false;
        }
        for (int k = 0; !q8 && k < v->nin; k++)
            if (v->in[k] && (v->in[k]->op == OP_param || v->in[k]->op == OP_constant)) {
                error_at(v->loc, "%s: %s after the int8 part takes %s; dnnc computes only "
                                 "parameter-free ops there (softmax, ...)", who, op_info[v->op].name,
                         v->in[k]->op == OP_param ? "parameters" : "a constant");
                return false;
            }
        q->q8 = q8;
        for (int k = 0; !q8 && k < v->nin; k++) /* a float step reads its uint8 operands dequantized (once) */
            if (v->in[k] && v->in[k]->q && v->in[k]->q->q8)
                v->in[k]->q->storage->q->dequant = true;
        if (q->q8 && (v->op == OP_flatten || v->op == OP_reshape || v->op == OP_dropout))
            q->storage = v->in[0]->q->storage;
        Value *x = v->op == OP_add ? NULL : v->in[0];
        bool only_reader = x && x->q && readers[x->id] == 1;
        if (q->q8 && v->op == OP_relu && only_reader && (x->op == OP_dense || x->op == OP_conv2d) && !x->q->pool) {
            x->q->relu = v; /* LinearReLU, ConvReLU2d */
            q->fused = true;
            q->storage = x;
        }
        Value *conv = x && x->op == OP_relu && x->q && x->q->fused ? x->in[0] : x;
        if (q->q8 && v->op == OP_maxpool && only_reader && conv->op == OP_conv2d && readers[conv->id] == 1) {
            conv->q->pool = v; /* dnn_q8_conv2d_maxpool: the conv's output is never stored */
            q->fused = true;
        }
    }
    return true;
}

/* ---- batchnorm folding and calibration ---------------------------------- */

/* The float weights and bias of a dense/conv2d, its batchnorm folded in as
 * torch.nn.utils.fusion does it, in float32 operation by operation:
 * rs = 1/sqrt(var + eps), w' = w·(γ·rs), b' = ((b − mean)·rs)·γ + β. */
static void fold_layer(Value *layer, const float *weights) {
    Quant *q = layer->q;
    const Value *w = layer->in[1], *b = layer->folded_bn ? layer->unfolded_bias : layer->in[2];
    q->channels = w->shape.dim[0];
    q->k = (int)(shape_size(&w->shape) / q->channels);
    q->wf = arena_alloc(sizeof(float) * (size_t)shape_size(&w->shape));
    q->bf = arena_alloc(sizeof(float) * (size_t)q->channels);
    memcpy(q->wf, weights + w->flash, sizeof(float) * (size_t)shape_size(&w->shape));
    if (b)
        memcpy(q->bf, weights + b->flash, sizeof(float) * (size_t)q->channels);
    const Value *bn = layer->folded_bn;
    if (!bn)
        return;
    const float *gamma = weights + bn->in[1]->flash, *beta = weights + bn->in[2]->flash,
                *mean = weights + bn->in[3]->flash, *var = weights + bn->in[4]->flash;
    const float eps = (float)bn->attr[1];
    for (int c = 0; c < q->channels; c++) {
        const float ve = var[c] + eps, sq = sqrtf(ve), rs = 1.0f / sq, scale = gamma[c] * rs;
        for (int i = 0; i < q->k; i++)
            q->wf[c * q->k + i] = q->wf[c * q->k + i] * scale;
        const float centred = q->bf[c] - mean[c], normed = centred * rs, scaled = normed * gamma[c];
        q->bf[c] = scaled + beta[c];
    }
}

/* Where PyTorch's MinMaxObservers sit: the QuantStub's output, every fused
 * Linear/Conv2d's (after its relu), every add's. */
static bool observed(const Value *v) {
    return v->op == OP_input || v->op == OP_add || ((v->op == OP_dense || v->op == OP_conv2d) && !v->q->relu) ||
           (v->op == OP_relu && v->q->fused);
}

/* The range v's scale and zero point come from, or NULL: v keeps its
 * operand's (relu, the pools, flatten). */
static const Quant *range_of(const Value *v) {
    if (v->op == OP_dense || v->op == OP_conv2d)
        return v->q->relu ? v->q->relu->q : v->q;
    return v->op == OP_input || v->op == OP_add ? v->q : NULL;
}

/* The float model over every calibration sample, one at a time; each
 * observed value's running min and max. */
static void calibrate(Graph *g, const Cal *cal) {
    float **buf = arena_alloc(sizeof(float *) * (size_t)g->nvalues); /* by id: the uint8 values' float twins */
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->q && g->values[i]->q->q8)
            buf[i] = arena_alloc(sizeof(float) * (size_t)shape_size(&g->values[i]->shape));
    for (int s = 0; s < cal->n; s++)
        for (int i = 0; i < g->nvalues; i++) {
            Value *v = g->values[i];
            if (!buf[i])
                continue;
            long n = shape_size(&v->shape);
            const float *in[MAX_INPUTS];
            for (int k = 0; k < v->nin; k++)
                in[k] = v->in[k] ? buf[v->in[k]->id] : NULL;
            if (v->op == OP_input)
                memcpy(buf[i], cal->data[v->index] + (size_t)s * (size_t)n, sizeof(float) * (size_t)n);
            else /* as the fused float model computes it, up to the order of its sums (PyTorch's BLAS has its own) */
                op_q8_float(v, buf[i], in);
            for (long k = 0; observed(v) && k < n; k++) {
                v->q->min = buf[i][k] < v->q->min ? buf[i][k] : v->q->min;
                v->q->max = buf[i][k] > v->q->max ? buf[i][k] : v->q->max;
            }
        }
}

/* ---- scales, zero points, int8 weights ----------------------------------- */

static void quantize_layer(Value *layer, const Quant *in) {
    Quant *q = layer->q;
    int C = q->channels, k = q->k;
    q->w = arena_alloc((size_t)C * (size_t)k);
    q->w_scale = arena_alloc(sizeof(float) * (size_t)C);
    q->m = arena_alloc(sizeof(float) * (size_t)C);
    q->bias_q = arena_alloc(sizeof(int32_t) * (size_t)C);
    q->bias = arena_alloc(sizeof(int32_t) * (size_t)C);
    for (int c = 0; c < C; c++) {
        const float *w = q->wf + (size_t)c * (size_t)k;
        float amax = 0.0f;
        for (int i = 0; i < k; i++)
            amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
        q->w_scale[c] = dnn_q8_weight_scale(amax);
        if (q->w_lo) { /* convert runs the weight's fake quantizer once more: one more step of its observer */
            float lo = q->w_lo[c], hi = q->w_hi[c];
            dnn_fq_observe(&lo, &hi, w, k);
            q->w_scale[c] = dnn_fq_weight_scale(lo, hi);
        }
        const float inv = 1.0f / q->w_scale[c];
        for (int i = 0; i < k; i++)
            q->w[(size_t)c * (size_t)k + (size_t)i] = (int8_t)dnn_q8_quantize_value(w[i], inv, 0, -128, 127);
        q->bias_q[c] = dnn_q8_bias(q->bf[c], q->w_scale[c], in->scale);
        q->bias[c] = dnn_q8_fold_bias(q->bias_q[c], q->w + (size_t)c * (size_t)k, k, in->zp);
        q->m[c] = dnn_q8_requant_scale(q->w_scale[c], in->scale, q->scale);
    }
}

static bool set_qparams(Graph *g) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        Quant *q = v->q;
        if (!q || !q->q8)
            continue;
        const Quant *range = range_of(v);
        if (range) {
            dnn_q8_act_qparams(range->min, range->max, &q->scale, &q->zp);
        } else { /* relu, the pools, flatten: the operand's scale and zero point */
            q->scale = v->in[0]->q->scale;
            q->zp = v->in[0]->q->zp;
        }
        if (v->op == OP_dense || v->op == OP_conv2d)
            quantize_layer(v, v->in[0]->q);
        if (v->op == OP_add) {
            const Quant *a = v->in[0]->q, *b = v->in[1]->q;
            q->add = arena_alloc(sizeof *q->add);
            if (dnn_q8_add_setup(q->add, a->scale, a->zp, b->scale, b->zp, q->scale, q->zp, 0)) {
                error_at(v->loc, "--quantize=int8: qnnpack cannot add these tensors: their scales (%g, %g) are too far "
                         "from the sum's (%g)", a->scale, b->scale, q->scale);
                return false;
            }
        }
    }
    return true;
}

/* ---- storage -------------------------------------------------------------- */

typedef struct Slot {
    long offset, size;
    int until;        /* the last step reading it */
} Slot;

/* The lowest offset where size units fit beside the live slots. */
static long first_fit(const Slot *live, int nlive, long size) {
    long at = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < nlive; i++)
            if (at < live[i].offset + live[i].size && live[i].offset < at + size) {
                at = live[i].offset + live[i].size;
                moved = true;
            }
    }
    return at;
}

/* Offsets in act (bytes, uint8 values) and fact (floats: the float tail and
 * the dequantized values), each slice reused once nothing reads it. */
static void place(Graph *g, const int *last_read) {
    Slot *bytes = arena_alloc(sizeof(Slot) * (size_t)(g->nvalues + 1));
    Slot *floats = arena_alloc(sizeof(Slot) * (size_t)(2 * g->nvalues + 1));
    int nb = 0, nf = 0;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        Quant *q = v->q;
        if (q && v->op == OP_conv2d) { /* its window and two bytes per channel */
            long scratch = DNN_Q8_CONV_SCRATCH(q->k, 1, 1, q->channels);
            g->q8_scratch = scratch > g->q8_scratch ? scratch : g->q8_scratch;
        }
        if (!q || q->storage != v || (v->op == OP_maxpool && q->fused))
            continue;
        Value *owner = q->pool ? q->pool : v; /* a conv2d computing its maxpool writes the pool's bytes */
        q = owner->q;
        long n = shape_size(&owner->shape);
        int until = last_read[owner->id];
        for (int j = owner->id + 1; j < g->nvalues; j++) /* the values sharing its bytes */
            if (g->values[j]->q && g->values[j]->q->storage == owner && last_read[j] > until)
                until = last_read[j];
        int nb0 = 0, nf0 = 0; /* drop the slots dead before this step */
        for (int k = 0; k < nb; k++)
            if (bytes[k].until >= i)
                bytes[nb0++] = bytes[k];
        for (int k = 0; k < nf; k++)
            if (floats[k].until >= i)
                floats[nf0++] = floats[k];
        nb = nb0, nf = nf0;
        if (q->q8) {
            q->offset = (int)first_fit(bytes, nb, n);
            bytes[nb++] = (Slot){q->offset, n, until};
            g->q8_act = q->offset + n > g->q8_act ? q->offset + n : g->q8_act;
        }
        if (q->output)
            continue; /* (a float output only the caller reads: in its array) */
        if (!q->q8 || q->dequant) {
            long at = first_fit(floats, nf, n);
            floats[nf++] = (Slot){at, n, until};
            *(q->q8 ? &q->foffset : &q->offset) = (int)at;
            g->q8_float = at + n > g->q8_float ? at + n : g->q8_float;
        }
    }
    for (int i = 0; i < g->nvalues; i++) { /* a fused conv's maxpool writes the result; relus share their layer's */
        Quant *q = g->values[i]->q;
        if (q && q->storage != g->values[i])
            q->offset = q->storage->q->offset, q->foffset = q->storage->q->foffset;
    }
}

/* The float plan's conv2d → activation → pool steps back as three values:
 * classify() fuses them its own way. */
static void unfuse_conv_pools(Graph *g) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *pool = g->values[i];
        if (!pool->fused_conv)
            continue;
        pool->in[0] = pool->fused_act ? pool->fused_act : pool->fused_conv;
        pool->nin = 1;
        pool->fused_conv->fused = false;
        if (pool->fused_act)
            pool->fused_act->fused = false;
        pool->fused_conv = pool->fused_act = NULL;
    }
}

bool q8_has_qparams(const Value *v) {
    return v->op == OP_input || v->op == OP_add || v->op == OP_dense || v->op == OP_conv2d;
}

/* A statement's values share its label (the add and the relu of
 * r1 = relu(a + b) are both "r1"). Each value gets a name of its own where
 * it must: one with a scale and zero point names tensors ("r1.scale"), any
 * other names its function with its op ("NAME_r1_relu"); the second gets
 * "r1_2", and so on. */
static void unique_names(Graph *g) {
    Map used = {0}, taken = {0}; /* the labels; the names given, each with its op, and bare if it names tensors */
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->q)
            map_put(&used, c_ident(g->values[i]->label ? g->values[i]->label : g->values[i]->name ? g->values[i]->name
                                                                                                   : "t"), "");
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!v->q)
            continue;
        const char *base = v->label ? v->label : v->name ? v->name : "t", *name = base, *op = op_info[v->op].name;
        for (int k = 2; map_get(&taken, arena_printf("%s %s", c_ident(name), op)) ||
                        (q8_has_qparams(v) && map_get(&taken, c_ident(name))) ||
                        (name != base && map_get(&used, c_ident(name)));
             k++)
            name = arena_printf("%s_%d", base, k);
        map_put(&taken, arena_printf("%s %s", c_ident(name), op), "");
        if (q8_has_qparams(v))
            map_put(&taken, c_ident(name), "");
        v->q->name = name;
    }
}

/* Each needed value's readers (an output counts as one) and the last step
 * reading it, then classify(). */
static bool classify_graph(Graph *g, int **readers_out, int **last_read_out) {
    bool *needed = arena_alloc((size_t)g->nvalues);
    int *readers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    int *last_read = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    for (int i = 0; i < g->noutputs; i++)
        mark_needed(g, g->outputs[i], needed);
    for (int i = 0; i < g->nvalues; i++)
        for (int k = 0; needed[i] && k < g->values[i]->nin; k++)
            if (g->values[i]->in[k]) {
                readers[g->values[i]->in[k]->id]++;
                last_read[g->values[i]->in[k]->id] = i;
            }
    for (int i = 0; i < g->noutputs; i++) {
        readers[g->outputs[i]->id]++;
        last_read[g->outputs[i]->id] = g->nvalues;
    }
    *readers_out = readers;
    *last_read_out = last_read;
    return classify(g, needed, readers);
}

/* --from-qat: bn reads conv(x, fq(W·s)) / s (+ bias) (fold_in_training):
 * the conv2d reads W again, and bn is folded into it as plan.c folds a
 * batchnorm for --inference (Value.folded_bn), its readers reading the
 * conv, whose range is the one observed after bn. */
static void unfold_conv_bn(Graph *g, Value *bn, const float **act_lo, const float **act_hi) {
    Value *y = bn->in[0], *bias = NULL;
    if (y->op == OP_add) {
        bias = y->in[1]->in[0]; /* reshape(bias) */
        y = y->in[0];
    }
    Value *conv = y->op == OP_div ? y->in[0] : NULL;
    if (!conv || conv->op != OP_conv2d || conv->in[1]->op != OP_mul)
        return;
    conv->in[1] = conv->in[1]->in[0];
    conv->folded_bn = bn;
    conv->unfolded_bias = bias;
    conv->in[2] = bn->in[2];
    replace_uses(g, bn, conv);
    act_lo[conv->id] = act_lo[bn->id];
    act_hi[conv->id] = act_hi[bn->id];
}

/* --from-qat: each value's reader reads it without its fake quantizer;
 * the observers' buffers (in weights) by the id of what they observed
 * (act_lo, act_hi) and of the layer whose weight they observed (w_lo, w_hi). */
static void drop_fake_quant(Graph *g, const float *weights, const float **act_lo, const float **act_hi,
                            const float **w_lo, const float **w_hi) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        for (int k = 0; k < v->nin; k++) {
            const Value *fq = v->in[k];
            if (!fq || fq->op != OP_fake_quant)
                continue;
            const float *lo = weights + fq->in[1]->flash, *hi = weights + fq->in[2]->flash;
            if (fq->attr[0])
                w_lo[v->id] = lo, w_hi[v->id] = hi;
            else
                act_lo[fq->in[0]->id] = lo, act_hi[fq->in[0]->id] = hi;
            v->in[k] = fq->in[0];
        }
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i]->op == OP_fake_quant)
            g->outputs[i] = g->outputs[i]->in[0];
    for (int i = 0; i < g->nvalues; i++) /* a conv2d trained as ConvBn2d: back to conv2d → batchnorm, folded */
        if (g->values[i]->op == OP_batchnorm)
            unfold_conv_bn(g, g->values[i], act_lo, act_hi);
}

/* --from-qat: the ranges and weight observers of the observed values and
 * layers from the QAT model's buffers, as convert takes them. */
static void take_observers(Graph *g, const float **act_lo, const float **act_hi, const float **w_lo,
                           const float **w_hi) {
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!v->q || !v->q->q8)
            continue;
        if (observed(v) && act_lo[i]) {
            v->q->min = *act_lo[i];
            v->q->max = *act_hi[i];
        }
        v->q->w_lo = w_lo[i];
        v->q->w_hi = w_hi[i];
    }
}

bool quantize_graph(Graph *g, const float *weights, const Cal *cal) {
    who = "--quantize=int8";
    unfuse_conv_pools(g);
    const float **observers = arena_alloc(sizeof(float *) * 4 * (size_t)g->nvalues);
    const float **act_lo = observers, **act_hi = act_lo + g->nvalues, **w_lo = act_hi + g->nvalues,
                **w_hi = w_lo + g->nvalues;
    drop_fake_quant(g, weights, act_lo, act_hi, w_lo, w_hi);
    int *readers, *last_read;
    if (!classify_graph(g, &readers, &last_read))
        return false;
    for (int i = 0; i < g->noutputs; i++) /* a float output nothing else reads is computed in the caller's array */
        if (!g->outputs[i]->q->q8 && readers[g->outputs[i]->id] == 1)
            g->outputs[i]->q->output = i + 1;
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->q && (g->values[i]->op == OP_dense || g->values[i]->op == OP_conv2d))
            fold_layer(g->values[i], weights);
    if (cal)
        calibrate(g, cal);
    else
        take_observers(g, act_lo, act_hi, w_lo, w_hi);
    if (!set_qparams(g))
        return false;
    place(g, last_read);
    unique_names(g);
    g->int8 = true;
    return true;
}

/* sizeof(NAME_model): uint8_t act[], then float fact[] 4-aligned (the
 * conv steps' scratch is on their stack, g->q8_scratch at most) */
long q8_model_bytes(const Graph *g) {
    long act = g->q8_act ? g->q8_act : 1, floats = g->q8_float * 4;
    if (!floats)
        return act;
    return (act + 3) / 4 * 4 + floats;
}

/* ---- quantization-aware training (`quantize int8;`) ------------------------ */

/* A buffer of a fake quantizer: its observer's running min (+inf until the
 * first batch) or max (−inf), [channels] per channel or a scalar. */
static Value *observer_buffer(Graph *g, const Value *at, const char *prefix, const char *what, bool max,
                              int channels) {
    const char *name = arena_printf("%s.%s", prefix, what);
    for (int i = 0, k = 2; i < g->nparams; i++) /* (an add named like a layer's prefix) */
        if (!strcmp(g->params[i]->name, name)) {
            name = arena_printf("%s_%d.%s", prefix, k++, what);
            i = -1;
        }
    Value *p = new_value(g, OP_param, at->loc);
    p->name = name;
    p->is_buffer = p->has_fill = p->shaped = p->used = true;
    p->fill = max ? -INFINITY : INFINITY;
    p->shape = channels ? (Shape){1, {channels}} : (Shape){0, {0}};
    p->stmt_line = at->stmt_line;
    push_value(&g->params, &g->nparams, p);
    return p;
}

/* A fake_quant node on x (its buffers made first), pushed to *order. */
static Value *fake_quant(Graph *g, Value *x, const char *prefix, bool weight, Value ***order, int *n) {
    const char *kind = weight ? "weight_fake_quant" : "activation_post_process";
    int channels = weight ? x->shape.dim[0] : 0;
    Value *lo = observer_buffer(g, x, prefix, arena_printf("%s.min_val", kind), false, channels);
    Value *hi = observer_buffer(g, x, prefix, arena_printf("%s.max_val", kind), true, channels);
    Value *fq = ir_node(g, OP_fake_quant, x->loc, x, lo, hi);
    fq->attr[0] = weight;
    fq->shape = x->shape;
    fq->batched = x->batched;
    fq->shaped = fq->used = true;
    fq->label = x->label ? x->label : prefix;
    push_value(order, n, lo);
    push_value(order, n, hi);
    push_value(order, n, fq);
    return fq;
}

/* "fc1" from the weight "fc1.weight" (behind its fake quantizer once it has one) */
static const char *layer_prefix(const Value *layer) {
    const Value *weight = layer->in[1]->op == OP_fake_quant ? layer->in[1]->in[0] : layer->in[1];
    const char *w = weight->name;
    return arena_printf("%.*s", (int)(strlen(w) - strlen(".weight")), w);
}

/* A node of the folding arithmetic, shaped, pushed to *order. */
static Value *qat_node(Graph *g, OpKind op, Value *a, Value *b, const Shape *shape, Value ***order, int *n) {
    Value *v = ir_node(g, op, a->loc, a, b, NULL);
    if (shape)
        v->shape = *shape; /* a reshape's */
    if (!op_shape(g, v))
        ICE("a QAT node of %s has no shape", op_info[op].name);
    v->shaped = v->used = true;
    push_value(order, n, v);
    return v;
}

/* A conv2d trained as PyTorch's ConvBn2d (its batchnorm its only reader):
 * with s = γ / sqrt(running_var + eps), the weight fake-quantized is W·s,
 * and the batchnorm reads conv(x, fq(W·s)) / s (+ the conv's bias). The
 * nodes before the conv are pushed here; returns its bias (or NULL). */
static Value *fold_in_training(Graph *g, Value *conv, Value *bn, const char *prefix, Value ***order, int *n) {
    int F = conv->shape.dim[0];
    for (int k = 1; k < bn->nin; k++) /* its parameters and buffers first (made after the conv) */
        push_value(order, n, bn->in[k]);
    Value *eps = new_value(g, OP_constant, bn->loc);
    eps->attr[0] = (float)bn->attr[1];
    eps->shaped = eps->used = true;
    push_value(order, n, eps);
    Value *sd = qat_node(g, OP_sqrt, qat_node(g, OP_add, bn->in[4], eps, NULL, order, n), NULL, NULL, order, n);
    Value *s = qat_node(g, OP_div, bn->in[1], sd, NULL, order, n);
    Value *ws = qat_node(g, OP_mul, conv->in[1], qat_node(g, OP_reshape, s, NULL, &(Shape){4, {F, 1, 1, 1}}, order, n),
                         NULL, order, n);
    conv->in[1] = fake_quant(g, ws, prefix, true, order, n);
    Value *bias = conv->in[2];
    conv->in[2] = NULL;
    bn->label = conv->label;
    return bias;
}

/* ... and the nodes after it, up to the batchnorm's operand. */
static void unscale(Graph *g, Value *conv, Value *bn, Value *bias, Value ***order, int *n) {
    int F = conv->shape.dim[0];
    Value *s = conv->in[1]->in[0]->in[1]->in[0]; /* fq(W·reshape(s)) */
    Value *y = qat_node(g, OP_div, conv, qat_node(g, OP_reshape, s, NULL, &(Shape){3, {F, 1, 1}}, order, n), NULL,
                        order, n);
    if (bias)
        y = qat_node(g, OP_add, y, qat_node(g, OP_reshape, bias, NULL, &(Shape){3, {F, 1, 1}}, order, n), NULL, order,
                     n);
    bn->in[0] = y;
}

/* Each conv2d's batchnorm that QAT folds (by the conv's id), the others an
 * error; then classify() as the int8 build sees the graph, the batchnorms
 * folded (their readers reading the conv for the while). */
static bool classify_folded(Graph *g, Value **bn_of) {
    int *readers = arena_alloc(sizeof(int) * (size_t)g->nvalues);
    for (int i = 0; i < g->nvalues; i++)
        for (int k = 0; g->values[i]->used && k < g->values[i]->nin; k++)
            if (g->values[i]->in[k])
                readers[g->values[i]->in[k]->id]++;
    for (int i = 0; i < g->noutputs; i++)
        readers[g->outputs[i]->id]++;
    for (int i = 0; i < g->nvalues; i++) {
        Value *bn = g->values[i];
        if (bn->op != OP_batchnorm || !bn->used)
            continue;
        if (bn->in[0]->op != OP_conv2d || readers[bn->in[0]->id] != 1) {
            error_at(bn->loc, "quantize int8: a batchnorm trains with quantization only right after a conv2d "
                              "that nothing else reads (PyTorch's ConvBn2d)");
            note("put it right after its conv2d (conv2d → batchnorm → relu), or train in float and quantize "
                 "afterwards with dnnc --inference --quantize=int8 --calibrate (docs/firmware.md)");
            return false;
        }
        bn_of[bn->in[0]->id] = bn;
    }
    Value ***slot = arena_alloc(sizeof(Value **) * (size_t)(g->nvalues + g->noutputs + 1));
    int nslots = 0;
    for (int i = 0; i < g->nvalues; i++)
        for (int k = 0; k < g->values[i]->nin; k++) {
            Value *x = g->values[i]->in[k];
            if (x && x->op == OP_batchnorm && bn_of[x->in[0]->id] == x) {
                slot[nslots++] = &g->values[i]->in[k];
                g->values[i]->in[k] = x->in[0];
            }
        }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i]->op == OP_batchnorm && bn_of[g->outputs[i]->in[0]->id] == g->outputs[i]) {
            slot[nslots++] = &g->outputs[i];
            g->outputs[i] = g->outputs[i]->in[0];
        }
    int *readers_q, *last_read;
    bool ok = classify_graph(g, &readers_q, &last_read);
    for (int i = 0; i < nslots; i++) /* the batchnorms back */
        *slot[i] = bn_of[(*slot[i])->id];
    return ok;
}

/* Fake quantization where the int8 build quantizes, as PyTorch 1.13's
 * prepare_qat places it on the fused model: each dense/conv2d's weight
 * (a conv2d's batchnorm folded into it as ConvBn2d does), and each
 * observed activation (the input, a layer's output after its batchnorm
 * and fused relu, an add's), read by every later user in place of the value. */
bool insert_fake_quant(Graph *g) {
    who = "quantize int8";
    int n = g->nvalues, count = 0;
    Value **bn_of = arena_alloc(sizeof(Value *) * (size_t)n), **bias_of = arena_alloc(sizeof(Value *) * (size_t)n);
    bool ok = classify_folded(g, bn_of);
    Value **order = NULL, **replaced = arena_alloc(sizeof(Value *) * (size_t)n);
    const char **observe_after = arena_alloc(sizeof(char *) * (size_t)n); /* a folded batchnorm: its conv's prefix */
    bool *bn_observed = arena_alloc((size_t)n);                           /* ... observed after it (no relu fused) */
    bool *early = arena_alloc((size_t)n);                                 /* its parameters, placed before the conv */
    for (int i = 0; ok && i < n; i++) {
        Value *v = g->values[i];
        for (int k = 0; k < v->nin; k++)
            if (v->in[k] && v->in[k]->id < n && replaced[v->in[k]->id])
                v->in[k] = replaced[v->in[k]->id];
        if (v->op == OP_param && v->id < n && early[i])
            continue; /* a folded batchnorm's, placed before its conv */
        bool q8 = v->q && v->q->q8;
        Value *bn = q8 ? bn_of[i] : NULL;
        if (bn) {
            for (int k = 1; k < bn->nin; k++)
                early[bn->in[k]->id] = true;
            observe_after[bn->id] = layer_prefix(v); /* (if it is observed there; and its relu's prefix) */
            bias_of[i] = fold_in_training(g, v, bn, observe_after[bn->id], &order, &count);
        }
        else if (q8 && (v->op == OP_dense || v->op == OP_conv2d))
            v->in[1] = fake_quant(g, v->in[1], layer_prefix(v), true, &order, &count);
        push_value(&order, &count, v);
        if (bn)
            unscale(g, v, bn, bias_of[i], &order, &count);
        bool folded_bn = v->op == OP_batchnorm && observe_after[i];
        if ((folded_bn && bn_observed[i]) || (q8 && observed(v) && !bn)) { /* (a conv2d's after its batchnorm) */
            const Value *layer = v->op == OP_relu ? v->in[0] : v;
            const char *prefix = layer->op == OP_batchnorm                      ? observe_after[layer->id]
                                 : layer->op == OP_dense || layer->op == OP_conv2d ? layer_prefix(layer)
                                 : v->name                                           ? v->name
                                 : v->label                                          ? v->label
                                                                                     : "add";
            replaced[i] = fake_quant(g, v, prefix, false, &order, &count);
        }
        if (bn && observed(v))
            bn_observed[bn->id] = true;
    }
    for (int i = 0; ok && i < g->noutputs; i++)
        if (replaced[g->outputs[i]->id])
            g->outputs[i] = replaced[g->outputs[i]->id];
    for (int i = 0; i < n; i++)
        g->values[i]->q = NULL;
    if (!ok)
        return false;
    for (int i = 0; i < count; i++) /* creation order again, with the new values where they are read */
        order[i]->id = i;
    g->values = order;
    g->nvalues = count;
    return true;
}
