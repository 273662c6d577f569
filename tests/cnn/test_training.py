"""Training sanity: a small CNN overfits 64 real MNIST images to 100% accuracy."""
import os
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

DATA = Path(os.environ.get("GLASSNET_DATA",
                           Path(__file__).resolve().parents[2] / "../shared/data"))


def test_small_cnn_overfits_64_mnist_images():
    root = DATA / "mnist"
    if not (root / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found in {root} (set GLASSNET_DATA)")
    from glassnet.data import load_mnist
    x, y = load_mnist(root=root, split="test")
    x, y = gn.tensor(x[:64]), gn.tensor(y[:64])
    gn.manual_seed(0)
    nn = gn.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
    opt = gn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(300):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 19:
            model.eval()
            with gn.no_grad():
                acc = float((model(x).array.argmax(1) == y.array).mean())
            model.train()
            if acc == 1.0:
                break
    assert acc == 1.0, f"accuracy {acc} after {step + 1} steps (loss {loss.item():.4f})"
    assert np.isfinite(loss.item())
