r"""Video prediction on Moving MNIST: a ConvLSTM encoder–forecaster predicts 10 future frames.

Data: :class:`glassnet.data.MovingMNIST`, two real MNIST digits bouncing in 64x64 frames,
20 frames (10 observed, 10 to predict); training sequences use the MNIST train split, test
sequences the test split, each made from a seed (test sequence i is the same in every run).

Model (:class:`EncoderForecaster`, Shi et al. 2015): every 64x64 frame is cut into p×p
patches stacked as channels ("space to depth", as PredRNN does), so the ConvLSTMs work at
(64/p)x(64/p) — the reduced size that makes training on 2 CPU cores possible; the prediction
is still a full 64x64 frame. Loss: binary cross-entropy with logits per pixel; Adam.

Reported on the test sequences, per future frame: MSE and BCE per pixel (BCE of predictions
clipped to [1e-4, 1 − 1e-4]) and the MSE summed over the 64x64 pixels (the per-frame figure
papers quote), against two baselines: repeating the last observed frame, and the mean frame
(the per-pixel mean of the training frames).

    glassnet train recipes/moving_mnist.toml --data-dir ../shared/data/mnist --out runs/mm
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from .. import nn, ops, optim
from ..data import DataLoader, MovingMNIST
from ..io import save_weights
from ..nn.linear import check_positive_int
from ..tensor import Tensor, manual_seed, no_grad
from ..runs import Task, TaskRecipe, register, write_run_json
from ..runs.common import app_trainer, print_header
from ..runs.recipe import param
from ..runs.rundir import data_root, prepare_run_dir, resolve_data
from ..train import Callback, JSONLLogger, fit
from .video_data import load_frame_arrays

__all__ = ["space_to_depth", "depth_to_space", "EncoderForecaster", "TimeBudget",
           "frame_metrics", "mean_frame", "evaluate_video", "save_frames", "VideoRecipe",
           "train_video"]

EPS = 1e-4
FRAME = 64


def space_to_depth(x, p: int):
    """(N, T, C, H, W) → (N, T, C·p·p, H/p, W/p): each p×p patch becomes channels.

    Example:
        >>> space_to_depth(gn.zeros(2, 3, 1, 8, 8), 4).shape
        (2, 3, 16, 2, 2)
    """
    N, T, C, H, W = x.shape
    x = ops.reshape(x, (N, T, C, H // p, p, W // p, p))
    x = ops.permute(x, (0, 1, 2, 4, 6, 3, 5))
    return ops.reshape(x, (N, T, C * p * p, H // p, W // p))


def depth_to_space(x, p: int):
    """Inverse of :func:`space_to_depth`: (N, T, C·p·p, h, w) → (N, T, C, h·p, w·p)."""
    N, T, Cpp, h, w = x.shape
    C = Cpp // (p * p)
    x = ops.reshape(x, (N, T, C, p, p, h, w))
    x = ops.permute(x, (0, 1, 2, 5, 3, 6, 4))
    return ops.reshape(x, (N, T, C, h * p, w * p))


class EncoderForecaster(nn.Module):
    """ConvLSTM encoder → ConvLSTM forecaster → 1x1 conv read-out (logits), on p×p patches.

    The encoder ``ConvLSTM2d(p², hidden, kernel)`` reads the observed frames; the forecaster
    ``ConvLSTM2d(1, hidden, kernel)`` starts from the encoder's final (h, c) and runs
    ``future`` steps on a zero input; a 1x1 ``Conv2d(hidden, p²)`` maps each of its states to
    the patch logits of one future frame (bias initialised to logit(0.05), the mean-frame
    guess: about 5% of Moving MNIST pixels are lit).

    Args:
        hidden: ConvLSTM hidden channels (encoder and forecaster).
        kernel: ConvLSTM kernel size.
        patch: patch size p; frame sides must be multiples of p.
        future: number of frames to predict T_out.

    Shape:
        input: observed (N, T_in, 1, S, S); output: logits of the future (N, T_out, 1, S, S).

    Example:
        >>> EncoderForecaster(hidden=4, future=2)(gn.zeros(1, 3, 1, 16, 16)).shape
        (1, 2, 1, 16, 16)
    """

    def __init__(self, *, hidden: int = 32, kernel: int = 3, patch: int = 4, future: int = 10):
        super().__init__()
        check_positive_int("EncoderForecaster", hidden=hidden, kernel=kernel, patch=patch,
                           future=future)
        self.patch, self.future = patch, future
        c = patch * patch
        self.encoder = nn.ConvLSTM2d(c, hidden, kernel, batch_first=True)
        self.forecaster = nn.ConvLSTM2d(1, hidden, kernel, batch_first=True)
        self.head = nn.Conv2d(hidden, c, 1)
        self.head.bias.array[...] = np.log(0.05 / 0.95)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        p = self.patch
        if x.ndim != 5 or x.shape[2] != 1 or x.shape[3] % p or x.shape[4] % p:
            raise ValueError(f"EncoderForecaster(patch={p}): expected input (N, T, 1, H, W) "
                             f"with H, W multiples of {p}, got {x.shape}")
        z = space_to_depth(x, p)
        N, _, _, h, w = z.shape
        _, state = self.encoder(z)
        zeros = Tensor(np.zeros((N, self.future, 1, h, w), np.float32))
        out, _ = self.forecaster(zeros, state)                       # (N, T_out, hidden, h, w)
        logits = self.head(ops.reshape(out, (N * self.future,) + tuple(out.shape[2:])))
        logits = ops.reshape(logits, (N, self.future) + tuple(logits.shape[1:]))
        return depth_to_space(logits, p)


class TimeBudget(Callback):
    """Stop after the epoch in which ``minutes`` of training have passed (0 = no limit)."""

    def __init__(self, minutes: float):
        self.minutes, self.start = minutes, None

    def on_train_begin(self, logs):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        if self.minutes and time.perf_counter() - self.start > 60 * self.minutes:
            self.context.stop_training = True


def frame_metrics(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Per future frame: MSE per pixel, BCE per pixel, MSE summed over a frame.

    Shape:
        pred, truth: (N, T, C, H, W) in [0, 1]; each output: (T,).
    """
    p = np.clip(pred, EPS, 1 - EPS)
    bce = -(truth * np.log(p) + (1 - truth) * np.log(1 - p))
    mse = (pred - truth) ** 2
    axes = (0, 2, 3, 4)
    return {"mse": mse.mean(axes), "bce": bce.mean(axes),
            "mse_per_frame_sum": mse.sum((2, 3, 4)).mean(0)}


def mean_frame(ds, n: int = 200) -> np.ndarray:
    """Per-pixel mean (C, H, W) of all frames of the first ``n`` sequences of ``ds``."""
    x, y = ds.arrays(range(min(n, len(ds))))
    return np.concatenate([x, y], 1).mean(axis=(0, 1))


def _predict(model, x: np.ndarray) -> np.ndarray:
    model.eval()
    with no_grad():
        pred = 1 / (1 + np.exp(-model(Tensor(x)).numpy()))
    model.train()
    return pred


def evaluate_video(model, test, mean_img, batch_size: int = 50) -> dict:
    """Per-frame metrics (lists of T_out floats) of the model and of the two baselines
    (``repeat_last_frame``, ``mean_frame``) over all sequences of ``test``."""
    sums, n = {}, 0
    for lo in range(0, len(test), batch_size):
        x, y = test.arrays(range(lo, min(lo + batch_size, len(test))))
        preds = {"model": _predict(model, x),
                 "repeat_last_frame": np.repeat(x[:, -1:], y.shape[1], 1),
                 "mean_frame": np.broadcast_to(mean_img, y.shape)}
        for name, pred in preds.items():
            for k, v in frame_metrics(pred, y).items():
                sums.setdefault(name, {})[k] = sums.get(name, {}).get(k, 0) + v * len(x)
        n += len(x)
    return {name: {k: (v / n).round(6).tolist() for k, v in d.items()}
            for name, d in sums.items()}


def _with_row_labels(grid: np.ndarray, labels: list, row_h: int, margin: int = 96):
    """``grid`` (uint8, one band of ``row_h`` pixels per label) with the labels written in
    a white margin on its left, as a PIL image."""
    from PIL import Image, ImageDraw
    img = Image.new("L", (grid.shape[1] + margin, grid.shape[0]), 255)
    img.paste(Image.fromarray(grid), (margin, 0))
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(labels):
        draw.multiline_text((4, i * row_h + row_h // 2 - 16), text, fill=0)
    return img


def save_frames(model, test, out, count: int = 3) -> None:
    """``frames.png`` (per sequence: input row, truth row, prediction row, each labelled in
    a left margin with its time steps) and
    ``prediction.gif`` (observed frames, then [truth | prediction]) in folder ``out``."""
    from PIL import Image
    out, count = Path(out), min(count, len(test))
    x, y = test.arrays(range(count))
    pred = _predict(model, x)
    rows, labels = [], []
    n_in, n_out = x.shape[1], y.shape[1]
    for i in range(count):
        for seq, what in ((x[i], f"input\nt=1-{n_in}"),
                          (y[i], f"truth\nt={n_in + 1}-{n_in + n_out}"),
                          (pred[i], f"prediction\nt={n_in + 1}-{n_in + n_out}")):
            rows.append(np.concatenate([np.pad(f[0], 1, constant_values=0.5) for f in seq], 1))
            labels.append(f"seq {i + 1}\n{what}")
    grid = (np.concatenate(rows, 0) * 255).astype(np.uint8)
    _with_row_labels(grid, labels, rows[0].shape[0]).save(out / "frames.png")
    frames, size = [], x.shape[-1]
    for t in range(x.shape[1] + y.shape[1]):
        if t < x.shape[1]:
            left = right = x[0, t, 0]
        else:
            left, right = y[0, t - x.shape[1], 0], pred[0, t - x.shape[1], 0]
        img = np.concatenate([left, np.full((size, 2), 0.5), right], 1)
        frames.append(Image.fromarray((img * 255).astype(np.uint8)).resize((260, 128)))
    frames[0].save(out / "prediction.gif", save_all=True, append_images=frames[1:],
                   duration=150, loop=0)


@dataclasses.dataclass
class VideoRecipe(TaskRecipe):
    """Keys of ``recipes/moving_mnist.toml``.

    Args:
        task: ``"video"`` (tells ``glassnet train`` which app reads the recipe).
        data: ``""`` (Moving MNIST made from the MNIST digits), a ``.npy`` file of frames
            (N, T, H, W) (uint8 or floats in [0, 1]; ``test_fraction`` held out), or a
            folder with ``train.npy`` and ``test.npy`` (:mod:`glassnet.apps.video_data`).
        observed: frames given as input; the model predicts the rest (Moving MNIST: of 20).
        test_fraction: sequences of a single ``.npy`` file held out for the test.
        train_sequences, test_sequences: Moving MNIST sequences made from MNIST train / test
            digits; one epoch = one pass over the training sequences.
        epochs, batch_size, lr: Adam training.
        hidden, kernel, patch: :class:`EncoderForecaster` sizes (``patch`` divides 64).
        seed: weights, sequences and shuffling.
        max_minutes: stop after the epoch that passes this training time (0 = no limit).
        data_dir: folder of the MNIST files (default: ``mnist`` in the data root,
            ``glassnet.runs.rundir.data_root()``).
    """

    task: str = param("video", choices=("video",))
    data: str = ""
    observed: int = param(10, ge=1)
    test_fraction: float = param(0.2, gt=0, lt=1)
    train_sequences: int = param(4000, ge=1)
    test_sequences: int = param(500, ge=1)
    epochs: int = param(5, ge=1)
    batch_size: int = param(16, ge=1)
    lr: float = param(0.002, gt=0)
    hidden: int = param(32, ge=1)
    kernel: int = param(3, ge=1)
    patch: int = param(4, ge=1)
    seed: int = param(0, ge=0)
    max_minutes: float = param(0.0, ge=0)
    data_dir: str | None = None

    def check(self, where: str) -> None:
        if FRAME % self.patch:
            raise ValueError(f"{where}: patch: expected a divisor of the frame size {FRAME}, "
                             f"got {self.patch}")
        if not self.data and self.observed >= 20:
            raise ValueError(f"{where}: observed: expected < 20 for Moving MNIST (20 frames), "
                             f"got {self.observed}")


def train_video(recipe: VideoRecipe, run_dir, *, overwrite: bool = False,
                verbose: bool = True) -> dict:
    """Train :class:`EncoderForecaster` on Moving MNIST, evaluate, and write the run folder.

    ``run_dir`` gets ``recipe.toml``, ``metrics.jsonl`` (per-epoch training BCE),
    ``weights.safetensors``, ``run.json`` (per-frame test metrics of the model and the
    baselines, timings), ``frames.png`` and ``prediction.gif``.

    Returns:
        The contents of ``run.json``.

    Example:
        >>> res = train_video(VideoRecipe(epochs=1, train_sequences=64), "runs/mm")
        >>> res["test_mean"]["model"]["mse"] < res["test_mean"]["repeat_last"]["mse"]
        True
    """
    train, test, source = load_sequences(recipe)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    manual_seed(recipe.seed)
    loader = DataLoader(train, recipe.batch_size, shuffle=True, seed=recipe.seed)
    future = test.arrays([0])[1].shape[1]
    model = EncoderForecaster(hidden=recipe.hidden, kernel=recipe.kernel, patch=recipe.patch,
                              future=future)
    if verbose:
        print_header("video", source, {"train": len(train), "test": len(test)}, model,
                     train.arrays([0])[0].shape[1:],
                     unit=f"sequences, {recipe.observed} frames in, {future} predicted")
    opt = optim.Adam(model.parameters(), lr=recipe.lr)
    start = time.perf_counter()
    history = fit(model, nn.BCEWithLogitsLoss(), opt, loader, epochs=recipe.epochs, metrics=(),
                  callbacks=[JSONLLogger(run_dir / "metrics.jsonl"),
                             TimeBudget(recipe.max_minutes)], verbose=verbose)
    seconds = time.perf_counter() - start
    save_weights(model, run_dir / "weights.safetensors")
    metrics = evaluate_video(model, test, mean_frame(train))
    save_frames(model, test, run_dir)
    means = {name: {k: float(np.mean(v)) for k, v in d.items()} for name, d in metrics.items()}
    result = {"task": "video", "data": source, "test": means.pop("model"), "baselines": means,
              "test_per_frame": metrics, "recipe": dataclasses.asdict(recipe),
              "train_seconds": round(seconds, 1), "epochs_run": len(history),
              "train_loss": history["loss"], "history": history.to_dict()}
    write_run_json(run_dir, result)
    return result


def load_sequences(recipe: VideoRecipe):
    """``(train, test, source)`` datasets of ``(observed, future)`` frame pairs."""
    if recipe.data:
        path = resolve_data(recipe.data, recipe.data_dir)
        train, test = load_frame_arrays(path, observed=recipe.observed, patch=recipe.patch,
                                        test_fraction=recipe.test_fraction, seed=recipe.seed)
        return train, test, str(path)
    root = Path(recipe.data_dir) if recipe.data_dir else data_root() / "mnist"
    if not any(root.glob("train-images-idx3*")) and any((root / "mnist").glob("train-images*")):
        root = root / "mnist"                      # --data-dir given as the data root
    kw = {"seed": recipe.seed, "num_observed": recipe.observed}
    return (MovingMNIST(root, "train", recipe.train_sequences, **kw),
            MovingMNIST(root, "test", recipe.test_sequences, **kw), f"Moving MNIST from {root}")


_train_task = app_trainer("video", train_video, lambda res, recipe: (
    f"{res['epochs_run']} epochs, {res['train_seconds']} s training; model MSE/frame per "
    f"future frame " + " ".join(f"{v:.1f}" for v in
                                res["test_per_frame"]["model"]["mse_per_frame_sum"])
    + "; frames.png, prediction.gif"))


register(Task(name="video", summary="next-frame prediction: a ConvLSTM encoder-forecaster",
              recipe=VideoRecipe, train=_train_task,
              formats="a .npy file of frames (N, T, H, W) (uint8 or floats in [0, 1]), a folder "
                      "with train.npy + test.npy, or nothing: Moving MNIST from the MNIST "
                      "digits"))

