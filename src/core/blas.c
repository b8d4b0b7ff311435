/*
 * blas.c - the only file that includes cblas.h. Row-major wrappers so the rest of the code
 * writes products in the orientation of the math comments next to each call.
 *
 * Data layout: dense row-major matrices with explicit leading dimensions, as CBLAS takes them.
 * Not here: threading policy (OPENBLAS_NUM_THREADS, set by the launcher) or any allocation;
 * swapping OpenBLAS for MKL touches this file and the build only.
 */
#include <cblas.h>

#include "seqtrain/tensor.h"

/* Below this many multiply-adds a product runs on one thread: a recurrent step's GEMM (say
 * 128x32 by 32x128) finishes in a few microseconds, less than waking and joining OpenBLAS's
 * other threads costs, so threading it makes 2 threads slower than 1 (measured on M1). The
 * large products (all steps' input projection, weight gradients) still use every thread. */
#define ST_SMALL_GEMM (1u << 20)

static int g_threads = -1; /* the configured thread count, read once */

void st_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
#ifdef OPENBLAS_VERSION
    if (g_threads < 0) g_threads = openblas_get_num_threads();
    if (g_threads > 1 && (size_t)M * (size_t)N * (size_t)K < ST_SMALL_GEMM) {
        openblas_set_num_threads(1);
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                    ldc);
        openblas_set_num_threads(g_threads);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Double precision, for init-time linear algebra (orthogonal initialisation's QR), where the
 * float products of training would lose the orthogonality a recurrent kernel needs. */
void st_dgemm(int transA, int transB, int M, int N, int K, double alpha, const double *A, int lda,
              const double *B, int ldb, double beta, double *C, int ldc) {
    if (M == 0 || N == 0) return;
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void st_blas_set_threads(int n) {
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(n > 0 ? n : 1);
    g_threads = n > 0 ? n : 1;
#else
    (void)n;
#endif
}

int st_blas_threads(void) {
#ifdef OPENBLAS_VERSION
    return openblas_get_num_threads();
#else
    return 1;
#endif
}
