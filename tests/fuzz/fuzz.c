/*
 * fuzz.c - the helpers of fuzz.h: the byte reader, the scratch directory, the error checks.
 *
 * The scratch directory is one per process (mkdtemp under $TMPDIR or /tmp), so parallel fuzz
 * jobs never share files; it is removed at exit. Not here: anything a single target decides.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "io/h5.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"

uint8_t st_fuzz_u8(st_fuzz_in *in) { return in->at < in->n ? in->p[in->at++] : 0; }

uint32_t st_fuzz_u32(st_fuzz_in *in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | st_fuzz_u8(in);
    return v;
}

uint64_t st_fuzz_u64(st_fuzz_in *in) { return (uint64_t)st_fuzz_u32(in) << 32 | st_fuzz_u32(in); }

unsigned st_fuzz_pick(st_fuzz_in *in, unsigned n) { return n <= 1 ? 0 : st_fuzz_u8(in) % n; }

size_t st_fuzz_str(st_fuzz_in *in, char *out, size_t max) {
    size_t len = st_fuzz_u8(in) % (max + 1), i = 0;
    for (; i < len && in->at < in->n; i++) out[i] = (char)in->p[in->at++];
    out[i] = 0;
    return strlen(out);
}

int64_t st_fuzz_edgy_i64(st_fuzz_in *in) {
    /* Values at the edges of int, size_t products and "epoch counts" a loop would run. */
    static const int64_t edgy[] = {0, 1, 2, 3, -1, -2, -5, 7, 100, 1000, 65536, 65537,
                                   INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN,
                                   (int64_t)1 << 40, (int64_t)1 << 61, (int64_t)1 << 62,
                                   INT64_MAX, INT64_MIN, INT64_MIN + 1};
    unsigned k = st_fuzz_pick(in, 4 * (unsigned)(sizeof edgy / sizeof edgy[0]) / 3);
    if (k < sizeof edgy / sizeof edgy[0]) return edgy[k];
    return (int64_t)st_fuzz_u64(in);
}

static char g_dir[512];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_scratch(void) {
    if (g_dir[0]) nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* st_fatal's hook: a broken invariant is a finding, with its stack (abort -> sanitizer). */
static void abort_hook(int code) {
    (void)code;
    abort();
}

void st_fuzz_init(void) {
    static int done = 0;
    if (done) return;
    done = 1;
    st_h5_quiet();
    st_error_set_abort_hook(abort_hook);
    /* Everything is formatted (the printing code is fuzzed too), nothing is shown. */
    st_log_level = ST_LOG_DEBUG;
    if (!getenv("ST_FUZZ_VERBOSE") && !freopen("/dev/null", "w", stdout)) abort();
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/seqtrain-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("seqtrain fuzz: mkdtemp");
        abort();
    }
    atexit(rm_scratch);
}

const char *st_fuzz_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
    return buf;
}

/* The sanitizers' report channel, when linked (clang builds): under libFuzzer's
 * -close_fd_mask=2 stderr is closed and only this channel still reaches the log. */
void __sanitizer_report_error_summary(const char *summary) __attribute__((weak));

void st_fuzz_fail(const char *fmt, ...) {
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "seqtrain fuzz: FINDING: %s\n", msg);
    fflush(stderr);
    if (__sanitizer_report_error_summary) {
        /* One line: newlines and control bytes as \n and \xNN. */
        char line[4 * sizeof msg + 64];
        size_t at = (size_t)snprintf(line, sizeof line, "seqtrain fuzz FINDING: ");
        for (const unsigned char *c = (const unsigned char *)msg; *c && at + 5 < sizeof line; c++)
            at += (size_t)(*c == '\n' ? snprintf(line + at, 3, "\\n")
                           : *c < 0x20 || *c == 0x7f ? snprintf(line + at, 5, "\\x%02x", *c)
                                                      : snprintf(line + at, 2, "%c", *c));
        __sanitizer_report_error_summary(line);
    }
    abort();
}

int st_fuzz_strict(void) {
    static int strict = -1;
    if (strict < 0) strict = getenv("ST_FUZZ_LAX") == NULL;
    return strict;
}

void st_fuzz_check_error(int rc, const char *what) {
    if (rc == ST_OK || !st_fuzz_strict()) return;
    const char *m = st_error_get();
    if (!m[0]) st_fuzz_fail("%s failed without a message", what);
    for (const unsigned char *c = (const unsigned char *)m; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
            st_fuzz_fail("%s: message has the raw byte 0x%02x at %zu: \"%s\"", what, *c,
                         (size_t)(c - (const unsigned char *)m), m);
}
