"""The GEMM-bound limit of a workload on this machine: its step's matrix products alone.

    python benchmarks/gemm_limit.py cnn               # 2 threads, as the benchmark
    python benchmarks/gemm_limit.py lstm --threads 1 --json limit.json

1. One glassnet training step runs with ``profile_step.Profiler`` recording every GEMM call
   (``xp.matmul``) with its operand shapes and layouts (``N`` C-contiguous, ``T`` a
   transposed view, ``S`` other strides): forward and backward, exactly as the kernels
   call them (a batched product counts as one call).
2. Two fresh processes, one per library, time each distinct product (same shapes, same
   layouts: the operands are built with the recorded strides) — NumPy's ``np.matmul`` and
   ``torch.matmul`` on ``torch.from_numpy`` views — each alone with ``--threads`` threads,
   the minimum over ``--reps`` repetitions.
   A third process times them as glassnet's ops call them (``glassnet.blas.matmul``: MKL's GEMM
   when the optional ``mkl`` package is installed, NumPy's otherwise).
3. The limit is Σ count × min(NumPy, PyTorch, glassnet) over the products: what the step would cost
   if it were nothing but its matrix products, each at the best rate available here. It
   ignores all element-wise work, so no real step can reach it.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def operand(np, shape, lay, rng):
    """A float32 array of ``shape`` with layout ``lay`` (see ``profile_step.layout``)."""
    if lay == "T" and len(shape) >= 2:
        base = rng.standard_normal(shape[:-2] + [shape[-1], shape[-2]], dtype=np.float32)
        return np.swapaxes(base, -1, -2)
    if lay == "S" and len(shape) >= 2:      # every other column of a twice-as-wide array
        base = rng.standard_normal(shape[:-1] + [2 * shape[-1]], dtype=np.float32)
        return base[..., ::2]
    return rng.standard_normal(shape, dtype=np.float32)


def flops(sa, sb) -> float:
    """2·M·K·N per product, times the broadcast batch size."""
    import numpy as np
    a, b = list(sa), list(sb)
    if len(a) == 1:
        a = [1] + a
    if len(b) == 1:
        b = b + [1]
    batch = np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    return 2.0 * a[-2] * a[-1] * b[-1] * float(np.prod(batch) if batch else 1)


def time_products(lib: str, products: list, reps: int) -> list:
    """Seconds per call (min over reps) of each product, in this process, with ``lib``."""
    import numpy as np
    rng = np.random.default_rng(0)
    out = []
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    elif lib == "glassnet":               # MKL loaded (OpenBLAS set to one thread) up front, as
        from glassnet import blas         # in a training loop after its first step
        blas.status()
    for sa, la, sb, lb in products:
        a, b = operand(np, sa, la, rng), operand(np, sb, lb, rng)
        if lib == "torch":
            fn, args = torch.matmul, (torch.from_numpy(a), torch.from_numpy(b))
        elif lib == "glassnet":                  # what the ops call: MKL when installed
            from glassnet.blas import matmul
            fn, args = matmul, (a, b)
        else:
            fn, args = np.matmul, (a, b)
        for _ in range(3):
            fn(*args)
        inner = max(1, int(2e7 / max(flops(sa, sb), 1)))   # ~10 ms of work per timing
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn(*args)
            best = min(best, (time.perf_counter() - t0) / inner)
        out.append(best)
    return out


def record_products(name: str) -> list:
    """(op, phase, shape_a, layout_a, shape_b, layout_b) of every GEMM call of one step."""
    sys.path.insert(0, str(HERE))
    from profile_step import Profiler, load_step
    step = load_step(name)
    import glassnet as gn
    step()
    prof = Profiler()
    prof.install(gn)
    try:
        prof.record = True
        prof.run(step, 1)
    finally:
        prof.uninstall()
    return prof.products


def _spawn(lib, products, args) -> list:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", lib,
           "--reps", str(args.reps)]
    out = subprocess.run(cmd, input=json.dumps(products), capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        raise SystemExit(f"gemm_limit: {lib} child failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def limit(name: str, args) -> dict:
    calls = record_products(name)
    count = Counter((tuple(sa), la, tuple(sb), lb) for _, _, sa, la, sb, lb in calls)
    where = {}
    for op, phase, sa, la, sb, lb in calls:
        where.setdefault((tuple(sa), la, tuple(sb), lb), f"{op} {phase}")
    distinct = [[list(k[0]), k[1], list(k[2]), k[3]] for k in count]
    t_np = _spawn("numpy", distinct, args)
    t_pt = _spawn("torch", distinct, args)
    t_gn = _spawn("glassnet", distinct, args)
    rows = []
    for (sa, la, sb, lb), a, b, c in zip(distinct, t_np, t_pt, t_gn):
        n = count[(tuple(sa), la, tuple(sb), lb)]
        f = flops(sa, sb)
        best = min(a, b, c)
        rows.append({"where": where[(tuple(sa), la, tuple(sb), lb)], "a": sa, "layout_a": la,
                     "b": sb, "layout_b": lb, "calls": n, "numpy_us": a * 1e6,
                     "torch_us": b * 1e6, "glassnet_us": c * 1e6,
                     "best_gflops": f / best / 1e9, "best_ms_per_step": n * best * 1e3})
    rows.sort(key=lambda r: -r["best_ms_per_step"])
    return {"workload": name, "threads": args.threads, "gemm_calls": len(calls),
            "limit_ms": sum(r["best_ms_per_step"] for r in rows),
            "numpy_only_ms": sum(r["calls"] * r["numpy_us"] for r in rows) / 1e3,
            "torch_only_ms": sum(r["calls"] * r["torch_us"] for r in rows) / 1e3,
            "glassnet_only_ms": sum(r["calls"] * r["glassnet_us"] for r in rows) / 1e3,
            "gflop_per_step": sum(r["calls"] * flops(r["a"], r["b"]) for r in rows) / 1e9,
            "products": rows}


def print_table(rec: dict) -> None:
    print(f"{rec['workload']}: {rec['gemm_calls']} GEMM calls per step, "
          f"{rec['gflop_per_step']:.3f} GFLOP, {rec['threads']} thread(s)")
    print(f"{'where':<26}{'A':>16}{'B':>16}{'calls':>6}{'NumPy µs':>10}{'torch µs':>10}"
          f"{'gn µs':>10}{'GFLOP/s':>9}{'ms/step':>9}")
    for r in rec["products"]:
        a = "x".join(map(str, r["a"])) + r["layout_a"]
        b = "x".join(map(str, r["b"])) + r["layout_b"]
        print(f"{r['where'][:25]:<26}{a:>16}{b:>16}{r['calls']:>6}{r['numpy_us']:>10.1f}"
              f"{r['torch_us']:>10.1f}{r['glassnet_us']:>10.1f}{r['best_gflops']:>9.1f}{r['best_ms_per_step']:>9.2f}")
    print(f"GEMM-bound limit: {rec['limit_ms']:.2f} ms/step (NumPy alone "
          f"{rec['numpy_only_ms']:.2f}, PyTorch alone {rec['torch_only_ms']:.2f}, glassnet's "
          f"products (glassnet/blas.py: MKL when installed) {rec['glassnet_only_ms']:.2f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", nargs="?", help="mlp, cnn, rnn, lstm, gru, ...")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", type=Path, help="also write the record here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(time_products(args.child, json.loads(sys.stdin.read()), args.reps)))
        return None
    if not args.workload:
        ap.error("a workload is required")
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    rec = limit(args.workload, args)
    print_table(rec)
    print(json.dumps({k: v for k, v in rec.items() if k != "products"}))
    if args.json:
        args.json.write_text(json.dumps(rec, indent=1))
    return rec


if __name__ == "__main__":
    main()
