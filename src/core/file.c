/*
 * file.c - regular files opened without blocking, and lines read with a bound (file.h says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "seqtrain/error.h"

const char *st_file_kind(unsigned mode) {
    mode_t m = (mode_t)mode;
    if (S_ISLNK(m)) return "a symlink";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int st_file_open_regular(const char *path, const char *what, int64_t max_bytes) {
    /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer, and is then refused by
     * fstat. Checking the descriptor (not a stat of the path) leaves no window for a swap. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            st_error_set("%s: no such file", path);
        else
            st_error_set("%s: cannot open the %s: %s", path, what, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        st_error_set("%s: is %s: a %s must be a regular file", path, st_file_kind(st.st_mode),
                     what);
        close(fd);
        return -1;
    }
    if (max_bytes > 0 && st.st_size > max_bytes) {
        st_error_set("%s: %lld bytes: larger than a %s may be (%lld)", path,
                     (long long)st.st_size, what, (long long)max_bytes);
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

int st_lines_open(st_lines *L, const char *path, const char *what, size_t max_line) {
    memset(L, 0, sizeof *L);
    L->path = path;
    L->max_line = max_line;
    int fd = st_file_open_regular(path, what, 0);
    if (fd < 0) return ST_ERR;
    L->f = fdopen(fd, "r");
    if (!L->f) {
        st_error_set("%s: cannot open the %s: %s", path, what, strerror(errno));
        close(fd);
        return ST_ERR;
    }
    L->cap = max_line < 4096 ? max_line + 1 : 4096;
    L->buf = st_malloc(L->cap);
    return ST_OK;
}

int st_lines_next(st_lines *L, char **line, size_t *len) {
    size_t n = 0;
    int ch;
    /* getc_unlocked: one stream, one thread; the byte loop is what lets NUL and the length be
     * checked, which fgets and getline cannot do. */
    while ((ch = getc_unlocked(L->f)) != EOF && ch != '\n') {
        if (ch == 0) {
            st_error_set("%s:%zu: a NUL byte at column %zu: refused", L->path, L->lineno + 1,
                         n + 1);
            return ST_ERR;
        }
        if (n == L->max_line) {
            st_error_set("%s:%zu: line longer than %zu bytes: refused", L->path, L->lineno + 1,
                         L->max_line);
            return ST_ERR;
        }
        if (n + 1 >= L->cap) {
            size_t cap = L->cap * 2 > L->max_line + 1 ? L->max_line + 1 : L->cap * 2;
            char *nb = st_malloc(cap);
            memcpy(nb, L->buf, n);
            st_free(L->buf);
            L->buf = nb;
            L->cap = cap;
        }
        L->buf[n++] = (char)ch;
    }
    if (ch == EOF && ferror(L->f)) {
        st_error_set("%s:%zu: cannot read: %s", L->path, L->lineno + 1, strerror(errno));
        return ST_ERR;
    }
    if (ch == EOF && n == 0) return 0;
    if (n > 0 && L->buf[n - 1] == '\r') n--;
    L->buf[n] = 0;
    L->lineno++;
    *line = L->buf;
    *len = n;
    return 1;
}

void st_lines_close(st_lines *L) {
    if (L->f) fclose(L->f);
    st_free(L->buf);
    memset(L, 0, sizeof *L);
}
