/*
 * test_dist.c - the MPI layer under mpiexec -n 2 and -n 3 (CK_FORK=no: one MPI_Init per
 * process). Every rank runs every test; the checks are collective, so a rank that disagrees
 * fails its own assertion and ctest sees the non-zero exit.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

/* Rank-dependent data throughout: a collective that returned the local buffer, another rank's
 * buffer, or a rotated one fails an exact per-element check. All values are small integers
 * times powers of two, so float sums are exact in any reduction order. */

START_TEST(allreduce_sum_f32_every_element) {
    int r = st_dist_rank(), P = st_dist_size();
    enum { N = 1000 };
    float buf[N];
    for (int i = 0; i < N; i++) buf[i] = (float)((r + 1) * (i % 97)) + (float)(r * r);
    st_dist_allreduce_sum(buf, N);
    float s1 = 0, s2 = 0; /* sum over q of (q + 1), of q^2 */
    for (int q = 0; q < P; q++) s1 += (float)(q + 1), s2 += (float)(q * q);
    for (int i = 0; i < N; i++) ck_assert_float_eq(buf[i], s1 * (float)(i % 97) + s2);
}
END_TEST

START_TEST(allreduce_f64_sum_and_max_every_element) {
    int r = st_dist_rank(), P = st_dist_size();
    enum { N = 37 };
    double d[N], m[N];
    for (int i = 0; i < N; i++) {
        d[i] = (double)r * 1000.0 + i;
        /* The maximum sits on a different rank for each element, and can be negative. */
        m[i] = ((r + i) % P == 0) ? (double)(i - 20) : -1000.0 - r;
    }
    st_dist_allreduce_sum_f64(d, N);
    st_dist_allreduce_max_f64(m, N);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq(d[i], 1000.0 * (P * (P - 1) / 2) + (double)P * i);
        ck_assert_double_eq(m[i], (double)(i - 20));
    }
}
END_TEST

/* The traffic counter (what --benchmark reports as reduced_bytes_per_step): every float and
 * int64 sum and int32 max, by the bytes given to MPI; the f64 reductions (the benchmark's own
 * statistics) are not counted. */
START_TEST(traffic_counts_the_step_reductions) {
    float f[5] = {1, 2, 3, 4, 5};
    int64_t q[3] = {1, 2, 3};
    int32_t e[7] = {0};
    double d[2] = {0, 0};
    st_dist_traffic t0 = st_dist_traffic_get();
    st_dist_allreduce_sum(f, 5);
    st_dist_allreduce_sum_i64(q, 3);
    st_dist_allreduce_max_i32(e, 7);
    st_dist_allreduce_sum_f64(d, 2);
    st_dist_traffic t1 = st_dist_traffic_get();
    ck_assert_uint_eq(t1.calls - t0.calls, 3);
    ck_assert_uint_eq(t1.bytes - t0.bytes, 5 * 4 + 3 * 8 + 7 * 4);
    ck_assert(t1.seconds >= t0.seconds);
}
END_TEST

/* Every element on every rank, from the first and from the last rank as root. */
START_TEST(bcast_every_element_every_root) {
    int r = st_dist_rank(), P = st_dist_size();
    for (int root = 0; root < P; root += P - 1) {
        int v[17];
        for (int i = 0; i < 17; i++) v[i] = r == root ? 100 * root + i * i : -1 - r;
        st_dist_bcast(v, sizeof v, root);
        for (int i = 0; i < 17; i++) ck_assert_int_eq(v[i], 100 * root + i * i);
        if (P == 1) break;
    }
}
END_TEST

START_TEST(gather_f32_keeps_rank_order) {
    int r = st_dist_rank(), P = st_dist_size();
    /* rank r sends r+1 values 10r + i (rank 0 sends 1, rank 1 sends 2, ...) */
    float send[8];
    for (int i = 0; i <= r; i++) send[i] = (float)(10 * r + i);
    float recv[64];
    for (int i = 0; i < 64; i++) recv[i] = -1;
    st_dist_gather_f32(send, (size_t)r + 1, recv);
    int k = 0;
    if (r == 0)
        for (int q = 0; q < P; q++)
            for (int i = 0; i <= q; i++) ck_assert_float_eq(recv[k++], (float)(10 * q + i));
    /* Nothing past the gathered values (and nothing at all off rank 0) is written. */
    for (; k < 64; k++) ck_assert_float_eq(recv[k], -1);
}
END_TEST

START_TEST(gather_bytes_keeps_rank_order) {
    int r = st_dist_rank(), P = st_dist_size();
    unsigned char send[4];
    for (int i = 0; i < r + 2; i++) send[i] = (unsigned char)(16 * r + i);
    void *recv = NULL;
    size_t total = st_dist_gather_bytes(send, (size_t)r + 2, &recv);
    if (r == 0) {
        size_t want = 0, k = 0;
        for (int q = 0; q < P; q++) want += (size_t)q + 2;
        ck_assert_uint_eq(total, want);
        const unsigned char *b = recv;
        for (int q = 0; q < P; q++)
            for (int i = 0; i < q + 2; i++) ck_assert_uint_eq(b[k++], (unsigned)(16 * q + i));
    } else {
        ck_assert_uint_eq(total, 0);
        ck_assert_ptr_null(recv);
    }
    st_free(recv);
}
END_TEST

START_TEST(allgather_i32_every_rank) {
    int r = st_dist_rank(), P = st_dist_size();
    /* rank r sends P - r values -(100r + i): counts differ, the last rank sends one */
    int32_t send[8], recv[64];
    for (int i = 0; i < P - r; i++) send[i] = -(100 * r + i);
    for (int i = 0; i < 64; i++) recv[i] = 12345;
    st_dist_allgather_i32(send, (size_t)(P - r), recv);
    int k = 0;
    for (int q = 0; q < P; q++)
        for (int i = 0; i < P - q; i++) ck_assert_int_eq(recv[k++], -(100 * q + i));
    for (; k < 64; k++) ck_assert_int_eq(recv[k], 12345);
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
    tcase_add_test(tc, allreduce_sum_f32_every_element);
    tcase_add_test(tc, allreduce_f64_sum_and_max_every_element);
    tcase_add_test(tc, traffic_counts_the_step_reductions);
    tcase_add_test(tc, bcast_every_element_every_root);
    tcase_add_test(tc, gather_f32_keeps_rank_order);
    tcase_add_test(tc, gather_bytes_keeps_rank_order);
    tcase_add_test(tc, allgather_i32_every_rank);
    tcase_add_test(tc, any_error_agrees);
    tcase_add_test(tc, shards_cover_each_batch_once);
    suite_add_tcase(s, tc);
    return st_test_run(s);
}
