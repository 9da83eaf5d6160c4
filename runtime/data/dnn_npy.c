/* dnn_npy.c — NumPy .npy arrays into float tensors, and float arrays out
 * to .npy; see dnn_data.h.
 *
 * A .npy file is read like an IDX file: the header, then the data in fixed
 * chunks converted straight into the float buffer.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise, for data.h's advise_huge */
#include "dnn_data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dnn_host.h"

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
    long long size = dnn_file_size(path); /* the most elements the file can hold: one allocation when it holds them */
    size_t cap = 0, first = size > 0 && t.size > 0 ? (size_t)((unsigned long long)size / (unsigned)t.size) : 0;
    if (rc == DNN_OK && !(a.data = grow(NULL, &cap, a.count, sizeof *a.data, first)))
        rc = dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory for %zu floats", a.count);
    unsigned char chunk[1 << 16]; /* a multiple of every element size */
    for (size_t done = 0; rc == DNN_OK && done < a.count;) {
        float *bigger = done == cap ? grow(a.data, &cap, a.count, sizeof *a.data, first) : a.data;
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
