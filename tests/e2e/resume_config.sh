# A resume against the config stored in the checkpoint (README "What a resume may change"):
# a change to the model, the data, the loss or (mid-epoch) the batch order is refused with one
# line naming the key and both values, exit 1 on every rank, the directory untouched; a safe
# change (epochs) is accepted with a warning; another spelling of the same value is no change.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 10 --steps 12 --seed 7 >/dev/null
# Other data: the same shapes and rows with other values, and more rows (the data's identity is
# compared, not the path's text: resume_identity.sh has the same file under other spellings).
"$ST_SYNTH" --out other.h5 --train 700 --test 10 --steps 12 --seed 8 >/dev/null
"$ST_SYNTH" --out rows.h5 --train 800 --test 10 --steps 12 --seed 7 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
q=(--set train.epochs=1 --set checkpoint.keep=0 --set checkpoint.every_steps=4 --quiet)
run_np 2 train cfg.ini "${q[@]}" --set checkpoint.dir=runs/a
# 630 training rows, 10 steps per epoch: step-00000004.h5 is mid-epoch, epoch-0001.h5 an end.
mid=runs/a/step-00000004.h5
[ -f $mid ] && [ -f runs/a/epoch-0001.h5 ] || fail "checkpoints missing: $(ls runs/a)"
sum() { md5sum runs/a/*; }
before=$(sum)

# refused NAME PATTERN ARGS...: exit 1, one error line matching PATTERN, runs/a unchanged.
refused() {
  local name=$1 pat=$2 rc=0; shift 2
  run_np 2 train "$@" >out.txt 2>err.txt || rc=$?
  [ $rc -eq 1 ] || { cat err.txt; fail "$name: exit $rc, want 1"; }
  [ "$(grep -c 'seqtrain: error:' err.txt)" -eq 1 ] || { cat err.txt; fail "$name: not one line"; }
  grep -q -- "$pat" err.txt || { cat err.txt; fail "$name: no match for '$pat'"; }
  [ "$(sum)" = "$before" ] || fail "$name: the checkpoint directory changed"
  echo "ok $name: $(grep 'seqtrain: error:' err.txt)"
}
r=(--set checkpoint.dir=runs/a --set train.epochs=2 --quiet)
refused batch-mid "\[train\] batch_size = 32, but $mid was written with batch_size = 64 in the middle of an epoch" \
  cfg.ini "${r[@]}" --set train.batch_size=32 --resume $mid
refused shuffle-mid "\[train\] shuffle = false, but .* shuffle = true in the middle" \
  cfg.ini "${r[@]}" --set train.shuffle=off --resume $mid
refused dataset "\[data\] path = other.h5 is not the data runs/a/epoch-0001.h5 was trained on (path = order.h5): same shapes, but the values of /train/x differ" \
  cfg.ini "${r[@]}" --set data.path=other.h5 --resume runs/a
refused data-rows "\[data\] path = rows.h5 is not the data $mid was trained on (path = order.h5): rows in /train: 800, the checkpoint's data had 700" \
  cfg.ini "${r[@]}" --set data.path=rows.h5 --resume $mid
refused validation "\[data\] validation_split = 0.2, but .* validation_split = 0.1" \
  cfg.ini "${r[@]}" --set data.validation_split=0.2 --resume runs/a
refused activation "\[lstm\] lstm_1: activation = relu, but .* activation = (not set)" \
  cfg.ini "${r[@]}" --set lstm_1.activation=relu --resume runs/a
sed 's/^mask_zero = true$/mask_zero = false/' cfg.ini >mask.ini
refused mask-zero "mask.ini:23: cannot resume: \[embedding\] embedding_1: mask_zero = false, but .* mask_zero = true" \
  mask.ini "${r[@]}" --resume runs/a
refused loss "\[train\] loss = mse, but .* loss = binary_crossentropy" \
  cfg.ini "${r[@]}" --set train.loss=mse --resume runs/a
refused optimizer "\[train\] optimizer = sgd, but .* optimizer = adam" \
  cfg.ini "${r[@]}" --set train.optimizer=sgd --resume runs/a
sed 's/^\[dense\]$/[dropout]\nrate = 0.2\n\n[dense]/' cfg.ini >drop.ini
refused dropout-layer "drop.ini:28: cannot resume: layer 3 is \[dropout\] dropout_1, but .* with \[dense\] dense_1 (3 layers, the config has 4)" \
  drop.ini "${r[@]}" --resume runs/a

# Accepted: epochs (one warning line, the run continues from the checkpoint); batch_size at an
# epoch end (a warning); the same value spelled otherwise or written out as its default (none).
run_np 2 train cfg.ini "${r[@]}" --resume runs/a/epoch-0001.h5 --set checkpoint.dir=runs/b \
  >out.txt 2>err.txt || { cat err.txt; fail "epochs: refused"; }
grep -q "warning: resuming runs/a/epoch-0001.h5 with \[train\] epochs = 2 (it was 1)" err.txt ||
  { cat err.txt; fail "epochs: no warning"; }
[ -f runs/b/epoch-0002.h5 ] || fail "epochs: no epoch 2"
mkdir -p runs/c && cp runs/a/epoch-0001.h5 runs/c/
run_np 2 train cfg.ini "${q[@]}" --set checkpoint.dir=runs/c --set train.batch_size=32 \
  --set train.epochs=2 --resume runs/c >out.txt 2>err.txt || { cat err.txt; fail "batch at epoch end"; }
grep -q "with \[train\] batch_size = 32 (it was 64)" err.txt || { cat err.txt; fail "batch: no warning"; }
mkdir -p runs/d && cp $mid runs/d/
run_np 2 train cfg.ini "${q[@]}" --set checkpoint.dir=runs/d --set train.shuffle=yes \
  --set lstm_1.activation=tanh --set embedding_1.mask_zero=on --resume runs/d >out.txt 2>err.txt || { cat err.txt; fail "same values refused"; }
! grep -q "shuffle\|activation\|mask_zero" err.txt || { cat err.txt; fail "same values warned"; }
echo "resume_config: ok"
