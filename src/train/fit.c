/*
 * fit.c - the epoch loop: `seqtrain train`. Per epoch: the schedule (schedule.c) orders the
 * rows, every step is st_run_step (step.c: forward, backward, one allreduce, the update), then
 * end_epoch runs validation, appends the history row, lets the callbacks decide, writes
 * history.csv / metrics.jsonl and the checkpoint.
 *
 * Every rank runs the same number of steps (ceil(N / batch_size)), so collectives always match.
 * Only rank 0 prints and writes; every write's outcome is agreed on by all ranks, so a failed
 * save stops every rank together.
 *
 * Not here: the step (step.c), the loop's state in checkpoints (fit_state.c), metrics.jsonl
 * (metrics_log.c), inference (infer.c), the math of layers (src/layers), file formats
 * (src/io), MPI (src/dist).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/checkpoint.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "train/loss.h"
#include "seqtrain/metrics.h"
#include "model/model.h"
#include "seqtrain/trace.h"
#include "seqtrain/train.h"
#include "train/fit.h"
#include "train/callbacks.h"
#include "train/infer.h"
#include "train/preempt.h"
#include "train/progress.h"
#include "train/resume_check.h"
#include "train/settings.h"
#include "train/step.h"

/* mkdir -p for the checkpoint directory (rank 0 only). */
static int make_dirs(const char *path) {
    char buf[2 * ST_PATH_MAX]; /* room for any string the compiler cannot bound */
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) goto fail;
    return ST_OK;
fail:
    st_error_set("%s: cannot create checkpoint directory: %s", buf, strerror(errno));
    return ST_ERR;
}

/* Each callback's monitor must be a column of the history (val_ ones need validation data). */
static int check_monitor(const st_history *h, const char *key, const char *monitor, int *col,
                         const char *origin) {
    *col = st_history_col(h, monitor);
    if (*col >= 0 && strcmp(monitor, "epoch") != 0) return ST_OK;
    char have[1024] = "";
    size_t used = 0;
    for (int i = 1; i < h->ncols && used < sizeof have; i++)
        used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", i > 1 ? ", " : "",
                                 h->col[i]);
    st_error_set("%s: [callbacks] %s = %s: this run has no such metric (it has: %s%s)", origin,
                 key, monitor, have,
                 strncmp(monitor, "val_", 4) == 0 ? "; val_ metrics need validation data" : "");
    return ST_ERR;
}

/* attention_dump: the first K validation rows' attention weights after an epoch, as
 * /attention (K, T) in attention-epoch-NNNN.h5 (the layout of `predict --attention`).
 * Collective: each rank runs its share of the K rows, rank 0 gathers and writes. */
static int dump_attention(st_run *R, int64_t epoch) {
    const st_split *vs = R->valid.x >= 0 ? &R->valid : &R->train;
    size_t k = (size_t)R->set->cb.attention_dump < R->nval ? (size_t)R->set->cb.attention_dump
                                                            : R->nval;
    size_t T = (size_t)vs->T, got = 0;
    float *mine = st_malloc((k / (size_t)R->size + 2) * T * sizeof(float));
    float *all = R->rank == 0 ? st_malloc((k + 1) * T * sizeof(float)) : NULL;
    double v[3];
    int rc = st_eval_split(&R->model, R->loss, vs, R->val_lo, k, &R->batch, mine, R->rows, v, NULL,
                        &got, NULL);
    if (rc == ST_OK) {
        st_dist_gather_f32(mine, got * T, all);
        int wrc = ST_OK;
        if (R->rank == 0) {
            char path[ST_PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/attention-epoch-%04lld.h5", R->set->ckpt.dir,
                     (long long)epoch + 1);
            size_t dims[2] = {k, T};
            wrc = st_array_write(path, "attention", all, 2, dims);
        }
        rc = st_dist_any_error(wrc);
    }
    st_free(mine);
    st_free(all);
    return rc;
}

/* Everything after an epoch's last step: metrics, validation, history, callbacks, the epoch
 * line, the logs and the checkpoint. *stop: early stopping ended training. Collective. */
static int end_epoch(st_run *R, st_fit_ctx *F, st_train_state *ts, double t0, double samples,
                     int *stop) {
    const st_settings *set = R->set;
    st_model *m = &R->model;
    double train_secs = st_time() - t0;
    /* Training metrics are the running mean over the epoch's batches, as Keras reports
     * them (weights change during the epoch), not a re-evaluation at its end. */
    double tr_loss = ts->partial[2] > 0 ? ts->partial[0] / ts->partial[2] : 0;
    double tr_acc = ts->partial[2] > 0 ? ts->partial[1] / ts->partial[2] : 0;
    const int nm = F->ms.n;
    double tm[ST_METRICS_MAX], vm[ST_METRICS_MAX];
    if (R->macc) {
        st_dist_allreduce_sum_f64(R->macc, ST_MA_N);
        for (int i = 0; i < nm; i++) tm[i] = st_metrics_value(&F->ms, i, R->macc);
        memset(R->macc, 0, ST_MA_N * sizeof(double));
    }
    double v[3] = {0, 0, 0};
    if (R->has_valid) {
        const st_split *vs = R->valid.x >= 0 ? &R->valid : &R->train;
        double *vacc = nm ? st_malloc(ST_MA_N * sizeof(double)) : NULL;
        st_eval_extra ex = {vacc, R->top_k, NULL, 0};
        int rc = st_eval_split(m, R->loss, vs, R->val_lo, R->nval, &R->batch, NULL, R->rows, v,
                            NULL, NULL, &ex);
        for (int i = 0; rc == ST_OK && i < nm; i++) vm[i] = st_metrics_value(&F->ms, i, vacc);
        st_free(vacc);
        if (rc != ST_OK) return rc;
    }
    double secs = st_time() - t0, sps = train_secs > 0 ? samples / train_secs : 0;
    double lr = R->opt.cfg.learning_rate;

    /* The history row, in the column order of st_history_init. */
    double row[ST_HISTORY_COLS];
    int c = 0;
    row[c++] = (double)ts->epoch + 1;
    row[c++] = tr_loss;
    row[c++] = tr_acc;
    for (int i = 0; i < nm; i++) row[c++] = tm[i];
    if (R->has_valid) {
        row[c++] = v[2] > 0 ? v[0] / v[2] : NAN;
        row[c++] = v[2] > 0 ? v[1] / v[2] : NAN;
        for (int i = 0; i < nm; i++) row[c++] = v[2] > 0 ? vm[i] : NAN;
    }
    row[c++] = lr;
    row[c++] = sps;
    row[c++] = secs;
    st_history_append(&F->hist, row);

    /* The epoch line: " - loss: ... - accuracy: ... - val_loss: ..." */
    char line[1024];
    size_t n = 0;
    for (int j = 1; j < F->hist.ncols - 3; j++)
        n += (size_t)snprintf(line + n, sizeof line - n, " - %s: %.4f", F->hist.col[j], row[j]);
    if (st_log_level >= ST_LOG_DEBUG)
        snprintf(line + n, sizeof line - n, " - lr: %.4g", lr);

    /* Callbacks: the same reduced values on every rank, hence the same decisions. */
    st_cb_actions act;
    st_callbacks_epoch_end(&F->cb, ts->epoch, F->es_col >= 0 ? row[F->es_col] : NAN,
                           F->sb_col >= 0 ? row[F->sb_col] : NAN,
                           F->rl_col >= 0 ? row[F->rl_col] : NAN, &act);
    st_progress_epoch_end(&F->prog, line, sps, secs);

    st_train_state done_ts = *ts;
    done_ts.epoch = ts->epoch + 1;
    done_ts.step_in_epoch = 0;
    memset(done_ts.partial, 0, sizeof done_ts.partial);
    int rc = ST_OK;
    if (act.save_best && set->ckpt.dir[0]) {
        ST_LOG(ST_LOG_INFO, "Epoch %lld: %s improved to %.5f, saving %s/best.h5\n",
               (long long)ts->epoch + 1, set->cb.sb_monitor, F->cb.sb_best, set->ckpt.dir);
        rc = st_fit_save(R, F, &done_ts, 1, "best.h5");
        if (rc != ST_OK) return rc;
    }
    if (act.keep_best) memcpy(F->best_w, m->params, m->nparams * sizeof(float));
    if (act.lr_reduced)
        ST_LOG(ST_LOG_INFO, "Epoch %lld: ReduceLROnPlateau reducing learning rate to %g.\n",
               (long long)ts->epoch + 1, F->cb.lr);
    if (act.stop) {
        ST_LOG(ST_LOG_INFO, "Epoch %lld: early stopping (%s did not improve for %lld epochs; "
               "best %.5f at epoch %lld)\n", (long long)ts->epoch + 1, set->cb.es_monitor,
               (long long)F->cb.es_wait, F->cb.es_best, (long long)F->cb.es_best_epoch + 1);
        if (act.restore_best) {
            ST_LOG(ST_LOG_INFO, "Restoring model weights from the end of the best epoch: "
                   "%lld.\n", (long long)F->cb.es_best_epoch + 1);
            memcpy(m->params, F->best_w, m->nparams * sizeof(float));
        }
        *stop = 1;
    }

    st_metrics_log_epoch(R, F, ts, row, set->ckpt.dir[0] != 0);
    int wrc = ST_OK;
    if (R->rank == 0 && set->ckpt.dir[0]) {
        char path[ST_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/history.csv", set->ckpt.dir);
        wrc = st_history_write_csv(&F->hist, path);
    }
    if (st_dist_any_error(wrc) != ST_OK) return ST_ERR;
    memset(F->t_epoch, 0, sizeof F->t_epoch);

    if (set->ckpt.dir[0]) {
        rc = st_fit_save(R, F, &done_ts, 1, NULL);
        if (rc == ST_OK && set->cb.attention_dump > 0) rc = dump_attention(R, ts->epoch);
    }
    return rc;
}

/* Training diverged at step ts->step_in_epoch of epoch ts->epoch (what: the invalid loss or the
 * weight, as a phrase). Every rank sees the same reduced loss and the same weights, so every
 * rank comes here at the same step. Nothing is saved from here on: the last checkpoint written
 * holds the last good weights. terminate_on_nan: one line and a normal end (Keras's
 * TerminateOnNaN); else an error. */
static int diverged(const st_settings *set, const st_train_state *ts, const char *what) {
    if (set->cb.terminate_on_nan) {
        ST_LOG(ST_LOG_WARN, "Epoch %lld, batch %lld: %s, terminating training "
               "(terminate_on_nan)%s%s\n", (long long)ts->epoch + 1,
               (long long)ts->step_in_epoch + 1, what,
               set->ckpt.dir[0] ? "; nothing saved from this step on, earlier checkpoints "
                                  "are in " : "", set->ckpt.dir);
        return ST_OK;
    }
    st_error_set("%s at epoch %lld step %lld: training diverged (lower learning_rate or set "
                 "clipnorm)%s%s%s", what, (long long)ts->epoch + 1,
                 (long long)ts->step_in_epoch + 1,
                 set->ckpt.dir[0] ? "; nothing saved from this step on (earlier checkpoints "
                                    "are in " : "", set->ckpt.dir, set->ckpt.dir[0] ? ")" : "");
    return st_dist_any_error(ST_ERR);
}

/* A stop signal reached some rank (tail[ST_TAIL_STOP] of them) and every rank agreed on it at
 * this step; the step checkpoint (if any) is written. One line, then ST_FIT_PREEMPTED. */
static int preempted(const st_run *R, const st_train_state *ts, float nranks) {
    const st_settings *set = R->set;
    int sig = st_preempt_signal();
    char saved[ST_PATH_MAX + 96] = "no [checkpoint] dir: nothing saved";
    if (set->ckpt.dir[0])
        snprintf(saved, sizeof saved, "checkpoint saved; resume with --resume %s", set->ckpt.dir);
    ST_LOG(ST_LOG_WARN, "Epoch %lld, step %lld: stopping on a signal (%s%s%d of %d ranks); %s; "
           "exit %d\n", (long long)ts->epoch + 1, (long long)ts->step_in_epoch,
           sig ? st_preempt_name(sig) : "", sig ? " on rank 0, " : "", (int)nranks, R->size,
           saved, ST_FIT_PREEMPTED);
    return ST_FIT_PREEMPTED;
}

int st_fit(st_config *cfg, const char *resume) {
    st_run R;
    st_fit_ctx F;
    st_settings S;
    const st_settings *set = &S;
    memset(&F, 0, sizeof F);
    memset(&R, 0, sizeof R);
    if (st_dist_any_error(st_settings_resolve(&S, cfg)) != ST_OK) return ST_ERR;
    st_dist_set_timeouts(S.train.collective_timeout, S.train.startup_timeout);
    if (st_run_open(&R, cfg, set) != ST_OK) {
        st_run_close(&R);
        return ST_ERR;
    }
    st_model *m = &R.model;
    const st_train_cfg *tc = &set->train;
    const int Bg = tc->batch_size;
    const int64_t steps = (int64_t)((R.ntrain + (size_t)Bg - 1) / (size_t)Bg);
    st_train_state ts = {0, 0, 0, tc->seed, {0, 0, 0}};
    int rc = ST_OK, stop = 0, stop_signal = 0, lock = -1; /* lock: [checkpoint] dir's, rank 0 */
    /* From here on a stop signal is only recorded; the first step after it ends the run. */
    if ((rc = st_dist_any_error(st_preempt_install(tc->stop_signals))) != ST_OK) goto done;
    /* What the data is, not how its path is spelled: saved with every checkpoint, compared on
     * resume (resume_check.h). Every rank reads its own file: a differing copy is refused. */
    if ((rc = st_dist_any_error(st_data_identity(&R, F.data_id))) != ST_OK) goto done;

    /* Metrics, history columns and callback monitors: the same verdict on every rank. */
    F.ms = tc->metrics;
    rc = st_metrics_check_head(&F.ms, m->num_outputs, cfg->origin);
    st_history_init(&F.hist, &F.ms, R.has_valid);
    st_callbacks_init(&F.cb, &set->cb, tc->optim.learning_rate);
    F.es_col = F.sb_col = F.rl_col = -1;
    if (rc == ST_OK && set->cb.early_stopping)
        rc = check_monitor(&F.hist, "early_stopping.monitor", set->cb.es_monitor, &F.es_col,
                           cfg->origin);
    if (rc == ST_OK && set->cb.save_best)
        rc = check_monitor(&F.hist, "model_checkpoint.monitor", set->cb.sb_monitor, &F.sb_col,
                           cfg->origin);
    if (rc == ST_OK && set->cb.reduce_lr)
        rc = check_monitor(&F.hist, "reduce_lr_on_plateau.monitor", set->cb.rl_monitor,
                           &F.rl_col, cfg->origin);
    if (rc == ST_OK && set->cb.save_best && !set->ckpt.dir[0]) {
        st_error_set("%s: [callbacks] model_checkpoint.save_best_only needs [checkpoint] dir "
                     "(best.h5 is written there)", cfg->origin);
        rc = ST_ERR;
    }
    if (rc == ST_OK && set->cb.attention_dump > 0) {
        int has = st_model_attention(m) != NULL;
        if (!has || !R.has_valid || !set->ckpt.dir[0]) {
            st_error_set("%s: [callbacks] attention_dump = %d needs an attention layer, "
                         "validation data and [checkpoint] dir", cfg->origin,
                         set->cb.attention_dump);
            rc = ST_ERR;
        }
    }
    if (st_dist_any_error(rc) != ST_OK) goto done;
    if (st_metrics_need_update(&F.ms)) R.macc = st_malloc(ST_MA_N * sizeof(double));
    R.top_k = F.ms.top_k;
    if (set->cb.early_stopping && set->cb.es_restore_best)
        F.best_w = st_malloc(m->nparams * sizeof(float));

    /* Identical initial weights: every rank draws the same counter-based values, and rank 0's
     * copy is broadcast anyway so that no platform difference can ever split the replicas. */
    st_model_init(m, tc->seed);
    /* Pre-trained embedding vectors: rank 0 reads them, the broadcast below copies them. */
    rc = R.rank == 0 ? st_model_load_pretrained(m, &R.ds) : ST_OK;
    if (st_dist_any_error(rc) != ST_OK) goto done;
    st_dist_bcast(m->params, m->nparams * sizeof(float), 0);

    if (resume) {
        char path[ST_PATH_MAX];
        rc = st_ckpt_resolve(resume, path, sizeof path);
        /* The checkpoint's config against this one: a changed model or dataset is named
         * before the loader's shape checks; a changed position in the epoch once its train
         * state is known (resume_check.h has the table). */
        if (rc == ST_OK) rc = st_resume_check(path, cfg, set, F.data_id, NULL);
        if (rc == ST_OK) rc = st_ckpt_load(path, m, &R.opt, &ts);
        if (rc == ST_OK) rc = st_resume_check(path, cfg, set, F.data_id, &ts);
        if (rc == ST_OK) rc = st_fit_load_state(path, &R, &F, &ts);
        if (st_dist_any_error(rc) != ST_OK) goto done;
        ST_LOG(ST_LOG_INFO, "Resumed from %s: epoch %lld, step %lld of %lld\n", path,
               (long long)ts.epoch, (long long)ts.step_in_epoch, (long long)steps);
        if (set->cb.early_stopping && F.cb.es_stopped) {
            ST_LOG(ST_LOG_INFO, "Early stopping already ended this run (best %s %.5f at epoch "
                   "%lld); set [callbacks] early_stopping = false to train on\n",
                   set->cb.es_monitor, F.cb.es_best, (long long)F.cb.es_best_epoch + 1);
            goto done;
        }
    }
    if (set->ckpt.dir[0] && R.rank == 0) {
        /* The lock comes before the first write (a second job on the same directory stops
         * here, before it could prune or overwrite a file) and after the resume's reads, so
         * that a refused resume leaves no directory behind. */
        rc = make_dirs(set->ckpt.dir);
        if (rc == ST_OK) rc = st_ckpt_lock(set->ckpt.dir, &lock);
        if (rc == ST_OK && !resume) rc = st_ckpt_dir_check(set->ckpt.dir);
        if (rc == ST_OK) rc = st_metrics_log_open(&F, set->ckpt.dir, resume != NULL, R.size);
        char path[2 * ST_PATH_MAX];
        /* history.csv is rewritten from the checkpoint's rows: it continues exactly where the
         * checkpoint stands, whatever a later, abandoned run appended. */
        snprintf(path, sizeof path, "%s/history.csv", set->ckpt.dir);
        if (rc == ST_OK && resume) rc = st_history_write_csv(&F.hist, path);
    }
    if (st_dist_any_error(rc) != ST_OK) goto done;

    ST_LOG(ST_LOG_INFO, "Training on %zu samples (validating on %zu), %d rank%s, global batch "
           "%d, %lld steps per epoch\n", R.ntrain, R.nval, R.size, R.size > 1 ? "s" : "", Bg,
           (long long)steps);
    ST_LOG(ST_LOG_INFO, "%s, core %s (%s); CPU %s\n", st_blas_library(), st_blas_core(),
           st_blas_core_how(), st_cpu_get()->name);
    st_blas_agree(R.block_rows > 0);
    {
        int verbose = st_log_level >= ST_LOG_DEBUG;
        int every = tc->log_every_steps > 0 ? tc->log_every_steps
                                            : (int)(steps >= 10 ? steps / 10 : 1);
        st_progress_init(&F.prog, st_progress_mode_auto(), verbose ? every : 0, tc->epochs,
                         steps);
    }

    for (; ts.epoch < tc->epochs && !stop; ts.epoch++, ts.step_in_epoch = 0) {
        double t0 = st_time(), samples = 0;
        /* The batches depend only on (seed, epoch) and the data: a resumed run rebuilds them. */
        st_schedule_epoch(&R, ts.seed, ts.epoch, tc->shuffle);
        st_progress_epoch_begin(&F.prog, ts.epoch, ts.step_in_epoch);
        F.t_log_start = t0;

        R.batch.seed = ts.seed; /* dropout masks: (seed, epoch, sample id) */
        R.batch.epoch = ts.epoch;
        for (; ts.step_in_epoch < steps; ts.step_in_epoch++) {
            double td = st_time();
            size_t first = R.bstart[ts.step_in_epoch];
            int bg = (int)(R.bstart[ts.step_in_epoch + 1] - first);
            int lo, hi;
            st_run_shard(&R, bg, &lo, &hi);
            for (int i = lo; i < hi; i++) R.rows[i - lo] = R.perm[first + (size_t)i];

            R.batch.T = R.train.T; /* a trimmed batch (or validation) may have left it shorter */
            R.batch.yT = R.train.yT;
            double tdr = st_trace_on() ? st_time() : 0;
            int lrc = st_split_read(&R.train, R.rows, hi - lo, &R.batch);
            if (lrc == ST_OK) st_schedule_trim(&R, ts.step_in_epoch, &R.batch);
            if (tdr > 0) st_trace_add("data", "data", tdr, st_time());
            /* The schedule is a function of the update count, which checkpoints carry. */
            R.opt.cfg.learning_rate = (float)st_lr_at(tc, F.cb.lr, R.opt.iterations);
            float tail[ST_TAIL_N];
            st_phase_times pt = {st_time() - td, 0, 0, 0, 0, 0};
            rc = st_run_step(&R, hi - lo, bg, lrc, tail, &pt);
            if (rc == ST_STEP_NONFINITE) {
                /* The loss was finite (a relu head can hide NaN weights from it), but the
                 * update was not: the weights in memory are never saved. */
                char what[512];
                snprintf(what, sizeof what, "the weights became NaN or inf (%s)",
                         st_error_get());
                rc = diverged(set, &ts, what);
                goto done;
            }
            if (rc != ST_OK) goto done;
            double tp[4] = {pt.data, pt.fwd_bwd, pt.allreduce, pt.optim};
            for (int i = 0; i < 4; i++) {
                F.t_epoch[i] += tp[i];
                F.t_log[i] += tp[i];
            }
            if (!isfinite(tail[ST_TAIL_LOSS])) {
                /* The update was not applied (step.c); the weights are the last good ones. */
                char what[64];
                snprintf(what, sizeof what, "invalid loss (%g)", (double)tail[ST_TAIL_LOSS]);
                rc = diverged(set, &ts, what);
                goto done;
            }
            ts.partial[0] += tail[ST_TAIL_LOSS];
            ts.partial[1] += tail[ST_TAIL_CORRECT];
            ts.partial[2] += tail[ST_TAIL_COUNT];
            samples += bg;
            F.samples_log += bg;
            ts.global_step++;
            if (F.prog.mode != ST_PROGRESS_OFF) {
                double n = ts.partial[2], el = st_time() - t0;
                st_progress_step(&F.prog, ts.step_in_epoch + 1, n > 0 ? ts.partial[0] / n : 0,
                                 n > 0 ? ts.partial[1] / n : 0, el > 0 ? samples / el : 0);
            }
            if (set->ckpt.dir[0] && tc->log_every_steps > 0 &&
                ts.global_step % tc->log_every_steps == 0)
                st_metrics_log_step(&R, &F, &ts);
            /* A stop signal, agreed at this step: a step checkpoint now, or after the last
             * step of an epoch the epoch's own checkpoint (end_epoch), then the exit. */
            const int last = ts.step_in_epoch + 1 == steps, sig = tail[ST_TAIL_STOP] > 0;
            if (set->ckpt.dir[0] && !last &&
                (sig || (set->ckpt.every_steps > 0 &&
                         ts.global_step % set->ckpt.every_steps == 0))) {
                /* Saved state must say "this step is done". */
                ts.step_in_epoch++;
                rc = st_fit_save(&R, &F, &ts, 0, NULL);
                if (rc == ST_OK && sig) rc = preempted(&R, &ts, tail[ST_TAIL_STOP]);
                ts.step_in_epoch--;
                if (rc != ST_OK) goto done;
            }
            if (sig && !set->ckpt.dir[0] && !last) {
                ts.step_in_epoch++;
                rc = preempted(&R, &ts, tail[ST_TAIL_STOP]);
                goto done;
            }
            if (sig) stop_signal = (int)tail[ST_TAIL_STOP];
        }
        rc = end_epoch(&R, &F, &ts, t0, samples, &stop);
        if (rc == ST_OK && stop_signal && !stop && ts.epoch + 1 < tc->epochs) {
            ts.epoch++;
            ts.step_in_epoch = 0;
            rc = preempted(&R, &ts, (float)stop_signal);
        }
        if (rc != ST_OK) goto done;
        memset(ts.partial, 0, sizeof ts.partial);
    }
done:
    st_preempt_restore();
    st_metrics_log_close(&F);
    st_ckpt_unlock(&lock);
    st_free(R.macc);
    R.macc = NULL;
    st_free(F.best_w);
    st_history_free(&F.hist);
    st_run_close(&R);
    return rc;
}
