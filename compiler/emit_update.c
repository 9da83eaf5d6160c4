/* emit_update.c — the model's initialisation and training state: NAME_init's
 * filling of each parameter (init rules), the optimizer's update of
 * torch.optim step for step (NAME_step: the kernels of
 * runtime/dnn_kernels_update.h), the learning-rate
 * schedule (NAME_schedule, NAME_set_epoch) and NAME_set_hparam. What each
 * optimizer keeps and takes is optim.c's table.
 */
#include "emit.h"

#include "dnn_kernels.h" /* DNN_PARALLEL_WORK */

#include <math.h>
#include <string.h>

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

void emit_init_param(Out *o, const Value *p) {
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
int trainable_ranges(const Graph *g, int (*r)[2]) {
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

/* The float locals the kernel's call reads, from m->hparams: each the
 * float PyTorch's kernel gets (1 - beta1 is taken in double first, as
 * Python computes it), so a value equal to the .dnn's gives the same bits. */
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

/* The kernel's call (runtime/dnn_kernels_update.h) for params[from, to)
 * with their gradient at grad (NULL: m->grads + from): 8 parameters at a
 * time with DNN_V8, then one at a time. */
static void emit_update_call(FILE *c, const Train *t, const char *at, const char *count, const char *grad) {
    const char *opt = t->optimizer;
    const char *g = grad ? grad : arena_printf("m->grads%s", at);
    if (!strcmp(opt, "sgd"))
        fprintf(c, "    dnn_sgd_update(m->params%s, %s, %s, %s, lr, %s, weight_decay, %d, %s);\n", at, g,
                t->momentum > 0 ? arena_printf("m->momentum_buffer%s", at) : "NULL", count,
                t->momentum > 0 ? "momentum, one_minus_dampening" : "0.0f, 0.0f", t->nesterov, t->momentum > 0 ? "first" : "0");
    else if (is_adam(t))
        fprintf(c, "    dnn_adam_update(m->params%s, %s, m->exp_avg%s, m->exp_avg_sq%s, %s, lr, beta1, one_minus_beta1, "
                   "beta2, one_minus_beta2, eps, weight_decay, %d, step_size, bc2_sqrt);\n",
                at, g, at, at, count, !strcmp(opt, "adamw"));
    else if (!strcmp(opt, "adagrad"))
        fprintf(c, "    dnn_adagrad_update(m->params%s, %s, m->state_sum%s, %s, lr, eps, weight_decay);\n", at, g,
                at, count);
    else /* rmsprop */
        fprintf(c, "    dnn_rmsprop_update(m->params%s, %s, m->square_avg%s, %s, %s, lr, alpha, one_minus_alpha, "
                   "eps, %s, weight_decay);\n",
                at, g, at, t->momentum > 0 ? arena_printf("m->momentum_buffer%s", at) : "NULL", count,
                t->momentum > 0 ? "momentum" : "0.0f");
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

/* What every update of a step needs, before the first: the step counted,
 * the learning rate, Adam's bias corrections, the hyper-parameters as the
 * kernels take them. any: some parameter is trainable. */
/* counted: after m->step++ (an update on threads reads them there). */
static void emit_update_values(Out *o, bool any, bool counted) {
    FILE *c = o->c;
    const Train *t = &o->g->train;
    if (any) {
        fprintf(c, "    const float lr = m->lr;\n");
        if (!strcmp(t->optimizer, "sgd") && t->momentum > 0)
            fprintf(c, "    const int first = m->step == %d;\n", counted);
    }
    if (!counted)
        fprintf(c, "    m->step++;\n");
    if (any && is_adam(t)) {
        fprintf(c, "    /* bias corrections in double, as PyTorch computes them */\n");
        fprintf(c, "    const double bc1 = 1.0 - pow(m->hparams.beta1, (double)m->step), bc2 = 1.0 - pow(m->hparams.beta2, (double)m->step);\n");
        fprintf(c, "    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);\n");
    }
    if (any)
        emit_update_locals(c, t);
}

void emit_update_prologue(Out *o, bool any) {
    if (o->g->train.per_step)
        fprintf(o->c, "    %s_schedule(m, m->step); /* per_step: the schedule counts optimizer steps */\n", o->name);
    emit_update_values(o, any, false);
}

/* Threads: an update of many parameters (4 multiply-adds' worth each, at
 * least DNN_PARALLEL_WORK in all) runs on the program's threads in
 * DNN_ROW_PARTS parts of each tensor's rows (dnn_part_at), the parts a
 * dense layer's forward and weight gradient give the same thread, so each
 * weight row stays on one core. Each part starts at a block of 8 of its
 * run of parameters, as the kernel's vector loop takes them (the tail the
 * run's last part's), so every parameter is updated by the same
 * arithmetic on any thread: NAME_update_part, printed before NAME_step,
 * takes parts lo .. hi of every tensor. */
enum { UPDATE_WORK = 4 * 8 };
static long update_blocks(int (*ranges)[2], int nr) {
    long blocks = 0;
    for (int r = 0; r < nr; r++)
        blocks += (ranges[r][1] - ranges[r][0] + 7) / 8;
    return blocks;
}
static bool update_split(const Out *o, int (*ranges)[2], int nr) {
    return !o->g->inference && !o->small && !o->f64 && update_blocks(ranges, nr) * UPDATE_WORK >= DNN_PARALLEL_WORK;
}
static void emit_update_part(Out *o, int (*ranges)[2]) {
    FILE *c = o->c;
    fprintf(c, "/* the update of parts lo .. hi of each trainable tensor's rows, on one of the program's threads */\n");
    fprintf(c, "static void %s_update_part(void *ctx, int lo, int hi) {\n    %s_model *m = ctx;\n", o->name, o->name);
    emit_update_values(o, true, true);
    for (int i = 0, r = 0; i < o->g->nparams; i++) {
        const Value *p = o->g->params[i];
        if (!p->trainable || p->is_buffer)
            continue;
        while (p->offset >= ranges[r][1])
            r++;
        const long size = shape_size(&p->shape), rows = p->shape.rank ? p->shape.dim[0] : 1;
        const int run = ranges[r][0], count = ranges[r][1] - run;
        const char *part = arena_printf("%ld, %ld, %d, %d)", rows, size / rows, p->offset - run, count);
        fprintf(c, "    { /* %s */\n        const long a = dnn_part_at(lo, %s, b = dnn_part_at(hi, %s;\n", p->name, part,
                part);
        fprintf(c, "        if (a < b)\n        ");
        emit_update_call(c, &o->g->train, arena_printf(" + %d + a", run), "(int)(b - a)", NULL);
        fprintf(c, "    }\n");
    }
    fprintf(c, "}\n\n");
}

/* The update of torch.optim, step for step (PyTorch 1.13, single-tensor
 * path): the optimizer's kernel over each range of trainable parameters. */
void emit_step_fn(Out *o) {
    FILE *c = o->c;
    const Train *t = &o->g->train;
    const char *opt = t->optimizer;
    int (*ranges)[2] = arena_alloc(sizeof(int[2]) * (size_t)(o->g->nparams + 1));
    int nr = trainable_ranges(o->g, ranges);
    const bool split = nr && update_split(o, ranges, nr);
    if (split)
        emit_update_part(o, ranges);
    fprintf(c, "/* torch.optim.%s */\n", optimizer_of(t)->torch);
    fprintf(c, "void %s_step(%s_model *m) {\n", o->name, o->name);
    if (split) {
        if (t->per_step)
            fprintf(c, "    %s_schedule(m, m->step); /* per_step: the schedule counts optimizer steps */\n", o->name);
        fprintf(c, "    m->step++;\n");
    } else
        emit_update_prologue(o, nr > 0);
    if (nr && t->clip_grad_norm > 0)
        emit_clip(c, t->clip_grad_norm, ranges, nr);
    if (split)
        fprintf(c, "    dnn_parallel_run_work(%s_update_part, m, DNN_ROW_PARTS, %ld);\n", o->name,
                (update_blocks(ranges, nr) * UPDATE_WORK + DNN_ROW_PARTS - 1) / DNN_ROW_PARTS);
    for (int r = 0; r < nr && !split; r++)
        emit_update_call(c, t, arena_printf(" + %d", ranges[r][0]), arena_printf("%d", ranges[r][1] - ranges[r][0]), NULL);
    if (!nr)
        fprintf(c, "    /* every parameter is frozen */\n");
    if (o->g->check_finite)
        fprintf(c, "    if (!m->nonfinite && !%s_finite(m->params, %ld))\n        m->nonfinite = \"the parameters after the %s step\";\n",
                o->name, o->plan->params, opt);
    fprintf(c, "}\n\n");
}

/* An update fused into the backward pass (training on the device): the
 * update of parameter p from its gradient grad (a local), as soon as it is
 * complete; with block_rows, of the block of rows from `row` (a dense
 * weight's gradient made a block at a time), the line after `indent`. */
void emit_fused_update(Out *o, const Value *p, const char *grad, int block_rows, const char *indent) {
    const char *at = arena_printf(" + %d", p->offset), *count = arena_printf("%ld", shape_size(&p->shape));
    if (block_rows) { /* rows `row` .. of a dense weight */
        at = arena_printf(" + %d + row * %d", p->offset, p->shape.dim[1]);
        count = arena_printf("%d", block_rows * p->shape.dim[1]);
    }
    fputs(indent, o->c);
    emit_update_call(o->c, &o->g->train, at, count, grad);
}

/* --check-finite: p after its update. */
void emit_finite_check(Out *o, const Value *p) {
    if (o->g->check_finite)
        fprintf(o->c, "    if (!m->nonfinite && !%s_finite(m->params + %d, %ld))\n        m->nonfinite = \"%s after the %s step\";\n",
                o->name, p->offset, shape_size(&p->shape), p->name, o->g->train.optimizer);
}

/* NAME_schedule(m, e): m->lr at count e of the schedule (epochs, or
 * optimizer steps with per_step), in double from m->hparams as PyTorch
 * computes it, then rounded to float. */
void emit_schedule(Out *o) {
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

void emit_set_epoch(Out *o) {
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
void emit_set_hparam(Out *o) {
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
