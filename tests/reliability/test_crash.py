"""Crash test: SIGKILL `glassnet train` at random moments (some inside a checkpoint write),
resume each time, and end bit-identical to an uninterrupted run. Ctrl-C stops cleanly.

Every run is a real subprocess (``python -m glassnet train``), as a user would start it.
A test hook (env ``_GLASSNET_TEST_CHECKPOINT_WRITE_DELAY``) sleeps after each file of a
checkpoint is written, so that kills can be aimed inside a write.
"""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from glassnet.io import list_checkpoints, load_checkpoint, load_weights

EPOCHS = 8
ARGS = ["--dataset", "digits", "--model", "mlp-small", "--batch-size", "64",
        "--checkpoint-every", "7", "--quiet"]        # 21 steps per epoch: 2 mid-epoch + 1 end
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
SLOW = {**ENV, "_GLASSNET_TEST_CHECKPOINT_WRITE_DELAY": "0.03"}
KILLS = 6


def start(*args, env=SLOW):
    # SIGINT back to its default in the child: a test process started in the background by a
    # non-interactive shell (`cmd &`, as some CI runners do) ignores SIGINT, the child would
    # inherit that and the Ctrl-C test would see the run finish (exit 0)
    return subprocess.Popen([sys.executable, "-m", "glassnet", "train", *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def snapshot(ckpt_dir):
    """Names of the visible checkpoints and of the hidden temporaries."""
    if not ckpt_dir.is_dir():
        return set(), set()
    names = {p.name for p in ckpt_dir.iterdir()}
    return {n for n in names if not n.startswith(".")}, {n for n in names if n.startswith(".")}


def wait_for(proc, predicate, timeout=60.0):
    """Poll every 5 ms until ``predicate()`` holds; False if the process ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if predicate():
            return True
        time.sleep(0.005)
    raise AssertionError("training made no progress within the timeout")


def assert_all_checkpoints_load(ckpt_dir):
    found = list_checkpoints(ckpt_dir) + ([ckpt_dir / "best"] if (ckpt_dir / "best").exists()
                                          else [])
    for path in found:
        ckpt = load_checkpoint(path)                  # checksums, sizes, strict parsing
        assert ckpt.weights and "optimizer" in ckpt.state, path
    return len(found)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("crash") / "reference"
    code, _, err = finish(start(*ARGS, "--epochs", EPOCHS, "--out", out, env=ENV))
    assert code == 0, err
    return out


def assert_same_run(a, b):
    wa = load_weights(None, a / "weights.safetensors")
    wb = load_weights(None, b / "weights.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), f"{k} differs"
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()


def test_sigkill_at_random_moments_then_resume_is_bit_identical(reference, tmp_path):
    rng = random.Random(7)
    run, ckpts = tmp_path / "run", tmp_path / "run" / "checkpoints"
    kills = in_write = checked = 0
    for i in range(KILLS):
        before, _ = snapshot(ckpts)
        proc = (start(*ARGS, "--epochs", EPOCHS, "--out", run) if not before
                else start("--resume", run, "--quiet"))
        if i % 2:       # aim inside a write: wait for a temporary checkpoint folder
            hit = wait_for(proc, lambda: any(n.startswith(".tmp-") for n in snapshot(ckpts)[1]))
            time.sleep(rng.uniform(0.0, 0.06))
        else:           # a random moment after the run made some progress
            hit = wait_for(proc, lambda before=before: snapshot(ckpts)[0] - before)
            time.sleep(rng.uniform(0.0, 0.5))
        if not hit or proc.poll() is not None:
            break                                     # it finished before we could kill it
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kills += 1
        visible, hidden = snapshot(ckpts)
        in_write += any(n.startswith(".tmp-") for n in hidden)
        checked += assert_all_checkpoints_load(ckpts)
    assert kills == KILLS, f"only {kills} kills happened; make the run longer"
    assert in_write >= 1, "no kill landed inside a checkpoint write"
    code, out, err = finish(start("--resume", run, "--quiet"))
    assert code == 0, err
    assert_all_checkpoints_load(ckpts)
    assert not snapshot(ckpts)[1], "temporaries left after a successful run"
    assert_same_run(reference, run)
    print(f"\n{kills} SIGKILLs survived ({in_write} inside a checkpoint write), "
          f"{checked} checkpoints verified after kills")


def test_ctrl_c_saves_a_checkpoint_and_resumes_exactly(reference, tmp_path):
    run, ckpts = tmp_path / "run", tmp_path / "run" / "checkpoints"
    proc = start(*ARGS, "--epochs", EPOCHS, "--out", run, env=ENV)
    assert wait_for(proc, lambda: any("batch" in n for n in snapshot(ckpts)[0]))
    time.sleep(random.Random(3).uniform(0.0, 0.3))
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "--resume" in lines[0], err
    assert "Traceback" not in err
    newest = list_checkpoints(ckpts)[-1]
    assert str(newest) in lines[0]
    assert not snapshot(ckpts)[1]
    ckpt = load_checkpoint(newest)
    assert ckpt.state["step"] > 0
    assert_all_checkpoints_load(ckpts)
    code, _, err = finish(start("--resume", run, "--quiet", env=ENV))
    assert code == 0, err
    assert_same_run(reference, run)
