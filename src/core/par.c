/*
 * par.c - the persistent thread pool of par.h: n - 1 workers started once, woken for every
 * region, the caller doing share 0 itself.
 *
 * Regions are short and many: a recurrent layer runs one per time step and pass (a product of
 * B rows, tens of microseconds for small layers), so a wake-up through the kernel (a futex,
 * 5-50 us) would eat the gain. Workers therefore spin on a generation counter for a while
 * (SPIN_PAUSES pause instructions, some 50-100 us) after each region, and only then sleep on a
 * condition variable; the element-wise passes between two products keep them spinning, the
 * optimizer and the reduction between two steps put them to sleep. The caller waits for the
 * workers by spinning too (their shares are as long as its own), yielding the core after
 * SPIN_PAUSES in case a worker is not running (more threads than cores).
 *
 * Memory order: the caller writes (fn, arg, pending) and then bumps gen with release; a worker
 * that reads the new gen with acquire sees them and everything the caller wrote before (the
 * region's inputs). A worker's release decrement of pending, read by the caller with acquire,
 * publishes the worker's outputs. gen is bumped under the mutex, and a worker re-reads it under
 * the mutex before it sleeps, so no wake-up is lost.
 *
 * Not here: what a region computes, or how work is split (the callers: core/rowgemm.c,
 * layers/grad.c); no allocation after st_par_start, no MPI.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/par.h"
#include "seqtrain/error.h"

#define PAR_MAX 64       /* threads at most; more are clamped */
#define SPIN_PAUSES 4000 /* pause instructions before a worker sleeps or the caller yields */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static struct {
    int n; /* threads, the caller included */
    pthread_t thread[PAR_MAX];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;     /* bumped once per region (and once to stop) */
    atomic_int pending;  /* workers still in the current region */
    atomic_int stop;
    st_par_fn fn;
    void *arg;
} g = {.n = 1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* 1 on a worker, and on the caller while it runs its share: a region inside runs serially. */
static _Thread_local int g_inside;

static void *worker(void *p) {
    const int tid = (int)(intptr_t)p;
    unsigned seen = 0; /* the generation of the last region run; workers start before any */
    g_inside = 1;
    for (;;) {
        unsigned now;
        int spins = 0;
        while ((now = atomic_load_explicit(&g.gen, memory_order_acquire)) == seen &&
               spins < SPIN_PAUSES) {
            cpu_relax();
            spins++;
        }
        if (now == seen) {
            pthread_mutex_lock(&g.mu);
            while ((now = atomic_load_explicit(&g.gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&g.cv, &g.mu);
            pthread_mutex_unlock(&g.mu);
        }
        seen = now;
        if (atomic_load_explicit(&g.stop, memory_order_relaxed)) break;
        g.fn(g.arg, tid, g.n);
        atomic_fetch_sub_explicit(&g.pending, 1, memory_order_release);
    }
    return NULL;
}

int st_par_start(int n) {
    if (n <= 1 || g.n > 1) return g.n;
    if (n > PAR_MAX) n = PAR_MAX;
    atomic_store(&g.stop, 0);
    atomic_store(&g.gen, 0);
    /* Signals (SIGTERM for preemption, SIGINT) go to the main thread, never to a worker. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int t = 1; t < n; t++) {
        int rc = pthread_create(&g.thread[t], NULL, worker, (void *)(intptr_t)t);
        if (rc != 0) st_fatal(__FILE__, __LINE__, "pthread_create failed (%d)", rc);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    g.n = n;
    return n;
}

void st_par_stop(void) {
    if (g.n <= 1) return;
    pthread_mutex_lock(&g.mu);
    atomic_store(&g.stop, 1);
    atomic_fetch_add_explicit(&g.gen, 1, memory_order_release);
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int t = 1; t < g.n; t++) pthread_join(g.thread[t], NULL);
    g.n = 1;
}

int st_par_threads(void) { return g_inside ? 1 : g.n; }

int st_par_fair(int n) {
    /* A thread count the user gave OpenBLAS is theirs: it wins, as OPENBLAS_CORETYPE does. */
    static const char *given[] = {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 3; i++)
        if (getenv(given[i]) && *getenv(given[i])) return n;
    /* Ranks the launcher placed on this node: Open MPI's mpirun and MPICH's Hydra say so. */
    const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!v) v = getenv("MPI_LOCALNRANKS");
    const int local = v ? atoi(v) : 1;
    cpu_set_t set;
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (local <= 1 || online <= 0 || sched_getaffinity(0, sizeof set, &set) != 0) return n;
    /* A rank bound to its own cores keeps what OpenBLAS counted in them. An unbound rank (more
     * ranks than cores: Open MPI binds nothing) sees every core, so each of the node's ranks
     * would start a thread per core, and spinning workers of other ranks would take the cores
     * from the ones computing (M2 at 4 ranks on 2 cores: 4.5x slower). Unbound, and with no
     * thread count given, a rank gets its share of the node's cores, at least one. */
    if (CPU_COUNT(&set) < online) return n;
    const int share = (int)(online / local) > 1 ? (int)(online / local) : 1;
    return n < share ? n : share;
}

void st_par_run(st_par_fn fn, void *arg) {
    if (g.n <= 1 || g_inside) {
        fn(arg, 0, 1);
        return;
    }
    g.fn = fn;
    g.arg = arg;
    atomic_store_explicit(&g.pending, g.n - 1, memory_order_relaxed);
    pthread_mutex_lock(&g.mu);
    atomic_fetch_add_explicit(&g.gen, 1, memory_order_release);
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    g_inside = 1;
    fn(arg, 0, g.n);
    g_inside = 0;
    for (int s = 0; atomic_load_explicit(&g.pending, memory_order_acquire) > 0; s++) {
        if (s < SPIN_PAUSES)
            cpu_relax();
        else
            sched_yield();
    }
}

void st_par_share(int n, int align, int tid, int nth, int *lo, int *hi) {
    if (align < 1) align = 1;
    const long units = ((long)n + align - 1) / align; /* whole aligned pieces */
    long a = units * tid / nth, b = units * (tid + 1) / nth;
    a *= align, b *= align;
    *lo = (int)(a < n ? a : n);
    *hi = (int)(b < n ? b : n);
}
