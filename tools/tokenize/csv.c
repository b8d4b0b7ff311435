/*
 * csv.c - CSV and TSV input: one document per record, a label column and text columns.
 *
 * Records are parsed from the file in memory (one read, no stdio line limits): a record's
 * fields are unquoted back to back into one reused buffer with an offset array beside it, so a
 * file of any size costs two small buffers plus the joined texts, which go into the run's
 * corpus buffer (docs.h: a doc holds offset and length). Labels are interned in a word table
 * whose ids are the class ids, in order of first appearance unless the list is fixed
 * (--classes, --vocab-from). The first record fixes the number of columns; every record after
 * it must match, which catches a stray delimiter with the line that has it.
 *
 * What it does not do: guess a dialect (delimiter, quoting and header are flags), strict
 * RFC 4180 (text after a closing quote is kept, as Python's csv does), encodings other than
 * UTF-8, or records with a NUL byte (the file is refused as binary).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize/csv.h"
#include "tokenize/utf8.h"

/* More distinct CSV labels than this is almost surely a text column given as --label-col. */
#define MAX_CLASSES 10000

/* Parses one record of p[0..n) from *pos: its fields, unquoted, back to back in fb with
 * fo[k]..fo[k+1] the bytes of field k. Returns 0 at the end of the input, else 1; *line counts
 * the line breaks consumed (inside quotes too). RFC 4180, read the way Python's csv module
 * reads it: a line ends at LF, CRLF or CR; "" inside quotes is one quote; text after a closing
 * quote is kept (Python's non-strict mode); a quote not at a field's start is an ordinary
 * character. An unterminated quote is reported at the line where it opened. */
int st_tok_csv_record(const char *path, const char *p, size_t n, size_t *pos, long *line,
                      char delim, int quote, buf *fb, size_t **fo, size_t *focap, int *nf) {
    size_t i = *pos;
    if (i >= n) return 0;
    fb->n = 0;
    *nf = 0;
    for (;;) {
        if ((size_t)*nf + 2 > *focap) {
            *focap = *focap ? *focap * 2 : 64;
            *fo = st_tok_xrealloc(*fo, sizeof **fo * *focap);
        }
        (*fo)[(*nf)++] = fb->n;
        if (quote && i < n && p[i] == '"') {
            long open_line = *line;
            i++;
            for (;;) {
                const char *q = i < n ? memchr(p + i, '"', n - i) : NULL;
                if (!q)
                    st_tok_die("%s:%ld: unterminated quoted field (its opening quote is on this line)",
                        path, open_line);
                size_t k = (size_t)(q - p);
                for (const char *s = p + i; (s = memchr(s, '\n', (size_t)(q - s))) != NULL; s++)
                    (*line)++;
                st_tok_buf_put(fb, p + i, k - i);
                if (k + 1 < n && p[k + 1] == '"') { /* "" */
                    st_tok_buf_putc(fb, '"');
                    i = k + 2;
                    continue;
                }
                i = k + 1;
                break;
            }
        }
        size_t s = i;
        while (i < n && p[i] != delim && p[i] != '\n' && p[i] != '\r') i++;
        st_tok_buf_put(fb, p + s, i - s);
        if (i < n && p[i] == delim) {
            i++;
            if (i < n) continue;
            /* a delimiter at the very end: one more, empty, field */
            (*fo)[(*nf)++] = fb->n;
            break;
        }
        if (i < n) { /* line break */
            if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
            i++;
            (*line)++;
        }
        break;
    }
    (*fo)[*nf] = fb->n;
    *pos = i;
    return 1;
}

/* "3" (from 1) or a header name -> 0-based column. */
static int resolve_col(const char *spec, const char *flag, const csv_layout *L, const buf *fb,
                       const size_t *fo, int header) {
    char *e;
    long v = strtol(spec, &e, 10);
    if (*spec && !*e) {
        if (v < 1 || v > L->ncols)
            st_tok_die("%s:%ld: %s %s: the file has columns 1 to %d", L->path, L->line, flag, spec,
                L->ncols);
        return (int)v - 1;
    }
    if (!header)
        st_tok_usage_error("%s %s: a column name needs --header (or give its number, from 1)", flag,
                    spec);
    for (int k = 0; k < L->ncols; k++)
        if (fo[k + 1] - fo[k] == strlen(spec) && memcmp(fb->p + fo[k], spec, strlen(spec)) == 0)
            return k;
    buf names = {0};
    for (int k = 0; k < L->ncols && names.n < 200; k++) {
        if (k) st_tok_buf_put(&names, ", ", 2);
        st_tok_buf_put(&names, fb->p + fo[k], fo[k + 1] - fo[k]);
    }
    st_tok_buf_putc(&names, 0);
    st_tok_die("%s:%ld: %s %s: no such column in the header (%s)", L->path, L->line, flag, spec, names.p);
}

/* The class id of a label value, adding it unless the list is fixed. */
static int label_class(labels *lb, const char *v, size_t len, const char *path, long line,
                       int col, buf *tmp) {
    tmp->n = 0;
    st_tok_normalize(v, len, 0, tmp); /* valid UTF-8 for /classes */
    if (tmp->n == 0) st_tok_die("%s:%ld: empty label in column %d", path, line, col + 1);
    uint32_t before = lb->values.n;
    uint32_t id = st_tok_words_intern(&lb->values, tmp->p, tmp->n);
    if (id < before) return (int)id;
    if (lb->fixed) {
        st_tok_buf_putc(tmp, 0);
        st_tok_die("%s:%ld: label '%s' (column %d) is not a class of %s", path, line, tmp->p, col + 1,
            lb->from);
    }
    if (lb->n >= MAX_CLASSES)
        st_tok_die("%s:%ld: more than %d distinct labels in column %d: is it the label column?", path,
            line, MAX_CLASSES, col + 1);
    lb->names = st_tok_xrealloc(lb->names, sizeof *lb->names * (size_t)(lb->n + 1));
    lb->names[lb->n] = st_tok_xrealloc(NULL, tmp->n + 1);
    memcpy(lb->names[lb->n], tmp->p, tmp->n);
    lb->names[lb->n][tmp->n] = 0;
    lb->n++;
    return (int)id;
}

/* Reads one CSV file: one document per record, its text columns joined with a space into
 * corpus, as split (-1: the pool, 2: /test). The first file read fixes L. */
void st_tok_read_csv(const opts *o, const char *path, int split, csv_layout *L, labels *lb,
                     doclist *docs, buf *corpus, size_t *bytes) {
    buf file = {0}, fb = {0}, tmp = {0};
    size_t *fo = NULL, focap = 0;
    if (st_tok_read_file(path, &file) != 0)
        st_tok_die("cannot read '%s': %s", path, strerror(errno));
    *bytes += file.n;
    st_tok_refuse_binary(path, file.p, file.n, "CSV text");
    size_t pos = 0, nrec = 0;
    if (file.n >= 3 && memcmp(file.p, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* byte order mark */
    long line = 1, rec_line = 1;
    int nf, first = 1;
    for (;;) {
        rec_line = line;
        size_t start = pos;
        if (!st_tok_csv_record(path, file.p ? file.p : "", file.n, &pos, &line, o->delim, o->quote, &fb,
                        &fo, &focap, &nf))
            break;
        /* A blank line (no byte but its line break) is no record, as for pandas. */
        if (nf == 1 && fb.n == 0 && (file.p[start] == '\n' || file.p[start] == '\r')) continue;
        if (first) {
            first = 0;
            if (L->ncols == 0) {
                L->ncols = nf;
                L->line = rec_line;
                L->path = path;
                L->label = resolve_col(o->label_col, "--label-col", L, &fb, fo, o->header == 1);
                char *list = st_tok_xstrdup(o->text_cols), *save = NULL;
                for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                    L->text = st_tok_xrealloc(L->text, sizeof *L->text * (size_t)(L->ntext + 1));
                    L->text[L->ntext++] = resolve_col(c, "--text-cols", L, &fb, fo, o->header == 1);
                }
                free(list);
                if (L->ntext == 0) st_tok_usage_error("--text-cols %s: no column", o->text_cols);
            }
            if (o->header == 1) {
                if (nf != L->ncols)
                    st_tok_die("%s:%ld: the header has %d fields, expected %d (as on line %ld of %s)",
                        path, rec_line, nf, L->ncols, L->line, L->path);
                continue;
            }
        }
        if (nf != L->ncols)
            st_tok_die("%s:%ld: %d fields, expected %d (as on line %ld of %s)%s", path, rec_line, nf,
                L->ncols, L->line, L->path,
                o->quote ? "" : "; with --no-quote/--tsv a delimiter inside a text splits it");
        int cls = label_class(lb, fb.p + fo[L->label], fo[L->label + 1] - fo[L->label], path,
                              rec_line, L->label, &tmp);
        doc *d = st_tok_doc_add(docs);
        d->cls = cls;
        d->split = split;
        d->src = path;
        d->line = rec_line;
        d->off = corpus->n;
        for (int k = 0; k < L->ntext; k++) {
            int c = L->text[k];
            if (k) st_tok_buf_putc(corpus, ' ');
            st_tok_buf_put(corpus, fb.p + fo[c], fo[c + 1] - fo[c]);
        }
        d->len = corpus->n - d->off;
        nrec++;
    }
    if (nrec == 0)
        st_tok_die("%s: %s", path, first ? "empty file: no records" : "no records after the header");
    free(file.p);
    free(fb.p);
    free(tmp.p);
    free(fo);
}

/* --classes A,B=NAME,...: values interned in order (class id = position), names beside. */
void st_tok_fixed_classes(const char *arg, labels *lb) {
    char *list = st_tok_xstrdup(arg), *save = NULL;
    for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(c, '=');
        const char *name = eq ? eq + 1 : c;
        size_t vlen = eq ? (size_t)(eq - c) : strlen(c);
        if (vlen == 0 || !*name) st_tok_usage_error("--classes %s: empty class value or name", arg);
        uint32_t before = lb->values.n;
        if (st_tok_words_intern(&lb->values, c, vlen) != before)
            st_tok_usage_error("--classes %s: '%.*s' given twice", arg, (int)vlen, c);
        lb->names = st_tok_xrealloc(lb->names, sizeof *lb->names * (size_t)(lb->n + 1));
        lb->names[lb->n++] = st_tok_xstrdup(name);
    }
    free(list);
    if (lb->n == 0) st_tok_usage_error("--classes %s: no class", arg);
    lb->fixed = 1;
    size_t n = strlen(arg) + 16;
    char *from = st_tok_xrealloc(NULL, n);
    snprintf(from, n, "--classes %s", arg);
    lb->from = from;
}
