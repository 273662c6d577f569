"""The layers of issue 14 on each device vs PyTorch (values and gradients): group/instance/RMS
norm, conv3d, transposed 1-d/3-d and grouped 2-d convs, 3-d pooling, max pooling with indices
and unpooling, and interpolate's modes. Runs on "cpu", "fake" (refuses implicit host copies,
like CuPy) and "cuda" (skipped without a GPU)."""
import numpy as np
import pytest
import torch

import glassnet as gn

from _devhelpers import check_op, close, host, on, rand


def _f(lib):
    return lib.nn.functional


def test_group_norm_and_rms_norm(device):
    check_op(device, lambda lib, x, w, b: _f(lib).group_norm(x, 2, w, b), rand(2, 4, 3, 5),
             rand(4), rand(4), atol=1e-4, rtol=1e-4)
    check_op(device, lambda lib, x, w: _f(lib).rms_norm(x, (3, 5), w, 1e-5), rand(2, 4, 3, 5),
             rand(3, 5), atol=1e-4, rtol=1e-4)


def test_instance_norm_running_stats(device):
    x, w, b = rand(3, 2, 5, 4), rand(2), rand(2)
    rm, rv = gn.zeros(2, device=device), gn.ones(2, device=device)
    trm, trv = torch.zeros(2), torch.ones(2)
    y = gn.nn.functional.instance_norm(on(device, x), rm, rv, on(device, w), on(device, b),
                                       momentum=0.3)
    yt = torch.nn.functional.instance_norm(torch.tensor(x), trm, trv, torch.tensor(w),
                                           torch.tensor(b), momentum=0.3)
    assert y.device == device
    close(host(y), yt.numpy(), atol=1e-5)
    close(host(rm), trm.numpy(), what="running_mean")
    close(host(rv), trv.numpy(), what="running_var")


@pytest.mark.parametrize("name,xs,ws,kw", [
    ("conv3d", (2, 4, 4, 5, 3), (6, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1,
                                                     groups=2)),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 2, 2, 3), dict(stride=2, groups=2)),
    ("conv_transpose3d", (1, 2, 2, 3, 2), (2, 3, 2, 2, 2), dict(stride=(2, 1, 2))),
])
def test_convolutions(device, name, xs, ws, kw):
    arrays = (rand(*xs), rand(*ws, low=-0.5, high=0.5), rand(ws[1] * kw.get("groups", 1)
                                                             if "transpose" in name else ws[0]))
    check_op(device, lambda lib, *t: getattr(_f(lib), name)(*t, **kw), *arrays, atol=1e-4,
             rtol=1e-4)


def test_pool3d(device):
    x = np.random.default_rng(3).permutation(2 * 3 * 4 * 5 * 4).reshape(2, 3, 4, 5, 4) / 9
    x = x.astype(np.float32)
    check_op(device, lambda lib, t: _f(lib).max_pool3d(t, 2, stride=1, padding=1), x)
    check_op(device, lambda lib, t: _f(lib).avg_pool3d(t, (2, 3, 2), stride=2, padding=1,
                                                       count_include_pad=False), x)
    check_op(device, lambda lib, t: _f(lib).avg_pool1d(t, 3, stride=2, padding=1),
             rand(2, 3, 9))


def test_max_pool_indices_and_unpool(device):
    x = np.random.default_rng(4).permutation(2 * 3 * 6 * 8).reshape(2, 3, 6, 8) / 9
    x = x.astype(np.float32)
    y, idx = gn.nn.functional.max_pool2d(on(device, x), 2, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert idx.device == device
    np.testing.assert_array_equal(host(idx), it.numpy())
    check_op(device, lambda lib, t, i: _f(lib).max_unpool2d(t, i, 2), yt.numpy(), it.numpy())


@pytest.mark.parametrize("mode,shape,kw", [
    ("linear", (2, 3, 7), dict(size=12, align_corners=True)),
    ("bilinear", (2, 3, 5, 4), dict(scale_factor=1.5)),
    ("bicubic", (1, 2, 4, 5), dict(size=(7, 3))),
    ("trilinear", (1, 2, 3, 4, 2), dict(scale_factor=2)),
    ("nearest", (1, 2, 3, 4, 2), dict(scale_factor=2)),
    ("area", (1, 2, 6, 7), dict(size=(4, 3)))])
def test_interpolate(device, mode, shape, kw):
    check_op(device, lambda lib, t: _f(lib).interpolate(t, mode=mode, **kw), rand(*shape),
             atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,out,shape", [("adaptive_max_pool2d", (3, 2), (2, 2, 7, 5)),
                                            ("adaptive_max_pool1d", 3, (2, 3, 8)),
                                            ("adaptive_avg_pool3d", (2, 1, 3), (1, 2, 3, 4, 5)),
                                            ("adaptive_avg_pool1d", 3, (2, 3, 8))])
def test_adaptive_pools(device, name, out, shape):
    x = (np.random.default_rng(5).permutation(int(np.prod(shape))).reshape(shape) / 9)
    check_op(device, lambda lib, t: getattr(_f(lib), name)(t, out), x.astype(np.float32))
