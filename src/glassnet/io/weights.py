"""Model weights as safetensors files: strict, checksummed, never pickle.

A weights file is a plain `safetensors <https://github.com/huggingface/safetensors>`_ file
(PyTorch reads them with safetensors too) whose keys are the model's ``state_dict``
keys. Its metadata holds ``format = "glassnet-weights"``, the glassnet version and
``sha256``: a digest of every tensor (name, dtype, shape, bytes in key order), so a flipped
bit anywhere in the data is detected on load.

Loading never executes anything from the file: safetensors is a length-prefixed JSON header
followed by raw bytes. Pickles and zip archives (``torch.save`` output) are recognised by
their first bytes and refused with a clear message.
"""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

from ..backend import to_host
from .atomic import atomic_write_bytes

__all__ = ["CheckpointError", "save_weights", "load_weights", "tensors_to_bytes",
           "tensors_from_bytes", "tensor_digest"]

_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A weights or checkpoint file is missing, truncated, corrupt, unsafe or does not fit
    the model. The message names the file and what is wrong."""


def tensor_digest(tensors: dict) -> str:
    """sha256 over ``(name, dtype, shape, bytes)`` of every array, in sorted key order."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        arr = np.ascontiguousarray(tensors[key]).reshape(np.shape(tensors[key]))
        h.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def tensors_to_bytes(tensors: dict, metadata: dict | None = None) -> bytes:
    """Serialise ``{name: ndarray}`` to safetensors bytes with string ``metadata``."""
    from safetensors.numpy import save
    arrays = {k: np.ascontiguousarray(v).reshape(np.shape(v)) for k, v in tensors.items()}
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    return save(arrays, metadata=meta)


def _not_safetensors(data: bytes, path, why: str) -> CheckpointError:
    """An error for bytes that failed to parse, naming pickles/zips when recognisable."""
    if data[:4] == b"PK\x03\x04":
        why = "it is a zip archive (e.g. a torch.save file); glassnet never loads pickles"
    elif data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        why = "it looks like a Python pickle; glassnet never loads pickles"
    return CheckpointError(f"{path}: not a valid safetensors file: {why}")


def tensors_from_bytes(data: bytes, path="<bytes>") -> tuple[dict, dict]:
    """Parse safetensors bytes strictly into ``({name: ndarray}, metadata)``.

    Raises:
        CheckpointError: a pickle/zip, a truncated file, or a malformed header.
    """
    from safetensors.numpy import load
    if len(data) < 8:
        raise _not_safetensors(data, path, f"truncated ({len(data)} bytes, the header "
                                           f"length alone takes 8)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data) or data[8:9] != b"{":
        raise _not_safetensors(data, path, f"truncated or malformed header (declared "
                                           f"length {n}, file has {len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        tensors = load(data)
    except Exception as e:      # SafetensorError, JSON errors: all mean "corrupt file"
        raise _not_safetensors(data, path, f"corrupt ({e})") from None
    meta = header.get("__metadata__") or {}
    return dict(tensors), dict(meta)


def _read(path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    return path.read_bytes()


def save_weights(model, path) -> Path:
    """Write ``model.state_dict()`` to a safetensors file, atomically.

    Args:
        model: a :class:`glassnet.nn.Module` (or any object with ``state_dict()``), or a
            dict ``{name: ndarray}``.
        path: target file, conventionally ``*.safetensors``.

    Returns:
        The path written.

    Example:
        >>> save_weights(model, "run/weights.safetensors")
        >>> load_weights(model, "run/weights.safetensors")
    """
    from ..version import __version__
    state = model if isinstance(model, dict) else model.state_dict()
    tensors = {k: to_host(v) for k, v in state.items()}      # device arrays: host copies
    meta = {"format": "glassnet-weights", "glassnet_version": __version__,
            "sha256": tensor_digest(tensors)}
    return atomic_write_bytes(path, tensors_to_bytes(tensors, meta))


def check_state_fits(model, tensors: dict, path) -> None:
    """Raise :class:`CheckpointError` unless ``tensors`` has exactly the model's keys/shapes."""
    own = model.state_dict()
    missing = [k for k in own if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    if missing or unexpected:
        raise CheckpointError(f"{path}: does not fit {type(model).__name__}: missing keys "
                              f"{missing}, unexpected keys {unexpected}")
    for k, v in own.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{path}: '{k}' has shape {tuple(tensors[k].shape)}, the "
                                  f"model expects {tuple(v.shape)}")


def load_weights(model, path, *, verify: bool = True) -> dict:
    """Load a safetensors weights file into ``model`` (in place).

    Keys and shapes must match the model exactly, and (when the file carries one) the
    tensor checksum must match, otherwise nothing is changed and a
    :class:`CheckpointError` names the problem.

    Args:
        model: the :class:`glassnet.nn.Module` to fill; ``None`` only reads the file.
        path: a file written by :func:`save_weights` (or any safetensors file).
        verify: check the ``sha256`` stored in the metadata (default True).

    Returns:
        The loaded ``{name: ndarray}``.

    Raises:
        CheckpointError: missing, truncated, corrupt, pickle/zip, wrong checksum, or keys
            and shapes that do not fit the model.
    """
    tensors, meta = tensors_from_bytes(_read(path), path)
    if verify and "sha256" in meta and tensor_digest(tensors) != meta["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch; the file is corrupt")
    if model is not None:
        check_state_fits(model, tensors, path)
        model.load_state_dict(tensors)
    return tensors
