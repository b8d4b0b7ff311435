/*
 * vocab.h - the vocabulary of seqtrain-tokenize: built from the train counts (Keras' order),
 * or read from an earlier run (--vocab-from).
 */
#ifndef SEQTRAIN_TOKENIZE_VOCAB_H
#define SEQTRAIN_TOKENIZE_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "tokenize/opts.h"
#include "tokenize/words.h"

/* An existing vocabulary (--vocab-from). */
typedef struct vocab_in {
    char **words;   /* (n) id -> word, words[0] = "" */
    size_t n;
    char **classes; /* (ncls) class names; NULL when the file has none */
    size_t ncls;
    long vocab_size;
} vocab_in;

/* The vocabulary of this run. */
typedef struct vocab {
    int32_t *map;        /* (w.n) internal id -> dataset id, 0 = dropped */
    const char **word;   /* (nword) id -> word for /vocab and .vocab.txt; word[0] = "" */
    char *chars;         /* storage of the built words */
    size_t nword;
    uint32_t ndistinct;  /* distinct train words */
    uint64_t index_size; /* len(word_index) */
    uint64_t vocab_size;
    int32_t base;        /* the first id of a word: 2 with an OOV token, else 1 */
} vocab;

/* Reads o->vocab_from into v: a dataset (its /vocab, /classes and tokenizer_* attributes,
 * which replace o's tokenizer options; a tokenizer flag on the command line is then an error)
 * or a .vocab.txt (+ .classes.txt beside it). Free with st_tok_vocab_in_free. */
void st_tok_load_vocab_from(opts *o, vocab_in *v);
/* Interns the words of v into w first; returns pre_id (free()): internal id i < *npre has
 * dataset id pre_id[i]. */
uint32_t *st_tok_preload(const vocab_in *v, words *w, uint32_t *npre);
/* The Keras vocabulary of the counted (train) words of w into v, or vin's when vin != NULL
 * (with pre_id / npre from st_tok_preload). v borrows vin's words: free v first. */
void st_tok_build_vocab(const opts *o, const words *w, const vocab_in *vin, const uint32_t *pre_id,
                        uint32_t npre, vocab *v);
void st_tok_vocab_free(vocab *v);
void st_tok_vocab_in_free(vocab_in *v);

#endif
