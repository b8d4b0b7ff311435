/*
 * layer_impl.h - helpers shared by the layer files in src/layers/ (not public API).
 *
 * The config parsers for the option kinds every layer type has (activation, initializer), so
 * that each layer's set() is a short list of keys and all layers word their errors alike, and
 * the column-sum used for every bias gradient.
 */
#ifndef SEQTRAIN_LAYER_IMPL_H
#define SEQTRAIN_LAYER_IMPL_H

#include <stddef.h>

#include "seqtrain/error.h"
#include "seqtrain/layer.h"

/* Parse an activation / initializer name for config key `key`; on a bad name st_error_set()s
 * "key = val: unknown ... (known: ...)" and returns ST_ERR. */
int st_parse_act(const char *key, const char *val, st_act *out);
int st_parse_init(const char *key, const char *val, st_init *out);

/* The keys simple_rnn and lstm share (units, activation, use_bias, return_sequences and the
 * three initializers); ST_ENOKEY for anything else, so lstm can add its own. */
int st_rnn_set(st_layer *L, const char *key, const char *val);
/* Checks shared by the recurrent layers' build(): a float sequence input and units > 0; sets
 * ishape and oshape ((T, B, units) with return_sequences, else (B, units)). */
int st_rnn_check(st_layer *L, st_shape in);

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

#endif
