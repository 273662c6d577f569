"""Train a 784-512-256-10 MLP on MNIST with the glassnet library API (>= 98% test accuracy).

    python examples/mnist_mlp.py --data-dir ../shared/data/mnist [--epochs 12] \
        [--out runs/mnist_example]

The same run from the command line: ``glassnet train recipes/mnist_mlp.toml --data-dir ...``.
"""
import argparse
import time

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, get_dataset, random_split
from glassnet.io import save_weights
from glassnet.models import build_model
from glassnet.train import (JSONLLogger, LRSchedulerCallback, ModelCheckpoint, evaluate, fit,
                            summary)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="folder with the four MNIST .gz files")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out", default="runs/mnist_example")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    gn.manual_seed(args.seed)
    train_full = get_dataset("mnist", root=args.data_dir, split="train")
    test = get_dataset("mnist", root=args.data_dir, split="test")
    train, val = random_split(train_full, [0.9, 0.1], seed=args.seed)
    train_loader = DataLoader(train, batch_size=128, shuffle=True, seed=args.seed)
    val_loader, test_loader = DataLoader(val, 512), DataLoader(test, 512)

    model = build_model("mlp", (1, 28, 28), 10)          # Flatten, 784-512-256-10, dropout 0.2
    summary(model, (1, 28, 28))
    opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    sched = gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    callbacks = [LRSchedulerCallback(sched), JSONLLogger(f"{args.out}/metrics.jsonl"),
                 ModelCheckpoint(f"{args.out}/checkpoints", monitor="val_accuracy")]

    start = time.perf_counter()
    history = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader,
                  epochs=args.epochs, callbacks=callbacks)
    seconds = time.perf_counter() - start
    save_weights(model, f"{args.out}/weights.safetensors")
    result = evaluate(model, test_loader, nn.CrossEntropyLoss())
    print(f"test accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f}; "
          f"{seconds / len(history):.1f} s per epoch; run in {args.out}")


if __name__ == "__main__":
    main()
