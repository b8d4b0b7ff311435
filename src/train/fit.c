/*
 * fit.c - the training loop, and evaluation / prediction of a checkpoint.
 *
 * Data parallelism, step by step (identical on every rank):
 *   1. the epoch's permutation is a pure function of (seed, epoch), so every rank knows every
 *      batch without communication, for any number of ranks;
 *   2. the GLOBAL batch (batch_size rows, fewer at the epoch's end) is split into balanced
 *      shards; each rank reads only its rows from the file (a rank may get none);
 *   3. forward and backward on the shard; the loss gradient is scaled by 1/global_rows so the
 *      summed gradients are the mean over the global batch (a sequence head, many-to-many:
 *      the mean over the REAL steps of the global batch, whose count arrives with the
 *      allreduce, so that scaling is applied after it). Layers with collectives inside
 *      (batch_norm) run on every rank, also on one without rows; dropout masks are keyed by
 *      (seed, epoch, global sample id), so neither depends on the number of ranks;
 *   4. ONE allreduce over the gradient buffer, whose tail also carries the loss sum, correct
 *      count, row count and an error flag (a bad row on one rank stops every rank, no hang);
 *   5. the same optimizer update everywhere.
 * Every rank runs the same number of steps (ceil(N / batch_size)), so collectives always match.
 * Only rank 0 prints and writes checkpoints; a failed save is agreed on by all ranks.
 *
 * Not here: the math of layers (src/layers), file formats (src/io), MPI (src/dist).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seqtrain/ckpt.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/loss.h"
#include "seqtrain/metrics.h"
#include "seqtrain/model.h"
#include "seqtrain/trace.h"
#include "seqtrain/train.h"
#include "train/run.h"


/* Checks that the head fits the loss and the labels; one clear line otherwise. Without this a
 * mismatch shows up only as a class id indexing past the head's outputs, deep in the loss. */
int st_run_check_head(const st_model *m, st_loss_kind loss, int num_classes, int y_steps,
                      const char *origin) {
    int K = m->num_outputs;
    /* Many-to-many needs labels per step and a head that keeps the time axis, and only then. */
    if (y_steps >= 0 && m->seq_out && y_steps == 0) {
        st_error_set("%s: the last layer (%s) outputs a sequence, but the labels y are one per "
                     "row: set return_sequences = false on the last recurrent layer, or give "
                     "y (N, T) labels per step", origin, m->layers[m->nlayers - 1].name);
        return ST_ERR;
    }
    if (y_steps > 0 && !m->seq_out) {
        st_error_set("%s: the labels y are per step (N, %d), but the last layer (%s) outputs "
                     "one vector per row: set return_sequences = true on the last recurrent "
                     "layer (a dense after it then applies to every step)", origin, y_steps,
                     m->layers[m->nlayers - 1].name);
        return ST_ERR;
    }
    if (num_classes < 0) return ST_OK; /* generated data: the classes follow the head */
    switch (loss) {
    case ST_LOSS_BCE:
        if (K == 1 && num_classes > 2) {
            st_error_set("%s: binary_crossentropy with one output unit needs 2 classes, the "
                         "dataset has num_classes = %d (use %d units with softmax and "
                         "sparse_categorical_crossentropy)", origin, num_classes, num_classes);
            return ST_ERR;
        }
        if (K > 1 && K != num_classes) {
            st_error_set("%s: the last layer has %d units but the dataset has num_classes = %d",
                         origin, K, num_classes);
            return ST_ERR;
        }
        break;
    case ST_LOSS_SPARSE_CCE:
    case ST_LOSS_CCE:
        if (K != num_classes) {
            st_error_set("%s: %s needs as many output units as classes: the last layer has %d, "
                         "the dataset has num_classes = %d", origin, st_loss_name(loss), K,
                         num_classes);
            return ST_ERR;
        }
        break;
    case ST_LOSS_MSE:
        if (K > 1 && K != num_classes) {
            st_error_set("%s: mse against one-hot labels needs %d output units, not %d", origin,
                         num_classes, K);
            return ST_ERR;
        }
        break;
    }
    return ST_OK;
}

/* mkdir -p for the checkpoint directory (rank 0 only). */
static int make_dirs(const char *path) {
    char buf[ST_PATH_MAX];
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

/* What an evaluation counts besides loss and accuracy: metric counts (macc, ST_MA_N) and a
 * confusion matrix (cm, C x C), both zeroed by the caller and reduced over the ranks here. */
typedef struct eval_extra {
    double *macc;
    int top_k;
    double *cm;
    int C;
} eval_extra;

/* Evaluates rows [lo, lo + n) of split s, sharded contiguously over the ranks. Evaluation has
 * no optimizer step, so ranks need not move in lock-step: each runs its shard in local batches
 * and the sums are reduced once at the end (one collective, whatever the shard sizes).
 * out: loss sum, correct, rows (global). pred != NULL: this rank's probabilities (its rows in
 * order) are written there. ex != NULL: its counts are added and reduced too (the same one
 * collective). Collective. */
static int eval_split(st_model *m, st_loss_kind loss, const st_split *s, size_t lo, size_t n,
                      st_batch *b, float *attn, size_t *rows, double out[3], float *pred,
                      size_t *my_n, const eval_extra *ex) {
    /* attn != NULL: this rank's rows' attention weights, (rows, T) row-major, from the first
     * attention layer (for `predict --attention`). */
    const st_layer *att = NULL;
    for (int i = 0; attn && i < m->nlayers && !att; i++)
        if (m->layers[i].ops == &st_attention_ops) att = &m->layers[i];
    int rank = st_dist_rank(), size = st_dist_size();
    size_t a = lo + n * (size_t)rank / (size_t)size, e = lo + n * (size_t)(rank + 1) / size;
    double acc[4] = {0, 0, 0, 0};
    int rc = ST_OK;
    int K = m->num_outputs, T = m->seq_out ? b->T : 1;
    for (size_t r = a; r < e && rc == ST_OK; r += (size_t)m->maxB) {
        int nb = (int)(e - r < (size_t)m->maxB ? e - r : (size_t)m->maxB);
        for (int i = 0; i < nb; i++) rows[i] = r + (size_t)i;
        b->T = s->T; /* the training loop may have trimmed the shared batch */
        b->yT = s->yT;
        rc = st_split_read(s, rows, nb, b);
        if (rc != ST_OK) break;
        const float *z = st_model_forward(m, b, 0);
        if (m->seq_out) {
            /* per real step: acc[2] counts steps, not rows */
            acc[0] += st_loss_compute_seq(loss, m->head_act, z, b->y, m->out_mask, nb, T, K,
                                          1.0f, NULL, &acc[1], &acc[2]);
        } else {
            acc[0] += st_loss_compute(loss, m->head_act, z, b->y, nb, K, 1.0f, NULL, &acc[1]);
            acc[2] += nb;
        }
        const uint8_t *mask = m->seq_out ? m->out_mask : NULL;
        if (ex && ex->macc)
            st_metrics_update(ex->macc, m->head_act, z, b->y, mask, nb, T, K, ex->top_k);
        if (ex && ex->cm) st_confusion_update(ex->cm, m->head_act, z, b->y, mask, nb, T, K);
        if (pred) {
            /* (nb, T, K) in row order; the head's output is time-major (T, nb, K) */
            float *p = pred + (r - a) * (size_t)T * K;
            for (int t = 0; t < T; t++)
                for (int i = 0; i < nb; i++)
                    st_loss_probs(m->head_act, z + ((size_t)t * nb + i) * K,
                                  p + ((size_t)i * T + t) * K, 1, K);
        }
        if (att) {
            /* (T, nb) time-major in the layer -> (nb, T) rows */
            const float *w = st_attention_weights(att);
            for (int i = 0; i < nb; i++)
                for (int t = 0; t < b->T; t++)
                    attn[(r - a + (size_t)i) * (size_t)b->T + (size_t)t] = w[(size_t)t * nb + i];
        }
    }
    acc[3] = rc != ST_OK;
    /* One reduction for everything: the four sums, then the metric counts, then the matrix. */
    size_t nm = ex && ex->macc ? ST_MA_N : 0, nc = ex && ex->cm ? (size_t)ex->C * ex->C : 0;
    double *all = st_malloc((4 + nm + nc) * sizeof(double));
    memcpy(all, acc, sizeof acc);
    if (nm) memcpy(all + 4, ex->macc, nm * sizeof(double));
    if (nc) memcpy(all + 4 + nm, ex->cm, nc * sizeof(double));
    st_dist_allreduce_sum_f64(all, 4 + nm + nc);
    memcpy(acc, all, sizeof acc);
    if (nm) memcpy(ex->macc, all + 4, nm * sizeof(double));
    if (nc) memcpy(ex->cm, all + 4 + nm, nc * sizeof(double));
    st_free(all);
    if (acc[3] > 0) return st_dist_any_error(rc);
    memcpy(out, acc, 3 * sizeof(double));
    if (my_n) *my_n = e - a;
    return ST_OK;
}

/* Opens data, builds the model and optimizer, all ranks; errors agreed collectively. */
static int run_open(st_run *R, st_config *cfg) {
    memset(R, 0, sizeof *R);
    R->cfg = cfg;
    R->rank = st_dist_rank();
    R->size = st_dist_size();
    R->ds.file = -1;
    R->train.x = R->train.y = R->valid.x = R->valid.y = -1;
    if (!cfg->data.path[0]) {
        st_error_set("%s: [data] path is required for training (seq_len and features only "
                     "describe generated data for --benchmark)", cfg->origin);
        return st_dist_any_error(ST_ERR);
    }
    int rc = st_dataset_open(&R->ds, cfg->data.path);
    if (rc == ST_OK) rc = st_split_open(&R->ds, cfg->data.train_split, &R->train);
    if (rc == ST_OK) {
        R->ntrain = R->train.n;
        if (cfg->data.validation_split > 0) {
            /* Keras: split_at = floor(N * (1 - validation_split)); the tail validates. */
            size_t at = (size_t)floor((double)R->train.n * (1.0 - cfg->data.validation_split));
            R->ntrain = at;
            R->val_lo = at;
            R->nval = R->train.n - at;
            R->has_valid = R->nval > 0;
        } else if (st_dataset_has_split(&R->ds, "valid")) {
            rc = st_split_open(&R->ds, "valid", &R->valid);
            R->val_lo = 0;
            R->nval = R->valid.n;
            R->has_valid = rc == ST_OK && R->nval > 0;
            if (rc == ST_OK && (R->valid.T != R->train.T || R->valid.F != R->train.F ||
                                R->valid.tokens != R->train.tokens)) {
                st_error_set("%s: /valid/x rows are (%d, %d) but /%s/x rows are (%d, %d)",
                             cfg->data.path, R->valid.T, R->valid.F, cfg->data.train_split,
                             R->train.T, R->train.F);
                rc = ST_ERR;
            }
        }
        if (rc == ST_OK && R->ntrain == 0) {
            st_error_set("%s: /%s has no training rows left (N = %zu, validation_split = %g)",
                         cfg->data.path, cfg->data.train_split, R->train.n,
                         cfg->data.validation_split);
            rc = ST_ERR;
        }
    }
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;

    rc = st_run_setup(R, cfg, st_split_shape(&R->train), R->ds.num_classes, R->train.yT);
    if (rc == ST_OK) st_batch_init(&R->batch, &R->train, R->model.maxB);
    R->perm = st_malloc((R->ntrain ? R->ntrain : 1) * sizeof(size_t));
    if (rc == ST_OK) rc = st_schedule_init(R);
    return rc;
}

/* Model, loss, optimizer and step buffers for inputs of `shape`; errors agreed. */
int st_run_setup(st_run *R, st_config *cfg, st_shape shape, int num_classes, int y_steps) {
    /* The largest shard of a global batch: every buffer is sized for it once, here. */
    int Bg = cfg->train.batch_size;
    int maxB = (Bg + R->size - 1) / R->size;
    int rc = st_model_build(&R->model, cfg, shape, maxB);
    if (rc == ST_OK && st_loss_parse(cfg->train.loss, &R->loss) != 0) {
        st_error_set("%s: [train] loss = %s: unknown loss", cfg->origin, cfg->train.loss);
        rc = ST_ERR;
    }
    if (rc == ST_OK)
        rc = st_run_check_head(&R->model, R->loss, num_classes, y_steps, cfg->origin);
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;

    st_optim_init(&R->opt, &cfg->train.optim, R->model.nparams);
    R->dz = st_malloc((size_t)maxB * (size_t)(R->model.seq_out ? R->model.maxT : 1) *
                      R->model.num_outputs * sizeof(float));
    R->rows = st_malloc((size_t)maxB * sizeof(size_t));
    return ST_OK;
}

void st_run_close(st_run *R) {
    st_free(R->dz);
    st_free(R->perm);
    st_free(R->bstart);
    st_free(R->span);
    st_free(R->scratch);
    st_free(R->rows);
    st_batch_free(&R->batch);
    st_optim_free(&R->opt);
    st_model_free(&R->model);
    if (R->valid.x >= 0) st_split_close(&R->valid);
    if (R->train.x >= 0) st_split_close(&R->train);
    if (R->ds.file >= 0) st_dataset_close(&R->ds);
}

/* What the loop reports and decides with, besides the st_run: metrics, history, callbacks,
 * progress, and the per-phase times for metrics.jsonl. */
typedef struct fit_ctx {
    st_metrics ms;
    st_history hist;
    st_callbacks cb;
    st_progress prog;
    float *best_w;       /* (nparams) restore_best_weights: the best epoch's weights */
    double *macc_resume; /* (ST_MA_N) rank 0: counts of the resumed epoch before the resume */
    FILE *jsonl;         /* rank 0: metrics.jsonl, or NULL */
    int es_col, sb_col, rl_col;
    /* seconds per phase: data, forward+backward, allreduce, optimizer, checkpoint */
    double t_epoch[5], t_log[5];
    double samples_log, t_log_start;
} fit_ctx;

/* Rank 0 writes, everyone agrees on the outcome. The history, the callbacks' state and the
 * epoch's metric counts so far go into the file, so a resumed run reports and decides as an
 * uninterrupted one. The metric counts are per rank: they are summed here (collective) so the
 * file holds the global counts. name != NULL: that file in the directory (best.h5). */
static int save(st_run *R, fit_ctx *F, const st_train_state *ts, int epoch_end, const char *name) {
    const st_ckpt_cfg *c = &R->cfg->ckpt;
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
        st_ckpt_vec vec[ST_HISTORY_COLS + 3];
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
            vec[nv++] = (st_ckpt_vec){"/callbacks/best_weights", F->best_w, R->model.nparams, 1};
        if (mac) vec[nv++] = (st_ckpt_vec){"/train_state/metrics", mac, ST_MA_N, 0};
        char *text = st_config_text(R->cfg);
        double tc0 = st_trace_on() ? st_time() : 0;
        rc = st_ckpt_save_ex(path, &R->model, &R->opt, ts, text, vec, nv);
        if (tc0 > 0) st_trace_add("checkpoint", "checkpoint", tc0, st_time());
        free(text);
        st_free(cols);
        if (rc == ST_OK && !name && c->keep > 0) rc = st_ckpt_prune(c->dir, c->keep);
    }
    st_free(mac);
    double dt = st_time() - t0;
    F->t_epoch[4] += dt;
    F->t_log[4] += dt;
    return st_dist_any_error(rc);
}

/* Wall clock only when phases are timed: a normal step makes no clock calls at all. */
static double now_if(const st_phase_times *pt) { return pt ? st_time() : 0; }

int st_run_step(st_run *R, int n, int bg, int read_rc, float tail_out[TAIL_N],
                st_phase_times *pt) {
    st_model *m = &R->model;
    double t0 = now_if(pt);
    /* A rank with no rows this step (tiny last batch) still contributes zeros to the
     * allreduce: the collective count never depends on the data. */
    st_model_zero_grad(m);
    float *tail = m->grads + m->nparams;
    memset(tail, 0, TAIL_N * sizeof(float));
    const int rows = read_rc == ST_OK && n > 0;
    if (rows || m->collective) {
        /* A model with collectives inside (batch_norm's global statistics) runs forward and
         * backward on every rank, with 0 rows where there are none or the read failed, so the
         * collectives match; the error flag below still stops every rank after the step. */
        if (!rows) R->batch.B = 0;
        const float *z = st_model_forward(m, &R->batch, 1);
        double correct = 0, count = rows ? n : 0, l = 0;
        if (rows && m->seq_out) {
            /* Per real step. The global number of real steps is known only after the
             * allreduce (it travels in the tail), so the gradient is scaled there. */
            count = 0;
            l = st_loss_compute_seq(R->loss, m->head_act, z, R->batch.y, m->out_mask, n,
                                    R->batch.T, m->num_outputs, 1.0f, R->dz, &correct, &count);
        } else if (rows) {
            /* Scaling by the GLOBAL row count makes the summed gradients the global mean. */
            l = st_loss_compute(R->loss, m->head_act, z, R->batch.y, n, m->num_outputs,
                                1.0f / (float)bg, R->dz, &correct);
        }
        if (rows && R->macc)
            st_metrics_update(R->macc, m->head_act, z, R->batch.y,
                              m->seq_out ? m->out_mask : NULL, n, m->seq_out ? R->batch.T : 1,
                              m->num_outputs, R->top_k);
        st_model_backward(m, &R->batch, R->dz);
        tail[TAIL_LOSS] = (float)l;
        tail[TAIL_CORRECT] = (float)correct;
        tail[TAIL_COUNT] = (float)count;
    }
    tail[TAIL_ERROR] = read_rc != ST_OK;
    double t1 = now_if(pt), tr = st_trace_on() ? st_time() : 0;
    if (pt && pt->split_wait) {
        st_dist_barrier();
        pt->wait += st_time() - t1; /* allreduce below still counts from t1: wait + transfer */
        if (tr > 0) st_trace_add("wait", "wait", tr, st_time());
    }
    st_dist_allreduce_sum(m->grads, m->nparams + TAIL_N);
    double t2 = now_if(pt);
    if (tr > 0) st_trace_add("allreduce", "allreduce", tr, st_time());
    memcpy(tail_out, tail, TAIL_N * sizeof(float));
    /* The error flag arrived with the gradients: every rank knows at once that some rank
     * failed, skips the update and joins the agreement that prints the message. */
    if (tail[TAIL_ERROR] > 0) return st_dist_any_error(read_rc);
    /* A diverged step is not applied: every rank sees the same reduced loss and keeps the
     * last good weights (terminate_on_nan stops there; otherwise training fails). */
    if (!isfinite(tail[TAIL_LOSS])) return ST_OK;
    if (m->seq_out && tail[TAIL_COUNT] > 0) {
        /* The mean over the real steps of ALL ranks (identical on every rank). */
        const float inv = 1.0f / tail[TAIL_COUNT];
        for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= inv;
    }
    double to = st_trace_on() ? st_time() : 0;
    st_optim_step(&R->opt, m->params, m->grads, m->ranges, m->ntensors, m->trainable);
    if (to > 0) st_trace_add("optimizer", "optimizer", to, st_time());
    if (pt) {
        double t3 = st_time();
        pt->fwd_bwd += t1 - t0;
        pt->allreduce += t2 - t1;
        pt->optim += t3 - t2;
    }
    return ST_OK;
}

/* A JSON number, or null for NaN / inf (JSON has neither). */
static void json_num(FILE *f, const char *key, double v) {
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.9g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* The per-phase seconds of all ranks since `t` was last cleared, as mean and max over the
 * ranks (two small reductions), written as "time_s": {...} by rank 0. Collective. */
static void json_times(st_run *R, FILE *f, double t[5]) {
    static const char *const names[5] = {"data", "forward_backward", "allreduce", "optimizer",
                                         "checkpoint"};
    double sum[5], mx[5];
    memcpy(sum, t, sizeof sum);
    memcpy(mx, t, sizeof mx);
    st_dist_allreduce_sum_f64(sum, 5);
    st_dist_allreduce_max_f64(mx, 5);
    if (R->rank != 0 || !f) return;
    fprintf(f, ", \"time_s\": {");
    for (int i = 0; i < 5; i++)
        fprintf(f, "%s\"%s\": {\"mean\": %.6g, \"max\": %.6g}", i ? ", " : "", names[i],
                sum[i] / R->size, mx[i]);
    fprintf(f, "}");
}

/* One metrics.jsonl line every log_every_steps steps: the epoch's running loss, accuracy and
 * metrics so far, the learning rate, samples/s and the step-time split since the last line.
 * The metric counts need one reduction (plus the two of the times). Collective. */
static void log_step(st_run *R, fit_ctx *F, const st_train_state *ts) {
    double *mac = NULL;
    if (R->macc) {
        mac = st_malloc(ST_MA_N * sizeof(double));
        memcpy(mac, R->macc, ST_MA_N * sizeof(double));
        st_dist_allreduce_sum_f64(mac, ST_MA_N);
    }
    FILE *f = F->jsonl;
    double now = st_time(), dt = now - F->t_log_start;
    if (R->rank == 0 && f) {
        double n = ts->partial[2];
        fprintf(f, "{\"type\": \"step\", \"epoch\": %lld, \"step\": %lld, \"global_step\": %lld",
                (long long)ts->epoch + 1, (long long)ts->step_in_epoch + 1,
                (long long)ts->global_step);
        json_num(f, "loss", n > 0 ? ts->partial[0] / n : NAN);
        json_num(f, "accuracy", n > 0 ? ts->partial[1] / n : NAN);
        for (int i = 0; mac && i < F->ms.n; i++)
            json_num(f, F->ms.name[i], st_metrics_value(&F->ms, i, mac));
        json_num(f, "lr", R->opt.cfg.learning_rate);
        json_num(f, "samples_per_s", dt > 0 ? F->samples_log / dt : 0);
    }
    json_times(R, f, F->t_log);
    if (R->rank == 0 && f) {
        fprintf(f, "}\n");
        fflush(f);
    }
    memset(F->t_log, 0, sizeof F->t_log);
    F->samples_log = 0;
    F->t_log_start = now;
    st_free(mac);
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
    size_t k = (size_t)R->cfg->cb.attention_dump < R->nval ? (size_t)R->cfg->cb.attention_dump
                                                            : R->nval;
    size_t T = (size_t)vs->T, got = 0;
    float *mine = st_malloc((k / (size_t)R->size + 2) * T * sizeof(float));
    float *all = R->rank == 0 ? st_malloc((k + 1) * T * sizeof(float)) : NULL;
    double v[3];
    int rc = eval_split(&R->model, R->loss, vs, R->val_lo, k, &R->batch, mine, R->rows, v, NULL,
                        &got, NULL);
    if (rc == ST_OK) {
        st_dist_gather_f32(mine, got * T, all);
        int wrc = ST_OK;
        if (R->rank == 0) {
            char path[ST_PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/attention-epoch-%04lld.h5", R->cfg->ckpt.dir,
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
static int end_epoch(st_run *R, fit_ctx *F, st_train_state *ts, double t0, double samples,
                     int *stop) {
    const st_config *cfg = R->cfg;
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
        eval_extra ex = {vacc, R->top_k, NULL, 0};
        int rc = eval_split(m, R->loss, vs, R->val_lo, R->nval, &R->batch, NULL, R->rows, v,
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
    if (act.save_best && cfg->ckpt.dir[0]) {
        ST_LOG(ST_LOG_INFO, "Epoch %lld: %s improved to %.5f, saving %s/best.h5\n",
               (long long)ts->epoch + 1, cfg->cb.sb_monitor, F->cb.sb_best, cfg->ckpt.dir);
        rc = save(R, F, &done_ts, 1, "best.h5");
        if (rc != ST_OK) return rc;
    }
    if (act.keep_best) memcpy(F->best_w, m->params, m->nparams * sizeof(float));
    if (act.lr_reduced)
        ST_LOG(ST_LOG_INFO, "Epoch %lld: ReduceLROnPlateau reducing learning rate to %g.\n",
               (long long)ts->epoch + 1, F->cb.lr);
    if (act.stop) {
        ST_LOG(ST_LOG_INFO, "Epoch %lld: early stopping (%s did not improve for %lld epochs; "
               "best %.5f at epoch %lld)\n", (long long)ts->epoch + 1, cfg->cb.es_monitor,
               (long long)F->cb.es_wait, F->cb.es_best, (long long)F->cb.es_best_epoch + 1);
        if (act.restore_best) {
            ST_LOG(ST_LOG_INFO, "Restoring model weights from the end of the best epoch: "
                   "%lld.\n", (long long)F->cb.es_best_epoch + 1);
            memcpy(m->params, F->best_w, m->nparams * sizeof(float));
        }
        *stop = 1;
    }

    if (F->jsonl || R->rank == 0) {
        FILE *f = F->jsonl;
        if (R->rank == 0 && f) {
            fprintf(f, "{\"type\": \"epoch\", \"epoch\": %lld, \"global_step\": %lld",
                    (long long)ts->epoch + 1, (long long)ts->global_step);
            for (int j = 1; j < F->hist.ncols; j++) json_num(f, F->hist.col[j], row[j]);
        }
    }
    if (cfg->ckpt.dir[0]) json_times(R, F->jsonl, F->t_epoch);
    int wrc = ST_OK;
    if (R->rank == 0 && F->jsonl) {
        fprintf(F->jsonl, "}\n");
        fflush(F->jsonl);
    }
    if (R->rank == 0 && cfg->ckpt.dir[0]) {
        char path[ST_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/history.csv", cfg->ckpt.dir);
        wrc = st_history_write_csv(&F->hist, path);
    }
    if (st_dist_any_error(wrc) != ST_OK) return ST_ERR;
    memset(F->t_epoch, 0, sizeof F->t_epoch);

    if (cfg->ckpt.dir[0]) {
        rc = save(R, F, &done_ts, 1, NULL);
        if (rc == ST_OK && cfg->cb.attention_dump > 0) rc = dump_attention(R, ts->epoch);
    }
    return rc;
}

/* Reads what a checkpoint holds besides the weights: history rows (the first `epochs`),
 * callback state, best weights, and (rank 0) the metric counts of a half-done epoch. Every
 * rank reads the same file, so every rank gets the same state. */
static int load_extras(const char *path, st_run *R, fit_ctx *F, int64_t epochs) {
    st_history *h = &F->hist;
    double *cols[ST_HISTORY_COLS] = {0};
    size_t len[ST_HISTORY_COLS] = {0};
    int rc = ST_OK;
    for (int j = 0; rc == ST_OK && j < h->ncols; j++) {
        char name[96];
        snprintf(name, sizeof name, "/history/%s", h->col[j]);
        rc = st_ckpt_read_vec(path, name, 0, (void **)&cols[j], &len[j]);
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
    if (rc == ST_OK) rc = st_ckpt_read_vec(path, "/callbacks/state", 0, &v, &n);
    if (rc == ST_OK && n == ST_CB_STATE_N) {
        /* The callbacks' configuration is the resuming run's; only their state is restored. */
        st_callbacks_unpack(&F->cb, v);
        if (!R->cfg->cb.reduce_lr) F->cb.lr = R->cfg->train.optim.learning_rate;
    }
    st_free(v);
    v = NULL;
    if (rc == ST_OK && F->best_w) {
        rc = st_ckpt_read_vec(path, "/callbacks/best_weights", 1, &v, &n);
        if (rc == ST_OK && n == R->model.nparams)
            memcpy(F->best_w, v, n * sizeof(float));
        else
            F->cb.es_have_best = 0; /* kept again from the next epoch on */
        st_free(v);
        v = NULL;
    }
    if (rc == ST_OK && R->macc) {
        rc = st_ckpt_read_vec(path, "/train_state/metrics", 0, &v, &n);
        if (rc == ST_OK && n == ST_MA_N && R->rank == 0) memcpy(R->macc, v, n * sizeof(double));
        st_free(v);
    }
    return rc;
}

int st_fit(st_config *cfg, const char *resume) {
    st_run R;
    fit_ctx F;
    memset(&F, 0, sizeof F);
    if (run_open(&R, cfg) != ST_OK) {
        st_run_close(&R);
        return ST_ERR;
    }
    st_model *m = &R.model;
    const st_train_cfg *tc = &cfg->train;
    const int Bg = tc->batch_size;
    const int64_t steps = (int64_t)((R.ntrain + (size_t)Bg - 1) / (size_t)Bg);
    st_train_state ts = {0, 0, 0, tc->seed, {0, 0, 0}};
    int rc = ST_OK, stop = 0;

    /* Metrics, history columns and callback monitors: the same verdict on every rank. */
    rc = st_metrics_parse(tc->metrics, tc->top_k, &F.ms);
    if (rc == ST_OK) rc = st_metrics_check_head(&F.ms, m->num_outputs, cfg->origin);
    st_history_init(&F.hist, &F.ms, R.has_valid);
    st_callbacks_init(&F.cb, &cfg->cb, tc->optim.learning_rate);
    F.es_col = F.sb_col = F.rl_col = -1;
    if (rc == ST_OK && cfg->cb.early_stopping)
        rc = check_monitor(&F.hist, "early_stopping.monitor", cfg->cb.es_monitor, &F.es_col,
                           cfg->origin);
    if (rc == ST_OK && cfg->cb.save_best)
        rc = check_monitor(&F.hist, "model_checkpoint.monitor", cfg->cb.sb_monitor, &F.sb_col,
                           cfg->origin);
    if (rc == ST_OK && cfg->cb.reduce_lr)
        rc = check_monitor(&F.hist, "reduce_lr_on_plateau.monitor", cfg->cb.rl_monitor,
                           &F.rl_col, cfg->origin);
    if (rc == ST_OK && cfg->cb.save_best && !cfg->ckpt.dir[0]) {
        st_error_set("%s: [callbacks] model_checkpoint.save_best_only needs [checkpoint] dir "
                     "(best.h5 is written there)", cfg->origin);
        rc = ST_ERR;
    }
    if (rc == ST_OK && cfg->cb.attention_dump > 0) {
        int has = 0;
        for (int i = 0; i < m->nlayers; i++) has |= m->layers[i].ops == &st_attention_ops;
        if (!has || !R.has_valid || !cfg->ckpt.dir[0]) {
            st_error_set("%s: [callbacks] attention_dump = %d needs an attention layer, "
                         "validation data and [checkpoint] dir", cfg->origin,
                         cfg->cb.attention_dump);
            rc = ST_ERR;
        }
    }
    if (st_dist_any_error(rc) != ST_OK) goto done;
    if (st_metrics_need_update(&F.ms)) R.macc = st_malloc(ST_MA_N * sizeof(double));
    R.top_k = F.ms.top_k;
    if (cfg->cb.early_stopping && cfg->cb.es_restore_best)
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
        if (rc == ST_OK) rc = st_ckpt_load(path, m, &R.opt, &ts);
        if (rc == ST_OK) rc = load_extras(path, &R, &F, ts.epoch);
        if (st_dist_any_error(rc) != ST_OK) goto done;
        if (ts.seed != tc->seed)
            ST_LOG(ST_LOG_WARN, "warning: resuming with seed %llu (the checkpoint's), config "
                   "says %llu\n", (unsigned long long)ts.seed, (unsigned long long)tc->seed);
        ST_LOG(ST_LOG_INFO, "Resumed from %s: epoch %lld, step %lld of %lld\n", path,
               (long long)ts.epoch, (long long)ts.step_in_epoch, (long long)steps);
        if (cfg->cb.early_stopping && F.cb.es_stopped) {
            ST_LOG(ST_LOG_INFO, "Early stopping already ended this run (best %s %.5f at epoch "
                   "%lld); set [callbacks] early_stopping = false to train on\n",
                   cfg->cb.es_monitor, F.cb.es_best, (long long)F.cb.es_best_epoch + 1);
            goto done;
        }
    }
    if (cfg->ckpt.dir[0] && R.rank == 0) {
        rc = make_dirs(cfg->ckpt.dir);
        char path[ST_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/metrics.jsonl", cfg->ckpt.dir);
        /* A fresh run starts the log afresh; a resumed one continues it. */
        if (rc == ST_OK && !(F.jsonl = fopen(path, resume ? "a" : "w"))) {
            st_error_set("%s: cannot write: %s", path, strerror(errno));
            rc = ST_ERR;
        }
        /* history.csv is rewritten from the checkpoint's rows: it continues exactly where the
         * checkpoint stands, whatever a later, abandoned run appended. */
        snprintf(path, sizeof path, "%s/history.csv", cfg->ckpt.dir);
        if (rc == ST_OK && resume) rc = st_history_write_csv(&F.hist, path);
    }
    if (st_dist_any_error(rc) != ST_OK) goto done;

    ST_LOG(ST_LOG_INFO, "Training on %zu samples (validating on %zu), %d rank%s, global batch "
           "%d, %lld steps per epoch\n", R.ntrain, R.nval, R.size, R.size > 1 ? "s" : "", Bg,
           (long long)steps);
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
            st_shard(bg, R.rank, R.size, &lo, &hi);
            for (int i = lo; i < hi; i++) R.rows[i - lo] = R.perm[first + (size_t)i];

            R.batch.T = R.train.T; /* a trimmed batch (or validation) may have left it shorter */
            R.batch.yT = R.train.yT;
            double tdr = st_trace_on() ? st_time() : 0;
            int lrc = st_split_read(&R.train, R.rows, hi - lo, &R.batch);
            if (lrc == ST_OK) st_schedule_trim(&R, ts.step_in_epoch, &R.batch);
            if (tdr > 0) st_trace_add("data", "data", tdr, st_time());
            /* The schedule is a function of the update count, which checkpoints carry. */
            R.opt.cfg.learning_rate = (float)st_lr_at(tc, F.cb.lr, R.opt.iterations);
            float tail[TAIL_N];
            st_phase_times pt = {st_time() - td, 0, 0, 0, 0, 0};
            rc = st_run_step(&R, hi - lo, bg, lrc, tail, &pt);
            if (rc != ST_OK) goto done;
            double tp[4] = {pt.data, pt.fwd_bwd, pt.allreduce, pt.optim};
            for (int i = 0; i < 4; i++) {
                F.t_epoch[i] += tp[i];
                F.t_log[i] += tp[i];
            }
            if (!isfinite(tail[TAIL_LOSS])) {
                /* Every rank sees the same reduced loss, so every rank stops here together;
                 * the update was not applied and no checkpoint is written. */
                if (cfg->cb.terminate_on_nan) {
                    ST_LOG(ST_LOG_WARN, "Epoch %lld, batch %lld: invalid loss (%g), terminating "
                           "training (terminate_on_nan)%s%s\n", (long long)ts.epoch + 1,
                           (long long)ts.step_in_epoch + 1, (double)tail[TAIL_LOSS],
                           cfg->ckpt.dir[0] ? "; the last good checkpoint is in " : "",
                           cfg->ckpt.dir);
                    rc = ST_OK;
                    goto done;
                }
                st_error_set("loss is %g at epoch %lld step %lld: training diverged (lower "
                             "learning_rate or set clipnorm)", (double)tail[TAIL_LOSS],
                             (long long)ts.epoch + 1, (long long)ts.step_in_epoch + 1);
                rc = st_dist_any_error(ST_ERR);
                goto done;
            }
            ts.partial[0] += tail[TAIL_LOSS];
            ts.partial[1] += tail[TAIL_CORRECT];
            ts.partial[2] += tail[TAIL_COUNT];
            samples += bg;
            F.samples_log += bg;
            ts.global_step++;
            if (F.prog.mode != ST_PROGRESS_OFF) {
                double n = ts.partial[2], el = st_time() - t0;
                st_progress_step(&F.prog, ts.step_in_epoch + 1, n > 0 ? ts.partial[0] / n : 0,
                                 n > 0 ? ts.partial[1] / n : 0, el > 0 ? samples / el : 0);
            }
            if (cfg->ckpt.dir[0] && tc->log_every_steps > 0 &&
                ts.global_step % tc->log_every_steps == 0)
                log_step(&R, &F, &ts);
            if (cfg->ckpt.dir[0] && cfg->ckpt.every_steps > 0 &&
                ts.global_step % cfg->ckpt.every_steps == 0 && ts.step_in_epoch + 1 < steps) {
                /* Saved state must say "this step is done". */
                ts.step_in_epoch++;
                rc = save(&R, &F, &ts, 0, NULL);
                ts.step_in_epoch--;
                if (rc != ST_OK) goto done;
            }
        }
        rc = end_epoch(&R, &F, &ts, t0, samples, &stop);
        if (rc != ST_OK) goto done;
        memset(ts.partial, 0, sizeof ts.partial);
    }
done:
    if (F.jsonl) fclose(F.jsonl);
    st_free(R.macc);
    R.macc = NULL;
    st_free(F.best_w);
    st_history_free(&F.hist);
    st_run_close(&R);
    return rc;
}
/* Loads the config stored in a checkpoint and points it at another dataset. The stored config
 * is the one the weights were trained with, so the model is rebuilt exactly; only the data
 * path changes (and validation_split is meaningless for evaluation). */
static int config_from_ckpt(const char *ckpt, const char *data, st_config *cfg, char *path,
                            size_t pathlen) {
    char *text = NULL;
    int rc = st_ckpt_resolve(ckpt, path, pathlen);
    if (rc == ST_OK) rc = st_ckpt_read_config(path, &text);
    if (rc == ST_OK) rc = st_config_load_string(cfg, text, path);
    if (rc == ST_OK) rc = st_config_resolve(cfg);
    if (rc == ST_OK && data) snprintf(cfg->data.path, sizeof cfg->data.path, "%s", data);
    cfg->data.validation_split = 0;
    free(text);
    return rc;
}

/* Shared by evaluate and predict: model from a checkpoint, data split opened, rows agreed. */
static int open_for_eval(const char *ckpt, const char *data, const char *split, st_config *cfg,
                         st_dataset *ds, st_split *s, st_model *m, st_loss_kind *loss,
                         int maxB) {
    char path[ST_PATH_MAX];
    int rc = config_from_ckpt(ckpt, data, cfg, path, sizeof path);
    if (rc == ST_OK) rc = st_dataset_open(ds, cfg->data.path);
    if (rc == ST_OK) rc = st_split_open(ds, split, s);
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;
    if (maxB <= 0) maxB = cfg->train.batch_size > 0 ? cfg->train.batch_size : 128;
    rc = st_model_build(m, cfg, st_split_shape(s), maxB);
    if (rc == ST_OK) rc = st_ckpt_load(path, m, NULL, NULL);
    if (rc == ST_OK && st_loss_parse(cfg->train.loss, loss) != 0) {
        st_error_set("%s: stored config has unknown loss '%s'", path, cfg->train.loss);
        rc = ST_ERR;
    }
    if (rc == ST_OK) rc = st_run_check_head(m, *loss, ds->num_classes, s->yT, cfg->data.path);
    return st_dist_any_error(rc);
}

/* Releases what open_for_eval (and the caller's batch) acquired; safe on a partial open
 * (ids of -1 and zeroed structs are skipped). */
static void eval_close(st_config *cfg, st_dataset *ds, st_split *s, st_model *m, st_batch *b) {
    if (b->maxB) st_batch_free(b);
    st_model_free(m);
    if (s->x >= 0) st_split_close(s);
    if (ds->file >= 0) st_dataset_close(ds);
    st_config_free(cfg);
}

int st_evaluate(const char *ckpt, const char *data, const char *split, double *loss,
                double *acc) {
    st_config cfg = {0};
    st_dataset ds = {.file = -1};
    st_split s = {.x = -1, .y = -1};
    st_model m = {0};
    st_loss_kind lk;
    st_batch b = {0};
    size_t *rows = NULL;
    int rc = open_for_eval(ckpt, data, split, &cfg, &ds, &s, &m, &lk, 0);
    if (rc == ST_OK) {
        st_batch_init(&b, &s, m.maxB);
        rows = st_malloc(sizeof(size_t) * m.maxB);
        double v[3];
        rc = eval_split(&m, lk, &s, 0, s.n, &b, NULL, rows, v, NULL, NULL, NULL);
        if (rc == ST_OK) {
            *loss = v[2] > 0 ? v[0] / v[2] : 0;
            *acc = v[2] > 0 ? v[1] / v[2] : 0;
        }
    }
    st_free(rows);
    eval_close(&cfg, &ds, &s, &m, &b);
    return rc;
}

int st_evaluate_report(const char *ckpt, const char *data, const char *split,
                       st_eval_report *r) {
    st_config cfg = {0};
    st_dataset ds = {.file = -1};
    st_split s = {.x = -1, .y = -1};
    st_model m = {0};
    st_loss_kind lk;
    st_batch b = {0};
    size_t *rows = NULL;
    double *macc = NULL;
    memset(r, 0, sizeof *r);
    int rc = open_for_eval(ckpt, data, split, &cfg, &ds, &s, &m, &lk, 0);
    if (rc == ST_OK) {
        /* The metrics the model was trained with; a stored list this build cannot parse
         * would have failed at training time already. */
        if (st_metrics_parse(cfg.train.metrics, cfg.train.top_k, &r->ms) != ST_OK ||
            st_metrics_check_head(&r->ms, m.num_outputs, ckpt) != ST_OK)
            r->ms.n = 0;
        /* Class names: every rank reads them (small), so every rank holds the same report. */
        rc = st_dist_any_error(st_dataset_read_strings(&ds, "classes", &r->classes,
                                                       &r->nclasses));
    }
    if (rc == ST_OK) {
        r->C = st_confusion_classes(m.num_outputs);
        r->cm = st_malloc((size_t)r->C * r->C * sizeof(double));
        macc = st_malloc(ST_MA_N * sizeof(double));
        st_batch_init(&b, &s, m.maxB);
        rows = st_malloc(sizeof(size_t) * m.maxB);
        eval_extra ex = {macc, r->ms.top_k, r->cm, r->C};
        double v[3];
        rc = eval_split(&m, lk, &s, 0, s.n, &b, NULL, rows, v, NULL, NULL, &ex);
        if (rc == ST_OK) {
            r->count = v[2];
            r->loss = v[2] > 0 ? v[0] / v[2] : 0;
            r->accuracy = v[2] > 0 ? v[1] / v[2] : 0;
            for (int i = 0; i < r->ms.n; i++) r->mvalue[i] = st_metrics_value(&r->ms, i, macc);
        }
    }
    st_free(macc);
    st_free(rows);
    eval_close(&cfg, &ds, &s, &m, &b);
    return rc;
}

void st_eval_report_free(st_eval_report *r) {
    st_free(r->cm);
    for (size_t i = 0; i < r->nclasses; i++) st_free(r->classes[i]);
    st_free(r->classes);
    memset(r, 0, sizeof *r);
}

int st_predict(const char *ckpt, const char *data, const char *split, const char *out,
               const char *attention_out, int attention_rows) {
    st_config cfg = {0};
    st_dataset ds = {.file = -1};
    st_split s = {.x = -1, .y = -1};
    st_model m = {0};
    st_loss_kind lk;
    st_batch b = {0};
    size_t *rows = NULL;
    float *mine = NULL, *all = NULL, *amine = NULL, *aall = NULL;
    int rc = open_for_eval(ckpt, data, split, &cfg, &ds, &s, &m, &lk, 0);
    if (rc == ST_OK && attention_out) {
        int has = 0;
        for (int i = 0; i < m.nlayers; i++) has |= m.layers[i].ops == &st_attention_ops;
        if (!has) st_error_set("%s: --attention: the model has no attention layer", ckpt);
        rc = st_dist_any_error(has ? ST_OK : ST_ERR);
    }
    if (rc == ST_OK) {
        int rank = st_dist_rank(), size = st_dist_size();
        int T = m.seq_out ? s.T : 0, K = m.num_outputs * (T ? T : 1); /* floats per row */
        size_t my = s.n * (size_t)(rank + 1) / size - s.n * (size_t)rank / size;
        st_batch_init(&b, &s, m.maxB);
        rows = st_malloc(sizeof(size_t) * m.maxB);
        mine = st_malloc((my + 1) * K * sizeof(float));
        if (rank == 0) all = st_malloc((s.n + 1) * K * sizeof(float));
        if (attention_out) {
            amine = st_malloc((my + 1) * (size_t)s.T * sizeof(float));
            if (rank == 0) aall = st_malloc((s.n + 1) * (size_t)s.T * sizeof(float));
        }
        double v[3];
        size_t got = 0;
        rc = eval_split(&m, lk, &s, 0, s.n, &b, amine, rows, v, mine, &got, NULL);
        if (rc == ST_OK) {
            /* Contiguous shards in rank order: gathering them rebuilds the split's order. */
            st_dist_gather_f32(mine, got * (size_t)K, all);
            if (attention_out) st_dist_gather_f32(amine, got * (size_t)s.T, aall);
            int wrc = ST_OK;
            if (rank == 0) wrc = st_predictions_write(out, all, s.n, T, m.num_outputs);
            if (rank == 0 && wrc == ST_OK && attention_out) {
                size_t k = (size_t)attention_rows < s.n ? (size_t)attention_rows : s.n;
                size_t dims[2] = {k, (size_t)s.T};
                wrc = st_array_write(attention_out, "attention", aall, 2, dims);
            }
            rc = st_dist_any_error(wrc);
        }
    }
    st_free(rows);
    st_free(mine);
    st_free(all);
    st_free(amine);
    st_free(aall);
    eval_close(&cfg, &ds, &s, &m, &b);
    return rc;
}

int st_gradients(const char *ckpt, const char *data, const char *split, int rows,
                 const char *out) {
    st_config cfg = {0};
    st_dataset ds = {.file = -1};
    st_split s = {.x = -1, .y = -1};
    st_model m = {0};
    st_loss_kind lk;
    st_batch b = {0};
    size_t *ids = NULL;
    float *dz = NULL, *p = NULL;
    int rc = open_for_eval(ckpt, data, split, &cfg, &ds, &s, &m, &lk, rows);
    if (rc != ST_OK) goto done;
    int wrc = ST_OK;
    if (st_dist_rank() == 0) {
        int n = rows < (int)s.n ? rows : (int)s.n, K = m.num_outputs;
        int T = m.seq_out ? s.T : 1; /* a sequence head: (T, n, K) logits, mean over steps */
        st_batch_init(&b, &s, m.maxB);
        ids = st_malloc(sizeof(size_t) * (size_t)m.maxB);
        dz = st_malloc(sizeof(float) * (size_t)m.maxB * T * K);
        p = st_malloc(sizeof(float) * (size_t)m.maxB * T * K);
        for (int i = 0; i < n; i++) ids[i] = (size_t)i;
        wrc = st_split_read(&s, ids, n, &b);
        if (wrc == ST_OK) {
            st_model_zero_grad(&m);
            const float *z = st_model_forward(&m, &b, 0);
            double l, cnt = n;
            if (m.seq_out) {
                cnt = 0;
                st_loss_compute_seq(lk, m.head_act, z, b.y, m.out_mask, n, T, K, 1.0f, NULL,
                                    NULL, &cnt);
                l = st_loss_compute_seq(lk, m.head_act, z, b.y, m.out_mask, n, T, K,
                                        cnt > 0 ? (float)(1.0 / cnt) : 0.0f, dz, NULL, NULL);
            } else {
                l = st_loss_compute(lk, m.head_act, z, b.y, n, K, 1.0f / (float)n, dz, NULL);
            }
            st_loss_probs(m.head_act, z, p, n * T, K); /* time-major (T, n, K) for sequences */
            st_model_backward(&m, &b, dz);
            wrc = st_ckpt_save_gradients(out, &m, p, (size_t)n * T, K, cnt > 0 ? l / cnt : 0);
        }
    }
    rc = st_dist_any_error(wrc);
done:
    st_free(ids);
    st_free(dz);
    st_free(p);
    eval_close(&cfg, &ds, &s, &m, &b);
    return rc;
}
