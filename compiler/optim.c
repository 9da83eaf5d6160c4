/* optim.c — what each optimizer keeps and takes, from optimizers.def: its
 * state arrays (plan.c counts them, emit_struct.c declares them), its
 * torch.optim class, and the hyper-parameters NAME_set_hparam knows for an
 * optimizer and schedule (emit_update.c, emit_main.c). A table, so that no
 * pass has to ask the emitters what an optimizer needs.
 */
#include "dnnc.h"

#include <string.h>

const Optimizer optimizers[NUM_OPTIMIZERS] = {
#define OPTIMIZER(name, torch, sig, state0, state1) {#name, torch, {state0, state1}},
#include "optimizers.def"
#undef OPTIMIZER
};

const Optimizer *optimizer_of(const Train *t) {
    for (int i = 0; i < NUM_OPTIMIZERS; i++)
        if (!strcmp(optimizers[i].name, t->optimizer))
            return &optimizers[i];
    ICE("no optimizer '%s'", t->optimizer);
}

/* The optimizer's state arrays in the struct, each laid out like params. */
int optimizer_states(const Train *t, const char **names) {
    const Optimizer *o = optimizer_of(t);
    int n = 0;
    for (int k = 0; k < 2; k++)
        if (o->state[k] && (strcmp(o->state[k], "momentum_buffer") || t->momentum > 0))
            names[n++] = o->state[k];
    return n;
}

bool is_adam(const Train *t) { return !strcmp(t->optimizer, "adam") || !strcmp(t->optimizer, "adamw"); }

int hparam_names(const Train *t, const char **names) {
    const char *opt = t->optimizer, *sched = t->schedule ? t->schedule : "";
    int n = 0;
    names[n++] = "lr";
    if (t->momentum > 0 && (!strcmp(opt, "sgd") || !strcmp(opt, "rmsprop")))
        names[n++] = "momentum"; /* only with the momentum buffer */
    if (t->momentum > 0 && !strcmp(opt, "sgd"))
        names[n++] = "dampening";
    if (is_adam(t)) {
        names[n++] = "beta1";
        names[n++] = "beta2";
    }
    if (!strcmp(opt, "rmsprop"))
        names[n++] = "alpha";
    if (strcmp(opt, "sgd"))
        names[n++] = "eps";
    names[n++] = "weight_decay";
    if (!strcmp(sched, "step")) {
        names[n++] = "every";
        names[n++] = "gamma";
    } else if (!strcmp(sched, "exponential") || !strcmp(sched, "inverse_time"))
        names[n++] = "k";
    else if (!strcmp(sched, "cosine")) {
        names[n++] = "period";
        names[n++] = "min_lr";
    }
    return n;
}

double hparam_value(const Train *t, const char *name) {
    const struct { const char *name; double value; } v[] = {
        {"lr", t->lr}, {"momentum", t->momentum}, {"dampening", t->dampening}, {"weight_decay", t->weight_decay},
        {"beta1", t->beta1}, {"beta2", t->beta2}, {"eps", t->eps}, {"alpha", t->alpha}, {"every", t->every},
        {"gamma", t->gamma}, {"k", t->k}, {"period", t->period}, {"min_lr", t->min_lr},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!strcmp(v[i].name, name))
            return v[i].value;
    ICE("no hyper-parameter '%s'", name);
}
