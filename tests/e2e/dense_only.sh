# Dense-only models on vectors: x float32 (N, 784) like a flattened MNIST (generated: class
# blobs, raw scale), batch_norm first as in the tutorial, on 2 ranks; and flatten on (N, T, F)
# rows. Both must learn their task.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --task blobs --features 784 --classes 10 --out mnist.h5 --train 3000 --test 500 \
  --seed 4 >/dev/null
sed -e 's|^path = .*|path = mnist.h5|' -e 's|^dir = .*|dir = runs/bn|' -e 's|^epochs = .*|epochs = 3|' \
  "$ST_HERE/../../jobs/configs/mnist_dense_deep.ini" > bn.ini
run_np 2 train bn.ini --quiet
run_np 2 evaluate --checkpoint runs/bn --data mnist.h5 --split test | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" || fail "bn accuracy $acc"
"$ST_PY" - <<'PY'
import h5py
w = h5py.File("runs/bn/epoch-0003.h5", "r")["model_weights"]
assert w["batch_norm_1/moving_mean"].shape == (784,)
PY
# flatten: the "sum" task's (N, 8, 4) rows, label = sign of the sum of feature 0: linear.
"$ST_SYNTH" --task sum --out sum.h5 --train 2000 --test 500 --steps 8 --features 4 \
  --seed 6 >/dev/null
cat > flat.ini <<'INI'
[data]
path = sum.h5
[train]
epochs = 5
batch_size = 32
optimizer = adam
learning_rate = 0.01
loss = binary_crossentropy
metrics = accuracy
[checkpoint]
dir = runs/flat
[flatten]
[dense]
units = 1
activation = sigmoid
INI
run_np 2 train flat.ini --quiet
run_np 2 evaluate --checkpoint runs/flat --data sum.h5 --split test | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" || fail "flatten accuracy $acc"
