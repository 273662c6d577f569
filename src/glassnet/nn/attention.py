"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention``, as in PyTorch.

Both are compositions of differentiable primitives (matmul, softmax, dropout), so every
gradient — queries, keys, values, projection weights, a float mask that requires grad —
comes from ops that are tested on their own. A fused kernel would save memory for long
sequences, but for the sizes this course trains the composed version is as fast and shows
the maths step by step.

Shape letters: N batch, L target (query) length, S source (key/value) length, E embedding
size, H heads, E_h = E / H per head.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..backend import to_device, xp_of
from ..errors import ArgumentError
from ..tensor import Tensor
from . import init
from .linear import Linear, check_positive_int
from .module import Module, Parameter

__all__ = ["scaled_dot_product_attention", "MultiheadAttention"]


def _float_mask(mask, dtype, like: Tensor, name: str, masked_is_true: bool):
    """A mask as an additive float array: a bool mask becomes 0 / −inf (``masked_is_true``:
    True means "do not attend", MultiheadAttention's convention; else True means "attend",
    scaled_dot_product_attention's); a float mask is returned as is."""
    arr = mask.array if isinstance(mask, Tensor) else xp_of(mask).asarray(mask)
    if arr.dtype.kind == "b":
        blocked = arr if masked_is_true else ~arr
        out = xp_of(arr).where(blocked, -np.inf, 0.0).astype(dtype)
    elif arr.dtype.kind == "f":
        out = arr.astype(dtype, copy=False)
    else:
        raise TypeError(f"{name}: expected a bool or float mask, got dtype {arr.dtype}")
    return to_device(out, like.device)


def _add_mask(scores: Tensor, mask) -> tuple:
    """scores + mask, where rows that the mask blocks entirely get 0 weight (not NaN), as in
    PyTorch's scaled_dot_product_attention. Returns (masked scores, keep-row factor or None)."""
    if isinstance(mask, Tensor):                     # a float mask that requires grad
        return scores + mask, None
    xp = xp_of(mask)
    dead = xp.isneginf(mask).all(axis=-1, keepdims=True)
    if not dead.any():
        return scores + Tensor(mask), None
    mask = xp.where(dead, 0, mask).astype(mask.dtype)
    return scores + Tensor(mask), Tensor((~dead).astype(mask.dtype))


def _attend(q: Tensor, k: Tensor, v: Tensor, mask, dropout_p: float, scale: float,
            generator, safe: bool) -> tuple:
    """softmax(q·kᵀ·scale + mask) (dropped out) · v; returns (output, weights)."""
    from .functional import dropout
    scores = ops.matmul(q * scale, ops.transpose(k, -2, -1))       # (…, L, S)
    keep = None
    if mask is not None:
        if safe:
            scores, keep = _add_mask(scores, mask)
        else:
            scores = scores + (mask if isinstance(mask, Tensor) else Tensor(mask))
    weights = ops.softmax(scores, -1)
    if keep is not None:
        weights = weights * keep
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, generator)
    return ops.matmul(weights, v), weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, *, enable_gqa: bool = False,
                                 generator=None) -> Tensor:
    r"""Attention(Q, K, V) = softmax(Q·Kᵀ·scale + M)·V, as ``torch.nn.functional``'s.

    Each query attends to every key: the weights of query i are a softmax over its scores
    with all keys, and the output is the weighted mean of the values.

    Args:
        query: (N, …, L, E). key: (N, …, S, E). value: (N, …, S, E_v). Leading dims broadcast.
        attn_mask: bool (True = *may* attend) or float (added to the scores), broadcastable
            to (N, …, L, S). A float mask that requires grad gets a gradient.
        dropout_p: dropout on the attention weights (applied whenever > 0, like PyTorch:
            pass 0 in evaluation).
        is_causal: query i attends to keys j <= i only (the lower triangle, top-left
            aligned); not together with ``attn_mask``.
        scale: factor on Q·Kᵀ (default 1/√E).
        enable_gqa: grouped-query attention: query (N, H_q, L, E) with key/value
            (N, H_kv, S, E), H_q a multiple of H_kv; each group of H_q/H_kv query heads shares
            one key/value head (they are repeated with ``repeat_interleave`` on dim -3).
        generator: a ``numpy.random.Generator`` for the dropout mask (default: glassnet's).

    Rows whose keys are all masked out give zero weights and a zero output (not NaN).

    Shape: output (N, …, L, E_v).

    Example:
        >>> q = k = v = gn.randn(2, 4, 5, 8)          # batch 2, 4 heads, 5 tokens, 8 per head
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 5, 8)
    """
    name = "scaled_dot_product_attention"
    for arg, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}({arg}): expected a Tensor, got {type(t).__name__}")
        if t.ndim < 2 or t.array.dtype.kind != "f":
            raise ValueError(f"{name}({arg}): expected a floating tensor (…, length, features), "
                             f"got {t.array.dtype} {tuple(t.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                         f"{tuple(value.shape)} do not fit: expected (…, L, E), (…, S, E) and "
                         f"(…, S, E_v)")
    if not (isinstance(dropout_p, (int, float)) and 0.0 <= dropout_p <= 1.0):
        raise ValueError(f"{name}(dropout_p={dropout_p!r}): expected a probability in [0, 1]")
    if is_causal and attn_mask is not None:
        raise ArgumentError(f"{name}(is_causal=True): give either attn_mask or is_causal, "
                            f"not both")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hkv = query.shape[-3], key.shape[-3]
        if hq % hkv or value.shape[-3] != hkv:
            raise ArgumentError(f"{name}(enable_gqa=True): query heads {hq} must be a multiple "
                                f"of key/value heads {hkv} and {value.shape[-3]}")
        key = ops.repeat_interleave(key, hq // hkv, dim=-3)
        value = ops.repeat_interleave(value, hq // hkv, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    dtype = query.array.dtype
    mask = None
    if is_causal:
        mask = _float_mask(np.tril(np.ones((L, S), bool)), dtype, query, name, False)
    elif isinstance(attn_mask, Tensor) and attn_mask.requires_grad:
        mask = attn_mask
    elif attn_mask is not None:
        mask = _float_mask(attn_mask, dtype, query, f"{name}(attn_mask)", False)
    if mask is not None:
        try:
            np.broadcast_shapes(tuple(mask.shape), query.shape[:-2] + (L, S))
        except ValueError:
            raise ValueError(f"{name}(attn_mask): shape {tuple(mask.shape)} does not broadcast "
                             f"to the scores' {query.shape[:-2] + (L, S)}") from None
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    out, _ = _attend(query, key, value, mask, float(dropout_p), scale, generator, safe=True)
    return out


class MultiheadAttention(Module):
    r"""Multi-head attention (Vaswani et al., 2017), with ``torch.nn.MultiheadAttention``'s
    parameters, so state dicts load both ways.

    Each of H heads projects the inputs to E_h = E/H features and attends on its own:
    head_h = softmax(Q W_q^h · (K W_k^h)ᵀ / √E_h + M) · V W_v^h; the heads are concatenated
    and projected: out = concat(head_1…head_H) W_oᵀ + b_o.

    Args:
        embed_dim: E, the size of queries and of the output.
        num_heads: H; E must be divisible by H.
        dropout: dropout on the attention weights in training (default 0).
        bias: learn ``in_proj_bias`` and ``out_proj.bias`` (default True).
        add_bias_kv, add_zero_attn: not supported (must be False).
        kdim, vdim: sizes of keys and values (default E).
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).

    Parameters: ``in_proj_weight`` (3E, E) — or ``q_proj_weight`` (E, E), ``k_proj_weight``
    (E, kdim), ``v_proj_weight`` (E, vdim) when kdim or vdim differ from E —,
    ``in_proj_bias`` (3E), ``out_proj.weight`` (E, E), ``out_proj.bias`` (E). Initialised
    like PyTorch: Xavier-uniform projections, zero biases.

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim) — (N, L, E)… with
        ``batch_first``, or unbatched (L, E), (S, kdim), (S, vdim).
        key_padding_mask: (N, S) or (S,): bool, True = ignore that key; or float, added.
        attn_mask: (L, S) or (N·H, L, S): bool, True = *not* allowed; or float, added.
        Output: (L, N, E) / (N, L, E) / (L, E), and the weights (N, L, S) averaged over heads
        (``average_attn_weights``) or (N, H, L, S), or None when ``need_weights=False``.

    With ``need_weights=True`` the weights are computed as in PyTorch's explicit path (a row
    whose keys are all masked gives NaN there, as in PyTorch); with ``False`` such rows give 0.

    Example:
        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = gn.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        ((2, 5, 16), (2, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, *, dtype=np.float32):
        super().__init__()
        name = "MultiheadAttention"
        check_positive_int(name, embed_dim=embed_dim, num_heads=num_heads)
        kdim = embed_dim if kdim is None else kdim
        vdim = embed_dim if vdim is None else vdim
        check_positive_int(name, kdim=kdim, vdim=vdim)
        if embed_dim % num_heads:
            raise ValueError(f"{name}(embed_dim={embed_dim}, num_heads={num_heads}): embed_dim "
                             f"must be divisible by num_heads ({embed_dim} % {num_heads} = "
                             f"{embed_dim % num_heads})")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}(dropout={dropout!r}): dropout must be a probability in "
                             f"[0, 1]")
        for key, flag in (("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn)):
            if flag:
                raise NotImplementedError(f"{name}({key}=True): not supported by glassnet")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim, self.vdim = int(kdim), int(vdim)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dtype))
            for key in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(key, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(np.empty((E, E), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self):
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:E], w[E:2 * E], w[2 * E:])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return ws, bs

    def _check_inputs(self, query, key, value):
        name = "MultiheadAttention"
        for arg, t in (("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}({arg}): expected a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: expected query, key and value all 3-D (batched) or all "
                             f"2-D (unbatched), got {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        for arg, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                             ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise ValueError(f"{name}(embed_dim={self.embed_dim}, kdim={self.kdim}, "
                                 f"vdim={self.vdim}): expected {arg} with {size} features, "
                                 f"got {tuple(t.shape)}")
            if t.array.dtype.kind != "f":
                raise TypeError(f"{name}({arg}): expected a floating tensor, got {t.dtype}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{name}: key {tuple(key.shape)} and value {tuple(value.shape)} "
                             f"must have the same length and batch")
        batch = 1 if self.batch_first else 0
        if query.ndim == 3 and query.shape[1 - batch] != key.shape[1 - batch]:
            raise ValueError(f"{name}(batch_first={self.batch_first}): query "
                             f"{tuple(query.shape)} and key {tuple(key.shape)} have different "
                             f"batch sizes")

    def _mask(self, key_padding_mask, attn_mask, is_causal, N, L, S, like):
        """One additive float mask broadcastable to (N, H, L, S), or None."""
        name, H = "MultiheadAttention", self.num_heads
        dtype, mask = like.array.dtype, None
        if attn_mask is None and is_causal:
            attn_mask = ~np.tril(np.ones((L, S), bool))
        if attn_mask is not None:
            m = _float_mask(attn_mask, dtype, like, f"{name}(attn_mask)", True)
            if m.shape == (L, S):
                mask = m
            elif m.shape == (N * H, L, S):
                mask = m.reshape(N, H, L, S)
            else:
                raise ValueError(f"{name}(attn_mask): expected shape ({L}, {S}) or "
                                 f"({N * H}, {L}, {S}) (N·num_heads, L, S), got {m.shape}")
        if key_padding_mask is not None:
            m = _float_mask(key_padding_mask, dtype, like, f"{name}(key_padding_mask)", True)
            if m.shape not in ((N, S), (S,)):
                raise ValueError(f"{name}(key_padding_mask): expected shape ({N}, {S}) (N, S), "
                                 f"got {m.shape}")
            m = m.reshape(N, 1, 1, S)
            mask = m if mask is None else mask + m
        return mask

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        self._check_inputs(query, key, value)
        batched = query.ndim == 3
        if not batched:                                     # (L, E) → (L, 1, E)
            query, key, value = (ops.unsqueeze(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                kpm = key_padding_mask.array if isinstance(key_padding_mask, Tensor) else \
                    key_padding_mask
                key_padding_mask = xp_of(kpm).asarray(kpm)[None]
        elif self.batch_first:                              # (N, L, E) → (L, N, E)
            query, key, value = (ops.transpose(t, 0, 1) for t in (query, key, value))
        L, N, E = query.shape
        S, H, Eh = key.shape[0], self.num_heads, self.head_dim
        (wq, wk, wv), (bq, bk, bv) = self._projections()

        def heads(x, w, b, length):                         # (len, N, ·) → (N, H, len, E_h)
            x = ops.linear(x, w, b)
            return ops.permute(ops.reshape(x, (length, N, H, Eh)), (1, 2, 0, 3))
        q, k, v = heads(query, wq, bq, L), heads(key, wk, bk, S), heads(value, wv, bv, S)
        mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S, q)
        p = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, mask, p, 1.0 / math.sqrt(Eh), None,
                               safe=not need_weights)
        out = ops.reshape(ops.permute(out, (2, 0, 1, 3)), (L, N, E))    # concat the heads
        out = self.out_proj(out)
        if not batched:
            out = ops.squeeze(out, 1)
        elif self.batch_first:
            out = ops.transpose(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = ops.mean(weights, 1)                  # (N, L, S)
        if not batched:
            weights = ops.squeeze(weights, 0)
        return out, weights

    def extra_repr(self) -> str:
        extra = "" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}"
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}{extra}")
