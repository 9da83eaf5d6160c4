/* dnn_report.c — progress lines, the training log and the confusion
 * matrix; see dnn_report.h (the log's SVG picture: dnn_plot.c).
 *
 * Every file is first built in memory by a small string builder (sbuf,
 * report.h: printf-style appends to a malloc'd buffer that remembers
 * running out of memory) and then handed to dnn_write_file_atomic whole,
 * so writers have one error path.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __unix__
#include <sys/ioctl.h>
#endif

#include "dnn_host.h"
#include "dnn_report.h"
#include "report.h"

/* ---- Small helpers ----------------------------------------------------- */

/* A loss for a human: 4 decimals, or 4 significant digits when tiny or
 * huge; "nan", "inf", "-inf" spelled the same on every libc. */
static void fmt_loss(char *buf, size_t cap, double v) {
    if (isnan(v))
        snprintf(buf, cap, "nan");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
        snprintf(buf, cap, "%.4g", v);
    else
        snprintf(buf, cap, "%.4f", v + 0.0); /* + 0.0: no "-0.0000" */
}

double dnn_now(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
    return (double)clock() / CLOCKS_PER_SEC;
}

void dnn_format_duration(char *buf, size_t cap, double seconds) {
    long long s;
    if (!buf || cap == 0)
        return;
    if (!(seconds >= 0) || isinf(seconds)) {
        snprintf(buf, cap, "-:--");
        return;
    }
    if (seconds > 3.6e12) /* a hundred million years is as good as infinite */
        seconds = 3.6e12;
    s = (long long)(seconds + 0.5);
    if (s < 3600)
        snprintf(buf, cap, "%d:%02d", (int)(s / 60), (int)(s % 60));
    else
        snprintf(buf, cap, "%lld:%02d:%02d", s / 3600, (int)(s / 60 % 60), (int)(s % 60));
}

/* ---- Progress line ------------------------------------------------------ */

/* Terminal width of f: the ioctl, else $COLUMNS, else 80. */
static int terminal_columns(FILE *f) {
    const char *env = getenv("COLUMNS");
    int c = env ? atoi(env) : 0;
#if defined(TIOCGWINSZ)
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        c = ws.ws_col;
#else
    (void)f;
#endif
    return c >= 20 ? c : 80;
}

void dnn_progress_begin(dnn_progress *p, FILE *out, int epoch, int epochs, long total_samples) {
    memset(p, 0, sizeof *p);
    p->out = out ? out : stderr;
    p->tty = isatty(fileno(p->out));
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total_samples;
    p->loss = NAN;
    p->now = dnn_now;
    p->t0 = p->now();
    p->columns = p->tty ? terminal_columns(p->out) : 80;
}

static int epoch_text(char *buf, size_t cap, int epoch, int epochs) {
    return epochs > 0 ? snprintf(buf, cap, "epoch %d/%d", epoch, epochs) : snprintf(buf, cap, "epoch %d", epoch);
}

/* One form of the progress line: bar of barw characters (0: none), the
 * sample count, the rate and the ETA when asked for. Returns its length. */
static int progress_text(const dnn_progress *p, double t, char *buf, size_t cap, int barw, int count, int rate,
                         int eta) {
    char loss[32], dur[32];
    double elapsed = t - p->t0, r = elapsed > 1e-3 && p->done > 0 ? p->done / elapsed : NAN;
    size_t n = (size_t)epoch_text(buf, cap, p->epoch, p->epochs);
    int known = p->total > 0;
#define ROOM (n < cap ? cap - n : 0)
#define ADD(...)                                        \
    do {                                                \
        int k_ = snprintf(buf + n, ROOM, __VA_ARGS__);  \
        n += k_ > 0 ? (size_t)k_ : 0;                   \
        if (n >= cap) n = cap - 1;                      \
    } while (0)
    if (known && barw > 0) {
        double f = (double)p->done / (double)p->total;
        int i, fill = (int)(f * barw);
        fill = fill < 0 ? 0 : fill > barw ? barw : fill;
        ADD(" [");
        for (i = 0; i < barw; i++)
            ADD("%c", i < fill - 1 || (i == fill - 1 && p->done >= p->total) ? '=' : i == fill - 1 ? '>' : ' ');
        ADD("]");
    }
    if (count) {
        if (known) {
            char tot[32];
            int w = snprintf(tot, sizeof tot, "%ld", p->total);
            ADD(" %*ld/%s", w, p->done, tot);
        } else {
            ADD(" %ld samples", p->done);
        }
    }
    fmt_loss(loss, sizeof loss, p->loss);
    ADD("  loss %s", loss);
    if (rate && !isnan(r))
        ADD("  %.0f samples/s", r);
    if (eta && known) {
        dnn_format_duration(dur, sizeof dur, isnan(r) ? NAN : (double)(p->total - p->done) / r);
        ADD("  ETA %s", dur);
    }
#undef ADD
#undef ROOM
    return (int)n;
}

/* Redraws the line: the longest form that fits the terminal. */
static void progress_draw(dnn_progress *p, double t) {
    static const int forms[][4] = {/* bar, count, rate, eta */
                                   {20, 1, 1, 1}, {20, 1, 0, 1}, {10, 1, 0, 1}, {0, 1, 0, 1}, {0, 1, 0, 0}, {0, 0, 0, 0}};
    char line[512];
    int i, n = 0, max = p->columns - 1;
    for (i = 0; i < (int)(sizeof forms / sizeof forms[0]); i++) {
        n = progress_text(p, t, line, sizeof line, forms[i][0], forms[i][1], forms[i][2], forms[i][3]);
        if (n <= max)
            break;
    }
    if (n > max)
        line[n = max > 0 ? max : 0] = 0;
    fprintf(p->out, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
    fflush(p->out);
    p->width = n;
    p->drawn = 1;
    p->last_draw = t;
}

void dnn_progress_update(dnn_progress *p, long samples_done, double mean_loss) {
    double t;
    p->done = samples_done;
    p->loss = mean_loss;
    if (!p->tty)
        return;
    t = p->now();
    if (p->drawn && t - p->last_draw < 0.1)
        return;
    progress_draw(p, t);
}

void dnn_progress_end(dnn_progress *p, const char *summary) {
    char own[256];
    int n;
    if (!summary) {
        double elapsed = p->now() - p->t0;
        size_t k = (size_t)epoch_text(own, sizeof own, p->epoch, p->epochs);
        char loss[32];
        fmt_loss(loss, sizeof loss, p->loss);
        k += (size_t)snprintf(own + k, sizeof own - k, "  loss %s", loss);
        if (elapsed > 1e-3 && p->done > 0 && k < sizeof own)
            k += (size_t)snprintf(own + k, sizeof own - k, "  %.0f samples/s", p->done / elapsed);
        if (k < sizeof own)
            snprintf(own + k, sizeof own - k, "  %.1f s", elapsed);
        summary = own;
    }
    n = (int)strlen(summary);
    if (p->tty && p->drawn)
        fprintf(p->out, "\r%s%*s\n", summary, p->width > n ? p->width - n : 0, "");
    else
        fprintf(p->out, "%s\n", summary);
    fflush(p->out);
    p->drawn = 0;
    p->width = 0;
}

void dnn_progress_discard(dnn_progress *p) {
    if (p->tty && p->drawn) {
        fprintf(p->out, "\r%*s\r", p->width, "");
        fflush(p->out);
    }
    p->drawn = 0;
    p->width = 0;
}

void dnn_epoch_summary(char *buf, size_t cap, const dnn_epoch_row *row, int epochs) {
    size_t n;
    char v[32];
    if (!buf || cap == 0)
        return;
    n = (size_t)epoch_text(buf, cap, row->epoch, epochs);
#define ADD(...)                                                       \
    do {                                                               \
        if (n < cap) {                                                 \
            int k_ = snprintf(buf + n, cap - n, __VA_ARGS__);          \
            n += k_ > 0 ? (size_t)k_ : 0;                              \
        }                                                              \
    } while (0)
    if (!isnan(row->train_loss)) {
        fmt_loss(v, sizeof v, row->train_loss);
        ADD("  loss %s", v);
    }
    if (!isnan(row->train_acc))
        ADD("  acc %.2f%%", 100 * row->train_acc);
    if (!isnan(row->val_loss)) {
        fmt_loss(v, sizeof v, row->val_loss);
        ADD("  val_loss %s", v);
    }
    if (!isnan(row->val_acc))
        ADD("  val_acc %.2f%%", 100 * row->val_acc);
    if (!isnan(row->seconds))
        ADD("  %.1f s", row->seconds);
#undef ADD
}

/* ---- The training log --------------------------------------------------- */

static const char *const log_columns[] = {"epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                          "seconds"};
enum { COL_EPOCH, COL_LR, COL_TRAIN_LOSS, COL_TRAIN_ACC, COL_VAL_LOSS, COL_VAL_ACC, COL_SECONDS, NCOLS };

/* A CSV number: empty when NaN, else %.*g (inf as "inf"). */
static void sb_field(sbuf *b, double v, int digits) {
    if (isnan(v))
        return;
    if (isinf(v))
        sb_add(b, "%s", v > 0 ? "inf" : "-inf");
    else
        sb_add(b, "%.*g", digits, v + 0.0);
}

/* The learning rate, a float in the model: the shortest decimal that
 * reads back as the same float (0.01f is "0.01", not "0.0099999998"). */
static void sb_float(sbuf *b, double v) {
    char text[32];
    int digits;
    if (!isfinite(v)) {
        sb_field(b, v, 1);
        return;
    }
    for (digits = 1; digits < 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v + 0.0);
        if ((float)strtod(text, NULL) == (float)v)
            break;
    }
    sb_add(b, "%.*g", digits, v + 0.0);
}

int dnn_log_write_csv(const char *path, const dnn_epoch_row *rows, int n, char *msg, size_t msgcap) {
    sbuf b = {0};
    int i;
    if (!path || n < 0 || (!rows && n > 0))
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "bad arguments to dnn_log_write_csv");
    sb_add(&b, "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n");
    for (i = 0; i < n; i++) {
        const dnn_epoch_row *r = &rows[i];
        sb_add(&b, "%d,", r->epoch);
        sb_float(&b, r->lr);
        sb_add(&b, ",");
        sb_field(&b, r->train_loss, 6);
        sb_add(&b, ",");
        sb_field(&b, r->train_acc, 6);
        sb_add(&b, ",");
        sb_field(&b, r->val_loss, 6);
        sb_add(&b, ",");
        sb_field(&b, r->val_acc, 6);
        sb_add(&b, ",");
        if (!isnan(r->seconds))
            sb_add(&b, "%.3f", r->seconds + 0.0);
        sb_add(&b, "\n");
    }
    return sb_write(&b, path, msg, msgcap);
}

/* Splits the line [s, e) at commas into at most max fields (trimmed of
 * blanks and a CR); returns the number of fields, or max + 1 if more. */
static int split_csv(const char *s, const char *e, const char **fs, const char **fe, int max) {
    int k = 0;
    for (;;) {
        const char *c = s;
        while (c < e && *c != ',')
            c++;
        if (k == max)
            return max + 1;
        fs[k] = s;
        fe[k] = c;
        while (fs[k] < fe[k] && (*fs[k] == ' ' || *fs[k] == '\t'))
            fs[k]++;
        while (fe[k] > fs[k] && (fe[k][-1] == ' ' || fe[k][-1] == '\t' || fe[k][-1] == '\r'))
            fe[k]--;
        k++;
        if (c == e)
            return k;
        s = c + 1;
    }
}

#define LOG_MAX_FIELDS 64

int dnn_log_read_csv(const char *path, dnn_epoch_row **rows, int *n, char *msg, size_t msgcap) {
    void *data;
    size_t len;
    const char *s, *end;
    const char *fs[LOG_MAX_FIELDS], *fe[LOG_MAX_FIELDS];
    int col_of[LOG_MAX_FIELDS]; /* field index -> column, or -1 */
    int nf = 0, line = 0, r, i, have_epoch = 0, cap = 0;
    dnn_epoch_row *out = NULL;
    if (!rows || !n) {
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "bad arguments to dnn_log_read_csv");
    }
    *rows = NULL;
    *n = 0;
    if (!path)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "bad arguments to dnn_log_read_csv");
    if ((r = dnn_read_file_alloc(path, &data, &len)) != DNN_OK) {
        int e = errno;
        if (r == DNN_E_SPACE)
            return dnn_errorf(msg, msgcap, r, path, "out of memory");
        dnn_errorf(msg, msgcap, r, path, "cannot read: %s", strerror(e));
        errno = e;
        return r;
    }
    s = data;
    end = s + len;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        int k;
        dnn_epoch_row row;
        if (!e)
            e = end;
        line++;
        k = split_csv(s, e, fs, fe, LOG_MAX_FIELDS);
        s = e + (e < end);
        if (k == 1 && fs[0] == fe[0])
            continue; /* a blank line */
        if (!nf) { /* the header */
            if (k > LOG_MAX_FIELDS) {
                r = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "line %d: more than %d columns", line, LOG_MAX_FIELDS);
                goto out;
            }
            nf = k;
            for (i = 0; i < nf; i++) {
                int c;
                col_of[i] = -1;
                for (c = 0; c < NCOLS; c++)
                    if ((size_t)(fe[i] - fs[i]) == strlen(log_columns[c]) &&
                        !memcmp(fs[i], log_columns[c], (size_t)(fe[i] - fs[i])))
                        col_of[i] = c;
                have_epoch |= col_of[i] == COL_EPOCH;
            }
            if (!have_epoch) {
                r = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "line %d: not a training log (no \"epoch\" column)", line);
                goto out;
            }
            continue;
        }
        if (k != nf) {
            r = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "line %d: %s%d fields, the header has %d", line,
                     k > nf ? "more than " : "", k > nf ? nf : k, nf);
            goto out;
        }
        row.epoch = 0;
        row.lr = row.train_loss = row.train_acc = row.val_loss = row.val_acc = row.seconds = NAN;
        for (i = 0; i < nf; i++) {
            char tmp[64], *stop;
            size_t w = (size_t)(fe[i] - fs[i]);
            int c = col_of[i];
            double v;
            if (c < 0)
                continue;
            if (w >= sizeof tmp || (w == 0 && c == COL_EPOCH))
                goto bad_field;
            memcpy(tmp, fs[i], w);
            tmp[w] = 0;
            if (c == COL_EPOCH) {
                long ep = strtol(tmp, &stop, 10);
                if (*stop || ep < -2147483647L || ep > 2147483647L)
                    goto bad_field;
                row.epoch = (int)ep;
                continue;
            }
            v = w ? strtod(tmp, &stop) : NAN;
            if (w && *stop)
                goto bad_field;
            switch (c) {
            case COL_LR: row.lr = v; break;
            case COL_TRAIN_LOSS: row.train_loss = v; break;
            case COL_TRAIN_ACC: row.train_acc = v; break;
            case COL_VAL_LOSS: row.val_loss = v; break;
            case COL_VAL_ACC: row.val_acc = v; break;
            default: row.seconds = v; break;
            }
            continue;
        bad_field:
            r = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "line %d: %s \"%.*s\" is not a number", line,
                     log_columns[c], (int)(w > 40 ? 40 : w), fs[i]);
            goto out;
        }
        if (*n == cap) {
            dnn_epoch_row *q;
            cap = cap ? 2 * cap : 64;
            if (!(q = realloc(out, (size_t)cap * sizeof *out))) {
                r = dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory");
                goto out;
            }
            out = q;
        }
        out[(*n)++] = row;
    }
    if (!nf)
        r = dnn_errorf(msg, msgcap, DNN_E_HEADER, path, "empty file, not a training log");
out:
    free(data);
    if (r != DNN_OK) {
        free(out);
        out = NULL;
        *n = 0;
    }
    *rows = out;
    return r;
}

/* ---- Confusion matrix ----------------------------------------------------- */

#define NAME_MAX_SHOWN 16

/* The name of class i, cut to NAME_MAX_SHOWN characters, into buf. */
static const char *class_name(char *buf, size_t cap, const char *const *names, int i) {
    if (names && names[i])
        snprintf(buf, cap, "%.*s", NAME_MAX_SHOWN, names[i]);
    else
        snprintf(buf, cap, "%d", i);
    return buf;
}

/* "90.91%", or "-" when den is 0. */
static const char *pct(char *buf, size_t cap, long num, long den) {
    if (den == 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.2f%%", 100.0 * (double)num / (double)den);
    return buf;
}

static long row_sum(const long *c, int k, int t) {
    long s = 0;
    int p;
    for (p = 0; p < k; p++)
        s += c[(size_t)t * (size_t)k + (size_t)p];
    return s;
}

static long col_sum(const long *c, int k, int p) {
    long s = 0;
    int t;
    for (t = 0; t < k; t++)
        s += c[(size_t)t * (size_t)k + (size_t)p];
    return s;
}

#define CONF_WIDE 20 /* more classes than this: a summary */
#define CONF_TOP 10  /* rows in each list of the summary */

static void confusion_summary(FILE *out, const long *c, int k, const char *const *names, long total, long correct) {
    int worst[CONF_TOP], nworst = 0, i, j, t, p;
    int ct[CONF_TOP], cp[CONF_TOP], nconf = 0, w, wt = 0, wp = 0, wc = 0;
    char a[32], b2[32], na[32], nb[32];
    fprintf(out, "confusion matrix: %d classes, %ld samples, accuracy %s (%ld/%ld)\n", k, total,
            pct(a, sizeof a, correct, total), correct, total);
    /* the classes of lowest recall (with samples), ties by index */
    for (t = 0; t < k; t++) {
        long n = row_sum(c, k, t);
        double r;
        if (n == 0)
            continue;
        r = (double)c[(size_t)t * (size_t)k + (size_t)t] / (double)n;
        if (r >= 1)
            continue;
        for (i = nworst; i > 0; i--) {
            int u = worst[i - 1];
            double ru = (double)c[(size_t)u * (size_t)k + (size_t)u] / (double)row_sum(c, k, u);
            if (ru <= r)
                break;
            if (i < CONF_TOP)
                worst[i] = u;
        }
        if (i < CONF_TOP) {
            worst[i] = t;
            if (nworst < CONF_TOP)
                nworst++;
        }
    }
    for (i = 0, wt = 5; i < nworst; i++) /* "class" */
        wt = (w = (int)strlen(class_name(na, sizeof na, names, worst[i]))) > wt ? w : wt;
    if (nworst == 0)
        fprintf(out, "every class has 100%% recall\n");
    else
        fprintf(out, "lowest recall:\n  %-*s  %7s  %9s  %9s\n", wt, "class", "recall", "precision", "samples");
    for (i = 0; i < nworst; i++) {
        t = worst[i];
        fprintf(out, "  %-*s  %7s  %9s  %9ld\n", wt, class_name(na, sizeof na, names, t),
                pct(a, sizeof a, c[(size_t)t * (size_t)k + (size_t)t], row_sum(c, k, t)),
                pct(b2, sizeof b2, c[(size_t)t * (size_t)k + (size_t)t], col_sum(c, k, t)), row_sum(c, k, t));
    }
    /* the largest off-diagonal counts, ties by (true, predicted) */
    wt = 0;
    for (t = 0; t < k; t++)
        for (p = 0; p < k; p++) {
            long v = c[(size_t)t * (size_t)k + (size_t)p];
            if (t == p || v <= 0)
                continue;
            for (j = nconf; j > 0 && c[(size_t)ct[j - 1] * (size_t)k + (size_t)cp[j - 1]] < v; j--)
                if (j < CONF_TOP) {
                    ct[j] = ct[j - 1];
                    cp[j] = cp[j - 1];
                }
            if (j < CONF_TOP) {
                ct[j] = t;
                cp[j] = p;
                if (nconf < CONF_TOP)
                    nconf++;
            }
        }
    if (nconf == 0) {
        fprintf(out, "no confusions\n");
        return;
    }
    fprintf(out, "largest confusions (true -> predicted):\n");
    for (j = 0; j < nconf; j++) { /* column widths of the list */
        long v = c[(size_t)ct[j] * (size_t)k + (size_t)cp[j]];
        wt = (w = (int)strlen(class_name(na, sizeof na, names, ct[j]))) > wt ? w : wt;
        wp = (w = (int)strlen(class_name(na, sizeof na, names, cp[j]))) > wp ? w : wp;
        wc = (w = snprintf(a, sizeof a, "%ld", v)) > wc ? w : wc;
    }
    for (j = 0; j < nconf; j++) {
        long v = c[(size_t)ct[j] * (size_t)k + (size_t)cp[j]];
        class_name(na, sizeof na, names, ct[j]);
        class_name(nb, sizeof nb, names, cp[j]);
        fprintf(out, "  %-*s -> %-*s  %*ld  (%s of %s)\n", wt, na, wp, nb, wc, v,
                pct(a, sizeof a, v, row_sum(c, k, ct[j])), na);
    }
}

void dnn_confusion_print(FILE *out, const long *counts, int classes, const char *const *names) {
    const long *c = counts;
    int k = classes, t, p, lw = 9, cw = 7; /* "precision", "100.00%" */
    long total = 0, correct = 0, maxc = 0;
    char a[32], nm[32];
    if (!out || !counts || classes <= 0)
        return;
    for (t = 0; t < k; t++)
        for (p = 0; p < k; p++) {
            long v = c[(size_t)t * (size_t)k + (size_t)p];
            total += v;
            correct += t == p ? v : 0;
            maxc = v > maxc ? v : maxc;
        }
    if (k > CONF_WIDE) {
        confusion_summary(out, c, k, names, total, correct);
        return;
    }
    for (t = 0; t < k; t++) {
        int len = (int)strlen(class_name(nm, sizeof nm, names, t));
        lw = len > lw ? len : lw;
        cw = len > cw ? len : cw;
    }
    t = snprintf(a, sizeof a, "%ld", maxc);
    cw = t > cw ? t : cw;
    fprintf(out, "confusion matrix (rows: true class, columns: predicted)\n%-*s", lw, "true\\pred");
    for (p = 0; p < k; p++)
        fprintf(out, "  %*s", cw, class_name(nm, sizeof nm, names, p));
    fprintf(out, "  %7s\n", "recall");
    for (t = 0; t < k; t++) {
        fprintf(out, "%-*s", lw, class_name(nm, sizeof nm, names, t));
        for (p = 0; p < k; p++)
            fprintf(out, "  %*ld", cw, c[(size_t)t * (size_t)k + (size_t)p]);
        fprintf(out, "  %7s\n", pct(a, sizeof a, c[(size_t)t * (size_t)k + (size_t)t], row_sum(c, k, t)));
    }
    fprintf(out, "%-*s", lw, "precision");
    for (p = 0; p < k; p++)
        fprintf(out, "  %*s", cw, pct(a, sizeof a, c[(size_t)p * (size_t)k + (size_t)p], col_sum(c, k, p)));
    fprintf(out, "\naccuracy %s (%ld/%ld)\n", pct(a, sizeof a, correct, total), correct, total);
}

/* A CSV field, quoted when it holds a comma, quote, line break or edge blank. */
static void sb_csv_name(sbuf *b, const char *const *names, int i) {
    const char *s = names ? names[i] : NULL;
    size_t n;
    if (!s) {
        sb_add(b, "%d", i);
        return;
    }
    n = strlen(s);
    if (strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' '))) {
        sb_add(b, "\"");
        for (; *s; s++)
            sb_add(b, "%s%c", *s == '"' ? "\"" : "", *s);
        sb_add(b, "\"");
    } else {
        sb_add(b, "%s", s);
    }
}

int dnn_confusion_write_csv(const char *path, const long *counts, int classes, const char *const *names,
                            char *msg, size_t msgcap) {
    sbuf b = {0};
    int t, p;
    if (!path || !counts || classes <= 0)
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "bad arguments to dnn_confusion_write_csv");
    sb_add(&b, "true\\predicted");
    for (p = 0; p < classes; p++) {
        sb_add(&b, ",");
        sb_csv_name(&b, names, p);
    }
    sb_add(&b, "\n");
    for (t = 0; t < classes; t++) {
        sb_csv_name(&b, names, t);
        for (p = 0; p < classes; p++)
            sb_add(&b, ",%ld", counts[(size_t)t * (size_t)classes + (size_t)p]);
        sb_add(&b, "\n");
    }
    return sb_write(&b, path, msg, msgcap);
}
