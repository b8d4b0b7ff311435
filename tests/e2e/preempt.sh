# Graceful preemption ([train] stop_signals, README "Stopping and resuming"): the order task at
# 2 ranks, stopped mid-epoch
#   - by SIGTERM to each rank process directly (what Slurm's scancel and time limit do),
#   - by SIGUSR1 to mpiexec (Open MPI forwards it to the ranks),
#   - by SIGTERM to one rank only (the others learn it through the step's allreduce),
# must exit 75 with exactly one new checkpoint, a step checkpoint of the epoch in progress, and
# resuming from the directory must end with the weights of an uninterrupted run, bitwise.
# A second signal ends the job at once, non-zero and not 75, without writing a checkpoint.
source "$(dirname "$0")/lib/common.sh"
# 28000 rows, 10% validation: 394 steps per epoch, so a signal sent a few steps into epoch 1
# lands in its middle, whatever the machine's load (7000 rows, 99 steps of well under a
# millisecond each, once let epoch 1 end between the first step line and the signal).
"$ST_SYNTH" --out order.h5 --train 28000 --test 10 --steps 12 --seed 7 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
common=(--set train.epochs=2 --set checkpoint.keep=0 --set train.log_every_steps=3 --quiet)
run_np 2 train cfg.ini "${common[@]}" --set checkpoint.dir=ref
[ -f ref/epoch-0002.h5 ] || fail "the uninterrupted run wrote no epoch-0002.h5"

# start DIR: training in the background, $mp = mpiexec's PID, once the first step line is in
# metrics.jsonl (rank 0 flushes it), so the signal lands in the middle of epoch 1.
start() {
  "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n 2 "$ST_BIN" train cfg.ini "${common[@]}" \
    --set checkpoint.dir="$1" >"$1.log" 2>&1 &
  mp=$!
  local end=$((SECONDS + 120))
  until grep -qs '"type": "step"' "$1/metrics.jsonl"; do
    kill -0 "$mp" 2>/dev/null || fail "$1: training ended before it could be signalled: $(cat "$1.log")"
    [ $SECONDS -lt $end ] || { kill -KILL "$mp"; fail "$1: no step logged within 120 s"; }
    sleep 0.02
  done
  ranks=$(pgrep -P "$mp" | tr '\n' ' ')
  [ "$(echo $ranks | wc -w)" -eq 2 ] || { kill -KILL "$mp"; fail "$1: rank PIDs '$ranks'"; }
}
# finish DIR: waits for the job; the status must be 75 and the directory must hold one step
# checkpoint of epoch 1, no epoch checkpoint, no temporary file; then resume and compare.
finish() {
  local rc=0
  wait "$mp" || rc=$?
  [ "$rc" -eq 75 ] || fail "$1: exit $rc, not 75: $(cat "$1.log")"
  grep -q "stopping on a signal" "$1.log" || fail "$1: no stop line: $(cat "$1.log")"
  local files
  files=$(cd "$1" && ls)
  [ "$(ls "$1"/step-*.h5 | wc -l)" -eq 1 ] || fail "$1: not one step checkpoint: $files"
  ! ls "$1"/epoch-*.h5 "$1"/*.tmp >/dev/null 2>&1 || fail "$1: unexpected files: $files"
  run_np 2 train cfg.ini "${common[@]}" --set checkpoint.dir="$1" --resume "$1" ||
    fail "$1: the resume failed"
  compare ref/epoch-0002.h5 "$1/epoch-0002.h5" exact || fail "$1: resumed weights differ"
}

start term; kill -TERM $ranks; finish term          # as Slurm: every task
start usr1; kill -USR1 "$mp"; finish usr1          # as mpirun's user: forwarded
start one; kill -TERM ${ranks%% *}; finish one     # one rank: agreed through the allreduce

# A second signal: out at once (128 + signal from the rank that got both), no new checkpoint.
# The rank is stopped while both arrive, so both are pending when it runs again: they must
# differ (a signal pending twice is delivered once).
start twice
r0=${ranks%% *}
kill -STOP "$r0"
kill -TERM "$r0"; kill -USR1 "$r0"
sleep 0.2; kill -CONT "$r0"
rc=0; wait "$mp" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 75 ] || fail "twice: exit $rc: $(cat twice.log)"
grep -q "second stop signal: exiting now" twice.log || fail "twice: no line: $(cat twice.log)"
! ls twice/*.h5 >/dev/null 2>&1 || fail "twice: a checkpoint was written: $(ls twice)"

# stop_signals = none: SIGTERM kills as it always did (no checkpoint, status 143 or a
# launcher's failure), and a bad name is refused at the key.
out=$("$ST_BIN" train cfg.ini --set train.stop_signals=TERM,KILL 2>&1) && fail "KILL accepted"
echo "$out" | grep -q "stop_signals = TERM,KILL: unknown signal 'KILL'" || fail "bad name: $out"
echo "preempt: ok"
