/*
 * csv.h - CSV / TSV input of seqtrain-tokenize (--csv, --test-csv): records, columns, labels.
 */
#ifndef SEQTRAIN_TOKENIZE_CSV_H
#define SEQTRAIN_TOKENIZE_CSV_H

#include <stddef.h>

#include "tokenize/docs.h"
#include "tokenize/opts.h"
#include "tokenize/tok.h"
#include "tokenize/words.h"

/* The columns of a CSV input, fixed by the first record of --csv. */
typedef struct csv_layout {
    int ncols;     /* fields per record */
    int label;     /* 0-based */
    int *text;     /* (ntext) 0-based */
    int ntext;
    long line;     /* where ncols was seen */
    const char *path;
} csv_layout;

/* The classes of a CSV input: label values interned in a word table (id = class id). fixed:
 * the list was given (--classes, --vocab-from), a value not in it is an error. */
typedef struct labels {
    words values;
    char **names; /* (n) class names for /classes */
    int n, fixed;
    const char *from; /* where a fixed list came from, for the message */
} labels;

/* One record of p[0..n) from *pos (RFC 4180 as Python's csv module reads it; details at the
 * definition): fields unquoted into fb, field k = fb->p[(*fo)[k] .. (*fo)[k+1]), *nf fields;
 * *line advanced by the line breaks consumed. Returns 0 at the end of the input, else 1. Dies
 * "PATH:LINE: unterminated quoted field ..." on a quote that never closes. *fo grows as needed
 * (*focap elements; start with NULL, 0; free(*fo)). Used by st_tok_read_csv and the tests. */
int st_tok_csv_record(const char *path, const char *p, size_t n, size_t *pos, long *line,
                      char delim, int quote, buf *fb, size_t **fo, size_t *focap, int *nf);
/* Reads one CSV file: one document per record (o->delim, o->quote, o->header, o->label_col,
 * o->text_cols), its text columns joined with a space into corpus, as split (-1: the pool,
 * 2: /test); a leading UTF-8 BOM and blank lines are skipped. The first file read fixes L
 * (start from {0}); later files must have as many columns. Labels go through lb (start with
 * st_tok_words_rehash(&lb->values, 64)). Every problem is fatal, with PATH:LINE. */
void st_tok_read_csv(const opts *o, const char *path, int split, csv_layout *L, labels *lb,
                     doclist *docs, buf *corpus, size_t *bytes);
/* --classes A,B=NAME,...: a fixed label list, class id = position. */
void st_tok_fixed_classes(const char *arg, labels *lb);

#endif
