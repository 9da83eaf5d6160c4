/* files.c — the weights file (its tensors and the metadata that keeps the
 * preprocessing and class names) and the weights a run starts from. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

#include "dnn_host.h"

/* ---- the model and its files ------------------------------------------------------ */

void dnn_meta_add(Meta *mt, const char *key, char *value) {
    mt->kv[2 * mt->n] = key;
    mt->kv[2 * mt->n + 1] = value;
    mt->owned[mt->nowned++] = value;
    mt->n++;
}

void dnn_meta_free(Meta *mt) {
    for (int i = 0; i < mt->nowned; i++)
        free(mt->owned[i]);
    for (int i = 0; i < mt->n; i++)
        if (!strcmp(mt->kv[2 * i], "dnn.labels") || strchr(mt->kv[2 * i], '@'))
            free((char *)mt->kv[2 * i]); /* the keys dnn_prep_meta made */
    memset(mt, 0, sizeof *mt);
}

/* n floats, every step-th of v, as "%.9g" text (exact for a float). */
static char *floats_text(const float *v, int n, int step) {
    char *s = xcalloc((size_t)n, 18), *q = s;
    for (int i = 0; i < n; i++)
        q += sprintf(q, "%s%.9g", i ? "," : "", v[(size_t)i * (size_t)step]);
    return s;
}

static char *key_for(const char *what, const char *name) {
    char *k = xcalloc(strlen(what) + strlen(name) + 8, 1);
    sprintf(k, "dnn.%s@%s", what, name);
    return k;
}

/* The slot --class-names names: the scored class target, else the first class target; -1 if none. */
int dnn_named_slot(const dnn_program *p) {
    if (p->ntargets && p->targets[p->score_target].classes)
        return p->ninputs + p->score_target;
    for (int t = 0; t < p->ntargets; t++)
        if (p->targets[t].classes)
            return p->ninputs + t;
    return -1;
}

/* The metadata key of class slot s's names: "dnn.labels" for dnn_named_slot's, "dnn.labels@NAME" for others'. */
static char *names_key(const dnn_program *p, int s) {
    return s == dnn_named_slot(p) ? strdup("dnn.labels") : key_for("labels", dnn_slot_io(p, s)->name);
}

void dnn_prep_meta(const Run *r, Meta *mt) {
    char *scale = xcalloc(32, 1);
    snprintf(scale, 32, "%.17g", r->prep.scale);
    dnn_meta_add(mt, "dnn.scale", scale);
    for (int s = 0; s < r->p->ninputs; s++) {
        int groups = r->prep.groups[s], each = groups ? r->p->inputs[s].size / groups : 1;
        if (r->prep.mean[s])
            dnn_meta_add(mt, key_for("mean", r->p->inputs[s].name), floats_text(r->prep.mean[s], groups, each));
        if (r->prep.std[s])
            dnn_meta_add(mt, key_for("std", r->p->inputs[s].name), floats_text(r->prep.std[s], groups, each));
    }
    for (int s = r->p->ninputs; s < r->p->ninputs + r->p->ntargets; s++) {
        const Classes *k = &r->classes;
        int n = k->count[s];
        while (n > 0 && !k->names[s][n - 1])
            n--;
        if (!n)
            continue;
        size_t len = 1;
        for (int c = 0; c < n; c++)
            len += (k->names[s][c] ? strlen(k->names[s][c]) : 0) + 1;
        char *text = xcalloc(len, 1);
        for (int c = 0; c < n; c++)
            strcat(strcat(text, c ? "\n" : ""), k->names[s][c] ? k->names[s][c] : "");
        dnn_meta_add(mt, names_key(r->p, s), text);
    }
}

/* Input s's dnn.mean@NAME and dnn.std@NAME, if the image has them: one
 * value per element of the input or one per channel (its first
 * dimension); means finite, standard deviations positive. */
static int stats_from(Run *r, const void *buf, size_t len, const char *path, int s, char *text, size_t cap) {
    const dnn_io *io = &r->p->inputs[s];
    float *stats[2] = {NULL, NULL};
    int groups[2] = {0, 0}, rc = 0;
    for (int which = 0; which < 2 && !rc; which++) {
        char *key = key_for(which ? "std" : "mean", io->name);
        if (dnn_st_metadata(buf, len, key, text, cap) == DNN_OK) {
            int n = 1, channels = io->rank > 0 ? io->shape[0] : io->size;
            for (const char *q = text; *q; q++)
                n += *q == ',';
            float *v = xcalloc((size_t)n, sizeof(float));
            char *q = text, *end = text;
            for (int k = 0; k < n && !rc; k++, q = end + 1) {
                v[k] = strtof(q, &end);
                rc = end == q || (*end != ',' && *end) || !isfinite(v[k]) || (which && !(v[k] > 0));
            }
            if (!rc && n != io->size && n != channels)
                rc = 1;
            if (rc) {
                fail("%s: %s is damaged: %d values, which must be finite%s and number %d (one per element of '%s') "
                     "or %d (one per channel)", path, key, n, which ? ", positive" : "", io->size, io->name, channels);
                note("the file's metadata holds the preprocessing of its training run (docs/training.md)");
            }
            /* repeated over each channel's positions */
            stats[which] = xcalloc((size_t)io->size, sizeof(float));
            for (int k = 0; k < io->size && !rc; k++)
                stats[which][k] = v[k / (io->size / n)];
            groups[which] = n;
            free(v);
        }
        free(key);
    }
    if (!rc && stats[1] && (!stats[0] || groups[0] != groups[1])) {
        fail("%s: dnn.std@%s goes with a dnn.mean@%s of as many values", path, io->name, io->name);
        rc = 1;
    }
    if (rc || !stats[0]) {
        free(stats[0]);
        free(stats[1]);
        return rc;
    }
    free(r->prep.mean[s]);
    free(r->prep.std[s]);
    r->prep.mean[s] = stats[0];
    r->prep.std[s] = stats[1];
    r->prep.groups[s] = groups[0];
    return 0;
}

/* Reads the preprocessing (META_PREP) and the class names (META_NAMES)
 * back from a weights or checkpoint image. Names given by --class-names
 * stay, with a note when the file's differ. */
static int meta_from(Run *r, const void *buf, size_t len, const char *path, int what) {
    const dnn_program *p = r->p;
    uint64_t header = 0; /* the header's length bounds every value */
    for (int b = 7; b >= 0 && len >= 8; b--)
        header = header << 8 | ((const unsigned char *)buf)[b];
    size_t cap = (header < len ? (size_t)header : len) + 1;
    char *text = xcalloc(cap, 1);
    int rc = 0;
    if ((what & META_PREP) && dnn_st_metadata(buf, len, "dnn.scale", text, cap) == DNN_OK) {
        char *end;
        r->prep.scale = strtod(text, &end);
        if (end == text || *end || !isfinite(r->prep.scale) || !(r->prep.scale > 0)) {
            fail("%s: dnn.scale is damaged: '%s' is not a positive number", path, text);
            rc = 1;
        }
    }
    for (int s = 0; s < p->ninputs && !rc && (what & META_PREP); s++)
        rc = stats_from(r, buf, len, path, s, text, cap);
    for (int s = p->ninputs; s < p->ninputs + p->ntargets && !rc && (what & META_NAMES); s++) {
        const dnn_io *io = dnn_slot_io(p, s);
        char *key = names_key(p, s);
        int found = io->classes && dnn_st_metadata(buf, len, key, text, cap) == DNN_OK;
        free(key);
        if (!found)
            continue;
        char **names = xcalloc((size_t)io->classes + 1, sizeof(char *));
        int n = 0;
        for (char *q = text, *end; q; q = end ? end + 1 : NULL, n++) {
            end = strchr(q, '\n');
            if (end)
                *end = 0;
            if (n < io->classes)
                names[n] = *q ? q : NULL;
        }
        Classes *k = &r->classes;
        if (n > io->classes) {
            fail("%s names %d classes of '%s', which has %d", path, n, io->name, io->classes);
            rc = 1;
        } else if (!k->names[s]) {
            dnn_classes_set(k, s, io->classes, names, n, path);
        } else {
            int same = 1;
            for (int c = 0; c < io->classes; c++)
                same &= (!names[c] && !k->names[s][c]) ||
                        (names[c] && k->names[s][c] && !strcmp(names[c], k->names[s][c]));
            if (!same) {
                Classes saved = {0};
                dnn_classes_set(&saved, s, io->classes, names, n, path);
                note("%s replaces the class names of '%s' in %s (%s)", k->from[s], io->name, path,
                     dnn_classes_list(&saved, s));
                dnn_classes_free(&saved);
            }
        }
        free(names);
    }
    free(text);
    return rc;
}

/* The whole file at path ('-': standard input) into *buf (malloc'd); 1 after a message saying why not. */
int dnn_read_whole(const char *path, void **buf, size_t *len) {
    struct stat st;
    errno = 0;
    int rc = dnn_read_input(path, buf, len);
    if (rc == DNN_OK)
        return 0;
    if (rc == DNN_E_SPACE)
        fail("cannot read '%s': out of memory", dnn_shown(path));
    else if (errno || !strcmp(path, "-") || stat(path, &st) != 0)
        fail("cannot read '%s': %s", dnn_shown(path), strerror(errno));
    else
        fail("cannot read '%s': %s", path, S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
    return 1;
}

/* Tensor pointers of the model, in NAME_tensors order. */
void dnn_tensor_ptrs(const Run *r, float **dst) {
    for (int i = 0; i < r->p->num_tensors; i++)
        dst[i] = r->p->tensor(r->m, i);
}

/* Loads the weights at path into the model, and what of its metadata
 * meta_from reads (META_PREP, META_NAMES). */
int dnn_load_weights(Run *r, const char *path, int what) {
    void *buf;
    size_t len;
    if (dnn_read_whole(path, &buf, &len))
        return 1;
    path = dnn_shown(path);
    float **dst = xcalloc((size_t)r->p->num_tensors, sizeof(float *));
    dnn_tensor_ptrs(r, dst);
    int rc = dnn_safetensors_load(r->p->tensors, dst, r->p->num_tensors, buf, len);
    if (rc != DNN_OK) {
        char why[512];
        if (dnn_st_metadata(buf, len, "dnn.format", why, sizeof why) == DNN_OK && !strcmp(why, CKPT_FORMAT)) {
            fail("%s is a checkpoint (for --resume), not a weights file", path);
            free(dst);
            free(buf);
            return 1;
        }
        dnn_safetensors_check(r->p->tensors, r->p->num_tensors, buf, len, why, sizeof why);
        fail("%s: %s", path, why);
        note("the file must hold exactly the model's tensors (see '%s --help' and docs/training.md)", dnn_prog_name);
    } else
        rc = meta_from(r, buf, len, path, what);
    free(dst);
    free(buf);
    return rc != 0;
}

/* train: before the data is read, what it takes from --resume's checkpoint
 * `from` (the preprocessing and the class names: the run goes on as it
 * was) or else from --weights (the class names, so that the same labels
 * keep their classes). */
int dnn_train_meta(Run *r, const char *from) {
    const char *path = from ? from : r->o.weights;
    void *buf;
    size_t len;
    if (!path)
        return 0;
    if (dnn_read_whole(path, &buf, &len))
        return 1;
    int rc = meta_from(r, buf, len, dnn_shown(path), from ? META_PREP | META_NAMES : META_NAMES);
    free(buf);
    return rc;
}

int dnn_save_weights(const Run *r, const char *path) {
    const float **src = xcalloc((size_t)r->p->num_tensors, sizeof(float *));
    dnn_tensor_ptrs(r, (float **)src);
    Meta mt = {0};
    dnn_prep_meta(r, &mt);
    size_t len = dnn_safetensors_save_meta(r->p->tensors, src, r->p->num_tensors, mt.kv, mt.n, NULL, 0);
    void *buf = xcalloc(len, 1);
    dnn_safetensors_save_meta(r->p->tensors, src, r->p->num_tensors, mt.kv, mt.n, buf, len);
    int rc = dnn_write_file_atomic(path, buf, len);
    if (rc != DNN_OK)
        fail("cannot write '%s': %s", path, strerror(errno));
    dnn_meta_free(&mt);
    free(buf);
    free(src);
    return rc != DNN_OK;
}

/* ---- starting weights: the init rules, --weights, --init-from -------------------- */

static int init_from(Run *r, const char *path);

/* The model as a run starts: initialised from the seed, then --weights (all
 * of the model's tensors, and what of their metadata `what` says) or
 * --init-from (those that fit). 0, or 1. */
int dnn_start_weights(Run *r, uint64_t seed, int what) {
    r->p->init(r->m, seed);
    if (r->o.weights)
        return dnn_load_weights(r, r->o.weights, what);
    return r->o.init_from ? init_from(r, r->o.init_from) : 0;
}

/* --init-map FROM=TO: the file's name for the model's tensor `name` — the
 * first map whose TO starts the name gives FROM and the rest (from malloc). */
static char *mapped_name(const Pairs *maps, const char *name) {
    for (int i = 0; i < maps->n; i++) {
        const char *eq = strchr(maps->v[i], '=');
        size_t to = strlen(eq + 1);
        if (!strncmp(name, eq + 1, to))
            return text_of("%.*s%s", (int)(eq - maps->v[i]), maps->v[i], name + to);
    }
    return strdup(name);
}

static const char *shape_text(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < rank && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", k ? ", " : "", (long long)dims[k]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* --init-from FILE: each of the model's tensors takes the file's tensor of
 * its name (after --init-map) when the shapes agree, and keeps its initial
 * values otherwise; a report says which were loaded, kept or did not fit,
 * and which of the file's were not used. 0, or 1 when nothing fits. */
static int init_from(Run *r, const char *path) {
    const dnn_program *p = r->p;
    void *buf;
    size_t len;
    if (dnn_read_whole(path, &buf, &len))
        return 1;
    path = dnn_shown(path);
    int count = dnn_st_count(buf, len), loaded = 0, kept = 0, misfit = 0, rc = 0;
    if (count < 0) {
        fail("%s: %s (--init-from reads a weights file: safetensors)", path, dnn_strerror(count));
        free(buf);
        return 1;
    }
    char **want = xcalloc((size_t)p->num_tensors, sizeof(char *));
    long values = 0, total = 0;
    printf("initial weights from %s:\n", path);
    for (int i = 0; i < p->num_tensors && !rc; i++) {
        const dnn_tensor_info *t = &p->tensors[i];
        int64_t dims[4] = {t->shape[0], t->shape[1], t->shape[2], t->shape[3]};
        char model[64], file[64], from[256] = "";
        want[i] = mapped_name(&r->o.init_maps, t->name);
        if (strcmp(want[i], t->name))
            snprintf(from, sizeof from, " from %s", want[i]);
        shape_text(model, sizeof model, t->rank, dims);
        total += t->size;
        dnn_st_view v;
        int found = dnn_st_find(buf, len, want[i], &v);
        if (found == DNN_E_MISSING) {
            if (*from)
                printf("  kept         %s %s: no %s in the file\n", t->name, model, want[i]);
            else
                printf("  kept         %s %s: not in the file\n", t->name, model);
            kept++;
            continue;
        }
        if (found != DNN_OK) {
            fail("%s: %s", path, dnn_strerror(found));
            rc = 1;
            break;
        }
        int fits = v.rank == t->rank && (v.dtype == DNN_DT_F32 || v.dtype == DNN_DT_I64);
        for (int k = 0; k < v.rank && fits; k++)
            fits = v.shape[k] == dims[k];
        if (!fits) {
            printf("  did not fit  %s: file %s%s%s, model %s\n", t->name, shape_text(file, sizeof file, v.rank, v.shape),
                   v.dtype == DNN_DT_F32 || v.dtype == DNN_DT_I64 ? "" : " (not F32)", from, model);
            misfit++;
            continue;
        }
        rc = dnn_ckpt_array(buf, len, want[i], p->tensor(r->m, i), (size_t)t->size, path);
        printf("  loaded       %s %s%s\n", t->name, model, from);
        loaded++;
        values += t->size;
    }
    /* the file's tensors no model tensor asked for */
    int unused = 0;
    for (int j = 0; j < count && !rc; j++) {
        dnn_st_view v;
        int asked = dnn_st_at(buf, len, j, &v) != DNN_OK;
        for (int i = 0; i < p->num_tensors && !asked; i++)
            asked = strlen(want[i]) == v.name_len && !memcmp(want[i], v.name, v.name_len);
        if (!asked && unused++ < 8)
            printf("%s%.*s", unused == 1 ? "  not used     " : ", ", (int)v.name_len, v.name);
    }
    if (unused > 8)
        printf(", ... (%d of the file's tensors)", unused);
    if (unused)
        printf("\n");
    if (!rc)
        printf("  %d of %d tensors loaded (%ld of %ld values), %d kept, %d did not fit\n", loaded, p->num_tensors, values,
               total, kept, misfit);
    if (!rc && !loaded) {
        fail("%s: none of its tensors fits model '%s'%s", path, p->name,
             r->o.init_maps.n ? "; check --init-map" : "; if only the names differ, map them with --init-map FROM=TO");
        rc = 1;
    }
    /* the preprocessing does not come along: say when it differs (the usual mistake in transfer learning) */
    char text[64], *mean = key_for("mean", p->inputs[0].name), *std = key_for("std", p->inputs[0].name);
    if (!rc && dnn_st_metadata(buf, len, "dnn.scale", text, sizeof text) == DNN_OK && atof(text) != r->prep.scale)
        note("%s was trained on inputs multiplied by %g (--scale), this run multiplies them by %g", path, atof(text),
             r->prep.scale);
    static const char *const option[] = {"--standardize or --center", "--center", "--standardize"};
    static const char *const does[] = {"neither standardizes nor centres", "centres", "standardizes"};
    int was = dnn_st_metadata(buf, len, std, text, 1) != DNN_E_MISSING     ? 2
              : dnn_st_metadata(buf, len, mean, text, 1) != DNN_E_MISSING ? 1
                                                                          : 0;
    int now = r->o.standardize ? 2 : r->o.center ? 1 : 0;
    if (!rc && was != now)
        note("%s was trained with%s %s, this run %s its inputs", path, was ? "" : "out", option[was ? was : now],
             does[now]);
    free(mean);
    free(std);
    for (int i = 0; i < p->num_tensors; i++)
        free(want[i]);
    free(want);
    free(buf);
    return rc;
}

/* Writes the log and the curves of the rows so far; 0, or 3 after a message. */
