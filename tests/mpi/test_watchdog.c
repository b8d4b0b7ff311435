/*
 * test_watchdog.c - the collective watchdog (dist.h: st_dist_set_timeouts) under mpiexec -n 2
 * and -n 3 (CK_FORK=no).
 *
 * Under ctest: ranks that arrive late but within the limit never trip it, and the collectives
 * give exact results with the watchdog on (a false alarm would end the process with the
 * timeout line and a non-zero status, which ctest reports). The limit is per collective, the
 * start-up limit holds until the first gradient allreduce, 0 turns it off.
 *
 * With "--busy R" (tests/e2e/stall.sh runs it, since it must end in MPI_Abort): rank R sleeps
 * past a 1 s limit while the others wait in an allreduce; the job must end with one line
 * naming rank R as alive but busy, and nothing printed after the allreduce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static void sleep_s(double s) {
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

/* Rank-dependent integers: exact in any summation order. */
static void check_sum(int late_rank, double late_s) {
    int r = st_dist_rank(), P = st_dist_size();
    double d[5];
    for (int i = 0; i < 5; i++) d[i] = (double)(r + 1) * (i + 1);
    if (r == late_rank) sleep_s(late_s);
    st_dist_allreduce_sum_f64(d, 5);
    for (int i = 0; i < 5; i++) ck_assert_double_eq(d[i], (double)(P * (P + 1) / 2) * (i + 1));
}

/* Runs first (Check keeps the order): no gradient allreduce yet, so the start-up limit (3 s)
 * holds, not the steady one (0.5 s). */
START_TEST(startup_limit_until_first_gradient_allreduce) {
    st_dist_set_timeouts(0.5, 3);
    check_sum(st_dist_size() - 1, 1.0);
}
END_TEST

/* A rank 0.5 s late in each of four collectives: 2 s in all, over the 1.5 s limit, but each
 * collective waits less than the limit. */
START_TEST(limit_is_per_collective) {
    st_dist_set_timeouts(1.5, 1.5);
    int P = st_dist_size();
    for (int k = 0; k < 4; k++) check_sum(k % P, 0.5);
}
END_TEST

/* The float allreduce (the gradient sum) with the watchdog on: every element exact; it ends
 * the start-up phase, and then 0.8 s late passes only because 0 turns the 0.5 s limit off. */
START_TEST(gradient_allreduce_exact_and_zero_is_off) {
    st_dist_set_timeouts(0.5, 0.5);
    int r = st_dist_rank(), P = st_dist_size();
    enum { N = 100003 };
    float *g = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) g[i] = (float)((r + 1) * (i % 31));
    st_dist_allreduce_sum(g, N);
    for (int i = 0; i < N; i++) ck_assert_float_eq(g[i], (float)(P * (P + 1) / 2 * (i % 31)));
    free(g);
    st_dist_set_timeouts(0, 0);
    check_sum(P - 1, 0.8);
    st_dist_set_timeouts(300, 600);
}
END_TEST

/* Many quick collectives of every kind: none is mistaken for a stall, all still agree. */
START_TEST(every_collective_kind_under_the_watchdog) {
    st_dist_set_timeouts(2, 2);
    int r = st_dist_rank(), P = st_dist_size();
    for (int k = 0; k < 50; k++) {
        int v = r == k % P ? k : -1;
        st_dist_bcast(&v, sizeof v, k % P);
        ck_assert_int_eq(v, k);
        int32_t mine = r * 1000 + k, all[8];
        st_dist_allgather_i32(&mine, 1, all);
        for (int q = 0; q < P; q++) ck_assert_int_eq(all[q], q * 1000 + k);
        st_dist_barrier();
        ck_assert_int_eq(st_dist_any_error(ST_OK), ST_OK);
    }
    st_dist_set_timeouts(300, 600);
}
END_TEST

/* --busy R: see the file comment. */
static int busy(int R) {
    st_dist_init(NULL, NULL);
    st_dist_set_timeouts(1, 1);
    float g[4] = {1, 2, 3, 4};
    st_dist_allreduce_sum(g, 4); /* training is under way */
    if (st_dist_rank() == R) sleep_s(3);
    double d = 1;
    st_dist_allreduce_sum_f64(&d, 1);
    /* Never reached on any rank: the job ends during the allreduce. */
    printf("rank %d went on after the timeout\n", st_dist_rank());
    fflush(stdout);
    st_dist_finalize();
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--busy")) return busy(atoi(argv[2]));
    Suite *s = suite_create("watchdog");
    TCase *tc = tcase_create("no false alarm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, startup_limit_until_first_gradient_allreduce);
    tcase_add_test(tc, limit_is_per_collective);
    tcase_add_test(tc, gradient_allreduce_exact_and_zero_is_off);
    tcase_add_test(tc, every_collective_kind_under_the_watchdog);
    suite_add_tcase(s, tc);
    return st_test_run(s);
}
