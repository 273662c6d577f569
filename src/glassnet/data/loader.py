"""DataLoader: batches, shuffling with an explicit, resumable generator, and collation.

``DataLoader`` turns a dataset into an iterable of batches of glassnet Tensors. For a
:class:`~glassnet.data.TensorDataset` (or a ``Subset`` of one) a batch is cut out with one
fancy-index per underlying array — no Python loop over samples — which makes a batch of 128
MNIST images cost microseconds. Any other dataset goes through ``collate_fn`` (default:
:func:`default_collate`), one ``dataset[i]`` per sample.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor, get_rng
from .dataset import Subset, TensorDataset

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples: list):
    """Stack a list of samples into a batch.

    Tensors and arrays are stacked along a new first dimension into a Tensor; Python ints
    become int64, floats float32, bools bool; tuples/lists/dicts are collated field by field.

    Example:
        >>> x, y = default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 2)])
        >>> x.shape, y.dtype
        ((2, 3), dtype('int64'))
    """
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        arrays = [s.array if isinstance(s, Tensor) else s for s in samples]
        return Tensor(xp_of(arrays[0]).stack(arrays))   # device samples stay on the device
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(samples, dtype=np.float32))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: every sample must have the same number of fields")
        return tuple(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    f"pass a collate_fn")


def _fast_source(dataset):
    """(arrays, index_map or None) when dataset is a TensorDataset or nested Subsets of one."""
    index_map = None
    while isinstance(dataset, Subset):
        index_map = dataset.indices if index_map is None else dataset.indices[index_map]
        dataset = dataset.dataset
    plain = type(dataset).__getitem__ is TensorDataset.__getitem__
    if type(dataset) is TensorDataset or (isinstance(dataset, TensorDataset) and plain):
        return dataset.arrays, index_map
    return None


def _check_int(name: str, value, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"DataLoader({name}): expected an int >= {minimum}, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) batches of Tensors.

    Each ``iter(loader)`` is one epoch. With ``shuffle=True`` every epoch draws a fresh
    permutation from ``loader.generator``, a ``numpy.random.Generator`` owned by the loader, so
    the order is reproducible from ``seed`` and independent of model initialisation.
    ``state_dict()`` captures the generator state, the epoch counter and the position inside
    a running epoch as plain JSON-serialisable values; ``load_state_dict()`` restores them so
    training resumes with exactly the same subsequent batches.

    Batches are built on the host. :func:`glassnet.train.fit` (and ``evaluate``/``predict``)
    move them to the model's device; in a hand-written loop move them yourself, as in
    PyTorch: ``x, y = x.to("cuda"), y.to("cuda")``.

    Args:
        dataset: a map-style dataset (``len`` and ``[i]``).
        batch_size: samples per batch (>= 1).
        shuffle: draw a new random order every epoch.
        drop_last: drop the last batch if it has fewer than ``batch_size`` samples.
        seed: seed of ``loader.generator``; ``None`` draws one from
            ``glassnet.tensor.get_rng()`` when the loader is created (so ``gn.manual_seed``
            makes it reproducible).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
            When given, the TensorDataset fast path is not used.
        num_replicas: number of data-parallel ranks sharing each epoch (see
            :mod:`glassnet.distributed`); every rank must use the same ``seed``.
        rank: this rank (0 … num_replicas-1). It reads positions ``rank, rank +
            num_replicas, …`` of the epoch's order, so the shards are disjoint and together
            form the whole order. With ``shuffle=True`` the last ``N % num_replicas``
            samples of each epoch's order are dropped so every rank gets the same number of
            equal-sized batches (needed for training in lockstep); without shuffling
            (evaluation) they are kept and shards differ by at most one sample.

    Shape:
        For ``TensorDataset(x, y)`` with x: (N, *) and y: (N,), each batch is a tuple
        ``(x_batch, y_batch)`` of Tensors with shapes (B, *) and (B,), B = batch_size (or the
        remainder). dtypes are those of the arrays (e.g. float32 images, int64 labels).
        ``len(loader)`` = ``N // B`` if drop_last else ``ceil(N / B)``, with N the samples
        of this rank's shard (:attr:`num_samples`) when ``num_replicas > 1``.

    Example:
        >>> ds = TensorDataset(np.zeros((100, 1, 28, 28), np.float32), np.zeros(100, np.int64))
        >>> loader = DataLoader(ds, batch_size=32, shuffle=True, seed=0)
        >>> [x.shape[0] for x, y in loader]
        [32, 32, 32, 4]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, collate_fn=None, *,
                 num_replicas: int = 1, rank: int = 0):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader(dataset): expected a dataset with __len__ and "
                            f"__getitem__, got {type(dataset).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader(collate_fn): expected a callable, got "
                            f"{type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._fast = _fast_source(dataset) if collate_fn is None else None
        if seed is None:
            seed = int(get_rng().integers(2**63))
        self.seed = _check_int("seed", seed, 0)
        self.generator = np.random.default_rng(self.seed)
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DataLoader(rank={rank!r}): expected 0 <= rank < num_replicas "
                             f"= {self.num_replicas}")
        self.epoch = 0                 # epochs started before the current/next one
        self._running = None           # {"state": rng state at epoch start, "position": int}
        self._resume_position = 0

    @property
    def num_samples(self) -> int:
        """Samples one epoch yields on this rank (before ``drop_last``)."""
        n, r = len(self.dataset), self.num_replicas
        if r == 1:
            return n
        if self.shuffle:
            return n // r
        return len(range(self.rank, n, r))

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _epoch_order(self):
        """This epoch's sample order (None = 0, 1, 2, … on one rank), this rank's shard."""
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else None
        if self.num_replicas > 1:
            if order is None:
                order = np.arange(n)
            if self.shuffle:
                order = order[:n - n % self.num_replicas]
            order = order[self.rank::self.num_replicas]
        return order

    # -- iteration ---------------------------------------------------------------------------
    def __iter__(self):
        if self._running is not None:           # the previous epoch was abandoned mid-way
            self.epoch += 1
        start_state = copy.deepcopy(self.generator.bit_generator.state)
        order = self._epoch_order()
        n = len(order) if order is not None else len(self.dataset)
        start, self._resume_position = self._resume_position, 0
        self._running = {"state": start_state, "position": start}
        return self._batches(order, n, start)

    def _batches(self, order, n, start):
        b = self.batch_size
        stop = n - n % b if self.drop_last else n
        for pos, lo in enumerate(range(start * b, stop, b), start=start):
            hi = min(lo + b, n)
            idx = order[lo:hi] if order is not None else None
            self._running["position"] = pos + 1
            yield self._fetch(idx, lo, hi)
        self._running = None
        self.epoch += 1

    def _fetch(self, idx, lo, hi):
        if self._fast is not None:
            arrays, index_map = self._fast
            if index_map is not None:
                idx = index_map[idx] if idx is not None else index_map[lo:hi]
            if idx is None:                      # contiguous: slice, then copy (no aliasing)
                return tuple(Tensor(a[lo:hi].copy()) for a in arrays)
            return tuple(Tensor(a[idx]) for a in arrays)
        positions = idx if idx is not None else range(lo, hi)
        return self.collate_fn([self.dataset[int(i)] for i in positions])

    # -- checkpointing -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Generator state, epoch counter and position as JSON-serialisable values.

        Keys: ``seed``; ``epoch`` (index of the running epoch, or of the next one); ``position``
        (batches of that epoch already yielded); ``generator`` (the bit-generator state at
        the start of that epoch).
        """
        if self._running is not None and self._running["position"] < len(self):
            state, position = self._running["state"], self._running["position"]
        elif self._running is not None:          # last batch handed out: the epoch is done
            return {"seed": self.seed, "epoch": self.epoch + 1, "position": 0,
                    "generator": copy.deepcopy(self.generator.bit_generator.state)}
        else:
            state, position = self.generator.bit_generator.state, self._resume_position
        return {"seed": self.seed, "epoch": self.epoch, "position": int(position),
                "generator": copy.deepcopy(state)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``iter(loader)`` resumes at that position."""
        missing = {"epoch", "position", "generator"} - set(state)
        if missing:
            raise ValueError(f"DataLoader.load_state_dict(state): missing keys {sorted(missing)}")
        self.generator.bit_generator.state = copy.deepcopy(state["generator"])
        self.seed = int(state.get("seed", self.seed))
        self.epoch = int(state["epoch"])
        self._resume_position = int(state["position"])
        self._running = None

    def __repr__(self):
        shard = (f", num_replicas={self.num_replicas}, rank={self.rank}"
                 if self.num_replicas > 1 else "")
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}{shard})")
