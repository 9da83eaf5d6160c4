/* dnn_data.c — IDX files (gzip or plain), CSV tables and NumPy .npy arrays
 * into float tensors, and float arrays out to .npy; see dnn_data.h.
 *
 * An IDX file is a 4-byte magic — two zero bytes, an element type byte and
 * a rank byte — then `rank` big-endian u32 dims, then the elements, big-
 * endian, row-major. zlib's gzread reads a gzip stream and passes any other
 * file through unchanged, so one code path serves both. The header is read
 * and every limit checked before anything is allocated; the data is then
 * read in fixed chunks and converted straight into the float buffer, so a
 * 47 MB byte file never sits in memory beside its 188 MB of floats (or,
 * with dnn_idx_read_bytes, inflated straight into a byte array). Each
 * failure returns its DNN_E* code and says in msg which file, and where it
 * applies which item, is wrong. zlib is called from this file only, so
 * programs that never read a data set need not link it.
 *
 * A CSV file is mapped (or read) whole into memory. Its first record gives
 * the field count; one scan then checks every record and parses every
 * field into the float table (a fast exact path for plain decimals, strtod
 * otherwise), sized from a bound on the field count, and learns which
 * columns are textual; a second scan, only when there is a header or a
 * textual column, collects those strings. Whether the first line is a
 * header is decided after the first scan, when the columns' kinds are
 * known. A .npy file is read like an IDX file: the header, then
 * the data in fixed chunks converted straight into the float buffer.
 */
#define _POSIX_C_SOURCE 200809L /* mmap, posix_madvise, fileno */
#include "dnn_data.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dnn_host.h"

/* Writes the message into msg (when there is one) and returns code. */
static int say(char *msg, size_t msgcap, int code, const char *fmt, ...) {
    if (msg && msgcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msgcap, fmt, ap);
        va_end(ap);
    }
    return code;
}


static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads up to len bytes. A short count means the stream ended; a zlib error
 * other than "unexpected end of file" (a cut gzip stream) is DNN_E_IO. */
static int read_bytes(gzFile f, void *buf, unsigned len, unsigned *got, const char *path, char *msg,
                      size_t msgcap) {
    int n = gzread(f, buf, len);
    int zerr;
    const char *why = gzerror(f, &zerr);
    if (n < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR)) {
        size_t skip = strlen(path); /* zlib's message starts "PATH: " */
        if (strncmp(why, path, skip) == 0 && strncmp(why + skip, ": ", 2) == 0)
            why += skip + 2;
        return dnn_errorf(msg, msgcap, DNN_E_IO, path, "%s", zerr == Z_ERRNO ? strerror(errno) : why);
    }
    *got = (unsigned)n;
    return DNN_OK;
}

/* Reads and checks the magic and dims into t (data not yet read). */
static int read_header(gzFile f, const char *path, int want_rank, dnn_idx *t, char *msg, size_t msgcap) {
    unsigned char head[4 + 4 * DNN_IDX_MAX_RANK];
    unsigned got;
    int rc = read_bytes(f, head, 4, &got, path, msg, msgcap);
    if (rc != DNN_OK)
        return rc;
    if (got < 4)
        return dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %u of 4 magic bytes", got);
    if (head[0] != 0 || head[1] != 0)
        return dnn_errorf(msg, msgcap, DNN_E_HEADER, path,
                    "not an IDX file (magic %02x %02x %02x %02x, want 00 00 type rank)", head[0], head[1], head[2],
                    head[3]);
    t->type = head[2];
    t->rank = head[3];
    if (t->type != DNN_IDX_U8 && t->type != DNN_IDX_F32)
        return dnn_errorf(msg, msgcap, DNN_E_DTYPE, path, "element type 0x%02x is not supported (0x08 u8, 0x0d f32)",
                    t->type);
    if (t->rank == 0 || t->rank > DNN_IDX_MAX_RANK)
        return dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "rank %d is not 1..%d", t->rank, DNN_IDX_MAX_RANK);
    if (want_rank && t->rank != want_rank)
        return dnn_errorf(msg, msgcap, DNN_E_SHAPE, path, "rank %d, want %d", t->rank, want_rank);

    unsigned need = 4u * (unsigned)t->rank;
    rc = read_bytes(f, head + 4, need, &got, path, msg, msgcap);
    if (rc != DNN_OK)
        return rc;
    if (got < need)
        return dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %u of %u dimension bytes", got, need);
    /* Every dim must fit an int, and the product of the non-zero ones a
     * size_t count of floats (so item_size cannot overflow either). */
    uint64_t total = 1;
    for (int i = 0; i < t->rank; i++) {
        uint32_t d = be32(head + 4 + 4 * i);
        if (d > INT_MAX)
            return dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "dimension %d is %lu, more than %d", i, (unsigned long)d,
                        INT_MAX);
        t->dims[i] = (int)d;
        if (d != 0 && total > SIZE_MAX / sizeof(float) / d)
            return dnn_errorf(msg, msgcap, DNN_E_HEADER, path,
                        "dimensions overflow: the product of the first %d is too large", i + 1);
        total *= d ? d : 1;
    }
    t->item_size = 1;
    for (int i = 1; i < t->rank; i++)
        t->item_size *= (size_t)t->dims[i];
    return DNN_OK;
}

/* Room for more of the `count` elements (of elem bytes) a header
 * announces: buf grows (to at most count, at least 1) as the elements
 * arrive, so a short file whose header claims terabytes ends as
 * "truncated", not as a huge allocation. Returns the new array, or NULL
 * (out of memory; buf is still the caller's). */
static void *grow(void *buf, size_t *cap, size_t count, size_t elem) {
    size_t more = *cap ? (*cap < count - *cap ? 2 * *cap : count) : (count < 16384 ? count : 16384);
    void *bigger = realloc(buf, (more ? more : 1) * elem);
    if (bigger)
        *cap = more;
    return bigger;
}

/* Reads t->items items into t->data, scaling each element, or as they are
 * into t->bytes (u8 files, with want_bytes). The array grows as the bytes
 * arrive, so a short file whose header claims terabytes ends as
 * "truncated", not as a huge allocation. */
static int read_data(gzFile f, const char *path, float scale, int want_bytes, dnn_idx *t, char *msg, size_t msgcap) {
    size_t width = t->type == DNN_IDX_U8 ? 1 : 4, elem = want_bytes ? 1 : sizeof(float);
    size_t count = (size_t)t->items * t->item_size, done = 0, cap = 0;
    unsigned char chunk[1 << 16];
    for (;;) {
        if (done == cap && (done < count || !(t->data || t->bytes))) { /* an empty file still gets a pointer to free */
            void *bigger = grow(want_bytes ? (void *)t->bytes : (void *)t->data, &cap, count, elem);
            if (!bigger)
                return dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for %zu elements", count);
            if (want_bytes)
                t->bytes = bigger;
            else
                t->data = bigger;
        }
        if (done >= count)
            return DNN_OK;
        size_t room = want_bytes ? 1u << 24 : sizeof chunk; /* bytes inflate straight into the array, 16 MB a call */
        size_t want = (cap - done) * width < room ? (cap - done) * width : room;
        unsigned got;
        int rc = read_bytes(f, want_bytes ? t->bytes + done : chunk, (unsigned)want, &got, path, msg, msgcap);
        if (rc != DNN_OK)
            return rc;
        if (want_bytes)
            done += got;
        for (size_t i = 0; !want_bytes && i + width <= got; i += width) {
            float v;
            if (width == 1) {
                v = chunk[i];
            } else {
                uint32_t bits = be32(chunk + i); /* IEEE single, big-endian in the file */
                memcpy(&v, &bits, sizeof v);
                if (!isfinite(v)) /* as .npy and CSV: a NaN would poison training silently */
                    return dnn_errorf(msg, msgcap, DNN_E_DTYPE, path, "element %zu (flat index) is not finite", done);
            }
            t->data[done++] = v * scale;
        }
        if (got < want)
            return dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: item %zu (from 0) of %d is incomplete",
                        t->item_size ? done / t->item_size : 0, t->dims[0]);
    }
}

static int idx_read(const char *path, int rank, int max_items, float scale, int bytes, dnn_idx *out, char *msg,
                    size_t msgcap) {
    if (msg && msgcap > 0)
        msg[0] = 0;
    if (!out)
        return DNN_E_ARG;
    memset(out, 0, sizeof *out);
    if (!path || rank < 0 || max_items < 0)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path ? path : "(null)", "bad arguments");
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return dnn_errorf(msg, msgcap, DNN_E_IO, path, "%s", errno ? strerror(errno) : "cannot open");
    gzbuffer(f, 1u << 20); /* fewer, larger reads and inflate calls: a data set inflates ~10% faster */

    dnn_idx t;
    memset(&t, 0, sizeof t);
    int rc = read_header(f, path, rank, &t, msg, msgcap);
    if (rc == DNN_OK) {
        t.items = max_items && max_items < t.dims[0] ? max_items : t.dims[0];
        rc = read_data(f, path, scale, bytes && t.type == DNN_IDX_U8, &t, msg, msgcap);
    }
    if (rc == DNN_OK && max_items == 0) { /* every item read: the file must end here */
        unsigned char extra;
        unsigned got;
        rc = read_bytes(f, &extra, 1, &got, path, msg, msgcap);
        if (rc == DNN_OK && got > 0)
            rc = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "bytes after the last of the %d items", t.dims[0]);
    }
    gzclose(f);
    if (rc != DNN_OK)
        dnn_idx_free(&t);
    else
        *out = t;
    return rc;
}

int dnn_idx_read(const char *path, int rank, int max_items, float scale, dnn_idx *out, char *msg, size_t msgcap) {
    return idx_read(path, rank, max_items, scale, 0, out, msg, msgcap);
}

int dnn_idx_read_bytes(const char *path, int rank, int max_items, dnn_idx *out, char *msg, size_t msgcap) {
    return idx_read(path, rank, max_items, 1.0f, 1, out, msg, msgcap);
}

void dnn_idx_free(dnn_idx *t) {
    if (t) {
        free(t->data);
        free(t->bytes);
        memset(t, 0, sizeof *t);
    }
}

/* "28x28": the dims after the first, for messages. */
static const char *item_dims(const dnn_idx *t, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 1, n = 0; i < t->rank && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, i > 1 ? "x%d" : "%d", t->dims[i]);
    return t->rank > 1 ? buf : "1";
}

int dnn_dataset_load(const char *images, const char *labels, int sample_size, int classes, int max_items,
                     float scale, dnn_dataset *out, char *msg, size_t msgcap) {
    if (msg && msgcap > 0)
        msg[0] = 0;
    if (!out)
        return DNN_E_ARG;
    memset(out, 0, sizeof *out);
    if (!images || !labels || sample_size <= 0 || classes <= 0)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, images ? images : "(null)", "bad arguments");

    dnn_idx x, y;
    memset(&y, 0, sizeof y);
    int rc = dnn_idx_read(images, 0, max_items, scale, &x, msg, msgcap);
    if (rc == DNN_OK)
        rc = dnn_idx_read(labels, 1, max_items, 1.0f, &y, msg, msgcap);
    char dims[128];
    if (rc == DNN_OK && x.item_size != (size_t)sample_size)
        rc = dnn_errorf(msg, msgcap, DNN_E_SHAPE, images, "%s = %zu elements per image, want %d",
                  item_dims(&x, dims, sizeof dims), x.item_size, sample_size);
    if (rc == DNN_OK && x.dims[0] != y.dims[0])
        rc = dnn_errorf(msg, msgcap, DNN_E_SHAPE, images, "%d images but %s holds %d labels", x.dims[0], labels,
                  y.dims[0]);
    int32_t *classes_of = NULL;
    if (rc == DNN_OK && !(classes_of = malloc((size_t)(y.items ? y.items : 1) * sizeof *classes_of)))
        rc = dnn_errorf(msg, msgcap, DNN_E_SPACE, labels, "out of memory for %d labels", y.items);
    for (int i = 0; rc == DNN_OK && i < y.items; i++) {
        float v = y.data[i];
        if (!(v >= 0 && v < classes && v == (float)(int32_t)v))
            rc = dnn_errorf(msg, msgcap, DNN_E_SHAPE, labels, "label %g at index %d is not a class 0..%d", v, i,
                      classes - 1);
        else
            classes_of[i] = (int32_t)v;
    }
    dnn_idx_free(&y);
    if (rc != DNN_OK) {
        free(classes_of);
        dnn_idx_free(&x);
        return rc;
    }
    out->count = x.items;
    out->sample_size = sample_size;
    out->x = x.data; /* the dataset takes over the images' buffer */
    out->y = classes_of;
    return DNN_OK;
}

void dnn_dataset_free(dnn_dataset *d) {
    if (d) {
        free(d->x);
        free(d->y);
        memset(d, 0, sizeof *d);
    }
}

/* ---- CSV ------------------------------------------------------------------ */

/* The whole of a file in memory, followed by one spare NUL byte (which
 * the CSV scanner uses to end a last field): a private writable mapping
 * of a regular file when the page has room after its end (mapped pages
 * need no copy and no zeroing), else a malloc'd copy. */
typedef struct whole_file {
    char *bytes; /* len bytes, then the spare NUL */
    size_t len;
    size_t mapped; /* bytes mapped with mmap, or 0 when malloc'd */
} whole_file;

static int read_whole(const char *path, whole_file *w, char *msg, size_t msgcap) {
    memset(w, 0, sizeof *w);
    errno = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return say(msg, msgcap, DNN_E_IO, "cannot open %s: %s", path, errno ? strerror(errno) : "open failed");
    struct stat st;
    long page = sysconf(_SC_PAGESIZE);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && page > 0 &&
        (unsigned long long)st.st_size < SIZE_MAX / 2 && st.st_size % page != 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) { /* POSIX zero-fills the rest of the last page */
            posix_madvise(p, (size_t)st.st_size, POSIX_MADV_SEQUENTIAL);
            close(fd);
            w->bytes = p;
            w->len = w->mapped = (size_t)st.st_size;
            return DNN_OK;
        }
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return say(msg, msgcap, DNN_E_IO, "cannot read %s: %s", path, strerror(errno));
    }
    size_t cap = (size_t)1 << 16, n = 0;
    char *b = malloc(cap);
    int rc = b ? DNN_OK : say(msg, msgcap, DNN_E_SPACE, "%s: out of memory for %zu bytes", path, cap);
    while (rc == DNN_OK) {
        n += fread(b + n, 1, cap - n, f);
        if (ferror(f)) {
            rc = say(msg, msgcap, DNN_E_IO, "cannot read %s: %s", path, errno ? strerror(errno) : "read error");
        } else if (n < cap) { /* end of file, with the spare byte left */
            b[n] = 0;
            break;
        } else {
            char *grown = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
            if (!grown)
                rc = say(msg, msgcap, DNN_E_SPACE, "%s: out of memory for %zu bytes", path, cap * 2);
            else
                b = grown, cap *= 2;
        }
    }
    fclose(f);
    if (rc != DNN_OK) {
        free(b);
        return rc;
    }
    w->bytes = b;
    w->len = n;
    return DNN_OK;
}

static void free_whole(whole_file *w) {
    if (w->mapped)
        munmap(w->bytes, w->mapped);
    else
        free(w->bytes);
    memset(w, 0, sizeof *w);
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* The scanner: a cursor over the file's bytes. */
typedef struct csv_scan {
    char *p, *end;      /* unread bytes; *end is a spare NUL */
    char sep;           /* ',', ';' or '\t' */
    int line;           /* line number at p, from 1 */
    const char *path;   /* for messages */
    char *msg;          /* where messages go, msgcap bytes */
    size_t msgcap;
} csv_scan;

/* One field as it stands in the file. */
typedef struct csv_field {
    char *s;     /* first byte of the content (inside the quotes when quoted) */
    size_t n;    /* content bytes: trimmed; quoted content kept as it is */
    int escapes; /* 1 when quoted content holds "" for a quote */
} csv_field;

static int is_blank(char c, char sep) { return (c == ' ' || c == '\t' || c == '\r') && c != sep; }

/* Skips blank lines (only spaces, tabs and CR); 0 at the end of the file,
 * else 1 with sc->p at the start of a record. */
static int csv_skip_blank(csv_scan *sc) {
    for (;;) {
        char *q = sc->p;
        while (q < sc->end && is_blank(*q, sc->sep))
            q++;
        if (q == sc->end) {
            sc->p = q;
            return 0;
        }
        if (*q != '\n')
            return 1;
        sc->p = q + 1;
        sc->line++;
    }
}

/* field := blank* ( '"' ( [^"] | '""' )* '"' blank* | [^sep\n]* ) ( sep | '\n' | end )
 * Reads field number `field` (from 1) of a record: 1 when a separator
 * follows (another field comes), 0 when the record ended, or an error. */
static int csv_field_scan(csv_scan *sc, csv_field *f, int field) {
    char *p = sc->p, *end = sc->end, sep = sc->sep;
    while (p < end && (*p == ' ' || *p == '\t') && *p != sep)
        p++;
    if (p < end && *p == '"') {
        int line0 = sc->line;
        f->s = ++p;
        f->escapes = 0;
        for (;;) {
            if (p == end)
                return say(sc->msg, sc->msgcap, DNN_E_HEADER, "%s:%d: field %d has no closing quote", sc->path,
                           line0, field);
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    f->escapes = 1;
                    p += 2;
                    continue;
                }
                break;
            }
            sc->line += *p++ == '\n';
        }
        f->n = (size_t)(p - f->s);
        for (p++; p < end && is_blank(*p, sep); p++)
            ;
        if (p < end && *p != sep && *p != '\n')
            return say(sc->msg, sc->msgcap, DNN_E_HEADER, "%s:%d: field %d has text after its closing quote",
                       sc->path, sc->line, field);
    } else {
        f->s = p;
        f->escapes = 0;
        while (p < end && *p != sep && *p != '\n')
            p++;
        char *e = p;
        while (e > f->s && is_blank(e[-1], sep))
            e--;
        f->n = (size_t)(e - f->s);
    }
    if (p < end && *p == sep) {
        sc->p = p + 1;
        return 1;
    }
    if (p < end) { /* '\n' */
        p++;
        sc->line++;
    }
    sc->p = p;
    return 0;
}

/* The field's text, NUL-terminated in place ("" undone). Only for the last
 * scan: it overwrites the byte after the field, already scanned past. */
static char *csv_field_text(csv_field *f) {
    if (f->escapes) {
        size_t w = 0;
        for (size_t r = 0; r < f->n; r++, w++) {
            f->s[w] = f->s[r];
            r += f->s[r] == '"'; /* the second quote of "" */
        }
        f->n = w;
    }
    f->s[f->n] = 0;
    return f->s;
}

/* What a field holds. */
enum { CSV_NUMBER, CSV_TEXT, CSV_EMPTY, CSV_NAN, CSV_INF, CSV_RANGE };

static int csv_numeric(int kind) { return kind == CSV_NUMBER || kind == CSV_NAN || kind == CSV_INF || kind == CSV_RANGE; }

/* Classifies a field and for CSV_NUMBER sets *v. Plain decimals of at most
 * 19 digits whose value is m * 10^k with m < 2^53 and |k| <= 22 are exact
 * in double arithmetic (one correctly rounded multiply or divide, as
 * strtod would give); anything else goes to strtod. Hex ("0x1p3") counts
 * as text; "nan" and "inf" (strtod's spellings) are numbers, not finite. */
static int csv_number(csv_field *f, float *v) {
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = f->s, *end = f->s + f->n;
    if (f->n == 0)
        return CSV_EMPTY;
    if (f->escapes)
        return CSV_TEXT;
    int neg = 0, digits = 0, ndig = 0, pend = 0, scale = 0, frac = 0;
    uint64_t m = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (; p < end; p++) {
        if (*p == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        digits++;
        scale -= frac; /* a fraction digit divides by 10 */
        if (*p == '0') {
            pend++; /* a zero joins m only when a non-zero digit follows */
            continue;
        }
        if (m == 0) {
            ndig = 1;
        } else {
            if (ndig + pend + 1 > 19)
                goto slow;
            ndig += pend + 1;
            m *= (uint64_t)pow10[pend + 1];
            pend = 0;
        }
        m += (uint64_t)(*p - '0');
        pend = 0;
    }
    if (!digits)
        goto slow;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0, e = 0, edigits = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        for (; p < end && *p >= '0' && *p <= '9' && edigits < 6; p++, edigits++)
            e = e * 10 + (*p - '0');
        if (!edigits)
            goto slow;
        scale += eneg ? -e : e;
    }
    if (p != end)
        goto slow;
    scale += pend;
    if (m > (uint64_t)1 << 53 || scale < -22 || scale > 22)
        goto slow;
    {
        double d = m == 0 ? 0.0 : scale >= 0 ? (double)m * pow10[scale] : (double)m / pow10[-scale];
        *v = (float)(neg ? -d : d);
        return CSV_NUMBER;
    }
slow:
    if (f->s[0] == ' ' || f->s[0] == '\t')
        return CSV_TEXT; /* strtod would skip them: quoted " 5" stays text */
    for (p = f->s; p < end; p++)
        if (*p == 'x' || *p == 'X')
            return CSV_TEXT;
    char save = f->s[f->n], *stop;
    f->s[f->n] = 0; /* the byte after a field is a separator, a quote, a blank, '\n' or the spare NUL */
    double d = strtod(f->s, &stop);
    f->s[f->n] = save;
    if (stop != end)
        return CSV_TEXT;
    if (isnan(d))
        return CSV_NAN;
    if (isinf(d)) /* "inf", "infinity"; or a number beyond double, like 1e999 */
        return memchr(f->s, 'n', f->n) || memchr(f->s, 'N', f->n) ? CSV_INF : CSV_RANGE;
    if (d > FLT_MAX || d < -FLT_MAX)
        return CSV_RANGE;
    *v = (float)d;
    return CSV_NUMBER;
}

/* What the scans learn about one column. */
typedef struct csv_column {
    int first, second; /* kinds of the fields on the first and second lines */
    int text_row;      /* first data row (from 0, counting the first line) holding text, or -1 */
    int bad_row;       /* first row from the second line on with NaN, inf or out of range, or -1 */
    int bad_kind;      /* that field's kind */
    int levels;        /* textual: slot in the string table */
} csv_column;

/* One string of a textual column, for sorting. */
typedef struct csv_cell {
    const char *s; /* the text, in the file buffer */
    int row;       /* its data row */
} csv_cell;

static int csv_cell_cmp(const void *a, const void *b) {
    const csv_cell *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int int_cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Chooses the separator from the first non-blank line: ',' unless that
 * line (outside quotes) has no comma and has ';' or a tab but not both. */
static char csv_separator(const char *p, const char *end) {
    int semi = 0, tab = 0, comma = 0, quoted = 0;
    while (p < end && (*p == ' ' || *p == '\r' || *p == '\n'))
        p++;
    for (; p < end && (quoted || *p != '\n'); p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted)
            comma |= *p == ',', semi |= *p == ';', tab |= *p == '\t';
    }
    return (comma || semi == tab) ? ',' : semi ? ';' : '\t';
}

/* Sorts a textual column's cells into levels and writes each row's index
 * into the table; more than DNN_CSV_MAX_LEVELS distinct values is an
 * error naming the row of the first value past the limit. */
static int csv_levels(dnn_csv *c, int col, csv_cell *cells, const csv_column *info, const char *why, csv_scan *sc) {
    int rows = c->rows, k = 0;
    qsort(cells, (size_t)rows, sizeof *cells, csv_cell_cmp);
    for (int i = 0; i < rows; i++)
        k += i == 0 || strcmp(cells[i].s, cells[i - 1].s) != 0;
    if (k > DNN_CSV_MAX_LEVELS) {
        int *first = malloc((size_t)k * sizeof *first), n = 0;
        if (!first)
            return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory", sc->path);
        for (int i = 0; i < rows; i++)
            if (i == 0 || strcmp(cells[i].s, cells[i - 1].s) != 0)
                first[n++] = cells[i].row; /* the earliest row of each value: cells tie-break on row */
        qsort(first, (size_t)n, sizeof *first, int_cmp);
        int row = first[DNN_CSV_MAX_LEVELS];
        free(first);
        return say(sc->msg, sc->msgcap, DNN_E_DTYPE,
                   "%s:%d: field %d is distinct value %d of a textual column, which may hold %d (the column is "
                   "textual because line %d holds \"%.40s\")",
                   sc->path, c->line[row], col + 1, DNN_CSV_MAX_LEVELS + 1, DNN_CSV_MAX_LEVELS,
                   c->line[info->text_row], why);
    }
    char **names = calloc((size_t)(k ? k : 1), sizeof *names);
    if (!names)
        return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory", sc->path);
    c->levels[col] = names;
    c->nlevels[col] = k;
    for (int i = 0, level = -1; i < rows; i++) {
        if (i == 0 || strcmp(cells[i].s, cells[i - 1].s) != 0)
            if (!(names[++level] = dup_string(cells[i].s)))
                return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory", sc->path);
        c->data[(size_t)cells[i].row * (size_t)c->cols + (size_t)col] = (float)level;
    }
    return DNN_OK;
}

/* The scans over the file; c is filled as far as they get (the caller
 * frees it on error). */
static int csv_parse(csv_scan *sc, dnn_csv *c) {
    char *start = sc->p;
    csv_field f;
    int more;

    /* 0: the first record's field count, and bounds from the length: a
     * field that is not empty takes a byte and its separator or newline
     * (the file's last one perhaps no newline), and empty fields end the
     * scan by the end of the record after the first. The bound costs
     * address space, not memory: pages never written are never touched. */
    int cols = 0;
    if (!csv_skip_blank(sc))
        return say(sc->msg, sc->msgcap, DNN_E_TRUNCATED, "%s: no data rows", sc->path);
    do {
        if ((more = csv_field_scan(sc, &f, cols + 1)) < 0)
            return more;
        if (++cols == INT_MAX)
            return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s:1: too many fields", sc->path);
    } while (more);
    size_t len = (size_t)(sc->end - start), max_fields = len / 2 + 1 + 2 * (size_t)cols;
    size_t max_rows = max_fields / (size_t)cols + 1;
    if (len > SIZE_MAX / 4 || max_fields > SIZE_MAX / sizeof(float))
        return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: too many fields", sc->path);
    csv_column *info = malloc((size_t)cols * sizeof *info);
    c->data = malloc(max_fields * sizeof *c->data);
    c->line = malloc(max_rows * sizeof *c->line);
    c->levels = calloc((size_t)cols, sizeof *c->levels);
    c->nlevels = calloc((size_t)cols, sizeof *c->nlevels);
    if (!info || !c->data || !c->line || !c->levels || !c->nlevels) {
        free(info);
        return say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory for %zu fields", sc->path, max_fields);
    }
    for (int j = 0; j < cols; j++)
        info[j].text_row = info[j].bad_row = -1, info[j].second = CSV_TEXT;

    /* 1: every record: its field count, empty fields, each field parsed
     * into the table and each column's kind learnt. */
    int lines = 0, first_empty = 0, rc = DNN_OK; /* first_empty: on the first line, where a header may have one */
    sc->p = start;
    sc->line = 1;
    while (rc == DNN_OK && csv_skip_blank(sc)) {
        int line = sc->line, n = 0, empty = 0, r = lines;
        float *row = c->data + (size_t)r * (size_t)cols;
        c->line[r] = line;
        do {
            if ((more = csv_field_scan(sc, &f, n + 1)) < 0) {
                free(info);
                return more;
            }
            if (f.n == 0 && !empty)
                empty = n + 1;
            if (n < cols) {
                int kind = csv_number(&f, &row[n]);
                csv_column *ci = &info[n];
                if (kind != CSV_NUMBER)
                    row[n] = 0;
                if (r == 0)
                    ci->first = kind;
                else if (kind == CSV_TEXT && ci->text_row < 0)
                    ci->text_row = r;
                else if (kind != CSV_NUMBER && kind != CSV_TEXT && ci->bad_row < 0)
                    ci->bad_row = r, ci->bad_kind = kind;
                if (r == 1)
                    ci->second = kind;
            }
        } while (++n < INT_MAX && more);
        if (n != cols)
            rc = say(sc->msg, sc->msgcap, DNN_E_SHAPE, "%s:%d: %d field%s, expected %d", sc->path, line, n,
                     n == 1 ? "" : "s", cols);
        else if (empty && r > 0)
            rc = say(sc->msg, sc->msgcap, DNN_E_HEADER, "%s:%d: field %d is empty", sc->path, line, empty);
        else if (++lines == INT_MAX)
            rc = say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s:%d: too many rows", sc->path, line);
        if (r == 0)
            first_empty = empty; /* fine in a header */
    }
    if (rc != DNN_OK) {
        free(info);
        return rc;
    }

    /* The header: (a) a non-number over a numeric column, or (b) no number
     * on the first line and one on the second. */
    int header = 0, first_numbers = 0, second_numbers = 0;
    for (int j = 0; j < cols; j++) {
        header |= lines > 1 && !csv_numeric(info[j].first) && info[j].text_row < 0;
        first_numbers += csv_numeric(info[j].first);
        second_numbers += csv_numeric(info[j].second);
    }
    header |= lines > 1 && first_numbers == 0 && second_numbers > 0;
    if (!header && first_empty) {
        free(info);
        return say(sc->msg, sc->msgcap, DNN_E_HEADER, "%s:%d: field %d is empty", sc->path, c->line[0],
                   first_empty);
    }
    for (int j = 0; !header && j < cols; j++) { /* the first line is data */
        if (info[j].first == CSV_TEXT)
            info[j].text_row = 0;
        else if (info[j].first != CSV_NUMBER)
            info[j].bad_row = 0, info[j].bad_kind = info[j].first;
    }
    int bad = -1, ntext = 0;
    for (int j = 0; j < cols; j++) {
        if (info[j].text_row >= 0)
            info[j].levels = ntext++;
        else if (info[j].bad_row >= 0 && (bad < 0 || info[j].bad_row < info[bad].bad_row))
            bad = j;
    }
    if (bad >= 0) {
        int kind = info[bad].bad_kind;
        rc = say(sc->msg, sc->msgcap, DNN_E_DTYPE, "%s:%d: field %d is %s", sc->path, c->line[info[bad].bad_row],
                 bad + 1, kind == CSV_NAN ? "NaN" : kind == CSV_INF ? "not finite" : "out of float range");
        free(info);
        return rc;
    }
    c->rows = lines - header;
    c->cols = cols;
    if (header) {
        memmove(c->data, c->data + cols, (size_t)c->rows * (size_t)cols * sizeof *c->data);
        memmove(c->line, c->line + 1, (size_t)c->rows * sizeof *c->line);
    }
    float *data = realloc(c->data, (size_t)(c->rows ? c->rows : 1) * (size_t)cols * sizeof *data); /* give back the bound's excess */
    int *line = realloc(c->line, (size_t)(c->rows ? c->rows : 1) * sizeof *line);
    c->data = data ? data : c->data;
    c->line = line ? line : c->line;
    if (c->rows == 0) {
        free(info);
        return say(sc->msg, sc->msgcap, DNN_E_TRUNCATED, "%s: no data rows", sc->path);
    }
    if (!header && ntext == 0) {
        free(info);
        return DNN_OK;
    }

    /* 2: the header's names and the textual columns' strings. */
    csv_cell *cells = NULL;
    const char **why = NULL; /* per textual column: the text that made it textual */
    if (ntext > 0) {
        cells = malloc((size_t)ntext * (size_t)c->rows * sizeof *cells);
        why = calloc((size_t)ntext, sizeof *why);
    }
    if (header)
        c->header = calloc((size_t)cols, sizeof *c->header);
    rc = DNN_OK;
    if ((ntext > 0 && (!cells || !why)) || (header && !c->header))
        rc = say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory", sc->path);
    sc->p = start;
    sc->line = 1;
    for (int r = -header; rc == DNN_OK && csv_skip_blank(sc) && (r < 0 || ntext > 0); r++) {
        for (int j = 0; j < cols; j++) {
            csv_field_scan(sc, &f, j + 1);
            if (r < 0) {
                if (!(c->header[j] = dup_string(csv_field_text(&f))))
                    rc = say(sc->msg, sc->msgcap, DNN_E_SPACE, "%s: out of memory", sc->path);
            } else if (info[j].text_row >= 0) {
                csv_cell *cell = &cells[(size_t)info[j].levels * (size_t)c->rows + (size_t)r];
                cell->s = csv_field_text(&f);
                cell->row = r;
                if (r + header == info[j].text_row)
                    why[info[j].levels] = cell->s;
            }
        }
    }
    for (int j = 0; rc == DNN_OK && j < cols; j++)
        if (info[j].text_row >= 0) {
            info[j].text_row -= header; /* now a data row, as c->line counts them */
            rc = csv_levels(c, j, cells + (size_t)info[j].levels * (size_t)c->rows, &info[j],
                            why[info[j].levels], sc);
        }
    free(cells);
    free(why);
    free(info);
    return rc;
}

int dnn_csv_read(const char *path, dnn_csv *out, char *msg, size_t msgcap) {
    if (msg && msgcap > 0)
        msg[0] = 0;
    if (!out)
        return DNN_E_ARG;
    memset(out, 0, sizeof *out);
    if (!path)
        return say(msg, msgcap, DNN_E_ARG, "(null): bad arguments");
    whole_file w;
    int rc = read_whole(path, &w, msg, msgcap);
    if (rc != DNN_OK)
        return rc;
    char *buf = w.bytes;
    size_t len = w.len;
    csv_scan sc = {buf, buf + len, ',', 1, path, msg, msgcap};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        sc.p += 3; /* UTF-8 byte order mark */
    sc.sep = csv_separator(sc.p, sc.end);
    dnn_csv c;
    memset(&c, 0, sizeof c);
    rc = csv_parse(&sc, &c);
    free_whole(&w);
    if (rc != DNN_OK)
        dnn_csv_free(&c);
    else
        *out = c;
    return rc;
}

void dnn_csv_free(dnn_csv *c) {
    if (!c)
        return;
    for (int j = 0; c->header && j < c->cols; j++)
        free(c->header[j]);
    for (int j = 0; c->levels && c->nlevels && j < c->cols; j++) {
        for (int k = 0; c->levels[j] && k < c->nlevels[j]; k++)
            free(c->levels[j][k]);
        free(c->levels[j]);
    }
    free(c->header);
    free(c->data);
    free(c->levels);
    free(c->nlevels);
    free(c->line);
    memset(c, 0, sizeof *c);
}

int dnn_csv_column(const dnn_csv *c, const char *name) {
    for (int j = 0; c && c->header && name && j < c->cols; j++)
        if (strcmp(c->header[j], name) == 0)
            return j;
    return -1;
}

/* ---- NumPy .npy ---------------------------------------------------------------
 * "\x93NUMPY", major, minor, the header's length (u16 LE in 1.0, u32 LE in
 * 2.0 and 3.0), then a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a '\n', then the elements. */

#define NPY_MAX_HEADER (1 << 20) /* longer headers are not numpy's */

/* An element type: descr "<f4" and the like. */
typedef struct npy_dtype {
    char kind;   /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int size;    /* bytes per element */
    int big;     /* 1: big-endian */
    char descr[16];
} npy_dtype;

/* A cursor over the header dict, for messages. */
typedef struct npy_parse {
    const char *p, *start, *end;
    const char *path;
    char *msg;
    size_t msgcap;
} npy_parse;

static void npy_skip(npy_parse *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int npy_bad(npy_parse *ps, const char *want) {
    const char *e = ps->end; /* quote the dict without its padding */
    while (e > ps->start && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == 0))
        e--;
    return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: malformed header: expected %s at byte %d of %.*s", ps->path,
               want, (int)(ps->p - ps->start), (int)(e - ps->start > 120 ? 120 : e - ps->start), ps->start);
}

/* string := "'" [^']* "'" | '"' [^"]* '"'; sets *s and *n to its contents */
static int npy_string(npy_parse *ps, const char **s, size_t *n) {
    npy_skip(ps);
    if (ps->p == ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return npy_bad(ps, "a quoted string");
    char q = *ps->p++;
    *s = ps->p;
    while (ps->p < ps->end && *ps->p != q)
        ps->p++;
    if (ps->p == ps->end)
        return npy_bad(ps, "a closing quote");
    *n = (size_t)(ps->p++ - *s);
    return DNN_OK;
}

/* tuple := '(' ( int 'L'? ',' )* ( int 'L'? )? ')'   (also [...]) */
static int npy_shape(npy_parse *ps, dnn_array *a) {
    npy_skip(ps);
    if (ps->p == ps->end || (*ps->p != '(' && *ps->p != '['))
        return npy_bad(ps, "a shape tuple");
    char close = *ps->p++ == '(' ? ')' : ']';
    a->rank = 0;
    for (;;) {
        npy_skip(ps);
        if (ps->p < ps->end && *ps->p == close)
            break;
        if (ps->p == ps->end || *ps->p < '0' || *ps->p > '9')
            return npy_bad(ps, "a dimension (a whole number >= 0)");
        if (a->rank == DNN_NPY_MAX_RANK)
            return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: rank above %d", ps->path, DNN_NPY_MAX_RANK);
        int64_t d = 0;
        for (; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++) {
            if (d > (INT64_MAX - 9) / 10)
                return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: dimension %d is too large", ps->path, a->rank);
            d = d * 10 + (*ps->p - '0');
        }
        if (ps->p < ps->end && (*ps->p == 'L' || *ps->p == 'l'))
            ps->p++; /* Python 2's long */
        a->dims[a->rank++] = d;
        npy_skip(ps);
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p == ps->end || *ps->p != close)
            return npy_bad(ps, "',' or the end of the shape");
    }
    ps->p++;
    return DNN_OK;
}

/* descr := [<>|] [fiub] size */
static int npy_descr(npy_parse *ps, const char *s, size_t n, npy_dtype *t) {
    snprintf(t->descr, sizeof t->descr, "%.*s", (int)(n < 15 ? n : 15), s);
    int ok = n == 3 && (s[0] == '<' || s[0] == '>' || s[0] == '|') && s[2] >= '1' && s[2] <= '8';
    if (ok) {
        t->big = s[0] == '>';
        t->kind = s[1];
        t->size = s[2] - '0';
        ok = (t->kind == 'f' && (t->size == 4 || t->size == 8)) ||
             ((t->kind == 'i' || t->kind == 'u') && (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)) ||
             (t->kind == 'b' && t->size == 1);
        ok = ok && (s[0] != '|' || t->size == 1);
    }
    if (!ok)
        return say(ps->msg, ps->msgcap, DNN_E_DTYPE,
                   "%s: dtype '%s' is not supported (f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, with < > or |)", ps->path,
                   t->descr);
    return DNN_OK;
}

/* dict := '{' ( string ':' value ',' )* ( string ':' value )? '}' blank*
 * with the keys descr, fortran_order and shape, each once. */
static int npy_header(npy_parse *ps, npy_dtype *t, int *fortran, dnn_array *a) {
    int seen[3] = {0, 0, 0}, rc;
    npy_skip(ps);
    if (ps->p == ps->end || *ps->p != '{')
        return npy_bad(ps, "'{'");
    ps->p++;
    for (;;) {
        npy_skip(ps);
        if (ps->p < ps->end && *ps->p == '}')
            break;
        const char *key, *s;
        size_t n, len;
        if ((rc = npy_string(ps, &key, &n)) != DNN_OK)
            return rc;
        npy_skip(ps);
        if (ps->p == ps->end || *ps->p != ':')
            return npy_bad(ps, "':'");
        ps->p++;
        int which = n == 5 && !memcmp(key, "descr", 5) ? 0 : n == 13 && !memcmp(key, "fortran_order", 13) ? 1
                  : n == 5 && !memcmp(key, "shape", 5)  ? 2 : -1;
        if (which < 0)
            return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: unknown key '%.*s' in the header", ps->path,
                       (int)(n < 40 ? n : 40), key);
        if (seen[which]++)
            return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: key '%.*s' twice in the header", ps->path, (int)n, key);
        npy_skip(ps);
        if (which == 0) {
            if (ps->p < ps->end && (*ps->p == '[' || *ps->p == '{'))
                return say(ps->msg, ps->msgcap, DNN_E_DTYPE, "%s: a structured dtype is not supported", ps->path);
            if ((rc = npy_string(ps, &s, &len)) != DNN_OK || (rc = npy_descr(ps, s, len, t)) != DNN_OK)
                return rc;
        } else if (which == 1) {
            if ((size_t)(ps->end - ps->p) >= 4 && !memcmp(ps->p, "True", 4))
                *fortran = 1, ps->p += 4;
            else if ((size_t)(ps->end - ps->p) >= 5 && !memcmp(ps->p, "False", 5))
                *fortran = 0, ps->p += 5;
            else
                return npy_bad(ps, "True or False");
        } else if ((rc = npy_shape(ps, a)) != DNN_OK) {
            return rc;
        }
        npy_skip(ps);
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p == ps->end || *ps->p != '}')
            return npy_bad(ps, "',' or '}'");
    }
    ps->p++;
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t' || *ps->p == 0))
        ps->p++;
    if (ps->p != ps->end)
        return npy_bad(ps, "only padding after '}'");
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return say(ps->msg, ps->msgcap, DNN_E_HEADER, "%s: the header has no '%s'", ps->path,
                       i == 0 ? "descr" : i == 1 ? "fortran_order" : "shape");
    return DNN_OK;
}

/* The element at p as a float; DNN_E_DTYPE when it is not finite, beyond
 * float, or an integer not exact as a float. */
static int npy_element(const unsigned char *p, const npy_dtype *t, size_t index, float *v, const char *path,
                       char *msg, size_t msgcap) {
    uint64_t bits = 0;
    for (int k = 0; k < t->size; k++) /* assemble the value as an unsigned integer of t->size bytes */
        bits |= (uint64_t)p[t->big ? k : t->size - 1 - k] << (8 * (t->size - 1 - k));
    if (t->kind == 'f') {
        double d;
        if (t->size == 4) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, sizeof f);
            d = f;
        } else {
            memcpy(&d, &bits, sizeof d);
        }
        if (isnan(d))
            return say(msg, msgcap, DNN_E_DTYPE, "%s: element %zu (flat index) is NaN", path, index);
        if (isinf(d))
            return say(msg, msgcap, DNN_E_DTYPE, "%s: element %zu (flat index) is not finite", path, index);
        if (d > FLT_MAX || d < -FLT_MAX)
            return say(msg, msgcap, DNN_E_DTYPE, "%s: element %zu (flat index) is %g, beyond float range", path,
                       index, d);
        *v = (float)d;
        return DNN_OK;
    }
    int64_t i;
    if (t->kind == 'i' && t->size < 8 && bits >> (8 * t->size - 1)) /* negative: extend the sign */
        bits |= ~(uint64_t)0 << (8 * t->size);
    if (t->kind == 'u' && bits > INT64_MAX)
        return say(msg, msgcap, DNN_E_DTYPE, "%s: element %zu (flat index) is %llu, not exact as a float (|v| < 2^24)",
                   path, index, (unsigned long long)bits);
    memcpy(&i, &bits, sizeof i); /* two's complement */
    if (i >= (int64_t)1 << 24 || i <= -((int64_t)1 << 24))
        return say(msg, msgcap, DNN_E_DTYPE, "%s: element %zu (flat index) is %lld, not exact as a float (|v| < 2^24)",
                   path, index, (long long)i);
    *v = (float)i;
    return DNN_OK;
}

/* Reads the header of the open file f into a (dims, rank, count) and t. */
static int npy_read_header(FILE *f, const char *path, dnn_array *a, npy_dtype *t, char *msg, size_t msgcap) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, f);
    if (ferror(f))
        return say(msg, msgcap, DNN_E_IO, "cannot read %s: %s", path, strerror(errno));
    if (memcmp(pre, magic, got < 6 ? got : 6) != 0)
        return dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "not a .npy file (it does not start with \\x93NUMPY)");
    if (got < 8)
        return dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %zu of 8 magic and version bytes", got);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "format version %d.%d is not supported (1.0, 2.0, 3.0)", pre[6],
                    pre[7]);
    size_t width = pre[6] == 1 ? 2 : 4;
    got = fread(pre + 8, 1, width, f);
    if (got < width)
        return dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %zu of %zu header length bytes", got, width);
    unsigned long hlen = pre[8] | (unsigned long)pre[9] << 8;
    if (width == 4)
        hlen |= (unsigned long)pre[10] << 16 | (unsigned long)pre[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "a header of %lu bytes is too long", hlen);
    char *h = malloc(hlen + 1);
    if (!h)
        return dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for the header");
    got = fread(h, 1, hlen, f);
    int rc;
    if (got < hlen) {
        rc = dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %zu of %lu header bytes", got, hlen);
    } else {
        int fortran = 0;
        npy_parse ps = {h, h, h + hlen, path, msg, msgcap};
        rc = npy_header(&ps, t, &fortran, a);
        size_t count = 1, limit = SIZE_MAX / (size_t)(t->size > 4 ? t->size : 4);
        int spread = 0; /* dims above 1: Fortran order is C order when at most one */
        for (int i = 0; rc == DNN_OK && i < a->rank; i++) {
            if (a->dims[i] > 0 && count > limit / (uint64_t)a->dims[i])
                rc = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "dimensions overflow: the product of the first %d is too large",
                          i + 1);
            count *= (size_t)(a->dims[i] ? a->dims[i] : 1);
            spread += a->dims[i] > 1;
        }
        for (int i = 0; i < a->rank; i++)
            if (a->dims[i] == 0)
                count = 0;
        a->count = count;
        if (rc == DNN_OK && fortran && spread > 1)
            rc = dnn_errorf(msg, msgcap, DNN_E_DTYPE, path, "the array is in Fortran order; save it with np.ascontiguousarray");
    }
    free(h);
    return rc;
}

int dnn_npy_read(const char *path, float scale, dnn_array *out, char *msg, size_t msgcap) {
    if (msg && msgcap > 0)
        msg[0] = 0;
    if (!out)
        return DNN_E_ARG;
    memset(out, 0, sizeof *out);
    if (!path)
        return say(msg, msgcap, DNN_E_ARG, "(null): bad arguments");
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return say(msg, msgcap, DNN_E_IO, "cannot open %s: %s", path, errno ? strerror(errno) : "fopen failed");
    dnn_array a;
    npy_dtype t;
    memset(&a, 0, sizeof a);
    memset(&t, 0, sizeof t);
    int rc = npy_read_header(f, path, &a, &t, msg, msgcap);
    if (rc == DNN_OK) {
        a.is_integer = t.kind != 'f';
    }
    size_t cap = 0;
    if (rc == DNN_OK && !(a.data = grow(NULL, &cap, a.count, sizeof *a.data)))
        rc = dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for %zu floats", a.count);
    unsigned char chunk[1 << 16]; /* a multiple of every element size */
    for (size_t done = 0; rc == DNN_OK && done < a.count;) {
        float *bigger = done == cap ? grow(a.data, &cap, a.count, sizeof *a.data) : a.data;
        if (!bigger) {
            rc = dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for %zu floats", a.count);
            break;
        }
        a.data = bigger;
        size_t want = (cap - done) * (size_t)t.size < sizeof chunk ? (cap - done) * (size_t)t.size : sizeof chunk;
        size_t got = fread(chunk, 1, want, f);
        if (ferror(f)) {
            rc = say(msg, msgcap, DNN_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        for (size_t i = 0; rc == DNN_OK && i + (size_t)t.size <= got; i += (size_t)t.size, done++) {
            if ((rc = npy_element(chunk + i, &t, done, &a.data[done], path, msg, msgcap)) == DNN_OK)
                a.data[done] *= scale;
        }
        if (rc == DNN_OK && got < want)
            rc = dnn_errorf(msg, msgcap, DNN_E_TRUNCATED, path, "truncated: %zu of %zu elements of %d bytes", done, a.count,
                      t.size);
    }
    if (rc == DNN_OK && fgetc(f) != EOF)
        rc = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "bytes after the last of the %zu elements", a.count);
    if (rc == DNN_OK && ferror(f))
        rc = say(msg, msgcap, DNN_E_IO, "cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (rc != DNN_OK)
        dnn_array_free(&a);
    else
        *out = a;
    return rc;
}

void dnn_array_free(dnn_array *a) {
    if (a) {
        free(a->data);
        memset(a, 0, sizeof *a);
    }
}

int dnn_npy_write(const char *path, const float *data, int rank, const int64_t *dims, char *msg, size_t msgcap) {
    if (msg && msgcap > 0)
        msg[0] = 0;
    if (!path)
        return say(msg, msgcap, DNN_E_ARG, "(null): bad arguments");
    if (rank < 0 || rank > DNN_NPY_MAX_RANK || (rank > 0 && !dims))
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "rank %d is not 0..%d (or dims is NULL)", rank, DNN_NPY_MAX_RANK);
    char dict[128 + 24 * DNN_NPY_MAX_RANK];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "dimension %d is %lld", i, (long long)dims[i]);
        if (dims[i] > 0 && count > SIZE_MAX / 8 / (uint64_t)dims[i])
            return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "dimensions overflow: the product of the first %d is too large",
                        i + 1);
        count *= (size_t)(dims[i] ? dims[i] : 1);
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)dims[i]);
    }
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            count = 0;
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", rank == 1 ? "," : "");
    if (count > 0 && !data)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "data is NULL");
    /* magic, version, u16 length, the dict, spaces, '\n': a multiple of 64 bytes */
    size_t head = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
    unsigned char *buf = malloc(head + count * 4);
    if (!buf)
        return dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for %zu bytes", head + count * 4);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((head - 10) & 0xff);
    buf[9] = (unsigned char)((head - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', head - 10 - (size_t)n - 1);
    buf[head - 1] = '\n';
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], sizeof bits);
        for (int k = 0; k < 4; k++)
            buf[head + 4 * i + (size_t)k] = (unsigned char)(bits >> (8 * k));
    }
    errno = 0;
    int rc = dnn_write_file_atomic(path, buf, head + count * 4);
    int err = errno;
    free(buf);
    if (rc == DNN_E_ARG)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "the path is too long");
    if (rc != DNN_OK)
        return say(msg, msgcap, DNN_E_IO, "cannot write %s: %s", path, err ? strerror(err) : "write failed");
    return DNN_OK;
}
