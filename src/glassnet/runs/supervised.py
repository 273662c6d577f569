"""Training shared by the supervised tasks (image classification, tabular data).

One loop: :func:`glassnet.train.fit` with early stopping on the validation part (best
weights kept), the model summary and parameter count printed first, and the test part
evaluated once at the end.
"""
from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..data import DataLoader, TensorDataset
from ..tensor import manual_seed
from ..train import EarlyStopping, evaluate, fit, predict, summary

__all__ = ["fit_supervised", "scores", "split_indices", "majority_baseline", "OPTIMIZERS"]

OPTIMIZERS = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD}


def split_indices(n: int, fraction: float, seed: int):
    """A seeded random split of range(n): (kept, held-out) index arrays."""
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(n * fraction))) if fraction > 0 else 0
    return np.sort(perm[k:]), np.sort(perm[:k])


def fit_supervised(model, recipe, train, val, *, classification: bool, verbose: bool):
    """Fit ``model`` on ``train = (x, y)``, early stopping on ``val``; returns (history,
    best epoch). ``recipe`` supplies epochs, patience, batch_size, optimizer, lr,
    weight_decay and seed."""
    manual_seed(recipe.seed)
    if verbose:
        summary(model, train[0].shape[1:])
    loss_fn = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    metrics = ("accuracy",) if classification else ()
    kwargs = {"weight_decay": recipe.weight_decay}
    if recipe.optimizer == "sgd":
        kwargs["momentum"] = 0.9
    opt = OPTIMIZERS[recipe.optimizer](model.parameters(), lr=recipe.lr, **kwargs)
    tr = DataLoader(TensorDataset(*train), batch_size=recipe.batch_size, shuffle=True,
                    seed=recipe.seed)
    va = DataLoader(TensorDataset(*val), batch_size=256)
    stop = EarlyStopping("val_loss", patience=recipe.patience, restore_best=True)
    history = fit(model, loss_fn, opt, tr, va, epochs=recipe.epochs, metrics=metrics,
                  callbacks=[stop], verbose=verbose)
    return history, (stop.best_epoch or 0) + 1


def scores(model, data, classification: bool) -> dict:
    """Test (or validation) figures of a fitted model on ``data = (x, y)``."""
    x, y = data
    if classification:
        res = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=256),
                       nn.CrossEntropyLoss())
        return {"accuracy": res["accuracy"], "loss": res["loss"]}
    out = predict(model, x).reshape(-1).astype(np.float64)
    err = out - y.reshape(-1).astype(np.float64)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}


def majority_baseline(y_train, y_test) -> dict:
    """Accuracy on the test labels of always answering the most frequent training class."""
    top = np.bincount(y_train).argmax()
    return {"accuracy": float(np.mean(y_test == top)), "class": int(top)}
