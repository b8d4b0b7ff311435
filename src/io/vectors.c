/*
 * vectors.c - word2vec / GloVe text vectors and vocabulary lists, read line by line.
 *
 * Layout of a vectors file: "word v1 ... vD\n" per line, separated by single or repeated
 * spaces; word2vec text files start with a "count dim" line, which is recognised (two integers
 * and nothing else) and skipped. A vocabulary list has one word per line, line k = id k.
 *
 * Each vector is handed to a callback and forgotten: the reader allocates one row and one line
 * buffer, whatever the file's size.
 *
 * What it does not do: match words to ids or touch any parameters (src/model/pretrained.c does),
 * nor read the dataset's /vocab (src/io/dataset.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/vectors.h"
#include "seqtrain/error.h"

int st_vocab_read(const char *path, char ***words, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        st_error_set("%s: cannot open the vocabulary file: %s", path, strerror(errno));
        return ST_ERR;
    }
    size_t cap = 1024, k = 1;
    char **w = st_malloc(cap * sizeof(char *));
    w[0] = st_malloc(1);
    w[0][0] = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (k == cap) {
            char **nw = st_malloc(2 * cap * sizeof(char *));
            memcpy(nw, w, cap * sizeof(char *));
            st_free(w);
            w = nw;
            cap *= 2;
        }
        w[k] = st_malloc((size_t)len + 1);
        memcpy(w[k], line, (size_t)len + 1);
        k++;
    }
    free(line); /* getline's buffer comes from malloc, not st_malloc */
    fclose(f);
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
    FILE *f = fopen(path, "r");
    if (!f) {
        st_error_set("%s: cannot open: %s", path, strerror(errno));
        return ST_ERR;
    }
    float *row = st_malloc((size_t)(dim > 0 ? dim : 1) * sizeof(float));
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    int rc = ST_OK;
    *lines = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        char *p = line;
        while (*p == ' ') p++;
        if (!*p) continue;
        char *word = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        if (lineno == 1 && is_header(word, p)) continue;
        int k = 0;
        for (; k < dim; k++) {
            char *end;
            row[k] = strtof(p, &end);
            if (end == p) break;
            p = end;
        }
        while (*p == ' ') p++;
        if (k < dim || *p) {
            st_error_set("%s:%zu: word '%s' has %s values than the %d expected (output_dim)",
                         path, lineno, word, k < dim ? "fewer" : "more", dim);
            rc = ST_ERR;
            break;
        }
        (*lines)++;
        fn(word, row, ctx);
    }
    free(line);
    st_free(row);
    fclose(f);
    return rc;
}
