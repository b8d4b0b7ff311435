#!/usr/bin/python3
"""PyTorch side of seqtrain's benchmark (tools/bench, issue 3).

Builds the model of a seqtrain benchmark config (tools/bench/configs/M*.ini, read here so both
sides share one description), trains it on random data of the config's shapes that is generated
once in memory, and prints one line

    BENCH {"impl": "pytorch", "samples_per_s": ..., "step_ms": 12.3, "fwd_bwd_ms": {"mean":, "max":}, ...}

with the same keys as `seqtrain train CONFIG --benchmark STEPS` where they make sense.

The models follow Keras semantics as seqtrain does: nn.Embedding (uniform +-0.05), nn.RNN (tanh)
/ nn.LSTM (batch_first, glorot_uniform kernels, orthogonal recurrent kernels, zero biases, forget
bias 1), Bidirectional = nn.LSTM(bidirectional=True) with concat, nn.Linear (glorot_uniform,
zero bias); a 1-unit sigmoid head trains with BCEWithLogitsLoss, a softmax head with
CrossEntropyLoss (both from logits, as seqtrain folds the activation into the loss).
Optimizers with Keras' constants: Adam(eps=1e-7), RMSprop(alpha=0.9, eps=1e-7).

    /usr/bin/python3 tools/bench/torch_bench.py tools/bench/configs/M2.ini --steps 20 \
        [--warmup 3] [--threads 1] [--procs 1]

--procs 2 runs DistributedDataParallel over the gloo backend on localhost (two processes started
with torch.multiprocessing, MASTER_ADDR/MASTER_PORT set here, no torchrun); the global batch is
split between them and samples/s counts the global batch. If DDP cannot start, the line says
{"error": "..."} instead of numbers.

Timings: every step is timed on its own (wall clock); fwd_bwd_ms covers forward, loss and
backward (with DDP that includes the gradient allreduce, which DDP overlaps with backward),
optimizer_ms the optimizer step, data_ms picking the batch. startup_s is process start (from
/proc) to the first timed step's start, including the warm-up steps. The environment
(OPENBLAS_NUM_THREADS, GLIBC_TUNABLES, OMP_WAIT_POLICY) is the caller's: tools/bench/run.sh sets it.
"""
import argparse
import json
import os
import resource
import socket
import sys
import time


def proc_age_s():
    """Seconds since this process started (Linux /proc; 0 if unavailable)."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat, counted after the "(comm)" part
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def read_ini(path):
    """The config as a list of (section, {key: value}) in file order; sections may repeat."""
    secs = []
    with open(path) as f:
        for raw in f:
            line = raw.split(";", 1)[0].split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                secs.append((line[1:-1].strip(), {}))
            elif "=" in line and secs:
                k, v = line.split("=", 1)
                secs[-1][1][k.strip()] = v.strip()
    return secs


def truthy(v):
    return str(v).lower() in ("1", "true", "yes", "on")


def parse_model(path):
    """Shapes and layers of a benchmark config, as plain dicts."""
    secs = read_ini(path)
    meta = {name: kv for name, kv in secs if name in ("data", "train", "checkpoint")}
    layers = [(name, kv) for name, kv in secs if name not in ("data", "train", "checkpoint")]
    data, train = meta.get("data", {}), meta.get("train", {})
    spec = {
        "seq_len": int(data.get("seq_len", 0)),
        "features": int(data.get("features", 0) or 0),
        "batch": int(train.get("batch_size", 32)),
        "optimizer": train.get("optimizer", "rmsprop"),
        "lr": float(train["learning_rate"]) if "learning_rate" in train else None,
        "loss": train["loss"],
        "layers": layers,
    }
    if spec["seq_len"] <= 0:
        raise SystemExit(f"{path}: [data] seq_len is required for the benchmark")
    return spec


def build(spec, torch, nn):
    """nn.Module for the spec, with Keras' default initialisation."""

    def keras_rnn_init(mod, gates, units, unit_forget_bias):
        for name, p in mod.named_parameters():
            if name.startswith("weight_ih"):
                # Keras kernel (in, gates*units), glorot over the whole matrix.
                nn.init.xavier_uniform_(p)
            elif name.startswith("weight_hh"):
                # Keras' orthogonal recurrent kernel is (units, gates*units) as one matrix.
                w = torch.empty(units, gates * units)
                nn.init.orthogonal_(w)
                with torch.no_grad():
                    p.copy_(w.t())
            elif name.startswith("bias_ih"):
                nn.init.zeros_(p)
                if unit_forget_bias:
                    with torch.no_grad():
                        p[units:2 * units] = 1.0
            elif name.startswith("bias_hh"):
                nn.init.zeros_(p)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = nn.ModuleList()
            self.kinds = []
            width = spec["features"]
            for name, kv in spec["layers"]:
                if name == "embedding":
                    if truthy(kv.get("mask_zero", "false")):
                        raise SystemExit("torch_bench: mask_zero is not supported (no masking)")
                    m = nn.Embedding(int(kv["input_dim"]), int(kv["output_dim"]))
                    nn.init.uniform_(m.weight, -0.05, 0.05)
                    width = int(kv["output_dim"])
                    self.kinds.append(("embedding", False))
                elif name in ("simple_rnn", "lstm", "bidirectional"):
                    cell = kv.get("layer", "lstm") if name == "bidirectional" else name
                    bidir = name == "bidirectional"
                    units = int(kv["units"])
                    if cell == "lstm":
                        m = nn.LSTM(width, units, batch_first=True, bidirectional=bidir)
                        keras_rnn_init(m, 4, units, truthy(kv.get("unit_forget_bias", "true")))
                    elif cell == "simple_rnn":
                        m = nn.RNN(width, units, nonlinearity="tanh", batch_first=True,
                                   bidirectional=bidir)
                        keras_rnn_init(m, 1, units, False)
                    else:
                        raise SystemExit(f"torch_bench: unsupported recurrent layer {cell}")
                    if bidir and kv.get("merge_mode", "concat") != "concat":
                        raise SystemExit("torch_bench: only merge_mode = concat")
                    width = units * (2 if bidir else 1)
                    self.kinds.append((cell, truthy(kv.get("return_sequences", "false"))))
                elif name == "dense":
                    m = nn.Linear(width, int(kv["units"]))
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)
                    width = int(kv["units"])
                    self.kinds.append(("dense", False))
                else:
                    raise SystemExit(f"torch_bench: unsupported section [{name}]")
                self.mods.append(m)
            self.out_width = width

        def forward(self, x):
            for m, (kind, seq) in zip(self.mods, self.kinds):
                if kind == "embedding":
                    x = m(x)
                elif kind in ("lstm", "simple_rnn"):
                    out, state = m(x)
                    if seq:
                        x = out
                    else:
                        # Last step's state: for a bidirectional layer the forward direction's
                        # state after step T-1 and the backward one's after step 0 (Keras).
                        h = state[0] if kind == "lstm" else state
                        x = torch.cat([h[-2], h[-1]], 1) if m.bidirectional else h[-1]
                else:
                    x = m(x)
            return x

    return Net()


def run(rank, world, args, result_q):
    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)  # the same initial weights on every rank, as DDP also broadcasts
    if world > 1:
        import torch.distributed as dist
        import datetime
        dist.init_process_group("gloo", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=args.timeout))
    spec = parse_model(args.config)
    net = build(spec, torch, nn)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        net = DDP(net)

    binary = spec["loss"] == "binary_crossentropy" and net_out_width(net) == 1
    if spec["loss"] == "binary_crossentropy" and not binary:
        loss_fn = nn.BCEWithLogitsLoss()  # K sigmoid units against one-hot labels
    elif binary:
        loss_fn = nn.BCEWithLogitsLoss()
    elif spec["loss"] in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        loss_fn = nn.CrossEntropyLoss()
    else:
        loss_fn = nn.MSELoss()
    params = net.parameters()
    opt_name = spec["optimizer"]
    if opt_name == "adam":
        opt = torch.optim.Adam(params, lr=spec["lr"] or 1e-3, betas=(0.9, 0.999), eps=1e-7)
    elif opt_name == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=spec["lr"] or 1e-3, alpha=0.9, eps=1e-7)
    else:
        opt = torch.optim.SGD(params, lr=spec["lr"] or 1e-2)

    # Random data of the config's shapes, generated once: NB distinct batches, cycled.
    gb = spec["batch"]
    lo = rank * gb // world
    local = (rank + 1) * gb // world - lo
    T, F = spec["seq_len"], spec["features"]
    nb = 4
    g = torch.Generator().manual_seed(1234 + rank)
    if F > 0:
        xs = [torch.randn(local, T, F, generator=g) for _ in range(nb)]
    else:
        vocab = int(dict(spec["layers"][0][1])["input_dim"])
        xs = [torch.randint(0, vocab, (local, T), generator=g) for _ in range(nb)]
    out_w = net_out_width(net)
    if binary:
        ys = [torch.randint(0, 2, (local, 1), generator=g).float() for _ in range(nb)]
    elif spec["loss"] == "binary_crossentropy":
        ys = [torch.eye(out_w)[torch.randint(0, out_w, (local,), generator=g)] for _ in range(nb)]
    elif spec["loss"] == "mse":
        ys = [torch.randn(local, out_w, generator=g) for _ in range(nb)]
    else:
        ys = [torch.randint(0, out_w, (local,), generator=g) for _ in range(nb)]

    def step(i, times):
        t0 = time.perf_counter()
        x, y = xs[i % nb], ys[i % nb]
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if times is not None:
            times["data"].append(t1 - t0)
            times["fwd_bwd"].append(t2 - t1)
            times["opt"].append(t3 - t2)
            times["step"].append(t3 - t0)
        return loss

    for i in range(args.warmup):
        step(i, None)
    if world > 1:
        torch.distributed.barrier()
    startup = proc_age_s()
    times = {"data": [], "fwd_bwd": [], "opt": [], "step": []}
    t_start = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i, times)
    if world > 1:
        torch.distributed.barrier()
    wall = time.perf_counter() - t_start
    mine = {
        "wall": wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "startup": startup,
        **{k: 1e3 * sum(v) / len(v) for k, v in times.items()},
    }
    if world > 1:
        allr = [None] * world
        torch.distributed.all_gather_object(allr, mine)
        torch.distributed.destroy_process_group()
    else:
        allr = [mine]
    if rank != 0:
        return

    def agg(key):
        vals = [r[key] for r in allr]
        return {"mean": round(sum(vals) / len(vals), 4), "max": round(max(vals), 4)}

    wall_max = max(r["wall"] for r in allr)
    res = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "model": os.path.splitext(os.path.basename(args.config))[0],
        "ranks": world,
        "threads": args.threads,
        "steps": args.steps,
        "global_batch": gb,
        "samples_per_s": round(gb * args.steps / wall_max, 2),
        "step_ms": agg("step")["mean"],  # a number, as seqtrain's BENCH line has it
        "fwd_bwd_ms": agg("fwd_bwd"),
        "allreduce_ms": None,  # inside fwd_bwd_ms: DDP overlaps it with backward
        "optimizer_ms": agg("opt"),
        "data_ms": agg("data"),
        "peak_rss_mb": agg("rss_mb"),
        "startup_s": round(allr[0]["startup"], 3),
        "nparams": sum(p.numel() for p in net.parameters()),
    }
    if result_q is not None:
        result_q.put(res)
    else:
        print("BENCH " + json.dumps(res), flush=True)


def net_out_width(net):
    return (net.module if hasattr(net, "module") else net).out_width


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_worker(rank, world, args, q):
    code = 0
    try:
        run(rank, world, args, q if rank == 0 else None)
    except Exception as e:  # reported by the parent as n/a
        q.put({"error": f"rank {rank}: {type(e).__name__}: {e}"})
        code = 1
    # Skip the interpreter's teardown: a DDP worker has been seen to spin at 100% CPU there
    # for minutes after its work was done (torch 1.13, gloo). The result is already in the
    # pipe (SimpleQueue.put writes synchronously).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    ap.add_argument("--procs", type=int, default=1, help="DDP processes (gloo, localhost)")
    ap.add_argument("--timeout", type=float, default=600, help="DDP: give up after S seconds")
    args = ap.parse_args()
    if args.procs <= 1:
        run(0, 1, args, None)
        return
    model = os.path.splitext(os.path.basename(args.config))[0]
    fail = {"impl": "pytorch", "model": model, "ranks": args.procs, "threads": args.threads}
    try:
        import torch.multiprocessing as mp
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
        ctx = mp.get_context("spawn")
        q = ctx.SimpleQueue()
        procs = [ctx.Process(target=ddp_worker, args=(r, args.procs, args, q))
                 for r in range(args.procs)]
        for p in procs:
            p.start()
        # Wait for the result (or for every worker to be gone), then give the workers a few
        # seconds to exit and kill what is left: a hung teardown must not stall the benchmark.
        deadline = time.time() + args.timeout
        res = None
        while time.time() < deadline:
            if not q.empty():
                res = q.get()
                break
            if not any(p.is_alive() for p in procs):
                res = q.get() if not q.empty() else None
                break
            time.sleep(0.05)
        grace = time.time() + 10
        for p in procs:
            p.join(max(0.1, grace - time.time()))
        alive = [p for p in procs if p.is_alive()]
        for p in alive:
            p.kill()
        if res is None and alive:
            res = {"error": f"DDP timed out after {args.timeout:.0f} s"}
        elif res is None:
            codes = [p.exitcode for p in procs]
            res = {"error": f"DDP processes exited with {codes} and no result"}
    except Exception as e:
        res = {"error": f"DDP could not start: {type(e).__name__}: {e}"}
    if "error" in res:
        res = {**fail, **res}
    print("BENCH " + json.dumps(res), flush=True)
    sys.exit(0 if "error" not in res else 1)


if __name__ == "__main__":
    main()
