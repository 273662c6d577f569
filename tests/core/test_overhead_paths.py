"""The low-overhead paths (issue 13: tiny steps, batch-1 inference) against PyTorch and
against glassnet's own recording path: make() under no_grad, the topological sort, the
cached conv/pool geometry (which must not hide a later bad argument), conv2d without a
graph (plain patch matrix, bias added after the GEMM) and SGD's small-parameter temporaries.
"""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.errors import ShapeError

RNG = np.random.default_rng(13)


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def test_make_under_no_grad_keeps_no_graph():
    w = gn.tensor(RNG.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    with gn.no_grad():
        y = (w * 2).sum()
    assert not y.requires_grad and y._backward is None and y._parents == ()
    z = (w * 2).sum()                                   # recording is back on afterwards
    assert z.requires_grad and z._op == "SumBackward"


def test_grad_mode_is_per_thread():
    import threading
    seen = []
    with gn.no_grad():
        t = threading.Thread(target=lambda: seen.append(gn.is_grad_enabled()))
        t.start()
        t.join()
        assert not gn.is_grad_enabled()
    assert seen == [True]


def test_diamond_and_reused_leaves_match_torch():
    """Shared intermediate nodes, a leaf used three times, two paths of different lengths."""
    a0 = RNG.standard_normal((4, 3)).astype(np.float32)
    b0 = RNG.standard_normal((3, 3)).astype(np.float32)

    def run(lib, a, b):
        h = lib.tanh(a @ b)
        u = h * a + h.exp()
        v = (u @ b).sigmoid() * h
        return (u.sum() + v.mean() * 3 + (a * a).sum())

    ga, gb = gn.tensor(a0, requires_grad=True), gn.tensor(b0, requires_grad=True)
    ta = torch.tensor(a0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    out, ref = run(gn, ga, gb), run(torch, ta, tb)
    out.backward()
    ref.backward()
    _close(out.item(), ref.item(), 1e-5)
    _close(ga.grad.numpy(), ta.grad.numpy())
    _close(gb.grad.numpy(), tb.grad.numpy())


def test_several_roots_and_a_leaf_root():
    x0 = RNG.standard_normal(5).astype(np.float32)
    gx, tx = gn.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    g = gn.autograd.grad([(gx * gx).sum(), gx.exp().sum(), gx.sum()], [gx])[0]
    t = torch.autograd.grad([(tx * tx).sum(), tx.exp().sum(), tx.sum()], [tx])[0]
    _close(g.numpy(), t.numpy())
    # a leaf as the root of backward: its gradient is the seed
    gx.backward(gn.tensor(np.ones(5, np.float32)))
    tx.backward(torch.ones(5))
    _close(gx.grad.numpy(), tx.grad.numpy())


def test_tiny_network_trains_like_torch():
    """The lecture's 2-3-1 net (the `tiny` benchmark): 20 SGD steps, weights and grads."""
    x0 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y0 = np.array([[0], [1], [1], [0]], np.float32)
    g = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1),
                            torch.nn.Sigmoid())
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in g.state_dict().items()})
    gopt, topt = gn.optim.SGD(g.parameters(), lr=0.5), torch.optim.SGD(t.parameters(), lr=0.5)
    for _ in range(20):
        gl = nn.MSELoss()(g(gn.tensor(x0)), gn.tensor(y0))
        tl = torch.nn.MSELoss()(t(torch.from_numpy(x0)), torch.from_numpy(y0))
        gl.backward()
        tl.backward()
        for gp, tp in zip(g.parameters(), t.parameters()):
            _close(gp.grad.numpy(), tp.grad.numpy())
        gopt.step()
        topt.step()
        gopt.zero_grad()
        topt.zero_grad()
        _close(gl.item(), tl.item())
    for gp, tp in zip(g.parameters(), t.parameters()):
        _close(gp.numpy(), tp.detach().numpy())


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.8, dampening=0.3, weight_decay=0.01),
                                dict(weight_decay=0.1)])
def test_sgd_small_and_large_parameters_match_torch(kw):
    """Parameters under and over SGD's small size (fresh temporaries vs scratch arrays) and
    over its block size (updated block by block, the last block partial)."""
    from glassnet.optim.sgd import CHUNK, SMALL
    shapes = [(3,), (7, 5), (SMALL + 9,), (70, 80), (3, CHUNK - 1000)]
    inits = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    gps = [gn.tensor(v, requires_grad=True) for v in inits]
    tps = [torch.tensor(v, requires_grad=True) for v in inits]
    gopt, topt = gn.optim.SGD(gps, lr=0.05, **kw), torch.optim.SGD(tps, lr=0.05, **kw)
    for _ in range(3):
        grads = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
        for gp, tp, g in zip(gps, tps, grads):
            gp.grad, tp.grad = gn.tensor(g), torch.from_numpy(g.copy())
        gopt.step()
        topt.step()
        for gp, tp in zip(gps, tps):
            _close(gp.numpy(), tp.detach().numpy(), 1e-6)


@pytest.mark.parametrize("cin,bias,stride,padding,dilation", [
    (1, True, 1, 1, 1), (32, True, 1, 1, 1), (8, False, 2, 0, 1), (16, True, 1, 2, 2),
    (3, True, (2, 1), (1, 0), 1)])
def test_conv2d_without_graph_matches_graph_path_and_torch(cin, bias, stride, padding,
                                                           dilation):
    x0 = RNG.standard_normal((2, cin, 9, 11)).astype(np.float32)
    w0 = RNG.standard_normal((6, cin, 3, 3)).astype(np.float32)
    b0 = RNG.standard_normal(6).astype(np.float32) if bias else None
    args = dict(stride=stride, padding=padding, dilation=dilation)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x0), torch.from_numpy(w0),
                                     None if b0 is None else torch.from_numpy(b0), **args)
    gx = gn.tensor(x0)
    gw = gn.tensor(w0, requires_grad=True)
    gb = None if b0 is None else gn.tensor(b0, requires_grad=True)
    recorded = gn.nn.functional.conv2d(gx, gw, gb, **args)
    with gn.no_grad():
        plain = gn.nn.functional.conv2d(gx, gw, gb, **args)
    assert recorded.requires_grad and not plain.requires_grad
    _close(plain.numpy(), recorded.numpy(), 1e-5)
    _close(plain.numpy(), ref.numpy(), 1e-4)
    # and the recorded path still differentiates like torch
    tw = torch.tensor(w0, requires_grad=True)
    tb = None if b0 is None else torch.tensor(b0, requires_grad=True)
    torch.nn.functional.conv2d(torch.from_numpy(x0), tw, tb, **args).square().sum().backward()
    (recorded * recorded).sum().backward()
    _close(gw.grad.numpy(), tw.grad.numpy(), 1e-3)
    if b0 is not None:
        _close(gb.grad.numpy(), tb.grad.numpy(), 1e-3)


def test_batch1_cnn_inference_matches_torch():
    """The infer-cnn benchmark's model, eval + no_grad, one image."""
    def layers(m):
        return (m.Conv2d(1, 8, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                m.Conv2d(8, 16, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
                m.Linear(16 * 7 * 7, 10))
    g = nn.Sequential(*layers(nn)).eval()
    t = torch.nn.Sequential(*layers(torch.nn)).eval()
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in g.state_dict().items()})
    for _ in range(2):                       # the second call runs on the cached geometry
        x0 = RNG.random((1, 1, 28, 28), dtype=np.float32)
        with gn.no_grad():
            out = g(gn.tensor(x0))
        with torch.no_grad():
            ref = t(torch.from_numpy(x0))
        _close(out.numpy(), ref.numpy(), 1e-5)


def test_cached_geometry_does_not_hide_bad_arguments():
    x = gn.tensor(RNG.standard_normal((1, 2, 8, 8)).astype(np.float32))
    w = gn.tensor(RNG.standard_normal((3, 2, 3, 3)).astype(np.float32))
    F = gn.nn.functional
    F.conv2d(x, w, stride=1, padding=1)
    F.max_pool2d(x, 2)
    with pytest.raises(TypeError, match="stride"):
        F.conv2d(x, w, stride=1.0, padding=1)
    with pytest.raises(TypeError, match="stride"):
        F.conv2d(x, w, stride=(1.0, 1), padding=1)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(x, 2.0)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(x, True)
    small = gn.tensor(RNG.standard_normal((1, 2, 2, 2)).astype(np.float32))
    with pytest.raises(ShapeError, match="larger than the padded input"):
        F.conv2d(small, w)
    conv = nn.Conv2d(2, 3, 5)
    conv(x)
    with pytest.raises(ShapeError, match=r"Conv2d\(in_channels=2\).*larger"):
        conv(small)
    with pytest.raises(ValueError, match=r"Conv2d\(in_channels=2\): expected input"):
        conv(gn.tensor(np.zeros((1, 3, 8, 8), np.float32)))


def test_geometry_caches_stay_bounded(monkeypatch):
    """Many input sizes: the caches start over at CACHE_SIZE and results stay right."""
    from glassnet.ops import conv as conv_ops
    from glassnet.ops import pool as pool_ops
    monkeypatch.setattr(conv_ops, "CACHE_SIZE", 3)
    monkeypatch.setattr(pool_ops, "CACHE_SIZE", 3)
    w0 = RNG.standard_normal((2, 1, 3, 3)).astype(np.float32)
    for size in range(4, 12):
        x0 = RNG.standard_normal((1, 1, size, size + 1)).astype(np.float32)
        g = gn.nn.functional.max_pool2d(gn.nn.functional.conv2d(gn.tensor(x0), gn.tensor(w0)), 2)
        t = torch.nn.functional.max_pool2d(
            torch.nn.functional.conv2d(torch.from_numpy(x0), torch.from_numpy(w0)), 2)
        _close(g.numpy(), t.numpy())
        assert len(conv_ops._fitting) <= 3 and len(pool_ops._setups) <= 3


@pytest.mark.parametrize("contiguous", [True, False])
def test_window_view_matches_as_strided_and_is_read_only(contiguous):
    from glassnet.ops.conv import windows
    base = RNG.standard_normal((2, 9, 8, 5)).astype(np.float32)
    xpad = base if contiguous else base[:, 1:, ::2]        # a strided input takes as_strided
    (kh, kw), (sh, sw), (dh, dw) = (3, 2), (2, 1), (1, 2)
    Ho, Wo = (xpad.shape[1] - 3) // sh + 1, xpad.shape[2] - 2
    win = windows(xpad, (kh, kw), (sh, sw), (dh, dw), (Ho, Wo))
    rows = np.arange(Ho)[:, None] * sh + np.arange(kh)[None, :] * dh      # (H_out, k_h)
    cols = np.arange(Wo)[:, None] * sw + np.arange(kw)[None, :] * dw      # (W_out, k_w)
    ref = xpad[:, rows[:, None, :, None], cols[None, :, None, :], :]      # gathered copy
    np.testing.assert_array_equal(win, ref)
    assert not win.flags.writeable
    with pytest.raises(ValueError):
        win[0, 0, 0, 0, 0, 0] = 1.0


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (-2, -1), (2, 2), (0, 0)])
def test_flatten_layer_matches_torch(start, end):
    """nn.Flatten computes the flattened shape itself (no np.prod): values, grads, channels-
    last input (a copy) and contiguous input (a view)."""
    x0 = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for arr in (x0, np.ascontiguousarray(x0.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        gx = gn.Tensor(arr, requires_grad=True)
        tx = torch.tensor(x0, requires_grad=True)
        out, ref = nn.Flatten(start, end)(gx), torch.nn.Flatten(start, end)(tx)
        assert tuple(out.shape) == tuple(ref.shape)
        _close(out.numpy(), ref.detach().numpy(), 0)
        w0 = RNG.standard_normal(tuple(ref.shape)).astype(np.float32)
        (out * gn.tensor(w0)).sum().backward()
        (ref * torch.from_numpy(w0)).sum().backward()
        _close(gx.grad.numpy(), tx.grad.numpy(), 0)


def test_flatten_layer_edges():
    assert tuple(nn.Flatten(0)(gn.tensor(3.0)).shape) == (1,)
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(2, 1)(gn.tensor(np.zeros((2, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="out of range"):
        nn.Flatten(3)(gn.tensor(np.zeros((2, 3), np.float32)))


@pytest.mark.parametrize("key", [(slice(None), -1), 1, -2, slice(1, None), (Ellipsis, 0),
                                 (None, slice(None), 2), (0, None, Ellipsis, -1),
                                 (slice(None, None, 2), slice(None), 1)])
def test_getitem_plain_basic_keys_match_torch_values_and_grads(key):
    """Keys of Python ints/slices/None/... skip the PyTorch-rule rewriting (x[:, -1] in
    generation): same values, views and gradients as torch."""
    x = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    g, t = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg, yt = g[key], t[key]
    np.testing.assert_array_equal(yg.numpy(), yt.detach().numpy())
    up = np.linspace(-1, 1, yt.numel(), dtype=np.float32).reshape(tuple(yt.shape))
    yg.backward(gradient=up)
    yt.backward(torch.from_numpy(up))
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


def test_getitem_plain_basic_key_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"index \(slice\(None, None, None\), 7\) is invalid "
                                         r"for a tensor of shape \(3, 4, 5\)"):
        gn.tensor(np.zeros((3, 4, 5), np.float32))[:, 7]
