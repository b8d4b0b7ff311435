/*
 * vectors.c - word2vec / GloVe text vectors and vocabulary lists, read line by line.
 *
 * Layout of a vectors file: "word v1 ... vD\n" per line, separated by single or repeated
 * spaces; word2vec text files start with a "count dim" line, which is recognised (two integers
 * and nothing else) and skipped. A vocabulary list has one word per line, line k = id k.
 *
 * Each vector is handed to a callback and forgotten: the reader allocates one row and one line
 * buffer, whatever the file's size. Files are opened as a stranger's (core/file.c): regular
 * files only, bounded lines, no NUL.
 *
 * What it does not do: match words to ids or touch any parameters (src/model/pretrained.c does),
 * nor read the dataset's /vocab (src/io/dataset.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/text.h"
#include "io/vectors.h"
#include "seqtrain/error.h"

/* Line bounds, checked before a buffer grows (a file that never ends a line must not exhaust
 * memory): a word of a vocabulary list, and a word with its vector (300 floats in text take
 * about 3 KB; 1 MiB leaves room for any real dimension). */
#define ST_VOCAB_LINE_MAX ((size_t)4096)
#define ST_VECTORS_LINE_MAX ((size_t)1 << 20)

int st_vocab_read(const char *path, char ***words, size_t *n) {
    st_lines L;
    if (st_lines_open(&L, path, "vocabulary file", ST_VOCAB_LINE_MAX) != ST_OK) return ST_ERR;
    size_t cap = 1024, k = 1;
    char **w = st_malloc(cap * sizeof(char *));
    w[0] = st_malloc(1);
    w[0][0] = 0;
    char *line;
    size_t len;
    int got;
    while ((got = st_lines_next(&L, &line, &len)) == 1) {
        if (k == cap) {
            char **nw = st_malloc(2 * cap * sizeof(char *));
            memcpy(nw, w, cap * sizeof(char *));
            st_free(w);
            w = nw;
            cap *= 2;
        }
        w[k] = st_malloc(len + 1);
        memcpy(w[k], line, len + 1);
        k++;
    }
    st_lines_close(&L);
    if (got != 0) {
        st_vocab_free(w, k);
        return ST_ERR;
    }
    *words = w;
    *n = k;
    return ST_OK;
}

void st_vocab_free(char **words, size_t n) {
    for (size_t i = 0; i < n; i++) st_free(words[i]);
    st_free(words);
}

/* word2vec's header: exactly two integers, the second positive. p points after the first
 * token (already cut at its space). */
static int is_header(const char *first, const char *p) {
    char *e1, *e2;
    strtol(first, &e1, 10);
    long d = strtol(p, &e2, 10);
    if (*e1 || e2 == p || (*e2 != 0 && *e2 != ' ') || d <= 0) return 0;
    while (*e2 == ' ') e2++;
    return !*e2;
}

int st_vectors_read(const char *path, int dim, st_vectors_row_fn fn, void *ctx, size_t *lines) {
    st_lines L;
    *lines = 0;
    if (st_lines_open(&L, path, "vectors file", ST_VECTORS_LINE_MAX) != ST_OK) return ST_ERR;
    float *row = st_malloc((size_t)(dim > 0 ? dim : 1) * sizeof(float));
    char *line;
    size_t len;
    int rc = ST_OK, got;
    while ((got = st_lines_next(&L, &line, &len)) == 1) {
        char *p = line;
        while (*p == ' ') p++;
        if (!*p) continue;
        char *word = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        if (L.lineno == 1 && is_header(word, p)) continue;
        int k = 0;
        for (; k < dim; k++) {
            char *end;
            row[k] = strtof(p, &end);
            if (end == p) break;
            p = end;
        }
        while (*p == ' ') p++;
        if (k < dim || *p) {
            char esc[96];
            st_error_set("%s:%zu: word '%s' has %s values than the %d expected (output_dim)",
                         path, L.lineno, st_escape(esc, sizeof esc, word, 40),
                         k < dim ? "fewer" : "more", dim);
            rc = ST_ERR;
            break;
        }
        (*lines)++;
        fn(word, row, ctx);
    }
    if (got < 0) rc = ST_ERR;
    st_free(row);
    st_lines_close(&L);
    return rc;
}
