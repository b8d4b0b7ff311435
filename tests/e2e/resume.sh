# Exact resume: 2 epochs straight == 1 epoch, then --resume for the second (bitwise, same
# ranks); a mid-epoch step checkpoint resumes exactly too; resuming on a different number of
# ranks gives the same weights within 1e-5.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 10 --steps 12 --seed 7 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
common=(--set data.validation_split=0.1 --set checkpoint.keep=0 --quiet)
run_np 2 train cfg.ini "${common[@]}" --set train.epochs=2 --set checkpoint.dir=runs/straight
run_np 2 train cfg.ini "${common[@]}" --set train.epochs=1 --set checkpoint.dir=runs/split
run_np 2 train cfg.ini "${common[@]}" --set train.epochs=2 --set checkpoint.dir=runs/split \
  --resume runs/split
compare runs/straight/epoch-0002.h5 runs/split/epoch-0002.h5 exact || fail "epoch resume"

# Mid-epoch: a step checkpoint every 4 steps (700*0.9 = 630 rows, 10 steps per epoch).
run_np 2 train cfg.ini "${common[@]}" --set train.epochs=2 --set checkpoint.dir=runs/steps \
  --set checkpoint.every_steps=4
ls runs/steps/step-00000012.h5 >/dev/null || fail "no step checkpoint"
mkdir -p runs/mid && cp runs/steps/step-00000012.h5 runs/mid/
run_np 2 train cfg.ini "${common[@]}" --set train.epochs=2 --set checkpoint.dir=runs/mid \
  --resume runs/mid/step-00000012.h5
compare runs/straight/epoch-0002.h5 runs/mid/epoch-0002.h5 exact || fail "mid-epoch resume"

# Another number of ranks: same math, different summation order.
run_np 3 train cfg.ini "${common[@]}" --set train.epochs=2 --set checkpoint.dir=runs/split3 \
  --resume runs/split/epoch-0001.h5
compare runs/straight/epoch-0002.h5 runs/split3/epoch-0002.h5 rel=1e-5 || fail "resume on 3 ranks"
