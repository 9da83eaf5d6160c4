/* augment.c — the train block's augmentation of training batches, and
 * the `augment` command that shows it. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>

#include "dnn_augment.h"
#include "dnn_data.h"
#include "dnn_host.h"

/* ---- augmentation ---------------------------------------------------------------------------
 * The train block's `augment` settings (p->augment) transform the training
 * batches after dnn_batch_fill; validation, eval, predict and gradcheck never
 * see them. For each sample, each setting in written order draws from the
 * augmentation generator, seeded with seed ^ AUGMENT_STREAM and saved in
 * the checkpoint ("dnn.augment"), so the shuffle and dropout generators
 * draw the same numbers with augmentation or without:
 *   noise   a normal per element (Box–Muller, in pairs): x + std·z
 *   hflip   a float u in [0, 1): mirrored when u < p
 *   crop    top, then left, each uniform in 0..2·pad
 *   rotate  a float angle uniform in [−degrees, degrees)
 * The transforms see the input as --scale left it: --standardize's
 * statistics are undone before and applied again after (as torchvision's
 * transforms come before Normalize), so the zero fill is a zero pixel. */

/* How many draws step a records per sample (the augment command's output). */
static int augment_width(const dnn_program *p, const dnn_augment *a) {
    return a->kind == DNN_AUG_NOISE ? p->inputs[a->input].size : a->kind == DNN_AUG_CROP ? 2 : 1;
}

/* Whether some augment setting transforms input s. */
static int augmented(const dnn_program *p, int s) {
    for (int k = 0; k < p->naugment; k++)
        if (p->augment[k].input == s)
            return 1;
    return 0;
}

/* Two standard normals from one Box–Muller draw (dnn_rng_normal's arithmetic). */
static void normal_pair(dnn_rng *rng, double *z0, double *z1) {
    double u1 = ((double)(dnn_rng_u32(rng) >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(dnn_rng_u32(rng) >> 8) * (1.0 / 16777216.0);
    double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586476925 * u2;
    *z0 = radius * cos(angle);
    *z1 = radius * sin(angle);
}

/* Augments one sample: x[s] is input s's values. Step k's draws go to
 * draws[k] when draws is not NULL. scratch holds the largest input. */
static void augment_sample(const Run *r, float *const *x, dnn_rng *rng, float *scratch, float *const *draws) {
    const dnn_program *p = r->p;
    for (int s = 0; s < p->ninputs; s++) /* undo --standardize or --center on the inputs augmented */
        if (r->prep.mean[s] && augmented(p, s))
            for (int e = 0; e < p->inputs[s].size; e++)
                x[s][e] = (r->prep.std[s] ? x[s][e] * r->prep.std[s][e] : x[s][e]) + r->prep.mean[s][e];
    for (int k = 0; k < p->naugment; k++) {
        const dnn_augment *a = &p->augment[k];
        const dnn_io *io = &p->inputs[a->input];
        float *v = x[a->input], *drawn = draws ? draws[k] : NULL;
        const int c = io->shape[0], h = io->shape[1], w = io->shape[2];
        if (a->kind == DNN_AUG_NOISE) {
            for (int e = 0; e < io->size; e += 2) {
                double z[2];
                normal_pair(rng, &z[0], &z[1]);
                for (int j = 0; j < 2 && e + j < io->size; j++) {
                    float noise = (float)(a->value * z[j]);
                    v[e + j] += noise;
                    if (drawn)
                        drawn[e + j] = noise;
                }
            }
        } else if (a->kind == DNN_AUG_HFLIP) {
            int flip = dnn_rng_float(rng) < a->value;
            if (flip)
                dnn_aug_hflip(v, c, h, w);
            if (drawn)
                drawn[0] = (float)flip;
        } else if (a->kind == DNN_AUG_CROP) {
            int pad = (int)a->value;
            int top = (int)dnn_rng_below(rng, (uint32_t)(2 * pad + 1));
            int left = (int)dnn_rng_below(rng, (uint32_t)(2 * pad + 1));
            dnn_aug_crop(scratch, v, c, h, w, pad, top, left);
            memcpy(v, scratch, sizeof(float) * (size_t)io->size);
            if (drawn) {
                drawn[0] = (float)top;
                drawn[1] = (float)left;
            }
        } else {
            float angle = dnn_rng_uniform(rng, (float)-a->value, (float)a->value);
            dnn_aug_rotate(scratch, v, c, h, w, angle);
            memcpy(v, scratch, sizeof(float) * (size_t)io->size);
            if (drawn)
                drawn[0] = angle;
        }
    }
    for (int s = 0; s < p->ninputs; s++) /* and standardize again */
        if (r->prep.mean[s] && augmented(p, s))
            for (int e = 0; e < p->inputs[s].size; e++)
                x[s][e] = r->prep.std[s] ? (x[s][e] - r->prep.mean[s][e]) / r->prep.std[s][e] : x[s][e] - r->prep.mean[s][e];
}

static float *augment_scratch(const dnn_program *p) {
    int most = 1;
    for (int k = 0; k < p->naugment; k++)
        if (p->inputs[p->augment[k].input].size > most)
            most = p->inputs[p->augment[k].input].size;
    return xcalloc((size_t)most, sizeof(float));
}

/* Augments the n samples of a training batch, in order. */
void dnn_augment_batch(const Run *r, Batch *b, int n, dnn_rng *rng) {
    const dnn_program *p = r->p;
    float *scratch = augment_scratch(p), *x[MAX_SLOTS];
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < p->ninputs; s++)
            x[s] = b->x[s] + (size_t)i * p->inputs[s].size;
        augment_sample(r, x, rng, scratch, NULL);
    }
    free(scratch);
}

/* The picture of `augment --out F.png`: up to 32 samples of image input s,
 * each as the original beside its augmentation, 8 pairs a row, enlarged to
 * about 64 pixels a side; grey (channel 0) unless the input has 3 channels.
 * Values map linearly from the originals' range to 0..255. */
static int augment_png(const dnn_program *p, int s, const float *orig, const float *aug, long count, const char *path) {
    const dnn_io *io = &p->inputs[s];
    const int c = io->shape[0], h = io->shape[1], w = io->shape[2], ch = c == 3 ? 3 : 1;
    const int n = count < 32 ? (int)count : 32, zoom = h > 64 || w > 64 ? 1 : 64 / (h > w ? h : w);
    const int gap = 2 * zoom, cell_w = 2 * w * zoom + gap + 4 * gap, cell_h = h * zoom + 2 * gap;
    const int cols = n < 8 ? n : 8, rows = (n + 7) / 8, width = cols * cell_w, height = rows * cell_h;
    float lo = INFINITY, hi = -INFINITY;
    for (long i = 0; i < (long)n * io->size; i++) {
        lo = orig[i] < lo ? orig[i] : lo;
        hi = orig[i] > hi ? orig[i] : hi;
    }
    unsigned char *pix = xcalloc((size_t)width * (size_t)height * (size_t)ch, 1);
    memset(pix, 128, (size_t)width * (size_t)height * (size_t)ch);
    for (int i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            const float *img = (side ? aug : orig) + (size_t)i * io->size;
            int x0 = (i % 8) * cell_w + 2 * gap + side * (w * zoom + gap), y0 = (i / 8) * cell_h + gap;
            for (int y = 0; y < h * zoom; y++)
                for (int x = 0; x < w * zoom; x++)
                    for (int k = 0; k < ch; k++) {
                        float v = img[((size_t)k * h + (size_t)(y / zoom)) * w + (size_t)(x / zoom)];
                        float t = hi > lo ? (v - lo) / (hi - lo) : 0.5f;
                        t = t < 0 ? 0 : t > 1 ? 1 : t;
                        pix[((size_t)(y0 + y) * width + (size_t)(x0 + x)) * ch + k] = (unsigned char)(255 * t + 0.5f);
                    }
        }
    size_t len = dnn_png_encode(NULL, 0, pix, width, height, ch);
    unsigned char *buf = xcalloc(len, 1);
    dnn_png_encode(buf, len, pix, width, height, ch);
    int rc = 0;
    if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
        fail("cannot write '%s': %s", path, strerror(errno));
        rc = 3;
    }
    free(buf);
    free(pix);
    return rc;
}

/* augment --out F.safetensors: each input as augmented ("NAME") and as read
 * ("NAME.original"), [N, per-sample shape...], and each step's draws
 * ("augment.K.KIND", [N, width]), with the step's std, p, pad or degrees
 * in the metadata under the same name. */
static int augment_tensors(const dnn_program *p, float *const *orig, float *const *aug, float *const *draws, long count,
                           const char *path) {
    static const char *const kinds[] = {"noise", "hflip", "crop", "rotate"};
    int ntensors = 2 * p->ninputs + p->naugment;
    dnn_tensor_info *info = xcalloc((size_t)ntensors, sizeof *info);
    const float **src = xcalloc((size_t)ntensors, sizeof(float *));
    char **names = xcalloc((size_t)ntensors, sizeof(char *));
    const char **meta = xcalloc(2 * (size_t)p->naugment, sizeof(char *));
    int rc = 0;
    for (int t = 0; t < ntensors && !rc; t++) {
        if (t < 2 * p->ninputs) {
            const dnn_io *io = &p->inputs[t / 2];
            if (io->rank > 3) {
                fail("--out %s: '%s' has rank %d; a tensor of the file holds at most 3 per-sample dimensions", path,
                     io->name, io->rank);
                rc = 2;
            }
            names[t] = text_of(t % 2 ? "%s.original" : "%s", io->name);
            info[t] = (dnn_tensor_info){names[t], io->rank + 1, {(int)count, 0, 0, 0}, (int)count * io->size, 0, DNN_DT_F32};
            for (int k = 0; k < io->rank && k < 3; k++)
                info[t].shape[k + 1] = io->shape[k];
            src[t] = t % 2 ? orig[t / 2] : aug[t / 2];
        } else {
            const dnn_augment *a = &p->augment[t - 2 * p->ninputs];
            int width = augment_width(p, a);
            names[t] = text_of("augment.%d.%s", t - 2 * p->ninputs, kinds[a->kind]);
            info[t] = (dnn_tensor_info){names[t], 2, {(int)count, width, 0, 0}, (int)count * width, 0, DNN_DT_F32};
            src[t] = draws[t - 2 * p->ninputs];
            meta[2 * (t - 2 * p->ninputs)] = names[t];
            meta[2 * (t - 2 * p->ninputs) + 1] = text_of("%.17g", a->value);
        }
    }
    if (!rc) {
        size_t len = dnn_safetensors_save_meta(info, src, ntensors, meta, p->naugment, NULL, 0);
        void *buf = xcalloc(len, 1);
        dnn_safetensors_save_meta(info, src, ntensors, meta, p->naugment, buf, len);
        if (dnn_write_file_atomic(path, buf, len) != DNN_OK) {
            fail("cannot write '%s': %s", path, strerror(errno));
            rc = 3;
        }
        free(buf);
    }
    for (int t = 0; t < ntensors; t++)
        free(names[t]);
    for (int k = 0; k < p->naugment; k++)
        free((char *)meta[2 * k + 1]);
    free(meta);
    free(names);
    free(src);
    free(info);
    return rc;
}

/* `augment DATA... --out F`: the train block's augmentation applied once to
 * each sample of DATA, in file order, with the draws the training run's
 * first samples would get (the generator seeded from --seed or the model's
 * seed). F is a .png to look at, a .safetensors with the draws, or a .npy. */
int dnn_cmd_augment(Run *r) {
    const dnn_program *p = r->p;
    const Options *o = &r->o;
    if (!p->naugment) {
        fail("model '%s' has no 'augment' settings in its train block", p->name);
        note("add e.g. 'augment noise(std = 0.1);' to the train block of %s (see docs/training.md)", p->source);
        return 2;
    }
    int png = o->out && ends_with(o->out, ".png"), npy = o->out && ends_with(o->out, ".npy");
    if (!o->out || !(png || npy || ends_with(o->out, ".safetensors"))) {
        fail("'augment' needs --out FILE: .png (a picture), .safetensors (with the draws) or .npy");
        return 2;
    }
    int shown = p->augment[0].input; /* the input a .png (the first image) or .npy shows */
    for (int k = p->naugment - 1; png && k >= 0; k--)
        if (p->inputs[p->augment[k].input].rank == 3)
            shown = p->augment[k].input;
    if (png && p->inputs[shown].rank != 3) {
        fail("--out %s: a picture needs an image input [C, H, W]; '%s' is not one", o->out, p->inputs[shown].name);
        return 2;
    }
    Data d;
    if (dnn_load_data(p, o, &r->classes, o->files, o->nfiles, p->ninputs, &d)) {
        dnn_data_free(&d);
        return 1;
    }
    if (o->standardize)
        note("--standardize: augmentation comes before standardisation, so the output is not standardised");
    int widest = 1;
    for (int s = 0; s < p->ninputs; s++)
        widest = p->inputs[s].size > widest ? p->inputs[s].size : widest;
    if (d.count > (1L << 30) / widest) {
        fail("--out %s: too many samples for one file; give --limit", o->out);
        dnn_data_free(&d);
        return 2;
    }
    dnn_data_floats(p, &d);
    r->prep.scale = isnan(o->scale) ? 1.0 : o->scale;
    dnn_prep_apply(p, &r->prep, &d);
    float *orig[MAX_SLOTS], *draws[MAX_SLOTS], *x[MAX_SLOTS], *step[MAX_SLOTS];
    for (int s = 0; s < p->ninputs; s++) {
        size_t n = (size_t)d.count * (size_t)p->inputs[s].size;
        orig[s] = xcalloc(n, sizeof(float));
        memcpy(orig[s], d.x[s], n * sizeof(float));
    }
    for (int k = 0; k < p->naugment; k++)
        draws[k] = xcalloc((size_t)d.count * (size_t)augment_width(p, &p->augment[k]), sizeof(float));
    dnn_rng rng;
    dnn_rng_seed(&rng, (o->seed >= 0 ? (uint64_t)o->seed : p->seed) ^ AUGMENT_STREAM);
    float *scratch = augment_scratch(p);
    for (long i = 0; i < d.count; i++) {
        for (int s = 0; s < p->ninputs; s++)
            x[s] = d.x[s] + i * p->inputs[s].size;
        for (int k = 0; k < p->naugment; k++)
            step[k] = draws[k] + i * augment_width(p, &p->augment[k]);
        augment_sample(r, x, &rng, scratch, step);
    }
    int rc = 0;
    char msg[512];
    if (png) {
        rc = augment_png(p, shown, orig[shown], d.x[shown], d.count, o->out);
    } else if (npy) {
        int64_t dims[5] = {d.count};
        for (int k = 0; k < p->inputs[shown].rank; k++)
            dims[k + 1] = p->inputs[shown].shape[k];
        if (dnn_npy_write(o->out, d.x[shown], p->inputs[shown].rank + 1, dims, msg, sizeof msg) != DNN_OK) {
            fail("%s", msg);
            rc = 3;
        }
    } else
        rc = augment_tensors(p, orig, d.x, draws, d.count, o->out);
    if (!rc)
        printf("%s: %ld sample%s of '%s' augmented%s\n", o->out, d.count, d.count == 1 ? "" : "s",
               p->inputs[shown].name, png ? (d.count > 32 ? " (the first 32 shown, each beside its original)"
                                                          : " (each beside its original)") : "");
    free(scratch);
    for (int s = 0; s < p->ninputs; s++)
        free(orig[s]);
    for (int k = 0; k < p->naugment; k++)
        free(draws[k]);
    dnn_data_free(&d);
    return rc;
}
