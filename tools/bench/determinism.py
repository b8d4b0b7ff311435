#!/usr/bin/python3
"""What bitwise-identical weights cost: seqtrain with [train] deterministic = false and = true,
side by side on the benchmark models (README, "Bitwise the same weights for any number of ranks").

    tools/bench/determinism.py [--models M1,M2,M3,M5,M6] [--configs 1x1,2x1] [--rounds 3]
                               [--steps N] [--seqtrain build-bench/seqtrain] [--out DIR]
                               [--no-build]

For every round, model and configuration (ranks x threads) it runs `seqtrain train CFG
--benchmark STEPS` twice, off then on, so machine drift falls on both alike; the table shows the
median step time of each and their ratio (on / off - 1 = the cost), plus the median time of the
reduction phase ("allreduce": with deterministic = true the fixed-point conversion and the
integer allreduce). Same binary, same data, same process layout as tools/bench/run.sh (whose
helpers it uses). Writes the table to OUT/determinism.md and every BENCH record to
OUT/determinism.jsonl.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="cost of [train] deterministic = true")
    ap.add_argument("--models", default="M1,M2,M3,M5,M6")
    ap.add_argument("--configs", default="1x1,2x1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seqtrain", default=os.path.join(bench.BUILD, "seqtrain"))
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        bench.build(args)  # build-bench/ (Release), as tools/bench/run.sh
    models = [m for m in args.models.split(",") if m]
    cfgs = [c for c in args.configs.split(",") if c]
    if not os.path.exists(args.seqtrain):
        sys.exit(f"determinism.py: {args.seqtrain} missing (tools/bench/run.sh builds it)")
    os.makedirs(args.out, exist_ok=True)
    jl = open(os.path.join(args.out, "determinism.jsonl"), "w")
    res = {}
    for rnd in range(args.rounds):
        for m in models:
            cfg = os.path.join(HERE, "configs", m + ".ini")
            steps = args.steps or max(4, bench.DEFAULT_STEPS.get(m, 20) // 2)
            for c in cfgs:
                ranks, threads = bench.CONFIGS[c]
                for det in ("false", "true"):
                    rec = bench.run_seqtrain(args.seqtrain, cfg, ranks, threads, steps,
                                             args.warmup, args.timeout,
                                             ("--set", f"train.deterministic={det}"))
                    rec.update({"model": m, "config": c, "deterministic": det, "round": rnd})
                    jl.write(json.dumps(rec) + "\n")
                    jl.flush()
                    res.setdefault((m, c, det), []).append(rec)
                    print(f"[determinism] round {rnd + 1}/{args.rounds} {m} {c} det={det}: "
                          f"{rec.get('step_ms', rec.get('na'))} ms/step", file=sys.stderr,
                          flush=True)
    lines = [f"Machine: {bench.machine_line()}; OpenBLAS core: "
             f"{os.environ.get('OPENBLAS_CORETYPE', '(detected)')}; median of {args.rounds} "
             f"rounds, step time in ms (reduction phase in parentheses)", "",
             "| model | ranks x threads | deterministic = false | deterministic = true | cost |",
             "|---|---|---|---|---|"]
    for m in models:
        for c in cfgs:
            off, on = res.get((m, c, "false"), []), res.get((m, c, "true"), [])
            if not off or not on or any("na" in r for r in off + on):
                lines.append(f"| {m} | {c} | n/a | n/a | n/a |")
                continue
            med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
            red = lambda rs: statistics.median(r["allreduce_ms"]["mean"] for r in rs)  # noqa
            a, b = med(off, "step_ms"), med(on, "step_ms")
            lines.append(f"| {m} | {c} | {a:.1f} ({red(off):.1f}) | {b:.1f} ({red(on):.1f}) | "
                         f"{100 * (b / a - 1):+.1f}% |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "determinism.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
