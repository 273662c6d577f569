"""Side-by-side training-step benchmark: glassnet vs PyTorch (CPU, float32, 2 threads).

Protocol (../shared/BENCHMARKS.md): both frameworks start from the same weights and data,
steps are timed alternating between the frameworks after a warm-up, and the median of
several repetitions is reported with the ratio glassnet/PyTorch (< 1 means glassnet is
faster). Peak resident memory is measured per framework in a fresh subprocess that imports
only that framework and runs the same workload.

    python benchmarks/bench.py                      # all workloads available
    python benchmarks/bench.py --workloads mlp --reps 30
    python benchmarks/bench.py --quick              # seconds; used by the test suite

Prints a table, then one line of JSON (the record), and writes it to --json if given.
"""
import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import NAMES  # noqa: E402


def _available(names):
    out = []
    for n in names:
        try:
            importlib.import_module(f"workloads.{n}")
            out.append(n)
        except ImportError:
            pass
    return out


def time_side_by_side(name: str, reps: int, warmup: int, inner: int) -> dict:
    import torch
    torch.set_num_threads(2)
    mod = importlib.import_module(f"workloads.{name}")
    steps = {fw: mod.make(fw) for fw in ("glassnet", "torch")}
    for fw in steps:
        for _ in range(warmup):
            steps[fw]()
    times = {fw: [] for fw in steps}
    for _ in range(reps):                       # alternate so drift hits both equally
        for fw, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            times[fw].append((time.perf_counter() - t0) / inner * 1000)
    med = {fw: statistics.median(v) for fw, v in times.items()}
    return {"glassnet_ms": med["glassnet"], "torch_ms": med["torch"],
            "ratio": med["glassnet"] / med["torch"]}


def peak_rss_mb(name: str, framework: str, steps: int) -> float:
    """Peak RSS of a fresh process that imports one framework and runs ``steps`` steps.

    Read from VmHWM (per address space, reset by exec): ``ru_maxrss`` would inherit the
    parent's high-water mark across fork/exec.
    """
    code = (
        "import sys, resource; sys.path.insert(0, %r)\n"
        "if %r == 'torch':\n    import torch; torch.set_num_threads(2)\n"
        "import importlib; m = importlib.import_module('workloads.%s')\n"
        "step = m.make(%r)\n"
        "for _ in range(%d): step()\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    ) % (str(HERE), framework, name, framework, steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(NAMES))
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--inner", type=int, default=10,
                    help="steps per timed repetition (amortises the hand-over between "
                         "the two frameworks' thread pools)")
    ap.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the record here")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.warmup, args.inner = 2, 1, 1
    names = _available([n.strip() for n in args.workloads.split(",") if n.strip()])
    rows = []
    for name in names:
        r = {"workload": name, **time_side_by_side(name, args.reps, args.warmup, args.inner)}
        if not args.no_memory:
            n = 3 if args.quick else 50
            r["glassnet_peak_rss_mb"] = peak_rss_mb(name, "glassnet", n)
            r["torch_peak_rss_mb"] = peak_rss_mb(name, "torch", n)
        rows.append(r)
    print(f"{'workload':<9}{'glassnet ms':>13}{'torch ms':>10}{'ratio':>8}"
          f"{'gn RSS MB':>11}{'torch RSS MB':>14}")
    for r in rows:
        print(f"{r['workload']:<9}{r['glassnet_ms']:>13.2f}{r['torch_ms']:>10.2f}"
              f"{r['ratio']:>8.2f}{r.get('glassnet_peak_rss_mb', float('nan')):>11.0f}"
              f"{r.get('torch_peak_rss_mb', float('nan')):>14.0f}")
    import numpy
    import torch
    record = {"benchmark": "glassnet-vs-torch", "quick": args.quick, "reps": args.reps,
              "inner": args.inner, "machine": platform.machine(), "cpus": os.cpu_count(),
              "python": platform.python_version(), "numpy": numpy.__version__,
              "torch": torch.__version__, "results": rows,
              "ru_maxrss_this_process_mb":
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
