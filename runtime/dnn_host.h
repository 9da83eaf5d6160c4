/* dnn_host.h — the host part of the dnnc runtime: whole-file reads and
 * atomic writes, for programs that run on an operating system.
 *
 * Needs POSIX (built with -D_POSIX_C_SOURCE=200809L). Errors are the
 * DNN_E* codes of dnn.h; the cause (errno) is left for the caller to show.
 * A model loads weights with
 *     dnn_read_file(path, buf, cap, &len)  then  NAME_load(m, buf, len)
 * and saves them with NAME_save then dnn_write_file_atomic; dnnc writes
 * its outputs with dnn_output_open/write/close, the same rules.
 */
#ifndef DNN_HOST_H
#define DNN_HOST_H

#include "dnn.h"

/* Size in bytes of the regular file at path, or DNN_E_IO (negative) when
 * it is missing or not a regular file; DNN_E_ARG for a NULL path. */
long long dnn_file_size(const char *path);

/* Reads the whole file at path into buf (cap bytes) and sets *len to its
 * size. DNN_OK; DNN_E_SPACE when the file is larger than cap (*len is then
 * the size needed, if known; buf holds its first cap bytes); DNN_E_IO when
 * it cannot be read; DNN_E_ARG for NULL arguments. */
int dnn_read_file(const char *path, void *buf, size_t cap, size_t *len);

/* Like dnn_read_file into a buffer from malloc, which the caller frees;
 * *buf is NULL on error. For host tools; models never allocate. */
int dnn_read_file_alloc(const char *path, void **buf, size_t *len);

#define DNN_PATH_MAX 4096 /* bytes of a path, with its NUL */

/* An output file being written: dnn_output_open, dnn_output_write (any
 * number of times), then dnn_output_close. A regular file, or a new one,
 * gets its bytes in a temporary file beside it (path.PID.N.tmp, O_EXCL)
 * that close renames over it, so it is replaced whole or left as it was;
 * the replaced file's permissions are kept, a new file gets 0666 & ~umask.
 * A symbolic link is followed (a chain of them, or a dangling one, too):
 * the file it points to is replaced, in that file's directory, and the
 * link stays a link. A device or a FIFO (/dev/null, a pipe a reader
 * waits on) cannot be replaced and is written in place, as cc -o writes
 * it; opening a FIFO waits for its reader. So is anything in /dev or
 * /proc (/dev/stdout, /dev/fd/1: whatever that descriptor holds). A directory is an error
 * (errno EISDIR). Errors: DNN_E_IO with errno set, DNN_E_ARG for NULL
 * arguments or a path longer than DNN_PATH_MAX. */
typedef struct dnn_output {
    int fd;                  /* the open file: the temporary one, or the device */
    char path[DNN_PATH_MAX]; /* the file written: the path given, its links followed */
    char tmp[DNN_PATH_MAX];  /* the temporary file, or "" when path is written in place */
} dnn_output;

enum {
    DNN_OUTPUT_DISCARD, /* close: remove the temporary file; the target stays as it was */
    DNN_OUTPUT_KEEP,    /* close: fsync it, rename it over the target, fsync the directory */
    DNN_OUTPUT_KEEP_NOSYNC /* the same without the fsyncs (files a build can make again) */
};

int dnn_output_open(dnn_output *o, const char *path);
int dnn_output_write(dnn_output *o, const void *buf, size_t len); /* all of buf, or DNN_E_IO */
/* Closes o as `how` says (DNN_OUTPUT_*). DNN_OK; DNN_E_IO (errno set) when
 * the file could not be finished: the temporary file is then removed. */
int dnn_output_close(dnn_output *o, int how);

/* Replaces the file at path with len bytes from buf, or leaves it as it
 * was: dnn_output_open, dnn_output_write, dnn_output_close(DNN_OUTPUT_KEEP)
 * (writes a device or FIFO in place, follows symbolic links). On any
 * failure the temporary file is removed and DNN_E_IO returned with errno
 * set; DNN_E_ARG for NULL arguments or a path too long. */
int dnn_write_file_atomic(const char *path, const void *buf, size_t len);

/* The host part's error reports: writes "PATH: message" (printf-style)
 * into msg when msg is not NULL (at most msgcap bytes, NUL-terminated)
 * and returns code. */
int dnn_errorf(char *msg, size_t msgcap, int code, const char *path, const char *fmt, ...);

/* ---- Threads (host/dnn_threads.c, POSIX threads) ---------------------------
 * dnn_set_threads(n) runs the kernels' loops (dnn_parallel_for, dnn.h) on n
 * threads: the caller's and a pool of n - 1 workers kept until the next
 * call. Forward passes and input gradients are split by sample, weight
 * gradients by output row or tap, each result's sum in the order of one
 * thread, so a model's results are the same bits for every n; 1, the
 * default, stops the pool (one thread, no pool). Call it between steps,
 * not during one. DNN_OK; DNN_E_ARG unless 1 <= n <= DNN_MAX_THREADS;
 * DNN_E_IO when a thread cannot be started (the program stays on one).
 * Link with -pthread where the C library needs it (glibc before 2.34). */
#define DNN_MAX_THREADS 64
int dnn_set_threads(int n);
int dnn_threads(void); /* the threads set, 1 without a pool */
int dnn_cores(void);   /* the processors online, 1 .. DNN_MAX_THREADS: the training programs' default */

#endif
