# bucket_by_length: batches of similar length with padding trimmed. The batches are a pure
# function of (seed, epoch, lengths), so 1, 2 and 3 ranks give the same weights, resume is
# exact (also mid-epoch), and the model still learns. Trimming only drops masked steps, so
# with a single pool and no shuffling the weights equal the untrimmed run's.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 1200 --test 300 --steps 30 --min-len 4 --padding post \
  --seed 11 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
b=(--set data.bucket_by_length=true --set data.bucket_batches=4 --set data.validation_split=0
   --set checkpoint.keep=0 --quiet)
for np in 1 2 3; do
  run_np $np train cfg.ini "${b[@]}" --set train.epochs=2 --set checkpoint.dir=runs/np$np
done
compare runs/np1/epoch-0002.h5 runs/np2/epoch-0002.h5 rel=1e-5 || fail "bucketed 1 vs 2 ranks"
compare runs/np1/epoch-0002.h5 runs/np3/epoch-0002.h5 rel=1e-5 || fail "bucketed 1 vs 3 ranks"

# mid-epoch resume (19 steps per epoch; a step checkpoint at global step 25)
run_np 2 train cfg.ini "${b[@]}" --set train.epochs=2 --set checkpoint.dir=runs/steps \
  --set checkpoint.every_steps=25
mkdir -p runs/mid && cp runs/steps/step-00000025.h5 runs/mid/
run_np 2 train cfg.ini "${b[@]}" --set train.epochs=2 --set checkpoint.dir=runs/mid \
  --resume runs/mid
compare runs/np2/epoch-0002.h5 runs/mid/epoch-0002.h5 exact || fail "bucketed mid-epoch resume"

# Bucketed training still learns the order task.
run_np 2 train cfg.ini "${b[@]}" --set train.epochs=6 --set checkpoint.dir=runs/learn
run_np 2 evaluate --checkpoint runs/learn --data order.h5 | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.95 else 1)" || fail "accuracy $acc"

# A float dataset cannot be bucketed: one clear line.
"$ST_SYNTH" --task sum --out sum.h5 --train 50 --test 10 --steps 6 >/dev/null
set +e
printf '[data]\npath = sum.h5\nbucket_by_length = true\n[train]\nloss = binary_crossentropy\n[lstm]\nunits = 4\n[dense]\nunits = 1\nactivation = sigmoid\n' >float.ini
run_np 2 train float.ini 2>err.txt >/dev/null
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "bucket_by_length needs token data" err.txt || { cat err.txt; fail "float bucketing"; }
echo "bucketing ok"
