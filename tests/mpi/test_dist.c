/*
 * test_dist.c - the MPI layer under mpiexec -n 2 and -n 3 (CK_FORK=no: one MPI_Init per
 * process). Every rank runs every test; the checks are collective, so a rank that disagrees
 * fails its own assertion and ctest sees the non-zero exit.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"

START_TEST(allreduce_sums_across_ranks) {
    int r = st_dist_rank(), P = st_dist_size();
    enum { N = 1000 };
    float buf[N];
    for (int i = 0; i < N; i++) buf[i] = (float)(r + 1) * (float)i;
    st_dist_allreduce_sum(buf, N);
    float f = (float)(P * (P + 1) / 2);
    for (int i = 0; i < N; i++) ck_assert_float_eq(buf[i], f * (float)i);
    double d[2] = {r, 1};
    st_dist_allreduce_sum_f64(d, 2);
    ck_assert_double_eq(d[0], P * (P - 1) / 2.0);
    ck_assert_double_eq(d[1], P);
    double m = r;
    st_dist_allreduce_max_f64(&m, 1);
    ck_assert_double_eq(m, P - 1);
}
END_TEST

START_TEST(bcast_from_root) {
    int v[3] = {0, 0, 0};
    if (st_dist_rank() == 0) v[0] = 7, v[1] = 8, v[2] = 9;
    st_dist_bcast(v, sizeof v, 0);
    ck_assert_int_eq(v[0] + v[1] + v[2], 24);
}
END_TEST

START_TEST(gather_keeps_rank_order) {
    int r = st_dist_rank(), P = st_dist_size();
    /* rank r sends r+1 values equal to r (rank 0 sends 1, rank 1 sends 2, ...) */
    float send[8];
    for (int i = 0; i <= r; i++) send[i] = (float)r;
    float recv[64];
    st_dist_gather_f32(send, (size_t)r + 1, recv);
    if (r == 0) {
        int k = 0;
        for (int q = 0; q < P; q++)
            for (int i = 0; i <= q; i++) ck_assert_float_eq(recv[k++], (float)q);
    }
}
END_TEST

START_TEST(any_error_agrees) {
    int r = st_dist_rank(), P = st_dist_size();
    ck_assert_int_eq(st_dist_any_error(ST_OK), ST_OK);
    /* Only the last rank fails: every rank must learn it (and the last one prints). */
    st_error_set("deliberate test failure on rank %d", r);
    int rc = st_dist_any_error(r == P - 1 ? ST_ERR : ST_OK);
    ck_assert_int_eq(rc, ST_ERR);
    st_error_clear();
}
END_TEST

START_TEST(shards_cover_each_batch_once) {
    int P = st_dist_size();
    for (int b = 0; b <= 2 * P + 1; b++) {
        int covered = 0, lo, hi;
        for (int r = 0; r < P; r++) {
            st_shard(b, r, P, &lo, &hi);
            ck_assert_int_eq(lo, covered);
            ck_assert_int_le(hi - lo, b / P + 1);
            covered = hi;
        }
        ck_assert_int_eq(covered, b);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("collectives");
    tcase_add_test(tc, allreduce_sums_across_ranks);
    tcase_add_test(tc, bcast_from_root);
    tcase_add_test(tc, gather_keeps_rank_order);
    tcase_add_test(tc, any_error_agrees);
    tcase_add_test(tc, shards_cover_each_batch_once);
    suite_add_tcase(s, tc);
    return st_test_run(s);
}
