/*
 * fuzz.h - what the fuzz targets of tests/fuzz/ share: a reader that turns the fuzzer's bytes
 * into decisions, a private scratch directory, and the checks every target makes of an error.
 *
 * Each target (fuzz_config.c, fuzz_dataset.c, fuzz_ckpt.c) defines LLVMFuzzerTestOneInput. It
 * is linked two ways (tests/fuzz/CMakeLists.txt):
 *   - with libFuzzer (-fsanitize=fuzzer, clang, -DSEQTRAIN_FUZZ=ON): tools/fuzz.sh runs it;
 *   - with replay.c's main() (every build): ctest feeds it each file of its seed corpus, so
 *     the corpus stays a regression test under gcc, Release and ASan alike.
 *
 * A finding is whatever ends the process abnormally: a sanitizer report, a libFuzzer timeout or
 * memory limit, st_fatal (an internal error: the abort hook installed here calls abort(), so
 * the stack is printed), or one of the checks below (st_fuzz_check_error: an error without a
 * message, or a message of more than one line or with raw control bytes, breaks seqtrain's
 * "one clear line" promise), and each target's own properties (round trips, refusals).
 * ST_FUZZ_LAX=1 in the environment turns every such property check off, leaving crashes,
 * hangs and memory, to look past a known finding for deeper ones.
 *
 * Not here: any target's logic; no MPI_Init (a single process: every collective of dist.h is a
 * local no-op at size 1, exactly as in a singleton run).
 */
#ifndef ST_FUZZ_H
#define ST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The fuzzer's bytes, consumed front to back; past the end every read returns 0, so any input
 * is a complete description. */
typedef struct st_fuzz_in {
    const uint8_t *p;
    size_t n, at;
} st_fuzz_in;

uint8_t st_fuzz_u8(st_fuzz_in *in);
uint32_t st_fuzz_u32(st_fuzz_in *in);
uint64_t st_fuzz_u64(st_fuzz_in *in);
/* A number in [0, n) (n >= 1). */
unsigned st_fuzz_pick(st_fuzz_in *in, unsigned n);
/* Up to max bytes as a NUL-terminated string in out[max + 1]: the length is one byte of the
 * input, then that many bytes (NULs inside end the string early). Returns the length. */
size_t st_fuzz_str(st_fuzz_in *in, char *out, size_t max);
/* An int64 from a table of values that break arithmetic (0, -1, INT64_MIN, 2^31, 2^62, ...)
 * or, one time in four, any 8 bytes. */
int64_t st_fuzz_edgy_i64(st_fuzz_in *in);

/* Once per process: HDF5 quiet, st_fatal -> abort(), logging to /dev/null unless
 * ST_FUZZ_VERBOSE is set, the scratch directory created (removed at exit). */
void st_fuzz_init(void);
/* "<scratch dir>/<name>" (a static buffer, overwritten by the next call). */
const char *st_fuzz_path(const char *name);
/* 0 under ST_FUZZ_LAX (property checks off), else 1. */
int st_fuzz_strict(void);
/* Aborts (a finding) when rc is ST_ERR and st_error_get() is empty, spans more than one line,
 * or carries a control byte (< 0x20 other than tab, or 0x7f); `what` names the call. No-op
 * for ST_OK and under ST_FUZZ_LAX. */
void st_fuzz_check_error(int rc, const char *what);
/* Aborts with a message: a property the target checks does not hold. */
void st_fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
