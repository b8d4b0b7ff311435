/*
 * train.h - the training loop and evaluation, as the command line uses them.
 */
#ifndef SEQTRAIN_TRAIN_H
#define SEQTRAIN_TRAIN_H

#include <stdint.h>

#include "seqtrain/config.h"
#include "seqtrain/metrics.h"

/* Trains as the config says; resume: NULL, a checkpoint file or a directory. Collective. */
int st_fit(st_config *cfg, const char *resume);
/* Benchmark: `steps` timed training steps (after `warmup` untimed ones) on generated data of
 * the config's shapes, no file reads and no checkpoints. Rank 0 prints a summary and one line
 * "BENCH {json}" (samples/s, per-phase step times as mean and max over ranks, peak RSS).
 * Shapes come from the dataset's metadata when [data] path names an existing file, else from
 * [data] seq_len / features. Collective. */
int st_fit_benchmark(st_config *cfg, int steps, int warmup);

/* Everything `seqtrain evaluate` reports. Filled identically on every rank. */
typedef struct st_eval_report {
    double loss, accuracy, count; /* count: rows (or real steps of a sequence head) */
    st_metrics ms;                /* the checkpoint config's metrics */
    double mvalue[ST_METRICS_MAX];
    int C;                        /* classes (a 1-unit head: 2) */
    double *cm;                   /* (C, C) rows = true class, columns = predicted */
    char **classes;               /* (C) names from the dataset's /classes, or NULL */
    size_t nclasses;
} st_eval_report;
/* Loss, metrics and confusion matrix of a checkpoint on a split. Collective. Free the report
 * with st_eval_report_free. */
int st_evaluate_report(const char *ckpt, const char *data, const char *split,
                       st_eval_report *r);
void st_eval_report_free(st_eval_report *r);
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

/* ---- callbacks (callbacks.c) ---------------------------------------------------------------
 * Keras's EarlyStopping, ModelCheckpoint(save_best_only) and ReduceLROnPlateau as pure
 * decisions on the monitored values of each epoch. Every rank sees the same reduced metrics,
 * so every rank takes the same decisions; the state travels in checkpoints (st_callbacks_pack)
 * so that a resumed run decides exactly as an uninterrupted one. */

enum { ST_CB_STATE_N = 10 };

typedef struct st_callbacks {
    st_callbacks_cfg cfg;
    int es_max, sb_max, rl_max; /* 1: larger is better for that callback's monitor */
    double es_best;
    int64_t es_wait, es_best_epoch;
    int es_stopped, es_have_best;
    double sb_best;
    double rl_best;
    int64_t rl_wait, rl_cooldown;
    double lr; /* base learning rate; reduce_lr_on_plateau lowers it */
} st_callbacks;

/* What the loop must do after an epoch. */
typedef struct st_cb_actions {
    int keep_best;    /* copy the current weights as the best ones (restore_best_weights) */
    int save_best;    /* write best.h5 (the monitored value improved) */
    int stop;         /* early stopping: end training after this epoch */
    int restore_best; /* ... and put the kept best weights back first */
    int lr_reduced;   /* reduce_lr_on_plateau lowered cb->lr (from old_lr) */
    double old_lr;
} st_cb_actions;

/* Keras's auto mode: larger is better when the name contains "acc", "auc", "precision" or
 * "recall" (val_ prefix or not), smaller otherwise. */
int st_monitor_maximize(const char *monitor, int mode);
void st_callbacks_init(st_callbacks *cb, const st_callbacks_cfg *cfg, double lr);
/* epoch: 0-based. es/sb/rl: the current values of each callback's monitor (NaN: missing, the
 * callback does nothing that epoch, as Keras skips it). */
void st_callbacks_epoch_end(st_callbacks *cb, int64_t epoch, double es, double sb, double rl,
                            st_cb_actions *act);
void st_callbacks_pack(const st_callbacks *cb, double out[ST_CB_STATE_N]);
void st_callbacks_unpack(st_callbacks *cb, const double in[ST_CB_STATE_N]);
/* The learning rate of update t (0-based: the optimizer's iterations before it) for base rate
 * `base` under [train] lr_schedule / warmup_steps (config.h). */
double st_lr_at(const st_train_cfg *t, double base, int64_t iteration);

/* ---- progress (progress.c) ----------------------------------------------------------------
 * Rank 0's console output while training: a Keras-style bar redrawn in place (mode BAR, when
 * stdout is a terminal), or one plain line per epoch, plus one every `every` steps (mode
 * LINES, for log files). Nothing on other ranks or with --quiet. */
enum { ST_PROGRESS_OFF = 0, ST_PROGRESS_BAR, ST_PROGRESS_LINES };

typedef struct st_progress {
    int mode, every, epochs;
    int64_t steps, epoch, first_step;
    double t0, last_draw;
} st_progress;

/* mode: BAR when stdout is a terminal, LINES otherwise; OFF on ranks other than 0 or when the
 * log level is below INFO. */
int st_progress_mode_auto(void);
void st_progress_init(st_progress *p, int mode, int every, int epochs, int64_t steps);
/* first_step: steps of the epoch already done (a resumed run). */
void st_progress_epoch_begin(st_progress *p, int64_t epoch, int64_t first_step);
/* After step `done` (1-based within the epoch): the epoch's running loss and accuracy. */
void st_progress_step(st_progress *p, int64_t done, double loss, double acc, double samples_s);
/* The epoch's summary " - loss: ... - val_accuracy: ..." (metrics and validation). */
void st_progress_epoch_end(st_progress *p, const char *summary, double samples_s, double secs);

#endif
