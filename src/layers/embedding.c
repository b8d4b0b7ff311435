/*
 * embedding.c - Keras Embedding: token ids to dense vectors, optionally emitting a mask.
 *
 * Layout: tokens come in batch-major (B, T) int32, as the dataset stores them; the output is
 * time-major (T, B, E), the layout every sequence layer after it expects, so the transpose
 * happens here for free during the gather. With mask_zero, token 0 is padding and
 * L->mask_out (T, B) gets 1 for every real (non-zero) token.
 *
 * Parameter: embeddings (input_dim, output_dim), default init RandomUniform(-0.05, 0.05).
 * Backward is a scatter-add of dout rows into the embeddings gradient; there is no input
 * gradient (token ids are not differentiable), so dx is ignored.
 *
 * Pre-trained vectors (keys `weights`, `vocab`; st_model_load_pretrained at the end of this
 * file): a word2vec / GloVe text file, "word v1 ... vE" per line (word2vec's "count dim" first
 * line is skipped), matched by word to ids through the vocabulary: the `vocab` file (line k,
 * counting from 1, is the word of id k, as seqtrain-tokenize writes OUT.vocab.txt; id 0 is
 * padding) or else the dataset's /vocab (index = id). Rows of words not in the file keep their
 * initializer's values. Combined with trainable = false this is Keras'
 * Embedding(weights=[matrix], trainable=False).
 *
 * What this layer does not do: validate token ids for the user. The data reader rejects ids
 * >= vocab with a proper message; here an out-of-range id is a bug and asserts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "seqtrain/layer.h"
#include "seqtrain/log.h"
#include "seqtrain/model.h"
#include "seqtrain/rng.h"

static int emb_set(st_layer *L, const char *key, const char *val) {
    if (strcmp(key, "input_dim") == 0) return st_parse_int(key, val, 1, 1 << 30, &L->input_dim);
    if (strcmp(key, "output_dim") == 0)
        return st_parse_int(key, val, 1, 1 << 20, &L->output_dim);
    if (strcmp(key, "mask_zero") == 0) return st_parse_bool(key, val, &L->mask_zero);
    if (strcmp(key, "embeddings_initializer") == 0)
        return st_parse_init(key, val, &L->embeddings_init);
    if (strcmp(key, "weights") == 0 || strcmp(key, "vocab") == 0) {
        char *dst = key[0] == 'w' ? L->weights : L->vocab;
        if (strlen(val) >= sizeof L->weights) {
            st_error_set("%s = %s: path longer than %d characters", key, val,
                         (int)sizeof L->weights - 1);
            return ST_ERR;
        }
        strcpy(dst, val);
        return ST_OK;
    }
    return ST_ENOKEY;
}

static int emb_build(st_layer *L, st_shape in) {
    if (!in.tokens || in.seq <= 0) {
        st_error_set("embedding must be the first layer, on token input");
        return ST_ERR;
    }
    if (L->input_dim <= 0 || L->output_dim <= 0) {
        st_error_set("embedding needs input_dim and output_dim (the dataset vocabulary is %d)",
                     in.vocab);
        return ST_ERR;
    }
    /* Every id the data can hold must have a row; more rows than ids is fine (unused). */
    if (L->input_dim < in.vocab) {
        st_error_set("embedding input_dim = %d is smaller than the dataset vocabulary %d; "
                     "set input_dim >= %d",
                     L->input_dim, in.vocab, in.vocab);
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = (st_shape){.seq = in.seq, .feat = L->output_dim, .tokens = 0, .vocab = in.vocab};
    L->nparam = 1;
    st_param *P = &L->param[0];
    strcpy(P->name, "embeddings");
    P->dims = st_dims2((size_t)L->input_dim, (size_t)L->output_dim);
    P->init = L->embeddings_init;
    return ST_OK;
}

static size_t emb_workspace(const st_layer *L, int maxB, int maxT) {
    (void)L, (void)maxB, (void)maxT;
    return 0;
}

static void emb_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int32_t *tok = in->tokens; /* (B, T) */
    const float *W = L->param[0].w;  /* (V, E) */
    float *out = L->out;             /* (T, B, E) */
    const size_t E = (size_t)L->output_dim;
    const int32_t V = L->input_dim;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            int32_t id = tok[(size_t)b * T + t];
            ST_ASSERT(id >= 0 && id < V, "embedding %s: token %d outside [0, %d)", L->name, id,
                      V);
            memcpy(out + ((size_t)t * B + b) * E, W + (size_t)id * E, E * sizeof(float));
        }
    }
    if (L->mask_zero) {
        uint8_t *m = L->mask_out; /* (T, B) */
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) m[(size_t)t * B + b] = tok[(size_t)b * T + t] != 0;
    }
}

static void emb_backward(st_layer *L, const st_layer_in *in, float *dx, int B, int T) {
    (void)dx; /* token ids have no gradient */
    if (!L->trainable) return;
    const int32_t *tok = in->tokens; /* (B, T) */
    const float *dout = L->dout;     /* (T, B, E) */
    float *dW = L->param[0].g;       /* (V, E) */
    const size_t E = (size_t)L->output_dim;
    /* Scatter-add: a token that appears k times collects k rows. Masked (id 0) positions are
     * added too, as Keras does; the layers after a mask already send them zero gradient. */
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            const float *g = dout + ((size_t)t * B + b) * E;
            float *row = dW + (size_t)tok[(size_t)b * T + t] * E;
            for (size_t e = 0; e < E; e++) row[e] += g[e];
        }
    }
}

const st_layer_ops st_embedding_ops = {
    .type = "embedding",
    .set = emb_set,
    .build = emb_build,
    .workspace = emb_workspace,
    .post_init = NULL,
    .forward = emb_forward,
    .backward = emb_backward,
};

/* ---- pre-trained vectors ------------------------------------------------------------------ */

/* Open-addressing table word -> id over the vocabulary (load factor <= 1/2). */
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

static void words_free(char **w, size_t n) {
    for (size_t i = 0; i < n; i++) st_free(w[i]);
    st_free(w);
}

/* The `vocab` text file: line k (from 1) = word of id k; id 0 (padding) gets "". */
static int read_vocab_file(const char *path, char ***words, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        st_error_set("%s: cannot open the vocabulary file: %s", path, strerror(errno));
        return ST_ERR;
    }
    size_t cap = 1024, k = 1;
    char **w = st_malloc(cap * sizeof(char *));
    w[0] = st_malloc(1);
    w[0][0] = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (k == cap) {
            char **nw = st_malloc(2 * cap * sizeof(char *));
            memcpy(nw, w, cap * sizeof(char *));
            st_free(w);
            w = nw;
            cap *= 2;
        }
        w[k] = st_malloc((size_t)len + 1);
        memcpy(w[k], line, (size_t)len + 1);
        k++;
    }
    free(line);
    fclose(f);
    *words = w;
    *n = k;
    return ST_OK;
}

/* Reads the vectors file into the rows of L's embeddings whose word it has. */
static int load_vectors(st_layer *L, const word_table *t, size_t *matched, size_t *lines) {
    FILE *f = fopen(L->weights, "r");
    if (!f) {
        st_error_set("%s: weights = %s: cannot open: %s", L->name, L->weights, strerror(errno));
        return ST_ERR;
    }
    const int E = L->output_dim;
    float *W = L->param[0].w; /* (V, E) */
    uint8_t *seen = st_malloc((size_t)L->input_dim + 1);
    memset(seen, 0, (size_t)L->input_dim + 1);
    float *row = st_malloc((size_t)E * sizeof(float));
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    int rc = ST_OK;
    *matched = *lines = 0;
    while (rc == ST_OK && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        char *p = line;
        while (*p == ' ') p++;
        if (!*p) continue;
        char *word = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        /* word2vec text files start with "count dim" */
        if (lineno == 1) {
            char *e1, *e2;
            strtol(word, &e1, 10);
            long d = strtol(p, &e2, 10);
            if (!*e1 && e2 != p && (*e2 == 0 || *e2 == ' ') && d > 0) {
                while (*e2 == ' ') e2++;
                if (!*e2) continue;
            }
        }
        int64_t id = table_find(t, word);
        int k = 0;
        for (; k < E; k++) {
            char *end;
            row[k] = strtof(p, &end);
            if (end == p) break;
            p = end;
        }
        while (*p == ' ') p++;
        if (k < E || *p) {
            st_error_set("%s:%zu: word '%s' has %s values but %s has output_dim = %d",
                         L->weights, lineno, word, k < E ? "fewer" : "more", L->name, E);
            rc = ST_ERR;
            break;
        }
        (*lines)++;
        if (id < 0 || id >= L->input_dim) continue;
        memcpy(W + (size_t)id * E, row, (size_t)E * sizeof(float));
        if (!seen[id]) (*matched)++;
        seen[id] = 1;
    }
    free(line);
    st_free(row);
    st_free(seen);
    fclose(f);
    return rc;
}

int st_model_load_pretrained(st_model *m, const st_dataset *ds) {
    for (int i = 0; i < m->nlayers; i++) {
        st_layer *L = &m->layers[i];
        if (L->ops != &st_embedding_ops || !L->weights[0]) continue;
        word_table t = {0};
        const char *from = L->vocab;
        int rc = L->vocab[0] ? read_vocab_file(L->vocab, &t.words, &t.n)
                 : ds       ? st_dataset_read_vocab(ds, &t.words, &t.n)
                            : ST_OK;
        if (!L->vocab[0] && ds) from = ds->path;
        if (rc == ST_OK && t.n == 0) {
            st_error_set("%s: weights = %s needs a vocabulary to match words to ids: the dataset "
                         "has no /vocab; set vocab = DATA.vocab.txt (written by seqtrain-tokenize)",
                         L->name, L->weights);
            rc = ST_ERR;
        }
        size_t matched = 0, lines = 0;
        if (rc == ST_OK) {
            table_build(&t);
            rc = load_vectors(L, &t, &matched, &lines);
        }
        if (t.words) words_free(t.words, t.n);
        st_free(t.slot);
        if (rc != ST_OK) return ST_ERR;
        ST_LOG(ST_LOG_INFO, "%s: %zu of %d rows set from %s (%zu vectors; vocabulary %s)\n",
               L->name, matched, L->input_dim, L->weights, lines, from);
    }
    return ST_OK;
}
