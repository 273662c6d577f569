"""Data-parallel training on 2 MPI ranks, launched with mpiexec from pytest.

The reference is the same glassnet code in this process, with the global batch (2·B).
Skips with the reason when mpi4py or mpiexec is missing (``pip install 'glassnet[mpi]'``).
"""
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.data import DataLoader
from glassnet.train import Callback, evaluate, fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _models  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@functools.cache
def _find_mpiexec():
    """(mpiexec path, None) when a 2-rank mpi4py job runs here, else (None, why not)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install 'glassnet[mpi]'; `make test` tries)"
    found = Path(sys.executable).with_name("mpiexec")
    exe = str(found) if found.exists() else shutil.which("mpiexec")
    if exe is None:
        return None, ("no mpiexec next to the Python interpreter or on PATH (the `mpich` "
                      "wheel provides one)")
    probe = "from mpi4py import MPI; assert MPI.COMM_WORLD.Get_size() == 2"
    try:
        proc = subprocess.run([exe, "-n", "2", sys.executable, "-c", probe],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, f"{exe} -n 2 python -c 'from mpi4py import MPI' hung for 60 s"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{exe} -n 2 cannot run an mpi4py program: {last}"
    return exe, None


def _mpiexec():
    exe, why = _find_mpiexec()
    if exe is None:
        pytest.skip(why)
    return exe


def _run(args, *, timeout=60, extra=(), env=None):
    """Run ``mpiexec -n 2 ARGS``; returns (CompletedProcess, seconds)."""
    cmd = [_mpiexec(), *extra, "-n", "2", *args]
    full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", **(env or {})}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=HERE)
    return proc, time.perf_counter() - start


def _worker(scenario, out, **kw):
    proc, seconds = _run([sys.executable, str(HERE / "_worker.py"), scenario, str(out)], **kw)
    return proc, seconds


def _results(out):
    ranks = []
    for r in range(2):
        weights = dict(np.load(out / f"rank{r}.npz"))
        ranks.append((weights, json.loads((out / f"rank{r}.json").read_text())))
    return ranks


def test_one_step_on_two_ranks_equals_one_process_with_twice_the_batch(tmp_path):
    proc, _ = _worker("step", tmp_path)
    assert proc.returncode == 0, proc.stderr
    (w0, info0), (w1, _) = _results(tmp_path)
    assert info0["size"] == 2 and info0["buckets"] == 2        # bucketed, not one call
    model, opt, loss_fn = _models.build(seed=100)                # rank 0's initial weights
    x, y = _models.data(2 * _models.B, seed=1)
    opt.zero_grad()
    loss_fn(model(gn.tensor(x)), gn.tensor(y)).backward()
    opt.step()
    for name, ref in model.state_dict().items():
        assert np.array_equal(w0[name], w1[name]), name          # ranks stay identical
        np.testing.assert_allclose(w0[name], ref, rtol=1e-5, atol=1e-6, err_msg=name)


class _StepLosses(Callback):
    def __init__(self):
        self.losses, self.seen, self.total = [], 0, 0.0

    def on_epoch_begin(self, epoch, logs):
        self.seen, self.total = 0, 0.0

    def on_batch_end(self, step, logs):        # recover each step's loss from running means
        n = logs["size"]
        total = logs["loss"] * (self.seen + n)
        self.losses.append((total - self.total) / n)
        self.seen, self.total = self.seen + n, total


def test_two_epochs_loss_curve_history_and_weights_match_one_process(tmp_path):
    proc, _ = _worker("epoch", tmp_path)
    assert proc.returncode == 0, proc.stderr
    (w0, info0), (w1, info1) = _results(tmp_path)
    model, opt, loss_fn = _models.build(seed=100)
    train, val = _models.datasets()
    steps = _StepLosses()
    hist = fit(model, loss_fn, opt, DataLoader(train, 2 * _models.B, shuffle=True, seed=7),
               DataLoader(val, 10), epochs=2, verbose=False, callbacks=[steps])
    curve = (np.array(info0["losses"]) + np.array(info1["losses"])) / 2
    assert len(curve) == 12                                       # 6 global steps x 2 epochs
    np.testing.assert_allclose(curve, steps.losses, rtol=1e-4, atol=1e-5)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert info0["history"][key] == info1["history"][key], key
        np.testing.assert_allclose(info0["history"][key], hist[key], rtol=1e-4, atol=1e-5,
                                   err_msg=key)
    for name, ref in model.state_dict().items():
        assert np.array_equal(w0[name], w1[name]), name
        np.testing.assert_allclose(w0[name], ref, rtol=1e-4, atol=1e-5, err_msg=name)
    test = evaluate(model, DataLoader(val, 8), loss_fn)          # 37 samples: 19 + 18
    for key, value in test.items():
        assert info0["test"][key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_dead_rank_ends_the_job_under_mpiexec(tmp_path):
    proc, seconds = _worker("die", tmp_path, timeout=60,
                            env={"GLASSNET_MPI_TIMEOUT": "5"})
    assert proc.returncode != 0
    assert seconds < 30


def test_dead_rank_without_launcher_cleanup_is_caught_by_the_watchdog(tmp_path):
    proc, seconds = _worker("die", tmp_path, timeout=60, extra=["-disable-auto-cleanup"],
                            env={"GLASSNET_MPI_TIMEOUT": "3"})
    assert proc.returncode != 0
    assert seconds < 30
    assert "rank 0/2: gradient all-reduce" in proc.stderr
    assert "did not complete within 3 s" in proc.stderr


def test_exception_on_one_rank_aborts_every_rank_with_its_message(tmp_path):
    proc, seconds = _worker("raise", tmp_path, timeout=60,
                            env={"GLASSNET_MPI_TIMEOUT": "20"})
    assert proc.returncode == 1
    assert seconds < 15                       # aborted at once, not after the timeout
    assert "rank 1/2: ValueError: rank 1 failed on purpose" in proc.stderr


def test_cli_train_distributed_writes_one_run(tmp_path):
    glassnet = Path(sys.executable).with_name("glassnet")
    if not glassnet.exists():
        pytest.skip("the glassnet console script is not installed next to the interpreter")
    out = tmp_path / "run"
    proc, _ = _run([str(glassnet), "train", str(REPO / "recipes/digits_mlp.toml"),
                    "--distributed", "--epochs", "1", "--out", str(out), "--quiet"],
                   timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test accuracy") == 1                # rank 0 prints
    run = json.loads((out / "run.json").read_text())
    assert run["ranks"] == 2 and run["epochs_run"] == 1
    assert run["test"]["accuracy"] > 0.5
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
