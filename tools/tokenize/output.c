/*
 * output.c - the files seqtrain-tokenize writes and the vocabulary part of its summary.
 *
 * The dataset goes through st_dataset_write_ex (src/io: the data.h schema, written atomically
 * there); the two text files beside it hold one word per line (line k = word of id k, so the
 * padding id 0 has no line) with \n \r \\ escaped, and go through include/seqtrain/atomic.h,
 * the project's one all-or-nothing writer. The tokenizer options are stored as string
 * attributes with Keras' names, so --vocab-from can reproduce the tokenization exactly.
 *
 * What it does not do: decide what to write (main.c does), or write anything but on success:
 * every failure is fatal and leaves the earlier files in place.
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/error.h"
#include "tokenize/output.h"
#include "tokenize/tok.h"
#include "tokenize/utf8.h"

/* Opens PATH for writing through the project's one atomic writer: the text goes to PATH.tmp,
 * which st_tok_out_commit flushes, fsyncs and renames over PATH, so a killed run leaves the
 * previous file (or none), never half a vocabulary. */
FILE *st_tok_out_open(st_atomic *a, const char *path) {
    FILE *f = st_atomic_begin(a, path) == ST_OK ? st_atomic_fopen(a) : NULL;
    if (!f) st_tok_die("%s", st_error_get());
    return f;
}
/* Flush, fsync, rename over PATH, fsync the directory: a full disk shows up here. */
void st_tok_out_commit(st_atomic *a) {
    if (st_atomic_commit(a) != ST_OK) st_tok_die("%s", st_error_get());
}

/* One vocabulary word, escaped so that the file stays one word per line. */
static void put_word(FILE *f, const char *s) {
    for (; *s; s++) {
        char c = *s;
        if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\\') fputs("\\\\", f);
        else fputc(c, f);
    }
    fputc('\n', f);
}

/* The dataset (with /vocab, /classes and the tokenizer options), OUT.vocab.txt and
 * OUT.classes.txt. */
void st_tok_write_all(const opts *o, const vocab *v, const char *const *classes, int ncls,
                      int num_classes, const st_split_data *sd, int nsd, char *vpath, size_t vsz) {
    char split_s[8] = {0}, nw[32], ml[32], sl[32], st[32];
    st_tok_utf8_put(split_s, o->split);
    snprintf(nw, sizeof nw, "%ld", o->num_words);
    snprintf(ml, sizeof ml, "%ld", o->maxlen);
    snprintf(sl, sizeof sl, "%ld", o->seq_len);
    snprintf(st, sizeof st, "%ld", o->stride);
    const char *names[12], *vals[12];
    int na = 0;
#define ATTR(k, val) (names[na] = (k), vals[na++] = (val))
    ATTR("tokenizer_level", o->char_level ? "char" : "word");
    ATTR("tokenizer_lower", o->lower ? "true" : "false");
    ATTR("tokenizer_filters", o->filters);
    ATTR("tokenizer_split", split_s);
    ATTR("tokenizer_num_words", nw);
    if (o->oov) ATTR("tokenizer_oov_token", o->oov);
    if (o->mode == MODE_TEXT) {
        ATTR("lm_seq_len", sl);
        ATTR("lm_stride", st);
    } else {
        ATTR("pad_maxlen", ml);
        ATTR("pad_padding", o->pad_post ? "post" : "pre");
        ATTR("pad_truncating", o->trunc_post ? "post" : "pre");
    }
#undef ATTR
    st_dataset_strings ex = {v->word, v->nword, ncls ? classes : NULL, (size_t)ncls, names, vals, na};
    if (st_dataset_write_ex(o->out, num_classes, (int)v->vocab_size, sd, nsd, &ex) != ST_OK)
        st_tok_die("cannot write '%s': %s", o->out, st_error_get());
    st_atomic a;
    snprintf(vpath, vsz, "%s.vocab.txt", o->out);
    FILE *f = st_tok_out_open(&a, vpath);
    for (size_t k = 1; k < v->nword; k++) put_word(f, v->word[k]);
    st_tok_out_commit(&a);
    if (ncls) {
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%s.classes.txt", o->out);
        f = st_tok_out_open(&a, cpath);
        for (int c = 0; c < ncls; c++) put_word(f, classes[c]);
        st_tok_out_commit(&a);
    }
}

/* Coverage and the vocabulary line of the summary. */
void st_tok_print_vocab(const opts *o, const vocab *v, uint64_t tokens, uint64_t kept) {
    if (o->vocab_from)
        printf("  vocabulary: from %s: %zu ids, vocab_size %llu%s%s; %u distinct train %s\n",
               o->vocab_from, v->nword, (unsigned long long)v->vocab_size,
               o->oov ? ", oov id 1 " : "", o->oov ? o->oov : "", v->ndistinct,
               o->char_level ? "characters" : "words");
    else
        printf("  vocabulary: %u distinct train %s, word_index %llu, vocab_size %llu%s%s\n",
               v->ndistinct, o->char_level ? "characters" : "words",
               (unsigned long long)v->index_size, (unsigned long long)v->vocab_size,
               o->oov ? ", oov id 1 " : "", o->oov ? o->oov : "");
    printf("  coverage: %.2f%% of train tokens have an id < %llu\n",
           tokens ? 100.0 * (double)kept / (double)tokens : 100.0,
           (unsigned long long)v->vocab_size);
}
