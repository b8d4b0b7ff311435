/*
 * tensor.h - shapes, matrix products and element-wise activations.
 *
 * seqtrain has no tensor object: buffers are plain float pointers and every pointer carries its
 * shape in a comment. Sequences are laid out time-major, (T, B, F), so one time step of a batch
 * is a contiguous (B, F) matrix and "all time steps at once" is one (T*B, F) matrix.
 *
 * The matrix products go through st_sgemm, implemented in src/core/blas.c, the only
 * file that includes cblas.h (swapping OpenBLAS for another BLAS touches one file).
 */
#ifndef SEQTRAIN_TENSOR_H
#define SEQTRAIN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 4

typedef struct st_dims {
    int ndim;
    size_t d[ST_MAX_DIMS];
} st_dims;

st_dims st_dims1(size_t a);
st_dims st_dims2(size_t a, size_t b);
size_t st_dims_count(const st_dims *d);

/* A contiguous range of a flat buffer treated as one tensor (the optimizer's clipnorm, the
 * model's table of parameter tensors). */
typedef struct st_tensor_range {
    size_t offset, count;
} st_tensor_range;

/* Shape of what flows between layers, without the batch axis.
 * seq == 0: vectors (B, feat). seq > 0: sequences of at most seq steps, (T, B, feat).
 * tokens != 0: int32 token ids (B, seq), feat is unused (the vocabulary size lives in vocab). */
typedef struct st_shape {
    int seq;
    int feat;
    int tokens;
    int vocab;
} st_shape;

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T (trans != 0).
 * op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are row strides. */
void st_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* The same in double (init-time linear algebra only: the orthogonal initializer's QR). */
void st_dgemm(int transA, int transB, int M, int N, int K, double alpha, const double *A, int lda,
              const double *B, int ldb, double beta, double *C, int ldc);
/* C (M, N) = A (M, K) op(W) + beta C with every row computed the same way whatever the other
 * rows (one fused multiply-add chain per element over k in order; src/core/rowgemm.c), so a row
 * has the same bits in a product of any size: deterministic training's row-wise products.
 * op(W) = W (K, N) when transW == 0, else W^T with W (N, K). beta is applied after the chain.
 * op(W) is packed into pk->buf (pk->cap >= st_sgemm_rows_work(N, K) floats) and reused by the
 * next call with the same W, orientation, shape and gen: the caller changes gen whenever W's
 * values may have changed. When deterministic training's pool runs (core/par.h), the rows (or,
 * for few rows, the column panels) are shared among its threads, with the same bits. */
typedef struct st_rowpack {
    float *buf;
    size_t cap;
    const float *w; /* what buf holds: W, orientation, shape, generation */
    int trans, n, k, ld, valid;
    uint64_t gen;
} st_rowpack;
void st_sgemm_rows(int transW, int M, int N, int K, const float *A, int lda, const float *W,
                   int ldw, float beta, float *C, int ldc, st_rowpack *pk, uint64_t gen);
size_t st_sgemm_rows_work(int N, int K);
/* Threads the BLAS uses (1 when unknown). */
int st_blas_threads(void);
/* Sets the BLAS thread count (deterministic training uses 1: OpenBLAS's threads split a product
 * into parts whose edges use other micro-kernels, which changes the bits). */
void st_blas_set_threads(int n);

/* The CPU (src/core/cpu.c): its brand string and the widest vector set it and the OS support. */
enum { ST_ISA_NONE, ST_ISA_SSE2, ST_ISA_SSE42, ST_ISA_AVX, ST_ISA_AVX2, ST_ISA_AVX512 };
typedef struct st_cpu {
    char name[64];   /* "AMD EPYC 9B45", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz" */
    char vendor[13]; /* "AuthenticAMD", "GenuineIntel" */
    int level;       /* ST_ISA_* */
    int bf16;        /* AVX512_BF16 */
} st_cpu;
const st_cpu *st_cpu_get(void);
const char *st_isa_name(int level);

/* The BLAS kernels for this CPU (src/core/blas.c). Called first thing in main, before MPI and
 * before anything else starts: when OPENBLAS_CORETYPE is unset and OpenBLAS chose kernels
 * below what the CPU runs, it sets the variable and re-executes the program (OpenBLAS reads it
 * only when it loads); the new image checks the chosen kernels with small products against a
 * reference and falls back to OpenBLAS's own choice, with a warning, if they fail. */
void st_blas_choose(int argc, char **argv);
/* The kernels in use ("SkylakeX"), how they were chosen (one phrase, e.g. "chosen by seqtrain
 * for AVX-512; OpenBLAS alone ran Prescott"), and the library ("OpenBLAS 0.3.21"). */
const char *st_blas_core(void);
const char *st_blas_core_how(void);
const char *st_blas_library(void);
/* A warning st_blas_choose could not print yet (before MPI, every rank): NULL when none. */
const char *st_blas_warning(void);

/* Activations, applied element-wise except softmax (row-wise over the last axis). */
typedef enum st_act {
    ST_ACT_LINEAR = 0,
    ST_ACT_RELU,
    ST_ACT_SIGMOID,
    ST_ACT_TANH,
    ST_ACT_SOFTMAX,
    ST_ACT_HARD_SIGMOID, /* Keras 3: clip(x/6 + 0.5, 0, 1) */
} st_act;

/* Parses a Keras activation name; returns 0, or -1 for an unknown name. */
int st_act_parse(const char *name, st_act *out);
const char *st_act_name(st_act a);
/* y = act(x) over rows x cols (softmax per row); x and y may alias. */
void st_act_forward(st_act a, const float *x, float *y, size_t rows, size_t cols);
/* dx = act'(.) * dy, computed from the OUTPUT y (every activation here allows that);
 * dx may alias dy. Softmax uses the full Jacobian-vector product per row. */
void st_act_backward(st_act a, const float *y, const float *dy, float *dx, size_t rows,
                     size_t cols);

#endif
