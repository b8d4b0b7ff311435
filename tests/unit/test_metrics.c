/*
 * test_metrics.c - metrics from counts (metrics.h): AUC against a direct evaluation of Keras's
 * 200-threshold definition, precision / recall / accuracy / top-k on hand-made rows, the
 * confusion matrix and the per-class report on a known matrix (hand-computed, as sklearn's
 * classification_report gives), metric-list parsing and the history CSV.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/error.h"
#include "seqtrain/metrics.h"
#include "testutil.h"

static double *counts(void) { return calloc(ST_MA_N, sizeof(double)); }

/* Keras AUC() written out: thresholds, tp/fp/fn/tn at each, trapezoid over the ROC points. */
static double keras_auc(const float *p, const int32_t *y, int n) {
    enum { NT = ST_AUC_THRESHOLDS };
    double th[NT], tp[NT] = {0}, fp[NT] = {0}, pos = 0, neg = 0;
    th[0] = -1e-7;
    for (int i = 1; i < NT - 1; i++) th[i] = (double)i / (NT - 1);
    th[NT - 1] = 1 + 1e-7;
    for (int k = 0; k < n; k++) {
        pos += y[k] == 1;
        neg += y[k] == 0;
        for (int i = 0; i < NT; i++) {
            if (p[k] > th[i]) {
                tp[i] += y[k] == 1;
                fp[i] += y[k] == 0;
            }
        }
    }
    double auc = 0;
    for (int i = 0; i < NT - 1; i++)
        auc += (fp[i] / neg - fp[i + 1] / neg) * (tp[i] / pos + tp[i + 1] / pos) / 2;
    return auc;
}

START_TEST(auc_matches_keras_definition) {
    enum { N = 2000 };
    float p[N];
    int32_t y[N];
    st_test_fill_uniform(p, N, 0, 1, 7);
    /* labels correlated with the score, so the AUC is neither 0.5 nor 1 */
    float r[N];
    st_test_fill_uniform(r, N, 0, 1, 8);
    for (int i = 0; i < N; i++) y[i] = r[i] < p[i] * 0.8f + 0.1f;
    p[0] = 0;
    p[1] = 1;
    p[2] = 0.5f;
    p[3] = 1.0f / 199; /* exactly on a threshold: not above it */
    double *a = counts(), *b = counts(), *c = counts();
    st_metrics_update(a, ST_ACT_LINEAR, p, y, NULL, N, 1, 1, 5);
    /* the same rows counted as two "ranks" and summed: identical counts */
    st_metrics_update(b, ST_ACT_LINEAR, p, y, NULL, N / 3, 1, 1, 5);
    st_metrics_update(c, ST_ACT_LINEAR, p + N / 3, y + N / 3, NULL, N - N / 3, 1, 1, 5);
    for (int i = 0; i < ST_MA_N; i++) b[i] += c[i];
    double want = keras_auc(p, y, N);
    ck_assert_msg(fabs(st_metrics_auc(a) - want) < 1e-12, "auc %.15f want %.15f",
                  st_metrics_auc(a), want);
    ck_assert(memcmp(a, b, ST_MA_N * sizeof(double)) == 0);
    ck_assert(want > 0.6 && want < 0.95);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(auc_extremes_and_pairs) {
    /* separable: 1; reversed: 0; the 4-row example (3 of 4 pairs ordered): 0.75 */
    float p[4] = {0.9f, 0.4f, 0.6f, 0.1f};
    int32_t sep[4] = {1, 1, 0, 0}, rev[4] = {0, 0, 1, 1}, pairs[4] = {1, 1, 0, 0};
    float ps[4] = {0.9f, 0.8f, 0.2f, 0.1f};
    double *a = counts();
    st_metrics_update(a, ST_ACT_LINEAR, ps, sep, NULL, 4, 1, 1, 5);
    ck_assert_double_eq_tol(st_metrics_auc(a), 1.0, 1e-12);
    memset(a, 0, ST_MA_N * sizeof(double));
    st_metrics_update(a, ST_ACT_LINEAR, ps, rev, NULL, 4, 1, 1, 5);
    ck_assert_double_eq_tol(st_metrics_auc(a), 0.0, 1e-12);
    memset(a, 0, ST_MA_N * sizeof(double));
    st_metrics_update(a, ST_ACT_LINEAR, p, pairs, NULL, 4, 1, 1, 5);
    ck_assert_double_eq_tol(st_metrics_auc(a), 0.75, 1e-12);
    /* one class only: 0, as Keras's divide_no_nan makes it */
    memset(a, 0, ST_MA_N * sizeof(double));
    st_metrics_update(a, ST_ACT_LINEAR, p, sep, NULL, 2, 1, 1, 5);
    ck_assert_double_eq(st_metrics_auc(a), 0);
    free(a);
}
END_TEST

START_TEST(precision_recall_accuracy) {
    st_metrics ms;
    ck_assert_int_eq(st_metrics_parse("accuracy, precision recall,binary_accuracy", 5, &ms),
                     ST_OK);
    ck_assert_int_eq(ms.n, 3);
    /* sigmoid logits: predictions 1, 0, 1, 0 against 1, 1, 0, 0: tp 1, fp 1, fn 1 */
    float z[4] = {2.2f, -0.4f, 0.4f, -2.2f};
    int32_t y[4] = {1, 1, 0, 0};
    double *a = counts();
    st_metrics_update(a, ST_ACT_SIGMOID, z, y, NULL, 4, 1, 1, 5);
    ck_assert_double_eq(a[ST_MA_CORRECT], 2);
    ck_assert_double_eq_tol(st_metrics_value(&ms, 0, a), 0.5, 1e-12); /* precision */
    ck_assert_double_eq_tol(st_metrics_value(&ms, 1, a), 0.5, 1e-12); /* recall */
    ck_assert_double_eq_tol(st_metrics_value(&ms, 2, a), 0.5, 1e-12); /* binary_accuracy */
    /* K = 3 softmax, micro-averaged over units against one-hot targets */
    float z3[6] = {5, 0, 0, 0, 0, 5}; /* p ~ (0.99, .., ..), (.., .., 0.99) */
    int32_t y3[2] = {0, 1};
    memset(a, 0, ST_MA_N * sizeof(double));
    st_metrics_update(a, ST_ACT_SOFTMAX, z3, y3, NULL, 2, 1, 3, 5);
    ck_assert_double_eq(a[ST_MA_TP], 1);
    ck_assert_double_eq(a[ST_MA_FP], 1);
    ck_assert_double_eq(a[ST_MA_FN], 1);
    ck_assert_double_eq(a[ST_MA_CORRECT], 1);
    /* 3 + 1 units right, counted as integers (exact for any split of the rows), of 6 */
    ck_assert_double_eq(a[ST_MA_BINACC], 4);
    ck_assert_double_eq_tol(st_metrics_value(&ms, 2, a), 4.0 / 6, 1e-12);
    free(a);
}
END_TEST

START_TEST(top_k) {
    st_metrics ms;
    ck_assert_int_eq(st_metrics_parse("top_k", 0, &ms), ST_OK);
    ck_assert_str_eq(ms.name[0], "top_k_categorical_accuracy");
    ck_assert_int_eq(ms.top_k, 5);
    /* 6 classes; label's rank 6 (out), rank 5 (in), tied at the boundary (in) */
    float z[18] = {6, 5, 4, 3, 2, 1, 6, 5, 4, 3, 2, 1, 6, 5, 4, 3, 2, 2};
    int32_t y[3] = {5, 4, 5};
    double *a = counts();
    st_metrics_update(a, ST_ACT_SOFTMAX, z, y, NULL, 3, 1, 6, ms.top_k);
    ck_assert_double_eq(a[ST_MA_TOPK], 2);
    ck_assert_double_eq_tol(st_metrics_value(&ms, 0, a), 2.0 / 3, 1e-12);
    ck_assert_int_eq(st_metrics_check_head(&ms, 1, "x"), ST_ERR);
    ck_assert_int_eq(st_metrics_check_head(&ms, 6, "x"), ST_OK);
    free(a);
}
END_TEST

START_TEST(sequence_heads_count_real_steps) {
    /* T = 2, B = 2, K = 1 time-major logits; step 1 of row 1 is padding */
    float z[4] = {1, 1, -1, 5};
    int32_t y[4] = {1, 1, 0, 1}; /* (B, T) */
    uint8_t mask[4] = {1, 1, 1, 0};
    double *a = counts();
    st_metrics_update(a, ST_ACT_SIGMOID, z, y, mask, 2, 2, 1, 5);
    ck_assert_double_eq(a[ST_MA_COUNT], 3);
    ck_assert_double_eq(a[ST_MA_CORRECT], 1); /* (0,0) right, (0,1) wrong, (1,0) wrong */
    double cm[4] = {0};
    st_confusion_update(cm, ST_ACT_SIGMOID, z, y, mask, 2, 2, 1);
    ck_assert_double_eq(cm[0 * 2 + 1], 1); /* row 1 step 0: true 0, predicted 1 */
    ck_assert_double_eq(cm[1 * 2 + 0], 1); /* row 0 step 1: true 1, predicted 0 */
    ck_assert_double_eq(cm[1 * 2 + 1], 1);
    free(a);
}
END_TEST

START_TEST(report_on_known_matrix) {
    /* rows true, columns predicted */
    const double cm[9] = {5, 1, 0, 2, 3, 1, 0, 0, 4};
    st_class_stats per[3], ma, wa;
    double acc;
    st_report_compute(cm, 3, per, &ma, &wa, &acc);
    const double P[3] = {5.0 / 7, 3.0 / 4, 4.0 / 5}, R[3] = {5.0 / 6, 1.0 / 2, 1.0};
    const double F[3] = {10.0 / 13, 3.0 / 5, 8.0 / 9}, S[3] = {6, 6, 4};
    for (int c = 0; c < 3; c++) {
        ck_assert_double_eq_tol(per[c].precision, P[c], 1e-12);
        ck_assert_double_eq_tol(per[c].recall, R[c], 1e-12);
        ck_assert_double_eq_tol(per[c].f1, F[c], 1e-12);
        ck_assert_double_eq(per[c].support, S[c]);
    }
    ck_assert_double_eq_tol(acc, 12.0 / 16, 1e-12);
    ck_assert_double_eq_tol(ma.precision, (P[0] + P[1] + P[2]) / 3, 1e-12);
    ck_assert_double_eq_tol(ma.f1, (F[0] + F[1] + F[2]) / 3, 1e-12);
    ck_assert_double_eq_tol(wa.recall, (6 * R[0] + 6 * R[1] + 4 * R[2]) / 16, 1e-12);
    ck_assert_double_eq_tol(wa.f1, (6 * F[0] + 6 * F[1] + 4 * F[2]) / 16, 1e-12);
    ck_assert_double_eq(ma.support, 16);
    /* a class never predicted and never present: zeros, not NaN (zero_division = 0) */
    const double cm2[4] = {3, 0, 0, 0};
    st_class_stats p2[2], m2, w2;
    st_report_compute(cm2, 2, p2, &m2, &w2, &acc);
    ck_assert_double_eq(p2[1].precision, 0);
    ck_assert_double_eq(p2[1].f1, 0);
    ck_assert_double_eq_tol(m2.precision, 0.5, 1e-12);
}
END_TEST

START_TEST(confusion_binary_and_softmax) {
    float z[4] = {2, -1, 0.5f, -3};
    int32_t y[4] = {1, 1, 0, 0};
    double cm[4] = {0};
    st_confusion_update(cm, ST_ACT_SIGMOID, z, y, NULL, 4, 1, 1);
    ck_assert_double_eq(cm[0], 1);
    ck_assert_double_eq(cm[1], 1);
    ck_assert_double_eq(cm[2], 1);
    ck_assert_double_eq(cm[3], 1);
    float z3[6] = {0, 1, 0, 3, 2, 1};
    int32_t y3[2] = {1, 2};
    double cm3[9] = {0};
    st_confusion_update(cm3, ST_ACT_SOFTMAX, z3, y3, NULL, 2, 1, 3);
    ck_assert_double_eq(cm3[1 * 3 + 1], 1);
    ck_assert_double_eq(cm3[2 * 3 + 0], 1);
    ck_assert_int_eq(st_confusion_classes(1), 2);
}
END_TEST

START_TEST(parse_errors_and_history_csv) {
    st_metrics ms;
    ck_assert_int_eq(st_metrics_parse("accuracy, f1", 5, &ms), ST_ERR);
    ck_assert(strstr(st_error_get(), "unknown metric 'f1'"));
    /* an empty name between commas, after the last one or before the first */
    const char *empty[] = {"accuracy,,auc", "accuracy, , auc", "auc,", ", auc"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(st_metrics_parse(empty[i], 5, &ms), ST_ERR);
        ck_assert_msg(strstr(st_error_get(), "an empty name in the list of metrics"), "%s",
                      st_error_get());
    }
    ck_assert_int_eq(st_metrics_parse("", 5, &ms), ST_OK);
    ck_assert_int_eq(ms.n, 0);
    ck_assert_int_eq(st_metrics_parse("auc", 5, &ms), ST_OK);
    st_history h;
    st_history_init(&h, &ms, 1);
    ck_assert_int_eq(h.ncols, 10);
    ck_assert_int_eq(st_history_col(&h, "val_auc"), 6);
    double row[10] = {1, 0.5, 0.75, 0.8, 0.4, 0.7, NAN, 0.001, 1000, 2.5};
    st_history_append(&h, row);
    const char *path = st_test_path("history.csv");
    ck_assert_int_eq(st_history_write_csv(&h, path), ST_OK);
    FILE *f = fopen(path, "r");
    char line[512];
    ck_assert(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "epoch,loss,accuracy,auc,val_loss,val_accuracy,val_auc,lr,"
                           "samples_per_s,seconds\n");
    ck_assert(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "1,0.5,0.75,0.8,0.4,0.7,,0.001,1000,2.5\n");
    fclose(f);
    st_history_free(&h);
}
END_TEST

int main(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, auc_matches_keras_definition);
    tcase_add_test(tc, auc_extremes_and_pairs);
    tcase_add_test(tc, precision_recall_accuracy);
    tcase_add_test(tc, top_k);
    tcase_add_test(tc, sequence_heads_count_real_steps);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("report");
    tcase_add_test(tr, report_on_known_matrix);
    tcase_add_test(tr, confusion_binary_and_softmax);
    tcase_add_test(tr, parse_errors_and_history_csv);
    suite_add_tcase(s, tr);
    return st_test_run(s);
}
