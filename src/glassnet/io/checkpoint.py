"""Training checkpoints: a directory of two safetensors files and one JSON file.

Layout of a checkpoint directory (e.g. ``run/checkpoints/epoch-0003/``)::

    model.safetensors   the model's state_dict (same format as save_weights)
    state.safetensors   every array of the training state (optimizer moments, ...)
    checkpoint.json     format/version, sha256 and size of both tensor files, and the
                        training state as JSON (epoch, step, optimizer scalars and
                        hyperparameters, RNG states, data-loader state, callback state,
                        history, recipe); each array in it is a reference
                        {"__tensor__": "t0"} into state.safetensors

A mid-epoch checkpoint (``every_n_steps`` or Ctrl-C) is named ``epoch-NNNN-batch-BBBBB``: NNNN
epochs finished plus BBBBB batches of the next one; names sort in training order.

Never pickle: JSON and safetensors only. File names are fixed (never read from the JSON),
so a checkpoint cannot point outside its directory. The directory is written next to its
final place under a temporary name (files flushed and fsynced) and renamed into place, so
a crash leaves either the old checkpoint or the new one, never a mix.
"""
from __future__ import annotations

import json
import os
import re
import warnings
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..backend import device_of, to_host
from .atomic import fsync_dir, sha256_bytes
from .weights import (CheckpointError, check_state_fits, tensor_digest, tensors_from_bytes,
                      tensors_to_bytes)

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "find_checkpoint",
           "list_checkpoints", "checkpoint_name", "remove_checkpoint", "recover_checkpoints",
           "FORMAT", "FORMAT_VERSION"]

FORMAT, FORMAT_VERSION = "glassnet-checkpoint", 1
_FILES = ("model.safetensors", "state.safetensors")
_MAX_JSON = 64 * 1024 * 1024
_NAME = re.compile(r"epoch-(\d{4,})(?:-batch-(\d{5,}))?")
# Test hook (the crash test): seconds to sleep after each file of a checkpoint is written,
# so that a SIGKILL can land inside a write. Unset in normal use.
_WRITE_DELAY_ENV = "_GLASSNET_TEST_CHECKPOINT_WRITE_DELAY"


class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        path: the checkpoint directory.
        weights: ``{name: ndarray}`` model state.
        state: the training state (nested dicts/lists of JSON values and ndarrays).
        info: the JSON header (format, versions, checksums, creation time).
    """

    def __init__(self, path, weights, state, info):
        self.path, self.weights, self.state, self.info = Path(path), weights, state, info

    def __repr__(self):
        return f"Checkpoint({str(self.path)!r}, epoch={self.state.get('epoch')})"


# -- encoding nested state: arrays -> safetensors, the rest -> JSON ---------------------------
def _encode(obj, arrays: dict):
    if device_of(obj) != "cpu":                  # a device (CuPy) array: saved from the host
        obj = to_host(obj)
    if isinstance(obj, np.ndarray):
        key = f"t{len(arrays)}"
        arrays[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save_checkpoint(state): cannot store a {type(obj).__name__} (only "
                    f"dicts, lists, numbers, strings, None and NumPy arrays)")


def _decode(obj, arrays: dict, path):
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            key = obj["__tensor__"]
            if key not in arrays:
                raise CheckpointError(f"{path}: checkpoint.json refers to tensor {key!r} "
                                      f"that state.safetensors does not hold")
            return arrays[key]
        return {k: _decode(v, arrays, path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays, path) for v in obj]
    return obj


# -- writing ---------------------------------------------------------------------------------
def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    delay = os.environ.get(_WRITE_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def checkpoint_name(epochs_done: int, batch: int = 0) -> str:
    """``epoch-NNNN`` after ``epochs_done`` epochs, or ``epoch-NNNN-batch-BBBBB`` for
    ``batch`` > 0 batches into the next epoch."""
    return f"epoch-{epochs_done:04d}" + (f"-batch-{batch:05d}" if batch else "")


def remove_checkpoint(path) -> None:
    """Delete a checkpoint directory crash-safely: rename it to a hidden ``.del-*`` name
    first (atomic), so a half-deleted checkpoint never looks like a checkpoint."""
    path = Path(path)
    trash = path.parent / f".del-{path.name}.{os.getpid()}"
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def recover_checkpoints(directory) -> list[str]:
    """Tidy a checkpoint folder after a crash; returns what was done (for logs).

    A process killed while writing leaves hidden temporaries: ``.tmp-*`` (an unfinished
    new checkpoint: deleted), ``.old-NAME.PID`` (the previous ``NAME`` while it was being
    replaced: renamed back if ``NAME`` is missing, else deleted) and ``.del-*`` (a checkpoint
    being deleted: deleted). Visible checkpoints are never touched.
    """
    directory = Path(directory)
    done = []
    if not directory.is_dir():
        return done
    for p in sorted(directory.iterdir()):
        if p.name.startswith(".old-"):
            target = directory / p.name[5:].rsplit(".", 1)[0]
            if not target.exists():
                os.replace(p, target)
                done.append(f"restored {target.name}")
                continue
        if p.name.startswith((".tmp-", ".old-", ".del-")):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            done.append(f"removed {p.name}")
    if done:
        fsync_dir(directory)
    return done


def save_checkpoint(path, model, state: dict | None = None) -> Path:
    """Write a checkpoint directory atomically.

    Args:
        path: the checkpoint directory to create (replaced if it exists); its parent is
            created if needed.
        model: the :class:`glassnet.nn.Module` (or a ``{name: ndarray}`` dict) to save.
        state: training state: nested dicts/lists of numbers, strings, None and NumPy
            arrays (e.g. ``{"epoch": 3, "optimizer": opt.state_dict()}``).

    Returns:
        The checkpoint directory.

    Raises:
        OSError: the directory cannot be written (nothing partial is left behind).
        TypeError: ``state`` holds an object that is not plain data.

    Example:
        >>> save_checkpoint("run/checkpoints/epoch-0001", model,
        ...                 {"epoch": 1, "optimizer": opt.state_dict()})
    """
    from ..version import __version__
    path = Path(path)
    weights = model if isinstance(model, dict) else model.state_dict()
    weights = {k: to_host(v) for k, v in weights.items()}      # device arrays: host copies
    arrays: dict = {}
    encoded = _encode(state or {}, arrays)
    blobs = {
        "model.safetensors": tensors_to_bytes(weights, {
            "format": "glassnet-weights", "glassnet_version": __version__,
            "sha256": tensor_digest(weights)}),
        "state.safetensors": tensors_to_bytes(arrays, {"format": "glassnet-state"}),
    }
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "glassnet_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": {n: {"sha256": sha256_bytes(b), "bytes": len(b)} for n, b in blobs.items()},
            "state": encoded}
    blobs["checkpoint.json"] = json.dumps(info, indent=1).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".tmp-{path.name}."))
    old = None
    try:
        for name, data in blobs.items():
            _write_synced(tmp / name, data)
        fsync_dir(tmp)
        if path.exists():
            old = path.parent / f".old-{path.name}.{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not path.exists():
            os.replace(old, path)                # put the previous checkpoint back
        raise
    return path


# -- reading ---------------------------------------------------------------------------------
def _order(path: Path):
    m = _NAME.fullmatch(path.name)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def list_checkpoints(directory) -> list[Path]:
    """The ``epoch-NNNN`` and ``epoch-NNNN-batch-BBBBB`` checkpoint directories in
    ``directory`` (or, for a run directory, in ``directory/checkpoints``), oldest first."""
    directory = Path(directory)
    for root in (directory, directory / "checkpoints"):
        if root.is_dir():
            found = [p for p in root.iterdir() if p.is_dir() and _order(p) is not None]
            if found:
                return sorted(found, key=_order)
    return []


def find_checkpoint(path) -> Path:
    """Resolve ``path`` to a checkpoint directory: the directory itself if it holds a
    ``checkpoint.json``, else its newest ``epoch-NNNN`` (directly in it, or in its
    ``checkpoints/`` folder for a run directory).

    Raises:
        CheckpointError: nothing to resume from.
    """
    path = Path(path)
    if (path / "checkpoint.json").is_file():
        return path
    found = list_checkpoints(path)
    if not found:
        raise CheckpointError(f"{path}: no checkpoint found (expected {path}/checkpoint.json "
                              f"or {path}/checkpoints/epoch-NNNN/)")
    return found[-1]


def load_checkpoint(path, model=None) -> Checkpoint:
    """Read and verify a checkpoint; optionally load its weights into ``model``.

    Every check runs before ``model`` is touched: the JSON header parses and has the right
    format, both tensor files have the sha256 and size recorded in it, they parse as
    safetensors, and (given a model) keys and shapes fit the model.

    Args:
        path: a checkpoint directory (used as is), or a run directory: its newest
            checkpoint that passes every check is used, with a ``RuntimeWarning`` for each
            newer, damaged one skipped.
        model: a :class:`glassnet.nn.Module` to load the weights into, or ``None``.

    Returns:
        A :class:`Checkpoint` with ``weights``, ``state`` and ``info``.

    Raises:
        CheckpointError: missing/truncated/corrupt files, a checksum mismatch, pickles, a
            wrong format, or weights that do not fit ``model``.
    """
    path = Path(path)
    if (path / "checkpoint.json").is_file():
        weights, state, info = _read_verified(path)
    else:
        path, (weights, state, info) = _newest_verified(path)
    if model is not None:
        check_state_fits(model, weights, path / "model.safetensors")
        model.load_state_dict(weights)
    return Checkpoint(path, weights, state, info)


def _newest_verified(directory: Path):
    """The newest checkpoint under ``directory`` that passes every check, warning about
    each newer one skipped (a crash or a disk fault must not cost the whole run)."""
    found = list_checkpoints(directory)
    if not found:
        find_checkpoint(directory)               # raises the "no checkpoint found" error
    problems = []
    for candidate in reversed(found):
        try:
            loaded = _read_verified(candidate)
        except CheckpointError as e:
            problems.append(str(e))
            continue
        for problem in problems:
            warnings.warn(f"skipped a damaged checkpoint: {problem}; using {candidate.name}",
                          RuntimeWarning, stacklevel=3)
        return candidate, loaded
    raise CheckpointError(f"{directory}: none of its {len(found)} checkpoints is intact "
                          f"(newest: {problems[0]})")


def _read_verified(path: Path):
    """(weights, state, info) of the checkpoint directory ``path``, after every check."""
    meta_path = path / "checkpoint.json"
    if not meta_path.is_file():
        raise CheckpointError(f"{path}: missing checkpoint.json (incomplete checkpoint)")
    raw = meta_path.read_bytes()
    if len(raw) > _MAX_JSON:
        raise CheckpointError(f"{meta_path}: too large for a checkpoint header")
    try:
        info = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{meta_path}: corrupt or truncated JSON ({e})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not a glassnet checkpoint")
    if info.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: format version {info.get('format_version')!r} "
                              f"is not supported (expected {FORMAT_VERSION})")
    files = info.get("files")
    if not isinstance(files, dict):
        raise CheckpointError(f"{meta_path}: missing the 'files' table")
    parsed = {}
    for name in _FILES:                          # fixed names: never a path from the JSON
        entry = files.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise CheckpointError(f"{meta_path}: no checksum recorded for {name}")
        fpath = path / name
        if not fpath.is_file():
            raise CheckpointError(f"{fpath}: missing")
        data = fpath.read_bytes()
        if len(data) != entry.get("bytes"):
            raise CheckpointError(f"{fpath}: truncated or altered ({len(data)} bytes, "
                                  f"expected {entry.get('bytes')})")
        if sha256_bytes(data) != entry["sha256"]:
            raise CheckpointError(f"{fpath}: checksum mismatch; the file is corrupt")
        parsed[name] = tensors_from_bytes(data, fpath)[0]
    weights = parsed["model.safetensors"]
    state = _decode(info.get("state", {}), parsed["state.safetensors"], path)
    return weights, state, {k: v for k, v in info.items() if k != "state"}
