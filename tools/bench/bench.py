#!/usr/bin/python3
"""seqtrain vs PyTorch, side by side on the same models (issue 3). Run it through tools/bench/run.sh.

    tools/bench/run.sh [--models M2,M6] [--steps N] [--rounds R] [--warmup W] [--quick]
                       [--configs 1x1,1x2,2x1] [--no-build] [--seqtrain PATH] [--out DIR]
                       [--blas-core NAME]

For every model (tools/bench/configs/M*.ini) and configuration (ranks x threads: 1x1, 1x2, 2x1)
it runs `seqtrain train CFG --benchmark STEPS --warmup W` and tools/bench/torch_bench.py on the
same config, interleaved A/B/A/B: the rounds are the outer loop, so each round visits every
model and configuration once, seqtrain then PyTorch, and machine drift falls on both sides
alike. The table shows the median over the rounds. In every round, tools/bench/sgemm_rate
(single thread) also measures OpenBLAS on each model's own GEMM shapes (median over the
rounds); the "share" column is seqtrain's GEMM rate over (ranks x threads x that rate).
The header records the load average before and after: other work on the cores spoils it all.

How each side runs:
- seqtrain, 1 rank: the binary directly (MPI singleton), OPENBLAS_NUM_THREADS = OMP_NUM_THREADS
  = threads. 2 ranks: mpirun -np 2 --oversubscribe (--allow-run-as-root as root), the same
  variables exported with -x; Open MPI binds each rank to a core.
- PyTorch "at its best", as an informed user would run it: torch.set_num_threads(threads),
  OPENBLAS_NUM_THREADS = threads, GLIBC_TUNABLES=glibc.malloc.hugetlb=1, and
  OMP_WAIT_POLICY=PASSIVE at 2 threads (spinning OpenMP workers fight the main thread on 2
  cores). 2 ranks: DistributedDataParallel, gloo, 2 processes on localhost, the global batch
  split in two.

The same OpenBLAS kernels on every side (issue 15): OpenBLAS picks its kernels ("core") when
it loads, and a fair comparison runs seqtrain, PyTorch and sgemm_rate on the same core. Before
the first run, `seqtrain --version` (in the environment as given) says which core seqtrain runs
and why (its start-up rules, src/core/blas.c). If OPENBLAS_CORETYPE is unset, every process the
benchmark starts gets OPENBLAS_CORETYPE set to that core; if it is set, it is left as it is
(and seqtrain, torch_bench and sgemm_rate all obey it). --blas-core NAME pins all three to
OpenBLAS's core NAME (e.g. Haswell, SkylakeX) and stops with exit 2 if this OpenBLAS has no
such core. After the runs, the cores the three programs report (the BENCH lines' "blas_core",
SGEMM's "core") are compared; if they differ, the table's header says so first, in bold. The
header names the CPU, its vector level, the OpenBLAS library and core, and how the core was
chosen; latest.jsonl's first record ("kind": "machine") says the same, its last ("kind":
"blas_check") what each program reported.

Outputs: the Markdown table on stdout and in tools/bench/results/latest.md; every raw BENCH /
SGEMM record as one JSON line in tools/bench/results/latest.jsonl.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build-bench")

# Timed steps per model: about 3-4 s of PyTorch work at 1 thread on the 2-core dev machine, so
# a full run (5 models x 3 configurations x 2 sides x 3 rounds) stays near 10 minutes.
DEFAULT_STEPS = {"M1": 80, "M2": 30, "M3": 24, "M5": 120, "M6": 10}
CONFIGS = {"1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1)}

sys.path.insert(0, HERE)
import torch_bench  # noqa: E402  (only its INI reader: no torch import at module level)


# --------------------------------------------------------------------------------------------
# GEMM flops of one training step, from the model's shapes.
#
# Notation: B global batch, T time steps, I a layer's input width, H units, g gates (LSTM 4,
# SimpleRNN 1), G = g*H. A GEMM of (M,K)x(K,N) costs 2*M*N*K flops. Per step, counting what
# src/layers/*.c call (the recurrence skips t = 0, whose h_{-1} = 0):
#   recurrent layer (SimpleRNN, LSTM), per direction:
#     forward   input projection  X·W          (T*B, I)(I, G)        2*T*B*I*G
#               recurrence        h_{t-1}·U    (B, H)(H, G), T-1 x   2*(T-1)*B*H*G
#     backward  dh_{t-1}          dG_t·Uᵀ      (B, G)(G, H), T-1 x   2*(T-1)*B*G*H
#               dW += Xᵀ·dG                    (I, T*B)(T*B, G)      2*I*T*B*G
#               dU += H_{t-1}ᵀ·dG_t, all t     (H, (T-1)*B)(., G)    2*H*(T-1)*B*G
#               dX  = dG·Wᵀ                    (T*B, G)(G, I)        2*T*B*G*I  (only when a
#               layer below needs it: not for the first layer on float input)
#     Bidirectional: two such layers (I the same, H each), output width 2H (concat).
#   dense on N rows (B, or T*B after return_sequences), F inputs, U units:
#     forward 2*N*F*U; backward dW 2*F*N*U and dX 2*N*U*F.
#   embedding: no GEMM (gather, scatter-add).
# Elementwise work (gates, losses, optimizer) is not counted: these are GEMM flops only.
# --------------------------------------------------------------------------------------------
def gemm_shapes(spec):
    """[(ta, tb, M, N, K, count, name)] of one step at the global batch; count = calls/step."""
    B, T, width = spec["batch"], spec["seq_len"], spec["features"]
    shapes, seq, first = [], True, True
    for k, (name, kv) in enumerate(spec["layers"]):
        if name == "embedding":
            width = int(kv["output_dim"])
            first = False  # the embedding takes dX
            continue
        if name in ("simple_rnn", "lstm", "bidirectional"):
            cell = kv.get("layer", "lstm") if name == "bidirectional" else name
            dirs = 2 if name == "bidirectional" else 1
            H = int(kv["units"])
            G = (4 if cell == "lstm" else 1) * H
            I, TB, T1B = width, T * B, (T - 1) * B
            tag = f"L{k}_{cell}"
            shapes += [
                (0, 0, TB, G, I, dirs, tag + "_fwd_proj"),
                (0, 0, B, G, H, dirs * (T - 1), tag + "_fwd_rec"),
                (0, 1, B, H, G, dirs * (T - 1), tag + "_bwd_rec"),
                (1, 0, I, G, TB, dirs, tag + "_bwd_dW"),
                (1, 0, H, G, T1B, dirs, tag + "_bwd_dU"),
            ]
            if not first:
                shapes.append((0, 1, TB, I, G, dirs, tag + "_bwd_dx"))
            seq = kv.get("return_sequences", "false").lower() in ("1", "true", "yes", "on")
            width = H * dirs
        elif name == "dense":
            U, N = int(kv["units"]), (T * B if seq else B)
            tag = f"L{k}_dense"
            shapes += [(0, 0, N, U, width, 1, tag + "_fwd"), (1, 0, width, U, N, 1, tag + "_dW")]
            if not first:
                shapes.append((0, 1, N, width, U, 1, tag + "_dx"))
            width = U
        first = False
    return shapes


def step_flops(shapes):
    return sum(2.0 * m * n * k * c for _, _, m, n, k, c, _ in shapes)


# --------------------------------------------------------------------------------------------
def sh(cmd, env=None, timeout=None):
    """Runs cmd; returns (rc, stdout, stderr). A timeout is rc 124."""
    try:
        p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or "", (e.stderr or "") + f"\ntimed out after {timeout} s"
    except OSError as e:  # e.g. no such binary
        return 127, "", f"cannot run {cmd[0]}: {e.strerror}"


def usage_error(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(2)


def bench_line(text):
    for line in text.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    return None


def first_error(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower() or "unknown" in ln.lower()]
    return (errs or lines or ["no output"])[0][:160]


def build(args):
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        rc, out, err = sh(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release"])
        if rc:
            sys.exit(f"bench: cmake configure failed:\n{out}{err}")
    rc, out, err = sh(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2),
                       "--target", "seqtrain_bin", "sgemm_rate"])
    if rc:
        sys.exit(f"bench: build failed:\n{out[-3000:]}{err[-3000:]}\n"
                 f"bench: (--no-build runs the binary already in {BUILD})")


VERSION_BLAS = re.compile(r"^BLAS: (.+?), core (\S+) \((.*)\)$")  # how may hold parentheses
VERSION_CPU = re.compile(r"^CPU: (.+) \(([^()]*)\)$")


def seqtrain_version(binary):
    """What `seqtrain --version` says of its kernels, in the current environment:
    {"blas", "core", "how", "cpu", "cpu_level", "warning"}; None without a BLAS line."""
    rc, out, err = sh([binary, "--version"], timeout=60)
    info = {"warning": " ".join(ln.strip() for ln in err.splitlines() if "warning" in ln)}
    for line in out.splitlines():
        mb, mc = VERSION_BLAS.match(line.strip()), VERSION_CPU.match(line.strip())
        if mb:
            info.update(blas=mb.group(1), core=mb.group(2), how=mb.group(3))
        elif mc:
            info.update(cpu=mc.group(1), cpu_level=mc.group(2))
    return info if rc == 0 and "core" in info else None


def choose_blas(binary, pin):
    """Decides the kernels of every run and sets OPENBLAS_CORETYPE in os.environ (inherited by
    every process started later) when the rules above say so. Returns the header's facts:
    {"cpu", "cpu_level", "blas", "core", "how"}; core None when seqtrain could not say."""
    cpu, level = torch_bench.cpu_info()
    facts = {"cpu": cpu, "cpu_level": torch_bench.ISA[level], "blas": torch_bench.blas_library(),
             "core": None, "how": ""}
    given = seqtrain_version(binary) if os.path.exists(binary) else None
    if given:
        facts.update({k: given[k] for k in ("cpu", "cpu_level", "blas") if k in given})
        if given["warning"]:
            print(f"[bench] seqtrain --version: {given['warning']}", file=sys.stderr)
    if pin:
        os.environ["OPENBLAS_CORETYPE"] = pin
        now = seqtrain_version(binary) if given else None
        if now and now["core"].lower() != pin.lower():
            usage_error(f"--blas-core {pin}: this OpenBLAS has no such core (it ran "
                        f"{now['core']}); give an OpenBLAS core name, e.g. Haswell or SkylakeX")
        core = now["core"] if now else pin
        alone = f"; alone, seqtrain runs {given['core']} ({given['how']})" if given else ""
        facts.update(core=core, how=f"pinned by --blas-core {core} for all three programs{alone}")
    elif not given:
        facts["how"] = ("each program's own choice: `seqtrain --version` names no core, no "
                        "binary or one older than issue 15")
    elif os.environ.get("OPENBLAS_CORETYPE"):
        facts.update(core=given["core"], how=given["how"] + "; all three programs obey it")
    else:
        os.environ["OPENBLAS_CORETYPE"] = given["core"]
        facts.update(core=given["core"], how=f"{given['how']}; the benchmark set "
                     f"OPENBLAS_CORETYPE={given['core']} for all three programs")
    return facts


def cores_seen(results, sgemm_runs, facts):
    """{program: sorted cores it reported}. seqtrain builds whose BENCH line has no blas_core
    count as the core --version named in the same environment."""
    seen = {"seqtrain": set(), "PyTorch": set(), "sgemm_rate": set()}
    for (m, c, side), recs in results.items():
        if side == "batch":
            continue
        for r in recs:
            if "na" in r:
                continue
            core = r.get("blas_core") or (facts["core"] if side == "seqtrain" else None)
            seen["seqtrain" if side == "seqtrain" else "PyTorch"].add(core or "unknown")
    for runs in sgemm_runs.values():
        seen["sgemm_rate"].update(r.get("core", "unknown") for r in runs)
    return {k: sorted(v) for k, v in seen.items() if v}


def blas_header(facts, seen):
    """(warning, kernels): the header's line on the kernels, and a loud warning (None when all
    agree) to put first when the programs ran different cores."""
    cores = {c.lower() for v in seen.values() for c in v}
    if facts["core"]:
        cores.add(facts["core"].lower())
    warning = None
    if len(cores) > 1:
        warning = ("**WARNING: the programs ran different OpenBLAS cores ("
                   + ", ".join(f"{k} {'/'.join(v)}" for k, v in seen.items())
                   + "): the ratios compare kernels, not only programs.**")
    if not facts["core"]:
        ran = ", ".join(f"{k} {'/'.join(v)}" for k, v in seen.items()) or "not known yet"
        return warning, f"Kernels: {facts['blas']}, cores as run: {ran} ({facts['how']})."
    return warning, (f"Kernels: {facts['blas']}, core {facts['core']} for seqtrain, PyTorch and "
                     f"sgemm_rate ({facts['how']}).")


def seqtrain_has_benchmark(binary):
    rc, out, err = sh([binary, "train", "--help"], timeout=30)
    return "--benchmark" in out + err


def run_seqtrain(binary, cfg, ranks, threads, steps, warmup, timeout, extra=()):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [binary, "train", cfg, "--benchmark", str(steps), "--warmup", str(warmup), *extra]
    if ranks > 1:
        mpi = ["mpirun", "-np", str(ranks), "--oversubscribe",
               "-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"]
        if env.get("OPENBLAS_CORETYPE"):
            mpi += ["-x", "OPENBLAS_CORETYPE"]  # the kernels chosen in choose_blas
        if os.geteuid() == 0:
            mpi.insert(1, "--allow-run-as-root")
        cmd = mpi + cmd
    t0 = time.time()
    rc, out, err = sh(cmd, env=env, timeout=timeout)
    rec = bench_line(out)
    if rc == 0 and rec:
        rec["wall_s"] = round(time.time() - t0, 2)
        return rec
    if "unknown section" in out + err:
        return {"na": "n/a (layer not implemented yet)", "why": first_error(err + out)}
    return {"na": "n/a (error)", "why": f"rc {rc}: " + first_error(err + out)}


def run_torch(cfg, ranks, threads, steps, warmup, timeout):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               GLIBC_TUNABLES="glibc.malloc.hugetlb=1")
    if threads >= 2:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        env.pop("OMP_WAIT_POLICY", None)
    cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), cfg, "--steps", str(steps),
           "--warmup", str(warmup), "--threads", str(threads), "--procs", str(ranks),
           "--timeout", str(timeout)]
    t0 = time.time()
    rc, out, err = sh(cmd, env=env, timeout=timeout + 30)
    rec = bench_line(out)
    if rec and "error" not in rec and rc == 0:
        rec["wall_s"] = round(time.time() - t0, 2)
        return rec
    why = rec["error"] if rec and "error" in rec else f"rc {rc}: " + first_error(err + out)
    return {"na": "n/a (DDP failed)" if ranks > 1 else "n/a (error)", "why": why}


def run_sgemm(shapes):
    specs = [f"{ta},{tb},{m},{n},{k},{c},{name}" for ta, tb, m, n, k, c, name in shapes]
    rc, out, err = sh([os.path.join(BUILD, "sgemm_rate"), "--threads", "1", "--time", "0.3"]
                      + specs, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"), timeout=300)
    for line in out.splitlines():
        if line.startswith("SGEMM "):
            return json.loads(line[6:])
    sys.exit(f"bench: sgemm_rate failed (rc {rc}): {err.strip()}")


# --------------------------------------------------------------------------------------------
def fmt(x, nd=0):
    if x is None:
        return "n/a"
    return f"{x:,.{nd}f}"


def median_of(recs, key, sub=None):
    vals = [r[key][sub] if sub else r[key] for r in recs if "na" not in r]
    return statistics.median(vals) if vals else None


def machine_line(facts):
    return (f"{facts['cpu']} ({facts['cpu_level']}), {os.cpu_count()} cores, "
            f"{platform.system()} {platform.release()}")


def table(models, cfgs, results, sgemm, flops, args, torch_ver, load, facts, seen):
    rows = ["| model | ranks × threads | seqtrain samples/s | PyTorch samples/s | ratio "
            "| seqtrain GEMM GFLOP/s | share of sgemm | seqtrain peak RSS MB/rank "
            "| PyTorch peak RSS MB/proc |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    notes = {}  # (model, side, why) -> configurations
    for m in models:
        for c in cfgs:
            ranks, threads = CONFIGS[c]
            st, pt = results[(m, c, "seqtrain")], results[(m, c, "pytorch")]
            s_sps, p_sps = median_of(st, "samples_per_s"), median_of(pt, "samples_per_s")
            s_cell = fmt(s_sps) if s_sps is not None else next(r["na"] for r in st if "na" in r)
            p_cell = fmt(p_sps) if p_sps is not None else next(r["na"] for r in pt if "na" in r)
            for side, recs in (("seqtrain", st), ("PyTorch", pt)):
                for r in recs:
                    if "na" in r:
                        notes.setdefault((m, side, r["why"]), []).append(c)
                        break
            ratio = f"{s_sps / p_sps:.2f}×" if s_sps and p_sps else "n/a"
            if s_sps:
                gf = flops[m] * s_sps / results[(m, c, "batch")] * 1e-9
                share = gf / (ranks * threads * sgemm[m]["mean_gflops"])
                gf_cell, share_cell = f"{gf:.1f}", f"{100 * share:.0f}%"
            else:
                gf_cell = share_cell = "n/a"
            s_rss = median_of(st, "peak_rss_mb", "max")
            p_rss = median_of(pt, "peak_rss_mb", "max")
            rows.append(f"| {m} | {ranks} × {threads} | {s_cell} | {p_cell} | {ratio} | {gf_cell} "
                        f"| {share_cell} | {fmt(s_rss)} | {fmt(p_rss)} |")
    spreads = []  # how far the rounds disagree: max/min - 1 of samples/s
    for (m, c, side), recs in results.items():
        if side == "batch":
            continue
        vals = [r["samples_per_s"] for r in recs if "na" not in r]
        if len(vals) >= 2 and min(vals) > 0:
            spreads.append((max(vals) / min(vals) - 1, f"{m} {c} {side}"))
    spreads.sort(reverse=True)
    spread_txt = ("Largest spread between rounds (max/min − 1): " +
                  ", ".join(f"{w} {100 * v:.0f}%" for v, w in spreads[:3]) + ". "
                  if spreads else "")
    rates = ", ".join(f"{m} {sgemm[m]['mean_gflops']:.1f}" for m in models)
    per_step = ", ".join(f"{m} {flops[m] * 1e-9:.2f}" for m in models)
    warning, kernels = blas_header(facts, seen)
    head = ([warning, ""] if warning else []) + [
            f"seqtrain vs PyTorch {torch_ver}, median of {args.rounds} interleaved round(s); "
            f"{machine_line(facts)}; {datetime.datetime.now().isoformat(timespec='minutes')}.",
            "", kernels, "",
            f"Single-thread sgemm rate on each model's GEMM shapes (GFLOP/s, flop-weighted, "
            f"median over the rounds): "
            f"{rates}. GEMM GFLOP per training step: {per_step}. Share = seqtrain's GEMM "
            f"GFLOP/s / (ranks × threads × that rate). RSS: the largest rank's peak. "
            f"{spread_txt}1-minute load average before / after the run: {load[0]:.1f} / "
            f"{load[1]:.1f} (the benchmark itself adds up to 2; more means other work shared "
            f"the cores and the numbers are unreliable).",
            ""]
    tail = [""] + [f"- {m} {side} ({', '.join(cs)}): {why}"
                   for (m, side, why), cs in notes.items()] if notes else []
    cmd = "tools/bench/run.sh " + " ".join(sys.argv[1:])
    return "\n".join(head + rows + tail + ["", f"Command: `{cmd.strip()}`"]) + "\n"


def main():
    ap = argparse.ArgumentParser(description="seqtrain vs PyTorch benchmark (issue 3)")
    ap.add_argument("--models", default="M1,M2,M3,M5,M6")
    ap.add_argument("--configs", default="1x1,1x2,2x1", help="ranks x threads, of " +
                    ",".join(CONFIGS))
    ap.add_argument("--steps", type=int, help="timed steps for every model (default per model)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="one round, a quarter of the steps, one warm-up step")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--seqtrain", help="seqtrain binary (default build-bench/seqtrain)")
    ap.add_argument("--timeout", type=int, default=300, help="per run, seconds")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--blas-core", metavar="NAME",
                    help="run all three programs on OpenBLAS core NAME (sets OPENBLAS_CORETYPE)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warmup = 1, 1
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    cfgs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in cfgs:
        if c not in CONFIGS:
            usage_error(f"unknown configuration '{c}' (known: {', '.join(CONFIGS)})")
    cfg_path = {m: os.path.join(HERE, "configs", m + ".ini") for m in models}
    for m, p in cfg_path.items():
        if not os.path.exists(p):
            usage_error(f"no config for model {m} ({p})")

    if not args.no_build:
        build(args)
    binary = args.seqtrain or os.path.join(BUILD, "seqtrain")
    has_bench = seqtrain_has_benchmark(binary)
    facts = choose_blas(binary, args.blas_core)  # before any measured process starts
    print(f"[bench] {blas_header(facts, {})[1]}", file=sys.stderr, flush=True)
    rc, torch_ver, _ = sh(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"])
    torch_ver = torch_ver.strip() or "(not installed)"

    os.makedirs(args.out, exist_ok=True)
    jl = open(os.path.join(args.out, "latest.jsonl"), "w")

    def log(rec):
        jl.write(json.dumps(rec) + "\n")
        jl.flush()

    log({"kind": "machine", "cpu": facts["cpu"], "cpu_level": facts["cpu_level"],
         "blas": facts["blas"], "blas_core": facts["core"], "blas_core_how": facts["how"],
         "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")})

    specs = {m: torch_bench.parse_model(cfg_path[m]) for m in models}
    shapes = {m: gemm_shapes(specs[m]) for m in models}
    flops = {m: step_flops(shapes[m]) for m in models}
    steps = {m: args.steps or DEFAULT_STEPS.get(m, 20) for m in models}
    if args.quick and not args.steps:
        steps = {m: max(2, s // 4) for m, s in steps.items()}

    t_start = time.time()
    load_before = os.getloadavg()[0]
    sgemm_runs = {m: [] for m in models}

    results = {}
    for m in models:
        for c in cfgs:
            results[(m, c, "seqtrain")], results[(m, c, "pytorch")] = [], []
            results[(m, c, "batch")] = specs[m]["batch"]
    for rnd in range(args.rounds):
        for m in models:
            # The sgemm yardstick is measured in every round too, next to the runs it judges.
            sg = run_sgemm(shapes[m])
            sgemm_runs[m].append(sg)
            log({"kind": "sgemm", "model": m, "round": rnd, **sg})
            print(f"[bench] round {rnd + 1}/{args.rounds} sgemm {m}: {sg['mean_gflops']:.1f} "
                  f"GFLOP/s (1 thread)", file=sys.stderr, flush=True)
            for c in cfgs:
                ranks, threads = CONFIGS[c]
                # A then B; a side that failed once (n/a) is not retried in later rounds.
                for side in ("seqtrain", "pytorch"):
                    prev = results[(m, c, side)]
                    if prev and "na" in prev[0]:
                        continue
                    if side == "seqtrain":
                        if not os.path.exists(binary):
                            rec = {"na": "n/a (no seqtrain binary)", "why": f"{binary} missing"}
                        elif not has_bench:
                            rec = {"na": "n/a (no --benchmark in seqtrain yet)",
                                   "why": f"`{binary} train --help` lists no --benchmark"}
                        else:
                            rec = run_seqtrain(binary, cfg_path[m], ranks, threads, steps[m],
                                               args.warmup, args.timeout)
                    else:
                        rec = run_torch(cfg_path[m], ranks, threads, steps[m], args.warmup,
                                        args.timeout)
                    rec.update({"side": side, "model": m, "config": c, "round": rnd})
                    prev.append(rec)
                    log({"kind": "bench", **rec})
                    val = rec.get("na") or f"{rec['samples_per_s']:.0f} samples/s"
                    print(f"[bench] round {rnd + 1}/{args.rounds} {m} {c} {side}: {val} "
                          f"({time.time() - t_start:.0f} s)", file=sys.stderr, flush=True)
    seen = cores_seen(results, sgemm_runs, facts)
    warning, _ = blas_header(facts, seen)
    log({"kind": "blas_check", "cores": seen, "agree": warning is None})
    if warning:
        print(f"[bench] {warning.strip('*')}", file=sys.stderr, flush=True)
    jl.close()
    sgemm = {m: {"mean_gflops": statistics.median(r["mean_gflops"] for r in sgemm_runs[m])}
             for m in models}
    load = (load_before, os.getloadavg()[0])
    md = table(models, cfgs, results, sgemm, flops, args, torch_ver, load, facts, seen)
    md += f"Wall time of the whole run: {time.time() - t_start:.0f} s.\n"
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
