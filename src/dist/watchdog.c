/*
 * watchdog.c - no collective waits forever: a thread per rank that ends the whole job, naming
 * the ranks that did not arrive, when a collective has waited longer than its limit.
 *
 * Why a thread beside BLOCKING collectives, and not non-blocking collectives polled with
 * MPI_Test: tools/bench/allreduce_poll.c on this machine (2 cores, Open MPI 4.1.4, shared
 * memory, load average about 1; median of 7 repetitions, ms per call):
 *                          1.38 MB (M2)       16.5 MB (M6)
 *                          2 ranks  3 ranks   2 ranks  3 ranks
 *   MPI_Allreduce           0.31     0.74      4.0      11.3
 *   MPI_Iallreduce + Test   0.48     0.71      6.1       9.9
 *   ... + sleeps to yield   0.48     0.75    131       377
 *   MPI_Allreduce, MULTIPLE 0.25     0.73      3.9      10.5   (probing thread every 50 ms)
 * Polling costs 1.5x at 2 ranks (3 ranks on 2 cores are noise-bound): +0.17 ms on M2's 36 ms
 * step (0.5%), +2.1 ms on M6. The deciding numbers are the others: libnbc's schedule only
 * advances inside MPI_Test, so any sleep between tests, needed for oversubscribed ranks to
 * yield, multiplied the 16.5 MB reduction by 30; and MPI_THREAD_MULTIPLE with a thread beside
 * the blocking call measured no cost. A thread also answers while its main thread computes,
 * which tells "alive but busy elsewhere" from "stopped". So the step keeps the tuned blocking
 * collective, and the watchdog lives in its own thread.
 *
 * Protocol. The main thread numbers its collectives (seq; the same number on every rank for the
 * same collective, since every rank reaches every collective in order) and records when it
 * entered the current one. The thread wakes every TICK_S, answers "who is here" pings, and when
 * the current collective N has waited longer than its limit it asks the other ranks, on a
 * private duplicate of MPI_COMM_WORLD, which collective they are in: a rank answers with its
 * seq and whether it is waiting inside it; seq >= N means it arrived at N. No answer within
 * GRACE_S (stopped, dead, link cut) or an older seq outside any collective (alive but busy
 * elsewhere) means it did not arrive. A rank waiting inside an older collective is held up by
 * the same fault (some ranks can leave a collective before the others have all their data, as
 * measured: rank 2 had left the collective that rank 0 still waited in when rank 1 stopped), so
 * it is not named.
 * One rank reports, so the user sees one line: the lowest rank that arrived or waits. Rank 0
 * reports unless it did not arrive itself; any other rank first asks the ranks below it (the
 * lowest ASK_BELOW) and, when one of them arrived or waits, leaves the report to it; otherwise
 * it is the lowest (up to ASK_BELOW ranks of failure), asks the rest and reports. The reporter
 * prints "seqtrain: error: collective N (what) timed out after S s: rank R (host H, pid P) did
 * not arrive" and calls MPI_Abort; holding the mutex, so that its own main thread cannot leave
 * the collective and write anything more.
 *
 * Without MPI_THREAD_MULTIPLE the thread uses no MPI until it aborts: rank 0 reports at the
 * limit, the others GRACE_S + 1 s later (only if rank 0 did not end the job), without names.
 *
 * Not here: the collectives themselves (comm.c), the settings that give the limits (fit.c).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dist/watchdog.h"
#include "seqtrain/error.h"

#define TICK_S 0.05
#define GRACE_S 2.0
#define ASK_BELOW 4
#define ABORT_ALARM_S 10
#define REAPER_S 15
#define NAMES_MAX 8
enum { TAG_PING = 1, TAG_PONG = 2 };
enum { WD_OFF, WD_RUN, WD_FINAL, WD_STOP };

typedef struct ident {
    int32_t pid;
    char host[60];
} ident;

/* Everything below mu is shared between the main thread and the watchdog thread and is read or
 * written only with mu held. The thread holds mu for its whole tick (a census included), so a
 * main thread that finishes its collective meanwhile waits in st_wd_leave. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_state = WD_OFF;
static int64_t g_seq;       /* collectives begun */
static int g_inside;        /* the main thread is in collective g_seq */
static double g_since;      /* ... since then (or since it began MPI_Finalize) */
static const char *g_op, *g_unit;
static size_t g_count;
static int g_started;       /* the first gradient allreduce has completed */
static double g_steady = 300, g_startup = 600;

/* Set once at start, then read-only; or owned by the thread. */
static pthread_t g_thread;
static int g_named, g_rank, g_size;
static MPI_Comm g_ctl = MPI_COMM_NULL;
static ident *g_who;           /* (size) every rank's host and PID */
static int64_t *g_ans;         /* (size) census answers: -2 not asked, -1 no answer, else seq */
static char *g_waits;          /* (size) ... and that rank waits inside an earlier collective */
static int64_t(*g_ping)[2];    /* (size) ping send buffers: {round, N} */
static MPI_Request *g_ping_rq; /* (size) */
static int64_t g_round;
static int64_t g_defer_seq = -1;
static double g_defer_until;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void nap(double s) {
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

/* The launcher's processes, by the name the kernel keeps (/proc/PID/comm). */
static int is_launcher(const char *comm) {
    static const char *const names[] = {"mpirun", "mpiexec", "orterun", "orted", "prterun",
                                        "prted", "hydra_pmi_proxy"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(comm, names[i])) return 1;
    return 0;
}

/* The name the kernel keeps for a process, from its /proc/PID/comm path; "" when unreadable.
 * Only open, read and close: it also runs in the forked child below. */
static void comm_at(const char *path, char *comm, size_t n) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, comm, n - 1) : -1;
    if (fd >= 0) close(fd);
    comm[got > 0 ? got : 0] = 0;
    if (got > 0 && comm[got - 1] == '\n') comm[got - 1] = 0;
}

/* When this rank's parent is the MPI launcher, a child outside the job watches it: if the
 * launcher still lives REAPER_S after MPI_Abort, it is killed. Why: measured with a cut link
 * between two network namespaces, MPI_Abort made mpirun kill every rank it could reach, and
 * then Open MPI 4.1's mpirun waited for the unreachable node's daemon until TCP gave up (many
 * minutes; still waiting after 80 s). Killed, mpirun exits non-zero, and the daemons that can
 * still reach it kill their ranks. The child has its own session (the launcher signals its
 * ranks' process groups) and no descriptors (mpirun waits for the end of the ranks' output).
 * It was forked from a process with threads, so it makes system calls only (no stdio, no
 * malloc): the path is formatted before the fork. Under srun the parent is slurmstepd, which
 * is left alone. */
static void watch_launcher(void) {
    pid_t launcher = getppid();
    char path[64], comm[32];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)launcher);
    comm_at(path, comm, sizeof comm);
    if (!is_launcher(comm)) return;
    pid_t c = fork();
    if (c != 0) return; /* the parent goes on to MPI_Abort; a failed fork changes nothing */
    setsid();
    if (syscall(SYS_close_range, 0U, ~0U, 0U) != 0) /* Linux >= 5.9; else one by one */
        for (int fd = 0; fd < 4096; fd++) close(fd);
    sleep(REAPER_S);
    comm_at(path, comm, sizeof comm); /* still the launcher, not a reused PID */
    if (is_launcher(comm)) kill(launcher, SIGKILL);
    _exit(0);
}

void st_wd_abort(int code) {
    /* MPI_Abort asks mpirun to end every rank; where mpirun cannot be reached (a cut link) it
     * may never return, and SIGALRM's default action ends this process instead. */
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (!inited || fin || g_size < 2) exit(code); /* alone: flush stdio as a normal exit */
    watch_launcher();
    signal(SIGALRM, SIG_DFL);
    alarm(ABORT_ALARM_S);
    MPI_Abort(MPI_COMM_WORLD, code);
    _exit(code);
}

/* ---- main thread ------------------------------------------------------------------------------ */

void st_wd_enter(const char *op, size_t count, const char *unit) {
    if (g_state == WD_OFF) return; /* g_state changes only on this thread */
    pthread_mutex_lock(&g_mu);
    g_seq++;
    g_inside = 1;
    g_since = now();
    g_op = op;
    g_count = count;
    g_unit = unit;
    pthread_mutex_unlock(&g_mu);
}

void st_wd_leave(int ends_startup) {
    if (g_state == WD_OFF) return;
    pthread_mutex_lock(&g_mu);
    g_inside = 0;
    if (ends_startup) g_started = 1;
    pthread_mutex_unlock(&g_mu);
}

void st_wd_set_limits(double steady_s, double startup_s) {
    pthread_mutex_lock(&g_mu);
    g_steady = steady_s;
    g_startup = startup_s;
    pthread_mutex_unlock(&g_mu);
}

/* ---- the census ------------------------------------------------------------------------------- */

/* Answers every pending ping with this rank's seq. MPI_Send of two int64 is eager on every
 * transport, and the pinger is alive (its ping just arrived), so it does not block. */
static void serve_pings(void) {
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_PING, g_ctl, &flag, &st) != MPI_SUCCESS || !flag) return;
        int64_t ping[2], pong[3];
        MPI_Recv(ping, 2, MPI_INT64_T, st.MPI_SOURCE, TAG_PING, g_ctl, MPI_STATUS_IGNORE);
        pong[0] = ping[0]; /* g_mu is held by this thread */
        pong[1] = g_seq;
        pong[2] = g_inside;
        MPI_Send(pong, 3, MPI_INT64_T, st.MPI_SOURCE, TAG_PONG, g_ctl);
    }
}

/* Asks ranks targets[0..nt) whether they arrived at collective n; g_ans[q] gets the seq they
 * answered, or stays -1. Returns after GRACE_S, or as soon as every target answered. Keeps
 * answering other ranks' pings meanwhile (they may be asking this rank at the same moment). */
static void ask(int64_t n, const int *targets, int nt) {
    int64_t round = ++g_round;
    int waiting = 0;
    for (int i = 0; i < nt; i++) {
        int q = targets[i], done = 1;
        g_ans[q] = -1;
        g_waits[q] = 0;
        /* A ping still queued to q (its peer unreachable) is not sent again. */
        if (g_ping_rq[q] != MPI_REQUEST_NULL) MPI_Test(&g_ping_rq[q], &done, MPI_STATUS_IGNORE);
        if (!done) continue;
        g_ping[q][0] = round;
        g_ping[q][1] = n;
        if (MPI_Isend(g_ping[q], 2, MPI_INT64_T, q, TAG_PING, g_ctl, &g_ping_rq[q]) !=
            MPI_SUCCESS) {
            g_ping_rq[q] = MPI_REQUEST_NULL; /* unreachable: counts as no answer */
            continue;
        }
        waiting++;
    }
    double end = now() + GRACE_S;
    while (waiting > 0 && now() < end) {
        serve_pings();
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_PONG, g_ctl, &flag, &st);
        if (!flag) {
            nap(0.002);
            continue;
        }
        int64_t pong[3];
        MPI_Recv(pong, 3, MPI_INT64_T, st.MPI_SOURCE, TAG_PONG, g_ctl, MPI_STATUS_IGNORE);
        if (pong[0] == round && g_ans[st.MPI_SOURCE] == -1) {
            g_ans[st.MPI_SOURCE] = pong[1];
            g_waits[st.MPI_SOURCE] = pong[1] < n && pong[2];
            waiting--;
        }
    }
}

/* The line that says a rank was lost: on stderr, and appended to the file SEQTRAIN_LOST_FILE
 * names when it is set (jobs/train.sbatch sets it). Why a file: the exit status 76 does not
 * always reach the job script. Under mpirun, when a node is unreachable, the launcher never
 * returns after MPI_Abort and the reaper above kills it (status 137, like any SIGKILL); the
 * file, written before MPI_Abort on the shared file system, still says what happened. Appended:
 * behind a cut link both sides report (each names the others), and neither line may erase the
 * other. Then the job ends with ST_EXIT_LOST. */
static void lost(const char *line) ST_NORETURN;
static void lost(const char *line) {
    fputs(line, stderr);
    fflush(stderr);
    const char *path = getenv("SEQTRAIN_LOST_FILE");
    if (path && *path) {
        FILE *f = fopen(path, "a");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    st_wd_abort(ST_EXIT_LOST);
}

/* Prints the one line and ends the job; called with g_mu held, which it never releases. */
static void report(int64_t n, double limit) ST_NORETURN;
static void report(int64_t n, double limit) {
    char what[96], who[1024];
    if (g_unit)
        snprintf(what, sizeof what, "%s of %zu %s", g_op, g_count, g_unit);
    else
        snprintf(what, sizeof what, "%s", g_op);
    size_t len = 0;
    int missing = 0;
    who[0] = '\0';
    for (int q = 0; q < g_size; q++) {
        if (g_ans[q] >= n || g_waits[q]) continue;
        if (++missing > NAMES_MAX) continue;
        char busy[64] = "";
        if (g_ans[q] >= 0)
            snprintf(busy, sizeof busy, ", alive but busy after collective %lld",
                     (long long)g_ans[q]);
        len += (size_t)snprintf(who + len, sizeof who - len, "%s%d (host %s, pid %d%s)",
                                len ? ", " : "", q, g_who[q].host, (int)g_who[q].pid, busy);
        if (len >= sizeof who) len = sizeof who - 1;
    }
    if (missing > NAMES_MAX)
        snprintf(who + len, sizeof who - len, " and %d more", missing - NAMES_MAX);
    char line[1400];
    if (missing)
        snprintf(line, sizeof line,
                 "seqtrain: error: collective %lld (%s) timed out after %g s: rank%s %s did not "
                 "arrive\n",
                 (long long)n, what, limit, missing > 1 ? "s" : "", who);
    else
        snprintf(line, sizeof line,
                 "seqtrain: error: collective %lld (%s) timed out after %g s: every rank "
                 "answered, but it did not complete (network fault?)\n",
                 (long long)n, what, limit);
    lost(line);
}

/* Collective n has waited past its limit on this rank: find out who is missing and, if this
 * rank is the reporter, end the job. g_mu is held. */
static void timed_out(int64_t n, double limit) {
    int tgt[ASK_BELOW], nt = 0;
    for (int q = 0; q < g_size; q++) g_ans[q] = -2, g_waits[q] = 0;
    g_ans[g_rank] = n;
    if (g_rank > 0) {
        for (int q = 0; q < g_rank && q < ASK_BELOW; q++) tgt[nt++] = q;
        ask(n, tgt, nt);
        for (int i = 0; i < nt; i++)
            if (g_ans[tgt[i]] >= n || g_waits[tgt[i]]) {
                /* A lower rank is here, or waits in an earlier collective (it entered that one
                 * before this rank could leave it, so its limit passes first): it reports. Look
                 * again only if it has not ended the job well after its limit must have passed.
                 */
                g_defer_seq = n;
                g_defer_until = now() + limit + 2 * GRACE_S + 1;
                return;
            }
    }
    int *rest = st_malloc(sizeof(int) * (size_t)g_size), nr = 0;
    for (int q = 0; q < g_size; q++)
        if (g_ans[q] == -2) rest[nr++] = q;
    ask(n, rest, nr);
    st_free(rest);
    report(n, limit);
}

/* Without MPI_THREAD_MULTIPLE: no census, no names; rank 0 first, the others only if rank 0
 * did not end the job. g_mu is held. */
static void timed_out_unnamed(int64_t n, double limit) ST_NORETURN;
static void timed_out_unnamed(int64_t n, double limit) {
    char line[512];
    snprintf(line, sizeof line,
             "seqtrain: error: collective %lld (%s) timed out after %g s on rank %d (host %s, "
             "pid %d); the ranks that did not arrive cannot be named without "
             "MPI_THREAD_MULTIPLE\n",
             (long long)n, g_op, limit, g_rank, g_who[g_rank].host, (int)g_who[g_rank].pid);
    lost(line);
}

static void *wd_main(void *arg) {
    (void)arg;
    for (;;) {
        nap(TICK_S);
        pthread_mutex_lock(&g_mu);
        double t = now(), limit = g_started ? g_steady : g_startup;
        if (g_state == WD_STOP) {
            pthread_mutex_unlock(&g_mu);
            return NULL;
        }
        if (g_state == WD_FINAL) {
            /* MPI may not be used any more; a peer that stalled after the last collective can
             * still hold MPI_Finalize forever. */
            if (limit > 0 && t - g_since > limit + (g_rank ? GRACE_S : 0)) {
                if (g_rank == 0)
                    fprintf(stderr, "seqtrain: error: MPI_Finalize did not end within %g s\n",
                            limit);
                _exit(ST_EXIT_LOST);
            }
            pthread_mutex_unlock(&g_mu);
            continue;
        }
        if (g_named) serve_pings();
        int64_t n = g_seq;
        if (g_inside && limit > 0 && t - g_since > limit &&
            !(g_defer_seq == n && t < g_defer_until)) {
            if (g_named)
                timed_out(n, limit);
            else if (g_rank == 0 || t - g_since > limit + GRACE_S + 1)
                timed_out_unnamed(n, limit);
        }
        pthread_mutex_unlock(&g_mu);
    }
}

/* ---- start and stop --------------------------------------------------------------------------- */

void st_wd_start(MPI_Comm world, int named) {
    MPI_Comm_rank(world, &g_rank);
    MPI_Comm_size(world, &g_size);
    if (g_size < 2) return;
    if (MPI_Comm_dup(world, &g_ctl) != MPI_SUCCESS)
        st_fatal(__FILE__, __LINE__, "MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(g_ctl, MPI_ERRORS_RETURN);
    ident me;
    memset(&me, 0, sizeof me);
    me.pid = (int32_t)getpid();
    if (gethostname(me.host, sizeof me.host - 1) != 0) snprintf(me.host, sizeof me.host, "?");
    g_who = st_malloc(sizeof(ident) * (size_t)g_size);
    if (MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, g_who, (int)sizeof me, MPI_BYTE, g_ctl) !=
        MPI_SUCCESS)
        st_fatal(__FILE__, __LINE__, "MPI_Allgather of host names failed");
    g_ans = st_malloc(sizeof(int64_t) * (size_t)g_size);
    g_waits = st_malloc((size_t)g_size);
    g_ping = st_malloc(sizeof(*g_ping) * (size_t)g_size);
    g_ping_rq = st_malloc(sizeof(MPI_Request) * (size_t)g_size);
    for (int q = 0; q < g_size; q++) g_ping_rq[q] = MPI_REQUEST_NULL;
    g_named = named;
    g_state = WD_RUN;
    /* Signals (SIGTERM for preemption, SIGINT) go to the main thread, never to this one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&g_thread, NULL, wd_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) st_fatal(__FILE__, __LINE__, "pthread_create failed (%d)", rc);
}

void st_wd_finalizing(void) {
    if (g_state == WD_OFF) return;
    pthread_mutex_lock(&g_mu);
    g_state = WD_FINAL;
    g_since = now();
    pthread_mutex_unlock(&g_mu);
}

void st_wd_stop(void) {
    if (g_state == WD_OFF) return;
    pthread_mutex_lock(&g_mu);
    g_state = WD_STOP;
    pthread_mutex_unlock(&g_mu);
    pthread_join(g_thread, NULL);
    g_state = WD_OFF;
    st_free(g_who);
    st_free(g_ans);
    st_free(g_waits);
    st_free(g_ping);
    st_free(g_ping_rq);
}
