/*
 * words.h - the word table of seqtrain-tokenize: every distinct token (and, in csv.c, every
 * distinct label value) interned once, with its train count.
 */
#ifndef SEQTRAIN_TOKENIZE_WORDS_H
#define SEQTRAIN_TOKENIZE_WORDS_H

#include <stdint.h>

#include "tokenize/tok.h"

/* Every distinct word, interned: internal id = order of first appearance (train documents are
 * processed first, so among train words this is Keras' first-seen order). */
typedef struct words {
    buf chars;       /* all word bytes, back to back */
    size_t *off;     /* (n) start of word i in chars */
    uint32_t *len;   /* (n) */
    uint32_t *hash;  /* (n) */
    uint64_t *count; /* (n) occurrences in train documents */
    uint32_t n, cap;
    uint32_t *slot;  /* (nslot) id + 1, 0 = empty; open addressing, linear probing */
    uint32_t nslot;  /* power of two */
} words;

/* Sizes the hash to nslot slots (a power of two) and reinserts every word. A table starts as
 * {0} followed by one st_tok_words_rehash (the callers choose the first size). */
void st_tok_words_rehash(words *w, uint32_t nslot);
/* The internal id of s[0..n), added (count 0) when new. Dies past 2^32 - 2 words. */
uint32_t st_tok_words_intern(words *w, const char *s, size_t n);
/* The internal id of the NUL-terminated s, or UINT32_MAX when it was never interned. */
uint32_t st_tok_words_find_or_none(const words *w, const char *s);
void st_tok_words_free(words *w);

#endif
