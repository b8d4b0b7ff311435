#!/usr/bin/python3
"""seed_configs.py - every jobs/configs/*.ini trains under MPI and loads into PyTorch.

For each config (issue 4, "every seed model has a config that trains under mpirun -np 2; the
checkpoint of each loads into PyTorch and predicts the same probabilities as seqtrain
predict"):
  1. a small dataset of the config's shapes, written by seqtrain-synth:
       embedding first, vector head      --task tokens      vocab = embedding.input_dim,
                                                             classes = head units (2 for one
                                                             sigmoid unit)
       embedding first, sequence head    --task copy-shift  (N, T) labels, vocab = input_dim
                                                             (= the head's units)
       dense / batch_norm first          --task blobs       float (N, 784): the dense MNIST
                                                             models' input
       recurrent / flatten first         --task sum         float (N, T, F), 2 classes
     The sequences are short (T = 12) and the files small: the model is the config's own, only
     the data is smaller (T comes from the data; nothing in the model depends on it).
  2. `seqtrain train CONFIG` under MPIEXEC -n 2 for one epoch of a few steps, with
     --set data.path, train.epochs=1, checkpoint.dir, data.validation_split=0 and a global batch
     of 16 (the config's optimizer, learning rate, clipping, dropout and initializers stay);
  3. `seqtrain predict` of the test split, also on 2 ranks (and, for a model with an
     attention layer, its attention weights);
  4. tools/st_torch.py loads the checkpoint and predicts in float64; the largest absolute
     difference of the probabilities (and of the attention weights) must be <= 1e-5.
A few extra configs (EXTRA below) cover what st_torch supports that no seed config uses:
flatten, a dropout layer, batch_norm without center/scale, float sequences into a GRU.

Usage: seed_configs.py SEQTRAIN SEQTRAIN_SYNTH MPIEXEC CONFIG_DIR [-k SUBSTRING] [--jobs N]
Runs in the current directory (one subdirectory per config). Exit status 0 when every config
passes; 1 otherwise, with one FAIL line per config naming it and saying what went wrong.
"""
import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools"))
import st_torch  # noqa: E402

TOL = 1e-5          # max |p_seqtrain - p_torch|
NTRAIN, NTEST = 64, 32
T, MIN_LEN = 12, 3
BATCH = 16          # global batch: 4 steps of 8 rows per rank
DENSE_FEATURES = 784  # dense-first configs are the MNIST models: x (N, 784)
# The padding of each tutorial's data ('pre': keras pad_sequences' default; 'post': the
# TextVectorization / padding='post' tutorials). Configs not listed alternate.
PADDING = {"imdb_": "pre", "imdb10k_": "post", "agnews_": "post", "sms_": "post",
           "spam_": "pre", "charlm_": "post"}
RECURRENT = ("simple_rnn", "lstm", "gru", "bidirectional")

# Configs that are not seed models, for the layers and inputs no seed config has.
EXTRA = {
    "extra_flatten_dropout.ini": """
[data]
path = data.h5
[train]
batch_size = 16
optimizer = adam
loss = binary_crossentropy
[flatten]
[dense]
units = 16
activation = relu
[dropout]
rate = 0.3
[dense]
units = 1
activation = sigmoid
""",
    "extra_dense_bn_plain.ini": """
[data]
path = data.h5
[train]
batch_size = 16
optimizer = rmsprop
loss = sparse_categorical_crossentropy
[dense]
units = 12
activation = tanh
[batch_norm]
center = false
scale = false
momentum = 0.5
[dropout]
rate = 0.5
[batch_norm]
momentum = 0.8
epsilon = 0.01
[dense]
units = 3
activation = softmax
""",
    "extra_float_gru.ini": """
[data]
path = data.h5
[train]
batch_size = 16
optimizer = sgd
learning_rate = 0.1
loss = binary_crossentropy
[gru]
units = 6
return_sequences = true
[lstm]
units = 5
dropout = 0.2
recurrent_dropout = 0.2
[dense]
units = 1
activation = sigmoid
""",
}


class CaseError(Exception):
    pass


def plan(name, text, index):
    """The seqtrain-synth arguments for a config's shapes, and what to compare."""
    specs = st_torch.layer_sections(st_torch.parse_config(text))
    if not specs:
        raise CaseError("no layer sections")
    kinds = [k for k, _, _ in specs]
    head_kind, _, head = specs[-1]
    if head_kind != "dense":
        raise CaseError("the last layer is %s, not a dense head" % head_kind)
    K = int(head["units"])
    classes = 2 if K == 1 else K
    # A sequence head: the last layer before the head that changes the shape returns sequences.
    seq_head = False
    for kind, _, opts in reversed(specs[:-1]):
        if kind in ("dropout", "dense"):
            continue
        seq_head = kind in RECURRENT and st_torch._bool(opts.get("return_sequences", "false"))
        break
    pad = next((p for k, p in PADDING.items() if name.startswith(k)),
               "pre" if index % 2 else "post")
    common = ["--train", str(NTRAIN), "--test", str(NTEST), "--seed", str(100 + index)]
    tok = ["--steps", str(T), "--min-len", str(MIN_LEN), "--padding", pad]
    first = kinds[0]
    if first == "embedding":
        V = int(specs[0][2]["input_dim"])
        if seq_head:
            if K != V:
                raise CaseError("sequence head with %d units on a vocabulary of %d: the test's "
                                "copy-shift data needs them equal" % (K, V))
            return ["--task", "copy-shift", "--vocab", str(V)] + tok + common, pad
        return ["--task", "tokens", "--vocab", str(V), "--classes", str(classes)] + tok \
            + common, pad
    if first in ("dense", "batch_norm", "dropout"):
        return ["--task", "blobs", "--features", str(DENSE_FEATURES), "--classes",
                str(classes)] + common, "-"
    if first in RECURRENT + ("flatten",):
        if seq_head:
            raise CaseError("float-sequence input with a sequence head: no generator")
        return ["--task", "sum", "--steps", "8", "--features", "4", "--classes", str(classes)] \
            + common, "-"
    raise CaseError("first layer %s: no generator for its input" % first)


def run(cmd, cwd, what):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise CaseError("%s timed out: %s" % (what, " ".join(cmd)))
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise CaseError("%s failed (exit %d): %s\n    command: %s"
                        % (what, r.returncode, " | ".join(msg[-3:]), " ".join(cmd)))
    return r.stdout


def seqtrain_side(args, name, cfg_path, d, synth_args):
    """Data, training and prediction (subprocesses only: run several at a time)."""
    mpi = [args.mpiexec, "--oversubscribe", "--allow-run-as-root", "-n", "2", args.seqtrain]
    run([args.synth, "--out", "data.h5"] + synth_args, d, "seqtrain-synth")
    t0 = time.time()
    run(mpi + ["train", cfg_path, "--quiet",
               "--set", "data.path=data.h5", "--set", "train.epochs=1",
               "--set", "checkpoint.dir=runs", "--set", "data.validation_split=0",
               "--set", "train.batch_size=%d" % BATCH], d, "seqtrain train (mpiexec -n 2)")
    t1 = time.time()
    with open(cfg_path) as f:
        att = any(s == "attention" for s, _ in st_torch.parse_config(f.read()))
    run(mpi + ["predict", "--checkpoint", "runs", "--data", "data.h5", "--split", "test",
               "--out", "pred.h5", "--quiet"] + (["--attention", "att.h5"] if att else []),
        d, "seqtrain predict (mpiexec -n 2)")
    return t1 - t0, time.time() - t1


def torch_side(d):
    """max |p_seqtrain - p_torch| (and for attention models the attention weights')."""
    model, _ = st_torch.load_seqtrain_checkpoint(os.path.join(d, "runs"))
    with h5py.File(os.path.join(d, "data.h5"), "r") as f:
        x = f["test/x"][()]
    with h5py.File(os.path.join(d, "pred.h5"), "r") as f:
        p_st = f["predictions"][()].astype(np.float64)
    p_torch = model.predict(x)
    if p_st.shape != p_torch.shape:
        raise CaseError("seqtrain predicted shape %s, PyTorch %s" % (p_st.shape, p_torch.shape))
    if not np.all(np.isfinite(p_st)):
        raise CaseError("seqtrain predicted non-finite probabilities")
    out = {"predictions": float(np.max(np.abs(p_st - p_torch)))}
    atts = [L for L in model.layers if isinstance(L, st_torch.Attention)]
    if atts and os.path.exists(os.path.join(d, "att.h5")):
        with h5py.File(os.path.join(d, "att.h5"), "r") as f:
            a_st = f["attention"][()].astype(np.float64)
        model.predict(x[:len(a_st)])  # the forward keeps alpha of its last call
        a_torch = atts[0].weights.numpy()
        if a_st.shape != a_torch.shape:
            raise CaseError("attention weights: seqtrain %s, PyTorch %s"
                            % (a_st.shape, a_torch.shape))
        out["attention"] = float(np.max(np.abs(a_st - a_torch)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seqtrain")
    ap.add_argument("synth")
    ap.add_argument("mpiexec")
    ap.add_argument("config_dir")
    ap.add_argument("-k", default="", help="only configs whose name contains this")
    ap.add_argument("--jobs", type=int, default=2, help="configs trained at a time")
    args = ap.parse_args()
    args.seqtrain, args.synth = os.path.abspath(args.seqtrain), os.path.abspath(args.synth)
    torch.set_num_threads(1)
    start = time.time()

    cases = []  # (name, config path, work dir)
    for path in sorted(glob.glob(os.path.join(args.config_dir, "*.ini"))):
        cases.append((os.path.basename(path), os.path.abspath(path)))
    if not cases:
        print("FAIL no configs in %s" % args.config_dir)
        return 1
    os.makedirs("extra", exist_ok=True)
    for n, text in EXTRA.items():
        p = os.path.abspath(os.path.join("extra", n))
        with open(p, "w") as f:
            f.write(text.lstrip())
        cases.append((n, p))
    cases = [c for c in cases if args.k in c[0]]

    jobs = []
    for i, (name, path) in enumerate(cases):
        d = os.path.abspath(name[:-4])
        os.makedirs(d, exist_ok=True)
        try:
            with open(path) as f:
                synth_args, pad = plan(name[:-4], f.read(), i)
        except (CaseError, KeyError, ValueError) as e:
            jobs.append((name, path, d, None, None, "cannot make data for it: %s" % e))
            continue
        jobs.append((name, path, d, synth_args, pad, None))

    def seq_job(job):
        name, path, d, synth_args, _, err = job
        if err:
            return None, err
        try:
            return seqtrain_side(args, name, path, d, synth_args), None
        except CaseError as e:
            return None, str(e)

    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(seq_job, j) for j in jobs]
        for job, fut in zip(jobs, futures):
            name, path, d, synth_args, pad, _ = job
            times, err = fut.result()
            try:
                if err:
                    raise CaseError(err)
                diffs = torch_side(d)
            except (CaseError, OSError, KeyError, ValueError, RuntimeError) as e:
                print("FAIL %-32s %s" % (name, e))
                failed.append(name)
                continue
            worst = max(diffs.values())
            ok = worst <= TOL
            shape = synth_args[1] + ("/" + pad if pad != "-" else "")
            print("%s %-32s %-16s max|p_seqtrain - p_torch| %.2e%s  (train %.1fs, predict %.1fs)"
                  % ("ok  " if ok else "FAIL", name, shape, diffs["predictions"],
                     "  attention %.2e" % diffs["attention"] if "attention" in diffs else "",
                     times[0], times[1]))
            if not ok:
                print("     %s: seqtrain and PyTorch disagree by %.2e > %g"
                      % (name, worst, TOL))
                failed.append(name)
    print("%d configs, %d failed, %.1f s" % (len(jobs), len(failed), time.time() - start))
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
