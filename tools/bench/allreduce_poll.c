/*
 * allreduce_poll.c - why src/dist/watchdog.c keeps BLOCKING collectives: the cost of the
 * gradient allreduce done three ways, on the gradient sizes of the benchmark models M2
 * (344,905 floats, 1.38 MB) and M6 (4,125,000 floats, 16.5 MB):
 *   blocking     MPI_Allreduce, as comm.c calls it;
 *   Itest-spin   MPI_Iallreduce completed by an MPI_Test loop (what a deadline-polling
 *                watchdog without a thread would do);
 *   Itest-sleep  the same, sleeping elapsed/100 (at most 1 ms) between tests once 1 ms has
 *                passed, so that oversubscribed ranks yield;
 * and (argument "multi") MPI_Allreduce under MPI_THREAD_MULTIPLE with a second thread that
 * probes a duplicated communicator every 50 ms, as the watchdog does.
 * Prints, per case, the median and minimum over REPS repetitions of the mean of 100 (1.38 MB)
 * or 20 (16.5 MB) calls, the maximum over ranks.
 *
 * Built with the project (build/allreduce_poll):
 *   mpiexec -n 2 build/allreduce_poll single 7; mpiexec -n 2 build/allreduce_poll multi 7
 */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void wait_req(MPI_Request *rq, int sleepy) {
    int done = 0;
    double t0 = now();
    for (;;) {
        MPI_Test(rq, &done, MPI_STATUS_IGNORE);
        if (done) return;
        double el = now() - t0;
        if (sleepy && el > 1e-3) {
            double s = el / 100 < 1e-3 ? el / 100 : 1e-3;
            struct timespec ts = {0, (long)(s * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
}

static volatile int g_stop;
static void *prober(void *arg) {
    MPI_Comm c = *(MPI_Comm *)arg;
    while (!g_stop) {
        int f;
        MPI_Iprobe(MPI_ANY_SOURCE, 7, c, &f, MPI_STATUS_IGNORE);
        usleep(50000);
    }
    return NULL;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int multi = argc > 1 && !strcmp(argv[1], "multi");
    int reps = argc > 2 ? atoi(argv[2]) : 5, prov, r, P;
    if (reps < 1) reps = 1;
    if (multi)
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &prov);
    else
        MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm ctl;
    MPI_Comm_dup(MPI_COMM_WORLD, &ctl);
    pthread_t th;
    if (multi) pthread_create(&th, NULL, prober, &ctl);
    const size_t sizes[2] = {344905, 4125000};
    const char *names[3] = {"blocking", "Itest-spin", "Itest-sleep"};
    for (int si = 0; si < 2; si++) {
        size_t n = sizes[si];
        float *b = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) b[i] = 1;
        int iters = si == 0 ? 100 : 20, nm = multi ? 1 : 3;
        double *res[3];
        for (int m = 0; m < 3; m++) res[m] = calloc((size_t)reps, sizeof(double));
        for (int rep = 0; rep < reps; rep++)
            for (int m = 0; m < nm; m++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = now();
                for (int it = 0; it < iters; it++) {
                    if (m == 0) {
                        MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                    } else {
                        MPI_Request rq;
                        MPI_Iallreduce(MPI_IN_PLACE, b, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                       &rq);
                        wait_req(&rq, m == 2);
                    }
                    for (size_t i = 0; i < n; i += 1024) b[i] = 1; /* keep values small */
                }
                double t = (now() - t0) / iters;
                MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
                res[m][rep] = t;
            }
        if (r == 0)
            for (int m = 0; m < nm; m++) {
                qsort(res[m], (size_t)reps, sizeof(double), cmpd);
                printf("np=%d %-6s %5.2f MB %-11s median %8.3f ms  min %8.3f ms\n", P,
                       multi ? "MULTI" : "single", (double)n * 4 / 1e6, names[m],
                       res[m][reps / 2] * 1e3, res[m][0] * 1e3);
            }
        for (int m = 0; m < 3; m++) free(res[m]);
        free(b);
    }
    g_stop = 1;
    if (multi) pthread_join(th, NULL);
    MPI_Comm_free(&ctl);
    MPI_Finalize();
    return 0;
}
