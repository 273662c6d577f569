"""Whole jobs, glassnet vs PyTorch, each framework alone in its own fresh process.

    python benchmarks/jobs.py                        # MNIST LeNet epoch + char-LSTM epoch
    python benchmarks/jobs.py --jobs charlstm --steps 100 --pairs 2 --json jobs.json

* ``mnist``: one epoch of the LeNet of ``examples/mnist_cnn.py`` (the same ``build_model``,
  Adam(1e-3), batch 64, the same shuffled order) on the 60,000 MNIST training images.
* ``charlstm``: the lstm workload's model (Embedding(65,64)-LSTM(64,256)-Linear(256,65),
  the same initial weights in both frameworks) trained with Adam(1e-3) on Tiny Shakespeare:
  the text cut into 32 parallel streams, one step per 64-character window, one pass over the
  text (``--steps`` to stop earlier).

Data: ``$GLASSNET_DATA`` or ``../shared/data`` (mnist/, tinyshakespeare/input.txt). Each
process loads the data, then times only the training loop (``time.perf_counter``), with
``--threads`` BLAS/OpenMP threads (default 2), and reports its peak RSS. Pairs alternate
the order (glassnet first, then PyTorch first, …). The table and the JSON record (last
line; ``--json``) give the seconds of each run, the ratio glassnet/PyTorch per pair and the
last training loss of each framework (a sanity check that both trained the same thing).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
JOBS = ("mnist", "charlstm")
FRAMEWORKS = ("glassnet", "torch")
BATCH_LSTM, SEQ = 32, 64


def data_root() -> Path:
    env = os.environ.get("GLASSNET_DATA")
    return Path(env) if env else (REPO / "../shared/data").resolve()


# -- the children ----------------------------------------------------------------------------
def mnist_job(framework: str, steps: int | None, seed: int = 0) -> dict:
    import numpy as np
    sys.path.insert(0, str(REPO / "examples"))
    from mnist_cnn import build_model

    from glassnet.data import load_mnist
    x, y = load_mnist(root=data_root() / "mnist", split="train")
    x = (x - np.float32(0.1307)) / np.float32(0.3081)
    order = np.random.default_rng(seed).permutation(len(x))
    batches = [order[i:i + 64] for i in range(0, len(x), 64)][:steps]
    if framework == "torch":
        import torch
        torch.manual_seed(seed)
        nn, tensor = torch.nn, torch.from_numpy
        model = build_model(nn)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        import glassnet as gn
        gn.manual_seed(seed)
        nn, tensor = gn.nn, gn.tensor
        model = build_model(nn)
        opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for idx in batches:
        loss = loss_fn(model(tensor(x[idx])), tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    return {"seconds": secs, "steps": len(batches), "last_loss": float(loss.item())}


def charlstm_job(framework: str, steps: int | None, seed: int = 0) -> dict:
    import numpy as np
    sys.path.insert(0, str(HERE))
    from workloads._recurrent import VOCAB, _init_state, _net
    text = (data_root() / "tinyshakespeare" / "input.txt").read_text()
    chars = sorted(set(text))
    if len(chars) != VOCAB:
        raise SystemExit(f"jobs: expected {VOCAB} distinct characters, found {len(chars)}")
    ids = np.searchsorted(np.array(chars), np.array(list(text))).astype(np.int64)
    n = (len(ids) - 1) // (BATCH_LSTM * SEQ)                # windows per stream
    streams = ids[:BATCH_LSTM * n * SEQ + 1]
    xs = streams[:-1].reshape(BATCH_LSTM, n * SEQ)
    ys = streams[1:].reshape(BATCH_LSTM, n * SEQ)
    n = min(n, steps) if steps else n
    state = _init_state("LSTM", seed)
    if framework == "torch":
        import torch
        model = _net(torch.nn, "LSTM")
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn, tensor = torch.nn.CrossEntropyLoss(), torch.from_numpy
    else:
        import glassnet as gn
        model = _net(gn.nn, "LSTM")
        model.load_state_dict(state)
        opt = gn.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn, tensor = gn.nn.CrossEntropyLoss(), gn.tensor
    t0 = time.perf_counter()
    for i in range(n):
        w = slice(i * SEQ, (i + 1) * SEQ)
        out = model(tensor(np.ascontiguousarray(xs[:, w])))
        loss = loss_fn(out.reshape(-1, VOCAB), tensor(np.ascontiguousarray(ys[:, w]).reshape(-1)))
        loss.backward()
        opt.step()
        opt.zero_grad()
    secs = time.perf_counter() - t0
    return {"seconds": secs, "steps": n, "last_loss": float(loss.item())}


def child(job: str, framework: str, steps: int | None, threads: int) -> dict:
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
    rec = (mnist_job if job == "mnist" else charlstm_job)(framework, steps)
    if framework == "glassnet":
        from glassnet import blas as _blas
        from glassnet.ops import _fast
        rec["glassnet_fast"] = _fast.status()
        rec["glassnet_gemm"] = _blas.status()
    hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
    rec["peak_rss_mb"] = int(hwm[0]) / 1024 if hwm else None
    return rec


# -- the parent ------------------------------------------------------------------------------
def _spawn(job, framework, args) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", job, framework,
           "--threads", str(args.threads)]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"jobs: {framework} {job} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(job, args) -> dict:
    runs, ratios = {fw: [] for fw in FRAMEWORKS}, []
    for p in range(args.pairs):
        order = FRAMEWORKS if p % 2 == 0 else FRAMEWORKS[::-1]
        secs = {}
        for fw in order:
            r = _spawn(job, fw, args)
            runs[fw].append(r)
            secs[fw] = r["seconds"]
            print(f"  {job} {fw}: {r['seconds']:.1f} s, {r['steps']} steps, last loss "
                  f"{r['last_loss']:.3f}, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        ratios.append(secs["glassnet"] / secs["torch"])
    row = {"job": job, "pairs": args.pairs, "steps": runs["glassnet"][0]["steps"],
           "ratio": statistics.median(ratios), "pair_ratios": ratios}
    for fw in FRAMEWORKS:
        row[f"{fw}_seconds"] = [r["seconds"] for r in runs[fw]]
        row[f"{fw}_last_loss"] = [r["last_loss"] for r in runs[fw]]
        row[f"{fw}_peak_rss_mb"] = max(r["peak_rss_mb"] or 0 for r in runs[fw])
    row["glassnet_fast"] = runs["glassnet"][0].get("glassnet_fast")
    row["glassnet_gemm"] = runs["glassnet"][0].get("glassnet_gemm")
    return row


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, from {JOBS}")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=None, help="stop each job after N steps")
    ap.add_argument("--threads", type=int, default=2,
                    help="BLAS/OpenMP threads per process (1 on a loaded machine: OpenBLAS's "
                         "spinning threads then lose up to 50x)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=2, metavar=("JOB", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.steps, args.threads)))
        return {}
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    for j in jobs:
        if j not in JOBS:
            raise SystemExit(f"jobs: unknown job {j!r}; expected one of {', '.join(JOBS)}")
    rows = [measure(j, args) for j in jobs]
    print(f"{'job':<10}{'steps':>7}{'glassnet s':>12}{'PyTorch s':>11}{'ratio':>7}"
          f"{'gn MB':>7}{'pt MB':>7}")
    for r in rows:
        print(f"{r['job']:<10}{r['steps']:>7}{statistics.median(r['glassnet_seconds']):>12.1f}"
              f"{statistics.median(r['torch_seconds']):>11.1f}{r['ratio']:>7.2f}"
              f"{r['glassnet_peak_rss_mb']:>7.0f}{r['torch_peak_rss_mb']:>7.0f}")
    from bench import cpu_model
    record = {"benchmark": "glassnet-vs-torch-jobs", "mode": "separate-processes",
              "cpu": cpu_model(), "cpus": os.cpu_count(), "threads": args.threads,
              "python": platform.python_version(),
              "load_avg": os.getloadavg(), "time_utc": time.strftime("%Y-%m-%d %H:%M",
                                                                      time.gmtime()),
              "results": rows}
    print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
