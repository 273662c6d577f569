"""Task ``tabular``: CSV classification and regression, choice on validation, baselines."""
import json

import numpy as np
import pytest

from glassnet.cli import main
from glassnet.data.user_files import load_table
from glassnet.runs.tabular import TabularRecipe, train_tabular


def write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows])
                    + "\n")
    return path


def test_classification_with_text_labels_beats_the_majority_class(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    label = np.where(x[:, 0] + x[:, 1] > 0.3, "yes", "no")
    data = write(tmp_path / "d.csv", ["a", "b", "c", "answer"],
                 [[f"{v:.4f}" for v in r] + [lab] for r, lab in zip(x, label)])
    rec = train_tabular(TabularRecipe(data=str(data), epochs=60), tmp_path / "run",
                        verbose=False)
    assert rec["kind"] == "classification" and rec["classes"] == ["no", "yes"]
    assert rec["test"]["accuracy"] > rec["baselines"]["majority_class"]["accuracy"] + 0.2
    chosen_val = rec["validation"][rec["chosen"]]["accuracy"]
    assert chosen_val == max(v["accuracy"] for v in rec["validation"].values())


def test_regression_matches_least_squares_on_a_linear_target(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 10 + rng.normal(0, 0.1, 400)
    data = write(tmp_path / "r.csv", ["u", "v", "y"],
                 [[f"{a:.5f}", f"{b:.5f}", f"{t:.5f}"] for (a, b), t in zip(x, y)])
    rec = train_tabular(TabularRecipe(data=str(data), model="linear", epochs=300, patience=30),
                        tmp_path / "run", verbose=False)
    assert rec["kind"] == "regression"
    lsq = rec["baselines"]["linear_regression"]["rmse"]
    assert rec["test"]["rmse"] < 1.5 * lsq + 0.02          # gradient descent reaches lstsq
    assert rec["test"]["rmse"] < 0.1 * rec["baselines"]["mean"]["rmse"]


def test_predict_and_errors_name_file_line_and_column(tmp_path, capsys):
    rows = [[i % 7, (i * 3) % 5, i % 2] for i in range(60)]
    data = write(tmp_path / "d.csv", ["p", "q", "label"], rows)
    recipe = tmp_path / "t.toml"
    recipe.write_text('task = "tabular"\n')
    assert main(["train", str(recipe), "--quiet"]) == 2                 # no data key
    assert "data: expected a CSV path" in capsys.readouterr().err
    recipe.write_text(f'task = "tabular"\ndata = "{data}"\nepochs = 5\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    new = write(tmp_path / "new.csv", ["q", "p"], [[1, 2], [3, 4]])
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(new)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["row"] for o in out] == [0, 1] and all(o["class"] in ("0", "1") for o in out)
    write(new, ["q", "p"], [[1, "nan"]])
    assert main(["predict", str(tmp_path / "run"), str(new)]) == 2
    assert "new.csv:2" in capsys.readouterr().err
    write(new, ["q"], [[1]])
    assert main(["predict", str(tmp_path / "run"), str(new)]) == 2
    assert "missing feature column 'p'" in capsys.readouterr().err
    bad = write(tmp_path / "bad.csv", ["a", "y"], [[1, 0], ["x", 1]])
    with pytest.raises(ValueError, match=r"bad.csv:3: column 'a': expected a number, got 'x'"):
        load_table(bad)
    with pytest.raises(ValueError, match="target_column 'z' is not a column"):
        load_table(bad, "z")
