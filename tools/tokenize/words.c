/*
 * words.c - the word table: interning of byte strings into dense internal ids.
 *
 * Data layout: the words' bytes back to back in one buffer (chars), per-id arrays off / len /
 * hash / count grown together, and an open-addressing slot array (linear probing, FNV-1a hash,
 * kept at most half full) that holds id + 1 (0 = empty). Internal ids are dense and in order of
 * first appearance, which is exactly what Keras' first-seen tie order needs.
 *
 * What it does not do: remove words, or know about vocabularies (vocab.c maps internal ids to
 * dataset ids). Words are bytes: equality is byte equality of the normalized text (utf8.c).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenize/words.h"

/* 32-bit FNV-1a: fast on short words and good enough for linear probing at <= 50% load. */
static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Reinserts every id into a new slot array (the per-id arrays do not move). */
void st_tok_words_rehash(words *w, uint32_t nslot) {
    free(w->slot);
    w->slot = st_tok_xrealloc(NULL, sizeof *w->slot * nslot);
    memset(w->slot, 0, sizeof *w->slot * nslot);
    w->nslot = nslot;
    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t s = w->hash[i] & (nslot - 1);
        while (w->slot[s]) s = (s + 1) & (nslot - 1);
        w->slot[s] = i + 1;
    }
}

/* Looks s up by hash, then length and bytes; a new word gets the next id. Doubling the slots
 * when half full keeps probe sequences short. */
uint32_t st_tok_words_intern(words *w, const char *s, size_t n) {
    uint32_t h = hash_bytes(s, n);
    uint32_t i = h & (w->nslot - 1);
    for (; w->slot[i]; i = (i + 1) & (w->nslot - 1)) {
        uint32_t id = w->slot[i] - 1;
        if (w->hash[id] == h && w->len[id] == n && memcmp(w->chars.p + w->off[id], s, n) == 0)
            return id;
    }
    if (w->n == UINT32_MAX - 1) st_tok_die("more than 4 billion distinct words");
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 65536;
        w->off = st_tok_xrealloc(w->off, sizeof *w->off * w->cap);
        w->len = st_tok_xrealloc(w->len, sizeof *w->len * w->cap);
        w->hash = st_tok_xrealloc(w->hash, sizeof *w->hash * w->cap);
        w->count = st_tok_xrealloc(w->count, sizeof *w->count * w->cap);
    }
    uint32_t id = w->n++;
    w->off[id] = w->chars.n;
    w->len[id] = (uint32_t)n;
    w->hash[id] = h;
    w->count[id] = 0;
    st_tok_buf_put(&w->chars, s, n);
    w->slot[i] = id + 1;
    if ((uint64_t)w->n * 2 > w->nslot) st_tok_words_rehash(w, w->nslot * 2);
    return id;
}


/* Frees everything and leaves w as {0} (ready for st_tok_words_rehash again). */
void st_tok_words_free(words *w) {
    free(w->chars.p);
    free(w->off);
    free(w->len);
    free(w->hash);
    free(w->count);
    free(w->slot);
    memset(w, 0, sizeof *w);
}

/* The internal id of word s, or UINT32_MAX when it was never seen. */
uint32_t st_tok_words_find_or_none(const words *w, const char *s) {
    size_t n = strlen(s);
    uint32_t h = hash_bytes(s, n);
    for (uint32_t i = h & (w->nslot - 1); w->slot[i]; i = (i + 1) & (w->nslot - 1)) {
        uint32_t id = w->slot[i] - 1;
        if (w->hash[id] == h && w->len[id] == n && memcmp(w->chars.p + w->off[id], s, n) == 0)
            return id;
    }
    return UINT32_MAX;
}
