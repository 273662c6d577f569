"""Integer and bool tensors, comparisons, logical/bitwise ops, any/all, floating predicates and
PyTorch's type promotion with Python scalars: dtypes and values exactly as PyTorch computes
them on the same inputs."""
import numpy as np
import pytest
import torch

import glassnet as gn

INT_A = np.array([[7, -7, 5, -5], [0, 3, -1, 9], [-8, 8, 1, -2]], np.int64)
INT_B = np.array([3, -3, 2, -4], np.int64)                 # no zero divisors
SHIFT = np.array([0, 1, 2, 3], np.int64)
BOOL_A = np.array([[True, False, True, False]] * 3)
BOOL_B = np.array([True, True, False, False])
FLOAT = np.array([[1.5, -2.5, 0.0, np.nan], [np.inf, -np.inf, 3.0, -0.0],
                  [2.0, 1e-30, -7.25, 4.0]], np.float32)


def same(fn, *arrays):
    """fn(T, *tensors) with T = glassnet and T = torch: same dtype, same values (NaN = NaN)."""
    got = fn(gn, *[gn.tensor(a) for a in arrays])
    want = fn(torch, *[torch.tensor(a) for a in arrays])
    if isinstance(want, torch.Tensor):
        want = want.numpy()
        assert isinstance(got, gn.Tensor), f"expected a Tensor, got {type(got).__name__}"
        got = got.numpy()
        assert got.dtype == want.dtype, f"dtype {got.dtype} != torch {want.dtype}"
        assert got.shape == want.shape, f"shape {got.shape} != torch {want.shape}"
        if got.dtype.kind == "f":                  # libm and SLEEF differ in the last ulp
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(got, want)
    else:
        assert type(got) is type(want) and got == want, f"{got!r} != torch {want!r}"


INT_CASES = [
    ("remainder_op", lambda T, a, b: a % b, [INT_A, INT_B]),
    ("remainder_scalar", lambda T, a: a % -3, [INT_A]),
    ("rremainder", lambda T, b: 7 % b, [INT_B]),
    ("remainder_fn", lambda T, a, b: T.remainder(a, b), [INT_A, INT_B]),
    ("floordiv_op", lambda T, a, b: a // b, [INT_A, INT_B]),
    ("rfloordiv", lambda T, b: -10 // b, [INT_B]),
    ("floor_divide_fn", lambda T, a, b: T.floor_divide(a, b), [INT_A, INT_B]),
    ("fmod", lambda T, a, b: T.fmod(a, b), [INT_A, INT_B]),
    ("fmod_scalar", lambda T, a: a.fmod(-3), [INT_A]),
    ("div_true", lambda T, a, b: T.div(a, b), [INT_A, INT_B]),
    ("div_trunc", lambda T, a, b: T.div(a, b, rounding_mode="trunc"), [INT_A, INT_B]),
    ("div_floor", lambda T, a, b: a.div(b, rounding_mode="floor"), [INT_A, INT_B]),
    ("truediv_op", lambda T, a, b: a / b, [INT_A, INT_B]),
    ("and", lambda T, a, b: a & b, [INT_A, INT_B]),
    ("or", lambda T, a, b: a | b, [INT_A, INT_B]),
    ("xor", lambda T, a, b: a ^ b, [INT_A, INT_B]),
    ("rand_scalar", lambda T, a: 6 & a, [INT_A]),
    ("invert", lambda T, a: ~a, [INT_A]),
    ("lshift", lambda T, a, s: a << s, [INT_A, SHIFT]),
    ("rshift", lambda T, a, s: a >> s, [INT_A, SHIFT]),
    ("lshift_scalar", lambda T, a: a << 2, [INT_A]),
    ("bitwise_fns", lambda T, a, b: T.bitwise_xor(T.bitwise_and(a, b), T.bitwise_or(a, 1)),
     [INT_A, INT_B]),
    ("bitwise_not_fn", lambda T, a: T.bitwise_not(a), [INT_A]),
    ("shift_fns", lambda T, a, s: T.bitwise_right_shift(T.bitwise_left_shift(a, s), 1),
     [INT_A, SHIFT]),
    ("bool_and", lambda T, a, b: a & b, [BOOL_A, BOOL_B]),
    ("bool_or", lambda T, a, b: a | b, [BOOL_A, BOOL_B]),
    ("bool_xor", lambda T, a, b: a ^ b, [BOOL_A, BOOL_B]),
    ("bool_invert", lambda T, a: ~a, [BOOL_A]),
    ("logical_not_int", lambda T, a: T.logical_not(a), [INT_A]),
    ("logical_and", lambda T, a, b: T.logical_and(a, b), [INT_A, BOOL_B]),
    ("logical_or_float", lambda T, a, b: T.logical_or(a, b), [FLOAT, BOOL_B]),
    ("logical_xor", lambda T, a, b: a.logical_xor(b), [INT_A, INT_B]),
    # -- integer dtypes kept by arithmetic and rounding; promotion with Python scalars
    ("int_add_int", lambda T, a, b: a + b * 2 - 1, [INT_A, INT_B]),
    ("int_mul_float", lambda T, a: a * 2.5, [INT_A]),
    ("int_sub_float_left", lambda T, a: 1.5 - a, [INT_A]),
    ("int32_add_int", lambda T, a: a + 2, [INT_A.astype(np.int32)]),
    ("int32_add_int64", lambda T, a, b: a + b, [INT_A.astype(np.int32), INT_B]),
    ("bool_add_int", lambda T, a: a + 2, [BOOL_A]),
    ("bool_mul_float", lambda T, a: a * 1.5, [BOOL_A]),
    ("int_pow_int", lambda T, a: a ** 2, [INT_A]),
    ("int_pow_float", lambda T, a: a ** 0.5, [np.abs(INT_A)]),
    ("int_abs_neg_sign", lambda T, a: T.abs(a) - a.neg() * T.sign(a), [INT_A]),
    ("int_square", lambda T, a: T.square(a), [INT_A]),
    ("int_rounding", lambda T, a: T.floor(a) + T.ceil(a) + T.round(a) + T.trunc(a), [INT_A]),
    ("int_sin_is_float", lambda T, a: T.sin(a), [INT_A]),
    ("int_sqrt_is_float", lambda T, a: T.rsqrt(a) + T.log2(a) + T.exp2(a), [np.abs(INT_A) + 1]),
    ("float32_add_pyfloat", lambda T, x: x + 0.1, [FLOAT]),
    ("float64_add_pyfloat", lambda T, x: x * 0.1, [FLOAT.astype(np.float64)]),
    ("float32_add_0d_float64", lambda T, x, y: x + y, [FLOAT, np.array(0.5)]),
    ("int_add_0d_float64", lambda T, a, y: a + y, [INT_A, np.array(0.5)]),
    ("float_floordiv", lambda T, x: x // 0.7, [FLOAT]),
    ("float_mod", lambda T, x: x % -0.7, [FLOAT]),
    ("float_mod_zero", lambda T, x: x % 0.0, [FLOAT]),
    ("float_floordiv_zero", lambda T, x: x // 0.0, [FLOAT]),
    # -- comparisons give bool tensors
    ("lt", lambda T, a, b: a < b, [INT_A, INT_B]),
    ("le_scalar", lambda T, a: a <= 3, [INT_A]),
    ("gt_float_scalar", lambda T, a: a > 2.5, [INT_A]),
    ("ge_left_scalar", lambda T, a: 3 >= a, [INT_A]),
    ("eq", lambda T, a, b: a == b, [INT_A, np.array([7, -3, 5, 0])]),
    ("ne_float_nan", lambda T, x: x != x, [FLOAT]),
    ("eq_bool_int", lambda T, p: p == 1, [BOOL_A]),
    ("cmp_fns", lambda T, a, b: T.logical_and(T.gt(a, b), T.ne(a, 0)) | T.le(a, -1),
     [INT_A, INT_B]),
    ("cmp_methods", lambda T, x: x.lt(1.0) ^ x.ge(2.0) ^ x.eq(0.0), [FLOAT]),
    ("cmp_aliases", lambda T, a, b: T.greater(a, b) & T.less_equal(a, 5) & T.not_equal(a, 3),
     [INT_A, INT_B]),
    ("equal", lambda T, a, b: T.equal(a, b), [INT_A, INT_A]),
    ("not_equal_shapes", lambda T, a, b: T.equal(a, b), [INT_A, INT_B]),
    # -- any / all
    ("any_all", lambda T, x: T.any(x), [FLOAT]),
    ("all_all", lambda T, a: a.all(), [INT_A]),
    ("any_dim", lambda T, a: T.any(a, dim=1), [INT_A]),
    ("all_dim_keep", lambda T, a: a.all(dim=0, keepdim=True), [INT_A]),
    ("any_neg_dim", lambda T, x: x.any(dim=-1), [FLOAT]),
    ("all_tuple_dim", lambda T, x: T.all(x, dim=(0, 1)), [INT_A.reshape(3, 2, 2)]),
    ("any_bool", lambda T, p: p.any(0), [BOOL_A]),
    ("all_empty", lambda T, x: x.all(), [np.zeros((0, 3), np.float32)]),
    ("any_empty_dim", lambda T, x: x.any(dim=0), [np.zeros((0, 3), np.float32)]),
    ("all_uint8", lambda T, a: a.all(dim=1), [np.abs(INT_A).astype(np.uint8)]),
    ("any_0d", lambda T, x: x.any(dim=0), [np.array(0.0, np.float32)]),
    # -- floating predicates
    ("isnan", lambda T, x: T.isnan(x), [FLOAT]),
    ("isinf", lambda T, x: x.isinf(), [FLOAT]),
    ("isfinite", lambda T, x: T.isfinite(x), [FLOAT]),
    ("isposinf_isneginf", lambda T, x: T.isposinf(x) | T.isneginf(x), [FLOAT]),
    ("isfinite_int", lambda T, a: T.isfinite(a), [INT_A]),
    ("isclose", lambda T, x, y: T.isclose(x, y), [FLOAT, FLOAT + 1e-6]),
    ("isclose_nan", lambda T, x, y: T.isclose(x, y, rtol=0.1, atol=0.0, equal_nan=True),
     [FLOAT, FLOAT * 1.05]),
    ("allclose", lambda T, x, y: T.allclose(x, y), [FLOAT[2:], FLOAT[2:] + 1e-7]),
    ("allclose_false", lambda T, x, y: x.allclose(y), [FLOAT, FLOAT]),
    ("allclose_nan", lambda T, x, y: T.allclose(x, y, equal_nan=True), [FLOAT, FLOAT]),
]


@pytest.mark.parametrize("name,fn,arrays", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_same_dtype_and_values_as_torch(name, fn, arrays):
    with np.errstate(all="ignore"):
        same(fn, *arrays)


def test_where_with_python_scalars():
    """gn.where(cond, 1, 3) used to raise AttributeError; dtypes follow PyTorch."""
    c = BOOL_B
    same(lambda T, m: T.where(m, 1, 3), c)
    same(lambda T, m: T.where(m, 1.0, 3), c)
    same(lambda T, m: T.where(m, True, False), c)
    same(lambda T, m, a: T.where(m, a, 2.5), c, INT_B)
    same(lambda T, m, a: T.where(m, 2, a), c, INT_B)
    same(lambda T, m, x: T.where(m, x, 2), c, FLOAT)


def test_where_scalar_branch_keeps_gradient():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    gn.where(gn.tensor([True, False, True]), x * 2, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0])


def test_integer_tensors_refuse_gradients():
    for dtype in ("int64", "int32", "bool"):
        with pytest.raises(TypeError, match=r"only floating tensors can require gradients.*"
                                            + dtype.replace("bool", "bool")):
            gn.tensor(np.zeros(3, dtype), requires_grad=True)
        with pytest.raises(TypeError, match=r"requires_grad_\(\)"):
            gn.tensor(np.zeros(3, dtype)).requires_grad_()


def test_integer_results_carry_no_graph():
    x = gn.tensor([1.5, -2.5], requires_grad=True)
    for out in (x > 0, x.isnan(), gn.any(x), x.floor() > 1, gn.isclose(x, x)):
        assert out.dtype == np.bool_ and not out.requires_grad


@pytest.mark.parametrize("call", [lambda a, z: a % z, lambda a, z: a // z,
                                  lambda a, z: gn.fmod(a, z),
                                  lambda a, z: gn.div(a, z, rounding_mode="trunc")],
                         ids=["remainder", "floor_divide", "fmod", "div_trunc"])
def test_integer_division_by_zero_raises(call):
    a, z = gn.tensor(INT_B), gn.tensor([1, 0, 1, 1])
    for exc in (ZeroDivisionError, RuntimeError):       # RuntimeError: what torch raises
        with pytest.raises(exc, match=r"(remainder|floor_divide|fmod|div)\(\): "
                                      r"integer division by zero"):
            call(a, z)


@pytest.mark.parametrize("call,name", [
    (lambda x: x & 1, "bitwise_and"), (lambda x: ~x, "bitwise_not"),
    (lambda x: x << 1, "bitwise_left_shift"), (lambda x: gn.bitwise_xor(x, x), "bitwise_xor"),
], ids=["and", "invert", "lshift", "xor"])
def test_bitwise_on_floats_is_a_clear_error(call, name):
    with pytest.raises(TypeError, match=rf"{name}\(\): expected integer or bool tensors, got "
                                        r"dtype float32"):
        call(gn.tensor([1.0, 2.0]))


def test_bad_arguments_name_the_op():
    x = gn.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"div\(rounding_mode='round'\)"):
        gn.div(x, x, rounding_mode="round")
    with pytest.raises(IndexError, match=r"any\(\): dim=2.*\(2,\)"):
        x.any(dim=2)
    with pytest.raises(TypeError, match=r"round\(decimals=1.5\)"):
        x.round(decimals=1.5)
    with pytest.raises(ValueError, match=r"isclose\(rtol=-1"):
        gn.isclose(x, x, rtol=-1)
    with pytest.raises(TypeError, match=r"equal\(\): expected two Tensors"):
        gn.equal(x, [1.0, 2.0])


def test_comparison_with_unknown_objects():
    x = gn.tensor([1.0, 2.0])
    assert (x == None) is False and (x != None) is True          # noqa: E711
    assert (x == "a") is False
    assert x in [x] and x not in [None, "a"]


def test_round_builtin_and_decimals():
    x = gn.tensor([0.5, 1.5, 2.5, 1.2345, -0.125])
    np.testing.assert_array_equal(round(x).numpy(), torch.round(torch.tensor(x.numpy())))
    np.testing.assert_allclose(x.round(decimals=2).numpy(),
                               torch.round(torch.tensor(x.numpy()), decimals=2).numpy())


def test_large_integers_stay_exact():
    a = gn.tensor([2**53 + 1, -(2**53) - 3])
    np.testing.assert_array_equal(((a * 3) // 2 % 1000).numpy(),
                                  ((torch.tensor([2**53 + 1, -(2**53) - 3]) * 3) // 2 % 1000))
