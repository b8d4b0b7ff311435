/*
 * fit_state.c - what a checkpoint holds besides weights and optimizer state, so that a resumed
 * run reports and decides exactly as an uninterrupted one: the history so far
 * (/history/<column>, one vector per column), the callbacks' state (/callbacks/state, the
 * ST_CB_STATE_N numbers of st_callbacks_pack), the best weights of restore_best_weights
 * (/callbacks/best_weights) and the metric counts of a half-done epoch
 * (/train_state/metrics, ST_MA_N doubles, summed over the ranks), and the training data's
 * identity (/train_state/data_identity, resume_check.h), which a resume compares.
 *
 * Not here: the checkpoint file format itself (src/io/ckpt.c, through ckpt.h), the loop.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/trace.h"
#include "train/fit.h"

/* Rank 0 writes, everyone agrees on the outcome. The history, the callbacks' state and the
 * epoch's metric counts so far go into the file, so a resumed run reports and decides as an
 * uninterrupted one. The metric counts are per rank: they are summed here (collective) so the
 * file holds the global counts. name != NULL: that file in the directory (best.h5). */
int st_fit_save(st_run *R, st_fit_ctx *F, const st_train_state *ts, int epoch_end,
                const char *name) {
    const st_ckpt_cfg *c = &R->set->ckpt;
    double t0 = st_time();
    double *mac = NULL;
    if (R->macc) {
        mac = st_malloc(ST_MA_N * sizeof(double));
        if (!epoch_end) {
            memcpy(mac, R->macc, ST_MA_N * sizeof(double));
            st_dist_allreduce_sum_f64(mac, ST_MA_N);
        }
    }
    int rc = ST_OK;
    st_optim_gather(&R->opt); /* sharded: rank 0 writes every rank's optimizer state */
    if (R->rank == 0) {
        char path[ST_PATH_MAX + 64];
        if (name)
            snprintf(path, sizeof path, "%s/%s", c->dir, name);
        else if (epoch_end)
            snprintf(path, sizeof path, "%s/epoch-%04lld.h5", c->dir, (long long)ts->epoch);
        else
            snprintf(path, sizeof path, "%s/step-%08lld.h5", c->dir, (long long)ts->global_step);
        /* history columns (column-major copies), callback state, metric counts, best weights */
        const st_history *h = &F->hist;
        int64_t rows = h->nrows < ts->epoch ? h->nrows : ts->epoch;
        st_ckpt_vec vec[ST_HISTORY_COLS + 4];
        char vname[ST_HISTORY_COLS][64];
        double *cols = st_malloc(((size_t)rows * h->ncols + 1) * sizeof(double));
        double cbs[ST_CB_STATE_N];
        int nv = 0;
        for (int j = 0; j < h->ncols; j++) {
            for (int64_t r = 0; r < rows; r++)
                cols[(size_t)j * rows + r] = h->v[(size_t)r * h->ncols + j];
            snprintf(vname[j], sizeof vname[j], "/history/%s", h->col[j]);
            vec[nv++] = (st_ckpt_vec){vname[j], cols + (size_t)j * rows, (size_t)rows, 0};
        }
        st_callbacks_pack(&F->cb, cbs);
        vec[nv++] = (st_ckpt_vec){"/callbacks/state", cbs, ST_CB_STATE_N, 0};
        if (F->best_w && F->cb.es_have_best)
            vec[nv++] = (st_ckpt_vec){"/callbacks/best_weights", F->best_w, R->model.nparams,
                                      ST_CKPT_F32};
        if (mac) vec[nv++] = (st_ckpt_vec){"/train_state/metrics", mac, ST_MA_N, 0};
        vec[nv++] = (st_ckpt_vec){ST_DATA_ID_NAME, F->data_id, ST_DATA_ID_N, ST_CKPT_I64};
        char *text = st_config_text(R->cfg);
        double tc0 = st_trace_on() ? st_time() : 0;
        rc = st_ckpt_save_ex(path, &R->model, &R->opt, ts, text, vec, nv);
        if (tc0 > 0) st_trace_add("checkpoint", "checkpoint", tc0, st_time());
        st_free(text); /* st_config_text: st_malloc */
        st_free(cols);
        st_optim_gather_free(&R->opt);
        if (rc == ST_OK && !name && c->keep > 0) rc = st_ckpt_prune(c->dir, c->keep);
    }
    st_free(mac);
    double dt = st_time() - t0;
    F->t_epoch[4] += dt;
    F->t_log[4] += dt;
    return st_dist_any_error(rc);
}

/* The callbacks' state is numbers from a file: counters must be whole, in range of the epochs
 * done (they are cast to int64), flags 0 or 1, the learning rate finite and not negative. Best
 * values may be +-inf (nothing seen yet) but not NaN. */
static int check_cb_state(const char *path, const double *v, int64_t epoch) {
    static const char *const name[ST_CB_STATE_N] = {
        "es_best", "es_wait", "es_best_epoch", "es_stopped", "es_have_best",
        "sb_best", "rl_best", "rl_wait", "rl_cooldown", "lr"};
    for (int i = 0; i < ST_CB_STATE_N; i++) {
        double x = v[i], hi = (double)epoch;
        int ok;
        switch (i) {
        case 0: case 5: case 6: ok = !isnan(x); break;
        case 3: case 4: ok = x == 0 || x == 1; break;
        case 9: ok = isfinite(x) && x >= 0; break;
        /* wait counters and the best epoch (-1 is never written; 0.. epoch) */
        case 1: case 2: case 7: ok = x >= 0 && x <= hi && x == floor(x); break;
        default: ok = x >= 0 && x <= INT32_MAX && x == floor(x); break; /* cooldown */
        }
        if (!ok) {
            st_error_set("%s: /callbacks/state[%d] (%s) = %g is out of range (damaged file?)",
                         path, i, name[i], x);
            return ST_ERR;
        }
    }
    return ST_OK;
}

/* Reads what a checkpoint holds besides the weights: history rows (the first ts->epoch),
 * callback state, best weights, and (rank 0) the metric counts of a half-done epoch. Every
 * rank reads the same file, so every rank gets the same state. ts (read by st_ckpt_load) is
 * checked against this run first: every count below is the file's word until then. */
int st_fit_load_state(const char *path, st_run *R, st_fit_ctx *F, const st_train_state *ts) {
    const st_train_cfg *tc = &R->set->train;
    const int64_t steps = (int64_t)((R->ntrain + (size_t)tc->batch_size - 1) /
                                    (size_t)tc->batch_size);
    if (st_ckpt_check_progress(path, ts, tc->epochs, steps, (int64_t)R->ntrain) != ST_OK)
        return ST_ERR;
    const int64_t epochs = ts->epoch; /* <= [train] epochs: bounds every count below */
    st_history *h = &F->hist;
    double *cols[ST_HISTORY_COLS] = {0};
    size_t len[ST_HISTORY_COLS] = {0};
    int rc = ST_OK;
    for (int j = 0; rc == ST_OK && j < h->ncols; j++) {
        char name[96];
        snprintf(name, sizeof name, "/history/%s", h->col[j]);
        rc = st_ckpt_read_vec(path, name, 0, (size_t)epochs, (void **)&cols[j], &len[j]);
    }
    for (int64_t r = 0; rc == ST_OK && r < epochs; r++) {
        double row[ST_HISTORY_COLS];
        for (int j = 0; j < h->ncols; j++)
            row[j] = (size_t)r < len[j] ? cols[j][r] : (j == 0 ? (double)r + 1 : NAN);
        st_history_append(h, row);
    }
    for (int j = 0; j < h->ncols; j++) st_free(cols[j]);
    void *v = NULL;
    size_t n = 0;
    if (rc == ST_OK) rc = st_ckpt_read_vec(path, "/callbacks/state", 0, ST_CB_STATE_N, &v, &n);
    if (rc == ST_OK && n == ST_CB_STATE_N) {
        rc = check_cb_state(path, v, epochs);
        /* The callbacks' configuration is the resuming run's; only their state is restored. */
        if (rc == ST_OK) st_callbacks_unpack(&F->cb, v);
        if (!R->set->cb.reduce_lr) F->cb.lr = R->set->train.optim.learning_rate;
    }
    st_free(v);
    v = NULL;
    if (rc == ST_OK && F->best_w) {
        rc = st_ckpt_read_vec(path, "/callbacks/best_weights", ST_CKPT_F32, R->model.nparams, &v, &n);
        if (rc == ST_OK && n == R->model.nparams)
            memcpy(F->best_w, v, n * sizeof(float));
        else
            F->cb.es_have_best = 0; /* kept again from the next epoch on */
        st_free(v);
        v = NULL;
    }
    if (rc == ST_OK && R->macc) {
        rc = st_ckpt_read_vec(path, "/train_state/metrics", 0, ST_MA_N, &v, &n);
        if (rc == ST_OK && n == ST_MA_N && R->rank == 0) memcpy(R->macc, v, n * sizeof(double));
        st_free(v);
    }
    return rc;
}
