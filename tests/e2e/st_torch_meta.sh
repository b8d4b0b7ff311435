# tools/st_torch.py loads a checkpoint whose config has [callbacks] and [checkpoint] sections
# (training bookkeeping, not layers) and predicts what `seqtrain predict` predicts. It used to
# refuse every such checkpoint ("unknown layer type callbacks").
source "$(dirname "$0")/lib/common.sh"
if ! "$ST_PY" -c "import torch" 2>/dev/null; then
    echo "SKIPPED: PyTorch is not installed for $ST_PY: st_torch.py was NOT checked"
    exit 77
fi
"$ST_SYNTH" --out order.h5 --train 200 --test 20 --steps 12 --seed 3 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
printf '\n[callbacks]\nearly_stopping = true\nearly_stopping.patience = 3\n' >>cfg.ini
grep -q '^\[checkpoint\]' cfg.ini || fail "the config should have a [checkpoint] section"
run_np 1 train cfg.ini --set train.epochs=1 --quiet
run_np 1 predict --checkpoint runs/order --data order.h5 --out pred.h5 --quiet
"$ST_PY" - "$ST_HERE/../../tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import h5py, numpy as np, st_torch
model, config = st_torch.load_seqtrain_checkpoint("runs/order")
assert "[callbacks]" in config, "the checkpoint's config lost its [callbacks] section"
x = h5py.File("order.h5", "r")["test/x"][:]
got = model.predict(x)
want = h5py.File("pred.h5", "r")["predictions"][:]
err = np.abs(got - want).max()
assert err < 1e-5, "st_torch predicts differently from seqtrain: max |diff| %g" % err
print("ok st_torch loads a checkpoint with [callbacks]: max |diff| %.2e" % err)
PY
