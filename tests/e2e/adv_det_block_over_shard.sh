# Adversarial reproducer (issue 12): deterministic mode when a block is larger than the largest
# shard of training rows (block_rows > min(batch_size, training rows)). Training itself copes
# (one short block per batch, bitwise the same as block_rows = batch_size), but the first
# validation pass asserts in st_eval_split (src/train/infer.c: chunk = maxB / br * br = 0,
# "blocks of 8 rows, batches of 4") and the run dies after a whole epoch of work, no checkpoint.
# Three ways to get there:
#   a. batch_size 4 < block_rows 8, validation_split 0.1
#   b. default block_rows (auto: ceil(64 / 16) = 4) with only 2 training rows left by
#      validation_split
#   c. 10 training rows < block_rows 13, validation from a /valid split
# Expected: each trains and validates (or is refused up front with one clear error line).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 60 --test 10 --steps 8 --min-len 3 --seed 5 >/dev/null
"$ST_SYNTH" --out tiny.h5 --train 10 --test 30 --steps 8 --min-len 3 --seed 3 >/dev/null
"$ST_PY" -c "import h5py; f = h5py.File('tiny.h5', 'r+'); f.move('test', 'valid')"
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
common=(--set train.deterministic=true --set train.epochs=1 --quiet)

bad=()
try() {
  local name=$1
  shift
  set +e
  run_np 2 train cfg.ini "${common[@]}" --set checkpoint.dir=runs/$name "$@" >out.txt 2>&1
  local rc=$?
  set -e
  if grep -q "infer.c.*blocks of" out.txt; then
    bad+=("$name: $(grep -m1 'infer.c' out.txt) (exit $rc)")
  elif [ $rc -ne 0 ] && [ "$(grep -c 'seqtrain: error:' out.txt)" -ne 1 ]; then
    bad+=("$name: exit $rc without one clear error line: $(head -2 out.txt | tr '\n' ' ')")
  elif [ $rc -eq 0 ] && ! [ -f runs/$name/epoch-0001.h5 ]; then
    bad+=("$name: exit 0 but no epoch-0001.h5")
  else
    echo "ok $name (exit $rc)"
  fi
}
try batch_lt_block --set train.batch_size=4 --set train.block_rows=8
try auto_tiny --set data.path=tiny.h5 --set data.validation_split=0.75
try valid_split --set data.path=tiny.h5 --set data.validation_split=0 \
  --set train.batch_size=26 --set train.block_rows=13

if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAIL: %s\n' "${bad[@]}" >&2
  fail "${#bad[@]} deterministic runs crashed in validation"
fi
echo "adv_det_block_over_shard: ok"
