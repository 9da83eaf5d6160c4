/* runs.c — what lets a run stop and go on: checkpoints, the run-time
 * hyper-parameters they keep, and the run directories runs/NAME-N. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dnn_host.h"

/* ---- checkpoints ----------------------------------------------------------------------------
 * A safetensors file: the model's tensors under their names, each optimizer
 * state array as "optimizer.NAME", the weight average as "ema" and the best
 * weights so far as "best" (flat, laid out like the parameters), and the
 * loop's state in __metadata__ — integers in decimal, doubles in C99 hex
 * (%a) so they come back to the bit. */

static char *log_text(const Loop *l) {
    size_t cap = 200 * (size_t)l->nrows + 1, len = 0;
    char *s = xcalloc(cap, 1);
    for (int i = 0; i < l->nrows; i++) {
        const dnn_epoch_row *w = &l->rows[i];
        len += (size_t)snprintf(s + len, cap - len, "%d %a %a %a %a %a %a\n", w->epoch, w->lr, w->train_loss,
                                w->train_acc, w->val_loss, w->val_acc, w->seconds);
    }
    return s;
}

/* ---- run-time hyper-parameters ------------------------------------------------------------ */

/* The model's hyper-parameter `name` (a double in the struct), or NULL. */
static double *hparam_at(const Run *r, const char *name) {
    for (int i = 0; i < r->p->nhparams; i++)
        if (!strcmp(r->p->hparam_names[i], name))
            return r->p->hparam(r->m, i);
    return NULL;
}

/* "lr, momentum, weight_decay": the names this model takes. */
static char *hparam_list(const dnn_program *p) {
    char *s = xcalloc(32 * (size_t)(p->nhparams + 1), 1);
    for (int i = 0; i < p->nhparams; i++)
        sprintf(s + strlen(s), "%s%s", i ? ", " : "", p->hparam_names[i]);
    return s;
}

/* Sets the command line's hyper-parameters in the freshly initialised
 * model; 0, or 2 after a message naming the option. */
int dnn_apply_hparams(const Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    for (int i = 0; i < o->nhp; i++) {
        const char *name = o->hp_names[i], *opt = o->hp_options[i];
        int rc = p->set_hparam(r->m, name, o->hp_values[i]);
        if (rc == DNN_OK)
            continue;
        char *list = hparam_list(p);
        char *given = !strcmp(opt, "hparam") ? text_of("--hparam %s=%g", name, o->hp_values[i])
                                             : text_of("--%s %g", opt, o->hp_values[i]);
        if (rc == DNN_E_HPARAM) {
            fail("%s: no hyper-parameter is called '%s'", given, name);
            note("this model's are: %s", list);
        } else if (rc == DNN_E_NOSTATE) {
            fail("%s: model '%s' (%s, %s%s) has no '%s'", given, p->name, p->optimizer,
                 p->schedule ? "schedule " : "no schedule", p->schedule ? p->schedule : "", name);
            if (!strcmp(name, "momentum") || !strcmp(name, "dampening"))
                note("it was compiled without momentum, so it keeps no momentum buffer: give %s(momentum = ...) "
                     "in %s and recompile", p->optimizer, p->source);
            else
                note("its hyper-parameters are: %s; for others change %s and recompile", list, p->source);
        } else {
            static const char *const rules[][2] = {
                {"lr", "must be positive"}, {"beta1", "must be in [0, 1)"}, {"beta2", "must be in [0, 1)"},
                {"every", "must be a whole number of at least 1"}, {"period", "must be a whole number of at least 1"},
                {"gamma", "must be a finite number"}, {"k", "must be a finite number"},
                {"momentum", "must not be negative; it must be positive with nesterov, or with a dampening"},
                {"dampening", "must not be negative; it must be 0 with nesterov or without momentum"},
            };
            const char *rule = "must not be negative";
            for (size_t k = 0; k < sizeof rules / sizeof *rules; k++)
                if (!strcmp(rules[k][0], name))
                    rule = rules[k][1];
            fail("%s: '%s' %s", given, name, rule);
        }
        free(list);
        free(given);
        return 2;
    }
    return 0;
}

/* The checkpoint's "dnn.hparams": "lr=0x1p-1 momentum=0x1.ccccccccccccdp-1 ..." */
static char *hparams_text(const Run *r) {
    char *s = xcalloc(64 * (size_t)(r->p->nhparams + 1), 1);
    for (int i = 0; i < r->p->nhparams; i++)
        sprintf(s + strlen(s), "%s%s=%a", i ? " " : "", r->p->hparam_names[i], *r->p->hparam(r->m, i));
    return s;
}

/* A resumed run keeps the hyper-parameters it started with: those of its
 * checkpoint (already in the model). The command line may repeat them,
 * not change them; 0, or 2 after a message. */
int dnn_check_resumed_hparams(const Run *r, const char *ckpt) {
    for (int i = 0; i < r->o.nhp; i++) {
        double had = *hparam_at(r, r->o.hp_names[i]);
        if (had != r->o.hp_values[i]) {
            fail("--%s %g: the run in %s has %s %.9g, and a resumed run keeps its hyper-parameters", r->o.hp_options[i],
                 r->o.hp_values[i], ckpt, r->o.hp_names[i], had);
            note("resume without --%s, or start a new run", r->o.hp_options[i]);
            return 2;
        }
    }
    return 0;
}

/* The run's effective settings as JSON beside the log (FILE.settings.json):
 * the optimizer and schedule with every hyper-parameter, which of them the
 * command line set, epochs, batch and seed. 0, or 3 after a message. */
int dnn_write_settings(const Run *r, const char *path, int epochs, uint64_t seed) {
    const dnn_program *p = r->p;
    size_t cap = 1024 + 96 * (size_t)p->nhparams + 6 * strlen(p->source), len = 0;
    char *s = xcalloc(cap, 1);
    len += (size_t)snprintf(s + len, cap - len, "{\n  \"model\": \"%s\",\n  \"source\": \"", p->name);
    for (const unsigned char *c = (const unsigned char *)p->source; *c; c++) /* a JSON string */
        len += (size_t)snprintf(s + len, cap - len, *c == '"' || *c == '\\' ? "\\%c" : *c < 0x20 ? "\\u%04x" : "%c", *c);
    len += (size_t)snprintf(s + len, cap - len, "\",\n");
    len += (size_t)snprintf(s + len, cap - len, "  \"optimizer\": \"%s\",\n", p->optimizer);
    for (int i = 0; i < p->nhparams; i++)
        len += (size_t)snprintf(s + len, cap - len, "  \"%s\": %.17g,\n", p->hparam_names[i],
                                *p->hparam(r->m, i));
    if (p->schedule)
        len += (size_t)snprintf(s + len, cap - len, "  \"schedule\": \"%s\",\n  \"per_step\": %s,\n", p->schedule,
                                p->per_step ? "true" : "false");
    else
        len += (size_t)snprintf(s + len, cap - len, "  \"schedule\": null,\n");
    len += (size_t)snprintf(s + len, cap - len, "  \"from_command_line\": [");
    for (int i = 0; i < r->o.nhp; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s\"", i ? ", " : "", r->o.hp_names[i]);
    len += (size_t)snprintf(s + len, cap - len, "],\n  \"epochs\": %d,\n  \"batch\": %d,\n  \"seed\": %llu\n}\n", epochs,
                            p->batch, (unsigned long long)seed);
    int rc = dnn_write_file_atomic(path, s, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    free(s);
    return rc != DNN_OK ? 3 : 0;
}

int dnn_save_checkpoint(const Run *r, const Loop *l, const char *path) {
    const dnn_program *p = r->p;
    int extra = p->nstates + (l->ema != NULL) + (l->best != NULL);
    int count = p->num_tensors + extra;
    dnn_tensor_info *info = xcalloc((size_t)count, sizeof *info);
    const float **src = xcalloc((size_t)count, sizeof(float *));
    char **names = xcalloc((size_t)extra + 1, sizeof(char *));
    memcpy(info, p->tensors, sizeof *info * (size_t)p->num_tensors);
    dnn_tensor_ptrs(r, (float **)src);
    int k = p->num_tensors;
    for (int i = 0; i <= p->nstates + 1; i++) {
        const float *data = i < p->nstates ? p->state(r->m, i) : i == p->nstates ? l->ema : l->best;
        if (!data)
            continue;
        names[k - p->num_tensors] = i < p->nstates ? text_of("optimizer.%s", p->state_names[i])
                                                   : strdup(i == p->nstates ? "ema" : "best");
        info[k] = (dnn_tensor_info){names[k - p->num_tensors], 1, {(int)p->params_size, 0, 0, 0}, (int)p->params_size, 0, DNN_DT_F32};
        src[k++] = data;
    }
    const dnn_rng *rng = r->v.rng;
    Meta mt = {0};
    dnn_meta_add(&mt, "dnn.format", strdup(CKPT_FORMAT));
    dnn_meta_add(&mt, "dnn.model", strdup(p->name));
    dnn_meta_add(&mt, "dnn.epoch", text_of("%d", l->epoch));
    dnn_meta_add(&mt, "dnn.batch", text_of("%ld", l->batch));
    dnn_meta_add(&mt, "dnn.step", text_of("%lld", (long long)*r->v.step));
    dnn_meta_add(&mt, "dnn.rng", text_of("%llx %llx", (unsigned long long)rng->state, (unsigned long long)rng->inc));
    dnn_meta_add(&mt, "dnn.shuffle", text_of("%llx %llx", (unsigned long long)l->shuffle.state,
                                         (unsigned long long)l->shuffle.inc));
    if (p->naugment)
        dnn_meta_add(&mt, "dnn.augment", text_of("%llx %llx", (unsigned long long)l->augment.state,
                                             (unsigned long long)l->augment.inc));
    dnn_meta_add(&mt, "dnn.progress", text_of("%a %ld %ld %ld %a", l->loss_sum, l->correct, l->scored, l->seen, l->seconds));
    dnn_meta_add(&mt, "dnn.early_stop", text_of("%a %d %d", l->best_loss, l->best_epoch, l->bad_epochs));
    dnn_meta_add(&mt, "dnn.log", log_text(l));
    dnn_meta_add(&mt, "dnn.hparams", hparams_text(r));
    dnn_prep_meta(r, &mt);
    size_t len = dnn_safetensors_save_meta(info, src, count, mt.kv, mt.n, NULL, 0);
    void *buf = xcalloc(len, 1);
    dnn_safetensors_save_meta(info, src, count, mt.kv, mt.n, buf, len);
    int rc = dnn_write_file_atomic(path, buf, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    free(buf);
    dnn_meta_free(&mt);
    for (int i = 0; i < extra; i++)
        free(names[i]);
    free(names);
    free(src);
    free(info);
    return rc != DNN_OK;
}

/* Copies a tensor of the checkpoint into dst (n floats): F32, or I64 as
 * batchnorm's num_batches_tracked counters are saved. */
int dnn_ckpt_array(const void *buf, size_t len, const char *name, float *dst, size_t n, const char *path) {
    dnn_st_view v;
    int found = dnn_st_find(buf, len, name, &v) == DNN_OK;
    if (found && v.dtype == DNN_DT_F32 && v.nbytes == n * sizeof(float)) {
        memcpy(dst, v.data, v.nbytes);
        return 0;
    }
    if (found && v.dtype == DNN_DT_I64 && v.nbytes == n * 8) {
        const unsigned char *b = v.data;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--)
                u = u << 8 | b[8 * i + (size_t)k];
            dst[i] = (float)(int64_t)u;
        }
        return 0;
    }
    fail("%s: no '%s' of %zu floats: not a checkpoint of this model", path, name, n);
    return 1;
}

int dnn_load_checkpoint(Run *r, Loop *l, const char *path) {
    const dnn_program *p = r->p;
    void *buf;
    size_t len;
    char text[256];
    if (dnn_read_whole(path, &buf, &len))
        return 1;
    int rc = 1;
    if (dnn_st_metadata(buf, len, "dnn.format", text, sizeof text) != DNN_OK || strcmp(text, CKPT_FORMAT)) {
        fail("%s is not a dnnc checkpoint", path);
        goto done;
    }
    if (dnn_st_metadata(buf, len, "dnn.model", text, sizeof text) != DNN_OK || strcmp(text, p->name)) {
        fail("%s is a checkpoint of model '%s', not '%s'", path, text, p->name);
        goto done;
    }
    /* the model's tensors: everything but the extra arrays */
    for (int i = 0; i < p->num_tensors; i++)
        if (dnn_ckpt_array(buf, len, p->tensors[i].name, p->tensor(r->m, i), (size_t)p->tensors[i].size, path))
            goto done;
    for (int i = 0; i < p->nstates; i++) {
        char *name = text_of("optimizer.%s", p->state_names[i]);
        int bad = dnn_ckpt_array(buf, len, name, p->state(r->m, i), p->params_size, path);
        free(name);
        if (bad)
            goto done;
    }
    if (l->ema && dnn_ckpt_array(buf, len, "ema", l->ema, p->params_size, path))
        goto done;
    dnn_st_view v;
    if (dnn_st_find(buf, len, "best", &v) == DNN_OK) {
        l->best = xcalloc(p->params_size, sizeof(float));
        if (dnn_ckpt_array(buf, len, "best", l->best, p->params_size, path))
            goto done;
    }
    unsigned long long a, b, c, d;
    long long step;
    dnn_rng *rng = r->v.rng;
    int ok = dnn_st_metadata(buf, len, "dnn.epoch", text, sizeof text) == DNN_OK && sscanf(text, "%d", &l->epoch) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.batch", text, sizeof text) == DNN_OK && sscanf(text, "%ld", &l->batch) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.step", text, sizeof text) == DNN_OK && sscanf(text, "%lld", &step) == 1;
    ok = ok && dnn_st_metadata(buf, len, "dnn.rng", text, sizeof text) == DNN_OK && sscanf(text, "%llx %llx", &a, &b) == 2;
    ok = ok && dnn_st_metadata(buf, len, "dnn.shuffle", text, sizeof text) == DNN_OK &&
         sscanf(text, "%llx %llx", &c, &d) == 2;
    ok = ok && dnn_st_metadata(buf, len, "dnn.progress", text, sizeof text) == DNN_OK &&
         sscanf(text, "%la %ld %ld %ld %la", &l->loss_sum, &l->correct, &l->scored, &l->seen, &l->seconds) == 5;
    ok = ok && dnn_st_metadata(buf, len, "dnn.early_stop", text, sizeof text) == DNN_OK &&
         sscanf(text, "%la %d %d", &l->best_loss, &l->best_epoch, &l->bad_epochs) == 3;
    if (ok && p->naugment) {
        unsigned long long e, f;
        if (dnn_st_metadata(buf, len, "dnn.augment", text, sizeof text) != DNN_OK ||
            sscanf(text, "%llx %llx", &e, &f) != 2) {
            fail("%s has no augmentation state: it was written by a program without 'augment'", path);
            goto done;
        }
        l->augment.state = e;
        l->augment.inc = f;
    }
    size_t cap = len + 1;
    char *log = xcalloc(cap, 1);
    ok = ok && dnn_st_metadata(buf, len, "dnn.log", log, cap) == DNN_OK;
    if (!ok || l->epoch < 0 || l->batch < 0) {
        fail("%s: its training state is damaged", path);
        free(log);
        goto done;
    }
    *r->v.step = step;
    rng->state = a;
    rng->inc = b;
    l->shuffle.state = c;
    l->shuffle.inc = d;
    l->rows = xcalloc((size_t)l->epoch + 1, sizeof *l->rows);
    for (char *line = strtok(log, "\n"); line && l->nrows <= l->epoch; line = strtok(NULL, "\n")) {
        dnn_epoch_row *w = &l->rows[l->nrows++];
        if (sscanf(line, "%d %la %la %la %la %la %la", &w->epoch, &w->lr, &w->train_loss, &w->train_acc, &w->val_loss,
                   &w->val_acc, &w->seconds) != 7)
            l->nrows--;
    }
    free(log);
    /* the run's hyper-parameters (a checkpoint from before they were kept has the .dnn's) */
    char *hp = xcalloc(len + 1, 1);
    if (dnn_st_metadata(buf, len, "dnn.hparams", hp, len + 1) == DNN_OK) {
        char *save = NULL;
        for (char *item = strtok_r(hp, " ", &save); item; item = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(item, '=');
            double v;
            if (eq)
                *eq = 0;
            if (!eq || sscanf(eq + 1, "%la", &v) != 1 || !hparam_at(r, item) || p->set_hparam(r->m, item, v) != DNN_OK) {
                fail("%s: its hyper-parameters are damaged or not this model's ('%s')", path, item);
                free(hp);
                goto done;
            }
        }
    }
    free(hp);
    rc = 0; /* its preprocessing and class names: dnn_train_meta */
done:
    free(buf);
    return rc;
}

/* ---- run directories ----------------------------------------------------------------
 * Without --save or --out, each train keeps its files in a new directory
 * runs/NAME-N (N one more than the highest there), and runs/latest is a
 * symbolic link to it, so a second run never replaces the first one's
 * weights, checkpoint, log or curves. --resume alone continues the run its
 * command line writes: --save's or --out's, or else the highest runs/NAME-N. */

/* The highest N of the directories runs/NAME-N, 0 when there is none. */
static int last_run(const char *name) {
    DIR *dir = opendir(RUNS);
    size_t len = strlen(name);
    int last = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        const char *n = e->d_name + len + 1;
        if (strncmp(e->d_name, name, len) || e->d_name[len] != '-' || !*n || strspn(n, "0123456789") != strlen(n) ||
            strlen(n) > 6)
            continue;
        last = atoi(n) > last ? atoi(n) : last;
    }
    if (dir)
        closedir(dir);
    return last;
}

/* Makes the next runs/NAME-N (mkdir decides, so runs started together get
 * their own); its path, or NULL after a message. */
static char *new_run(const char *name) {
    if (mkdir(RUNS, 0777) != 0 && errno != EEXIST) {
        fail("cannot make the directory '%s': %s (or give --save FILE or --out DIR)", RUNS, strerror(errno));
        return NULL;
    }
    for (int n = last_run(name) + 1;; n++) {
        char *dir = text_of("%s/%s-%d", RUNS, name, n);
        if (mkdir(dir, 0777) == 0)
            return dir;
        if (errno != EEXIST) {
            fail("cannot make the directory '%s': %s (or give --save FILE or --out DIR)", dir, strerror(errno));
            free(dir);
            return NULL;
        }
        free(dir);
    }
}

/* Points runs/latest at dir when dir is a run directory runs/X: a new link renamed over the old one. */
static void link_latest(const char *dir) {
    size_t len = strlen(RUNS "/");
    if (strncmp(dir, RUNS "/", len) || !dir[len] || strchr(dir + len, '/') || !strcmp(dir + len, "latest"))
        return;
    char *tmp = text_of("%s/.latest.%ld", RUNS, (long)getpid());
    remove(tmp);
    if (symlink(dir + len, tmp) != 0 || rename(tmp, RUNS "/latest") != 0) {
        note("cannot point %s/latest at %s: %s", RUNS, dir + len, strerror(errno));
        remove(tmp);
    }
    free(tmp);
}

/* The directory part of path ("." when it has none), from malloc. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? text_of("%.*s", (int)(slash - path), path) : strdup(".");
}

/* Whether files named beside path (FILE.ckpt beside FILE.safetensors) may
 * be made there: path is a regular file, or not there yet. Not beside a
 * device or a FIFO (--save /dev/null must not make /dev/null.ckpt). */
static int regular_path(const char *path) {
    struct stat st;
    return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}

/* Where train's files go (*save: the weights; the rest beside them) and the
 * checkpoint --resume reads (*from, NULL without --resume). The run
 * directory is not made here: see dnn_place_files. 0, or 1 after a message. */
int dnn_run_files(const Run *r, char **save, char **from) {
    const Options *o = &r->o;
    const char *name = r->p->name;
    *save = o->save ? strdup(o->save) : o->out ? text_of("%s/%s.safetensors", o->out, name) : NULL;
    *from = NULL;
    if (!o->resume)
        return 0;
    struct stat st;
    if (!*o->resume && *save && regular_path(*save)) {
        *from = dnn_beside(*save, ".ckpt");
    } else if (!*o->resume) {
        int n = last_run(name);
        if (!n) {
            fail("--resume: there is no run of '%s' in %s/ to continue (give its checkpoint: --resume=FILE)", name, RUNS);
            return 1;
        }
        *from = text_of("%s/%s-%d/%s.ckpt", RUNS, name, n, name);
    } else if (stat(o->resume, &st) == 0 && S_ISDIR(st.st_mode)) {
        *from = text_of("%.*s/%s.ckpt", (int)(strlen(o->resume) - ends_with(o->resume, "/")), o->resume, name);
    } else {
        *from = strdup(o->resume);
    }
    if (!*save) /* the run goes on where it was */
        *save = dnn_beside(*from, ".safetensors");
    return 0;
}

/* The files of a run, once everything is read and checked: the weights at
 * *save (made runs/NAME-N/NAME.safetensors when there is none), and beside
 * them the checkpoint, the log (unless --log), and beside the log the
 * curves and the settings. A --save or --log that is no regular file (a
 * device, a FIFO) gets no files beside it: those beside --save go to the
 * resumed run's place or a new run directory, those beside --log beside
 * the weights' place. *run: the run directory made, or NULL. 0, or 3 after
 * a message. */
int dnn_place_files(const Run *r, char **save, const char *from, char **run, char **ckpt, char **log, char **svg,
                       char **settings) {
    const Options *o = &r->o;
    const char *name = r->p->name;
    *run = NULL;
    if ((!*save || !regular_path(*save)) && !from && !(*run = new_run(name)))
        return 3;
    char *base = *save && regular_path(*save) ? strdup(*save)
                 : from                      ? strdup(from)
                                             : text_of("%s/%s.safetensors", *run, name);
    if (!*save)
        *save = strdup(base);
    else if (strcmp(base, *save))
        note("%s is not a regular file: the files beside it (the checkpoint%s) go to %s", *save,
             o->log ? "" : ", log, curves and settings", *run ? *run : base);
    struct stat st;
    if (o->out && !o->save && mkdir(o->out, 0777) != 0 && (errno != EEXIST || stat(o->out, &st) || !S_ISDIR(st.st_mode))) {
        fail("cannot make the directory '%s': %s", o->out, errno == EEXIST ? "a file has that name" : strerror(errno));
        free(base);
        return 3;
    }
    *ckpt = dnn_beside(base, ".ckpt");
    *log = o->log ? strdup(o->log) : dnn_beside(base, ".log.csv");
    const char *side = regular_path(*log) ? *log : base;
    *svg = dnn_beside(side, ".svg");
    *settings = dnn_beside(side, ".settings.json");
    char *named = dnn_beside(*log, ".svg");
    if (strcmp(named, *svg))
        note("%s is not a regular file: the curves and settings go to %s and %s", *log, *svg, *settings);
    free(named);
    char *dir = dir_of(base);
    link_latest(dir);
    free(dir);
    free(base);
    return 0;
}

/* "--resume" when it alone finds the checkpoint ckpt again, else "--resume=CKPT". */
const char *dnn_resume_hint(const Run *r, const char *ckpt, char *buf, size_t cap) {
    char *latest = text_of("%s/%s-%d/%s.ckpt", RUNS, r->p->name, last_run(r->p->name), r->p->name);
    int bare = (r->o.save && regular_path(r->o.save)) || r->o.out || !strcmp(ckpt, latest);
    snprintf(buf, cap, "the same command and --resume%s%s", bare ? "" : "=", bare ? "" : ckpt);
    free(latest);
    return buf;
}
