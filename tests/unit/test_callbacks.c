/*
 * test_callbacks.c - the callbacks' decisions on scripted metric sequences, checked against
 * what Keras's EarlyStopping, ModelCheckpoint(save_best_only) and ReduceLROnPlateau do on the
 * same sequences (traced by hand from keras/callbacks/), the state round trip that resume
 * relies on, and the learning-rate schedules.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include "seqtrain/config.h"
#include "train/callbacks.h"
#include "testutil.h"

static st_callbacks_cfg base_cfg(void) {
    st_callbacks_cfg c;
    memset(&c, 0, sizeof c);
    strcpy(c.es_monitor, "val_loss");
    strcpy(c.sb_monitor, "val_loss");
    strcpy(c.rl_monitor, "val_loss");
    c.rl_factor = 0.1f;
    c.rl_patience = 10;
    c.rl_min_delta = 1e-4f;
    return c;
}

/* Runs early stopping over v; returns the epoch it stopped at (-1: never). */
static int run_es(st_callbacks *cb, const double *v, int n, int *restored, int *kept) {
    *restored = 0;
    *kept = 0;
    for (int e = 0; e < n; e++) {
        st_cb_actions a;
        st_callbacks_epoch_end(cb, e, v[e], NAN, NAN, &a);
        *kept |= a.keep_best << e;
        if (a.stop) {
            *restored = a.restore_best;
            return e;
        }
    }
    return -1;
}

START_TEST(early_stopping_min_patience) {
    st_callbacks_cfg c = base_cfg();
    c.early_stopping = 1;
    c.es_patience = 2;
    c.es_restore_best = 1;
    st_callbacks cb;
    st_callbacks_init(&cb, &c, 0.001);
    const double v[6] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.5};
    int restored, kept;
    ck_assert_int_eq(run_es(&cb, v, 6, &restored, &kept), 3);
    ck_assert_int_eq(restored, 1);
    ck_assert_int_eq(kept, 0x3); /* best weights kept after epochs 0 and 1 */
    ck_assert_int_eq(cb.es_best_epoch, 1);
    ck_assert_double_eq(cb.es_best, 0.9);
}
END_TEST

START_TEST(early_stopping_min_delta_and_max_mode) {
    st_callbacks_cfg c = base_cfg();
    c.early_stopping = 1;
    c.es_patience = 1;
    c.es_min_delta = 0.1f;
    st_callbacks cb;
    st_callbacks_init(&cb, &c, 0.001);
    const double v[3] = {1.0, 0.95, 0.5};
    int restored, kept;
    /* 0.95 is better by less than min_delta: no improvement, patience 1 is used up */
    ck_assert_int_eq(run_es(&cb, v, 3, &restored, &kept), 1);
    ck_assert_int_eq(restored, 0);

    c = base_cfg();
    c.early_stopping = 1;
    c.es_patience = 1;
    strcpy(c.es_monitor, "val_accuracy"); /* auto: max */
    st_callbacks_init(&cb, &c, 0.001);
    ck_assert_int_eq(cb.es_max, 1);
    const double a[4] = {0.5, 0.6, 0.55, 0.9};
    ck_assert_int_eq(run_es(&cb, a, 4, &restored, &kept), 2);

    /* mode = min overrides the name */
    c.es_mode = ST_MODE_MIN;
    st_callbacks_init(&cb, &c, 0.001);
    ck_assert_int_eq(run_es(&cb, a, 4, &restored, &kept), 1);
}
END_TEST

START_TEST(early_stopping_patience_zero_and_nan) {
    st_callbacks_cfg c = base_cfg();
    c.early_stopping = 1;
    st_callbacks cb;
    st_callbacks_init(&cb, &c, 0.001);
    const double v[4] = {1.0, NAN, 0.5, 0.7};
    int restored, kept;
    /* epoch 1's NaN is skipped (missing value), epoch 2 improves, epoch 3 stops at once */
    ck_assert_int_eq(run_es(&cb, v, 4, &restored, &kept), 3);
    /* the first epoch never stops, whatever the patience (Keras: epoch > 0) */
    st_callbacks_init(&cb, &c, 0.001);
    const double w[1] = {NAN};
    ck_assert_int_eq(run_es(&cb, w, 1, &restored, &kept), -1);
}
END_TEST

START_TEST(save_best_only) {
    st_callbacks_cfg c = base_cfg();
    c.save_best = 1;
    strcpy(c.sb_monitor, "val_auc");
    st_callbacks cb;
    st_callbacks_init(&cb, &c, 0.001);
    const double v[5] = {0.5, 0.7, 0.6, 0.7, 0.8};
    int saved = 0;
    for (int e = 0; e < 5; e++) {
        st_cb_actions a;
        st_callbacks_epoch_end(&cb, e, NAN, v[e], NAN, &a);
        saved |= a.save_best << e;
        ck_assert_int_eq(a.stop, 0);
    }
    ck_assert_int_eq(saved, 0x13); /* epochs 0, 1, 4 (an equal value does not save) */
}
END_TEST

START_TEST(reduce_lr_on_plateau) {
    st_callbacks_cfg c = base_cfg();
    c.reduce_lr = 1;
    c.rl_factor = 0.5f;
    c.rl_patience = 2;
    c.rl_cooldown = 1;
    c.rl_min_lr = 0.02f;
    st_callbacks cb;
    st_callbacks_init(&cb, &c, 0.1);
    /* a flat loss: improve once, then reduce every patience + cooldown epochs down to min_lr */
    const double want[10] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02};
    for (int e = 0; e < 10; e++) {
        st_cb_actions a;
        st_callbacks_epoch_end(&cb, e, NAN, NAN, 1.0, &a);
        ck_assert_msg(fabs(cb.lr - want[e]) < 1e-7, "epoch %d: lr %g, want %g", e, cb.lr,
                      want[e]);
        ck_assert_int_eq(a.lr_reduced, e == 2 || e == 4 || e == 6);
    }
    /* an improvement larger than min_delta resets the wait */
    st_callbacks_init(&cb, &c, 0.1);
    const double v[5] = {1.0, 0.99995, 0.9, 0.9, 0.9};
    for (int e = 0; e < 5; e++) {
        st_cb_actions a;
        st_callbacks_epoch_end(&cb, e, NAN, NAN, v[e], &a);
        ck_assert_int_eq(a.lr_reduced, e == 4); /* e1 waits (below min_delta), e2 improves */
    }
}
END_TEST

START_TEST(state_round_trip_resumes_exactly) {
    st_callbacks_cfg c = base_cfg();
    c.early_stopping = 1;
    c.es_patience = 3;
    c.reduce_lr = 1;
    c.rl_patience = 1;
    c.save_best = 1;
    const double v[8] = {1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77};
    st_callbacks a, b;
    st_callbacks_init(&a, &c, 0.01);
    int stop_a = -1, stop_b = -1;
    for (int e = 0; e < 8 && stop_a < 0; e++) {
        st_cb_actions x;
        st_callbacks_epoch_end(&a, e, v[e], v[e], v[e], &x);
        if (x.stop) stop_a = e;
    }
    /* three epochs, "checkpoint", a fresh object, the rest */
    st_callbacks_init(&b, &c, 0.01);
    for (int e = 0; e < 3; e++) {
        st_cb_actions x;
        st_callbacks_epoch_end(&b, e, v[e], v[e], v[e], &x);
    }
    double st[ST_CB_STATE_N];
    st_callbacks_pack(&b, st);
    st_callbacks_init(&b, &c, 0.01);
    st_callbacks_unpack(&b, st);
    for (int e = 3; e < 8 && stop_b < 0; e++) {
        st_cb_actions x;
        st_callbacks_epoch_end(&b, e, v[e], v[e], v[e], &x);
        if (x.stop) stop_b = e;
    }
    ck_assert_int_eq(stop_a, 7);
    ck_assert_int_eq(stop_b, stop_a);
    ck_assert_double_eq(a.lr, b.lr);
    ck_assert(a.lr < 0.01);
    ck_assert_double_eq(a.sb_best, b.sb_best);
}
END_TEST

START_TEST(lr_schedules) {
    st_train_cfg t;
    memset(&t, 0, sizeof t);
    t.decay_steps = 10;
    t.decay_rate = 0.5f;
    ck_assert_double_eq(st_lr_at(&t, 0.1, 12345), 0.1); /* constant */
    t.lr_schedule = ST_LR_STEP;
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 9), 0.1, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 10), 0.05, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 25), 0.025, 1e-12);
    t.lr_schedule = ST_LR_EXPONENTIAL;
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 5), 0.1 * sqrt(0.5), 1e-12);
    t.staircase = 1;
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 5), 0.1, 1e-12);
    t.lr_schedule = ST_LR_COSINE;
    t.decay_steps = 100;
    t.alpha = 0.1f;
    const double half = 0.1 * ((1 - (double)0.1f) * 0.5 + (double)0.1f); /* cos(pi/2) = 0 */
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 0), 0.1, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 50), half, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 100), 0.1 * (double)0.1f, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 1000), 0.1 * (double)0.1f, 1e-12);
    /* linear warm-up, then the schedule from its start */
    t.warmup_steps = 4;
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 0), 0.025, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 3), 0.1, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 4), 0.1, 1e-12);
    ck_assert_double_eq_tol(st_lr_at(&t, 0.1, 54), half, 1e-12);
}
END_TEST

START_TEST(monitor_modes) {
    ck_assert_int_eq(st_monitor_maximize("val_auc", ST_MODE_AUTO), 1);
    ck_assert_int_eq(st_monitor_maximize("precision", ST_MODE_AUTO), 1);
    ck_assert_int_eq(st_monitor_maximize("val_loss", ST_MODE_AUTO), 0);
    ck_assert_int_eq(st_monitor_maximize("val_loss", ST_MODE_MAX), 1);
    ck_assert_int_eq(st_monitor_maximize("val_accuracy", ST_MODE_MIN), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("callbacks");
    TCase *te = tcase_create("early_stopping");
    tcase_add_test(te, early_stopping_min_patience);
    tcase_add_test(te, early_stopping_min_delta_and_max_mode);
    tcase_add_test(te, early_stopping_patience_zero_and_nan);
    suite_add_tcase(s, te);
    TCase *to = tcase_create("others");
    tcase_add_test(to, save_best_only);
    tcase_add_test(to, reduce_lr_on_plateau);
    tcase_add_test(to, state_round_trip_resumes_exactly);
    tcase_add_test(to, lr_schedules);
    tcase_add_test(to, monitor_modes);
    suite_add_tcase(s, to);
    return st_test_run(s);
}
