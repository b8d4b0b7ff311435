# NaN weights behind a finite loss: SGD with a huge learning rate and a relu head (relu turns
# NaN into 0, so the loss stays finite while every weight is NaN). The weight check after each
# update must stop training at that step: one error line naming a tensor and exit 1 on every
# rank, or with terminate_on_nan one line and exit 0; in both cases every checkpoint on disk
# holds finite weights and the step that diverged wrote none.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 10 --steps 12 --seed 7 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
# The finite loss behind NaN weights is an accident of OpenBLAS's arithmetic (an inf - inf that
# relu zeroes); deterministic mode's own row products give inf there, and so an inf loss (its
# divergence is checked at the end). The weight check is pinned on the float path.
div=(--set train.optimizer=sgd --set train.learning_rate=1e30 --set dense_1.activation=relu
     --set train.loss=mse --set checkpoint.every_steps=1 --set checkpoint.keep=0
     --set train.epochs=2 --set train.deterministic=false)
finite() {  # every checkpoint in $1 has finite weights, and the newest is global step $2
  "$ST_PY" - "$1" "$2" <<'PY'
import glob, sys, h5py, numpy as np
fs = sorted(glob.glob(sys.argv[1] + "/*.h5"))
assert fs, "no checkpoint kept"
bad = []
for p in fs:
    with h5py.File(p, "r") as f:
        f["model_weights"].visititems(
            lambda n, o: bad.append(p + ":" + n) if isinstance(o, h5py.Dataset)
            and not np.isfinite(o[()]).all() else None)
        step = int(f["train_state/global_step"][()])
assert not bad, "non-finite weights in " + ", ".join(bad)
assert fs[-1].endswith("step-%08d.h5" % int(sys.argv[2])), fs
PY
}
rc=0
run_np 2 train cfg.ini "${div[@]}" --set checkpoint.dir=runs/err >out.txt 2>err.txt || rc=$?
[ $rc -eq 1 ] || { cat err.txt; fail "diverged weights: exit $rc, want 1"; }
[ "$(grep -c 'seqtrain: error:' err.txt)" -eq 1 ] || { cat err.txt; fail "not one error line"; }
grep -q "seqtrain: error: the weights became NaN or inf (.*/.*\[[0-9]*\] is \(NaN\|inf\)) at epoch 1 step 2: training diverged" err.txt ||
  { cat err.txt; fail "diverged weights: message"; }
finite runs/err 1 || fail "diverged weights: checkpoints"

run_np 2 train cfg.ini "${div[@]}" --set checkpoint.dir=runs/ton \
  --set callbacks.terminate_on_nan=true >out.txt 2>err.txt || { cat err.txt; fail "terminate_on_nan: exit"; }
grep -q "Epoch 1, batch 2: the weights became NaN or inf .* terminating training (terminate_on_nan)" err.txt out.txt ||
  { cat err.txt out.txt; fail "terminate_on_nan: message"; }
finite runs/ton 1 || fail "terminate_on_nan: checkpoints"
# Deterministic mode: the same divergence stops training at the same step, one line, exit 1,
# finite checkpoints, whichever check fires.
rc=0
run_np 2 train cfg.ini "${div[@]}" --set train.deterministic=true --set checkpoint.dir=runs/det \
  >out.txt 2>err.txt || rc=$?
[ $rc -eq 1 ] || { cat err.txt; fail "deterministic: exit $rc, want 1"; }
[ "$(grep -c 'seqtrain: error:' err.txt)" -eq 1 ] || { cat err.txt; fail "deterministic: lines"; }
grep -q "at epoch 1 step 2: training diverged" err.txt || { cat err.txt; fail "deterministic: message"; }
finite runs/det 1 || fail "deterministic: checkpoints"
echo "nan_weights: ok"
