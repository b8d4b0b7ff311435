/*
 * reduce.c - the step's gradient reduction overlapped with backward ([train] overlap), as
 * PyTorch DDP and Horovod do it, with seqtrain's guarantees kept.
 *
 * Backward finishes the layers from the head down to the embedding, and a layer's parameter
 * gradients are final once its backward returns. The tensors are grouped into buckets of
 * whole layers, in that order, of about [train] bucket_mb MiB each (the head's first, the
 * embedding's last). When the lowest layer of a bucket has returned (the model's layer_done
 * hook), its reduction starts as a non-blocking collective, and backward goes on; Open MPI
 * advances such a collective only inside MPI calls, so the recurrent layers call st_poll() at
 * every time step and the hook tests the ops in flight (tools/bench/allreduce_poll.c and
 * src/dist/watchdog.c have the measurements behind polling from the main thread rather than
 * from a thread that sleeps). After backward, what remains is started and waited for: that
 * wait is the exposed communication the benchmark reports as allreduce_ms.
 *
 * Float reduction: each bucket is an MPI_Iallreduce (or, sharded, an MPI_Ireduce_scatter into
 * this rank's part). The sums differ from the one-allreduce step in their last bits (another
 * split of the same additions); the deterministic reduction does not:
 * Exact reduction (exact.c): a bucket needs its tensors' agreed exponents before its values can
 * become fixed point, so it goes in two stages, on two lanes (MPI matches non-blocking
 * collectives by start order per communicator, and the second stage starts whenever the first
 * is seen complete, which differs between ranks): the exponents' max-reduction at the bucket's
 * end (lane EXP), then, once complete, the conversion and the int64 sum (lane DATA), bucket
 * after bucket in order. Integer sums: bitwise the same result as the blocking step, for any
 * bucket size and any number of ranks. A tensor with NaN or inf takes its rare path in the
 * final phase.
 *
 * The loss, counts, error and stop flags (the tail) are known before backward: they go first,
 * on lane DATA.
 *
 * Not here: the blocking reduction (step.c, exact.c), the transport (src/dist/comm.c).
 */
#include <string.h>

#include "core/poll.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "train/step.h"

typedef struct st_bucket {
    int layer;   /* complete when this layer's backward returns (the lowest of the group) */
    int t0, t1;  /* tensors [t0, t1) */
    size_t a, b; /* parameters [a, b) */
    int hexp, hdata;
} st_bucket;

typedef struct st_reduce {
    st_run *R;
    int nb;
    st_bucket *b;
    int started;   /* buckets whose first op has started */
    int converted; /* exact: buckets whose sums have started */
    int htail, nblk, nonfinite;
    int64_t *fxpart; /* sharded exact: this rank's part of the sums */
} st_reduce;

int st_reduce_plan(st_run *R) {
    st_model *m = &R->model;
    const st_train_cfg *tc = &R->set->train;
    if (R->size < 2 || tc->overlap == 0 || m->ntensors == 0) return 0;
    st_reduce *ov = st_malloc(sizeof *ov);
    memset(ov, 0, sizeof *ov);
    ov->R = R;
    ov->b = st_malloc(sizeof(st_bucket) * (size_t)m->nlayers);
    /* first tensor of each layer (tensors are in layer order) */
    int *first = st_malloc(sizeof(int) * ((size_t)m->nlayers + 1));
    for (int l = 0, t = 0; l <= m->nlayers; l++) {
        first[l] = t;
        if (l < m->nlayers) t += m->layers[l].nparam;
    }
    const double cap = (double)tc->bucket_mb * 1024 * 1024;
    int hi_layer = m->nlayers - 1;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        const int t0 = first[l], t1 = first[hi_layer + 1];
        if (t0 == t1) continue; /* no parameters yet */
        const size_t a = m->ranges[t0].offset,
                     b = m->ranges[t1 - 1].offset + m->ranges[t1 - 1].count;
        if ((double)(b - a) * sizeof(float) >= cap || l == 0) {
            ov->b[ov->nb++] = (st_bucket){l, t0, t1, a, b, -1, -1};
            hi_layer = l - 1;
        }
    }
    st_free(first);
    if (R->shard && R->block_rows > 0) {
        const size_t n = R->opt.hi - R->opt.lo;
        ov->fxpart = st_malloc((n ? n : 1) * sizeof(int64_t));
    }
    R->ov = ov;
    st_dist_lanes_init();
    return ov->nb;
}

int st_reduce_buckets(const st_run *R) { return R->ov ? R->ov->nb : 0; }

void st_reduce_free(st_run *R) {
    if (!R->ov) return;
    st_free(R->ov->b);
    st_free(R->ov->fxpart);
    st_free(R->ov);
    R->ov = NULL;
}

/* Starts bucket k: its sums (float), or its exponents' agreement (exact). */
static void start(st_reduce *ov, int k) {
    st_run *R = ov->R;
    st_model *m = &R->model;
    st_bucket *bk = &ov->b[k];
    if (R->block_rows > 0) {
        st_exact_exponents(R, ov->nblk, bk->t0, bk->t1);
        bk->hexp = st_dist_imax_i32(ST_LANE_EXP, R->fx_exp + bk->t0, (size_t)(bk->t1 - bk->t0));
    } else if (R->shard) {
        const size_t lo = R->opt.lo, at = bk->a > lo ? bk->a : lo;
        /* this rank's share of the bucket may be empty: the pointer is then not written */
        float *recv = R->gpart + (at < R->opt.hi ? at - lo : 0);
        bk->hdata = st_dist_ireduce_scatter(ST_LANE_DATA, m->grads + bk->a, recv, R->part,
                                            bk->a, bk->b);
    } else {
        bk->hdata = st_dist_isum(ST_LANE_DATA, m->grads + bk->a, bk->b - bk->a);
    }
}

/* Exact, second stage of bucket k (its exponents agreed): fixed point, then the sums. A tensor
 * with NaN or inf first agrees on its exponent over finite values (lane FIN); only in the
 * final phase (blocking), since every rank must reach it in the same order. */
static void convert(st_reduce *ov, int k) {
    st_run *R = ov->R;
    st_bucket *bk = &ov->b[k];
    for (int t = bk->t0; t < bk->t1; t++)
        if (R->fx_exp[t] == ST_FX_NONFINITE) {
            st_exact_finite_exponents(R, ov->nblk, bk->t0, bk->t1);
            int h = st_dist_imax_i32(ST_LANE_FIN, R->fx_efin + bk->t0, (size_t)(bk->t1 - bk->t0));
            st_dist_wait(h);
            ov->nonfinite = 1;
            break;
        }
    st_exact_to_fixed(R, ov->nblk, bk->t0, bk->t1);
    if (R->shard) {
        const size_t lo = R->opt.lo, at = bk->a > lo ? bk->a : lo;
        int64_t *recv = ov->fxpart + (at < R->opt.hi ? at - lo : 0);
        bk->hdata = st_dist_ireduce_scatter_i64(ST_LANE_DATA, R->fx + bk->a, recv, R->part,
                                                bk->a, bk->b);
    } else {
        bk->hdata = st_dist_isum_i64(ST_LANE_DATA, R->fx + bk->a, bk->b - bk->a);
    }
}

/* Exact: the second stage of every started bucket whose exponents are in, in bucket order
 * (block: waits for them). Not past a bucket with NaN or inf unless blocking. */
static void advance(st_reduce *ov, int block) {
    st_run *R = ov->R;
    if (R->block_rows <= 0) return;
    while (ov->converted < ov->started) {
        st_bucket *bk = &ov->b[ov->converted];
        if (!block) {
            if (!st_dist_done(bk->hexp)) return;
            for (int t = bk->t0; t < bk->t1; t++)
                if (R->fx_exp[t] == ST_FX_NONFINITE) return;
        }
        st_dist_wait(bk->hexp);
        convert(ov, ov->converted++);
    }
}

static void poll(void *ctx) {
    st_reduce *ov = ctx;
    st_dist_progress();
    advance(ov, 0);
}

static void layer_done(void *ctx, int layer) {
    st_reduce *ov = ctx;
    while (ov->started < ov->nb && ov->b[ov->started].layer >= layer) start(ov, ov->started++);
    poll(ov);
}

void st_reduce_begin(st_run *R, int nblk, const st_xsum *loss, const double counts[4]) {
    st_reduce *ov = R->ov;
    st_model *m = &R->model;
    ov->started = ov->converted = 0;
    ov->nblk = nblk;
    ov->nonfinite = 0;
    if (R->block_rows > 0) {
        memset(R->fx, 0, (m->nparams + ST_FX_TAIL) * sizeof(int64_t));
        st_exact_tail_fill(R->fx + m->nparams, loss, counts);
        ov->htail = st_dist_isum_i64(ST_LANE_DATA, R->fx + m->nparams, ST_FX_TAIL);
    } else {
        ov->htail = st_dist_isum(ST_LANE_DATA, m->grads + m->nparams, ST_TAIL_N);
    }
    m->layer_done = layer_done;
    m->layer_done_ctx = ov;
    st_poll_set(poll, ov);
}

void st_reduce_finish(st_run *R, float tail_out[ST_TAIL_N]) {
    st_reduce *ov = R->ov;
    st_model *m = &R->model;
    m->layer_done = NULL;
    st_poll_set(NULL, NULL);
    /* A rank that ran no backward (no rows) starts its buckets here. */
    while (ov->started < ov->nb) start(ov, ov->started++);
    st_dist_watch_begin("gradient reduction");
    advance(ov, 1);
    for (int k = 0; k < ov->nb; k++) st_dist_wait(ov->b[k].hdata);
    st_dist_wait(ov->htail);
    st_dist_watch_end();
    st_dist_ops_reset();
    if (R->block_rows > 0) {
        if (ov->nonfinite) st_dist_allreduce_sum_i64(R->fx_nf, 3 * m->nparams);
        st_exact_from_fixed(R, R->shard ? ov->fxpart : R->fx);
        st_free(R->fx_nf);
        R->fx_nf = NULL;
        st_exact_tail(R->fx + m->nparams, tail_out);
    } else {
        if (tail_out != m->grads + m->nparams)
            memcpy(tail_out, m->grads + m->nparams, ST_TAIL_N * sizeof(float));
    }
}
