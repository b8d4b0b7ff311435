# No hang, ever: a rank stopped by SIGSTOP in the middle of training (a wedged node, a paused
# VM) ends the whole `mpiexec -n 3` job within [train] collective_timeout plus the census grace
# (2 s), with a non-zero exit and ONE line naming the rank, its host and PID. Once for rank 1
# (rank 0 reports) and once for rank 0 (rank 1 reports). Then the watchdog's own binary: a rank
# alive but busy past the limit is named as busy.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 600 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
LIMIT=2
SLACK=4          # mpirun's kill of the job, and a loaded machine
HOST=$(hostname)
STOPPED=""
trap 'for p in $STOPPED; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# rank_pid JOBPID R: the PID of rank R among the children of mpiexec (its environment says).
rank_pid() {
  local p
  for p in $(pgrep -P "$1"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$p"; return 0
    fi
  done
  return 1
}

# stall R: train, stop rank R once a checkpoint exists, check how the job ends.
stall() {
  local r=$1 dir=runs/stall$1
  "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n 3 "$ST_BIN" train cfg.ini \
    --set train.epochs=100000 --set train.collective_timeout=$LIMIT \
    --set checkpoint.dir=$dir --quiet >out$r.txt 2>err$r.txt &
  local job=$! pid="" i
  for i in $(seq 1 600); do
    # keep = 2 prunes old epochs within milliseconds: any checkpoint means training runs.
    compgen -G "$dir/epoch-*.h5" >/dev/null && pid=$(rank_pid $job "$r") && break
    kill -0 $job 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$pid" ]; then
    ls -l $dir 2>&1; ps -o pid,stat,etime,cmd --ppid $job 2>&1 || true; cat out$r.txt err$r.txt
    kill -TERM $job 2>/dev/null || true; wait $job || true
    fail "rank $r: no rank $r PID with a checkpoint after $i polls"
  fi
  kill -STOP "$pid"
  STOPPED="$STOPPED $pid"
  local t0; t0=$(date +%s.%N)
  # A watchdog that failed would leave the job waiting forever: give up well after the bound.
  local rc=0 n
  for i in $(seq 1 $(( (LIMIT + 2 + SLACK) * 20 ))); do kill -0 $job 2>/dev/null || break; sleep 0.05; done
  if kill -0 $job 2>/dev/null; then
    kill -KILL $job; fail "rank $r stopped: the job still runs after $((LIMIT + 2 + SLACK)) s"
  fi
  wait $job || rc=$?
  local dt; dt=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")
  # 76: a rank was lost (jobs/train.sbatch requeues on it); mpirun passes MPI_Abort's code on.
  [ $rc -eq 76 ] || fail "rank $r stopped: exit status $rc, want 76"
  n=$(grep -c "seqtrain: error:" err$r.txt || true)
  [ "$n" -eq 1 ] || { cat err$r.txt; fail "rank $r stopped: $n error lines, want 1"; }
  grep -Eq "seqtrain: error: collective [0-9]+ \(.*\) timed out after $LIMIT s: rank $r \(host $HOST, pid $pid\) did not arrive$" err$r.txt \
    || { cat err$r.txt; fail "rank $r stopped: the line does not name rank $r, pid $pid"; }
  echo "ok rank $r stopped: exit $rc after $dt s: $(grep 'seqtrain: error:' err$r.txt)"
}
# The limits are checked like every key: one line naming it and the value.
for kv in collective_timeout=-1 startup_timeout=abc; do
  set +e; run_np 2 train cfg.ini --set train.$kv >/dev/null 2>bad.txt; rc=$?; set -e
  [ $rc -eq 1 ] || fail "$kv: exit status $rc, want 1"
  [ "$(grep -c 'seqtrain: error:' bad.txt)" -eq 1 ] && grep -q "\[train\] ${kv%%=*} = ${kv#*=}: must be an integer >= 0" bad.txt \
    || { cat bad.txt; fail "$kv: not one line naming the key"; }
done
echo "ok bad limits refused"

stall 1
stall 0

# A rank alive but busy elsewhere past the limit (its watchdog answers, with an older
# collective) is named as such; the test binary's stall mode: rank 2 sleeps 3 s, limit 1 s.
W="$ST_BUILD/tests/test_watchdog"
set +e
timeout 60 "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n 3 "$W" --busy 2 >wout.txt 2>werr.txt
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat werr.txt; fail "busy rank: exit status $rc"; }
[ "$(grep -c 'seqtrain: error:' werr.txt)" -eq 1 ] || { cat werr.txt; fail "busy rank: not one line"; }
grep -Eq "timed out after 1 s: rank 2 \(host $HOST, pid [0-9]+, alive but busy after collective [0-9]+\) did not arrive$" werr.txt \
  || { cat werr.txt; fail "busy rank: the line does not name rank 2 as busy"; }
grep -q "after the timeout" wout.txt werr.txt && fail "busy rank: rank 0 went on after the timeout"
echo "ok busy rank: $(grep 'seqtrain: error:' werr.txt)"
