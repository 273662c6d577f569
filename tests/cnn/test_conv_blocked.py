"""conv2d in blocks of images (ops/conv.py ``_conv2d_blocked``, ops/kernels/conv.c): output,
input, weight and bias gradients equal PyTorch's and the one-GEMM path's (float32 rounding),
over strides, paddings ('same' with an even kernel), dilations, batches that do not divide
into blocks, one block per image or several, one thread or two, with and without bias, and
whichever inputs need a gradient."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import blas
from glassnet.ops import _fast
from glassnet.ops import conv as conv_ops

pytestmark = pytest.mark.skipif(
    _fast.kernels() is None or blas.gemm_address(np.float32) is None,
    reason="the blocked convolution needs the compiled kernels (pip install "
           "'glassnet[fast]' and a C compiler) and MKL (pip install 'glassnet[mkl]')")

CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((5, 8, 9, 11), (6, 3, 3), 1, 1, 1),
    ((4, 16, 10, 10), (8, 3, 3), 2, 1, 1),
    ((3, 8, 12, 9), (4, 2, 4), 1, "same", 1),
    ((2, 12, 11, 13), (5, 3, 2), (2, 1), (0, 2), (2, 1)),
    ((7, 8, 6, 6), (3, 1, 1), 1, 0, 1),
    ((3, 9, 8, 8), (4, 5, 5), 3, 2, 1),
    ((3, 10, 11, 9), (5, 3, 3), 2, "valid", 1),
    # thin patches (kh·kw·C + 1 ≤ 16, 16·k output channels): the blocks' products by hand
    ((5, 1, 9, 11), (16, 3, 3), 1, 1, 1),
    ((4, 1, 10, 10), (32, 3, 3), 2, 1, 1),
    ((3, 1, 12, 9), (16, 2, 4), 1, "same", 1),
    ((3, 2, 8, 8), (48, 2, 3), (1, 2), (1, 0), (2, 1)),
]


def _run(x, w, b, stride, padding, dilation, g, grads):
    xt = gn.tensor(x, requires_grad="x" in grads)
    wt = gn.tensor(w, requires_grad="w" in grads)
    bt = None if b is None else gn.tensor(b, requires_grad="b" in grads)
    y = gn.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation)
    if grads:
        y.backward(gn.tensor(g))
    return [y.numpy()] + [t.grad.numpy() if t is not None and t.grad is not None else None
                          for t in (xt, wt, bt)]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("block_bytes", [1, 1 << 20])      # one image a block, or several
@pytest.mark.parametrize("threads", [1, 2])
def test_blocked_conv_matches_torch_and_the_one_gemm_path(case, block_bytes, threads,
                                                         monkeypatch):
    xs, (O, kh, kw), stride, padding, dilation = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal((O, xs[1], kh, kw)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding,
                                    dilation=dilation)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    theirs = [yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]

    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)
    monkeypatch.setattr(conv_ops, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(_fast.kernels(), "threads", threads)
    ran = []
    real = conv_ops._conv2d_blocked
    monkeypatch.setattr(conv_ops, "_conv2d_blocked", lambda *a: ran.append(1) or real(*a))
    ours = _run(x, w, b, stride, padding, dilation, g, "xwb")
    assert ran, "the blocked path did not run"
    monkeypatch.setattr(conv_ops, "_blocked_kernels", lambda *a: None)
    one_gemm = _run(x, w, b, stride, padding, dilation, g, "xwb")
    for a, c, t, name in zip(ours, one_gemm, theirs, ("y", "dx", "dW", "db")):
        scale = max(1.0, float(np.abs(t).max()))
        np.testing.assert_allclose(a, t, rtol=1e-5, atol=2e-5 * scale, err_msg=f"{name} torch")
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=2e-5 * scale, err_msg=f"{name} one")


@pytest.mark.parametrize("grads", ["x", "w", "b", "wb", ""])
def test_only_the_gradients_asked_for_and_no_bias(grads, monkeypatch):
    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 8, 7, 7)).astype(np.float32)
    w = rng.standard_normal((4, 8, 3, 3)).astype(np.float32)
    b = None if grads == "x" else rng.standard_normal(4).astype(np.float32)
    g = rng.standard_normal((3, 4, 7, 7)).astype(np.float32)
    ours = _run(x, w, b, 1, 1, 1, g, grads)
    monkeypatch.setattr(conv_ops, "_blocked_kernels", lambda *a: None)
    one_gemm = _run(x, w, b, 1, 1, 1, g, grads)
    for a, c, name in zip(ours, one_gemm, ("y", "dx", "dW", "db")):
        assert (a is None) == (c is None), name
        if a is not None:
            np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-4, err_msg=name)


def test_the_cnn_layer_uses_it_and_small_or_other_inputs_do_not(monkeypatch):
    ran = []
    real = conv_ops._conv2d_blocked
    monkeypatch.setattr(conv_ops, "_conv2d_blocked", lambda *a: ran.append(1) or real(*a))
    layer = gn.nn.Conv2d(32, 64, 3, padding=1)
    layer(gn.randn(64, 32, 14, 14))                    # the cnn workload's second conv
    assert ran == [1]
    layer(gn.randn(1, 32, 14, 14))                     # one image: the one-GEMM path
    layer.double()
    layer(gn.randn(4, 32, 14, 14, dtype=gn.float64))   # float64
    gn.nn.Conv2d(3, 8, 3)(gn.randn(8, 3, 32, 32))      # 3 channels: plane by plane
    assert ran == [1]
    first = gn.nn.Conv2d(1, 32, 3, padding=1)          # the cnn workload's first conv:
    first(gn.randn(64, 1, 28, 28))                     # thin patches, in blocks
    assert ran == [1, 1]
    with gn.no_grad():                                 # but not without a graph,
        first(gn.randn(64, 1, 28, 28))
    gn.nn.Conv2d(1, 6, 3)(gn.randn(64, 1, 28, 28))     # nor 6 output channels
    assert ran == [1, 1]


FUSED = [  # (N, C, H, W), conv kwargs, pool window
    ((6, 8, 12, 12), dict(out_channels=5, kernel_size=3, padding=1), (2, 2)),
    ((3, 16, 9, 9), dict(out_channels=4, kernel_size=3, padding=1), (3, 3)),
    ((5, 8, 10, 14), dict(out_channels=6, kernel_size=(2, 4), padding="same"), (2, 1)),
    ((4, 9, 13, 13), dict(out_channels=3, kernel_size=3, stride=2, bias=False), (2, 3)),
    ((6, 1, 12, 12), dict(out_channels=16, kernel_size=3, padding=1), (2, 2)),
    ((5, 1, 10, 10), dict(out_channels=32, kernel_size=3, padding=1, bias=False), (2, 2)),
]


@pytest.mark.parametrize("case", FUSED, ids=str)
@pytest.mark.parametrize("block_bytes", [1, 1 << 20])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("grad_x", [True, False])
@pytest.mark.parametrize("flatten", [True, False])     # pooled output NCHW or channels-last
def test_conv_relu_pool_as_one_op(case, block_bytes, threads, grad_x, flatten, monkeypatch):
    """Sequential's Conv2d → ReLU → MaxPool2d (tiling windows) as ``ops.conv2d_relu_pool``:
    output and every gradient equal PyTorch's and the layers run apart."""
    xs, conv_kw, pool = case

    def build(m):
        return [m.Conv2d(xs[1], **conv_kw), m.ReLU(), m.MaxPool2d(pool)] + \
            ([m.Flatten()] if flatten else [m.Tanh()])
    torch.manual_seed(0)
    t = torch.nn.Sequential(*build(torch.nn))
    g = gn.nn.Sequential(*build(gn.nn))
    g.load_state_dict({k: gn.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, xs).astype(np.float32)     # ties and windows all <= 0
    xt = torch.tensor(x, requires_grad=grad_x)
    yt = t(xt)
    w = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()
    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)
    monkeypatch.setattr(conv_ops, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(_fast.kernels(), "threads", threads)

    def run():
        for p in g.parameters():
            p.grad = None
        xg = gn.tensor(x, requires_grad=grad_x)
        y = g(xg)
        op = y._parents[0]._op                 # before backward() frees the graph
        (y * gn.tensor(w)).sum().backward()
        return op, [y.numpy(), xg.grad.numpy() if grad_x else None] + \
            [p.grad.numpy() for p in g.parameters()]
    op, ours = run()
    assert op == "ConvReluPoolBackward"
    monkeypatch.setattr(gn.nn.Sequential, "fuse_relu_pool", False)
    op_apart, apart = run()
    assert op_apart == "MaxPool2DBackward"
    theirs = [yt.detach().numpy(), xt.grad.numpy() if grad_x else None] + \
        [p.grad.numpy() for p in t.parameters()]
    for a, c, r in zip(ours, apart, theirs):
        if r is None:
            assert a is None and c is None
            continue
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=2e-5 * scale)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=2e-5 * scale)


def test_a_pool_that_does_not_tile_runs_the_layers_apart(monkeypatch):
    monkeypatch.setattr(conv_ops, "FAST_MIN", 0)
    g = gn.nn.Sequential(gn.nn.Conv2d(8, 4, 3), gn.nn.ReLU(), gn.nn.MaxPool2d(2))
    y = g(gn.randn(3, 8, 9, 9, requires_grad=True))           # 7 × 7 conv output
    assert y._op != "ConvReluPoolBackward"
