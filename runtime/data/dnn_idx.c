/* dnn_idx.c — IDX files (gzip or plain) into float tensors, and the
 * image/label pairs of MNIST-like data sets; see dnn_data.h.
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
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise, for data.h's advise_huge */
#include "dnn_data.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data.h"
#include "dnn_host.h"

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


/* The most elements of `width` bytes the rest of the file at path can
 * hold: its size when it is plain, 1032 times that when it is gzip
 * (deflate's largest ratio); 0 when that is unknown (not a regular file). */
static size_t most_elements(gzFile f, const char *path, size_t width) {
    long long size = dnn_file_size(path);
    unsigned long long n = size > 0 ? (unsigned long long)size / width : 0, most = gzdirect(f) ? n : 1032 * n;
    return most < SIZE_MAX ? (size_t)most : SIZE_MAX;
}

/* Reads t->items items into t->data, scaling each element, or as they are
 * into t->bytes (u8 files, with want_bytes). The array is allocated once
 * when the file's size allows all that its header claims (see grow), else
 * grows as the bytes arrive, so a short file whose header claims terabytes
 * ends as "truncated", not as a huge allocation. */
static int read_data(gzFile f, const char *path, float scale, int want_bytes, dnn_idx *t, char *msg, size_t msgcap) {
    size_t width = t->type == DNN_IDX_U8 ? 1 : 4, elem = want_bytes ? 1 : sizeof(float);
    size_t count = (size_t)t->items * t->item_size, done = 0, cap = 0, first = most_elements(f, path, width);
    unsigned char chunk[1 << 16];
    for (;;) {
        if (done == cap && (done < count || !(t->data || t->bytes))) { /* an empty file still gets a pointer to free */
            void *bigger = grow(want_bytes ? (void *)t->bytes : (void *)t->data, &cap, count, elem, first);
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
