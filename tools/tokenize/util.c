/*
 * util.c - seqtrain-tokenize's small helpers (tok.h): fatal messages, allocation, the byte
 * buffer, whole-file reads and the clock.
 *
 * Data layout: a buf is one heap block p[0..cap) of which p[0..n) is used; it doubles when
 * full (from 4 KiB), so appending byte by byte is amortized O(1).
 *
 * What it does not do: recover from errors. Every failure here is fatal by design: the tool
 * runs once over a corpus, and a partial dataset is worse than none (outputs are written
 * atomically, so dying leaves the previous files in place).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tokenize/tok.h"

/* One line on stderr, then exit(1): outputs are written atomically, so nothing half-written
 * stays behind. */
void st_tok_die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Never NULL: a zero-byte request gets one byte, so callers need no special case. */
void *st_tok_xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) st_tok_die("out of memory (%zu bytes)", bytes);
    return q;
}

char *st_tok_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(st_tok_xrealloc(NULL, n), s, n);
}

/* CLOCK_MONOTONIC: the summary's timings must not jump with the wall clock. */
double st_tok_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Room for extra more bytes: doubles from 4 KiB, so appends are amortized O(1). */
void st_tok_buf_reserve(buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra) cap *= 2;
    b->p = st_tok_xrealloc(b->p, cap);
    b->cap = cap;
}
void st_tok_buf_put(buf *b, const void *s, size_t n) {
    if (n == 0) return; /* b->p may still be NULL */
    st_tok_buf_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
void st_tok_buf_putc(buf *b, char c) {
    st_tok_buf_reserve(b, 1);
    b->p[b->n++] = c;
}


/* Reads a whole file into b (b->n = size). Returns 0, or -1 with errno set. */
int st_tok_read_file(const char *path, buf *b) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail;
    b->n = 0;
    st_tok_buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        st_tok_buf_reserve(b, 65536);
        ssize_t r = read(fd, b->p + b->n, b->cap - b->n);
        if (r < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        if (r == 0) break;
        b->n += (size_t)r;
    }
    close(fd);
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Exit status 2 for command-line mistakes (1 is for data problems), as getopt tools do. */
void st_tok_usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    exit(2);
}
