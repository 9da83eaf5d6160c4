/* dnn_safetensors.c — safetensors (de)serialisation from memory, the
 * larger part of the freestanding core of the dnnc runtime.
 *
 * Nothing here allocates, recurses, or touches stdio or errno, so the file
 * builds for a microcontroller. Byte order is never assumed: integers and
 * floats are assembled from and split into little-endian bytes explicitly.
 *
 * Reading safetensors is a small hand-written JSON scanner over the header.
 * An iterator (st_next) parses and checks one tensor entry per call;
 * without malloc there is nowhere to keep a table of entries, so every
 * query walks the header again. Validation (st_check) compares each entry
 * with all earlier ones for duplicate names and overlapping data, which is
 * quadratic in the number of tensors: fine for the hundreds a model has.
 * Names are compared after decoding JSON escapes, so "a\u002eb" is "a.b".
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnn.h"

/* ---- Decoded JSON strings ------------------------------------------------ */

/* Reads a string as its decoded bytes: a JSON string already checked by
 * scan_string (escapes decoded, \u as UTF-8), or a plain C string. */
typedef struct strbytes {
    const unsigned char *p;   /* next unread source byte */
    const unsigned char *end; /* end of the source */
    int plain;                /* 1: a C string, no escapes */
    unsigned char buf[4];     /* UTF-8 of the \u escape being read */
    int n, k;                 /* bytes in buf, bytes of buf returned */
} strbytes;

static strbytes sb_json(const unsigned char *s, size_t begin, size_t end) {
    strbytes b;
    memset(&b, 0, sizeof b);
    b.p = s + begin;
    b.end = s + end;
    return b;
}

static strbytes sb_cstr(const char *s) {
    strbytes b;
    memset(&b, 0, sizeof b);
    b.p = (const unsigned char *)s;
    b.end = b.p + strlen(s);
    b.plain = 1;
    return b;
}

/* The value of 4 hex digits at p, or -1. */
static long hex4(const unsigned char *p) {
    long v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The next decoded byte, or -1 at the end. */
static int sb_next(strbytes *b) {
    int c;
    long cp;
    if (b->k < b->n)
        return b->buf[b->k++];
    if (b->p == b->end)
        return -1;
    c = *b->p++;
    if (b->plain || c != '\\')
        return c;
    c = *b->p++;
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default: return c; /* " \ / */
    }
    cp = hex4(b->p);
    b->p += 4;
    if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair, checked by scan_string */
        cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(b->p + 2) - 0xDC00);
        b->p += 6;
    }
    if (cp < 0x80) {
        b->buf[0] = (unsigned char)cp;
        b->n = 1;
    } else if (cp < 0x800) {
        b->buf[0] = (unsigned char)(0xC0 | (cp >> 6));
        b->buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
        b->n = 2;
    } else if (cp < 0x10000) {
        b->buf[0] = (unsigned char)(0xE0 | (cp >> 12));
        b->buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b->buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
        b->n = 3;
    } else {
        b->buf[0] = (unsigned char)(0xF0 | (cp >> 18));
        b->buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b->buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b->buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
        b->n = 4;
    }
    b->k = 1;
    return b->buf[0];
}

static int sb_equal(strbytes a, strbytes b) {
    int c;
    do {
        c = sb_next(&a);
        if (c != sb_next(&b))
            return 0;
    } while (c >= 0);
    return 1;
}

/* PyTorch's batchnorm counter, which loading tolerates and saving writes as I64. */
static int sb_is_counter(strbytes a) {
    static const char suffix[] = ".num_batches_tracked";
    const size_t slen = sizeof suffix - 1;
    strbytes probe = a;
    size_t len = 0;
    while (sb_next(&probe) >= 0)
        len++;
    if (len < slen)
        return 0;
    while (len-- > slen)
        sb_next(&a);
    return sb_equal(a, sb_cstr(suffix));
}

/* ---- safetensors: the header scanner ------------------------------------- */

#define ST_MAX_HEADER 100000000u /* the reference implementation's limit */
#define ST_MAX_RANK 8

typedef struct st_file {
    const unsigned char *hdr;  /* JSON header text */
    size_t hdr_len;            /* its length */
    const unsigned char *data; /* data area after the header */
    size_t data_len;           /* its length */
} st_file;

/* One tensor entry of the header, parsed and checked. */
typedef struct st_entry {
    size_t name_begin, name_end; /* raw name between its quotes, in hdr */
    int dtype;                   /* DNN_DT_* */
    const char *dtype_name;      /* "F32", ..., or "an unknown dtype", for messages */
    int rank;                    /* entries of shape */
    uint64_t shape[ST_MAX_RANK]; /* dims, each <= INT64_MAX */
    uint64_t begin, end;         /* data_offsets, within data */
} st_entry;

typedef struct st_iter {
    const st_file *f; /* the image being walked */
    size_t pos;       /* next unread header byte */
    int state;        /* 0 before '{', 1 after '{', 2 after a member, 3 done */
    int seen_meta;    /* __metadata__ has been read */
    const char *want; /* a metadata key to find, or NULL */
    size_t want_begin, want_end; /* its value's raw bytes, when found */
    int found;        /* want was found */
} st_iter;

static const struct {
    const char *name; /* as in the header */
    int dtype;        /* DNN_DT_* */
    int size;         /* bytes per element */
} st_dtypes[] = {
    {"F32", DNN_DT_F32, 4}, {"F64", DNN_DT_F64, 8}, {"I32", DNN_DT_I32, 4},
    {"I64", DNN_DT_I64, 8}, {"U8", DNN_DT_U8, 1}, {"I8", DNN_DT_I8, 1},
    /* the other safetensors dtypes, known only to check their sizes */
    {"BOOL", DNN_DT_OTHER, 1}, {"F8_E5M2", DNN_DT_OTHER, 1},
    {"F8_E4M3", DNN_DT_OTHER, 1}, {"I16", DNN_DT_OTHER, 2}, {"U16", DNN_DT_OTHER, 2},
    {"F16", DNN_DT_OTHER, 2}, {"BF16", DNN_DT_OTHER, 2}, {"U32", DNN_DT_OTHER, 4},
    {"U64", DNN_DT_OTHER, 8},
};

static uint64_t get_le(const unsigned char *p, int nbytes) {
    uint64_t v = 0;
    while (nbytes-- > 0)
        v = (v << 8) | p[nbytes];
    return v;
}

static void skip_ws(st_iter *it) {
    while (it->pos < it->f->hdr_len) {
        unsigned char c = it->f->hdr[it->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        it->pos++;
    }
}

/* Skips whitespace and consumes ch if it comes next. */
static int accept(st_iter *it, int ch) {
    skip_ws(it);
    if (it->pos < it->f->hdr_len && it->f->hdr[it->pos] == ch) {
        it->pos++;
        return 1;
    }
    return 0;
}

/* string: '"' chars '"'. Sets the span between the quotes. */
static int scan_string(st_iter *it, size_t *begin, size_t *end) {
    const unsigned char *s = it->f->hdr;
    size_t n = it->f->hdr_len, i;
    if (!accept(it, '"'))
        return DNN_E_HEADER;
    for (i = it->pos; i < n && s[i] != '"'; i++) {
        if (s[i] < 0x20)
            return DNN_E_HEADER;
        if (s[i] != '\\')
            continue;
        if (++i >= n)
            return DNN_E_HEADER;
        if (s[i] == 'u') {
            long cp = i + 4 < n ? hex4(s + i + 1) : -1;
            if (cp < 0 || (cp >= 0xDC00 && cp < 0xE000))
                return DNN_E_HEADER; /* bad digits or a lone low surrogate */
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { /* needs its low half */
                long lo = i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u' ? hex4(s + i + 3) : -1;
                if (lo < 0xDC00 || lo >= 0xE000)
                    return DNN_E_HEADER;
                i += 6;
            }
        } else if (!strchr("\"\\/bfnrt", s[i]) || s[i] == 0) {
            return DNN_E_HEADER;
        }
    }
    if (i >= n)
        return DNN_E_HEADER;
    *begin = it->pos;
    *end = i;
    it->pos = i + 1;
    return DNN_OK;
}

/* A non-negative JSON integer: no sign, fraction, exponent or leading zero. */
static int scan_uint(st_iter *it, uint64_t *v) {
    const unsigned char *s = it->f->hdr;
    size_t n = it->f->hdr_len, start;
    skip_ws(it);
    start = it->pos;
    *v = 0;
    while (it->pos < n && s[it->pos] >= '0' && s[it->pos] <= '9') {
        unsigned d = s[it->pos] - '0';
        if (*v > (UINT64_MAX - d) / 10)
            return DNN_E_HEADER;
        *v = *v * 10 + d;
        it->pos++;
    }
    if (it->pos == start || (s[start] == '0' && it->pos - start > 1))
        return DNN_E_HEADER;
    if (it->pos < n && strchr(".eE", s[it->pos]) && s[it->pos] != 0)
        return DNN_E_HEADER;
    return DNN_OK;
}

static int is_key(const st_iter *it, size_t begin, size_t end, const char *key) {
    return sb_equal(sb_json(it->f->hdr, begin, end), sb_cstr(key));
}

/* metadata: '{' [ string ':' string { ',' string ':' string } ] '}' */
static int skip_metadata(st_iter *it) {
    size_t b, e;
    int r;
    if (!accept(it, '{'))
        return DNN_E_HEADER;
    if (accept(it, '}'))
        return DNN_OK;
    do {
        size_t vb, ve;
        if ((r = scan_string(it, &b, &e)) < 0 || !accept(it, ':') ||
            (r = scan_string(it, &vb, &ve)) < 0)
            return r < 0 ? r : DNN_E_HEADER;
        if (it->want && is_key(it, b, e, it->want)) {
            it->want_begin = vb;
            it->want_end = ve;
            it->found = 1;
        }
    } while (accept(it, ','));
    return accept(it, '}') ? DNN_OK : DNN_E_HEADER;
}

/* Sets dtype and returns its element size, 0 when unknown. */
static int parse_dtype(st_iter *it, st_entry *e) {
    size_t b, en, i;
    int r = scan_string(it, &b, &en);
    if (r < 0)
        return r;
    e->dtype = DNN_DT_OTHER;
    e->dtype_name = "an unknown dtype";
    for (i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (is_key(it, b, en, st_dtypes[i].name)) {
            e->dtype = st_dtypes[i].dtype;
            e->dtype_name = st_dtypes[i].name;
            return st_dtypes[i].size;
        }
    return 0;
}

/* array: '[' [ uint { ',' uint } ] ']' with at most max entries. */
static int parse_uints(st_iter *it, uint64_t *v, int max, int *count) {
    int r;
    *count = 0;
    if (!accept(it, '['))
        return DNN_E_HEADER;
    if (accept(it, ']'))
        return DNN_OK;
    do {
        if (*count == max)
            return DNN_E_HEADER;
        if ((r = scan_uint(it, &v[(*count)++])) < 0)
            return r;
    } while (accept(it, ','));
    return accept(it, ']') ? DNN_OK : DNN_E_HEADER;
}

/* tensor: '{' members '}' with "dtype", "shape" and "data_offsets" exactly
 * once each, in any order; then the offsets are checked against the data. */
static int parse_tensor(st_iter *it, st_entry *e) {
    uint64_t offsets[2], numel = 1;
    int seen = 0, size = 0, count, r, i;
    size_t b, en;
    if (!accept(it, '{'))
        return DNN_E_HEADER;
    do {
        int bit;
        if ((r = scan_string(it, &b, &en)) < 0 || !accept(it, ':'))
            return r < 0 ? r : DNN_E_HEADER;
        if (is_key(it, b, en, "dtype")) {
            bit = 1;
            r = size = parse_dtype(it, e);
        } else if (is_key(it, b, en, "shape")) {
            bit = 2;
            r = parse_uints(it, e->shape, ST_MAX_RANK, &e->rank);
        } else if (is_key(it, b, en, "data_offsets")) {
            bit = 4;
            r = parse_uints(it, offsets, 2, &count);
            if (r == DNN_OK && count != 2)
                r = DNN_E_HEADER;
        } else {
            return DNN_E_HEADER;
        }
        if (r < 0 || (seen & bit))
            return r < 0 ? r : DNN_E_HEADER;
        seen |= bit;
    } while (accept(it, ','));
    if (!accept(it, '}') || seen != 7)
        return DNN_E_HEADER;
    e->begin = offsets[0];
    e->end = offsets[1];
    for (i = 0; i < e->rank; i++) {
        if (e->shape[i] > INT64_MAX || (e->shape[i] && numel > UINT64_MAX / e->shape[i]))
            return DNN_E_HEADER;
        numel *= e->shape[i];
    }
    if (e->begin > e->end)
        return DNN_E_HEADER;
    if (e->end > it->f->data_len)
        return DNN_E_TRUNCATED;
    if (size && (numel > UINT64_MAX / (unsigned)size || numel * (unsigned)size != e->end - e->begin))
        return DNN_E_HEADER;
    return DNN_OK;
}

/* Checks the length prefix and splits the image into header and data. */
static int st_open(const void *buf, size_t len, st_file *f) {
    uint64_t n;
    if (!buf && len)
        return DNN_E_ARG;
    if (len < 8)
        return DNN_E_HEADER;
    n = get_le(buf, 8);
    if (n > ST_MAX_HEADER)
        return DNN_E_HEADER;
    if (n > len - 8)
        return DNN_E_TRUNCATED;
    f->hdr = (const unsigned char *)buf + 8;
    f->hdr_len = (size_t)n;
    f->data = f->hdr + n;
    f->data_len = len - 8 - (size_t)n;
    return DNN_OK;
}

static st_iter st_begin(const st_file *f) {
    st_iter it;
    it.f = f;
    it.pos = 0;
    it.state = 0;
    it.seen_meta = 0;
    it.want = NULL;
    it.found = 0;
    it.want_begin = it.want_end = 0;
    return it;
}

/* header: '{' [ member { ',' member } ] '}' whitespace
 * member: string ':' ( tensor | metadata )
 * Parses the next tensor entry: 1, 0 after the last, or a DNN_E* code.
 * __metadata__ is checked and skipped. */
static int st_next(st_iter *it, st_entry *e) {
    size_t b, en;
    int r;
    for (;;) {
        switch (it->state) {
        case 0:
            if (!accept(it, '{'))
                return DNN_E_HEADER;
            it->state = accept(it, '}') ? 3 : 1;
            continue;
        case 2:
            if (accept(it, '}')) {
                it->state = 3;
                continue;
            }
            if (!accept(it, ','))
                return DNN_E_HEADER;
            break;
        case 3:
            skip_ws(it);
            return it->pos == it->f->hdr_len ? 0 : DNN_E_HEADER;
        }
        it->state = 2;
        if ((r = scan_string(it, &b, &en)) < 0 || !accept(it, ':'))
            return r < 0 ? r : DNN_E_HEADER;
        if (is_key(it, b, en, "__metadata__")) {
            if (it->seen_meta)
                return DNN_E_DUPLICATE;
            it->seen_meta = 1;
            if ((r = skip_metadata(it)) < 0)
                return r;
            continue;
        }
        if ((r = parse_tensor(it, e)) < 0)
            return r;
        e->name_begin = b;
        e->name_end = en;
        return 1;
    }
}

static strbytes entry_name(const st_file *f, const st_entry *e) {
    return sb_json(f->hdr, e->name_begin, e->name_end);
}

/* Walks the whole header: every entry well-formed, no name twice, no two
 * tensors sharing bytes. Returns the number of tensors or a DNN_E* code. */
static int st_check(const st_file *f) {
    st_iter it = st_begin(f);
    st_entry a, b;
    int n = 0, r, j;
    while ((r = st_next(&it, &a)) > 0) {
        st_iter prev = st_begin(f);
        for (j = 0; j < n; j++) {
            st_next(&prev, &b); /* already checked */
            if (sb_equal(entry_name(f, &a), entry_name(f, &b)))
                return DNN_E_DUPLICATE;
            if (a.begin < b.end && b.begin < a.end)
                return DNN_E_HEADER;
        }
        n++;
    }
    return r < 0 ? r : n;
}

/* Finds the tensor called name in a checked image: DNN_OK or DNN_E_MISSING. */
static int st_lookup(const st_file *f, strbytes name, st_entry *e) {
    st_iter it = st_begin(f);
    while (st_next(&it, e) > 0)
        if (sb_equal(entry_name(f, e), name))
            return DNN_OK;
    return DNN_E_MISSING;
}

static void to_view(const st_file *f, const st_entry *e, dnn_st_view *out) {
    int i;
    memset(out, 0, sizeof *out);
    out->name = (const char *)f->hdr + e->name_begin;
    out->name_len = e->name_end - e->name_begin;
    out->dtype = e->dtype;
    out->rank = e->rank;
    for (i = 0; i < e->rank; i++)
        out->shape[i] = (int64_t)e->shape[i];
    out->data = f->data + e->begin;
    out->nbytes = (size_t)(e->end - e->begin);
}

/* ---- safetensors: the public readers ------------------------------------- */

/* Opens and checks an image; the number of tensors or a DNN_E* code. */
static int st_open_checked(const void *buf, size_t len, st_file *f) {
    int r = st_open(buf, len, f);
    return r < 0 ? r : st_check(f);
}

int dnn_st_count(const void *buf, size_t len) {
    st_file f;
    return st_open_checked(buf, len, &f);
}

int dnn_st_at(const void *buf, size_t len, int index, dnn_st_view *out) {
    st_file f;
    st_iter it;
    st_entry e;
    int n = st_open_checked(buf, len, &f);
    if (n < 0)
        return n;
    if (!out || index < 0 || index >= n)
        return DNN_E_ARG;
    it = st_begin(&f);
    do
        st_next(&it, &e);
    while (index-- > 0);
    to_view(&f, &e, out);
    return DNN_OK;
}

int dnn_st_find(const void *buf, size_t len, const char *name, dnn_st_view *out) {
    st_file f;
    st_entry e;
    int r = st_open_checked(buf, len, &f);
    if (r < 0)
        return r;
    if (!name || !out)
        return DNN_E_ARG;
    if ((r = st_lookup(&f, sb_cstr(name), &e)) == DNN_OK)
        to_view(&f, &e, out);
    return r;
}

int dnn_st_metadata(const void *buf, size_t len, const char *key, char *out, size_t cap) {
    st_file f;
    st_iter it;
    st_entry e;
    strbytes v;
    size_t n = 0;
    int r, c;
    if (!key || (!out && cap))
        return DNN_E_ARG;
    if ((r = st_open_checked(buf, len, &f)) < 0)
        return r;
    it = st_begin(&f);
    it.want = key;
    while ((r = st_next(&it, &e)) > 0)
        ;
    if (r < 0)
        return r;
    if (!it.found)
        return DNN_E_MISSING;
    v = sb_json(f.hdr, it.want_begin, it.want_end);
    while ((c = sb_next(&v)) >= 0) {
        if (n + 1 >= cap)
            return DNN_E_SPACE;
        out[n++] = (char)c;
    }
    if (cap)
        out[n] = 0;
    return cap ? DNN_OK : DNN_E_SPACE;
}

/* ---- safetensors: loading into a model ----------------------------------- */

/* Does the file's entry fit info: dtype (F32, or I64 for a counter) and shape. */
static int st_match(const dnn_tensor_info *info, const st_entry *e) {
    int i, counter = sb_is_counter(sb_cstr(info->name));
    if (e->dtype != DNN_DT_F32 && !(counter && e->dtype == DNN_DT_I64))
        return DNN_E_DTYPE;
    if (e->rank != info->rank)
        return DNN_E_SHAPE;
    for (i = 0; i < info->rank; i++)
        if (e->shape[i] != (uint64_t)info->shape[i])
            return DNN_E_SHAPE;
    return DNN_OK;
}

/* Is the file's entry one of info[] (or a counter, which may be ignored)? */
static int st_known(const dnn_tensor_info *info, int count, const st_file *f, const st_entry *e) {
    int i;
    for (i = 0; i < count; i++)
        if (sb_equal(entry_name(f, e), sb_cstr(info[i].name)))
            return 1;
    return sb_is_counter(entry_name(f, e));
}

/* Copies a matched entry into dst, converting I64 counters to float. */
static void st_copy(float *dst, int size, const st_file *f, const st_entry *e) {
    const unsigned char *p = f->data + e->begin;
    int i;
    for (i = 0; i < size; i++) {
        if (e->dtype == DNN_DT_F32) {
            uint32_t bits = (uint32_t)get_le(p + 4 * i, 4);
            memcpy(&dst[i], &bits, 4);
        } else {
            uint64_t u = get_le(p + 8 * i, 8); /* two's complement */
            dst[i] = u <= INT64_MAX ? (float)(int64_t)u : -(float)(int64_t)~u - 1.0f;
        }
    }
}

/* info[i] is usable: a name, rank 0..4, size the product of the dims. */
static int info_ok(const dnn_tensor_info *info) {
    int i;
    long long n = 1;
    if (!info->name || info->rank < 0 || info->rank > 4)
        return 0;
    for (i = 0; i < info->rank; i++) {
        if (info->shape[i] < 0 || (n *= info->shape[i]) > INT32_MAX)
            return 0; /* dims are ints, so n never overflows */
    }
    return n == info->size;
}

/* A message built without stdio: at most cap - 1 bytes, NUL-terminated;
 * nothing at all when p is NULL. */
typedef struct msgbuf {
    char *p;    /* the caller's buffer, or NULL */
    size_t cap; /* its size */
    size_t n;   /* bytes written */
} msgbuf;

static void msg_char(msgbuf *m, int c) {
    if (!m->p || !m->cap)
        return;
    if (m->n + 1 < m->cap)
        m->p[m->n++] = (char)c;
    m->p[m->n] = 0;
}

static void msg_str(msgbuf *m, const char *s) {
    while (*s)
        msg_char(m, *s++);
}

static void msg_uint(msgbuf *m, uint64_t v) {
    char digits[24];
    int i = 0;
    do
        digits[i++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (i)
        msg_char(m, digits[--i]);
}

static void msg_name(msgbuf *m, strbytes name) {
    int c;
    msg_char(m, '\'');
    while ((c = sb_next(&name)) >= 0)
        msg_char(m, c);
    msg_char(m, '\'');
}

/* "[64, 4]" of dims, as uint64_t (a file's) or int (the model's). */
static void msg_shape(msgbuf *m, const uint64_t *file_dims, const int *model_dims, int rank) {
    int i;
    msg_char(m, '[');
    for (i = 0; i < rank; i++) {
        if (i)
            msg_str(m, ", ");
        msg_uint(m, file_dims ? file_dims[i] : (uint64_t)model_dims[i]);
    }
    msg_char(m, ']');
}

/* Everything dnn_safetensors_load checks before writing (dst NULL: not
 * dst), with the reason in m naming the tensor at fault. */
static int st_validate(const dnn_tensor_info *info, float *const *dst, int count, const void *buf, size_t len,
                       st_file *f, msgbuf *m) {
    st_iter it;
    st_entry e;
    int i, r;
    if (count < 0 || (count > 0 && !info)) {
        msg_str(m, "bad arguments");
        return DNN_E_ARG;
    }
    for (i = 0; i < count; i++)
        if ((dst && !dst[i]) || !info_ok(&info[i])) {
            msg_str(m, "bad arguments: entry ");
            msg_uint(m, (uint64_t)i);
            msg_str(m, " of the tensor table");
            return DNN_E_ARG;
        }
    if ((r = st_open_checked(buf, len, f)) < 0) {
        if (len == 0 && r == DNN_E_HEADER) {
            msg_str(m, "the file is empty, not a safetensors file");
        } else if (len < 8 && r == DNN_E_HEADER) {
            msg_uint(m, len);
            msg_str(m, " bytes, too short for a safetensors file");
        } else {
            msg_str(m, dnn_strerror(r));
        }
        return r;
    }
    for (i = 0; i < count; i++) {
        r = st_lookup(f, sb_cstr(info[i].name), &e);
        if (r == DNN_E_MISSING && sb_is_counter(sb_cstr(info[i].name)))
            continue;
        if (r == DNN_OK)
            r = st_match(&info[i], &e);
        if (r == DNN_OK)
            continue;
        msg_name(m, sb_cstr(info[i].name));
        if (r == DNN_E_MISSING) {
            msg_str(m, " ");
            msg_shape(m, NULL, info[i].shape, info[i].rank);
            msg_str(m, " is missing from the file");
        } else if (r == DNN_E_DTYPE) {
            msg_str(m, " is ");
            msg_str(m, e.dtype_name);
            msg_str(m, " in the file; the model takes F32");
        } else {
            msg_str(m, " is ");
            msg_shape(m, e.shape, NULL, e.rank);
            msg_str(m, " in the file, ");
            msg_shape(m, NULL, info[i].shape, info[i].rank);
            msg_str(m, " in the model");
        }
        return r;
    }
    it = st_begin(f);
    while (st_next(&it, &e) > 0)
        if (!st_known(info, count, f, &e)) {
            msg_str(m, "the file holds ");
            msg_name(m, entry_name(f, &e));
            msg_str(m, " ");
            msg_shape(m, e.shape, NULL, e.rank);
            msg_str(m, ", which the model does not have");
            return DNN_E_UNKNOWN;
        }
    return DNN_OK;
}

int dnn_safetensors_load(const dnn_tensor_info *info, float *const *dst, int count,
                         const void *buf, size_t len) {
    st_file f;
    st_entry e;
    msgbuf quiet = {NULL, 0, 0};
    int i, r;
    if (count > 0 && !dst)
        return DNN_E_ARG;
    if ((r = st_validate(info, dst, count, buf, len, &f, &quiet)) < 0)
        return r; /* everything is checked before the first write */
    for (i = 0; i < count; i++)
        if (st_lookup(&f, sb_cstr(info[i].name), &e) == DNN_OK)
            st_copy(dst[i], info[i].size, &f, &e);
    return DNN_OK;
}

int dnn_safetensors_check(const dnn_tensor_info *info, int count, const void *buf, size_t len, char *msg,
                          size_t msgcap) {
    st_file f;
    msgbuf m = {msg, msgcap, 0};
    if (msg && msgcap)
        msg[0] = 0; /* empty on success */
    return st_validate(info, NULL, count, buf, len, &f, &m);
}

/* ---- safetensors: saving ------------------------------------------------- */

/* Appends to buf, or only counts the bytes when buf is NULL. */
typedef struct writer {
    unsigned char *buf; /* output, or NULL */
    size_t len;         /* bytes written (or counted) so far */
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (w->buf)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_str(writer *w, const char *s) {
    put(w, s, strlen(s));
}

static void put_le(writer *w, uint64_t v, int nbytes) {
    unsigned char b[8];
    int i;
    for (i = 0; i < nbytes; i++, v >>= 8)
        b[i] = (unsigned char)(v & 0xFF);
    put(w, b, (size_t)nbytes);
}

static void put_uint(writer *w, uint64_t v) {
    char digits[24];
    int i = sizeof digits;
    digits[--i] = 0;
    do
        digits[--i] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    put_str(w, digits + i);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void put_json_string(writer *w, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put_str(w, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(w, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, esc, 6);
        } else {
            put(w, &c, 1);
        }
    }
    put_str(w, "\"");
}

/* Bytes per element in the file: counters are I64, an int8 model's I8 and
 * I32 tensors their own, everything else F32. */
static int saved_size(const dnn_tensor_info *info) {
    return info->dtype == DNN_DT_I8 ? 1 : info->dtype == DNN_DT_I32 ? 4 : sb_is_counter(sb_cstr(info->name)) ? 8 : 4;
}

static const char *saved_dtype(const dnn_tensor_info *info) {
    return info->dtype == DNN_DT_I8 ? "I8" : info->dtype == DNN_DT_I32 ? "I32" : saved_size(info) == 8 ? "I64" : "F32";
}

/* The JSON header, unpadded; meta holds nmeta key/value pairs. */
static void put_header(writer *w, const dnn_tensor_info *info, int count, const char *const *meta, int nmeta) {
    uint64_t offset = 0;
    int i, d;
    put_str(w, "{");
    if (nmeta > 0) {
        put_str(w, "\"__metadata__\":{");
        for (i = 0; i < nmeta; i++) {
            put_str(w, i ? "," : "");
            put_json_string(w, meta[2 * i]);
            put_str(w, ":");
            put_json_string(w, meta[2 * i + 1]);
        }
        put_str(w, "}");
    }
    for (i = 0; i < count; i++) {
        uint64_t end = offset + (uint64_t)info[i].size * (uint64_t)saved_size(&info[i]);
        put_str(w, i || nmeta > 0 ? "," : "");
        put_json_string(w, info[i].name);
        put_str(w, ":{\"dtype\":\"");
        put_str(w, saved_dtype(&info[i]));
        put_str(w, "\",\"shape\":[");
        for (d = 0; d < info[i].rank; d++) {
            put_str(w, d ? "," : "");
            put_uint(w, (uint64_t)info[i].shape[d]);
        }
        put_str(w, "],\"data_offsets\":[");
        put_uint(w, offset);
        put_str(w, ",");
        put_uint(w, end);
        put_str(w, "]}");
        offset = end;
    }
    put_str(w, "}");
}

/* Returns 0 (never a valid size) for bad arguments. */
size_t dnn_safetensors_save(const dnn_tensor_info *info, const float *const *src, int count,
                            void *buf, size_t cap) {
    return dnn_safetensors_save_meta(info, src, count, NULL, 0, buf, cap);
}

size_t dnn_safetensors_save_meta(const dnn_tensor_info *info, const float *const *src, int count,
                                 const char *const *meta, int nmeta, void *buf, size_t cap) {
    writer w = {NULL, 0};
    size_t hlen, total;
    int i, k;
    if (count < 0 || (count > 0 && (!info || !src)) || nmeta < 0 || (nmeta > 0 && !meta))
        return 0;
    for (i = 0; i < 2 * nmeta; i++)
        if (!meta[i])
            return 0;
    for (i = 0; i < count; i++)
        if (!src[i] || !info_ok(&info[i]) || !strcmp(info[i].name, "__metadata__"))
            return 0;
    put_header(&w, info, count, meta, nmeta);
    hlen = (w.len + 7) & ~(size_t)7; /* so the data starts 8-aligned */
    total = 8 + hlen;
    for (i = 0; i < count; i++)
        total += (size_t)info[i].size * (size_t)saved_size(&info[i]);
    if (!buf || cap < total)
        return total;
    w.buf = buf;
    w.len = 0;
    put_le(&w, hlen, 8);
    put_header(&w, info, count, meta, nmeta);
    while (w.len < 8 + hlen)
        put_str(&w, " ");
    for (i = 0; i < count; i++) {
        const int counter = saved_size(&info[i]) == 8; /* once per tensor: it walks the name */
        if (info[i].dtype == DNN_DT_I8 || info[i].dtype == DNN_DT_I32) { /* integers, stored little-endian */
            const unsigned char *p = (const unsigned char *)src[i];
            const int size = saved_size(&info[i]);
            for (k = 0; k < info[i].size; k++) {
                uint32_t v = p[k];
                if (size == 4)
                    memcpy(&v, p + 4 * k, 4);
                put_le(&w, v, size);
            }
            continue;
        }
        for (k = 0; k < info[i].size; k++) {
            float v = src[i][k];
            if (counter) {
                int64_t n = v > -9.2e18f && v < 9.2e18f ? (int64_t)v : 0; /* NaN: 0 */
                put_le(&w, (uint64_t)n, 8);
            } else {
                uint32_t bits;
                memcpy(&bits, &v, 4);
                put_le(&w, bits, 4);
            }
        }
    }
    return total;
}
