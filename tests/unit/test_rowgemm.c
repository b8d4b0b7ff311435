/*
 * test_rowgemm.c - the row-independent product (src/core/rowgemm.c): a row's bits do not depend
 * on how many rows the product has or where the row sits, the AVX-512, AVX2 and portable
 * implementations give the same bits (every one this CPU runs), the packed weights are reused
 * only while they are valid, and the values match a double-precision product.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rowgemm.h"
#include "testutil.h"

enum { MAXM = 45, MAXK = 70, MAXN = 75, LDA = 71, LDC = 77 };

static float A[MAXM * LDA], Wn[MAXK * MAXN], Wt[MAXN * MAXK], C0[MAXM * LDC];

static int supported(int impl) {
    if (impl == ST_ROWS_AVX512) return __builtin_cpu_supports("avx512f");
    if (impl == ST_ROWS_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}

/* C = rows [r0, r0 + m) of A times op(W), through impl. */
static void product(int impl, int transW, int r0, int m, int N, int K, float beta, float *C,
                    st_rowpack *pk, uint64_t gen) {
    memcpy(C, C0 + (size_t)r0 * LDC, sizeof(float) * (size_t)m * LDC);
    st_sgemm_rows_using(impl, transW, m, N, K, A + (size_t)r0 * LDA, LDA, transW ? Wt : Wn,
                        transW ? MAXK : MAXN, beta, C, LDC, pk, gen);
}

START_TEST(rows_independent_and_implementations_agree) {
    st_test_fill_uniform(A, sizeof A / sizeof *A, -1, 1, 1);
    st_test_fill_uniform(Wn, sizeof Wn / sizeof *Wn, -1, 1, 2);
    st_test_fill_uniform(C0, sizeof C0 / sizeof *C0, -1, 1, 3);
    for (int k = 0; k < MAXK; k++)
        for (int j = 0; j < MAXN; j++) Wt[(size_t)j * MAXK + k] = Wn[(size_t)k * MAXN + j];
    float *ref = malloc(sizeof(float) * MAXM * LDC), *got = malloc(sizeof(float) * MAXM * LDC);
    st_rowpack pk = {.cap = st_sgemm_rows_work(MAXN, MAXK)};
    pk.buf = malloc(sizeof(float) * pk.cap);
    /* Shapes around every tile edge: N across 16 / 32 columns, K short and long, M across
     * 6- and 8-row tiles. */
    const int Ns[] = {1, 15, 16, 17, 33, 75}, Ks[] = {1, 8, 70}, Ms[] = {1, 5, 7, 9, 45};
    uint64_t gen = 0;
    for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
            for (int form = 0; form < 6; form++) {
                const int N = Ns[ni], K = Ks[ki], transW = form & 1;
                const float beta = form >> 1 == 0 ? 0.0f : form >> 1 == 1 ? 1.0f : -0.5f;
                /* the reference: all 45 rows, portable */
                product(ST_ROWS_PORTABLE, transW, 0, MAXM, N, K, beta, ref, &pk, ++gen);
                for (int impl = ST_ROWS_PORTABLE; impl <= ST_ROWS_AVX512; impl++) {
                    if (!supported(impl)) continue;
                    for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
                        for (int r0 = 0; r0 + Ms[mi] <= MAXM; r0 += 13) {
                            const int m = Ms[mi];
                            product(impl, transW, r0, m, N, K, beta, got, &pk, gen);
                            for (int r = 0; r < m; r++)
                                ck_assert_msg(!memcmp(got + (size_t)r * LDC,
                                                      ref + (size_t)(r0 + r) * LDC,
                                                      sizeof(float) * LDC),
                                              "impl %d N %d K %d transW %d beta %g: row %d of "
                                              "%d at %d differs from the same row among 45",
                                              impl, N, K, transW, beta, r, m, r0);
                        }
                }
                /* the values */
                for (int i = 0; i < MAXM; i++)
                    for (int j = 0; j < N; j++) {
                        double s = beta * C0[(size_t)i * LDC + j];
                        for (int k = 0; k < K; k++)
                            s += (double)A[(size_t)i * LDA + k] * Wn[(size_t)k * MAXN + j];
                        ck_assert_msg(fabs(s - ref[(size_t)i * LDC + j]) < 1e-5 * (K + 1),
                                      "N %d K %d: (%d, %d) = %g, want %g", N, K, i, j,
                                      ref[(size_t)i * LDC + j], s);
                    }
                /* columns beyond N untouched */
                for (int i = 0; i < MAXM; i++)
                    ck_assert(!memcmp(ref + (size_t)i * LDC + N, C0 + (size_t)i * LDC + N,
                                      sizeof(float) * (LDC - N)));
            }
    free(ref), free(got), free(pk.buf);
}
END_TEST

/* The pack is reused while (W, orientation, shape, generation) match, and redone otherwise: a
 * changed W under the same generation would be used stale, which is why the model bumps the
 * generation at every pass. */
START_TEST(pack_reuse) {
    enum { M = 3, N = 20, K = 10 };
    float a[M * K], w[K * N], c[M * N], c2[M * N];
    st_test_fill_uniform(a, M * K, -1, 1, 4);
    st_test_fill_uniform(w, K * N, -1, 1, 5);
    st_rowpack pk = {.cap = st_sgemm_rows_work(N, N)}; /* room for both orientations */
    pk.buf = malloc(sizeof(float) * pk.cap);
    st_sgemm_rows(0, M, N, K, a, K, w, N, 0.0f, c, N, &pk, 7);
    w[0] += 1.0f;
    st_sgemm_rows(0, M, N, K, a, K, w, N, 0.0f, c2, N, &pk, 7); /* same generation: stale */
    ck_assert(!memcmp(c, c2, sizeof c));
    st_sgemm_rows(0, M, N, K, a, K, w, N, 0.0f, c2, N, &pk, 8); /* new generation: repacked */
    ck_assert(c2[0] != c[0]);
    st_sgemm_rows(1, M, K, N, c2, N, w, N, 0.0f, a, K, &pk, 8); /* other orientation: repacked */
    ck_assert(pk.trans == 1);
    free(pk.buf);
}
END_TEST

static Suite *rowgemm_suite(void) {
    Suite *s = suite_create("rowgemm");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rows_independent_and_implementations_agree);
    tcase_add_test(tc, pack_reuse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(rowgemm_suite()); }
