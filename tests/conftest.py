"""Suite-wide fixtures: the ``device`` parameter of the device conformance tests.

``device`` runs a test on ``"cpu"`` (NumPy), ``"fake"`` (tests/_fakedevice.py, a CuPy-like
array type that refuses implicit host conversion) and ``"cuda"`` (CuPy; skipped with a reason
when CuPy or a CUDA GPU is missing).

Each test draws its random inputs from a generator seeded by its own name
(``_seed_shared_rng``), so a test sees the same numbers whichever tests ran before it.
"""
import sys
import zlib

import numpy as np
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


@pytest.fixture(autouse=True)
def _seed_shared_rng(request):
    """Reseed the helpers' shared generators (tests/core, tests/cnn, tests/device) from the
    test's node id, in place (modules that imported the generator see it too): inputs no
    longer depend on how many numbers earlier tests (hypothesis ones included) drew."""
    seed = zlib.crc32(request.node.nodeid.encode())
    for module, attr in (("core_helpers", "_RNG"), ("_helpers", "RNG"), ("_devhelpers", "RNG")):
        gen = getattr(sys.modules.get(module), attr, None)
        if isinstance(gen, np.random.Generator):
            gen.bit_generator.state = np.random.default_rng(seed).bit_generator.state
