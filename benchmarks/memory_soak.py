"""Memory soak: does glassnet's memory stay flat over thousands of training steps?

Each workload of benchmarks/workloads/ runs ``--steps`` glassnet training steps (default
5,000) in its own fresh subprocess. The child records, at the mark step (default 10% of the
run, i.e. step 500 of 5,000) and at the end: peak RSS (``ru_maxrss``), current RSS and the
number of live ``gn.Tensor`` objects (after ``gc.collect()``; a graph surviving a step would
make it grow). Growth = end / mark − 1; the issue's bar is peak RSS growth under 5%.

    python benchmarks/memory_soak.py                         # 5,000 steps of every workload
    python benchmarks/memory_soak.py --steps 500 --workloads mlp rnn --json soak.json

Prints a table and a JSON document (also written to ``--json`` when given).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import NAMES  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024        # kB on Linux


def _live_tensors() -> int:
    import glassnet as gn
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, gn.Tensor))


def _sample(step: int, start: float) -> dict:
    return {"step": step, "peak_rss_mb": round(_peak_mb(), 1), "rss_mb": round(_rss_mb(), 1),
            "live_tensors": _live_tensors(), "seconds": round(time.perf_counter() - start, 1)}


def child(name: str, steps: int, mark: int) -> None:
    """Run in the subprocess: ``steps`` glassnet steps of workload ``name``; print JSON."""
    step = importlib.import_module(f"workloads.{name}").make("glassnet", seed=0)
    start = time.perf_counter()
    samples = []
    for i in range(1, steps + 1):
        step()
        if i in (mark, steps):
            samples.append(_sample(i, start))
    print(json.dumps({"workload": name, "samples": samples}))


def _growth(a: float, b: float) -> float:
    return round(100.0 * (b / a - 1.0), 2) if a else float("nan")


def soak(name: str, steps: int, mark: int, timeout: float) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--steps", str(steps),
                           "--mark", str(mark)], capture_output=True, text=True,
                          timeout=timeout, cwd=HERE)
    if proc.returncode != 0:
        return {"workload": name, "error": proc.stderr.strip().splitlines()[-1:]}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    first, last = data["samples"][0], data["samples"][-1]
    data.update({"peak_rss_growth_pct": _growth(first["peak_rss_mb"], last["peak_rss_mb"]),
                 "rss_growth_pct": _growth(first["rss_mb"], last["rss_mb"]),
                 "live_tensor_growth": last["live_tensors"] - first["live_tensors"]})
    data["flat"] = data["peak_rss_growth_pct"] < 5.0 and data["live_tensor_growth"] <= 0
    return data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5000, help="training steps per workload")
    p.add_argument("--mark", type=int, help="step of the first sample (default steps // 10)")
    p.add_argument("--workloads", nargs="+", default=list(NAMES), choices=list(NAMES))
    p.add_argument("--timeout", type=float, default=3600, help="seconds per workload")
    p.add_argument("--json", help="also write the JSON document here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 2:
        p.error("--steps must be >= 2")
    mark = args.mark or max(1, args.steps // 10)
    if not 1 <= mark < args.steps:
        p.error("--mark must be in [1, steps)")
    if args.child:
        child(args.child, args.steps, mark)
        return 0
    results = [soak(name, args.steps, mark, args.timeout) for name in args.workloads]
    print(f"{'workload':9} {'steps':>6} {'peak@' + str(mark):>11} {'peak@end':>9} {'growth':>8} "
          f"{'rss growth':>10} {'tensors':>9} {'time s':>7}  flat")
    for r in results:
        if "error" in r:
            print(f"{r['workload']:9} error: {r['error']}")
            continue
        a, b = r["samples"][0], r["samples"][-1]
        print(f"{r['workload']:9} {b['step']:>6} {a['peak_rss_mb']:>9.1f}MB "
              f"{b['peak_rss_mb']:>7.1f}MB {r['peak_rss_growth_pct']:>7.2f}% "
              f"{r['rss_growth_pct']:>9.2f}% {a['live_tensors']:>4}->{b['live_tensors']:<4} "
              f"{b['seconds']:>7.1f}  {'yes' if r['flat'] else 'NO'}")
    doc = {"steps": args.steps, "mark": mark, "python": platform.python_version(),
           "machine": platform.machine(), "results": results}
    print(json.dumps(doc))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0 if all(r.get("flat") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
