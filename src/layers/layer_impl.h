/*
 * layer_impl.h - helpers shared by the layer files in src/layers/ (not public API).
 *
 * The parsers for the option kinds no plain st_key row covers (activation, initializer; used
 * as ST_KEY_FUNC rows in each type's key table, so all layers word their errors alike),
 * parameter declaration, dropout masks, and the row/column sums of every bias.
 */
#ifndef SEQTRAIN_LAYER_IMPL_H
#define SEQTRAIN_LAYER_IMPL_H

#include <stdio.h>
#include <stddef.h>

#include "seqtrain/error.h"
#include "layers/layer.h"
#include "core/parse.h"

/* Parse an activation / initializer name for config key `key`; on a bad name st_error_set()s
 * "key = val: unknown ... (known: ...)" and returns ST_ERR. */
int st_parse_act(const char *key, const char *val, st_act *out);
int st_parse_init(const char *key, const char *val, st_init *out);
/* The same as st_key rows (ST_KEY_FUNC_ROW(name, S, field, st_key_act)). */
int st_key_act(const char *key, const char *val, void *field);
int st_key_init(const char *key, const char *val, void *field);


/* Declares the layer's next parameter tensor (build() only; the model assigns its slice). */
static inline st_param *st_param_add(st_layer *L, const char *name, st_dims dims, st_init init) {
    st_param *P = &L->param[L->nparam++];
    snprintf(P->name, sizeof P->name, "%s", name);
    P->dims = dims;
    P->init = init;
    return P;
}

/* db += column sums of dG (rows, cols): the bias gradient of any affine map. Adds, like every
 * gradient. */
static inline void st_colsum_add(const float *dG, size_t rows, size_t cols, float *db) {
    /* Row after row so the inner loop runs over contiguous memory and vectorizes. */
    for (size_t r = 0; r < rows; r++) {
        const float *g = dG + r * cols;
        for (size_t j = 0; j < cols; j++) db[j] += g[j];
    }
}

/* out[r, :] += b for every row: the bias of any affine map. */
static inline void st_rows_add(float *out, size_t rows, size_t cols, const float *b) {
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * cols;
        for (size_t j = 0; j < cols; j++) o[j] += b[j];
    }
}

/* A dropout rate: a number in [0, 1) (1 would drop everything and scale by infinity). */
int st_parse_rate(const char *key, const char *val, float *out);

/* Dropout masks (src/layers/dropout.c). Fills mask (B, n) with 0 (dropped, probability rate)
 * or 1 / (1 - rate) (kept): inverted dropout, as Keras. Row b's values are a pure function of
 * (in->seed, in->epoch, in->sample_ids[b] (b when NULL), stream, unit j), so a row gets the same
 * mask on any rank and for any number of ranks, and a resumed run regenerates it. stream names
 * the purpose: st_rng_stream_of("<layer>/dropout"), ".../recurrent_dropout", ... */
void st_dropout_mask(float *mask, int B, size_t n, float rate, const st_layer_in *in,
                     uint64_t stream);

/* out[t, b, :] = x[t, b, :] ⊙ m[b, :] for t < T: one per-row mask (B, n) applied at every step
 * of a time-major (T, B, n) sequence. out may alias x. */
static inline void st_rows_mul_mask(float *out, const float *x, const float *m, int T, int B,
                                    int n) {
    const size_t Bn = (size_t)B * n;
    for (int t = 0; t < T; t++)
        for (size_t k = 0; k < Bn; k++) out[(size_t)t * Bn + k] = x[(size_t)t * Bn + k] * m[k];
}

/* dx[t, b, :] += d[t, b, :] ⊙ m[b, :]: the input gradient through st_rows_mul_mask. */
static inline void st_rows_mul_mask_add(float *dx, const float *d, const float *m, int T, int B,
                                        int n) {
    const size_t Bn = (size_t)B * n;
    for (int t = 0; t < T; t++)
        for (size_t k = 0; k < Bn; k++) dx[(size_t)t * Bn + k] += d[(size_t)t * Bn + k] * m[k];
}

#endif
