"""Task ``tabular``: a CSV table with a target column — classification or regression.

Every column but the target is a numeric feature, standardised with the training part's
mean and spread. ``kind = "auto"`` makes it a classification when the target is text or
takes at most 20 distinct integer values, else a regression. ``model = "auto"`` fits a
linear model (one layer of neurons) and an MLP and keeps the better on the validation part.
The test part is read once. Baselines: the majority class (classification); the training
mean and least-squares linear regression (regression).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from ..data.user_files import load_table
from ..io import load_weights, save_weights
from ..models import PRESETS, build_model
from ..train import predict
from .common import header_line, print_result
from .recipe import TaskRecipe, param
from .registry import Task, register
from .rundir import prepare_run_dir, read_run_json, resolve_data, write_run_json
from .supervised import OPTIMIZERS, fit_supervised, majority_baseline, scores, split_indices

__all__ = ["TabularRecipe", "train_tabular"]


@dataclasses.dataclass
class TabularRecipe(TaskRecipe):
    task: str = "tabular"
    data: str = param("", required="a CSV path")
    target_column: str | None = None    # default: the last column
    kind: str = param("auto", choices=("auto", "classification", "regression"))
    model: str = param("auto", choices=("auto", *sorted(set(PRESETS) - {"cnn"})))
    test_fraction: float = param(0.2, gt=0, lt=1)
    val_fraction: float = param(0.15, gt=0, lt=1)
    epochs: int = param(200, ge=1)      # most epochs; early stopping on validation loss
    patience: int = param(15, ge=1)
    batch_size: int = param(32, ge=1)
    optimizer: str = param("adam", choices=tuple(sorted(OPTIMIZERS)))
    lr: float = param(0.003, gt=0)
    weight_decay: float = param(0.0, ge=0)
    seed: int = param(0, ge=0)


def _targets(raw: np.ndarray, kind: str, where: str):
    """(y, classes or None): class ids for a classification, floats for a regression."""
    nums = []
    for v in raw:
        try:
            nums.append(float(v))
        except ValueError:
            nums = None
            break
    if kind == "auto":
        integral = nums is not None and all(float(v).is_integer() for v in nums)
        kind = "classification" if nums is None or (integral and len(set(nums)) <= 20) \
            else "regression"
    if kind == "regression":
        if nums is None or not np.isfinite(nums).all():
            bad = next(v for v in raw if not _is_number(v))
            raise ValueError(f"{where}: a regression target must be numeric, got {bad!r}")
        return np.asarray(nums, np.float32), None
    classes = sorted(set(raw.tolist()), key=lambda c: (not _is_number(c),
                                                       float(c) if _is_number(c) else 0, c))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in raw], np.int64), classes


def _is_number(text) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _linear_regression(x, y, xt) -> np.ndarray:
    a = np.c_[x, np.ones(len(x))].astype(np.float64)
    w, *_ = np.linalg.lstsq(a, y.astype(np.float64), rcond=None)
    return np.c_[xt, np.ones(len(xt))] @ w


def train_tabular(recipe: TabularRecipe, run_dir, *, overwrite=False, verbose=True,
                  data_dir=None) -> dict:
    start = time.perf_counter()
    path = resolve_data(recipe.data, data_dir)
    x, raw, features = load_table(path, recipe.target_column)
    y, classes = _targets(raw, recipe.kind, f"data {path}")
    cls = classes is not None
    rest, test = split_indices(len(x), recipe.test_fraction, recipe.seed)
    tr_pos, va_pos = split_indices(len(rest), recipe.val_fraction, recipe.seed + 1)
    tr, va = rest[tr_pos], rest[va_pos]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0) + 1e-6
    norm = lambda a: ((a - mean) / std).astype(np.float32)               # noqa: E731
    y_mean, y_std = (0.0, 1.0) if cls else (float(y[tr].mean()), float(y[tr].std() or 1.0))
    ys = (lambda v: v) if cls else (lambda v: ((v - y_mean) / y_std).astype(np.float32)[:, None])
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    if verbose:
        what = f"classification, {len(classes)} classes" if cls else "regression"
        print(header_line("tabular", path, {"train": len(tr), "validation": len(va),
                                            "test": len(test)},
                          f"rows, {len(features)} features; {what}"))
    outputs = len(classes) if cls else 1
    candidates = ["linear", "mlp-small"] if recipe.model == "auto" else [recipe.model]
    fitted = {}
    for name in candidates:
        model = build_model(name, (len(features),), outputs)
        history, best = fit_supervised(model, recipe, (norm(x[tr]), ys(y[tr])),
                                       (norm(x[va]), ys(y[va])), classification=cls,
                                       verbose=verbose)
        val = scores(model, (norm(x[va]), ys(y[va])), cls)
        if not cls:                                # in the target's own units
            val = {k: v * y_std for k, v in val.items()}
        fitted[name] = (model, val, best, len(history))
    key = (lambda n: -fitted[n][1]["accuracy"]) if cls else (lambda n: fitted[n][1]["rmse"])
    chosen = min(fitted, key=key)
    model, val, best_epoch, epochs_run = fitted[chosen]
    save_weights(model, run_dir / "weights.safetensors")
    test_scores = scores(model, (norm(x[test]), ys(y[test])), cls)
    if cls:
        baselines = {"majority_class": majority_baseline(y[tr], y[test])}
    else:
        for k in ("rmse", "mae"):                  # back to the target's own units
            test_scores[k] *= y_std
        lin = _linear_regression(x[tr], y[tr], x[test])
        err_mean, err_lin = y[test] - y[tr].mean(), y[test] - lin
        baselines = {"mean": {"rmse": float(np.sqrt(np.mean(err_mean ** 2))),
                              "mae": float(np.mean(np.abs(err_mean)))},
                     "linear_regression": {"rmse": float(np.sqrt(np.mean(err_lin ** 2))),
                                           "mae": float(np.mean(np.abs(err_lin)))}}
    record = {"task": "tabular", "data": str(path), "kind": "classification" if cls else
              "regression", "test": test_scores, "baselines": baselines, "chosen": chosen,
              "validation": {n: f[1] for n, f in fitted.items()},
              "why": f"best validation {'accuracy' if cls else 'RMSE'} of {candidates}",
              "best_epoch": best_epoch, "epochs_run": epochs_run, "features": features,
              "classes": classes, "mean": mean.tolist(), "std": std.tolist(),
              "y_mean": y_mean, "y_std": y_std,
              "train_seconds": round(time.perf_counter() - start, 2)}
    write_run_json(run_dir, record)
    if verbose:
        print_result("tabular", test_scores, baselines, run_dir,
                     f"chosen {chosen} ({record['why']})")
    return record


def _predict_cli(run_dir, args) -> str:
    if not getattr(args, "file", None):
        raise ValueError("predict: give a CSV file with the run's feature columns")
    run = read_run_json(run_dir)
    x, _, _ = load_table(args.file, features=run["features"])
    model = build_model(run["chosen"], (len(run["features"]),),
                        len(run["classes"]) if run["classes"] else 1)
    load_weights(model, Path(run_dir) / "weights.safetensors")
    xs = ((x - np.asarray(run["mean"])) / np.asarray(run["std"])).astype(np.float32)
    out = predict(model, xs)
    if run["classes"]:
        return "\n".join(json.dumps({"row": i, "class": run["classes"][int(o.argmax())]})
                         for i, o in enumerate(out))
    vals = out.reshape(-1) * run["y_std"] + run["y_mean"]
    return "\n".join(json.dumps({"row": i, "value": float(v)}) for i, v in enumerate(vals))


register(Task(name="tabular", summary="classification or regression of rows of a CSV table",
              recipe=TabularRecipe, train=train_tabular, predict=_predict_cli,
              formats="CSV with a header row; numeric feature columns and a target_column "
                      "(default: the last)"))
