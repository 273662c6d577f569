"""``glassnet train RECIPE --distributed``: :func:`glassnet.train.recipe.train_recipe` on
every rank of an MPI job.

The recipe's ``batch_size`` is the global batch (split evenly over the ranks), so
``mpiexec -n 2 glassnet train recipes/digits_mlp.toml --distributed`` takes the same steps
as the single-process run. Rank 0 alone writes the run directory (recipe, logs,
checkpoints, weights, ``run.json``); test metrics are reduced over all ranks.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .. import nn
from ..io import CheckpointError, atomic_write_text, save_weights
from ..train.recipe import check_writable, remove_stale_temporaries, setup_run
from . import training
from .comm import init

__all__ = ["train_recipe"]


def _prepare_run_dir(recipe, run_dir: Path, resume: bool) -> None:
    check_writable(run_dir)
    if resume and not (run_dir / "checkpoints").is_dir():
        raise CheckpointError(f"--resume {run_dir}: no checkpoints folder to resume from")
    remove_stale_temporaries(run_dir)
    atomic_write_text(run_dir / "recipe.toml", recipe.to_toml())


def train_recipe(recipe, run_dir, *, comm=None, resume: bool = False, data_dir=None,
                 verbose: bool = True, callbacks=(),
                 bucket_mb: float = training.DEFAULT_BUCKET_MB) -> dict:
    """Data-parallel :func:`glassnet.train.recipe.train_recipe` (same arguments and result).

    Args:
        recipe: the :class:`~glassnet.train.recipe.Recipe`; ``batch_size`` is global and
            must be divisible by the number of ranks.
        run_dir: output folder, written by rank 0 only.
        comm: the communicator (default :func:`glassnet.distributed.init`).
        resume, data_dir, verbose, callbacks: as for the single-process version.
        bucket_mb: gradient fusion-bucket size in megabytes.

    Returns:
        The contents of ``run.json`` (on every rank).

    Example:
        >>> # mpiexec -n 2 python -c "..."
        >>> train_recipe(Recipe.from_toml("recipes/digits_mlp.toml"), "runs/dp")["test"]
    """
    comm = comm if comm is not None else init()
    run_dir = Path(run_dir)
    if recipe.batch_size % comm.size:
        raise ValueError(f"recipe: batch_size = {recipe.batch_size} should be divisible by "
                         f"the {comm.size} ranks (it is the global batch)")
    try:
        if comm.is_main:
            _prepare_run_dir(recipe, run_dir, resume)
        comm.barrier("start barrier (rank 0 prepares the run directory)")
        model, opt, loaders, setup_callbacks, meta = setup_run(recipe, run_dir, data_dir)
    except BaseException as e:
        if comm.size > 1:
            comm.abort(f"{type(e).__name__}: {e}")
        raise
    callbacks = [*setup_callbacks, *callbacks]
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    history = training.fit(model, loss_fn, opt, loaders["train"], loaders["val"],
                           comm=comm, bucket_mb=bucket_mb, epochs=recipe.epochs,
                           callbacks=callbacks, verbose=verbose, recipe=recipe.to_dict(),
                           resume_from=run_dir / "checkpoints" if resume else None)
    seconds = time.perf_counter() - start
    test = training.evaluate(model, loaders["test"], loss_fn, comm=comm)
    result = {**meta, "test": test, "train_seconds": round(seconds, 3),
              "epochs_run": len(history), "history": history.to_dict(),
              "ranks": comm.size}
    if comm.is_main:
        save_weights(model, run_dir / "weights.safetensors")
        atomic_write_text(run_dir / "run.json", json.dumps(result, indent=1))
    comm.barrier("end barrier (rank 0 writes the weights)")
    return result
