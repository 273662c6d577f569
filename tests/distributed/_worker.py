"""Run under ``mpiexec -n 2``: one scenario of the distributed tests (see test_mpi.py).

    python _worker.py SCENARIO OUT_DIR

Each rank writes OUT_DIR/rank<r>.npz (weights) and OUT_DIR/rank<r>.json (losses, history).
"""
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _models  # noqa: E402

from glassnet import distributed  # noqa: E402
from glassnet.data import DataLoader  # noqa: E402


def main(scenario: str, out: Path) -> None:
    comm = distributed.init()
    model, opt, loss_fn = _models.build(seed=100 + comm.rank)   # rank 0's init must win
    record = []

    def recorded_loss(output, target):
        loss = loss_fn(output, target)
        if not model.training:                  # evaluation batches are not recorded
            return loss
        record.append(float(loss.item()))
        if scenario in ("die", "raise") and comm.rank == 1 and len(record) == 3:
            if scenario == "die":
                os._exit(3)
            raise ValueError("rank 1 failed on purpose")
        return loss

    if scenario == "step":
        x, y = _models.data(2 * _models.B, seed=1)
        distributed.broadcast_parameters(model, comm)
        dopt = distributed.DistributedOptimizer(opt, comm, bucket_mb=0.001)
        lo = comm.rank * _models.B
        dopt.zero_grad()
        recorded_loss(model(_models.gn.tensor(x[lo:lo + _models.B])),
                      _models.gn.tensor(y[lo:lo + _models.B])).backward()
        dopt.step()
        hist = {}
        info = {"buckets": len(dopt.buckets.buckets)}
    else:
        train, val = _models.datasets()
        hist = distributed.fit(model, recorded_loss, opt,
                               DataLoader(train, 2 * _models.B, shuffle=True, seed=7),
                               DataLoader(val, 10), epochs=2, verbose=False,
                               metrics=("accuracy",),      # a wrapped loss: no auto accuracy
                               bucket_mb=0.001, comm=comm).to_dict()
        info = {"test": distributed.evaluate(model, DataLoader(val, 8), loss_fn, comm=comm)}
    np.savez(out / f"rank{comm.rank}.npz", **model.state_dict())
    (out / f"rank{comm.rank}.json").write_text(json.dumps(
        {"losses": record, "history": hist, "size": comm.size, **info}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
