"""Convolution, pooling and upsampling on each device vs PyTorch (values and gradients).

Every case runs the glassnet op on ``device`` ("cpu", "fake", "cuda") and compares the output
and the gradient of every input (input, weight, bias) with torch on the CPU. The cases walk
the code paths of ops/conv.py and ops/pool.py: few-channel planes and C >= 8 im2col patches,
the bias fused into the GEMM or added after, grouped convs (batched GEMM + col2im), the
input gradient's identity tap, tiled and overlapping max pooling, the NaN rule, avg pooling
divisors, adaptive windows, and nearest upsampling's integer and ``add.at`` paths.
"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

from _devhelpers import check_op, close, host, on, rand


def _f(lib):
    return lib.nn.functional


CONV2D = {  # id: (x shape, weight shape, bias, kwargs)
    "planes-bias-p1": ((2, 2, 6, 5), (3, 2, 3, 3), True, dict(padding=1)),
    "im2col-s2-p1": ((2, 8, 7, 6), (4, 8, 3, 3), False, dict(stride=2, padding=1)),
    "im2col-bias-dil2": ((2, 8, 7, 7), (5, 8, 3, 3), True, dict(padding=2, dilation=2)),
    "same-even-kernel": ((1, 3, 5, 6), (2, 3, 2, 4), True, dict(padding="same")),
    "rect-stride": ((2, 3, 7, 6), (4, 3, 2, 3), True, dict(stride=(2, 1), padding=(1, 0))),
    "groups2": ((2, 4, 5, 5), (6, 2, 3, 3), True, dict(padding=1, groups=2)),
    "depthwise-s2": ((2, 4, 6, 6), (4, 1, 3, 3), False, dict(stride=2, groups=4)),
}


@pytest.mark.parametrize("case", list(CONV2D.values()), ids=list(CONV2D))
def test_conv2d(device, case):
    xs, ws, bias, kw = case
    arrays = (rand(*xs), rand(*ws, low=-0.5, high=0.5)) + ((rand(ws[0]),) if bias else ())
    check_op(device, lambda lib, *t: _f(lib).conv2d(*t, **kw), *arrays, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kw,ws", [(dict(stride=2, padding=1), (4, 3, 3)),
                                   (dict(padding=2, dilation=2, groups=3), (6, 1, 3))],
                         ids=["s2-p1", "dil2-groups3"])
def test_conv1d(device, kw, ws):
    arrays = (rand(2, 3, 9), rand(*ws, low=-0.5, high=0.5), rand(ws[0]))
    check_op(device, lambda lib, *t: _f(lib).conv1d(*t, **kw), *arrays, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(1, 2), dilation=2)], ids=["s2-p1-op1", "dil2"])
def test_conv_transpose2d(device, kw):
    arrays = (rand(2, 3, 4, 5), rand(3, 2, 3, 3, low=-0.5, high=0.5), rand(2))
    check_op(device, lambda lib, *t: _f(lib).conv_transpose2d(*t, **kw), *arrays,
             atol=1e-4, rtol=1e-4)


MAXPOOL = {
    "tiled-k2": dict(kernel_size=2),
    "overlap-k3-s2-p1": dict(kernel_size=3, stride=2, padding=1),
    "dil2-ceil": dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True),
    "rect": dict(kernel_size=(1, 3), stride=(1, 2)),
}


@pytest.mark.parametrize("kw", list(MAXPOOL.values()), ids=list(MAXPOOL))
def test_max_pool2d(device, kw):
    check_op(device, lambda lib, x: _f(lib).max_pool2d(x, **kw), rand(2, 3, 7, 6))


def test_max_pool2d_nan(device):
    """A window holding NaN outputs NaN and sends its gradient to its (last) NaN."""
    x = rand(1, 2, 4, 4)
    x[0, 0, 1, 2] = x[0, 1, 3, 3] = np.nan
    check_op(device, lambda lib, x: _f(lib).max_pool2d(x, 3, 1, 1), x)


def test_max_pool1d(device):
    check_op(device, lambda lib, x: _f(lib).max_pool1d(x, 3, 2, 1), rand(2, 3, 10))


@pytest.mark.parametrize("kw", [dict(kernel_size=2),
                                dict(kernel_size=3, stride=2, padding=1,
                                     count_include_pad=False, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=1, divisor_override=4)],
                         ids=["k2", "k3-s2-p1-no_pad_count-ceil", "divisor"])
def test_avg_pool2d(device, kw):
    check_op(device, lambda lib, x: _f(lib).avg_pool2d(x, **kw), rand(2, 3, 7, 6))


@pytest.mark.parametrize("size", [(3, 2), 1, (4, 6)], ids=["3x2", "global", "identity-w"])
def test_adaptive_avg_pool2d(device, size):
    check_op(device, lambda lib, x: _f(lib).adaptive_avg_pool2d(x, size), rand(2, 3, 5, 6))


@pytest.mark.parametrize("shape,kw", [((2, 3, 3, 4), dict(scale_factor=2)),
                                      ((2, 3, 3, 4), dict(size=(7, 5))),
                                      ((2, 3, 4), dict(scale_factor=3))],
                         ids=["x2", "size-7x5", "1d-x3"])
def test_upsample_nearest(device, shape, kw):
    check_op(device, lambda lib, x: _f(lib).interpolate(x, mode="nearest", **kw), rand(*shape))


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.ConvTranspose2d(8, 4, 2, stride=2), nn.Upsample(scale_factor=2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1),
        nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(24, 3))


def test_cnn_layers_match_cpu(device):
    """A small CNN of every converted layer: forward, loss and all parameter gradients on the
    device equal the CPU run; the gradients stay on the device."""
    x, y = rand(4, 1, 8, 8), np.array([0, 2, 1, 2])
    results = {}
    for dev in ("cpu", device):
        gn.manual_seed(0)
        model = _cnn().to(dev)
        loss = nn.CrossEntropyLoss()(model(on(dev, x, True)), on(dev, y))
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and p.grad.device == dev, name
        results[dev] = (loss.item(), {n: host(p.grad) for n, p in model.named_parameters()})
    close(results[device][0], results["cpu"][0], 1e-5, 1e-5, "loss")
    for name, want in results["cpu"][1].items():
        close(results[device][1][name], want, 1e-4, 1e-4, f"grad of {name}")


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_conv_mixed_devices_error(op):
    x = on("fake", rand(1, 2, 4, 4))
    w = gn.tensor(rand(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match=rf"{op}\(\).*same device.*fake.*cpu"):
        getattr(gn.nn.functional, op)(x, w)

