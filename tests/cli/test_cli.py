"""The glassnet CLI as a user runs it: subprocesses, exit codes, one-line errors."""
import errno
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from glassnet import cli
from glassnet.io import load_weights

FAST = ["--dataset", "digits", "--model", "mlp-small", "--batch-size", "64", "--quiet"]


def run_sub(*args):
    """Run ``python -m glassnet ARGS`` in a subprocess, exactly as a user would."""
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args):
    """Run ``glassnet.cli.main(ARGS)`` in-process (fast), capturing its output."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as e:                 # argparse: --help and usage errors
            code = e.code
    return Result(code, out.getvalue(), err.getvalue())


def assert_one_line_error(res, *fragments):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    res = run("train", *FAST, "--epochs", "2", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "test accuracy" in res.stdout and str(out) in res.stdout
    return out


@pytest.mark.parametrize("sub", [[], ["train"], ["evaluate"], ["predict"]])
def test_help(sub):
    res = run_sub(*sub, "--help") if not sub else run(*sub, "--help")
    assert res.returncode == 0 and "usage: glassnet" in res.stdout


def test_run_directory_contents(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"recipe.toml", "metrics.jsonl", "metrics.csv", "weights.safetensors",
            "checkpoints", "run.json"} <= names
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and "val_accuracy" in rows[0]
    assert (run_dir / "metrics.csv").read_text().startswith("epoch,loss,accuracy,val_loss")
    assert 'model = "mlp-small"' in (run_dir / "recipe.toml").read_text()


def test_evaluate_and_predict(run_dir, tmp_path):
    res = run("evaluate", run_dir)
    assert res.returncode == 0 and "digits test: accuracy" in res.stdout
    res = run("predict", run_dir, "--index", 4)
    assert res.returncode == 0 and res.stdout.startswith("4: predicted ")
    from glassnet.data import load_digits
    x, _ = load_digits("test")
    np.save(tmp_path / "x.npy", x[:3])
    res = run("predict", run_dir, tmp_path / "x.npy")
    assert res.returncode == 0 and len(res.stdout.strip().splitlines()) == 3


def test_errors_in_a_real_process(run_dir, tmp_path):
    assert_one_line_error(run_sub("train", "--optimizer", "adagrad"), "invalid choice")
    assert_one_line_error(run_sub("evaluate", tmp_path / "missing"), "no such directory")


def test_bad_options_and_missing_files(run_dir, tmp_path):
    assert_one_line_error(run("train", "--optimizer", "adagrad"), "invalid choice")
    assert_one_line_error(run("train", "--epochs", "zero"), "invalid int")
    assert_one_line_error(run("train", tmp_path / "nope.toml"), "nope.toml", "no such file")
    assert_one_line_error(run("train", *FAST, "--epochs", "0", "--out", tmp_path / "r"),
                          "epochs")
    assert_one_line_error(run("evaluate", tmp_path / "missing"), "no such directory")
    assert_one_line_error(run("predict", run_dir), "exactly one")
    assert_one_line_error(run("predict", run_dir, "--index", 99999), "--index")
    assert_one_line_error(run("train", *FAST, "--out", run_dir), "already holds a run")
    copy = tmp_path / "copy"
    import shutil
    shutil.copytree(run_dir, copy)
    (copy / "notes.txt").write_text("mine")
    res = run("train", *FAST, "--epochs", "1", "--out", copy, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert (copy / "notes.txt").exists()                       # only glassnet's files go
    assert [p.name for p in (copy / "checkpoints").iterdir() if "epoch" in p.name] == \
        ["epoch-0001"]
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "mlp"\nlearning_rate = 3\n')
    assert_one_line_error(run("train", bad), "unknown key 'learning_rate'")
    bad.write_text("model = [unclosed\n")
    assert_one_line_error(run("train", bad), "invalid TOML")


def test_corrupt_weights_and_pickle_npy(run_dir, tmp_path):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    w = broken / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-20])
    assert_one_line_error(run("evaluate", broken), "weights.safetensors")
    marker = tmp_path / "pwned"
    w.write_bytes(pickle.dumps(os.system) + b"")            # a pickle renamed as weights
    assert_one_line_error(run("predict", broken, "--index", 0), "pickle")
    obj = np.array([{"a": 1}], dtype=object)
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    assert_one_line_error(run("predict", run_dir, tmp_path / "obj.npy"), "pickle")
    assert not marker.exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write into read-only directories")
def test_unwritable_output_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert_one_line_error(run("train", *FAST, "--epochs", "1", "--out", ro / "run"),
                              "not writable")
    finally:
        ro.chmod(0o700)


def test_unwritable_output_file(tmp_path):
    (tmp_path / "file").write_text("x")              # a file where a folder must go
    assert_one_line_error(run("train", *FAST, "--epochs", "1", "--out", tmp_path / "file"),
                          "not writable")


def test_disk_full_is_one_line(tmp_path, monkeypatch, capsys):
    import glassnet.io.checkpoint as ck

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(ck, "_write_synced", full)
    code = cli.main(["train", *FAST, "--epochs", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "No space left on device" in err[0]


def test_resume_matches_uninterrupted_run(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert run("train", *FAST, "--epochs", "3", "--out", full).returncode == 0
    assert run("train", *FAST, "--epochs", "1", "--out", part).returncode == 0
    res = run_sub("train", "--resume", part, "--epochs", "3", "--quiet")
    assert res.returncode == 0, res.stderr
    a = load_weights(None, full / "weights.safetensors")
    b = load_weights(None, part / "weights.safetensors")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (full / "metrics.jsonl").read_text() == (part / "metrics.jsonl").read_text()
    assert_one_line_error(run("train", "--resume", part, "--lr", "0.1"), "--lr cannot change")


def test_python_dash_m_version():
    res = run_sub("--version")
    assert res.returncode == 0 and res.stdout.startswith("glassnet ")


def test_predict_refuses_nan_inf_and_out_of_range_inputs(run_dir, tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((2, 1, 8, 8), np.nan, np.float32))
    assert_one_line_error(run("predict", run_dir, bad), "NaN or Inf")
    np.save(bad, np.full((2, 1, 8, 8), 255.0, np.float32))     # raw pixels, not scaled
    assert_one_line_error(run("predict", run_dir, bad), "[0, 1]", "255")
