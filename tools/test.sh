#!/usr/bin/env bash
# test.sh - THE test command: installs what is missing, builds, runs the whole suite.
#
#   tools/test.sh                 Release build in build/ (-Werror) running the whole ctest suite,
#                                 then an ASan+UBSan build in build-asan/ running it too (less
#                                 the multi-node tests, ctest label "cluster")
#   tools/test.sh --no-sanitize   only the first (about half the time)
#   tools/test.sh --no-deps       skip tools/setup-deps.sh
# With the sanitizer suite, the fuzz targets of tests/fuzz/ then run for about a minute in all
# (tools/fuzz.sh, ASan+UBSan, build-fuzz/) when clang with libFuzzer is installed.
#
# Exit status: that of the first failing build, suite or fuzz run, 0 when all pass.
# Environment for MPI as root on a small machine: Open MPI may run as root and oversubscribe the
# cores; OpenBLAS single-threaded (one rank per core is the parallelism).
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
deps=1
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    --no-sanitize) sanitize=0 ;;
    --no-deps) deps=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option '$a' (known: --no-sanitize --no-deps)" >&2; exit 2 ;;
  esac
done

export OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
jobs=$(nproc 2>/dev/null || echo 2)

[ "$deps" = 1 ] && tools/setup-deps.sh --python --slurm  # h5py: e2e checks; slurm: e2e_slurm

# suite DIR [cmake options...]: configure, build with every core, run the suite (CTEST_ARGS:
# more ctest options).
suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSEQTRAIN_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  # shellcheck disable=SC2086  # CTEST_ARGS is a list of options
  ctest --test-dir "$dir" --output-on-failure -j2 ${CTEST_ARGS:-}
}

suite build
if [ "$sanitize" = 1 ]; then
  # Open MPI's own allocations are reported as leaks by LeakSanitizer: leaks are not checked.
  # UBSan findings abort (halt_on_error) so that they fail the test instead of scrolling by.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The multi-node tests (label cluster: 3 nodes of tools/testcluster, mpirun's and Slurm's
  # daemons, cmake --install) exercise the launch path, which the Release suite covers; under
  # the sanitizers they would add minutes and no memory check of seqtrain that others lack.
  CTEST_ARGS="-LE cluster" suite build-asan -DSEQTRAIN_SANITIZE=ON
  # Fuzzing, bounded (20 s per target); 77 = clang's libFuzzer missing: said, not failed.
  rc=0
  tools/fuzz.sh || rc=$?
  if [ "$rc" = 77 ]; then
    echo "test.sh: fuzzing skipped (no clang with libFuzzer)" >&2
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
fi
