"""Every code block of docs/tutorial.md runs, in order, and draws its pictures."""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_tutorial_blocks_run(tmp_path):
    spec = importlib.util.spec_from_file_location("tutorial_build",
                                                  DOCS / "tutorial_files" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    (tmp_path / "tutorial_files").mkdir()
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    outputs = [printed for _, printed in build.run_blocks(text, tmp_path)]
    assert len(outputs) >= 12
    joined = "".join(outputs)
    for needle in ("z = W·x + b", "MSE = 1/n Σ (y_i − ŷ_i)²", "W ← W − η·∂L/∂W",
                   "all gradients agree", "BPTT", "gradcheck through time: True",
                   "forward: the output of layer"):
        assert needle in joined, needle
    pngs = sorted(p.name for p in (tmp_path / "tutorial_files").glob("*.png"))
    assert pngs == ["feature_maps.png", "filters.png", "forecast.png", "grad_norms.png",
                    "hidden.png", "history.png"]
