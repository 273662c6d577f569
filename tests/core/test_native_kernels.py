"""The compiled kernels' build (ops/_native.py): built once per cache folder, loaded by the
next process without compiling and without LLVM, and a machine that cannot build them runs
everything on NumPy and says why."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")

_RUN = ("import sys, numpy as np\n"
        "from glassnet.ops import _fast\n"
        "import glassnet as gn\n"
        "x = gn.tensor(np.linspace(-1, 1, 1 << 18, dtype=np.float32).reshape(4, 8, 64, 128),"
        " requires_grad=True)\n"
        "y = gn.nn.functional.relu(x)\n"
        "y.sum().backward()\n"
        "ok = np.array_equal(y.numpy(), np.maximum(x.numpy(), 0)) and "
        "np.array_equal(x.grad.numpy(), (x.numpy() > 0).astype(np.float32))\n"
        "s = _fast.status()\n"
        "print(ok, s['enabled'], 'relu' in s['ops'], 'llvmlite' in sys.modules, s['why'])\n")


def _run(env):
    r = subprocess.run([sys.executable, "-c", _RUN], env={**os.environ, **env},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.split(maxsplit=4)


def test_built_once_then_loaded_without_llvm(tmp_path):
    first = _run({"GLASSNET_CACHE": str(tmp_path), "GLASSNET_FAST": "1"})
    assert first[:4] == ["True", "True", "True", "False"]
    built = [p for p in tmp_path.iterdir() if p.name.startswith("_glassnet_kernels_")]
    assert len(built) == 1 and built[0].is_file()      # no temporary folder left behind
    stamp = built[0].stat().st_mtime_ns
    second = _run({"GLASSNET_CACHE": str(tmp_path), "GLASSNET_FAST": "1"})
    assert second[:4] == ["True", "True", "True", "False"]
    assert built[0].stat().st_mtime_ns == stamp          # loaded, not compiled again
    assert sorted(p.name for p in tmp_path.iterdir()) == [built[0].name]


def test_no_compiler_means_numpy_and_a_reason(tmp_path):
    out = _run({"GLASSNET_CACHE": str(tmp_path), "GLASSNET_FAST": "1", "CC": "false"})
    assert out[:3] == ["True", "False", "False"]
    assert "did not build" in out[4]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".so"]


def test_turned_off_says_so(tmp_path):
    out = _run({"GLASSNET_CACHE": str(tmp_path), "GLASSNET_FAST": "0"})
    assert out[:3] == ["True", "False", "False"]
    assert "GLASSNET_FAST=0" in out[4]
    assert not list(tmp_path.iterdir())                   # nothing built when off


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    from glassnet.ops import _native
    monkeypatch.setenv("GLASSNET_CACHE", str(tmp_path / "a"))
    assert _native.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("GLASSNET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert _native.cache_dir() == tmp_path / "x" / "glassnet"


def test_a_wrong_array_is_refused_not_read_out_of_bounds():
    from glassnet.ops import _fast
    k = _fast.kernels()
    if k is None:
        pytest.skip("the kernels do not build here")
    f = np.float32
    z = lambda *s: np.zeros(s, f)               # noqa: E731
    with pytest.raises(TypeError, match="expected float32 rows"):
        k.lstm_cell(z(2, 8), np.zeros((3, 8)), np.zeros(2, np.int64), z(2, 2), z(2, 8),
                    z(2, 2), z(2, 2), z(2, 2))
    with pytest.raises(TypeError, match="int64 row ids"):
        k.lstm_cell(z(2, 8), z(3, 8), np.zeros(2, np.int32), z(2, 2), z(2, 8), z(2, 2),
                    z(2, 2), z(2, 2))


def test_a_flat_kernel_refuses_a_strided_array():
    """The flat kernels index their arrays as one block: a strided view is refused, not read
    out of place (the ops pass contiguous arrays; this guards the wrappers)."""
    from glassnet.ops import _fast
    k = _fast.kernels()
    if k is None:
        pytest.skip("the kernels do not build here")
    x = np.ones(64, np.float32)[::2]
    with pytest.raises(TypeError, match="C-contiguous"):
        k.relu(x, np.empty(32, np.float32), np.empty(32, np.bool_))
