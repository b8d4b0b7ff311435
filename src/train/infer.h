/*
 * infer.h - inference on a slice of a split, shared by `evaluate` / `predict` (infer.c) and
 * the validation pass and attention dumps of the training loop (fit.c). Internal.
 */
#ifndef ST_TRAIN_INFER_H
#define ST_TRAIN_INFER_H

#include <stddef.h>

#include "seqtrain/data.h"
#include "train/loss.h"
#include "model/model.h"

/* What an evaluation counts besides loss and accuracy: metric counts (macc, ST_MA_N) and a
 * confusion matrix (cm, C x C), both zeroed by the caller and reduced over the ranks. */
typedef struct st_eval_extra {
    double *macc;
    int top_k;
    double *cm;
    int C;
} st_eval_extra;

/* Evaluates rows [lo, lo + n) of split s, sharded contiguously over the ranks. Evaluation has
 * no optimizer step, so ranks need not move in lock-step: each runs its shard in local batches
 * and the sums are reduced once at the end (one collective, whatever the shard sizes).
 * b: a batch of m->maxB rows; rows: (m->maxB) scratch. out: loss sum, correct, rows (global).
 * pred != NULL: this rank's probabilities (its rows in order) are written there, my_n gets
 * how many rows this rank ran. attn != NULL: this rank's rows' attention weights (rows, T).
 * ex != NULL: its counts are added and reduced too (the same one collective). Collective. */
int st_eval_split(st_model *m, st_loss_kind loss, const st_split *s, size_t lo, size_t n,
                  st_batch *b, float *attn, size_t *rows, double out[3], float *pred,
                  size_t *my_n, const st_eval_extra *ex);

#endif
