# Dropout, recurrent dropout and batch_norm keep seqtrain's guarantees: the masks are keyed by
# (seed, epoch, global sample id) and batch_norm's statistics are those of the global batch,
# so 1, 2 and 3 ranks give the same weights (moving statistics included), and a resumed run
# (end of epoch or mid-epoch) regenerates the same masks: bitwise equal on the same ranks.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 10 --steps 12 --seed 5 >/dev/null
cp "$ST_HERE/lib/reg_lstm.ini" cfg.ini
for np in 1 2 3; do
  run_np $np train cfg.ini --set checkpoint.dir=runs/np$np --quiet
done
"$ST_PY" - <<'PY' || fail "no moving statistics in the checkpoint"
import h5py
f = h5py.File("runs/np1/epoch-0002.h5", "r")["model_weights/batch_norm_1"]
assert sorted(f) == ["beta", "gamma", "moving_mean", "moving_variance"], sorted(f)
assert abs(f["moving_mean"][()]).max() > 0  # updated by training
PY
compare runs/np1/epoch-0002.h5 runs/np2/epoch-0002.h5 rel=1e-5 || fail "1 vs 2 ranks"
compare runs/np1/epoch-0002.h5 runs/np3/epoch-0002.h5 rel=1e-5 || fail "1 vs 3 ranks"
# Dropout does something: without it the weights differ.
run_np 2 train cfg.ini --set checkpoint.dir=runs/nodrop --set lstm.dropout=0 \
  --set lstm.recurrent_dropout=0 --set dropout.rate=0 --quiet
! compare runs/np2/epoch-0002.h5 runs/nodrop/epoch-0002.h5 rel=1e-3 >/dev/null ||
  fail "dropout changed nothing"

# Resume: after epoch 1, and from a step checkpoint in the middle of epoch 2 (630 rows,
# 10 steps per epoch).
run_np 2 train cfg.ini --set train.epochs=1 --set checkpoint.dir=runs/split --quiet
run_np 2 train cfg.ini --set checkpoint.dir=runs/split --resume runs/split --quiet
compare runs/np2/epoch-0002.h5 runs/split/epoch-0002.h5 exact || fail "epoch resume"
run_np 2 train cfg.ini --set checkpoint.dir=runs/steps --set checkpoint.every_steps=4 --quiet
mkdir -p runs/mid && cp runs/steps/step-00000012.h5 runs/mid/
run_np 2 train cfg.ini --set checkpoint.dir=runs/mid --resume runs/mid/step-00000012.h5 --quiet
compare runs/np2/epoch-0002.h5 runs/mid/epoch-0002.h5 exact || fail "mid-epoch resume"
# and on another number of ranks
run_np 3 train cfg.ini --set checkpoint.dir=runs/split3 --resume runs/split/epoch-0001.h5 --quiet
compare runs/np2/epoch-0002.h5 runs/split3/epoch-0002.h5 rel=1e-5 || fail "resume on 3 ranks"
