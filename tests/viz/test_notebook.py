"""docs/tutorial.ipynb: generated from docs/tutorial.md (in sync), and executed here with
nbclient; its printed outputs equal those in the Markdown, and the key numbers equal what
the code computes."""
import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("tutorial_notebook",
                                                  DOCS / "tutorial_files" / "notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _md():
    return (DOCS / "tutorial.md").read_text(encoding="utf-8")


def test_notebook_is_in_sync_with_the_markdown():
    stored = json.loads((DOCS / "tutorial.ipynb").read_text(encoding="utf-8"))
    fresh = json.loads(nbformat.writes(_generator().to_notebook(_md())))
    assert stored == fresh, "run: python docs/tutorial_files/notebook.py"
    nbformat.validate(nbformat.reads(json.dumps(stored), as_version=4))
    code = ["".join(c["source"]) for c in stored["cells"] if c["cell_type"] == "code"]
    blocks = re.findall(r"```python\n(.*?)```", _md(), re.S)
    assert code == [b.rstrip("\n") for b in blocks]


def _stdout(cell) -> str:
    return "".join(o["text"] for o in cell.outputs
                   if o["output_type"] == "stream" and o["name"] == "stdout")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    work = tmp_path_factory.mktemp("nb")
    shutil.copy(DOCS / "tutorial.ipynb", work / "tutorial.ipynb")
    (work / "tutorial_files").mkdir()
    nb = nbformat.read(work / "tutorial.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()
    return nb, work


def test_notebook_runs_and_prints_what_the_markdown_shows(executed):
    nb, work = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o["output_type"] == "error"]
    pairs = re.findall(r"```python\n(.*?)```(\n\n```text\n(.*?)```)?", _md(), re.S)
    assert len(pairs) == len(code)
    checked = 0
    for cell, (_, has_text, text) in zip(code, pairs):
        if has_text:
            assert _stdout(cell).rstrip() == text.rstrip(), cell.source[:60]
            checked += 1
    assert checked >= 12
    for name in ("history.png", "filters.png", "feature_maps.png", "diagram_mlp.svg",
                 "diagram_cnn.svg", "diagram_rnn.svg"):
        assert (work / "tutorial_files" / name).stat().st_size > 1000, name


def test_notebook_key_numbers_and_rich_displays(executed):
    nb, _ = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = _stdout(code[1])                                   # section 1: one neuron
    z, a, by_hand = (float(v) for v in re.findall(r"-?\d+\.\d+", first)[:3])
    assert z == pytest.approx(0.5 * 1 - 0.4 * 2 + 0.1, abs=1e-6)
    assert a == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-4)
    assert by_hand == pytest.approx(1 / (1 + np.exp(0.2)), rel=1e-12)
    diag = next(c for c in code if "gn.viz.diagram(mlp" in c.source)
    drawn = re.match(r"(\d+) neurons and (\d+) weights drawn of (\d+)", _stdout(diag))
    assert [int(v) for v in drawn.groups()] == [10 + 10 + 10, 10 * 10 * 2, 64 * 32 + 32 * 10]
    model_cell = next(c for c in code if c.source.strip() == "mlp")
    html = model_cell.outputs[0]["data"]["text/html"]
    assert "<svg" in html and f"Total params: {64 * 32 + 32 + 32 * 10 + 10:,}" in html
    plot_cell = next(c for c in code if c.source.strip() == "gn.viz.plot_history(history)")
    assert "image/png" in plot_cell.outputs[0]["data"]              # a Figure, displayed
