"""Video prediction on Moving MNIST: a ConvLSTM encoder–forecaster predicts 10 future frames.

    python examples/moving_mnist.py --recipe recipes/moving_mnist.toml --out runs/moving_mnist
    python examples/moving_mnist.py --epochs 1 --train-sequences 64 --test-sequences 16  # smoke

This script is the trainer for ``recipes/moving_mnist.toml`` (``glassnet train`` only knows
classification recipes). Keys of the recipe can be overridden on the command line.

Data: :class:`glassnet.data.MovingMNIST`, two real MNIST digits bouncing in 64x64 frames,
20 frames (10 observed, 10 to predict); training sequences use the MNIST train split, test
sequences the test split, each made from a seed (test sequence i is the same in every run).

Model (Shi et al. 2015, encoder–forecaster): every 64x64 frame is cut into 4x4 patches
stacked as channels (16 channels of 16x16, "space to depth", as PredRNN does), so the
ConvLSTMs work at 16x16 — the reduced size that makes training on 2 CPU cores possible; the
prediction is still a full 64x64 frame. The encoder ConvLSTM reads the 10 observed frames;
the forecaster ConvLSTM starts from the encoder's final (h, c) and runs 10 more steps without
input (a zero frame), and a 1x1 convolution maps each of its states to the 16 patch logits of
one future frame. Loss: binary cross-entropy with logits per pixel.

Reported on the test sequences, per future frame: MSE and BCE per pixel (BCE of predictions
clipped to [1e-4, 1 − 1e-4]) and the MSE summed over the 64x64 pixels (the per-frame figure
papers quote), against two baselines: repeating the last observed frame, and the mean frame
(the per-pixel mean of the training frames). Outputs in ``--out``: results.json,
metrics.jsonl, weights.safetensors, frames.png (rows: input, truth, prediction) and
prediction.gif.
"""
import argparse
import json
import os
import time
import tomllib
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, MovingMNIST
from glassnet.train import Callback, JSONLLogger, fit

DEFAULTS = {"train_sequences": 4000, "test_sequences": 500, "epochs": 5, "batch_size": 16,
            "lr": 2e-3, "hidden": 32, "kernel": 3, "patch": 4, "seed": 0,
            "max_minutes": 0.0}
EPS = 1e-4


def data_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"]) / "mnist"
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def space_to_depth(x, p):
    """(N, T, C, H, W) → (N, T, C·p·p, H/p, W/p): each p×p patch becomes channels."""
    N, T, C, H, W = x.shape
    x = gn.ops.reshape(x, (N, T, C, H // p, p, W // p, p))
    x = gn.ops.permute(x, (0, 1, 2, 4, 6, 3, 5))
    return gn.ops.reshape(x, (N, T, C * p * p, H // p, W // p))


def depth_to_space(x, p):
    """Inverse of :func:`space_to_depth`."""
    N, T, Cpp, h, w = x.shape
    C = Cpp // (p * p)
    x = gn.ops.reshape(x, (N, T, C, p, p, h, w))
    x = gn.ops.permute(x, (0, 1, 2, 5, 3, 6, 4))
    return gn.ops.reshape(x, (N, T, C, h * p, w * p))


class EncoderForecaster(nn.Module):
    """ConvLSTM encoder → ConvLSTM forecaster → 1x1 conv read-out (logits), on p×p patches.

    Shape: observed (N, T_in, 1, S, S) → logits of the future (N, T_out, 1, S, S).
    """

    def __init__(self, hidden=32, kernel=3, patch=4, future=10):
        super().__init__()
        self.patch, self.future = patch, future
        c = patch * patch
        self.encoder = nn.ConvLSTM2d(c, hidden, kernel, batch_first=True)
        self.forecaster = nn.ConvLSTM2d(1, hidden, kernel, batch_first=True)
        self.head = nn.Conv2d(hidden, c, 1)
        # start at the mean-frame guess: about 5% of Moving MNIST pixels are lit
        self.head.bias.data[...] = np.log(0.05 / 0.95)

    def forward(self, x):
        p = self.patch
        z = space_to_depth(x, p)
        N, _, _, h, w = z.shape
        _, state = self.encoder(z)
        zeros = gn.tensor(np.zeros((N, self.future, 1, h, w), np.float32))
        out, _ = self.forecaster(zeros, state)                       # (N, T_out, hidden, h, w)
        flat = gn.ops.reshape(out, (N * self.future,) + tuple(out.shape[2:]))
        logits = self.head(flat)
        logits = gn.ops.reshape(logits, (N, self.future) + tuple(logits.shape[1:]))
        return depth_to_space(logits, p)


class TimeBudget(Callback):
    """Stop after the epoch in which ``minutes`` of training have passed (0 = no limit)."""

    def __init__(self, minutes):
        self.minutes, self.start = minutes, None

    def on_train_begin(self, logs):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        if self.minutes and time.perf_counter() - self.start > 60 * self.minutes:
            self.context.stop_training = True


def frame_metrics(pred, truth):
    """Per future frame: MSE per pixel, BCE per pixel, MSE summed over a frame (each (T,))."""
    p = np.clip(pred, EPS, 1 - EPS)
    bce = -(truth * np.log(p) + (1 - truth) * np.log(1 - p))
    mse = (pred - truth) ** 2
    axes = (0, 2, 3, 4)
    return {"mse": mse.mean(axes), "bce": bce.mean(axes),
            "mse_per_frame_sum": mse.sum((2, 3, 4)).mean(0)}


def mean_frame(ds, n=200):
    """Per-pixel mean of all frames of the first ``n`` training sequences."""
    x, y = ds.arrays(range(min(n, len(ds))))
    return np.concatenate([x, y], 1).mean(axis=(0, 1))


def evaluate(model, test, mean_img, batch_size=50):
    """Per-frame metrics of the model and the two baselines over the test sequences."""
    sums = {}
    model.eval()
    n = 0
    with gn.no_grad():
        for lo in range(0, len(test), batch_size):
            x, y = test.arrays(range(lo, min(lo + batch_size, len(test))))
            preds = {"model": 1 / (1 + np.exp(-model(gn.tensor(x)).numpy())),
                     "repeat_last": np.repeat(x[:, -1:], y.shape[1], 1),
                     "mean_frame": np.broadcast_to(mean_img, y.shape)}
            for name, pred in preds.items():
                for k, v in frame_metrics(pred, y).items():
                    sums.setdefault(name, {}).setdefault(k, 0)
                    sums[name][k] = sums[name][k] + v * len(x)
            n += len(x)
    model.train()
    return {name: {k: (v / n).round(6).tolist() for k, v in d.items()}
            for name, d in sums.items()}


def save_frames(model, test, out, count=3):
    """frames.png (per sequence: input row, truth row, prediction row) and prediction.gif."""
    from PIL import Image
    x, y = test.arrays(range(count))
    with gn.no_grad():
        model.eval()
        pred = 1 / (1 + np.exp(-model(gn.tensor(x)).numpy()))
        model.train()
    rows = []
    for i in range(count):
        for seq in (x[i], y[i], pred[i]):
            rows.append(np.concatenate([np.pad(f[0], 1, constant_values=0.5) for f in seq], 1))
    Image.fromarray((np.concatenate(rows, 0) * 255).astype(np.uint8)).save(out / "frames.png")
    frames = []                              # GIF: observed then [truth | prediction]
    for t in range(x.shape[1] + y.shape[1]):
        if t < x.shape[1]:
            left = right = x[0, t, 0]
        else:
            left, right = y[0, t - x.shape[1], 0], pred[0, t - x.shape[1], 0]
        img = np.concatenate([left, np.full((64, 2), 0.5), right], 1)
        frames.append(Image.fromarray((img * 255).astype(np.uint8)).resize((260, 128)))
    frames[0].save(out / "prediction.gif", save_all=True, append_images=frames[1:],
                   duration=150, loop=0)


def run(cfg, root, out, verbose=True):
    """Train and evaluate; returns the results dict (also written to out/results.json)."""
    out.mkdir(parents=True, exist_ok=True)
    gn.manual_seed(cfg["seed"])
    train = MovingMNIST(root, "train", cfg["train_sequences"], seed=cfg["seed"])
    test = MovingMNIST(root, "test", cfg["test_sequences"], seed=cfg["seed"])
    loader = DataLoader(train, cfg["batch_size"], shuffle=True, seed=cfg["seed"])
    model = EncoderForecaster(cfg["hidden"], cfg["kernel"], cfg["patch"])
    opt = gn.optim.Adam(model.parameters(), lr=cfg["lr"])
    start = time.perf_counter()
    history = fit(model, nn.BCEWithLogitsLoss(), opt, loader, epochs=cfg["epochs"], metrics=(),
                  callbacks=[JSONLLogger(out / "metrics.jsonl"), TimeBudget(cfg["max_minutes"])],
                  verbose=verbose)
    seconds = time.perf_counter() - start
    gn.io.save_weights(model, out / "weights.safetensors")
    metrics = evaluate(model, test, mean_frame(train))
    save_frames(model, test, out)
    result = {"config": cfg, "train_seconds": round(seconds, 1), "epochs_run": len(history),
              "train_loss": history["loss"], "test": metrics,
              "test_mean": {name: {k: float(np.mean(v)) for k, v in d.items()}
                            for name, d in metrics.items()}}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", help="TOML file with keys of DEFAULTS")
    ap.add_argument("--data-dir", help="folder of the MNIST files")
    ap.add_argument("--out", default="runs/moving_mnist")
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v))
    args = ap.parse_args(argv)
    cfg = dict(DEFAULTS)
    if args.recipe:
        given = tomllib.loads(Path(args.recipe).read_text())
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            raise SystemExit(f"{args.recipe}: unknown key {unknown[0]!r}; expected keys from "
                             f"{sorted(DEFAULTS)}")
        cfg.update({k: type(DEFAULTS[k])(v) for k, v in given.items()})
    cfg.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    res = run(cfg, data_dir(args.data_dir), Path(args.out))
    print(f"trained {res['epochs_run']} epochs in {res['train_seconds']} s")
    for name, d in res["test_mean"].items():
        print(f"{name:12s} MSE/pixel {d['mse']:.5f}  MSE/frame {d['mse_per_frame_sum']:.1f}  "
              f"BCE/pixel {d['bce']:.4f}")
    print("per future frame (model MSE/frame):",
          " ".join(f"{v:.1f}" for v in res["test"]["model"]["mse_per_frame_sum"]))


if __name__ == "__main__":
    main()
