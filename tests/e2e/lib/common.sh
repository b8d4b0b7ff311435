# common.sh - sourced by the end-to-end tests. Arguments of every test (from tests/CMakeLists):
#   $1 seqtrain binary, $2 build directory, $3 mpiexec.
set -euo pipefail
ST_BIN=$1
ST_BUILD=$2
ST_MPIEXEC=${3:-mpiexec}
ST_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ST_SYNTH="$ST_BUILD/seqtrain-synth"
ST_PY=/usr/bin/python3  # Debian's interpreter: it owns python3-h5py and python3-numpy
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/seqtrain-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
# run_np N ARGS...: seqtrain under mpiexec with N ranks.
run_np() { local n=$1; shift; timeout 300 "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n "$n" "$ST_BIN" "$@"; }
# compare A B MODE: weights (and optimizer state) of two checkpoints; MODE exact | rel=1e-5.
compare() { "$ST_PY" "$ST_HERE/lib/h5compare.py" "$@"; }

# expect_error NAME PATTERN CMD...: CMD fails and prints exactly one "seqtrain: error:" line,
# matching PATTERN. The exit status must be $ST_EXPECT_RC when a script sets it (1: a failure
# while running), else anything but 0; 124 is a hang. A CMD that is not a shell function runs
# under `timeout 300` (run_np has its own).
expect_error() {
  local name=$1 pat=$2 want=${ST_EXPECT_RC:-any}
  shift 2
  local t=()
  declare -F "$1" >/dev/null || t=(timeout 300)
  set +e
  "${t[@]}" "$@" >out.txt 2>err.txt
  local rc=$?
  set -e
  [ $rc -ne 124 ] || fail "$name: hung"
  if [ "$want" = any ]; then
    [ $rc -ne 0 ] || fail "$name: exit status 0"
  else
    [ $rc -eq "$want" ] || { head -5 out.txt err.txt; fail "$name: exit status $rc, want $want"; }
  fi
  local n
  n=$(grep -c "seqtrain: error:" err.txt || true)
  [ "$n" -eq 1 ] || { cat err.txt; fail "$name: $n error lines, want 1"; }
  grep -q -- "$pat" err.txt || { cat err.txt; fail "$name: message does not match '$pat'"; }
  echo "ok $name: $(grep 'seqtrain: error:' err.txt)"
}
