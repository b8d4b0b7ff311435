/*
 * pretrained.c - pre-trained word vectors into the model's embeddings (st_model_load_pretrained).
 *
 * For each layer whose spec names a `weights` file (types with takes_vectors: embedding), the
 * words of the vectors file are matched to token ids through a vocabulary: the `vocab` file
 * (line k, counting from 1, is the word of id k, as seqtrain-tokenize writes OUT.vocab.txt;
 * id 0 is padding) or else the dataset's /vocab (index = id). A matched row is copied into the
 * layer's first parameter, (V, E) embeddings; rows of words not in the file keep their
 * initializer's values. Combined with trainable = false this is Keras'
 * Embedding(weights=[matrix], trainable=False).
 *
 * Layout: an open-addressing table word -> id over the vocabulary (load factor <= 1/2), hashed
 * with the RNG's string hash.
 *
 * Not here: reading the files (src/io/vectors.c, src/io/dataset.c), broadcasting the result
 * (the caller runs this on one rank, then broadcasts the parameters).
 */
#include <string.h>

#include "io/vectors.h"
#include "model/model.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/rng.h"

typedef struct word_table {
    char **words; /* (n) id -> word, "" for none */
    size_t n;
    int64_t *slot; /* (cap) id, or -1 */
    size_t cap;
} word_table;

static void table_build(word_table *t) {
    t->cap = 16;
    while (t->cap < 2 * t->n + 1) t->cap *= 2;
    t->slot = st_malloc(t->cap * sizeof(int64_t));
    for (size_t i = 0; i < t->cap; i++) t->slot[i] = -1;
    for (size_t id = 0; id < t->n; id++) {
        if (!t->words[id][0]) continue;
        size_t h = (size_t)st_rng_stream_of(t->words[id]) & (t->cap - 1);
        /* the first id of a word wins (a vocabulary has each word once) */
        while (t->slot[h] >= 0 && strcmp(t->words[t->slot[h]], t->words[id]) != 0)
            h = (h + 1) & (t->cap - 1);
        if (t->slot[h] < 0) t->slot[h] = (int64_t)id;
    }
}

static int64_t table_find(const word_table *t, const char *w) {
    size_t h = (size_t)st_rng_stream_of(w) & (t->cap - 1);
    while (t->slot[h] >= 0) {
        if (strcmp(t->words[t->slot[h]], w) == 0) return t->slot[h];
        h = (h + 1) & (t->cap - 1);
    }
    return -1;
}

/* Where the rows of one vectors file go. */
typedef struct copy_ctx {
    const word_table *t;
    float *W;      /* (V, E) the embeddings */
    size_t V, E;
    uint8_t *seen; /* (V) rows already set, so a word twice counts once */
    size_t matched;
} copy_ctx;

static void copy_row(const char *word, const float *row, void *arg) {
    copy_ctx *c = arg;
    int64_t id = table_find(c->t, word);
    if (id < 0 || (size_t)id >= c->V) return;
    memcpy(c->W + (size_t)id * c->E, row, c->E * sizeof(float));
    if (!c->seen[id]) c->matched++;
    c->seen[id] = 1;
}

/* One layer: vocabulary, table, vectors. Frees what it allocated on every path. */
static int load_layer(st_layer *L, const st_vectors_spec *v, const st_dataset *ds) {
    word_table t = {0};
    const char *from = v->vocab;
    int rc = v->vocab[0] ? st_vocab_read(v->vocab, &t.words, &t.n)
             : ds        ? st_dataset_read_vocab(ds, &t.words, &t.n)
                         : ST_OK;
    if (!v->vocab[0] && ds) from = ds->path;
    if (rc == ST_OK && t.n == 0) {
        st_error_set("%s: weights = %s needs a vocabulary to match words to ids: the dataset "
                     "has no /vocab; set vocab = DATA.vocab.txt (written by seqtrain-tokenize)",
                     L->name, v->weights);
        rc = ST_ERR;
    }
    st_param *P = &L->param[0]; /* (V, E) */
    copy_ctx c = {&t, P->w, P->dims.d[0], P->dims.d[1], NULL, 0};
    size_t lines = 0;
    if (rc == ST_OK) {
        table_build(&t);
        c.seen = st_malloc(c.V + 1);
        memset(c.seen, 0, c.V + 1);
        rc = st_vectors_read(v->weights, (int)c.E, copy_row, &c, &lines);
        if (rc != ST_OK) st_error_prefix("%s: weights", L->name);
    }
    if (t.words) st_vocab_free(t.words, t.n);
    st_free(t.slot);
    st_free(c.seen);
    if (rc != ST_OK) return ST_ERR;
    ST_LOG(ST_LOG_INFO, "%s: %zu of %zu rows set from %s (%zu vectors; vocabulary %s)\n",
           L->name, c.matched, c.V, v->weights, lines, from);
    return ST_OK;
}

int st_model_load_pretrained(st_model *m, const st_dataset *ds) {
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        if (!L->ops->takes_vectors || !m->vectors[i].weights[0]) continue;
        if (load_layer(L, &m->vectors[i], ds) != ST_OK) return ST_ERR;
    }
    return ST_OK;
}
