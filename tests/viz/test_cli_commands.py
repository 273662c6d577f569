"""glassnet explain / gradcheck / report through the real CLI entry point."""
import pytest

from glassnet.cli import main


def test_explain_tiny_prints_the_step(capsys):
    assert main(["explain", "--model", "tiny"]) == 0
    out = capsys.readouterr().out
    for needle in ("z = W·x + b", "a = relu(z)", "MSE = 1/n Σ (y_i − ŷ_i)²", "δ = ∂L/∂z",
                   "W ← W − η·∂L/∂W", "[[ 0.5, -0.4],"):
        assert needle in out, needle


def test_explain_writes_markdown(tmp_path, capsys):
    out = tmp_path / "trace.md"
    assert main(["explain", "--model", "tiny", "--format", "markdown", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").count("## ") >= 4


def test_gradcheck_tiny_and_preset(capsys):
    assert main(["gradcheck", "--model", "tiny"]) == 0
    assert "all gradients agree" in capsys.readouterr().out
    assert main(["gradcheck", "--model", "mlp-small", "--samples", "2",
                 "--max-elements", "4"]) == 0


def test_errors_are_one_line(capsys):
    assert main(["gradcheck"]) == 2
    assert main(["report", "does/not/exist"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["glassnet: error: give exactly one of RUN_DIR or --model",
                   "glassnet: error: report: run directory does/not/exist: no such directory"]


def test_report_command(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from glassnet.train.recipe import Recipe, train_recipe
    train_recipe(Recipe.from_dict({"model": "mlp-small", "dataset": "digits", "epochs": 1}),
                 tmp_path, verbose=False)
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 10_000
    assert main(["explain", str(tmp_path), "--samples", "2"]) == 0
    assert "Linear(64→128)" in capsys.readouterr().out
