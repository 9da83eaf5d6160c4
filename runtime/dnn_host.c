/* dnn_host.c — the host part of the dnnc runtime: whole files in and out.
 *
 * Callers pass the buffers, so nothing here allocates except the explicit
 * dnn_read_file_alloc convenience. Writes are atomic the POSIX way: a
 * temporary file in the same directory (rename only replaces atomically
 * within one file system), fsync, rename over the target, fsync the
 * directory. Paths are copied into fixed buffers of DNN_PATH_MAX bytes.
 */
#define _POSIX_C_SOURCE 200809L /* fsync, rename, getpid */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnn_host.h"

#define DNN_PATH_MAX 4096

long long dnn_file_size(const char *path) {
    struct stat st;
    if (!path)
        return DNN_E_ARG;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return DNN_E_IO;
    return (long long)st.st_size;
}

int dnn_read_file(const char *path, void *buf, size_t cap, size_t *len) {
    FILE *f;
    struct stat st;
    int r = DNN_OK;
    if (!path || (!buf && cap) || !len)
        return DNN_E_ARG;
    *len = 0;
    if (!(f = fopen(path, "rb")))
        return DNN_E_IO;
    *len = fread(buf, 1, cap, f);
    if (!ferror(f) && *len == cap && fgetc(f) != EOF) { /* more than cap bytes */
        r = DNN_E_SPACE;
        if (fstat(fileno(f), &st) == 0)
            *len = (size_t)st.st_size;
    }
    if (ferror(f)) /* also a directory, which opens but cannot be read */
        r = DNN_E_IO;
    fclose(f);
    return r;
}

int dnn_read_file_alloc(const char *path, void **buf, size_t *len) {
    long long size;
    int r;
    if (!buf || !len)
        return DNN_E_ARG;
    *buf = NULL;
    *len = 0;
    if ((size = dnn_file_size(path)) < 0)
        return (int)size;
    if ((unsigned long long)size >= (size_t)-1 || !(*buf = malloc((size_t)size + 1)))
        return DNN_E_SPACE;
    if ((r = dnn_read_file(path, *buf, (size_t)size, len)) < 0) { /* e.g. it grew meanwhile */
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return r;
}

/* write(2) until all of buf is out: short writes and EINTR are not errors. */
static int write_all(int fd, const unsigned char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Makes a rename in path's directory durable. Best effort: some file
 * systems refuse fsync on a directory, and the data is safe regardless. */
static void sync_dir(const char *path) {
    char dir[DNN_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd;
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if ((fd = open(dir, O_RDONLY)) >= 0) {
        fsync(fd);
        close(fd);
    }
}

int dnn_write_file_atomic(const char *path, const void *buf, size_t len) {
    static unsigned counter; /* tells apart temporary files of one process */
    char tmp[DNN_PATH_MAX];
    int fd = -1, tries, ok;
    if (!path || (!buf && len))
        return DNN_E_ARG;
    /* O_EXCL so a stale or foreign file is never reused; mode 0666 so the
     * umask applies as for any new file. */
    for (tries = 0; fd < 0 && tries < 100; tries++) {
        int n = snprintf(tmp, sizeof tmp, "%s.%ld.%u.tmp", path, (long)getpid(), counter++);
        if (n < 0 || (size_t)n >= sizeof tmp)
            return DNN_E_ARG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            return DNN_E_IO;
    }
    if (fd < 0)
        return DNN_E_IO;
    ok = write_all(fd, buf, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return DNN_E_IO;
    }
    sync_dir(path);
    return DNN_OK;
}

int dnn_errorf(char *msg, size_t msgcap, int code, const char *path, const char *fmt, ...) {
    if (msg && msgcap > 0) {
        int n = snprintf(msg, msgcap, "%s: ", path ? path : "(null)");
        if (n >= 0 && (size_t)n < msgcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg + n, msgcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}
