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
# h5cmp A B: two checkpoints byte-identical where it matters (lib/h5cmp.py: weights, optimizer
# state, history without its timing columns).
h5cmp() { "$ST_PY" "$ST_HERE/lib/h5cmp.py" "$@"; }
# same_ckpts NAME REF DIR: DIR holds the checkpoints REF holds (no more, no fewer), each
# byte-identical, the step checkpoints first (the earliest is the first state that can
# differ). A difference is appended to the caller's array `bad` (the script goes on and
# reports all of them), not fatal.
same_ckpts() {
  local name=$1 ref=$2 dir=$3 f n=0 want got
  want=$(cd "$ref" && ls ./*.h5 2>/dev/null | sort | tr '\n' ' ')
  got=$(cd "$dir" && ls ./*.h5 2>/dev/null | sort | tr '\n' ' ')
  [ "$want" = "$got" ] || { bad+=("$name: checkpoints '$got', want '$want'"); return 0; }
  for f in $(ls "$ref"/step-*.h5 2>/dev/null) "$ref"/epoch-*.h5; do
    n=$((n + 1))
    h5cmp "$f" "$dir/${f##*/}" >cmp.txt || {
      cat cmp.txt
      bad+=("$name: ${f##*/} not byte-identical")
      return 0
    }
  done
  echo "ok $name: $n checkpoints byte-identical"
}

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
