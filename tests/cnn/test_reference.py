"""The fast kernels (im2col + GEMM, channels-last, sliced-add backward) agree with the plain
loop references in glassnet.ops.reference, in float64."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.ops import conv as C
from glassnet.ops import pool as P
from glassnet.ops import reference as R
from _helpers import rand


def _run(fn, *arrays):
    ts = [gn.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    g = rand(*y.shape, dtype=np.float64)
    (y * gn.tensor(g)).sum().backward()
    return y.array, g, [t.grad.array for t in ts]


@pytest.mark.parametrize("s,p,d,groups", [((1, 1), (1, 1), (1, 1), 1), ((2, 1), (0, 2), (1, 2), 1),
                                          ((2, 2), (1, 1), (2, 1), 2), ((1, 1), (0, 0), (1, 1), 4),
                                          ((3, 2), (2, 1), (1, 1), 1)])
def test_conv2d_fast_equals_reference(s, p, d, groups):
    x, w, b = rand(2, 4, 9, 8, dtype=np.float64), rand(8, 4 // groups, 3, 2,
                                                        dtype=np.float64), rand(8, dtype=np.float64)
    y, g, grads = _run(lambda x, w, b: C.conv2d(x, w, b, s, p, d, groups), x, w, b)
    pads = tuple((v, v) for v in p)
    y_ref, ref_grads = R.conv2d_ref(x, w, b, s, pads, d, groups)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for a, r in zip(grads, ref_grads(g)):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,k,s,pads,d", [
    ((2, 3, 7, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),     # centre tap writes dx directly
    ((2, 3, 7, 6), (2, 4), (1, 1), ((0, 1), (1, 2)), (1, 1)),     # 'same' with even kernel
    ((2, 3, 9, 9), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2)),     # dilated 'same'
    ((2, 3, 6, 5), (3, 2), (1, 1), ((3, 0), (0, 3)), (1, 1)),     # pads > d·(k − 1)
    ((2, 3, 8, 9), (3, 3), (3, 2), ((1, 0), (2, 1)), (1, 2)),     # strided, dilated
    ((2, 3, 9, 9), (2, 2), (3, 3), ((0, 0), (0, 0)), (1, 1)),     # stride > kernel: gaps in dx
    ((2, 3, 1, 5), (3, 3), (2, 1), ((1, 1), (1, 1)), (1, 1)),     # taps that read only padding
    ((2, 3, 5, 4), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),     # 1x1
])
def test_conv2d_input_and_weight_grads_equal_reference(shape, k, s, pads, d):
    """Every branch of conv_input_grad (identity tap or not, clipped / empty taps) and of
    the weight-gradient GEMM orientation agrees with the loop reference."""
    for cout in (2, 7):                     # C_out < K and C_out > K: both GEMM orientations
        x, w, b = rand(*shape, dtype=np.float64), rand(cout, shape[1], *k,
                                                         dtype=np.float64), rand(cout,
                                                                                 dtype=np.float64)
        y, g, grads = _run(lambda x, w, b: C._conv2d(x, w, b, s, pads, d, 1), x, w, b)
        y_ref, ref_grads = R.conv2d_ref(x, w, b, s, pads, d, 1)
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        for a, r in zip(grads, ref_grads(g)):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cin,bias", [(3, True), (3, False), (9, True), (9, False)])
def test_conv2d_both_patch_layouts_equal_reference(cin, bias):
    """C_in < 8 builds the patch matrix plane by plane, C_in >= 8 row by row (im2col)."""
    x, w = rand(2, cin, 6, 5, dtype=np.float64), rand(4, cin, 3, 3, dtype=np.float64)
    b = rand(4, dtype=np.float64) if bias else None
    args = (x, w, b) if bias else (x, w)
    y, g, grads = _run(lambda x, w, b=None: C.conv2d(x, w, b, 1, 1), *args)
    y_ref, ref_grads = R.conv2d_ref(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for a, r in zip(grads, ref_grads(g)):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def test_conv2d_skips_input_grad_for_an_input_without_grad():
    x = gn.tensor(rand(2, 1, 6, 6))
    w = gn.tensor(rand(4, 1, 3, 3), requires_grad=True)
    y = C.conv2d(x, w, None, 1, 1)
    gx, gw, gb = y._backward(np.ones(y.shape, dtype=np.float32))
    assert gx is None and gb is None and gw.shape == (4, 1, 3, 3)


@pytest.mark.parametrize("s,p,op,d", [((1, 1), (0, 0), (0, 0), (1, 1)),
                                      ((2, 3), (1, 0), (1, 2), (1, 1)),
                                      ((2, 1), (1, 1), (0, 0), (2, 2))])
def test_conv_transpose2d_fast_equals_reference(s, p, op, d):
    x, w, b = rand(2, 3, 4, 5, dtype=np.float64), rand(3, 2, 3, 2, dtype=np.float64), rand(
        2, dtype=np.float64)
    y, g, grads = _run(lambda x, w, b: C.conv_transpose2d(x, w, b, s, p, op, 1, d), x, w, b)
    y_ref, ref_grads = R.conv_transpose2d_ref(x, w, b, s, p, op, d)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for a, r in zip(grads, ref_grads(g)):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, 2, 0, 1, False), (3, 2, 1, 1, True),
                                          (3, 1, 1, 2, False), (2, 3, 1, 1, True)])
def test_max_pool2d_fast_equals_reference(k, s, p, d, ceil):
    x = np.round(rand(2, 3, 9, 8, dtype=np.float64), 1)     # rounding makes ties
    y, g, (gx,) = _run(lambda x: P.max_pool2d(x, k, s, p, d, ceil), x)
    out_hw = y.shape[2:]
    pads = tuple((p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p))
                 for n, o in zip(x.shape[2:], out_hw))
    y_ref, ref_grad = R.max_pool2d_ref(x, (k, k), (s, s), pads, (d, d))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(gx, ref_grad(g), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k,s,p,ceil,incl", [(2, 2, 0, False, True), (3, 2, 1, True, False),
                                             (3, 1, 1, False, True)])
def test_avg_pool2d_fast_equals_reference(k, s, p, ceil, incl):
    x = rand(2, 3, 9, 8, dtype=np.float64)
    y, g, (gx,) = _run(lambda x: P.avg_pool2d(x, k, s, p, ceil, incl), x)
    out_hw = y.shape[2:]
    pads = tuple((p, max(0, (o - 1) * s + k - n - p)) for n, o in zip(x.shape[2:], out_hw))
    div = np.outer(*[P._window_counts(n, k, s, p, o, incl)
                     for n, o in zip(x.shape[2:], out_hw)])
    y_ref, ref_grad = R.avg_pool2d_ref(x, (k, k), (s, s), pads, div)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, ref_grad(g), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,out", [((2, 3, 7, 9), (3, 4)), ((1, 2, 5, 5), (5, 5)),
                                       ((2, 2, 6, 4), (1, 1)), ((1, 2, 4, 9), (6, 2))])
def test_adaptive_avg_pool2d_fast_equals_reference(shape, out):
    x = rand(*shape, dtype=np.float64)
    x[0, 0, shape[2] // 2, shape[3] // 2] = np.nan           # must stay in its windows
    y, g, (gx,) = _run(lambda x: P.adaptive_avg_pool2d(x, out), x)
    y_ref, ref_grad = R.adaptive_avg_pool2d_ref(x, out)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)   # NaN where the ref has NaN
    np.testing.assert_allclose(gx, ref_grad(g), rtol=1e-12, atol=1e-12)
