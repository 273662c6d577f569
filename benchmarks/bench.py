"""glassnet vs PyTorch (CPU, float32): each framework alone in its own fresh process.

Protocol (../shared/BENCHMARKS.md): for every workload, pairs of fresh processes, one per
framework, alternating the order pair by pair (glassnet then torch, torch then glassnet, …).
Each process builds the workload from the same weights and data, warms up, then times
``--reps`` repetitions of ``--inner`` calls and reports them with its own peak RSS (VmHWM).
The table gives the medians of all repetitions, their min–max, and the median of the pair
ratios glassnet/PyTorch (< 1 means glassnet is faster; for rates such as chars/s the ratio
is still time over time, so < 1 is faster there too).

    python benchmarks/bench.py                          # every workload, 3 pairs
    python benchmarks/bench.py --workloads cnn,lstm --pairs 5
    python benchmarks/bench.py --in-process             # old mode: both in one process
    python benchmarks/bench.py --quick                  # seconds; used by the test suite

The record (last line of output, and --json) holds the CPU model, the BLAS libraries and
kernels seen by threadpoolctl (when installed), the thread counts of each framework, and
``glassnet_fast``: whether glassnet's optional compiled kernels (C via cffi, ``ops/_fast.py``) were
on and which ops ran them (``GLASSNET_FAST=0`` in the environment turns them off), and
``glassnet_gemm``: whether its products went to MKL (``glassnet/blas.py``, the optional ``mkl``
package; ``GLASSNET_BLAS=numpy`` keeps NumPy's own BLAS).
The in-process mode is kept for comparison only: the two thread pools then fight over the
cores and its ratios swing by 2x from run to run.
"""
import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import NAMES, module_name  # noqa: E402

FRAMEWORKS = ("glassnet", "torch")


# -- the child: one framework, one workload, in this process only --------------------------
_THREADS_OVERRIDE = None      # --threads: every workload with this many threads


def _threads(mod) -> int:
    return _THREADS_OVERRIDE or getattr(mod, "THREADS", 2)


def _blas_info() -> list:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "prefix")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def child(name: str, framework: str, reps: int, warmup: int, inner: int) -> dict:
    """Time one workload in one framework (run in a fresh process: see ``_spawn``)."""
    mod = importlib.import_module(f"workloads.{module_name(name)}")
    threads = _threads(mod)
    info = {}
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
        info["torch_threads"] = torch.get_num_threads()
        info["torch_backends"] = {"mkl": torch.backends.mkl.is_available(),
                                  "mkldnn": torch.backends.mkldnn.is_available()}
    step = mod.make(framework)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - t0) / inner)
    if framework == "glassnet":         # which optional compiled kernels ran (ops/_fast.py)
        from glassnet import blas as _blas
        from glassnet.ops import _fast
        info["glassnet_fast"] = _fast.status()
        info["glassnet_gemm"] = _blas.status()   # MKL's GEMM (glassnet/blas.py) or NumPy's
    hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
    return {"seconds": times, "peak_rss_mb": int(hwm[0]) / 1024 if hwm else None,
            "threads": threads, "blas": _blas_info(), **info}


def _spawn(name, framework, args) -> dict:
    threads = str(_threads(importlib.import_module(f"workloads.{module_name(name)}")))
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = threads
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, framework,
           "--reps", str(args.reps), "--warmup", str(args.warmup), "--inner", str(args.inner)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"bench: {framework} {name} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the parent: alternate fresh processes, pair by pair -------------------------------------
def _scale(mod) -> tuple[str, float]:
    """Display unit and the factor from seconds per call to it."""
    unit = getattr(mod, "UNIT", "ms/step")
    if unit == "us/step":
        return unit, 1e6
    if unit.endswith("/s"):
        return unit, float(getattr(mod, "PER_CALL", 1))   # items per second = PER_CALL / s
    return unit, 1e3


def measure_separate(name: str, args) -> dict:
    mod = importlib.import_module(f"workloads.{module_name(name)}")
    unit, factor = _scale(mod)
    runs = {fw: [] for fw in FRAMEWORKS}
    pair_ratios = []
    for p in range(args.pairs):
        order = FRAMEWORKS if p % 2 == 0 else FRAMEWORKS[::-1]
        med = {}
        for fw in order:
            r = _spawn(name, fw, args)
            runs[fw].append(r)
            med[fw] = statistics.median(r["seconds"])
        pair_ratios.append(med["glassnet"] / med["torch"])
    row = {"workload": name, "unit": unit, "pairs": args.pairs,
           "ratio": statistics.median(pair_ratios), "pair_ratios": pair_ratios}
    for fw in FRAMEWORKS:
        secs = [s for r in runs[fw] for s in r["seconds"]]
        vals = [(factor / s if unit.endswith("/s") else s * factor) for s in secs]
        row[f"{fw}_median"] = statistics.median(vals)
        row[f"{fw}_min"], row[f"{fw}_max"] = min(vals), max(vals)
        row[f"{fw}_peak_rss_mb"] = max(r["peak_rss_mb"] or 0 for r in runs[fw])
        row[f"{fw}_threads"] = runs[fw][0]["threads"]
        row[f"{fw}_blas"] = runs[fw][0]["blas"]
        if "torch_backends" in runs[fw][0]:
            row["torch_backends"] = runs[fw][0]["torch_backends"]
        for key in ("glassnet_fast", "glassnet_gemm"):
            if key in runs[fw][0]:
                row[key] = runs[fw][0][key]
    return row


def measure_in_process(name: str, args) -> dict:
    """The old mode, both frameworks in this process (labelled as such in the record)."""
    import torch
    mod = importlib.import_module(f"workloads.{module_name(name)}")
    unit, factor = _scale(mod)
    torch.set_num_threads(_threads(mod))
    steps = {fw: mod.make(fw) for fw in FRAMEWORKS}
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    secs = {fw: [] for fw in FRAMEWORKS}
    for _ in range(args.reps):
        for fw, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(args.inner):
                step()
            secs[fw].append((time.perf_counter() - t0) / args.inner)
    row = {"workload": name, "unit": unit, "mode": "in-process"}
    for fw in FRAMEWORKS:
        vals = [(factor / s if unit.endswith("/s") else s * factor) for s in secs[fw]]
        row[f"{fw}_median"] = statistics.median(vals)
        row[f"{fw}_min"], row[f"{fw}_max"] = min(vals), max(vals)
    row["ratio"] = statistics.median(secs["glassnet"]) / statistics.median(secs["torch"])
    return row


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _available(names):
    out = []
    for n in names:
        if n not in NAMES:
            raise SystemExit(f"bench: unknown workload {n!r}; expected one of {', '.join(NAMES)}")
        try:
            importlib.import_module(f"workloads.{module_name(n)}")
            out.append(n)
        except ImportError as e:
            print(f"bench: skipping {n}: {e}", file=sys.stderr)
    return out


def print_table(rows) -> None:
    print(f"{'workload':<10}{'unit':>11}{'glassnet (min-max)':>28}{'PyTorch (min-max)':>28}"
          f"{'ratio':>7}{'gn MB':>7}{'pt MB':>7}")

    def cell(r, fw):
        return f"{r[fw + '_median']:.3g} ({r[fw + '_min']:.3g}-{r[fw + '_max']:.3g})"
    for r in rows:
        print(f"{r['workload']:<10}{r['unit']:>11}{cell(r, 'glassnet'):>28}"
              f"{cell(r, 'torch'):>28}{r['ratio']:>7.2f}"
              f"{r.get('glassnet_peak_rss_mb', float('nan')):>7.0f}"
              f"{r.get('torch_peak_rss_mb', float('nan')):>7.0f}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(NAMES),
                    help=f"comma-separated, from {', '.join(NAMES)}")
    ap.add_argument("--pairs", type=int, default=3, help="process pairs per workload (>= 3)")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions per process")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--inner", type=int, default=5, help="calls per timed repetition")
    ap.add_argument("--in-process", action="store_true",
                    help="old mode: both frameworks in this process (thread pools interfere)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every workload (default: each workload's THREADS, 2); "
                         "1 on a loaded machine, where 2 spinning BLAS threads lose up to 50x")
    ap.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
    ap.add_argument("--json", type=Path, help="also write the record here")
    ap.add_argument("--child", nargs=2, metavar=("WORKLOAD", "FRAMEWORK"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global _THREADS_OVERRIDE
    _THREADS_OVERRIDE = args.threads
    if args.child:
        print(json.dumps(child(*args.child, args.reps, args.warmup, args.inner)))
        return {}
    if args.quick:
        args.pairs, args.reps, args.warmup, args.inner = 1, 2, 1, 1
    names = _available([n.strip() for n in args.workloads.split(",") if n.strip()])
    measure = measure_in_process if args.in_process else measure_separate
    rows = [measure(n, args) for n in names]
    print_table(rows)
    import numpy
    import torch
    record = {"benchmark": "glassnet-vs-torch",
              "mode": "in-process" if args.in_process else "separate-processes",
              "quick": args.quick, "pairs": None if args.in_process else args.pairs,
              "threads_override": args.threads,
              "reps": args.reps, "inner": args.inner, "warmup": args.warmup,
              "cpu": cpu_model(), "machine": platform.machine(), "cpus": os.cpu_count(),
              "python": platform.python_version(), "numpy": numpy.__version__,
              "torch": torch.__version__, "time_utc": time.strftime("%Y-%m-%d %H:%M",
                                                                      time.gmtime()),
              "results": rows}
    print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
