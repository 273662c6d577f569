"""One-step-ahead forecasting of real series with a GRU, against naive baselines.

    python examples/timeseries.py --series airline --out runs/timeseries
    python examples/timeseries.py --series temperatures --epochs 30

Series (``<data-dir>/timeseries``): ``airline`` (monthly passengers 1949–1960, season 12, the
last 24 months are the test part), ``temperatures`` (Melbourne daily minimum 1981–1990, season
365, last 365 days test), ``sunspots`` (monthly 1749–1983, season 132 ≈ 11 years, last 240
months test). The model reads a window of the previous ``--window`` values and predicts the next
one; every test forecast uses only true past values (one step ahead).

Scaling is fitted on the training part only. For the airline series the model works on
log-values relative to the last value of the window (so a trend beyond the training range is
no problem); for the others on standardised values. Reported: test RMSE of the GRU, of the
seasonal-naive forecast (the value one season ago) and of the persistence forecast (the last
value), in the series' own units. A plot of forecast against actual goes to ``--out``.
"""
import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import nn

SERIES = {  # name: (file, season, test length, window, relative-log transform)
    "airline": ("airline-passengers.csv", 12, 24, 24, True),
    "temperatures": ("daily-min-temperatures.csv", 365, 365, 30, False),
    "sunspots": ("monthly-sunspots.csv", 132, 240, 48, False),
}


def data_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"])
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return np.array([float(r[1]) for r in rows if r])


class Forecaster(nn.Module):
    """GRU over the window, then a linear read-out of the last hidden state."""

    def __init__(self, hidden=32, layers=1):
        super().__init__()
        self.gru = nn.GRU(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):                       # x (N, window, 1) → (N,)
        _, h = self.gru(x)
        return self.head(h[-1]).reshape(-1)


def windows(z, window, targets):
    """Inputs z[t-window:t] and targets z[t] for every t in ``targets``."""
    X = np.stack([z[t - window:t] for t in targets]).astype(np.float32)
    return X[:, :, None], z[targets].astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", choices=sorted(SERIES), default="airline")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/timeseries")
    args = ap.parse_args()
    file, season, n_test, window, rel_log = SERIES[args.series]
    y = load(data_dir(args.data_dir) / "timeseries" / file)
    n_train = len(y) - n_test
    gn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    # transform: fitted on the training part only
    if rel_log:
        z = np.log(y)
        first = np.arange(window, n_train)
        d = np.array([z[t] - z[t - 1] for t in first])
        scale = d.std()                                  # typical step size on train

        def to_xy(targets):
            X = np.stack([(z[t - window:t] - z[t - 1]) / scale for t in targets])
            return X[:, :, None].astype(np.float32), ((z[targets] - z[targets - 1]) / scale
                                                      ).astype(np.float32)

        def back(pred, targets):
            return np.exp(z[targets - 1] + pred * scale)
    else:
        mu, sd = y[:n_train].mean(), y[:n_train].std()
        z = (y - mu) / sd

        def to_xy(targets):
            return windows(z, window, targets)

        def back(pred, targets):
            return pred * sd + mu

    train_t = np.arange(window, n_train)
    test_t = np.arange(n_train, len(y))
    Xtr, Ytr = to_xy(train_t)
    Xte, _ = to_xy(test_t)
    model = Forecaster(args.hidden)
    opt = gn.optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    for _ in range(args.epochs):
        perm = rng.permutation(len(Xtr))
        for i in range(0, len(perm), args.batch):
            b = perm[i:i + args.batch]
            loss = nn.functional.mse_loss(model(gn.tensor(Xtr[b])), gn.tensor(Ytr[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    with gn.no_grad():
        pred = back(model(gn.tensor(Xte)).numpy().astype(np.float64), test_t)
    actual = y[test_t]
    rmse = lambda f: float(np.sqrt(np.mean((f - actual) ** 2)))       # noqa: E731
    result = {"series": args.series, "test_points": int(n_test), "window": window,
              "rmse_gru": rmse(pred), "rmse_seasonal_naive": rmse(y[test_t - season]),
              "rmse_persistence": rmse(y[test_t - 1]), "train_seconds": round(seconds, 1),
              "epochs": args.epochs}
    print(json.dumps(result))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.series}.json").write_text(json.dumps(result, indent=1))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(9, 3.5))
        ax.plot(np.arange(len(y)), y, color="0.6", lw=1, label="actual")
        ax.plot(test_t, pred, color="C3", lw=1.2, label=f"GRU (RMSE {result['rmse_gru']:.2f})")
        ax.plot(test_t, y[test_t - season], color="C0", lw=0.8, ls="--",
                label=f"seasonal naive (RMSE {result['rmse_seasonal_naive']:.2f})")
        ax.axvline(n_train, color="k", lw=0.5)
        ax.set_xlim(max(0, n_train - 3 * n_test), len(y))
        ax.set_title(f"{args.series}: one-step-ahead forecast of the test part")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{args.series}.png", dpi=110)
        print(f"plot: {out / (args.series + '.png')}")
    except ImportError:
        print("matplotlib not installed: no plot")


if __name__ == "__main__":
    main()
