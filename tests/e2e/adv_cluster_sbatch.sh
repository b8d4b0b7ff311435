# Adversarial reproducer (issue 13): jobs/train.sbatch's lost-node requeue and checkpoint
# directory, outside Slurm (SLURM_JOB_ID set by hand, LAUNCHER=mpirun), with a stand-in mpirun,
# seqtrain (exits with $FAKE_RC) and scontrol (records its arguments). Each case failed before
# the fix that came with this test:
#   a. MAX_LOST_REQUEUES counted SLURM_RESTART_COUNT, which counts the time-limit requeues too:
#      a job requeued at its time limit 5 times ended (status 76, no requeue) at its FIRST lost
#      node. Now: five lost-rank requeues at starts 7..11, the sixth loss ends the job;
#   b. a checkpoint directory whose name holds [ ] * ? ("run[1]"): its checkpoints were not
#      found (compgen -G read the name as a pattern), so the requeued job started from scratch;
#   c. a config that starts with a UTF-8 byte order mark and "[checkpoint]": its dir was not
#      seen (seqtrain skips the mark), and the job put its checkpoints in runs/<name> instead;
#   d. LAUNCHER=mpirun and a node cut off: mpirun killed by seqtrain's reaper (status 137) was
#      not requeued; now the line in SEQTRAIN_LOST_FILE makes it a loss.
# Needs neither root nor Slurm. About 2 s.
source "$(dirname "$0")/lib/common.sh"
REPO=$(cd "$ST_HERE/../.." && pwd)
mkdir bin
cat >bin/mpirun <<'EOF'
#!/bin/bash
while [ $# -gt 0 ] && [ "$1" != "$SEQTRAIN" ]; do shift; done
exec "$@"
EOF
cat >bin/scontrol <<'EOF'
#!/bin/bash
echo "scontrol $*" >>"$FAKE_LOG"
EOF
cat >bin/seqtrain <<'EOF'
#!/bin/bash
echo "seqtrain $*" >>"$FAKE_LOG"
# FAKE_LOST: as the rank that reports a lost rank, the line into SEQTRAIN_LOST_FILE.
[ -z "${FAKE_LOST:-}" ] || echo "seqtrain: error: $FAKE_LOST" >"$SEQTRAIN_LOST_FILE"
exit "${FAKE_RC:-0}"
EOF
chmod +x bin/*
slurm_env=()
for v in $(compgen -e | grep '^SLURM_' || true); do slurm_env+=(-u "$v"); done
# sb CONFIG [VAR=VALUE...]: train.sbatch as job 7; its output in sb.out, the calls in log.
sb() {
  local cfg=$1
  shift
  rm -f log
  set +e
  env "${slurm_env[@]}" -u CKPT_DIR -u MAX_LOST_REQUEUES PATH="$WORK/bin:$PATH" SLURM_JOB_ID=7 \
    LAUNCHER=mpirun SEQTRAIN="$WORK/bin/seqtrain" FAKE_LOG="$WORK/log" "$@" \
    timeout 30 "$REPO/jobs/train.sbatch" "$cfg" >sb.out 2>&1
  sb_rc=$?
  set -e
  touch log
}
printf '[data]\npath = x.h5\n[checkpoint]\ndir = cfgdir\n' >cfg.ini

# a. Starts 1..6 ended at the time limit (seqtrain 75: requeued, not a loss); then a node is
#    lost at every start from 7 on.
for r in 0 1 2 3 4 5; do
  sb cfg.ini SLURM_RESTART_COUNT=$r FAKE_RC=75
  grep -q 'scontrol requeue 7' log || fail "a: start $((r + 1)): no requeue after status 75: $(cat sb.out)"
done
for r in 6 7 8 9 10; do
  sb cfg.ini SLURM_RESTART_COUNT=$r FAKE_RC=76
  [ "$sb_rc" -eq 0 ] && grep -q 'scontrol requeue 7' log ||
    fail "a: lost rank $((r - 5)) at start $((r + 1)), after $r time-limit requeues: not requeued (status $sb_rc): $(cat sb.out)"
done
sb cfg.ini SLURM_RESTART_COUNT=11 FAKE_RC=76
[ "$sb_rc" -eq 76 ] && ! grep -q scontrol log ||
  fail "a: the sixth lost rank was requeued too (status $sb_rc): $(cat sb.out)"

# b. Checkpoints in a directory named with a bracket.
mkdir -p 'run[1]'
touch 'run[1]/epoch-0001.h5'
sb cfg.ini CKPT_DIR='run[1]'
grep -q -- '--resume run\[1\]' log || fail "b: checkpoints in run[1] not resumed: $(cat log)"

# c. A byte order mark before [checkpoint].
printf '\357\273\277[checkpoint]\ndir = bomdir\n[data]\npath = x.h5\n' >bom.ini
sb bom.ini
grep -q 'checkpoints in bomdir (\[checkpoint\] dir of bom.ini)' sb.out ||
  fail "c: the config's dir was not seen after a byte order mark: $(head -n 1 sb.out)"
# d. mpirun killed by seqtrain's reaper while it waited for an unreachable node (137), the lost
#    rank named in SEQTRAIN_LOST_FILE: requeued as a loss; a 137 without the file is not.
sb cfg.ini CKPT_DIR=ddir FAKE_RC=137 FAKE_LOST='collective 9 (allreduce) timed out after 3 s: rank 2 (host n3, pid 1) did not arrive'
[ "$sb_rc" -eq 0 ] && grep -q 'scontrol requeue 7' log && grep -q 'hides a lost rank' sb.out ||
  fail "d: 137 with a lost-rank line was not requeued (status $sb_rc): $(cat sb.out)"
[ ! -e ddir/.lost.7 ] || fail "d: the lost-rank file was left behind"
sb cfg.ini CKPT_DIR=ddir FAKE_RC=137
[ "$sb_rc" -eq 137 ] && ! grep -q scontrol log || fail "d: a plain 137 was requeued: $(cat sb.out)"
echo "adv cluster sbatch: passed"
