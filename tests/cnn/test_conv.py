"""Conv1d, Conv2d, ConvTranspose2d vs PyTorch (values and all gradients) and float64 checks."""
import numpy as np
import pytest
import torch

import glassnet as gn
from _helpers import compare_with_torch, gradcheck_layer, rand

CONV2D_GRID = [  # (C_in, C_out, kernel, stride, padding, dilation, groups, bias, H, W)
    (3, 8, 3, 1, 0, 1, 1, True, 9, 9),
    (3, 8, 3, 1, 1, 1, 1, True, 8, 7),
    (4, 6, (3, 2), (2, 1), (1, 0), 1, 1, False, 11, 10),
    (4, 8, 3, 2, 2, 2, 2, True, 13, 9),
    (6, 6, 3, 1, 1, 1, 6, True, 7, 7),            # depthwise
    (2, 4, 5, 3, 2, 1, 1, True, 12, 12),
    (3, 5, 3, 1, "same", 2, 1, True, 9, 8),
    (3, 5, (2, 4), 1, "same", 1, 1, True, 6, 9),   # even kernel: asymmetric padding
    (3, 5, 3, 1, "valid", 1, 1, True, 6, 6),
    (1, 4, 1, 1, 0, 1, 1, True, 5, 6),             # 1x1
    (2, 3, 4, 4, 0, 1, 1, True, 8, 8),             # non-overlapping patches
]


@pytest.mark.parametrize("cin,cout,k,s,p,d,g,bias,H,W", CONV2D_GRID)
def test_conv2d_matches_torch(cin, cout, k, s, p, d, g, bias, H, W):
    layer = gn.nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    ref = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    compare_with_torch(layer, ref, rand(3, cin, H, W))


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_conv2d_padding_modes(mode):
    layer = gn.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
    ref = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
    compare_with_torch(layer, ref, rand(2, 2, 6, 5))


def test_conv2d_unbatched_input():
    layer, ref = gn.nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3)
    compare_with_torch(layer, ref, rand(2, 6, 5))


@pytest.mark.parametrize("cin,cout,k,s,p,d,g,L", [
    (3, 5, 3, 1, 0, 1, 1, 10), (4, 6, 5, 2, 2, 1, 2, 17), (2, 4, 3, 1, "same", 3, 1, 9),
    (4, 4, 2, 3, 1, 2, 4, 12)])
def test_conv1d_matches_torch(cin, cout, k, s, p, d, g, L):
    layer = gn.nn.Conv1d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g)
    ref = torch.nn.Conv1d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g)
    compare_with_torch(layer, ref, rand(3, cin, L))


@pytest.mark.parametrize("cin,cout,k,s,p,op,d,bias,H,W", [
    (3, 4, 3, 1, 0, 0, 1, True, 5, 6), (4, 2, 2, 2, 0, 0, 1, True, 7, 7),
    (3, 5, 3, 2, 1, 1, 1, False, 6, 5), (2, 3, (3, 2), (3, 2), (1, 0), (2, 1), 1, True, 4, 5),
    (2, 2, 3, 1, 1, 0, 2, True, 5, 5)])
def test_conv_transpose2d_matches_torch(cin, cout, k, s, p, op, d, bias, H, W):
    layer = gn.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op,
                                  dilation=d, bias=bias)
    ref = torch.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op,
                                   dilation=d, bias=bias)
    compare_with_torch(layer, ref, rand(2, cin, H, W))


def test_default_init_matches_torch_distribution():
    gn.manual_seed(0)
    w = gn.nn.Conv2d(16, 32, 3).weight.array
    bound = 1 / np.sqrt(16 * 9)                  # kaiming_uniform(a=√5) → U(±1/√fan_in)
    assert w.shape == (32, 16, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert gn.nn.ConvTranspose2d(16, 8, 2).weight.shape == (16, 8, 2, 2)


def test_output_stays_float32_and_channels_last_is_invisible():
    y = gn.nn.Conv2d(3, 4, 3, padding=1)(gn.tensor(rand(2, 3, 5, 5)))
    assert y.dtype == np.float32 and y.shape == (2, 4, 5, 5)
    z = y.numpy().copy()                         # logical NCHW order whatever the memory
    assert np.array_equal(z[1, 2], y.array[1, 2])


@pytest.mark.parametrize("make_layer,shape", [
    (lambda: gn.nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=1, groups=2), (2, 2, 5, 4)),
    (lambda: gn.nn.Conv2d(2, 3, (2, 3), padding="same", dilation=2), (1, 2, 4, 5)),
    (lambda: gn.nn.Conv1d(2, 2, 3, stride=2, padding=1), (2, 2, 7)),
    (lambda: gn.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
     (1, 2, 3, 3)),
])
def test_float64_finite_differences(make_layer, shape):
    gradcheck_layer(make_layer(), rand(*shape, dtype=np.float64))
