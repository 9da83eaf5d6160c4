/* load.c — the training program's data: files (and standard input) into
 * a Data of per-slot arrays, CSV columns matched to inputs and targets,
 * class names, and the preprocessing kept in the weights file. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "dnn_data.h"
#include "dnn_host.h"

/* ---- standard input ('-') ----------------------------------------------------------
 * Any one file that is read may be '-'. Data files are told apart by their
 * names (.csv/.tsv/.txt, .npy, IDX otherwise), standard input by its first
 * bytes; its readers take a path, so it is copied to a temporary file first. */

typedef enum DataKind { DATA_CSV, DATA_NPY, DATA_IDX } DataKind;

const char *dnn_shown(const char *path) { return strcmp(path, "-") ? path : "<stdin>"; }

static DataKind data_kind(const char *path) {
    if (ends_with(path, ".csv") || ends_with(path, ".tsv") || ends_with(path, ".txt"))
        return DATA_CSV;
    return ends_with(path, ".npy") ? DATA_NPY : DATA_IDX;
}

/* The whole of a file, or of standard input for "-", in a buffer from malloc;
 * a DNN_E* code with errno set on failure. Standard input is read once and
 * kept, so that each of its readers (train takes --weights' class names
 * before it loads the tensors) gets a copy. */
int dnn_read_input(const char *path, void **buf, size_t *len) {
    static char *input; /* standard input, once read */
    static size_t input_len;
    if (strcmp(path, "-"))
        return dnn_read_file_alloc(path, buf, len);
    if (!input) {
        if (isatty(0))
            note("reading standard input (end it with ^D)");
        size_t cap = 1 << 16, n = 0;
        char *b = xcalloc(cap, 1);
        for (size_t got; (got = fread(b + n, 1, cap - n, stdin)) > 0;)
            if ((n += got) == cap) {
                char *bigger = cap < SIZE_MAX / 2 ? realloc(b, cap *= 2) : NULL;
                if (!bigger) {
                    free(b);
                    errno = ENOMEM;
                    return DNN_E_SPACE;
                }
                b = bigger;
            }
        if (ferror(stdin)) {
            free(b);
            return DNN_E_IO;
        }
        input = b;
        input_len = n;
    }
    *buf = xcalloc(input_len, 1);
    memcpy(*buf, input, input_len);
    *len = input_len;
    return DNN_OK;
}

/* Standard input in a temporary file (which the caller removes and frees), its kind
 * told by its first bytes: NumPy's magic, gzip's or IDX's two zero bytes, else CSV. */
static char *stdin_to_file(DataKind *kind) {
    void *buf;
    size_t len;
    if (dnn_read_input("-", &buf, &len) != DNN_OK) {
        fail("cannot read standard input: %s", strerror(errno));
        return NULL;
    }
    const unsigned char *b = buf;
    *kind = len >= 6 && !memcmp(b, "\x93NUMPY", 6) ? DATA_NPY
            : len >= 2 && ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 0 && b[1] == 0)) ? DATA_IDX
                                                                                     : DATA_CSV;
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = text_of("%s/dnn-stdin-XXXXXX", dir);
    int fd = mkstemp(path), ok = fd >= 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t put = write(fd, b + done, len - done);
        ok = put > 0;
        done += ok ? (size_t)put : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok) {
        fail("cannot copy standard input to '%s': %s (set TMPDIR to a writable directory)", path, strerror(errno));
        if (fd >= 0)
            remove(path);
        free(path);
        path = NULL;
    }
    free(buf);
    return path;
}

/* msg with the temporary file's name `file` replaced by `path` (in place). */
static const char *renamed(char *msg, const char *file, const char *path) {
    size_t a = strlen(file), b = strlen(path);
    for (char *at = strstr(msg, file); at && strcmp(file, path) && b <= a; at = strstr(at + b, file)) {
        memcpy(at, path, b);
        memmove(at + b, at + a, strlen(at + a) + 1);
    }
    return msg;
}

/* ---- data sets ---------------------------------------------------------------------- */

const dnn_io *dnn_slot_io(const dnn_program *p, int s) {
    return s < p->ninputs ? &p->inputs[s] : &p->targets[s - p->ninputs];
}

void dnn_data_free(Data *d) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(d->x[s]);
        free(d->u8[s]);
        free(d->y[s]);
    }
    memset(d, 0, sizeof *d);
}

/* Sets slot s from count values per sample (vals[i*stride + col[k]] for
 * k < size), checking class indices. where(i) names sample i in messages. */
typedef struct Source {
    const char *path;
    const float *vals;    /* row-major */
    long rows;
    int stride;           /* floats per row */
    const int *line;      /* CSV: file line of each row, or NULL */
} Source;

static int place(const dnn_program *p, Data *d, int s, const Source *src, const int *cols) {
    const dnn_io *io = dnn_slot_io(p, s);
    if (d->count && src->rows != d->count) {
        fail("%s: %ld samples, but %s has %ld from the files before it", src->path, src->rows, dnn_slot_io(p, 0)->name,
             d->count);
        return 1;
    }
    d->count = src->rows;
    if (io->classes) {
        d->y[s] = xcalloc((size_t)src->rows, sizeof(int32_t));
        for (long i = 0; i < src->rows; i++) {
            float v = src->vals[i * src->stride + cols[0]];
            if (!(v >= 0 && v < io->classes && v == floorf(v))) {
                char where[64];
                if (src->line)
                    snprintf(where, sizeof where, "%s:%d", src->path, src->line[i]);
                else
                    snprintf(where, sizeof where, "%s: sample %ld", src->path, i);
                fail("%s: label %g is not a class of '%s' (0..%d)", where, v, io->name, io->classes - 1);
                return 1;
            }
            d->y[s][i] = (int32_t)v;
        }
    } else {
        d->x[s] = xcalloc((size_t)src->rows * (size_t)io->size, sizeof(float));
        for (long i = 0; i < src->rows; i++)
            for (int k = 0; k < io->size; k++)
                d->x[s][i * io->size + k] = src->vals[i * src->stride + cols[k]];
    }
    return 0;
}

/* "2-5,species" → column indices; returns how many, or -1 after a message. */
static int parse_columns(const char *spec, const dnn_csv *c, const char *path, int *cols, int max) {
    char *list = strdup(spec), *save = NULL;
    int n = 0;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        int a, b, used = 0;
        if (sscanf(f, "%d-%d%n", &a, &b, &used) == 2 && !f[used]) {
        } else if (sscanf(f, "%d%n", &a, &used) == 1 && !f[used]) {
            b = a;
        } else if ((a = dnn_csv_column(c, f)) >= 0) {
            a = b = a + 1;
        } else {
            fail("%s has no column '%s'%s", path, f, c->header ? "" : " (it has no header line)");
            free(list);
            return -1;
        }
        if (a < 1 || b < a || b > c->cols) {
            fail("%s: columns %s are not within 1..%d", path, f, c->cols);
            free(list);
            return -1;
        }
        for (int k = a; k <= b; k++) {
            if (n == max) {
                free(list);
                return max + 1;
            }
            cols[n++] = k - 1;
        }
    }
    free(list);
    return n;
}

static const char *find_map(const Options *o, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < o->maps.n; i++)
        if (!strncmp(o->maps.v[i], name, len) && o->maps.v[i][len] == '=')
            return o->maps.v[i] + len + 1;
    return NULL;
}

static void classes_drop(Classes *k, int s) {
    for (int c = 0; c < k->count[s]; c++)
        free(k->names[s][c]);
    free(k->names[s]);
    free(k->from[s]);
    k->names[s] = NULL;
    k->from[s] = NULL;
    k->count[s] = 0;
}

void dnn_classes_free(Classes *k) {
    for (int s = 0; s < MAX_SLOTS; s++)
        classes_drop(k, s);
}

/* Slot s's class names: names[0..n) (NULL: unnamed), said to come from `from`. */
void dnn_classes_set(Classes *k, int s, int classes, char *const *names, int n, const char *from) {
    classes_drop(k, s);
    k->names[s] = xcalloc((size_t)classes, sizeof(char *));
    k->count[s] = classes;
    for (int c = 0; c < n && c < classes; c++)
        k->names[s][c] = names[c] ? strdup(names[c]) : NULL;
    k->from[s] = strdup(from);
}

/* "cat, dog, bird" (the first few), for messages. */
const char *dnn_classes_list(const Classes *k, int s) {
    static char text[256];
    size_t n = 0;
    text[0] = 0;
    for (int c = 0; c < k->count[s] && n < 200; c++)
        if (k->names[s][c])
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", n ? ", " : "", k->names[s][c]);
    if (n >= 200)
        snprintf(text + 200, sizeof text - 200, ", ...");
    return text;
}

/* A class column of text labels: each label becomes the index of its class
 * name, in place in c's data. Without names yet, while the training data
 * is read, the labels in sorted order are the names. */
static int map_labels(const dnn_program *p, Classes *k, const char *path, dnn_csv *c, int s, int col) {
    const dnn_io *io = dnn_slot_io(p, s);
    int nlevels = c->nlevels[col];
    if (!k->names[s] && !k->learn) {
        fail("%s: column %d holds text labels ('%s', ...), but no class names of '%s' are known to give them their "
             "indices", path, col + 1, c->levels[col][0], io->name);
        note("give --class-names NAME,... in the order of the model's classes (the weights hold none)");
        return 1;
    }
    if (!k->names[s]) {
        if (nlevels > io->classes) {
            fail("%s: column %d has %d different labels, but '%s' has %d classes", path, col + 1, nlevels, io->name,
                 io->classes);
            return 1;
        }
        dnn_classes_set(k, s, io->classes, c->levels[col], nlevels, path);
        return 0; /* the labels' indices are the class indices */
    }
    int *index = xcalloc((size_t)nlevels, sizeof(int));
    for (int v = 0; v < nlevels; v++) {
        index[v] = -1;
        for (int cl = 0; cl < k->count[s] && index[v] < 0; cl++)
            if (k->names[s][cl] && !strcmp(k->names[s][cl], c->levels[col][v]))
                index[v] = cl;
    }
    for (int i = 0; i < c->rows; i++) {
        float *v = &c->data[(size_t)i * (size_t)c->cols + (size_t)col];
        if (index[(int)*v] < 0) {
            fail("%s:%d: label '%s' is not a class of '%s' (%s, from %s)", path, c->line[i], c->levels[col][(int)*v],
                 io->name, dnn_classes_list(k, s), k->from[s]);
            free(index);
            return 1;
        }
        *v = (float)index[(int)*v];
    }
    free(index);
    return 0;
}

/* The header columns that name slot io: one called like it (a one-value
 * slot), or NAME.0 ... NAME.(size-1) as predict writes them. 1 when all are
 * there, their indices in cols[]. */
static int named_columns(const dnn_csv *c, const dnn_io *io, int *cols) {
    if (!c->header)
        return 0;
    if (io->size == 1)
        return (cols[0] = dnn_csv_column(c, io->name)) >= 0;
    char *name = xcalloc(strlen(io->name) + 16, 1);
    int k = 0;
    for (; k < io->size; k++) {
        sprintf(name, "%s.%d", io->name, k);
        if ((cols[k] = dnn_csv_column(c, name)) < 0)
            break;
    }
    free(name);
    return k == io->size;
}

/* Whether a header name names a value of one of slots first..all-1: NAME
 * of a one-value slot, or NAME.k of a larger one (*slot, *elem). */
static int slot_element(const dnn_program *p, const char *name, int first, int all, int *slot, int *elem) {
    for (int t = first; t < all; t++) {
        const dnn_io *io = dnn_slot_io(p, t);
        size_t len = strlen(io->name);
        if (strncmp(name, io->name, len))
            continue;
        if (io->size == 1 && !name[len]) {
            *slot = t, *elem = 0;
            return 1;
        }
        char *rest = "";
        long k = name[len] == '.' && name[len + 1] >= '0' && name[len + 1] <= '9' ? strtol(name + len + 1, &rest, 10) : -1;
        if (io->size > 1 && k >= 0 && k < io->size && !*rest) {
            *slot = t, *elem = (int)k;
            return 1;
        }
    }
    return 0;
}

/* Appends "NAME" or "NAME.0 ... NAME.3" (how a header names slot io) to text. */
static size_t slot_names(char *text, size_t cap, size_t n, const dnn_io *io) {
    if (io->size == 1)
        return n + (size_t)snprintf(text + n, cap - n, "%s", io->name);
    return n + (size_t)snprintf(text + n, cap - n, "%s.0%s%s.%d", io->name, io->size > 2 ? " ... " : ", ", io->name,
                                io->size - 1);
}

/* The error of a CSV whose columns are given for some of slots first..all-1
 * (by --map or header names: cols[t] for t < end, header names after), or
 * for none, while the rest do not line up by position: the header, what
 * was matched and what is left over on both sides. */
static void columns_mixed(const dnn_program *p, const Options *o, const char *path, const dnn_csv *c, int first,
                          int all, int *const *cols, int end) {
    size_t cap = 4096, n = 0, m = 0, l = 0, f = 0, h = 0;
    char *header = xcalloc(cap, 1), *matched = xcalloc(cap, 1), *slots = xcalloc(cap, 1), *spare = xcalloc(cap, 1);
    char *how = xcalloc(cap, 1), *used = xcalloc((size_t)c->cols, 1);
    int *named = xcalloc((size_t)c->cols + 64, sizeof(int)), nspare = 0;
    for (int j = 0; c->header && j < c->cols && n < cap - 256; j++)
        n += (size_t)snprintf(header + n, cap - n, "%s%s", j ? "," : "", c->header[j]);
    for (int s = first; s < all && h < cap - 256 && m < cap - 256 && l < cap - 256; s++) {
        const dnn_io *io = dnn_slot_io(p, s);
        h = slot_names(how, cap, h + (size_t)snprintf(how + h, cap - h, "%s", s > first ? ", " : ""), io);
        const int *at = s < end ? cols[s] : io->size <= c->cols && named_columns(c, io, named) ? named : NULL;
        if (!at) {
            l += (size_t)snprintf(slots + l, cap - l, "%s%s (%d column%s)", l ? ", " : "", io->name, io->size,
                                  io->size == 1 ? "" : "s");
            continue;
        }
        m += (size_t)snprintf(matched + m, cap - m, "%s%s = column%s ", m ? ", " : "", io->name, io->size > 1 ? "s" : "");
        for (int k = 0; k < io->size && m < cap - 256; k++) {
            used[at[k]] = 1;
            m += (size_t)snprintf(matched + m, cap - m, "%s%d", k ? "," : "", at[k] + 1);
        }
        if (s < end && find_map(o, io->name))
            m += (size_t)snprintf(matched + m, cap - m, " (--map)");
    }
    for (int j = 0; j < c->cols && f < cap - 256; j++)
        if (!used[j] && ++nspare)
            f += (size_t)snprintf(spare + f, cap - f, "%s%d (%s)", f ? ", " : "", j + 1,
                                  c->header && c->header[j][0] ? c->header[j] : "no name");
    int want = 0;
    for (int s = first; s < all; s++)
        want += dnn_slot_io(p, s)->size;
    if (m)
        fail("%s: %s the columns of some of the model's inputs and targets but not all, and the rest do not line up "
             "by position", path, end > first ? "--map or the header gives" : "the header names");
    else
        fail("%s: its %d columns do not line up by position with the %d of the model's inputs and targets, and the "
             "header names none of them", path, c->cols, want);
    note("header: %s", c->header ? header : "none (the first line is data)");
    note("matched: %s", m ? matched : "nothing");
    note("left over: the model's %s; the file's column%s %s", l ? slots : "nothing", nspare == 1 ? "" : "s",
         nspare ? spare : "none");
    note("name every column (%s), or choose them with --map NAME=COLUMNS", how);
    free(header);
    free(matched);
    free(slots);
    free(spare);
    free(how);
    free(used);
    free(named);
}

/* Fills slot s from columns cols[] of c: text labels become class indices,
 * text where numbers belong is an error. */
static int fill_from_csv(const dnn_program *p, Classes *k, Data *d, int s, const char *path, dnn_csv *c, const int *cols) {
    const dnn_io *io = dnn_slot_io(p, s);
    if (io->classes && c->levels[cols[0]]) {
        if (map_labels(p, k, path, c, s, cols[0]))
            return 1;
    } else if (!io->classes) {
        for (int j = 0; j < io->size; j++)
            if (c->levels[cols[j]]) {
                fail("%s: column %d holds text ('%s', ...), but '%s' takes numbers", path, cols[j] + 1,
                     c->levels[cols[j]][0], io->name);
                return 1;
            }
    }
    Source src = {path, c->data, c->rows, c->cols, c->line};
    return place(p, d, s, &src, cols);
}

/* How many rows of column j hold row 0's value. */
static int rows_like_first(const dnn_csv *c, int j) {
    int n = 0;
    for (int i = 0; i < c->rows; i++)
        n += c->data[(size_t)i * (size_t)c->cols + (size_t)j] == c->data[j];
    return n;
}

/* A file of text only has no header by the reader's rule (docs/data.md),
 * yet a first line that spells the name of a one-value slot of slots
 * first..all-1, a value no other line holds, is one: a labels file "kind /
 * cat / dog / ...". That line becomes the header; a label only it held is
 * dropped from the levels. */
static void text_header(const dnn_program *p, dnn_csv *c, int first, int all) {
    int names = 0;
    if (c->header || c->rows < 2)
        return;
    for (int j = 0; j < c->cols; j++)
        if (!c->levels[j])
            return;
    for (int j = 0; j < c->cols; j++)
        for (int t = first; t < all; t++)
            names |= dnn_slot_io(p, t)->size == 1 && !strcmp(c->levels[j][(int)c->data[j]], dnn_slot_io(p, t)->name) &&
                     rows_like_first(c, j) == 1;
    if (!names)
        return;
    c->header = xcalloc((size_t)c->cols, sizeof(char *));
    for (int j = 0; j < c->cols; j++) {
        int v = (int)c->data[j];
        c->header[j] = strdup(c->levels[j][v]);
        if (rows_like_first(c, j) > 1)
            continue;
        free(c->levels[j][v]);
        memmove(&c->levels[j][v], &c->levels[j][v + 1], sizeof(char *) * (size_t)(c->nlevels[j] - v - 1));
        c->nlevels[j]--;
        for (int i = 1; i < c->rows; i++) {
            float *x = &c->data[(size_t)i * (size_t)c->cols + (size_t)j];
            *x -= *x > (float)v;
        }
    }
    c->rows--;
    memmove(c->data, c->data + c->cols, sizeof(float) * (size_t)c->rows * (size_t)c->cols);
    memmove(c->line, c->line + 1, sizeof(int) * (size_t)c->rows);
}

/* A CSV file fills slots from *s on, either explicitly — every slot it
 * fills by --map or by header names (the next file fills the first slot
 * it has neither for) — or by position, the columns in order, which must
 * then be used up exactly (predict: but for the targets' columns) and
 * agree with any header name that is a slot's. `last`: no file follows.
 * The columns of every slot are settled and checked before any is read.
 * It reads `file` and calls it `path` (they differ for standard input). */
static int load_csv(const dnn_program *p, const Options *o, Classes *k, const char *file, const char *path, Data *d,
                    int *s, int nslots, int last) {
    dnn_csv c;
    char msg[512];
    if (dnn_csv_read(file, &c, msg, sizeof msg) != DNN_OK) {
        fail("%s", renamed(msg, file, path));
        return 1;
    }
    int first = *s, end = first, next_col = 0, rc = 0;
    int all = nslots == p->ninputs ? p->ninputs + p->ntargets : nslots; /* predict: the targets' names count too */
    int *cols[MAX_SLOTS] = {0}, *named = xcalloc((size_t)c.cols + 64, sizeof(int));
    text_header(p, &c, first, all);
    int explicit = find_map(o, dnn_slot_io(p, first)->name) || named_columns(&c, dnn_slot_io(p, first), named);
    for (; end < nslots && !rc; end++) { /* the columns of slots first..end-1 */
        const dnn_io *io = dnn_slot_io(p, end);
        const char *map = find_map(o, io->name);
        int n;
        cols[end] = xcalloc((size_t)c.cols + 64, sizeof(int));
        if (explicit) {
            if (map)
                n = parse_columns(map, &c, path, cols[end], c.cols);
            else if (io->size <= c.cols && named_columns(&c, io, cols[end]))
                n = io->size;
            else
                break; /* the next file fills it */
        } else {
            if (map || next_col + io->size > c.cols)
                break; /* the next file fills it */
            for (n = 0; n < io->size; n++)
                cols[end][n] = next_col + n;
            next_col += io->size;
        }
        if (n < 0) {
            rc = 1;
        } else if (n != io->size) {
            fail("%s: '%s' needs %d column%s, --map gives %d", path, io->name, io->size, io->size == 1 ? "" : "s", n);
            rc = 1;
        }
    }
    if (rc) {
        /* said */
    } else if (explicit) {
        if (end < nslots && last) {
            columns_mixed(p, o, path, &c, first, all, cols, end);
            rc = 1;
        }
    } else {
        /* by position: the columns used up, and every header name of a slot where that slot's columns are */
        int targets = 0; /* columns of the targets a predict does not read */
        for (int t = 0; t < p->ntargets; t++)
            targets += p->targets[t].size;
        int ignored = nslots == p->ninputs && end == nslots && c.cols - next_col == targets, agree = 1;
        /* Every header name of a slot's value (NAME, or NAME.k alone too) must
         * be where the positions put that value: `id,x.0,kind` for x[2] and
         * kind is not x = (id, x.0). */
        for (int j = 0; c.header && j < c.cols; j++) {
            int t, e;
            if (!slot_element(p, c.header[j], first, all, &t, &e))
                continue;
            int at = next_col; /* an ignored target's columns start after the inputs' */
            for (int u = end; u < t; u++)
                at += dnn_slot_io(p, u)->size;
            agree &= t < end ? cols[t][e] == j : ignored && at + e == j;
        }
        if (!agree || (next_col < c.cols && !ignored && c.header)) {
            columns_mixed(p, o, path, &c, first, all, cols, first);
            rc = 1;
        } else if (next_col < c.cols && !ignored) {
            if (end < nslots && !find_map(o, dnn_slot_io(p, end)->name))
                fail("%s: %d column%s left, but '%s' needs %d", path, c.cols - next_col,
                     c.cols - next_col == 1 ? "" : "s", dnn_slot_io(p, end)->name, dnn_slot_io(p, end)->size);
            else {
                fail("%s has %d columns; the model's %s take %d", path, c.cols,
                     nslots == p->ninputs ? "inputs" : "inputs and targets", next_col);
                note("choose columns with --map NAME=COLUMNS");
            }
            rc = 1;
        }
    }
    for (; *s < end && !rc; (*s)++)
        rc = fill_from_csv(p, k, d, *s, path, &c, cols[*s]);
    for (int t = 0; t < MAX_SLOTS; t++)
        free(cols[t]);
    free(named);
    dnn_csv_free(&c);
    return rc;
}

/* An IDX or .npy file fills slot *s; as load_csv. */
static int load_array(const dnn_program *p, const char *file, const char *path, int npy, Data *d, int *s) {
    const dnn_io *io = dnn_slot_io(p, *s);
    char msg[512];
    float *vals;
    long rows;
    size_t per;
    dnn_array a = {0};
    dnn_idx t = {0};
    int rc = npy ? dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) : dnn_idx_read_bytes(file, 0, 0, &t, msg, sizeof msg);
    if (rc != DNN_OK) {
        fail("%s", renamed(msg, file, path));
        return 1;
    }
    if (npy) {
        vals = a.data;
        rows = a.rank ? (long)a.dims[0] : 1;
        per = a.rank ? a.count / (size_t)(rows ? rows : 1) : 1;
    } else {
        rows = t.items;
        per = t.item_size;
        int own = *s < p->ninputs && !d->count && (long)per == io->size;
        if (t.bytes && own) { /* the first input's bytes are the slot: scaled as batches are gathered */
            d->count = rows;
            d->u8[*s] = t.bytes;
            t.bytes = NULL;
            (*s)++;
            dnn_idx_free(&t);
            return 0;
        }
        if (t.bytes) { /* elsewhere as floats */
            size_t n = (size_t)rows * per;
            t.data = xcalloc(n ? n : 1, sizeof(float));
            for (size_t i = 0; i < n; i++)
                t.data[i] = t.bytes[i];
        }
        vals = t.data;
    }
    if ((long)per != io->size) {
        fail("%s holds %zu value%s per sample, but '%s' takes %d%s", path, per, per == 1 ? "" : "s", io->name, io->size,
             io->classes ? " (a class index)" : "");
        rc = 1;
    } else {
        int *cols = xcalloc((size_t)io->size, sizeof(int));
        for (int k = 0; k < io->size; k++)
            cols[k] = k;
        Source src = {path, vals, rows, io->size, NULL};
        if (!io->classes && !d->count && vals) { /* the reader's array is the slot: take it, no copy */
            d->count = rows;
            d->x[*s] = vals;
            if (npy)
                a.data = NULL;
            else
                t.data = NULL;
        } else
            rc = place(p, d, *s, &src, cols);
        free(cols);
        (*s)++;
    }
    dnn_array_free(&a);
    dnn_idx_free(&t);
    return rc;
}

/* Byte slots as floats (the values as read), for the code that reads Data's floats directly. */
void dnn_data_floats(const dnn_program *p, Data *d) {
    for (int s = 0; s < d->nslots; s++)
        if (d->u8[s]) {
            size_t n = (size_t)d->count * (size_t)dnn_slot_io(p, s)->size;
            d->x[s] = xcalloc(n ? n : 1, sizeof(float));
            for (size_t i = 0; i < n; i++)
                d->x[s][i] = d->u8[s][i];
            free(d->u8[s]);
            d->u8[s] = NULL;
        }
}

/* Reads files into the first nslots slots (inputs, or inputs and targets);
 * text labels get the class indices of k's names (see Classes). */
int dnn_load_data(const dnn_program *p, const Options *o, Classes *k, const char *const *files, int nfiles,
                     int nslots, Data *d) {
    int s = 0;
    memset(d, 0, sizeof *d);
    d->nslots = nslots;
    if (!nfiles) {
        fail("no data files: give the files for %s", dnn_slot_io(p, 0)->name);
        return 1;
    }
    for (int f = 0; f < nfiles; f++) {
        if (s >= nslots) {
            fail("%s: more data files than the model's %s need", dnn_shown(files[f]), nslots > p->ninputs ? "inputs and targets" : "inputs");
            return 1;
        }
        int before = s, rc;
        const char *name = dnn_shown(files[f]);
        char *file = (char *)files[f];
        DataKind kind = data_kind(file);
        if (!strcmp(file, "-") && !(file = stdin_to_file(&kind)))
            return 1;
        rc = kind == DATA_CSV ? load_csv(p, o, k, file, name, d, &s, nslots, f + 1 == nfiles)
                              : load_array(p, file, name, kind == DATA_NPY, d, &s);
        if (file != files[f]) {
            remove(file);
            free(file);
        }
        if (rc || s == before)
            return 1;
    }
    if (s < nslots) {
        fail("no data for '%s': add a file for it (the files fill %s in order)", dnn_slot_io(p, s)->name,
             nslots > p->ninputs ? "the inputs, then the targets," : "the inputs");
        return 1;
    }
    if (d->count == 0) {
        fail("%s: no samples", dnn_shown(files[0]));
        return 1;
    }
    if (o->limit && o->limit < d->count)
        d->count = o->limit;
    return 0;
}

/* ---- preprocessing: --scale, --standardize and --center, kept in the weights file ---------- */

void dnn_prep_free(Prep *pr) {
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(pr->mean[s]);
        free(pr->std[s]);
        pr->mean[s] = pr->std[s] = NULL;
    }
}

void dnn_prep_apply(const dnn_program *p, const Prep *pr, Data *d) {
    for (int s = 0; s < p->ninputs; s++) {
        int size = p->inputs[s].size;
        if (d->u8[s]) { /* applied by dnn_batch_fill: the same arithmetic */
            for (int b = 0; b < 256; b++)
                d->lut[s][b] = (float)((float)b * pr->scale);
            d->mean[s] = pr->mean[s];
            d->std[s] = pr->std[s];
            continue;
        }
        for (long i = 0; i < d->count; i++)
            for (int k = 0; k < size; k++) {
                float *v = &d->x[s][i * size + k];
                *v = (float)(*v * pr->scale);
                if (pr->std[s])
                    *v = (*v - pr->mean[s][k]) / pr->std[s][k];
                else if (pr->mean[s])
                    *v = *v - pr->mean[s][k];
            }
    }
}

/* Element i of slot s as read (before any preprocessing). */
static float raw(const Data *d, int s, long i) { return d->u8[s] ? d->u8[s][i] : d->x[s][i]; }

/* The statistics of every input over samples idx[0..n): means, and with
 * `spread` standard deviations (population, as the mean of squared
 * deviations); per element, or per channel (`per` PER_CHANNEL). */
static void prep_fit(const dnn_program *p, Prep *pr, const Data *d, const long *idx, long n, int per, int spread) {
    for (int s = 0; s < p->ninputs; s++) {
        const dnn_io *io = &p->inputs[s];
        int size = io->size, groups = per == PER_CHANNEL && io->rank > 0 ? io->shape[0] : size, each = size / groups;
        free(pr->mean[s]);
        free(pr->std[s]);
        pr->mean[s] = xcalloc((size_t)size, sizeof(float));
        pr->std[s] = spread ? xcalloc((size_t)size, sizeof(float)) : NULL;
        pr->groups[s] = groups;
        for (int g = 0; g < groups; g++) {
            double sum = 0, sq = 0, count = (double)n * each;
            for (long i = 0; i < n; i++)
                for (int k = g * each; k < (g + 1) * each; k++)
                    sum += raw(d, s, idx[i] * size + k) * pr->scale;
            double mean = sum / count;
            for (long i = 0; i < n; i++)
                for (int k = g * each; k < (g + 1) * each; k++) {
                    double dv = raw(d, s, idx[i] * size + k) * pr->scale - mean;
                    sq += dv * dv;
                }
            double sd = sqrt(sq / count);
            for (int k = g * each; k < (g + 1) * each; k++) {
                pr->mean[s][k] = (float)mean;
                if (spread)
                    pr->std[s][k] = sd > 1e-12 ? (float)sd : 1.0f; /* a constant feature stays as it is */
            }
        }
    }
}

/* The options' statistics over idx[0..n), unless the preprocessing has them already (from a file). */
void dnn_prep_fit_options(const dnn_program *p, const Options *o, Prep *pr, const Data *d, const long *idx, long n) {
    for (int s = 0; s < p->ninputs; s++)
        if (pr->mean[s]) {
            if (o->standardize || o->center)
                note("the weights' statistics are used, not new ones of --%s", o->center ? "center" : "standardize");
            return;
        }
    if (o->standardize || o->center)
        prep_fit(p, pr, d, idx, n, o->standardize ? o->standardize : o->center, o->standardize != 0);
}
