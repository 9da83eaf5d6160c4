/* eval.c — batches, the accuracy scores and the loss over a data set;
 * the `eval` and `predict` commands. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>

#include "dnn_data.h"
#include "dnn_host.h"

/* ---- batches -------------------------------------------------------------------------- */

void dnn_batch_alloc(const dnn_program *p, Batch *b) {
    memset(b, 0, sizeof *b);
    for (int s = 0; s < p->ninputs; s++)
        b->x[s] = xcalloc((size_t)p->batch * (size_t)p->inputs[s].size, sizeof(float));
    for (int t = 0; t < p->ntargets; t++)
        b->y[t] = xcalloc((size_t)p->batch * (size_t)p->targets[t].size, 4);
    for (int k = 0; k < p->noutputs; k++)
        b->out[k] = xcalloc((size_t)p->batch * (size_t)p->outputs[k].size, sizeof(float));
}

void dnn_batch_free(const dnn_program *p, Batch *b) {
    for (int s = 0; s < p->ninputs; s++)
        free(b->x[s]);
    for (int t = 0; t < p->ntargets; t++)
        free(b->y[t]);
    for (int k = 0; k < p->noutputs; k++)
        free(b->out[k]);
}

/* A batch being filled: samples idx[0..n) of d into b. */
typedef struct Fill {
    const dnn_program *p;
    const Data *d;
    const long *idx;
    Batch *b;
} Fill;

/* Copies samples idx[lo..hi) into the batch (targets only if the data has
 * them). Shuffled samples miss the caches, so a byte slot's rows are all
 * requested first and then converted, and the misses overlap (the MLP
 * epoch: 51-57 ms here without prefetching, 37 ms fetching the next batch
 * ahead, 31 ms so). */
static void fill_range(void *ctx, int lo, int hi) {
    const Fill *f = ctx;
    const dnn_program *p = f->p;
    const Data *d = f->d;
    const long *idx = f->idx;
#ifdef __GNUC__
    for (int s = 0; s < d->nslots; s++)
        for (int i = lo; d->u8[s] && i < hi; i++) {
            const int size = dnn_slot_io(p, s)->size;
            const unsigned char *row = d->u8[s] + idx[i] * size;
            for (int k = 0; k < size; k += 64)
                __builtin_prefetch(row + k);
            __builtin_prefetch(row + size - 1); /* the row need not start on a cache line */
        }
#endif
    for (int s = 0; s < d->nslots; s++) {
        const dnn_io *io = dnn_slot_io(p, s);
        for (int i = lo; i < hi; i++) {
            if (d->u8[s]) {
                const unsigned char *src = d->u8[s] + idx[i] * io->size;
                const float *lut = d->lut[s], *mean = d->mean[s], *std = d->std[s];
                float *dst = f->b->x[s] + (size_t)i * io->size;
                if (std)
                    for (int k = 0; k < io->size; k++)
                        dst[k] = (lut[src[k]] - mean[k]) / std[k];
                else if (mean)
                    for (int k = 0; k < io->size; k++)
                        dst[k] = lut[src[k]] - mean[k];
                else
                    for (int k = 0; k < io->size; k++)
                        dst[k] = lut[src[k]];
            } else if (s < p->ninputs)
                memcpy(f->b->x[s] + (size_t)i * io->size, d->x[s] + idx[i] * io->size, sizeof(float) * (size_t)io->size);
            else if (io->classes)
                ((int32_t *)f->b->y[s - p->ninputs])[i] = d->y[s][idx[i]];
            else
                memcpy((float *)f->b->y[s - p->ninputs] + (size_t)i * io->size, d->x[s] + idx[i] * io->size,
                       sizeof(float) * (size_t)io->size);
        }
    }
}

/* Copies samples idx[0..n) into the batch, on the program's threads as its
 * forward pass splits the samples: each thread converts the rows it is
 * about to read, and the main thread no longer does it all alone. */
void dnn_batch_fill(const dnn_program *p, const Data *d, const long *idx, int n, Batch *b) {
    Fill f = {p, d, idx, b};
    if (dnn_parallel_for && n > 1)
        dnn_parallel_for(fill_range, &f, n);
    else
        fill_range(&f, 0, n);
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* Correct predictions of the last loss/backward call, and how many were
 * scored; the predicted class of each sample into pred[] when not NULL. */
void dnn_score(const Run *r, const Batch *b, int n, long *correct, long *total, int *pred) {
    const dnn_program *p = r->p;
    if (p->score == DNN_SCORE_NONE)
        return;
    const float *pr = r->v.pred;
    const dnn_io *t = &p->targets[p->score_target];
    for (int i = 0; i < n; i++) {
        const float *row = pr + (size_t)i * p->pred_size;
        if (p->score == DNN_SCORE_ARGMAX) {
            int guess = argmax(row, p->pred_size);
            int truth = t->classes ? ((const int32_t *)b->y[p->score_target])[i]
                                   : argmax((const float *)b->y[p->score_target] + (size_t)i * t->size, t->size);
            *correct += guess == truth;
            *total += 1;
            if (pred)
                pred[i] = guess;
        } else {
            const float *y = (const float *)b->y[p->score_target] + (size_t)i * t->size;
            for (int k = 0; k < p->pred_size; k++)
                *correct += (row[k] > p->threshold) == (y[k] > p->target_threshold);
            *total += p->pred_size;
        }
    }
}

/* Eval-mode loss (sample-weighted mean) and accuracy over the samples
 * idx[0..count) of a data set (idx NULL: 0..count-1), in that order; the
 * confusion counts when counts is not NULL. */
void dnn_evaluate(const Run *r, const Data *d, const long *idx, long count, double *loss, double *acc, long *counts) {
    const dnn_program *p = r->p;
    Batch b;
    dnn_batch_alloc(p, &b);
    long *pick = xcalloc((size_t)p->batch, sizeof(long));
    int *pred = xcalloc((size_t)p->batch, sizeof(int));
    double sum = 0;
    long correct = 0, total = 0;
    for (long start = 0; start < count; start += p->batch) {
        int n = (int)(count - start < p->batch ? count - start : p->batch);
        for (int i = 0; i < n; i++)
            pick[i] = idx ? idx[start + i] : start + i;
        dnn_batch_fill(p, d, pick, n, &b);
        sum += (double)p->loss(r->m, (const float *const *)b.x, (const void *const *)b.y, n) * n;
        dnn_score(r, &b, n, &correct, &total, pred);
        if (counts && p->score == DNN_SCORE_ARGMAX && p->targets[p->score_target].classes) {
            const int32_t *truth = b.y[p->score_target];
            for (int i = 0; i < n; i++)
                counts[truth[i] * p->pred_size + pred[i]]++;
        }
    }
    *loss = sum / (double)count;
    *acc = total ? (double)correct / (double)total : NAN;
    dnn_batch_free(p, &b);
    free(pick);
    free(pred);
}

/* ---- eval, predict ---------------------------------------------------------------------------- */

/* Loads --weights (required) and the data with its preprocessing. */
static int prepare(Run *r, int nslots, Data *d) {
    const Options *o = &r->o;
    if (!o->weights && strcmp(o->command, "eval") && strcmp(o->command, "calibrate")) {
        fail("'%s' needs --weights FILE (the weights a 'train' saved, or a PyTorch state_dict as safetensors)",
             o->command);
        return 2;
    }
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale; /* the weights file's scale replaces it, --scale wins again */
    r->classes.learn = !o->weights; /* initial weights name no classes: the data's text labels do, as when training */
    if (dnn_start_weights(r, o->seed >= 0 ? (uint64_t)o->seed : r->p->seed, META_PREP | META_NAMES))
        return 1;
    if (dnn_load_data(r->p, o, &r->classes, o->files, o->nfiles, nslots, d)) {
        dnn_data_free(d);
        return 1;
    }
    r->classes.learn = 0;
    if (!isnan(o->scale))
        r->prep.scale = o->scale;
    if (o->weights && (o->standardize || o->center))
        note("--%s is measured when training; %s applies the statistics saved in %s", o->center ? "center" : "standardize",
             o->command, dnn_shown(o->weights));
    if (strcmp(o->command, "eval")) /* predict and calibrate read the floats; eval's batches scale the bytes */
        dnn_data_floats(r->p, d);
    if (!o->weights) { /* initial weights: the statistics of this data, as train would */
        long *all = xcalloc((size_t)d->count, sizeof(long));
        for (long i = 0; i < d->count; i++)
            all[i] = i;
        dnn_prep_fit_options(r->p, o, &r->prep, d, all, d->count);
        free(all);
    }
    dnn_prep_apply(r->p, &r->prep, d);
    return 0;
}

int dnn_cmd_eval(Run *r) {
    const dnn_program *p = r->p;
    Data d;
    int rc = prepare(r, p->ninputs + p->ntargets, &d);
    if (rc)
        return rc;
    int classes = p->score == DNN_SCORE_ARGMAX ? p->targets[p->score_target].classes : 0;
    long *counts = classes ? xcalloc((size_t)classes * (size_t)classes, sizeof(long)) : NULL;
    double loss, acc;
    dnn_evaluate(r, &d, NULL, d.count, &loss, &acc, counts);
    char initial[64] = "", chance[96];
    if (!r->o.weights)
        snprintf(initial, sizeof initial, ", initial weights (seed %llu)",
                 (unsigned long long)(r->o.seed >= 0 ? (uint64_t)r->o.seed : p->seed));
    printf("%s on %ld sample%s%s: loss %.6g", p->name, d.count, d.count == 1 ? "" : "s", initial, loss);
    if (!isnan(acc))
        printf("  accuracy %.2f%%", 100 * acc);
    printf("\n");
    if (!r->o.weights && p->chance_loss > 0)
        printf("(%s)\n", dnn_chance_text(p, chance, sizeof chance) + 2);
    const char *const *names = (const char *const *)r->classes.names[p->ninputs + p->score_target];
    if (counts) {
        printf("\n");
        dnn_confusion_print(stdout, counts, classes, names);
        char msg[512];
        if (r->o.confusion && dnn_confusion_write_csv(r->o.confusion, counts, classes, names, msg, sizeof msg)) {
            fail("%s", msg);
            rc = 3;
        }
    } else if (r->o.confusion)
        note("--confusion: the model is not a classifier; no matrix written");
    free(counts);
    dnn_data_free(&d);
    return rc;
}

/* predict --out G.safetensors: the inputs as the model saw them and the
 * outputs, [N, per-sample shape...] each under the model's names — the
 * golden file `check` and `dnnc --emit=selftest` read. Without outputs
 * (all NULL; width the inputs' floats per sample) the inputs alone. */
static int write_golden(const Run *r, const Data *d, const float *all, int width, const char *path) {
    const dnn_program *p = r->p;
    int count = p->ninputs + (all ? p->noutputs : 0);
    dnn_tensor_info *info = xcalloc((size_t)count, sizeof *info);
    const float **src = xcalloc((size_t)count, sizeof(float *));
    float **cols = xcalloc((size_t)p->noutputs + 1, sizeof(float *));
    int rc = 0;
    if (d->count > (1L << 30) / (width > 0 ? width : 1)) {
        fail("--out %s: too many samples for one file", path);
        rc = 2;
    }
    for (int s = 0; s < count && !rc; s++) {
        const dnn_io *io = s < p->ninputs ? &p->inputs[s] : &p->outputs[s - p->ninputs];
        if (io->rank > 3) {
            fail("--out %s: '%s' has rank %d; a golden tensor holds at most 3 per-sample dimensions", path, io->name,
                 io->rank);
            rc = 2;
            break;
        }
        info[s] = (dnn_tensor_info){io->name, io->rank + 1, {(int)d->count, 0, 0, 0}, (int)d->count * io->size, 0, DNN_DT_F32};
        for (int k = 0; k < io->rank; k++)
            info[s].shape[k + 1] = io->shape[k];
        if (s < p->ninputs) {
            src[s] = d->x[s];
        } else { /* this output's columns of `all` */
            int k = s - p->ninputs, col = 0;
            for (int j = 0; j < k; j++)
                col += p->outputs[j].size;
            cols[k] = xcalloc((size_t)d->count * (size_t)io->size, sizeof(float));
            for (long i = 0; i < d->count; i++)
                memcpy(cols[k] + i * io->size, all + i * width + col, sizeof(float) * (size_t)io->size);
            src[s] = cols[k];
        }
    }
    if (!rc) {
        size_t len = dnn_safetensors_save(info, src, count, NULL, 0);
        void *buf = xcalloc(len, 1);
        dnn_safetensors_save(info, src, count, buf, len);
        if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
            fail("cannot write '%s': %s", path, strerror(errno));
            rc = 3;
        }
        free(buf);
    }
    for (int k = 0; k < p->noutputs; k++)
        free(cols[k]);
    free(cols);
    free(src);
    free(info);
    return rc;
}

/* predict --mc-samples N: the mean and the standard deviation (N - 1 in the
 * denominator, as torch.std) of N forward passes in which dropout samples
 * its masks from the model's generator, seeded like training (--seed):
 * Welford's running sums in double, batch by batch, so the same seed gives
 * the same numbers. */
static void forward_mc(const Run *r, const Batch *b, int n, int passes, float *mean, float *std, int width) {
    const dnn_program *p = r->p;
    size_t count = (size_t)n * (size_t)width;
    double *m = xcalloc(count, sizeof(double)), *m2 = xcalloc(count, sizeof(double));
    for (int pass = 1; pass <= passes; pass++) {
        p->forward_mc(r->m, (const float *const *)b->x, b->out, n);
        for (int i = 0; i < n; i++)
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                for (int e = 0; e < p->outputs[k].size; e++) {
                    size_t at = (size_t)i * (size_t)width + (size_t)(col + e);
                    double x = b->out[k][(size_t)i * (size_t)p->outputs[k].size + (size_t)e], before = m[at];
                    m[at] += (x - before) / pass;
                    m2[at] += (x - before) * (x - m[at]);
                }
    }
    for (size_t i = 0; i < count; i++) {
        mean[i] = (float)m[i];
        std[i] = (float)sqrt(m2[i] / (passes - 1));
    }
    free(m);
    free(m2);
}

int dnn_cmd_predict(Run *r) {
    const dnn_program *p = r->p;
    const char *out = r->o.out;
    int npy = out && ends_with(out, ".npy"), mc = r->o.mc_samples;
    if (npy && p->noutputs != 1) {
        fail("--out %s: a .npy file holds one output, and the model has %d", out, p->noutputs);
        return 2;
    }
    if (mc && !p->forward_mc) {
        fail("--mc-samples: model '%s' has no dropout, so every forward pass would give the same outputs", p->name);
        return 2;
    }
    if (mc && out && ends_with(out, ".safetensors")) {
        fail("--mc-samples writes .csv or .npy: a golden file holds the outputs of one forward pass");
        return 2;
    }
    Data d;
    int rc = prepare(r, p->ninputs, &d);
    if (rc)
        return rc;
    int width = 0;
    for (int k = 0; k < p->noutputs; k++)
        width += p->outputs[k].size;
    /* the outputs (their means with --mc-samples), then the standard deviations */
    float *all = xcalloc((size_t)d.count * (size_t)width * (mc ? 2 : 1), sizeof(float));
    float *spread = mc ? all + (size_t)d.count * (size_t)width : NULL;
    Batch b;
    dnn_batch_alloc(p, &b);
    long *idx = xcalloc((size_t)p->batch, sizeof(long));
    for (long start = 0; start < d.count; start += p->batch) {
        int n = (int)(d.count - start < p->batch ? d.count - start : p->batch);
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        dnn_batch_fill(p, &d, idx, n, &b);
        if (mc) {
            forward_mc(r, &b, n, mc, all + start * width, spread + start * width, width);
            continue;
        }
        p->forward(r->m, (const float *const *)b.x, b.out, n);
        for (int i = 0; i < n; i++)
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                memcpy(all + (start + i) * width + col, b.out[k] + (size_t)i * p->outputs[k].size,
                       sizeof(float) * (size_t)p->outputs[k].size);
    }
    char msg[512];
    if (out && ends_with(out, ".safetensors")) {
        rc = write_golden(r, &d, all, width, out);
    } else if (npy) { /* [N, shape...], or [2, N, shape...] with --mc-samples: the means, then the deviations */
        int64_t dims[6] = {2, d.count};
        for (int k = 0; k < p->outputs[0].rank; k++)
            dims[k + 2] = p->outputs[0].shape[k];
        if (dnn_npy_write(out, all, p->outputs[0].rank + 1 + (mc > 0), mc ? dims : dims + 1, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            rc = 3;
        }
    } else {
        /* CSV: one column per output element (with --mc-samples NAME_mean and NAME_std
           columns of each output), and the predicted class of a classifier */
        size_t cap = 64 + (size_t)d.count * ((size_t)width * (mc ? 32 : 16) + 64), len = 0;
        for (int k = 0; k < p->noutputs; k++)
            cap += (strlen(p->outputs[k].name) + 20) * (size_t)p->outputs[k].size * 2;
        char *text = xcalloc(cap, 1);
        int classes = p->score == DNN_SCORE_ARGMAX ? p->targets[p->score_target].classes : 0;
        int class_col = -1; /* the first output with one value per class */
        for (int k = 0, col = 0; k < p->noutputs && classes; col += p->outputs[k++].size)
            if (class_col < 0 && p->outputs[k].size == classes)
                class_col = col;
        for (int k = 0; k < p->noutputs; k++)
            for (int part = 0; part < (mc ? 2 : 1); part++)
                for (int e = 0; e < p->outputs[k].size; e++) {
                    len += (size_t)snprintf(text + len, cap - len, "%s%s%s", k || part || e ? "," : "",
                                            p->outputs[k].name, !mc ? "" : part ? "_std" : "_mean");
                    if (p->outputs[k].size > 1)
                        len += (size_t)snprintf(text + len, cap - len, ".%d", e);
                }
        len += (size_t)snprintf(text + len, cap - len, "%s\n", class_col >= 0 ? ",class" : "");
        for (long i = 0; i < d.count; i++) {
            for (int k = 0, col = 0; k < p->noutputs; col += p->outputs[k++].size)
                for (int part = 0; part < (mc ? 2 : 1); part++)
                    for (int e = 0; e < p->outputs[k].size; e++)
                        len += (size_t)snprintf(text + len, cap - len, "%s%.7g", k || part || e ? "," : "",
                                                (part ? spread : all)[i * width + col + e]);
            if (class_col >= 0) {
                int c = argmax(all + i * width + class_col, classes);
                char *const *names = r->classes.names[p->ninputs + p->score_target];
                if (names && names[c])
                    len += (size_t)snprintf(text + len, cap - len, ",%s", names[c]);
                else
                    len += (size_t)snprintf(text + len, cap - len, ",%d", c);
            }
            len += (size_t)snprintf(text + len, cap - len, "\n");
        }
        if (out) {
            if (dnn_write_file_atomic(out, text, len) != DNN_OK) {
                fail("cannot write '%s': %s", out, strerror(errno));
                rc = 3;
            }
        } else
            fwrite(text, 1, len, stdout);
        free(text);
    }
    free(all);
    free(idx);
    dnn_batch_free(p, &b);
    dnn_data_free(&d);
    return rc;
}

/* calibrate DATA... -o CAL.safetensors: the inputs as NAME_forward gets
 * them (after --scale, or the preprocessing saved in --weights), [N,
 * per-sample shape...] under the inputs' names — the calibration set of
 * dnnc --quantize=int8 --calibrate. */
int dnn_cmd_calibrate(Run *r) {
    const dnn_program *p = r->p;
    const char *out = r->o.out;
    if (!out || ends_with(out, ".csv") || ends_with(out, ".npy") || ends_with(out, ".png")) {
        fail("calibrate writes safetensors: give -o FILE.safetensors%s%s%s", out ? " (not '" : "", out ? out : "",
             out ? "')" : "");
        return 2;
    }
    Data d;
    int rc = prepare(r, p->ninputs, &d);
    if (rc)
        return rc;
    int width = 0;
    for (int s = 0; s < p->ninputs; s++)
        width += p->inputs[s].size;
    rc = write_golden(r, &d, NULL, width, out);
    if (!rc)
        printf("%s: %ld sample%s of %s written to %s\n", p->name, d.count, d.count == 1 ? "" : "s",
               p->ninputs == 1 ? p->inputs[0].name : "the inputs", out);
    dnn_data_free(&d);
    return rc;
}
