/*
 * train/checkpoint.h - checkpoints of a model, its optimizer and the training progress: the API
 * fit.c and the CLI call (src/train/checkpoint.c). The file layout itself is io/ckpt.h's, which
 * this header includes for st_ckpt_vec and the directory functions (st_ckpt_resolve,
 * st_ckpt_prune, st_ckpt_read_vec, st_ckpt_read_config):
 *
 *   /model_weights/<layer>/<param>   float32, Keras names and shapes
 *   /optimizer/iterations            int64 scalar
 *   /optimizer/<state>/<layer>/<param>  float32 (state = momentum | velocity | m | v)
 *   /train_state/{epoch, step_in_epoch, global_step}  int64 scalars (epoch = completed)
 *   /train_state/seed               uint64 scalar
 *   /train_state/partial            float64 (3): loss sum, correct, samples of the epoch so far
 *   /history/<column>               float64 (epochs): history.csv's columns (metrics.h)
 *   /train_state/metrics            float64 (ST_MA_N): metric counts of the epoch so far
 *   /train_state/data_identity      int64 (ST_DATA_ID_N): the training data's rows, shapes and
 *                                   a CRC of its first and last rows (train/resume_check.h)
 *   /callbacks/state                float64: callback state (best values, wait counters, the
 *                                   base learning rate), /callbacks/best_weights float32
 *                                   (nparams) with early_stopping.restore_best_weights
 *   root attributes: config (the full config text), format = "seqtrain-ckpt-1",
 *                    optimizer (name), checksum = "crc32"
 *   attribute crc32 of every dataset: CRC-32 of its bytes, verified before a load uses anything
 *
 * Saves are built in memory and written to PATH.tmp, fsync'd and renamed (st_atomic): a killed
 * job never leaves a torn checkpoint, a full disk leaves the previous one intact. Only rank 0
 * calls st_ckpt_save; every rank may read.
 */
#ifndef SEQTRAIN_TRAIN_CHECKPOINT_H
#define SEQTRAIN_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "io/ckpt.h"
#include "model/model.h"
#include "train/optim.h"

/* Where training stands: completed epochs, steps in the current epoch, steps since the start,
 * the seed, and the partial sums (loss, correct, samples) of the current epoch. */
typedef st_ckpt_progress st_train_state;

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

#endif
