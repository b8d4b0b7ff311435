# Exact resume on another number of ranks (issue 12): with [train] deterministic = true, a
# checkpoint written at 3 ranks in the MIDDLE of an epoch, resumed at 2 and at 4 ranks, ends
# byte-identical (tests/e2e/lib/h5cmp.py: weights, optimizer state, history but its timing
# columns, train state, callbacks) to the uninterrupted run at 3 ranks and at 1 rank; so does
# every checkpoint the resumed runs write on the way. The 2-rank continuation's own mid-epoch
# checkpoint, resumed at 4 ranks, too (3 -> 2 -> 4), and an epoch-end checkpoint of the 3-rank
# run resumed at 1 rank.
#   det_stack  dropout + recurrent_dropout masks, batch_norm moving statistics, adam moments,
#              the auc metric's half-epoch counts and the loss sums in /train_state/partial
#   det_m2m    bucket_by_length (the epoch's batches rebuilt from (seed, epoch)), many-to-many
#              real-step counts, sgd momentum
# Both have a step checkpoint every 7 steps and 17 (stack) or 18 (m2m) steps per epoch of
# 26-row batches, so steps 21 and 42 are in the middle of epochs 2 and 3 (checked below).
# A resume at 3 ranks, the same number, must match too (README: exact with or without the mode).
#
# ST_DET_SET (default "--set train.deterministic=true"): set it to "" to check the mechanics on
# a build without the mode (the resumes then differ in the last bits; each failure is one line).
source "$(dirname "$0")/lib/common.sh"
DET=(${ST_DET_SET---set train.deterministic=true})
blocks() { [ ${#DET[@]} -eq 0 ] || echo "--set train.block_rows=$1"; }
h5cmp() { "$ST_PY" "$ST_HERE/lib/h5cmp.py" "$@"; }

"$ST_SYNTH" --out det_order_pre.h5 --train 480 --test 10 --steps 10 --min-len 4 --seed 21 >/dev/null
"$ST_SYNTH" --task copy-shift --out det_copy.h5 --train 500 --test 10 --steps 12 --min-len 3 \
  --vocab 10 --padding post --seed 24 >/dev/null

bad=()
# same NAME DIR REF...: every checkpoint DIR holds but SKIP is byte-identical to the one of the
# same name in each REF (which must have it).
same() {
  local name=$1 dir=$2 f r n=0
  shift 2
  for f in $(ls "$dir"/step-*.h5 2>/dev/null) "$dir"/epoch-*.h5; do
    [ "${f##*/}" != "$SKIP" ] || continue
    for r in "$@"; do
      [ -f "$r/${f##*/}" ] || fail "$name: $r has no ${f##*/}"
      h5cmp "$r/${f##*/}" "$f" >cmp.txt || {
        cat cmp.txt
        bad+=("$name: ${f##*/} differs from $r's")
        return 0
      }
    done
    n=$((n + 1))
  done
  [ $n -gt 0 ] || fail "$name: nothing compared in $dir"
  echo "ok $name: $n checkpoints byte-identical to $*"
}
# resume NAME NP FROM: copies checkpoint FROM into runs/NAME and resumes there at NP ranks.
resume() {
  mkdir -p runs/$1
  cp "$3" runs/$1/
  SKIP=${3##*/}
  run_np $2 train $cfg.ini "${DET[@]}" $(blocks $br) --set checkpoint.dir=runs/$1 \
    --resume runs/$1/$SKIP --quiet 2>resume.err || { cat resume.err; fail "$1: resume failed"; }
}

for cb in stack:4 m2m:3; do
  cfg=${cb%:*} br=${cb#*:}
  cp "$ST_HERE/lib/det_$cfg.ini" $cfg.ini
  for np in 1 3; do
    run_np $np train $cfg.ini "${DET[@]}" $(blocks $br) --set checkpoint.dir=runs/$cfg-$np \
      --quiet || fail "$cfg: training at $np ranks failed"
  done
  [ -f runs/$cfg-3/epoch-0003.h5 ] && [ -f runs/$cfg-3/step-00000021.h5 ] ||
    fail "$cfg: missing checkpoints: $(ls runs/$cfg-3)"
  for s in 21 42; do
    "$ST_PY" -c "import h5py, sys; sys.exit(int(h5py.File(sys.argv[1])['train_state/step_in_epoch'][()] == 0))" \
      runs/$cfg-3/step-000000$s.h5 || fail "$cfg: step $s is not in the middle of an epoch"
  done

  resume $cfg-3to3 3 runs/$cfg-3/step-00000021.h5
  same "$cfg: 3 ranks, mid-epoch, resumed at 3" runs/$cfg-3to3 runs/$cfg-3

  resume $cfg-3to2 2 runs/$cfg-3/step-00000021.h5
  same "$cfg: 3 ranks, mid-epoch, resumed at 2" runs/$cfg-3to2 runs/$cfg-3 runs/$cfg-1
  resume $cfg-3to4 4 runs/$cfg-3/step-00000021.h5
  same "$cfg: 3 ranks, mid-epoch, resumed at 4" runs/$cfg-3to4 runs/$cfg-3 runs/$cfg-1
  resume $cfg-3to2to4 4 runs/$cfg-3to2/step-00000042.h5
  same "$cfg: 3 -> 2 -> 4 ranks, mid-epoch" runs/$cfg-3to2to4 runs/$cfg-3 runs/$cfg-1
  resume $cfg-e3to1 1 runs/$cfg-3/epoch-0001.h5
  same "$cfg: 3 ranks, epoch end, resumed at 1" runs/$cfg-e3to1 runs/$cfg-3 runs/$cfg-1
done

if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAIL: %s\n' "${bad[@]}" >&2
  fail "${#bad[@]} resumed runs not byte-identical (ST_DET_SET='${DET[*]}')"
fi
echo "determinism_resume: ok"
