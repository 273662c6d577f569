"""What every task shares while it trains through :func:`glassnet.train.fit`.

One printout style for all tasks (``verbose``)::

    music: JSB Chorales (quarter): 229 train / 76 validation / 77 test pieces
    Model: MusicLSTM                       <- glassnet.train.summary, with the parameter count
    ...
    Total params: 111,704
    epoch 1/60 ...                         <- fit's progress bars
    music: test nll_per_frame 8.43 | baselines: independent_keys nll_per_frame 11.06, ...

:func:`print_header` prints the first two parts before ``fit`` runs, :func:`print_result` the
last line; :class:`RunHeader` prints the header from inside ``fit`` (``on_train_begin``), for a
caller that only hands callbacks to a training function (the classification recipe).
:class:`ClipGradNorm` is the optimizer wrapper the sequence tasks clip gradients with.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import nn
from ..train import Callback, summary

__all__ = ["header_line", "model_table", "print_header", "result_line", "print_result",
           "app_trainer", "RunHeader", "ClipGradNorm"]


def header_line(task: str, data, parts: dict, unit: str = "") -> str:
    """``"task: data: 100 train / 20 validation / 30 test UNIT"``; ``parts`` maps a part's
    name to its size (a part given as None is left out)."""
    sizes = " / ".join(f"{n} {name}" for name, n in parts.items() if n is not None)
    return f"{task}: {data}: {sizes}{' ' + unit if unit else ''}"


def _parameter_table(model) -> str:
    """Parameters per top-level child, for a model whose input is not one tensor."""
    rows = [(name, type(mod).__name__, mod.num_parameters())
            for name, mod in model.named_children()]
    width = max([len("Layer (type)")] + [len(f"{n} ({t})") for n, t, _ in rows]) + 2
    total = model.num_parameters()
    lines = [f"Model: {type(model).__name__}", f"{'Layer (type)':<{width}}Param #"]
    lines += [f"{f'{n} ({t})':<{width}}{c:,}" for n, t, c in rows]
    lines += [f"Total params: {total:,}"]
    return "\n".join(lines)


def model_table(model, input_shape=None, *, dtype=np.float32) -> str:
    """:func:`glassnet.train.summary`'s table of ``model`` for one input sample of
    ``input_shape`` (layers, output shapes, parameter count), or, with ``input_shape=None``
    (a model whose input is not one tensor), its parameters per child and in all."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model_table(model): expected a glassnet.nn.Module, got "
                        f"{type(model).__name__}")
    return (_parameter_table(model) if input_shape is None
            else summary(model, input_shape, dtype=dtype, print_fn=None))


def print_header(task: str, data, parts: dict, model, input_shape=None, *,
                 dtype=np.float32, unit: str = "", print_fn=print) -> str:
    """Print the header line and the model summary with its parameter count.

    Args:
        task, data, parts, unit: see :func:`header_line`.
        model: the :class:`glassnet.nn.Module` about to be trained.
        input_shape: shape of ONE input sample for :func:`glassnet.train.summary` (its layer
            table with output shapes); ``None`` for a model whose input is not one tensor
            (a tuple, e.g. ``(src, lengths, tgt_in)``): then its parameters per child.
        dtype: dtype of the summary's dummy input (``np.int64`` for token ids).
        print_fn: where the lines go (``None``: only return them).

    Returns:
        The printed text.
    """
    text = header_line(task, data, parts, unit) + "\n" + model_table(model, input_shape,
                                                                      dtype=dtype)
    if print_fn is not None:
        print_fn(text)
    return text


def _figures(scores: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in scores.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool))


def result_line(task: str, test: dict, baselines: dict | None = None, run_dir=None,
                note: str = "") -> str:
    """``"task: test m1 v1, m2 v2 | baselines: name m v; ... | note | run written to RUN"``."""
    line = f"{task}: test {_figures(test)}"
    if baselines:
        line += " | baselines: " + "; ".join(f"{name} {_figures(s)}"
                                             for name, s in baselines.items())
    if note:
        line += f" | {note}"
    if run_dir is not None:
        line += f" | run written to {run_dir}"
    return line


def print_result(task: str, test: dict, baselines: dict | None = None, run_dir=None,
                 note: str = "", print_fn=print) -> str:
    """Print :func:`result_line` (the last line of every run) and return it."""
    line = result_line(task, test, baselines, run_dir, note)
    if print_fn is not None:
        print_fn(line)
    return line


def app_trainer(task: str, train_fn, note):
    """The ``train`` of a registered :class:`~glassnet.runs.Task` for an app whose recipe has a
    ``data_dir`` key: ``--data-dir`` replaces the recipe's, ``train_fn(recipe, run_dir,
    overwrite=, verbose=)`` returns the ``run.json`` record, then the result line is printed
    with ``note(record, recipe)`` after the test figures and baselines."""
    def train(recipe, run_dir, *, overwrite=False, verbose=True, data_dir=None) -> dict:
        if data_dir is not None:
            recipe = dataclasses.replace(recipe, data_dir=str(data_dir))
        res = train_fn(recipe, run_dir, overwrite=overwrite, verbose=verbose)
        if verbose:
            print_result(task, res["test"], res["baselines"], run_dir, note(res, recipe))
        return res
    train.__doc__ = f"The ``{task}`` task of glassnet.runs: ``glassnet train RECIPE.toml``."
    return train


class RunHeader(Callback):
    """Print :func:`print_header` when ``fit`` starts (``on_train_begin``), with the model
    ``fit`` trains; the part sizes are the lengths of the train and validation datasets
    when ``parts`` is not given.

    Args:
        task, data: the first two fields of the header line.
        input_shape: one sample's shape for the summary; ``None``: taken from the first
            sample of the training dataset (``train_data.dataset[0]``).
        parts: ``{name: size}``; ``None``: train and validation from ``fit``'s loaders.
        extra_parts: sizes appended to the derived ones (e.g. ``{"test": 10000}``).
    """

    def __init__(self, task: str, data, *, input_shape=None, parts: dict | None = None,
                 extra_parts: dict | None = None, print_fn=print):
        self.task, self.data, self.input_shape = task, data, input_shape
        self.parts, self.extra_parts, self.print_fn = parts, extra_parts or {}, print_fn

    def on_train_begin(self, logs):
        ctx = self.context
        parts = self.parts
        if parts is None:
            parts = {"train": _dataset_size(ctx.train_data),
                     "validation": _dataset_size(ctx.val_data), **self.extra_parts}
        shape = self.input_shape
        if shape is None:
            dataset = getattr(ctx.train_data, "dataset", None)
            shape = np.shape(dataset[0][0]) if dataset is not None else None
        print_header(self.task, self.data, parts, ctx.model, shape, print_fn=self.print_fn)


def _dataset_size(loader):
    dataset = getattr(loader, "dataset", None)
    return len(dataset) if dataset is not None else None


class ClipGradNorm:
    """Optimizer wrapper: ``step()`` clips the gradients' global norm to ``max_norm``
    (:func:`glassnet.nn.utils.clip_grad_norm_`) and then steps ``optimizer``.

    Example:
        >>> opt = ClipGradNorm(optim.Adam(model.parameters(), lr=1e-3), max_norm=1.0)
        >>> fit(model, loss_fn, opt, batches)
    """

    def __init__(self, optimizer, max_norm: float):
        self.optimizer, self.max_norm = optimizer, max_norm
        self.param_groups = optimizer.param_groups

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        params = [p for g in self.param_groups for p in g["params"]]
        nn.utils.clip_grad_norm_(params, self.max_norm)
        self.optimizer.step()

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state)
