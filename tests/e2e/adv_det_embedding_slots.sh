# Adversarial reproducer (issue 12): deterministic mode allocates (and zeroes) a gradient slot
# per block for EVERY parameter, the row-sparse embedding included, although the embedding's
# gradient never goes through the slots (src/layers/embedding.c: "no block slot of this
# (usually the largest) tensor is ever written"; st_model_set_blocks sizes grad_stride from
# m->nparams). With the default block_rows (16 blocks per batch) a model dominated by its
# embedding needs ~5x the memory of deterministic = false, and the start-up memory check
# counts the dead slots too (so it refuses runs that would fit: batch 4096, block_rows 1 and
# a 100000 x 32 embedding are refused for "gradients 49.2 GiB").
# Measured: Embedding(100000, 128) -> LSTM(64) -> Dense(1), seq 16, batch 128: peak RSS
# 230 MiB with deterministic = false, 1084 MiB with true.
# Expected: the deterministic run's peak RSS under 2x the plain run's.
source "$(dirname "$0")/lib/common.sh"
cfg=(--set data.seq_len=16 --set embedding.input_dim=100000 --set embedding.output_dim=128
     --benchmark 2 --warmup 1)
rss() {
  run_np 1 train "$ST_HERE/../../tools/bench/configs/M2.ini" --set train.deterministic=$1 \
    "${cfg[@]}" | "$ST_PY" -c '
import json, sys
for l in sys.stdin:
    if l.startswith("BENCH "): print(int(json.loads(l[6:])["peak_rss_mb"]["max"]))'
}
plain=$(rss false)
det=$(rss true)
echo "peak RSS: deterministic = false $plain MiB, true $det MiB"
[ "$det" -lt $((2 * plain)) ] ||
  fail "deterministic peak RSS $det MiB >= 2 x $plain MiB: dead gradient slots of the embedding"
echo "adv_det_embedding_slots: ok"
