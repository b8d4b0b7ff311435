/*
 * opts.h - seqtrain-tokenize's command line, parsed and checked (opts.c).
 */
#ifndef SEQTRAIN_TOKENIZE_OPTS_H
#define SEQTRAIN_TOKENIZE_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum { MODE_DIRS = 1, MODE_CSV, MODE_TEXT };

typedef struct tclass {
    char *name;
    char **dirs, **tdirs; /* train pool, explicit test (--test-class) */
    int ndirs, ntdirs;
} tclass;

typedef struct opts {
    int mode;
    /* directories */
    tclass *cls;
    int ncls;
    int mail;
    const char *suffix;
    /* CSV */
    const char *csv, *test_csv;
    const char *label_col, *text_cols;
    int header;   /* -1: not said */
    char delim;
    int quote;    /* 1: RFC 4180 quoting */
    char *classes_arg; /* --classes */
    /* text */
    const char *text, *test_text;
    long seq_len, stride;
    /* tokenizer (Keras names) */
    int char_level;
    long num_words; /* 0 = no limit */
    const char *oov;
    char *oov_owned; /* oov when it came from --vocab-from's file */
    int lower;
    char *filters;  /* UTF-8, escapes resolved */
    unsigned char sep_ascii[128]; /* filters + split, ASCII */
    uint32_t *sep_wide;           /* sorted non-ASCII filters + split */
    size_t nsep_wide;
    uint32_t split; /* the split character */
    /* pad_sequences */
    long maxlen; /* 0 = the longest document */
    int pad_post, trunc_post;
    /* splits */
    double test_frac, valid_frac;
    int test_frac_set;
    int shuffle; /* shuffle each split as a whole (else: input order) */
    uint64_t seed;
    /* output */
    const char *out;
    const char *manifest;
    const char *vocab_from;
    const char *tok_flag; /* a tokenizer option given on the command line, for --vocab-from */
    int show;
} opts;

/* Fills o from argv (Keras' defaults first), checks the combinations and builds the
 * separator set; any mistake ends the process through st_tok_usage_error (exit 2), -h prints
 * the usage and exits 0. With --show-text the file arguments start at optind. Also initializes
 * utf8.c's case table. Owned strings are released by st_tok_opts_free. */
void st_tok_parse_args(opts *o, int argc, char **argv);
void st_tok_opts_free(opts *o);
/* Rebuilds sep_ascii / sep_wide from o->filters and o->split (after --vocab-from changed them). */
void st_tok_set_separators(opts *o);
/* --split (or a stored tokenizer_split): exactly one character, \t \n \r \\ resolved. */
uint32_t st_tok_parse_split(const char *arg);
/* qsort/bsearch order of code points (uint32_t), for sep_wide. */
int st_tok_cmp_cp(const void *a, const void *b);

#endif
