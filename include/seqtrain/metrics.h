/*
 * metrics.h - Keras metrics computed from the head's output, the confusion matrix and the
 * per-class report of `seqtrain evaluate`, and the per-epoch history (history.csv).
 *
 * Every metric is a function of a few COUNTS, accumulated per rank in a double array of
 * ST_MA_N entries (st_metrics_update) and summed over the ranks with one allreduce. Counts of
 * whole rows are exact in double, so the reduced value is the same for any number of ranks.
 *
 *   accuracy            correct / count (K == 1: (p > 0.5) == y; K > 1: argmax == y), the
 *                       same rule as the loss's accuracy (loss.h)
 *   binary_accuracy     mean over rows and units of (p_k > 0.5) == t_k (t one-hot for K > 1)
 *   precision, recall   tp / (tp + fp), tp / (tp + fn) with threshold 0.5 on p; K > 1: micro
 *                       average over the units against one-hot targets (Keras's Precision and
 *                       Recall on multi-unit outputs)
 *   auc                 Keras AUC(): ROC area by the trapezoidal rule over Keras's 200
 *                       thresholds {-1e-7, 1/199, ..., 198/199, 1 + 1e-7}. This is Keras's
 *                       number exactly (its approximation of the true AUC, whose error is at
 *                       most the mass of scores that fall between two thresholds). Scores are
 *                       counted in a 201-bin histogram per class, so the reduction is exact.
 *   top_k_categorical_accuracy, sparse_top_k_categorical_accuracy
 *                       the label is among the k (default 5) highest outputs; ties at the
 *                       boundary count as in the top k (tf.math.in_top_k). K > 1 only.
 * Sequence heads (many-to-many) count every real step as a row.
 */
#ifndef SEQTRAIN_METRICS_H
#define SEQTRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/tensor.h"

#define ST_METRICS_MAX 8
#define ST_AUC_THRESHOLDS 200

/* Layout of the count array (doubles). HPOS/HNEG: histograms of positive / negative scores by
 * the number of thresholds below the score (0 .. ST_AUC_THRESHOLDS). */
enum {
    ST_MA_COUNT = 0, /* rows (or real steps) */
    ST_MA_CORRECT,   /* accuracy */
    ST_MA_BINACC,    /* binary_accuracy: units right (of count x K units: the histograms) */
    ST_MA_TP, ST_MA_FP, ST_MA_FN,
    ST_MA_TOPK,
    ST_MA_HPOS,
    ST_MA_HNEG = ST_MA_HPOS + ST_AUC_THRESHOLDS + 1,
    ST_MA_N = ST_MA_HNEG + ST_AUC_THRESHOLDS + 1
};

typedef enum st_metric_kind {
    ST_MET_ACCURACY = 0,
    ST_MET_BINARY_ACCURACY,
    ST_MET_PRECISION,
    ST_MET_RECALL,
    ST_MET_AUC,
    ST_MET_TOP_K,        /* top_k_categorical_accuracy */
    ST_MET_SPARSE_TOP_K, /* sparse_top_k_categorical_accuracy (same count: labels are ids) */
} st_metric_kind;

/* The metrics of a run, in config order, without "accuracy" (the loop always reports it). */
typedef struct st_metrics {
    int n;
    st_metric_kind kind[ST_METRICS_MAX];
    char name[ST_METRICS_MAX][40]; /* Keras display names: "auc", "precision", ... */
    int top_k;                     /* k of the top-k metrics */
} st_metrics;

/* Parses "accuracy, auc, precision" (commas and/or blanks). Accepted names: accuracy, acc,
 * binary_accuracy, precision, recall, auc, top_k_categorical_accuracy,
 * sparse_top_k_categorical_accuracy, top_k (= the first of those two). Returns ST_OK, or ST_ERR
 * with "unknown metric 'x' (known: ...)" in the error message. */
int st_metrics_parse(const char *list, int top_k, st_metrics *out);
/* Checks that each metric fits a head of K units (top-k needs K > 1). */
int st_metrics_check_head(const st_metrics *ms, int K, const char *origin);
/* 1 when some metric needs more than the loss's accuracy (so st_metrics_update is needed). */
int st_metrics_need_update(const st_metrics *ms);

/* ADDS the counts of B rows (T == 1: z (B, K)) or of the real steps of a sequence head
 * (T > 1: z (T, B, K) time-major, y (B, T), mask (T, B) or NULL) to acc (ST_MA_N). act is the
 * head's activation (z are logits when it is fused into the loss). */
void st_metrics_update(double *acc, st_act act, const float *z, const int32_t *y,
                       const uint8_t *mask, int B, int T, int K, int top_k);
/* Value of metric i of ms from reduced counts. */
double st_metrics_value(const st_metrics *ms, int i, const double *acc);
/* AUC (Keras's 200-threshold ROC, trapezoidal) from reduced counts; 0 without both classes. */
double st_metrics_auc(const double *acc);

/* ---- confusion matrix and per-class report ---------------------------------------------- */

/* C = number of classes of a K-unit head (K == 1: 2). */
int st_confusion_classes(int K);
/* ADDS rows (or real steps) to cm (C, C): cm[true * C + predicted]. Layout as above. */
void st_confusion_update(double *cm, st_act act, const float *z, const int32_t *y,
                         const uint8_t *mask, int B, int T, int K);

typedef struct st_class_stats {
    double precision, recall, f1, support;
} st_class_stats;

/* sklearn's classification_report from cm (C, C) rows = true class: per class (C entries),
 * macro average (unweighted mean over classes), weighted average (by support), and accuracy
 * (trace / total). A class with no predictions has precision 0 (and no true rows, recall 0),
 * as sklearn's zero_division = 0. */
void st_report_compute(const double *cm, int C, st_class_stats *per_class, st_class_stats *macro,
                       st_class_stats *weighted, double *accuracy);

/* ---- history ------------------------------------------------------------------------------ */

#define ST_HISTORY_COLS 48

/* One row per completed epoch. Columns: epoch, loss, accuracy, <metrics>, then val_loss,
 * val_accuracy, val_<metrics> (when there is validation data), lr, samples_per_s, seconds. */
typedef struct st_history {
    int ncols;
    char col[ST_HISTORY_COLS][48];
    int64_t nrows, cap;
    double *v; /* (cap, ncols) row-major; st_malloc */
} st_history;

void st_history_init(st_history *h, const st_metrics *ms, int has_valid);
void st_history_free(st_history *h);
/* Index of the column, or -1. */
int st_history_col(const st_history *h, const char *name);
/* Appends a row of ncols values (copied). */
void st_history_append(st_history *h, const double *row);
/* Writes the CSV (header, then one line per row) to PATH.tmp and renames it into place. */
int st_history_write_csv(const st_history *h, const char *path);

#endif
