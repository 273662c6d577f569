"""Element-wise maths and activations of issue 14 vs PyTorch (float32 values + gradients, on
every device) and vs float64 central differences; kinks, singular points and edge values
(0, ±inf, NaN, huge, tiny) vs PyTorch.

A case is ``(id, fn, inputs)`` as in test_core_ops.py. Input kinds: a shape (uniform in
[-2, 2)), ``("pos", shape)`` (0.5..3), ``("away", shape)`` (|x| >= 0.1), ``("unit", shape)``
(-0.9..0.9, for asin/acos/atanh) and ``("gt1", shape)`` (1.1..3, for acosh).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import torch

import glassnet as gn
from core_helpers import check_vs_torch, gradcheck, positive, rand

A, B = (3, 4), (4,)

CASES = [
    # -- trigonometric and hyperbolic
    ("sin", lambda L, a: L.sin(a), [A]),
    ("cos", lambda L, a: a.cos(), [(2, 3, 4)]),
    ("tan", lambda L, a: L.tan(a), [("unit", A)]),
    ("asin", lambda L, a: L.asin(a), [("unit", A)]),
    ("acos", lambda L, a: a.acos(), [("unit", A)]),
    ("atan", lambda L, a: L.atan(a), [A]),
    ("arcsin", lambda L, a: L.arcsin(a), [("unit", B)]),
    ("sinh", lambda L, a: L.sinh(a), [A]),
    ("cosh", lambda L, a: a.cosh(), [A]),
    ("asinh", lambda L, a: L.asinh(a), [A]),
    ("acosh", lambda L, a: L.acosh(a), [("gt1", A)]),
    ("atanh", lambda L, a: a.atanh(), [("unit", A)]),
    ("atan2", lambda L, a, b: L.atan2(a, b), [A, ("away", B)]),
    ("atan2_method", lambda L, a, b: a.atan2(b), [(3, 1), ("away", (1, 4))]),
    # -- logarithms, exponentials, powers
    ("log2", lambda L, a: L.log2(a), [("pos", A)]),
    ("log10", lambda L, a: a.log10(), [("pos", A)]),
    ("log1p", lambda L, a: L.log1p(a), [("pos", A)]),
    ("expm1", lambda L, a: L.expm1(a), [A]),
    ("exp2", lambda L, a: a.exp2(), [A]),
    ("rsqrt", lambda L, a: L.rsqrt(a), [("pos", A)]),
    ("reciprocal", lambda L, a: a.reciprocal(), [("away", A)]),
    ("square", lambda L, a: L.square(a), [A]),
    ("logaddexp", lambda L, a, b: L.logaddexp(a, b), [A, B]),
    ("logaddexp_method", lambda L, a, b: a.logaddexp(b * 30), [(2, 1, 4), A]),
    ("erf", lambda L, a: L.erf(a), [A]),
    ("erfc", lambda L, a: a.erfc(), [A]),
    ("erfinv", lambda L, a: L.erfinv(a), [("unit", A)]),
    # -- sign manipulation, interpolation, remainders
    ("copysign", lambda L, a, b: L.copysign(a, b), [A, B]),
    ("copysign_scalar", lambda L, a: L.copysign(a, -1.0), [A]),
    ("lerp", lambda L, a, b: L.lerp(a, b, 0.3), [A, B]),
    ("lerp_tensor_weight", lambda L, a, b, w: a.lerp(b, w), [A, A, B]),
    ("fmod", lambda L, a, b: L.fmod(a * 3, b), [A, ("away", B)]),
    ("fmod_scalar", lambda L, a: a.fmod(0.7), [A]),
    ("remainder", lambda L, a, b: L.remainder(a * 3, b), [A, ("away", B)]),
    ("remainder_op", lambda L, a: (a * 3) % 0.7, [A]),
    ("floor_divide_op", lambda L, a, b: ((a * 3) // b).detach() + a, [A, ("away", B)]),
    ("div_floor", lambda L, a, b: L.div(a * 3, b, rounding_mode="floor") * a, [A, ("away", B)]),
    ("div_trunc", lambda L, a, b: L.div(a * 3, b, rounding_mode="trunc") + b, [A, ("away", B)]),
    # -- rounding: zero gradient
    ("floor", lambda L, a: L.floor(a * 3) * a, [A]),
    ("ceil", lambda L, a: a.ceil() + a, [A]),
    ("trunc", lambda L, a: L.trunc(a * 3) * a, [A]),
    ("round", lambda L, a: L.round(a * 3) * a, [A]),
    ("round_decimals", lambda L, a: L.round(a, decimals=1) * a, [A]),
    ("frac", lambda L, a: L.frac(a * 3), [A]),
    # -- activations
    ("silu", lambda L, a: L.silu(a), [A]),
    ("mish", lambda L, a: L.mish(a * 4), [A]),
    ("elu", lambda L, a: L.elu(a), [("away", A)]),
    ("elu_alpha", lambda L, a: L.elu(a, alpha=0.5), [("away", A)]),
    ("celu", lambda L, a: L.celu(a, alpha=2.0), [("away", A)]),
    ("selu", lambda L, a: L.selu(a), [("away", A)]),
    ("softplus", lambda L, a: L.softplus(a * 5), [A]),
    ("softplus_beta", lambda L, a: L.softplus(a * 5, beta=2.0, threshold=4.0), [("away", A)]),
    ("logsigmoid", lambda L, a: L.logsigmoid(a * 10), [A]),
    ("softsign", lambda L, a: L.softsign(a), [A]),
    ("tanhshrink", lambda L, a: L.tanhshrink(a), [A]),
    ("hardtanh", lambda L, a: L.hardtanh(a), [("away", A)]),
    ("hardtanh_range", lambda L, a: L.hardtanh(a, min_val=-0.5, max_val=1.5), [("away", A)]),
    ("relu6", lambda L, a: L.relu6(a * 4), [("away", A)]),
    ("hardsigmoid", lambda L, a: L.hardsigmoid(a * 2.5), [("away", A)]),
    ("hardswish", lambda L, a: L.hardswish(a * 2.5), [("away", A)]),
    ("softmin", lambda L, a: L.softmin(a, dim=1), [(2, 3, 4)]),
    ("softmin_last", lambda L, a: L.softmin(a, -1), [A]),
    ("hardshrink", lambda L, a: L.hardshrink(a), [("away", A)]),
    ("hardshrink_lambd", lambda L, a: L.hardshrink(a, lambd=1.2), [("away", A)]),
    ("softshrink", lambda L, a: L.softshrink(a, 0.3), [("away", A)]),
    ("glu", lambda L, a: L.glu(a), [A]),
    ("glu_dim0", lambda L, a: L.glu(a, dim=0), [(4, 3, 2)]),
    ("prelu_shared", lambda L, x, w: L.prelu(x, w), [(2, 3, 4), (1,)]),
    ("prelu_channels", lambda L, x, w: L.prelu(x, w), [(2, 3, 4), (3,)]),
    # -- special functions and aliases
    ("hypot", lambda L, a, b: L.hypot(a, b), [A, ("away", B)]),
    ("xlogy", lambda L, a, b: L.xlogy(a, b), [A, ("pos", B)]),
    ("logit", lambda L, a: L.logit(a), [("prob", A)]),
    ("logit_eps", lambda L, a: L.logit(a, eps=0.2), [("prob", A)]),
    ("sinc", lambda L, a: L.sinc(a), [A]),
    ("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), [A, B]),
    ("fmax", lambda L, a, b: L.fmax(a, b), [A, B]),
    ("fmin", lambda L, a, b: a.fmin(b), [(2, 1, 4), A]),
    ("float_power", lambda L, a, b: L.float_power(a, b), [("pos", A), B]),
    ("nan_to_num", lambda L, a: L.nan_to_num(a * 2), [A]),
    ("deg2rad", lambda L, a: L.deg2rad(a) + L.rad2deg(a), [A]),
    ("aliases", lambda L, a, b: L.divide(L.multiply(L.subtract(a, b), L.absolute(b)),
                                         L.negative(b)) + L.true_divide(a, b), [A, ("away", B)]),
    ("where_two_scalars", lambda L, a: L.where(a > 0, 1.0, -2.0) * a, [A]),
    ("where_int_scalars", lambda L, a: L.where(a < 0.5, 1, 3) * a, [A]),
    ("add_alpha", lambda L, a, b: L.add(a, b, alpha=-2.5) + a.sub(b, alpha=3), [A, B]),
    ("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5) + a.addcmul(b, c), [A, B, A]),
    ("addcdiv", lambda L, a, b, c: L.addcdiv(a, b, c, value=-2), [A, B, ("away", A)]),
    ("clamp_min_max", lambda L, a: L.clamp_min(a, -0.5) * a.clamp_max(0.7), [A]),
    ("hardshrink_method", lambda L, a: a.hardshrink(0.3), [("away", A)]),
    ("lgamma", lambda L, a: L.lgamma(a), [("pos", A)]),
    ("lgamma_negative", lambda L, a: a.lgamma(), [("away", A)]),
    ("digamma", lambda L, a: L.digamma(a), [("pos", A)]),
    ("special_entr", lambda L, a: _sp(L).entr(a), [("pos", A)]),
    ("special_ndtr", lambda L, a: _sp(L).ndtr(a), [A]),
    ("special_expit_logit", lambda L, a: _sp(L).logit(_sp(L).expit(a)) * _sp(L).psi(a + 3),
     [A]),
    ("special_misc", lambda L, a, b: _sp(L).xlogy(a, b) + _sp(L).sinc(a) + _sp(L).erfc(a)
     + _sp(L).logsumexp(a, 1).unsqueeze(1) + _sp(L).log_softmax(a, 0), [A, ("pos", A)]),
    ("gelu_erf_large", lambda L, a: L.gelu(a * 4), [A]),
    ("gelu_tanh_large", lambda L, a: L.gelu(a * 4, approximate="tanh"), [A]),
]
CPU_ONLY = {"erfinv", "lgamma", "lgamma_negative", "digamma", "special_expit_logit"}   # scipy


def _sp(L):
    """``torch.special`` or ``glassnet.special``."""
    return torch.special if repr(L) == "torch" else gn.special


def make_inputs(specs, dtype):
    out = []
    for s in specs:
        kind, shape = s if s and isinstance(s[0], str) else ("any", s)
        if kind == "pos":
            out.append(positive(*shape, dtype=dtype))
        elif kind == "unit":
            out.append(rand(*shape, low=-0.9, high=0.9, dtype=dtype))
        elif kind == "prob":
            out.append(rand(*shape, low=0.05, high=0.95, dtype=dtype))
        elif kind == "gt1":
            out.append(rand(*shape, low=1.1, high=3.0, dtype=dtype))
        else:
            out.append(rand(*shape, dtype=dtype, away=0.1 if kind == "away" else 0.0))
    return out


IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_matches_torch(name, fn, specs, device):
    if device != "cpu" and name in CPU_ONLY:
        pytest.skip(f"{name} runs on the CPU only")
    check_vs_torch(fn, *make_inputs(specs, np.float32), device=device)


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_gradcheck_float64(name, fn, specs):
    gradcheck(fn, *make_inputs(specs, np.float64))


# -- kinks, singular points, edge values ------------------------------------------------------
INF, NAN = np.inf, np.nan
EDGE = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-8, 50.0, -50.0, 100.0, -100.0, 1e30, -1e30,
                 INF, -INF, NAN])
UNIT_EDGE = np.array([-1.0, 1.0, 0.0, 0.5, 1.5, -2.0, INF, NAN])

KINKS = [
    ("hardtanh_at_bounds", lambda L, a: L.hardtanh(a), [-1.0, 1.0, 0.0, -2.0, 2.0]),
    ("hardtanh_custom_bounds", lambda L, a: L.hardtanh(a, -0.5, 0.5), [-0.5, 0.5, 0.0]),
    ("relu6_at_kinks", lambda L, a: L.relu6(a), [0.0, 6.0, 3.0, -1.0, 7.0]),
    ("hardsigmoid_at_kinks", lambda L, a: L.hardsigmoid(a), [-3.0, 3.0, 0.0, -4.0, 4.0]),
    ("hardswish_at_kinks", lambda L, a: L.hardswish(a), [-3.0, 3.0, 0.0, -4.0, 4.0]),
    ("elu_at_zero", lambda L, a: L.elu(a, 2.0), [0.0, -0.0, 1.0]),
    ("celu_at_zero", lambda L, a: L.celu(a, 0.5), [0.0, -1.0, 1.0]),
    ("selu_at_zero", lambda L, a: L.selu(a), [0.0, -1.0, 1.0]),
    ("softplus_at_threshold", lambda L, a: L.softplus(a, 2.0, 4.0), [2.0, 2.0001, 1.9999]),
    ("copysign_at_zero", lambda L, a: L.copysign(a, L.const(np.float32([1, -1, -0.0]))),
     [0.0, 0.0, 2.0]),
    ("frac_at_integers", lambda L, a: L.frac(a), [1.0, -2.0, 0.0]),
    ("atan2_at_origin", lambda L, a: L.atan2(a, a * 0), [0.0, 1.0, -1.0]),
    ("round_half_even", lambda L, a: L.round(a) * a, [0.5, 1.5, 2.5, -0.5, -1.5]),
    ("fmod_negative", lambda L, a: L.fmod(a, -1.5), [-5.0, 5.0, -0.0, 4.5]),
    ("hardshrink_at_lambd", lambda L, a: L.hardshrink(a, 0.5), [0.5, -0.5, 0.0, NAN]),
    ("softshrink_at_lambd", lambda L, a: L.softshrink(a, 0.5), [0.5, -0.5, 0.0, 2.0]),
    ("prelu_at_zero", lambda L, a: L.prelu(a, L.const(np.float32([0.1]))), [0.0, -1.0, 1.0]),
    ("fmax_ties_and_nan", lambda L, a: L.fmax(a, L.const(np.float32([1.0, NAN, 2.0]))),
     [1.0, 3.0, NAN]),
    ("fmin_ties_and_nan", lambda L, a: L.fmin(a, L.const(np.float32([1.0, NAN, 2.0]))),
     [1.0, 3.0, NAN]),
    ("xlogy_at_zero", lambda L, a: L.xlogy(a, L.const(np.float32([0.0, 0.0, NAN, 2.0]))),
     [0.0, 1.0, 0.0, 0.0]),
    ("logit_eps_edges", lambda L, a: L.logit(a, 0.1), [0.05, 0.1, 0.9, 0.95]),
    ("sinc_at_zero", lambda L, a: L.sinc(a), [0.0, 1.0, -2.0]),
    ("nan_to_num_edges", lambda L, a: L.nan_to_num(a, nan=1.0, posinf=2.0), [NAN, INF, -INF, 3]),
    ("remainder_negative", lambda L, a: L.remainder(a, -1.5), [-5.0, 5.0, -0.0, 4.5]),
]


@pytest.mark.parametrize("name,fn,x", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_match_torch(name, fn, x, device):
    check_vs_torch(fn, np.float32(x), device=device)


UNARY_EDGE = ["sin", "cos", "tan", "atan", "sinh", "cosh", "asinh", "exp2", "expm1", "log1p",
              "log2", "log10", "rsqrt", "reciprocal", "square", "erf", "erfc", "floor", "ceil",
              "trunc", "round", "frac", "sign", "silu", "mish", "elu", "celu", "selu",
              "softplus", "logsigmoid", "softsign", "tanhshrink", "hardtanh", "relu6",
              "hardsigmoid", "hardswish", "gelu", "sigmoid", "tanh", "hardshrink",
              "softshrink", "sinc", "logit", "nan_to_num", "deg2rad", "signbit", "lgamma",
              "digamma"]
POLES = {"lgamma", "digamma"}     # at the poles (negative integers) float32 noise differs


@pytest.mark.parametrize("op", UNARY_EDGE)
def test_edge_values_match_torch(op):
    """0, -0, tiny, large, huge, ±inf, NaN: values and gradients as PyTorch (inf, NaN too).

    One known difference: PyTorch's CPU gelu gives NaN at +inf, glassnet gives +inf (the limit).
    """
    x = EDGE[EDGE != INF] if op == "gelu" else EDGE
    if op in POLES:
        x = x[~(x < 0)]
    check_vs_torch(lambda L, a: getattr(L, op)(a), x.astype(np.float32))


def test_gelu_at_inf_is_the_limit():
    assert gn.gelu(gn.tensor([np.inf])).item() == np.inf


def test_lgamma_at_minus_inf_and_digamma_at_signed_zero_as_torch():
    x = np.float32([-np.inf, 0.0, -0.0])
    np.testing.assert_array_equal(gn.lgamma(gn.tensor(x)).numpy(), torch.lgamma(torch.tensor(x)))
    np.testing.assert_array_equal(gn.digamma(gn.tensor(x)).numpy(),
                                  torch.digamma(torch.tensor(x)))


@pytest.mark.parametrize("op", ["asin", "acos", "atanh", "acosh", "erfinv"])
def test_domain_edges_match_torch(op):
    """At and beyond the domain ends: ±inf and NaN exactly where PyTorch has them."""
    check_vs_torch(lambda L, a: getattr(L, op)(a), UNIT_EDGE.astype(np.float32))


@pytest.mark.parametrize("op", ["atan2", "logaddexp", "copysign", "fmod", "remainder", "pow",
                                "hypot", "xlogy", "logaddexp2", "fmax", "fmin"])
def test_binary_edge_values_match_torch(op):
    x = np.repeat(EDGE[[0, 4, 5, 7, 9, 11, 12, 13]], 8).astype(np.float32)
    y = np.tile(EDGE[[0, 1, 4, 6, 8, 11, 12, 13]], 8).astype(np.float32)
    check_vs_torch(lambda L, a, b: getattr(L, op)(a, b), x, y)


# -- pow at its singular points (issue 14): values and both gradients as PyTorch -----------
POW_BASE = [0.0, 0.0, 0.0, -2.0, -2.0, -2.0, INF, INF, -INF, -INF, 2.0, 0.5, 0.0, -0.0, 1.0,
            NAN, 1.0, 0.0]
POW_EXP = [-1.0, 0.0, 2.0, 0.5, 2.0, -1.0, 2.0, -2.0, 3.0, 2.0, INF, INF, -INF, -1.5, NAN,
           0.0, INF, 0.5]


def test_pow_singular_points_match_torch():
    check_vs_torch(lambda L, a, b: a ** b, np.float32(POW_BASE), np.float32(POW_EXP))


@pytest.mark.parametrize("base", [0.0, -2.0, 2.0, INF])
def test_pow_scalar_base_singular_points(base):
    """0**x for negative x is inf; d/dx base**x at base 0 / negative follows PyTorch."""
    check_vs_torch(lambda L, a: base ** a, np.float32([0.0, -1.0, 2.0, INF, -INF, 0.5]))


@pytest.mark.parametrize("exponent", [-1.0, 0.5, -1.5, 0.0, 3.0])
def test_pow_scalar_exponent_at_zero(exponent):
    check_vs_torch(lambda L, a: a ** exponent, np.float32([0.0, -0.0, -1.0, 2.0, INF]))


def test_zero_to_negative_power_is_inf():
    assert gn.tensor(0.0) ** -1 == np.inf
    assert (gn.tensor([0.0]) ** gn.tensor([-2.0])).item() == np.inf
    with pytest.raises(ValueError, match=r"pow\(\).*negative integer powers"):
        gn.tensor([2, 3]) ** -1


# -- broadcasting (hypothesis): every new binary op, values and both gradients ----------------
BROADCAST = {
    "atan2": lambda L, a, b: L.atan2(a, b), "logaddexp": lambda L, a, b: L.logaddexp(a, b),
    "logaddexp2": lambda L, a, b: L.logaddexp2(a, b), "hypot": lambda L, a, b: L.hypot(a, b),
    "copysign": lambda L, a, b: L.copysign(a, b), "fmod": lambda L, a, b: L.fmod(a * 3, b),
    "remainder": lambda L, a, b: (a * 3) % b, "fmax": lambda L, a, b: L.fmax(a, b),
    "fmin": lambda L, a, b: L.fmin(a, b), "xlogy": lambda L, a, b: L.xlogy(a, L.abs(b)),
    "lerp": lambda L, a, b: L.lerp(a, b, 0.25), "div_floor": lambda L, a, b: L.div(
        a * 3, b, rounding_mode="floor") + a * b,
}


@pytest.mark.parametrize("name", sorted(BROADCAST))
@settings(max_examples=15, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_broadcasting_matches_torch(name, shapes, seed):
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, a_shape).astype(np.float32)
    b = rng.uniform(0.3, 2, b_shape) * rng.choice([-1, 1], b_shape)     # away from 0
    out = check_vs_torch(BROADCAST[name], a, np.asarray(b, np.float32))
    assert out.shape == shapes.result_shape
