# The job scripts on a real Slurm: a single-node cluster (munged, slurmctld, slurmd from Debian's
# packages, in a temporary directory, as root, on loopback) runs
#   - jobs/train.sbatch with 2 tasks (srun --mpi=pmix), uninterrupted: the reference;
#   - the same job, sent the time-limit signal (USR1 to the batch shell) mid-training: the
#     script passes it to the ranks, seqtrain checkpoints at the next step and exits 75, the
#     job requeues, resumes from its newest checkpoint, and ends with the reference's weights,
#     bitwise (same 2 ranks);
#   - a 2-element strong scaling array (jobs/scaling.sh --ranks 1,2): two JSON results;
#   - jobs/train.sbatch with a missing config: FAILED, exit code 2, a message naming it.
# Every job is waited for with a deadline and judged from `scontrol show job` (no accounting).
# The daemons are stopped by PID on any exit. Skips (exit 77, ctest's skip code) only when the
# Slurm packages are not installed and cannot be (tools/setup-deps.sh --slurm), or when not root.
source "$(dirname "$0")/lib/common.sh"
REPO=$(cd "$ST_HERE/../.." && pwd)
source "$ST_HERE/lib/slurm_cluster.sh"
# On failure, the daemons' view of it too (their logs go with $WORK).
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -d "$WORK/slurm/log" ]; then
    echo "--- Slurm logs (last lines) ---" >&2
    tail -n 25 "$WORK"/slurm/log/slurmctld.log "$WORK"/slurm/log/slurmd.log >&2 || true
  fi
  slurm_stop
  rm -rf "$WORK"
}
trap on_exit EXIT

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the single-node Slurm test runs its daemons as root; run it as root"
  exit 77  # ctest: SKIP_RETURN_CODE 77 (tests/CMakeLists.txt): shown as skipped, not passed
fi
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; }
if ! have_slurm >/dev/null; then
  "$REPO/tools/setup-deps.sh" --slurm >&2 || true
  if ! have_slurm >/dev/null; then
    echo "SKIP: Slurm is not installed and could not be (tools/setup-deps.sh --slurm:" \
         "slurmctld slurmd slurm-client munge)"
    exit 77
  fi
fi
t0=$SECONDS
say() { echo "[$((SECONDS - t0)) s] $*"; }
"$ST_SYNTH" --out order.h5 --train 2000 --steps 20 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
slurm_start "$WORK/slurm" 4 || fail "the single-node Slurm did not start"
say "Slurm is up"

export SEQTRAIN=$ST_BIN OPENBLAS_NUM_THREADS=1 CKPT_EVERY=10
# Open MPI's shared-memory segments and session files are named after the Slurm job id, which
# every test cluster starts at 1: keep them inside this test's directory so that two clusters
# on one machine (two test runs at once) can never map each other's segments.
mkdir -p "$WORK/ompi"
export OMPI_MCA_btl_vader_backing_directory=$WORK/ompi OMPI_MCA_orte_tmpdir_base=$WORK/ompi
# 2000 rows, 10% validation: 29 steps per epoch; 12 epochs = 348 steps (a second or more), so
# that the signal lands in the middle of training, not after it.
train=(--set train.epochs=12 --quiet)
sub() { sbatch --parsable --ntasks=2 --time=5 "$@"; }

# The one to interrupt first, so that it is running while the others queue.
int=$(CKPT_DIR=$WORK/runs/int sub --output=int-%j.out "$REPO/jobs/train.sbatch" cfg.ini "${train[@]}")
ref=$(CKPT_DIR=$WORK/runs/ref sub --output=ref-%j.out "$REPO/jobs/train.sbatch" cfg.ini "${train[@]}")
bad=$(sub --output=bad-%j.out "$REPO/jobs/train.sbatch" missing.ini)
arr=$("$REPO/jobs/scaling.sh" --seqtrain "$ST_BIN" --mode strong --ranks 1,2 --steps 3 \
        --warmup 1 --results res cfg.ini 2>/dev/null) || fail "jobs/scaling.sh did not submit"
[[ "$arr" =~ ^[0-9]+$ ]] || fail "jobs/scaling.sh printed '$arr', not a job id"

# Interrupt: as soon as the first step checkpoint exists, the time-limit signal, as Slurm
# sends it (--signal=B:USR1@N: to the batch shell only).
end=$((SECONDS + 90))
until compgen -G "runs/int/step-*.h5" >/dev/null; do
  [ $SECONDS -lt $end ] || fail "no step checkpoint from job $int within 90 s: $(cat int-*.out)"
  case $(slurm_field "$int" JobState) in
    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)
      fail "job $int ended before it could be signalled: $(scontrol show job "$int"; cat int-*.out)" ;;
  esac
  sleep 0.05
done
say "job $int has a step checkpoint: USR1"
scancel --signal=USR1 --batch "$int" || fail "scancel --signal=USR1 --batch $int"
# Requeued: pending again with Restarts=1; it starts again by itself once the old run's
# credential has expired (cred_expire, a few seconds here; 120 s by default).
end=$((SECONDS + 60))
until [ "$(slurm_field "$int" Restarts)" = 1 ]; do
  [ $SECONDS -lt $end ] || fail "job $int was not requeued: $(scontrol show job "$int"; cat int-*.out)"
  sleep 0.1
done
say "job $int requeued"

for j in "$int" "$ref" "$bad" "${arr}_0" "${arr}_1"; do
  slurm_wait "$j" 150 || fail "job $j: deadline"
  say "job $j ended: $(slurm_field "$j" JobState)"
done
state() { echo "$(slurm_field "$1" JobState) $(slurm_field "$1" ExitCode)"; }

# The failing job: FAILED, exit code 2, and it says why.
[ "$(state "$bad")" = "FAILED 2:0" ] || fail "job $bad (missing config): $(state "$bad"), not FAILED 2:0"
grep -q "config 'missing.ini' not found" bad-"$bad".out || fail "job $bad: no clear message: $(cat bad-*.out)"

# The reference and the interrupted one.
[ "$(state "$ref")" = "COMPLETED 0:0" ] || fail "job $ref: $(state "$ref"): $(cat ref-*.out)"
[ "$(state "$int")" = "COMPLETED 0:0" ] || fail "job $int: $(state "$int"): $(cat int-*.out)"
[ "$(slurm_field "$int" Restarts)" = 1 ] || fail "job $int: Restarts=$(slurm_field "$int" Restarts)"
out=int-$int.out
grep -q "SIGUSR1" "$out" || fail "job $int: the batch script did not catch USR1: $(cat "$out")"
# seqtrain itself stopped at a step boundary, wrote its checkpoint and said so (exit 75): no
# completed step is lost, whatever every_steps is.
grep -qE "stopping on a signal \((SIGUSR1 on rank 0, )?[12] of 2 ranks\); checkpoint saved" "$out" ||
  fail "job $int: seqtrain did not stop on the signal: $(cat "$out")"
grep -q "training step exited with status 75" "$out" || fail "job $int: not 75: $(cat "$out")"
grep -qE "newest checkpoint: .*/runs/int/(step|epoch)-" "$out" || fail "job $int: no checkpoint when signalled: $(cat "$out")"
grep -q "requeueing job $int" "$out" || fail "job $int: did not requeue: $(cat "$out")"
grep -q "start 2 .*resuming from the newest checkpoint" "$out" ||
  fail "job $int: the second start did not resume: $(cat "$out")"
grep -q -- "--resume $WORK/runs/int" "$out" || fail "job $int: no --resume: $(cat "$out")"
[ -f runs/ref/epoch-0012.h5 ] || fail "the reference has no final checkpoint: $(ls runs/ref)"
[ -f runs/int/epoch-0012.h5 ] || fail "the interrupted job has no final checkpoint: $(ls runs/int)"
compare runs/ref/epoch-0012.h5 runs/int/epoch-0012.h5 exact ||
  fail "interrupted + requeued + resumed != uninterrupted"

# The scaling array: two elements, two results with the right rank counts and batch.
for k in 0 1; do
  [ "$(state "${arr}_$k")" = "COMPLETED 0:0" ] || fail "array element ${arr}_$k: $(state "${arr}_$k"): $(cat res/slurm-*_$k.out)"
done
for r in 1 2; do
  f=res/strong-r000$r-t1.json
  [ -f "$f" ] || fail "no $f: $(ls res; cat res/*.out)"
  "$ST_PY" - "$f" "$r" <<'EOF' || fail "$f is wrong: $(cat "$f")"
import json, sys
d = json.load(open(sys.argv[1]))
r = int(sys.argv[2])
assert d["ranks"] == r and d["mode"] == "strong" and d["global_batch"] == 64, d
assert d["per_rank_batch"] == 64 / r and d["samples_per_s"] > 0 and d["steps"] == 3, d
assert d["launcher"] == "srun" and d["nodes"] == 1 and "job_id" in d, d
EOF
done
"$REPO/tools/scaling-report" res --out rep --no-plots >/dev/null || fail "tools/scaling-report"
grep -q "underdetermined" rep/scaling.md || fail "the report does not say the fit is underdetermined"
[ "$(wc -l <rep/scaling.csv)" = 3 ] || fail "scaling.csv: $(cat rep/scaling.csv)"
echo "slurm e2e: passed in $((SECONDS - t0)) s"
