"""Task segmentation: the folder reader (errors naming the file), the metrics against a
hand count, a tiny synthetic folder (squares and discs) learnt above the all-background
baseline through ``glassnet train``, the run.json contract, and predict writing a PNG mask."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PIL = pytest.importorskip("PIL.Image")

from glassnet.runs import get_task, read_run_json  # noqa: E402
from glassnet.runs.segmentation import (SegmentationRecipe, load_mask_folder,  # noqa: E402
                                        train_segmentation)
from glassnet.runs.supervised import split_indices  # noqa: E402
from glassnet.runs.unet import UNet, confusion, iou_scores  # noqa: E402


def _shapes(root: Path, n: int, size: int = 16, seed: int = 0) -> Path:
    """n grayscale images with a bright square (class 1) and a dimmer disc (class 2)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = rng.uniform(0, 0.15, (size, size))
        mask = np.zeros((size, size), np.uint8)
        r, c = rng.integers(0, size - 5, 2)
        img[r:r + 5, c:c + 5], mask[r:r + 5, c:c + 5] = 1.0, 1
        cy, cx = rng.integers(3, size - 3, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 6
        img[disc], mask[disc] = 0.55, 2
        PIL.fromarray((img * 255).astype(np.uint8), mode="L").save(root / "images" / f"{i}.png")
        PIL.fromarray(mask, mode="L").save(root / "masks" / f"{i}.png")
    return root


def test_metrics_against_a_hand_count():
    target = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 2]])
    s = iou_scores(confusion(pred, target, 4))
    # class 0: 1/2, class 1: 1/3, class 2: 0/1, class 3 absent from both: left out
    assert s["iou"] == [pytest.approx(0.5), pytest.approx(1 / 3), 0.0, None]
    assert s["mean_iou"] == pytest.approx((1 / 2 + 1 / 3) / 3)
    assert s["pixel_accuracy"] == pytest.approx(0.5)


def test_unet_output_shape_and_size_error():
    import glassnet as gn
    model = UNet((4, 8, 8), 3, in_channels=3)
    assert model(gn.zeros(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(gn.zeros(1, 3, 18, 16))


def test_reader_errors_name_the_file(tmp_path):
    root = _shapes(tmp_path / "d", 3)
    x, t, names = load_mask_folder(root)
    assert x.shape == (3, 1, 16, 16) and x.dtype == np.float32 and t.dtype == np.int64
    assert set(np.unique(t)) == {0, 1, 2} and names == ["0.png", "1.png", "2.png"]
    (root / "masks" / "1.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1\.png: no mask .*masks/1\.png"):
        load_mask_folder(root)
    PIL.fromarray(np.zeros((8, 16), np.uint8), mode="L").save(root / "masks" / "1.png")
    with pytest.raises(ValueError, match=r"masks/1\.png: size 16x8 differs"):
        load_mask_folder(root)
    PIL.fromarray(np.zeros((16, 16, 3), np.uint8), mode="RGB").save(root / "masks" / "1.png")
    with pytest.raises(ValueError, match=r"masks/1\.png: expected a one-channel PNG"):
        load_mask_folder(root)
    bad = np.zeros((16, 16), np.uint8)
    bad[0, 0] = 7
    PIL.fromarray(bad, mode="L").save(root / "masks" / "1.png")
    recipe = SegmentationRecipe(data=str(root), num_classes=3, widths="4,8")
    with pytest.raises(ValueError, match=r"masks/1\.png: class id 7 >= num_classes 3"):
        train_segmentation(recipe, tmp_path / "run", verbose=False)


def test_recipe_errors_name_the_key():
    with pytest.raises(ValueError, match="widths: expected >= 2 positive integers"):
        SegmentationRecipe.from_dict({"data": "x", "widths": "8"})
    with pytest.raises(ValueError, match="monitor: expected one of mean_iou, loss, got 'acc'"):
        SegmentationRecipe.from_dict({"data": "x", "monitor": "acc"})
    with pytest.raises(ValueError, match="epochs: expected int, got str 'two'"):
        SegmentationRecipe.from_dict({"data": "x", "epochs": "two"})


def test_odd_sizes_ask_for_image_size(tmp_path):
    root = _shapes(tmp_path / "d", 3, size=18)
    with pytest.raises(ValueError, match="18x18.*divisible by 4: set image_size"):
        train_segmentation(SegmentationRecipe(data=str(root), widths="4,8,8"),
                           tmp_path / "run", verbose=False)


def test_train_beats_the_baseline_and_predict_writes_a_mask(tmp_path):
    root = _shapes(tmp_path / "data", 48)
    recipe = tmp_path / "seg.toml"
    recipe.write_text(f'task = "segmentation"\ndata = "{root}"\nwidths = "8,16"\n'
                      f'epochs = 12\npatience = 12\nbatch_size = 8\nlr = 0.01\n'
                      f'schedule = "constant"\n')
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "glassnet", "train", str(recipe), "--out", str(run),
           "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    rec = read_run_json(run)
    assert rec["task"] == "segmentation" and rec["num_classes"] == 3
    base = rec["baselines"]["majority_class"]
    assert base["class"] == 0
    assert rec["test"]["mean_iou"] > base["mean_iou"] + 0.3, rec["test"]
    assert rec["test"]["pixel_accuracy"] > base["pixel_accuracy"], rec["test"]
    assert len(rec["history"]["val_mean_iou"]) == rec["epochs_run"]
    # the baseline follows from the held-out masks alone: recompute it from the files
    held = split_indices(48, 0.2, 0)[1]
    names = sorted(p.name for p in (root / "masks").iterdir())     # the reader's order
    masks = np.stack([np.asarray(PIL.open(root / "masks" / names[i])) for i in held])
    bg = np.mean(masks == 0)
    assert base["pixel_accuracy"] == pytest.approx(bg)
    assert base["mean_iou"] == pytest.approx(bg / 3)      # classes 1, 2 present: IoU 0
    out = subprocess.run([sys.executable, "-m", "glassnet", "predict", str(run),
                          str(root / "images" / "0.png")], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    line = json.loads(out.strip().splitlines()[-1])
    mask = np.asarray(PIL.open(line["mask"]))
    assert mask.shape == (16, 16) and mask.max() <= 2
    truth = np.asarray(PIL.open(root / "masks" / "0.png"))
    assert np.mean(mask == truth) > 0.8
    assert sum(line["pixels_per_class"]) == 256


def test_task_is_registered_with_its_formats():
    task = get_task("segmentation")
    assert task is not None and "masks/" in task.formats and "mnist-canvases" in task.formats
