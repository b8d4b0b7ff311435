/*
 * fit.h - the training loop's state besides the st_run (step.h), shared by the loop (fit.c),
 * the save / resume of that state (fit_state.c) and the JSON metrics log (metrics_log.c).
 * Internal to src/train/.
 */
#ifndef ST_TRAIN_FIT_H
#define ST_TRAIN_FIT_H

#include <stdio.h>

#include "train/checkpoint.h"
#include "seqtrain/metrics.h"
#include "seqtrain/train.h"
#include "train/callbacks.h"
#include "train/progress.h"
#include "train/resume_check.h"
#include "train/step.h"

/* What the loop reports and decides with, besides the st_run: metrics, history, callbacks,
 * progress, and the per-phase times for metrics.jsonl. */
typedef struct st_fit_ctx {
    st_metrics ms;
    st_history hist;
    st_callbacks cb;
    st_progress prog;
    float *best_w;       /* (nparams) restore_best_weights: the best epoch's weights */
    int64_t data_id[ST_DATA_ID_N]; /* the training data's identity (resume_check.h) */
    FILE *jsonl;         /* rank 0: metrics.jsonl, or NULL */
    int es_col, sb_col, rl_col;
    /* seconds per phase: data, forward+backward, allreduce, optimizer, checkpoint */
    double t_epoch[5], t_log[5];
    double samples_log, t_log_start;
} st_fit_ctx;

/* ---- fit_state.c: the loop's state in checkpoints ------------------------------------------ */

/* Saves model, optimizer, ts, the config text and the loop's state (history, callback state,
 * best weights, the epoch's metric counts so far). epoch_end: ts is at an epoch boundary (no
 * partial counts). name != NULL: that file in the checkpoint directory (best.h5), else
 * epoch-NNNN.h5 / step-NNNNNNNN.h5 and old ones pruned. Rank 0 writes; collective. */
int st_fit_save(st_run *R, st_fit_ctx *F, const st_train_state *ts, int epoch_end,
                const char *name);
/* Reads the loop's state back from checkpoint path: the first ts->epoch history rows,
 * callback state, best weights and (rank 0) the partial epoch's metric counts. First checks ts
 * (as loaded) against the run: epoch <= [train] epochs, step_in_epoch < steps per epoch. */
int st_fit_load_state(const char *path, st_run *R, st_fit_ctx *F, const st_train_state *ts);

/* ---- sysinfo.c: what produced the numbers -------------------------------------------------
 * Whether every rank runs the same BLAS kernels (warns on rank 0 when not; DETERMINISTIC adds
 * why it matters). Collective. */
int st_blas_agree(int deterministic);
/* SRC copied for use inside a JSON string: quotes, backslashes, control characters and
 * non-ASCII bytes become spaces (CPU brand strings have none; this makes sure). */
void st_json_safe(char *dst, size_t n, const char *src);
/* The threads each rank computes on: the deterministic pool's or OpenBLAS's. */
int st_run_threads(void);

/* ---- metrics_log.c: metrics.jsonl ------------------------------------------------------------
 * One JSON object per line: {"type": "run", ...} at each start or resume (version, ranks,
 * threads, CPU, BLAS kernels), {"type": "step", ...} every log_every_steps steps and
 * {"type": "epoch", ...} after every epoch, each with the per-phase times as mean and max over
 * the ranks. Written by rank 0, only with a checkpoint directory. */

/* Rank 0: opens DIR/metrics.jsonl, afresh, or appended to when resuming, and writes the run
 * line (RANKS: the job's rank count). */
int st_metrics_log_open(st_fit_ctx *F, const char *dir, int resume, int ranks);
/* One step line (the epoch's running values so far). Collective (metric counts, times). */
void st_metrics_log_step(st_run *R, st_fit_ctx *F, const st_train_state *ts);
/* One epoch line from the history row (row: the epoch's values in history column order).
 * times: the per-phase times are reduced and written (collective). */
void st_metrics_log_epoch(st_run *R, st_fit_ctx *F, const st_train_state *ts,
                          const double *row, int times);
void st_metrics_log_close(st_fit_ctx *F);

#endif
