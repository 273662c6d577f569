"""Cost of gn.inspect.detect_anomaly on the mlp workload (target: < 10% of step time).

The same glassnet training step (benchmarks/workloads/mlp.py: 784-512-256-10 MLP, batch 128,
cross-entropy, SGD with momentum) is timed with and without the guard, alternating the two
after a warm-up. The machine may be shared, so three estimates are printed: the ratio of
median wall times, of minimum wall times (least disturbed by other processes) and of median
CPU times of this process. Because all three can be swamped by other load, the script also
times the guard's checks on their own: it records the arrays one guarded step tests, then
times testing them (best of many rounds), and it times the guard's Python bookkeeping on a
same-shaped network of width 4 (where arithmetic costs nothing): "estimate_pct" =
(checks + bookkeeping) / best plain step.

    python benchmarks/anomaly_overhead.py [--reps 30] [--inner 5]

Prints one line of JSON: {"plain_ms", "guarded_ms", "overhead_pct", "overhead_min_pct",
"overhead_cpu_pct", "checks_ms", "checks_pct", ...}.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import glassnet as gn  # noqa: E402
from glassnet.inspect import _anomaly, detect_anomaly  # noqa: E402
from workloads import mlp  # noqa: E402


def _make(seed=0, width=None):
    x, y = mlp._data(seed)
    nn = gn.nn
    if width is None:
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        model.load_state_dict(mlp._init_state(seed))
    else:                               # the same layers, tiny: only Python overhead is left
        x = x[:4, :width]
        y = y[:4]
        model = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width),
                              nn.ReLU(), nn.Linear(width, 10))
    try:
        opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    except AttributeError:
        from glassnet.optim.sgd import SGD
        opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xg, yg, loss_fn = gn.tensor(x), gn.tensor(y), nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(xg), yg)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return model, opt, step


def checks_ms(model, opt, step, rounds=200) -> tuple[float, int]:
    """Best time to run the guard's finite-checks of one step, and how many arrays it tests."""
    seen = []
    real = _anomaly.all_finite

    def record(a):
        seen.append(a)
        return real(a)
    _anomaly.all_finite = record
    try:
        with detect_anomaly(model, opt):
            step()
    finally:
        _anomaly.all_finite = real
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for a in seen:
            real(a)
        best = min(best, time.perf_counter() - t0)
    return best * 1000, len(seen)


def bookkeeping_ms(rounds=400) -> float:
    """Guarded minus plain step time on the width-4 network (best of ``rounds`` each)."""
    _, _, plain = _make(width=4)
    model, opt, step = _make(width=4)
    best = {"plain": float("inf"), "guarded": float("inf")}
    with detect_anomaly(model, opt):
        for _ in range(rounds):
            for name, fn in (("plain", plain), ("guarded", step)):
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
    return max(0.0, best["guarded"] - best["plain"]) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    plain_model, _, plain = _make()
    model, opt, guarded_step = _make()
    guard = detect_anomaly(model, opt)
    guard.__enter__()
    for _ in range(args.warmup):
        plain()
        guarded_step()
    times = {"plain": [], "guarded": []}
    cpu = {"plain": [], "guarded": []}
    for _ in range(args.reps):
        for name, fn in (("plain", plain), ("guarded", guarded_step)):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.inner):
                fn()
            times[name].append((time.perf_counter() - t0) / args.inner * 1000)
            cpu[name].append((time.process_time() - c0) / args.inner * 1000)
    guard.__exit__(None, None, None)
    for k, v in plain_model.state_dict().items():        # the guard does not change the maths
        assert np.array_equal(v, model.state_dict()[k]), k
    check_ms, n_checks = checks_ms(model, opt, guarded_step)
    python_ms = bookkeeping_ms()
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}

    def pct(d):
        return round(100 * (d["guarded"] / d["plain"] - 1), 2)
    print(json.dumps({"workload": "mlp", "plain_ms": round(med["plain"], 3),
                      "guarded_ms": round(med["guarded"], 3), "overhead_pct": pct(med),
                      "overhead_min_pct": pct(low), "overhead_cpu_pct": pct(cpu_med),
                      "checks_ms": round(check_ms, 4), "checks_per_step": n_checks,
                      "plain_min_ms": round(low["plain"], 3),
                      "checks_pct": round(100 * check_ms / low["plain"], 2),
                      "bookkeeping_ms": round(python_ms, 4),
                      "estimate_pct": round(100 * (check_ms + python_ms) / low["plain"], 2),
                      "reps": args.reps, "inner": args.inner}))


if __name__ == "__main__":
    main()
