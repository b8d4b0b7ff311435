/*
 * train.h - the training loop and evaluation, as the command line uses them.
 */
#ifndef SEQTRAIN_TRAIN_H
#define SEQTRAIN_TRAIN_H

#include <stdint.h>

#include "seqtrain/config.h"
#include "seqtrain/metrics.h"

/* Resolves the typed settings of [data], [train], [checkpoint], [callbacks] (src/train/) and
 * reports the first bad key as "origin:line: [train] batch_size = -3: must be an integer >= 1",
 * a section that is no layer type, or a missing required key. Not collective. */
int st_train_config_check(const st_config *c);
/* `seqtrain summary`: builds the model for the dataset's shapes (or [data] seq_len / features)
 * and rank 0 prints the Keras-style table. Collective. */
int st_summary(st_config *cfg);
/* Trains as the config says; resume: NULL, a checkpoint file or a directory. Collective.
 * Returns ST_OK, ST_ERR, or ST_FIT_PREEMPTED: a stop signal ([train] stop_signals) ended the
 * run at a step boundary after a checkpoint (the CLI exits with it: 75, EX_TEMPFAIL). */
#define ST_FIT_PREEMPTED 75
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

#endif
