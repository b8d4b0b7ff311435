# Parity with PyTorch (issue 4): for every layer type and option (activations,
# recurrent_activation, 'pre' and 'post' masking, bidirectional merge modes, both attention
# scores, stacks, sigmoid and softmax heads), the same weights and inputs give the same
# probabilities, loss and weight gradients in seqtrain (`seqtrain gradients`) as in PyTorch
# autograd in float64, within 1e-5 relative per tensor; and a checkpoint written by
# `seqtrain train` loads into PyTorch (tools/st_torch.py) and predicts what `seqtrain predict`
# predicts. See tests/parity/run_parity.py.
source "$(dirname "$0")/lib/common.sh"
if ! "$ST_PY" -c "import torch" 2>/dev/null; then
    echo "SKIPPED: PyTorch is not installed for $ST_PY (apt-get install python3-torch):" \
         "parity with PyTorch was NOT checked"
    exit 77  # ctest: SKIP_RETURN_CODE 77 (tests/CMakeLists.txt): shown as skipped, not passed
fi
"$ST_PY" "$ST_HERE/../parity/run_parity.py" "$ST_BIN"
