# shellcheck shell=bash
# testcluster.sh - tools/testcluster for the multi-node tests (sourced after common.sh).
#
#   tc_up PREFIX UP-ARGS...   brings up a cluster named PREFIX<pid> (TESTCLUSTER_NAME, exported,
#                             so every later "$TC" call means it) with `up UP-ARGS`. Skips the
#                             test (exit 77) where network namespaces are not permitted; fails
#                             it on any other error, with testcluster's output.
#   tc_diagnose JOBID         what a job that died at start-up left behind, for the test's log:
#                             each node's slurmd log lines of the job, its /dev/shm and TmpFS
#                             (and PMIx dirs in its spool), and the backtrace of every core file
#                             in $WORK (core_pattern "core": the job's directory) under gdb,
#                             renamed core*.jobJOBID once read.
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

# Each listing may find nothing (or be cut short by head): none of them may end the test.
tc_diagnose() {
  local id=$1 D=/run/seqtrain-testcluster/${TESTCLUSTER_NAME:-}
  local S=$D/slurm k c
  for k in $(seq "$(cat "$D/nodes" 2>/dev/null || echo 0)"); do
    echo "--- node$k: slurmd log lines of job $id"
    grep -E "\[$id\.|[ =]$id[ ,.:]|_$id\b" "$S/log/slurmd-node$k.log" 2>/dev/null | tail -n 25 || true
    echo "--- node$k: /dev/shm"
    "$TC" exec "node$k" ls -la /dev/shm 2>&1 | tail -n +2 || true
    echo "--- node$k: TmpFS and PMIx dirs in the spool"
    find "$S/tmp/node$k" "$S/spool/node$k" -name 'pmix*' -o -path "$S/tmp/node$k/*" 2>/dev/null |
      head -n 40 || true
  done
  for c in "$WORK"/core "$WORK"/core.[0-9]*; do
    [ -f "$c" ] || continue
    echo "--- core file $c"
    if command -v gdb >/dev/null; then
      timeout 60 gdb -q -batch -ex "thread apply all bt 30" "$ST_BIN" "$c" 2>&1 | tail -n 80 || true
    else
      echo "(no gdb to read it)"
    fi
    mv "$c" "$c.job$id"  # read once: a later crash writes a new "core"
  done
}
