#!/usr/bin/python3
"""points.py - synthetic sweep points for tests/e2e/scaling_fit.sh (no MPI, no seqtrain).

    points.py OUT_DIR SET [--alpha S] [--beta S_PER_BYTE] [--nodes same|one] [--noise F]

Writes one BENCH-like JSON file per point into OUT_DIR, with allreduce times made from known
alpha and beta by the per-rank timings of Open MPI 4.1's algorithms written out by hand here
for 2 and 3 ranks (not taken from tools/scaling-report, so the test checks its formulas):
  Rabenseifner, 2 ranks: every rank 2 alpha + m beta
  Rabenseifner, 3 ranks: ranks 0 and 1 (the folded pair) 5 alpha + 3 m beta, rank 2 4 alpha + 2 m beta
  Rabenseifner, 4 ranks: every rank 4 alpha + 1.5 m beta
  recursive doubling, 2 ranks: alpha + m beta; 3 ranks: ranks 0, 1: 3 (alpha + m beta), rank 2: 2;
  4 ranks: 2 (alpha + m beta)
The gradient message (>= 256 KiB) takes Rabenseifner, the deterministic mode's 24-byte int32
max recursive doubling. Each point's allreduce time adds a wait of 0.3 ms (reported apart, as
seqtrain does) and, in deterministic mode, the local fixed-point work that its 1-rank point
shows. SET: 'multi' (M2 and M6, float and deterministic, 1 to 3 ranks), 'single2' (M2
deterministic, 1 and 2 ranks, strong and weak), 'mixed' (2 ranks on 1 node, 4 on 2: several
ranks per node, with made-up times), 'variants' (M2 deterministic: weak at 1 rank and at 2, 3
ranks on 2, 3 nodes, strong at 1 and 2 ranks on one node, in the variants of issue 14; see
variant()). --noise F multiplies the points' communication times by
1 + F and 1 - F in turn (a fixed pattern: the test stays repeatable). Exit status: 0, or 2 on
bad usage.
"""
import argparse
import json
import os

MODELS = {"M2": 344897, "M6": 4135425}
LOCAL_MS = {"M2": 1.0, "M6": 20.0}  # deterministic mode's local work, as measured at 1 rank
WAIT_MS = 0.3
NTENSORS = 6


def comm_s(p, nparams, exact, alpha, beta):
    """Mean over ranks of the allreduce time of one step (module text)."""
    if p == 1:
        return 0.0
    m = 8 * (nparams + 14) if exact else 4 * (nparams + 5)
    raben = {2: [2 * alpha + m * beta] * 2,
             3: [5 * alpha + 3 * m * beta] * 2 + [4 * alpha + 2 * m * beta],
             4: [4 * alpha + 1.5 * m * beta] * 4}[p]
    t = sum(raben) / p
    if exact:
        e = 4 * NTENSORS
        rd = {2: [1, 1], 3: [3, 3, 2], 4: [2] * 4}[p]
        t += sum(k * (alpha + e * beta) for k in rd) / p
    return t


def point(name, p, nodes, exact, mode, alpha, beta, noise=0.0):
    nparams = MODELS[name]
    batch = 128 if mode == "strong" else 64 * p
    local = LOCAL_MS[name] if exact else 0.0
    comm = 1000 * comm_s(p, nparams, exact, alpha, beta) * (1 + noise)
    ar = (WAIT_MS if p > 1 else 0.0) + local + comm
    step = 50.0 / (p if mode == "strong" else 1) + ar + 1.0
    return {"ranks": p, "threads": 1, "steps": 10, "global_batch": batch,
            "samples_per_s": batch / step * 1000, "step_ms": step,
            "fwd_bwd_ms": {"mean": 50.0 / (p if mode == "strong" else 1),
                           "max": 50.0 / (p if mode == "strong" else 1)},
            "allreduce_ms": {"mean": ar, "max": ar + 0.1},
            "allreduce_wait_ms": {"mean": WAIT_MS if p > 1 else 0.0,
                                  "max": WAIT_MS if p > 1 else 0.0},
            "optimizer_ms": {"mean": 1.0, "max": 1.0}, "data_ms": {"mean": 0.0, "max": 0.0},
            "nparams": nparams, "deterministic": int(exact),
            "block_rows": 8 if exact else 0, "mode": mode, "per_rank_batch": batch / p,
            "nodes": nodes, "ntensors": NTENSORS, "cores": 2}


OVERLAP_EXPOSED = {2: 0.5, 3: 0.25}  # overlap: the part of base's allreduce time left exposed
SHARD_OPT = 1.1  # shard: optimizer time per rank = 1.1 / p of the full update's 1.0 ms
SHARD_AR = 3.0  # shard: allreduce time x3, nonsense for the allreduce fit: must not be used


def variant(d, name):
    """d (a base point) as the variant NAME ran it: 'base' gains the new fields (0, 0);
    'overlap' hides 1 - OVERLAP_EXPOSED[p] of the allreduce time behind backward (the step
    shorter by as much); 'shard' updates 1/p of the parameters in SHARD_OPT / p ms, holds 1/p of
    the Adam state, hands 8 + 4 bytes per parameter to MPI (int64 reduce-scatter, float
    allgather) and shows a made-up allreduce time."""
    d = json.loads(json.dumps(d))
    p, n = d["ranks"], d["nparams"]
    state = 2 * 4 * n / 2**20
    d.update(shard_optimizer=0, overlap=0, buckets=0, bucket_mb=25.0,
             optimizer_state_mb={"mean": state, "max": state},
             reduced_bytes_per_step=(8 * (n + 14) + 4 * NTENSORS) if p > 1 else 0)
    if name == "overlap":
        f = OVERLAP_EXPOSED[p]
        hidden = (1 - f) * d["allreduce_ms"]["mean"]
        d["allreduce_ms"] = {k: f * v for k, v in d["allreduce_ms"].items()}
        d["step_ms"] -= hidden
        d.update(overlap=1, buckets=3)
    elif name == "shard":
        d["optimizer_ms"] = {"mean": SHARD_OPT / p, "max": SHARD_OPT / p}
        d["optimizer_state_mb"] = {"mean": state / p, "max": state / p}
        d["allreduce_ms"] = {k: SHARD_AR * v for k, v in d["allreduce_ms"].items()}
        d["step_ms"] += d["allreduce_ms"]["mean"] * (1 - 1 / SHARD_AR) - 1.0 + SHARD_OPT / p
        d.update(shard_optimizer=1, reduced_bytes_per_step=12 * n)
    d["samples_per_s"] = d["global_batch"] / d["step_ms"] * 1000
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("set", choices=("multi", "single2", "mixed", "variants"))
    ap.add_argument("--alpha", type=float, default=50e-6)
    ap.add_argument("--beta", type=float, default=1 / 110e6)
    ap.add_argument("--nodes", choices=("same", "one"), default="same",
                    help="'same': p ranks on p nodes; 'one': every point on one node")
    ap.add_argument("--noise", type=float, default=0.0)
    a = ap.parse_args()
    sign = [1]

    def noise():  # +F, -F, +F, ...
        sign[0] = -sign[0]
        return -sign[0] * a.noise
    os.makedirs(a.out, exist_ok=True)
    pts = []
    if a.set == "multi":
        for name in MODELS:
            for exact in (False, True):
                for p in (1, 2, 3):
                    nodes = p if a.nodes == "same" else 1
                    pts.append((f"{name}-{'det' if exact else 'float'}-r{p}-n{nodes}",
                                point(name, p, nodes, exact, "strong", a.alpha, a.beta,
                                      noise())))
            pts.append((f"{name}-det-weak-r2-n2x{a.nodes}",
                        point(name, 2, 2 if a.nodes == "same" else 1, True, "weak",
                              a.alpha, a.beta, noise())))
    elif a.set == "single2":
        for mode in ("strong", "weak"):
            for p in (1, 2):
                pts.append((f"M2-{mode}-r{p}", point("M2", p, 1, True, mode, a.alpha, a.beta)))
    elif a.set == "variants":
        # At 1 rank the variants are one point (seqtrain shards and overlaps nothing there).
        pts.append(("weak-r1-base", variant(point("M2", 1, 1, True, "weak", a.alpha, a.beta),
                                            "base")))
        pts.append(("strong-r1-base", variant(point("M2", 1, 1, True, "strong", a.alpha,
                                                    a.beta), "base")))
        for v in ("base", "overlap", "shard"):
            for p in (2, 3):
                pts.append((f"weak-r{p}-n{p}-{v}",
                            variant(point("M2", p, p, True, "weak", a.alpha, a.beta), v)))
        for v in ("base", "overlap"):
            pts.append((f"strong-r2-n1-{v}",
                        variant(point("M2", 2, 1, True, "strong", a.alpha, a.beta), v)))
    else:
        d = point("M2", 4, 2, True, "strong", a.alpha, a.beta)
        d["allreduce_ms"]["mean"] *= 3  # nonsense for the network fit: must not be used
        pts.append(("M2-det-r4-n2", d))
    for name, d in pts:
        with open(os.path.join(a.out, f"{name}.json"), "w") as f:
            json.dump(d, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
