"""Data-parallel :func:`fit` and :func:`evaluate`: the single-process loop plus four things.

1. rank 0's parameters and buffers are broadcast to every rank before the first step;
2. each rank reads its own shard of every epoch's shuffled order (:func:`shard_loader`);
3. the optimizer is wrapped in a :class:`DistributedOptimizer`, so after ``backward()``
   the gradients are averaged over ranks (bucketed all-reduce) before the update;
4. epoch logs (training loss/metrics, validation loss/metrics) are reduced over ranks
   before any callback sees them, so early stopping and schedulers decide the same on
   every rank; progress bars, loggers and checkpoints run on rank 0 only.

Everything else — callbacks, resume, the history — is :func:`glassnet.train.fit`.
"""
from __future__ import annotations

from ..data import DataLoader
from ..data.loader import default_collate
from ..train import loop
from ..train.callbacks import Callback, CSVLogger, JSONLLogger, ModelCheckpoint, ProgressBar
from ..train.metrics import get_metric
from .buckets import DEFAULT_BUCKET_MB, DistributedOptimizer, broadcast_parameters
from .comm import init

__all__ = ["fit", "evaluate", "shard_loader", "RANK_ZERO_CALLBACKS"]

#: callbacks that write files or to the terminal: only rank 0 runs them. A callback of
#: another class with the attribute ``rank_zero_only = True`` is treated the same way.
RANK_ZERO_CALLBACKS = (ProgressBar, CSVLogger, JSONLLogger, ModelCheckpoint)


def shard_loader(loader: DataLoader, comm, *, split_batch: bool = True) -> DataLoader:
    """This rank's view of ``loader``: same dataset, seed and options, one shard per rank.

    Args:
        loader: a single-process :class:`~glassnet.data.DataLoader`.
        comm: the communicator (its ``rank`` and ``size`` pick the shard).
        split_batch: divide ``batch_size`` by the number of ranks, so one global step sees
            ``batch_size`` samples as in the single-process run (it must divide evenly);
            ``False`` keeps ``batch_size`` per rank (evaluation).

    Example:
        >>> train = shard_loader(DataLoader(ds, 128, shuffle=True, seed=0), comm)
        >>> train.batch_size                       # on 2 ranks
        64
    """
    if not isinstance(loader, DataLoader):
        raise TypeError(f"shard_loader(loader): expected a glassnet DataLoader, got "
                        f"{type(loader).__name__}")
    if loader.num_replicas != 1:
        raise ValueError(f"shard_loader(loader): already sharded "
                         f"(num_replicas={loader.num_replicas})")
    batch = loader.batch_size
    if split_batch:
        if batch % comm.size:
            raise ValueError(f"shard_loader(loader): batch_size={batch} is not divisible by "
                             f"the {comm.size} ranks (the global batch is split evenly)")
        batch //= comm.size
    collate = None if loader.collate_fn is default_collate else loader.collate_fn
    return DataLoader(loader.dataset, batch, shuffle=loader.shuffle, drop_last=loader.drop_last,
                      seed=loader.seed, collate_fn=collate, num_replicas=comm.size,
                      rank=comm.rank)


def _prepare(data, comm, split_batch):
    if comm.size > 1 and isinstance(data, DataLoader):
        if data.num_replicas == 1:
            return shard_loader(data, comm, split_batch=split_batch)
        if data.num_replicas != comm.size or data.rank != comm.rank:
            raise ValueError(f"distributed.fit: loader sharded for rank {data.rank} of "
                             f"{data.num_replicas}, but this is rank {comm.rank} of "
                             f"{comm.size}")
    return data


def _local_count(data):
    return data.num_samples if isinstance(data, DataLoader) else None


class _SyncLogs(Callback):
    """Replace each epoch's logs (and the history's last row) by their mean over ranks:
    training values weighted by the samples each rank trained on, validation values by
    each rank's validation shard. Runs before every other callback."""

    order = -1000

    def __init__(self, comm, val_count):
        self.comm, self.val_count, self.seen = comm, val_count, 0

    def on_epoch_begin(self, epoch, logs):
        self.seen = 0

    def on_batch_end(self, step, logs):
        self.seen += int(logs.get("size", 0))

    def on_epoch_end(self, epoch, logs):
        keys = sorted(k for k in logs if k != "lr")
        weights = [float(self.val_count if k.startswith("val_") and self.val_count is not None
                         else self.seen if not k.startswith("val_") else 1) for k in keys]
        sums = self.comm.allreduce_sum([w * logs[k] for k, w in zip(keys, weights)] + weights,
                                       what="all-reduce of the epoch logs")
        n = len(keys)
        history = self.context.history.history
        for i, k in enumerate(keys):
            value = float(sums[i] / sums[n + i]) if sums[n + i] else float(logs[k])
            logs[k] = value
            history[k][-1] = value


def fit(model, loss_fn, optimizer, train_data, val_data=None, *, comm=None,
        bucket_mb: float = DEFAULT_BUCKET_MB, callbacks=(), verbose: bool = True,
        abort_on_error: bool = True, **kwargs):
    """Data-parallel :func:`glassnet.train.fit`; run the same script on every rank.

    ``train_data``/``val_data`` that are unsharded :class:`~glassnet.data.DataLoader` s are
    sharded here (:func:`shard_loader`): the training batch size is the *global* batch,
    split evenly over the ranks, so N ranks take the same steps as one process would
    (up to float32 summation order). Callbacks in :data:`RANK_ZERO_CALLBACKS` (and the
    progress bar) run on rank 0 only; the others run everywhere and see logs already
    averaged over ranks.

    Args:
        model, loss_fn, optimizer, train_data, val_data: as for :func:`glassnet.train.fit`.
        comm: a communicator (default :func:`glassnet.distributed.init`).
        bucket_mb: gradient fusion-bucket size in megabytes.
        callbacks, verbose: as for :func:`glassnet.train.fit` (rank 0 only for writers).
        abort_on_error: on more than one rank, an exception on any rank prints one line
            and aborts the whole job (``MPI_Abort``) instead of leaving the other ranks
            waiting in a collective. Ctrl-C instead stops every rank after a barrier.
        **kwargs: passed to :func:`glassnet.train.fit` (``epochs``, ``metrics``,
            ``resume_from``, ``recipe``).

    Returns:
        The :class:`~glassnet.train.History` (the same on every rank).

    Example:
        >>> # mpiexec -n 2 python train.py
        >>> from glassnet import distributed
        >>> hist = distributed.fit(model, nn.CrossEntropyLoss(), opt, train_loader,
        ...                        val_loader, epochs=5)
    """
    comm = comm if comm is not None else init()
    try:
        train_data = _prepare(train_data, comm, split_batch=True)
        val_data = _prepare(val_data, comm, split_batch=False)
        cbs = list(callbacks)
        if not comm.is_main:
            cbs = [cb for cb in cbs if not (isinstance(cb, RANK_ZERO_CALLBACKS)
                                            or getattr(cb, "rank_zero_only", False))]
            verbose = False
        if comm.size > 1:
            cbs.append(_SyncLogs(comm, _local_count(val_data)))
        broadcast_parameters(model, comm)
        buffers = [b for _, b in model.named_buffers()]
        dopt = DistributedOptimizer(optimizer, comm, bucket_mb=bucket_mb, buffers=buffers)
        return loop.fit(model, loss_fn, dopt, train_data, val_data, callbacks=cbs,
                        verbose=verbose, **kwargs)
    except KeyboardInterrupt:
        # mpiexec forwards Ctrl-C to every rank and each stops after its running step:
        # wait for rank 0's checkpoint, then stop together (a mismatch hits the watchdog)
        if comm.size > 1:
            comm.barrier("barrier after Ctrl-C (rank 0 saves the stopped step)")
        raise
    except BaseException as e:
        if abort_on_error and comm.size > 1:
            comm.abort(f"{type(e).__name__}: {e}".rstrip(": "), 1)
        raise


def evaluate(model, data, loss_fn=None, metrics=("accuracy",), *, comm=None) -> dict:
    """:func:`glassnet.train.evaluate` over every rank's shard, averaged over all samples.

    Args:
        model, loss_fn, metrics: as for :func:`glassnet.train.evaluate`.
        data: a DataLoader (sharded here if it is not yet) or this rank's iterable of
            batches (then every rank counts equally).
        comm: the communicator (default :func:`glassnet.distributed.init`).

    Returns:
        ``{"loss": ..., "<metric>": ...}``, identical on every rank.

    Example:
        >>> distributed.evaluate(model, test_loader, nn.CrossEntropyLoss())
        {'loss': 0.071, 'accuracy': 0.978}
    """
    comm = comm if comm is not None else init()
    data = _prepare(data, comm, split_batch=False)
    count = _local_count(data)
    local = loop.evaluate(model, data, loss_fn, metrics) if count != 0 else None
    if comm.size == 1:
        return local
    weight = float(1 if count is None else count)
    names = (["loss"] if loss_fn is not None else []) + \
        [get_metric(m)[0] for m in metrics]
    values = [weight * local[k] if local else 0.0 for k in names]
    sums = comm.allreduce_sum(values + [weight if local else 0.0],
                              what="all-reduce of evaluation metrics")
    if sums[-1] == 0:
        raise ValueError("distributed.evaluate(data): produced no batches on any rank")
    return {k: float(sums[i] / sums[-1]) for i, k in enumerate(names)}
