# The sharded optimizer step and the reduction overlapped with backward (issue 14) change
# neither the weights nor the checkpoints:
#  1. deterministic mode: det_stack (stacked LSTMs, batch_norm, dropouts, adam + clipnorm, whose
#     per-tensor norms span the ranks' parts) and det_bigru (rmsprop + momentum, global_clipnorm)
#     at 3 ranks, with every combination of shard_optimizer and overlap, and buckets of one
#     layer (bucket_mb tiny) or the whole model: every checkpoint byte-identical to 1 rank's;
#  2. checkpoints move freely: a mid-run checkpoint of an unsharded 3-rank run resumed at 2
#     ranks sharded and overlapped, and of that run resumed at 4 ranks unsharded: the final
#     checkpoint byte-identical to the uninterrupted 1-rank run;
#  3. float mode (deterministic = false): the four combinations at 4 ranks agree with 1 rank
#     within float rounding (no gradient lost or counted twice), on data whose last batch has
#     2 rows, so two ranks have none (they still take part in every reduction: no hang);
#  4. the optimizer state per rank shrinks with sharding (the BENCH line's optimizer_state_mb);
#  5. the embedding gradient exchanged as the rows a batch touched (sparse_embedding): the same;
#  6. bad values of the keys: one clear line.
source "$(dirname "$0")/lib/common.sh"
h5cmp() { "$ST_PY" "$ST_HERE/lib/h5cmp.py" "$@"; }
DET=(--set train.deterministic=true)
"$ST_SYNTH" --out det_order_pre.h5 --train 480 --test 10 --steps 10 --min-len 4 --seed 21 >/dev/null
"$ST_SYNTH" --out det_order_post.h5 --train 430 --test 10 --steps 10 --min-len 4 --padding post \
  --seed 22 >/dev/null

# same NAME REF DIR: the checkpoints of DIR are those of REF, byte for byte.
same() {
  local name=$1 ref=$2 dir=$3 f n=0
  [ "$(cd "$ref" && ls ./*.h5 | sort)" = "$(cd "$dir" && ls ./*.h5 | sort)" ] ||
    fail "$name: checkpoints $(ls "$dir" | tr '\n' ' ') want $(ls "$ref" | tr '\n' ' ')"
  for f in "$ref"/*.h5; do
    n=$((n + 1))
    h5cmp "$f" "$dir/${f##*/}" || fail "$name: ${f##*/} not byte-identical"
  done
  echo "ok $name: $n checkpoints byte-identical"
}

# 1. every combination, deterministic
for c in stack bigru; do
  cp "$ST_HERE/lib/det_$c.ini" "$c.ini"
  run_np 1 train "$c.ini" "${DET[@]}" --set train.epochs=2 --set checkpoint.dir=runs/$c-1 --quiet ||
    fail "$c: 1 rank"
  for v in false,false true,false false,true true,true; do
    s=${v%,*} o=${v#*,}
    for mb in 0.0001 64; do
      [ "$o" = true ] || [ "$mb" = 64 ] || continue # buckets only matter when overlapped
      d=runs/$c-3-$s-$o-$mb
      run_np 3 train "$c.ini" "${DET[@]}" --set train.epochs=2 --set train.shard_optimizer=$s \
        --set train.overlap=$o --set train.bucket_mb=$mb --set checkpoint.dir=$d --quiet ||
        fail "$c: 3 ranks shard_optimizer=$s overlap=$o bucket_mb=$mb"
      same "$c 3 ranks shard_optimizer=$s overlap=$o bucket_mb=$mb" runs/$c-1 $d
    done
  done
done

# 2. resume across sharding and rank counts (det_stack writes a step checkpoint every 7 steps)
run_np 3 train stack.ini "${DET[@]}" --set train.epochs=2 --set train.shard_optimizer=false \
  --set train.overlap=false --set checkpoint.dir=runs/r3 --quiet || fail "resume: 3 ranks"
cp -r runs/r3 runs/r2
rm -f runs/r2/epoch-0002.h5 runs/r2/step-0000002[1-9].h5 runs/r2/step-0000003*.h5
ls runs/r2/step-00000021.h5 >/dev/null 2>&1 || ls runs/r2
mid=$(ls runs/r2/step-*.h5 | sort | tail -1)
run_np 2 train stack.ini "${DET[@]}" --set train.epochs=2 --set train.shard_optimizer=true \
  --set train.overlap=true --set train.bucket_mb=0.0001 --set checkpoint.dir=runs/r2 \
  --resume "$mid" 2>resume.err >/dev/null || fail "resume at 2 ranks sharded from ${mid##*/}"
# they change how the step runs, not what it computes: no warning
! grep -E "shard_optimizer|overlap|bucket_mb" resume.err || fail "resume warned of the changed keys"
h5cmp runs/stack-1/epoch-0002.h5 runs/r2/epoch-0002.h5 ||
  fail "unsharded 3 ranks -> sharded 2 ranks: not byte-identical"
echo "ok resume: ${mid##*/} of an unsharded 3-rank run, resumed at 2 ranks sharded"
cp -r runs/r2 runs/r4
rm -f runs/r4/epoch-0002.h5
run_np 4 train stack.ini "${DET[@]}" --set train.epochs=2 --set train.shard_optimizer=false \
  --set train.overlap=false --set checkpoint.dir=runs/r4 --resume runs/r4/epoch-0001.h5 --quiet ||
  fail "resume at 4 ranks unsharded"
h5cmp runs/stack-1/epoch-0002.h5 runs/r4/epoch-0002.h5 ||
  fail "sharded 2 ranks -> unsharded 4 ranks: not byte-identical"
echo "ok resume: epoch-0001 of the sharded 2-rank run, resumed at 4 ranks unsharded"

# 3. float mode: 64 x 15 + 2 rows, so the last batch of each epoch has 2 rows over 4 ranks
"$ST_SYNTH" --out order.h5 --train 962 --test 10 --steps 12 --seed 5 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
F=(--set train.deterministic=false --set train.epochs=2 --set data.validation_split=0
   --set train.clipnorm=1 --quiet)
run_np 1 train cfg.ini "${F[@]}" --set checkpoint.dir=runs/f1 || fail "float: 1 rank"
for v in false,false true,false false,true true,true; do
  s=${v%,*} o=${v#*,}
  run_np 4 train cfg.ini "${F[@]}" --set train.shard_optimizer=$s --set train.overlap=$o \
    --set train.bucket_mb=0.0001 --set checkpoint.dir=runs/f4-$s-$o ||
    fail "float: 4 ranks shard_optimizer=$s overlap=$o"
  compare runs/f1/epoch-0002.h5 runs/f4-$s-$o/epoch-0002.h5 rel=1e-4 ||
    fail "float: 4 ranks shard_optimizer=$s overlap=$o differs from 1 rank"
  echo "ok float 4 ranks shard_optimizer=$s overlap=$o: as 1 rank within float rounding"
done

# 4. optimizer state per rank (adam: 2 floats a parameter)
state_mb() {
  run_np "$1" train cfg.ini --benchmark 2 --warmup 1 --set train.shard_optimizer="$2" 2>&1 |
    sed -n 's/^BENCH //p' | "$ST_PY" -c 'import json,sys; print(json.load(sys.stdin)["optimizer_state_mb"]["max"])'
}
one=$(state_mb 1 false) two=$(state_mb 2 true) twou=$(state_mb 2 false)
"$ST_PY" - "$one" "$two" "$twou" <<'PY' || fail "optimizer state: 1 rank $one MB, 2 ranks sharded $two MB, unsharded $twou MB"
import sys
one, two, twou = map(float, sys.argv[1:])
assert twou == one, (one, twou)
assert 0.45 * one <= two <= 0.6 * one, (one, two)
PY
echo "ok optimizer state per rank: $one MB, 2 ranks sharded $two MB"

# 5. the embedding exchanged sparsely (a 5000-row table of which a batch touches at most 20
#    rows): deterministic, byte-identical to 1 rank with and without it, sharded or not, and
#    the benchmark says the sparse path ran; float, 4 ranks as 1 within float rounding.
BIG=(--set embedding.input_dim=5000 --set train.epochs=2)
run_np 1 train bigru.ini "${DET[@]}" "${BIG[@]}" --set checkpoint.dir=runs/sp-1 --quiet ||
  fail "sparse: 1 rank"
for v in true,true true,false false,true; do
  sp=${v%,*} s=${v#*,}
  run_np 3 train bigru.ini "${DET[@]}" "${BIG[@]}" --set train.sparse_embedding=$sp     --set train.shard_optimizer=$s --set checkpoint.dir=runs/sp-3-$sp-$s --quiet ||
    fail "sparse: 3 ranks sparse_embedding=$sp shard_optimizer=$s"
  same "3 ranks sparse_embedding=$sp shard_optimizer=$s" runs/sp-1 runs/sp-3-$sp-$s
done
# Rows all over a 3000-row table of 7-float rows, so that the parts (1024-float boundaries)
# cut rows in two and every rank receives rows: det_birnn with its embedding trainable, on
# token ids drawn from 3000 (a batch touches at most 26 x 9 = 234 rows).
"$ST_SYNTH" --task tokens --out det_tokens.h5 --train 400 --test 10 --steps 9 --min-len 3 \
  --vocab 3000 --classes 3 --padding pre --seed 23 >/dev/null
cp "$ST_HERE/lib/det_birnn.ini" birnn.ini
WIDE=(--set embedding.input_dim=3000 --set embedding.output_dim=7 --set embedding.trainable=true)
run_np 1 train birnn.ini "${DET[@]}" "${WIDE[@]}" --set checkpoint.dir=runs/spw-1 --quiet ||
  fail "sparse rows across parts: 1 rank"
for np in 2 3 4; do
  run_np $np train birnn.ini "${DET[@]}" "${WIDE[@]}" --set train.shard_optimizer=true \
    --set train.overlap=true --set checkpoint.dir=runs/spw-$np --quiet ||
    fail "sparse rows across parts: $np ranks"
  same "$np ranks, sparse rows across the parts" runs/spw-1 runs/spw-$np
done
share=$(run_np 2 train bigru.ini "${BIG[@]}" --benchmark 2 --warmup 0 2>&1 |
  sed -n 's/^BENCH //p' | "$ST_PY" -c 'import json,sys; print(json.load(sys.stdin)["sparse_embedding_share"])')
[ "$share" = 1.0 ] || fail "sparse: the benchmark's sparse_embedding_share is $share, want 1.0"
run_np 1 train cfg.ini "${F[@]}" --set embedding.input_dim=5000 --set checkpoint.dir=runs/fs1 ||
  fail "sparse float: 1 rank"
for s in true false; do
  run_np 4 train cfg.ini "${F[@]}" --set embedding.input_dim=5000 --set train.shard_optimizer=$s     --set checkpoint.dir=runs/fs4-$s || fail "sparse float: 4 ranks shard_optimizer=$s"
  compare runs/fs1/epoch-0002.h5 runs/fs4-$s/epoch-0002.h5 rel=1e-4 ||
    fail "sparse float: 4 ranks shard_optimizer=$s differs from 1 rank"
  echo "ok sparse float 4 ranks shard_optimizer=$s: as 1 rank within float rounding"
done

# 6. bad values
expect_error "shard_optimizer" "shard_optimizer = maybe: must be auto, true or false" \
  run_np 2 train cfg.ini --set train.shard_optimizer=maybe
expect_error "bucket_mb" "bucket_mb" run_np 2 train cfg.ini --set train.bucket_mb=0
echo "shard_overlap: ok"
