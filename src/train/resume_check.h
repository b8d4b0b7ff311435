/*
 * resume_check.h - what a resumed run may change (src/train/resume_check.c).
 *
 * A checkpoint stores the config of the run that wrote it. Resuming compares it, key by key and
 * after resolution (so "shuffle = yes" equals "shuffle = true", and a key left out equals its
 * default), with the config of the new run:
 *   refused   anything that changes the model (the layer list, names, types and every layer
 *             key), the data (path, train_split, validation_split) or the loss and optimizer;
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

/* ts == NULL: before loading the checkpoint, refuses changes to the model, the data, the loss
 * and the optimizer (so a changed layer is named before the loader's shape checks).
 * ts != NULL: after loading it (ts: its train state), refuses what
 * would move the position in a half-done epoch and prints the warnings.
 * Reads the config stored in ckpt (every rank reads the same file, so every rank returns the
 * same). ST_ERR with the message set; not collective (the caller agrees). */
int st_resume_check(const char *ckpt, const st_config *cfg, const st_settings *set,
                    const st_train_state *ts);

#endif
