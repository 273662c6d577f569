"""Hypothesis throws odd inputs at the element-wise ops of issue 14 (maths, activations,
integer/bitwise/logical ops, comparisons, any/all): random dtypes (float32/64, int64/32, bool),
NaN/±inf/zeros/huge fills, empty and 0-d tensors, broadcastable and non-broadcastable shape
pairs, Python scalars as operands.

Each call must do what PyTorch does on the same input: same result dtype and values when
PyTorch accepts it, and when PyTorch refuses it an error of a clear type whose message names
the op (never a NumPy error from deep inside, never a silent answer). Bounded and fast.
"""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
DTYPES = [np.float32, np.float32, np.float64, np.int64, np.int32, np.bool_]
FILLS = ["normal", "normal", "nan", "inf", "-inf", "zeros", "huge", "ints"]
CLEAR = (ValueError, TypeError, IndexError, RuntimeError, ZeroDivisionError)

UNARY = ("sin cos tan asin acos atan sinh cosh asinh acosh atanh log2 log10 log1p expm1 exp2 "
         "rsqrt reciprocal square erf erfc floor ceil trunc frac sign isnan isinf isfinite "
         "logical_not bitwise_not logit sinc nan_to_num deg2rad rad2deg signbit sgn "
         "positive lgamma digamma").split()
ACTIVATIONS = ("silu mish elu celu selu softplus logsigmoid softsign tanhshrink hardtanh relu6 "
               "hardsigmoid hardswish hardshrink softshrink glu").split()
BINARY = ("atan2 logaddexp copysign fmod remainder floor_divide logical_and logical_or "
          "logical_xor bitwise_and bitwise_or bitwise_xor eq ne lt le gt ge isclose hypot "
          "xlogy logaddexp2 fmax fmin heaviside").split()
OPERATORS = {"%": lambda a, b: a % b, "//": lambda a, b: a // b, "&": lambda a, b: a & b,
             "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "<": lambda a, b: a < b,
             "==": lambda a, b: a == b, ">=": lambda a, b: a >= b}


def _namespace(lib):
    """torch spells the activations in torch.nn.functional."""
    if lib is gn:
        return lambda name: getattr(gn, name)
    return lambda name: getattr(torch.nn.functional if name in ACTIVATIONS else torch, name)


@st.composite
def arrays(draw, shape=None):
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    dtype = draw(st.sampled_from(DTYPES))
    arr = np.asarray(rng.standard_normal(shape) * 3)
    fill = draw(st.sampled_from(FILLS))
    if arr.size and fill in ("nan", "inf", "-inf"):
        arr.reshape(-1)[rng.integers(arr.size)] = float(fill)
    elif fill == "zeros":
        arr[...] = 0
    elif fill == "huge":
        arr *= 1e30
    elif fill == "ints":
        arr = np.round(arr)
    if np.dtype(dtype).kind != "f":
        arr = np.clip(np.nan_to_num(arr, posinf=9, neginf=-9), -9, 9)
    return np.asarray(arr.astype(dtype))


@st.composite
def pair(draw):
    """Two arrays: same shape, broadcastable, or (sometimes) not broadcastable; or one is a
    Python scalar."""
    a = draw(arrays())
    how = draw(st.sampled_from(["same", "same", "row", "scalar", "any"]))
    if how == "same":
        b = draw(arrays(a.shape))
    elif how == "row":
        b = draw(arrays(a.shape[-1:]))
    elif how == "scalar":
        b = draw(st.sampled_from([0, 2, -3, 0.5, -2.5, True, float("nan")]))
    else:
        b = draw(arrays())
    return a, b


def run(fn):
    try:
        return "ok", fn()
    except Exception as e:       # noqa: BLE001 - classified by the caller
        return "error", e


def as_lib(x, lib):
    if isinstance(x, np.ndarray):
        return gn.tensor(x) if lib is gn else torch.tensor(x)
    return x


def torch_leniently(fn, args):
    """Where glassnet is deliberately more lenient than PyTorch, PyTorch's answer to the
    spelled-out input: a Python scalar where torch.atan2 etc. want a Tensor (glassnet takes
    scalars everywhere a tensor is accepted: the 0-d tensor of the same value), or an
    integer/bool input to a float activation (glassnet casts it to float32, as torch.sigmoid
    does; torch's F.silu refuses it)."""
    status, want = "error", None
    if any(not isinstance(a, np.ndarray) for a in args):
        like = next(a for a in args if isinstance(a, np.ndarray))

        def scalar(v):          # PyTorch's rule for a Python number next to a tensor
            if like.dtype.kind == "f":
                return torch.tensor(v, dtype=getattr(torch, like.dtype.name))
            return torch.tensor(v)
        status, want = run(lambda: fn(_namespace(torch), *[
            scalar(a) if not isinstance(a, np.ndarray) else as_lib(a, torch) for a in args]))
    if status == "error" and any(isinstance(a, np.ndarray) and a.dtype.kind in "iub"
                                 for a in args):
        status, want = run(lambda: fn(_namespace(torch), *[
            torch.tensor(a.astype(np.float32) if a.dtype.kind in "iub" else a)
            if isinstance(a, np.ndarray) else
            torch.tensor(a, dtype=torch.float32) for a in args]))
    return status, want


def compare(name, fn, *args):
    """fn(op, *tensors) in both libraries: same verdict, and the same dtype and values."""
    what = f"{name} on " + ", ".join(f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray)
                                     else repr(a) for a in args)
    with np.errstate(all="ignore"):
        t_status, want = run(lambda: fn(_namespace(torch), *[as_lib(a, torch) for a in args]))
        g_status, got = run(lambda: fn(_namespace(gn), *[as_lib(a, gn) for a in args]))
        if t_status == "error" and g_status == "ok":
            t_status, want = torch_leniently(fn, args)
    if g_status == "error":
        assert isinstance(got, CLEAR), f"{what}: {type(got).__name__} from deep inside: {got}"
        assert t_status == "error", f"{what}: glassnet refused what PyTorch accepts: {got}"
        msg = str(got).lower()
        assert name.lower() in msg or "tensor" in msg, f"{what}: the error does not name " \
                                                       f"the op: {got}"
        return
    assert t_status == "ok", f"{what}: glassnet accepted what PyTorch refuses ({want})"
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = got.numpy() if isinstance(got, gn.Tensor) else np.asarray(got)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, PyTorch {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("name", UNARY + ACTIVATIONS)
@FAST
@given(x=arrays() | st.sampled_from([1.5, 2, True, None, "x", [1.0, 2.0]]))
def test_unary_ops_with_odd_inputs(name, x):
    compare(name, lambda op, a: op(name)(a), x)


@pytest.mark.parametrize("name", BINARY)
@FAST
@given(ab=pair())
def test_binary_ops_with_odd_inputs(name, ab):
    compare(name, lambda op, a, b: op(name)(a, b), *ab)


@pytest.mark.parametrize("name", sorted(OPERATORS))
@FAST
@given(ab=pair())
def test_operators_with_odd_inputs(name, ab):
    op = OPERATORS[name]
    label = {"%": "remainder", "//": "floor_divide", "&": "bitwise_and", "|": "bitwise_or",
             "^": "bitwise_xor", "<": "lt", "==": "eq", ">=": "ge"}[name]
    compare(label, lambda _, a, b: op(a, b), *ab)


@pytest.mark.parametrize("name", ["any", "all"])
@FAST
@given(x=arrays(), data=st.data())
def test_any_all_with_odd_dims(name, x, data):
    dim = data.draw(st.none() | st.integers(-4, 3) | st.just((0, -1)), label="dim")
    keep = data.draw(st.booleans(), label="keepdim")
    compare(name, lambda op, a: op(name)(a, dim=dim, keepdim=keep) if dim is not None
            else op(name)(a), x)
