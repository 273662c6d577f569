"""The shape, reduction, scan, ordering and diagonal ops of issue 14 vs PyTorch (values and
gradients, on every device) and vs float64 central differences.

Same table format as test_core_ops.py: ``(id, fn, inputs)``; ``fn(L, *xs)`` is written once for
both frameworks and must return one tensor (tuple-valued ops are combined inside ``fn``).
"""
import numpy as np
import pytest

import torch
import torch.nn.functional as TF
from core_helpers import GN, check_vs_torch, gradcheck

import glassnet as gn
import glassnet.nn.functional as GF
from test_core_ops import make_inputs


def vnorm(L):
    """``norm`` of the framework (``glassnet.ops.norm`` is the normalisation module)."""
    return gn.norm if L.name.startswith("glassnet") else torch.norm

A, B3 = (3, 4), (2, 3, 4)
IDX = np.array([[0, 2, 1, 0], [2, 1, 0, 1]])


def F(L):
    """The framework's ``nn.functional``."""
    return GF if L is GN or L.name.startswith("glassnet") else TF


def cat_all(L, parts):
    return L.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)])


CASES = [
    # -- reductions
    ("prod_all", lambda L, a: a.prod(), [("pos", A)]),
    ("prod_dim", lambda L, a: L.prod(a, dim=1), [B3]),
    ("prod_keep_neg", lambda L, a: a.prod(-1, keepdim=True), [B3]),
    ("std_all", lambda L, a: a.std(), [B3]),
    ("std_dim", lambda L, a: L.std(a, dim=1), [B3]),
    ("std_tuple_keep", lambda L, a: a.std(dim=(0, -1), keepdim=True, correction=0), [B3]),
    ("std_unbiased_false", lambda L, a: L.std(a, 1, unbiased=False), [A]),
    ("var_correction2", lambda L, a: a.var(dim=-1, correction=2), [B3]),
    ("var_mean", lambda L, a: L.var_mean(a, dim=1)[0] * L.var_mean(a, dim=1)[1], [B3]),
    ("std_mean", lambda L, a: L.std_mean(a, 0, keepdim=True)[0] + L.std_mean(a, 0)[1], [B3]),
    ("amax_all", lambda L, a: L.amax(a), [B3]),
    ("amax_tuple", lambda L, a: a.amax(dim=(0, 2)), [B3]),
    ("amin_keep", lambda L, a: L.amin(a, -1, keepdim=True), [B3]),
    ("norm_all", lambda L, a: vnorm(L)(a), [B3]),
    ("norm_dim", lambda L, a: a.norm(dim=1), [B3]),
    ("norm_p1", lambda L, a: vnorm(L)(a, p=1, dim=-1), [("away", B3)]),
    ("norm_p3_keep", lambda L, a: vnorm(L)(a, 3, dim=0, keepdim=True), [("away", B3)]),
    ("norm_inf", lambda L, a: vnorm(L)(a, float("inf"), dim=1), [B3]),
    ("normalize", lambda L, a: F(L).normalize(a), [B3]),
    ("normalize_p1_last", lambda L, a: F(L).normalize(a, p=1, dim=-1), [("away", B3)]),
    ("sum_axis", lambda L, a: a.sum(axis=1), [B3]),
    ("sum_dtype", lambda L, a: L.sum(a, dim=0, dtype=L.float64), [A]),
    ("mean_axis_dtype", lambda L, a: a.mean(axis=-1, dtype=L.float64), [A]),
    ("max_axis", lambda L, a: a.max(axis=1)[0], [B3]),
    ("max_other", lambda L, a, b: L.max(a, b), [A, A]),
    ("var_axis", lambda L, a: a.var(axis=0), [A]),
    ("cat_axis", lambda L, a, b: L.cat([a, b], axis=1), [A, (3, 2)]),
    ("stack_axis", lambda L, a, b: L.stack([a, b], axis=-1), [A, A]),
    ("logsumexp_axis", lambda L, a: a.logsumexp(axis=0), [A]),
    # -- cumulative
    ("cumsum", lambda L, a: L.cumsum(a, dim=1), [B3]),
    ("cumsum_neg", lambda L, a: a.cumsum(-1), [B3]),
    ("cumsum_axis", lambda L, a: a.cumsum(axis=0), [A]),
    ("cumprod", lambda L, a: L.cumprod(a, 1), [B3]),
    ("cumprod_last", lambda L, a: a.cumprod(dim=-1), [A]),
    ("cummax", lambda L, a: L.cummax(a, 1).values, [B3]),
    ("cummin_last", lambda L, a: a.cummin(-1)[0], [A]),
    ("logcumsumexp", lambda L, a: L.logcumsumexp(a, 1), [B3]),
    ("logcumsumexp_0", lambda L, a: a.logcumsumexp(0), [A]),
    # -- ordering
    ("sort", lambda L, a: L.sort(a).values, [B3]),
    ("sort_desc_dim0", lambda L, a: a.sort(dim=0, descending=True)[0], [B3]),
    ("sort_stable", lambda L, a: L.sort(a, dim=1, stable=True).values, [A]),
    ("topk", lambda L, a: L.topk(a, 2).values, [B3]),
    ("topk_smallest_dim0", lambda L, a: a.topk(2, dim=0, largest=False)[0], [B3]),
    ("kthvalue", lambda L, a: L.kthvalue(a, 2, 1).values, [B3]),
    ("kthvalue_keep", lambda L, a: a.kthvalue(3, -1, keepdim=True)[0], [B3]),
    ("median_all", lambda L, a: L.median(a), [A]),
    ("median_dim", lambda L, a: a.median(dim=1).values, [B3]),
    ("msort", lambda L, a: L.msort(a), [A]),
    # -- pieces
    ("split_int", lambda L, a: cat_all(L, L.split(a, 2, dim=1)), [(2, 5, 3)]),
    ("split_list", lambda L, a: cat_all(L, a.split([1, 3, 1], dim=1)), [(2, 5, 3)]),
    ("split_last", lambda L, a: cat_all(L, a.split(2, -1)), [(2, 5, 3)]),
    ("chunk", lambda L, a: cat_all(L, L.chunk(a, 3, dim=1)), [(2, 5, 3)]),
    ("chunk_even", lambda L, a: cat_all(L, a.chunk(2)), [(4, 3)]),
    ("tensor_split", lambda L, a: cat_all(L, L.tensor_split(a, 3, dim=1)), [(2, 5, 3)]),
    ("tensor_split_idx", lambda L, a: cat_all(L, a.tensor_split([1, 4], dim=1)), [(2, 5, 3)]),
    ("unbind", lambda L, a: cat_all(L, L.unbind(a, 1)), [B3]),
    ("unbind_neg", lambda L, a: cat_all(L, a.unbind(-1)), [A]),
    ("narrow", lambda L, a: L.narrow(a, 1, 1, 2), [B3]),
    ("narrow_neg_start", lambda L, a: a.narrow(-1, -3, 2), [B3]),
    ("unfold", lambda L, a: a.unfold(1, 2, 1), [(2, 5, 3)]),
    ("unfold_step", lambda L, a: a.unfold(-1, 3, 2), [(2, 7)]),
    ("unfold_overlap", lambda L, a: a.unfold(0, 3, 1) * 2, [(6,)]),
    # -- rearranging
    ("flip", lambda L, a: L.flip(a, [0, 2]), [B3]),
    ("flip_neg", lambda L, a: a.flip(-1), [B3]),
    ("fliplr", lambda L, a: L.fliplr(a), [B3]),
    ("flipud", lambda L, a: a.flipud(), [A]),
    ("roll", lambda L, a: L.roll(a, 2, 1), [B3]),
    ("roll_multi", lambda L, a: a.roll((1, -2), (0, -1)), [B3]),
    ("roll_flat", lambda L, a: L.roll(a, 5), [B3]),
    ("movedim", lambda L, a: L.movedim(a, 0, -1), [B3]),
    ("movedim_tuple", lambda L, a: a.movedim((0, 1), (2, 0)), [B3]),
    ("swapaxes", lambda L, a: L.swapaxes(a, 0, 2), [B3]),
    ("swapdims", lambda L, a: a.swapdims(-1, 1), [B3]),
    ("t", lambda L, a: a.t() * L.t(a).t().t(), [A]),
    ("t_1d", lambda L, a: a.t(), [(4,)]),
    ("contiguous", lambda L, a: a.transpose(0, 1).contiguous() * 2, [A]),
    ("tile", lambda L, a: L.tile(a, (2, 1, 2)), [A]),
    ("tile_short", lambda L, a: a.tile((2,)), [A]),
    ("repeat_interleave", lambda L, a: L.repeat_interleave(a, 2), [A]),
    ("repeat_interleave_dim", lambda L, a: a.repeat_interleave(3, dim=1), [A]),
    ("repeat_interleave_counts", lambda L, a: L.repeat_interleave(
        a, L.const(np.array([1, 0, 2])), dim=0), [A]),
    ("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij")[0] *
     L.meshgrid(a, b, indexing="ij")[1], [(3,), (4,)]),
    ("meshgrid_xy", lambda L, a, b: L.meshgrid(a, b, indexing="xy")[0] +
     2 * L.meshgrid([a, b], indexing="xy")[1], [(3,), (4,)]),
    # -- triangles and diagonals
    ("tril", lambda L, a: L.tril(a), [B3]),
    ("tril_k", lambda L, a: a.tril(1), [A]),
    ("triu", lambda L, a: L.triu(a, -1), [B3]),
    ("triu_0", lambda L, a: a.triu(), [A]),
    ("diagonal", lambda L, a: L.diagonal(a), [A]),
    ("diagonal_offset", lambda L, a: a.diagonal(1, 0, 2), [B3]),
    ("diagonal_neg_offset", lambda L, a: L.diagonal(a, -1, -1, -2), [B3]),
    ("diag_2d", lambda L, a: L.diag(a), [A]),
    ("diag_1d", lambda L, a: L.diag(a, 1), [(3,)]),
    ("diag_2d_neg", lambda L, a: a.diag(-1), [A]),
    ("diag_embed", lambda L, a: L.diag_embed(a), [A]),
    ("diag_embed_offset", lambda L, a: L.diag_embed(a, 1, 0, 2), [A]),
    ("trace", lambda L, a: L.trace(a), [A]),
    ("trace_square", lambda L, a: a.trace(), [(3, 3)]),
    # -- indexing with PyTorch's rule (integer first, then the index arrays)
    ("index_int_slice_list", lambda L, a: a[0, :, [0, 1]], [B3]),
    ("index_list_slice_int", lambda L, a: a[[0, 1], :, 2], [B3]),
    ("index_int_none_list", lambda L, a: a[1, None, :, [3, 0, 3]], [B3]),
    ("index_ellipsis_int_list", lambda L, a: a[..., 1, [0, 2, 2]], [B3]),
    ("index_0d_tensor_int", lambda L, a: a[L.const(np.array(1)), :, L.const(np.array([[0, 1]]))],
     [B3]),
    ("index_int_list_int", lambda L, a: a[1, [0, 2], 3], [B3]),
    ("index_int_mask", lambda L, a: a[0, :, L.const(np.array([True, False, True, True]))], [B3]),
    # -- gather, scatter, masks
    ("gather", lambda L, a: L.gather(a, 0, L.const(IDX)), [A]),
    ("gather_dim1", lambda L, a: a.gather(1, L.const(np.array([[3, 3], [0, 1], [2, 2]]))), [A]),
    ("gather_small", lambda L, a: L.gather(a, -1, L.const(np.array([[1], [0]]))), [A]),
    ("scatter", lambda L, a, s: L.scatter(a, 1, L.const(np.array([[2, 0], [1, 3], [0, 1]])), s),
     [A, (3, 2)]),
    ("scatter_src_bigger", lambda L, a: a.scatter(0, L.const(np.array([[2, 0, 1, 1]])),
                                                   L.const(np.ones((2, 5))).to(a.dtype)), [A]),
    ("scatter_value", lambda L, a: L.scatter(a, 1, L.const(np.array([[1], [2], [0]])), 2.5), [A]),
    ("scatter_add", lambda L, a, s: L.scatter_add(a, 0, L.const(IDX), s), [A, (2, 4)]),
    ("scatter_add_repeat", lambda L, a, s: a.scatter_add(1, L.const(np.array([[0, 0, 0]] * 3)),
                                                          s), [A, (3, 3)]),
    ("index_select", lambda L, a: L.index_select(a, 1, L.const(np.array([2, 0, 2]))), [B3]),
    ("index_select_0", lambda L, a: a.index_select(0, L.const(np.array([2, 2]))), [A]),
    ("take", lambda L, a: L.take(a, L.const(np.array([[0, 11], [5, 5]]))), [A]),
    ("masked_fill", lambda L, a: L.masked_fill(a, L.const(IDX[:1] > 0), -1.5), [A]),
    ("masked_fill_method", lambda L, a: a.masked_fill(L.const(np.eye(3, 4) > 0), 0.0), [A]),
    ("masked_select", lambda L, a: L.masked_select(a, L.const(IDX[1] > 0)), [A]),
    ("masked_select_method", lambda L, a: a.masked_select(L.const(np.eye(3, 4) > 0)), [A]),
    ("take_along_dim", lambda L, a: L.take_along_dim(a, L.const(np.array([[0], [3], [1]])),
                                                      dim=1), [A]),
    # -- einsum
    ("einsum_matmul", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [A, (4, 2)]),
    ("einsum_batch", lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [B3, (2, 4, 3)]),
    ("einsum_implicit", lambda L, a, b: L.einsum("ij,kj", a, b), [A, (2, 4)]),
    ("einsum_sum", lambda L, a: L.einsum("ij->i", a), [A]),
    ("einsum_outer", lambda L, a, b: L.einsum("i,j->ij", a, b), [(3,), (4,)]),
    ("einsum_trace", lambda L, a: L.einsum("ii", a), [(3, 3)]),
    ("einsum_diag", lambda L, a: L.einsum("ii->i", a), [(3, 3)]),
    ("einsum_repeat_mixed", lambda L, a, b: L.einsum("iij,j->i", a, b), [(3, 3, 2), (2,)]),
    ("einsum_ellipsis", lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), [B3, (4, 2)]),
    ("einsum_ellipsis_broadcast", lambda L, a, b: L.einsum("...j,...j->...", a, b),
     [(2, 1, 4), (3, 4)]),
    ("einsum_list", lambda L, a, b: L.einsum("ij,ij->", [a, b]), [A, A]),
    ("einsum_three", lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c), [A, (4, 2), (2, 3)]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_matches_torch(name, fn, specs, device):
    check_vs_torch(fn, *make_inputs(specs, np.float32), device=device)


@pytest.mark.parametrize("name,fn,specs", CASES, ids=IDS)
def test_gradcheck_float64(name, fn, specs):
    gradcheck(fn, *make_inputs(specs, np.float64))
