# --timeline writes a Chrome trace: one track (pid) per rank, a slice per layer's forward and
# backward, the allreduce, the optimizer, data reads and checkpoints, on a common clock.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 20 --steps 10 --seed 2 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
run_np 2 train cfg.ini --set train.epochs=1 --quiet --timeline train.json
run_np 3 train cfg.ini --benchmark 3 --warmup 1 --timeline bench.json >/dev/null
"$ST_PY" - <<'PY'
import json
def load(path, ranks):
    t = json.load(open(path))
    ev = [e for e in t["traceEvents"] if e["ph"] == "X"]
    assert {e["pid"] for e in ev} == set(range(ranks)), (path, {e["pid"] for e in ev})
    for e in ev:
        assert e["dur"] >= 0 and e["ts"] >= -1e3, e
    return ev
ev = load("train.json", 2)
names = {(e["name"], e["cat"]) for e in ev}
for want in [("lstm_1", "forward"), ("lstm_1", "backward"), ("embedding_1", "backward"),
             ("allreduce", "allreduce"), ("optimizer", "optimizer"), ("data", "data"),
             ("checkpoint", "checkpoint")]:
    assert want in names, (want, sorted(names))
steps = [e for e in ev if e["name"] == "allreduce" and e["pid"] == 1]
assert len(steps) == 5, len(steps)  # 300 rows / 64 = 5 steps
ck = [e for e in ev if e["cat"] == "checkpoint"]
assert ck and all(e["pid"] == 0 for e in ck), "only rank 0 writes checkpoints"
ev = load("bench.json", 3)
assert sum(1 for e in ev if e["cat"] == "wait" and e["pid"] == 2) == 3  # timed steps only
print("timeline ok:", len(ev), "events in the benchmark trace")
PY
