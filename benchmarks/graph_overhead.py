"""The graph engine's own overhead: an MLP training step and a chain of tiny ops.

Used to check that the autograd API (version counters, hooks; docs/autograd.md) costs
nothing on a real step. A/B two checkouts by running this file with each one first on
PYTHONPATH, alternating processes, and compare the minima::

    for i in 1 2 3 4; do
      for src in /tmp/base/src src; do OPENBLAS_NUM_THREADS=1 PYTHONPATH=$src \\
        python benchmarks/graph_overhead.py $src; done; done
"""
import sys
import time

import numpy as np

import glassnet as gn
from glassnet import nn


def best(fn, n: int, reps: int) -> tuple:
    """(min, first quartile) of the time per call in µs over ``reps`` runs of ``n`` calls."""
    for _ in range(5):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        ts.append((time.perf_counter_ns() - t0) / n / 1e3)
    return min(ts), sorted(ts)[len(ts) // 4]


def main(label: str) -> None:
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((32, 784)).astype(np.float32))
    y = gn.tensor(rng.integers(0, 10, 32))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    w = gn.tensor(np.ones((4, 4), np.float32), requires_grad=True)

    def chain():
        h = w
        for _ in range(50):
            h = h * 1.0001
        h.sum().backward()

    a, b = best(step, 5, 60), best(chain, 5, 60)
    print(f"{label}: mlp step µs min {a[0]:.0f} q1 {a[1]:.0f} | "
          f"chain of 50 ops fw+bw µs min {b[0]:.0f} q1 {b[1]:.0f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "glassnet")
