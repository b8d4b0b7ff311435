/*
 * mem.h - how much memory this process can get, overflow-checked size arithmetic, and byte
 * counts for people (src/core/mem.c). Internal to src/.
 *
 * Why: a size the user chose (units, batch_size, a dataset's T or row count) must be refused
 * BEFORE anything is allocated, with one line naming the key and the bytes it needs. Without
 * the check a too-large model either fails inside st_malloc (no key named) or, since Linux
 * overcommits, succeeds and is then killed by the kernel's OOM killer with no message at all.
 */
#ifndef SEQTRAIN_CORE_MEM_H
#define SEQTRAIN_CORE_MEM_H

#include <stddef.h>

/* *out = a * b, a + b. Return 0, or -1 on overflow (then *out = SIZE_MAX, so a chain of
 * checked operations that ignores one result still ends in a size no check accepts). */
int st_size_mul(size_t a, size_t b, size_t *out);
int st_size_add(size_t a, size_t b, size_t *out);

/* The bytes this process can still allocate: the smallest of physical memory, RLIMIT_AS
 * (ulimit -v) less the address space already mapped, RLIMIT_DATA (ulimit -d) less the data
 * already used, and the cgroup v2 memory.max of this process's cgroup (and its ancestors) less
 * memory.current. *what (may be NULL) names the bound that won, for messages: "physical
 * memory", "ulimit -v", "ulimit -d", "cgroup memory.max". Never 0 unless a limit is spent.
 * Per process: ranks sharing a host share its memory, which this cannot know. */
size_t st_mem_available(const char **what);

/* "149.0 GiB", "512.0 MiB", "12 bytes" (powers of 1024, one decimal) into buf. Returns buf. */
const char *st_mem_human(size_t bytes, char *buf, size_t n);

#endif
