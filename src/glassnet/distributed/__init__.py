"""Data-parallel training over MPI (mpi4py): one process per rank, the same script on each.

    mpiexec -n 2 glassnet train recipes/digits_mlp.toml --distributed

    from glassnet import distributed
    comm = distributed.init()                       # Communicator over MPI.COMM_WORLD
    hist = distributed.fit(model, loss_fn, opt, train_loader, val_loader, epochs=5)
    distributed.evaluate(model, test_loader, loss_fn)

Rank 0 broadcasts the initial parameters; every rank reads a disjoint shard of each epoch's
shuffled order (``DataLoader(..., num_replicas=, rank=)``); after ``backward()`` the
gradients are averaged with one non-blocking ``Allreduce`` per fusion bucket
(:class:`GradientBuckets`); only rank 0 writes checkpoints, logs and progress bars; epoch
and evaluation metrics are reduced over ranks. Every collective has a deadline: a dead or
hung rank makes the others abort the job with a one-line error instead of hanging. See
``docs/distributed.md`` for the design, the measured throughput and a scaling model.

mpi4py is optional (``pip install 'glassnet[mpi]'``) and imported only by :func:`init`.
"""
from .buckets import (DEFAULT_BUCKET_MB, DistributedOptimizer, GradientBuckets,
                      broadcast_parameters)
from .comm import (DEFAULT_TIMEOUT, CollectiveTimeout, Communicator, LocalCommunicator, init,
                   mpi_available)
from .training import RANK_ZERO_CALLBACKS, evaluate, fit, shard_loader

__all__ = ["init", "mpi_available", "Communicator", "LocalCommunicator", "CollectiveTimeout",
           "GradientBuckets", "DistributedOptimizer", "broadcast_parameters", "fit", "evaluate",
           "shard_loader", "RANK_ZERO_CALLBACKS", "DEFAULT_BUCKET_MB", "DEFAULT_TIMEOUT"]
