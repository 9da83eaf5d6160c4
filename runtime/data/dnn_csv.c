/* dnn_csv.c — CSV tables into float tensors; see dnn_data.h.
 *
 * A CSV file is mapped (or read) whole into memory. Its first record gives
 * the field count; one scan then checks every record and parses every
 * field into the float table (a fast exact path for plain decimals, strtod
 * otherwise), sized from a bound on the field count, and learns which
 * columns are textual; a second scan, only when there is a header or a
 * textual column, collects those strings. Whether the first line is a
 * header is decided after the first scan, when the columns' kinds are
 * known.
 */
#define _POSIX_C_SOURCE 200809L /* mmap, posix_madvise */
#include "dnn_data.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"

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

