# Adversarial reproducer (issue 12): [train] block_rows far above batch_size. A block_rows of
# batch_size or more means one block per batch (bitwise what block_rows = batch_size gives), and
# the key accepts up to INT_MAX, but:
#   a. block_rows = 2147483647: int overflow in (maxB + block_rows - 1) / block_rows
#      (src/train/step.c st_run_setup) -> "model.c:419: blocks of 2147483647 rows, 0 slots"
#      assertion at start-up;
#   b. block_rows = 100000000: the gather scratch is sized maxT x block_rows x width, not by the
#      rows a block can have: "out of memory: 448000000000 bytes (417.2 GiB) for the
#      deterministic reduction's gather space" for a 2,139-parameter model with batch 26.
# Expected: both train like block_rows = 26 (checked byte for byte), or are refused by the
# config check with one clear error line naming block_rows.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out det_order_pre.h5 --train 120 --test 10 --steps 10 --min-len 4 --seed 21 >/dev/null
cp "$ST_HERE/lib/det_stack.ini" cfg.ini
common=(--set train.deterministic=true --set train.epochs=1 --set checkpoint.every_steps=0
        --set data.validation_split=0 --quiet)
run_np 2 train cfg.ini "${common[@]}" --set train.block_rows=26 --set checkpoint.dir=runs/ref
bad=()
for br in 2147483647 100000000; do
  set +e
  run_np 2 train cfg.ini "${common[@]}" --set train.block_rows=$br --set checkpoint.dir=runs/b$br \
    >out.txt 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    "$ST_PY" "$ST_HERE/lib/h5cmp.py" runs/ref/epoch-0001.h5 runs/b$br/epoch-0001.h5 >cmp.txt ||
      bad+=("block_rows $br: not byte-identical to block_rows 26: $(head -1 cmp.txt)")
  elif grep -q "\.c:[0-9]*:" out.txt; then
    bad+=("block_rows $br: assertion: $(grep -m1 '\.c:[0-9]*:' out.txt)")
  elif ! grep -q "seqtrain: error:.*block_rows" out.txt; then
    bad+=("block_rows $br: exit $rc: $(grep -m1 'error' out.txt)")
  fi
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAIL: %s\n' "${bad[@]}" >&2
  fail "${#bad[@]} huge block_rows settings failed"
fi
echo "adv_det_huge_block_rows: ok"
