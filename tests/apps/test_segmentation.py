"""MNIST canvases (glassnet.data.canvases), the U-Net's shapes and a few steps that lower the
loss, and examples/segmentation.py as a thin wrapper over the segmentation task: a tiny
end-to-end run on real MNIST (skipped without data)."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.data.canvases import NUM_CLASSES, make_canvases
from glassnet.runs import read_run_json
from glassnet.runs.unet import UNet

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "segmentation.py"
DATA = Path(os.environ.get("GLASSNET_DATA") or REPO / ".." / "shared" / "data")
MNIST = DATA / "mnist"
needs_mnist = pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason=f"MNIST not found in {MNIST} (set GLASSNET_DATA)")


def _digits(n=20, seed=0):
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 1, 28, 28)) > 0.7).astype(np.float32)
    return images, rng.integers(0, 10, n)


def test_canvases_label_exactly_the_ink():
    images, labels = _digits()
    x, t = make_canvases(images, labels, 6, rng=np.random.default_rng(1))
    assert x.shape == (6, 1, 64, 64) and x.dtype == np.float32
    assert t.shape == (6, 64, 64) and t.dtype == np.int64
    np.testing.assert_array_equal(t > 0, x[:, 0] > 0.5)      # ink <=> a digit class
    assert set(np.unique(t)) <= set(range(NUM_CLASSES))
    with pytest.raises(ValueError, match="size=20"):
        make_canvases(images, labels, 1, size=20)


def test_unet_shapes_and_a_few_steps_lower_the_loss():
    images, labels = _digits()
    x, t = make_canvases(images, labels, 4, rng=np.random.default_rng(2))
    gn.manual_seed(0)
    model = UNet(widths=(4, 8, 8), top_convs=1)
    assert model(gn.tensor(x[:1])).shape == (1, NUM_CLASSES, 64, 64)
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
def test_example_runs_the_task_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("segmentation_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pic = tmp_path / "seg.png"
    sets = ["train_canvases=16", "val_canvases=8", "test_canvases=8", "epochs=2",
            "widths='4,8,8'", "batch_size=8"]
    rec = mod.main([f"--set={s}" for s in sets] + ["--data-dir", str(DATA), "--out",
                                                   str(tmp_path / "run"), "--picture", str(pic)])
    assert rec["epochs_run"] == 2 and 0 <= rec["test"]["mean_iou"] <= 1
    assert read_run_json(tmp_path / "run")["task"] == "segmentation"
    base = rec["baselines"]["majority_class"]
    assert base["class"] == 0 and 0 < base["mean_iou"] < 1
    assert pic.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
