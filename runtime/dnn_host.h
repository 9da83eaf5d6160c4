/* dnn_host.h — the host part of the dnnc runtime: whole-file reads and
 * atomic writes, for programs that run on an operating system.
 *
 * Needs POSIX (built with -D_POSIX_C_SOURCE=200809L). Errors are the
 * DNN_E* codes of dnn.h; the cause (errno) is left for the caller to show.
 * A model loads weights with
 *     dnn_read_file(path, buf, cap, &len)  then  NAME_load(m, buf, len)
 * and saves them with NAME_save then dnn_write_file_atomic.
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

/* Replaces the file at path with len bytes from buf, or leaves it as it
 * was: writes a temporary file beside it, fsyncs it and renames it over
 * path (then fsyncs the directory). On any failure the temporary file is
 * removed and DNN_E_IO returned; DNN_E_ARG for NULL arguments or a path
 * too long. A new file gets the usual 0666 & ~umask permissions. */
int dnn_write_file_atomic(const char *path, const void *buf, size_t len);

/* The host part's error reports: writes "PATH: message" (printf-style)
 * into msg when msg is not NULL (at most msgcap bytes, NUL-terminated)
 * and returns code. */
int dnn_errorf(char *msg, size_t msgcap, int code, const char *path, const char *fmt, ...);

#endif
