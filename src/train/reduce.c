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
 * The last bucket (the first layers: in a text model the embedding, most of the gradient) is
 * complete only when backward ends, so nothing can hide it: it takes the blocking collectives,
 * which Open MPI runs faster than its non-blocking ones. When the embedding may go sparse it is
 * that bucket, alone (sparse_rows: the rows the global batch touched, decided by bytes).
 *
 * The loss, counts, error and stop flags (the tail) are known before backward: they go first,
 * on lane DATA.
 *
 * Not here: the blocking reduction (step.c, exact.c), the transport (src/dist/comm.c).
 */
#include <stdio.h>
#include <string.h>

#include "core/poll.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/trace.h"
#include "train/step.h"

/* Buckets at most: 3 x 63 ops + the tail's stay under comm.c's 256 in flight. */
#define ST_BUCKETS_MAX 64

typedef struct st_bucket {
    int layer;   /* complete when this layer's backward returns (the lowest of the group) */
    int t0, t1;  /* tensors [t0, t1) */
    size_t a, b; /* parameters [a, b) */
    int hexp, hdata;
    double t_start; /* --timeline: when it started (0: not traced, or traced already) */
} st_bucket;

typedef struct st_reduce {
    st_run *R;
    int nb;
    st_bucket *b;
    int hooks;     /* overlapped: buckets start as backward completes them (else after it) */
    int started;   /* buckets whose first op has started */
    int converted; /* exact: buckets whose sums have started */
    int htail, nblk, nonfinite;
    /* Sparse embedding exchange: the embedding (tensor 0, layer 0) is the last bucket, alone;
     * E floats a row. rows: this step's union of the rows the ranks' batches touched (nrows;
     * sparse: that union is exchanged this step), gathered in ids (size x maxB x maxT), marked
     * in seen (V bits); packed (nrows x E) floats or int64 travel. */
    int emb;        /* 1: the last bucket may go sparse */
    int sparse;     /* this step */
    size_t V, E, nrows, cap;
    int32_t *rows, *ids;
    uint64_t *seen;
    void *packed, *share; /* sharded: share receives this rank's part of the packed sums */
    size_t *ppart;        /* sharded: where each rank's part starts in the packed rows */
    int64_t sparse_steps, steps;
} st_reduce;

/* The sparse exchange can pay: a first layer of one trainable row-sparse tensor (an embedding:
 * a token's row gets gradient only where the token occurs) reading token ids, whose table has
 * more rows than a global batch has positions (else every step could touch all of them). */
static int sparse_possible(const st_run *R) {
    const st_model *m = &R->model;
    const st_layer *L = &m->layers[0];
    if (R->set->train.sparse_embedding == 0 || m->nlayers < 2 || !m->input.tokens ||
        L->nparam != 1 || !L->param[0].row_sparse || !m->trainable[0])
        return 0;
    const size_t V = L->param[0].dims.d[0];
    return (size_t)R->set->train.batch_size * (size_t)(m->maxT > 0 ? m->maxT : 1) < V;
}

/* Buckets of whole layers from the head down, each closed once it holds cap bytes (and before
 * the embedding when it may go sparse); returns their number. */
static int buckets(st_reduce *ov, const st_model *m, const int *first, double cap) {
    int nb = 0, hi_layer = m->nlayers - 1;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        const int t0 = first[l], t1 = first[hi_layer + 1];
        if (t0 == t1) continue; /* no parameters yet */
        const size_t a = m->ranges[t0].offset,
                     b = m->ranges[t1 - 1].offset + m->ranges[t1 - 1].count;
        if ((double)(b - a) * sizeof(float) >= cap || l == 0 || (ov->emb && l == 1)) {
            ov->b[nb++] = (st_bucket){l, t0, t1, a, b, -1, -1, 0};
            hi_layer = l - 1;
        }
    }
    return nb;
}

int st_reduce_plan(st_run *R) {
    st_model *m = &R->model;
    const st_train_cfg *tc = &R->set->train;
    if (R->size < 2 || m->ntensors == 0) return 0;
    const int emb = sparse_possible(R);
    if (tc->overlap == 0 && !emb) return 0;
    st_reduce *ov = st_malloc(sizeof *ov);
    memset(ov, 0, sizeof *ov);
    ov->R = R;
    ov->emb = emb;
    ov->b = st_malloc(sizeof(st_bucket) * (size_t)m->nlayers);
    /* first tensor of each layer (tensors are in layer order) */
    int *first = st_malloc(sizeof(int) * ((size_t)m->nlayers + 1));
    for (int l = 0, t = 0; l <= m->nlayers; l++) {
        first[l] = t;
        if (l < m->nlayers) t += m->layers[l].nparam;
    }
    ov->hooks = tc->overlap != 0;
    /* Every bucket before the last keeps up to 3 ops in flight until the step's end (exact:
     * exponents, finite exponents, sums), and src/dist/comm.c holds 256: a model of many small
     * layers gets buckets of a few layers each, as many as fit (bucket_mb is a size, not a
     * count; in exact mode the sums are the same for any buckets). */
    double cap = ov->hooks ? (double)tc->bucket_mb * 1024 * 1024 : 1e300;
    while ((ov->nb = buckets(ov, m, first, cap)) > ST_BUCKETS_MAX) cap *= 2;
    /* auto: overlap only when backward leaves something to overlap with. The last bucket (the
     * first layers, usually the embedding: most of a text model's gradient) completes when
     * backward ends, so it is never hidden; when the others hold under a quarter of the
     * gradient, overlapping costs more than it hides (libnbc's non-blocking allreduce ran
     * 1.5-2.4x slower than the blocking one on one node: README, "Scaling past one node"). */
    if (tc->overlap < 0 && ov->nb > 0) {
        const st_bucket *last = &ov->b[ov->nb - 1];
        if ((double)(last->b - last->a) > 0.75 * (double)m->nparams) ov->hooks = 0;
    }
    if (!ov->hooks && !emb) {
        st_free(first);
        st_free(ov->b);
        st_free(ov);
        return 0;
    }
    /* Not overlapped (only the sparse embedding asked for buckets): one bucket above it. */
    if (!ov->hooks) ov->nb = buckets(ov, m, first, 1e300);
    st_free(first);
    if (emb) {
        ov->V = m->layers[0].param[0].dims.d[0];
        ov->E = m->ranges[0].count / ov->V;
        ov->cap = (size_t)R->size * (size_t)m->maxB * (size_t)(m->maxT > 0 ? m->maxT : 1);
        ov->ids = st_malloc(ov->cap * sizeof(int32_t));
        ov->rows = st_malloc((ov->V < ov->cap ? ov->V : ov->cap) * sizeof(int32_t));
        ov->seen = st_malloc((ov->V + 63) / 64 * sizeof(uint64_t));
        memset(ov->seen, 0, (ov->V + 63) / 64 * sizeof(uint64_t));
        const size_t most = (ov->V < ov->cap ? ov->V : ov->cap) * ov->E * sizeof(int64_t);
        ov->packed = st_malloc(most);
        ov->share = st_malloc(most);
        ov->ppart = st_malloc(((size_t)R->size + 1) * sizeof(size_t));
    }
    R->ov = ov;
    st_dist_lanes_init();
    return ov->nb;
}

/* The distinct ids among ids[0, n), sorted, into out (through the bitmap `seen`, left clear):
 * O(n + V/64). Returns their number. */
static size_t distinct(st_reduce *ov, const int32_t *ids, size_t n, int32_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t id = (uint32_t)ids[i];
        if (id < ov->V) ov->seen[id >> 6] |= (uint64_t)1 << (id & 63);
    }
    for (size_t w = 0; w < (ov->V + 63) / 64; w++) {
        for (uint64_t x = ov->seen[w]; x; x &= x - 1)
            out[k++] = (int32_t)(w * 64 + (size_t)__builtin_ctzll(x));
        ov->seen[w] = 0;
    }
    return k;
}

/* This step's rows: every rank's distinct token ids, gathered, their union (sorted, the same
 * on every rank). Then the decision, the same everywhere. Collective. */
static void sparse_rows(st_reduce *ov, const st_batch *b, int n) {
    size_t k = distinct(ov, b->tok, (size_t)n * (size_t)b->T, ov->rows);
    const size_t total = st_dist_allgather_i32(ov->rows, k, ov->ids);
    ST_ASSERT(total <= ov->cap, "%zu token ids gathered, room for %zu", total, ov->cap);
    ov->nrows = distinct(ov, ov->ids, total, ov->rows);
    /* the rows go the way the table would (reduce-scatter sharded, else allreduce): fewer
     * rows, fewer bytes; under 80% of them, so that packing has something to pay for */
    ov->sparse = 5 * ov->nrows < 4 * ov->V;
    ov->sparse_steps += ov->sparse;
    ov->steps++;
}

int st_reduce_buckets(const st_run *R) { return R->ov && R->ov->hooks ? R->ov->nb : 0; }

double st_reduce_sparse_share(const st_run *R) {
    return R->ov && R->ov->steps ? (double)R->ov->sparse_steps / (double)R->ov->steps : 0;
}

void st_reduce_free(st_run *R) {
    if (!R->ov) return;
    st_free(R->ov->ids);
    st_free(R->ov->rows);
    st_free(R->ov->seen);
    st_free(R->ov->packed);
    st_free(R->ov->share);
    st_free(R->ov->ppart);
    st_free(R->ov->b);
    st_free(R->ov);
    R->ov = NULL;
}

/* Bucket k is this step's sparse embedding. */
static int is_sparse(const st_reduce *ov, int k) { return ov->sparse && k == ov->nb - 1; }

/* The touched rows of the table at src (floats or int64: `size` bytes an element), packed. */
static void pack(const st_reduce *ov, const void *src, size_t size) {
    const size_t row = ov->E * size;
    for (size_t i = 0; i < ov->nrows; i++)
        memcpy((char *)ov->packed + i * row, (const char *)src + (size_t)ov->rows[i] * row, row);
}

/* The summed packed elements [j0, j1) (at src) back into the table's place in dst, which
 * holds elements [dst_lo, dst_hi) of the buffer (the table starts at element a); the table's
 * other elements there are zero (no rank touched their rows). Packed element j is element
 * a + rows[j / E] E + j % E: increasing in j, since the rows are sorted. */
static void unpack(const st_reduce *ov, const void *src, size_t j0, size_t j1, void *dst,
                   size_t dst_lo, size_t dst_hi, size_t a, size_t size) {
    const size_t E = ov->E, b = a + ov->V * E, lo = a > dst_lo ? a : dst_lo,
                 hi = b < dst_hi ? b : dst_hi;
    if (lo < hi) memset((char *)dst + (lo - dst_lo) * size, 0, (hi - lo) * size);
    for (size_t i = j0 / E; i * E < j1; i++) {
        const size_t c0 = i * E > j0 ? i * E : j0, c1 = (i + 1) * E < j1 ? (i + 1) * E : j1;
        const size_t at = a + (size_t)ov->rows[i] * E + (c0 - i * E);
        memcpy((char *)dst + (at - dst_lo) * size, (const char *)src + (c0 - j0) * size,
               (c1 - c0) * size);
    }
}

/* Sharded: where each rank's part starts among the packed elements (the same increasing map
 * as unpack's), so the packed rows are reduce-scattered straight into their owners' parts. */
static void packed_parts(st_reduce *ov, const size_t *part, int size, size_t a) {
    const size_t E = ov->E, total = ov->nrows * E;
    for (int r = 0; r <= size; r++) {
        const size_t q = part[r];
        if (q <= a) {
            ov->ppart[r] = 0;
        } else if (q >= a + ov->V * E) {
            ov->ppart[r] = total;
        } else {
            const size_t qr = (q - a) / E, off = (q - a) % E;
            size_t i0 = 0, i1 = ov->nrows; /* the first packed row >= qr */
            while (i0 < i1) {
                size_t mid = (i0 + i1) / 2;
                if ((size_t)ov->rows[mid] < qr) i0 = mid + 1;
                else i1 = mid;
            }
            ov->ppart[r] = i0 * E + (i0 < ov->nrows && (size_t)ov->rows[i0] == qr ? off : 0);
        }
    }
}

/* --timeline: each bucket from its start until it is seen complete, on the track of
 * reductions in flight ("bucket k: N KiB"). done: only those seen complete (else all). */
static void trace_buckets(st_reduce *ov, int done) {
    for (int k = 0; k < ov->started; k++) {
        st_bucket *bk = &ov->b[k];
        /* exact: its sums start only at the second stage */
        const int complete = st_dist_done(bk->hexp) && st_dist_done(bk->hdata) &&
                             (ov->R->block_rows <= 0 || k < ov->converted);
        if (bk->t_start <= 0 || (done && !complete)) continue;
        char name[48];
        snprintf(name, sizeof name, "bucket %d: %.1f KiB", k,
                 (double)(bk->b - bk->a) * sizeof(float) / 1024);
        st_trace_add(name, "bucket", bk->t_start, st_time());
        bk->t_start = 0;
    }
}

/* Where this rank's share of elements [a, ...) lands in its part's buffers (gpart, fxpart):
 * 0 when the share is empty (nothing is written there). */
static size_t share_at(const st_run *R, size_t a) {
    const size_t lo = R->opt.lo, at = a > lo ? a : lo;
    return at < R->opt.hi ? at - lo : 0;
}

/* Starts bucket k: its sums (float), or its exponents' agreement (exact). */
static void start(st_reduce *ov, int k) {
    st_run *R = ov->R;
    st_model *m = &R->model;
    st_bucket *bk = &ov->b[k];
    bk->t_start = st_trace_on() ? st_time() : 0;
    bk->hdata = bk->hexp = -1;
    if (R->block_rows > 0) {
        st_exact_exponents(R, ov->nblk, bk->t0, bk->t1);
        bk->hexp = st_dist_imax_i32(ST_LANE_EXP, R->fx_exp + bk->t0, (size_t)(bk->t1 - bk->t0));
    } else if (R->shard) {
        bk->hdata = st_dist_ireduce_scatter(ST_LANE_DATA, m->grads + bk->a,
                                            R->gpart + share_at(R, bk->a), R->part, bk->a,
                                            bk->b);
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
        bk->hdata = st_dist_ireduce_scatter_i64(ST_LANE_DATA, R->fx + bk->a,
                                                R->fxpart + share_at(R, bk->a), R->part,
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
    if (st_trace_on()) trace_buckets(ov, 1);
}

/* The last bucket is left to st_reduce_finish (reduce_last). */
static void layer_done(void *ctx, int layer) {
    st_reduce *ov = ctx;
    while (ov->started < ov->nb - 1 && ov->b[ov->started].layer >= layer)
        start(ov, ov->started++);
    poll(ov);
}

/* The last bucket (the first layers, usually the embedding) is complete only when backward
 * ends: nothing is left to hide it behind, so it takes the blocking collectives, which Open
 * MPI 4.1 runs faster than its non-blocking ones (libnbc: 1.5-2.4x slower on one node,
 * about 1.6x over TCP: README, "Scaling past one node"). */
static void reduce_last(st_reduce *ov) {
    st_run *R = ov->R;
    st_model *m = &R->model;
    const int k = ov->nb - 1;
    st_bucket *bk = &ov->b[k];
    const size_t into = share_at(R, bk->a);
    if (R->block_rows > 0) {
        st_exact_exponents(R, ov->nblk, bk->t0, bk->t1);
        st_dist_allreduce_max_i32(R->fx_exp + bk->t0, (size_t)(bk->t1 - bk->t0));
        int nonfinite = 0;
        for (int t = bk->t0; t < bk->t1; t++) nonfinite |= R->fx_exp[t] == ST_FX_NONFINITE;
        if (nonfinite) {
            st_exact_finite_exponents(R, ov->nblk, bk->t0, bk->t1);
            st_dist_allreduce_max_i32(R->fx_efin + bk->t0, (size_t)(bk->t1 - bk->t0));
            ov->nonfinite = 1;
        }
        st_exact_to_fixed(R, ov->nblk, bk->t0, bk->t1);
        if (is_sparse(ov, k) && R->shard) {
            pack(ov, R->fx + bk->a, sizeof(int64_t));
            packed_parts(ov, R->part, R->size, bk->a);
            st_dist_reduce_scatter_sum_i64(ov->packed, ov->share, ov->ppart, 0,
                                           ov->nrows * ov->E);
        } else if (is_sparse(ov, k)) {
            pack(ov, R->fx + bk->a, sizeof(int64_t));
            st_dist_allreduce_sum_i64(ov->packed, ov->nrows * ov->E);
        } else if (R->shard) {
            st_dist_reduce_scatter_sum_i64(R->fx + bk->a, R->fxpart + into, R->part, bk->a,
                                           bk->b);
        } else {
            st_dist_allreduce_sum_i64(R->fx + bk->a, bk->b - bk->a);
        }
    } else if (is_sparse(ov, k) && R->shard) {
        pack(ov, m->grads + bk->a, sizeof(float));
        packed_parts(ov, R->part, R->size, bk->a);
        st_dist_reduce_scatter_sum(ov->packed, ov->share, ov->ppart, 0, ov->nrows * ov->E);
    } else if (is_sparse(ov, k)) {
        pack(ov, m->grads + bk->a, sizeof(float));
        st_dist_allreduce_sum(ov->packed, ov->nrows * ov->E);
    } else if (R->shard) {
        st_dist_reduce_scatter_sum(m->grads + bk->a, R->gpart + into, R->part, bk->a, bk->b);
    } else {
        st_dist_allreduce_sum(m->grads + bk->a, bk->b - bk->a);
    }
}

void st_reduce_begin(st_run *R, int n, int nblk, const st_xsum *loss, const double counts[4]) {
    st_reduce *ov = R->ov;
    st_model *m = &R->model;
    ov->started = ov->converted = 0;
    ov->nblk = nblk;
    ov->nonfinite = 0;
    ov->sparse = 0;
    if (ov->emb) sparse_rows(ov, &R->batch, n);
    if (R->block_rows > 0) {
        memset(R->fx, 0, (m->nparams + ST_FX_TAIL) * sizeof(int64_t));
        st_exact_tail_fill(R->fx + m->nparams, loss, counts);
        ov->htail = st_dist_isum_i64(ST_LANE_DATA, R->fx + m->nparams, ST_FX_TAIL);
    } else {
        ov->htail = st_dist_isum(ST_LANE_DATA, m->grads + m->nparams, ST_TAIL_N);
    }
    if (!ov->hooks) return;
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
    while (ov->started < ov->nb - 1) start(ov, ov->started++);
    st_dist_watch_begin("gradient reduction");
    advance(ov, 1);
    for (int k = 0; k < ov->started; k++) st_dist_wait(ov->b[k].hdata);
    st_dist_wait(ov->htail);
    st_dist_watch_end();
    if (st_trace_on()) trace_buckets(ov, 0);
    st_dist_ops_reset();
    reduce_last(ov);
    if (ov->sparse) {
        const size_t a = ov->b[ov->nb - 1].a, lo = R->opt.lo, hi = R->opt.hi;
        const size_t j0 = R->shard ? ov->ppart[R->rank] : 0,
                     j1 = R->shard ? ov->ppart[R->rank + 1] : ov->nrows * ov->E;
        const void *src = R->shard ? ov->share : ov->packed;
        if (R->block_rows > 0 && R->shard)
            unpack(ov, src, j0, j1, R->fxpart, lo, hi, a, sizeof(int64_t));
        else if (R->block_rows > 0)
            unpack(ov, src, j0, j1, R->fx, 0, m->nparams, a, sizeof(int64_t));
        else if (R->shard)
            unpack(ov, src, j0, j1, R->gpart, lo, hi, a, sizeof(float));
        else
            unpack(ov, src, j0, j1, m->grads, 0, m->nparams, a, sizeof(float));
    }
    if (R->block_rows > 0) {
        if (ov->nonfinite) st_dist_allreduce_sum_i64(R->fx_nf, 3 * m->nparams);
        st_exact_from_fixed(R, R->shard ? R->fxpart : R->fx);
        st_free(R->fx_nf);
        R->fx_nf = NULL;
        st_exact_tail(R->fx + m->nparams, tail_out);
    } else {
        if (tail_out != m->grads + m->nparams)
            memcpy(tail_out, m->grads + m->nparams, ST_TAIL_N * sizeof(float));
    }
}
