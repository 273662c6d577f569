"""gn.set_flush_denormal against torch.set_flush_denormal: subnormal results and inputs count
as zero while it is on, in the calling thread and in the compiled kernels' threads, and IEEE
behaviour comes back when it is off."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast

pytestmark = pytest.mark.skipif(_fast.kernels() is None, reason="set_flush_denormal needs "
                                "the compiled kernels (glassnet[fast])")

TINY32, TINY64 = 1e-39, 1e-310          # subnormal in float32 / float64


@pytest.fixture(autouse=True)
def _restored():
    yield
    gn.set_flush_denormal(False)        # the mode is the thread's, shared with torch
    torch.set_flush_denormal(False)


def _ours():
    return [(gn.tensor([TINY32]) * 1).numpy(), (gn.tensor([1e-30]) * 1e-9).numpy(),
            (gn.tensor([TINY64], dtype=gn.float64) + 0).numpy()]


def _theirs():
    return [(torch.tensor([TINY32]) * 1).numpy(), (torch.tensor([1e-30]) * 1e-9).numpy(),
            (torch.tensor([TINY64], dtype=torch.float64) + 0).numpy()]


@pytest.mark.parametrize("mode", [True, False])
def test_results_match_torch(mode):
    assert torch.set_flush_denormal(mode)
    theirs = _theirs()
    torch.set_flush_denormal(False)
    assert gn.set_flush_denormal(mode) is True
    ours = _ours()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert all((a == 0).all() for a in ours) == mode        # flushed exactly when on


def test_the_kernels_threads_flush_too():
    """The SGD kernel on its threads: every element of a subnormal update is flushed, the
    halves the other threads run as well as the calling thread's."""
    k = _fast.kernels()
    n = 1 << 16
    theta = np.zeros(n, np.float32)
    g = np.full(n, TINY32, np.float32)
    gn.set_flush_denormal(True)
    k.sgd_par([theta], [g], None, np.float32(1.0), np.float32(0.0), np.float32(1.0),
              np.float32(0.0), False, False)
    assert (theta == 0).all()
    gn.set_flush_denormal(False)
    k.sgd_par([theta], [g], None, np.float32(1.0), np.float32(0.0), np.float32(1.0),
              np.float32(0.0), False, False)
    np.testing.assert_array_equal(theta, np.float32(-TINY32))


def test_without_the_kernels_nothing_changes():
    _fast.use(False)
    try:
        assert gn.set_flush_denormal(True) is False
        assert (gn.tensor([TINY32]) * 1).numpy()[0] != 0
    finally:
        _fast.use(True)
