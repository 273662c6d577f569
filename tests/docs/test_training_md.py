"""docs/training.md: its Python snippets run as written, and none validates on the test part."""
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def snippets():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_there_are_snippets():
    assert snippets()


@pytest.mark.parametrize("i", range(len(snippets())))
def test_snippet_runs_as_written(i, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                       # runs/... are written here
    code = snippets()[i]
    exec(compile(code, f"docs/training.md snippet {i}", "exec"), {"__name__": "__doc__"})
    out = capsys.readouterr().out
    if "evaluate(model, test" in code:
        acc = float(re.search(r"'accuracy': ([0-9.]+)", out).group(1))
        assert acc > 0.85                              # the digits MLP learns


def test_no_snippet_validates_on_the_test_part():
    for code in snippets():
        for call in re.findall(r"fit\((.*?)\)", code, re.S):
            args = [a.strip() for a in call.split(",")]
            assert "test" not in args[:5], f"fit(...) validates on the test part: {call}"
