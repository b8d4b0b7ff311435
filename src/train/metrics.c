/*
 * metrics.c - Keras metrics as counts, the confusion matrix, the per-class report and the
 * epoch history (see metrics.h for the definitions).
 *
 * Everything a metric needs is a count (rows right, true/false positives, a histogram of
 * scores), added per rank into a double array and reduced by the caller with one allreduce:
 * the reduced counts, hence the metrics, are the same for any number of ranks. Nothing here
 * communicates or touches files, except st_history_write_csv (rank 0 calls it; st_atomic).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "seqtrain/atomic.h"
#include "seqtrain/error.h"
#include "seqtrain/metrics.h"
#include "train/settings.h"

/* ---- parsing ------------------------------------------------------------------------------ */

static const char k_known[] =
    "accuracy, binary_accuracy, precision, recall, auc, top_k_categorical_accuracy, "
    "sparse_top_k_categorical_accuracy";

/* Parsed once at start-up: an unknown name is a config error, reported before any training
 * starts (a typo must not cost a run). The order given is the order of the epoch line. */
int st_metrics_parse(const char *list, int top_k, st_metrics *out) {
    memset(out, 0, sizeof *out);
    out->top_k = top_k > 0 ? top_k : 5;
    const char *p = list ? list : "";
    /* Names are separated by commas (and blanks): an empty name between two commas, or after
     * the last, is a typo that would otherwise pass unnoticed. */
    for (const char *q = p; *q; q++) {
        if (*q != ',') continue;
        const char *r = q + 1;
        while (*r == ' ' || *r == '\t') r++;
        const char *b = q;
        while (b > p && (b[-1] == ' ' || b[-1] == '\t')) b--;
        if (*r == ',' || *r == 0 || b == p) {
            st_error_set("an empty name in the list of metrics");
            return ST_ERR;
        }
    }
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
        if (!*p) break;
        size_t n = strcspn(p, ", \t");
        char w[40];
        if (n >= sizeof w) n = sizeof w - 1;
        memcpy(w, p, n);
        w[n] = 0;
        p += n;
        st_metric_kind k;
        const char *name = w;
        if (!strcmp(w, "accuracy") || !strcmp(w, "acc")) continue; /* always reported */
        if (!strcmp(w, "binary_accuracy")) k = ST_MET_BINARY_ACCURACY;
        else if (!strcmp(w, "precision")) k = ST_MET_PRECISION;
        else if (!strcmp(w, "recall")) k = ST_MET_RECALL;
        else if (!strcmp(w, "auc")) k = ST_MET_AUC;
        else if (!strcmp(w, "top_k_categorical_accuracy") || !strcmp(w, "top_k")) {
            k = ST_MET_TOP_K;
            name = "top_k_categorical_accuracy";
        } else if (!strcmp(w, "sparse_top_k_categorical_accuracy")) k = ST_MET_SPARSE_TOP_K;
        else {
            st_error_set("unknown metric '%s' (known: %s)", w, k_known);
            return ST_ERR;
        }
        int dup = 0;
        for (int i = 0; i < out->n; i++) dup |= !strcmp(out->name[i], name);
        if (dup) continue;
        if (out->n == ST_METRICS_MAX) {
            st_error_set("too many metrics (at most %d)", ST_METRICS_MAX);
            return ST_ERR;
        }
        out->kind[out->n] = k;
        snprintf(out->name[out->n], sizeof out->name[0], "%s", name);
        out->n++;
    }
    return ST_OK;
}

/* [train] metrics: parsed here once (the loop and evaluate use the parsed list); the k of the
 * top-k metrics is [train] top_k, applied after the whole section is read. */
static int parse_metrics(const char *key, const char *val, void *field) {
    if (st_metrics_parse(val, 5, field) == ST_OK) return ST_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", st_error_get());
    st_error_set("%s = %s: %s", key, val, msg);
    return ST_ERR;
}

static const st_key k_keys[] = {
    ST_KEY_FUNC_ROW("metrics", st_train_cfg, metrics, parse_metrics),
    ST_KEY_INT_ROW("top_k", st_train_cfg, top_k, 1, INT_MAX),
    ST_KEY_END,
};

int st_metrics_cfg_set(st_train_cfg *t, const char *key, const char *val) {
    return st_keys_set(k_keys, t, key, val);
}

const char *st_metrics_cfg_keys(char *buf, size_t size) { return st_keys_names(k_keys, buf, size); }

/* Some metrics only make sense for some heads (AUC and precision/recall need a binary head,
 * top-k needs more than k classes): refused at start-up with the reason. */
int st_metrics_check_head(const st_metrics *ms, int K, const char *origin) {
    for (int i = 0; i < ms->n; i++)
        if ((ms->kind[i] == ST_MET_TOP_K || ms->kind[i] == ST_MET_SPARSE_TOP_K) && K < 2) {
            st_error_set("%s: [train] metrics: %s needs a head with several classes (the last "
                         "layer has %d unit)", origin, ms->name[i], K);
            return ST_ERR;
        }
    return ST_OK;
}

int st_metrics_need_update(const st_metrics *ms) { return ms->n > 0; }

/* ---- counting ------------------------------------------------------------------------------ */

/* How many of Keras's thresholds {-1e-7, 1/199, ..., 198/199, 1 + 1e-7} lie strictly below
 * p: a prediction counts as positive at threshold i when p > t_i, so with c thresholds below
 * p it is positive at thresholds 0 .. c-1. */
static int auc_bin(double p) {
    const int n = ST_AUC_THRESHOLDS;
    if (!(p > -1e-7)) return 0; /* also NaN */
    if (p > 1.0 + 1e-7) return n;
    /* thresholds i / (n - 1) for i = 1 .. n - 2 below p: ceil(p (n-1)) - 1 of them */
    int inner = (int)ceil(p * (n - 1)) - 1;
    if (inner < 0) inner = 0;
    if (inner > n - 2) inner = n - 2;
    return 1 + inner;
}

/* One row (or step): zr (K) outputs, label y, p (K) scratch. */
/* Adds one row's contribution to every requested count. Thresholds are on probabilities, as
 * Keras' metrics see them; argmax does not depend on the (monotone) head activation. */
static void count_row(double *acc, st_act act, const float *zr, int32_t y, int K, int top_k,
                      float *p) {
    acc[ST_MA_COUNT] += 1;
    if (K == 1) {
        /* The loss's rule: a fused sigmoid is positive iff z > 0 (no rounding at 0.5). */
        double prob = act == ST_ACT_SIGMOID ? 1.0 / (1.0 + exp(-(double)zr[0])) : zr[0];
        if (act != ST_ACT_SIGMOID) {
            st_act_forward(act, zr, p, 1, 1);
            prob = p[0];
        }
        int pred = act == ST_ACT_SIGMOID ? zr[0] > 0 : prob > 0.5;
        int t = y != 0;
        acc[ST_MA_CORRECT] += pred == t;
        acc[ST_MA_BINACC] += pred == t;
        acc[ST_MA_TP] += pred && t;
        acc[ST_MA_FP] += pred && !t;
        acc[ST_MA_FN] += !pred && t;
        acc[(t ? ST_MA_HPOS : ST_MA_HNEG) + auc_bin(prob)] += 1;
        return;
    }
    st_act_forward(act, zr, p, 1, (size_t)K);
    int best = 0, above = 0, right = 0;
    for (int k = 0; k < K; k++) {
        if (zr[k] > zr[best]) best = k;
        if (zr[k] > zr[y]) above++;
        int t = k == y, pred = p[k] > 0.5f;
        right += pred == t;
        acc[ST_MA_TP] += pred && t;
        acc[ST_MA_FP] += pred && !t;
        acc[ST_MA_FN] += !pred && t;
        acc[(t ? ST_MA_HPOS : ST_MA_HNEG) + auc_bin(p[k])] += 1;
    }
    acc[ST_MA_CORRECT] += best == y;
    /* Units right, an integer: a sum of fractions right / K would round, and differently for
     * each split of the batch among ranks; st_metrics_value divides by the units counted. */
    acc[ST_MA_BINACC] += right;
    acc[ST_MA_TOPK] += above < top_k;
}

void st_metrics_update(double *acc, st_act act, const float *z, const int32_t *y,
                       const uint8_t *mask, int B, int T, int K, int top_k) {
    float p[K > 0 ? K : 1];
    if (T <= 1) {
        for (int b = 0; b < B; b++) count_row(acc, act, z + (size_t)b * K, y[b], K, top_k, p);
        return;
    }
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            if (mask && !mask[r]) continue;
            count_row(acc, act, z + r * K, y[(size_t)b * T + t], K, top_k, p);
        }
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

/* Keras' AUC: ROC area by the trapezoid rule over 200 thresholds. Scores were counted into
 * one bin per threshold interval, so the area is computed from the reduced histograms and is
 * the same for any number of ranks (an exact rank-based AUC would need every score gathered). */
double st_metrics_auc(const double *acc) {
    const int n = ST_AUC_THRESHOLDS;
    double pos = 0, neg = 0;
    for (int c = 0; c <= n; c++) {
        pos += acc[ST_MA_HPOS + c];
        neg += acc[ST_MA_HNEG + c];
    }
    if (pos <= 0 || neg <= 0) return 0;
    /* tp[i] = scores with more than i thresholds below them; walk i upwards */
    double tp = pos - acc[ST_MA_HPOS], fp = neg - acc[ST_MA_HNEG]; /* i = 0 */
    double auc = 0, tpr0 = tp / pos, fpr0 = fp / neg;
    for (int i = 1; i < n; i++) {
        tp -= acc[ST_MA_HPOS + i];
        fp -= acc[ST_MA_HNEG + i];
        double tpr = tp / pos, fpr = fp / neg;
        auc += (fpr0 - fpr) * (tpr0 + tpr) / 2;
        tpr0 = tpr;
        fpr0 = fpr;
    }
    return auc;
}

double st_metrics_value(const st_metrics *ms, int i, const double *acc) {
    switch (ms->kind[i]) {
    case ST_MET_ACCURACY: return ratio(acc[ST_MA_CORRECT], acc[ST_MA_COUNT]);
    case ST_MET_BINARY_ACCURACY: {
        /* Every unit of every row lands in one histogram bin: their total counts the units. */
        double units = 0;
        for (int j = ST_MA_HPOS; j < ST_MA_N; j++) units += acc[j];
        return ratio(acc[ST_MA_BINACC], units);
    }
    case ST_MET_PRECISION: return ratio(acc[ST_MA_TP], acc[ST_MA_TP] + acc[ST_MA_FP]);
    case ST_MET_RECALL: return ratio(acc[ST_MA_TP], acc[ST_MA_TP] + acc[ST_MA_FN]);
    case ST_MET_AUC: return st_metrics_auc(acc);
    case ST_MET_TOP_K:
    case ST_MET_SPARSE_TOP_K: return ratio(acc[ST_MA_TOPK], acc[ST_MA_COUNT]);
    }
    return 0;
}

/* ---- confusion matrix and report ---------------------------------------------------------- */

int st_confusion_classes(int K) { return K == 1 ? 2 : K; }

void st_confusion_update(double *cm, st_act act, const float *z, const int32_t *y,
                         const uint8_t *mask, int B, int T, int K) {
    const int C = st_confusion_classes(K);
    for (int t = 0; t < (T > 1 ? T : 1); t++)
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)t * B + b;
            if (T > 1 && mask && !mask[r]) continue;
            const float *zr = z + r * K;
            int32_t yt = T > 1 ? y[(size_t)b * T + t] : y[b];
            int pred = 0;
            if (K == 1) {
                float p;
                st_act_forward(act, zr, &p, 1, 1);
                pred = act == ST_ACT_SIGMOID ? zr[0] > 0 : p > 0.5f;
            } else {
                for (int k = 1; k < K; k++)
                    if (zr[k] > zr[pred]) pred = k;
            }
            if (yt >= 0 && yt < C) cm[(size_t)yt * C + pred] += 1;
        }
}

/* Per-class precision, recall, F1 and support from the reduced confusion matrix (rows = true
 * class, columns = predicted), plus the macro (unweighted) and weighted (by support) averages,
 * as scikit-learn's classification_report that the tutorials print. */
void st_report_compute(const double *cm, int C, st_class_stats *per, st_class_stats *macro,
                       st_class_stats *weighted, double *accuracy) {
    double total = 0, trace = 0;
    memset(macro, 0, sizeof *macro);
    memset(weighted, 0, sizeof *weighted);
    for (int c = 0; c < C; c++) {
        double tp = cm[(size_t)c * C + c], row = 0, col = 0;
        for (int k = 0; k < C; k++) {
            row += cm[(size_t)c * C + k];
            col += cm[(size_t)k * C + c];
        }
        st_class_stats s;
        s.precision = ratio(tp, col);
        s.recall = ratio(tp, row);
        s.f1 = ratio(2 * s.precision * s.recall, s.precision + s.recall);
        s.support = row;
        per[c] = s;
        total += row;
        trace += tp;
        macro->precision += s.precision / C;
        macro->recall += s.recall / C;
        macro->f1 += s.f1 / C;
        weighted->precision += s.precision * row;
        weighted->recall += s.recall * row;
        weighted->f1 += s.f1 * row;
    }
    macro->support = weighted->support = total;
    weighted->precision = ratio(weighted->precision, total);
    weighted->recall = ratio(weighted->recall, total);
    weighted->f1 = ratio(weighted->f1, total);
    *accuracy = ratio(trace, total);
}

/* ---- history ------------------------------------------------------------------------------ */

static void add_col(st_history *h, const char *prefix, const char *name) {
    if (h->ncols == ST_HISTORY_COLS) return;
    snprintf(h->col[h->ncols++], sizeof h->col[0], "%s%s", prefix, name);
}

void st_history_init(st_history *h, const st_metrics *ms, int has_valid) {
    memset(h, 0, sizeof *h);
    add_col(h, "", "epoch");
    for (int v = 0; v <= (has_valid ? 1 : 0); v++) {
        const char *pre = v ? "val_" : "";
        add_col(h, pre, "loss");
        add_col(h, pre, "accuracy");
        for (int i = 0; i < ms->n; i++) add_col(h, pre, ms->name[i]);
    }
    add_col(h, "", "lr");
    add_col(h, "", "samples_per_s");
    add_col(h, "", "seconds");
}

void st_history_free(st_history *h) {
    st_free(h->v);
    memset(h, 0, sizeof *h);
}

int st_history_col(const st_history *h, const char *name) {
    for (int i = 0; i < h->ncols; i++)
        if (!strcmp(h->col[i], name)) return i;
    return -1;
}

void st_history_append(st_history *h, const double *row) {
    if (h->nrows == h->cap) {
        int64_t cap = h->cap ? 2 * h->cap : 16;
        double *v = st_malloc((size_t)cap * (size_t)h->ncols * sizeof(double));
        if (h->nrows) memcpy(v, h->v, (size_t)h->nrows * (size_t)h->ncols * sizeof(double));
        st_free(h->v);
        h->v = v;
        h->cap = cap;
    }
    memcpy(h->v + (size_t)h->nrows * (size_t)h->ncols, row, (size_t)h->ncols * sizeof(double));
    h->nrows++;
}

/* Rewrites the whole CSV each epoch (a few hundred bytes per epoch) through st_atomic, so a
 * reader or a killed job never sees a half-written history. */
int st_history_write_csv(const st_history *h, const char *path) {
    st_atomic a;
    if (st_atomic_begin(&a, path) != ST_OK) return ST_ERR;
    FILE *f = st_atomic_fopen(&a);
    if (!f) return ST_ERR;
    for (int c = 0; c < h->ncols; c++) fprintf(f, "%s%s", c ? "," : "", h->col[c]);
    fputc('\n', f);
    for (int64_t r = 0; r < h->nrows; r++) {
        const double *row = h->v + (size_t)r * (size_t)h->ncols;
        for (int c = 0; c < h->ncols; c++) {
            if (c == 0)
                fprintf(f, "%lld", (long long)row[c]);
            else if (isnan(row[c]))
                fputs(",", f); /* not measured (e.g. an epoch from before a metric existed) */
            else
                fprintf(f, ",%.9g", row[c]);
        }
        fputc('\n', f);
    }
    return st_atomic_commit(&a);
}
