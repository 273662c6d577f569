"""Data-parallel throughput: samples/s of glassnet training steps on 1 and 2 MPI ranks.

Each rank runs a workload of ``benchmarks/workloads/`` (its own batch of the workload's size,
so the global batch grows with the ranks: weak scaling) with the optimizer wrapped in
``glassnet.distributed.DistributedOptimizer``: every step all-reduces the gradients in
fusion buckets. BLAS is pinned to one thread per rank (``OPENBLAS_NUM_THREADS=1``), so two
ranks use two cores. The time spent in the gradient all-reduce is measured separately.

    python benchmarks/distributed.py                           # mlp and cnn, 1 and 2 ranks
    python benchmarks/distributed.py --workloads mlp --ranks 1 2 4 --steps 50

Prints a table, then one line of JSON (written to --json as well if given).
"""
import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = {"mlp": 40, "cnn": 8, "lstm": 8, "gru": 8, "rnn": 8}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker(name: str, steps: int, bucket_mb: float) -> None:
    """Runs on every rank (under mpiexec): time ``steps`` steps after 3 warm-up steps."""
    import glassnet as gn
    from glassnet import distributed
    comm = distributed.init()
    wrapped = []

    def distributed_optimizer(cls):
        def build(*args, **kwargs):
            opt = distributed.DistributedOptimizer(cls(*args, **kwargs), comm,
                                                   bucket_mb=bucket_mb)
            wrapped.append(opt)
            return opt
        return build

    for opt_name in ("SGD", "Adam"):                  # the workloads build these
        setattr(gn.optim, opt_name, distributed_optimizer(getattr(gn.optim, opt_name)))
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(f"workloads.{name}")
    step = module.make("glassnet", seed=0)
    dopt = wrapped[0]
    comm_seconds = [0.0]
    reduce = dopt.buckets.allreduce

    def timed_allreduce():
        t = time.perf_counter()
        reduce()
        comm_seconds[0] += time.perf_counter() - t

    dopt.buckets.allreduce = timed_allreduce
    for _ in range(3):
        step()
    comm.barrier()
    comm_seconds[0] = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
    comm.barrier()
    seconds = time.perf_counter() - start
    comm_total = comm.allreduce_sum([comm_seconds[0]])[0] / comm.size
    if comm.is_main:
        params = sum(p.array.size for g in dopt.param_groups for p in g["params"])
        batch = getattr(module, "BATCH", None) or importlib.import_module(
            "workloads._recurrent").BATCH          # rnn/lstm/gru share _recurrent's batch
        print(json.dumps({"workload": name, "ranks": comm.size, "steps": steps,
                          "per_rank_batch": batch, "params": int(params),
                          "buckets": len(dopt.buckets.buckets), "seconds": seconds,
                          "step_ms": 1e3 * seconds / steps,
                          "allreduce_ms_per_step": 1e3 * comm_total / steps,
                          "samples_per_s": comm.size * batch * steps / seconds}))


def run(name: str, ranks: int, steps: int, bucket_mb: float) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {**os.environ, **{v: "1" for v in THREAD_VARS}}
    cmd = [str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--worker", name,
           "--steps", str(steps), "--bucket-mb", str(bucket_mb)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=["mlp", "cnn"])
    ap.add_argument("--ranks", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--steps", type=int, help="timed steps (default per workload)")
    ap.add_argument("--bucket-mb", type=float, default=25.0)
    ap.add_argument("--json", help="also write the JSON record here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.bucket_mb)
    rows = []
    for name in args.workloads:
        for r in args.ranks:
            rows.append(run(name, r, args.steps or STEPS.get(name, 10), args.bucket_mb))
    base = {row["workload"]: row["samples_per_s"] for row in rows if row["ranks"] == 1}
    print(f"{'workload':<9}{'ranks':>6}{'batch/rank':>11}{'step ms':>9}{'reduce+wait ms':>15}"
          f"{'samples/s':>11}{'speed-up':>9}{'efficiency':>11}")
    for row in rows:
        one = base.get(row["workload"])
        row["speedup"] = row["samples_per_s"] / one if one else None
        row["efficiency"] = row["speedup"] / row["ranks"] if one else None
        print(f"{row['workload']:<9}{row['ranks']:>6}{row['per_rank_batch']:>11}"
              f"{row['step_ms']:>9.1f}{row['allreduce_ms_per_step']:>15.2f}"
              f"{row['samples_per_s']:>11.0f}"
              f"{row['speedup'] if one else float('nan'):>9.2f}"
              f"{row['efficiency'] if one else float('nan'):>11.2f}")
    record = {"benchmark": "distributed", "host": platform.node(), "cpus": os.cpu_count(),
              "blas_threads_per_rank": 1, "bucket_mb": args.bucket_mb,
              "time": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    print(json.dumps(record))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
