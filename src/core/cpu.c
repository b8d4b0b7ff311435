/*
 * cpu.c - what the CPU can run: its name and the widest vector instruction set that both it
 * and the operating system support (the OS must save the wider registers on a context switch,
 * which XGETBV tells). src/core/blas.c uses it to pick the BLAS kernels at start-up; the name
 * goes into every measured number's header (--version, BENCH, metrics.jsonl).
 *
 * Why not __builtin_cpu_supports: GCC 12's table lacks avx512_bf16 on some releases and says
 * nothing of the brand string; one CPUID pass gives both, and this file is the only place
 * that reads them.
 */
#include <stdio.h>
#include <string.h>

#include "seqtrain/tensor.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static void detect(st_cpu *c) {
    unsigned a, b, cx, d, max;
    if (!__get_cpuid(0, &max, &b, &cx, &d)) return;
    memcpy(c->vendor, &b, 4), memcpy(c->vendor + 4, &d, 4), memcpy(c->vendor + 8, &cx, 4);
    c->vendor[12] = 0;

    unsigned ext = __get_cpuid_max(0x80000000u, NULL);
    if (ext >= 0x80000004u) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char raw[49];
        memcpy(raw, r, 48);
        raw[48] = 0;
        /* The brand string is padded with spaces (either side, by vendor): trim and squeeze. */
        size_t n = 0;
        for (const char *p = raw; *p && n + 1 < sizeof c->name; p++)
            if (*p != ' ' || (n > 0 && c->name[n - 1] != ' ')) c->name[n++] = *p;
        while (n > 0 && c->name[n - 1] == ' ') n--;
        c->name[n] = 0;
    }

    __get_cpuid(1, &a, &b, &cx, &d);
    int sse2 = (d >> 26) & 1, sse42 = (cx >> 20) & 1, fma = (cx >> 12) & 1;
    int osx = (cx >> 27) & 1, avx = (cx >> 28) & 1;
    unsigned long long xcr0 = osx ? xgetbv0() : 0;
    int ymm_os = (xcr0 & 0x6) == 0x6;     /* XMM and YMM state */
    int zmm_os = (xcr0 & 0xe6) == 0xe6;   /* plus opmask and both halves of ZMM */
    int avx2 = 0, avx512 = 0;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        avx2 = (b >> 5) & 1;
        /* F, DQ, BW and VL: the set OpenBLAS's SkylakeX kernels are compiled for. */
        avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
        __cpuid_count(7, 1, a, b, cx, d);
        c->bf16 = avx512 && zmm_os && ((a >> 5) & 1);
    }
    c->level = !sse2                      ? ST_ISA_NONE
               : avx512 && zmm_os && fma  ? ST_ISA_AVX512
               : avx2 && fma && ymm_os    ? ST_ISA_AVX2
               : avx && ymm_os            ? ST_ISA_AVX
               : sse42                    ? ST_ISA_SSE42
                                          : ST_ISA_SSE2;
}
#else
static void detect(st_cpu *c) { (void)c; }
#endif

/* The kernel's "model name", what lscpu and /proc/cpuinfo show users (a hypervisor may give
 * the kernel another brand string than the one CPUID shows the guest later): 1 if found. */
static int proc_model_name(char *out, size_t n) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        snprintf(out, n, "%.*s", (int)strcspn(colon, "\n"), colon);
        found = out[0] != 0;
    }
    if (f) fclose(f);
    return found;
}

const st_cpu *st_cpu_get(void) {
    static st_cpu c;
    static int done;
    if (!done) {
        detect(&c);
        char name[sizeof c.name];
        if (proc_model_name(name, sizeof name)) memcpy(c.name, name, sizeof name);
        if (!c.name[0]) snprintf(c.name, sizeof c.name, "%s CPU", c.vendor[0] ? c.vendor : "unknown");
        done = 1;
    }
    return &c;
}

const char *st_isa_name(int level) {
    static const char *names[] = {"no SSE2", "SSE2", "SSE4.2", "AVX", "AVX2+FMA", "AVX-512"};
    return level >= 0 && level <= ST_ISA_AVX512 ? names[level] : "?";
}
