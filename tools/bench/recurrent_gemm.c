/*
 * recurrent_gemm - the recurrent step's product, measured three ways on the benchmark models'
 * shapes (issue 15): OpenBLAS as the float path calls it (st_sgemm: OpenBLAS packs both
 * operands again on every call), seqtrain's row kernel with op(U) packed once per pass (what a
 * recurrent layer does in deterministic mode: src/core/rowgemm.c), and the row kernel packed
 * on every call (what packing costs).
 *
 *   recurrent_gemm [--time S]              every model's forward and backward step product
 *   recurrent_gemm [--time S] B N K TRANS  one shape: (B, K) x op(U) -> (B, N), TRANS 0 or 1
 *
 * Each variant is called on the same buffers until about S seconds (default 0.3) have passed,
 * after one untimed call. Output: one line per shape and `RECURRENT {json}` with GFLOP/s. It
 * runs on one thread and says which OpenBLAS core and which row kernel ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rowgemm.h"
#include "seqtrain/tensor.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct shape {
    const char *name;
    int b, n, k, trans; /* C (b, n) += A (b, k) op(U); trans: U is (n, k) */
} shape;

/* Per model and layer: forward h_{t-1} U (B, H) x (H, gH) and backward dG_t U^T (B, gH) x
 * (gH, H), at the benchmark's global batch (tools/bench/configs). */
static const shape k_models[] = {
    {"M1 fwd", 128, 32, 32, 0},    {"M1 bwd", 128, 32, 32, 1},
    {"M2 fwd", 128, 256, 64, 0},   {"M2 bwd", 128, 64, 256, 1},
    {"M3 fwd", 128, 256, 64, 0},   {"M3 bwd", 128, 64, 256, 1},
    {"M5 fwd", 128, 512, 128, 0},  {"M5 bwd", 128, 128, 512, 1},
    {"M6 fwd", 64, 2048, 512, 0},  {"M6 bwd", 64, 512, 2048, 1},
};

/* GFLOP/s of variant v on shape s: 0 OpenBLAS, 1 row kernel packed once, 2 packed per call. */
static double rate(const shape *s, int v, double secs, float *A, float *U, float *C,
                   st_rowpack *pk) {
    const int ldu = s->trans ? s->k : s->n;
    uint64_t gen = 1;
    int reps = 0;
    double t0 = 0, t = 0;
    for (int warm = 1;; warm = 0) {
        if (v == 0)
            st_sgemm(0, s->trans, s->b, s->n, s->k, 1.0f, A, s->k, U, ldu, 1.0f, C, s->n);
        else
            st_sgemm_rows(s->trans, s->b, s->n, s->k, A, s->k, U, ldu, 1.0f, C, s->n, pk,
                          v == 2 ? ++gen : gen);
        if (warm) {
            t0 = now();
            continue;
        }
        reps++;
        if ((t = now() - t0) >= secs) break;
    }
    return 2.0 * s->b * s->n * s->k * reps / t / 1e9;
}

int main(int argc, char **argv) {
    double secs = 0.3;
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "--time")) secs = atof(argv[a + 1]), a += 2;
    shape one = {"shape", 0, 0, 0, 0};
    const shape *list = k_models;
    size_t n = sizeof k_models / sizeof k_models[0];
    if (argc - a == 4) {
        one.b = atoi(argv[a]), one.n = atoi(argv[a + 1]), one.k = atoi(argv[a + 2]);
        one.trans = atoi(argv[a + 3]);
        list = &one, n = 1;
    } else if (argc != a || secs <= 0 || one.b < 0) {
        fprintf(stderr, "usage: recurrent_gemm [--time S] [B N K TRANS]\n");
        return 2;
    }
    if (n == 1 && (one.b <= 0 || one.n <= 0 || one.k <= 0)) {
        fprintf(stderr, "recurrent_gemm: B, N and K must be positive\n");
        return 2;
    }
    st_blas_set_threads(1);
    const char *kern[] = {"portable", "AVX2", "AVX-512"};
    printf("OpenBLAS core %s; row kernel %s; CPU %s\n", st_blas_core(),
           kern[st_sgemm_rows_best()], st_cpu_get()->name);
    printf("%-8s %-16s %10s %12s %12s %8s\n", "product", "B x N x K", "OpenBLAS",
           "rows, once", "rows, each", "once/OB");
    for (size_t i = 0; i < n; i++) {
        const shape *s = &list[i];
        float *A = malloc(sizeof(float) * s->b * s->k), *U = malloc(sizeof(float) * s->n * s->k);
        float *C = calloc((size_t)s->b * s->n, sizeof(float));
        st_rowpack pk = {0};
        pk.cap = st_sgemm_rows_work(s->n, s->k);
        pk.buf = malloc(pk.cap * sizeof(float));
        if (!A || !U || !C || !pk.buf) return 1;
        for (int j = 0; j < s->b * s->k; j++) A[j] = (float)(j % 7) * 0.01f;
        for (int j = 0; j < s->n * s->k; j++) U[j] = (float)(j % 5) * 0.01f - 0.02f;
        double r[3];
        for (int v = 0; v < 3; v++) r[v] = rate(s, v, secs, A, U, C, &pk);
        char dims[32];
        snprintf(dims, sizeof dims, "%dx%dx%d%s", s->b, s->n, s->k, s->trans ? "T" : "");
        printf("%-8s %-16s %10.1f %12.1f %12.1f %7.2fx\n", s->name, dims, r[0], r[1], r[2],
               r[1] / r[0]);
        printf("RECURRENT {\"name\": \"%s\", \"b\": %d, \"n\": %d, \"k\": %d, \"trans\": %d, "
               "\"openblas\": %.2f, \"rows_once\": %.2f, \"rows_each\": %.2f}\n",
               s->name, s->b, s->n, s->k, s->trans, r[0], r[1], r[2]);
        free(A), free(U), free(C), free(pk.buf);
    }
    return 0;
}
