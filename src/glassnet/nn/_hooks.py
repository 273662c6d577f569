"""Module hooks, as in PyTorch: forward pre-hooks, forward hooks and full backward hooks.

``Module.__call__`` comes here only when the module has a hook, so a model without hooks
pays one dict lookup per call. A full backward hook sees ``grad_input`` (the gradients with
respect to the module's positional tensor inputs) and ``grad_output`` (with respect to its
outputs): identity nodes put around the inputs and outputs catch them during backward.
"""
from __future__ import annotations

from ..tensor import RemovableHandle, Tensor, make

__all__ = ["add_hook", "call_with_hooks"]


def add_hook(module, kind: str, hook, prepend: bool = False) -> RemovableHandle:
    """Register ``hook`` in ``module.__dict__[kind]`` (a dict id -> hook, call order)."""
    if not callable(hook):
        raise TypeError(f"{type(module).__name__}.register{kind}: expected a callable, got "
                        f"{type(hook).__name__}")
    hooks = module.__dict__.get(kind)
    if hooks is None:
        hooks = {}
        object.__setattr__(module, kind, hooks)
    handle = RemovableHandle(hooks)
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(items)
    else:
        hooks[handle.id] = hook
    object.__setattr__(module, "_has_hooks", True)
    return handle


def _identity(x: Tensor, backward) -> Tensor:
    return make(x.array, (x,), backward, "BackwardHookFunctionBackward")


class _BackwardCall:
    """One call of a module with full backward hooks: collects grad_output, then grad_input."""

    def __init__(self, module, hooks, n_in: int, n_out: int):
        self.module, self.hooks = module, hooks
        self.grad_in, self.grad_out = [None] * n_in, [None] * n_out
        self.waiting = 0                      # inputs whose gradient has not arrived yet
        self.out_waiting = 0                  # outputs whose gradient has not arrived yet
        self.result = None

    def _fire(self):
        grad_in = tuple(self.grad_in)
        for hook in list(self.hooks.values()):
            new = hook(self.module, grad_in, tuple(self.grad_out))
            if new is not None:
                if not isinstance(new, (tuple, list)) or len(new) != len(grad_in):
                    raise RuntimeError(f"{type(self.module).__name__} backward hook: expected "
                                       f"a tuple of {len(grad_in)} gradients (or None), got "
                                       f"{new!r:.80}")
                grad_in = tuple(new)
        return grad_in

    def wrap_input(self, i: int, x: Tensor) -> Tensor:
        self.waiting += 1

        def backward(g):
            self.grad_in[i] = Tensor(g)
            self.waiting -= 1
            if self.waiting == 0:
                self.result = self._fire()
            new = self.result[i] if self.result is not None else None
            return (g if new is None else (new.array if isinstance(new, Tensor) else new),)
        return _identity(x, backward)

    def wrap_output(self, j: int, y: Tensor) -> Tensor:
        self.out_waiting += 1

        def backward(g):
            self.grad_out[j] = Tensor(g)
            self.out_waiting -= 1
            if self.waiting == 0 and self.out_waiting == 0:     # no input needs a gradient
                self._fire()
            return (g,)
        return _identity(y, backward)


def call_with_hooks(module, args: tuple, kwargs: dict):
    for hook in list(module.__dict__.get("_forward_pre_hooks", {}).values()):
        new = hook(module, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    bw_hooks = module.__dict__.get("_backward_hooks")
    call = None
    if bw_hooks:
        call = _BackwardCall(module, bw_hooks, len(args), 0)
        args = tuple(call.wrap_input(i, a) if isinstance(a, Tensor) and a.requires_grad
                     else a for i, a in enumerate(args))
    out = module.forward(*args, **kwargs)
    for hook in list(module.__dict__.get("_forward_hooks", {}).values()):
        new = hook(module, args, out)
        if new is not None:
            out = new
    if call is not None:
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else ()
        call.grad_out = [None] * len(outs)
        wrapped = tuple(call.wrap_output(j, y) if isinstance(y, Tensor) and y.requires_grad
                        else y for j, y in enumerate(outs))
        out = wrapped[0] if single else type(out)(wrapped) if outs else out
    return out
