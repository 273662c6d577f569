"""Putting batches where the model is: fit/evaluate/predict feed a ``model.to("cuda")``
from a host DataLoader through these two helpers."""
import numpy as np

from ..backend import to_device
from ..tensor import Tensor

__all__ = ["model_device", "to_model_device"]


def model_device(model) -> str:
    """The device of the model's first parameter (``"cpu"`` for a model without any)."""
    params = getattr(model, "parameters", None)
    for p in (params() if params is not None else ()):
        return p.device
    return "cpu"


def to_model_device(batch, device: str):
    """Move a batch's tensors and arrays (nested in tuples/lists/dicts) to ``device``.

    fit/evaluate/predict call it, so a CPU DataLoader feeds a GPU model; on the CPU it
    returns the batch untouched.
    """
    if device == "cpu":
        return batch
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, np.ndarray):
        return Tensor(to_device(batch, device))
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_model_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_model_device(v, device) for k, v in batch.items()}
    return batch
