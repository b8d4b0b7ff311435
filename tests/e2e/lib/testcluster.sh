# shellcheck shell=bash
# testcluster.sh - tools/testcluster for the multi-node tests (sourced after common.sh).
#
#   tc_up PREFIX UP-ARGS...   brings up a cluster named PREFIX<pid> (TESTCLUSTER_NAME, exported,
#                             so every later "$TC" call means it) with `up UP-ARGS`. Skips the
#                             test (exit 77) where network namespaces are not permitted; fails
#                             it on any other error, with testcluster's output.
# The EXIT trap it sets (in place of common.sh's) prints the tail of Slurm's logs when the test
# failed and the cluster ran Slurm, brings the cluster down (every process, namespace, mount)
# and removes $WORK.
TC=$(cd "$ST_HERE/../.." && pwd)/tools/testcluster

tc_on_exit() {
  local rc=$? logs=/run/seqtrain-testcluster/${TESTCLUSTER_NAME:-}/slurm/log
  if [ "$rc" -ne 0 ] && [ -n "${TESTCLUSTER_NAME:-}" ] && [ -d "$logs" ]; then
    echo "--- Slurm logs (last lines) ---" >&2
    tail -n 15 "$logs"/*.log >&2 || true
  fi
  [ -z "${TESTCLUSTER_NAME:-}" ] || "$TC" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

tc_up() {
  export TESTCLUSTER_NAME=$1$$
  shift
  trap tc_on_exit EXIT
  local rc=0
  "$TC" up "$@" >up.log 2>&1 || rc=$?
  [ "$rc" -ne 77 ] || { cat up.log; echo "SKIP: $(tail -n 1 up.log)"; exit 77; }
  [ "$rc" -eq 0 ] || { cat up.log; fail "tools/testcluster up $*: status $rc"; }
}
