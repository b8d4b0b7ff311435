/*
 * train.h - the training loop and evaluation, as the command line uses them.
 */
#ifndef SEQTRAIN_TRAIN_H
#define SEQTRAIN_TRAIN_H

#include "seqtrain/config.h"

/* Trains as the config says; resume: NULL, a checkpoint file or a directory. Collective. */
int st_fit(st_config *cfg, const char *resume);
/* Benchmark: `steps` timed training steps (after `warmup` untimed ones) on generated data of
 * the config's shapes, no file reads and no checkpoints. Rank 0 prints a summary and one line
 * "BENCH {json}" (samples/s, per-phase step times as mean and max over ranks, peak RSS).
 * Shapes come from the dataset's metadata when [data] path names an existing file, else from
 * [data] seq_len / features. Collective. */
int st_fit_benchmark(st_config *cfg, int steps, int warmup);
/* Loss and accuracy of a checkpoint on a split (sharded over the ranks). Collective. */
int st_evaluate(const char *ckpt, const char *data, const char *split, double *loss, double *acc);
/* Parity tests: the first `rows` rows of a split as ONE batch through a checkpoint's model
 * (inference mode: no dropout), loss = mean over the rows, one backward; writes the file of
 * st_ckpt_save_gradients. Runs on rank 0 (other ranks only agree on errors). Collective. */
int st_gradients(const char *ckpt, const char *data, const char *split, int rows,
                 const char *out);
/* Writes /predictions float32 (N, K) probabilities for a split to out. Collective. */
/* attention_out != NULL: also writes /attention float32 (K, T), the first attention layer's
 * weights for the first K = attention_rows rows of the split. */
int st_predict(const char *ckpt, const char *data, const char *split, const char *out,
               const char *attention_out, int attention_rows);

#endif
