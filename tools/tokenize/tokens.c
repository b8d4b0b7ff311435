/*
 * tokens.c - tokenizing: normalized text (utf8.c) cut at separators into words, or into
 * characters with --level char, each interned in the word table.
 *
 * Data layout: the tokens of all documents go into one uint32 array of internal ids (1 Mi
 * entries first, doubling), so a corpus is tokenized once and encoded later, when the
 * vocabulary (built from the train counts) is known.
 *
 * What it does not do: n-grams, TextVectorization's standardize, or a split of more than one
 * character; separators are whole code points (filters and the split character alike).
 */
#include <stdlib.h>

#include "tokenize/tokens.h"
#include "tokenize/utf8.h"

/* Is the character at p[i] a separator (a filter or the split character)? *len: its bytes. */
static int is_sep(const opts *o, const unsigned char *p, size_t m, size_t i, size_t *len) {
    unsigned b = p[i];
    if (b < 0x80) {
        *len = 1;
        return o->sep_ascii[b];
    }
    uint32_t c;
    *len = st_tok_utf8_next(p + i, m - i, &c);
    return o->nsep_wide && bsearch(&c, o->sep_wide, o->nsep_wide, sizeof c, st_tok_cmp_cp) != NULL;
}

/* Keras' text_to_word_sequence (or, char level, the list of characters) of the bytes s[0..n):
 * normalized (UTF-8 decoded, lowered), separators to the split character, split, empty strings
 * dropped; each token interned, counted if count. */
uint32_t st_tok_tokenize(const opts *o, const char *s, size_t n, words *w, tokstore *ts, int count,
                         buf *norm) {
    norm->n = 0;
    st_tok_normalize(s, n, o->lower, norm);
    const unsigned char *p = (const unsigned char *)norm->p;
    size_t m = norm->n, i = 0, l;
    uint32_t ntok = 0;
    while (i < m) {
        size_t start;
        if (o->char_level) {
            uint32_t c;
            start = i;
            i += st_tok_utf8_next(p + i, m - i, &c);
        } else {
            while (i < m && is_sep(o, p, m, i, &l)) i += l;
            if (i >= m) break;
            start = i;
            while (i < m && !is_sep(o, p, m, i, &l)) i += l;
        }
        uint32_t id = st_tok_words_intern(w, (const char *)p + start, i - start);
        if (count) w->count[id]++;
        if (ts->n == ts->cap) {
            ts->cap = ts->cap ? ts->cap * 2 : (1u << 20);
            ts->t = st_tok_xrealloc(ts->t, sizeof *ts->t * ts->cap);
        }
        ts->t[ts->n++] = id;
        ntok++;
    }
    return ntok;
}
