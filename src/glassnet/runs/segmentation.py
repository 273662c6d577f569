"""Task ``segmentation``: a class for every pixel of the user's images, with a small U-Net.

Data (``data =``):

- a folder holding ``images/`` and ``masks/`` (optionally ``train/`` and ``test/`` folders of
  that form): every image ``images/NAME.*`` (PNG/JPEG/BMP/GIF) has a mask ``masks/NAME.png``
  of the same size whose pixel values are class ids 0..K-1 (a grayscale or palette PNG;
  class 0 is the background). Errors name the file: a missing mask, a size that differs, a
  colour mask, a value >= ``num_classes``.
- ``"mnist-canvases"``: 64x64 canvases of 1-3 real MNIST digits (``glassnet.data.canvases``;
  11 classes: background and the ten digits) made from ``../shared/data/mnist``: training
  canvases from the first 55,000 training digits (new ones each epoch with ``fresh``),
  validation canvases from the last 5,000, test canvases from the test split.

Without a given test part, ``test_fraction`` of the images is held out (seeded);
``val_fraction`` of the rest is the validation part. Training goes through
:func:`glassnet.train.fit` (per-pixel cross-entropy, class 0 weighted ``bg_weight``, Adam with
cosine decay per step); early stopping on the validation mean IoU (or loss) keeps the best
weights; the test part is read once. Metrics: mean IoU (over the classes present in the
target or the prediction) and pixel accuracy. Baseline: every pixel the majority class of the
training masks (for canvases: all background).
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..data import DataLoader, TensorDataset, load_mnist
from ..data.canvases import NUM_CLASSES, make_canvases
from ..data.user_files import read_image
from ..io import load_weights, save_weights
from ..tensor import Tensor, manual_seed, no_grad
from ..train import Callback, EarlyStopping, fit, summary
from .common import header_line, print_result
from .recipe import TaskRecipe, param
from .registry import Task, register
from .rundir import prepare_run_dir, read_run_json, resolve_data, write_run_json
from .supervised import split_indices
from .unet import UNet, confusion, iou_scores, segment

__all__ = ["SegmentationRecipe", "train_segmentation", "load_mask_folder", "read_mask",
           "build_unet", "MeanIoU", "save_picture", "load_segmentation_run"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GRAY_MODES = {"L", "1", "I", "I;16", "P"}


@dataclasses.dataclass
class SegmentationRecipe(TaskRecipe):
    task: str = "segmentation"
    data: str = param("", required="a folder with images/ and masks/ or 'mnist-canvases'")
    num_classes: int = 0                # 0: the largest mask value + 1 (11 for canvases)
    image_size: int = param(0, ge=0)  # 0: keep (one size, divisible by 2**levels)
    grayscale: bool | None = None       # None: when every image is grayscale
    widths: str = "8,16,48,96,192"      # U-Net channels per level, full size first
    top_convs: int = param(1, ge=1)
    class_skip: bool = True
    bg_weight: float = param(1.0, gt=0)  # loss weight of class 0 (the other classes: 1)
    test_fraction: float = param(0.2, gt=0, lt=1)  # used when the data has no test part
    val_fraction: float = param(0.1, gt=0, lt=1)
    train_canvases: int = param(4000, ge=1)  # mnist-canvases: per epoch
    val_canvases: int = param(500, ge=1)
    test_canvases: int = param(500, ge=1)
    fresh: bool = True                  # mnist-canvases: new training canvases every epoch
    epochs: int = param(20, ge=1)  # most epochs; early stopping on validation
    patience: int = param(5, ge=1)
    monitor: str = param("mean_iou", choices=("mean_iou", "loss"))  # on validation
    batch_size: int = param(16, ge=1)
    lr: float = param(0.003, gt=0)  # Adam
    # cosine: to 0 over all steps, per step
    schedule: str = param("cosine", choices=("cosine", "constant"))
    weight_decay: float = param(0.0, ge=0)
    seed: int = param(0, ge=0)

    def check(self, where):
        try:
            widths = [int(w) for w in self.widths.split(",")]
        except ValueError:
            widths = []
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"{where}: widths: expected >= 2 positive integers like "
                             f"'8,16,32', got {self.widths!r}")
        if self.num_classes == 1 or self.num_classes < 0:
            raise ValueError(f"{where}: num_classes: expected 0 (from the masks) or >= 2, got "
                             f"{self.num_classes}")

    @property
    def levels(self) -> int:
        return len(self.widths.split(",")) - 1


# ---- reading the user's folders ---------------------------------------------------------

def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image folders need Pillow: pip install 'glassnet[images]'") from None
    return Image


def read_mask(path, size: int | None = None) -> np.ndarray:
    """A mask PNG as int64 (H, W) class ids (nearest-neighbour resize to ``size``)."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            if im.mode not in GRAY_MODES:
                raise ValueError(f"mask {path}: expected a one-channel PNG of class ids "
                                 f"(mode L, P or I), got mode {im.mode}")
            if size:
                im = im.resize((size, size), Image.NEAREST)
            return np.asarray(im).astype(np.int64)
    except OSError as e:
        raise ValueError(f"mask {path}: cannot be read ({e})") from None


def _is_gray(path) -> bool:
    try:
        with _pil().open(path) as im:
            return im.mode in GRAY_MODES - {"P"}
    except OSError as e:
        raise ValueError(f"image {path}: cannot be read ({e})") from None


def load_mask_folder(root, size: int | None = None, grayscale: bool | None = None):
    """Read ``root/images/*`` and ``root/masks/NAME.png`` into ``(x (N, C, H, W) float32 in
    [0, 1], masks (N, H, W) int64, names)``. Errors name the file that is wrong."""
    root = Path(root)
    images, masks = root / "images", root / "masks"
    for d in (images, masks):
        if not d.is_dir():
            raise FileNotFoundError(f"data {root}: expected folders images/ and masks/ "
                                    f"(same-named files), {d.name}/ is missing")
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"data {images}: no images ({', '.join(IMAGE_SUFFIXES)})")
    if grayscale is None:
        grayscale = all(_is_gray(f) for f in files)
    xs, ts = [], []
    for f in files:
        m = masks / (f.stem + ".png")
        if not m.is_file():
            raise FileNotFoundError(f"image {f}: no mask {m} (masks are PNGs named like "
                                    f"their image)")
        x, t = read_image(f, size, grayscale), read_mask(m, size)
        if x.shape[1:] != t.shape:
            raise ValueError(f"mask {m}: size {t.shape[1]}x{t.shape[0]} differs from its "
                             f"image's {x.shape[2]}x{x.shape[1]}")
        if xs and x.shape != xs[0].shape:
            raise ValueError(f"image {f}: size {x.shape[2]}x{x.shape[1]} differs from "
                             f"{xs[0].shape[2]}x{xs[0].shape[1]} of {files[0].name}; set "
                             f"image_size to resize them all")
        xs.append(x)
        ts.append(t)
    return np.stack(xs), np.stack(ts), [f.name for f in files]


def _check_classes(masks, names, root, num_classes: int) -> None:
    top = masks.reshape(len(masks), -1).max(axis=1)
    bad = np.flatnonzero(top >= num_classes)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"mask {Path(root) / 'masks' / Path(names[i]).with_suffix('.png')}: "
                         f"class id {int(top[i])} >= num_classes {num_classes}")


def load_segmentation(recipe: SegmentationRecipe, data_dir=None):
    """``(train (x, t), test (x, t) or None, num_classes, source)`` of a folder."""
    path = resolve_data(recipe.data, data_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"data {path}: no such folder (expected images/ + masks/, "
                                f"or 'mnist-canvases')")
    size = recipe.image_size or None
    split = (path / "train").is_dir() and (path / "test").is_dir()
    x, t, names = load_mask_folder(path / "train" if split else path, size, recipe.grayscale)
    test = None
    if split:
        xt, tt, tnames = load_mask_folder(path / "test", size, x.shape[1] == 1)
        if xt.shape[1:] != x.shape[1:]:
            raise ValueError(f"data {path / 'test'}: images {xt.shape[1:]} differ from the "
                             f"training images {x.shape[1:]}; set image_size")
        test = (xt, tt)
    k = recipe.num_classes or int(t.max()) + 1
    if k < 2:
        raise ValueError(f"data {path}: every mask is all class 0; nothing to segment")
    _check_classes(t, names, path / "train" if split else path, k)
    if test is not None:
        _check_classes(test[1], tnames, path / "test", k)
    step = 2 ** recipe.levels
    if x.shape[2] % step or x.shape[3] % step:
        raise ValueError(f"data {path}: images are {x.shape[3]}x{x.shape[2]}; the U-Net "
                         f"({recipe.levels} poolings) needs sides divisible by {step}: set "
                         f"image_size (e.g. {step * max(1, round(x.shape[2] / step))}) or "
                         f"fewer widths")
    return (x, t), test, k, str(path)


# ---- training -----------------------------------------------------------------------------

class _Canvases:
    """Training batches of MNIST canvases; with ``fresh``, new canvases every epoch after the
    first (from ``rng``)."""

    def __init__(self, digits, first, batch_size, fresh, rng):
        self.digits, self.data, self.batch_size = digits, first, batch_size
        self.fresh, self.rng, self.epochs = fresh, rng, 0

    def __len__(self):
        return math.ceil(len(self.data[0]) / self.batch_size)

    def __iter__(self):
        if self.fresh and self.epochs:
            self.data = make_canvases(*self.digits, len(self.data[0]), rng=self.rng)
        self.epochs += 1
        x, t = self.data
        order = self.rng.permutation(len(x))
        for i in range(0, len(x), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield Tensor(x[idx]), Tensor(t[idx])


class MeanIoU(Callback):
    """After each epoch, segment the validation part once: adds ``val_loss``,
    ``val_mean_iou`` and ``val_pixel_accuracy`` to the epoch logs and the history (runs
    before the progress bar and early stopping)."""

    order = -200

    def __init__(self, val, classes: int, loss_fn, batch: int = 64):
        self.val, self.classes, self.loss_fn, self.batch = val, classes, loss_fn, batch

    def on_epoch_end(self, epoch, logs):
        model, (x, t) = self.context.model, self.val
        was, total, cm = model.training, 0.0, np.zeros((self.classes,) * 2, np.int64)
        model.eval()
        with no_grad():
            for i in range(0, len(x), self.batch):
                out = model(Tensor(x[i:i + self.batch]))
                total += float(self.loss_fn(out, Tensor(t[i:i + self.batch])).item()) * \
                    len(out.array)
                cm += confusion(out.array.argmax(1), t[i:i + self.batch], self.classes)
        model.train(was)
        s = iou_scores(cm)
        new = {"val_loss": total / len(x), "val_mean_iou": s["mean_iou"],
               "val_pixel_accuracy": s["pixel_accuracy"]}
        logs.update(new)
        for k, v in new.items():
            self.context.history.history.setdefault(k, []).append(float(v))


class _StepCosine(Callback):
    """Cosine decay of the learning rate stepped after every batch."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def on_batch_end(self, step, logs):
        self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])


def build_unet(recipe: SegmentationRecipe, in_channels: int, classes: int) -> UNet:
    return UNet(tuple(int(w) for w in recipe.widths.split(",")), classes,
                in_channels=in_channels, top_convs=recipe.top_convs,
                class_skip=recipe.class_skip)


def _canvas_data(recipe, data_dir):
    given = Path(data_dir) if data_dir else None
    root = given if given is not None and any(given.glob("train-images-idx3*")) \
        else resolve_data("mnist", data_dir)
    xtr, ytr = load_mnist(root=root, split="train")
    xte, yte = load_mnist(root=root, split="test")
    rng = np.random.default_rng(recipe.seed)
    digits = (xtr[:-5000], ytr[:-5000])
    train = make_canvases(*digits, recipe.train_canvases, rng=rng)
    test = make_canvases(xte, yte, recipe.test_canvases, rng=rng)
    val = make_canvases(xtr[-5000:], ytr[-5000:], recipe.val_canvases,
                        rng=np.random.default_rng(recipe.seed + 2))
    loader = _Canvases(digits, train, recipe.batch_size, recipe.fresh,
                       np.random.default_rng(recipe.seed + 1))
    return loader, val, test, NUM_CLASSES, f"mnist-canvases from {root}"


def _folder_data(recipe, data_dir):
    (x, t), test, k, source = load_segmentation(recipe, data_dir)
    if test is None:
        keep, held = split_indices(len(x), recipe.test_fraction, recipe.seed)
        test, (x, t) = (x[held], t[held]), (x[keep], t[keep])
    keep, val = split_indices(len(x), recipe.val_fraction, recipe.seed + 1)
    loader = DataLoader(TensorDataset(x[keep], t[keep]), batch_size=recipe.batch_size,
                        shuffle=True, seed=recipe.seed)
    return loader, (x[val], t[val]), test, k, source


def _train_masks(loader) -> np.ndarray:
    return loader.data[1] if isinstance(loader, _Canvases) else loader.dataset.arrays[1]


def train_segmentation(recipe: SegmentationRecipe, run_dir, *, overwrite=False, verbose=True,
                       data_dir=None) -> dict:
    start = time.perf_counter()
    canvases = recipe.data == "mnist-canvases"
    loader, val, test, k, source = (_canvas_data if canvases else _folder_data)(recipe,
                                                                                 data_dir)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    masks = _train_masks(loader)
    shape = tuple(val[0].shape[1:])
    if verbose:
        print(header_line("segmentation", source, {
            "train" + (" (per epoch)" if canvases else ""): len(masks),
            "validation": len(val[0]), "test": len(test[0])}, f"images {shape}, {k} classes"))
    manual_seed(recipe.seed)
    model = build_unet(recipe, shape[0], k)
    if verbose:
        summary(model, shape)
    weight = np.ones(k, np.float32)
    weight[0] = recipe.bg_weight
    loss_fn = nn.CrossEntropyLoss(weight=Tensor(weight))
    opt = optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    callbacks = [MeanIoU(val, k, loss_fn),
                 EarlyStopping(f"val_{recipe.monitor}", patience=recipe.patience,
                               mode="max" if recipe.monitor == "mean_iou" else "min",
                               restore_best=True)]
    if recipe.schedule == "cosine":
        callbacks.append(_StepCosine(optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=recipe.epochs * len(loader))))
    history = fit(model, loss_fn, opt, loader, None, epochs=recipe.epochs, metrics=(),
                  callbacks=callbacks, verbose=verbose)
    stop = callbacks[1]
    save_weights(model, run_dir / "weights.safetensors")
    scores = iou_scores(confusion(segment(model, test[0]), test[1], k))
    top = int(np.bincount(masks.ravel(), minlength=k).argmax())
    base = iou_scores(confusion(np.full_like(test[1], top), test[1], k))
    record = {"task": "segmentation", "data": source,
              "test": {"mean_iou": scores["mean_iou"],
                       "pixel_accuracy": scores["pixel_accuracy"]},
              "baselines": {"majority_class": {"mean_iou": base["mean_iou"],
                                               "pixel_accuracy": base["pixel_accuracy"],
                                               "class": top}},
              "test_iou_per_class": scores["iou"],
              "validation": {"mean_iou": history["val_mean_iou"][stop.best_epoch or 0],
                             "loss": history["val_loss"][stop.best_epoch or 0]},
              "best_epoch": (stop.best_epoch or 0) + 1, "epochs_run": len(history),
              "num_classes": k, "input_shape": list(shape),
              "parameters": int(sum(p.numel() for p in model.parameters())),
              "train_seconds": round(time.perf_counter() - start, 2),
              "history": history.to_dict()}
    write_run_json(run_dir, record)
    picture = save_picture(run_dir / "segmentation.png", test[0], test[1],
                           segment(model, test[0][:4]))
    if verbose:
        if picture is not None:
            print(f"input / target / prediction of 4 test images: {picture}")
        print_result("segmentation", record["test"], record["baselines"], run_dir,
                     f"best epoch {record['best_epoch']}")
    return record


def save_picture(path, x, t, p, n: int = 4):
    """Input / target / prediction of the first ``n`` images side by side (PNG); None when
    matplotlib is not installed."""
    try:
        from ..viz import new_figure, save_figure
        n = min(n, len(p))
        fig, axes = new_figure((7, 2.4 * n), n, 3)
    except ImportError:
        return None
    top = max(int(t[:n].max()), int(p[:n].max()), 1)
    for i in range(n):
        img = x[i, 0] if x.shape[1] == 1 else x[i].transpose(1, 2, 0)
        for j, (a, title, kw) in enumerate(
                ((img, "input", {"cmap": "gray"}),
                 (t[i], "target", {"cmap": "tab20", "vmin": 0, "vmax": max(top, 19)}),
                 (p[i], "prediction", {"cmap": "tab20", "vmin": 0, "vmax": max(top, 19)}))):
            axes[i, j].imshow(a, interpolation="nearest", **kw)
            axes[i, j].set_axis_off()
            if i == 0:
                axes[i, j].set_title(title)
    return save_figure(fig, path, dpi=80)


# ---- prediction ---------------------------------------------------------------------------

def load_segmentation_run(run_dir):
    """``(model, recipe, run.json record)`` of a finished segmentation run, in eval mode."""
    run = read_run_json(run_dir)
    recipe = SegmentationRecipe.from_toml(Path(run_dir) / "recipe.toml")
    model = build_unet(recipe, run["input_shape"][0], run["num_classes"])
    load_weights(model, Path(run_dir) / "weights.safetensors")
    return model.eval(), recipe, run


def _predict_cli(run_dir, args) -> str:
    """``glassnet predict RUN IMAGE|FOLDER``: writes RUN/predictions/NAME.png (pixel value =
    class id) for each image and prints one JSON line per image."""
    if not getattr(args, "file", None):
        raise ValueError("predict: give an image or a folder of images")
    model, recipe, run = load_segmentation_run(run_dir)
    path = Path(args.file)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
        if path.is_dir() else [path]
    if not files or files[0].suffix.lower() not in IMAGE_SUFFIXES or not files[0].is_file():
        raise ValueError(f"predict: {path}: expected an image ({', '.join(IMAGE_SUFFIXES)}) "
                         f"or a folder of images")
    c, h, w = run["input_shape"]
    out_dir = Path(run_dir) / "predictions"
    out_dir.mkdir(exist_ok=True)
    lines = []
    for f in files:
        x = read_image(f, None, c == 1)
        if x.shape != (c, h, w):
            raise ValueError(f"predict: image {f}: expected {w}x{h} with {c} channel(s) like "
                             f"the training images, got {x.shape[2]}x{x.shape[1]} with "
                             f"{x.shape[0]}")
        mask = segment(model, x[None])[0]
        dest = out_dir / (f.stem + ".png")
        _pil().fromarray(mask.astype(np.uint8), mode="L").save(dest)
        counts = np.bincount(mask.ravel(), minlength=run["num_classes"])
        lines.append(json.dumps({"input": f.name, "mask": str(dest),
                                 "pixels_per_class": counts.tolist()}))
    return "\n".join(lines)


register(Task(name="segmentation", summary="a class for every pixel (U-Net)",
              recipe=SegmentationRecipe, train=train_segmentation, predict=_predict_cli,
              formats="a folder with images/ and same-named PNG masks/ of class ids "
                      "(optional train/ + test/), or 'mnist-canvases' (MNIST digits on "
                      "64x64 canvases, 11 classes)"))
