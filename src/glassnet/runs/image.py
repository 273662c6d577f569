"""Task ``image_classification``: images of the user's classes, an MLP or a small CNN.

Data (``data =``): a folder with one sub-folder per class (PNG/JPEG/BMP/GIF; optionally
``train/`` and ``test/`` folders of that form), a folder of MNIST IDX files, an ``.npz``
file (``x``, ``y`` or ``x_train``, ``y_train``, ``x_test``, ``y_test``), or the names
``digits`` (packaged) and ``mnist``. Without a given test part, ``test_fraction`` of the
images is held out (seeded). ``val_fraction`` of the rest is the validation part: early
stopping keeps the weights of the best validation loss; the test part is read once.
Baseline: the majority class.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from ..data import get_dataset
from ..data.user_files import IMAGE_SUFFIXES, has_split, load_image_folder, load_npz, read_image
from ..io import load_weights, save_weights
from ..models import PRESETS, build_model
from ..train import predict
from .common import header_line, print_result
from .recipe import TaskRecipe, param
from .registry import Task, register
from .rundir import prepare_run_dir, read_run_json, resolve_data, write_run_json
from .supervised import OPTIMIZERS, fit_supervised, majority_baseline, scores, split_indices

__all__ = ["ImageRecipe", "train_image", "load_images"]


@dataclasses.dataclass
class ImageRecipe(TaskRecipe):
    task: str = "image_classification"
    data: str = param("", required="an image folder, .npz file, MNIST folder, 'digits' or "
                                   "'mnist'")
    model: str = param("cnn", choices=tuple(sorted(PRESETS)))
    image_size: int = param(0, ge=0)    # 0: keep (all images must then have one size)
    grayscale: bool | None = None       # None: when every image is grayscale
    test_fraction: float = param(0.2, gt=0, lt=1)   # used when the data has no test part
    val_fraction: float = param(0.1, gt=0, lt=1)
    epochs: int = param(20, ge=1)       # most epochs; early stopping on validation loss
    patience: int = param(4, ge=1)
    batch_size: int = param(64, ge=1)
    optimizer: str = param("adam", choices=tuple(sorted(OPTIMIZERS)))
    lr: float = param(0.001, gt=0)
    weight_decay: float = param(0.0, ge=0)
    seed: int = param(0, ge=0)


def _is_idx_folder(path: Path) -> bool:
    return path.is_dir() and any(p.name.startswith("train-images-idx3") for p in path.iterdir())


def load_images(recipe: ImageRecipe, data_dir=None):
    """``(train (x, y), test (x, y) or None, classes, source)`` for the recipe's data."""
    name = recipe.data
    if name == "digits":
        (x, y), (xt, yt) = (get_dataset("digits", split=s).arrays for s in ("train", "test"))
        return (x, y), (xt, yt), [str(i) for i in range(10)], "digits"
    path = resolve_data("mnist" if name == "mnist" else name, data_dir)
    if name == "mnist" or _is_idx_folder(path):
        (x, y), (xt, yt) = (get_dataset("mnist", root=path, split=s).arrays
                            for s in ("train", "test"))
        return (x, y), (xt, yt), [str(i) for i in range(10)], str(path)
    if path.suffix == ".npz":
        got = load_npz(path)
        train, test = got if isinstance(got[0], tuple) else (got, None)
        classes = sorted({int(v) for v in np.concatenate([train[1]] + ([test[1]] if test
                                                                      else []))})
        if classes != list(range(len(classes))):
            raise ValueError(f"data {path}: labels must be 0..K-1, got {classes[:10]}")
        fix = lambda x: (x[:, None] if x.ndim == 3 else x).astype(np.float32)  # noqa: E731
        train = (fix(train[0]), train[1].astype(np.int64))
        test = (fix(test[0]), test[1].astype(np.int64)) if test else None
        return train, test, [str(c) for c in classes], str(path)
    size = recipe.image_size or None
    if has_split(path):
        x, y, classes = load_image_folder(path / "train", size, recipe.grayscale)
        gray = x.shape[1] == 1
        xt, yt, _ = load_image_folder(path / "test", size, gray, classes=classes)
        return (x, y), (xt, yt), classes, str(path)
    x, y, classes = load_image_folder(path, size, recipe.grayscale)
    return (x, y), None, classes, str(path)


def train_image(recipe: ImageRecipe, run_dir, *, overwrite=False, verbose=True,
                data_dir=None) -> dict:
    start = time.perf_counter()
    (x, y), test, classes, source = load_images(recipe, data_dir)
    if test is None:
        keep, held = split_indices(len(x), recipe.test_fraction, recipe.seed)
        test, (x, y) = (x[held], y[held]), (x[keep], y[keep])
    keep, val = split_indices(len(x), recipe.val_fraction, recipe.seed + 1)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    mean = x[keep].mean(axis=(0, 2, 3), keepdims=True)[0]       # per channel, train only
    std = x[keep].std(axis=(0, 2, 3), keepdims=True)[0] + 1e-6
    norm = lambda a: ((a - mean) / std).astype(np.float32)       # noqa: E731
    if verbose:
        print(header_line("image_classification", source, {
            "train": len(keep), "validation": len(val), "test": len(test[0])},
            f"images {tuple(x.shape[1:])}, {len(classes)} classes"))
    model = build_model(recipe.model, x.shape[1:], len(classes))
    history, best_epoch = fit_supervised(model, recipe, (norm(x[keep]), y[keep]),
                                         (norm(x[val]), y[val]), classification=True,
                                         verbose=verbose)
    save_weights(model, run_dir / "weights.safetensors")
    record = {"task": "image_classification", "data": source,
              "test": scores(model, (norm(test[0]), test[1]), True),
              "baselines": {"majority_class": majority_baseline(y[keep], test[1])},
              "validation": scores(model, (norm(x[val]), y[val]), True),
              "best_epoch": best_epoch, "epochs_run": len(history), "classes": classes,
              "input_shape": list(x.shape[1:]), "mean": mean.ravel().tolist(),
              "std": std.ravel().tolist(), "model": recipe.model,
              "parameters": int(sum(p.numel() for p in model.parameters())),
              "train_seconds": round(time.perf_counter() - start, 2),
              "history": history.to_dict()}
    write_run_json(run_dir, record)
    if verbose:
        print_result("image_classification", record["test"], record["baselines"], run_dir,
                     f"best epoch {best_epoch}")
    return record


def _inputs(path: Path, run: dict, gray: bool) -> tuple[list[str], np.ndarray]:
    shape = tuple(run["input_shape"])
    if path.suffix == ".npy":
        x = np.load(path, allow_pickle=False).astype(np.float32)
        names = [f"{path.name}[{i}]" for i in range(len(x))]
    else:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
            if path.is_dir() else [path]
        if not files or files[0].suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"predict: {path}: expected an image ({', '.join(IMAGE_SUFFIXES)}),"
                             f" a folder of images or a .npy array")
        x = np.stack([read_image(f, shape[1] if shape[1] == shape[2] else None, gray)
                      for f in files])
        names = [f.name for f in files]
    if not np.isfinite(x).all():
        raise ValueError(f"predict: {path}: inputs hold NaN or Inf")
    if x.ndim == len(shape):
        x = x[None]
    if tuple(x.shape[1:]) != shape:
        raise ValueError(f"predict: {path}: expected inputs of shape {shape}, got "
                         f"{tuple(x.shape[1:])}")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"predict: {path}: expected pixel values in [0, 1], got "
                         f"[{x.min():.3g}, {x.max():.3g}]")
    return names, x


def _predict_cli(run_dir, args) -> str:
    if not getattr(args, "file", None):
        raise ValueError("predict: give an image, a folder of images or a .npy file")
    run = read_run_json(run_dir)
    recipe = ImageRecipe.from_toml(Path(run_dir) / "recipe.toml")
    model = build_model(recipe.model, tuple(run["input_shape"]), len(run["classes"]))
    load_weights(model, Path(run_dir) / "weights.safetensors")
    names, x = _inputs(Path(args.file), run, run["input_shape"][0] == 1)
    mean = np.asarray(run["mean"], np.float32).reshape(-1, 1, 1)
    std = np.asarray(run["std"], np.float32).reshape(-1, 1, 1)
    logits = predict(model, ((x - mean) / std).astype(np.float32)).astype(np.float64)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    return "\n".join(json.dumps({"input": n, "class": run["classes"][int(p.argmax())],
                                 "p": round(float(p.max()), 4)}) for n, p in zip(names, prob))


register(Task(name="image_classification", summary="classify images into the user's classes",
              recipe=ImageRecipe, train=train_image, predict=_predict_cli,
              formats="a folder with one sub-folder per class (PNG/JPEG; optional train/ + "
                      "test/), a folder of MNIST IDX files, .npz (x, y), 'digits', 'mnist'"))
