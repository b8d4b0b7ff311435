/*
 * blas.c - the only file that includes cblas.h. Row-major wrappers so the rest of the code
 * writes products in the orientation of the math comments next to each call.
 */
#include <cblas.h>

#include "seqtrain/tensor.h"

void st_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void st_sgemv(int transA, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y) {
    if (M == 0 || N == 0) return;
    cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1,
                beta, y, 1);
}

int st_blas_threads(void) {
#ifdef OPENBLAS_VERSION
    return openblas_get_num_threads();
#else
    return 1;
#endif
}

void st_blas_set_threads(int n) {
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}
