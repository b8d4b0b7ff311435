/*
 * tokens.h - text to tokens: Keras' text_to_word_sequence (or char_level) into a token store.
 */
#ifndef SEQTRAIN_TOKENIZE_TOKENS_H
#define SEQTRAIN_TOKENIZE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "tokenize/opts.h"
#include "tokenize/tok.h"
#include "tokenize/words.h"

/* Every token of the run, as internal word ids, documents back to back (doc.tok_off, ntok). */
typedef struct tokstore {
    uint32_t *t;
    size_t n, cap;
} tokstore;

/* Tokenizes s[0..n) the way o says (lower, separators, char level), appends the internal
 * ids to ts and returns how many; each token is interned in w and counted when count (train
 * documents). norm: scratch for the normalized text. */
uint32_t st_tok_tokenize(const opts *o, const char *s, size_t n, words *w, tokstore *ts, int count,
                         buf *norm);

#endif
