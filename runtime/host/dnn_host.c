/* dnn_host.c — the host part of the dnnc runtime: whole files in and out.
 *
 * Callers pass the buffers, so nothing here allocates except the explicit
 * dnn_read_file_alloc convenience. Writes are atomic the POSIX way: a
 * temporary file in the same directory (rename only replaces atomically
 * within one file system), fsync, rename over the target, fsync the
 * directory. Only regular files (and new ones) are replaced so: a symbolic
 * link is followed and the file it points to replaced, in that file's
 * directory, and a device or FIFO (/dev/null, a pipe) is written in place,
 * never turned into a regular file. Paths are copied into fixed buffers of
 * DNN_PATH_MAX bytes.
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

/* /dev/stdout, /dev/fd/N, /proc/self/fd/N: what a file descriptor holds,
 * reached through the kernel's own links, which name no real path (a pipe)
 * or a file another process has open (the shell's > file): written in
 * place, as a rename would leave that descriptor on the old file. */
static int is_pseudo(const char *path) {
    return !strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6);
}

/* The file a chain of symbolic links at path ends in, existing or not (a
 * dangling link names the file to create); path itself when it is no link.
 * Relative targets are relative to the link's directory. 0; 1 when the
 * chain leads into /dev or /proc; -1 with errno set (ELOOP, ENAMETOOLONG). */
static int follow_links(const char *path, char *out, size_t cap) {
    char target[DNN_PATH_MAX];
    struct stat st;
    int hops;
    if (strlen(path) >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(out, path);
    for (hops = 0; !is_pseudo(out) && lstat(out, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
        ssize_t n = readlink(out, target, sizeof target - 1);
        const char *slash = strrchr(out, '/');
        size_t dir;
        if (hops == 40) {
            errno = ELOOP;
            return -1;
        }
        if (n < 0)
            return -1;
        target[n] = 0;
        dir = target[0] == '/' || !slash ? 0 : (size_t)(slash - out) + 1; /* the link's directory stays */
        if (dir + (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out + dir, target, (size_t)n + 1);
    }
    return is_pseudo(out);
}

/* A file that cannot be replaced by a rename (a device such as /dev/null,
 * a FIFO, a terminal) is written in place, as a compiler writes -o. */
static int open_in_place(dnn_output *o, const char *path) {
    if (strlen(path) >= sizeof o->path) {
        errno = ENAMETOOLONG;
        return DNN_E_ARG;
    }
    strcpy(o->path, path);
    o->fd = open(path, O_WRONLY | O_TRUNC);
    return o->fd < 0 ? DNN_E_IO : DNN_OK;
}

int dnn_output_open(dnn_output *o, const char *path) {
    static unsigned counter; /* tells apart temporary files of one process */
    struct stat st, real;
    int tries, exists, r;
    if (!o)
        return DNN_E_ARG;
    o->fd = -1;
    o->path[0] = o->tmp[0] = 0;
    if (!path)
        return DNN_E_ARG;
    if (strlen(path) >= DNN_PATH_MAX) {
        errno = ENAMETOOLONG;
        return DNN_E_ARG;
    }
    if (!path[0]) { /* as open("") fails: no temporary file in the current directory */
        errno = ENOENT;
        return DNN_E_IO;
    }
    if ((exists = stat(path, &st) == 0)) { /* through any links, as the kernel follows them */
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return DNN_E_IO;
        }
        if (!S_ISREG(st.st_mode))
            return open_in_place(o, path);
    } else if (errno != ENOENT)
        return DNN_E_IO;
    /* a regular file, or a new one: replaced in its own directory, links kept */
    if ((r = follow_links(path, o->path, sizeof o->path)) < 0)
        return errno == ENAMETOOLONG ? DNN_E_ARG : DNN_E_IO;
    if (r == 1 || (exists && (stat(o->path, &real) != 0 || real.st_ino != st.st_ino || real.st_dev != st.st_dev)))
        return open_in_place(o, path); /* /dev/stdout and the like, or a file that moved meanwhile */
    /* O_EXCL so a stale or foreign file is never reused; mode 0666 so the
     * umask applies as for any new file. */
    for (tries = 0; o->fd < 0 && tries < 100; tries++) {
        int n = snprintf(o->tmp, sizeof o->tmp, "%s.%ld.%u.tmp", o->path, (long)getpid(), counter++);
        if (n < 0 || (size_t)n >= sizeof o->tmp) {
            o->tmp[0] = 0;
            errno = ENAMETOOLONG;
            return DNN_E_ARG;
        }
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (o->fd < 0 && errno != EEXIST)
            break;
    }
    if (o->fd < 0) {
        o->tmp[0] = 0;
        return DNN_E_IO;
    }
    if (exists) /* the file replaced keeps its permissions */
        (void)fchmod(o->fd, st.st_mode & 07777);
    return DNN_OK;
}

int dnn_output_write(dnn_output *o, const void *buf, size_t len) {
    if (!o || o->fd < 0 || (!buf && len))
        return DNN_E_ARG;
    return write_all(o->fd, buf, len) ? DNN_OK : DNN_E_IO;
}

int dnn_output_close(dnn_output *o, int how) {
    int ok = 1, err = 0;
    if (!o || o->fd < 0)
        return DNN_E_ARG;
    if (how == DNN_OUTPUT_KEEP && fsync(o->fd) != 0 && o->tmp[0]) /* a device or FIFO may refuse fsync */
        ok = 0, err = errno;
    if (close(o->fd) != 0 && ok) /* e.g. a full disk reported late (NFS) */
        ok = 0, err = errno;
    o->fd = -1;
    if (o->tmp[0]) {
        if (ok && how != DNN_OUTPUT_DISCARD && rename(o->tmp, o->path) != 0)
            ok = 0, err = errno;
        if (!ok || how == DNN_OUTPUT_DISCARD)
            unlink(o->tmp);
        else if (how == DNN_OUTPUT_KEEP)
            sync_dir(o->path);
        o->tmp[0] = 0;
    }
    errno = err;
    return ok ? DNN_OK : DNN_E_IO;
}

int dnn_write_file_atomic(const char *path, const void *buf, size_t len) {
    dnn_output o;
    int r, err;
    if (!path || (!buf && len))
        return DNN_E_ARG;
    if ((r = dnn_output_open(&o, path)) != DNN_OK)
        return r;
    r = dnn_output_write(&o, buf, len);
    err = errno;
    if (r != DNN_OK) {
        dnn_output_close(&o, DNN_OUTPUT_DISCARD);
        errno = err; /* the write's cause, e.g. EFBIG or ENOSPC */
        return r;
    }
    return dnn_output_close(&o, DNN_OUTPUT_KEEP);
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
