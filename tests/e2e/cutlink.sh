# A node whose network link is cut ends the job (issue 11: "no hang, ever", plain mpirun).
# Two "nodes" on this machine: network namespaces joined by a veth pair, each with its own
# address in a private range used only inside them; mpirun runs in node A and starts node B's
# daemon through an rsh agent that enters B's namespace (instead of ssh). Ranks 0 and 1 run on
# A, rank 2 on B, over TCP. Once training runs, B's end of the link goes down: the watchdog
# names rank 2 within collective_timeout + its 2 s grace, and the job must end with a non-zero
# exit: Open MPI 4.1's mpirun alone would wait for B's unreachable daemon for many minutes,
# seqtrain ends it 15 s after MPI_Abort (src/dist/watchdog.c). Measured here: about 22 s from
# the cut to mpirun's exit with collective_timeout = 3 to 5.
# Needs root and network namespaces (skipped, exit 77, where they are not permitted).
source "$(dirname "$0")/lib/common.sh"
command -v ip >/dev/null || { echo "SKIP: no ip command (iproute2)"; exit 77; }
tag=$$
nsA=stcutA$tag nsB=stcutB$tag
net=10.213.$((tag % 250)).
if ! ip netns add "$nsA" 2>/dev/null; then echo "SKIP: network namespaces not permitted"; exit 77; fi
cleanup() {
  # Everything started in the two namespaces, by PID, then the namespaces (and the veth pair).
  for ns in "$nsA" "$nsB"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$nsB"
ip link add "va$tag" netns "$nsA" type veth peer name "vb$tag" netns "$nsB"
ip -n "$nsA" addr add "${net}1/24" dev "va$tag"
ip -n "$nsB" addr add "${net}2/24" dev "vb$tag"
for ns in "$nsA" "$nsB"; do ip -n "$ns" link set lo up; done
ip -n "$nsA" link set "va$tag" up
ip -n "$nsB" link set "vb$tag" up

cat >agent.sh <<EOF
#!/bin/sh
# Open MPI's rsh agent: "agent [options] HOST COMMAND...": COMMAND in HOST's namespace.
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case "\$host" in ${net}1) ns=$nsA ;; ${net}2) ns=$nsB ;; *) exit 1 ;; esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
EOF
chmod +x agent.sh
printf '%s1 slots=2\n%s2 slots=1\n' "$net" "$net" >hosts
"$ST_SYNTH" --out order.h5 --train 3000 --test 100 --steps 20 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini

ip netns exec "$nsA" timeout -k 5 120 "$ST_MPIEXEC" --allow-run-as-root --hostfile hosts -n 3 \
  --mca plm_rsh_agent "$PWD/agent.sh" --mca btl tcp,self --mca btl_tcp_if_include "${net}0/24" \
  --mca oob_tcp_if_include "${net}0/24" --mca mpi_yield_when_idle 1 -x OPENBLAS_NUM_THREADS \
  "$ST_BIN" train cfg.ini --set train.epochs=10000 --set train.collective_timeout=3 \
  >run.log 2>&1 &
job=$!
# Cut once training runs (an epoch line), not during start-up.
for _ in $(seq 1 120); do grep -q '^Epoch 2/' run.log && break; sleep 0.5; done
grep -q '^Epoch 2/' run.log || { cat run.log; fail "training did not start across the two nodes"; }
rx=$(ip -n "$nsB" -s link show "vb$tag" | awk '/RX:/{getline; print $1}')
[ "$rx" -gt 100000 ] || fail "only $rx bytes reached node B: the ranks did not talk over the link"
t0=$(date +%s.%N)
ip -n "$nsB" link set "vb$tag" down
set +e
wait "$job"
rc=$?
set -e
t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
[ "$rc" -ne 124 ] || { cat run.log; fail "the job did not end after the cut (hung $took s)"; }
[ "$rc" -ne 0 ] || { cat run.log; fail "exit status 0 after a cut link"; }
n=$(grep -c 'seqtrain: error:' run.log || true)
[ "$n" -eq 1 ] || { cat run.log; fail "$n error lines, want 1"; }
grep -q 'seqtrain: error: collective [0-9]* (.*) timed out after 3 s: rank 2 (host .*, pid [0-9]*) did not arrive' run.log ||
  { cat run.log; fail "the line does not name rank 2"; }
awk -v t="$took" 'BEGIN{exit !(t < 45)}' || fail "the job ended $took s after the cut (want < 45)"
echo "ok cut link: $(grep 'seqtrain: error:' run.log)"
echo "ok the job ended $took s after the cut (exit $rc)"
