"""Loss functions as fused ops with closed-form gradients (stable for logits of any size).

Reductions follow PyTorch: ``'mean'`` (weighted mean for class weights), ``'sum'``, ``'none'``.
"""
import numbers
import warnings

import numpy as np

from ..backend import to_device, xp_of
from ..errors import ShapeError
from ..ops import same_device
from ..ops.fused import cross_entropy_rows
from ..tensor import Tensor, make

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "huber_loss", "smooth_l1_loss", "kl_div"]

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


def _target_shape(x: Tensor) -> tuple:
    """The shape class-index targets of logits x must have: (N, d1, ...), or () for (C,)."""
    return (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()


def _class_targets(name, x: Tensor, target: Tensor, ignore_index: int):
    """Validate integer targets against logits; return flat targets and the valid mask."""
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    expect = _target_shape(x)
    if target.shape != expect:
        raise ShapeError(f"{name}: expected target of shape {expect} for input {x.shape}, "
                         f"got {target.shape}")
    t = target.array.reshape(-1).astype(np.int64, copy=False)
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
    x2 = _classes_last(input.array)
    xp = xp_of(x2)
    if weight is None and not label_smoothing and x2.dtype == np.float32 and \
            target.shape == _target_shape(input):
        t = target.array.reshape(-1)
        fused = cross_entropy_rows(x2, t, ignore_index)   # checks the targets too
        if fused is not None:               # one compiled pass (ops/fused.py)
            per, p = fused
            done = []

            def local_grad():               # p − onehot, made once (a second backward too)
                if not done:
                    p[np.arange(len(t)), t.astype(np.intp, copy=False)] -= 1
                    done.append(True)
                return p
            return _reduce_rows(input, per, local_grad, x2.dtype.type(len(t)), reduction,
                                "CrossEntropyBackward")
    m = x2.max(axis=1, keepdims=True)
    shifted = x2 - m
    e = xp.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    C = x2.shape[1]
    eps = np.float32(label_smoothing)
    w = None if weight is None else _as(weight, like=input, name=name).array.astype(x2.dtype)
    if w is not None and w.shape != (C,):
        raise ValueError(f"{name}(weight): expected shape ({C},), got {w.shape}")
    if target.array.dtype.kind != "f" and w is None and not eps:
        # class indices, no weights, no smoothing (the usual case): the same arithmetic on
        # the target entries only, no one-hot matrix; the gradient p − onehot is made in
        # backward (4 passes over the logits fewer)
        t, valid, _ = _class_targets(name, input, target, ignore_index)
        if valid.all():                     # no ignored row: no row selection (~5 µs less)
            rows, tr = xp.arange(len(t)), t
            per = -(shifted[rows, tr] - xp.log(s[:, 0]))
        else:
            rows = xp.nonzero(valid)[0]
            tr = t[rows]
            per = xp.zeros(len(t), x2.dtype)
            per[rows] = -(shifted[rows, tr] - xp.log(s[rows, 0]))

        def local_grad():
            p = e / s
            p[rows, tr] -= 1
            if len(rows) < len(t):
                p[~valid] = 0
            return p
        return _reduce_rows(input, per, local_grad, x2.dtype.type(len(rows)), reduction,
                            "CrossEntropyBackward")
    logp = shifted - xp.log(s)

    if target.array.dtype.kind == "f":                     # class probabilities
        if target.shape != input.shape:
            raise ShapeError(f"{name}: probability targets must have the input's shape "
                             f"{input.shape}, got {target.shape}")
        q = _classes_last(target.array).astype(x2.dtype)
        if eps:
            q = q * (1 - eps) + eps / C
        if w is not None:
            q = q * w
        denom = np.float32(x2.shape[0])
        per = -(q * logp).sum(axis=1)
        # d(per)/dt_c = −(1−ε)·w_c·log p_c: the target is a differentiable input too
        target_grad = lambda: -(1 - eps) * (logp if w is None else logp * w)  # noqa: E731
    else:
        target_grad = None                               # class indices: no gradient
        t, valid, _ = _class_targets(name, input, target, ignore_index)
        rows = xp.nonzero(valid)[0]
        q = xp.zeros_like(x2)
        wt = xp.ones(len(t), x2.dtype) if w is None else \
            xp.where(valid, w[xp.where(valid, t, 0)], 0)
        q[rows, t[rows]] = (1 - eps) * wt[rows]
        if eps:
            q[rows] += (eps / C) * (xp.ones(C, x2.dtype) if w is None else w)
        per = -(q * logp).sum(axis=1)
        denom = wt[rows].sum(dtype=x2.dtype)
    p = e / s                    # gradient of −Σ_c q_c log p_c w.r.t. the logits: p·Σq − q
    return _reduce_rows(input, per, lambda: p * q.sum(axis=1, keepdims=True) - q, denom,
                        reduction, "CrossEntropyBackward", target, target_grad)


def _reduce_rows(input, per, local_grad, denom, reduction, op, target=None,
                 target_grad=None):
    """Reduce a per-row loss (rows = samples × positions) and record its backward.

    ``local_grad()`` gives d(per-row loss)/d(logits rows); mean divides by ``denom`` (the
    summed class weights of the counted rows, as in PyTorch). A probability ``target`` shaped
    like the input gets the gradient ``target_grad()`` (rows layout) when it requires one.
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
        else:                       # every row ignored (denom 0): no gradient, like PyTorch
            scale = g / denom if denom else g * 0
        gx = _classes_back(local_grad() * scale, shape).astype(input.array.dtype, copy=False) \
            if input.requires_grad else None
        if not with_target:
            return (gx,)
        gt = _classes_back(target_grad() * scale, shape).astype(target.array.dtype)
        return gx, gt
    with_target = target_grad is not None and target.requires_grad
    return make(out, (input, target) if with_target else (input,), backward, op)


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
    x2 = _classes_last(input.array)
    xp = xp_of(x2)
    w = xp.ones(C, x2.dtype) if weight is None else \
        _as(weight, like=input, name=name).array.astype(x2.dtype)
    rows = xp.nonzero(valid)[0]
    q = xp.zeros_like(x2)
    q[rows, t[rows]] = w[t[rows]]
    per = -(q * x2).sum(axis=1)
    denom = q.sum(dtype=x2.dtype)
    return _reduce_rows(input, per, lambda: -q, denom, reduction, "NllLossBackward")


def _pair(name, input, target):
    target = _as(target, input.array.dtype if isinstance(input, Tensor) else None,
                 like=input if isinstance(input, Tensor) else None, name=name)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(f"{name}: input {input.shape} and target {target.shape} do not "
                             f"broadcast") from None
        warnings.warn(f"{name}: target size {target.shape} differs from input size "
                      f"{input.shape}; they will be broadcast (this is usually a bug)",
                      stacklevel=3)
    if target.array.dtype != input.array.dtype and input.array.dtype.kind == "f":
        target = Tensor(target.array.astype(input.array.dtype)) if not target.requires_grad \
            else target
    return target


def _reduce(x: Tensor, reduction: str) -> Tensor:
    return x.mean() if reduction == "mean" else (x.sum() if reduction == "sum" else x)


def _elementwise_weight(name: str, weight, input: Tensor):
    """PyTorch's per-element ``weight`` of mse/l1/huber: input's shape, or an error."""
    if weight is None:
        return None
    w = _as(weight, input.array.dtype, like=input, name=name)
    if w.shape != input.shape:
        raise ValueError(f"{name}(weight): expected the input's shape {tuple(input.shape)}, got "
                         f"{tuple(w.shape)}")
    return w


def _weighted_reduce(e: Tensor, w: Tensor | None, reduction: str) -> Tensor:
    """mse/l1 with ``weight``: 'mean' is the weighted mean Σ w·e / Σ w, as in PyTorch."""
    if w is None:
        return _reduce(e, reduction)
    return (e * w).sum() / w.sum() if reduction == "mean" else _reduce(e * w, reduction)


def mse_loss(input: Tensor, target, reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error: 1/n Σ (y_i − ŷ_i)²; with ``weight`` (input's shape) the weighted
    mean Σ w_i·(y_i − ŷ_i)² / Σ w_i."""
    _check_reduction("mse_loss", reduction)
    w = _elementwise_weight("mse_loss", weight, input)
    target = _pair("mse_loss", input, target)
    if w is None and reduction != "none" and target.shape == input.shape and \
            input.array.dtype.kind == "f" and input.array.size:
        return _mse(input, target, reduction)
    d = input - target
    return _weighted_reduce(d * d, w, reduction)


def _mse(input: Tensor, target: Tensor, reduction: str) -> Tensor:
    """mse_loss as one graph node (mean or sum of (x − t)², same shapes): the same value as
    the composed ops, and PyTorch's gradient (x − t)·(2/n · g), its negative for the target
    (the course's 2-3-1 network step: 3 nodes fewer, 68 → ~60 µs)."""
    x, t = input.array, target.array
    xp = xp_of(x)
    d = x - t
    sq = d * d
    n = d.size
    if reduction == "mean" and xp is np:   # as ops.mean: the sum in the dtype, then / n
        out = xp.add.reduce(sq, axis=None, dtype=x.dtype) / n
    else:
        out = sq.mean(dtype=x.dtype) if reduction == "mean" else sq.sum(dtype=x.dtype)

    def backward(g):
        gx = d * ((2.0 / n if reduction == "mean" else 2.0) * g)
        return gx, (-gx if target.requires_grad else None)
    return make(xp.asarray(out, dtype=x.dtype), (input, target), backward, "MseLossBackward")


def l1_loss(input: Tensor, target, reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error: 1/n Σ |y_i − ŷ_i|; with ``weight`` (input's shape) the weighted
    mean Σ w_i·|y_i − ŷ_i| / Σ w_i."""
    _check_reduction("l1_loss", reduction)
    w = _elementwise_weight("l1_loss", weight, input)
    target = _pair("l1_loss", input, target)
    return _weighted_reduce((input - target).abs(), w, reduction)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """−w·[t·log p + (1−t)·log(1−p)] for probabilities p; logs are clamped at −100 like PyTorch.

    Gradients: ∂/∂p = w·(p − t)/(p(1−p)), ∂/∂t = −w·logit(p) (unclamped, as in PyTorch: ±inf
    at p = 0 or 1), ∂/∂w = the unweighted loss — each one when that tensor requires grad.
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    p, t = input.array, target.array
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name}: input must be probabilities in [0, 1], got range "
                         f"[{p.min():.4g}, {p.max():.4g}]")
    xp = xp_of(p)
    with np.errstate(divide="ignore"):
        lp = xp.maximum(xp.log(p), -100)
        l1p = xp.maximum(xp.log1p(-p), -100)
    w = None if weight is None else _as(weight, like=input, name=name)
    plain = -(t * lp + (1 - t) * l1p)
    weighted = (lambda a: a) if w is None else (lambda a: a * w.array)

    def target_grad():
        with np.errstate(divide="ignore", invalid="ignore"):
            return weighted(xp.log1p(-p) - xp.log(p))
    return _elementwise_loss(
        weighted(plain).astype(p.dtype), reduction, "BinaryCrossEntropyBackward",
        (input, lambda: weighted((p - t) / xp.maximum((1 - p) * p, 1e-12))),
        (target, target_grad), (w, lambda: plain))


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """BCE on logits x, stable: w·[(1−t)·x + L·softplus(−x)], L = 1 + (pw−1)·t.

    Gradients: ∂/∂x = w·[(1−t) − L·σ(−x)], ∂/∂t = w·[−x + (pw−1)·softplus(−x)],
    ∂/∂w = the unweighted loss, ∂/∂pw = w·t·softplus(−x).
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    x, t = input.array, target.array
    xp = xp_of(x)
    pw = None if pos_weight is None else _as(pos_weight, like=input, name=name)
    pwd = 1 if pw is None else pw.array.astype(x.dtype)
    L = 1 + (pwd - 1) * t
    softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
    plain = (1 - t) * x + L * softplus_neg
    w = None if weight is None else _as(weight, like=input, name=name)
    weighted = (lambda a: a) if w is None else (lambda a: a * w.array)

    def input_grad():
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return weighted((1 - t) - L * (1 - sig))
    return _elementwise_loss(
        weighted(plain).astype(x.dtype), reduction, "BinaryCrossEntropyWithLogits",
        (input, input_grad), (target, lambda: weighted(-x + (pwd - 1) * softplus_neg)),
        (w, lambda: plain), (pw, lambda: weighted(t * softplus_neg)))


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """Huber loss of d = input − target: ½d² where |d| < δ, else δ·(|d| − ½δ).

    Quadratic near zero, linear (slope δ) in the tails, so outliers pull less than in MSE.
    The gradient w.r.t. the input is clip(d, −δ, δ), and its negative w.r.t. the target;
    an element-wise ``weight`` (input's shape) multiplies the loss (and 'mean' stays the
    plain mean, unlike mse/l1's weighted mean: PyTorch's rules).

    Shape: input (*), target (*) broadcastable → scalar, or (*) with reduction='none'.
    """
    name = "huber_loss"
    _check_reduction(name, reduction)
    _check_positive(name, "delta", delta, strict=True)
    w = _elementwise_weight(name, weight, input)
    target = _pair(name, input, target)
    d = input.array - target.array
    xp = xp_of(d)
    ad = xp.abs(d)
    plain = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)).astype(d.dtype)
    gd = xp.clip(d, -delta, delta)
    if w is not None:
        gd = gd * w.array
    return _elementwise_loss(plain if w is None else plain * w.array, reduction,
                             "HuberLossBackward", (input, lambda: gd), (target, lambda: -gd),
                             (w, lambda: plain))


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 of d = input − target: ½d²/β where |d| < β, else |d| − ½β (L1 when β = 0).

    It is the Huber loss divided by β: slope 1 in the tails. The gradient w.r.t. the input
    is clip(d/β, −1, 1) (sign(d) when β = 0), and its negative w.r.t. the target.

    Shape: input (*), target (*) broadcastable → scalar, or (*) with reduction='none'.
    """
    name = "smooth_l1_loss"
    _check_reduction(name, reduction)
    _check_positive(name, "beta", beta, strict=False)
    target = _pair(name, input, target)
    d = input.array - target.array
    xp = xp_of(d)
    ad = xp.abs(d)
    if beta == 0:
        per, gd = ad, xp.sign(d)
    else:
        per = xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta).astype(d.dtype)
        gd = xp.clip(d / beta, -1, 1)
    return _elementwise_loss(per, reduction, "SmoothL1LossBackward", (input, lambda: gd),
                             (target, lambda: -gd))


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target ‖ model), the model given as log-probabilities.

    Pointwise t·(log t − x) (0 where t = 0), or with ``log_target`` (t given as log-probs)
    e^t·(t − x). ``reduction='batchmean'`` divides the sum by the batch size N = input.shape[0]
    and is the true KL divergence per sample; ``'mean'`` divides by the number of elements,
    as in PyTorch. Gradients: ∂/∂x = −t (−e^t); ∂/∂t = log t + 1 − x (NaN at t = 0, like
    PyTorch), or e^t·(t − x + 1) with ``log_target``.

    Shape: input (N, *) log-probabilities, target (N, *) → scalar, or (N, *) with 'none'.
    """
    name = "kl_div"
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{name}(reduction={reduction!r}): expected one of "
                         f"{_REDUCTIONS + ('batchmean',)}")
    target = _pair(name, input, target)
    x, t = input.array, target.array
    xp = xp_of(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_target:
            et = xp.exp(t)
            per = et * (t - x)
            gx, gt = (lambda: -et), (lambda: et * (t - x + 1))
        else:
            logt = xp.log(t)
            per = xp.where(t == 0, 0, t * logt) - t * x
            gx = lambda: -t  # noqa: E731

            def gt():
                with np.errstate(divide="ignore", invalid="ignore"):
                    return xp.where(t == 0, np.nan, logt + 1) - x
    return _elementwise_loss(per.astype(x.dtype), reduction, "KlDivBackward", (input, gx),
                             (target, gt))


def _check_positive(name, key, value, strict):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}({key}={value!r}): expected a number, got "
                        f"{type(value).__name__}")
    if not (value > 0 if strict else value >= 0):
        raise ValueError(f"{name}({key}={value!r}): {key} must be "
                         f"{'> 0' if strict else '>= 0'}")


def _elementwise_loss(per, reduction, op, *operands):
    """Reduce an element-wise loss and record its backward to each operand.

    ``operands`` are ``(tensor or None, local_grad)`` pairs, the prediction first:
    ``local_grad()`` gives d(per-element loss)/d(tensor) at the broadcast shape, summed back
    to the tensor's own shape. Only tensors that require grad get a gradient.
    """
    from ..ops import unbroadcast
    live = [(t, fn) for t, fn in operands if t is not None]
    input = live[0][0]
    n = {"mean": per.size, "batchmean": input.shape[0] if input.ndim else 1}.get(reduction, 1)
    out = per if reduction == "none" else xp_of(per).asarray(per.sum() / n, dtype=per.dtype)

    def backward(g):
        scale = g if reduction == "none" else g / n
        return tuple(unbroadcast(fn() * scale, t.shape).astype(t.array.dtype)
                     if t.requires_grad else None for t, fn in live)
    return make(out, tuple(t for t, _ in live), backward, op)
