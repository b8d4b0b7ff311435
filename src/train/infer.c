/*
 * infer.c - a trained checkpoint applied to a dataset split: `evaluate` (loss, metrics,
 * confusion matrix), `predict` (probabilities, attention weights) and `gradients` (one batch's
 * loss gradients, for parity tests), plus st_eval_split, the sharded inference pass that the
 * training loop's validation uses too.
 *
 * Layout: the checkpoint's stored config rebuilds the model exactly (eval_open); the split
 * is cut into contiguous shards, one per rank, run in local batches of maxB rows; sums and
 * counts are reduced ONCE at the end, and per-row outputs are gathered to rank 0 in rank
 * order, which is the split's order.
 *
 * Not here: training, optimizer state, the console report's layout (src/cli/cmd_eval.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "train/loss.h"
#include "seqtrain/metrics.h"
#include "model/model.h"
#include "seqtrain/train.h"
#include "train/infer.h"
#include "train/settings.h"
#include "train/step.h"

/* The contract is in infer.h. */
int st_eval_split(st_model *m, st_loss_kind loss, const st_split *s, size_t lo, size_t n,
                  st_batch *b, float *attn, size_t *rows, double out[3], float *pred,
                  size_t *my_n, const st_eval_extra *ex) {
    /* attn != NULL: this rank's rows' attention weights, (rows, T) row-major, from the first
     * attention layer (for `predict --attention`). */
    const st_layer *att = attn ? st_model_attention(m) : NULL;
    int rank = st_dist_rank(), size = st_dist_size();
    size_t a = lo + n * (size_t)rank / (size_t)size, e = lo + n * (size_t)(rank + 1) / size;
    double acc[4] = {0, 0, 0, 0};
    /* The loss row by row, exactly: the same sum for any split of the rows among ranks (the
     * counts beside it are integers, exact anyway). In deterministic mode the forward pass is
     * split-free too: its row products give a row the same bits whatever rows share the call
     * (core/rowgemm.c). */
    st_xsum xl = {{0}};
    int rc = ST_OK;
    /* Every batch is read at the split's full length (the training loop may have trimmed the
     * shared batch to its last step's real steps). */
    int K = m->num_outputs, T = m->seq_out ? s->T : 1;
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
            st_loss_compute_seq_x(loss, m->head_act, z, b->y, m->out_mask, nb, T, K, 1.0f,
                                  NULL, &acc[1], &acc[2], &xl);
        } else {
            st_loss_compute_x(loss, m->head_act, z, b->y, nb, K, 1.0f, NULL, &acc[1], &xl);
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
    st_dist_allreduce_sum_i64(xl.w, ST_XSUM_WORDS);
    memcpy(acc, all, sizeof acc);
    acc[0] = st_xsum_value(&xl);
    if (nm) memcpy(ex->macc, all + 4, nm * sizeof(double));
    if (nc) memcpy(ex->cm, all + 4 + nm, nc * sizeof(double));
    st_free(all);
    if (acc[3] > 0) return st_dist_any_error(rc);
    memcpy(out, acc, 3 * sizeof(double));
    if (my_n) *my_n = e - a;
    return ST_OK;
}

/* Loads the config stored in a checkpoint and points it at another dataset. The stored config
 * is the one the weights were trained with, so the model is rebuilt exactly; only the data
 * path changes (and validation_split is meaningless for evaluation). */
static int config_from_ckpt(const char *ckpt, const char *data, st_config *cfg,
                            st_settings *set, char *path, size_t pathlen) {
    char *text = NULL;
    int rc = st_ckpt_resolve(ckpt, path, pathlen);
    if (rc == ST_OK) rc = st_ckpt_read_config(path, &text);
    if (rc == ST_OK) rc = st_config_load_string(cfg, text, path);
    if (rc == ST_OK) rc = st_settings_resolve(set, cfg);
    if (rc == ST_OK && data) snprintf(set->data.path, sizeof set->data.path, "%s", data);
    set->data.validation_split = 0;
    st_free(text); /* st_ckpt_read_config: st_malloc */
    return rc;
}

/* What evaluate, predict and gradients hold: the checkpoint's config and settings, the split,
 * the model rebuilt from it, and (eval_batch) one batch of maxB rows with its row ids.
 * Zero-initialised by eval_open, so eval_close is safe after any partial open. */
typedef struct eval_ctx {
    st_config cfg;
    st_settings set;
    st_dataset ds;
    st_split s;
    st_model m;
    st_loss_kind loss;
    st_batch b;
    size_t *rows; /* (maxB) row ids of one batch */
} eval_ctx;

/* Model from a checkpoint, data split opened, rows agreed on every rank. maxB <= 0: evaluate
 * and predict (batches of batch_size rows per rank); > 0: gradients (one batch on rank 0). */
static int eval_open(eval_ctx *c, const char *ckpt, const char *data, const char *split,
                     int maxB) {
    memset(c, 0, sizeof *c);
    c->ds.file = -1;
    c->s.x = c->s.y = -1;
    st_split *s = &c->s;
    char path[ST_PATH_MAX];
    int rc = config_from_ckpt(ckpt, data, &c->cfg, &c->set, path, sizeof path);
    if (rc == ST_OK) rc = st_dataset_open(&c->ds, c->set.data.path);
    if (rc == ST_OK) rc = st_split_open(&c->ds, split, s);
    if (rc == ST_OK) rc = st_split_check_written(s);
    if (rc == ST_OK && s->n == 0) {
        /* Loss 0 and accuracy 0 over no rows would read as a result. */
        st_error_set("%s: /%s has no rows (x is empty): nothing to evaluate or predict",
                     c->set.data.path, split);
        rc = ST_ERR;
    }
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;
    /* Buffers are never sized for rows that do not exist. evaluate/predict: each rank runs its
     * contiguous shard in local batches of at most batch_size rows, so min(batch_size, shard).
     * gradients: one batch of maxB rows on rank 0, at most the split's rows. */
    const int eval = maxB <= 0; /* evaluate / predict, not gradients */
    size_t cap = s->n;
    if (maxB <= 0) {
        maxB = c->set.train.batch_size > 0 ? c->set.train.batch_size : 128;
        cap = (s->n + (size_t)st_dist_size() - 1) / (size_t)st_dist_size();
    }
    if ((size_t)maxB > cap) maxB = (int)cap;
    rc = st_model_build(&c->m, &c->cfg, st_split_shape(s), maxB);
    /* A run trained deterministic evaluates the same way: the same bits for any number of
     * ranks (the forward pass only: gradients keeps the plain layout PyTorch parity reads). */
    if (rc == ST_OK && eval && c->set.train.deterministic)
        st_model_set_blocks(&c->m, st_train_block_rows(&c->set.train), 1);
    if (rc == ST_OK) rc = st_ckpt_load(path, &c->m, NULL, NULL);
    c->loss = c->set.train.loss;
    if (rc == ST_OK)
        rc = st_run_check_head(&c->m, c->loss, c->ds.num_classes, s->yT, c->set.data.path);
    return st_dist_any_error(rc);
}

/* The batch buffers, for the ranks that run batches. */
static void eval_batch(eval_ctx *c) {
    st_batch_init(&c->b, &c->s, c->m.maxB);
    c->rows = st_malloc(sizeof(size_t) * (size_t)c->m.maxB);
}

static void eval_close(eval_ctx *c) {
    st_free(c->rows);
    if (c->b.maxB) st_batch_free(&c->b);
    st_model_free(&c->m);
    if (c->s.x >= 0) st_split_close(&c->s);
    if (c->ds.file >= 0) st_dataset_close(&c->ds);
    st_config_free(&c->cfg);
}

int st_evaluate_report(const char *ckpt, const char *data, const char *split,
                       st_eval_report *r) {
    eval_ctx c;
    double *macc = NULL;
    memset(r, 0, sizeof *r);
    int rc = eval_open(&c, ckpt, data, split, 0);
    if (rc == ST_OK) {
        /* The metrics the model was trained with; a stored list this build cannot parse
         * would have failed at training time already. */
        r->ms = c.set.train.metrics;
        if (st_metrics_check_head(&r->ms, c.m.num_outputs, ckpt) != ST_OK) r->ms.n = 0;
        /* Class names: every rank reads them (small), so every rank holds the same report. */
        rc = st_dist_any_error(st_dataset_read_strings(&c.ds, "classes", &r->classes,
                                                       &r->nclasses));
    }
    if (rc == ST_OK) {
        r->C = st_confusion_classes(c.m.num_outputs);
        r->cm = st_malloc((size_t)r->C * r->C * sizeof(double));
        macc = st_malloc(ST_MA_N * sizeof(double));
        eval_batch(&c);
        st_eval_extra ex = {macc, r->ms.top_k, r->cm, r->C};
        double v[3];
        rc = st_eval_split(&c.m, c.loss, &c.s, 0, c.s.n, &c.b, NULL, c.rows, v, NULL, NULL,
                           &ex);
        if (rc == ST_OK) {
            r->count = v[2];
            r->loss = v[2] > 0 ? v[0] / v[2] : 0;
            r->accuracy = v[2] > 0 ? v[1] / v[2] : 0;
            for (int i = 0; i < r->ms.n; i++) r->mvalue[i] = st_metrics_value(&r->ms, i, macc);
        }
    }
    st_free(macc);
    eval_close(&c);
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
    eval_ctx c;
    float *mine = NULL, *all = NULL, *amine = NULL, *aall = NULL;
    int rc = eval_open(&c, ckpt, data, split, 0);
    if (rc == ST_OK && attention_out) {
        int has = st_model_attention(&c.m) != NULL;
        if (!has) st_error_set("%s: --attention: the model has no attention layer", ckpt);
        rc = st_dist_any_error(has ? ST_OK : ST_ERR);
    }
    if (rc == ST_OK) {
        int rank = st_dist_rank(), size = st_dist_size();
        size_t n = c.s.n, T = (size_t)c.s.T;
        int Ts = c.m.seq_out ? c.s.T : 0, K = c.m.num_outputs * (Ts ? Ts : 1); /* per row */
        size_t my = n * (size_t)(rank + 1) / size - n * (size_t)rank / size;
        eval_batch(&c);
        mine = st_malloc_for((my + 1) * K * sizeof(float), "this rank's predictions");
        if (rank == 0) all = st_malloc_for((n + 1) * K * sizeof(float), "the predictions");
        if (attention_out) {
            amine = st_malloc((my + 1) * T * sizeof(float));
            if (rank == 0) aall = st_malloc((n + 1) * T * sizeof(float));
        }
        double v[3];
        size_t got = 0;
        rc = st_eval_split(&c.m, c.loss, &c.s, 0, n, &c.b, amine, c.rows, v, mine, &got, NULL);
        if (rc == ST_OK) {
            /* Contiguous shards in rank order: gathering them rebuilds the split's order. */
            st_dist_gather_f32(mine, got * (size_t)K, all);
            if (attention_out) st_dist_gather_f32(amine, got * T, aall);
            int wrc = ST_OK;
            if (rank == 0) wrc = st_predictions_write(out, all, n, Ts, c.m.num_outputs);
            if (rank == 0 && wrc == ST_OK && attention_out) {
                size_t k = (size_t)attention_rows < n ? (size_t)attention_rows : n;
                size_t dims[2] = {k, T};
                wrc = st_array_write(attention_out, "attention", aall, 2, dims);
            }
            rc = st_dist_any_error(wrc);
        }
    }
    st_free(mine);
    st_free(all);
    st_free(amine);
    st_free(aall);
    eval_close(&c);
    return rc;
}

int st_gradients(const char *ckpt, const char *data, const char *split, int rows,
                 const char *out) {
    eval_ctx c;
    float *dz = NULL, *p = NULL;
    int rc = eval_open(&c, ckpt, data, split, rows);
    if (rc != ST_OK) goto done;
    int wrc = ST_OK;
    if (st_dist_rank() == 0) { /* one batch, on rank 0 only */
        st_model *m = &c.m;
        int n = rows < (int)c.s.n ? rows : (int)c.s.n, K = m->num_outputs;
        int T = m->seq_out ? c.s.T : 1; /* a sequence head: (T, n, K) logits, mean over steps */
        eval_batch(&c);
        dz = st_malloc(sizeof(float) * (size_t)m->maxB * T * K);
        p = st_malloc(sizeof(float) * (size_t)m->maxB * T * K);
        for (int i = 0; i < n; i++) c.rows[i] = (size_t)i;
        wrc = st_split_read(&c.s, c.rows, n, &c.b);
        if (wrc == ST_OK) {
            st_model_zero_grad(m);
            const float *z = st_model_forward(m, &c.b, 0);
            double l, cnt = n;
            if (m->seq_out) {
                cnt = 0;
                st_loss_compute_seq(c.loss, m->head_act, z, c.b.y, m->out_mask, n, T, K, 1.0f,
                                    NULL, NULL, &cnt);
                l = st_loss_compute_seq(c.loss, m->head_act, z, c.b.y, m->out_mask, n, T, K,
                                        cnt > 0 ? (float)(1.0 / cnt) : 0.0f, dz, NULL, NULL);
            } else {
                l = st_loss_compute(c.loss, m->head_act, z, c.b.y, n, K, 1.0f / (float)n, dz,
                                    NULL);
            }
            st_loss_probs(m->head_act, z, p, n * T, K); /* time-major (T, n, K) for sequences */
            st_model_backward(m, &c.b, dz);
            wrc = st_ckpt_save_gradients(out, m, p, (size_t)n * T, K, cnt > 0 ? l / cnt : 0);
        }
    }
    rc = st_dist_any_error(wrc);
done:
    st_free(dz);
    st_free(p);
    eval_close(&c);
    return rc;
}
