/*
 * comm.c - the data-parallel transport: the ONLY file that includes mpi.h.
 *
 * seqtrain's distribution is plain data parallelism: every rank holds the whole model, the
 * gradient buffer is summed with one allreduce per step, and the few other collectives
 * (broadcast of initial weights, reductions of metrics, agreement on errors) are here too.
 * MPI counts are int, so buffers longer than INT_MAX elements are reduced in chunks.
 *
 * Every collective is bracketed by st_wd_enter/st_wd_leave: the watchdog (watchdog.c) ends the
 * job, naming the ranks that did not arrive, when one waits longer than its limit. The
 * collectives stay blocking (see watchdog.c for the measurements behind that choice), which is
 * why MPI is initialized with MPI_THREAD_MULTIPLE.
 *
 * Not here: deciding WHAT to reduce (fit.c) or overlapping communication with backward.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "dist/watchdog.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"

static int g_rank = 0, g_size = 1, g_we_initialized = 0;
/* Per-rank counts and displacements of the step's collectives (reduce-scatter, allgather of
 * the parts, the sparse embedding's id allgather): made once, not at every step. The gathers
 * of checkpoint and start-up time keep their own. */
static int *g_cnt, *g_dsp;

/* Non-blocking reductions (below, "the overlapped step"). */
#define ST_MAX_OPS 256
#define ST_MAX_REQS 4096
static MPI_Comm g_lane[ST_LANES] = {MPI_COMM_NULL, MPI_COMM_NULL, MPI_COMM_NULL};
/* An op is requests [g_op0[h], g_op0[h + 1]) (a reduce-scatter may be several, see
 * ST_RS_CHUNK); g_opcounts: the reduce-scatter counts of each request (size each), which MPI
 * reads until the request completes. */
static MPI_Request g_req[ST_MAX_REQS];
static int g_nops, g_nreq, g_op0[ST_MAX_OPS + 1], *g_opcounts;

/* Largest element count per MPI call: stays well inside int and keeps each message moderate. */
#define ST_CHUNK ((size_t)1 << 28)

#define ST_MPI(call)                                                                              \
    do {                                                                                          \
        int rc_ = (call);                                                                         \
        if (rc_ != MPI_SUCCESS) st_fatal(__FILE__, __LINE__, "%s failed (%d)", #call, rc_);       \
    } while (0)

/* What this rank gave to reductions and how long it spent inside them (st_dist_traffic_get):
 * a benchmark tells the network's share of the step from the local work around it. */
static st_dist_traffic g_traffic;

/* Wraps one reduction call: count its message and time it. */
#define ST_REDUCE(nbytes_, call)                                                                    \
    do {                                                                                          \
        double t_ = MPI_Wtime();                                                                  \
        ST_MPI(call);                                                                             \
        g_traffic.seconds += MPI_Wtime() - t_;                                                    \
        g_traffic.bytes += (uint64_t)(nbytes_);                                                   \
        g_traffic.calls++;                                                                        \
    } while (0)

st_dist_traffic st_dist_traffic_get(void) { return g_traffic; }

void st_dist_init(int *argc, char ***argv) {
    int inited = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&inited);
    if (!inited) {
        ST_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided));
        g_we_initialized = 1;
    } else {
        MPI_Query_thread(&provided);
    }
    /* Errors return codes (checked by ST_MPI) instead of MPI's default abort-with-noise. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    st_log_rank = g_rank;
    st_error_set_abort_hook(st_dist_abort);
    g_cnt = st_malloc(sizeof(int) * (size_t)g_size);
    g_dsp = st_malloc(sizeof(int) * (size_t)g_size);
    st_wd_start(MPI_COMM_WORLD, provided == MPI_THREAD_MULTIPLE);
}

void st_dist_set_timeouts(double collective_s, double startup_s) {
    st_wd_set_limits(collective_s, startup_s);
}

void st_dist_finalize(void) {
    /* A rank that stalled after the last collective would hold MPI_Finalize forever: the
     * barrier names it; the watchdog still times MPI_Finalize itself, without MPI. */
    st_dist_barrier();
    st_wd_finalizing();
    for (int l = 0; l < ST_LANES; l++)
        if (g_lane[l] != MPI_COMM_NULL) MPI_Comm_free(&g_lane[l]);
    st_free(g_opcounts);
    g_opcounts = NULL;
    st_free(g_cnt);
    st_free(g_dsp);
    g_cnt = g_dsp = NULL;
    int fin = 0;
    MPI_Finalized(&fin);
    if (g_we_initialized && !fin) MPI_Finalize();
    st_wd_stop();
}

int st_dist_rank(void) { return g_rank; }
int st_dist_size(void) { return g_size; }

void st_dist_allreduce_sum(float *buf, size_t n) {
    if (g_size == 1) return;
    st_wd_enter("allreduce", n, "floats");
    for (size_t off = 0; off < n; off += ST_CHUNK) {
        size_t c = n - off < ST_CHUNK ? n - off : ST_CHUNK;
        ST_REDUCE(c * sizeof(float),
                  MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    }
    st_wd_leave(1); /* the float sum is the gradient allreduce: training is under way */
}

void st_dist_allreduce_sum_f64(double *buf, size_t n) {
    if (g_size == 1) return;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu doubles", n);
    st_wd_enter("allreduce", n, "doubles");
    ST_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    st_wd_leave(0);
}

/* Exact in any order (integers): the deterministic gradient reduction (core/xsum.h). The first
 * call also ends the start-up limit, as the float gradient allreduce does. */
void st_dist_allreduce_sum_i64(int64_t *buf, size_t n) {
    if (g_size == 1) return;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu int64", n);
    st_wd_enter("allreduce", n * sizeof(int64_t), "bytes");
    ST_REDUCE(n * sizeof(int64_t),
              MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    st_wd_leave(1);
}

void st_dist_allreduce_max_i32(int32_t *buf, size_t n) {
    if (g_size == 1) return;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu int32", n);
    st_wd_enter("allreduce max", n, "int32");
    ST_REDUCE(n * sizeof(int32_t),
              MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT32_T, MPI_MAX, MPI_COMM_WORLD));
    st_wd_leave(0);
}

void st_dist_allreduce_max_f64(double *buf, size_t n) {
    if (g_size == 1) return;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu doubles", n);
    st_wd_enter("allreduce max", n, "doubles");
    ST_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    st_wd_leave(0);
}

void st_dist_bcast(void *buf, size_t bytes, int root) {
    if (g_size == 1) return;
    st_wd_enter("broadcast", bytes, "bytes");
    for (size_t off = 0; off < bytes; off += ST_CHUNK) {
        size_t c = bytes - off < ST_CHUNK ? bytes - off : ST_CHUNK;
        ST_MPI(MPI_Bcast((char *)buf + off, (int)c, MPI_BYTE, root, MPI_COMM_WORLD));
    }
    st_wd_leave(0);
}

/* Counts and displacements per rank of a partition given as bounds (size + 1 offsets), into
 * g_cnt and g_dsp. */
static void partition_counts(const size_t *bounds) {
    for (int r = 0; r < g_size; r++) {
        ST_ASSERT(bounds[r + 1] >= bounds[r] && bounds[r + 1] < INT_MAX,
                  "partition [%zu, %zu) of rank %d", bounds[r], bounds[r + 1], r);
        g_cnt[r] = (int)(bounds[r + 1] - bounds[r]);
        g_dsp[r] = (int)bounds[r];
    }
}

/* Counts per rank of elements [a, b) of a buffer partitioned by part, into c (size ints). */
static void piece_counts(const size_t *part, size_t a, size_t b, int *c) {
    for (int r = 0; r < g_size; r++) {
        size_t lo = part[r] > a ? part[r] : a, hi = part[r + 1] < b ? part[r + 1] : b;
        c[r] = hi > lo ? (int)(hi - lo) : 0;
    }
}

/* Open MPI 4.1 reduce-scatters large messages slowly, blocking or not: the non-blocking one
 * (libnbc) took 134 ms for 33 MB of int64 at 2 ranks on one node against 6.9 ms blocking;
 * cut into calls of 2^19 elements (4 MiB of int64) started together, 7.3 ms; 3 ranks 275
 * against 15 ms. Blocking, over 1 Gbit/s TCP, 51 MB of int64 at 2 nodes took longer than
 * the int64 allreduce of the same buffer (708 against 482 ms) while 33 MB took less (233
 * against 327 ms): the tuned component changes algorithm for the largest messages. Both are
 * cut into chunks: one rank's shares of consecutive chunks are consecutive. */
#define ST_RS_CHUNK ((size_t)1 << 19)

/* The blocking reduce-scatter of elements [a, b) (send: elements a..b; recv: this rank's
 * share), in chunks. */
static void reduce_scatter(const void *send, void *recv, size_t esize, MPI_Datatype type,
                           const size_t *part, size_t a, size_t b) {
    int *counts = g_cnt;
    char *out = recv;
    st_wd_enter("reduce-scatter", (b - a) * esize, "bytes");
    for (size_t c0 = a; c0 < b; c0 += ST_RS_CHUNK) {
        const size_t c1 = b - c0 < ST_RS_CHUNK ? b : c0 + ST_RS_CHUNK;
        piece_counts(part, c0, c1, counts);
        ST_REDUCE((c1 - c0) * esize,
                  MPI_Reduce_scatter((const char *)send + (c0 - a) * esize, out, counts, type,
                                     MPI_SUM, MPI_COMM_WORLD));
        out += (size_t)counts[g_rank] * esize;
    }
    st_wd_leave(1); /* the gradient reduction: training is under way */
}

void st_dist_reduce_scatter_sum(const float *send, float *recv, const size_t *part, size_t a,
                                size_t b) {
    if (g_size == 1) {
        if (recv != send) memcpy(recv, send, (b - a) * sizeof(float));
        return;
    }
    reduce_scatter(send, recv, sizeof(float), MPI_FLOAT, part, a, b);
}

void st_dist_reduce_scatter_sum_i64(const int64_t *send, int64_t *recv, const size_t *part,
                                    size_t a, size_t b) {
    if (g_size == 1) {
        if (recv != send) memcpy(recv, send, (b - a) * sizeof(int64_t));
        return;
    }
    reduce_scatter(send, recv, sizeof(int64_t), MPI_INT64_T, part, a, b);
}

void st_dist_allgather_parts(float *buf, const size_t *bounds) {
    if (g_size == 1) return;
    partition_counts(bounds);
    st_wd_enter("allgather", bounds[g_size], "floats");
    ST_REDUCE(bounds[g_size] * sizeof(float),
              MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, g_cnt, g_dsp, MPI_FLOAT,
                             MPI_COMM_WORLD));
    st_wd_leave(0);
}

/* ---- non-blocking reductions (the overlapped step) ---------------------------------------------
 * Each lane is a private duplicate of MPI_COMM_WORLD: MPI matches non-blocking collectives by the
 * order in which each rank starts them on a communicator, so ops whose start order may differ
 * between ranks (an exponent agreement started at a layer's end, the sums started when it
 * completes) must not share one. Handles index g_req and stay valid until st_dist_ops_reset. */

void st_dist_lanes_init(void) {
    if (g_size == 1 || g_lane[0] != MPI_COMM_NULL) return;
    st_wd_enter("communicator set-up", 0, NULL);
    for (int l = 0; l < ST_LANES; l++) ST_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &g_lane[l]));
    st_wd_leave(0);
    for (int i = 0; i < ST_MAX_REQS; i++) g_req[i] = MPI_REQUEST_NULL;
    g_opcounts = st_malloc(sizeof(int) * (size_t)ST_MAX_REQS * (size_t)g_size);
}

/* A new op of nreq requests (set by the caller from g_req[g_op0[h]]). */
static int op_new(int lane, size_t bytes, int nreq) {
    ST_ASSERT(g_lane[0] != MPI_COMM_NULL, "non-blocking reduction before st_dist_lanes_init");
    ST_ASSERT(g_nops < ST_MAX_OPS && g_nreq + nreq <= ST_MAX_REQS,
              "more than %d reductions (%d requests) in flight", ST_MAX_OPS, ST_MAX_REQS);
    ST_ASSERT(lane >= 0 && lane < ST_LANES, "lane %d", lane);
    g_traffic.bytes += (uint64_t)bytes;
    g_traffic.calls++;
    g_op0[g_nops] = g_nreq;
    g_nreq += nreq;
    g_op0[g_nops + 1] = g_nreq;
    return g_nops++;
}

int st_dist_isum(int lane, float *buf, size_t n) {
    if (g_size == 1) return -1;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu floats", n);
    int h = op_new(lane, n * sizeof(float), 1);
    ST_MPI(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, g_lane[lane],
                          &g_req[g_op0[h]]));
    return h;
}

int st_dist_isum_i64(int lane, int64_t *buf, size_t n) {
    if (g_size == 1) return -1;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu int64", n);
    int h = op_new(lane, n * sizeof(int64_t), 1);
    ST_MPI(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT64_T, MPI_SUM, g_lane[lane],
                          &g_req[g_op0[h]]));
    return h;
}

int st_dist_imax_i32(int lane, int32_t *buf, size_t n) {
    if (g_size == 1) return -1;
    ST_ASSERT(n < INT_MAX, "allreduce of %zu int32", n);
    int h = op_new(lane, n * sizeof(int32_t), 1);
    ST_MPI(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT32_T, MPI_MAX, g_lane[lane],
                          &g_req[g_op0[h]]));
    return h;
}

/* Elements [a, b) of a buffer partitioned by part (size + 1 offsets), reduce-scattered in
 * chunks: send holds elements a..b, recv this rank's share; each chunk's share goes after the
 * previous chunk's. */
static int ireduce_scatter(int lane, const void *send, void *recv, size_t esize,
                           MPI_Datatype type, const size_t *part, size_t a, size_t b) {
    const int nreq = (int)((b - a + ST_RS_CHUNK - 1) / ST_RS_CHUNK);
    int h = op_new(lane, (b - a) * esize, nreq > 0 ? nreq : 1);
    if (nreq == 0) return h; /* an empty bucket: its one request stays null (complete) */
    char *out = recv;
    for (int k = 0; k < nreq; k++) {
        const size_t c0 = a + (size_t)k * ST_RS_CHUNK,
                     c1 = b - c0 < ST_RS_CHUNK ? b : c0 + ST_RS_CHUNK;
        const int i = g_op0[h] + k;
        int *c = g_opcounts + (size_t)i * (size_t)g_size;
        piece_counts(part, c0, c1, c);
        ST_MPI(MPI_Ireduce_scatter((const char *)send + (c0 - a) * esize, out, c, type, MPI_SUM,
                                   g_lane[lane], &g_req[i]));
        out += (size_t)c[g_rank] * esize;
    }
    return h;
}

int st_dist_ireduce_scatter(int lane, const float *send, float *recv, const size_t *part,
                            size_t a, size_t b) {
    if (g_size == 1) {
        memcpy(recv, send, (b - a) * sizeof(float));
        return -1;
    }
    return ireduce_scatter(lane, send, recv, sizeof(float), MPI_FLOAT, part, a, b);
}

int st_dist_ireduce_scatter_i64(int lane, const int64_t *send, int64_t *recv, const size_t *part,
                                size_t a, size_t b) {
    if (g_size == 1) {
        memcpy(recv, send, (b - a) * sizeof(int64_t));
        return -1;
    }
    return ireduce_scatter(lane, send, recv, sizeof(int64_t), MPI_INT64_T, part, a, b);
}

/* Open MPI advances a non-blocking collective's schedule only inside MPI calls: this is the
 * call, made between layers and between a recurrent layer's steps (core/poll.h). */
void st_dist_progress(void) {
    if (g_nreq == 0) return;
    int outcount, idx[ST_MAX_REQS];
    ST_MPI(MPI_Testsome(g_nreq, g_req, &outcount, idx, MPI_STATUSES_IGNORE));
}

int st_dist_done(int h) {
    if (h < 0) return 1;
    for (int i = g_op0[h]; i < g_op0[h + 1]; i++)
        if (g_req[i] != MPI_REQUEST_NULL) return 0;
    return 1;
}

void st_dist_wait(int h) {
    if (st_dist_done(h)) return;
    double t = MPI_Wtime();
    ST_MPI(MPI_Waitall(g_op0[h + 1] - g_op0[h], g_req + g_op0[h], MPI_STATUSES_IGNORE));
    g_traffic.seconds += MPI_Wtime() - t;
}

/* One watchdog entry for a whole phase of waits, so that every rank counts the same
 * collectives whichever ops had completed on it before. */
void st_dist_watch_begin(const char *what) { st_wd_enter(what, 0, NULL); }
void st_dist_watch_end(void) { st_wd_leave(1); } /* the gradient reduction: under way */

void st_dist_ops_reset(void) {
    for (int i = 0; i < g_nreq; i++)
        ST_ASSERT(g_req[i] == MPI_REQUEST_NULL, "reduction request %d still in flight", i);
    g_nops = g_nreq = 0;
}

void st_dist_barrier(void) {
    if (g_size == 1) return;
    st_wd_enter("barrier", 0, NULL);
    ST_MPI(MPI_Barrier(MPI_COMM_WORLD));
    st_wd_leave(0);
}

void st_dist_gather_f32(const float *send, size_t count, float *recv) {
    if (g_size == 1) {
        if (recv != send && count) memcpy(recv, send, count * sizeof(float));
        return;
    }
    ST_ASSERT(count < INT_MAX, "gather of %zu floats", count);
    st_wd_enter("gather", count, "floats");
    int c = (int)count;
    int *counts = NULL, *displs = NULL;
    if (g_rank == 0) {
        counts = st_malloc(sizeof(int) * g_size);
        displs = st_malloc(sizeof(int) * g_size);
    }
    ST_MPI(MPI_Gather(&c, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (g_rank == 0) {
        long long total = 0;
        for (int r = 0; r < g_size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        ST_ASSERT(total < INT_MAX, "gather of %lld floats", total);
    }
    ST_MPI(MPI_Gatherv(send, c, MPI_FLOAT, recv, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD));
    st_wd_leave(0);
    st_free(counts);
    st_free(displs);
}

size_t st_dist_gather_bytes(const void *send, size_t bytes, void **recv) {
    *recv = NULL;
    ST_ASSERT(bytes < INT_MAX, "gather of %zu bytes", bytes);
    int c = (int)bytes;
    int *counts = NULL, *displs = NULL;
    long long total = c;
    if (g_rank == 0) {
        counts = st_malloc(sizeof(int) * g_size);
        displs = st_malloc(sizeof(int) * g_size);
    }
    st_wd_enter("gather", bytes, "bytes"); /* nothing to watch with one rank */
    if (g_size > 1) {
        ST_MPI(MPI_Gather(&c, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD));
    } else {
        counts[0] = c;
    }
    if (g_rank == 0) {
        total = 0;
        for (int r = 0; r < g_size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        ST_ASSERT(total < INT_MAX, "gather of %lld bytes", total);
        *recv = st_malloc((size_t)total + 1);
    }
    if (g_size > 1)
        ST_MPI(MPI_Gatherv(send, c, MPI_BYTE, *recv, counts, displs, MPI_BYTE, 0,
                           MPI_COMM_WORLD));
    else if (c)
        memcpy(*recv, send, (size_t)c);
    st_wd_leave(0);
    st_free(counts);
    st_free(displs);
    return g_rank == 0 ? (size_t)total : 0;
}

size_t st_dist_allgather_i32(const int32_t *send, size_t count, int32_t *recv) {
    if (g_size == 1) {
        if (count) memcpy(recv, send, count * sizeof(int32_t));
        return count;
    }
    ST_ASSERT(count < INT_MAX, "allgather of %zu ints", count);
    st_wd_enter("allgather", count, "ints");
    int c = (int)count, *counts = g_cnt, *displs = g_dsp; /* every step (sparse embedding) */
    ST_MPI(MPI_Allgather(&c, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD));
    long long total = 0;
    for (int r = 0; r < g_size; r++) {
        displs[r] = (int)total;
        total += counts[r];
    }
    ST_ASSERT(total < INT_MAX, "allgather of %lld ints", total);
    ST_MPI(MPI_Allgatherv(send, c, MPI_INT32_T, recv, counts, displs, MPI_INT32_T,
                          MPI_COMM_WORLD));
    st_wd_leave(0);
    return (size_t)total;
}

int st_dist_any_error(int local_rc) {
    /* MIN over ranks of "my rank if I failed, else size": everyone learns whether anyone failed
     * and which rank reports it, so the user sees exactly one line, never a hang. */
    int me = local_rc == ST_OK ? g_size : g_rank, first = me;
    if (g_size > 1) {
        st_wd_enter("error agreement", 0, NULL);
        ST_MPI(MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
        st_wd_leave(0);
    }
    if (first == g_size) return ST_OK;
    if (first == g_rank) {
        if (g_rank == 0)
            fprintf(stderr, "seqtrain: error: %s\n", st_error_get());
        else
            fprintf(stderr, "seqtrain: error: [rank %d] %s\n", g_rank, st_error_get());
        fflush(stderr);
    }
    return ST_ERR;
}

void st_dist_abort(int code) { st_wd_abort(code); }
