/* loop.c — `train`: the training loop, its signals, shuffling, weight
 * average, logs and early stopping. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <math.h>
#include <signal.h>

/* ---- training ------------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

/* "dir/w.safetensors" → "dir/w" + ext */
char *dnn_beside(const char *path, const char *ext) {
    size_t n = strlen(path);
    static const char *const known[] = {".safetensors", ".log.csv", ".csv", ".ckpt"};
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
        if (ends_with(path, known[k])) {
            n -= strlen(known[k]);
            break;
        }
    char *s = xcalloc(n + strlen(ext) + 1, 1);
    memcpy(s, path, n);
    strcpy(s + n, ext);
    return s;
}

/* Fisher–Yates from the generator: the epoch's order of the training samples. */
static void shuffle_order(long *order, long n, dnn_rng *rng) {
    for (long i = n - 1; i > 0; i--) {
        long j = (long)dnn_rng_below(rng, (uint32_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static void ema_update(const Run *r, float *ema, double decay, int first) {
    const dnn_program *p = r->p;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        const float *w = p->tensor(r->m, i);
        float *e = ema + (w - r->v.params);
        for (int k = 0; k < p->tensors[i].size; k++)
            e[k] = first ? w[k] : (float)(decay * e[k] + (1 - decay) * w[k]);
    }
}

/* Exchanges the trainable parameters with the average (for evaluation and saving). */
static void ema_swap(const Run *r, float *ema) {
    const dnn_program *p = r->p;
    for (int i = 0; i < p->num_tensors; i++) {
        if (!p->tensors[i].trainable)
            continue;
        float *w = p->tensor(r->m, i), *e = ema + (w - r->v.params);
        for (int k = 0; k < p->tensors[i].size; k++) {
            float t = w[k];
            w[k] = e[k];
            e[k] = t;
        }
    }
}

/* --check-finite: says where the first NaN or infinity appeared (once) and
 * returns 1 when the model has seen one. */
static int nonfinite(const Run *r, int epoch, long batch) {
    static int said;
    const char *where = r->p->nonfinite ? r->p->nonfinite(r->m) : NULL;
    if (where && !said++)
        fail("a NaN or infinity first appeared in %s, in epoch %d, batch %ld (--check-finite)", where, epoch + 1,
             batch + 1);
    return where != NULL;
}

static int write_log(const Run *r, const Loop *l, const char *log, const char *svg) {
    char msg[512];
    if (dnn_log_write_csv(log, l->rows, l->nrows, msg, sizeof msg) != DNN_OK ||
        dnn_plot_svg(svg, r->p->name, l->rows, l->nrows, msg, sizeof msg) != DNN_OK) {
        fail("%s", msg);
        return 3;
    }
    return 0;
}

/* Epoch 0's training loss and accuracy: of at most INITIAL_SAMPLES training
 * samples, evenly spaced (a sorted file is sampled across), so that the
 * check costs little on a large data set (Fashion-MNIST: a sixth of it). */
#define INITIAL_SAMPLES 10000

static void initial_loss(const Run *r, const Data *d, const long *train, long ntrain, double *loss, double *acc) {
    long n = ntrain < INITIAL_SAMPLES ? ntrain : INITIAL_SAMPLES;
    long *pick = xcalloc((size_t)n, sizeof(long));
    for (long i = 0; i < n; i++)
        pick[i] = train[(long)((double)i * (double)ntrain / (double)n)];
    dnn_evaluate(r, d, pick, n, loss, acc, NULL);
    free(pick);
}

/* " (a uniform guess: ln 10 = 2.3026)": what the initial loss of a classifier should be near. */
const char *dnn_chance_text(const dnn_program *p, char *buf, size_t cap) {
    *buf = 0;
    if (p->chance_loss > 0)
        snprintf(buf, cap, "; a uniform guess scores ln %.0f = %.4f", exp(p->chance_loss), p->chance_loss);
    return buf;
}

int dnn_cmd_train(Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    int epochs = o->epochs > 0 ? o->epochs : p->epochs;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : p->seed;
    int nslots = p->ninputs + p->ntargets;
    int status = 0;
    /* everything the run owns, freed at done: */
    Data all, val_files; /* the data set (training and split-off validation samples), --val's */
    Loop l;
    Batch b;
    long *idx = NULL, *order = NULL;
    char *save = NULL, *ckpt = NULL, *log = NULL, *svg = NULL, *settings = NULL, *val_list = NULL, *from = NULL;
    char *run = NULL;
    memset(&all, 0, sizeof all);
    memset(&val_files, 0, sizeof val_files);
    memset(&l, 0, sizeof l);
    memset(&b, 0, sizeof b);
    signal(SIGINT, on_signal); /* from here on ^C, SIGTERM and SIGHUP stop at the next batch, with a checkpoint */
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGXFSZ, SIG_IGN); /* past `ulimit -f` a write fails (and its temporary file goes) instead */
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale;
    p->init(r->m, seed); /* the command line's hyper-parameters checked before any data is read */
    if ((status = dnn_apply_hparams(r)) != 0)
        goto done;
    r->classes.learn = 1; /* text labels without names from the options or files name the classes */
    if (dnn_run_files(r, &save, &from) || dnn_train_meta(r, from) ||
        dnn_load_data(p, o, &r->classes, o->files, o->nfiles, nslots, &all)) {
        status = 1;
        goto done;
    }
    r->classes.learn = 0;

    /* the split: --val files, or the train block's validation fraction (a seeded random split) */
    idx = xcalloc((size_t)all.count, sizeof(long));
    for (long i = 0; i < all.count; i++)
        idx[i] = i;
    long ntrain = all.count;
    if (!o->val && p->validation > 0) {
        dnn_rng split;
        dnn_rng_seed(&split, seed ^ 0x5eed5eedULL);
        shuffle_order(idx, all.count, &split);
        ntrain = all.count - (long)floor(p->validation * (double)all.count + 0.5);
        if (ntrain < 1 || ntrain == all.count) {
            fail("validation %g of %ld samples leaves %s", p->validation, all.count,
                 ntrain < 1 ? "nothing to train on" : "nothing to validate on");
            status = 1;
            goto done;
        }
    }
    if (!from) /* a resumed run has the checkpoint's */
        dnn_prep_fit_options(p, o, &r->prep, &all, idx, ntrain);
    dnn_prep_apply(p, &r->prep, &all);
    /* training samples all[idx[0..ntrain)], validation samples val[val_idx[0..nval)]; no copies */
    const Data *val = &all;
    const long *val_idx = idx + ntrain;
    long nval = all.count - ntrain;
    if (o->val) {
        const char *files[MAX_SLOTS];
        int n = 0;
        val_list = strdup(o->val);
        for (char *f = strtok(val_list, ","); f && n < MAX_SLOTS; f = strtok(NULL, ","))
            files[n++] = f;
        if (dnn_load_data(p, o, &r->classes, files, n, nslots, &val_files)) {
            status = 1;
            goto done;
        }
        dnn_prep_apply(p, &r->prep, &val_files);
        val = &val_files;
        val_idx = NULL;
        nval = val_files.count;
    }
    int have_val = nval > 0;
    /* batchnorm cannot train on one sample (PyTorch raises): a last batch of one is left out */
    long used = ntrain;
    if (p->min_batch > 1 && (p->batch < p->min_batch || used < p->min_batch)) {
        fail("the model's batchnorm needs at least %d samples a batch to train (PyTorch raises on 1), and %s",
             p->min_batch, p->batch < p->min_batch ? "its batch is 1" : "there is 1 training sample");
        status = 1;
        goto done;
    }
    if (p->min_batch > 1 && used % p->batch == 1) {
        used--;
        fprintf(stderr, "%s: warning: each epoch's last batch would hold 1 sample, on which batchnorm cannot train "
                        "(PyTorch raises); it is left out, so an epoch trains on %ld of the %ld samples\n",
                dnn_prog_name, used, ntrain);
    }
    if (p->early_stop && !have_val)
        note("no validation data: early_stop watches the training loss (give --val, or 'validation F;' in the train block)");

    /* the model: initialised, or from --weights, or from the checkpoint */
    l.best_loss = INFINITY;
    l.best_epoch = -1;
    if (p->ema_decay > 0)
        l.ema = xcalloc(p->params_size, sizeof(float));
    /* the model's tensors from the seed, --weights or --init-from, then the checkpoint's */
    if (dnn_start_weights(r, seed, 0)) {
        status = 1;
        goto done;
    }
    if (!from) /* a resumed run takes its checkpoint's (checked against these below) */
        dnn_apply_hparams(r); /* checked above */
    dnn_rng_seed(&l.shuffle, seed ^ 0x5f1ff1eULL);
    dnn_rng_seed(&l.augment, seed ^ AUGMENT_STREAM);
    if (from && dnn_load_checkpoint(r, &l, from)) {
        status = 1;
        goto done;
    }
    if (from && (status = dnn_check_resumed_hparams(r, from)) != 0)
        goto done;
    if (l.epoch >= epochs && from)
        note("%s: the run had already finished %d epoch%s", from, l.epoch, l.epoch == 1 ? "" : "s");
    /* everything is read and checked: now the files' places are made */
    if ((status = dnn_place_files(r, &save, from, &run, &ckpt, &log, &svg, &settings)) != 0)
        goto done;
    if ((status = dnn_write_settings(r, settings, epochs, seed)) != 0)
        goto done;
    l.rows = realloc(l.rows, sizeof *l.rows * (size_t)((epochs > l.epoch ? epochs : l.epoch) + 2));

    dnn_batch_alloc(p, &b);
    order = xcalloc((size_t)ntrain, sizeof(long));
    dnn_progress bar;
    long batches_run = 0;
    char hint[1024];
    if (from)
        printf("resuming %s at epoch %d, batch %ld\n", from, l.epoch + 1, l.batch + 1);
    else if (run)
        printf("run directory: %s (%s/latest)\n", run, RUNS);
    char *held = have_val ? text_of(" (%ld for validation)", nval) : strdup("");
    printf("training %s on %ld sample%s%s, %d epoch%s, batch %d\n", p->name, ntrain,
           ntrain == 1 ? "" : "s", held, epochs,
           epochs == 1 ? "" : "s", p->batch);
    free(held);
    if (o->nhp) { /* the values in use when some came from the command line */
        printf("hyper-parameters:");
        for (int i = 0; i < p->nhparams; i++)
            printf("%s %s %.9g", i ? "," : "", p->hparam_names[i], *p->hparam(r->m, i));
        printf("\n");
    }
    if (!from) { /* epoch 0: the initial weights, eval mode (the first babysitting check) */
        double started = dnn_now();
        p->set_epoch(r->m, 0);
        dnn_epoch_row *w = &l.rows[l.nrows++];
        w->epoch = 0;
        w->lr = *r->v.lr;
        initial_loss(r, &all, idx, ntrain, &w->train_loss, &w->train_acc);
        w->val_loss = w->val_acc = NAN;
        if (have_val)
            dnn_evaluate(r, val, val_idx, nval, &w->val_loss, &w->val_acc, NULL);
        w->seconds = dnn_now() - started;
        char line[256], chance[96];
        dnn_epoch_summary(line, sizeof line, w, epochs);
        if (!o->quiet)
            printf("%s  (initial weights%s)\n", line, dnn_chance_text(p, chance, sizeof chance));
        if ((status = write_log(r, &l, log, svg)))
            goto done;
    }
    for (; l.epoch < epochs; l.epoch++) {
        p->set_epoch(r->m, l.epoch);
        dnn_rng rng = l.shuffle; /* so a resumed epoch sees the same order */
        for (long i = 0; i < ntrain; i++) /* the training samples; shuffled, the same permutation as of 0..ntrain-1 */
            order[i] = idx[i];
        if (p->shuffle)
            shuffle_order(order, ntrain, &rng);
        double started = dnn_now() - l.seconds;
        long nbatches = (used + p->batch - 1) / p->batch;
        /* every epoch draws its progress; long runs keep the summaries of about 25:
           the first, the last and evenly between */
        int every = epochs <= 50 ? 1 : (epochs + 24) / 25;
        int keep = l.epoch == 0 || (l.epoch + 1) % every == 0 || l.epoch + 1 == epochs, show = !o->quiet;
        if (show)
            dnn_progress_begin(&bar, stdout, l.epoch + 1, epochs, used);
        for (; l.batch < nbatches; l.batch++) {
            long start = l.batch * p->batch;
            int n = (int)(used - start < p->batch ? used - start : p->batch);
            dnn_batch_fill(p, &all, order + start, n, &b);
            if (p->naugment)
                dnn_augment_batch(r, &b, n, &l.augment);
            float loss = p->backward(r->m, (const float *const *)b.x, (const void *const *)b.y, n);
            if (!isfinite(loss) || nonfinite(r, l.epoch, l.batch)) {
                if (!isfinite(loss) && !nonfinite(r, l.epoch, l.batch))
                    fail("the training loss became %g in epoch %d, batch %ld; try a smaller learning rate", loss,
                         l.epoch + 1, l.batch + 1);
                status = 1;
                break;
            }
            dnn_score(r, &b, n, &l.correct, &l.scored, NULL);
            p->step(r->m);
            if (nonfinite(r, l.epoch, l.batch)) {
                status = 1;
                break;
            }
            if (l.ema)
                ema_update(r, l.ema, p->ema_decay, *r->v.step == 1);
            l.loss_sum += (double)loss * n;
            l.seen += n;
            if (show)
                dnn_progress_update(&bar, l.seen, l.loss_sum / (double)l.seen);
            if (o->stop_after && ++batches_run == o->stop_after)
                interrupted = 1;
            if (interrupted && l.batch + 1 < nbatches) {
                l.batch++;
                l.seconds = dnn_now() - started;
                if (show)
                    dnn_progress_end(&bar, "interrupted");
                if (dnn_save_checkpoint(r, &l, ckpt)) {
                    status = 3;
                    goto done;
                }
                printf("interrupted: checkpoint %s (epoch %d, batch %ld); continue with %s\n", ckpt, l.epoch + 1,
                       l.batch, dnn_resume_hint(r, ckpt, hint, sizeof hint));
                status = 130;
                goto done;
            }
        }
        if (status)
            break;
        dnn_epoch_row *w = &l.rows[l.nrows++];
        w->epoch = l.epoch + 1;
        w->lr = *r->v.lr;
        w->train_loss = l.loss_sum / (double)l.seen;
        w->train_acc = l.scored ? (double)l.correct / (double)l.scored : NAN;
        w->val_loss = w->val_acc = NAN;
        if (l.ema)
            ema_swap(r, l.ema);
        if (have_val)
            dnn_evaluate(r, val, val_idx, nval, &w->val_loss, &w->val_acc, NULL);
        if (l.ema)
            ema_swap(r, l.ema);
        w->seconds = dnn_now() - started;
        /* early stopping on the validation loss (or the training loss) */
        double watched = have_val ? w->val_loss : w->train_loss;
        int stop = 0;
        if (p->early_stop) {
            if (watched < l.best_loss - p->min_delta) {
                l.best_loss = watched;
                l.best_epoch = l.epoch;
                l.bad_epochs = 0;
                if (!l.best)
                    l.best = xcalloc(p->params_size, sizeof(float));
                if (l.ema)
                    ema_swap(r, l.ema); /* the weights that were evaluated */
                memcpy(l.best, r->v.params, sizeof(float) * p->params_size);
                if (l.ema)
                    ema_swap(r, l.ema);
            } else if (++l.bad_epochs >= p->patience) {
                stop = 1;
            }
        }
        char line[256];
        dnn_epoch_summary(line, sizeof line, w, epochs);
        if (show && (keep || stop))
            dnn_progress_end(&bar, line);
        else if (show)
            dnn_progress_discard(&bar);

        l.shuffle = rng;
        l.batch = 0;
        l.loss_sum = 0;
        l.correct = l.scored = l.seen = 0;
        l.seconds = 0;
        if ((status = write_log(r, &l, log, svg)))
            goto done;
        l.epoch++;
        int saved = dnn_save_checkpoint(r, &l, ckpt);
        l.epoch--;
        if (saved) {
            status = 3;
            goto done;
        }
        if (stop) {
            printf("early stop: the %s loss has not improved for %d epoch%s; keeping epoch %d's weights\n",
                   have_val ? "validation" : "training", p->patience, p->patience == 1 ? "" : "s", l.best_epoch + 1);
            l.epoch++;
            break;
        }
        if (interrupted) {
            printf("interrupted after epoch %d: checkpoint %s; continue with %s\n", l.epoch + 1, ckpt,
                   dnn_resume_hint(r, ckpt, hint, sizeof hint));
            status = 130;
            goto done;
        }
    }
    if (l.best) /* already the average when there is one */
        memcpy(r->v.params, l.best, sizeof(float) * p->params_size);
    else if (l.ema)
        ema_swap(r, l.ema);
    if (!status && dnn_save_weights(r, save)) {
        status = 3;
        goto done;
    }
    if (!status)
        printf("weights: %s   checkpoint: %s   log: %s   curves: %s\n", save, ckpt, log, svg);
done:
    dnn_batch_free(p, &b);
    free(order);
    free(idx);
    free(l.rows);
    free(l.ema);
    free(l.best);
    free(save);
    free(ckpt);
    free(log);
    free(svg);
    free(settings);
    free(val_list);
    free(from);
    free(run);
    dnn_data_free(&all);
    dnn_data_free(&val_files);
    return status;
}
