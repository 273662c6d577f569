"""PyTorch semantics found missing by running another project's op suite through an adapter
(docs/conformance.md): ``axis=`` on softmax/log_softmax/any/all, the gradient of a 0-d einsum,
grouped-query attention, dtype kept by ``detach`` (float16) and by ``max_pool2d`` (integers).
Each is checked against PyTorch on the same inputs; the differentiable ones also against
float64 central differences.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from core_helpers import check_vs_torch, gradcheck

import glassnet as gn
import glassnet.nn.functional as GF

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4, 5)).astype(np.float32)


def _F(L):
    return GF if L.name.startswith("glassnet") else TF


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_axis_alias(op, axis):
    check_vs_torch(lambda L, x: getattr(x, op)(axis=axis), X)
    check_vs_torch(lambda L, x: getattr(L, op)(x, axis=axis), X)
    gradcheck(lambda L, x: getattr(x, op)(axis=axis), X)


def test_softmax_dtype_argument():
    got = GF.softmax(gn.tensor(X), 1, dtype=np.float64)
    want = TF.softmax(torch.tensor(X), 1, dtype=torch.float64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", ["any", "all"])
@pytest.mark.parametrize("axis", [0, 2, (0, 1)])
def test_any_all_axis_alias(op, axis):
    b = X > 0
    got = getattr(gn.tensor(b), op)(axis=axis)
    want = getattr(torch.tensor(b), op)(axis=axis)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(getattr(gn, op)(gn.tensor(b), axis=axis).numpy(), want.numpy())


def test_axis_and_dim_disagree():
    with pytest.raises(TypeError, match="axis"):
        gn.tensor(X).softmax(dim=0, axis=1)


@pytest.mark.parametrize("eq", ["->", "...->", "...->..."])
def test_einsum_scalar_gradient(eq):
    a = np.array(1.5, dtype=np.float32)
    check_vs_torch(lambda L, x: L.einsum(eq, x) * 3.0, a)
    gradcheck(lambda L, x: L.einsum(eq, x) * 3.0, a)


@pytest.mark.parametrize("hq,hkv", [(8, 2), (4, 4), (6, 1)])
def test_sdpa_grouped_query(hq, hkv):
    q = RNG.standard_normal((2, hq, 5, 4)).astype(np.float32)
    k = RNG.standard_normal((2, hkv, 6, 4)).astype(np.float32)
    v = RNG.standard_normal((2, hkv, 6, 3)).astype(np.float32)

    def fn(L, q, k, v):
        return _F(L).scaled_dot_product_attention(q, k, v, enable_gqa=True)
    check_vs_torch(fn, q, k, v)
    gradcheck(fn, q, k, v)


def test_sdpa_grouped_query_bad_heads():
    q, k = gn.randn(1, 6, 3, 4), gn.randn(1, 4, 3, 4)
    with pytest.raises(RuntimeError, match="enable_gqa"):
        GF.scaled_dot_product_attention(q, k, k, enable_gqa=True)


def test_sdpa_causal_and_mask_is_runtime_error():
    q = RNG.standard_normal((1, 3, 4)).astype(np.float32)  # (torch's CPU flash path for
    m = np.ones((3, 3), bool)                                # 4-d inputs does not check)
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(*(torch.tensor(q),) * 3, attn_mask=torch.tensor(m),
                                        is_causal=True)
    with pytest.raises(RuntimeError, match="is_causal"):
        GF.scaled_dot_product_attention(*(gn.tensor(q),) * 3, attn_mask=gn.tensor(m),
                                        is_causal=True)


def test_detach_keeps_half():
    t = torch.tensor(X).half()
    g = gn.tensor(X).half()
    d = g.detach()
    assert d.dtype == np.float16 and t.detach().dtype == torch.float16
    assert np.shares_memory(d.array, g.array)
    np.testing.assert_array_equal(d.numpy(), t.detach().numpy())
    np.testing.assert_array_equal((g @ g.transpose(1, 2)).detach().numpy(),
                                  (t @ t.transpose(1, 2)).numpy())


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
@pytest.mark.parametrize("kw", [{"kernel_size": 2, "padding": 1},
                                {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (1, 2)},
                                {"kernel_size": 3, "stride": 2, "ceil_mode": True}])
def test_max_pool2d_integer_input(dtype, kw):
    x = RNG.integers(0 if dtype == np.uint8 else -50, 50, (2, 3, 9, 11)).astype(dtype)
    tx = torch.tensor(x)
    got = GF.max_pool2d(gn.tensor(x), **kw)
    want = TF.max_pool2d(tx, **kw)
    assert got.dtype == dtype and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got, gi = GF.max_pool2d(gn.tensor(x), return_indices=True, **kw)
    want, wi = TF.max_pool2d(tx, return_indices=True, **kw)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(gi.numpy(), wi.numpy())
