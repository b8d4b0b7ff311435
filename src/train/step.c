/*
 * step.c - one run's set-up (data, model, loss, optimizer, step buffers) and the
 * data-parallel training step that fit.c and bench.c both run.
 *
 * Data parallelism, step by step (identical on every rank):
 *   1. the epoch's permutation is a pure function of (seed, epoch) (schedule.c), so every
 *      rank knows every batch without communication, for any number of ranks;
 *   2. the GLOBAL batch (batch_size rows, fewer at the epoch's end) is split into balanced
 *      shards; each rank reads only its rows from the file (a rank may get none);
 *   3. forward and backward on the shard; the loss gradient is scaled by 1/global_rows so the
 *      summed gradients are the mean over the global batch (a sequence head, many-to-many:
 *      the mean over the REAL steps of the global batch, whose count arrives with the
 *      allreduce, so that scaling is applied after it). Layers with collectives inside
 *      (batch_norm) run on every rank, also on one without rows; dropout masks are keyed by
 *      (seed, epoch, global sample id), so neither depends on the number of ranks;
 *   4. ONE allreduce over the gradient buffer, whose tail (ST_TAIL_*, step.h) also carries the
 *      loss sum, correct count, row count and an error flag (a bad row on one rank stops every
 *      rank, no hang); sharded ([train] shard_optimizer), a reduce-scatter instead (each rank
 *      gets the sum of its part) and the tail apart; overlapped or with a sparse embedding,
 *      buckets (reduce.c); deterministic, the exact sums of exact.c;
 *   5. the same optimizer update everywhere, or each rank its part and an allgather.
 *
 * Not here: the epoch loop, logs and checkpoints (fit.c), the math of layers (src/layers),
 * file formats (src/io), MPI (src/dist).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/par.h"
#include "core/rowgemm.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "train/loss.h"
#include "seqtrain/metrics.h"
#include "model/model.h"
#include "seqtrain/trace.h"
#include "train/preempt.h"
#include "train/step.h"

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
            st_error_set("%s: %s with one output unit needs 2 classes, the dataset has "
                         "num_classes = %d (use %d units with softmax and %s)", origin,
                         st_loss_name(ST_LOSS_BCE), num_classes, num_classes,
                         st_loss_name(ST_LOSS_SPARSE_CCE));
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
            st_error_set("%s: %s against one-hot labels needs %d output units, not %d", origin,
                         st_loss_name(ST_LOSS_MSE), num_classes, K);
            return ST_ERR;
        }
        break;
    }
    return ST_OK;
}

/* Opens data, builds the model and optimizer, all ranks; errors agreed collectively. */
int st_run_open(st_run *R, st_config *cfg, const st_settings *set) {
    memset(R, 0, sizeof *R);
    R->cfg = cfg;
    R->set = set;
    R->rank = st_dist_rank();
    R->size = st_dist_size();
    R->ds.file = -1;
    R->train.x = R->train.y = R->valid.x = R->valid.y = -1;
    if (!set->data.path[0]) {
        st_error_set("%s: [data] path is required for training (seq_len and features only "
                     "describe generated data for --benchmark)", cfg->origin);
        return st_dist_any_error(ST_ERR);
    }
    int rc = st_dataset_open(&R->ds, set->data.path);
    if (rc == ST_OK) rc = st_split_open(&R->ds, set->data.train_split, &R->train);
    if (rc == ST_OK) {
        R->ntrain = R->train.n;
        if (set->data.validation_split > 0) {
            /* Keras: split_at = floor(N * (1 - validation_split)); the tail validates. */
            size_t at = (size_t)floor((double)R->train.n * (1.0 - set->data.validation_split));
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
                             set->data.path, R->valid.T, R->valid.F, set->data.train_split,
                             R->train.T, R->train.F);
                rc = ST_ERR;
            }
            /* Validation reads into the training batch: its labels must have the same shape
             * (one per row, or one per step), or they would overrun the label buffer. */
            if (rc == ST_OK && R->valid.yT != R->train.yT) {
                st_error_set("%s: /valid/y has %s but /%s/y has %s", set->data.path,
                             R->valid.yT ? "one label per step" : "one label per row",
                             set->data.train_split,
                             R->train.yT ? "one label per step" : "one label per row");
                rc = ST_ERR;
            }
            /* An empty /valid is a mistake in the file, not "no validation". */
            if (rc == ST_OK && R->valid.n == 0) {
                st_error_set("%s: /valid has no rows (remove the split, or set [data] "
                             "validation_split)", set->data.path);
                rc = ST_ERR;
            }
        }
        if (rc == ST_OK && R->ntrain == 0) {
            st_error_set("%s: /%s has no training rows left (N = %zu, validation_split = %g)",
                         set->data.path, set->data.train_split, R->train.n,
                         set->data.validation_split);
            rc = ST_ERR;
        }
    }
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;

    rc = st_run_setup(R, cfg, set, st_split_shape(&R->train), R->ds.num_classes, R->train.yT);
    /* After the sizes were checked (a size that cannot fit is named first), before any read. */
    if (rc == ST_OK) {
        rc = st_split_check_written(&R->train);
        if (rc == ST_OK && R->valid.x >= 0) rc = st_split_check_written(&R->valid);
        rc = st_dist_any_error(rc);
    }
    if (rc == ST_OK) st_batch_init(&R->batch, &R->train, R->model.maxB);
    if (rc == ST_OK) R->perm = st_malloc((R->ntrain ? R->ntrain : 1) * sizeof(size_t));
    if (rc == ST_OK) rc = st_schedule_init(R);
    return rc;
}

/* Model, loss, optimizer and step buffers for inputs of `shape`; errors agreed. */
int st_run_setup(st_run *R, st_config *cfg, const st_settings *set, st_shape shape,
                 int num_classes, int y_steps) {
    R->set = set;
    /* The largest shard of a global batch: every buffer is sized for it once, here. */
    int Bg = set->train.batch_size;
    R->block_rows = set->train.deterministic ? st_train_block_rows(&set->train) : 0;
    /* buffers only for rows that exist */
    int maxB = st_run_max_rows(Bg, R->block_rows, R->ntrain, R->size);
    /* one gradient slot per block of the largest shard */
    const int slots =
        R->block_rows > 0 ? (int)(((long)maxB + R->block_rows - 1) / R->block_rows) : 1;
    /* perm, scratch, bstart, span: 24 bytes a row */
    st_model_run_need need = {st_optim_cfg_states(&set->train.optim), R->ntrain, 24,
                              "training rows", slots};
    int rc = st_model_build_run(&R->model, cfg, shape, maxB, &need);
    R->loss = set->train.loss;
    if (rc == ST_OK)
        rc = st_run_check_head(&R->model, R->loss, num_classes, y_steps, cfg->origin);
    if (st_dist_any_error(rc) != ST_OK) return ST_ERR;

    if (R->block_rows > 0) {
        st_model *m = &R->model;
        /* OpenBLAS splits a threaded product at thread-count-dependent edges, computed by
         * other micro-kernels: 2 threads would give other bits than 1. So OpenBLAS runs on one
         * thread, and the rank's threads (what OpenBLAS was configured with: the
         * OPENBLAS_NUM_THREADS it read, or the cores the rank may run on, never more than
         * those) go to core/par.h's pool instead, which shares out independent pieces only:
         * the rows of a row-wise product and the blocks of a weight gradient
         * (core/rowgemm.c, layers/grad.c). Same bits for any thread count. */
        const int nt = st_par_fair(st_blas_threads() > st_par_threads() ? st_blas_threads()
                                                                         : st_par_threads());
        if (st_blas_threads() > 1) st_blas_set_threads(1);
        st_par_start(nt);
        if (R->rank == 0 && st_par_threads() > 1)
            ST_LOG(ST_LOG_INFO, "deterministic: %d threads per rank over blocks and rows; "
                   "OpenBLAS on 1\n", st_par_threads());
        if (R->rank == 0 && st_sgemm_rows_best() != ST_ROWS_AVX512)
            ST_LOG(ST_LOG_INFO, "deterministic: this CPU has no AVX-512; the row products run "
                   "on the AVX2 kernel, up to about 20%% slower per step than deterministic = "
                   "false (README, \"Bitwise the same weights\")\n");
        st_model_set_blocks(m, R->block_rows, slots);
        if (st_par_threads() > 1) {
            /* one gather space per thread (layers/grad.c), each of the capacity
             * st_model_set_blocks chose for one, so the path a block takes does not depend on
             * the thread count */
            const size_t one = m->blk.scratch_floats ? m->blk.scratch_floats : 1;
            st_free(m->blk.scratch);
            m->blk.scratch = st_malloc_for((size_t)st_par_threads() * one * sizeof(float),
                                           "the deterministic reduction's gather space");
            m->blk.threads = st_par_threads();
        }
        R->fx = st_malloc_for((m->nparams + ST_FX_TAIL) * sizeof(int64_t),
                              "the deterministic reduction's fixed-point sums");
        R->fx_exp = st_malloc(((size_t)m->ntensors + 1) * sizeof(int32_t));
        R->fx_efin = st_malloc(((size_t)m->ntensors + 1) * sizeof(int32_t));
    }
    /* Sharded with more than one rank unless switched off: the update and its state are then
     * divided, and the reduce-scatter plus allgather moves what an allreduce moves (fewer
     * bytes in deterministic mode: int64 one way, float the other). */
    const size_t np = R->model.nparams;
    R->shard = R->size > 1 && set->train.shard_optimizer != 0;
    if (R->shard) {
        R->part = st_malloc(((size_t)R->size + 1) * sizeof(size_t));
        for (int r = 0; r <= R->size; r++) R->part[r] = st_optim_part_start(np, r, R->size);
        const size_t lo = R->part[R->rank], hi = R->part[R->rank + 1];
        st_optim_init_part(&R->opt, &set->train.optim, np, lo, hi);
        if (R->block_rows == 0) R->gpart = st_malloc((hi - lo ? hi - lo : 1) * sizeof(float));
        else R->fxpart = st_malloc((hi - lo ? hi - lo : 1) * sizeof(int64_t));
    } else {
        st_optim_init(&R->opt, &set->train.optim, np);
    }
    st_reduce_plan(R);
    R->dz = st_malloc((size_t)maxB * (size_t)(R->model.seq_out ? R->model.maxT : 1) *
                      R->model.num_outputs * sizeof(float));
    R->rows = st_malloc((size_t)maxB * sizeof(size_t));
    return ST_OK;
}

void st_run_close(st_run *R) {
    st_par_stop(); /* the pool's workers end with the run (none without one) */
    st_free(R->dz);
    st_free(R->perm);
    st_free(R->bstart);
    st_free(R->span);
    st_free(R->scratch);
    st_free(R->rows);
    st_free(R->fx);
    st_free(R->fx_exp);
    st_free(R->fx_efin);
    st_free(R->fx_nf);
    st_reduce_free(R);
    st_free(R->part);
    st_free(R->gpart);
    st_free(R->fxpart);
    st_batch_free(&R->batch);
    st_optim_free(&R->opt);
    st_model_free(&R->model);
    if (R->valid.x >= 0) st_split_close(&R->valid);
    if (R->train.x >= 0) st_split_close(&R->train);
    if (R->ds.file >= 0) st_dataset_close(&R->ds);
}

/* 1 when no weight is NaN or inf. Read-only and branch-free over the exponent bits, so the
 * compiler vectorizes it: one pass over the parameters costs about as much as reading them once
 * (the update wrote them a moment ago, so they are mostly in cache): 0.065 ms for the 344,897
 * parameters of tools/bench/configs/M2.ini, whose step takes over 100 ms (README, "NaN or inf
 * in the weights"). Cheaper than a sum of the gradients would be, and it also sees what the
 * optimizer's own state turned into. */
static int all_finite(const float *w, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &w[i], sizeof b);
        bad |= (b & 0x7f800000u) == 0x7f800000u; /* exponent all ones: inf or NaN */
    }
    return bad == 0;
}

/* The slow path, once: which tensor holds the first bad weight: "dense_1/kernel[3] is NaN". */
static int nonfinite(const st_model *m) {
    for (int l = 0; l < m->nlayers; l++) {
        const st_layer *L = &m->layers[l];
        for (int p = 0; p < L->nparam; p++) {
            const st_param *P = &L->param[p];
            size_t n = st_dims_count(&P->dims);
            for (size_t i = 0; i < n; i++) {
                if (isfinite(P->w[i])) continue;
                st_error_set("%s/%s[%zu] is %s", L->name, P->name, i,
                             isnan(P->w[i]) ? "NaN" : "inf");
                return ST_STEP_NONFINITE;
            }
        }
    }
    st_error_set("a weight is NaN or inf");
    return ST_STEP_NONFINITE;
}

/* Wall clock only when phases are timed: a normal step makes no clock calls at all. */
static double now_if(const st_phase_times *pt) { return pt ? st_time() : 0; }

int st_run_step(st_run *R, int n, int bg, int read_rc, float tail_out[ST_TAIL_N],
                st_phase_times *pt) {
    st_model *m = &R->model;
    double t0 = now_if(pt);
    /* A rank with no rows this step (tiny last batch) still contributes zeros to the
     * allreduce: the collective count never depends on the data. */
    const int rows = read_rc == ST_OK && n > 0;
    const int exact = R->block_rows > 0;
    st_model_zero_grad_rows(m, rows ? n : 0);
    float *tail = m->grads + m->nparams;
    memset(tail, 0, ST_TAIL_N * sizeof(float));
    st_xsum xloss = {{0}}; /* deterministic: the loss summed exactly, row by row */
    st_xsum *xs = exact ? &xloss : NULL;
    const int nblk = exact && rows ? (int)(((long)n + R->block_rows - 1) / R->block_rows) : 0;
    const int run = rows || m->collective;
    if (run) {
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
            l = st_loss_compute_seq_x(R->loss, m->head_act, z, R->batch.y, m->out_mask, n,
                                      R->batch.T, m->num_outputs, 1.0f, R->dz, &correct,
                                      &count, xs);
        } else if (rows) {
            /* Scaling by the GLOBAL row count makes the summed gradients the global mean. */
            l = st_loss_compute_x(R->loss, m->head_act, z, R->batch.y, n, m->num_outputs,
                                  1.0f / (float)bg, R->dz, &correct, xs);
        }
        if (rows && R->macc)
            st_metrics_update(R->macc, m->head_act, z, R->batch.y,
                              m->seq_out ? m->out_mask : NULL, n, m->seq_out ? R->batch.T : 1,
                              m->num_outputs, R->top_k);
        tail[ST_TAIL_LOSS] = (float)l;
        tail[ST_TAIL_CORRECT] = (float)correct;
        tail[ST_TAIL_COUNT] = (float)count;
    }
    tail[ST_TAIL_ERROR] = read_rc != ST_OK;
    /* A stop signal travels with the gradients: every rank learns of it at this step. */
    tail[ST_TAIL_STOP] = st_preempt_signal() != 0;
    const double counts[4] = {tail[ST_TAIL_CORRECT], tail[ST_TAIL_COUNT], tail[ST_TAIL_ERROR],
                              tail[ST_TAIL_STOP]};
    /* Overlapped: the tail goes now, each bucket of gradients as backward completes it. */
    if (R->ov) st_reduce_begin(R, rows ? n : 0, nblk, &xloss, counts);
    if (run) st_model_backward(m, &R->batch, R->dz);
    double t1 = now_if(pt), tr = st_trace_on() ? st_time() : 0;
    if (pt && pt->split_wait) {
        st_dist_barrier();
        pt->wait += st_time() - t1; /* allreduce below still counts from t1: wait + transfer */
        if (tr > 0) st_trace_add("wait", "wait", tr, st_time());
    }
    /* g: the summed gradient of the parameters this rank updates, [lo, hi) */
    float *g = m->grads;
    const size_t lo = R->opt.lo, hi = R->opt.hi;
    if (R->ov) {
        st_reduce_finish(R, tail);
        g = exact ? m->grads + lo : R->shard ? R->gpart : m->grads;
    } else if (exact) {
        /* Whole blocks: this rank's blocks, or none. */
        st_run_reduce_exact(R, nblk, &xloss, counts, tail);
        g = m->grads + lo;
    } else if (R->shard) {
        st_dist_reduce_scatter_sum(m->grads, R->gpart, R->part, 0, m->nparams);
        st_dist_allreduce_sum(tail, ST_TAIL_N);
        g = R->gpart;
    } else {
        st_dist_allreduce_sum(m->grads, m->nparams + ST_TAIL_N);
    }
    double t2 = now_if(pt);
    if (tr > 0) st_trace_add("allreduce", "allreduce", tr, st_time());
    memcpy(tail_out, tail, ST_TAIL_N * sizeof(float));
    /* The error flag arrived with the gradients: every rank knows at once that some rank
     * failed, skips the update and joins the agreement that prints the message. */
    if (tail[ST_TAIL_ERROR] > 0) return st_dist_any_error(read_rc);
    /* A diverged step is not applied: every rank sees the same reduced loss and keeps the
     * last good weights (terminate_on_nan stops there; otherwise training fails). */
    if (!isfinite(tail[ST_TAIL_LOSS])) return ST_OK;
    if (m->seq_out && tail[ST_TAIL_COUNT] > 0) {
        /* The mean over the real steps of ALL ranks (identical on every rank). */
        const float inv = 1.0f / tail[ST_TAIL_COUNT];
        for (size_t i = 0; i < hi - lo; i++) g[i] *= inv;
    }
    double to = st_trace_on() ? st_time() : 0;
    st_optim_step(&R->opt, m->params, g, m->ranges, m->ntensors, m->trainable);
    if (to > 0) st_trace_add("optimizer", "optimizer", to, st_time());
    double t3 = now_if(pt);
    /* Every rank's updated part to every rank: the replicas are whole again. */
    if (R->shard) {
        double ta = st_trace_on() ? st_time() : 0;
        st_dist_allgather_parts(m->params, R->part);
        if (ta > 0) st_trace_add("allgather", "allreduce", ta, st_time());
    }
    double t4 = now_if(pt);
    if (!all_finite(m->params, m->nparams)) return nonfinite(m);
    if (pt) {
        /* communication: the reduction and, sharded, the allgather */
        pt->fwd_bwd += t1 - t0;
        pt->allreduce += (t2 - t1) + (t4 - t3);
        pt->optim += t3 - t2;
    }
    return ST_OK;
}
