/* util.c — the arena every pass allocates from, and diagnostics.
 *
 * The compiler never frees individual objects: everything lives in one
 * arena released at exit. Diagnostics follow GCC's shape, as the language
 * contract (§9) requires:
 *
 *     file.dnn:9:8: error: dense() needs a rank-1 input, got [16, 5, 5]
 *         |> dense(120) |> relu
 *            ^
 *     note: insert '|> flatten' before dense()
 *
 * Passes report every error they find; after MAX_ERRORS the rest is dropped
 * and too_many_errors() tells the parser to stop.
 */
#include "dnnc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 20
#ifndef ARENA_BLOCK
#define ARENA_BLOCK (1 << 20) /* bytes; the fuzz build makes it smaller */
#endif

typedef struct Block {
    struct Block *next;  /* previously filled block */
    size_t used, cap;    /* bytes of data[] in use / available */
    char data[];
} Block;

static Block *arena;

void *arena_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (!arena || arena->used + size > arena->cap) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        Block *b = malloc(sizeof(Block) + cap);
        if (!b) {
            fprintf(stderr, "dnnc: out of memory\n");
            exit(1);
        }
        b->next = arena;
        b->used = 0;
        b->cap = cap;
        arena = b;
    }
    void *p = arena->data + arena->used;
    arena->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(arena_alloc(n), s, n);
}

char *arena_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = arena_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void arena_free_all(void) {
    while (arena) {
        Block *next = arena->next;
        free(arena);
        arena = next;
    }
}

/* ---- a string → pointer hash map (names can be many in a large file) ---- */

static unsigned hash(const char *s) {
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

void *map_get(const Map *m, const char *key) {
    if (!m->cap)
        return NULL;
    for (unsigned i = hash(key) & (unsigned)(m->cap - 1);; i = (i + 1) & (unsigned)(m->cap - 1)) {
        if (!m->slots[i].key)
            return NULL;
        if (!strcmp(m->slots[i].key, key))
            return m->slots[i].val;
    }
}

void map_put(Map *m, const char *key, void *val) {
    if (2 * (m->count + 1) > m->cap) {
        Map bigger = {arena_alloc(sizeof(Entry) * (size_t)(m->cap ? 2 * m->cap : 64)),
                      m->cap ? 2 * m->cap : 64, 0};
        for (int i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                map_put(&bigger, m->slots[i].key, m->slots[i].val);
        *m = bigger;
    }
    unsigned i = hash(key) & (unsigned)(m->cap - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key))
        i = (i + 1) & (unsigned)(m->cap - 1);
    if (!m->slots[i].key)
        m->count++;
    m->slots[i] = (Entry){key, val};
}

/* ---- diagnostics ---------------------------------------------------------- */

static const Source *source;
static bool use_color, warnings_are_errors, quiet_warnings;
static int errors, dropped;
static bool last_shown;  /* whether the last error/warning was printed (for notes) */
static size_t *line_starts;  /* byte offset of line i+1; malloc'd, freed by diag_free */
static int nlines;
static FILE *out;   /* where diagnostics go: stderr unless diag_init was given a stream */

/* Starts a compile: counts from zero, so the fuzzer can compile input
 * after input in one process (then with diag_free and arena_free_all
 * between them). */
void diag_init(const Source *src, FILE *stream, bool color, bool werror, bool no_warnings) {
    /* stderr is unbuffered: a byte per write(2) made 50,000 warnings take
     * seconds. Buffered, it is flushed at exit (and before an ICE). */
    static char buf[1 << 16];
    if (!stream && !out)
        setvbuf(stderr, buf, _IOFBF, sizeof buf);
    out = stream ? stream : stderr;
    source = src;
    use_color = color;
    warnings_are_errors = werror;
    quiet_warnings = no_warnings;
    errors = dropped = 0;
    last_shown = false;
    diag_free();
}

int error_count(void) { return errors; }
/* True once an error beyond the limit was dropped: with exactly
 * MAX_ERRORS errors every one is shown and nothing says "too many". */
bool too_many_errors(void) { return dropped > 0; }

void diag_free(void) {
    free(line_starts);
    line_starts = NULL;
    nlines = 0;
}

/* Where each source line starts, computed once: diagnostics and generated
 * comments look lines up by number, and a file can have 50,000 of them. */

static void index_lines(void) {
    if (line_starts || !source)
        return;
    int cap = 1024;
    line_starts = malloc(sizeof *line_starts * (size_t)cap);
    if (!line_starts) {
        fprintf(stderr, "dnnc: out of memory\n");
        exit(1);
    }
    line_starts[nlines++] = 0;
    for (size_t i = 0; i < source->len; i++) {
        if (source->text[i] != '\n')
            continue;
        if (nlines == cap) {
            size_t *bigger = realloc(line_starts, sizeof *line_starts * (size_t)(cap *= 2));
            if (!bigger) {
                fprintf(stderr, "dnnc: out of memory\n");
                exit(1);
            }
            line_starts = bigger;
        }
        line_starts[nlines++] = i + 1;
    }
}

/* Line `line` of the source as [*start, *end), without its '\n' or a
 * trailing '\r' (CRLF files); false when there is no such line. */
static bool find_line(int line, const char **start, const char **end) {
    index_lines();
    if (!source || line < 1 || line > nlines)
        return false;
    const char *p = source->text + line_starts[line - 1], *e = source->text + source->len;
    if (line < nlines)
        e = source->text + line_starts[line] - 1;
    if (e > p && e[-1] == '\r')
        e--;
    *start = p;
    *end = e;
    return true;
}

#define SHOW_WIDTH 300 /* a longer line is shown as a window around the caret */

/* Prints line `line` of the source and a caret under byte column `col`.
 * Bytes that are not printable are shown as '?' so the caret stays aligned
 * and the terminal is safe; tabs are kept so indentation matches. */
static void show_line(int line, int col) {
    const char *p, *eol;
    if (!source || source->len == 0 || !find_line(line, &p, &eol))
        return;
    if (eol - p > SHOW_WIDTH) { /* keep the caret inside what is shown */
        long from = col - 1 - SHOW_WIDTH / 2;
        if (from > eol - p - SHOW_WIDTH)
            from = (long)(eol - p) - SHOW_WIDTH;
        if (from > 0) {
            p += from;
            col -= (int)from;
        }
        eol = p + SHOW_WIDTH;
    }
    for (const char *q = p; q < eol; q++)
        fputc((*q == '\t' || (*q >= 32 && *q < 127)) ? *q : '?', out);
    fputc('\n', out);
    for (int c = 1; c < col && p + c - 1 < eol; c++)
        fputc(p[c - 1] == '\t' ? '\t' : ' ', out);
    fputs(use_color ? "\033[1;32m^\033[0m\n" : "^\n", out);
}

static void report(Loc loc, const char *kind, const char *color, const char *fmt, va_list ap) {
    const char *path = source ? source->path : "dnnc";
    if (use_color)
        fprintf(out, "\033[1m%s:%d:%d: %s%s:\033[0m ", path, loc.first_line, loc.first_column,
                color, kind);
    else
        fprintf(out, "%s:%d:%d: %s: ", path, loc.first_line, loc.first_column, kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    show_line(loc.first_line, loc.first_column);
}

void error_at(Loc loc, const char *fmt, ...) {
    if (errors >= MAX_ERRORS) {
        /* said when the 21st error arrives, so after the 20th error's notes */
        if (dropped++ == 0)
            fprintf(out, "dnnc: too many errors (%d), stopping\n", MAX_ERRORS);
        last_shown = false;
        return;
    }
    errors++;
    last_shown = true;
    va_list ap;
    va_start(ap, fmt);
    report(loc, "error", "\033[1;31m", fmt, ap);
    va_end(ap);
}

void warning_at(Loc loc, const char *fmt, ...) {
    last_shown = false;
    if (quiet_warnings)
        return;
    if (warnings_are_errors) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = arena_alloc(512);
        vsnprintf(msg, 512, fmt, ap);
        va_end(ap);
        error_at(loc, "%s [-Werror]", msg);
        return;
    }
    last_shown = true;
    va_list ap;
    va_start(ap, fmt);
    report(loc, "warning", "\033[1;35m", fmt, ap);
    va_end(ap);
}

void note(const char *fmt, ...) {
    if (!last_shown)
        return;
    fputs(use_color ? "\033[1;36mnote:\033[0m " : "note: ", out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

NORETURN void ice(const char *file, int line, const char *fmt, ...) {
    fflush(stderr);
    fprintf(stderr, "dnnc: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(70);
}

/* ---- suggestions ---------------------------------------------------------- */

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* The candidate within edit distance 2 (1 for short names), or NULL. */
const char *closest_name(const char *name, const char *const *cands, int n) {
    const char *best = NULL;
    int best_d = (int)strlen(name) <= 3 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(name, cands[i]);
        if (d <= best_d && (!best || d < best_d)) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

/* Whether s matches pattern pat, where `*` stands for any run of
 * characters (dots too) and every other character for itself. */
bool glob_match(const char *pat, const char *s) {
    const char *star = NULL, *resume = NULL; /* the last star, and where its run ends so far */
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) { /* the last star takes one more character */
            pat = star + 1;
            s = ++resume;
        } else
            return false;
    }
    while (*pat == '*')
        pat++;
    return !*pat;
}

/* The edit distance from s to the nearest string pattern pat matches:
 * 0 when it matches, 1 for one character off. */
int glob_distance(const char *pat, const char *s) {
    size_t lp = strlen(pat), ls = strlen(s);
    int *d = malloc(sizeof(int) * (lp + 1) * (ls + 1));
    if (!d)
        ICE("out of memory");
#define D(i, j) d[(i) * (ls + 1) + (j)]
    for (size_t j = 0; j <= ls; j++)
        D(0, j) = (int)j;
    for (size_t i = 1; i <= lp; i++) {
        bool star = pat[i - 1] == '*';
        D(i, 0) = D(i - 1, 0) + !star;
        for (size_t j = 1; j <= ls; j++) {
            int best = D(i - 1, j) + !star; /* skip the pattern's character (a star: matches nothing) */
            int eat = D(i, j - 1) + !star;  /* one more of s: free for a star, else an insertion */
            int sub = D(i - 1, j - 1) + !(star || pat[i - 1] == s[j - 1]);
            best = eat < best ? eat : best;
            D(i, j) = sub < best ? sub : best;
        }
    }
    int result = D(lp, ls);
#undef D
    free(d);
    return result;
}

/* A number for messages: the shortest form that reads back as the same
 * value, so 99999999 stays 99999999 (not %g's 1e+08) and 1e10 is 1e+10. */
const char *num_str(double x) {
    char buf[32];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return arena_strdup(buf);
}

/* The text of a source line without its indentation, for comments in
 * generated code: at most 120 characters ("..." after them); "" when there
 * is no such line. */
static const char *source_line_prefix(const char *p, int len);

const char *source_line(int line) {
    const char *p, *eol;
    if (!find_line(line, &p, &eol))
        return "";
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    if (eol - p > 120) /* a comment per call: a 100,000-term line would be printed as often */
        return arena_printf("%s...", source_line_prefix(p, 117));
    return source_line_prefix(p, (int)(eol - p));
}

/* The first len characters at p, made safe inside a C comment. */
static const char *source_line_prefix(const char *p, int len) {
    char *s = arena_alloc((size_t)len + 1);
    for (int i = 0; i < len; i++) /* keep comments in generated C well-formed */
        s[i] = (p[i] == '*' && i + 1 < len && p[i + 1] == '/') || (unsigned char)p[i] < 32 ||
               (unsigned char)p[i] > 126 ? '?' : p[i];
    return s;
}

const char *source_text(Loc loc) {
    const char *p, *eol;
    if (loc.first_line != loc.last_line || loc.last_column < loc.first_column ||
        loc.last_column - loc.first_column > 40 || !find_line(loc.first_line, &p, &eol))
        return NULL;
    p += loc.first_column - 1;
    int len = loc.last_column - loc.first_column + 1;
    if (p + len > eol)
        return NULL;
    for (int i = 0; i < len; i++)
        if ((unsigned char)p[i] < 32 || (unsigned char)p[i] > 126)
            return NULL;
    return arena_printf("%.*s", len, p);
}

const char *source_call(Loc loc) {
    const char *p, *eol;
    if (!find_line(loc.first_line, &p, &eol) || p + loc.first_column - 1 >= eol)
        return NULL;
    const char *start = p + loc.first_column - 1, *q = start;
    while (q < eol && (isalnum((unsigned char)*q) || *q == '_'))
        q++;
    if (q == start)
        return NULL;
    if (q >= eol || *q != '(') /* a function without arguments: x |> relu */
        return arena_printf("%.*s", (int)(q - start), start);
    for (int depth = 0; q < eol; q++) {
        depth += (*q == '(') - (*q == ')');
        if ((unsigned char)*q < 32 || (unsigned char)*q > 126 || (*q == '*' && q[1] == '/'))
            return NULL;
        if (!depth)
            return q - start < 60 ? arena_printf("%.*s", (int)(q - start + 1), start) : NULL;
    }
    return NULL;
}
