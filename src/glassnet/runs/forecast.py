"""Task ``forecast``: one-step-ahead forecasting of a series from a CSV, chosen on validation.

The series is cut in time order into train | validation | test (validation as long as the
test part). Candidates — the neural models (a single linear neuron over the window, and a
GRU) and the naive baselines (persistence, seasonal naive, moving average, drift) — are
scored by one-step-ahead RMSE on the validation part only; the best one is refitted on
train + validation (a neural model for the number of epochs that early stopping chose) and
read once on the test part. Every forecast uses true past values only.

Neural models see the window relative to its last value, divided by the spread of the
training steps (log-values first when the series is positive and its level spans more
than a factor 3): trends beyond the training range are then no problem.
"""
from __future__ import annotations

import dataclasses
import json
import time

import numpy as np

from .. import nn, optim
from ..data import DataLoader, TensorDataset
from ..io import atomic_write_text, load_weights, save_weights
from ..tensor import manual_seed, no_grad, tensor
from ..train import EarlyStopping, fit
from .common import header_line, model_table, result_line
from .recipe import TaskRecipe, param
from .registry import Task, register
from .rundir import prepare_run_dir, read_run_json, resolve_data, write_run_json
from .series import BASELINES, baseline_forecast, detect_season, mae, read_series, rmse

__all__ = ["ForecastRecipe", "train_forecast", "forecast_next"]

NEURAL = ("linear", "gru")


@dataclasses.dataclass
class ForecastRecipe(TaskRecipe):
    task: str = "forecast"
    data: str = param("", required="a CSV path")       # CSV with a header row
    value_column: str | None = None     # default: the last numeric column
    date_column: str | None = None      # optional, only for the forecast file
    season: int = param(0, ge=0)        # 0: detect from the training part; 1: none
    test_size: int = param(0, ge=0)     # 0: 15% of the series (at least 1)
    window: int = param(0, ge=0)        # 0: 2 seasons, within [8, 48], at most train/4
    models: str = "linear,gru"          # neural candidates (comma-separated)
    hidden: int = param(32, ge=1)
    epochs: int = param(300, ge=1)      # most epochs; early stopping on the last 20% of train
    patience: int = param(20, ge=1)
    batch_size: int = param(32, ge=1)
    lr: float = param(0.003, gt=0)
    ma_window: int = param(7, ge=1)     # the moving-average baseline
    seed: int = param(0, ge=0)

    def check(self, where):
        bad = [m for m in self.neural() if m not in NEURAL]
        if bad:
            raise ValueError(f"{where}: models: unknown {bad[0]!r}; expected names from "
                             f"{list(NEURAL)} (or \"\" for baselines only)")

    def neural(self) -> list[str]:
        return [m.strip() for m in self.models.split(",") if m.strip()]


class GRUForecaster(nn.Module):
    """GRU over the window, a linear read-out of the last hidden state.

    Shape: input (N, window) scaled values -> output (N,) the scaled next step.
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        _, h = self.gru(x.reshape(x.shape[0], x.shape[1], 1))
        return self.head(h[0]).reshape(-1)


class LinearForecaster(nn.Module):
    """One neuron over the window, z = Σ w·x + b (an autoregression learned by descent).

    Shape: input (N, window) -> output (N,).
    """

    def __init__(self, window: int):
        super().__init__()
        self.fc = nn.Linear(window, 1)

    def forward(self, x):
        return self.fc(x).reshape(-1)


def _build(name: str, window: int, hidden: int) -> nn.Module:
    return GRUForecaster(hidden) if name == "gru" else LinearForecaster(window)


@dataclasses.dataclass
class Scaler:
    """Windows relative to their last value, over the spread of the training steps."""

    log: bool
    scale: float

    @staticmethod
    def fit(y_train: np.ndarray) -> Scaler:
        log = bool(y_train.min() > 0 and y_train.max() > 3 * y_train.min())
        z = np.log(y_train) if log else y_train
        return Scaler(log, float(np.diff(z).std() or 1.0))

    def windows(self, y: np.ndarray, targets: np.ndarray, window: int):
        """Inputs (len(targets), window) for the forecasts of ``y[targets]`` and their
        scaled targets."""
        z = np.log(y) if self.log else y
        idx = targets[:, None] + np.arange(-window, 0)[None, :]
        last = z[targets - 1][:, None]
        x = (z[idx] - last) / self.scale
        t = (z[targets] - last[:, 0]) / self.scale
        return x.astype(np.float32), t.astype(np.float32)

    def invert(self, y: np.ndarray, targets: np.ndarray, out: np.ndarray) -> np.ndarray:
        z = np.log(y) if self.log else y
        pred = z[targets - 1] + out.astype(np.float64) * self.scale
        return np.exp(pred) if self.log else pred


def _train_neural(name, y, fit_end, recipe, window, scaler, epochs=None, verbose=False):
    """Fit one neural candidate on the targets y[window:fit_end]. With ``epochs`` None, the
    last 20% of those targets serve early stopping and the best epoch is returned too."""
    manual_seed(recipe.seed)
    model = _build(name, window, recipe.hidden)
    targets = np.arange(window, fit_end)
    x, t = scaler.windows(y, targets, window)
    if epochs is None:
        n_val = max(1, len(targets) // 5)
        tr = DataLoader(TensorDataset(x[:-n_val], t[:-n_val]), batch_size=recipe.batch_size,
                        shuffle=True, seed=recipe.seed)
        va = DataLoader(TensorDataset(x[-n_val:], t[-n_val:]), batch_size=256)
        stop = EarlyStopping("val_loss", patience=recipe.patience, restore_best=True)
        fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=recipe.lr), tr, va,
            epochs=recipe.epochs, metrics=(), callbacks=[stop], verbose=verbose)
        return model, (stop.best_epoch or 0) + 1
    tr = DataLoader(TensorDataset(x, t), batch_size=recipe.batch_size, shuffle=True,
                    seed=recipe.seed)
    fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=recipe.lr), tr,
        epochs=epochs, metrics=(), verbose=verbose)
    return model, epochs


def _neural_forecast(model, y, targets, window, scaler) -> np.ndarray:
    x, _ = scaler.windows(y, targets, window)
    model.eval()
    with no_grad():
        out = model(tensor(x)).numpy()
    return scaler.invert(y, targets, out)


def plan(y: np.ndarray, recipe: ForecastRecipe) -> dict:
    """Split points, season and window for a series of length n (all chosen before any
    model sees the data; the season is detected on the training part only)."""
    n = len(y)
    test = recipe.test_size or max(1, round(0.15 * n))
    val = test
    train_end = n - test - val
    if train_end < 8:
        raise ValueError(f"forecast: {n} values leave {train_end} for training after "
                         f"validation and test parts of {test} each; need at least 8 "
                         f"(set test_size smaller)")
    season = recipe.season or detect_season(y[:train_end], max_season=train_end // 2)
    window = recipe.window or int(np.clip(2 * season, 8, 48))
    window = max(2, min(window, train_end // 4))
    first = max(window, season if season > 1 else 1, recipe.ma_window, 1)
    if first >= train_end - 2:
        raise ValueError(f"forecast: window/season/ma_window need {first} past values, but "
                         f"the training part has only {train_end}")
    return {"n": n, "train_end": train_end, "val_end": n - test, "test_size": test,
            "season": int(season), "season_detected": not recipe.season, "window": window}


def train_forecast(recipe: ForecastRecipe, run_dir, *, overwrite=False, verbose=True,
                   data_dir=None) -> dict:
    start = time.perf_counter()
    path = resolve_data(recipe.data, data_dir)
    y, dates = read_series(path, recipe.value_column, recipe.date_column)
    p = plan(y, recipe)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    tr_end, va_end, n = p["train_end"], p["val_end"], p["n"]
    season, window = p["season"], p["window"]
    say = print if verbose else (lambda *a, **k: None)
    say(header_line("forecast", path, {"train": tr_end, "validation": va_end - tr_end,
                                       "test": n - va_end},
                    f"values; season {season}{' (detected)' if p['season_detected'] else ''}, "
                    f"window {window}"))
    baselines = [b for b in BASELINES if b != "seasonal_naive" or season > 1]
    val_t = np.arange(tr_end, va_end)
    scores, best_epochs, scaler = {}, {}, Scaler.fit(y[:tr_end])
    for b in baselines:
        scores[b] = rmse(baseline_forecast(b, y, tr_end, va_end, season, recipe.ma_window),
                         y[val_t])
    for name in recipe.neural():
        model, best_epochs[name] = _train_neural(name, y, tr_end, recipe, window, scaler)
        scores[name] = rmse(_neural_forecast(model, y, val_t, window, scaler), y[val_t])
        say(model_table(model))
        say(f"  {name}: best epoch {best_epochs[name]}, validation RMSE {scores[name]:.4g}")
    for b in baselines:
        say(f"  {b}: validation RMSE {scores[b]:.4g}")
    chosen = min(scores, key=scores.get)
    ranked = sorted(scores, key=scores.get)
    why = (f"lowest validation RMSE ({scores[chosen]:.4g}; next {ranked[1]} "
           f"{scores[ranked[1]]:.4g})" if len(ranked) > 1 else "the only candidate")
    test_t = np.arange(va_end, n)
    final_scaler = Scaler.fit(y[:va_end])
    base_test = {b: baseline_forecast(b, y, va_end, n, season, recipe.ma_window)
                 for b in baselines}
    if chosen in NEURAL:                # refit on train + validation, as many epochs
        model, _ = _train_neural(chosen, y, va_end, recipe, window, final_scaler,
                                 epochs=best_epochs[chosen])
        pred = _neural_forecast(model, y, test_t, window, final_scaler)
        save_weights(model, run_dir / "weights.safetensors")
    else:
        pred = base_test[chosen]
    record = {
        "task": "forecast", "data": str(path), "chosen": chosen, "why": why,
        "test": {"rmse": rmse(pred, y[test_t]), "mae": mae(pred, y[test_t])},
        "baselines": {b: {"rmse": rmse(f, y[test_t]), "mae": mae(f, y[test_t])}
                      for b, f in base_test.items()},
        "validation_rmse": scores, "best_epochs": best_epochs,
        "scaler": dataclasses.asdict(final_scaler), **p,
        "train_seconds": round(time.perf_counter() - start, 2),
    }
    rows = ["index,date,actual,forecast"] + [
        f"{t},{dates[t] if dates else ''},{y[t]:.6g},{f:.6g}" for t, f in zip(test_t, pred)]
    atomic_write_text(run_dir / "forecast.csv", "\n".join(rows) + "\n")
    write_run_json(run_dir, record)
    say(result_line("forecast", record["test"], record["baselines"], run_dir,
                    f"chosen {chosen} ({why})"))
    return record


def forecast_next(run_dir, data=None) -> float:
    """The forecast of the value after the end of the series (the run's own CSV, or
    ``data``), by the model the run chose."""
    from pathlib import Path
    run = read_run_json(run_dir)
    recipe = ForecastRecipe.from_toml(Path(run_dir) / "recipe.toml")
    y, _ = read_series(data or run["data"], recipe.value_column, recipe.date_column)
    if not np.isfinite(y).all():
        raise ValueError("forecast: the series holds NaN or Inf")
    n, chosen = len(y), run["chosen"]
    if n < max(run["window"], run["season"], recipe.ma_window) + 1:
        raise ValueError(f"forecast: {n} values are too few for this run (window "
                         f"{run['window']}, season {run['season']})")
    yy = np.append(y, np.nan)               # the target slot of the next value
    if chosen in NEURAL:
        model = _build(chosen, run["window"], recipe.hidden)
        load_weights(model, Path(run_dir) / "weights.safetensors")
        scaler = Scaler(**run["scaler"])
        if scaler.log and y.min() <= 0:
            raise ValueError("forecast: this run works on log-values; the series must be > 0")
        return float(_neural_forecast(model, yy, np.array([n]), run["window"], scaler)[0])
    return float(baseline_forecast(chosen, yy, n, n + 1, run["season"], recipe.ma_window)[0])


def _predict_cli(run_dir, args) -> str:
    value = forecast_next(run_dir, getattr(args, "file", None) or None)
    return json.dumps({"next": value})


register(Task(name="forecast", summary="one-step-ahead forecasting of a series",
              recipe=ForecastRecipe, train=train_forecast, predict=_predict_cli,
              formats="CSV with a header row: value_column (default: the last numeric "
                      "column), date_column optional"))
