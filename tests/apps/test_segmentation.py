"""examples/segmentation.py: canvases and targets, the IoU metric, the U-Net's shapes, a few
steps that lower the loss, and a tiny end-to-end run on real MNIST (skipped without data)."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "segmentation.py"
DATA = Path(os.environ.get("GLASSNET_DATA") or REPO / ".." / "shared" / "data")
MNIST = DATA / "mnist"
needs_mnist = pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason=f"MNIST not found in {MNIST} (set GLASSNET_DATA)")


@pytest.fixture(scope="module")
def seg():
    spec = importlib.util.spec_from_file_location("segmentation_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _digits(n=20, seed=0):
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 1, 28, 28)) > 0.7).astype(np.float32)
    return images, rng.integers(0, 10, n)


def test_canvases_label_exactly_the_ink(seg):
    images, labels = _digits()
    x, t = seg.make_canvases(images, labels, 6, rng=np.random.default_rng(1))
    assert x.shape == (6, 1, 64, 64) and x.dtype == np.float32
    assert t.shape == (6, 64, 64) and t.dtype == np.int64
    np.testing.assert_array_equal(t > 0, x[:, 0] > 0.5)      # ink <=> a digit class
    assert set(np.unique(t)) <= set(range(11))


def test_mean_iou_over_present_classes(seg):
    target = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 2]])
    miou, ious = seg.mean_iou(pred, target)
    # class 0: 1/2, class 1: 1/3, class 2: 0/1; classes 3..10 absent from both: skipped
    np.testing.assert_allclose(ious, [1 / 2, 1 / 3, 0.0])
    assert miou == pytest.approx((1 / 2 + 1 / 3) / 3)
    assert seg.mean_iou(target, target)[0] == 1.0


def test_unet_shapes_and_a_few_steps_lower_the_loss(seg):
    images, labels = _digits()
    x, t = seg.make_canvases(images, labels, 4, rng=np.random.default_rng(2))
    gn.manual_seed(0)
    model = seg.UNet(widths=(4, 8, 8), top_convs=1)
    assert model(gn.tensor(x[:1])).shape == (1, seg.NUM_CLASSES, 64, 64)
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = gn.nn.CrossEntropyLoss()
    losses = []
    for _ in range(25):
        loss = loss_fn(model(gn.tensor(x)), gn.tensor(t))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses


@needs_mnist
def test_tiny_run_end_to_end(seg, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "seg.png"
    res = seg.main(["--data-dir", str(MNIST), "--train", "16", "--test", "8", "--epochs", "2",
                    "--widths", "4,8,8", "--out", str(out)])
    assert len(res["epochs"]) == 2 and 0 <= res["mean_iou"] <= 1
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
