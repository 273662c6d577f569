"""Where MKL's GEMM beats NumPy's for products of few rows (glassnet.blas's thresholds).

    python benchmarks/gemm_crossover.py                  # 2 threads, b a transposed weight
    python benchmarks/gemm_crossover.py --threads 1 --layout N --json cross.json

For a (M, K) @ b (K, N), M = 1 … 128 and eight weight shapes (K, N), prints NumPy's time
over MKL's (> 1: MKL faster) and the product's multiply-adds, the median of ``--reps``
repetitions of ``--calls`` calls each. ``--layout T``: b is the transpose of an (N, K) array
(a linear layer's ``x @ W.T``), ``N``: b row-major (a conv's weight matrix). The thread count
is set before NumPy and MKL load (``OMP_NUM_THREADS``/``MKL_NUM_THREADS``); NumPy's OpenBLAS
runs on one thread whenever MKL is on (see ``glassnet/blas.py``), as in training.
"""
import argparse
import json
import os
import sys
import time

ROWS = (1, 2, 4, 8, 16, 32, 64, 128)
WEIGHTS = ((784, 128), (3136, 128), (256, 256), (512, 512), (128, 64), (64, 256),
           (256, 1024), (1024, 64))


def _median_time(f, calls: int, reps: int) -> float:
    for _ in range(max(3, calls // 10)):
        f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        times.append((time.perf_counter() - t) / calls)
    return sorted(times)[len(times) // 2]


def measure(layout: str = "T", calls: int = 200, reps: int = 5, rows=ROWS,
            weights=WEIGHTS) -> list:
    """[{K, N, M, macs, numpy_us, mkl_us}] for every weight shape and row count."""
    import numpy as np

    from glassnet import blas
    if not blas.status()["enabled"]:
        raise SystemExit("gemm_crossover: MKL is off (pip install 'glassnet[mkl]', and "
                         "GLASSNET_BLAS not 'numpy')")
    rng = np.random.default_rng(0)
    out = []
    for K, N in weights:
        b = rng.random((N, K), dtype=np.float32).T if layout == "T" else \
            rng.random((K, N), dtype=np.float32)
        for M in rows:
            a = rng.random((M, K), dtype=np.float32)
            t_np = _median_time(lambda a=a, b=b: np.matmul(a, b), calls, reps)
            t_mkl = _median_time(lambda a=a, b=b: blas._mkl(a, b, None), calls, reps)
            out.append({"K": K, "N": N, "M": M, "macs": M * K * N,
                        "numpy_us": t_np * 1e6, "mkl_us": t_mkl * 1e6})
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layout", choices=("T", "N"), default="T")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if "numpy" in sys.modules:
        raise SystemExit("gemm_crossover: run it as a script (threads are set before NumPy "
                         "loads)")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    rows = measure(args.layout, args.calls, args.reps)
    print(f"NumPy time / MKL time (> 1: MKL faster), {args.threads} thread(s), "
          f"b layout {args.layout}; (multiply-adds in K)")
    print("K x N".ljust(11) + "".join(f"M={m}".rjust(13) for m in ROWS))
    for K, N in WEIGHTS:
        cells = [r for r in rows if (r["K"], r["N"]) == (K, N)]
        print(f"{K} x {N}".ljust(11) + "".join(
            f"{r['numpy_us'] / r['mkl_us']:6.2f}({r['macs'] >> 10:>5})" for r in cells))
    record = {"benchmark": "gemm-crossover", "threads": args.threads, "layout": args.layout,
              "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "results": rows}
    print(json.dumps(record))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
    return record


if __name__ == "__main__":
    main()
