/*
 * dist.h - the data-parallel layer over MPI. src/dist/comm.c is the only file that includes
 * mpi.h, so unit tests or another transport replace one file.
 *
 * Every function here is a collective unless marked otherwise: every rank must call it, in the
 * same order. MPI counts are int, so large buffers are reduced in chunks.
 */
#ifndef SEQTRAIN_DIST_H
#define SEQTRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

/* MPI_Init_thread(MPI_THREAD_MULTIPLE) (if not yet initialized); sets st_log_rank; starts the
 * collective watchdog (below) with more than one rank. Collective. */
void st_dist_init(int *argc, char ***argv);
/* Barrier, then MPI_Finalize (if st_dist_init called MPI_Init). Collective. */
void st_dist_finalize(void);

/* No hang, ever: every collective below ends within a limit, else the job ends. When a
 * collective has waited longer than its limit, the lowest rank that arrived prints ONE line,
 *   seqtrain: error: collective N (what) timed out after S s: rank R (host H, pid P) did not arrive
 * naming every rank that did not arrive (no answer: stopped, dead or unreachable; or alive but
 * busy elsewhere), writes nothing more and ends every rank through MPI_Abort (exit status 1).
 * startup_s is the limit until the first gradient allreduce (st_dist_allreduce_sum) has
 * completed, covering the start-up's uneven work (reading data and checkpoints, rank 0's
 * checks); collective_s the limit after that. 0 = no limit. Defaults 300 and 600 seconds.
 * Local; every rank should pass the same values. */
void st_dist_set_timeouts(double collective_s, double startup_s);
int st_dist_rank(void); /* local */
int st_dist_size(void); /* local */

void st_dist_allreduce_sum(float *buf, size_t n);
void st_dist_allreduce_sum_f64(double *buf, size_t n);
void st_dist_allreduce_max_f64(double *buf, size_t n);
/* Integer sums and maxima: exact in any order (deterministic reduction, core/xsum.h). */
void st_dist_allreduce_sum_i64(int64_t *buf, size_t n);
void st_dist_allreduce_max_i32(int32_t *buf, size_t n);
void st_dist_bcast(void *buf, size_t bytes, int root);
/* The sharded optimizer step (train/step.c): a partition of a buffer into one contiguous part
 * per rank, part[0] = 0 <= part[1] <= ... <= part[size] = n (size + 1 offsets, the same on
 * every rank). reduce_scatter: of the buffer's elements [a, b), of which send holds this rank's
 * (send[0] is element a): recv gets this rank's share of the sum over ranks,
 * [max(a, part[r]), min(b, part[r + 1])); recv must not overlap send. allgather_parts: every
 * rank's part of buf, in place, to every rank. */
void st_dist_reduce_scatter_sum(const float *send, float *recv, const size_t *part, size_t a,
                                size_t b);
void st_dist_reduce_scatter_sum_i64(const int64_t *send, int64_t *recv, const size_t *part,
                                    size_t a, size_t b);
void st_dist_allgather_parts(float *buf, const size_t *bounds);

/* Since the start, this rank's float and int64 sums and int32 maxima (the training step's
 * gradient, loss and exponent reductions): calls, bytes given to MPI (the message, not what the
 * algorithm sends on the wire) and seconds inside MPI. Local; a benchmark reads it before and
 * after its steps. */
typedef struct {
    uint64_t calls, bytes;
    double seconds;
} st_dist_traffic;
st_dist_traffic st_dist_traffic_get(void);
/* Non-blocking reductions, for the step that overlaps them with backward (train/reduce.c).
 * Each runs on one of ST_LANES private channels; on one lane every rank must start the same
 * ops in the same order (ops on different lanes may start in any order relative to each other).
 * The start functions return a handle (-1 with one rank: nothing to do, the op is complete),
 * valid until st_dist_ops_reset; the buffers must stay untouched until the op is done.
 * reduce_scatter: elements [a, b) of a buffer partitioned by part (size + 1 offsets), send holds
 * elements a..b of this rank, recv gets this rank's share [max(a, part[r]), min(b, part[r+1])). */
enum { ST_LANE_DATA = 0, ST_LANE_EXP, ST_LANE_FIN, ST_LANES };
void st_dist_lanes_init(void); /* collective, once: before the first op */
int st_dist_isum(int lane, float *buf, size_t n);
int st_dist_isum_i64(int lane, int64_t *buf, size_t n);
int st_dist_imax_i32(int lane, int32_t *buf, size_t n);
int st_dist_ireduce_scatter(int lane, const float *send, float *recv, const size_t *part,
                            size_t a, size_t b);
int st_dist_ireduce_scatter_i64(int lane, const int64_t *send, int64_t *recv,
                                const size_t *part, size_t a, size_t b);
/* Local: lets every op in flight advance (MPI progresses them only inside its calls). */
void st_dist_progress(void);
/* Local: 1 when op h has completed (as far as the last progress or wait saw). */
int st_dist_done(int h);
/* Waits for op h. Only between st_dist_watch_begin and _end, which put the waits under the
 * collective limit as ONE collective (`what` names it in a timeout message). */
void st_dist_wait(int h);
void st_dist_watch_begin(const char *what);
void st_dist_watch_end(void);
/* Local: every op completed; handles start again from 0. */
void st_dist_ops_reset(void);
void st_dist_barrier(void);
/* Gathers variable-length float arrays to rank 0 in rank order: recv (sum of counts) on rank 0,
 * ignored elsewhere. */
void st_dist_gather_f32(const float *send, size_t count, float *recv);

/* Every rank's bytes concatenated in rank order on rank 0: returns the total and sets *recv
 * to a st_malloc'd buffer there (NULL and 0 elsewhere). */
size_t st_dist_gather_bytes(const void *send, size_t bytes, void **recv);

/* Every rank's int32 array (counts may differ) concatenated in rank order on every rank;
 * recv holds the sum of all counts, which is returned. */
size_t st_dist_allgather_i32(const int32_t *send, size_t count, int32_t *recv);

/* Agreement on failure: returns ST_OK on every rank if local_rc == ST_OK everywhere, else ST_ERR
 * on every rank. The lowest failing rank prints its st_error_get() message to stderr as one
 * line ("seqtrain: error: ..."; prefixed "[rank r]" when r != 0). */
int st_dist_any_error(int local_rc);
/* Ends every rank at once (local). */
void st_dist_abort(int code) __attribute__((noreturn));

#endif
