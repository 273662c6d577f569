"""Moving MNIST training (glassnet.apps.video): a few steps lower the loss; the example
script and ``glassnet train recipes/moving_mnist.toml`` run end to end."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.apps import video as mm
from glassnet.cli import main as glassnet_main
from glassnet.data import MovingMNIST

from ._helpers import mnist_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "moving_mnist.py"


def _example():
    spec = importlib.util.spec_from_file_location("moving_mnist_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_space_to_depth_roundtrip():
    x = np.random.default_rng(0).random((2, 3, 1, 8, 8)).astype(np.float32)
    z = mm.space_to_depth(gn.tensor(x), 4)
    assert z.shape == (2, 3, 16, 2, 2)
    np.testing.assert_array_equal(z.numpy()[0, 0, :, 1, 0], x[0, 0, 0, 4:8, 0:4].ravel())
    np.testing.assert_array_equal(mm.depth_to_space(z, 4).numpy(), x)


def test_few_steps_lower_the_loss():
    """A tiny encoder–forecaster on 4 sequences: 12 Adam steps cut the BCE clearly."""
    digits = (np.random.default_rng(0).random((10, 28, 28)) > 0.7).astype(np.uint8) * 255
    ds = MovingMNIST(num_sequences=4, num_frames=8, num_observed=4, frame_size=32,
                     digits=digits)
    x, y = (gn.tensor(a) for a in ds.arrays(range(4)))
    gn.manual_seed(0)
    model = mm.EncoderForecaster(hidden=6, kernel=3, patch=4, future=4)
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = gn.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(12):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model(x).shape == (4, 4, 1, 32, 32)
    assert losses[-1] < 0.85 * losses[0], losses


def test_example_script_end_to_end(tmp_path):
    root = mnist_dir()
    mm = _example()
    mm.main(["--data-dir", str(root), "--out", str(tmp_path), "--epochs", "1",
             "--train-sequences", "4", "--test-sequences", "3", "--batch-size", "4",
             "--hidden", "4"])
    res = json.loads((tmp_path / "run.json").read_text())
    assert res["task"] == "video" and set(res["baselines"]) == {"repeat_last_frame",
                                                                  "mean_frame"}
    assert set(res["test_per_frame"]) == {"model", "repeat_last_frame", "mean_frame"}
    for name, d in res["test_per_frame"].items():
        assert len(d["mse"]) == len(d["bce"]) == 10
        means = res["test"] if name == "model" else res["baselines"][name]
        assert means["mse"] == pytest.approx(np.mean(d["mse"]))
    assert res["baselines"]["mean_frame"]["mse"] < res["baselines"]["repeat_last_frame"]["mse"]
    for name in ("frames.png", "prediction.gif", "weights.safetensors", "metrics.jsonl"):
        assert (tmp_path / name).stat().st_size > 0
    from PIL import Image
    img = Image.open(tmp_path / "frames.png")
    assert img.size == (96 + 10 * 66, 9 * 66)                  # a 96-pixel label margin
    margin = np.asarray(img)[:, :96]
    assert all((margin[r * 66:(r + 1) * 66] < 128).any() for r in range(9))  # each row labelled


def test_glassnet_train_video_recipe(tmp_path, capsys):
    """``glassnet train`` dispatches ``task = "video"`` to glassnet.apps.video: a tiny run
    writes weights + metrics and its training BCE falls from epoch 1 to epoch 3."""
    root = mnist_dir()
    recipe = tmp_path / "tiny.toml"
    recipe.write_text('task = "video"\ntrain_sequences = 8\ntest_sequences = 2\nepochs = 3\n'
                      'batch_size = 2\nlr = 0.05\nhidden = 4\npatch = 8\n')
    out = tmp_path / "run"
    assert glassnet_main(["train", str(recipe), "--data-dir", str(root), "--out", str(out),
                          "--quiet"]) == 0
    for name in ("weights.safetensors", "metrics.jsonl", "run.json", "recipe.toml",
                 "frames.png"):
        assert (out / name).stat().st_size > 0, name
    losses = [json.loads(line)["loss"] for line in
              (out / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and losses[-1] < 0.98 * losses[0], losses   # 0.169 -> 0.161
    res = json.loads((out / "run.json").read_text())
    assert res["recipe"]["patch"] == 8 and len(res["test_per_frame"]["model"]["mse"]) == 10
    model = mm.EncoderForecaster(hidden=4, patch=8)
    gn.io.load_weights(model, out / "weights.safetensors")
    # a second run into the same folder is refused without --overwrite (one-line error)
    assert glassnet_main(["train", str(recipe), "--data-dir", str(root), "--out", str(out),
                          "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_video_recipe_validation(tmp_path):
    with pytest.raises(ValueError, match="patch: expected a divisor of the frame size 64, got 5"):
        mm.VideoRecipe(patch=5)
    with pytest.raises(ValueError, match="epochs: expected >= 1, got 0"):
        mm.VideoRecipe(epochs=0)
    with pytest.raises(ValueError, match="EncoderForecaster\\(hidden=0\\)"):
        mm.EncoderForecaster(hidden=0)
    with pytest.raises(ValueError, match=r"expected input \(N, T, 1, H, W\)"):
        mm.EncoderForecaster(hidden=2)(np.zeros((1, 2, 1, 6, 6), np.float32))
    shipped = REPO / "recipes" / "moving_mnist.toml"
    assert mm.VideoRecipe.from_toml(shipped).task == "video"
