# Adversarial reproducer (issue 13), fixed: a lost node under LAUNCHER=mpirun ended the step
# with status 137, not 76, and jobs/train.sbatch then did not requeue the job.
# Setting: mpirun runs where a batch script runs it, on the first node of the allocation
# (node1), so rank 0 is mpirun's child; the nodes keep the kernel's default tcp_retries2 (15,
# as at most sites; tools/testcluster lowers it to 5). node3's link is cut mid-training. Rank 0's
# watchdog names rank 2 and calls MPI_Abort(76); mpirun then waits for node3's daemon on TCP
# (many minutes); seqtrain's reaper (src/dist/watchdog.c, watch_launcher) SIGKILLs mpirun 15 s
# later: status 137, which train.sbatch treats as a plain failure (only 75 and 76 requeue).
# Slurm's own requeue comes only when it declares node3 down (SlurmdTimeout, 300 s by default),
# too late: the batch script has exited by then and the job is FAILED.
# The fix: the reporting rank also writes its line to SEQTRAIN_LOST_FILE (train.sbatch sets it
# beside the checkpoints) before MPI_Abort; train.sbatch reads a non-zero status with that file
# as 76. Here: the status is 76, or 137 with the file naming rank 2 on node3.
source "$(dirname "$0")/lib/common.sh"
source "$ST_HERE/lib/testcluster.sh"
tc_up r 3
for n in head node1 node2 node3; do
  ip netns exec "st-$TESTCLUSTER_NAME-$n" sysctl -qw net.ipv4.tcp_retries2=15
done
D=/run/seqtrain-testcluster/$TESTCLUSTER_NAME
"$ST_SYNTH" --out order.h5 --train 3000 --test 100 --steps 20 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
export SEQTRAIN_LOST_FILE=$WORK/lost.txt
timeout -k 5 120 "$TC" exec node1 mpirun --allow-run-as-root --hostfile "$D/hostfile" \
  --mca plm_rsh_agent "$D/agent" --mca btl tcp,vader,self -x OPENBLAS_NUM_THREADS -x SEQTRAIN_LOST_FILE \
  -n 3 --npernode 1 "$ST_BIN" train cfg.ini --set train.epochs=80 \
  --set checkpoint.every_steps=20 --set checkpoint.dir=ck --set train.collective_timeout=3 \
  >run.log 2>&1 &
job=$!
for i in $(seq 300); do grep -q '^Epoch 8/' run.log && break; sleep 0.1; done
grep -q '^Epoch 8/' run.log || { cat run.log; fail "training did not start"; }
t0=$SECONDS
"$TC" cut node3 >/dev/null
rc=0
wait "$job" || rc=$?
echo "status $rc, $((SECONDS - t0)) s after the cut"
grep 'seqtrain: error:' run.log || true
[ "$rc" -ne 124 ] || fail "mpirun still ran 120 s after the cut"
if [ "$rc" -ne 76 ]; then
  # Both sides of the cut report (rank 2 names ranks 0 and 1): rank 0's line must be there.
  grep -q 'timed out after 3 s: rank 2 (host node3' lost.txt 2>/dev/null ||
    fail "mpirun ended with status $rc and SEQTRAIN_LOST_FILE does not name rank 2: $(cat lost.txt 2>&1)"
fi
echo "cluster mpirun reaped: passed"
