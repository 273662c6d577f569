"""Suite-wide fixtures: the ``device`` parameter of the device conformance tests.

``device`` runs a test on ``"cpu"`` (NumPy), ``"fake"`` (tests/_fakedevice.py, a CuPy-like
array type that refuses implicit host conversion) and ``"cuda"`` (CuPy; skipped with a reason
when CuPy or a CUDA GPU is missing).
"""
import pytest

import _fakedevice
from glassnet.backend import gpu_available

_fakedevice.install()

DEVICES = ("cpu", "fake", "cuda")


def skip_unless_usable(device: str) -> str:
    if device == "cuda" and not gpu_available():
        pytest.skip("device 'cuda': CuPy or a CUDA GPU is missing (pip install "
                    "'glassnet[gpu]' on a machine with an NVIDIA GPU)")
    return device


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """One of "cpu", "fake", "cuda" (the last skips cleanly without a GPU)."""
    return skip_unless_usable(request.param)
