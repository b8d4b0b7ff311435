# The BLAS kernels chosen at start-up (issue 15, src/core/blas.c). On this test's machine
# OpenBLAS usually knows the CPU, so its own choice is already the best one; the test makes it
# look as if OpenBLAS had fallen back to its SSE3 kernels (SEQTRAIN_BLAS_TEST_OWN=Prescott,
# what Debian's 0.3.21 really does on Sapphire Rapids), and then checks, under mpirun and
# under srun:
#   - every rank restarts itself with the core for its CPU, says so, and computes exactly
#     what a run with that core set by hand computes (checkpoints byte-identical);
#   - the arguments survive the restart (a config path with a space, --set values);
#   - a user's OPENBLAS_CORETYPE wins; SEQTRAIN_BLAS_AUTO=0 keeps OpenBLAS's choice;
#   - kernels that fail the start-up check (a wrong product, a core OpenBLAS lacks) are
#     replaced by OpenBLAS's own, with one warning, and training still runs;
#   - ranks on different kernels are reported; the core reaches --version, BENCH and the
#     metrics.jsonl header.
# Skips (77) on CPUs without AVX2 (nothing better than the fallback to choose) or where
# OpenBLAS is not built with DYNAMIC_ARCH.
source "$(dirname "$0")/lib/common.sh"
REPO=$(cd "$ST_HERE/../.." && pwd)
unset OPENBLAS_CORETYPE SEQTRAIN_BLAS_AUTO SEQTRAIN_BLAS_TEST_OWN SEQTRAIN_BLAS_TEST_TARGET \
  SEQTRAIN_BLAS_TEST_BREAK

ver=$("$ST_BIN" --version)
echo "$ver"
grep -qE '^BLAS: OpenBLAS [0-9.]+, core [A-Za-z0-9()]+ \(' <<<"$ver" || fail "--version: no BLAS line"
grep -qE '^CPU: .+ \((SSE2|SSE4.2|AVX|AVX2\+FMA|AVX-512)\)$' <<<"$ver" || fail "--version: no CPU line"
case $ver in
  *"(AVX-512)"*) want=SkylakeX ;;
  *"(AVX2+FMA)"*) want=Haswell ;;
  *) echo "SKIP: this CPU has no AVX2: no core better than OpenBLAS's fallback to choose"; exit 77 ;;
esac
# OpenBLAS's own choice, without seqtrain's (on a CPU OpenBLAS does not know, e.g. Sapphire
# Rapids with Debian's 0.3.21, plain --version already shows the restarted core instead).
own=$(SEQTRAIN_BLAS_AUTO=0 "$ST_BIN" --version | sed -n 's/^BLAS: .*, core \([^ ]*\) .*/\1/p')
"$ST_BIN" --version | grep -q "the only one this OpenBLAS has" &&
  { echo "SKIP: OpenBLAS is built for one CPU (no DYNAMIC_ARCH): no kernels to choose"; exit 77; }

# bench_field FILE KEY: one string or number of the BENCH line.
bench_field() {
  "$ST_PY" -c 'import json,sys
l=[l for l in open(sys.argv[1]) if l.startswith("BENCH ")]
print(json.loads(l[-1][6:])[sys.argv[2]])' "$1" "$2"
}
"$ST_SYNTH" --out order.h5 --train 600 --steps 16 >/dev/null
mkdir "dir with space"
sed 's/^epochs = 6/epochs = 2/' "$ST_HERE/lib/order_lstm.ini" >"dir with space/cfg.ini"
cfg="dir with space/cfg.ini"
bench=(train "$cfg" --benchmark 2 --warmup 1 --set "train.batch_size=32")

# 1. Restart under mpirun, 2 ranks: both on the chosen core.
SEQTRAIN_BLAS_TEST_OWN=Prescott run_np 2 "${bench[@]}" >auto.txt 2>&1 || { cat auto.txt; fail "mpirun: auto"; }
[ "$(bench_field auto.txt blas_core)" = "$want" ] || { cat auto.txt; fail "mpirun: core is not $want"; }
bench_field auto.txt blas_core_how | grep -q "chosen by seqtrain for .*; OpenBLAS alone ran Prescott" ||
  fail "mpirun: how: $(bench_field auto.txt blas_core_how)"
[ "$(bench_field auto.txt blas_core_same_on_ranks)" = 1 ] || fail "mpirun: ranks on other kernels"
[ "$(bench_field auto.txt global_batch)" = 32 ] || fail "--set lost in the restart"
grep -q "warning" auto.txt && { cat auto.txt; fail "mpirun: a warning on a clean choice"; }
echo "ok mpirun: both ranks restarted on $want"

# 2. The same training, chosen automatically or set by hand: the same bits. (Deterministic
# mode, 2 ranks; the weight gradients come from OpenBLAS, so a rank left on Prescott's kernels
# would change them.)
train=(train "$cfg" --quiet)
SEQTRAIN_BLAS_TEST_OWN=Prescott run_np 2 "${train[@]}" --set checkpoint.dir=runs/auto >/dev/null ||
  fail "training, auto"
OPENBLAS_CORETYPE=$want run_np 2 "${train[@]}" --set checkpoint.dir=runs/hand >/dev/null ||
  fail "training, by hand"
compare runs/auto/epoch-0002.h5 runs/hand/epoch-0002.h5 exact || fail "auto != by hand"
"$ST_PY" - runs/auto/metrics.jsonl "$want" <<'EOF' || fail "metrics.jsonl header"
import json, sys
first = json.loads(open(sys.argv[1]).readline())
assert first["type"] == "run" and first["blas_core"] == sys.argv[2], first
assert first["ranks"] == 2 and first["cpu"] and first["blas"].startswith("OpenBLAS"), first
assert "chosen by seqtrain" in first["blas_core_how"], first
EOF
echo "ok training: the restarted run equals OPENBLAS_CORETYPE=$want, and metrics.jsonl says so"

# 3. The user's setting wins; the opt-out keeps OpenBLAS's choice.
OPENBLAS_CORETYPE=Prescott SEQTRAIN_BLAS_TEST_OWN=Prescott run_np 2 "${bench[@]}" >user.txt 2>&1 ||
  fail "user setting"
[ "$(bench_field user.txt blas_core)" = Prescott ] || fail "user setting overridden"
bench_field user.txt blas_core_how | grep -q "set by OPENBLAS_CORETYPE=Prescott; this CPU could run $want" ||
  fail "user: how: $(bench_field user.txt blas_core_how)"
SEQTRAIN_BLAS_AUTO=0 SEQTRAIN_BLAS_TEST_OWN=Prescott run_np 1 "${bench[@]}" >off.txt 2>&1 || fail "opt-out"
[ "$(bench_field off.txt blas_core)" = "$own" ] || fail "opt-out changed the core"
echo "ok user setting and opt-out respected"

# 4. Kernels that fail the check: one warning on rank 0, OpenBLAS's own core, training runs.
for c in "SEQTRAIN_BLAS_TEST_BREAK=1:its products were wrong" \
         "SEQTRAIN_BLAS_TEST_TARGET=NoSuchCore:this OpenBLAS does not have it"; do
  env "${c%%:*}" SEQTRAIN_BLAS_TEST_OWN=Prescott "$ST_MPIEXEC" --oversubscribe --allow-run-as-root \
    -n 2 "$ST_BIN" "${bench[@]}" >fb.txt 2>fb.err || { cat fb.txt fb.err; fail "fallback ${c%%:*}"; }
  [ "$(grep -c "failed its start-up check (${c#*:})" fb.err)" = 1 ] ||
    { cat fb.err; fail "fallback ${c%%:*}: not one warning"; }
  [ "$(bench_field fb.txt blas_core)" = "$own" ] || fail "fallback ${c%%:*}: core $(bench_field fb.txt blas_core)"
done
echo "ok failed kernels: warned once, OpenBLAS's own core ran"

# 5. Ranks on different kernels (a mixed cluster): reported.
"$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n 1 -x OPENBLAS_CORETYPE=Prescott "$ST_BIN" \
  "${bench[@]}" : -n 1 -x OPENBLAS_CORETYPE="$want" "$ST_BIN" "${bench[@]}" >mix.txt 2>mix.err ||
  fail "mixed kernels"
grep -q "the ranks run different BLAS kernels (rank 0: Prescott)" mix.err || { cat mix.err; fail "mixed kernels not reported"; }
[ "$(bench_field mix.txt blas_core_same_on_ranks)" = 0 ] || fail "mixed: same_on_ranks"
echo "ok mixed kernels reported"

# 6. Under srun (a single-node Slurm), when Slurm is here or can be installed.
have_slurm() { command -v slurmctld && command -v slurmd && command -v srun && command -v munged; }
if [ "$(id -u)" -eq 0 ] && { have_slurm >/dev/null || { "$REPO/tools/setup-deps.sh" --slurm >&2 || true; have_slurm >/dev/null; }; }; then
  source "$ST_HERE/lib/slurm_cluster.sh"
  trap 'slurm_stop; rm -rf "$WORK"' EXIT
  slurm_start "$WORK/slurm" 4 || fail "the single-node Slurm did not start"
  mkdir -p "$WORK/ompi"
  export OMPI_MCA_btl_vader_backing_directory=$WORK/ompi OMPI_MCA_orte_tmpdir_base=$WORK/ompi
  # Open MPI 4.1.4's start-up under srun --mpi=pmix crashes about once in 20 (a modex race,
  # tests/e2e/cluster_slurm.sh): one retry.
  for try in 1 2; do
    if SEQTRAIN_BLAS_TEST_OWN=Prescott timeout 120 srun --mpi=pmix -n 2 "$ST_BIN" "${bench[@]}" \
         >srun.txt 2>&1; then break; fi
    [ $try = 2 ] && { cat srun.txt; fail "srun"; }
  done
  [ "$(bench_field srun.txt blas_core)" = "$want" ] || { cat srun.txt; fail "srun: core"; }
  [ "$(bench_field srun.txt ranks)" = 2 ] && [ "$(bench_field srun.txt blas_core_same_on_ranks)" = 1 ] ||
    fail "srun: not 2 ranks on one core"
  echo "ok srun: both ranks restarted on $want"
else
  echo "note: no Slurm here; the srun case was not run"
fi
echo "blas_core e2e: passed"
