/*
 * vocab.c - the vocabulary: Keras' word_index from the train counts, the map from internal
 * word ids to dataset ids, and --vocab-from (an earlier dataset or .vocab.txt).
 *
 * Data layout: map[internal id] = dataset id (0 = dropped, or the OOV id); word[dataset id] =
 * the word for /vocab and .vocab.txt, pointing into one chars block (or, with --vocab-from,
 * into the loaded vocabulary). The ranking is one qsort of the counted ids: count descending,
 * internal id ascending, which is Python's stable sort of Tokenizer.word_counts.
 *
 * What it does not do: Keras' behaviour when the OOV token itself occurs as a word (here that
 * word simply gets the OOV id), or keep ids >= num_words in /vocab (no id reaches them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqtrain/data.h"
#include "seqtrain/error.h"
#include "tokenize/tok.h"
#include "tokenize/vocab.h"

/* Ranking of train words: count descending, then first-seen (internal id) ascending. */
static const uint64_t *g_count;
static int cmp_rank(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (g_count[x] != g_count[y]) return g_count[x] > g_count[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* Line k of a .vocab.txt is the word of id k, with \n \r \\ escaped. */
static char *unescape_word(const char *s, size_t n) {
    char *r = st_tok_xrealloc(NULL, n + 1), *o = r;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 'r' || s[i + 1] == '\\')) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : '\\';
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return r;
}

/* The lines of a .vocab.txt or .classes.txt, unescaped; leading_empty puts "" first (id 0,
 * the padding, has no line). A final line without '\n' counts; there is no empty last line. */
static char **read_lines(const char *path, size_t *n, int leading_empty) {
    buf f = {0};
    if (st_tok_read_file(path, &f) != 0) st_tok_die("cannot read '%s': %s", path, strerror(errno));
    char **v = st_tok_xrealloc(NULL, sizeof *v);
    size_t k = 0;
    if (leading_empty) v[k++] = st_tok_xstrdup("");
    for (size_t i = 0; i < f.n;) {
        const char *e = memchr(f.p + i, '\n', f.n - i);
        size_t le = e ? (size_t)(e - f.p) : f.n;
        v = st_tok_xrealloc(v, sizeof *v * (k + 1));
        v[k++] = unescape_word(f.p + i, le - i);
        i = le + 1;
    }
    free(f.p);
    *n = k;
    return v;
}

/* Reads --vocab-from: a dataset (its /vocab, /classes and tokenizer_* attributes, which
 * replace o's tokenizer options) or a .vocab.txt (+ .classes.txt beside it; the tokenizer
 * options are o's). */
void st_tok_load_vocab_from(opts *o, vocab_in *v) {
    const char *path = o->vocab_from;
    memset(v, 0, sizeof *v);
    size_t len = strlen(path);
    if (len > 10 && strcmp(path + len - 10, ".vocab.txt") == 0) {
        v->words = read_lines(path, &v->n, 1);
        v->vocab_size = o->num_words ? o->num_words : (long)v->n;
        if (o->oov && (v->n < 2 || strcmp(v->words[1], o->oov) != 0))
            st_tok_die("%s:1: '%s' is not the --oov-token '%s' (id 1)", path, v->n > 1 ? v->words[1] : "",
                o->oov);
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%.*s.classes.txt", (int)(len - 10), path);
        if (access(cpath, R_OK) == 0) v->classes = read_lines(cpath, &v->ncls, 0);
        return;
    }
    st_dataset d;
    if (st_dataset_open(&d, path) != ST_OK)
        st_tok_die("--vocab-from %s: %s (give a dataset or a .vocab.txt)", path, st_error_get());
    if (st_dataset_read_vocab(&d, &v->words, &v->n) != ST_OK ||
        st_dataset_read_strings(&d, "classes", &v->classes, &v->ncls) != ST_OK)
        st_tok_die("--vocab-from: %s", st_error_get());
    if (v->n < 2) st_tok_die("--vocab-from %s: the file has no /vocab", path);
    for (size_t k = 0; k < v->n; k++) { /* st_malloc'd: into our own allocations */
        char *c = st_tok_xstrdup(v->words[k]);
        st_free(v->words[k]);
        v->words[k] = c;
    }
    for (size_t k = 0; k < v->ncls; k++) {
        char *c = st_tok_xstrdup(v->classes[k]);
        st_free(v->classes[k]);
        v->classes[k] = c;
    }
    v->vocab_size = d.vocab_size;
    static const char *const keys[] = {"tokenizer_level", "tokenizer_lower", "tokenizer_filters",
                                       "tokenizer_split", "tokenizer_oov_token",
                                       "tokenizer_num_words", "pad_maxlen", "pad_padding",
                                       "pad_truncating"};
    char *val[9];
    for (int k = 0; k < 9; k++)
        if (st_dataset_read_attr_str(&d, keys[k], &val[k]) != ST_OK)
            st_tok_die("--vocab-from: %s", st_error_get());
    st_dataset_close(&d);
    if (val[0]) { /* written by this tool: its tokenizer options */
        if (o->tok_flag)
            st_tok_usage_error("--%s: the tokenizer options come from --vocab-from %s", o->tok_flag, path);
        o->char_level = strcmp(val[0], "char") == 0;
        if (val[1]) o->lower = strcmp(val[1], "true") == 0;
        if (val[2]) {
            free(o->filters);
            o->filters = st_tok_xstrdup(val[2]);
        }
        if (val[3]) o->split = st_tok_parse_split(val[3]);
        o->oov = o->oov_owned = val[4] ? st_tok_xstrdup(val[4]) : NULL;
        if (val[5]) o->num_words = strtol(val[5], NULL, 10);
        st_tok_set_separators(o);
    }
    if (!o->maxlen && val[6]) o->maxlen = strtol(val[6], NULL, 10);
    for (int k = 0; k < 9; k++) st_free(val[k]);
}

/* Interns the words of an existing vocabulary first (internal id i < *npre has dataset id
 * pre_id[i]): a text word then finds its id by the same hash lookup as any other. */
uint32_t *st_tok_preload(const vocab_in *v, words *w, uint32_t *npre) {
    uint32_t *pre_id = st_tok_xrealloc(NULL, sizeof *pre_id * (v->n + 1));
    for (size_t k = 1; k < v->n; k++) {
        uint32_t before = w->n, id = st_tok_words_intern(w, v->words[k], strlen(v->words[k]));
        if (id == before) pre_id[id] = (uint32_t)k; /* a duplicate keeps its first id */
    }
    *npre = w->n;
    return pre_id;
}

/* The Keras vocabulary of the counted (train) words of w, or the preloaded one. */
void st_tok_build_vocab(const opts *o, const words *w, const vocab_in *vin, const uint32_t *pre_id,
                        uint32_t npre, vocab *v) {
    memset(v, 0, sizeof *v);
    v->base = o->oov ? 2 : 1;
    const int32_t unknown = o->oov ? 1 : 0;
    v->map = st_tok_xrealloc(NULL, sizeof *v->map * (w->n + 1));
    for (uint32_t id = 0; id < w->n; id++) v->map[id] = unknown;
    if (vin) {
        for (uint32_t id = 0; id < npre; id++) v->map[id] = (int32_t)pre_id[id];
        for (uint32_t id = 0; id < w->n; id++) v->ndistinct += w->count[id] > 0;
        v->index_size = vin->n - 1;
        v->vocab_size = (uint64_t)vin->vocab_size;
        v->word = st_tok_xrealloc(NULL, sizeof *v->word * vin->n);
        for (size_t k = 0; k < vin->n; k++) v->word[k] = vin->words[k];
        v->nword = vin->n;
        return; /* the OOV token, if any, is /vocab[1] and was preloaded with id 1 */
    }
    uint32_t oov_word = o->oov ? st_tok_words_find_or_none(w, o->oov) : UINT32_MAX;
    uint32_t *rank = st_tok_xrealloc(NULL, sizeof *rank * (w->n + 1));
    uint32_t nrank = 0;
    for (uint32_t id = 0; id < w->n; id++)
        if (w->count[id] > 0 && id != oov_word) rank[nrank++] = id;
    g_count = w->count;
    qsort(rank, nrank, sizeof *rank, cmp_rank);
    v->ndistinct = nrank;
    v->index_size = (uint64_t)nrank + (o->oov ? 1 : 0);
    v->vocab_size = o->num_words ? (uint64_t)o->num_words : v->index_size + 1;
    if (v->vocab_size > INT32_MAX)
        st_tok_die("vocabulary of %llu words is too large", (unsigned long long)v->vocab_size);
    for (uint32_t r = 0; r < nrank; r++) {
        uint64_t k = (uint64_t)r + (uint64_t)v->base;
        v->map[rank[r]] = (o->num_words && k >= (uint64_t)o->num_words) ? unknown : (int32_t)k;
    }
    /* /vocab: ids < vocab_size only (Keras keeps the rest in word_index, but no id reaches them) */
    size_t nword = v->index_size + 1 < v->vocab_size ? v->index_size + 1 : v->vocab_size;
    if (nword < 1) nword = 1;
    size_t bytes = 1 + (o->oov ? strlen(o->oov) + 1 : 0);
    for (size_t k = (size_t)v->base; k < nword; k++) bytes += w->len[rank[k - (size_t)v->base]] + 1;
    v->chars = st_tok_xrealloc(NULL, bytes);
    v->word = st_tok_xrealloc(NULL, sizeof *v->word * nword);
    char *c = v->chars;
    *c = 0;
    v->word[0] = c++;
    if (o->oov && nword > 1) {
        memcpy(c, o->oov, strlen(o->oov) + 1);
        v->word[1] = c;
        c += strlen(o->oov) + 1;
    }
    for (size_t k = (size_t)v->base; k < nword; k++) {
        uint32_t id = rank[k - (size_t)v->base];
        memcpy(c, w->chars.p + w->off[id], w->len[id]);
        c[w->len[id]] = 0;
        v->word[k] = c;
        c += w->len[id] + 1;
    }
    v->nword = nword;
    free(rank);
}

/* v->word may point into a vocab_in: only the arrays built here are freed. */
void st_tok_vocab_free(vocab *v) {
    free(v->map);
    free(v->word);
    free(v->chars);
}

void st_tok_vocab_in_free(vocab_in *v) {
    for (size_t k = 0; k < v->n; k++) free(v->words[k]);
    for (size_t k = 0; k < v->ncls; k++) free(v->classes[k]);
    free(v->words);
    free(v->classes);
}
