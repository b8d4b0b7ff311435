/*
 * mem.c - the memory this process can get, checked size arithmetic, human byte counts (mem.h).
 *
 * The available memory is the tightest of four bounds, each read fresh on every call (they are
 * read once per run, at model build, so the cost does not matter):
 *   - physical memory (sysconf): beyond it an allocation "succeeds" under Linux's overcommit
 *     and the process is later killed by the OOM killer without a word;
 *   - RLIMIT_AS (ulimit -v) less the address space already mapped (VmSize): MPI and OpenBLAS
 *     map hundreds of MB before the model exists;
 *   - RLIMIT_DATA (ulimit -d) less the data segment in use (VmData);
 *   - cgroup v2 memory.max less memory.current, for this process's cgroup and every ancestor
 *     (a Slurm job's limit often sits one level up): what a batch system enforces.
 * A bound that cannot be read is skipped (no /proc, cgroup v1): the check then errs on the
 * side of trying, and st_malloc still reports a failure as one line.
 *
 * Not here: deciding what a run needs (src/model/model.c) or allocating (error.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/mem.h"

int st_size_mul(size_t a, size_t b, size_t *out) {
    if (__builtin_mul_overflow(a, b, out)) {
        *out = SIZE_MAX;
        return -1;
    }
    return 0;
}

int st_size_add(size_t a, size_t b, size_t *out) {
    if (__builtin_add_overflow(a, b, out)) {
        *out = SIZE_MAX;
        return -1;
    }
    return 0;
}

/* "Key:   123 kB" from /proc/self/status, in bytes; 0 when not found. */
static size_t proc_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t n = strlen(key), v = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (strncmp(line, key, n) == 0 && line[n] == ':' &&
            sscanf(line + n + 1, "%llu", &kb) == 1) {
            v = (size_t)kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

/* One number from a cgroup file; 0 = unreadable or "max" (no limit). */
static size_t read_u64_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long v = 0;
    int ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    return ok ? (size_t)v : 0;
}

/* min over this cgroup and its ancestors of memory.max - memory.current; SIZE_MAX if none. */
static size_t cgroup_room(void) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return SIZE_MAX;
    char line[1024], rel[1024] = "";
    /* cgroup v2 has the single line "0::/path". */
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(rel, sizeof rel, "%s", line + 3);
            rel[strcspn(rel, "\n")] = 0;
            break;
        }
    fclose(f);
    if (!rel[0]) return SIZE_MAX;
    size_t best = SIZE_MAX;
    for (;;) {
        char p[1200];
        snprintf(p, sizeof p, "/sys/fs/cgroup%s/memory.max", strcmp(rel, "/") ? rel : "");
        size_t max = read_u64_file(p);
        if (max) {
            snprintf(p, sizeof p, "/sys/fs/cgroup%s/memory.current", strcmp(rel, "/") ? rel : "");
            size_t cur = read_u64_file(p);
            size_t room = cur < max ? max - cur : 0;
            if (room < best) best = room;
        }
        char *slash = strrchr(rel, '/');
        if (!slash || slash == rel) break;
        *slash = 0;
    }
    return best;
}

/* A resource limit less what is already in use; SIZE_MAX when unlimited. */
static size_t rlimit_room(int resource, const char *status_key) {
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
    size_t used = proc_status_kb(status_key), lim = (size_t)rl.rlim_cur;
    return used < lim ? lim - used : 0;
}

size_t st_mem_available(const char **what) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    size_t best = SIZE_MAX;
    const char *name = "physical memory";
    if (pages > 0 && psz > 0) st_size_mul((size_t)pages, (size_t)psz, &best);
    size_t v = rlimit_room(RLIMIT_AS, "VmSize");
    if (v < best) best = v, name = "ulimit -v";
    v = rlimit_room(RLIMIT_DATA, "VmData");
    if (v < best) best = v, name = "ulimit -d";
    v = cgroup_room();
    if (v < best) best = v, name = "cgroup memory.max";
    if (what) *what = name;
    return best;
}

const char *st_mem_human(size_t bytes, char *buf, size_t n) {
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%zu bytes", bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 5) v /= 1024, u++;
    snprintf(buf, n, "%.1f %s", v, unit[u]);
    return buf;
}
