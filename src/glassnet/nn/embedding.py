"""Embedding: a learned lookup table from integer ids (characters, words) to vectors."""
import numpy as np

from ..tensor import Tensor, make
from . import init
from .linear import check_positive_int
from .module import Module, Parameter

__all__ = ["Embedding", "embedding"]


def embedding(input, weight: Tensor, padding_idx=None) -> Tensor:
    """Rows of ``weight`` picked by integer ids: out[..., :] = weight[input[...], :].

    The gradient of row ``padding_idx`` is always zero. Shape: input (*) int → (*, E).
    """
    idx = input.array if isinstance(input, Tensor) else np.asarray(input)
    V, E = weight.shape
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding(input): expected integer ids, got dtype {idx.dtype}")
    if idx.size:
        # a few ids (generation: one per step) are checked in Python, cheaper than 2 reductions
        few = idx.size <= 16 and isinstance(idx, np.ndarray)
        lo, hi = (min(v := idx.ravel().tolist()), max(v)) if few else (idx.min(), idx.max())
        if lo < 0 or hi >= V:
            raise IndexError(f"Embedding(num_embeddings={V}): ids must be in [0, {V}), got "
                             f"range [{lo}, {hi}]")
    flat = idx.reshape(-1)
    out = weight.array[flat].reshape(idx.shape + (E,))

    def backward(g):
        grad = np.zeros_like(weight.array)
        # rows of g summed per id: sort ids once, then one segmented sum (faster than add.at)
        order = np.argsort(flat, kind="stable")
        ids, starts = np.unique(flat[order], return_index=True)
        if ids.size:
            grad[ids] = np.add.reduceat(g.reshape(-1, E)[order], starts, axis=0)
        if padding_idx is not None:
            grad[padding_idx] = 0
        return (grad,)
    backward.source = (idx, weight, padding_idx)        # read by embedding_source()
    return make(out, (weight,), backward, "EmbeddingBackward")


def embedding_source(t: Tensor):
    """``(ids, weight, padding_idx)`` if ``t`` is the direct, differentiable output of
    :func:`embedding` (so ``t.array == weight.array[ids]``), else ``None``.

    A layer that multiplies its input by a matrix (the recurrent layers' input projection) can
    then project the V rows of the table once instead of all the looked-up rows, and send its
    gradient straight to ``weight`` (``t`` itself then gets no gradient from that layer, so a
    tensor with ``retain_grad()`` is never taken this way).
    """
    src = getattr(getattr(t, "_backward", None), "source", None)
    if src is None or t._retain or not isinstance(src[1], Tensor):
        return None
    return src


class Embedding(Module):
    """A lookup table: id k ↦ row k of ``weight`` (a learned vector per token).

    Args:
        num_embeddings: vocabulary size V (ids are 0 … V−1).
        embedding_dim: size E of each vector.
        padding_idx: optional id whose vector is zero at init and never updated (its gradient
            is zero), for padding tokens. Negative values count from the end, as in PyTorch.

    Shape:
        input (*) integer ids → output (*, E).

    Attributes:
        weight: (V, E), initialised N(0, 1) like PyTorch.

    Example:
        >>> emb = gn.nn.Embedding(65, 64)
        >>> emb(gn.tensor([[1, 2, 3]])).shape
        (1, 3, 64)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, *,
                 dtype=np.float32):
        super().__init__()
        check_positive_int("Embedding", num_embeddings=num_embeddings,
                           embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding(padding_idx={padding_idx}): must be in "
                                 f"[-{num_embeddings}, {num_embeddings})")
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
