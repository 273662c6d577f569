"""A linear layer's bias add and bias gradient by the compiled passes (ops.fused.bias_add,
bias_grad; ``bias_add_f32``/``col_sum_f32`` in ops/kernels/pointwise.c): the same bits as
NumPy's broadcast add and sum over rows, and the layer against PyTorch."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.fused import BIAS_MIN, bias_add, bias_grad

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


@pytest.mark.parametrize("shape", [(128, 512), (128, 256), (300, 77), (2048, 65)])
def test_the_same_bits_as_numpy(shape):
    rng = np.random.default_rng(shape[1])
    y = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[1]).astype(np.float32)
    want = y + b
    assert bias_add(y, b)
    np.testing.assert_array_equal(y, want)
    g = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(bias_grad(g), g.sum(axis=0))
    wide = rng.standard_normal((shape[0], shape[1] + 5)).astype(np.float32)[:, 2:2 + shape[1]]
    np.testing.assert_array_equal(bias_grad(wide), wide.sum(axis=0))     # strided rows


def test_what_it_does_not_take_is_left_alone():
    small = np.ones((4, 8), np.float32)
    assert not bias_add(small, np.ones(8, np.float32)) and bias_grad(small) is None
    assert bias_grad(np.ones((256, 256))) is None                          # float64
    assert bias_grad(np.ones((256, 512), np.float32)[:, ::2]) is None      # strided columns
    assert BIAS_MIN > small.size


def test_linear_layer_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    lin = gn.nn.Linear(784, 512)
    tl = torch.nn.Linear(784, 512)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(lin.weight.numpy()))
        tl.bias.copy_(torch.from_numpy(lin.bias.numpy()))
    _fast._used.clear()
    y = lin(gn.tensor(x))
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gn.tensor(g))
    assert "linear_bias" in _fast.status()["ops"]
    yt = tl(torch.from_numpy(x))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), tl.bias.grad.numpy(), rtol=1e-5,
                               atol=1e-5)


def _at_offset(shape, offset):
    """An uninitialised float32 C-contiguous array whose first element lies ``offset`` bytes
    past a 64-byte cache line."""
    n = int(np.prod(shape)) * 4
    raw = np.empty(n + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    return raw[start:start + n].view(np.float32).reshape(shape)


@pytest.mark.parametrize("threads", ["relu_col_sum", "relu_col_sum_par"])
@pytest.mark.parametrize("shape", [(128, 512), (33, 256), (7, 48), (5, 16), (64, 130)])
@pytest.mark.parametrize("offset", [0, 4, 16, 36, 60])
def test_relu_col_sum_at_every_line_offset(threads, shape, offset):
    """ReLU's backward select and the bias gradient in one pass (``relu_col_sum_f32``), with
    gz starting anywhere in a cache line (its column blocks then start at gz's first line and
    the columns before it run last): the same bits as NumPy's select and sum over rows."""
    rng = np.random.default_rng(offset + shape[1])
    g = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape) > 0.4
    gz, gb = _at_offset(shape, offset), np.full(shape[1], np.nan, np.float32)
    gz[...] = np.nan
    getattr(_fast.kernels(), threads)(g, mask, gz, gb)
    want = np.where(mask, g, np.float32(0))
    np.testing.assert_array_equal(gz, want)
    np.testing.assert_array_equal(gb, want.sum(axis=0))
