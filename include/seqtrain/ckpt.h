/*
 * ckpt.h - checkpoints in HDF5, laid out like Keras weights so h5py users can read them.
 *
 *   /model_weights/<layer>/<param>   float32, Keras names and shapes
 *   /optimizer/iterations            int64 scalar
 *   /optimizer/<state>/<layer>/<param>  float32 (state = momentum | velocity | m | v)
 *   /train_state/{epoch, step_in_epoch, global_step}  int64 scalars (epoch = completed)
 *   /train_state/seed               uint64 scalar
 *   /train_state/partial            float64 (3): loss sum, correct, samples of the epoch so far
 *   /history/<column>               float64 (epochs): history.csv's columns (metrics.h)
 *   /train_state/metrics            float64 (ST_MA_N): metric counts of the epoch so far
 *   /callbacks/state                float64: callback state (best values, wait counters, the
 *                                   base learning rate), /callbacks/best_weights float32
 *                                   (nparams) with early_stopping.restore_best_weights
 *   root attributes: config (the full config text), format = "seqtrain-ckpt-1",
 *                    optimizer (name)
 *
 * Saves go to PATH.tmp, are flushed and closed, then renamed: a killed job never leaves a torn
 * checkpoint. Only rank 0 calls st_ckpt_save; every rank may read.
 */
#ifndef SEQTRAIN_CKPT_H
#define SEQTRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/model.h"
#include "seqtrain/optim.h"

/* An extra 1-D array saved with the train state (history, callback state). */
typedef struct st_ckpt_vec {
    const char *name; /* absolute dataset path, e.g. "/history/loss" */
    const void *data; /* (n) float64, or float32 when f32 */
    size_t n;
    int f32;
} st_ckpt_vec;

typedef struct st_train_state {
    int64_t epoch;         /* completed epochs */
    int64_t step_in_epoch; /* steps done in the current epoch */
    int64_t global_step;   /* steps done since the start */
    uint64_t seed;
    double partial[3];     /* loss sum, correct, samples of the current epoch so far */
} st_train_state;

int st_ckpt_save(const char *path, const st_model *m, const st_optim *o, const st_train_state *ts,
                 const char *config_text);
/* st_ckpt_save plus extra 1-D arrays (vecs, nvecs; with ts only), in the same atomic write.
 * Read them back with st_ckpt_read_vec. */
int st_ckpt_save_ex(const char *path, const st_model *m, const st_optim *o,
                    const st_train_state *ts, const char *config_text, const st_ckpt_vec *vecs,
                    int nvecs);
/* For parity tests (`seqtrain gradients`): writes /gradients/<layer>/<param> (m->grads, same
 * shapes as the weights), /probabilities float32 (n, K) and /loss (float64 scalar, the mean
 * over the n rows), atomically like a checkpoint. */
int st_ckpt_save_gradients(const char *path, const st_model *m, const float *probs, size_t n,
                           int K, double loss);
/* Loads weights (and, when o/ts are not NULL, optimizer state and train state) into a model
 * built with the same architecture. Mismatched names or shapes are errors naming the dataset. */
int st_ckpt_load(const char *path, st_model *m, st_optim *o, st_train_state *ts);
/* Reads the 1-D dataset `name` (converted to float64, or to float32 when f32) into *out
 * (st_malloc'd, *n elements). A missing dataset is not an error: *out = NULL, *n = 0. */
int st_ckpt_read_vec(const char *path, const char *name, int f32, void **out, size_t *n);
/* Reads the config text stored in a checkpoint (malloc'd into *text). */
int st_ckpt_read_config(const char *path, char **text);
/* path is a checkpoint file, or a directory: its newest checkpoint (highest epoch/step).
 * Writes the file name into out. */
int st_ckpt_resolve(const char *path, char *out, size_t outlen);
/* Deletes all but the newest `keep` checkpoints in dir (keep 0: none deleted). */
int st_ckpt_prune(const char *dir, int keep);

#endif
