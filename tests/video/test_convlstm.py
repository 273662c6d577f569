"""ConvLSTM: fused kernel vs the primitive-op reference vs PyTorch, finite differences, layer."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops.convlstm import convlstm2d, convlstm2d_reference

from ._helpers import central_diff


def _inputs(L, N, C, H, W, Ch, k, dtype, seed=0, bias=True, state=True):
    rng = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    arrs = {"x": rng.standard_normal((L, N, C, H, W)),
            "h0": rng.standard_normal((N, Ch, H, W)) * 0.5 if state else None,
            "c0": rng.standard_normal((N, Ch, H, W)) * 0.5 if state else None,
            "w": rng.standard_normal((4 * Ch, C + Ch, kh, kw)) * 0.3,
            "b": rng.standard_normal(4 * Ch) * 0.3 if bias else None}
    up = {"out": rng.standard_normal((L, N, Ch, H, W)), "h": rng.standard_normal((N, Ch, H, W)),
          "c": rng.standard_normal((N, Ch, H, W))}
    return ({k: None if v is None else v.astype(dtype) for k, v in arrs.items()},
            {k: v.astype(dtype) for k, v in up.items()})


def _run(fn, arrs, up):
    """Values of (out, h_n, c_n) and the grads of Σ out·U + h·U' + c·U'' for every input."""
    ts = {k: None if v is None else gn.tensor(v, requires_grad=True) for k, v in arrs.items()}
    out, h, c = fn(ts["x"], ts["h0"], ts["c0"], ts["w"], ts["b"])
    loss = (out * gn.tensor(up["out"])).sum() + (h * gn.tensor(up["h"])).sum() + \
        (c * gn.tensor(up["c"])).sum()
    loss.backward()
    vals = {"out": out.numpy(), "h_n": h.numpy(), "c_n": c.numpy()}
    grads = {k: t.grad.numpy() for k, t in ts.items() if t is not None}
    return vals, grads


CASES = [  # L, N, C_in, H, W, C_h, k, bias, state
    (4, 2, 3, 5, 6, 4, 3, True, True),
    (3, 2, 1, 6, 5, 3, (3, 5), True, False),      # rectangular kernel, zero initial state
    (3, 1, 9, 4, 4, 8, 3, False, True),           # C >= 8: the strided im2col path; no bias
    (2, 2, 2, 5, 5, 2, 2, True, True),            # even kernel: asymmetric 'same' padding
    (1, 3, 2, 3, 4, 2, 1, True, True),            # one step, 1x1 kernel
]


@pytest.mark.parametrize("case", CASES)
def test_fused_matches_reference(case):
    L, N, C, H, W, Ch, k, bias, state = case
    arrs, up = _inputs(L, N, C, H, W, Ch, k, np.float32, bias=bias, state=state)
    v1, g1 = _run(convlstm2d, arrs, up)
    v2, g2 = _run(convlstm2d_reference, arrs, up)
    assert v1["out"].shape == (L, N, Ch, H, W) and v1["h_n"].shape == (N, Ch, H, W)
    for k in v1:
        np.testing.assert_allclose(v1[k], v2[k], rtol=1e-5, atol=1e-5, err_msg=k)
    assert g1.keys() == g2.keys()
    for k in g1:
        assert g1[k].shape == arrs[k].shape and g1[k].dtype == np.float32, k
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-4, atol=1e-4, err_msg=k)


def test_weight_grad_in_chunks_of_steps(monkeypatch):
    """The hidden weight gradient built over several chunks of time steps is the same."""
    arrs, up = _inputs(5, 2, 3, 4, 4, 3, 3, np.float32)
    whole = _run(convlstm2d, arrs, up)[1]
    monkeypatch.setattr("glassnet.ops.convlstm.PATCH_FLOATS", 2 * 2 * 16 * 9 * 3)  # 2 steps
    chunked = _run(convlstm2d, arrs, up)[1]
    for k in whole:
        np.testing.assert_allclose(chunked[k], whole[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _torch_convlstm(x, h, c, w, b):
    Ch = w.shape[0] // 4
    kh, kw = w.shape[2:]
    outs = []
    for t in range(x.shape[0]):
        inp = torch.nn.functional.pad(torch.cat([x[t], h], 1),
                                      ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
        a = torch.nn.functional.conv2d(inp, w, b)
        i, f, g, o = a.split(Ch, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h, c


@pytest.mark.parametrize("case", [CASES[0], CASES[3]])
def test_fused_matches_torch(case):
    L, N, C, H, W, Ch, k, bias, state = case
    arrs, up = _inputs(L, N, C, H, W, Ch, k, np.float32, bias=bias, state=state)
    v, g = _run(convlstm2d, arrs, up)
    ts = {k: torch.tensor(a, requires_grad=True) for k, a in arrs.items()}
    out, h, c = _torch_convlstm(ts["x"], ts["h0"], ts["c0"], ts["w"], ts["b"])
    ((out * torch.tensor(up["out"])).sum() + (h * torch.tensor(up["h"])).sum() +
     (c * torch.tensor(up["c"])).sum()).backward()
    for name, ref in (("out", out), ("h_n", h), ("c_n", c)):
        np.testing.assert_allclose(v[name], ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    for name, t in ts.items():
        np.testing.assert_allclose(g[name], t.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=name)


@pytest.mark.parametrize("fn", [convlstm2d, convlstm2d_reference])
def test_finite_differences_float64(fn):
    arrs, up = _inputs(3, 2, 2, 4, 3, 2, 3, np.float64, seed=1)

    def f(a):
        out, h, c = fn(*(None if a[k] is None else gn.tensor(a[k])
                         for k in ("x", "h0", "c0", "w", "b")))
        return float((out.numpy() * up["out"]).sum() + (h.numpy() * up["h"]).sum() +
                     (c.numpy() * up["c"]).sum())

    _, grads = _run(fn, arrs, up)
    for name in arrs:
        assert grads[name].dtype == np.float64
        num = central_diff(f, arrs, name)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-8, err_msg=name)


def test_only_some_inputs_require_grad():
    arrs, up = _inputs(3, 2, 2, 4, 4, 3, 3, np.float32)
    x = gn.tensor(arrs["x"])
    w = gn.tensor(arrs["w"], requires_grad=True)
    out, _, _ = convlstm2d(x, None, None, w, None)
    (out * gn.tensor(up["out"])).sum().backward()
    ref_w = gn.tensor(arrs["w"], requires_grad=True)
    out2, _, _ = convlstm2d_reference(x, None, None, ref_w, None)
    (out2 * gn.tensor(up["out"])).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), ref_w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_layer_shapes_batch_first_and_state():
    gn.manual_seed(0)
    layer = gn.nn.ConvLSTM2d(2, 5, 3, batch_first=True)
    assert layer.weight.shape == (20, 7, 3, 3) and layer.bias.shape == (20,)
    assert set(layer.state_dict()) == {"weight", "bias"}
    bound = 1 / np.sqrt(7 * 9)
    assert np.abs(layer.weight.numpy()).max() <= bound
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 6, 6)).astype(np.float32)
    out, (h, c) = layer(gn.tensor(x))
    assert out.shape == (3, 4, 5, 6, 6) and h.shape == c.shape == (3, 5, 6, 6)
    np.testing.assert_allclose(out.numpy()[:, -1], h.numpy(), rtol=0, atol=0)
    # the same layer time-major gives the same numbers
    layer.batch_first = False
    out_t, _ = layer(gn.tensor(x.transpose(1, 0, 2, 3, 4)))
    np.testing.assert_allclose(out_t.numpy().transpose(1, 0, 2, 3, 4), out.numpy(), atol=1e-6)
    # continuing from the final state equals running the whole sequence at once
    xt = x.transpose(1, 0, 2, 3, 4)
    _, state = layer(gn.tensor(xt[:2]))
    second, _ = layer(gn.tensor(xt[2:]), state)
    np.testing.assert_allclose(second.numpy(), out_t.numpy()[2:], atol=1e-6)
    assert "ConvLSTM2d(2, 5" in repr(layer)


def test_layer_errors():
    with pytest.raises(ValueError, match=r"ConvLSTM2d\(hidden_channels=0\)"):
        gn.nn.ConvLSTM2d(1, 0)
    with pytest.raises(TypeError, match="kernel_size"):
        gn.nn.ConvLSTM2d(1, 4, kernel_size="3")
    layer = gn.nn.ConvLSTM2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"ConvLSTM2d\(input_channels=3\).*\(5, 2, 1, 8, 8\)"):
        layer(gn.randn(5, 2, 1, 8, 8))
    with pytest.raises(ValueError, match="h_0 of shape"):
        layer(gn.randn(5, 2, 3, 8, 8), (gn.randn(2, 4, 7, 8), gn.randn(2, 4, 8, 8)))
    with pytest.raises(TypeError, match="tuple"):
        layer(gn.randn(5, 2, 3, 8, 8), gn.randn(2, 4, 8, 8))
