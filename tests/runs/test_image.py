"""Task ``image_classification`` on the user's own images (folders of PNGs, .npz)."""
import json

import numpy as np
import pytest
from PIL import Image

from glassnet.cli import main
from glassnet.data.user_files import load_image_folder, load_npz
from glassnet.runs.image import ImageRecipe, train_image


def bars(rng, vertical: bool, size=12):
    """A noisy picture of a vertical or a horizontal bar at a random place."""
    a = rng.uniform(0, 60, (size, size))
    k = rng.integers(2, size - 3)
    if vertical:
        a[:, k:k + 2] = 230
    else:
        a[k:k + 2, :] = 230
    return a.astype(np.uint8)


def make_folder(root, n=40, seed=0, size=12):
    rng = np.random.default_rng(seed)
    for cls in ("horizontal", "vertical"):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(bars(rng, cls == "vertical", size)).save(root / cls / f"{i}.png")
    return root


def test_folder_of_pngs_trains_a_cnn_that_beats_the_majority_class(tmp_path):
    data = make_folder(tmp_path / "bars")
    recipe = ImageRecipe(data=str(data), model="cnn", epochs=15, patience=15, lr=3e-3,
                         batch_size=16)
    rec = train_image(recipe, tmp_path / "run", verbose=False)
    assert rec["classes"] == ["horizontal", "vertical"] and rec["input_shape"] == [1, 12, 12]
    assert rec["test"]["accuracy"] >= 0.9 > rec["baselines"]["majority_class"]["accuracy"]
    assert rec["task"] == "image_classification"
    # predict one file and a folder through the CLI
    one = tmp_path / "one.png"
    Image.fromarray(bars(np.random.default_rng(9), True)).save(one)
    assert main(["predict", str(tmp_path / "run"), str(one)]) == 0


def test_predict_prints_the_class_and_refuses_bad_inputs(tmp_path, capsys):
    data = make_folder(tmp_path / "bars", n=20)
    rec = ImageRecipe(data=str(data), model="linear", epochs=3)
    train_image(rec, tmp_path / "run", verbose=False)
    img = tmp_path / "v.png"
    Image.fromarray(bars(np.random.default_rng(3), True)).save(img)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(img)]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert row["input"] == "v.png" and row["class"] in rec_classes(tmp_path)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((1, 1, 12, 12), np.nan, np.float32))
    assert main(["predict", str(tmp_path / "run"), str(bad)]) == 2
    assert "NaN" in capsys.readouterr().err
    np.save(bad, np.zeros((1, 1, 5, 5), np.float32))
    assert main(["predict", str(tmp_path / "run"), str(bad)]) == 2
    assert "expected inputs of shape (1, 12, 12)" in capsys.readouterr().err


def rec_classes(tmp_path):
    return json.loads((tmp_path / "run" / "run.json").read_text())["classes"]


def test_train_test_folders_and_mismatched_sizes(tmp_path):
    make_folder(tmp_path / "d" / "train", n=8)
    make_folder(tmp_path / "d" / "test", n=4, seed=1)
    rec = train_image(ImageRecipe(data=str(tmp_path / "d"), model="linear", epochs=2),
                      tmp_path / "run", verbose=False)
    assert rec["baselines"]["majority_class"]["accuracy"] == 0.5     # 4 + 4 test images
    Image.fromarray(np.zeros((7, 9), np.uint8)).save(tmp_path / "d" / "train" / "vertical"
                                                      / "odd.png")
    with pytest.raises(ValueError, match=r"odd.png: size 7x9 differs from 12x12.*image_size"):
        load_image_folder(tmp_path / "d" / "train")
    x, _, _ = load_image_folder(tmp_path / "d" / "train", size=6)
    assert x.shape == (17, 1, 6, 6) and 0 <= x.min() and x.max() <= 1
    (tmp_path / "d" / "train" / "vertical" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png: cannot be read"):
        load_image_folder(tmp_path / "d" / "train", size=6)


def test_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((60, 4, 4), dtype=np.float32)
    y = (x.mean(axis=(1, 2)) > 0.5).astype(np.int64)
    np.savez(tmp_path / "a.npz", x=x, y=y)
    rec = train_image(ImageRecipe(data=str(tmp_path / "a.npz"), model="mlp-small", epochs=3),
                      tmp_path / "run", verbose=False)
    assert rec["input_shape"] == [1, 4, 4] and rec["classes"] == ["0", "1"]
    np.savez(tmp_path / "b.npz", inputs=x)
    with pytest.raises(ValueError, match=r"b.npz: expected arrays x, y"):
        load_npz(tmp_path / "b.npz")
    with pytest.raises(ValueError, match="model: expected one of"):
        ImageRecipe.from_dict({"data": "x", "model": "resnet"})
