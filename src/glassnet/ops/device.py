"""Moving tensors between devices (``Tensor.to("cuda")``), differentiably."""
from ..backend import device_of, normalize_device, to_device
from ..tensor import Tensor, make

__all__ = ["move"]


def move(a: Tensor, device) -> Tensor:
    """``a`` on ``device``; its gradient flows back to ``a``'s device. Returns ``a`` itself
    when it is already there (as ``torch.Tensor.to`` does).

    Example:
        >>> y = move(gn.ones(3), "cpu")
    """
    target = normalize_device(device)
    src = device_of(a.array)
    if src == target:
        return a
    return make(to_device(a.array, target), (a,), lambda g: (to_device(g, src),),
                "ToCopyBackward")
