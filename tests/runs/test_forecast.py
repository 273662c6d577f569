"""Task ``forecast`` (glassnet.runs): reader, season detection, baselines, validation choice.

The oracle for the choice is the data itself: on generated series of known kinds (trend,
season, noise, random walk) the chosen model must not lose to the best naive baseline on
the test part, which the choice never saw.
"""
import json

import numpy as np
import pytest

from glassnet.cli import main
from glassnet.runs import get_task, read_run_json
from glassnet.runs.forecast import ForecastRecipe, forecast_next, train_forecast
from glassnet.runs.series import baseline_forecast, detect_season, read_series


def write_csv(path, values, header=("date", "value")):
    lines = [",".join(header)] + [f"d{i},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def series(kind, n=160, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "trend":
        return 10 + 0.5 * t + rng.normal(0, 1, n)
    if kind == "season":
        return 20 + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)
    if kind == "trend_season":
        return 50 + 0.8 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    if kind == "noise":
        return 5 + rng.normal(0, 1, n)
    if kind == "random_walk":
        return 100 + np.cumsum(rng.normal(0, 1, n))
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["trend", "season", "trend_season", "noise", "random_walk"])
def test_choice_on_validation_does_not_lose_to_the_best_naive_baseline(tmp_path, kind):
    path = write_csv(tmp_path / "s.csv", series(kind))
    recipe = ForecastRecipe(data=str(path), test_size=24, models="linear", epochs=150)
    rec = train_forecast(recipe, tmp_path / "run", verbose=False)
    best = min(v["rmse"] for v in rec["baselines"].values())
    # the choice is made on validation only, so allow noise: 5% above the best baseline
    assert rec["test"]["rmse"] <= 1.05 * best, (kind, rec["chosen"], rec["validation_rmse"])
    assert rec["chosen"] in rec["validation_rmse"]
    assert min(rec["validation_rmse"].values()) == rec["validation_rmse"][rec["chosen"]]


def test_run_json_contract_and_predict_uses_the_chosen_model(tmp_path):
    y = series("trend_season", 120)
    path = write_csv(tmp_path / "s.csv", y)
    rec = train_forecast(ForecastRecipe(data=str(path), test_size=12, models="linear,gru",
                                        epochs=40), tmp_path / "run", verbose=False)
    saved = read_run_json(tmp_path / "run")
    assert saved["task"] == "forecast" and set(saved["test"]) == {"rmse", "mae"}
    assert {"persistence", "seasonal_naive", "moving_average"} <= set(saved["baselines"])
    assert saved["season"] == 12 and saved["season_detected"]
    nxt = forecast_next(tmp_path / "run")
    if rec["chosen"] == "persistence":
        assert nxt == pytest.approx(y[-1])
    assert abs(nxt - y[-1]) < 5 * np.std(np.diff(y))        # a sane next value
    lines = (tmp_path / "run" / "forecast.csv").read_text().splitlines()
    assert len(lines) == 1 + 12 and lines[1].split(",")[1] == "d108"


def test_baselines_by_hand():
    y = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    assert baseline_forecast("persistence", y, 3, 6, 2, 2).tolist() == [4, 8, 16]
    assert baseline_forecast("seasonal_naive", y, 3, 6, 2, 2).tolist() == [2, 4, 8]
    assert baseline_forecast("moving_average", y, 3, 6, 2, 2).tolist() == [3, 6, 12]
    # drift: last value + mean step so far: y[t-1] + (y[t-1] - y[0]) / (t-1)
    assert baseline_forecast("drift", y, 3, 4, 2, 2).tolist() == [4 + 3 / 2]


@pytest.mark.parametrize("period", [7, 12, 24])
def test_detect_season_finds_the_period(period):
    rng = np.random.default_rng(period)
    t = np.arange(400)
    y = 0.2 * t + 5 * np.sin(2 * np.pi * t / period) + rng.normal(0, 1, 400)
    assert detect_season(y) == period


@pytest.mark.parametrize("seed", range(5))
def test_detect_season_finds_none_in_noise_and_random_walks(seed):
    rng = np.random.default_rng(seed)
    assert detect_season(rng.normal(size=300)) == 1
    assert detect_season(np.cumsum(rng.normal(size=300))) == 1


def test_reader_names_file_line_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("month,sales\nm1,3\nm2,oops\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: column 'sales': expected a number, "
                                         r"got 'oops'"):
        read_series(p)
    with pytest.raises(ValueError, match="value_column 'x' is not a column"):
        read_series(p, value_column="x")
    p.write_text("month,sales\nm1,3\nm2,\n")
    with pytest.raises(ValueError, match=r":3: column 'sales'"):
        read_series(p)
    y, dates = read_series(write_csv(tmp_path / "ok.csv", [1, 2.5]), date_column="date")
    assert y.tolist() == [1, 2.5] and dates == ["d0", "d1"]


def test_recipe_errors_name_key_file_type_and_value(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('task = "forecast"\ndata = "x.csv"\nepochs = "twenty"\n')
    with pytest.raises(ValueError, match=r"recipe .*r.toml: epochs: expected int, got str "
                                         r"'twenty'"):
        ForecastRecipe.from_toml(bad)
    bad.write_text('task = "forecast"\ndata = "x.csv"\nepoch = 3\n')
    with pytest.raises(ValueError, match="unknown key 'epoch'"):
        ForecastRecipe.from_toml(bad)
    r = ForecastRecipe(data="x.csv")
    assert r.with_overrides(["lr=0.1", "season=12"]).season == 12
    with pytest.raises(ValueError, match=r"--set lr=fast: lr: expected float"):
        r.with_overrides(["lr=fast"])
    with pytest.raises(ValueError, match=r"models: unknown 'lstm'"):
        r.with_overrides(["models='lstm'"])
    # TOML round trip
    again = ForecastRecipe.from_dict(
        __import__("tomllib").loads(r.to_toml()), "round trip")
    assert again == r


def test_cli_train_predict_tasks_and_one_line_errors(tmp_path, capsys):
    path = write_csv(tmp_path / "s.csv", series("trend", 80))
    recipe = tmp_path / "f.toml"
    recipe.write_text(f'task = "forecast"\ndata = "{path}"\nmodels = "linear"\n'
                      f'test_size = 10\n')
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--quiet", "--set", "epochs=30"]) == 0
    assert read_run_json(out)["task"] == "forecast"
    capsys.readouterr()
    assert main(["predict", str(out)]) == 0
    assert np.isfinite(json.loads(capsys.readouterr().out)["next"])
    assert main(["train", str(recipe), "--out", str(out)]) == 2      # already holds a run
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", str(recipe), "--out", str(out), "--overwrite",
                 "--set", "epochs=twenty"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set epochs=twenty" in err and "expected int" in err
    assert main(["tasks"]) == 0
    assert "forecast" in capsys.readouterr().out
    assert get_task("forecast").recipe is ForecastRecipe
