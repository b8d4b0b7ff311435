/*
 * rowgemm.h - the row-independent product's implementations, for tests that check they agree
 * bit for bit (src/core/rowgemm.c; st_sgemm_rows in seqtrain/tensor.h picks the best).
 */
#ifndef ST_CORE_ROWGEMM_H
#define ST_CORE_ROWGEMM_H

#include <stdint.h>

#include "seqtrain/tensor.h"

enum { ST_ROWS_PORTABLE = 0, ST_ROWS_AVX2, ST_ROWS_AVX512 };

/* The best implementation this CPU runs (AVX-512, else AVX2 + FMA, else portable). */
int st_sgemm_rows_best(void);
/* st_sgemm_rows through implementation impl, which the CPU must support. */
void st_sgemm_rows_using(int impl, int transW, int M, int N, int K, const float *A, int lda,
                         const float *W, int ldw, float beta, float *C, int ldc,
                         st_rowpack *pk, uint64_t gen);

#endif
