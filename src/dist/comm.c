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

void st_dist_allgather_i32(const int32_t *send, size_t count, int32_t *recv) {
    if (g_size == 1) {
        if (count) memcpy(recv, send, count * sizeof(int32_t));
        return;
    }
    ST_ASSERT(count < INT_MAX, "allgather of %zu ints", count);
    st_wd_enter("allgather", count, "ints");
    int c = (int)count;
    int *counts = st_malloc(sizeof(int) * g_size), *displs = st_malloc(sizeof(int) * g_size);
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
    st_free(counts);
    st_free(displs);
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
