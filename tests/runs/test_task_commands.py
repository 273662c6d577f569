"""Every command works on the runs it can handle and refuses others in one line naming the
run's task (no ``unknown key 'clip'`` from reading a music recipe as a classifier's)."""
import json

import pytest

from glassnet.cli import main


def fake_run(tmp_path, task):
    run = tmp_path / task
    run.mkdir()
    (run / "recipe.toml").write_text(f'task = "{task}"\nclip = 5.0\n')
    return run


@pytest.mark.parametrize("command, task, needs", [
    ("explain", "music", "classification run"),
    ("gradcheck", "video", "classification run"),
    ("evaluate", "speech_ctc", "without run.json"),     # registered since it trains via runs
    ("evaluate", "music", "without run.json"),          # a registered task, unfinished
    ("generate", "speech", "text-generation run"),
    ("transcribe", "text", "speech_ctc run"),
])
def test_refused_in_one_line_naming_the_task(tmp_path, capsys, command, task, needs):
    run = fake_run(tmp_path, task)
    extra = {"transcribe": ["x.wav"]}.get(command, [])
    assert main([command, str(run), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{task}' run" in err and needs in err


def test_evaluate_prints_the_figures_of_a_task_run(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("t,v\n" + "".join(f"{i},{i % 5 + 0.1 * i}\n" for i in range(60)))
    recipe = tmp_path / "f.toml"
    recipe.write_text(f'task = "forecast"\ndata = "{csv}"\nmodels = ""\ntest_size = 8\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "forecast" and "rmse" in out["test"] and out["baselines"]


def test_detect_anomaly_guards_the_fits_of_a_task(tmp_path, capsys, monkeypatch):
    import glassnet.inspect as gi
    made = []

    class Spy(gi.AnomalyGuard):
        def __init__(self):
            super().__init__()
            made.append(self)
    monkeypatch.setattr(gi, "AnomalyGuard", Spy)
    csv = tmp_path / "s.csv"
    csv.write_text("t,v\n" + "".join(f"{i},{i % 5 + 0.1 * i}\n" for i in range(60)))
    recipe = tmp_path / "f.toml"
    recipe.write_text(f'task = "forecast"\ndata = "{csv}"\nmodels = "linear"\ntest_size = 8\n'
                      f'epochs = 3\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet",
                 "--detect-anomaly"]) == 0
    guarded = len(made)                # one per fit: the validation fit (+ the refit if chosen)
    assert guarded >= 1
    assert main(["train", str(recipe), "--out", str(tmp_path / "run2"), "--quiet"]) == 0
    assert len(made) == guarded        # without the flag, no guard


def test_every_fit_of_a_task_writes_its_metrics_file(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("t,v\n" + "".join(f"{i},{i % 5 + 0.1 * i}\n" for i in range(60)))
    recipe = tmp_path / "f.toml"
    recipe.write_text(f'task = "forecast"\ndata = "{csv}"\nmodels = "linear,gru"\n'
                      f'test_size = 8\nepochs = 2\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    files = sorted(p.name for p in (tmp_path / "run").glob("metrics*.jsonl"))
    assert files[:2] == ["metrics-2.jsonl", "metrics.jsonl"]      # linear, gru (+ a refit)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [r["epoch"] for r in rows] == [1, 2] and "val_loss" in rows[0]
