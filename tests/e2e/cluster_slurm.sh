# seqtrain under a multi-node Slurm (issue 13), on tools/testcluster: 3 nodes (network
# namespaces on a bridge), munged and slurmctld on a head namespace, one slurmd per node,
# srun --mpi=pmix between them over TCP.
#   - `sbatch -N 3 --ntasks-per-node=1 jobs/train.sbatch` trains the order task to exactly
#     (bitwise) the weights of a 2-rank run on one node;
#   - a strong scaling sweep over 1, 2 and 3 nodes through jobs/scaling.sh, then
#     tools/scaling-report fits alpha and beta from the measured points (not "underdetermined");
#   - node loss: a job on `--nodes=2-3` loses node3 mid-training, once by a cut link and once
#     with every process of node3 killed. The training step must end within 60 s, the job is
#     requeued (train.sbatch on seqtrain's status 76, or Slurm itself when it declares the node
#     down), starts again on the 2 nodes left, resumes from the newest checkpoint and finishes
#     with the uninterrupted run's weights, bitwise.
# SlurmdTimeout is 10 s here (a site's is often 300 s): it bounds how long the dead node holds
# the job's allocation before the requeued job may start elsewhere. Skips (77) without root,
# namespaces or the Slurm packages.
source "$(dirname "$0")/lib/common.sh"
REPO=$(cd "$ST_HERE/../.." && pwd)
source "$ST_HERE/lib/testcluster.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the cluster's Slurm daemons run as root"; exit 77; }
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; }
if ! have_slurm >/dev/null; then
  "$REPO/tools/setup-deps.sh" --slurm >&2 || true
  have_slurm >/dev/null || { echo "SKIP: Slurm is not installed and could not be"; exit 77; }
fi
tc_up s 3 --slurm --slurmd-timeout 10
t0=$SECONDS
say() { echo "[$((SECONDS - t0)) s] $*"; }

"$ST_SYNTH" --out order.h5 --train 3000 --test 100 --steps 20 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
E=50
run_np 2 train cfg.ini --set "train.epochs=$E" --set checkpoint.every_steps=20 --quiet \
  --set checkpoint.dir=ref
ref=ref/epoch-00$E.h5
[ -f "$ref" ] || fail "the reference run wrote no $ref"

export SEQTRAIN=$ST_BIN CKPT_EVERY=20
# Open MPI's session directories are named after the Slurm job id, which every test cluster
# starts at 1: keep them in this test's directory (two clusters may run at once).
mkdir -p "$WORK/ompi"
export OMPI_MCA_orte_tmpdir_base=$WORK/ompi
sq() { "$TC" exec head "$@"; }
field() { sq scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
final() {
  case "$(field "$1" JobState)" in
    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) return 0 ;;
  esac
  return 1
}
wait_job() {
  local end=$((SECONDS + $2))
  until final "$1"; do
    [ $SECONDS -lt "$end" ] || fail "job $1 still '$(field "$1" JobState)' after $2 s: $(sq scontrol show job "$1" 2>&1; sq sinfo -N 2>&1; cat ./*-"$1".out)"
    sleep 0.2
  done
}
train=(--set "train.epochs=$E" --quiet)

# 1. Three nodes, one rank each.
# startup_crash NAME OUT: job output OUT shows the start-up crash of section 3's note (the
# training step died on a signal before writing any checkpoint into runs/NAME).
startup_crash() {
  ! compgen -G "runs/$1/step-*.h5" >/dev/null &&
    grep -qE "training step exited with status (129|1[3-9][0-9]|2[0-9][0-9])" "$2"
}
run_full() {
  rm -rf runs/full
  full=$(CKPT_DIR=$WORK/runs/full sq sbatch --parsable --time=5 -N 3 --ntasks-per-node=1 \
          --output=full-%j.out "$REPO/jobs/train.sbatch" cfg.ini "${train[@]}")
  wait_job "$full" 120
}
run_full
# The start-up crash of section 3's note (SIGSEGV in MPI_Init under srun, before any
# checkpoint): diagnosed, then the job once more. Anything else fails.
if [ "$(field "$full" JobState)" != COMPLETED ] && startup_crash full "full-$full.out"; then
  say "job $full crashed at start-up; diagnosis:"
  cat "full-$full.out"
  tc_diagnose "$full"
  run_full
fi
[ "$(field "$full" JobState) $(field "$full" ExitCode)" = "COMPLETED 0:0" ] ||
  fail "job $full: $(field "$full" JobState): $(cat full-"$full".out)"
grep -q "on node\[1-3\]: 3 rank(s)" "full-$full.out" || fail "job $full did not run 3 ranks on node[1-3]: $(cat full-"$full".out)"
compare "$ref" "runs/full/epoch-00$E.h5" exact || fail "3 nodes under Slurm != one node, 2 ranks"
say "sbatch -N 3 --ntasks-per-node=1: bitwise the one-node run"

# 2. A strong scaling sweep over 1, 2, 3 nodes (one rank per node), one point at a time; the
# unsharded step, whose allreduce tools/scaling-report models and fits.
# sweep RANKS: submits jobs/scaling.sh's array for RANKS (a comma list), prints its job id.
sweep() {
  sq "$REPO/jobs/scaling.sh" --seqtrain "$ST_BIN" --mode strong --ranks "$1" \
    --ntasks-per-node 1 --max-concurrent 1 --steps 6 --warmup 2 --results res \
    --set train.shard_optimizer=false cfg.ini 2>/dev/null
}
arr=$(sweep 1,2,3) || fail "jobs/scaling.sh did not submit"
for k in 0 1 2; do
  wait_job "${arr}_$k" 120
  [ "$(field "${arr}_$k" JobState)" = COMPLETED ] && continue
  # The start-up crash of section 3's note (a point's seqtrain died on SIGSEGV in MPI_Init under
  # srun, "status 143"): diagnosed, then that point once more, alone. Anything else fails.
  grep -qE "failed \(status (129|1[3-9][0-9]|2[0-9][0-9])\)" res/*_$k.out ||
    fail "scaling point $k: $(field "${arr}_$k" JobState): $(cat res/*_$k.out)"
  say "scaling point $k crashed at start-up; diagnosis:"
  cat res/*_$k.out
  tc_diagnose "${arr}_$k"
  again=$(sweep $((k + 1))) || fail "jobs/scaling.sh did not submit point $k again"
  wait_job "${again}_0" 120
  [ "$(field "${again}_0" JobState)" = COMPLETED ] ||
    fail "scaling point $k failed again: $(field "${again}_0" JobState): $(cat "res/slurm-${again}_0.out")"
done
for r in 1 2 3; do
  f=$(printf 'res/strong-r%04d-t1.json' "$r")
  "$ST_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); r=int(sys.argv[2]); assert d["ranks"]==r and d["nodes"]==r, d' "$f" "$r" ||
    fail "$f: not $r ranks on $r nodes: $(cat "$f")"
done
"$REPO/tools/scaling-report" res --out rep --no-plots >/dev/null || fail "tools/scaling-report"
grep -qi "underdetermined" rep/scaling.md && fail "the report still says underdetermined: $(cat rep/scaling.md)"
say "scaling sweep over 1, 2, 3 nodes: $(grep -m1 -io 'alpha = [^,]*, beta = [^ ]* [^ ]*' rep/scaling.md)"

# 3. Node loss: HOW (cut or kill) node3 while a --nodes=2-3 job trains on it.
# A start-up crash: the job's training step died on a signal (train.sbatch: "status" 129 and
# up) before its first checkpoint, i.e. before node3 was lost. Seen about once in six CI runs
# (srun: "node1: task 0: Segmentation fault", train.sbatch: "status 143"). Its cause, from a
# core file: Open MPI 4.1.4 under srun --mpi=pmix, rank 0 still in MPI_Init's modex fence
# received a peer's first ob1 MATCH fragment over TCP before the PML had registered its
# handler (a call through NULL in the TCP BTL): 7 of 140 three-node starts on this cluster, on
# a fresh one as often as after a node loss. Running the fence in the background
# (OMPI_MCA_pmix_base_async_modex=1, pmix_base_collect_data=1) stopped it there, but made
# MPI_Init fail ("PML add procs failed") for concurrent jobs on the single-node Slurm of
# e2e_slurm, so it was taken back. It has nothing to do with losing a node, so the scenario is
# tried once more, after the diagnosis (job output, the nodes' Slurm log lines for the job,
# their /dev/shm and TmpFS, a core file's backtrace: core dumps are enabled below and srun
# passes the limit on). A second crash, or any other early end, fails the test.
ulimit -S -c "$(ulimit -H -c)" 2>/dev/null || true
lose() {
  local how=$1 try=${2:-1} id out i ta took
  rm -rf "runs/$how"
  id=$(CKPT_DIR=$WORK/runs/$how sq sbatch --parsable --time=5 --nodes=2-3 --output="$how-%j.out" \
         "$REPO/jobs/train.sbatch" cfg.ini "${train[@]}" --set train.collective_timeout=5)
  out=$how-$id.out
  for i in $(seq 600); do
    compgen -G "runs/$how/step-*.h5" >/dev/null && break
    if final "$id"; then
      startup_crash "$how" "$out" || fail "$how: job $id ended before node3 was lost: $(cat "$out")"
      say "$how: job $id crashed at start-up (try $try), before node3 was lost; diagnosis:"
      cat "$out"
      tc_diagnose "$id"
      [ "$try" = 1 ] || fail "$how: job $id crashed at start-up again (diagnosis above)"
      say "$how: trying the scenario once more"
      lose "$how" 2
      return
    fi
    sleep 0.1
  done
  grep -q "on node\[1-3\]: 3 rank(s)" "$out" || fail "$how: job $id is not on 3 nodes: $(cat "$out")"
  ta=$SECONDS
  "$TC" "$how" node3 >/dev/null
  until grep -q "training step exited with status" "$out" || [ "$(field "$id" Restarts)" = 1 ]; do
    [ $((SECONDS - ta)) -le 60 ] || fail "$how: the training step still runs 60 s after: $(cat "$out")"
    sleep 0.2
  done
  took=$((SECONDS - ta))
  wait_job "$id" 150
  [ "$(field "$id" JobState) $(field "$id" Restarts)" = "COMPLETED 1" ] ||
    fail "$how: job $id: $(field "$id" JobState), Restarts=$(field "$id" Restarts): $(cat "$out")"
  grep -q "start 2 on node\[1-2\]: 2 rank(s)" "$out" || fail "$how: the second start is not on the 2 nodes left: $(cat "$out")"
  grep -q "resuming from the newest checkpoint" "$out" || fail "$how: the second start did not resume: $(cat "$out")"
  compare "$ref" "runs/$how/epoch-00$E.h5" exact || fail "$how: resumed on 2 nodes != uninterrupted"
  say "$how node3: the step ended within $took s; requeued, resumed on node[1-2], bitwise the uninterrupted run"
  say "  $(grep -m1 -E 'seqtrain: error:|training step exited' "$out")"
}
lose cut
"$TC" join node3 >/dev/null
# node3's slurmd answers again: ReturnToService=2 puts it back in service.
for i in $(seq 150); do
  [ "$(sq sinfo -h -n node3 -o %T)" = idle ] && break
  sleep 0.2
done
[ "$(sq sinfo -h -n node3 -o %T)" = idle ] || fail "node3 did not return: $(sq sinfo -N)"
lose kill
say "cluster slurm: passed"
