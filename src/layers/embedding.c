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
 * Pre-trained vectors (keys `weights`, `vocab`) are not read here: they are model-level keys
 * (src/model/spec.c), read by src/io/vectors.c and copied into the embeddings by
 * st_model_load_pretrained (src/model/pretrained.c); .takes_vectors in the table allows them.
 *
 * What this layer does not do: validate token ids for the user. The data reader rejects ids
 * >= vocab with a proper message; here an out-of-range id is a bug and asserts.
 */
#include <string.h>

#include "layer_impl.h"
#include "seqtrain/error.h"
#include "layers/layer.h"

static const st_key emb_keys[] = {
    ST_KEY_INT_ROW("input_dim", st_embedding_opts, input_dim, 1, 1 << 30),
    ST_KEY_INT_ROW("output_dim", st_embedding_opts, output_dim, 1, 1 << 20),
    ST_KEY_BOOL_ROW("mask_zero", st_embedding_opts, mask_zero),
    ST_KEY_FUNC_ROW("embeddings_initializer", st_embedding_opts, embeddings_init, st_key_init),
    ST_KEY_END,
};
static const st_embedding_opts emb_defaults = {.embeddings_init = ST_INIT_UNIFORM};

static int emb_build(st_layer *L, st_shape in) {
    if (!in.tokens || in.seq <= 0) {
        st_error_set("embedding must be the first layer, on token input");
        return ST_ERR;
    }
    if (L->opt.emb.input_dim <= 0 || L->opt.emb.output_dim <= 0) {
        st_error_set("embedding needs input_dim and output_dim (the dataset vocabulary is %d)",
                     in.vocab);
        return ST_ERR;
    }
    /* Every id the data can hold must have a row; more rows than ids is fine (unused). */
    if (L->opt.emb.input_dim < in.vocab) {
        st_error_set("embedding input_dim = %d is smaller than the dataset vocabulary %d; "
                     "set input_dim >= %d",
                     L->opt.emb.input_dim, in.vocab, in.vocab);
        return ST_ERR;
    }
    L->ishape = in;
    L->oshape = (st_shape){.seq = in.seq, .feat = L->opt.emb.output_dim, .tokens = 0, .vocab = in.vocab};
    L->emits_mask = L->opt.emb.mask_zero;
    L->nparam = 1;
    st_param *P = &L->param[0];
    strcpy(P->name, "embeddings");
    P->dims = st_dims2((size_t)L->opt.emb.input_dim, (size_t)L->opt.emb.output_dim);
    P->init = L->opt.emb.embeddings_init;
    P->row_sparse = 1; /* deterministic reduction: terms, not block slots (emb_backward) */
    return ST_OK;
}

/* Workspace: the row of every (t, b) position, (T, B) int32, for deterministic reduction's
 * terms (layer.h, st_param.terms). */
static size_t emb_workspace(const st_layer *L, int maxB, int maxT) {
    (void)L;
    return (size_t)maxB * (size_t)maxT;
}

static void emb_forward(st_layer *L, const st_layer_in *in, int B, int T, int train) {
    (void)train;
    const int32_t *tok = in->tokens; /* (B, T) */
    const float *W = L->param[0].w;  /* (V, E) */
    float *out = L->out;             /* (T, B, E) */
    const size_t E = (size_t)L->opt.emb.output_dim;
    const int32_t V = L->opt.emb.input_dim;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            int32_t id = tok[(size_t)b * T + t];
            ST_ASSERT(id >= 0 && id < V, "embedding %s: token %d outside [0, %d)", L->name, id,
                      V);
            memcpy(out + ((size_t)t * B + b) * E, W + (size_t)id * E, E * sizeof(float));
        }
    }
    if (L->opt.emb.mask_zero) {
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
    const st_blocks *bk = in->blocks;
    const size_t E = (size_t)L->opt.emb.output_dim;
    st_param *P = &L->param[0];
    if (bk) {
        /* Deterministic reduction: the gradient is the sum of one term per (t, b) position,
         * dout's row, into the token's row; the step adds the terms exactly (st_param.terms),
         * so no block slot of this (usually the largest) tensor is ever written. */
        int32_t *rows = (int32_t *)L->ws; /* (T, B) */
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) rows[(size_t)t * B + b] = tok[(size_t)b * T + t];
        P->terms = dout;
        P->term_rows = rows;
        P->nterms = (size_t)T * (size_t)B;
        return;
    }
    /* Scatter-add: a token that appears k times collects k rows. Masked (id 0) positions are
     * added too, as Keras does; the layers after a mask already send them zero gradient. */
    float *dW = P->g; /* (V, E) */
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            const float *g = dout + ((size_t)t * B + b) * E;
            float *row = dW + (size_t)tok[(size_t)b * T + t] * E;
            for (size_t e = 0; e < E; e++) row[e] += g[e];
        }
    }
}

const st_layer_ops st_embedding_ops =
    ST_LAYER_OPS("embedding", "Embedding", emb, emb_keys, emb_defaults,
                 .takes_vectors = 1);
