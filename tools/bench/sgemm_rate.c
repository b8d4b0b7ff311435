/*
 * sgemm_rate - the machine's sgemm speed on the GEMM shapes a model's training step runs, the
 * yardstick for "share of the sgemm rate" in tools/bench (issue 3).
 *
 * Each shape is timed on its own: the call is repeated until about --time seconds have passed
 * (after one untimed warm-up call), on buffers allocated once and filled with small random
 * numbers, with the same row-major cblas_sgemm call seqtrain makes (src/core/blas.c), beta = 1
 * as in the weight-gradient accumulations. The summary is flop-weighted: each shape counts as
 * often as a training step calls it, and the mean is total flops / total time, i.e. the rate a
 * step made only of these GEMMs, each at the speed measured here, would reach.
 *
 *   sgemm_rate                          M6's step: Embedding(10000,256) -> LSTM(512), B 64, T 100
 *   sgemm_rate M N K                    one shape, no transposes
 *   sgemm_rate SPEC...                  SPEC = TA,TB,M,N,K[,COUNT[,NAME]] (TA/TB 0 or 1)
 *   options: --threads N (default 1), --time S (default 0.3)
 *
 * Output: one line `SGEMM {json}` with "core", the OpenBLAS kernels that ran
 * (openblas_get_corename: OpenBLAS picks them when it loads, OPENBLAS_CORETYPE overriding; this
 * program does not choose, tools/bench/bench.py sets the variable so that it runs seqtrain's
 * core), each shape's GFLOP/s and "mean_gflops". It links OpenBLAS directly through CBLAS and
 * nothing of seqtrain; it does not measure anything but sgemm.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shape {
    int ta, tb, m, n, k;
    double count; /* calls per training step (flop weight) */
    char name[32];
    double gflops; /* measured */
} shape;

/* M6 (B 64, T 100, I 256, H 512, G = 4H = 2048): the GEMMs of src/layers/lstm.c per step. */
static const shape m6_default[] = {
    {0, 0, 6400, 2048, 256, 1, "fwd_input_proj", 0},  /* G = X·W        (TB,I)(I,G)    */
    {0, 0, 64, 2048, 512, 99, "fwd_recurrence", 0},   /* G_t += h·U     (B,H)(H,G)     */
    {0, 1, 64, 512, 2048, 99, "bwd_recurrence", 0},   /* dh = dG_t·Uᵀ   (B,G)(G,H)     */
    {1, 0, 256, 2048, 6400, 1, "bwd_dW", 0},          /* dW += Xᵀ·dG    (I,TB)(TB,G)   */
    {1, 0, 512, 2048, 6336, 1, "bwd_dU", 0},          /* dU += Hᵀ·dG    (H,(T-1)B)(.,G) */
    {0, 1, 6400, 256, 2048, 1, "bwd_dx", 0},          /* dX += dG·Wᵀ    (TB,G)(G,I)    */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rand_buf(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "sgemm_rate: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = ((float)(rand_r(seed) % 2001) - 1000.0f) * 1e-5f;
    return p;
}

/* Times one shape; returns GFLOP/s. */
static double measure(const shape *s, double budget) {
    unsigned seed = 12345;
    /* Row-major storage of op(A) (m,k), op(B) (k,n), C (m,n). */
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n, ldc = s->n;
    float *A = rand_buf((size_t)s->m * (size_t)s->k, &seed);
    float *B = rand_buf((size_t)s->k * (size_t)s->n, &seed);
    float *C = rand_buf((size_t)s->m * (size_t)s->n, &seed);
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = s->tb ? CblasTrans : CblasNoTrans;
    cblas_sgemm(CblasRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
    long reps = 0;
    double t0 = now(), t;
    do {
        cblas_sgemm(CblasRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
        reps++;
        t = now() - t0;
    } while (t < budget);
    free(A);
    free(B);
    free(C);
    return 2.0 * s->m * (double)s->n * s->k * (double)reps / t * 1e-9;
}

static int parse_spec(const char *arg, shape *s) {
    memset(s, 0, sizeof *s);
    s->count = 1;
    int used = 0;
    int got = sscanf(arg, "%d,%d,%d,%d,%d%n", &s->ta, &s->tb, &s->m, &s->n, &s->k, &used);
    if (got != 5 || s->m <= 0 || s->n <= 0 || s->k <= 0) return -1;
    const char *rest = arg + used;
    if (*rest == ',') {
        char *end;
        s->count = strtod(rest + 1, &end);
        if (end == rest + 1 || s->count < 0) return -1;
        rest = end;
    }
    if (*rest == ',') snprintf(s->name, sizeof s->name, "%s", rest + 1);
    else if (*rest) return -1;
    else snprintf(s->name, sizeof s->name, "%s%s_%dx%dx%d", s->ta ? "T" : "N", s->tb ? "T" : "N",
                  s->m, s->n, s->k);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 1;
    double budget = 0.3;
    shape *sh = calloc((size_t)argc + 8, sizeof *sh);
    int ns = 0;
    int positional[3], npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) budget = atof(argv[++i]);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            puts("usage: sgemm_rate [--threads N] [--time S] [M N K | TA,TB,M,N,K[,COUNT[,NAME]]...]");
            return 0;
        } else if (strchr(argv[i], ',')) {
            if (parse_spec(argv[i], &sh[ns++])) {
                fprintf(stderr, "sgemm_rate: bad shape '%s' (want TA,TB,M,N,K[,COUNT[,NAME]])\n",
                        argv[i]);
                return 2;
            }
        } else if (npos < 3 && atoi(argv[i]) > 0) {
            positional[npos++] = atoi(argv[i]);
        } else {
            fprintf(stderr, "sgemm_rate: bad argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (npos == 3) {
        shape s = {0, 0, positional[0], positional[1], positional[2], 1, "", 0};
        snprintf(s.name, sizeof s.name, "NN_%dx%dx%d", s.m, s.n, s.k);
        sh[ns++] = s;
    } else if (npos) {
        fprintf(stderr, "sgemm_rate: give M N K (three numbers)\n");
        return 2;
    }
    if (!ns) {
        ns = (int)(sizeof m6_default / sizeof m6_default[0]);
        memcpy(sh, m6_default, sizeof m6_default);
    }
    if (threads < 1 || budget <= 0) {
        fprintf(stderr, "sgemm_rate: --threads must be >= 1 and --time > 0\n");
        return 2;
    }
    openblas_set_num_threads(threads);

    double flops = 0, secs = 0;
    for (int i = 0; i < ns; i++) {
        sh[i].gflops = measure(&sh[i], budget);
        double f = 2.0 * sh[i].m * (double)sh[i].n * sh[i].k * sh[i].count;
        flops += f;
        secs += f / (sh[i].gflops * 1e9);
    }
    const char *core = openblas_get_corename();
    printf("SGEMM {\"core\": \"%s\", \"threads\": %d, \"shapes\": [",
           core && *core ? core : "unknown", threads);
    for (int i = 0; i < ns; i++)
        printf("%s{\"name\": \"%s\", \"ta\": %d, \"tb\": %d, \"m\": %d, \"n\": %d, \"k\": %d, "
               "\"count\": %g, \"gflops\": %.2f}",
               i ? ", " : "", sh[i].name, sh[i].ta, sh[i].tb, sh[i].m, sh[i].n, sh[i].k,
               sh[i].count, sh[i].gflops);
    printf("], \"mean_gflops\": %.2f}\n", secs > 0 ? flops / secs * 1e-9 : 0.0);
    free(sh);
    return 0;
}
