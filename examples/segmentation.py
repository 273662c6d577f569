"""Semantic segmentation of real MNIST digits with a small U-Net in glassnet.

    python examples/segmentation.py                                   # the recipe: 16 epochs
    python examples/segmentation.py --train 500 --test 100 --epochs 1     # smoke run

Data: 64x64 canvases holding 1-3 MNIST digits at random positions (training canvases from the
MNIST train split, new ones every epoch; held-out canvases from the test split). Target per
pixel: 0 = background, 1 + d = ink (pixel > 0.5) of a digit d. Model: a U-Net-like
encoder-decoder (Conv2d/BatchNorm2d/ReLU blocks, MaxPool2d down to 4x4, ConvTranspose2d up,
skip concatenation) whose full-size head also gets logits from the 32x32 decoder level.
Loss: per-pixel cross-entropy (background weighted by --bg-weight); Adam with cosine decay.
Metric: mean IoU over the classes present (background + 10 digits) on the held-out canvases.
Saves input / target / prediction side by side to --out (PNG) when matplotlib is installed.
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.data import load_mnist

nn = gn.nn
REPO = Path(__file__).resolve().parents[1]
NUM_CLASSES = 11


def default_data_dir() -> Path:
    env = os.environ.get("GLASSNET_DATA")
    return Path(env) / "mnist" if env else (REPO / "../shared/data/mnist").resolve()


def make_canvases(images, labels, n, size=64, rng=None):
    """n canvases (n, 1, size, size) float32 and targets (n, size, size) int64."""
    x = np.zeros((n, 1, size, size), np.float32)
    t = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            k = rng.integers(len(images))
            r, c = rng.integers(0, size - 28, 2)
            img = images[k, 0]
            ink = img > 0.5
            x[i, 0, r:r + 28, c:c + 28] = np.maximum(x[i, 0, r:r + 28, c:c + 28], img)
            t[i, r:r + 28, c:c + 28][ink] = 1 + labels[k]
    return x, t


def block(cin, cout, convs=2):
    """``convs`` times Conv2d(3x3, same size) → BatchNorm2d → ReLU."""
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.BatchNorm2d(cout),
                   nn.ReLU()]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net-like encoder-decoder: the encoder halves the size ``len(widths) - 1`` times
    (64→32→16→8→4 by default, channels ``widths``), the decoder goes back up with
    ConvTranspose2d and at each level concatenates the encoder features of the same size
    (skip connections). ``top_convs`` convolutions run at full resolution (1 is enough there:
    ink is a threshold of the input; telling digits apart happens in the deeper, cheaper
    levels, whose 3x3 kernels at 1/8 and 1/16 size see the whole digit).

    Args:
        widths: channels per level, full size first.
        classes: output classes per pixel.
        top_convs: Conv-BN-ReLU layers at full size (encoder and decoder).
        class_skip: also compute logits from the half-size decoder features and add them,
            upsampled x2, to the full-size head's logits (the class need not squeeze
            through the top level's ``widths[0]`` channels).

    Shape:
        input (N, 1, H, W) with H, W divisible by 2 ** (len(widths) - 1);
        output (N, classes, H, W) logits.

    Example:
        >>> UNet()(gn.tensor(np.zeros((2, 1, 64, 64), np.float32))).shape
        (2, 11, 64, 64)
    """

    def __init__(self, widths=(8, 16, 48, 96, 192), classes=NUM_CLASSES, top_convs=1,
                 class_skip=True):
        super().__init__()
        L = len(widths) - 1
        self.down = nn.ModuleList([block(1, widths[0], top_convs)] + [
            block(widths[i], widths[i + 1]) for i in range(L)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(L))])
        self.dec = nn.ModuleList([block(2 * widths[i], widths[i], top_convs if i == 0 else 2)
                                  for i in reversed(range(L))])
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Conv2d(widths[0], classes, 1)
        if class_skip:       # logits from the half-size decoder, upsampled and added
            self.head2 = nn.Conv2d(widths[1], classes, 1)
            self.up2 = nn.Upsample(scale_factor=2)
        self.class_skip = class_skip

    def forward(self, x):
        skips = []
        for i, enc in enumerate(self.down):
            x = enc(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()                                                # the bottleneck itself
        half = None
        for up, dec in zip(self.up, self.dec):
            half = x
            x = dec(gn.cat([up(x), skips.pop()], dim=1))
        if self.class_skip:
            return self.head(x) + self.up2(self.head2(half))
        return self.head(x)


def predict(model, x, batch=100):
    model.eval()
    out = []
    with gn.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(gn.tensor(x[i:i + batch])).data.argmax(1))
    model.train()
    return np.concatenate(out)


def mean_iou(pred, target, classes=NUM_CLASSES) -> tuple:
    ious = []
    for c in range(classes):
        inter = np.sum((pred == c) & (target == c))
        union = np.sum((pred == c) | (target == c))
        if union:
            ious.append(inter / union)
    return float(np.mean(ious)), ious


def save_picture(path, x, t, p, n=4):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no picture saved")
        return False
    fig, axes = plt.subplots(n, 3, figsize=(7, 2.4 * n))
    for i in range(n):
        for j, (img, title, kw) in enumerate(
                ((x[i, 0], "input", dict(cmap="gray")),
                 (t[i], "target", dict(cmap="tab20", vmin=0, vmax=19)),
                 (p[i], "prediction", dict(cmap="tab20", vmin=0, vmax=19)))):
            axes[i, j].imshow(img, **kw)
            axes[i, j].set_axis_off()
            if i == 0:
                axes[i, j].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=default_data_dir())
    ap.add_argument("--train", type=int, default=4000, help="training canvases per epoch")
    ap.add_argument("--test", type=int, default=500, help="held-out canvases")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--schedule", choices=("cosine", "constant"), default="cosine",
                    help="cosine: lr decays to 0 over all steps (stepped per batch)")
    ap.add_argument("--fresh", type=int, default=1,
                    help="1: new training canvases each epoch (from the MNIST train split); "
                         "0: the same canvases every epoch")
    ap.add_argument("--widths", default="8,16,48,96,192",
                    help="channels per U-Net level, top (64x64) first")
    ap.add_argument("--top-convs", type=int, default=1, help="convolutions at full size")
    ap.add_argument("--class-skip", type=int, default=1,
                    help="1: add logits computed from the 32x32 decoder features (upsampled) "
                         "to the full-size head, so the class need not squeeze through the "
                         "top level's few channels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bg-weight", type=float, default=0.1,
                    help="class weight of background pixels in the loss (digits: 1); ~95%% "
                         "of the pixels are background")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "segmentation.png")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    xtr, ytr = load_mnist(root=args.data_dir, split="train")
    xte, yte = load_mnist(root=args.data_dir, split="test")
    x_train, t_train = make_canvases(xtr, ytr, args.train, rng=rng)
    x_test, t_test = make_canvases(xte, yte, args.test, rng=rng)
    data_rng = np.random.default_rng(args.seed + 1)              # later epochs' canvases
    print(f"{len(x_train)} training canvases per epoch (MNIST train, "
          f"{'new each epoch' if args.fresh else 'fixed'}), {len(x_test)} held-out (MNIST test)")

    gn.manual_seed(args.seed)
    model = UNet(tuple(int(w) for w in args.widths.split(",")), top_convs=args.top_convs,
                 class_skip=bool(args.class_skip))
    print(f"UNet widths {args.widths}: {sum(p.data.size for p in model.parameters()):,} "
          f"parameters")
    opt = gn.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * -(-args.train // args.batch_size)
    sched = (gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
             if args.schedule == "cosine" else None)
    weight = np.ones(NUM_CLASSES, np.float32)
    weight[0] = args.bg_weight
    loss_fn = nn.CrossEntropyLoss(weight=gn.tensor(weight))
    result = {"epochs": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        if args.fresh and epoch > 1:
            x_train, t_train = make_canvases(xtr, ytr, args.train, rng=data_rng)
        order, total, t0 = rng.permutation(len(x_train)), 0.0, time.perf_counter()
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = loss_fn(model(gn.tensor(x_train[idx])), gn.tensor(t_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.item() * len(idx)
        secs = time.perf_counter() - t0
        miou, ious = mean_iou(predict(model, x_test), t_test)
        result["epochs"].append({"epoch": epoch, "loss": total / len(order), "mean_iou": miou,
                                 "seconds": secs})
        print(f"epoch {epoch}: loss {total / len(order):.4f}  held-out mean IoU {miou:.3f}  "
              f"(bg {ious[0]:.3f}, digits {np.mean(ious[1:]):.3f})  ({secs:.0f} s)", flush=True)
    pred = predict(model, x_test)
    result["mean_iou"], ious = mean_iou(pred, t_test)
    result["wall_seconds"] = time.perf_counter() - start
    print("per-class IoU (background, digits 0-9):", " ".join(f"{v:.2f}" for v in ious))
    print(f"final held-out mean IoU {result['mean_iou']:.3f}; "
          f"{result['wall_seconds'] / 60:.1f} min training + evaluation")
    if save_picture(args.out, x_test, t_test, pred):
        print(f"saved {args.out}")
    return result


if __name__ == "__main__":
    main()
