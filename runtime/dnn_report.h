/* dnn_report.h — the host part's "seeing it" side of training: a progress
 * line per epoch, the training log as CSV, the loss and accuracy curves as
 * an SVG picture, and the confusion matrix of a classifier.
 *
 * Host code: it uses stdio, libm and malloc (nothing else). Files are
 * written atomically with dnn_write_file_atomic, so a crash leaves the old
 * file or the new one, never half of one. Functions that write files
 * return DNN_OK or a DNN_E* code of dnn.h and, when msg is not NULL, put a
 * line such as "run/log.csv: cannot write: No space left on device" there
 * (at most msgcap bytes, NUL-terminated). Numbers are printed with "."
 * as the decimal point as long as the program keeps the "C" locale.
 *
 * Units: losses as computed; accuracies as fractions 0..1 (the summary
 * line and the picture show them in %); times in seconds. NaN means "not
 * measured" everywhere.
 */
#ifndef DNN_REPORT_H
#define DNN_REPORT_H

#include <stdio.h>

#include "dnn.h"

/* ---- Progress of one epoch ------------------------------------------------
 * On a terminal, a single line redrawn in place (at most ~10 times a
 * second, shortened to fit the terminal's width):
 *   epoch 3/10 [===========>        ] 1200/1875  loss 0.4312  5230 samples/s  ETA 0:07
 * When `out` is not a terminal (isatty is all that matters), nothing is
 * written during the epoch. dnn_progress_end then writes the summary line:
 * on a terminal it replaces the progress line, elsewhere it is the epoch's
 * only line, so a log file gets one plain line per epoch.
 * Fields are set by dnn_progress_begin; a test may override `tty` and
 * `now` (and then reset `t0 = now()`) right after it. */
typedef struct dnn_progress {
    FILE *out;            /* where the line goes */
    int tty;              /* 1: redraw a line in place; 0: summary only */
    int epoch, epochs;    /* "epoch 3/10"; epochs <= 0 prints "epoch 3" */
    long total;           /* samples in the epoch; <= 0 if unknown (no bar, no ETA) */
    long done;            /* samples done, from the last update */
    double loss;          /* mean loss so far, from the last update */
    double t0;            /* now() at begin */
    double last_draw;     /* now() at the last redraw */
    int drawn;            /* a progress line is on the screen */
    int width;            /* characters of that line, to blank it out */
    int columns;          /* terminal width (TIOCGWINSZ, else $COLUMNS, else 80) */
    double (*now)(void);  /* the clock: dnn_now */
} dnn_progress;

void dnn_progress_begin(dnn_progress *p, FILE *out, int epoch, int epochs, long total_samples);
void dnn_progress_update(dnn_progress *p, long samples_done, double mean_loss);
/* Finishes the line and prints summary and a newline, e.g. "epoch 3/10
 * loss 0.4312  acc 86.20%  val_loss 0.4100  val_acc 85.90%  12.3 s" (see
 * dnn_epoch_summary). summary NULL prints "epoch 3/10  loss 0.4312  5230
 * samples/s  12.3 s" from the last update. */
void dnn_progress_end(dnn_progress *p, const char *summary);
/* Ends the epoch without a summary: on a terminal the progress line is
 * blanked out, so the next epoch's draws over it; elsewhere nothing is
 * written. (A long run keeps the summaries of some epochs only, yet shows
 * every epoch's progress.) */
void dnn_progress_discard(dnn_progress *p);

/* Monotonic seconds from an arbitrary origin (CLOCK_MONOTONIC; clock()
 * where that is missing). */
double dnn_now(void);

/* "0:07", "12:05", "1:02:03" (rounded to the second); "-:--" for a
 * negative or non-finite time. */
void dnn_format_duration(char *buf, size_t cap, double seconds);

/* ---- The training log -------------------------------------------------- */

/* One row per epoch. NaN: not measured (no validation set, not a
 * classifier); written as an empty CSV field. Accuracies are fractions. */
typedef struct dnn_epoch_row {
    int epoch;              /* 1-based epoch number (training programs log the initial weights as 0) */
    double lr;              /* learning rate used in the epoch */
    double train_loss;      /* mean training loss */
    double train_acc;       /* training accuracy, 0..1 */
    double val_loss;        /* validation loss */
    double val_acc;         /* validation accuracy, 0..1 */
    double seconds;         /* wall time of the epoch */
} dnn_epoch_row;

/* The summary line of one epoch: "epoch 3/10  loss 0.4312  acc 86.20%
 * val_loss 0.4100  val_acc 85.90%  12.3 s", leaving out what is NaN;
 * epochs <= 0 prints "epoch 3". Always NUL-terminated (truncated to cap). */
void dnn_epoch_summary(char *buf, size_t cap, const dnn_epoch_row *row, int epochs);

/* Writes the whole log as CSV, header
 *   epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds
 * then one line per row (lr as the shortest decimal that reads back as
 * the same float, 6 significant digits for losses and accuracies, seconds
 * with 3 decimals), atomically. Rewriting
 * the whole file each epoch keeps it consistent after a crash.
 * DNN_OK; DNN_E_ARG (NULL path, n < 0, rows NULL with n > 0); DNN_E_SPACE
 * (out of memory); DNN_E_IO (cannot write; errno tells why). */
int dnn_log_write_csv(const char *path, const dnn_epoch_row *rows, int n, char *msg, size_t msgcap);

/* Reads such a log back (on --resume, to continue the curves). Columns
 * are found by their header names, in any order; unknown columns are
 * skipped, missing ones and empty fields read as NaN (the epoch column is
 * required). Blank lines and CRLF line ends are accepted. *rows is from
 * malloc (NULL when *n is 0); the caller frees it. DNN_OK; DNN_E_IO (cannot
 * read; errno is ENOENT for a missing file, which a resume may treat as an
 * empty log); DNN_E_HEADER (not such a log, or a field that is not a
 * number: the message names the line); DNN_E_SPACE; DNN_E_ARG. */
int dnn_log_read_csv(const char *path, dnn_epoch_row **rows, int *n, char *msg, size_t msgcap);

/* ---- The picture ----------------------------------------------------------
 * An SVG file for a browser: the title on top, then a loss panel (train
 * and validation per epoch) and, if any accuracy was measured, an accuracy
 * panel (in %) beside it; axes with 1-2-5 tick steps, axis labels, a
 * legend, point markers (for up to ~50 epochs), gaps where a value is NaN
 * or infinite. A few huge losses (say a first epoch at 1e3 then ~1) do not
 * flatten the rest: the y range then ends above the typical values and the
 * outliers are drawn as triangles on the top edge, noted in the panel's
 * heading. Numbers have fixed precision, so the same log gives the same
 * bytes. Written atomically. Errors as for dnn_log_write_csv. */
int dnn_plot_svg(const char *path, const char *title, const dnn_epoch_row *rows, int n, char *msg, size_t msgcap);

/* ---- Confusion matrix -------------------------------------------------------
 * counts[true * classes + pred]. names[i] labels class i; names NULL (or
 * names[i] NULL) means "0".."k-1"; names are cut to 16 characters. */

/* Prints a table, rows the true class and columns the predicted one, with
 * each class's recall at the end of its row, the precisions below, and the
 * overall accuracy; "-" where a ratio has no samples. Over 20 classes it
 * prints a summary instead: the 10 classes of lowest recall and the 10
 * largest confusions. */
void dnn_confusion_print(FILE *out, const long *counts, int classes, const char *const *names);

/* The matrix as CSV, atomically: a header row "true\predicted,NAME,...",
 * then per true class its name and counts. Names are quoted as RFC 4180
 * wants when needed. Errors as for dnn_log_write_csv. */
int dnn_confusion_write_csv(const char *path, const long *counts, int classes, const char *const *names,
                            char *msg, size_t msgcap);

#endif
