/*
 * callbacks.c - Keras callbacks as pure decisions, and the learning-rate schedules.
 *
 * Each callback follows its Keras implementation line by line (keras/callbacks/):
 *   EarlyStopping      wait += 1; an improvement (monitor_op(current - min_delta, best), with
 *                      min_delta signed by the mode) resets wait and records best; otherwise,
 *                      once wait >= patience and epoch > 0, training stops, restoring the best
 *                      weights when restore_best_weights (kept from the first epoch on).
 *   ModelCheckpoint    save_best_only: save when current beats best (strictly, no min_delta).
 *   ReduceLROnPlateau  cooldown counts down; an improvement (current < best - min_delta for
 *                      min) resets wait; otherwise outside cooldown wait += 1 and at patience
 *                      lr = max(lr * factor, min_lr) (when lr > min_lr), cooldown starts.
 * A missing or NaN value makes the callback skip the epoch (Keras warns and returns).
 * The state is plain numbers (st_callbacks_pack) so checkpoints carry it and a resumed run
 * takes the same decisions. Nothing here communicates: the caller hands every rank the same
 * reduced values.
 */
#include <math.h>
#include <string.h>

#include "seqtrain/train.h"

int st_monitor_maximize(const char *monitor, int mode) {
    if (mode == ST_MODE_MIN) return 0;
    if (mode == ST_MODE_MAX) return 1;
    return strstr(monitor, "acc") || strstr(monitor, "auc") || strstr(monitor, "precision") ||
           strstr(monitor, "recall");
}

void st_callbacks_init(st_callbacks *cb, const st_callbacks_cfg *cfg, double lr) {
    memset(cb, 0, sizeof *cb);
    cb->cfg = *cfg;
    cb->es_max = st_monitor_maximize(cfg->es_monitor, cfg->es_mode);
    cb->sb_max = st_monitor_maximize(cfg->sb_monitor, cfg->sb_mode);
    cb->rl_max = st_monitor_maximize(cfg->rl_monitor, cfg->rl_mode);
    cb->es_best = cb->es_max ? -INFINITY : INFINITY;
    cb->sb_best = cb->sb_max ? -INFINITY : INFINITY;
    cb->rl_best = cb->rl_max ? -INFINITY : INFINITY;
    cb->lr = lr;
}

static void early_stopping(st_callbacks *cb, int64_t epoch, double cur, st_cb_actions *a) {
    const st_callbacks_cfg *c = &cb->cfg;
    if (isnan(cur)) return;
    if (c->es_restore_best && !cb->es_have_best) {
        a->keep_best = 1;
        cb->es_have_best = 1;
    }
    cb->es_wait++;
    double d = c->es_min_delta;
    int better = cb->es_max ? cur - d > cb->es_best : cur + d < cb->es_best;
    if (better) {
        cb->es_best = cur;
        cb->es_best_epoch = epoch;
        if (c->es_restore_best) a->keep_best = 1;
        cb->es_wait = 0;
        return;
    }
    if (cb->es_wait >= c->es_patience && epoch > 0) {
        cb->es_stopped = 1;
        a->stop = 1;
        a->restore_best = c->es_restore_best && cb->es_have_best;
    }
}

static void save_best(st_callbacks *cb, double cur, st_cb_actions *a) {
    if (isnan(cur)) return;
    if (cb->sb_max ? cur > cb->sb_best : cur < cb->sb_best) {
        cb->sb_best = cur;
        a->save_best = 1;
    }
}

static void reduce_lr(st_callbacks *cb, double cur, st_cb_actions *a) {
    const st_callbacks_cfg *c = &cb->cfg;
    if (isnan(cur)) return;
    if (cb->rl_cooldown > 0) {
        cb->rl_cooldown--;
        cb->rl_wait = 0;
    }
    double d = c->rl_min_delta;
    int better = cb->rl_max ? cur > cb->rl_best + d : cur < cb->rl_best - d;
    if (better) {
        cb->rl_best = cur;
        cb->rl_wait = 0;
    } else if (cb->rl_cooldown <= 0) {
        cb->rl_wait++;
        if (cb->rl_wait >= c->rl_patience) {
            /* Keras compares in float32: lr > np.float32(min_lr) */
            if ((float)cb->lr > (float)c->rl_min_lr) {
                double nl = cb->lr * c->rl_factor;
                if (nl < c->rl_min_lr) nl = c->rl_min_lr;
                a->lr_reduced = 1;
                a->old_lr = cb->lr;
                cb->lr = nl;
                cb->rl_cooldown = c->rl_cooldown;
                cb->rl_wait = 0;
            }
        }
    }
}

void st_callbacks_epoch_end(st_callbacks *cb, int64_t epoch, double es, double sb, double rl,
                            st_cb_actions *act) {
    memset(act, 0, sizeof *act);
    /* Keras runs callbacks in list order; ours is fixed: checkpoint (it saves the weights of
     * this epoch, before early stopping may restore older ones), early stopping, plateau. */
    if (cb->cfg.save_best) save_best(cb, sb, act);
    if (cb->cfg.early_stopping) early_stopping(cb, epoch, es, act);
    if (cb->cfg.reduce_lr) reduce_lr(cb, rl, act);
}

void st_callbacks_pack(const st_callbacks *cb, double out[ST_CB_STATE_N]) {
    out[0] = cb->es_best;
    out[1] = (double)cb->es_wait;
    out[2] = (double)cb->es_best_epoch;
    out[3] = cb->es_stopped;
    out[4] = cb->es_have_best;
    out[5] = cb->sb_best;
    out[6] = cb->rl_best;
    out[7] = (double)cb->rl_wait;
    out[8] = (double)cb->rl_cooldown;
    out[9] = cb->lr;
}

void st_callbacks_unpack(st_callbacks *cb, const double in[ST_CB_STATE_N]) {
    cb->es_best = in[0];
    cb->es_wait = (int64_t)in[1];
    cb->es_best_epoch = (int64_t)in[2];
    cb->es_stopped = (int)in[3];
    cb->es_have_best = (int)in[4];
    cb->sb_best = in[5];
    cb->rl_best = in[6];
    cb->rl_wait = (int64_t)in[7];
    cb->rl_cooldown = (int64_t)in[8];
    cb->lr = in[9];
}

double st_lr_at(const st_train_cfg *t, double base, int64_t it) {
    if (t->warmup_steps > 0) {
        if (it < t->warmup_steps) return base * (double)(it + 1) / t->warmup_steps;
        it -= t->warmup_steps;
    }
    double p = (double)it / (t->decay_steps > 0 ? t->decay_steps : 1);
    switch (t->lr_schedule) {
    case ST_LR_STEP: return base * pow(t->decay_rate, floor(p));
    case ST_LR_EXPONENTIAL: return base * pow(t->decay_rate, t->staircase ? floor(p) : p);
    case ST_LR_COSINE: {
        double q = p < 1 ? p : 1;
        double cosine = 0.5 * (1 + cos(M_PI * q));
        const double alpha = t->alpha;
        return base * ((1 - alpha) * cosine + alpha);
    }
    default: return base;
    }
}
