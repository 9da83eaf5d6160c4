/* lower_train.c — the train block: `train { optimizer adam(lr = 0.01);
 * batch 32; ... }` into Graph.train, each setting bound to its signature
 * (the optimizers' are optimizers.def's) and checked as torch.optim and
 * the training program check it, and `augment` settings into
 * Train.augment. Called by lower.c.
 */
#include "lower.h"

#include <math.h>
#include <string.h>

/* ---- train { ... } ---------------------------------------------------------------- */

static const char *const optimizer_sigs[][2] = {
#define OPTIMIZER(name, torch, sig, state0, state1) {#name, sig},
#include "optimizers.def"
#undef OPTIMIZER
};
static const char *const schedule_sigs[][2] = {
    {"step", "every:int, gamma:num, per_step:bool=false"},
    {"exponential", "k:num, per_step:bool=false"},
    {"inverse_time", "k:num, per_step:bool=false"},
    {"cosine", "period:int, min_lr:num=0, per_step:bool=false"},
};
static const char *const init_sigs[][2] = {
    {"pytorch", ""}, {"xavier", ""}, {"xavier_uniform", ""}, {"he", ""}, {"he_uniform", ""},
    {"uniform", "a:num"}, {"normal", "mean:num, std:num"}, {"zeros", ""}, {"ones", ""},
    {"constant", "v:num"},
};
#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Looks a call-or-name up in a {name, signature} table and binds it. */
static int bind_choice(const char *const (*table)[2], int n, const char *kind, const Node *v, Binding *b) {
    if (v->kind == N_STRING) { /* optimizer "adam"; */
        error_at(v->loc, "unknown %s \"%s\"", kind, v->name);
        note("names are written without quotes: %s %s;", kind, v->name);
        return -1;
    }
    const char *name = v->kind == N_NAME || v->kind == N_CALL ? v->name : NULL;
    for (int i = 0; name && i < n; i++)
        if (!strcmp(table[i][0], name)) {
            if (v->kind == N_NAME) {
                Node call = *v;
                call.list = NULL;
                return bind_args(table[i][1], arena_printf("%s()", name), &call, NULL, b) ? i : -1;
            }
            return bind_args(table[i][1], arena_printf("%s()", name), v, NULL, b) ? i : -1;
        }
    error_at(v->loc, "unknown %s%s%s%s", kind, name ? " '" : "", name ? name : "", name ? "'" : "");
    const char *names[16];
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        names[i] = table[i][0];
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", table[i][0]);
    }
    const char *near = name ? closest_name(name, names, n) : NULL;
    if (near)
        note("did you mean '%s'?", near);
    else
        note("choose one of: %s", list);
    return -1;
}

/* Checks an init expression (param = INIT, train { init INIT; }). */
bool check_init(const Node *init) {
    Binding b;
    return bind_choice(init_sigs, COUNT(init_sigs), "initialiser", init, &b) >= 0;
}

static bool number_setting(const Node *s, double lo, double hi, bool whole, double *out) {
    double x;
    if (!s->a || !const_eval(s->a, &x)) {
        error_at(s->a ? s->a->loc : s->loc, "'%s' takes a number", s->name);
        return false;
    }
    if ((whole && x != floor(x)) || x < lo || x > hi) {
        error_at(s->a->loc, "'%s' must be %s between %s and %s, got %s", s->name,
                 whole ? "a whole number" : "a number", num_str(lo), num_str(hi), num_str(x));
        return false;
    }
    *out = x;
    return true;
}

/* Checks an optimizer's arguments against torch.optim's own checks, each
 * error at the argument it is about. */
static void check_optimizer(const char *opt, const char *sig, const Binding *b) {
    static const char *const nonneg[] = {"momentum", "dampening", "eps", "weight_decay", "alpha"};
    int k = attr_index(sig, "lr");
    if (k >= 0 && !(b->vals[k] > 0))
        error_at(b->locs[k], "%s(): 'lr' must be positive, got %s", opt, num_str(b->vals[k]));
    for (int i = 0; i < (int)(sizeof nonneg / sizeof nonneg[0]); i++)
        if ((k = attr_index(sig, nonneg[i])) >= 0 && b->vals[k] < 0)
            error_at(b->locs[k], "%s(): '%s' must not be negative, got %s", opt, nonneg[i], num_str(b->vals[k]));
    for (int i = 0; i < 2; i++) {
        const char *beta = i ? "beta2" : "beta1";
        if ((k = attr_index(sig, beta)) >= 0 && (b->vals[k] < 0 || b->vals[k] >= 1))
            error_at(b->locs[k], "%s(): '%s' must be in [0, 1), got %s", opt, beta, num_str(b->vals[k]));
    }
}

void lower_train(Ctx *c, const Node *train) {
    Train *t = &c->g->train;
    Map seen = {0};
    for (const Node *s = train->list; s; s = s->next) {
        if (!strcmp(s->name, "augment"))
            continue; /* lower_augment(), once every input is declared */
        if (s->b) {
            error_at(s->b->loc, "'%s' does not take a name before ':'", s->name);
            note("only 'augment' does, to name the input it transforms");
            continue;
        }
        if (map_get(&seen, s->name)) {
            error_at(s->loc, "'%s' is set twice", s->name);
            continue;
        }
        map_put(&seen, s->name, (void *)s);
        Binding b;
        double x;
        const char *n = s->name;
        if (!strcmp(n, "optimizer")) {
            int i = bind_choice(optimizer_sigs, COUNT(optimizer_sigs), "optimizer", s->a, &b);
            if (i < 0)
                continue;
            t->optimizer = optimizer_sigs[i][0];
            double *v = b.vals;
            switch (i) {
            case 0: t->lr = v[0]; t->momentum = v[1]; t->dampening = v[2]; t->nesterov = v[3]; t->weight_decay = v[4]; break;
            case 1: case 2: t->lr = v[0]; t->beta1 = v[1]; t->beta2 = v[2]; t->eps = v[3]; t->weight_decay = v[4]; break;
            case 3: t->lr = v[0]; t->eps = v[1]; t->weight_decay = v[2]; break;
            case 4: t->lr = v[0]; t->alpha = v[1]; t->eps = v[2]; t->momentum = v[3]; t->weight_decay = v[4]; break;
            }
            check_optimizer(t->optimizer, optimizer_sigs[i][1], &b);
            if (t->nesterov && (t->momentum <= 0 || t->dampening != 0))
                error_at(b.locs[3], "sgd(): nesterov needs momentum > 0 and dampening = 0 (as torch.optim.SGD)");
        } else if (!strcmp(n, "schedule")) {
            int i = bind_choice(schedule_sigs, COUNT(schedule_sigs), "schedule", s->a, &b);
            if (i < 0)
                continue;
            t->schedule = schedule_sigs[i][0];
            t->per_step = b.vals[attr_index(schedule_sigs[i][1], "per_step")] != 0;
            if (i == 0) {
                t->every = b.vals[0];
                t->gamma = b.vals[1];
                if (t->every < 1)
                    error_at(b.locs[0], "step(): 'every' must be at least 1");
            } else if (i == 3) {
                t->period = b.vals[0];
                t->min_lr = b.vals[1];
                if (t->period < 1)
                    error_at(b.locs[0], "cosine(): 'period' must be at least 1");
                if (t->min_lr < 0)
                    error_at(b.locs[1], "cosine(): 'min_lr' must not be negative, got %s", num_str(t->min_lr));
            } else
                t->k = b.vals[0];
        } else if (!strcmp(n, "batch")) {
            if (number_setting(s, 1, 1 << 20, true, &x))
                t->batch = (int)x;
        } else if (!strcmp(n, "epochs")) {
            if (number_setting(s, 0, 1e9, true, &x))
                t->epochs = (int)x;
        } else if (!strcmp(n, "seed")) {
            if (number_setting(s, 0, 9007199254740992.0, true, &x))
                t->seed = (uint64_t)x;
        } else if (!strcmp(n, "validation")) {
            if (number_setting(s, 0, 0.99, false, &x))
                t->validation = x;
        } else if (!strcmp(n, "clip_grad_norm")) {
            if (!s->a || !const_eval(s->a, &x))
                error_at(s->a ? s->a->loc : s->loc, "'%s' takes a number", n);
            else if (!(x > 0))
                error_at(s->a->loc, "'%s' must be positive, got %s", n, num_str(x));
            else
                t->clip_grad_norm = x;
        } else if (!strcmp(n, "shuffle")) {
            if (s->a && s->a->kind == N_NAME && (!strcmp(s->a->name, "true") || !strcmp(s->a->name, "false")))
                t->shuffle = !strcmp(s->a->name, "true");
            else
                error_at(s->a ? s->a->loc : s->loc, "'shuffle' takes true or false");
        } else if (!strcmp(n, "init")) {
            if (check_init(s->a))
                t->init = s->a;
        } else if (!strcmp(n, "early_stop")) {
            if (!s->a || s->a->kind != N_CALL) { /* early_stop 3; */
                error_at(s->loc, "'early_stop' is written early_stop(patience, min_delta = 0)");
                note("write early_stop(patience = %s);", s->a && s->a->kind == N_NUM ? s->a->text : "3");
            } else if (bind_args("patience:int, min_delta:num=0", "early_stop()", s->a, NULL, &b)) {
                t->early_stop = true;
                t->patience = (int)b.vals[0];
                t->min_delta = b.vals[1];
                if (t->patience < 1)
                    error_at(b.locs[0], "early_stop(): patience must be at least 1");
            }
        } else if (!strcmp(n, "average")) {
            if (s->a->kind != N_CALL || strcmp(s->a->name, "ema")) {
                error_at(s->a->loc, "'average' takes ema(decay)");
            } else if (bind_args("decay:num", "ema()", s->a, NULL, &b)) {
                if (b.vals[0] <= 0 || b.vals[0] >= 1)
                    error_at(b.locs[0], "ema(): decay must be between 0 and 1");
                t->ema_decay = b.vals[0];
            }
        } else if (!strcmp(n, "quantize")) {
            if (s->a && s->a->kind == N_NAME && !strcmp(s->a->name, "int8")) {
                t->qat = true;
                t->qat_loc = s->loc;
            } else {
                error_at(s->a ? s->a->loc : s->loc, "'quantize' takes int8 (quantization-aware training)");
                note("write 'quantize int8;'");
            }
        } else {
            static const char *const known[] = {"optimizer", "schedule", "batch", "epochs", "seed", "shuffle",
                "init", "validation", "early_stop", "clip_grad_norm", "average", "augment", "quantize"};
            error_at(s->loc, "unknown training setting '%s'", n);
            const char *near = closest_name(n, known, COUNT(known));
            if (!near && !strncmp(n, "batch", 5))
                near = "batch"; /* batchsize, batch_size */
            if (!near && !strncmp(n, "augment", 7))
                near = "augment"; /* augmentation, augments */
            if (near)
                note("did you mean '%s'?", near);
            else {
                char list[256] = "";
                for (int i = 0; i < COUNT(known); i++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
                note("choose one of: %s", list);
            }
        }
    }
}

/* ---- train { augment ...; } ---------------------------------------------------------
 * `augment [INPUT:] TRANSFORM(ARGS);`, any number, applied in written order
 * (as transforms.Compose) to the training batches by the training program. */

static const char *const augment_sigs[][2] = {
    {"noise", "std:num"},      /* x + std·N(0, 1) */
    {"hflip", "p:num=0.5"},    /* RandomHorizontalFlip(p) */
    {"crop", "pad:int"},       /* RandomCrop(size, padding = pad) */
    {"rotate", "degrees:num"}, /* RandomRotation(degrees, BILINEAR) */
};

/* The input an augment setting names (or the model's only input); -1 after an error. */
static int augment_input(Ctx *c, const Node *s) {
    const Graph *g = c->g;
    if (!s->b) {
        if (g->ninputs == 1)
            return 0;
        if (g->ninputs > 1) {
            const char *line = source_line(s->loc.first_line), *rest = line ? strstr(line, "augment ") : NULL;
            error_at(s->loc, "'augment' needs the input's name: the model has %d inputs", g->ninputs);
            note("write e.g. 'augment %s: %s'", g->inputs[0]->name, rest ? rest + strlen("augment ") : "...;");
        }
        return -1;
    }
    for (int i = 0; i < g->ninputs; i++)
        if (!strcmp(g->inputs[i]->name, s->b->name))
            return i;
    const Sym *sym = map_get(&c->syms, s->b->name);
    if (sym && !sym->value)
        return -1; /* its declaration failed, and said so */
    if (sym)
        error_at(s->b->loc, "'augment' transforms an input, and '%s' is %s", s->b->name,
                 sym->kind == N_TARGET ? "a target" : sym->kind == N_PARAM ? "a parameter" : "a computed value");
    else
        error_at(s->b->loc, "the model has no input '%s'", s->b->name);
    const char **names = arena_alloc(sizeof(char *) * (size_t)(g->ninputs + 1));
    for (int i = 0; i < g->ninputs; i++)
        names[i] = g->inputs[i]->name;
    const char *near = closest_name(s->b->name, names, g->ninputs);
    if (near || g->ninputs == 1)
        note("did you mean '%s'?", near ? near : names[0]);
    return -1;
}

void lower_augment(Ctx *c, const Node *train) {
    Train *t = &c->g->train;
    for (const Node *s = train->list; s; s = s->next) {
        if (strcmp(s->name, "augment"))
            continue;
        const Node *v = s->a;
        if (!v || (v->kind != N_CALL && v->kind != N_NAME && v->kind != N_STRING)) { /* augment 0.5; */
            error_at(v ? v->loc : s->loc, "'augment' takes a transform: noise(std), hflip(p), crop(pad) or rotate(degrees)");
            continue;
        }
        if (v->kind == N_STRING) {
            error_at(v->loc, "unknown augmentation \"%s\"", v->name);
            note("names are written without quotes: augment %s;", v->name);
            continue;
        }
        Binding b;
        int k = bind_choice(augment_sigs, COUNT(augment_sigs), "augmentation", v, &b);
        int input = augment_input(c, s);
        if (k < 0 || input < 0)
            continue;
        const char *kind = augment_sigs[k][0];
        const Shape *shape = &c->g->inputs[input]->shape;
        double x = b.vals[0];
        if (k > 0 && shape->rank != 3) { /* an image transform */
            error_at(v->loc, "%s() needs an image input [C, H, W]; '%s' is %s", kind, c->g->inputs[input]->name,
                     shape_str(shape));
            if (shape->rank == 2)
                note("declare it with its channels: 'input %s[1, %d, %d];'", c->g->inputs[input]->name, shape->dim[0],
                     shape->dim[1]);
            else
                note("hflip, crop and rotate work on images; noise works on any input");
            continue;
        }
        int side = shape->dim[1] < shape->dim[2] ? shape->dim[1] : shape->dim[2];
        if (k == 0 && !(x >= 0))
            error_at(b.locs[0], "noise(): 'std' must not be negative, got %s", num_str(x));
        else if (k == 1 && !(x >= 0 && x <= 1))
            error_at(b.locs[0], "hflip(): 'p' must be between 0 and 1, got %s", num_str(x));
        else if (k == 2 && !(x >= 0 && x <= side))
            error_at(b.locs[0], "crop(): 'pad' must be between 0 and %d (the image's smaller side), got %s", side,
                     num_str(x));
        else if (k == 3 && !(x >= 0 && x <= 180))
            error_at(b.locs[0], "rotate(): 'degrees' must be between 0 and 180, got %s", num_str(x));
        else {
            Augment *grown = arena_alloc(sizeof *grown * (size_t)(t->naugment + 1));
            if (t->naugment)
                memcpy(grown, t->augment, sizeof *grown * (size_t)t->naugment);
            grown[t->naugment++] = (Augment){kind, input, x, s->loc.first_line};
            t->augment = grown;
        }
    }
}
