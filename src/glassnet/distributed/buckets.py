"""Gradient fusion buckets, parameter broadcast, and the :class:`DistributedOptimizer`.

One ``MPI_Allreduce`` per parameter would pay the network latency once per tensor (an
LSTM has a dozen, a ResNet hundreds). Instead the parameters are grouped, in order, into
*buckets* of at most ``bucket_mb`` megabytes; after ``backward()`` each bucket's gradients
are copied into one flat float32 buffer, every bucket's all-reduce is started (they proceed
together), and the averaged values are handed back as the parameters' ``.grad``. A parameter
larger than a bucket gets a bucket of its own.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["GradientBuckets", "broadcast_parameters", "DistributedOptimizer",
           "DEFAULT_BUCKET_MB"]

#: default fusion-bucket size in megabytes (PyTorch DDP uses 25 MB as well).
DEFAULT_BUCKET_MB = 25.0


def _check_bucket_mb(bucket_mb) -> float:
    if isinstance(bucket_mb, bool) or not isinstance(bucket_mb, (int, float)) \
            or not bucket_mb > 0:
        raise ValueError(f"bucket_mb={bucket_mb!r}: expected a number of megabytes > 0")
    return float(bucket_mb)


class GradientBuckets:
    """Average the gradients of ``params`` over all ranks, one all-reduce per bucket.

    Args:
        params: the parameters (Tensors), in a fixed order that is the same on every rank.
        comm: a :class:`~glassnet.distributed.Communicator` (or ``LocalCommunicator``).
        bucket_mb: bucket size in megabytes (1 MB = 2**20 bytes).

    Attributes:
        buckets: list of lists of parameter indices; sizes: elements per bucket.

    A parameter without a gradient on this rank contributes zeros and keeps
    ``grad = None`` afterwards (all ranks should agree on which parameters are used).

    Example:
        >>> buckets = GradientBuckets(model.parameters(), comm, bucket_mb=4)
        >>> loss.backward(); buckets.allreduce(); opt.step()
    """

    def __init__(self, params, comm, *, bucket_mb: float = DEFAULT_BUCKET_MB):
        self.params = list(params)
        for p in self.params:
            if not isinstance(p, Tensor):
                raise TypeError(f"GradientBuckets(params): expected Tensors, got "
                                f"{type(p).__name__}")
            if p.array.dtype != np.float32:
                raise TypeError(f"GradientBuckets(params): expected float32 parameters, got "
                                f"{p.array.dtype} of shape {p.shape}")
        self.comm = comm
        self.bucket_mb = _check_bucket_mb(bucket_mb)
        limit = max(1, int(self.bucket_mb * 2**20) // 4)
        self.buckets, current, size = [], [], 0
        for i, p in enumerate(self.params):
            n = p.array.size
            if current and size + n > limit:
                self.buckets.append(current)
                current, size = [], 0
            current.append(i)
            size += n
        if current:
            self.buckets.append(current)
        self.sizes = [sum(self.params[i].array.size for i in b) for b in self.buckets]

    def __repr__(self):
        return (f"GradientBuckets({len(self.params)} parameters, {len(self.buckets)} buckets "
                f"of <= {self.bucket_mb:g} MB)")

    def allreduce(self) -> None:
        """Replace every ``p.grad`` by the mean of the ranks' gradients (float32).

        Fresh buffers each call: the new gradients are views of them and never alias the
        arrays autograd produced (which may be shared between parameters)."""
        if self.comm.size == 1:
            return
        flats, requests = [], []
        for bucket, n in zip(self.buckets, self.sizes):
            flat = np.empty(n, np.float32)
            off = 0
            for i in bucket:
                p = self.params[i]
                k = p.array.size
                if p.grad is None:
                    flat[off:off + k] = 0
                else:
                    flat[off:off + k] = p.grad.array.reshape(-1)
                off += k
            flats.append(flat)
            requests.append(self.comm.start_allreduce_(flat))
        self.comm.wait(requests, f"gradient all-reduce ({len(requests)} buckets)")
        scale = np.float32(1.0 / self.comm.size)
        for bucket, flat in zip(self.buckets, flats):
            flat *= scale
            off = 0
            for i in bucket:
                p = self.params[i]
                k = p.array.size
                if p.grad is not None:
                    p.grad = Tensor(flat[off:off + k].reshape(p.array.shape))
                off += k


def _flat_broadcast(tensors, comm, what: str) -> None:
    """Copy rank 0's values of ``tensors`` to every rank, one broadcast per dtype."""
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t.array.dtype, []).append(t)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([t.array.reshape(-1) for t in group]).astype(dtype, copy=False)
        flat = np.ascontiguousarray(flat)
        comm.broadcast_(flat, root=0, what=what)
        off = 0
        for t in group:
            k = t.array.size
            np.copyto(t.array, flat[off:off + k].reshape(t.array.shape))
            off += k


def broadcast_parameters(model, comm) -> None:
    """Give every rank rank 0's parameters and buffers (in place).

    Args:
        model: a :class:`glassnet.nn.Module` built the same way on every rank.
        comm: the communicator.

    Example:
        >>> broadcast_parameters(model, comm)    # before the first step
    """
    if comm.size == 1:
        return
    tensors = list(model.parameters()) + [b for _, b in model.named_buffers()]
    _flat_broadcast(tensors, comm, "parameter broadcast")


class DistributedOptimizer:
    """Wrap an optimizer so that ``step()`` first averages the gradients over all ranks.

    Everything else (``zero_grad``, ``param_groups``, ``state_dict``, ``load_state_dict``,
    ``state``) is the wrapped optimizer's, so schedulers and checkpoints work unchanged.

    Args:
        optimizer: a ``glassnet.optim`` optimizer.
        comm: the communicator.
        bucket_mb: fusion-bucket size in megabytes.
        buffers: Tensors (e.g. BatchNorm running statistics) to copy from rank 0 to all
            ranks after every step, so every rank evaluates with the same statistics.

    Example:
        >>> opt = DistributedOptimizer(gn.optim.SGD(model.parameters(), lr=0.1), comm)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, optimizer, comm, *, bucket_mb: float = DEFAULT_BUCKET_MB,
                 buffers=()):
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer(optimizer): already distributed")
        if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "step"):
            raise TypeError(f"DistributedOptimizer(optimizer): expected a glassnet "
                            f"optimizer, got {type(optimizer).__name__}")
        self.optimizer, self.comm = optimizer, comm
        params = [p for g in optimizer.param_groups for p in g["params"]]
        self.buckets = GradientBuckets(params, comm, bucket_mb=bucket_mb)
        self.buffers = list(buffers)

    def step(self, closure=None):
        """All-reduce (average) the gradients, then apply the wrapped optimizer's update."""
        if closure is not None:
            raise ValueError("DistributedOptimizer.step(closure): closures are not supported")
        self.buckets.allreduce()
        out = self.optimizer.step()
        if self.buffers and self.comm.size > 1:
            _flat_broadcast(self.buffers, self.comm, "buffer broadcast")
        return out

    def __getattr__(self, name):
        return getattr(self.optimizer, name)

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r}, {self.buckets!r})"
