/*
 * par.h - a small persistent pool of threads for deterministic training's independent pieces
 * (src/core/par.c): the rows of a row-wise product (core/rowgemm.c) and the blocks of a
 * per-block weight gradient (layers/grad.c).
 *
 * Why not OpenBLAS's threads: a threaded OpenBLAS product splits its work at edges that depend
 * on the thread count and treats the pieces with other micro-kernels, so 2 threads give other
 * bits than 1. Here the caller splits work whose pieces are independent by construction (a row
 * of C, a block's gradient slot) and every piece runs the single-threaded code it runs without
 * the pool, so the bits do not depend on the thread count. OpenBLAS stays on 1 thread while the
 * pool runs (src/train/step.c): a product called inside a region is single-threaded, never
 * nested.
 *
 * Without st_par_start (float mode, inference, unit tests) the pool has 1 thread and
 * st_par_run calls fn on the caller only.
 */
#ifndef ST_CORE_PAR_H
#define ST_CORE_PAR_H

/* A piece of work: thread tid of nth (0 = the caller) does its share of arg. */
typedef void (*st_par_fn)(void *arg, int tid, int nth);

/* Starts n - 1 worker threads (n <= 1 or a pool already running: nothing). n is taken as
 * given: the caller passes a count within the cores it may use (deterministic training passes
 * OpenBLAS's, which is). Not thread-safe; call from the main thread before training. Returns
 * the pool's thread count. */
int st_par_start(int n);
/* Joins the workers; the pool has 1 thread again. */
void st_par_stop(void);
/* Threads a region would run on: the pool's count, 1 inside a region (no nesting). */
int st_par_threads(void);
/* N capped at this rank's share of the node's cores when no thread count was given
 * (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS unset), the rank is not bound to
 * cores of its own, and the launcher says how many ranks share the node
 * (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS); N otherwise. */
int st_par_fair(int n);
/* Runs fn(arg, tid, nth) on every thread of the pool, the caller as tid 0, and returns when
 * all have returned. Inside a region (or without a pool): fn(arg, 0, 1) on the caller. fn must
 * not allocate nor call MPI; which thread runs which share must not change any bit. */
void st_par_run(st_par_fn fn, void *arg);
/* [lo, hi) of n items for thread tid of nth, in multiples of `align` (but the last share):
 * contiguous, balanced, a pure function of its arguments. */
void st_par_share(int n, int align, int tid, int nth, int *lo, int *hi);

#endif
