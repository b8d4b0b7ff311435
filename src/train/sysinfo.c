/*
 * sysinfo.c - what produced a run's numbers: the CPU and the BLAS kernels every rank runs
 * (issue 15). A step time means little without them (the same step is 2.5x slower on
 * OpenBLAS's SSE3 kernels than on its AVX-512 ones), and deterministic training's bits depend
 * on them (the weight-gradient products come from OpenBLAS, whose kernels sum in core-specific
 * orders): ranks on other kernels than rank 0 are worth a warning.
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/dist.h"
#include "seqtrain/log.h"
#include "seqtrain/tensor.h"
#include "core/par.h"
#include "train/fit.h"

/* FNV-1a of a string, small enough to travel exactly in a double. */
static double name_hash(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return (double)h;
}

int st_blas_agree(int deterministic) {
    /* max of h and of -h over the ranks: equal magnitudes iff every rank has the same h */
    double v[4] = {name_hash(st_blas_core()), -name_hash(st_blas_core()),
                   name_hash(st_cpu_get()->name), -name_hash(st_cpu_get()->name)};
    st_dist_allreduce_max_f64(v, 4);
    const int same_core = v[0] == -v[1], same_cpu = v[2] == -v[3];
    if (!same_core)
        ST_LOG(ST_LOG_WARN, "warning: the ranks run different BLAS kernels (rank 0: %s)%s\n",
               st_blas_core(),
               deterministic ? "; deterministic results then differ from a run on one kind of "
                               "node (set OPENBLAS_CORETYPE to the same core everywhere)"
                             : "");
    if (!same_cpu)
        ST_LOG(ST_LOG_INFO, "the ranks run on different CPU models (rank 0: %s)\n",
               st_cpu_get()->name);
    return same_core;
}

void st_json_safe(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src);
    for (char *p = dst; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = ' ';
}

int st_run_threads(void) {
    /* Deterministic mode: OpenBLAS on 1, the pool on the rank's threads; float mode: OpenBLAS's */
    return st_par_threads() > st_blas_threads() ? st_par_threads() : st_blas_threads();
}
