/* pipeline.c — the passes in order, for dnnc's main() and the fuzzer:
 *
 *     parse → lower → check shapes → differentiate → fold constants →
 *     plan memory → emit
 *
 * stopping between passes when one reported an error. Files, options and
 * exit codes are main.c's business; these take a Source and FILE streams.
 */
#include "dnnc.h"

bool compile_source(const Source *src, long batch, bool inference, bool embedded, bool small, Compiled *out) {
    *out = (Compiled){0};
    Node *models = parse_source(src);
    if (error_count())
        return false;
    if (!models) {
        error_at((Loc){1, 1, 1, 1}, "no model in this file");
        note("a file holds one or more 'model NAME { ... }' blocks");
        return false;
    }
    int n;
    Graph **graphs = lower_models(models, &n);
    if (error_count())
        return false;
    for (int i = 0; i < n; i++)
        check_shapes(graphs[i]);
    for (int i = 0; i < n && !error_count(); i++)
        if (graphs[i]->train.qat) /* (also for --inference: the model evaluates as in training's eval mode) */
            insert_fake_quant(graphs[i]);
    if (error_count())
        return false;
    Plan *plans = arena_alloc(sizeof(Plan) * (size_t)n);
    for (int i = 0; i < n; i++) {
        Graph *g = graphs[i];
        g->embedded = embedded;
        g->small = small;
        g->fused_update = embedded && !inference && !g->train.clip_grad_norm; /* (global-norm clipping needs every gradient) */
        if (batch)
            g->train.batch = (int)batch;
        if (inference) { /* forward only: nothing to differentiate */
            g->inference = true;
            g->train.batch = batch ? (int)batch : 1;
            g->nforward = g->nvalues;
            fold_constants(g);
            plans[i] = plan_inference(g);
        } else {
            differentiate(g);
            fold_constants(g);
            plans[i] = plan_memory(g);
        }
    }
    if (error_count())
        return false;
    *out = (Compiled){graphs, plans, n};
    return true;
}

bool emit_c_files(const Compiled *m, const CFiles *o, FILE *c, FILE *h) {
    fprintf(h, "%s#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n#include \"dnn.h\"\n\n",
            o->stamp, o->guard, o->guard);
    fprintf(h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    if (o->header_name) /* else the header's text leads the same stream */
        fprintf(c, "%s#include \"%s\"\n\n", o->stamp, o->header_name);
    fprintf(c, "#include <math.h>\n#include <string.h>\n\n#include \"dnn_kernels.h\"\n");
    bool qat = false;
    for (int i = 0; i < m->count; i++)
        qat = qat || (m->graphs[i]->train.qat && !m->graphs[i]->int8);
    fprintf(c, "%s\n", qat ? "#include \"dnn_kernels_qat.h\"\n" : "");
    bool ok = true;
    for (int i = 0; i < m->count && ok; i++)
        ok = m->graphs[i]->int8 ? emit_int8_model(m->graphs[i], &o->emit, c, h)
                                : emit_model(m->graphs[i], &m->plans[i], &o->emit, c, h);
    if (ok && o->golden)
        ok = emit_selftest(m->graphs[0], o->emit.weights ? NULL : o->weights, o->golden, c, h);
    if (ok && o->with_main)
        ok = emit_program(m->graphs[0], &m->plans[0], o->emit.source, c);
    fprintf(h, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", o->guard);
    return ok && !error_count();
}
