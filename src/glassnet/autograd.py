"""``glassnet.autograd``: gradients as values, like ``torch.autograd``.

``grad(outputs, inputs)`` returns d(outputs)/d(inputs) without touching any ``.grad``;
``backward(tensors, grad_tensors)`` accumulates into the leaves' ``.grad`` like
``Tensor.backward`` for several outputs at once. Higher-order gradients (``create_graph``)
are not supported: the backward closures work on arrays, not on recorded tensors.

Example:
    >>> x = gn.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = gn.autograd.grad((x ** 3).sum(), x)      # 3·x² = [3, 12]
"""
from __future__ import annotations

from .backend import to_device, xp_of
from .tensor import (AccumulateGrad, Node, Tensor, _run_backward, _to_array, enable_grad,
                     inference_mode, is_grad_enabled, no_grad, set_grad_enabled)

__all__ = ["grad", "backward", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "Node", "AccumulateGrad"]


def _as_seq(x, what: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)) and all(isinstance(t, Tensor) for t in x):
        return list(x)
    raise TypeError(f"autograd.{what}: expected a Tensor or a sequence of Tensors, got "
                    f"{type(x).__name__}")


def _seeds(outputs: list, grad_outputs, fn: str) -> list:
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None \
            else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.{fn}: got {len(grad_outputs)} gradients for "
                           f"{len(outputs)} outputs")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"autograd.{fn}: element {i} of tensors does not require grad "
                               f"and does not have a grad_fn")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(f"autograd.{fn}: grad can be implicitly created only for "
                                   f"scalar outputs; output {i} has shape {out.shape}")
            seeds.append(xp_of(out.array).ones_like(out.array))
            continue
        s = to_device(_to_array(g), out.device)
        s = xp_of(s).array(s, dtype=out.array.dtype, copy=True)
        if s.shape != out.shape:
            raise RuntimeError(f"autograd.{fn}: Mismatch in shape: grad_output[{i}] has a "
                               f"shape of {s.shape} and output[{i}] has a shape of "
                               f"{out.shape}")
        seeds.append(s)
    return seeds


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple of Tensors.

    Args:
        outputs: a Tensor or a sequence of them (each a scalar unless its ``grad_outputs``
            entry is given).
        inputs: a Tensor or a sequence of tensors that require grad (leaves or not).
        grad_outputs: the vector of the vector-Jacobian product, one per output (None: 1).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: unsupported (raises NotImplementedError when True).
        allow_unused: give None for an input the outputs do not depend on, instead of
            raising; ``materialize_grads=True`` gives zeros instead.

    Nothing is written to any ``.grad``; tensor hooks run.
    """
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients "
                                  "are not supported by glassnet (backward closures compute "
                                  "on arrays and record no graph)")
    outputs = _as_seq(outputs, "grad(outputs)")
    inputs = _as_seq(inputs, "grad(inputs)")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: one of the differentiated Tensors (input {i}) "
                               f"does not require grad")
    seeds = _seeds(outputs, grad_outputs, "grad")
    found = _run_backward(outputs, seeds, bool(retain_graph),
                          capture={id(t) for t in inputs})
    result = []
    for i, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None:
            if materialize_grads:
                result.append(Tensor(xp_of(t.array).zeros_like(t.array)))
                continue
            if not allow_unused:
                raise RuntimeError(f"autograd.grad: one of the differentiated Tensors (input "
                                   f"{i}) appears to not have been used in the graph. Set "
                                   f"allow_unused=True if this is the desired behavior.")
            result.append(None)
            continue
        if g.dtype != t.array.dtype:
            g = g.astype(t.array.dtype)
        result.append(Tensor(g.copy()))
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of several outputs into the leaves' ``.grad`` at once.

    ``backward([a, b], [ga, gb])`` equals ``(a * ga).sum() + (b * gb).sum()`` followed by
    ``.backward()``. ``create_graph`` and ``inputs`` are not supported.
    """
    if create_graph or inputs is not None:
        raise NotImplementedError("autograd.backward: create_graph=True and inputs= are not "
                                  "supported by glassnet")
    tensors = _as_seq(tensors, "backward(tensors)")
    seeds = _seeds(tensors, grad_tensors, "backward")
    _run_backward(tensors, seeds, bool(retain_graph))
