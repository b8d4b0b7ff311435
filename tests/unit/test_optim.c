/*
 * test_optim.c - optimizer updates against values computed by hand from Keras' formulas (first
 * and second steps of SGD, momentum, Nesterov, RMSprop with and without momentum, Adam),
 * clipping per tensor and globally, frozen tensors, and the optimizer's config keys (which
 * optimizer owns which key).
 */
#include <math.h>

#include <string.h>

#include "testutil.h"
#include "train/settings.h"

static st_optim make(st_opt_kind k, float lr, size_t n) {
    st_optim_cfg c;
    st_optim_cfg_defaults(&c, k);
    c.learning_rate = lr;
    st_optim o;
    st_optim_init(&o, &c, n);
    return o;
}

START_TEST(sgd_plain_and_momentum) {
    st_optim o = make(ST_OPT_SGD, 0.1f, 1);
    float w = 1, g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL);
    ck_assert_float_eq_tol(w, 0.95f, 1e-7f);
    st_optim_free(&o);

    st_optim_cfg c;
    st_optim_cfg_defaults(&c, ST_OPT_SGD);
    c.learning_rate = 0.1f;
    c.momentum = 0.9f;
    st_optim_init(&o, &c, 1);
    w = 1;
    g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* m = -0.05, w = 0.95 */
    g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* m = -0.095, w = 0.855 */
    ck_assert_float_eq_tol(w, 0.855f, 1e-6f);
    st_optim_free(&o);

    c.nesterov = 1;
    st_optim_init(&o, &c, 1);
    w = 1;
    g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* m = -0.05; w += 0.9*m - 0.05 = -0.095 */
    ck_assert_float_eq_tol(w, 0.905f, 1e-6f);
    g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* m = -0.095; w += 0.9*m - 0.05 = -0.1355 */
    ck_assert_float_eq_tol(o.state[0][0], -0.095f, 1e-7f);
    ck_assert_float_eq_tol(w, 0.7695f, 1e-6f);
    st_optim_free(&o);
}
END_TEST

START_TEST(rmsprop_keras) {
    st_optim o = make(ST_OPT_RMSPROP, 0.001f, 1);
    float w = 1, g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL);
    /* v = 0.1 * 0.25 = 0.025; w -= 0.001 * 0.5 / sqrt(0.025 + 1e-7) */
    ck_assert_float_eq_tol(w, 1.0f - 0.001f * 0.5f / sqrtf(0.025f + 1e-7f), 1e-7f);
    ck_assert_float_eq_tol(o.state[0][0], 0.025f, 1e-8f);
    /* second step, same g: v = 0.9 * 0.025 + 0.1 * 0.25 = 0.0475 */
    float w1 = w, v1 = o.state[0][0];
    g = 0.5f;
    st_optim_step(&o, &w, &g, NULL, 0, NULL);
    /* the same float operations in the same order: bitwise equal */
    const float v2 = 0.9f * v1 + (1 - 0.9f) * 0.5f * 0.5f;
    ck_assert_float_eq(o.state[0][0], v2);
    ck_assert_float_eq_tol(v2, 0.0475f, 1e-7f); /* 1 - 0.9f is not exactly 0.1 */
    ck_assert_float_eq(w, w1 - 0.001f * 0.5f / sqrtf(v2 + 1e-7f));
    st_optim_free(&o);

    /* momentum (Keras): mom = momentum * mom + lr g / sqrt(v + eps); w -= mom */
    st_optim_cfg c;
    st_optim_cfg_defaults(&c, ST_OPT_RMSPROP);
    c.learning_rate = 0.01f;
    c.momentum = 0.5f;
    st_optim_init(&o, &c, 1);
    ck_assert_int_eq(o.nstate, 2);
    w = 1;
    g = -2;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* v = 0.4; inc = 0.01 * -2 / sqrt(0.4 + 1e-7) */
    double inc1 = 0.01 * -2 / sqrt(0.4 + 1e-7);
    ck_assert_float_eq_tol(w, (float)(1 - inc1), 1e-6f);
    g = -2;
    st_optim_step(&o, &w, &g, NULL, 0, NULL); /* v = 0.76; mom = 0.5 inc1 + inc2 */
    double mom = 0.5 * inc1 + 0.01 * -2 / sqrt(0.76 + 1e-7);
    ck_assert_float_eq_tol(w, (float)(1 - inc1 - mom), 1e-6f);
    st_optim_free(&o);
}
END_TEST

START_TEST(adam_keras) {
    st_optim o = make(ST_OPT_ADAM, 0.001f, 2);
    float w[2] = {1, -1}, g[2] = {0.5f, -2};
    st_optim_step(&o, w, g, NULL, 0, NULL);
    /* First step: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001)/0.1, so
     * w -= lr * g/|g| / (1 + eps/(sqrt(0.001)|g|))  ~= lr * sign(g). */
    ck_assert_float_eq_tol(w[0], 1.0f - 0.001f / (1 + 1e-7f / (0.0316228f * 0.5f)), 1e-6f);
    ck_assert_float_eq_tol(w[1], -1.0f + 0.001f, 1e-6f);
    /* Second step with the same gradient: m = 0.19 g, v = 0.001999 g^2,
     * lr_t = 0.001 sqrt(1-0.999^2) / (1-0.81). */
    g[0] = 0.5f;
    g[1] = -2;
    float w0 = w[0];
    st_optim_step(&o, w, g, NULL, 0, NULL);
    double m = 0.19 * 0.5, v = 0.001999 * 0.25;
    double lrt = 0.001 * sqrt(1 - 0.999 * 0.999) / (1 - 0.81);
    ck_assert_float_eq_tol(w[0], (float)(w0 - lrt * m / (sqrt(v) + 1e-7)), 1e-6f);
    /* the second step is lr * sqrt(1 - b2^2) / (1 - b1^2) * 0.19 / sqrt(0.001999) ~= lr * 0.9995
     * times sign(g), whatever |g| */
    ck_assert_float_eq_tol(w[1], (float)(-1.0 + 0.001 + lrt * 0.19 * 2 / (sqrt(0.001999) * 2 +
                                                                        1e-7)), 1e-6f);
    ck_assert_int_eq(o.iterations, 2);
    st_optim_free(&o);
}
END_TEST

START_TEST(clipnorm_per_tensor_and_global) {
    st_tensor_range r[2] = {{0, 2}, {2, 2}};
    st_optim_cfg c;
    st_optim_cfg_defaults(&c, ST_OPT_SGD);
    c.learning_rate = 1;
    c.clipnorm = 1;
    st_optim o;
    st_optim_init(&o, &c, 4);
    float w[4] = {0, 0, 0, 0}, g[4] = {3, 4, 0.3f, 0.4f}; /* norms 5 and 0.5 */
    st_optim_step(&o, w, g, r, 2, NULL);
    ck_assert_float_eq_tol(w[0], -0.6f, 1e-6f);
    ck_assert_float_eq_tol(w[1], -0.8f, 1e-6f);
    ck_assert_float_eq_tol(w[2], -0.3f, 1e-6f); /* under the limit: untouched */
    st_optim_free(&o);

    c.clipnorm = 0;
    c.global_clipnorm = 1;
    st_optim_init(&o, &c, 4);
    float w2[4] = {0, 0, 0, 0}, g2[4] = {3, 4, 0, 0}; /* global norm 5 */
    st_optim_step(&o, w2, g2, r, 2, NULL);
    ck_assert_float_eq_tol(w2[0], -0.6f, 1e-6f);
    ck_assert_float_eq_tol(w2[1], -0.8f, 1e-6f);
    st_optim_free(&o);
}
END_TEST

START_TEST(frozen_tensor_untouched) {
    st_tensor_range r[2] = {{0, 1}, {1, 1}};
    uint8_t tr[2] = {0, 1};
    st_optim o = make(ST_OPT_ADAM, 0.1f, 2);
    float w[2] = {1, 1}, g[2] = {1, 1};
    st_optim_step(&o, w, g, r, 2, tr);
    ck_assert_float_eq(w[0], 1.0f);
    ck_assert_float_eq(o.state[0][0], 0.0f); /* a frozen tensor's state stays zero too */
    /* Adam's first step: lr * g / (|g| + eps / sqrt(1 - b2)) = 0.1 / (1 + 1e-7 / sqrt(0.001)) */
    ck_assert_float_eq_tol(w[1], (float)(1.0 - 0.1 / (1 + 1e-7 / sqrt(0.001))), 1e-7f);
    st_optim_free(&o);
}
END_TEST

/* The key table: an option of another optimizer is refused, naming the ones that have it;
 * optimizer resets the defaults; learning_rate records that it was given. */
START_TEST(config_keys) {
    st_optim_cfg c;
    st_optim_cfg_defaults(&c, ST_OPT_RMSPROP);
    ck_assert_int_eq(st_optim_cfg_set_kind(&c, "adam"), ST_OK);
    ck_assert_int_eq(c.kind, ST_OPT_ADAM);
    ck_assert_int_eq(st_optim_cfg_set(&c, "rho", "0.9"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "rho = 0.9: not an option of optimizer adam (only of rmsprop)");
    ck_assert_int_eq(st_optim_cfg_set(&c, "momentum", "0.9"), ST_ERR);
    ck_assert_str_eq(st_error_get(),
                     "momentum = 0.9: not an option of optimizer adam (only of sgd and rmsprop)");
    ck_assert_int_eq(st_optim_cfg_set(&c, "beta_1", "0.8"), ST_OK);
    ck_assert_float_eq(c.beta_1, 0.8f);
    ck_assert_int_eq(st_optim_cfg_set(&c, "beta_2", "1"), ST_ERR);
    ck_assert_int_eq(c.lr_set, 0);
    ck_assert_int_eq(st_optim_cfg_set(&c, "learning_rate", "0.5"), ST_OK);
    ck_assert_int_eq(c.lr_set, 1);
    ck_assert_int_eq(st_optim_cfg_set(&c, "epochs", "3"), ST_ENOKEY);
    ck_assert_int_eq(st_optim_cfg_set_kind(&c, "adamw"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "optimizer = adamw: must be one of sgd, rmsprop, adam");
    ck_assert_int_eq(st_optim_cfg_set_kind(&c, "sgd"), ST_OK);
    ck_assert_float_eq(c.learning_rate, 0.01f); /* sgd's default again */
    ck_assert_int_eq(st_optim_cfg_set(&c, "nesterov", "on"), ST_OK);
    ck_assert_int_eq(c.nesterov, 1);
    char buf[256];
    ck_assert(strncmp(st_optim_cfg_keys(buf, sizeof buf), "optimizer, learning_rate, ", 26) == 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("updates");
    tcase_add_test(tc, sgd_plain_and_momentum);
    tcase_add_test(tc, rmsprop_keras);
    tcase_add_test(tc, adam_keras);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("clipping");
    tcase_add_test(tk, clipnorm_per_tensor_and_global);
    tcase_add_test(tk, frozen_tensor_untouched);
    suite_add_tcase(s, tk);
    TCase *tkeys = tcase_create("keys");
    tcase_add_test(tkeys, config_keys);
    suite_add_tcase(s, tkeys);
    return st_test_run(s);
}
