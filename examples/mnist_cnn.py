"""Train a LeNet-style CNN on full MNIST with glassnet (target: >= 99.0% test accuracy).

    python examples/mnist_cnn.py --data-dir ../shared/data/mnist --epochs 3
    python examples/mnist_cnn.py --limit 2000 --epochs 1          # quick smoke run
    python examples/mnist_cnn.py --torch-epoch                     # also time PyTorch

Model: Conv2d(1,32,3,p=1)-ReLU-MaxPool(2)-Conv2d(32,64,3,p=1)-ReLU-MaxPool(2)-Flatten-
Linear(3136,128)-ReLU-Dropout(0.25)-Linear(128,10); cross-entropy; Adam(lr=1e-3, halved after
every epoch), batch 64.
The data are the four MNIST IDX files, read with glassnet.data.load_mnist from --data-dir
(default: $GLASSNET_DATA/mnist, else ../shared/data/mnist next to the repository).
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet.data import load_mnist

REPO = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    env = os.environ.get("GLASSNET_DATA")
    return Path(env) / "mnist" if env else (REPO / "../shared/data/mnist").resolve()


def build_model(nn):
    """The same layers in glassnet.nn or torch.nn (identical names and arguments)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def evaluate(model, x, y, batch=1000) -> float:
    model.eval()
    correct = 0
    with gn.no_grad():
        for i in range(0, len(x), batch):
            logits = model(gn.tensor(x[i:i + batch]))
            correct += int((logits.data.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return correct / len(x)


def train_epoch(model, opt, loss_fn, x, y, batch, rng) -> tuple:
    order = rng.permutation(len(x))
    total, t0 = 0.0, time.perf_counter()
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        loss = loss_fn(model(gn.tensor(x[idx])), gn.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(x), time.perf_counter() - t0


def torch_epoch_seconds(x, y, batch, seed) -> float:
    """Time one epoch of the same model and optimiser in PyTorch (CPU, 2 threads)."""
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    model = build_model(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(seed).permutation(len(x))
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        loss = loss_fn(model(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=default_data_dir())
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.5,
                    help="multiply the learning rate by this after every epoch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    ap.add_argument("--torch-epoch", action="store_true",
                    help="also time one epoch of the same model in PyTorch")
    args = ap.parse_args(argv)

    x_train, y_train = load_mnist(root=args.data_dir, split="train")
    x_test, y_test = load_mnist(root=args.data_dir, split="test")
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    mean, std = np.float32(0.1307), np.float32(0.3081)          # standard MNIST scaling
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    print(f"MNIST: {len(x_train)} train, {len(x_test)} test images from {args.data_dir}")

    gn.manual_seed(args.seed)
    model = build_model(gn.nn)
    opt = gn.optim.Adam(model.parameters(), lr=args.lr)
    sched = gn.optim.lr_scheduler.ExponentialLR(opt, gamma=args.lr_decay)
    loss_fn = gn.nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    result = {"epochs": [], "params": model.num_parameters()}
    for epoch in range(1, args.epochs + 1):
        loss, secs = train_epoch(model, opt, loss_fn, x_train, y_train, args.batch_size, rng)
        sched.step()
        acc = evaluate(model, x_test, y_test)
        result["epochs"].append({"epoch": epoch, "loss": loss, "test_acc": acc, "seconds": secs})
        print(f"epoch {epoch}: train loss {loss:.4f}  test accuracy {acc * 100:.2f}%  "
              f"({secs:.0f} s)", flush=True)
    result["test_acc"] = result["epochs"][-1]["test_acc"] if result["epochs"] else None
    if args.torch_epoch:
        secs = torch_epoch_seconds(x_train, y_train, args.batch_size, args.seed)
        result["torch_epoch_seconds"] = secs
        print(f"PyTorch, same model, one epoch: {secs:.0f} s")
    return result


if __name__ == "__main__":
    main()
