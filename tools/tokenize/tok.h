/*
 * tok.h - the small helpers every file of seqtrain-tokenize uses: fatal errors, allocation that
 * cannot fail, a growable byte buffer, whole-file reads, a monotonic clock.
 *
 * The tool is a one-shot command: any error ends the process with one line on stderr naming
 * what and where (st_tok_die: exit 1; st_tok_usage_error: exit 2 and a pointer to --help).
 * Nothing here returns an error code, so the other files never check allocations themselves.
 * The unit tests (tests/unit/test_tokenize_*.c) observe those exits from a child process.
 *
 * Layout of the tool (tools/tokenize/):
 *   util.c    these helpers             words.c   the word table (hash interning)
 *   utf8.c    UTF-8 decoding, str.lower  mime.c    mail / MIME text extraction (--mail)
 *   opts.c    command line               docs.c    documents, directory listing, split helpers
 *   csv.c     CSV / TSV records, labels  tokens.c  text -> tokens (Keras text_to_word_sequence)
 *   vocab.c   the Keras vocabulary       output.c  dataset + .vocab.txt/.classes.txt, summary
 *   main.c    the pipeline: main(), --text, documents (module comment of the tool)
 */
#ifndef SEQTRAIN_TOKENIZE_TOK_H
#define SEQTRAIN_TOKENIZE_TOK_H

#include <stddef.h>

#include "seqtrain/error.h"

/* The prefix of every message (and the name in the usage text). */
#define PROG "seqtrain-tokenize"

/* "seqtrain-tokenize: <message>" on stderr, then exit(1). */
void st_tok_die(const char *fmt, ...) ST_PRINTF(1, 2) ST_NORETURN;
/* "seqtrain-tokenize: <message> (see seqtrain-tokenize --help)", then exit(2): a command-line
 * mistake rather than a problem with the data. */
void st_tok_usage_error(const char *fmt, ...) ST_PRINTF(1, 2) ST_NORETURN;

/* realloc that dies on failure (bytes 0 allocates 1, so the result is never NULL). */
void *st_tok_xrealloc(void *p, size_t bytes);
char *st_tok_xstrdup(const char *s);
/* Seconds on the monotonic clock, for the timings of the summary. */
double st_tok_now(void);

/* A growable byte buffer. {0} is an empty buffer; p may stay NULL until the first byte, so
 * readers use `b.p ? b.p : ""`. Owned: free(b.p). Never NUL-terminated by these functions. */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

void st_tok_buf_reserve(buf *b, size_t extra);
void st_tok_buf_put(buf *b, const void *s, size_t n);
void st_tok_buf_putc(buf *b, char c);

/* Reads a whole file into b (b->n = size, previous contents replaced). Returns 0, or -1 with
 * errno set (the caller words the message). */
int st_tok_read_file(const char *path, buf *b);

#endif
