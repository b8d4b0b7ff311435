/*
 * test_loss.c - losses: known values, stability on huge logits, the exact gradients of the
 * fused pairs (softmax - onehot, sigmoid - y, 2 (z - y)), finite-difference gradients of every
 * loss under every head activation, and the accuracy count.
 */
#include <math.h>

#include "testutil.h"

static double loss_of(st_loss_kind k, st_act a, const float *z, const int32_t *y, int B, int K) {
    return st_loss_compute(k, a, z, y, B, K, 1.0f, NULL, NULL);
}

START_TEST(known_values) {
    float z0[1] = {0};
    int32_t y1[1] = {1};
    ck_assert_double_eq_tol(loss_of(ST_LOSS_BCE, ST_ACT_SIGMOID, z0, y1, 1, 1), log(2.0), 1e-9);
    float z3[3] = {0, 0, 0};
    int32_t y2[1] = {2};
    ck_assert_double_eq_tol(loss_of(ST_LOSS_SPARSE_CCE, ST_ACT_SOFTMAX, z3, y2, 1, 3), log(3.0),
                            1e-9);
    ck_assert_double_eq_tol(loss_of(ST_LOSS_CCE, ST_ACT_SOFTMAX, z3, y2, 1, 3), log(3.0), 1e-9);
    /* mse, linear head, one unit: (0.5 - 1)^2 */
    float zh[1] = {0.5f};
    ck_assert_double_eq_tol(loss_of(ST_LOSS_MSE, ST_ACT_LINEAR, zh, y1, 1, 1), 0.25, 1e-9);
    /* K sigmoid units against one-hot: mean of per-unit BCE */
    float zk[2] = {0, 0};
    int32_t y0[1] = {0};
    ck_assert_double_eq_tol(loss_of(ST_LOSS_BCE, ST_ACT_SIGMOID, zk, y0, 1, 2), log(2.0), 1e-9);
}
END_TEST

START_TEST(huge_logits_are_finite) {
    float z[3] = {1000, -1000, 0};
    int32_t y[1] = {1};
    float dz[3];
    double l = st_loss_compute(ST_LOSS_SPARSE_CCE, ST_ACT_SOFTMAX, z, y, 1, 3, 1, dz, NULL);
    ck_assert(isfinite(l));
    ck_assert_double_eq_tol(l, 2000.0, 1e-6);
    /* dz = softmax(z) - onehot(y), exactly: softmax is (1, 0, 0) to float precision */
    ck_assert_float_eq_tol(dz[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(dz[1], -1.0f, 1e-6f);
    ck_assert_float_eq_tol(dz[2], 0.0f, 1e-6f);
    float zb[1] = {-500};
    int32_t yb[1] = {1};
    l = st_loss_compute(ST_LOSS_BCE, ST_ACT_SIGMOID, zb, yb, 1, 1, 1, dz, NULL);
    ck_assert_double_eq_tol(l, 500.0, 1e-6);
    ck_assert_float_eq_tol(dz[0], -1.0f, 1e-6f);
}
END_TEST

/* The fused pairs' gradients are known in closed form: softmax + cross-entropy gives
 * dz = scale * (softmax(z) - onehot(y)), sigmoid + BCE gives dz = scale * (sigmoid(z) - y) / K,
 * linear + mse gives dz = scale * 2 (z - y) / K. scale = 1/B is what the step passes to turn
 * the sum into the batch mean. */
START_TEST(exact_gradients) {
    enum { B = 2, K = 3 };
    const float z[B * K] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
    const int32_t y[B] = {1, 0};
    float dz[B * K];
    st_loss_compute(ST_LOSS_SPARSE_CCE, ST_ACT_SOFTMAX, z, y, B, K, 1.0f / B, dz, NULL);
    for (int b = 0; b < B; b++) {
        double se = 0;
        for (int k = 0; k < K; k++) se += exp(z[b * K + k]);
        for (int k = 0; k < K; k++) {
            double want = (exp(z[b * K + k]) / se - (k == y[b])) / B;
            ck_assert_float_eq_tol(dz[b * K + k], (float)want, 1e-7f);
        }
    }
    /* categorical_crossentropy on a softmax head: the same gradient */
    float dc[B * K];
    st_loss_compute(ST_LOSS_CCE, ST_ACT_SOFTMAX, z, y, B, K, 1.0f / B, dc, NULL);
    for (int i = 0; i < B * K; i++) ck_assert_float_eq_tol(dc[i], dz[i], 1e-7f);

    /* sigmoid + BCE, one unit: sigmoid(z) - y over the batch size */
    const float zb[3] = {0.0f, 2.0f, -1.5f};
    const int32_t yb[3] = {1, 0, 1};
    float db[3];
    st_loss_compute(ST_LOSS_BCE, ST_ACT_SIGMOID, zb, yb, 3, 1, 1.0f / 3, db, NULL);
    for (int b = 0; b < 3; b++) {
        double want = (1.0 / (1.0 + exp(-zb[b])) - yb[b]) / 3;
        ck_assert_float_eq_tol(db[b], (float)want, 1e-7f);
    }
    ck_assert_float_eq_tol(db[0], -1.0f / 6, 1e-7f); /* sigmoid(0) = 1/2 */

    /* sigmoid + BCE, K units against one-hot: mean over the units */
    const float zk[2] = {0.0f, 0.0f};
    const int32_t yk[1] = {1};
    float dk[2];
    st_loss_compute(ST_LOSS_BCE, ST_ACT_SIGMOID, zk, yk, 1, 2, 1.0f, dk, NULL);
    ck_assert_float_eq_tol(dk[0], 0.25f, 1e-7f);  /* (1/2 - 0) / 2 */
    ck_assert_float_eq_tol(dk[1], -0.25f, 1e-7f); /* (1/2 - 1) / 2 */

    /* linear + mse, one unit: 2 (z - y) */
    const float zm[2] = {0.5f, 3.0f};
    const int32_t ym[2] = {1, 2};
    float dm[2];
    st_loss_compute(ST_LOSS_MSE, ST_ACT_LINEAR, zm, ym, 2, 1, 0.5f, dm, NULL);
    ck_assert_float_eq_tol(dm[0], -0.5f, 1e-7f); /* 0.5 * 2 * (0.5 - 1) */
    ck_assert_float_eq_tol(dm[1], 1.0f, 1e-7f);  /* 0.5 * 2 * (3 - 2) */
}
END_TEST

/* Central differences of the summed loss w.r.t. every logit, for one (loss, act, K). */
static void check_grad(st_loss_kind k, st_act a, int K) {
    enum { B = 4 };
    float z[B * 8], dz[B * 8];
    int32_t y[B];
    st_test_fill_uniform(z, (size_t)B * K, -2, 2, 11 + (uint64_t)K);
    for (int b = 0; b < B; b++) y[b] = K == 1 ? b % 2 : (b * 7 + 1) % K;
    float scale = 0.25f;
    st_loss_compute(k, a, z, y, B, K, scale, dz, NULL);
    float num[B * 8];
    const float eps = 1e-3f;
    for (int i = 0; i < B * K; i++) {
        float s = z[i];
        z[i] = s + eps;
        double lp = loss_of(k, a, z, y, B, K);
        z[i] = s - eps;
        double lm = loss_of(k, a, z, y, B, K);
        z[i] = s;
        num[i] = (float)(scale * (lp - lm) / (2 * eps));
    }
    char name[96];
    snprintf(name, sizeof name, "%s/%s/K=%d", st_loss_name(k), st_act_name(a), K);
    ck_assert_msg(st_test_close(name, dz, num, (size_t)B * K, 1e-2, 1e-4) <= 1, "%s", name);
}

START_TEST(gradients_every_pairing) {
    st_act acts[] = {ST_ACT_LINEAR, ST_ACT_SIGMOID, ST_ACT_TANH, ST_ACT_SOFTMAX};
    for (int ai = 0; ai < 4; ai++)
        for (int K = 1; K <= 3; K += 2) {
            st_act a = acts[ai];
            if (a == ST_ACT_SOFTMAX && K == 1) continue;
            check_grad(ST_LOSS_MSE, a, K);
            if (a == ST_ACT_SIGMOID || a == ST_ACT_SOFTMAX) check_grad(ST_LOSS_BCE, a, K);
            if (K > 1 && a == ST_ACT_SOFTMAX) {
                check_grad(ST_LOSS_SPARSE_CCE, a, K);
                check_grad(ST_LOSS_CCE, a, K);
            }
        }
    /* Cross-entropy on a sigmoid head with K units (not fused softmax): generic path. */
    check_grad(ST_LOSS_CCE, ST_ACT_SIGMOID, 3);
}
END_TEST

START_TEST(accuracy_count) {
    float z[4] = {2, -1, 0.5f, -3}; /* sigmoid logits */
    int32_t y[4] = {1, 0, 0, 0};
    double c = 0;
    st_loss_compute(ST_LOSS_BCE, ST_ACT_SIGMOID, z, y, 4, 1, 1, NULL, &c);
    ck_assert_double_eq(c, 3);
    float zs[6] = {1, 2, 3, 3, 2, 1};
    int32_t ys[2] = {2, 1};
    c = 0;
    st_loss_compute(ST_LOSS_SPARSE_CCE, ST_ACT_SOFTMAX, zs, ys, 2, 3, 1, NULL, &c);
    ck_assert_double_eq(c, 1);
}
END_TEST

START_TEST(names) {
    /* checkpoints and messages spell the kinds as Keras does */
    ck_assert_str_eq(st_loss_name(ST_LOSS_BCE), "binary_crossentropy");
    ck_assert_str_eq(st_loss_name(ST_LOSS_SPARSE_CCE), "sparse_categorical_crossentropy");
    ck_assert_str_eq(st_loss_name(ST_LOSS_CCE), "categorical_crossentropy");
    ck_assert_str_eq(st_loss_name(ST_LOSS_MSE), "mse");
}
END_TEST

int main(void) {
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, known_values);
    tcase_add_test(tc, huge_logits_are_finite);
    tcase_add_test(tc, accuracy_count);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("gradients");
    tcase_add_test(tg, exact_gradients);
    tcase_add_test(tg, gradients_every_pairing);
    suite_add_tcase(s, tg);
    return st_test_run(s);
}
