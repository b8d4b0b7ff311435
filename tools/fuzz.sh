#!/usr/bin/env bash
# fuzz.sh - runs the libFuzzer targets of tests/fuzz/ (config, dataset, ckpt) for a bounded time.
#
#   tools/fuzz.sh                  each target for 20 s (about a minute in all): what test.sh runs
#   tools/fuzz.sh --seconds 600    each target for 10 minutes (a longer search)
#   tools/fuzz.sh --keep-going     do not stop at the first finding: libFuzzer's fork mode runs
#                                  on after crashes, timeouts and out-of-memory, saving each one
#   tools/fuzz.sh --target NAME    only that target (config, dataset or ckpt); repeatable
#   tools/fuzz.sh --seed N         libFuzzer's random seed; default 1, so that test.sh searches the
#                                  same way on every run (CI does not turn red on a random new find
#                                  that the next run would miss); 0 = a new seed each run
#
# Builds build-fuzz/ (clang, -DSEQTRAIN_FUZZ=ON: ASan + UBSan + libFuzzer) when needed. Each
# target runs one process (-workers=1) on a COPY of its seed corpus (tests/fuzz/<target>/corpus/,
# never grown by a run) under limits: 10 s per input, 2 GiB RSS, 512 MiB per allocation, so a
# hang or an unbounded allocation is a finding too. Findings (the input that triggered them)
# are saved in build-fuzz/fuzz-findings/<target>/ and printed; replay one with
#   build-fuzz/tests/fuzz/fuzz_<target> FILE
# Exit status: 0 when no target found anything, 1 when one did, 2 for a bad command line,
# 77 when clang's libFuzzer is not installed (tools/setup-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
seed=1
keep=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds needs a number >= 1" >&2; exit 2; }
               seconds=$2; shift ;;
    --keep-going) keep=1 ;;
    --seed) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seed needs a number >= 0" >&2; exit 2; }
            seed=$2; shift ;;
    --target) case "${2:-}" in config|dataset|ckpt) targets+=("$2") ;;
                *) echo "fuzz.sh: --target is config, dataset or ckpt" >&2; exit 2 ;; esac
              shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (known: --seconds N --keep-going --target NAME --seed N)" >&2
       exit 2 ;;
  esac
  shift
done
[ ${#targets[@]} -eq 0 ] && targets=(config dataset ckpt)

# libFuzzer: clang and its runtime (libclang-rt-*-dev on Debian) must link -fsanitize=fuzzer.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
  > "$probe/p.c"
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
  echo "fuzz.sh: clang with libFuzzer not found (tools/setup-deps.sh installs clang and" \
       "libclang-rt-14-dev): skipped" >&2
  exit 77
fi

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DSEQTRAIN_FUZZ=ON \
  >/dev/null
cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" \
  --target "${targets[@]/#/fuzz_}" >/dev/null

export OPENBLAS_NUM_THREADS=1
# Leaks are not findings here (Open MPI's and HDF5's own allocations would be reported); a
# UBSan report aborts like an ASan one.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  mkdir "$work/corpus"
  cp tests/fuzz/"$t"/corpus/* "$work/corpus/"
  out=build-fuzz/fuzz-findings/$t
  mkdir -p "$out"
  log=build-fuzz/fuzz-findings/$t.log
  args=(-max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$out/")
  [ "$keep" = 1 ] && args+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  before=$(ls "$out" | wc -l)
  echo "fuzz.sh: $t for ${seconds} s (log: $log)"
  rc=0
  # The targets' scratch files go under $work: a process killed by a finding (no atexit) leaves
  # nothing behind in /tmp.
  TMPDIR=$work build-fuzz/tests/fuzz/fuzz_"$t" "${args[@]}" "$work/corpus" >"$log" 2>&1 || rc=$?
  rm -rf "$work"
  grep -a -o -E 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -n 1 || true
  after=$(ls "$out" | wc -l)
  if [ "$rc" != 0 ] || [ "$after" != "$before" ] || grep -aq -E 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehavior)|FINDING' "$log"; then
    status=1
    echo "fuzz.sh: $t FOUND SOMETHING (libFuzzer exit $rc); the report:" >&2
    # The report without libFuzzer's and libc's own frames.
    grep -a -E 'ERROR|FINDING|SUMMARY|^ +#[0-9]+ .* in .*(/src/|/tests/fuzz/)|Test unit written' \
      "$log" | head -n 40 >&2
    echo "fuzz.sh: inputs in $out/" >&2
  fi
done
exit $status
