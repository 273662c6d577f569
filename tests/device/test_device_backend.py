"""The array-backend layer: device lookup, moves, the registry, and CuPy staying unimported."""
import subprocess
import sys

import numpy as np
import pytest

import _fakedevice
import glassnet as gn
from glassnet import backend


def test_import_glassnet_never_imports_cupy():
    code = ("import sys, glassnet, glassnet.nn, glassnet.optim, glassnet.train, glassnet.io\n"
            "x = glassnet.tensor([1.0, 2.0]); glassnet.backend.xp_of(x.array)\n"
            "print('cupy' in sys.modules, 'cupyx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


def test_xp_of_and_device_of_go_by_type():
    a = np.ones(3, np.float32)
    f = _fakedevice.fake_xp.asarray(a)
    assert backend.xp_of(a) is np and backend.device_of(a) == "cpu"
    assert backend.xp_of(f) is _fakedevice.fake_xp and backend.device_of(f) == "fake"
    assert backend.xp_of(a, f) is _fakedevice.fake_xp
    assert backend.xp_of(1.0, [1, 2], np.float32(2)) is np
    assert backend.device_of(np.float32(1)) == "cpu"


def test_to_device_round_trip_copies_and_host_is_identity():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert backend.to_device(a, "cpu") is a
    f = backend.to_device(a, "fake")
    assert backend.device_of(f) == "fake"
    back = backend.to_device(f, "cpu")
    assert type(back) is np.ndarray and np.array_equal(back, a) and back is not a
    assert backend.to_host(a) is a


def test_fake_device_refuses_implicit_host_conversion_like_cupy():
    f = _fakedevice.fake_xp.asarray(np.ones(3))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(f)
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        f + np.ones(3)
    with pytest.raises(TypeError, match="no CuPy counterpart"):
        np.put_along_axis(f, _fakedevice.fake_xp.asarray(np.zeros(1, np.int64)), 1.0, 0)
    assert type(f.sum()) is _fakedevice.FakeArray        # 0-d arrays, not NumPy scalars


def test_device_names_are_validated():
    assert backend.normalize_device("cuda:0") == "cuda"
    with pytest.raises(ValueError, match="expected one of"):
        backend.normalize_device("tpu")
    with pytest.raises(ValueError, match="index 0"):
        backend.normalize_device("cuda:1")
    with pytest.raises(ValueError, match="expected one of"):
        gn.tensor([1.0], device="gpu")


def test_registry_adds_and_removes_a_device():
    class Other(_fakedevice.FakeArray):
        pass
    dev = backend.Device("other", lambda: _fakedevice.fake_xp, lambda t: issubclass(t, Other),
                         lambda a: Other(np.array(a)), lambda a: a.get())
    backend.register_device(dev)
    try:
        assert backend.device_of(Other(np.ones(2))) == "other"
        assert "other" in backend.devices()
    finally:
        backend.unregister_device("other")
    assert backend.device_of(Other(np.ones(2))) == "fake"     # falls back to its base class
    with pytest.raises(ValueError, match="built in"):
        backend.register_device(backend.Device("cpu", None, None, None, None))


def test_cuda_unavailable_is_a_clear_error_without_a_gpu():
    if backend.gpu_available():
        pytest.skip("a GPU is present")
    assert backend.gpu_available() is False
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        gn.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        gn.zeros(2, device="cuda")


def test_xp_of_stays_cheap():
    """The CPU path pays one type check per array (guards the benchmark ratio)."""
    import timeit
    a = np.ones(2)
    per_call = min(timeit.repeat(lambda: backend.xp_of(a), number=2000, repeat=5)) / 2000
    assert per_call < 5e-6, f"xp_of takes {per_call * 1e6:.2f} us"
