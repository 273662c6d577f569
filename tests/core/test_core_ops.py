"""Every primitive op vs PyTorch (float32 values + gradients) and vs float64 central differences.

One table of cases drives both tests. A case is ``(id, fn, inputs)``: ``fn(L, *xs)`` is written
once for both frameworks (see core_helpers), ``inputs`` lists the input arrays to make:
a shape tuple (uniform in [-2, 2)), ``("pos", shape)`` for log/sqrt/pow bases, or
``("away", shape)`` to keep values away from a kink at 0.
"""
import numpy as np
import pytest

from core_helpers import check_vs_torch, gradcheck, positive, rand

A, B = (3, 4), (4,)
MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, False]])
COND = np.array([[True, False, True, False]] * 3)

CASES = [
    # -- elementwise, with broadcasting
    ("add", lambda L, a, b: L.add(a, b), [A, B]),
    ("add_op", lambda L, a, b: a + b, [(2, 3, 1), (3, 4)]),
    ("sub", lambda L, a, b: L.sub(a, b), [(3, 1), (1, 4)]),
    ("sub_op", lambda L, a, b: a - b, [A, A]),
    ("mul", lambda L, a, b: L.mul(a, b), [(2, 3, 4), (3, 1)]),
    ("div", lambda L, a, b: L.div(a, b), [A, ("away", B)]),
    ("div_op", lambda L, a, b: a / b, [(2, 1, 4), ("away", (3, 1))]),
    ("pow_tensor", lambda L, a, b: L.pow(a, b), [("pos", A), B]),
    ("pow_int", lambda L, a: a ** 3, [A]),
    ("pow_frac", lambda L, a: a ** 2.5, [("pos", A)]),
    ("rpow", lambda L, a: 2.0 ** a, [A]),
    ("scalar_mix", lambda L, a: (3 - a * 2.5 + 1) / 4, [A]),
    ("rdiv", lambda L, a: 1 / a, [("away", A)]),
    ("neg", lambda L, a: -a, [A]),
    ("neg_fn", lambda L, a: L.neg(a), [A]),
    ("exp", lambda L, a: L.exp(a), [A]),
    ("log", lambda L, a: L.log(a), [("pos", A)]),
    ("sqrt", lambda L, a: L.sqrt(a), [("pos", A)]),
    ("abs", lambda L, a: L.abs(a), [("away", A)]),
    ("sign", lambda L, a: L.sign(a) * a, [("away", A)]),
    ("clone", lambda L, a: a.clone() * a, [A]),
    ("clamp", lambda L, a: L.clamp(a, min=-0.5, max=0.7), [A]),
    ("clamp_min", lambda L, a: L.clamp(a, min=-0.5), [A]),
    ("clamp_max", lambda L, a: a.clamp(max=0.3), [A]),
    ("clamp_tensor_bounds", lambda L, a: L.clamp(a, min=L.const(np.float32([-1, 0, -0.5, 0])),
                                                  max=L.const(np.float32(0.8))), [A]),
    ("maximum", lambda L, a, b: L.maximum(a, b), [A, B]),
    ("minimum", lambda L, a, b: L.minimum(a, b), [(2, 1, 4), A]),
    ("where", lambda L, a, b: L.where(L.const(COND), a, b), [A, B]),
    ("where_scalar", lambda L, a: L.where(L.const(MASK), a, 0.0), [A]),
    # -- reductions
    ("sum_all", lambda L, a: a.sum(), [(2, 3, 4)]),
    ("sum_dim", lambda L, a: L.sum(a, dim=1), [(2, 3, 4)]),
    ("sum_keep", lambda L, a: a.sum(dim=-1, keepdim=True), [(2, 3, 4)]),
    ("sum_tuple", lambda L, a: a.sum(dim=(0, 2)), [(2, 3, 4)]),
    ("sum_tuple_keep", lambda L, a: a.sum(dim=(0, -1), keepdim=True), [(2, 3, 4)]),
    ("mean_all", lambda L, a: a.mean(), [(2, 3, 4)]),
    ("mean_dim", lambda L, a: L.mean(a, dim=0), [(2, 3, 4)]),
    ("mean_tuple_keep", lambda L, a: a.mean(dim=(1, 2), keepdim=True), [(2, 3, 4)]),
    ("max_all", lambda L, a: a.max(), [(2, 3, 4)]),
    ("max_dim", lambda L, a: a.max(dim=1)[0], [(2, 3, 4)]),
    ("max_dim_keep", lambda L, a: L.max(a, dim=-1, keepdim=True)[0], [(2, 3, 4)]),
    ("min_all", lambda L, a: L.min(a), [(2, 3, 4)]),
    ("min_dim", lambda L, a: a.min(dim=0)[0], [(2, 3, 4)]),
    ("min_dim_keep", lambda L, a: a.min(dim=2, keepdim=True)[0], [(2, 3, 4)]),
    ("max_dim_values", lambda L, a: a.max(1).values * a.max(1).indices, [(2, 3, 4)]),
    ("min_dim_indices", lambda L, a: L.min(a, 0).values + a.min(0).indices, [(2, 3, 4)]),
    ("var_all", lambda L, a: a.var(), [(2, 3, 4)]),
    ("var_dim", lambda L, a: a.var(dim=1), [(2, 3, 4)]),
    ("var_tuple_keep", lambda L, a: a.var(dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    ("var_biased", lambda L, a: L.var(a, dim=-1, correction=0), [(2, 3, 4)]),
    ("logsumexp_dim", lambda L, a: L.logsumexp(a, dim=1), [(2, 3, 4)]),
    ("logsumexp_keep", lambda L, a: a.logsumexp(dim=-1, keepdim=True), [(2, 3, 4)]),
    ("logsumexp_tuple", lambda L, a: L.logsumexp(a, dim=(0, 2)), [(2, 3, 4)]),
    # -- edge cases that once broke: 0-d tensors, exponent 0 at base 0, ties
    ("sum_scalar", lambda L, a: a.sum() * 2, [()]),
    ("mean_scalar_dim0", lambda L, a: a.mean(dim=0), [()]),
    ("sum_scalar_keep", lambda L, a: L.sum(a, dim=-1, keepdim=True), [()]),
    ("max_scalar_dim0", lambda L, a: a.max(dim=0)[0], [()]),
    ("logsumexp_scalar", lambda L, a: a.logsumexp(dim=0), [()]),
    ("matmul_scalar_out", lambda L, a, b: (a @ b) * 3, [(5,), (5,)]),
    # -- shape
    ("reshape", lambda L, a: a.reshape(4, 6) * 1.5, [(2, 3, 4)]),
    ("reshape_neg1", lambda L, a: L.reshape(a, (-1,)), [(2, 3, 4)]),
    ("view", lambda L, a: a.view(6, 4), [(2, 3, 4)]),
    ("transpose", lambda L, a: a.transpose(0, 2), [(2, 3, 4)]),
    ("transpose_neg", lambda L, a: L.transpose(a, -1, -2), [(2, 3, 4)]),
    ("permute", lambda L, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("flatten", lambda L, a: a.flatten(), [(2, 3, 4)]),
    ("flatten_1", lambda L, a: L.flatten(a, 1), [(2, 3, 4)]),
    ("squeeze_all", lambda L, a: a.squeeze(), [(3, 1, 4, 1)]),
    ("squeeze_dim", lambda L, a: L.squeeze(a, 1), [(3, 1, 4, 1)]),
    ("squeeze_neg", lambda L, a: a.squeeze(-1), [(3, 1, 4, 1)]),
    ("unsqueeze", lambda L, a: a.unsqueeze(0), [A]),
    ("unsqueeze_neg", lambda L, a: L.unsqueeze(a, -1), [A]),
    ("expand", lambda L, a: a.expand(2, 3, 4), [(3, 1)]),
    ("expand_neg1", lambda L, a: L.expand(a, -1, 5), [(3, 1)]),
    ("repeat", lambda L, a: a.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_same_ndim", lambda L, a: a.repeat(3, 2), [(2, 3)]),
    # -- indexing
    ("index_int", lambda L, a: a[1], [(3, 4, 2)]),
    ("index_slice", lambda L, a: a[:, 1:3], [(3, 4, 2)]),
    ("index_step", lambda L, a: a[..., ::2], [(3, 4, 5)]),
    ("index_none", lambda L, a: a[None, 1], [A]),
    ("index_mixed", lambda L, a: a[-1, :, 0], [(3, 4, 2)]),
    ("index_scalar", lambda L, a: a[1, 2], [A]),
    ("index_array_repeat", lambda L, a: a[L.const(np.array([0, 2, 0, 0]))], [A]),
    ("index_array_pair", lambda L, a: a[L.const(np.array([0, 1, 1])),
                                        L.const(np.array([2, 2, 0]))], [A]),
    ("index_array_dim1", lambda L, a: a[:, L.const(np.array([1, 1, 3]))], [(3, 4, 2)]),
    ("index_array_2d", lambda L, a: a[L.const(np.array([[0, 2], [2, 2]]))], [A]),
    ("index_mask", lambda L, a: a[L.const(MASK)], [A]),
    ("index_rowmask", lambda L, a: a[L.const(np.array([True, False, True]))], [A]),
    # -- joining and padding
    ("cat", lambda L, a, b, c: L.cat([a, b, c], dim=1), [(3, 2), (3, 1), (3, 4)]),
    ("cat_neg", lambda L, a, b: L.cat([a, b], dim=-1), [(2, 3, 1), (2, 3, 2)]),
    ("cat_0", lambda L, a, b: L.cat((a, b)), [(1, 4), A]),
    ("stack", lambda L, a, b: L.stack([a, b], dim=1), [A, A]),
    ("stack_neg", lambda L, a, b, c: L.stack([a, b, c], dim=-1), [A, A, A]),
    ("pad_last", lambda L, a: L.pad(a, (1, 2)), [A]),
    ("pad_two", lambda L, a: L.pad(a, (1, 0, 2, 1), value=0.5), [(2, 3, 4)]),
    ("pad_crop", lambda L, a: L.pad(a, (-1, 2)), [A]),
    ("pad_reflect", lambda L, a: L.pad(a, (2, 1), mode="reflect"), [(3, 5)]),
    ("pad_replicate", lambda L, a: L.pad(a, (2, 3), mode="replicate"), [(3, 5)]),
    # -- matrix products
    ("matmul_1d_1d", lambda L, a, b: L.matmul(a, b), [(4,), (4,)]),
    ("matmul_2d_1d", lambda L, a, b: a @ b, [A, (4,)]),
    ("matmul_1d_2d", lambda L, a, b: a @ b, [(3,), A]),
    ("matmul_2d_2d", lambda L, a, b: L.matmul(a, b), [A, (4, 5)]),
    ("matmul_batched", lambda L, a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    ("matmul_bcast", lambda L, a, b: L.matmul(a, b), [(2, 1, 3, 4), (5, 4, 2)]),
    ("matmul_bcast_2d", lambda L, a, b: a @ b, [A, (2, 4, 5)]),
    ("matmul_1d_batched", lambda L, a, b: a @ b, [(4,), (2, 4, 5)]),
    ("matmul_batched_1d", lambda L, a, b: a @ b, [(2, 3, 4), (4,)]),
    ("linear", lambda L, x, w, b: L.linear(x, w, b), [(5, 3), (4, 3), (4,)]),
    ("linear_3d", lambda L, x, w, b: L.linear(x, w, b), [(2, 5, 3), (4, 3), (4,)]),
    ("linear_nobias", lambda L, x, w: L.linear(x, w), [(5, 3), (4, 3)]),
    ("linear_1d", lambda L, x, w, b: L.linear(x, w, b), [(3,), (4, 3), (4,)]),
    # -- composites: shared subexpressions (diamonds) and a small network
    ("composite_diamond", lambda L, a: (lambda h: (h * h + h.sum(dim=1, keepdim=True)) / h)(
        L.exp(a)), [A]),
    ("composite_reuse", lambda L, a, b: (a * b + a) @ (b - a).transpose(0, 1), [A, A]),
    ("composite_mlp", lambda L, x, w1, b1, w2: -L.log_softmax(
        L.linear(L.tanh(L.linear(x, w1, b1)), w2), dim=1)[L.const(np.arange(5)),
                                                          L.const(np.array([0, 2, 1, 1, 0]))
                                                          ].mean(), [(5, 4), (6, 4), (6,), (3, 6)]),
    # -- activations
    ("relu", lambda L, a: L.relu(a), [("away", A)]),
    ("relu_method", lambda L, a: a.relu(), [("away", A)]),
    ("leaky_relu", lambda L, a: L.leaky_relu(a, 0.2), [("away", A)]),
    ("leaky_relu_default", lambda L, a: L.leaky_relu(a), [("away", A)]),
    ("sigmoid", lambda L, a: L.sigmoid(a), [A]),
    ("tanh", lambda L, a: a.tanh(), [A]),
    ("gelu", lambda L, a: L.gelu(a), [A]),
    ("gelu_tanh", lambda L, a: L.gelu(a, approximate="tanh"), [A]),
    ("threshold", lambda L, a: L.threshold(a, 0.1, -2.0), [A]),
    ("softmax", lambda L, a: L.softmax(a, dim=-1), [(2, 3, 4)]),
    ("softmax_0", lambda L, a: a.softmax(0), [(2, 3, 4)]),
    ("log_softmax", lambda L, a: L.log_softmax(a, dim=1), [(2, 3, 4)]),
    ("log_softmax_last", lambda L, a: a.log_softmax(-1), [A]),
]


def make_inputs(specs, dtype):
    out = []
    for s in specs:
        kind, shape = s if s and isinstance(s[0], str) else ("any", s)
        if kind == "pos":
            out.append(positive(*shape, dtype=dtype))
        else:
            out.append(rand(*shape, dtype=dtype, away=0.1 if kind == "away" else 0.0))
    return out


IDS = [c[0] for c in CASES]


TIES = [
    ("pow_zero_exponent_at_zero", lambda L, a: a ** 0, np.array([0.0, 1.0, -2.0])),
    ("pow_tensor_zero_exponent", lambda L, a: a ** L.const(np.array([0.0, 0.0, 1.0])),
     np.array([0.0, 1.0, 2.0])),
    ("max_all_ties", lambda L, a: a.max(), np.array([1.0, 3.0, 3.0, 2.0])),
    ("min_all_ties", lambda L, a: L.min(a), np.array([1.0, 1.0, 3.0, 1.0])),
    ("maximum_ties", lambda L, a: L.maximum(a, L.const(np.array([1.0, 0.0], np.float32))),
     np.array([1.0, 2.0])),
    ("clamp_at_bounds", lambda L, a: a.clamp(min=-1.0, max=1.0), np.array([-1.0, 0, 1, 2])),
    ("relu_at_zero", lambda L, a: L.relu(a), np.array([0.0, -1.0, 1.0])),
    ("leaky_relu_at_zero", lambda L, a: L.leaky_relu(a, 0.1), np.array([0.0, -1.0, 1.0])),
    ("abs_at_zero", lambda L, a: L.abs(a), np.array([0.0, -1.0, 1.0])),
    ("threshold_at_threshold", lambda L, a: L.threshold(a, 0.5, 9.0), np.array([0.5, -1, 1])),
]


def test_cast_round_trip_is_differentiable():
    out = check_vs_torch(lambda L, a: (a.double() * 3).sum(dim=1).float() * a[:, 0],
                         rand(3, 4))
    assert out.dtype == np.float32


@pytest.mark.parametrize("name,fn,x", TIES, ids=[c[0] for c in TIES])
def test_kinks_and_ties_match_torch(name, fn, x, device):
    """Subgradient conventions at kinks and ties follow PyTorch exactly, on every device."""
    check_vs_torch(fn, x.astype(np.float32), device=device)


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_matches_torch(name, fn, specs, device):
    """Every listed op on every device (cpu, the CuPy-like fake, cuda when present)."""
    check_vs_torch(fn, *make_inputs(specs, np.float32), device=device)


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_gradcheck_float64(name, fn, specs):
    gradcheck(fn, *make_inputs(specs, np.float64))


def test_every_listed_op_is_covered():
    """Guard: the brief's op list is all present in the table (by case-name prefix)."""
    ops = ("add sub mul div pow neg exp log sqrt abs clamp maximum minimum where sum mean max "
           "min var logsumexp reshape view transpose permute flatten squeeze unsqueeze expand "
           "repeat index cat stack pad matmul linear relu leaky_relu sigmoid tanh gelu "
           "threshold softmax log_softmax").split()
    missing = [op for op in ops if not any(n == op or n.startswith(op + "_") for n in IDS)]
    assert not missing, f"ops without a test case: {missing}"
