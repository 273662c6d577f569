"""glassnet.runs.common: the one printout style of every task (header line, model summary with
the parameter count, result line), and every shipped recipe read through its task's class."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.cli import main
from glassnet.runs import get_task
from glassnet.runs.common import (ClipGradNorm, RunHeader, header_line, model_table,
                                  print_header, result_line)
from glassnet.runs.recipe import read_toml

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.toml"))


def _recipe_class(path):
    task = read_toml(path).get("task")
    if task is None:                                       # mlp/cnn classification recipes
        from glassnet.train.recipe import Recipe
        return Recipe
    if task == "speech_ctc":                               # an app with its own keys
        from glassnet.apps.speech_ctc import SpeechCTCRecipe
        return SpeechCTCRecipe
    found = get_task(task)
    assert found is not None, f"{path.name}: task {task!r} is not registered"
    return found.recipe


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_shipped_recipe_parses_through_its_task(path):
    cls = _recipe_class(path)
    recipe = cls.from_toml(path)
    data = read_toml(path)
    for key, value in data.items():                        # every key of the file is kept
        assert getattr(recipe, key) == value, key
    if hasattr(recipe, "to_toml") and hasattr(cls, "from_dict"):
        again = cls.from_dict(read_toml_text(recipe.to_toml()))
        assert dataclasses.asdict(again) == dataclasses.asdict(recipe)


def read_toml_text(text):
    import tomllib
    return tomllib.loads(text)


def test_shipped_recipes_cover_the_registered_apps():
    tasks = {read_toml(p).get("task") for p in RECIPES}
    assert {"music", "translation", "video", "speech", "text_generation"} <= tasks


def _torch_lstm_linear_params(n_in, hidden, n_out):
    torch = pytest.importorskip("torch")
    m = torch.nn.ModuleList([torch.nn.LSTM(n_in, hidden, batch_first=True),
                             torch.nn.Linear(hidden, n_out)])
    return sum(p.numel() for p in m.parameters())


def test_header_prints_the_line_and_the_summary_with_torchs_parameter_count():
    from glassnet.apps.music import MusicLSTM
    gn.manual_seed(0)
    model = MusicLSTM(24)
    lines = []
    text = print_header("music", "chorales.json", {"train": 10, "valid": 2, "test": 3}, model,
                        (7, 88), unit="pieces", print_fn=lines.append)
    assert lines == [text]
    first, *table = text.splitlines()
    assert first == "music: chorales.json: 10 train / 2 valid / 3 test pieces"
    want = _torch_lstm_linear_params(88, 24, 88)
    assert f"Total params: {want:,}" in table
    assert any(r.startswith("lstm (LSTM)") and "(N, 7, 24)" in r for r in table)


def test_a_tuple_input_model_gets_its_parameters_per_child():
    from glassnet.apps.translation import Seq2Seq
    from glassnet.apps.translation_train import TeacherForced
    gn.manual_seed(0)
    model = TeacherForced(Seq2Seq(30, 40, emb=8, hidden=16))
    table = model_table(model)
    total = sum(int(np.prod(p.shape)) for p in model.parameters())
    assert table.splitlines()[-1] == f"Total params: {total:,}"
    assert "seq2seq (Seq2Seq)" in table
    with pytest.raises(TypeError, match="model_table\\(model\\): expected a glassnet.nn.Module"):
        model_table(object())


def test_header_and_result_lines():
    assert header_line("t", "d.csv", {"train": 5, "validation": None, "test": 2}) == \
        "t: d.csv: 5 train / 2 test"
    line = result_line("t", {"accuracy": 0.91234, "note": "x"},
                       {"majority_class": {"accuracy": 0.5, "class": 1}}, "runs/r", "best 3")
    assert line == ("t: test accuracy 0.9123 | baselines: majority_class accuracy 0.5, class 1"
                    " | best 3 | run written to runs/r")


def test_run_header_callback_prints_from_inside_fit():
    from glassnet.data import DataLoader, TensorDataset
    x = np.random.default_rng(0).standard_normal((12, 3)).astype(np.float32)
    y = np.arange(12) % 2
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    lines = []
    gn.train.fit(model, nn.CrossEntropyLoss(), gn.optim.SGD(model.parameters(), lr=0.1),
                 DataLoader(TensorDataset(x[:8], y[:8]), 4),
                 DataLoader(TensorDataset(x[8:], y[8:]), 4), epochs=1, verbose=False,
                 callbacks=[RunHeader("toy", "memory", print_fn=lines.append)])
    first, *table = lines[0].splitlines()
    assert first == "toy: memory: 8 train / 4 validation"
    assert "Total params: 26" in table                  # 3*4 + 4 + 4*2 + 2


def test_clip_grad_norm_wrapper_clips_before_stepping():
    torch = pytest.importorskip("torch")
    w0 = np.array([[1.0, -2.0, 3.0]], np.float32)
    lin = nn.Linear(3, 1, bias=False)
    lin.weight.array[...] = w0
    opt = ClipGradNorm(gn.optim.SGD(lin.parameters(), lr=0.5), max_norm=0.1)
    opt.zero_grad()
    (lin(gn.tensor([[4.0, 5.0, 6.0]])) ** 2).sum().backward()
    opt.step()
    tw = torch.nn.Parameter(torch.tensor(w0))
    topt = torch.optim.SGD([tw], lr=0.5)
    ((torch.tensor([[4.0, 5.0, 6.0]]) @ tw.T) ** 2).sum().backward()
    torch.nn.utils.clip_grad_norm_([tw], 0.1)
    topt.step()
    np.testing.assert_allclose(lin.weight.array, tw.detach().numpy(), rtol=1e-6)


def test_every_task_prints_header_summary_and_result_line(tmp_path, capsys):
    """The same three parts through ``glassnet train`` (a tabular CSV made here, and the
    classification recipe of the embedded digits)."""
    rng = np.random.default_rng(0)
    rows = ["a,b,label"] + [f"{u:.3f},{v:.3f},{int(u + v > 0)}" for u, v in
                            rng.standard_normal((60, 2))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    recipe = tmp_path / "t.toml"
    recipe.write_text(f'task = "tabular"\ndata = "{(tmp_path / "t.csv").as_posix()}"\n'
                      f'target_column = "label"\nepochs = 2\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "tab")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"tabular: {tmp_path / 't.csv'}: ") and " train / " in out[0]
    assert any(line.startswith("Total params: ") for line in out)
    assert out[-1].startswith("tabular: test accuracy ") and "| baselines: majority_class" \
        in out[-1]
    assert main(["train", str(Path(__file__).resolve().parents[2] / "recipes" /
                              "digits_mlp.toml"), "--set", "epochs=1",
                 "--out", str(tmp_path / "digits")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("classification: digits: ") and " validation" in out[0]
    assert any(line.startswith("Total params: ") for line in out)
    assert out[-1].startswith("classification: test accuracy ")
