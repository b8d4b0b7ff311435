#!/usr/bin/python3
"""run_parity.py - seqtrain against PyTorch: same weights and inputs, same outputs and gradients.

For each case: a small config (INI) and a token dataset padded 'pre' or 'post' (written with
h5py in seqtrain's dataset schema); PyTorch (tools/st_torch.py, float64 autograd) draws the
weights, rounds them to float32 and writes them as a seqtrain checkpoint; `seqtrain gradients`
runs one batch of all rows and writes the head's probabilities, the mean loss and every weight
gradient; each must equal PyTorch's within 1e-5 relative, per tensor:
    max|seqtrain - torch| <= 1e-5 * max|torch| + 1e-9.
The checkpoint layout is exercised both ways: written here and read by seqtrain, and (the
"trained_*" cases) written by `seqtrain train`, read by st_torch, whose probabilities must
match `seqtrain predict`, and written back unchanged.

Usage: run_parity.py SEQTRAIN_BINARY [--keep DIR] [-k SUBSTRING] [-v]
Exit status 0 when every case passes, 1 otherwise (each case's worst error is printed).
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import st_torch  # noqa: E402

RTOL, TINY = 1e-5, 1e-9
N, T, V, E = 6, 7, 13, 4
LENS = [7, 4, 1, 5, 2, 3]  # real steps per row: a full row and a single-step row


def make_data(path, padding, K, seed, empty_row=False):
    """Token dataset (N, T), 0 = padding; one split used as train and test."""
    rng = np.random.default_rng(seed)
    x = np.zeros((N, T), np.int32)
    for i, L in enumerate(LENS):
        if empty_row and i == N - 1:
            continue  # a row with no real token at all (fully masked)
        tok = rng.integers(1, V, L)
        if padding == "post":
            x[i, :L] = tok
        else:
            x[i, T - L:] = tok
    y = rng.integers(0, max(K, 2), N).astype(np.int32)
    with h5py.File(path, "w") as f:
        for split in ("train", "test"):
            f[split + "/x"] = x
            f[split + "/y"] = y
        f.attrs["num_classes"] = max(K, 2)
        f.attrs["vocab_size"] = V
    return x, y


def config_text(layers, head):
    K, act, loss = head
    lines = ["[data]", "path = data.h5", "", "[train]", "batch_size = %d" % N, "epochs = 1",
             "loss = %s" % loss, "optimizer = sgd", "learning_rate = 0.1", "", "[checkpoint]",
             "dir = runs", "",
             "[embedding]", "input_dim = %d" % V, "output_dim = %d" % E, "mask_zero = true", ""]
    for sec, opts in layers:
        lines.append("[%s]" % sec)
        lines += ["%s = %s" % kv for kv in opts.items()]
        lines.append("")
    lines += ["[dense]", "units = %d" % K, "activation = %s" % act, ""]
    return "\n".join(lines)


BCE = (1, "sigmoid", "binary_crossentropy")
CCE = (3, "softmax", "sparse_categorical_crossentropy")


def cases():
    """(name, layers, head, padding, empty_row)"""
    out = []

    def add(name, layers, head=BCE, paddings=("pre", "post"), empty_row=False):
        for p in paddings:
            out.append(("%s_%s" % (name, p), layers, head, p, empty_row and p == "post"))

    U = {"units": 4}
    for act in ("tanh", "sigmoid", "relu"):
        add("simple_rnn_" + act, [("simple_rnn", dict(U, activation=act))])
    add("lstm", [("lstm", dict(U))], empty_row=True)
    add("lstm_ra_relu", [("lstm", dict(U, recurrent_activation="relu"))])
    add("lstm_ra_hard_sigmoid", [("lstm", dict(U, recurrent_activation="hard_sigmoid"))])
    add("lstm_act_relu", [("lstm", dict(U, activation="relu"))])
    add("lstm_nobias", [("lstm", dict(U, use_bias="false"))], paddings=("post",))
    add("gru", [("gru", dict(U))], empty_row=True)
    add("gru_ra_hard_sigmoid", [("gru", dict(U, recurrent_activation="hard_sigmoid"))])
    add("gru_act_relu", [("gru", dict(U, activation="relu"))], paddings=("post",))
    add("gru_nobias", [("gru", dict(U, use_bias="false"))], paddings=("pre",))
    add("stacked_lstm_gru", [("lstm", dict(U, return_sequences="true")), ("gru", {"units": 3})],
        head=CCE)
    add("stacked_srnn3", [("simple_rnn", dict(U, return_sequences="true")),
                          ("simple_rnn", dict(U, return_sequences="true")),
                          ("simple_rnn", {"units": 3})])
    for inner in ("simple_rnn", "lstm", "gru"):
        for mm in ("concat", "sum", "mul", "ave"):
            # padding alternates over merge modes; both paddings for concat
            pads = ("pre", "post") if mm == "concat" else (("pre",) if mm in ("sum", "ave")
                                                           else ("post",))
            add("bidi_%s_%s" % (inner, mm), [("bidirectional",
                                               {"layer": inner, "units": 3, "merge_mode": mm})],
                paddings=pads)
        # a sequence-returning bidirectional under another recurrent layer
        add("bidi_%s_seq" % inner, [("bidirectional", {"layer": inner, "units": 3,
                                                       "return_sequences": "true",
                                                       "merge_mode": "concat"}),
                                    ("lstm", {"units": 3})], head=CCE, empty_row=True)
    add("bidi2_lstm", [("bidirectional", {"layer": "lstm", "units": 3, "return_sequences": "true"}),
                       ("bidirectional", {"layer": "lstm", "units": 3, "merge_mode": "sum"})],
        head=CCE, paddings=("post",))
    for score in ("luong", "bahdanau"):
        add("attention_%s_lstm" % score,
            [("lstm", dict(U, return_sequences="true", recurrent_activation="relu")),
             ("attention", {"score": score, "units": 5})], empty_row=True)
        add("attention_%s_bidi_gru" % score,
            [("bidirectional", {"layer": "gru", "units": 3, "return_sequences": "true",
                                "merge_mode": "mul" if score == "luong" else "concat"}),
             ("attention", {"score": score, "units": 4})], head=CCE)
    add("dense_mid", [("lstm", dict(U)), ("dense", {"units": 5, "activation": "tanh"})],
        head=CCE, paddings=("pre",))
    return out


def compare(a, b):
    """Worst per-tensor error ratio (<= 1 passes) and relative error max|a-b| / max|b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf"), float("inf")
    d = float(np.max(np.abs(a - b))) if a.size else 0.0
    m = float(np.max(np.abs(b))) if b.size else 0.0
    return d / (RTOL * m + TINY), d / m if m > 0 else d


def run_seqtrain(binary, args, cwd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run([binary] + args, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError("seqtrain %s failed (%d): %s%s" % (args[0], r.returncode, r.stdout,
                                                               r.stderr))


def torch_reference(model, x, y):
    model.zero_grad()
    z = model(torch.as_tensor(x, dtype=torch.int64))
    loss = model.loss(z, torch.as_tensor(y, dtype=torch.int64))
    loss.backward()
    return model.probabilities(z).detach().numpy(), float(loss), model.keras_weights(grad=True)


def prepare_gradient_case(work, name, layers, head, padding, empty_row, seed):
    """Data, torch model with random weights, and its checkpoint; returns what check needs."""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    x, y = make_data(os.path.join(d, "data.h5"), padding, head[0], seed, empty_row)
    cfg = config_text(layers, head)
    torch.manual_seed(seed)
    model = st_torch.SeqtrainModel(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                # Beyond the initializers' small values, so nonlinearities really bend;
                # float32-representable, so both sides use exactly the same weights.
                p.copy_(((torch.rand(p.shape, dtype=torch.float64) * 2 - 1) * 0.6)
                        .float().double())
    st_torch.save_seqtrain_checkpoint(model, cfg, os.path.join(d, "w.h5"))
    return d, model, x, y


def seqtrain_gradients(binary, d):
    run_seqtrain(binary, ["gradients", "--checkpoint", "w.h5", "--data", "data.h5", "--rows",
                          str(N), "--out", "g.h5", "--quiet"], d)


def check_gradient_case(d, model, x, y):
    probs, loss, grads = torch_reference(model, x, y)
    results = []
    with h5py.File(os.path.join(d, "g.h5"), "r") as g:
        results.append(("probabilities",) + compare(g["probabilities"][()], probs))
        results.append(("loss",) + compare(g["loss"][()], loss))
        for k, v in grads.items():
            if "gradients/" + k not in g:
                results.append((k + " (missing)", float("inf"), float("inf")))
                continue
            results.append((k,) + compare(g["gradients/" + k][()], v))
        # Every gradient seqtrain wrote has a torch counterpart (the layouts agree).
        extra = []
        g["gradients"].visititems(lambda p, o: extra.append(p) if isinstance(o, h5py.Dataset)
                                  and p not in grads else None)
        for k in extra:
            results.append((k + " (not in torch)", float("inf"), float("inf")))
    return results


def prepare_trained_case(work, name, layers, head, padding, seed):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    x, _ = make_data(os.path.join(d, "data.h5"), padding, head[0], seed, empty_row=True)
    with open(os.path.join(d, "cfg.ini"), "w") as f:
        f.write(config_text(layers, head))
    return d, x


def newest_checkpoint(d):
    """The last epoch checkpoint in d/runs (history.csv and metrics.jsonl live there too)."""
    runs = os.path.join(d, "runs")
    return os.path.join(runs, sorted(f for f in os.listdir(runs) if f.startswith("epoch-"))[-1])


def seqtrain_train_predict(binary, d):
    run_seqtrain(binary, ["train", "cfg.ini", "--quiet"], d)
    ck = newest_checkpoint(d)
    run_seqtrain(binary, ["predict", "--checkpoint", ck, "--data", "data.h5", "--out",
                          "pred.h5", "--quiet"], d)


def check_trained_case(d, x):
    """seqtrain trained and wrote the checkpoint; st_torch reads it and must predict what
    `seqtrain predict` predicted, and write the same weights back."""
    ck = newest_checkpoint(d)
    model, cfg = st_torch.load_seqtrain_checkpoint(ck)
    with torch.no_grad():
        probs = model.probabilities(model(torch.as_tensor(x, dtype=torch.int64))).numpy()
    results = []
    with h5py.File(os.path.join(d, "pred.h5"), "r") as p:
        results.append(("predictions",) + compare(p["predictions"][()], probs))
    st_torch.save_seqtrain_checkpoint(model, cfg, os.path.join(d, "back.h5"))
    with h5py.File(ck, "r") as a, h5py.File(os.path.join(d, "back.h5"), "r") as b:
        wa = st_torch._read_weights(a)
        wb = st_torch._read_weights(b)
        same = set(wa) == set(wb) and all(np.array_equal(wa[k], wb[k]) for k in wa)
        results.append(("weights round trip", 0.0 if same else float("inf"),
                        0.0 if same else float("inf")))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seqtrain")
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("-v", action="store_true", help="print every tensor's error")
    args = ap.parse_args()
    binary = os.path.abspath(args.seqtrain)
    torch.set_num_threads(1)
    tmp = None
    if args.keep:
        work = args.keep
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="seqtrain-parity-")
        work = tmp.name
    start, failed = time.time(), []
    trained = [("trained_bidi_gru_attention_post",
                [("bidirectional", {"layer": "gru", "units": 3, "return_sequences": "true"}),
                 ("attention", {"score": "bahdanau", "units": 4})], CCE, "post"),
               ("trained_lstm_pre", [("lstm", {"units": 4})], BCE, "pre")]
    # 1. Inputs of every case. 2. The seqtrain runs, several at a time: each is mostly MPI
    # start-up waiting, not CPU. 3. PyTorch references and comparisons.
    jobs = []
    for i, c in enumerate(cases()):
        if args.k in c[0]:
            jobs.append((c[0], "grad", prepare_gradient_case(work, *c, seed=1000 + i)))
    for i, c in enumerate(trained):
        if args.k in c[0]:
            jobs.append((c[0], "trained", prepare_trained_case(work, *c, seed=2000 + i)))

    def run(job):
        name, kind, prep = job
        try:
            (seqtrain_gradients if kind == "grad" else seqtrain_train_predict)(binary, prep[0])
            return None
        except Exception as e:
            return str(e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        errors = list(pool.map(run, jobs))
    for (name, kind, prep), err in zip(jobs, errors):
        try:
            if err:
                raise RuntimeError(err)
            res = (check_gradient_case if kind == "grad" else check_trained_case)(*prep)
        except Exception as e:  # a crash is a failure of the case, with its message
            print("FAIL %-36s %s" % (name, e))
            failed.append(name)
            continue
        if args.v:
            for r in res:
                print("    %-44s ratio %.3g  rel %.3g" % r)
        worst = max(res, key=lambda r: r[1])
        ok = worst[1] <= 1
        print("%s %-36s worst rel err %.2e (%s)" % ("ok  " if ok else "FAIL", name, worst[2],
                                                    worst[0]))
        if not ok:
            failed.append(name)
    n = len(jobs)
    print("%d cases, %d failed, %.1f s" % (n, len(failed), time.time() - start))
    if failed:
        print("failed: " + ", ".join(failed))
    if tmp:
        tmp.cleanup()
    return 1 if failed or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
