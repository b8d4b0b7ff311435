/*
 * docs.h - the documents of a run (one per file, or one per CSV record) and the helpers that
 * list, split and read them.
 */
#ifndef SEQTRAIN_TOKENIZE_DOCS_H
#define SEQTRAIN_TOKENIZE_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include "tokenize/opts.h"
#include "tokenize/tok.h"

typedef struct doc {
    char *path;      /* the file (directories), or NULL: the text is in the corpus buffer */
    size_t off, len; /* CSV: the joined text columns, in the corpus buffer */
    const char *src; /* CSV: the file (not owned) */
    long line;       /* CSV: the record's first line in it */
    int cls;
    int split;       /* 0 train, 1 valid, 2 test; -1: not assigned yet (the pool) */
    size_t tok_off;  /* into the token store, set when read */
    uint32_t ntok;   /* tokens in the document */
} doc;

typedef struct doclist {
    doc *d;
    size_t n, cap;
} doclist;

/* A new zeroed document at the end of l (split -1: the pool); the pointer lives until the
 * next st_tok_doc_add. */
doc *st_tok_doc_add(doclist *l);
/* Appends the regular files of dir (names sorted, hidden files skipped, o->suffix filter) to
 * docs as class cls in split (-1: the pool). Dies when dir cannot be read. */
void st_tok_list_dir(const opts *o, const char *dir, int cls, int split, doclist *docs);
/* Fisher-Yates shuffle of a[0..n) with st_rng (seed, stream): the same on every machine. */
void st_tok_shuffle(size_t *a, size_t n, uint64_t seed, uint64_t stream);
/* Rows of each class for a split: round half up of frac * n. */
size_t st_tok_share(double frac, size_t n);
/* The text of a document read into file: the bytes themselves, or with --mail the message's
 * decoded text (in text; file's line breaks are rewritten in place). *n: its length. */
const char *st_tok_doc_text(const opts *o, buf *file, buf *text, size_t *n);

#endif
