/* test_report.c — dnn_report: durations, progress lines, the CSV log, the
 * SVG picture and the confusion matrix.
 *
 * Usage: test_report DIR       runs every test, writing files into DIR
 *                              (an empty scratch directory; run.sh checks
 *                              the SVGs there with xmllint afterwards)
 *        test_report --pty     one epoch of progress on stdout, which
 *                              run.sh makes a pseudo-terminal with script(1)
 * Prints "PASS report.NAME" or "FAIL report.NAME: file:line: condition".
 * Progress tests swap in a fake clock, so their output is exact. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn_host.h"
#include "dnn_report.h"

/* ---- harness ------------------------------------------------------------ */

#define CHECK_SUITE "report"
#include "../check.h"

/* Checks that got equals want, and shows both (escaped) when not. */
#define CHECK_STR(got, want) check_str(got, want, __FILE__, __LINE__)

static void escape(char *dst, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\n')
            n += (size_t)snprintf(dst + n, cap - n, "\\n");
        else if (*s == '\r')
            n += (size_t)snprintf(dst + n, cap - n, "\\r");
        else
            dst[n++] = *s;
    }
    dst[n] = 0;
}

static void check_str(const char *got, const char *want, const char *file, int line) {
    char g[400], w[400];
    size_t i = 0;
    if (!strcmp(got, want) || check_why[0])
        return;
    while (got[i] && got[i] == want[i])
        i++;
    i = i > 40 ? i - 40 : 0;
    escape(g, sizeof g, got + i);
    escape(w, sizeof w, want + i);
    snprintf(check_why, sizeof check_why, "%s:%d: from byte %zu got \"%.150s\", want \"%.150s\"", file, line, i, g,
             w);
}


static char dir[1024]; /* the scratch directory */

static const char *in_dir(const char *name) {
    static char path[4][2048];
    static int next;
    next = (next + 1) % 4;
    snprintf(path[next], sizeof path[next], "%s/%s", dir, name);
    return path[next];
}

/* The whole file at path as a string from malloc ("" if unreadable). */
static char *slurp(const char *path) {
    void *buf;
    size_t len;
    char *s;
    if (dnn_read_file_alloc(path, &buf, &len) != DNN_OK)
        return calloc(1, 1);
    s = realloc(buf, len + 1);
    s[len] = 0;
    return s;
}

/* What a stream got: the contents of a tmpfile, from malloc. */
static char *stream_text(FILE *f) {
    long len;
    char *s;
    fflush(f);
    len = ftell(f);
    s = calloc(1, (size_t)len + 1);
    rewind(f);
    if (fread(s, 1, (size_t)len, f) != (size_t)len)
        s[0] = 0;
    return s;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    size_t len = strlen(needle);
    for (; (s = strstr(s, needle)); s += len)
        n++;
    return n;
}

/* ---- durations and summaries ---------------------------------------------- */

static const char *dur(double s) {
    static char buf[32];
    dnn_format_duration(buf, sizeof buf, s);
    return buf;
}

static void duration(void) {
    char small[4];
    CHECK_STR(dur(0), "0:00");
    CHECK_STR(dur(7), "0:07");
    CHECK_STR(dur(7.4), "0:07");
    CHECK_STR(dur(59.6), "1:00");
    CHECK_STR(dur(62), "1:02");
    CHECK_STR(dur(3599.4), "59:59");
    CHECK_STR(dur(3600), "1:00:00");
    CHECK_STR(dur(3723), "1:02:03");
    CHECK_STR(dur(90000), "25:00:00");
    CHECK_STR(dur(-1), "-:--");
    CHECK_STR(dur(NAN), "-:--");
    CHECK_STR(dur(INFINITY), "-:--");
    CHECK(strlen(dur(1e300)) > 0);
    dnn_format_duration(small, sizeof small, 3723);
    CHECK_STR(small, "1:0");
}

static void epoch_summary(void) {
    char buf[256];
    dnn_epoch_row r = {3, 0.001, 0.43121, 0.862, 0.41, 0.859, 12.34};
    dnn_epoch_summary(buf, sizeof buf, &r, 10);
    CHECK_STR(buf, "epoch 3/10  loss 0.4312  acc 86.20%  val_loss 0.4100  val_acc 85.90%  12.3 s");
    r.train_acc = r.val_acc = r.val_loss = NAN;
    dnn_epoch_summary(buf, sizeof buf, &r, 0);
    CHECK_STR(buf, "epoch 3  loss 0.4312  12.3 s");
    r.train_loss = 123456.0;
    dnn_epoch_summary(buf, sizeof buf, &r, 10);
    CHECK_STR(buf, "epoch 3/10  loss 1.235e+05  12.3 s");
    dnn_epoch_summary(buf, 8, &r, 10);
    CHECK_STR(buf, "epoch 3");
}

/* ---- progress --------------------------------------------------------------- */

static double fake_t; /* the fake clock's time */
static double fake_clock(void) { return fake_t; }

static void start(dnn_progress *p, FILE *f, int tty, int columns) {
    fake_t = 100;
    dnn_progress_begin(p, f, 3, 10, 1875);
    p->now = fake_clock;
    p->t0 = fake_clock();
    p->tty = tty;
    p->columns = columns;
}

static void progress_plain(void) {
    dnn_progress p;
    FILE *f = tmpfile();
    char *s;
    int i;
    CHECK(f != NULL);
    if (!f)
        return;
    dnn_progress_begin(&p, f, 3, 10, 1875);
    CHECK(p.tty == 0); /* a file is not a terminal */
    start(&p, f, 0, 80);
    for (i = 1; i <= 1875; i += 100) {
        fake_t += 0.3;
        dnn_progress_update(&p, i, 0.5);
    }
    dnn_progress_end(&p, "epoch 3/10  loss 0.4312  acc 86.20%  12.3 s");
    start(&p, f, 0, 80);
    fake_t += 2.5;
    dnn_progress_update(&p, 1875, 0.4312);
    dnn_progress_end(&p, NULL);
    s = stream_text(f);
    CHECK_STR(s, "epoch 3/10  loss 0.4312  acc 86.20%  12.3 s\n"
                 "epoch 3/10  loss 0.4312  750 samples/s  2.5 s\n");
    free(s);
    fclose(f);
}

static void progress_terminal(void) {
    static const char line1[] = "\repoch 3/10 [=====>              ]  600/1875  loss 0.5000  600 samples/s  ETA 0:02";
    static const char line2[] = "\repoch 3/10 [===========>        ] 1200/1875  loss 0.4312  600 samples/s  ETA 0:01";
    static const char summary[] = "\repoch 3/10  loss 0.4312  2.0 s";
    static const char line3[] = "\repoch 3/10 [                    ]    0/1875  loss nan  ETA -:--";
    static const char line4[] = "\repoch 3/10 [====================] 1875/1875  loss 0.2500  1875 samples/s  ETA 0:00";
    static const char line5[] = "\repoch 3 2000 samples  loss 0.2500  1000 samples/s";
    dnn_progress p;
    FILE *f = tmpfile();
    char *s, want[512];
    CHECK(f != NULL);
    if (!f)
        return;
    start(&p, f, 1, 120);
    fake_t += 1.0;
    dnn_progress_update(&p, 600, 0.5); /* the first update draws */
    fake_t += 0.05;
    dnn_progress_update(&p, 700, 0.45); /* 0.05 s later: too soon */
    fake_t += 0.95;
    dnn_progress_update(&p, 1200, 0.4312);
    dnn_progress_end(&p, summary + 1);
    s = stream_text(f);
    /* the summary blanks out the rest of the longer progress line */
    snprintf(want, sizeof want, "%s%s%s%*s\n", line1, line2, summary, (int)(strlen(line2) - strlen(summary)), "");
    CHECK_STR(s, want);
    free(s);
    fclose(f);

    /* the end of the epoch, no rate yet, unknown total, no epoch count */
    f = tmpfile();
    start(&p, f, 1, 120);
    dnn_progress_update(&p, 0, NAN);
    fake_t += 1;
    dnn_progress_update(&p, 1875, 0.25);
    p.total = 0;
    p.epochs = 0;
    fake_t += 1;
    dnn_progress_update(&p, 2000, 0.25);
    s = stream_text(f);
    snprintf(want, sizeof want, "%s%s%s%*s", line3, line4, line5, (int)(strlen(line4) - strlen(line5)), "");
    CHECK_STR(s, want);
    free(s);
    fclose(f);
}

/* A narrow terminal gets a shorter line, never one that wraps. */
static void progress_narrow(void) {
    static const int widths[] = {90, 80, 60, 40, 30, 20};
    dnn_progress p;
    int i;
    for (i = 0; i < (int)(sizeof widths / sizeof widths[0]); i++) {
        FILE *f = tmpfile();
        char *s;
        if (!f)
            return;
        start(&p, f, 1, widths[i]);
        fake_t += 1;
        dnn_progress_update(&p, 1000, 12.5);
        s = stream_text(f);
        CHECK(s[0] == '\r' && strlen(s) - 1 <= (size_t)widths[i] - 1);
        CHECK(strncmp(s, "\repoch 3/10", 11) == 0);
        if (widths[i] >= 60)
            CHECK(strstr(s, "ETA 0:01") != NULL);
        if (widths[i] == 90)
            CHECK(strstr(s, "samples/s") != NULL && strstr(s, "[=========>          ]") != NULL);
        free(s);
        fclose(f);
    }
}

/* Run by run.sh inside script(1): stdout is a pseudo-terminal. */
static int progress_pty(void) {
    dnn_progress p;
    int ok;
    long i;
    dnn_progress_begin(&p, stdout, 1, 2, 1000);
    ok = p.tty == 1 && p.columns >= 20;
    for (i = 0; i <= 1000; i += 250) {
        p.last_draw = -1e9; /* draw every update, whatever the clock says */
        dnn_progress_update(&p, i, 1.0 / (double)(i + 1));
    }
    dnn_progress_end(&p, "epoch 1/2  loss 0.0010  pty done");
    printf("%s report.progress_pty%s\n", ok ? "PASS" : "FAIL", ok ? "" : ": stdout not seen as a terminal");
    return !ok;
}

/* ---- the CSV log ---------------------------------------------------------------- */

static const dnn_epoch_row log5[5] = {
    {1, 0.01, 0.9123, 0.712, 0.6012, 0.8012, 10.5},
    {2, 0.01, 0.5012, 0.8401, 0.4523, 0.8617, 10.25},
    {3, 0.005, 0.4011, 0.8733, NAN, NAN, 10.125},
    {4, 0.005, 0.3521, 0.8895, 0.3804, 0.8802, 9.875},
    {5, 0.0025, 0.3214, 0.9002, 0.3712, 0.8843, 10},
};

static int same(double a, double b) { return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-6 * fabs(b); }

static void log_round_trip(void) {
    dnn_epoch_row rows[5], *back = NULL;
    char msg[256] = "", *s;
    int n = -1, i;
    memcpy(rows, log5, sizeof rows);
    rows[0].lr = NAN;
    rows[4].seconds = NAN;
    rows[4].train_acc = NAN;
    CHECK(dnn_log_write_csv(in_dir("log.csv"), rows, 5, msg, sizeof msg) == DNN_OK);
    s = slurp(in_dir("log.csv"));
    CHECK_STR(s, "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n"
                 "1,,0.9123,0.712,0.6012,0.8012,10.500\n"
                 "2,0.01,0.5012,0.8401,0.4523,0.8617,10.250\n"
                 "3,0.005,0.4011,0.8733,,,10.125\n"
                 "4,0.005,0.3521,0.8895,0.3804,0.8802,9.875\n"
                 "5,0.0025,0.3214,,0.3712,0.8843,\n");
    free(s);
    CHECK(dnn_log_read_csv(in_dir("log.csv"), &back, &n, msg, sizeof msg) == DNN_OK);
    CHECK(n == 5 && back != NULL);
    for (i = 0; back && i < n && i < 5; i++) {
        CHECK(back[i].epoch == rows[i].epoch);
        CHECK(same(back[i].lr, rows[i].lr) && same(back[i].train_loss, rows[i].train_loss));
        CHECK(same(back[i].train_acc, rows[i].train_acc) && same(back[i].val_loss, rows[i].val_loss));
        CHECK(same(back[i].val_acc, rows[i].val_acc) && same(back[i].seconds, rows[i].seconds));
    }
    free(back);
    /* the learning rate as the model holds it, a float: the shortest decimal giving that float */
    rows[1].lr = 0.01f;
    rows[2].lr = 1e-3f;
    rows[3].lr = 0.1f / 3;
    rows[4].lr = 3e-38f;
    CHECK(dnn_log_write_csv(in_dir("lr.csv"), rows, 5, msg, sizeof msg) == DNN_OK);
    s = slurp(in_dir("lr.csv"));
    CHECK(strstr(s, "\n2,0.01,") && strstr(s, "\n3,0.001,") && strstr(s, "\n4,0.033333335,") &&
          strstr(s, "\n5,3e-38,"));
    free(s);
    /* an empty log: the header only */
    CHECK(dnn_log_write_csv(in_dir("empty.csv"), NULL, 0, msg, sizeof msg) == DNN_OK);
    CHECK(dnn_log_read_csv(in_dir("empty.csv"), &back, &n, msg, sizeof msg) == DNN_OK && n == 0 && !back);
    /* infinities survive */
    rows[0].train_loss = INFINITY;
    CHECK(dnn_log_write_csv(in_dir("inf.csv"), rows, 1, msg, sizeof msg) == DNN_OK);
    CHECK(dnn_log_read_csv(in_dir("inf.csv"), &back, &n, msg, sizeof msg) == DNN_OK && n == 1);
    CHECK(back && isinf(back[0].train_loss) && back[0].train_loss > 0);
    free(back);
}

static void log_read_lenient(void) {
    static const char text[] = "seconds, epoch ,val_loss,note\r\n"
                               "\r\n"
                               "1.5,1,0.25,hello\r\n"
                               "2.5,2,,x\r\n";
    dnn_epoch_row *rows = NULL;
    char msg[256] = "";
    int n = 0;
    CHECK(dnn_write_file_atomic(in_dir("odd.csv"), text, sizeof text - 1) == DNN_OK);
    CHECK(dnn_log_read_csv(in_dir("odd.csv"), &rows, &n, msg, sizeof msg) == DNN_OK);
    CHECK_MSG(n == 2 && rows, msg);
    if (n == 2 && rows) {
        CHECK(rows[0].epoch == 1 && rows[0].seconds == 1.5 && rows[0].val_loss == 0.25);
        CHECK(rows[1].epoch == 2 && isnan(rows[1].val_loss) && isnan(rows[1].lr) && isnan(rows[1].train_acc));
    }
    free(rows);
}

/* Writes text to name and reads it as a log; returns the code, msg set. */
static int read_text(const char *name, const char *text, char *msg, size_t cap) {
    dnn_epoch_row *rows = (dnn_epoch_row *)&rows; /* must come back NULL */
    int n = 7, r;
    dnn_write_file_atomic(in_dir(name), text, strlen(text));
    r = dnn_log_read_csv(in_dir(name), &rows, &n, msg, cap);
    CHECK(r == DNN_OK || (rows == NULL && n == 0));
    free(r == DNN_OK ? rows : NULL);
    return r;
}

static void log_read_errors(void) {
    char msg[256] = "", want[2200];
    dnn_epoch_row *rows;
    int n;
    errno = 0;
    CHECK(dnn_log_read_csv(in_dir("missing.csv"), &rows, &n, msg, sizeof msg) == DNN_E_IO);
    CHECK(errno == ENOENT);
    snprintf(want, sizeof want, "%s: cannot read: %s", in_dir("missing.csv"), strerror(ENOENT));
    CHECK_STR(msg, want);
    CHECK(read_text("bad1.csv", "epoch,train_loss\n1,0.5\n2,zero\n", msg, sizeof msg) == DNN_E_HEADER);
    snprintf(want, sizeof want, "%s: line 3: train_loss \"zero\" is not a number", in_dir("bad1.csv"));
    CHECK_STR(msg, want);
    CHECK(read_text("bad2.csv", "lr,loss\n0.1,2\n", msg, sizeof msg) == DNN_E_HEADER);
    snprintf(want, sizeof want, "%s: line 1: not a training log (no \"epoch\" column)", in_dir("bad2.csv"));
    CHECK_STR(msg, want);
    CHECK(read_text("bad3.csv", "epoch,lr\n1,0.1,7\n", msg, sizeof msg) == DNN_E_HEADER);
    snprintf(want, sizeof want, "%s: line 2: more than 2 fields, the header has 2", in_dir("bad3.csv"));
    CHECK_STR(msg, want);
    CHECK(read_text("bad4.csv", "epoch,lr\n1\n", msg, sizeof msg) == DNN_E_HEADER);
    CHECK(read_text("bad5.csv", "epoch,lr\n1.5,0.1\n", msg, sizeof msg) == DNN_E_HEADER);
    CHECK(read_text("bad6.csv", "", msg, sizeof msg) == DNN_E_HEADER);
    CHECK(read_text("bad7.csv", "epoch,lr\n,0.1\n", msg, sizeof msg) == DNN_E_HEADER);
    CHECK(dnn_log_read_csv(NULL, &rows, &n, msg, sizeof msg) == DNN_E_ARG);
    CHECK(dnn_log_read_csv(in_dir("log.csv"), NULL, &n, NULL, 0) == DNN_E_ARG);
    /* write errors name the file */
    CHECK(dnn_log_write_csv(in_dir("no/such/dir/log.csv"), log5, 5, msg, sizeof msg) == DNN_E_IO);
    snprintf(want, sizeof want, "%s: cannot write: ", in_dir("no/such/dir/log.csv"));
    CHECK(strncmp(msg, want, strlen(want)) == 0);
    CHECK(dnn_log_write_csv(in_dir("x.csv"), NULL, 2, msg, sizeof msg) == DNN_E_ARG);
    CHECK(dnn_log_write_csv(in_dir("x.csv"), log5, -1, NULL, 0) == DNN_E_ARG);
}

/* ---- the picture -------------------------------------------------------------- */

/* Are the tags of an XML text balanced? (xmllint in run.sh is stricter.) */
static int tags_balanced(const char *s) {
    const char *stack[256];
    size_t lens[256];
    int depth = 0, roots = 0;
    while ((s = strchr(s, '<'))) {
        const char *e = strchr(s, '>'), *name;
        size_t len;
        if (!e)
            return 0;
        if (s[1] == '?' || s[1] == '!') {
            s = e + 1;
            continue;
        }
        name = s + 1 + (s[1] == '/');
        len = strcspn(name, " \t\n/>");
        if (s[1] == '/') {
            if (depth == 0 || lens[depth - 1] != len || strncmp(stack[depth - 1], name, len))
                return 0;
            depth--;
        } else if (e[-1] != '/') {
            if (depth == 256)
                return 0;
            roots += depth == 0;
            stack[depth] = name;
            lens[depth++] = len;
        }
        s = e + 1;
    }
    return depth == 0 && roots == 1;
}

/* The clip rectangle of panel id: the plot's frame. */
static int clip_rect(const char *svg, int id, double *x, double *y, double *w, double *h) {
    char key[64];
    const char *p;
    snprintf(key, sizeof key, "<clipPath id=\"clip%d\"><rect x=\"", id);
    if (!(p = strstr(svg, key)))
        return 0;
    return sscanf(p + strlen(key), "%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", x, y, w, h) == 4;
}

/* Points of every polyline of class cls: all inside the frame of panel id,
 * or above it when above is 1 (cut-off values: the clip path hides the
 * rest of their lines). Returns the number of points, or -1 if one is
 * outside. */
static int polyline_points_above(const char *svg, const char *cls, int id, int *lines, int above) {
    char key[64];
    double fx, fy, fw, fh;
    const char *p = svg;
    int total = 0;
    *lines = 0;
    if (!clip_rect(svg, id, &fx, &fy, &fw, &fh))
        return -1;
    snprintf(key, sizeof key, "<polyline class=\"%s\"", cls);
    while ((p = strstr(p, key))) {
        const char *q = strstr(p, "points=\"");
        double x, y;
        int used;
        if (!q)
            return -1;
        q += 8;
        (*lines)++;
        while (sscanf(q, "%lf,%lf%n", &x, &y, &used) == 2) {
            if (x < fx || x > fx + fw || (y < fy && !above) || y > fy + fh)
                return -1;
            total++;
            q += used;
        }
        if (*q != '"')
            return -1;
        p = q;
    }
    return total;
}

static int polyline_points(const char *svg, const char *cls, int id, int *lines) {
    return polyline_points_above(svg, cls, id, lines, 0);
}

static char *plot(const char *name, const char *title, const dnn_epoch_row *rows, int n) {
    char msg[256] = "";
    int r = dnn_plot_svg(in_dir(name), title, rows, n, msg, sizeof msg);
    CHECK_MSG(r == DNN_OK, msg);
    return slurp(in_dir(name));
}

static void svg_known_log(void) {
    char *s = plot("known.svg", "mnist <mlp> & co", log5, 5), *again;
    int lines;
    CHECK(tags_balanced(s));
    CHECK(strstr(s, "<title>mnist &lt;mlp&gt; &amp; co</title>") != NULL);
    CHECK(strstr(s, ">mnist &lt;mlp&gt; &amp; co</text>") != NULL);
    CHECK(count(s, "<g class=\"panel-") == 2);
    CHECK(count(s, ">epoch</text>") == 2);
    CHECK(strstr(s, ">loss</text>") != NULL && strstr(s, ">accuracy (%)</text>") != NULL);
    CHECK(count(s, ">train</text>") == 2 && count(s, ">validation</text>") == 2);
    CHECK(polyline_points(s, "loss-train", 0, &lines) == 5 && lines == 1);
    CHECK(polyline_points(s, "loss-val", 0, &lines) == 4 && lines == 2); /* a gap at epoch 3 */
    CHECK(polyline_points(s, "accuracy-train", 1, &lines) == 5 && lines == 1);
    CHECK(polyline_points(s, "accuracy-val", 1, &lines) == 4 && lines == 2);
    CHECK(count(s, "<circle ") == 2 + 10); /* legend + points */
    CHECK(count(s, "width=\"6\" height=\"6\"") == 2 + 8);
    /* ticks: 1..5 on both x axes; loss 0.2..1.0 by 0.2, accuracy 70..95 by 5 */
    CHECK(count(s, "text-anchor=\"middle\">3</text>") == 2);
    CHECK(strstr(s, "text-anchor=\"end\">0.2</text>") && strstr(s, "text-anchor=\"end\">1.0</text>"));
    CHECK(strstr(s, "text-anchor=\"end\">70</text>") && strstr(s, "text-anchor=\"end\">95</text>"));
    CHECK(!strstr(s, "above the axis") && !strstr(s, "nan") && !strstr(s, "-0.0"));
    /* deterministic: the same log, the same bytes */
    again = plot("known2.svg", "mnist <mlp> & co", log5, 5);
    CHECK(strcmp(s, again) == 0);
    free(again);
    free(s);
}

static void svg_one_epoch(void) {
    char *s = plot("one.svg", "one", log5, 1);
    int lines;
    CHECK(tags_balanced(s));
    CHECK(polyline_points(s, "loss-train", 0, &lines) == 0 && lines == 0);
    CHECK(count(s, "<circle ") == 2 + 2);
    CHECK(count(s, "text-anchor=\"middle\">1</text>") == 2); /* one x tick per panel */
    CHECK(!strstr(s, "nan") && !strstr(s, "inf"));
    free(s);
}

static void svg_no_validation(void) {
    dnn_epoch_row rows[5];
    char *s;
    int i, lines;
    memcpy(rows, log5, sizeof rows);
    for (i = 0; i < 5; i++)
        rows[i].val_loss = rows[i].val_acc = NAN;
    s = plot("noval.svg", "no validation", rows, 5);
    CHECK(tags_balanced(s));
    CHECK(polyline_points(s, "loss-train", 0, &lines) == 5);
    CHECK(!strstr(s, "loss-val\"") && !strstr(s, "accuracy-val\"") && !strstr(s, ">validation<"));
    free(s);
    /* not a classifier either: one panel */
    for (i = 0; i < 5; i++)
        rows[i].train_acc = NAN;
    s = plot("lossonly.svg", "loss only", rows, 5);
    CHECK(tags_balanced(s) && count(s, "<g class=\"panel-") == 1 && !strstr(s, "accuracy"));
    CHECK(strstr(s, "width=\"500\"") != NULL);
    free(s);
    /* nothing at all yet */
    s = plot("empty.svg", NULL, NULL, 0);
    CHECK(tags_balanced(s) && strstr(s, "no data yet") && strstr(s, "<title>training</title>"));
    free(s);
}

static void svg_gaps_and_outliers(void) {
    dnn_epoch_row rows[30];
    char *s;
    int i, lines;
    for (i = 0; i < 30; i++) {
        rows[i].epoch = i + 1;
        rows[i].lr = 0.1;
        rows[i].train_loss = 1.0 + 1.0 / (i + 1);
        rows[i].val_loss = i == 10 || i == 11 ? NAN : 1.2 + 1.0 / (i + 1);
        rows[i].train_acc = rows[i].val_acc = NAN;
        rows[i].seconds = 1;
    }
    rows[0].train_loss = 5000; /* a first epoch far off the scale */
    rows[20].train_loss = INFINITY;
    s = plot("outlier.svg", "outlier", rows, 30);
    CHECK(tags_balanced(s));
    CHECK(strstr(s, "&#9650; 1 above the axis, up to 5000</text>") != NULL);
    CHECK(polyline_points(s, "loss-train", 0, &lines) == -1); /* epoch 1 is above */
    CHECK(polyline_points_above(s, "loss-train", 0, &lines, 1) == 29 && lines == 2); /* inf: a gap */
    CHECK(polyline_points(s, "loss-val", 0, &lines) == 28 && lines == 2);
    CHECK(count(s, "l-5,9h10z") == 1); /* the cut-off point, on the top edge */
    CHECK(strstr(s, "text-anchor=\"end\">5000<") == NULL);
    free(s);
}

static void svg_write_error(void) {
    char msg[256] = "", want[2200];
    CHECK(dnn_plot_svg(in_dir("no/such/dir/p.svg"), "t", log5, 5, msg, sizeof msg) == DNN_E_IO);
    snprintf(want, sizeof want, "%s: cannot write: ", in_dir("no/such/dir/p.svg"));
    CHECK(strncmp(msg, want, strlen(want)) == 0);
    CHECK(dnn_plot_svg(NULL, "t", log5, 5, NULL, 0) == DNN_E_ARG);
    CHECK(dnn_plot_svg(in_dir("p.svg"), "t", NULL, 3, NULL, 0) == DNN_E_ARG);
}

/* ---- confusion matrix ----------------------------------------------------------- */

static const long conf3[9] = {50, 2, 3, 4, 40, 6, 1, 2, 47};
static const char *const names3[3] = {"cat", "dog", "bird"};

static char *printed(const long *counts, int k, const char *const *names) {
    FILE *f = tmpfile();
    char *s;
    if (!f)
        return calloc(1, 1);
    dnn_confusion_print(f, counts, k, names);
    s = stream_text(f);
    fclose(f);
    return s;
}

static void confusion_table(void) {
    static const long zero_row[9] = {5, 0, 0, 0, 0, 0, 1, 0, 1234567};
    static const char *const long_names[3] = {"airplane_longer_than_sixteen", NULL, "x"};
    char *s = printed(conf3, 3, names3);
    CHECK_STR(s, "confusion matrix (rows: true class, columns: predicted)\n"
                 "true\\pred      cat      dog     bird   recall\n"
                 "cat             50        2        3   90.91%\n"
                 "dog              4       40        6   80.00%\n"
                 "bird             1        2       47   94.00%\n"
                 "precision   90.91%   90.91%   83.93%\n"
                 "accuracy 88.39% (137/155)\n");
    free(s);
    s = printed(zero_row, 3, NULL);
    CHECK_STR(s, "confusion matrix (rows: true class, columns: predicted)\n"
                 "true\\pred        0        1        2   recall\n"
                 "0                5        0        0  100.00%\n"
                 "1                0        0        0        -\n"
                 "2                1        0  1234567  100.00%\n"
                 "precision   83.33%        -  100.00%\n"
                 "accuracy 100.00% (1234572/1234573)\n");
    free(s);
    s = printed(conf3, 3, long_names);
    CHECK_STR(s, "confusion matrix (rows: true class, columns: predicted)\n"
                 "true\\pred         airplane_longer_                 1                 x   recall\n"
                 "airplane_longer_                50                 2                 3   90.91%\n"
                 "1                                4                40                 6   80.00%\n"
                 "x                                1                 2                47   94.00%\n"
                 "precision                   90.91%            90.91%            83.93%\n"
                 "accuracy 88.39% (137/155)\n");
    free(s);
}

static void confusion_wide(void) {
    enum { K = 25 };
    static long c[K * K];
    char nm[K][16], *s;
    const char *names[K];
    int t;
    for (t = 0; t < K; t++)
        c[t * K + t] = 100 - t; /* class t: 100 - t right */
    c[3 * K + 5] = 40;           /* class 3 is confused with 5 */
    c[7 * K + 1] = 20;
    c[9 * K + 2] = 20;
    s = printed(c, K, NULL);
    CHECK_STR(s, "confusion matrix: 25 classes, 2280 samples, accuracy 96.49% (2200/2280)\n"
                 "lowest recall:\n"
                 "  class   recall  precision    samples\n"
                 "  3       70.80%    100.00%        137\n"
                 "  9       81.98%    100.00%        111\n"
                 "  7       82.30%    100.00%        113\n"
                 "largest confusions (true -> predicted):\n"
                 "  3 -> 5  40  (29.20% of 3)\n"
                 "  7 -> 1  20  (17.70% of 7)\n"
                 "  9 -> 2  20  (18.02% of 9)\n");
    free(s);
    /* more than ten to list, with names */
    for (t = 0; t < K; t++) {
        c[t * K + (t + 1) % K] = t + 1;
        snprintf(nm[t], sizeof nm[t], "class_%c", 'a' + t);
        names[t] = nm[t];
    }
    s = printed(c, K, names);
    CHECK(count(s, "\n") == 2 + 1 + 10 + 1 + 10);
    CHECK(strstr(s, "accuracy 84.45% (2200/2605)\n") != NULL);
    CHECK(strstr(s, "  class     recall  precision    samples\n  class_d   68.79%     97.00%        141\n") != NULL);
    CHECK(strstr(s, "  class_d -> class_f  40  (28.37% of class_d)\n  class_y -> class_a  25  (24.75% of class_y)\n") != NULL);
    free(s);
}

static void confusion_csv(void) {
    static const char *const odd[3] = {"cat, big", "say \"hi\"", NULL};
    char msg[256] = "", *s;
    CHECK(dnn_confusion_write_csv(in_dir("conf.csv"), conf3, 3, names3, msg, sizeof msg) == DNN_OK);
    s = slurp(in_dir("conf.csv"));
    CHECK_STR(s, "true\\predicted,cat,dog,bird\ncat,50,2,3\ndog,4,40,6\nbird,1,2,47\n");
    free(s);
    CHECK(dnn_confusion_write_csv(in_dir("conf2.csv"), conf3, 3, odd, msg, sizeof msg) == DNN_OK);
    s = slurp(in_dir("conf2.csv"));
    CHECK_STR(s, "true\\predicted,\"cat, big\",\"say \"\"hi\"\"\",2\n"
                 "\"cat, big\",50,2,3\n\"say \"\"hi\"\"\",4,40,6\n2,1,2,47\n");
    free(s);
    CHECK(dnn_confusion_write_csv(in_dir("conf3.csv"), conf3, 0, NULL, msg, sizeof msg) == DNN_E_ARG);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--pty"))
        return progress_pty();
    if (argc != 2) {
        fprintf(stderr, "usage: test_report DIR | --pty\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    RUN(duration);
    RUN(epoch_summary);
    RUN(progress_plain);
    RUN(progress_terminal);
    RUN(progress_narrow);
    RUN(log_round_trip);
    RUN(log_read_lenient);
    RUN(log_read_errors);
    RUN(svg_known_log);
    RUN(svg_one_epoch);
    RUN(svg_no_validation);
    RUN(svg_gaps_and_outliers);
    RUN(svg_write_error);
    RUN(confusion_table);
    RUN(confusion_wide);
    RUN(confusion_csv);
    return check_failures != 0;
}
