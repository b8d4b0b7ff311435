# The seed models (issue 4): every jobs/configs/*.ini trains for one short epoch under
# `mpiexec -n 2` on generated data of its shapes (token ids of its vocabulary and classes,
# per-step labels for the character model, float (N, 784) rows for the dense MNIST models), and
# its checkpoint, loaded into PyTorch by tools/st_torch.py, predicts what `seqtrain predict`
# predicts within 1e-5 (max absolute difference of the probabilities, and of the attention
# weights of the attention model). A few extra configs cover flatten, dropout, batch_norm
# without center/scale and float sequences. See tests/e2e/lib/seed_configs.py.
source "$(dirname "$0")/lib/common.sh"
if ! "$ST_PY" -c "import torch" 2>/dev/null; then
    echo "SKIPPED: PyTorch is not installed for $ST_PY (apt-get install python3-torch):" \
         "the seed configs were NOT checked"
    exit 77  # ctest: SKIP_RETURN_CODE 77 (tests/CMakeLists.txt): shown as skipped, not passed
fi
"$ST_PY" "$ST_HERE/lib/seed_configs.py" "$ST_BIN" "$ST_SYNTH" "$ST_MPIEXEC" \
    "$ST_HERE/../../jobs/configs"
