/* dnn_plot.c — the training log's SVG picture; see dnn_report.h.
 *
 * Built in memory by report.h's string builder and written whole, as the
 * other reports are. The SVG is laid out in fixed pixel units from a
 * handful of constants; its numbers are printed with one decimal
 * (coordinates) or a precision chosen from the tick step (labels), so the
 * same log always gives the same bytes. Axis ranges come from nice_axis:
 * 1-2-5 steps, rounded outwards, kept within [0, 100] for accuracies and at
 * or above 0 when all values are. Huge losses are cut off by robust_top.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnn_report.h"
#include "report.h"

/* ---- The picture -------------------------------------------------------- */

/* Layout, in pixels. */
#define PANEL_W 480    /* one panel, with its labels */
#define PANEL_H 360
#define MARGIN 10      /* around the panels */
#define TITLE_H 44     /* band for the title */
#define HEAD_H 44      /* band above a plot: heading, legend */
#define FOOT_H 48      /* band below a plot: tick labels, axis label */
#define RIGHT_PAD 16   /* right of a plot */
#define CHAR_W 7.0     /* a rough width of a 12px character */
#define MAX_MARKERS 50 /* more epochs than this: lines only */

static const char *const colors[2] = {"#1f77b4", "#d95f02"}; /* train, validation */

/* An axis: its range, tick step and the decimals its labels need. */
typedef struct axis {
    double lo, hi;  /* the range shown */
    double step;    /* between ticks: 1, 2 or 5 times a power of ten */
    int decimals;   /* for tick labels */
} axis;

static double nice_step(double range, double target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1.0 ? 1 : f <= 2.0 ? 2 : f <= 5.0 ? 5 : 10) * mag;
}

/* A nice axis around [lo, hi] with about `target` intervals, kept inside
 * [floor_, ceil_] (each may be -HUGE_VAL / HUGE_VAL for none). */
static axis nice_axis(double lo, double hi, double target, double floor_, double ceil_, double min_step) {
    axis a;
    if (hi - lo <= 1e-9 * (fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi))) { /* one value: make room around it */
        double d = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= d;
        hi += d;
    }
    lo = lo < floor_ ? floor_ : lo;
    hi = hi > ceil_ ? ceil_ : hi;
    a.step = nice_step(hi - lo, target);
    if (a.step < min_step)
        a.step = min_step;
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    a.lo = a.lo < floor_ ? floor_ : a.lo;
    a.hi = a.hi > ceil_ ? ceil_ : a.hi;
    a.decimals = a.step >= 1 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
    a.decimals = a.decimals > 12 ? 12 : a.decimals;
    return a;
}

/* How many ticks from `from` (a multiple of a.step) up to a.hi: counted,
 * not stepped, so rounding can never stall a loop. */
static int tick_count(axis a, double from) {
    double k = floor((a.hi - from) / a.step + 1e-6) + 1;
    return k < 1 ? 1 : k > 200 ? 200 : (int)k;
}

/* The label of tick t: the step's decimals; 4 significant digits for huge
 * values; "0" rather than a rounding error's "-0.0". Returns its length. */
static int tick_label(char *buf, size_t cap, axis a, double t) {
    if (fabs(t) < a.step * 1e-6)
        t = 0;
    if (fabs(t) >= 1e7)
        return snprintf(buf, cap, "%.4g", t);
    return snprintf(buf, cap, "%.*f", a.decimals, t + 0.0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The top of the y range for sorted finite values v[0..k): their maximum,
 * unless that is over 8 times as far from the minimum as the values below
 * the largest tenth reach; then the largest value within that distance,
 * and the outliers beyond it are cut off. */
static double robust_top(const double *v, int k) {
    int drop = k / 10 > 1 ? k / 10 : 1, i;
    double lo, limit;
    if (k < 3)
        return v[k - 1];
    lo = v[0];
    limit = lo + 8 * (v[k - 1 - drop] - lo);
    for (i = k - 1; i > 0 && v[i] > limit; i--)
        ;
    return v[i];
}

/* Appends a number to an SVG: one decimal, never "-0.0". */
static void sb_px(sbuf *b, double v) {
    double r = floor(v * 10 + 0.5) / 10;
    sb_add(b, "%.1f", r + 0.0);
}

static void sb_xml(sbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_add(b, "&amp;"); break;
        case '<': sb_add(b, "&lt;"); break;
        case '>': sb_add(b, "&gt;"); break;
        case '"': sb_add(b, "&quot;"); break;
        case '\'': sb_add(b, "&apos;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                sb_add(b, "%c", *s);
        }
    }
}

/* One panel: series[s][i] is the value of row i for series s (train,
 * validation), NaN where missing. */
typedef struct panel {
    const char *name;      /* "loss" or "accuracy": heading and class names */
    const char *ylabel;    /* y axis label */
    const double *series[2];
    int percent;           /* values are percentages: keep within [0, 100] */
} panel;

/* Draws one panel with its top-left corner at (x0, y0). */
static void plot_panel(sbuf *b, int id, double x0, double y0, const panel *pn, const dnn_epoch_row *rows, int n) {
    static const char *const series_name[2] = {"train", "validation"};
    static const char *const series_key[2] = {"train", "val"};
    double *v = n > 0 ? malloc(2 * (size_t)n * sizeof *v) : NULL;
    int k = 0, i, s, has[2] = {0, 0}, clipped = 0, maxlen = 1;
    double emin = 0, emax = 0, top, clip_max = -HUGE_VAL;
    double left, right, ptop, bottom, t, from;
    int nt;
    axis ax, ay;
    char label[64];

    if (n > 0 && !v) {
        b->oom = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        emin = i == 0 || rows[i].epoch < emin ? rows[i].epoch : emin;
        emax = i == 0 || rows[i].epoch > emax ? rows[i].epoch : emax;
        for (s = 0; s < 2; s++)
            if (isfinite(pn->series[s][i])) {
                v[k++] = pn->series[s][i];
                has[s] = 1;
            }
    }
    /* the axes */
    if (n == 0)
        emin = emax = 1;
    ax = emax > emin ? nice_axis(emin, emax, 10, -HUGE_VAL, HUGE_VAL, 1) : nice_axis(emin, emin, 1, -HUGE_VAL, HUGE_VAL, 1);
    if (emax > emin) { /* keep the first and last points off the frame */
        ax.lo = emin - 0.03 * (emax - emin);
        ax.hi = emax + 0.03 * (emax - emin);
    } else {
        ax.lo = emin - 0.5;
        ax.hi = emin + 0.5;
    }
    if (k == 0) {
        ay = nice_axis(0, pn->percent ? 100 : 1, 5, 0, HUGE_VAL, 0);
        top = ay.hi;
    } else {
        double lo, pad;
        qsort(v, (size_t)k, sizeof *v, cmp_double);
        lo = v[0];
        top = pn->percent ? v[k - 1] : robust_top(v, k);
        pad = 0.03 * (top - lo);
        ay = nice_axis(lo - pad, top + pad, 5, lo >= 0 ? 0 : -HUGE_VAL, pn->percent ? 100 : HUGE_VAL, 0);
        for (i = 0; i < k; i++)
            if (v[i] > ay.hi) {
                clipped++;
                clip_max = v[i];
            }
    }
    free(v);
    nt = tick_count(ay, ay.lo);
    for (i = 0; i < nt; i++) {
        int len;
        t = ay.lo + i * ay.step;
        len = tick_label(label, sizeof label, ay, t);
        maxlen = len > maxlen ? len : maxlen;
    }
    left = x0 + 30 + CHAR_W * maxlen + 8;
    right = x0 + PANEL_W - RIGHT_PAD;
    ptop = y0 + HEAD_H;
    bottom = y0 + PANEL_H - FOOT_H;
#define X(e) (left + ((e) - ax.lo) / (ax.hi - ax.lo) * (right - left))
#define Y(y) (bottom - ((y) - ay.lo) / (ay.hi - ay.lo) * (bottom - ptop))

    sb_add(b, "<g class=\"panel-%s\">\n", pn->name);
    /* heading, legend, clip note */
    sb_add(b, "<text x=\"");
    sb_px(b, left);
    sb_add(b, "\" y=\"");
    sb_px(b, y0 + 14);
    sb_add(b, "\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", pn->name);
    {
        double lx = left;
        for (s = 0; s < 2; s++) {
            if (!has[s] && s == 1)
                continue;
            sb_add(b, "<line x1=\"");
            sb_px(b, lx);
            sb_add(b, "\" y1=\"");
            sb_px(b, y0 + 30);
            sb_add(b, "\" x2=\"");
            sb_px(b, lx + 24);
            sb_add(b, "\" y2=\"");
            sb_px(b, y0 + 30);
            sb_add(b, "\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", colors[s], s ? " stroke-dasharray=\"6 4\"" : "");
            if (s == 0) {
                sb_add(b, "<circle cx=\"");
                sb_px(b, lx + 12);
                sb_add(b, "\" cy=\"");
                sb_px(b, y0 + 30);
                sb_add(b, "\" r=\"3\" fill=\"%s\"/>\n", colors[s]);
            } else {
                sb_add(b, "<rect x=\"");
                sb_px(b, lx + 9);
                sb_add(b, "\" y=\"");
                sb_px(b, y0 + 27);
                sb_add(b, "\" width=\"6\" height=\"6\" fill=\"%s\"/>\n", colors[s]);
            }
            sb_add(b, "<text x=\"");
            sb_px(b, lx + 30);
            sb_add(b, "\" y=\"");
            sb_px(b, y0 + 34);
            sb_add(b, "\" font-size=\"12\">%s</text>\n", series_name[s]);
            lx += 30 + CHAR_W * (double)strlen(series_name[s]) + 18;
        }
    }
    if (clipped) {
        char mx[32];
        snprintf(mx, sizeof mx, "%.4g", clip_max);
        sb_add(b, "<text x=\"");
        sb_px(b, right);
        sb_add(b, "\" y=\"");
        sb_px(b, y0 + 14);
        sb_add(b, "\" font-size=\"12\" text-anchor=\"end\" fill=\"#555\">&#9650; %d above the axis, up to %s</text>\n",
               clipped, mx);
    }
    /* grid and tick labels */
    sb_add(b, "<g font-size=\"12\" fill=\"#333\">\n");
    for (i = 0; i < nt; i++) {
        double y = Y(t = ay.lo + i * ay.step);
        sb_add(b, "<line x1=\"");
        sb_px(b, left);
        sb_add(b, "\" y1=\"");
        sb_px(b, y);
        sb_add(b, "\" x2=\"");
        sb_px(b, right);
        sb_add(b, "\" y2=\"");
        sb_px(b, y);
        sb_add(b, "\" stroke=\"#e3e3e3\"/>\n<text x=\"");
        sb_px(b, left - 6);
        sb_add(b, "\" y=\"");
        sb_px(b, y + 4);
        tick_label(label, sizeof label, ay, t);
        sb_add(b, "\" text-anchor=\"end\">%s</text>\n", label);
    }
    from = ceil(ax.lo / ax.step - 1e-9) * ax.step;
    for (i = 0; i < tick_count(ax, from); i++) {
        double x = X(t = from + i * ax.step);
        sb_add(b, "<line x1=\"");
        sb_px(b, x);
        sb_add(b, "\" y1=\"");
        sb_px(b, ptop);
        sb_add(b, "\" x2=\"");
        sb_px(b, x);
        sb_add(b, "\" y2=\"");
        sb_px(b, bottom);
        sb_add(b, "\" stroke=\"#e3e3e3\"/>\n<text x=\"");
        sb_px(b, x);
        sb_add(b, "\" y=\"");
        sb_px(b, bottom + 18);
        sb_add(b, "\" text-anchor=\"middle\">%.0f</text>\n", t + 0.0);
    }
    sb_add(b, "</g>\n<rect x=\"");
    sb_px(b, left);
    sb_add(b, "\" y=\"");
    sb_px(b, ptop);
    sb_add(b, "\" width=\"");
    sb_px(b, right - left);
    sb_add(b, "\" height=\"");
    sb_px(b, bottom - ptop);
    sb_add(b, "\" fill=\"none\" stroke=\"#333\"/>\n");
    /* axis labels */
    sb_add(b, "<text x=\"");
    sb_px(b, (left + right) / 2);
    sb_add(b, "\" y=\"");
    sb_px(b, bottom + 38);
    sb_add(b, "\" font-size=\"13\" text-anchor=\"middle\">epoch</text>\n<text transform=\"translate(");
    sb_px(b, x0 + 16);
    sb_add(b, ",");
    sb_px(b, (ptop + bottom) / 2);
    sb_add(b, ") rotate(-90)\" font-size=\"13\" text-anchor=\"middle\">%s</text>\n", pn->ylabel);
    if (k == 0) {
        sb_add(b, "<text x=\"");
        sb_px(b, (left + right) / 2);
        sb_add(b, "\" y=\"");
        sb_px(b, (ptop + bottom) / 2);
        sb_add(b, "\" font-size=\"14\" text-anchor=\"middle\" fill=\"#777\">no data yet</text>\n");
    }
    /* the lines: one polyline per run of finite values, clipped to the frame */
    sb_add(b, "<clipPath id=\"clip%d\"><rect x=\"", id);
    sb_px(b, left);
    sb_add(b, "\" y=\"");
    sb_px(b, ptop);
    sb_add(b, "\" width=\"");
    sb_px(b, right - left);
    sb_add(b, "\" height=\"");
    sb_px(b, bottom - ptop);
    sb_add(b, "\"/></clipPath>\n");
    for (s = 0; s < 2; s++) {
        const double *y = pn->series[s];
        if (!has[s])
            continue;
        for (i = 0; i < n; i++) {
            int j, first;
            if (!isfinite(y[i]) || (i > 0 && isfinite(y[i - 1])))
                continue;
            for (j = i; j < n && isfinite(y[j]); j++)
                ;
            if (j - i < 2)
                continue;
            sb_add(b, "<polyline class=\"%s-%s\" clip-path=\"url(#clip%d)\" fill=\"none\" stroke=\"%s\" "
                      "stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"",
                   pn->name, series_key[s], id, colors[s], s ? " stroke-dasharray=\"6 4\"" : "");
            for (first = i; i < j; i++) {
                sb_add(b, "%s", i > first ? " " : "");
                sb_px(b, X(rows[i].epoch));
                sb_add(b, ",");
                sb_px(b, Y(y[i]));
            }
            sb_add(b, "\"/>\n");
        }
        sb_add(b, "<g class=\"%s-%s-points\" fill=\"%s\">\n", pn->name, series_key[s], colors[s]);
        for (i = 0; i < n; i++) {
            double px, py;
            int lone = isfinite(y[i]) && (i == 0 || !isfinite(y[i - 1])) && (i == n - 1 || !isfinite(y[i + 1]));
            if (!isfinite(y[i]))
                continue;
            px = X(rows[i].epoch);
            py = Y(y[i]);
            if (y[i] > ay.hi) { /* cut off: a triangle on the top edge */
                sb_add(b, "<path d=\"M");
                sb_px(b, px);
                sb_add(b, ",");
                sb_px(b, ptop - 1);
                sb_add(b, "l-5,9h10z\"/>\n");
            } else if (n <= MAX_MARKERS || lone) {
                if (s == 0) {
                    sb_add(b, "<circle cx=\"");
                    sb_px(b, px);
                    sb_add(b, "\" cy=\"");
                    sb_px(b, py);
                    sb_add(b, "\" r=\"3\"/>\n");
                } else {
                    sb_add(b, "<rect x=\"");
                    sb_px(b, px - 3);
                    sb_add(b, "\" y=\"");
                    sb_px(b, py - 3);
                    sb_add(b, "\" width=\"6\" height=\"6\"/>\n");
                }
            }
        }
        sb_add(b, "</g>\n");
    }
    sb_add(b, "</g>\n");
#undef X
#undef Y
}

int dnn_plot_svg(const char *path, const char *title, const dnn_epoch_row *rows, int n, char *msg, size_t msgcap) {
    sbuf b = {0};
    double *col;
    int i, npanels, has_acc = 0, w, h;
    panel pl, pa;
    if (!path || n < 0 || (!rows && n > 0))
        return dnn_errorf(msg, msgcap, DNN_E_ARG, path, "bad arguments to dnn_plot_svg");
    if (!(col = malloc(4 * ((size_t)n + 1) * sizeof *col)))
        return dnn_errorf(msg, msgcap, DNN_E_SPACE, path, "out of memory");
    for (i = 0; i < n; i++) {
        col[i] = rows[i].train_loss;
        col[n + i] = rows[i].val_loss;
        col[2 * n + i] = 100 * rows[i].train_acc;
        col[3 * n + i] = 100 * rows[i].val_acc;
        has_acc |= isfinite(rows[i].train_acc) || isfinite(rows[i].val_acc);
    }
    npanels = has_acc ? 2 : 1;
    w = 2 * MARGIN + npanels * PANEL_W;
    h = TITLE_H + PANEL_H + MARGIN;
    sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<title>",
           w, h, w, h);
    sb_xml(&b, title && *title ? title : "training");
    sb_add(&b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%d\" y=\"28\" font-size=\"18\" font-weight=\"bold\" text-anchor=\"middle\">",
           w / 2);
    sb_xml(&b, title && *title ? title : "training");
    sb_add(&b, "</text>\n");
    pl.name = "loss";
    pl.ylabel = "loss";
    pl.series[0] = col;
    pl.series[1] = col + n;
    pl.percent = 0;
    plot_panel(&b, 0, MARGIN, TITLE_H, &pl, rows, n);
    if (has_acc) {
        pa.name = "accuracy";
        pa.ylabel = "accuracy (%)";
        pa.series[0] = col + 2 * n;
        pa.series[1] = col + 3 * n;
        pa.percent = 1;
        plot_panel(&b, 1, MARGIN + PANEL_W, TITLE_H, &pa, rows, n);
    }
    sb_add(&b, "</svg>\n");
    free(col);
    return sb_write(&b, path, msg, msgcap);
}
