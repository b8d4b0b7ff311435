/*
 * rowgemm.c - a matrix product whose every row is computed the same way whatever the other
 * rows: the row-wise products of deterministic training (README, "Bitwise the same weights").
 *
 * Why not OpenBLAS: its kernels treat the rows of a product in register tiles, and the rows at
 * the edge (the last M mod 4, 12 or 16, by core) go through other micro-kernels that add in
 * another order; some cores also switch to "small matrix" kernels by the product's size. So
 * the same row of activations gets other bits in a product of 8 rows than in one of 43: split
 * the batch over another number of ranks and the forward pass changes. Forming the products per
 * block of rows hides that but costs 20-90% (small products, the recurrent kernel packed again
 * for every block and step).
 *
 * Here every element of C is ONE fused multiply-add chain from zero over k = 0, 1, ..., K - 1,
 * c = fma(a[k], w[k], c), then C = c (beta 0), C + c (beta 1) or beta C + c (two roundings).
 * Tiles, vector width and remainders only decide which chains run side by side, never the
 * order within one, so a row's bits depend on its own values, W and K only. The AVX-512 and
 * AVX2 kernels and the portable one (fmaf) compute identical bits; the file is built with
 * -ffp-contract=off so that no other fusion sneaks in (CMakeLists.txt).
 *
 * op(W) is packed into panels of 32 columns, each K x 32 contiguous (zero-padded at the right
 * edge), so the kernels read it without strides or masks; the pack is kept in the caller's
 * st_rowpack and reused while (W, orientation, shape, generation) match: a recurrent layer's
 * kernel is packed once per pass, not once per time step.
 *
 * Threads: with the pool of core/par.h started (deterministic training with more than one
 * thread per rank), the caller packs op(W), then the product is shared out: contiguous ranges
 * of whole row tiles, or, for few rows against a large op(W) (a recurrent step), contiguous
 * ranges of column panels; each thread runs the same single-threaded kernels on its part. An
 * element's chain does not depend on which thread runs it nor on what else it runs, so the
 * bits are those of one thread. Small products (PAR_MIN_FMA) stay on the caller.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/error.h"
#include "core/par.h"
#include "core/rowgemm.h"
#include "seqtrain/tensor.h"

#define NR 32 /* columns per packed panel */

/* C row from the tile's accumulators, with beta. */
static inline void put_row(float *c, const float *acc, int n, float beta) {
    if (beta == 0.0f)
        memcpy(c, acc, (size_t)n * sizeof(float));
    else if (beta == 1.0f)
        for (int j = 0; j < n; j++) c[j] = c[j] + acc[j];
    else
        for (int j = 0; j < n; j++) c[j] = beta * c[j] + acc[j];
}

/* The kernels name every accumulator and row pointer (macros over the row index): arrays of
 * vectors would be kept in memory by the compiler, a store and a load per multiply-add. */

/* ---- AVX-512: tiles of 8 rows x 32 columns, 16 accumulators ---- */
#define MR512 8
#define A512_DECL(r)                                                                           \
    const float *a##r = r < mr ? A + (size_t)(i0 + r) * lda : zero;                            \
    __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
#define A512_STEP(r)                                                                           \
    do {                                                                                       \
        const __m512 ar = _mm512_set1_ps(a##r[k]);                                             \
        c##r##0 = _mm512_fmadd_ps(ar, w0, c##r##0);                                            \
        c##r##1 = _mm512_fmadd_ps(ar, w1, c##r##1);                                            \
    } while (0)
#define A512_PUT(r)                                                                            \
    do {                                                                                       \
        if (r < mr) put512(C + (size_t)(i0 + r) * ldc + j0, c##r##0, c##r##1, nc, beta);      \
    } while (0)
/* C row (nc <= 32 columns) from two accumulators, with beta: the same operations as put_row,
 * element by element (one add, or a multiply then an add), so the same bits; stored straight
 * from the registers. A round trip through a stack tile and memcpy (a rep movs whose loads
 * wait for the tile's vector stores) cost up to 9% of the kernel, depending on where the stack
 * happened to sit relative to C. */
__attribute__((target("avx512f"))) static inline void put512(float *c, __m512 a0, __m512 a1,
                                                            int nc, float beta) {
    if (nc == NR) { /* a whole tile: no masks */
        if (beta != 0.0f) {
            __m512 c0 = _mm512_loadu_ps(c), c1 = _mm512_loadu_ps(c + 16);
            if (beta != 1.0f) {
                const __m512 b = _mm512_set1_ps(beta);
                c0 = _mm512_mul_ps(b, c0);
                c1 = _mm512_mul_ps(b, c1);
            }
            a0 = _mm512_add_ps(c0, a0);
            a1 = _mm512_add_ps(c1, a1);
        }
        _mm512_storeu_ps(c, a0);
        _mm512_storeu_ps(c + 16, a1);
        return;
    }
    const __mmask16 m0 = nc >= 16 ? 0xFFFF : (__mmask16)((1u << nc) - 1);
    const __mmask16 m1 = nc >= 32 ? 0xFFFF : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
    if (beta != 0.0f) {
        __m512 c0 = _mm512_maskz_loadu_ps(m0, c), c1 = _mm512_maskz_loadu_ps(m1, c + 16);
        if (beta != 1.0f) {
            const __m512 b = _mm512_set1_ps(beta);
            c0 = _mm512_mul_ps(b, c0);
            c1 = _mm512_mul_ps(b, c1);
        }
        a0 = _mm512_add_ps(c0, a0);
        a1 = _mm512_add_ps(c1, a1);
    }
    _mm512_mask_storeu_ps(c, m0, a0);
    _mm512_mask_storeu_ps(c + 16, m1, a1);
}
__attribute__((target("avx512f"))) static void rows_avx512(int M, int N, int K, const float *A,
                                                          int lda, const float *P, float beta,
                                                          float *C, int ldc,
                                                          const float *zero) {
    for (int j0 = 0; j0 < N; j0 += NR) {
        const int nc = N - j0 < NR ? N - j0 : NR;
        const float *panel = P + (size_t)(j0 / NR) * K * NR;
        for (int i0 = 0; i0 < M; i0 += MR512) {
            const int mr = M - i0 < MR512 ? M - i0 : MR512;
            A512_DECL(0);
            A512_DECL(1);
            A512_DECL(2);
            A512_DECL(3);
            A512_DECL(4);
            A512_DECL(5);
            A512_DECL(6);
            A512_DECL(7);
            const float *w = panel;
            for (int k = 0; k < K; k++, w += NR) {
                const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
                A512_STEP(0);
                A512_STEP(1);
                A512_STEP(2);
                A512_STEP(3);
                A512_STEP(4);
                A512_STEP(5);
                A512_STEP(6);
                A512_STEP(7);
            }
            A512_PUT(0);
            A512_PUT(1);
            A512_PUT(2);
            A512_PUT(3);
            A512_PUT(4);
            A512_PUT(5);
            A512_PUT(6);
            A512_PUT(7);
        }
    }
}

/* ---- AVX2 + FMA: tiles of 6 rows x 16 columns (half a panel), 12 accumulators: with w0, w1
 * and the broadcast, 15 of the 16 registers ---- */
#define MR256 6
#define A256_DECL(r)                                                                           \
    const float *a##r = r < mr ? A + (size_t)(i0 + r) * lda : zero;                            \
    __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps()
#define A256_STEP(r)                                                                           \
    do {                                                                                       \
        const __m256 ar = _mm256_broadcast_ss(a##r + k);                                       \
        c##r##0 = _mm256_fmadd_ps(ar, w0, c##r##0);                                            \
        c##r##1 = _mm256_fmadd_ps(ar, w1, c##r##1);                                            \
    } while (0)
#define A256_PUT(r)                                                                            \
    do {                                                                                       \
        if (r < mr) put256(C + (size_t)(i0 + r) * ldc + j0, c##r##0, c##r##1, nc, beta);      \
    } while (0)
/* C row (nc <= 16 columns) from two accumulators, with beta: as put512, masked stores where
 * the row ends inside the tile. */
__attribute__((target("avx2,fma"))) static inline void put256(float *c, __m256 a0, __m256 a1,
                                                            int nc, float beta) {
    if (nc >= 16) {
        if (beta != 0.0f) {
            __m256 c0 = _mm256_loadu_ps(c), c1 = _mm256_loadu_ps(c + 8);
            if (beta != 1.0f) {
                const __m256 b = _mm256_set1_ps(beta);
                c0 = _mm256_mul_ps(b, c0);
                c1 = _mm256_mul_ps(b, c1);
            }
            a0 = _mm256_add_ps(c0, a0);
            a1 = _mm256_add_ps(c1, a1);
        }
        _mm256_storeu_ps(c, a0);
        _mm256_storeu_ps(c + 8, a1);
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8), lane);
    if (beta != 0.0f) {
        __m256 c0 = _mm256_maskload_ps(c, m0), c1 = _mm256_maskload_ps(c + 8, m1);
        if (beta != 1.0f) {
            const __m256 b = _mm256_set1_ps(beta);
            c0 = _mm256_mul_ps(b, c0);
            c1 = _mm256_mul_ps(b, c1);
        }
        a0 = _mm256_add_ps(c0, a0);
        a1 = _mm256_add_ps(c1, a1);
    }
    _mm256_maskstore_ps(c, m0, a0);
    _mm256_maskstore_ps(c + 8, m1, a1);
}
__attribute__((target("avx2,fma"))) static void rows_avx2(int M, int N, int K, const float *A,
                                                        int lda, const float *P, float beta,
                                                        float *C, int ldc, const float *zero) {
    for (int j0 = 0; j0 < N; j0 += 16) {
        const int nc = N - j0 < 16 ? N - j0 : 16;
        const float *panel = P + (size_t)(j0 / NR) * K * NR + (j0 % NR);
        for (int i0 = 0; i0 < M; i0 += MR256) {
            const int mr = M - i0 < MR256 ? M - i0 : MR256;
            A256_DECL(0);
            A256_DECL(1);
            A256_DECL(2);
            A256_DECL(3);
            A256_DECL(4);
            A256_DECL(5);
            const float *w = panel;
            for (int k = 0; k < K; k++, w += NR) {
                const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                A256_STEP(0);
                A256_STEP(1);
                A256_STEP(2);
                A256_STEP(3);
                A256_STEP(4);
                A256_STEP(5);
            }
            A256_PUT(0);
            A256_PUT(1);
            A256_PUT(2);
            A256_PUT(3);
            A256_PUT(4);
            A256_PUT(5);
        }
    }
}

/* ---- anything else: the same chains through fmaf (an exact fused multiply-add, in software
 * where the CPU has none), one row at a time ---- */
static void rows_portable(int M, int N, int K, const float *A, int lda, const float *P,
                          float beta, float *C, int ldc) {
    float acc[NR];
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        for (int j0 = 0; j0 < N; j0 += NR) {
            const int nc = N - j0 < NR ? N - j0 : NR;
            const float *w = P + (size_t)(j0 / NR) * K * NR;
            memset(acc, 0, NR * sizeof(float));
            for (int k = 0; k < K; k++, w += NR)
                for (int j = 0; j < NR; j++) acc[j] = fmaf(a[k], w[j], acc[j]);
            put_row(C + (size_t)i * ldc + j0, acc, nc, beta);
        }
    }
}

size_t st_sgemm_rows_work(int N, int K) {
    /* the panels (N rounded up to NR), K zeros for a partial tile's missing rows */
    return ((size_t)N + NR - 1) / NR * NR * (size_t)K + (size_t)K;
}

/* op(W) into panels: P[p][k][j] = op(W)[k][p NR + j], 0 beyond N. */
static void pack(int transW, int N, int K, const float *W, int ldw, float *P) {
    for (int j0 = 0; j0 < N; j0 += NR) {
        float *panel = P + (size_t)(j0 / NR) * K * NR;
        const int nc = N - j0 < NR ? N - j0 : NR;
        if (!transW) {
            for (int k = 0; k < K; k++) {
                memcpy(panel + (size_t)k * NR, W + (size_t)k * ldw + j0,
                       (size_t)nc * sizeof(float));
                memset(panel + (size_t)k * NR + nc, 0, (size_t)(NR - nc) * sizeof(float));
            }
        } else {
            /* W (N, K): column j of op(W) is row j of W */
            if (nc < NR) memset(panel, 0, (size_t)K * NR * sizeof(float));
            for (int j = 0; j < nc; j++) {
                const float *row = W + (size_t)(j0 + j) * ldw;
                for (int k = 0; k < K; k++) panel[(size_t)k * NR + j] = row[k];
            }
        }
    }
}

int st_sgemm_rows_best(void) {
    if (__builtin_cpu_supports("avx512f")) return ST_ROWS_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ST_ROWS_AVX2;
    return ST_ROWS_PORTABLE;
}

void st_sgemm_rows(int transW, int M, int N, int K, const float *A, int lda, const float *W,
                   int ldw, float beta, float *C, int ldc, st_rowpack *pk, uint64_t gen) {
    static int best = -1; /* the CPU does not change under a running process */
    if (best < 0) {
        best = st_sgemm_rows_best();
        /* SEQTRAIN_ROWGEMM=avx2|portable: a slower implementation on purpose, to measure what
         * a CPU without AVX-512 gets (the bits are the same; README, "Bitwise the same"). */
        const char *force = getenv("SEQTRAIN_ROWGEMM");
        if (force && !strcmp(force, "portable")) best = ST_ROWS_PORTABLE;
        if (force && !strcmp(force, "avx2") && best > ST_ROWS_AVX2) best = ST_ROWS_AVX2;
    }
    st_sgemm_rows_using(best, transW, M, N, K, A, lda, W, ldw, beta, C, ldc, pk, gen);
}

/* One call's operands, for the pool's threads. */
typedef struct {
    int impl, M, N, K, lda, ldc;
    const float *A, *P, *zero;
    float beta;
    float *C;
    int by_cols;
} rows_job;

/* Rows [lo, hi) by column panels [p0, p1) of the call. Rows in blocks of about 256 KiB of A,
 * so that a block stays in the L2 cache while every column panel of op(W) passes over it: a
 * product of all T x B rows would otherwise stream A from memory once per panel, and small
 * blocks would stream all of op(W) once per block. Which rows and columns share a block (or a
 * thread) changes no bits: every element is its own chain. */
static void rows_part(const rows_job *j, int lo, int hi, int p0, int p1) {
    const int K = j->K;
    const int n = (p1 * NR < j->N ? p1 * NR : j->N) - p0 * NR;
    if (n <= 0) return;
    const float *P = j->P + (size_t)p0 * K * NR;
    int mb = K > 0 ? 65536 / K : hi - lo;
    mb = mb < 24 ? 24 : mb > 2048 ? 2048 : mb / 24 * 24;
    for (int i0 = lo; i0 < hi; i0 += mb) {
        const int m = hi - i0 < mb ? hi - i0 : mb;
        const float *a = j->A + (size_t)i0 * j->lda;
        float *c = j->C + (size_t)i0 * j->ldc + (size_t)p0 * NR;
        if (j->impl == ST_ROWS_AVX512)
            rows_avx512(m, n, K, a, j->lda, P, j->beta, c, j->ldc, j->zero);
        else if (j->impl == ST_ROWS_AVX2)
            rows_avx2(m, n, K, a, j->lda, P, j->beta, c, j->ldc, j->zero);
        else
            rows_portable(m, n, K, a, j->lda, P, j->beta, c, j->ldc);
    }
}

static int npanels(int N) { return (N + NR - 1) / NR; }

/* Rows of a kernel's tile: threads get whole tiles (but the last share), so none runs a
 * partial tile in the middle of the call (speed only; any split gives the same bits). */
static int tile_rows(int impl) {
    return impl == ST_ROWS_AVX512 ? MR512 : impl == ST_ROWS_AVX2 ? MR256 : 1;
}

/* Thread tid's share: contiguous rows, or contiguous column panels (by_cols). */
static void rows_share(void *arg, int tid, int nth) {
    const rows_job *j = arg;
    int lo, hi;
    if (j->by_cols) {
        st_par_share(npanels(j->N), 1, tid, nth, &lo, &hi);
        rows_part(j, 0, j->M, lo, hi);
    } else {
        st_par_share(j->M, tile_rows(j->impl), tid, nth, &lo, &hi);
        rows_part(j, lo, hi, 0, npanels(j->N));
    }
}

/* Below this many multiply-adds (or 2 tiles of rows) a product runs on the caller alone: the
 * hand-over to the pool costs about a microsecond. */
#define PAR_MIN_FMA (1L << 16)
/* Packed op(W) from which a product of few rows is split by columns: half a 1 MiB L2. */
#define PAR_COLS_BYTES ((size_t)512 * 1024)

void st_sgemm_rows_using(int impl, int transW, int M, int N, int K, const float *A, int lda,
                         const float *W, int ldw, float beta, float *C, int ldc,
                         st_rowpack *pk, uint64_t gen) {
    if (M <= 0 || N <= 0) return;
    const size_t need = st_sgemm_rows_work(N, K);
    ST_ASSERT(need <= pk->cap, "row product %dx%dx%d needs %zu floats of work space, has %zu",
              M, N, K, need, pk->cap);
    const size_t panels = ((size_t)N + NR - 1) / NR * NR * (size_t)K;
    float *P = pk->buf, *zero = pk->buf + panels;
    /* Packed once, by the caller, before the rows are shared out: the threads read it only. */
    if (!(pk->w == W && pk->trans == transW && pk->n == N && pk->k == K && pk->ld == ldw &&
          pk->gen == gen && pk->valid)) {
        pack(transW, N, K, W, ldw, P);
        memset(zero, 0, (size_t)K * sizeof(float));
        pk->w = W, pk->trans = transW, pk->n = N, pk->k = K, pk->ld = ldw, pk->gen = gen;
        pk->valid = 1;
    }
    rows_job j = {impl, M, N, K, lda, ldc, A, P, zero, beta, C, 0};
    const int nth = st_par_threads();
    /* A few rows against a large op(W) (a recurrent step's product: 64 rows, 4 MiB of packed
     * weights for 512 units) split by columns, so that each thread streams only its share of
     * the panels through its cache; otherwise by rows (a block of A stays in the cache). */
    j.by_cols = M <= 256 && panels * sizeof(float) >= PAR_COLS_BYTES && npanels(N) >= 2 * nth;
    if (nth > 1 && (j.by_cols || M >= 2 * tile_rows(impl)) && (long)M * N * K >= PAR_MIN_FMA)
        st_par_run(rows_share, &j);
    else
        rows_part(&j, 0, M, 0, npanels(N));
}
