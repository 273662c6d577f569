"""Loss functions as fused ops with closed-form gradients (stable for logits of any size).

Reductions follow PyTorch: ``'mean'`` (weighted mean for class weights), ``'sum'``, ``'none'``.
"""
import warnings

import numpy as np

from ..backend import to_device, xp_of
from ..ops._util import same_device
from ..tensor import Tensor, make

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}(reduction={reduction!r}): expected one of {_REDUCTIONS}")


def _as(x, dtype=None, like: Tensor | None = None, name: str = "loss"):
    """A target/weight as a Tensor on ``like``'s device: host arrays and lists are copied
    there; a Tensor on another device is an error naming the loss and both devices."""
    if isinstance(x, Tensor):
        if like is not None:
            same_device(name, like, x)
        return x
    arr = xp_of(x).asarray(x, dtype=dtype)
    return Tensor(arr if like is None else to_device(arr, like.device))


def _classes_last(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) → (N·d1·…, C); (N, C) unchanged; (C,) → (1, C)."""
    if x.ndim == 1:
        return x[None]
    if x.ndim == 2:
        return x
    return xp_of(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _classes_back(g2: np.ndarray, shape: tuple) -> np.ndarray:
    if len(shape) <= 2:
        return g2.reshape(shape)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    xp = xp_of(g2)
    return xp.ascontiguousarray(xp.moveaxis(g2.reshape(moved), -1, 1))


def _class_targets(name, x: Tensor, target: Tensor, ignore_index: int):
    """Validate integer targets against logits; return flat targets and the valid mask."""
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    expect = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    if target.shape != expect:
        raise ValueError(f"{name}: expected target of shape {expect} for input {x.shape}, "
                         f"got {target.shape}")
    t = target.data.reshape(-1).astype(np.int64, copy=False)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        raise ValueError(f"{name}: target {int(t[bad][0])} is out of range for {C} classes")
    return t, valid, C


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and class indices (or class probabilities).

    loss_i = −Σ_c q_ic · log softmax(x_i)_c, with q_i the one-hot target (times its class
    weight), mixed with ε/C of the uniform distribution when ``label_smoothing`` = ε.

    Shape: input (N, C) or (N, C, d1, …); target (N) or (N, d1, …) int64, or the same shape
    as input (probabilities).
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}(label_smoothing={label_smoothing}): expected a value in "
                         f"[0, 1]")
    target = _as(target, like=input, name=name)
    if input.ndim == 0:
        raise ValueError(f"{name}: expected input (N, C) or (N, C, d1, ...), got scalar")
    x2 = _classes_last(input.data)
    xp = xp_of(x2)
    m = x2.max(axis=1, keepdims=True)
    shifted = x2 - m
    e = xp.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    logp = shifted - xp.log(s)
    C = x2.shape[1]
    eps = np.float32(label_smoothing)
    w = None if weight is None else _as(weight, like=input, name=name).data.astype(x2.dtype)
    if w is not None and w.shape != (C,):
        raise ValueError(f"{name}(weight): expected shape ({C},), got {w.shape}")

    if target.data.dtype.kind == "f":                     # class probabilities
        if target.shape != input.shape:
            raise ValueError(f"{name}: probability targets must have the input's shape "
                             f"{input.shape}, got {target.shape}")
        q = _classes_last(target.data).astype(x2.dtype)
        if eps:
            q = q * (1 - eps) + eps / C
        if w is not None:
            q = q * w
        denom = np.float32(x2.shape[0])
        per = -(q * logp).sum(axis=1)
    else:
        t, valid, _ = _class_targets(name, input, target, ignore_index)
        rows = xp.nonzero(valid)[0]
        q = xp.zeros_like(x2)
        wt = xp.ones(len(t), x2.dtype) if w is None else xp.where(valid, w[xp.where(valid, t, 0)], 0)
        q[rows, t[rows]] = (1 - eps) * wt[rows]
        if eps:
            q[rows] += (eps / C) * (xp.ones(C, x2.dtype) if w is None else w)
        per = -(q * logp).sum(axis=1)
        denom = wt[rows].sum(dtype=x2.dtype)
    p = e / s                    # gradient of −Σ_c q_c log p_c w.r.t. the logits: p·Σq − q
    return _reduce_rows(input, per, lambda: p * q.sum(axis=1, keepdims=True) - q, denom,
                        reduction, "CrossEntropyBackward")


def _reduce_rows(input, per, local_grad, denom, reduction, op):
    """Reduce a per-row loss (rows = samples × positions) and record its backward.

    ``local_grad()`` gives d(per-row loss)/d(logits rows); mean divides by ``denom`` (the
    summed class weights of the counted rows, as in PyTorch).
    """
    shape = input.shape
    if reduction == "none":
        out = per.reshape((shape[0],) + shape[2:] if input.ndim >= 2 else ())
    elif reduction == "sum":
        out = xp_of(per).asarray(per.sum(), dtype=per.dtype)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = xp_of(per).asarray(per.sum() / denom, dtype=per.dtype)

    def backward(g):
        if reduction == "none":
            scale = g.reshape(-1, 1)
        elif reduction == "sum":
            scale = g
        else:
            scale = g / denom
        return (_classes_back(local_grad() * scale, shape).astype(input.data.dtype),)
    return make(out, (input,), backward, op)


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities: loss_i = −w_{y_i} · input[i, y_i].

    Shape: input (N, C) or (N, C, d1, …); target (N) or (N, d1, …) int64.
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    target = _as(target, like=input, name=name)
    if input.ndim == 0:
        raise ValueError(f"{name}: expected input (N, C), got scalar")
    t, valid, C = _class_targets(name, input, target, ignore_index)
    x2 = _classes_last(input.data)
    xp = xp_of(x2)
    w = xp.ones(C, x2.dtype) if weight is None else \
        _as(weight, like=input, name=name).data.astype(x2.dtype)
    rows = xp.nonzero(valid)[0]
    q = xp.zeros_like(x2)
    q[rows, t[rows]] = w[t[rows]]
    per = -(q * x2).sum(axis=1)
    denom = q.sum(dtype=x2.dtype)
    return _reduce_rows(input, per, lambda: -q, denom, reduction, "NllLossBackward")


def _pair(name, input, target):
    target = _as(target, input.data.dtype if isinstance(input, Tensor) else None,
                 like=input if isinstance(input, Tensor) else None, name=name)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{name}: input {input.shape} and target {target.shape} do not "
                             f"broadcast") from None
        warnings.warn(f"{name}: target size {target.shape} differs from input size "
                      f"{input.shape}; they will be broadcast (this is usually a bug)",
                      stacklevel=3)
    if target.data.dtype != input.data.dtype and input.data.dtype.kind == "f":
        target = Tensor(target.data.astype(input.data.dtype)) if not target.requires_grad \
            else target
    return target


def _reduce(x: Tensor, reduction: str) -> Tensor:
    return x.mean() if reduction == "mean" else (x.sum() if reduction == "sum" else x)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: 1/n Σ (y_i − ŷ_i)²."""
    _check_reduction("mse_loss", reduction)
    target = _pair("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: 1/n Σ |y_i − ŷ_i|."""
    _check_reduction("l1_loss", reduction)
    target = _pair("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """−[t·log p + (1−t)·log(1−p)] for probabilities p; logs are clamped at −100 like PyTorch."""
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    p, t = input.data, target.data
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name}: input must be probabilities in [0, 1], got range "
                         f"[{p.min():.4g}, {p.max():.4g}]")
    xp = xp_of(p)
    with np.errstate(divide="ignore"):
        lp = xp.maximum(xp.log(p), -100)
        l1p = xp.maximum(xp.log1p(-p), -100)
    w = None if weight is None else _as(weight, like=input, name=name).data
    per = -(t * lp + (1 - t) * l1p)
    if w is not None:
        per = per * w
    per = per.astype(p.dtype)

    def grad_fn(g):
        gp = (p - t) / xp.maximum((1 - p) * p, 1e-12)
        if w is not None:
            gp = gp * w
        return gp.astype(p.dtype)
    return _elementwise_loss(input, per, grad_fn, reduction, "BinaryCrossEntropyBackward")


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """BCE on logits x, stable: (1−t)·x + L·(log(1+e^−|x|) + max(−x, 0)), L = 1+(pw−1)·t."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    x, t = input.data, target.data
    xp = xp_of(x)
    pw = None if pos_weight is None else \
        _as(pos_weight, like=input, name=name).data.astype(x.dtype)
    L = 1 if pw is None else 1 + (pw - 1) * t
    softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
    per = (1 - t) * x + L * softplus_neg
    w = None if weight is None else _as(weight, like=input, name=name).data
    if w is not None:
        per = per * w
    per = per.astype(x.dtype)

    def grad_fn(g):
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        gx = (1 - t) - L * (1 - sig)
        if w is not None:
            gx = gx * w
        return gx.astype(x.dtype)
    return _elementwise_loss(input, per, grad_fn, reduction, "BinaryCrossEntropyWithLogits")


def _elementwise_loss(input, per, grad_fn, reduction, op):
    from ..ops._util import unbroadcast
    n = per.size
    out = per if reduction == "none" else xp_of(per).asarray(
        per.sum() / (n if reduction == "mean" else 1), dtype=per.dtype)

    def backward(g):
        local = grad_fn(g)
        scale = g if reduction == "none" else (g / n if reduction == "mean" else g)
        return (unbroadcast(local * scale, input.shape).astype(input.data.dtype),)
    return make(out, (input,), backward, op)
