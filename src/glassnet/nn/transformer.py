"""The Transformer encoder: ``TransformerEncoderLayer`` and a stack, ``TransformerEncoder``.

Same sub-module names as ``torch.nn`` (``self_attn``, ``linear1``, ``linear2``, ``norm1``,
``norm2``, ``layers.0...``), so state dicts load both ways.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import ops
from ..tensor import Tensor
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear, check_positive_int
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]

_ACTIVATIONS = {"relu": ops.relu, "gelu": ops.gelu}


class TransformerEncoderLayer(Module):
    r"""One encoder block: self-attention, then a position-wise feed-forward network, each
    wrapped in a residual connection and layer normalisation (Vaswani et al., 2017).

    Post-norm (default, ``norm_first=False``)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    Pre-norm (``norm_first=True``, steadier for deep stacks)::

        x = x + dropout1(self_attn(norm1(x)))
        x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))

    Args:
        d_model: E, the size of each token's features.
        nhead: number of attention heads (E must be divisible by it).
        dim_feedforward: hidden size of the feed-forward network (default 2048).
        dropout: dropout probability everywhere in the block (default 0.1).
        activation: ``"relu"`` (default), ``"gelu"`` or a callable on a Tensor.
        layer_norm_eps: eps of both layer norms (default 1e-5).
        batch_first: (N, L, E) instead of (L, N, E).
        norm_first: pre-norm instead of post-norm.
        bias: biases in the linear layers, the attention and the layer norms.

    Shape:
        src (L, N, E) — (N, L, E) with ``batch_first`` — or unbatched (L, E) → same shape.
        src_mask: (L, L) or (N·nhead, L, L), bool (True = not allowed) or float (added).
        src_key_padding_mask: (N, L), bool (True = padding, ignored) or float.

    Example:
        >>> layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
        ...                                    batch_first=True)
        >>> layer(gn.randn(2, 10, 32)).shape
        (2, 10, 32)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 dtype=np.float32):
        super().__init__()
        name = "TransformerEncoderLayer"
        check_positive_int(name, d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward)
        if d_model % nhead:
            raise ValueError(f"{name}(d_model={d_model}, nhead={nhead}): d_model must be "
                             f"divisible by nhead ({d_model} % {nhead} = {d_model % nhead})")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}(dropout={dropout!r}): dropout must be a probability in "
                             f"[0, 1]")
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"{name}(activation={activation!r}): expected 'relu', 'gelu' "
                                 f"or a callable")
            self.activation_name = activation
            activation = _ACTIVATIONS[activation]
        elif callable(activation):
            self.activation_name = getattr(activation, "__name__", type(activation).__name__)
        else:
            raise TypeError(f"{name}(activation={activation!r}): expected 'relu', 'gelu' or a "
                            f"callable")
        self.activation = activation
        self.batch_first, self.norm_first = bool(batch_first), bool(norm_first)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        d_model = self.linear1.in_features
        if src.ndim not in (2, 3) or src.shape[-1] != d_model or src.array.dtype.kind != "f":
            raise ValueError(f"TransformerEncoderLayer(d_model={d_model}): expected a floating "
                             f"src (L, N, {d_model}), (N, L, {d_model}) or (L, {d_model}), got "
                             f"{src.array.dtype} {tuple(src.shape)}")
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def extra_repr(self) -> str:
        return (f"activation={self.activation_name}, batch_first={self.batch_first}, "
                f"norm_first={self.norm_first}")


class TransformerEncoder(Module):
    r"""A stack of ``num_layers`` copies of an encoder layer, then an optional final norm.

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer`, deep-copied ``num_layers`` times
            (the copies start with the same weights and then train separately).
        num_layers: depth (int >= 1).
        norm: an optional module applied to the output (e.g. ``LayerNorm`` with pre-norm).

    Shape: as :class:`TransformerEncoderLayer`; ``mask`` and ``src_key_padding_mask`` are
    passed to every layer.

    Example:
        >>> layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
        >>> enc = nn.TransformerEncoder(layer, num_layers=2)
        >>> enc(gn.randn(2, 10, 32)).shape
        (2, 10, 32)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder(encoder_layer): expected a Module, got "
                            f"{type(encoder_layer).__name__}")
        check_positive_int("TransformerEncoder", num_layers=num_layers)
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerEncoder(norm): expected a Module or None, got "
                            f"{type(norm).__name__}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)
