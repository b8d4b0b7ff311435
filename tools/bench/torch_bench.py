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

BLAS kernels (issue 15): Debian's torch runs its float GEMMs in the system OpenBLAS
(libopenblas.so.0), which picks its kernels ("core") when it loads. Before importing torch this
script applies seqtrain's rules (src/core/blas.c), so both sides of a comparison can run the
same kernels:
  - OPENBLAS_CORETYPE set (non-empty): it wins (tools/bench/bench.py sets it for both sides);
  - SEQTRAIN_BLAS_AUTO=0: OpenBLAS's own choice;
  - else, when OpenBLAS's own core is a known one below the CPU's best vector level (read from
    /proc/cpuinfo: AVX-512 F+DQ+BW+VL -> SkylakeX, AVX2+FMA -> Haswell, AVX -> Sandybridge,
    SSE4.2 -> Nehalem), the script sets OPENBLAS_CORETYPE and executes itself again; the new
    image checks that OpenBLAS runs that core and that torch.mm computes small products right,
    else it executes once more without the variable and warns on stderr.
The BENCH line says which: "cpu" (model name), "blas_core" (the core of the OpenBLAS torch
runs), "blas_core_how" (worded as `seqtrain --version` words it). DDP workers inherit the
environment, so they load the same core. For tests only: TORCH_BENCH_BLAS_TEST_OWN=CORE
pretends OpenBLAS chose CORE by itself, TORCH_BENCH_BLAS_TEST_TARGET=CORE replaces the core
chosen for the CPU, TORCH_BENCH_BLAS_TEST_BREAK=1 makes the check of the products fail.
TORCH_BENCH_BLAS_STAGE is this script's note to its next image.
"""
import argparse
import ctypes
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


# --------------------------------------------------------------------------------------------
# Which kernels: seqtrain's rules (src/core/blas.c), applied before torch is imported.
#
# OpenBLAS reads OPENBLAS_CORETYPE only while it loads, and torch loads it on import: the only
# way to change its choice is to set the variable and execute this script again (same
# arguments, same environment otherwise). Loading the library here with ctypes to ask for its
# own choice is harmless, as the image is replaced.
# --------------------------------------------------------------------------------------------
STAGE_ENV = "TORCH_BENCH_BLAS_STAGE"
OPENBLAS = "libopenblas.so.0"  # what Debian's libtorch_cpu.so links (via libblas.so.3 too)
ISA = ["SSE2", "SSE4.2", "AVX", "AVX2+FMA", "AVX-512"]  # levels 0..4, seqtrain's names
# OpenBLAS's x86-64 core names and the level their kernels need (src/core/blas.c's table). A
# name missing here (a core newer than this table) is never replaced.
CORE_LEVEL = {name.lower(): lv for names, lv in (
    (("Prescott", "Core2", "Penryn", "Dunnington", "Atom", "Opteron", "Opteron(SSE3)",
      "Barcelona", "Bobcat"), 0),
    (("Nehalem",), 1),
    (("Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"), 2),
    (("Haswell", "Zen"), 3),
    (("SkylakeX", "Cooperlake", "SapphireRapids"), 4)) for name in names}
CORE_FOR = {4: "SkylakeX", 3: "Haswell", 2: "Sandybridge", 1: "Nehalem"}


def cpu_info():
    """(model name, vector level 0..4) from /proc/cpuinfo. The kernel lists a flag only when it
    also saves the registers it needs, as seqtrain's XGETBV test asks."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = val.strip() or name
                elif key.strip() == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        pass
    level = (4 if {"avx512f", "avx512dq", "avx512bw", "avx512vl", "fma"} <= flags
             else 3 if {"avx2", "fma"} <= flags else 2 if "avx" in flags
             else 1 if "sse4_2" in flags else 0)
    return name, level


def openblas():
    """The OpenBLAS of this process (loaded now, or the one torch loaded), or None."""
    try:
        lib = ctypes.CDLL(OPENBLAS)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return lib
    except (OSError, AttributeError):
        return None


def blas_core():
    lib = openblas()
    return (lib.openblas_get_corename() or b"unknown").decode() if lib else "not OpenBLAS"


def blas_library():
    """'OpenBLAS 0.3.21' from 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...'."""
    lib = openblas()
    return " ".join((lib.openblas_get_config() or b"OpenBLAS").decode().split()[:2]) if lib \
        else "not OpenBLAS"


def products_ok(torch):
    """Do torch's float32 products (OpenBLAS sgemm) come out right? Two small odd-shaped
    products, A·B and A·Bᵀ, against a pure-Python double reference (a double product in torch
    would go through OpenBLAS's dgemm, the kernels under test). The inputs are exact in float32;
    a float sum of K products errs by at most about K * 2^-24 of sum |a_k b_k|, a wrong kernel
    by the size of the terms: every element must be within 16x that bound."""
    seed = [12345]

    def rnd():
        seed[0] = (seed[0] * 1103515245 + 12345) % 2**32
        return (seed[0] >> 8) / 8388608.0 - 1.0
    for m, n, k, tb in ((13, 17, 19, 0), (37, 70, 129, 1)):
        a = [[rnd() for _ in range(k)] for _ in range(m)]
        b = [[rnd() for _ in range(k if tb else n)] for _ in range(n if tb else k)]
        bt = b if tb else [list(col) for col in zip(*b)]  # (n, k): row j is column j of B
        ta, tbm = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
        c = torch.mm(ta, tbm.t() if tb else tbm).tolist()
        if os.environ.get("TORCH_BENCH_BLAS_TEST_BREAK") == "1":
            c[1][1] += 1.0
        for i in range(m):
            for j in range(n):
                ref = sum(x * y for x, y in zip(a[i], bt[j]))
                mag = sum(abs(x * y) for x, y in zip(a[i], bt[j]))
                if not abs(c[i][j] - ref) <= 16.0 * (k + 1) * mag / 16777216.0:
                    return False
    return True


def reexec():
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + sys.argv)


def choose_blas():
    """Applies the rules above (re-executing this script when they say so) and returns
    (cpu name, blas_core_how). Called first thing in main(), before torch is imported; DDP
    workers (spawned, not through main) inherit OPENBLAS_CORETYPE and so the same kernels."""
    cpu, level = cpu_info()
    stage = os.environ.get(STAGE_ENV, "")
    if stage.startswith("try:"):
        # The image started with the core chosen below: "try:OWN:TARGET".
        own, _, want = stage[4:].partition(":")
        bad = None
        if blas_core().lower() != want.lower():
            bad = "this OpenBLAS does not have it"
        else:
            import torch
            if not products_ok(torch):
                bad = "its products were wrong"
        if not bad:
            del os.environ[STAGE_ENV]
            return cpu, f"chosen by torch_bench for {ISA[level]}; OpenBLAS alone ran {own}"
        os.environ[STAGE_ENV] = f"fallback:{want}:{bad}"
        del os.environ["OPENBLAS_CORETYPE"]
        try:
            reexec()
        except OSError as e:  # these kernels may compute wrong products: nothing may run
            sys.exit(f"torch_bench: error: OpenBLAS core {want} failed its start-up check ({bad})"
                     f" and torch_bench could not restart without it ({e.strerror}); set "
                     f"OPENBLAS_CORETYPE")
    if stage.startswith("fallback:"):
        want, _, why = stage[9:].partition(":")
        del os.environ[STAGE_ENV]
        print(f"torch_bench: warning: OpenBLAS core {want}, chosen for this CPU "
              f"({ISA[level]}), failed its start-up check ({why}); running OpenBLAS's own "
              f"choice {blas_core()}, which may be slower. Set OPENBLAS_CORETYPE to choose the "
              f"kernels yourself.", file=sys.stderr, flush=True)
        return cpu, f"OpenBLAS's own choice; torch_bench's {want} failed its check"

    best = os.environ.get("TORCH_BENCH_BLAS_TEST_TARGET") or CORE_FOR.get(level)
    user = os.environ.get("OPENBLAS_CORETYPE", "")
    if user:
        lv = CORE_LEVEL.get(blas_core().lower(), -1)
        could = f"; this CPU could run {best}" if best and 0 <= lv < level else ""
        return cpu, f"set by OPENBLAS_CORETYPE={user}{could}"
    if os.environ.get("SEQTRAIN_BLAS_AUTO") == "0":
        return cpu, "OpenBLAS's own choice (SEQTRAIN_BLAS_AUTO=0)"
    lib = openblas()
    if lib is None:
        return cpu, f"no {OPENBLAS} found: torch's own BLAS"
    own = os.environ.get("TORCH_BENCH_BLAS_TEST_OWN") or blas_core()
    lv = CORE_LEVEL.get(own.lower(), -1)
    if not best or lv < 0 or lv >= level:
        return cpu, "OpenBLAS's own choice"  # the best known for this CPU
    if "DYNAMIC_ARCH" not in (lib.openblas_get_config() or b"").decode():
        return cpu, "the only one this OpenBLAS has (built for one CPU)"
    os.environ[STAGE_ENV] = f"try:{own}:{best}"
    os.environ["OPENBLAS_CORETYPE"] = best
    try:
        reexec()
    except OSError as e:  # still here: keep OpenBLAS's kernels, and say why
        del os.environ[STAGE_ENV], os.environ["OPENBLAS_CORETYPE"]
        print(f"torch_bench: warning: could not restart with OpenBLAS core {best} for this "
              f"CPU ({ISA[level]}): {e.strerror}; running {blas_core()}", file=sys.stderr)
        return cpu, "OpenBLAS's own choice; torch_bench could not restart"


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
        "cpu": args.cpu,
        "blas_core": blas_core(),  # of the OpenBLAS torch loaded (the same handle)
        "blas_core_how": args.blas_how,
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
    args.cpu, args.blas_how = choose_blas()  # may execute this script again
    if args.procs <= 1:
        run(0, 1, args, None)
        return
    model = os.path.splitext(os.path.basename(args.config))[0]
    fail = {"impl": "pytorch", "model": model, "ranks": args.procs, "threads": args.threads,
            "cpu": args.cpu, "blas_core_how": args.blas_how}
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
