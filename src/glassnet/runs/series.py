"""Series for forecasting: a CSV reader, season detection and the naive baselines.

Every forecast here is one step ahead from true past values: the forecast of ``y[t]`` may
use ``y[:t]`` only.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["read_series", "detect_season", "BASELINES", "baseline_forecast", "rmse", "mae"]


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def read_series(path, value_column: str | None = None, date_column: str | None = None):
    """Read a CSV with a header row. Returns ``(values float64 (n,), dates list or None)``.

    ``value_column`` defaults to the last column whose first data row is a number,
    ``date_column`` to the first column that is not (dates are labels only). A missing
    or non-numeric value is an error naming the file, the line and the column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data {path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise ValueError(f"data {path}: not a UTF-8 text file") from None
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ValueError(f"data {path}: expected a header row and at least one data row")
    (_, header), data = rows[0], rows[1:]
    header = [h.strip() for h in header]
    if value_column is None:
        numeric = [j for j, c in enumerate(data[0][1]) if _number(c) is not None]
        if not numeric:
            raise ValueError(f"data {path}:{data[0][0]}: no numeric column; set value_column")
        vcol = numeric[-1]
    elif value_column in header:
        vcol = header.index(value_column)
    else:
        raise ValueError(f"data {path}: value_column {value_column!r} is not a column; "
                         f"columns are {header}")
    dcol = None
    if date_column is None:             # the first non-numeric column, if any, labels rows
        dcol = next((j for j, c in enumerate(data[0][1])
                     if j != vcol and _number(c) is None), None)
    elif date_column in header:
        dcol = header.index(date_column)
    else:
        raise ValueError(f"data {path}: date_column {date_column!r} is not a column; "
                         f"columns are {header}")
    values, dates = [], []
    for line, row in data:
        cell = row[vcol].strip() if vcol < len(row) else ""
        v = _number(cell)
        if v is None or not np.isfinite(v):
            raise ValueError(f"data {path}:{line}: column {header[vcol]!r}: expected a number, "
                             f"got {cell!r}")
        values.append(v)
        if dcol is not None:
            dates.append(row[dcol].strip() if dcol < len(row) else "")
    return np.asarray(values, np.float64), (dates if dcol is not None else None)


def _acf(x: np.ndarray, top: int) -> np.ndarray:
    x = x - x.mean()
    spec = np.fft.rfft(x, 2 * len(x))
    a = np.fft.irfft(spec * np.conj(spec))[: top + 1]
    return a / a[0]


def detect_season(y: np.ndarray, max_season: int | None = None) -> int:
    """The seasonal period of ``y``, or 1 when there is none.

    A season is a peak (lag k >= 2, the largest within k ± k/4) of the autocorrelation of
    the series minus its straight-line trend, above 0.3 and at least 0.3 above the
    autocorrelation at k/2 (a cycle dips at half its period; the slowly decaying
    autocorrelation of a random walk does not).
    Of the peaks within 90% of the strongest, the shortest lag wins (not its multiples).
    """
    y = np.asarray(y, np.float64)
    n = len(y)
    top = min(n // 3, max_season or n)
    if top < 3 or y.std() == 0:
        return 1
    t = np.arange(n)
    a = _acf(y - np.polyval(np.polyfit(t, y, 1), t), top)
    peaks = [k for k in range(2, top) if a[k] > 0.3 and a[k] - a[k // 2] > 0.3
             and a[k] >= a[max(2, k - max(1, k // 4)):k + max(1, k // 4) + 1].max()]
    if not peaks:
        return 1
    strongest = max(a[k] for k in peaks)
    return min(k for k in peaks if a[k] >= 0.9 * strongest)


def baseline_forecast(name: str, y: np.ndarray, start: int, stop: int, season: int,
                      ma_window: int) -> np.ndarray:
    """One-step-ahead forecasts of ``y[start:stop]`` by a naive rule."""
    t = np.arange(start, stop)
    if name == "persistence":
        return y[t - 1]
    if name == "seasonal_naive":
        return y[t - season]
    if name == "moving_average":
        c = np.concatenate([[0.0], np.cumsum(y)])
        return (c[t] - c[t - ma_window]) / ma_window
    if name == "drift":                 # last value plus the mean step so far
        return y[t - 1] + (y[t - 1] - y[0]) / np.maximum(t - 1, 1)
    raise ValueError(f"unknown baseline {name!r}")


BASELINES = ("persistence", "seasonal_naive", "moving_average", "drift")


def rmse(pred, true) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(true)) ** 2)))


def mae(pred, true) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(true))))
