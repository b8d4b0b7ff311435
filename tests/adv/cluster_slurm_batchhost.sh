# Adversarial probe (issue 13): under Slurm, lose the node that runs the batch script (node1:
# the batch shell, srun and rank 0 go with it), by kill or by cut. Expected: the job is
# requeued (no batch script is left to do it: Slurm, when it declares node1 down after
# SlurmdTimeout), starts again on node[2-3], resumes from the newest checkpoint and completes;
# the old step's ranks on node2 and node3 end within 60 s.
#   bash tests/adv/cluster_slurm_batchhost.sh build/seqtrain build mpiexec [kill|cut]
# About 90 s. Not in tests/e2e: longer than an adversarial test may take.
source "$(dirname "$0")/../e2e/lib/common.sh"
HOW=${4:-kill}  # kill | cut | cutjoin (node1's link comes back while start 2 runs)
E=80
[ "$HOW" != cutjoin ] || E=1500
REPO=$(cd "$ST_HERE/../.." && pwd)
source "$ST_HERE/lib/testcluster.sh"
command -v slurmctld >/dev/null || { echo "SKIP: no Slurm"; exit 77; }
tc_up b 3 --slurm --slurmd-timeout 10
"$ST_SYNTH" --out order.h5 --train 3000 --test 100 --steps 20 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
export SEQTRAIN=$ST_BIN CKPT_EVERY=20 OMPI_MCA_orte_tmpdir_base=$WORK/ompi
mkdir -p "$WORK/ompi"
sq() { "$TC" exec head "$@"; }
field() { sq scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
id=$(CKPT_DIR=$WORK/runs/x sq sbatch --parsable --time=5 --nodes=2-3 --output=x-%j.out \
       "$REPO/jobs/train.sbatch" cfg.ini --set train.epochs=$E --quiet --set train.collective_timeout=3)
for i in $(seq 600); do
  compgen -G "runs/x/step-*.h5" >/dev/null && break
  case "$(field "$id" JobState)" in PENDING|RUNNING) ;; *) fail "job $id ended first: $(cat x-"$id".out)" ;; esac
  sleep 0.1
done
grep -q "on node\[1-3\]: 3 rank(s)" "x-$id.out" || fail "not on 3 nodes: $(cat "x-$id.out")"
t0=$SECONDS
"$TC" "${HOW%join}" node1 >/dev/null
echo "[0 s] $HOW node1"
left=1
while :; do
  st=$(field "$id" JobState) r=$(field "$id" Restarts)
  n2=$(ip netns pids "st-$TESTCLUSTER_NAME-node2" | xargs -r ps -o comm= -p | grep -c seqtrain || true)
  n3=$(ip netns pids "st-$TESTCLUSTER_NAME-node3" | xargs -r ps -o comm= -p | grep -c seqtrain || true)
  if [ "$left" = 1 ] && [ "$r" = 0 ] && [ "$n2$n3" = 00 ]; then
    echo "[$((SECONDS - t0)) s] the old ranks on node2 and node3 are gone"; left=0
  fi
  if [ "$HOW" = cutjoin ] && [ "$r" = 1 ] && [ "$st" = RUNNING ] && grep -q 'start 2' "x-$id.out"; then
    sleep 3
    "$TC" join node1 >/dev/null
    echo "[$((SECONDS - t0)) s] start 2 runs on $(field "$id" NodeList): node1's link is back"
    HOW=cutjoined
  fi
  case "$st" in COMPLETED|FAILED|CANCELLED|NODE_FAIL|TIMEOUT) break ;; esac
  [ $((SECONDS - t0)) -lt 200 ] || fail "job $id still $st (Restarts=$r) 150 s after: $(cat "x-$id.out")"
  sleep 1
done
echo "[$((SECONDS - t0)) s] job $id: $st, Restarts=$(field "$id" Restarts), nodes $(field "$id" NodeList)"
grep -E 'start [0-9]|exited|lost|requeue' "x-$id.out" | cut -c1-160
[ "$st" = COMPLETED ] || fail "job $id ended $st: $(cat x-"$id".out)"
grep -q "resuming from the newest checkpoint" "x-$id.out" || fail "the second start did not resume"
if [ "$HOW" = cut ]; then
  # The batch script of start 1 still runs on node1, cut off. The link comes back: it must not
  # requeue (or otherwise touch) the job that has completed meanwhile.
  echo "node1 while cut: $(ip netns pids "st-$TESTCLUSTER_NAME-node1" | xargs -r ps -o comm= -p | sort | uniq -c | tr -s ' \n' ' ')"
  "$TC" join node1 >/dev/null
  for i in $(seq 40); do
    sleep 1
    [ "$(field "$id" JobState)" = COMPLETED ] || break
  done
  echo "40 s after the join: job $id $(field "$id" JobState), Restarts=$(field "$id" Restarts)"
  echo "node1: $(ip netns pids "st-$TESTCLUSTER_NAME-node1" | xargs -r ps -o comm= -p | sort | uniq -c | tr -s ' \n' ' ')"
  grep -E 'start [0-9]|exited|lost|requeue' "x-$id.out" | cut -c1-160
  [ "$(field "$id" JobState)" = COMPLETED ] && [ "$(field "$id" Restarts)" = 1 ] ||
    fail "after node1 came back, job $id is $(field "$id" JobState), Restarts=$(field "$id" Restarts)"
fi
echo "cluster slurm batchhost ($HOW): passed"
