/*
 * resume_check.h - what a resumed run may change (src/train/resume_check.c).
 *
 * A checkpoint stores the config of the run that wrote it. Resuming compares it, key by key and
 * after resolution (so "shuffle = yes" equals "shuffle = true", and a key left out equals its
 * default), with the config of the new run:
 *   refused   anything that changes the model (the layer list, names, types and every layer
 *             key), the data (its identity, below; train_split, validation_split) or the loss
 *             and optimizer;
 *   refused mid-epoch, warned at an epoch end: what decides the order of the rest of the
 *             epoch (batch_size, shuffle, bucket_by_length, bucket_batches);
 *   warned    everything else (epochs, learning rate and the optimizer's other keys, schedule,
 *             metrics, logging, [checkpoint], [callbacks], seed, stop_signals, pre-trained
 *             vector files).
 * A refusal is one line naming the key, both values and the checkpoint; a warning is one line
 * per key, printed by rank 0. The table of keys is k_rules in resume_check.c.
 */
#ifndef ST_TRAIN_RESUME_CHECK_H
#define ST_TRAIN_RESUME_CHECK_H

#include "seqtrain/config.h"
#include "train/checkpoint.h"
#include "train/settings.h"
#include "train/step.h"

/* What identifies the training data, saved with every train state as
 * /train_state/data_identity (int64, ST_DATA_ID_N), in this order: rows of the training split,
 * training rows used (after validation_split), rows of a separate /valid split (0: none),
 * validation rows used, T, F, tokens (1/0), yT, num_classes, vocab_size, then CRC-32s of a
 * sample of the data as read through the dataset API: the first and last up to
 * ST_DATA_ID_ROWS rows of the training split's x and y, and of /valid's x and y (0 without
 * one). x's rows are hashed as the file's values (int32 ids, or float32 features, row-major),
 * so the value does not depend on the number of ranks or the batch size. */
enum {
    ST_DID_ROWS, ST_DID_NTRAIN, ST_DID_VROWS, ST_DID_NVAL, ST_DID_T, ST_DID_F, ST_DID_TOKENS,
    ST_DID_YT, ST_DID_CLASSES, ST_DID_VOCAB, ST_DID_CRC_X, ST_DID_CRC_Y, ST_DID_CRC_VX,
    ST_DID_CRC_VY, ST_DATA_ID_N
};
#define ST_DATA_ID_ROWS 256
#define ST_DATA_ID_NAME "/train_state/data_identity"

/* R's data identity into id (ST_DATA_ID_N). Reads at most 4 * ST_DATA_ID_ROWS rows through
 * R->batch (before training: it is overwritten by the first step). Every rank computes it from
 * its own open file; ST_ERR (a bad row, a read error) with the message set. Not collective. */
int st_data_identity(st_run *R, int64_t *id);

/* ts == NULL: before loading the checkpoint, refuses changes to the model, the data, the loss
 * and the optimizer (so a changed layer is named before the loader's shape checks). The data is
 * recognised by the checkpoint's data identity, compared with data_id (this run's,
 * st_data_identity): other data is refused whatever its path, a changed [data] path to the same
 * data is warned. A checkpoint without one (older seqtrain) falls back to comparing the path.
 * ts != NULL: after loading it (ts: its train state), refuses what
 * would move the position in a half-done epoch and prints the warnings.
 * Reads the config stored in ckpt (every rank reads the same file, so every rank returns the
 * same). ST_ERR with the message set; not collective (the caller agrees). */
int st_resume_check(const char *ckpt, const st_config *cfg, const st_settings *set,
                    const int64_t *data_id, const st_train_state *ts);

#endif
