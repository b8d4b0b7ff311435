/*
 * blas.c - the only file that includes cblas.h. Row-major wrappers so the rest of the code
 * writes products in the orientation of the math comments next to each call.
 *
 * Data layout: dense row-major matrices with explicit leading dimensions, as CBLAS takes them.
 * Also here: which OpenBLAS kernels run (chosen at start-up for the CPU, see below).
 * Not here: threading policy (OPENBLAS_NUM_THREADS, set by the launcher) or any allocation;
 * swapping OpenBLAS for MKL touches this file and the build only.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>
#include <unistd.h>

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

/* ---- Which kernels: chosen at start-up for the CPU (issue 15) ----
 *
 * A DYNAMIC_ARCH OpenBLAS picks its kernels when it loads, from a CPUID table frozen at its
 * release: Debian 12's 0.3.21 does not know Sapphire Rapids and falls back to "Prescott", its
 * SSE3 kernels, 2.5x slower than its AVX-512 "SkylakeX" ones on the same cores. It reads
 * OPENBLAS_CORETYPE only while loading, so the only way to change its choice is before the
 * program starts: set the variable and execute the program again (same PID, same arguments,
 * same environment otherwise, so mpirun's and srun's bookkeeping is untouched; MPI is not
 * initialized yet). The new image checks the kernels it got; if they are not the ones asked
 * for, or compute a wrong product, it executes once more without the variable and warns.
 *
 * Environment: OPENBLAS_CORETYPE set (non-empty) by the user always wins. SEQTRAIN_BLAS_AUTO=0
 * keeps OpenBLAS's own choice. SEQTRAIN_BLAS_STAGE is this file's note to its next image.
 * For tests only: SEQTRAIN_BLAS_TEST_OWN pretends OpenBLAS chose that core by itself,
 * SEQTRAIN_BLAS_TEST_TARGET replaces the core chosen for the CPU, SEQTRAIN_BLAS_TEST_BREAK=1
 * makes the check of the chosen kernels fail. */

#define STAGE_ENV "SEQTRAIN_BLAS_STAGE"

static char g_how[256] = "OpenBLAS's own choice";
static char g_warn[1024];

/* OpenBLAS's x86-64 core names and the instruction set their kernels need (ST_ISA_*). A name
 * missing here (a core newer than this table) is never replaced. */
static const struct { const char *name; int level; } k_cores[] = {
    {"Prescott", ST_ISA_SSE2},       {"Core2", ST_ISA_SSE2},        {"Penryn", ST_ISA_SSE2},
    {"Dunnington", ST_ISA_SSE2},     {"Atom", ST_ISA_SSE2},         {"Opteron", ST_ISA_SSE2},
    {"Opteron(SSE3)", ST_ISA_SSE2},  {"Barcelona", ST_ISA_SSE2},    {"Bobcat", ST_ISA_SSE2},
    {"Nehalem", ST_ISA_SSE42},       {"Sandybridge", ST_ISA_AVX},   {"Bulldozer", ST_ISA_AVX},
    {"Piledriver", ST_ISA_AVX},      {"Steamroller", ST_ISA_AVX},   {"Excavator", ST_ISA_AVX},
    {"Haswell", ST_ISA_AVX2},        {"Zen", ST_ISA_AVX2},          {"SkylakeX", ST_ISA_AVX512},
    {"Cooperlake", ST_ISA_AVX512},   {"SapphireRapids", ST_ISA_AVX512},
};

static int core_level(const char *name) {
    for (size_t i = 0; i < sizeof k_cores / sizeof k_cores[0]; i++)
        if (!strcasecmp(name, k_cores[i].name)) return k_cores[i].level;
    return -1;
}

/* The core seqtrain asks for on a CPU of this level (NULL: none better than SSE2's). */
static const char *core_for(int level) {
    switch (level) {
    case ST_ISA_AVX512: return "SkylakeX";
    case ST_ISA_AVX2: return "Haswell";
    case ST_ISA_AVX: return "Sandybridge";
    case ST_ISA_SSE42: return "Nehalem";
    default: return NULL;
    }
}

const char *st_blas_core(void) {
#ifdef OPENBLAS_VERSION
    const char *s = openblas_get_corename();
    return s && *s ? s : "unknown";
#else
    return "not OpenBLAS";
#endif
}

const char *st_blas_library(void) {
#ifdef OPENBLAS_VERSION
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21" */
    static char lib[64];
    const char *cfg = openblas_get_config();
    const char *sp = cfg ? strchr(cfg, ' ') : NULL;
    const char *end = sp ? strchr(sp + 1, ' ') : NULL;
    int n = end ? (int)(end - cfg) : (cfg ? (int)strlen(cfg) : 0);
    snprintf(lib, sizeof lib, "%.*s", n < 63 ? n : 63, cfg ? cfg : "OpenBLAS");
    return lib;
#else
    return "CBLAS";
#endif
}

const char *st_blas_core_how(void) { return g_how; }
const char *st_blas_warning(void) { return g_warn[0] ? g_warn : NULL; }

/* Is the product of the kernels in use right? Three small products (both orientations, beta 0
 * and 1, sizes that hit the main and the edge micro-kernels) against a double reference. A
 * float sum of K products errs by at most about K * 2^-24 of sum |a_k b_k|; a wrong kernel
 * is off by the size of the terms. Returns 1 when every element is within 16x that bound. */
static int kernels_ok(void) {
    enum { M = 37, N = 70, K = 129 };
    static float A[M * K], B[K * N], C[M * N], C0[M * N];
    unsigned s = 12345;
    for (int i = 0; i < M * K; i++) A[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 8388608.0f - 1.0f;
    for (int i = 0; i < K * N; i++) B[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 8388608.0f - 1.0f;
    for (int i = 0; i < M * N; i++) C0[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 8388608.0f - 1.0f;
    const int shapes[3][4] = {{M, N, K, 0}, {M - 12, N - 9, K - 40, 1}, {16, 64, 64, 0}};
    for (int v = 0; v < 3; v++) {
        const int m = shapes[v][0], n = shapes[v][1], k = shapes[v][2], tb = shapes[v][3];
        const float beta = v == 1 ? 1.0f : 0.0f;
        memcpy(C, C0, sizeof C);
        /* B read as (k, n) row-major, or as the transpose of an (n, k) row-major matrix */
        st_sgemm(0, tb, m, n, k, 1.0f, A, K, B, tb ? k : n, beta, C, n);
        if (getenv("SEQTRAIN_BLAS_TEST_BREAK")) C[n + 1] += 1.0f;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double ref = beta * (double)C0[(size_t)i * n + j], mag = fabs(ref);
                for (int q = 0; q < k; q++) {
                    double b = tb ? B[(size_t)j * k + q] : B[(size_t)q * n + j];
                    ref += (double)A[(size_t)i * K + q] * b;
                    mag += fabs((double)A[(size_t)i * K + q] * b);
                }
                if (!(fabs((double)C[(size_t)i * n + j] - ref) <= 16.0 * (k + 1) * mag / 16777216.0))
                    return 0;
            }
    }
    return 1;
}

/* SRC as printable ASCII for the messages and the JSON lines that carry it: the user's
 * OPENBLAS_CORETYPE and the stage variable may hold anything. */
static const char *clean(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : (char)c;
    }
    dst[i] = 0;
    return dst;
}

/* The file mapped at ADDR in this process (the program for an address in its code). */
static int mapped_file(const void *addr, char *out, size_t n) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096 + 128];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) < 2 || !at) continue;
        if ((unsigned long)(uintptr_t)addr < lo || (unsigned long)(uintptr_t)addr >= hi) continue;
        snprintf(out, n, "%.*s", (int)strcspn(line + at, "\n"), line + at);
        found = out[0] == '/';
    }
    if (f) fclose(f);
    return found;
}

/* Where this process can start again from, or NULL with the reason. Not through the name it
 * was started by (PATH may find another program), and not when something else runs it: under
 * the dynamic loader (ld.so PROGRAM ARGS: /proc/self/exe is the loader, which would take the
 * first argument for the program) or valgrind (an exec leaves it). The resolved path, not
 * /proc/self/exe itself, so the process keeps its name ("seqtrain", not "exe") for ps,
 * pgrep and the batch system. */
static const char *restart_path(char *exe, size_t n, const char **why) {
    char self[4096];
    const char *pre = getenv("LD_PRELOAD");
    ssize_t len = readlink("/proc/self/exe", exe, n - 1);
    if (len <= 0 || (size_t)len >= n - 1) {
        *why = "no /proc/self/exe to restart from";
        return NULL;
    }
    exe[len] = 0;
    if (pre && strstr(pre, "vgpreload")) {
        *why = "running under valgrind";
        return NULL;
    }
    if (!mapped_file((const void *)st_blas_choose, self, sizeof self) || strcmp(self, exe)) {
        *why = "started through the dynamic loader or another program";
        return NULL;
    }
    return exe;
}

/* Replace this process's image by the same program with the environment as it now is
 * (returns only when that failed). */
static void reexec(const char *path, char **argv) {
    fflush(NULL);
    execv(path, argv);
}

void st_blas_choose(int argc, char **argv) {
    (void)argc;
#ifdef OPENBLAS_VERSION
    const st_cpu *cpu = st_cpu_get();
    const char *core = st_blas_core(), *stage = getenv(STAGE_ENV), *why = NULL;
    char note[160], exe[4096], own[48] = "", want[48] = "", why_s[96] = "";

    /* A stage note this file did not write (fields missing) is ignored. */
    if (stage && !((!strncmp(stage, "try:", 4) &&
                    sscanf(stage + 4, "%47[^:]:%47s", own, want) == 2) ||
                   (!strncmp(stage, "fallback:", 9) &&
                    sscanf(stage + 9, "%47[^:]:%95[^\n]", want, why_s) == 2))) {
        unsetenv(STAGE_ENV);
        stage = NULL;
    }
    clean(own, sizeof own, own), clean(want, sizeof want, want), clean(why_s, sizeof why_s, why_s);

    if (stage && !strncmp(stage, "try:", 4)) {
        /* The image started with the kernels chosen below: "try:OWN:TARGET". */
        const char *bad = strcasecmp(core, want) ? "this OpenBLAS does not have it"
                          : !kernels_ok()        ? "its products were wrong"
                                                 : NULL;
        if (!bad) {
            snprintf(g_how, sizeof g_how, "chosen by seqtrain for %s; OpenBLAS alone ran %s",
                     st_isa_name(cpu->level), own);
            unsetenv(STAGE_ENV);
            return;
        }
        snprintf(note, sizeof note, "fallback:%s:%s", want, bad);
        setenv(STAGE_ENV, note, 1);
        unsetenv("OPENBLAS_CORETYPE");
        if (restart_path(exe, sizeof exe, &why)) reexec(exe, argv);
        /* Could not start again: these kernels computed wrong products, so nothing may run. */
        fprintf(stderr, "seqtrain: error: OpenBLAS core %s failed its start-up check (%s) and "
                        "seqtrain could not restart without it; set OPENBLAS_CORETYPE\n",
                core, bad);
        exit(1);
    }
    if (stage && !strncmp(stage, "fallback:", 9)) {
        snprintf(g_how, sizeof g_how, "OpenBLAS's own choice; seqtrain's %s failed its check",
                 want);
        snprintf(g_warn, sizeof g_warn,
                 "warning: OpenBLAS core %s, chosen for this CPU (%s), failed its start-up "
                 "check (%s); running OpenBLAS's own choice %s, which may be slower. Set "
                 "OPENBLAS_CORETYPE to choose the kernels yourself.\n",
                 want, st_isa_name(cpu->level), why_s, core);
        unsetenv(STAGE_ENV);
        return;
    }

    const char *user = getenv("OPENBLAS_CORETYPE"), *auto_ = getenv("SEQTRAIN_BLAS_AUTO");
    const char *best = getenv("SEQTRAIN_BLAS_TEST_TARGET");
    if (!best) best = core_for(cpu->level);
    if (user && *user) {
        int lv = core_level(core);
        char u[48];
        clean(u, sizeof u, user);
        if (strcasecmp(user, core)) {
            /* OpenBLAS ignores a name it does not know and runs its own choice, silently. */
            snprintf(g_how, sizeof g_how, "OpenBLAS's own choice: it has no core "
                     "OPENBLAS_CORETYPE=%s", u);
            snprintf(g_warn, sizeof g_warn, "warning: OPENBLAS_CORETYPE=%s is not a core this "
                     "OpenBLAS has; it runs its own choice, %s\n", u, core);
            return;
        }
        snprintf(g_how, sizeof g_how, "set by OPENBLAS_CORETYPE=%s%s%s", u,
                 best && lv >= 0 && lv < cpu->level ? "; this CPU could run " : "",
                 best && lv >= 0 && lv < cpu->level ? best : "");
        return;
    }
    if (auto_ && !strcmp(auto_, "0")) {
        snprintf(g_how, sizeof g_how, "OpenBLAS's own choice (SEQTRAIN_BLAS_AUTO=0)");
        return;
    }
    const char *ran = getenv("SEQTRAIN_BLAS_TEST_OWN");
    if (!ran) ran = core;
    const int lv = core_level(ran);
    if (!best || lv < 0 || lv >= cpu->level) return; /* OpenBLAS's choice is the best known */
    const char *cfg = openblas_get_config();
    if (!cfg || !strstr(cfg, "DYNAMIC_ARCH")) {
        snprintf(g_how, sizeof g_how, "the only one this OpenBLAS has (built for one CPU)");
        return;
    }
    if (restart_path(exe, sizeof exe, &why)) {
        snprintf(note, sizeof note, "try:%s:%s", ran, best);
        setenv(STAGE_ENV, note, 1);
        setenv("OPENBLAS_CORETYPE", best, 1);
        reexec(exe, argv);
        unsetenv(STAGE_ENV);
        unsetenv("OPENBLAS_CORETYPE");
        why = "the restart failed";
    }
    /* Still here: keep OpenBLAS's kernels, and say why and what to do. */
    snprintf(g_how, sizeof g_how, "OpenBLAS's own choice; seqtrain could not restart on %s "
             "(%s)", best, why);
    snprintf(g_warn, sizeof g_warn, "warning: OpenBLAS runs %s, below what this CPU (%s) "
             "runs, and seqtrain could not restart itself on %s (%s); set "
             "OPENBLAS_CORETYPE=%s\n", core, st_isa_name(cpu->level), best, why, best);
#else
    (void)argv;
#endif
}
