# History and callbacks end to end: history.csv and metrics.jsonl after every epoch; early
# stopping restores the best weights and best.h5 holds them; a run resumed (at an epoch end and
# mid-epoch) with reduce_lr_on_plateau, a warm-up + exponential schedule and AUC ends bitwise
# equal to an uninterrupted one, with the same history; terminate_on_nan stops with exit 0 and
# keeps the last good checkpoint.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 10 --steps 12 --seed 7 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
q=(--quiet --set checkpoint.keep=0)

# Early stopping: min_delta too large to ever improve after epoch 1 -> stops after epoch 2
# and puts epoch 1's weights back; best.h5 holds the epoch of the lowest val_loss.
run_np 2 train cfg.ini "${q[@]}" --set checkpoint.dir=runs/es --set callbacks.early_stopping.min_delta=10 \
  --set callbacks.early_stopping.patience=1 --set callbacks.early_stopping.restore_best_weights=true \
  --set callbacks.model_checkpoint.save_best_only=true --set callbacks.model_checkpoint.monitor=val_loss \
  --set "train.metrics=accuracy,auc" --set train.log_every_steps=5
"$ST_PY" - <<'PY'
import csv, json, h5py, numpy as np
rows = list(csv.DictReader(open("runs/es/history.csv")))
assert [r["epoch"] for r in rows] == ["1", "2"], rows
assert list(rows[0])[:4] == ["epoch", "loss", "accuracy", "auc"] and "val_auc" in rows[0]
def w(p):
    f = h5py.File(p, "r"); out = {}
    f["model_weights"].visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out
e1, e2 = w("runs/es/epoch-0001.h5"), w("runs/es/epoch-0002.h5")
assert all(np.array_equal(e1[k], e2[k]) for k in e1), "best weights not restored"
# best.h5 is the epoch of the lowest val_loss (no min_delta for model_checkpoint)
vl = [float(r["val_loss"]) for r in rows]
best = int(np.argmin(vl)) + 1
assert h5py.File("runs/es/best.h5", "r")["train_state/epoch"][()] == best, (vl, best)
if best == 1:
    b = w("runs/es/best.h5")
    assert all(np.array_equal(e1[k], b[k]) for k in e1), "best.h5 is not epoch 1"
h = h5py.File("runs/es/epoch-0002.h5", "r")
assert np.allclose(h["history/val_loss"][()], [float(r["val_loss"]) for r in rows])
lines = [json.loads(l) for l in open("runs/es/metrics.jsonl")]
assert lines[0]["type"] == "run" and lines[0]["blas_core"], lines[0]
lines = lines[1:]
steps = [l for l in lines if l["type"] == "step"]; epochs = [l for l in lines if l["type"] == "epoch"]
assert [l["global_step"] for l in steps] == [5, 10, 15, 20] and len(epochs) == 2, lines
for l in lines:
    for k in ("data", "forward_backward", "allreduce", "optimizer", "checkpoint"):
        assert l["time_s"][k]["max"] >= l["time_s"][k]["mean"] >= 0
assert "auc" in steps[0] and "val_auc" in epochs[0]
print("early stopping ok")
PY

# Exact resume with callback state: straight 4 epochs == 2, then resume; and == a resume from
# a mid-epoch step checkpoint.
cb=(--set callbacks.reduce_lr_on_plateau.patience=1 --set callbacks.reduce_lr_on_plateau.factor=0.5
    --set callbacks.reduce_lr_on_plateau.min_delta=10 --set train.lr_schedule=exponential
    --set train.decay_steps=7 --set train.decay_rate=0.7 --set train.warmup_steps=5
    --set "train.metrics=auc,precision" --set data.validation_split=0.1)
run_np 2 train cfg.ini "${q[@]}" "${cb[@]}" --set train.epochs=4 --set checkpoint.dir=runs/a \
  --set checkpoint.every_steps=25
run_np 2 train cfg.ini "${q[@]}" "${cb[@]}" --set train.epochs=2 --set checkpoint.dir=runs/b
run_np 2 train cfg.ini "${q[@]}" "${cb[@]}" --set train.epochs=4 --set checkpoint.dir=runs/b --resume runs/b
compare runs/a/epoch-0004.h5 runs/b/epoch-0004.h5 exact || fail "resume with callbacks"
mkdir -p runs/c && cp runs/a/step-00000025.h5 runs/c/
run_np 2 train cfg.ini "${q[@]}" "${cb[@]}" --set train.epochs=4 --set checkpoint.dir=runs/c \
  --resume runs/c/step-00000025.h5
compare runs/a/epoch-0004.h5 runs/c/epoch-0004.h5 exact || fail "mid-epoch resume with callbacks"
"$ST_PY" - <<'PY'
import csv
def h(d):
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")}
            for r in csv.DictReader(open(f"runs/{d}/history.csv"))]
a, b, c = h("a"), h("b"), h("c")
assert len(a) == 4 and a == b == c, (a, b, c)
lr = [float(r["lr"]) for r in a]
assert lr[1] < lr[0] and lr[3] < lr[2], lr   # halved by the plateau, and decaying
print("resume ok:", lr)
PY

# terminate_on_nan: a learning rate that blows up; exit 0, only the good step checkpoint.
run_np 2 train cfg.ini --set checkpoint.dir=runs/nan --set train.optimizer=sgd \
  --set train.learning_rate=1e30 --set callbacks.terminate_on_nan=true \
  --set checkpoint.every_steps=1 >nan.log 2>&1 || { cat nan.log; fail "terminate_on_nan exit"; }
# Which check fires first (a NaN loss, or NaN weights after the update) depends on the
# arithmetic: the deterministic default sums exactly and forms products its own way.
grep -q "\(invalid loss\|the weights became NaN or inf\) .*terminating training (terminate_on_nan)" \
  nan.log || fail "nan message"
"$ST_PY" -c "
import h5py, numpy as np, glob
fs = glob.glob('runs/nan/*.h5'); assert fs, 'no checkpoint kept'
for p in fs:
    f = h5py.File(p, 'r')
    f['model_weights'].visititems(lambda n, o: None if not hasattr(o, 'shape') or np.isfinite(o[()]).all() else exit('non-finite weights in ' + p))
"
run_np 2 train cfg.ini --set checkpoint.dir=runs/nan2 --set train.optimizer=sgd \
  --set train.learning_rate=1e30 >nan2.log 2>&1 && fail "divergence without terminate_on_nan exited 0"
echo "callbacks ok"
