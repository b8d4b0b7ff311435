/*
 * file.h - opening a file seqtrain did not write, and reading it line by line with a bound.
 *
 * Why: a path given by a user or found in a config may name a FIFO (open() waits for a writer
 * forever), a device such as /dev/zero (a line that never ends grows a buffer until the OOM
 * killer), or a directory. Every reader of such a path opens it here, so that all of them
 * refuse the same things with the same words:
 *     "PATH: is a FIFO (named pipe): a config must be a regular file"
 * and every line reader has a length bound chosen by its format, checked before it grows.
 */
#ifndef SEQTRAIN_CORE_FILE_H
#define SEQTRAIN_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a file of mode st_mode is, for a refusal: "a FIFO (named pipe)", "a symlink", ... */
const char *st_file_kind(unsigned mode);

/* Opens path read-only as a regular file of at most max_bytes (0: no limit), without blocking
 * on a FIFO: returns the descriptor (blocking mode restored), or -1 with one line set naming
 * path and what it is ("what" names the role: "config", "vocabulary file"). */
int st_file_open_regular(const char *path, const char *what, int64_t max_bytes);

/* A bounded line reader over st_file_open_regular. */
typedef struct st_lines {
    FILE *f;
    const char *path; /* borrowed: for messages */
    char *buf;        /* one line, NUL-terminated, without its "\n" or "\r\n" */
    size_t cap;       /* grows up to max_line + 1 */
    size_t max_line;
    size_t lineno;    /* of the line last returned, from 1 */
} st_lines;

int st_lines_open(st_lines *L, const char *path, const char *what, size_t max_line);
/* 1 and *line and *len for the next line; 0 at the end; ST_ERR (one line set, "PATH:LINE: ...")
 * for a line longer than max_line, a NUL byte or a read error. */
int st_lines_next(st_lines *L, char **line, size_t *len);
void st_lines_close(st_lines *L);

#endif
