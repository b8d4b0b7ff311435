/*
 * test_par.c - the thread pool of deterministic training (src/core/par.c) and what runs on it:
 * shares cover their range once, every thread runs every region once (many regions in a row:
 * no lost wake-up), a region inside a region runs on its caller alone, and the row-wise
 * product (core/rowgemm.c, split by rows and by column panels) and the per-block weight
 * gradients (layers/grad.c) give the same bits on 2 and 3 threads as on one.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/par.h"
#include "core/rowgemm.h"
#include "layers/layer.h"
#include "testutil.h"

START_TEST(share_covers_once) {
    for (int n = 0; n < 70; n++)
        for (int align = 1; align <= 8; align++)
            for (int nth = 1; nth <= 5; nth++) {
                int next = 0;
                for (int t = 0; t < nth; t++) {
                    int lo, hi;
                    st_par_share(n, align, t, nth, &lo, &hi);
                    ck_assert_msg(lo == next && hi >= lo, "n %d align %d: share %d of %d is "
                                  "[%d, %d), want it to start at %d", n, align, t, nth, lo, hi,
                                  next);
                    ck_assert(lo % align == 0 || lo == n);
                    next = hi;
                }
                ck_assert_int_eq(next, n);
            }
}
END_TEST

typedef struct {
    atomic_int calls[8];
    atomic_int inner; /* calls of a region run inside a region, and their nth */
    int nested;
} count_job;

static void inner_fn(void *arg, int tid, int nth) {
    count_job *j = arg;
    ck_assert(tid == 0 && nth == 1);
    atomic_fetch_add(&j->inner, 1);
}

static void count_fn(void *arg, int tid, int nth) {
    count_job *j = arg;
    ck_assert(tid >= 0 && tid < nth && nth <= 8);
    atomic_fetch_add(&j->calls[tid], 1);
    if (j->nested) {
        ck_assert_int_eq(st_par_threads(), 1);
        st_par_run(inner_fn, arg);
    }
}

START_TEST(every_thread_every_region) {
    for (int n = 1; n <= 3; n++) {
        ck_assert_int_eq(st_par_start(n), n);
        ck_assert_int_eq(st_par_threads(), n);
        count_job j;
        memset(&j, 0, sizeof j);
        enum { REGIONS = 20000 };
        for (int r = 0; r < REGIONS; r++) st_par_run(count_fn, &j);
        for (int t = 0; t < n; t++) ck_assert_int_eq(atomic_load(&j.calls[t]), REGIONS);
        /* regions far apart: the workers have gone to sleep in between */
        for (int r = 0; r < 3; r++) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            st_par_run(count_fn, &j);
        }
        for (int t = 0; t < n; t++) ck_assert_int_eq(atomic_load(&j.calls[t]), REGIONS + 3);
        j.nested = 1;
        st_par_run(count_fn, &j);
        ck_assert_int_eq(atomic_load(&j.inner), n);
        st_par_stop();
        ck_assert_int_eq(st_par_threads(), 1);
    }
}
END_TEST

static int supported(int impl) {
    if (impl == ST_ROWS_AVX512) return __builtin_cpu_supports("avx512f");
    if (impl == ST_ROWS_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}

/* Products by rows (many rows, small op(W)) and by column panels (few rows, op(W) of 512 KiB
 * and more), at 2 and 3 threads, bit for bit against the caller alone. */
START_TEST(rows_same_bits_on_threads) {
    /* M, N, K: rows split; rows split with a partial tile; columns (N not a multiple of 32) */
    const int shapes[][3] = {{100, 64, 64}, {61, 40, 70}, {20, 530, 256}, {64, 512, 300}};
    const size_t maxA = 100 * 300, maxW = 530 * 300, maxC = 100 * 530;
    float *A = malloc(maxA * sizeof(float)), *W = malloc(maxW * sizeof(float));
    float *C0 = malloc(maxC * sizeof(float)), *ref = malloc(maxC * sizeof(float));
    float *got = malloc(maxC * sizeof(float));
    st_test_fill_uniform(A, maxA, -1, 1, 1);
    st_test_fill_uniform(W, maxW, -1, 1, 2);
    st_test_fill_uniform(C0, maxC, -1, 1, 3);
    st_rowpack pk = {.cap = st_sgemm_rows_work(530, 300)};
    pk.buf = malloc(sizeof(float) * pk.cap);
    uint64_t gen = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int form = 0; form < 6; form++)
            for (int impl = ST_ROWS_PORTABLE; impl <= ST_ROWS_AVX512; impl++) {
                if (!supported(impl)) continue;
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const int transW = form & 1, ldw = transW ? K : N;
                const float beta = form >> 1 == 0 ? 0.0f : form >> 1 == 1 ? 1.0f : -0.5f;
                memcpy(ref, C0, (size_t)M * N * sizeof(float));
                st_sgemm_rows_using(impl, transW, M, N, K, A, K, W, ldw, beta, ref, N, &pk,
                                    ++gen);
                for (int n = 2; n <= 3; n++) {
                    st_par_start(n);
                    memcpy(got, C0, (size_t)M * N * sizeof(float));
                    st_sgemm_rows_using(impl, transW, M, N, K, A, K, W, ldw, beta, got, N, &pk,
                                        ++gen);
                    st_par_stop();
                    ck_assert_msg(!memcmp(got, ref, (size_t)M * N * sizeof(float)),
                                  "impl %d %dx%dx%d transW %d beta %g: %d threads differ", impl,
                                  M, N, K, transW, beta, n);
                }
            }
    free(A), free(W), free(C0), free(ref), free(got), free(pk.buf);
}
END_TEST

/* Weight gradients and column sums per block: blocks shared out to 2 and 3 threads, each with
 * its own gather space, bit for bit against one thread. Gathered blocks (T > 1, several
 * blocks), blocks too large for the gather space (per-step products) and vectors (T = 1). */
START_TEST(blocks_same_bits_on_threads) {
    enum { T = 5, B = 29, M = 16, N = 480, ROWS = 4, NBLK = (B + ROWS - 1) / ROWS };
    const size_t slot = (size_t)M * N + N;
    float *X = malloc(sizeof(float) * T * B * M), *Y = malloc(sizeof(float) * T * B * N);
    float *ref = malloc(sizeof(float) * NBLK * slot), *got = malloc(sizeof(float) * NBLK * slot);
    st_test_fill_uniform(X, (size_t)T * B * M, -1, 1, 4);
    st_test_fill_uniform(Y, (size_t)T * B * N, -1, 1, 5);
    const size_t one = (size_t)T * ROWS * (M + N);
    float *scratch = malloc(sizeof(float) * 3 * one);
    for (int small = 0; small <= 1; small++)
        for (int Tc = 1; Tc <= T; Tc += T - 1) {
            st_blocks bk = {.n = NBLK, .rows = ROWS, .stride = slot, .scratch = scratch,
                            .scratch_floats = small ? one / 2 : one, .threads = 1};
            memset(ref, 0, sizeof(float) * NBLK * slot);
            st_grad_gemm_tn(&bk, Tc, B, M, N, X, M, Y, N, ref);
            st_grad_colsum(&bk, Tc, B, N, Y, N, ref + (size_t)M * N);
            for (int n = 2; n <= 3; n++) {
                st_par_start(n);
                bk.threads = n;
                memset(got, 0, sizeof(float) * NBLK * slot);
                st_grad_gemm_tn(&bk, Tc, B, M, N, X, M, Y, N, got);
                st_grad_colsum(&bk, Tc, B, N, Y, N, got + (size_t)M * N);
                st_par_stop();
                ck_assert_msg(!memcmp(got, ref, sizeof(float) * NBLK * slot),
                              "T %d, gather space %s: %d threads differ", Tc,
                              small ? "too small" : "enough", n);
            }
        }
    free(X), free(Y), free(ref), free(got), free(scratch);
}
END_TEST

static Suite *par_suite(void) {
    Suite *s = suite_create("par");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, share_covers_once);
    tcase_add_test(tc, every_thread_every_region);
    tcase_add_test(tc, rows_same_bits_on_threads);
    tcase_add_test(tc, blocks_same_bits_on_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(par_suite()); }
