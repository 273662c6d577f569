"""The snippets of docs/onnx.md run as written (train, export, serve with onnxruntime)."""
import re
from pathlib import Path

import pytest

pytest.importorskip("onnx", reason="gn.onnx.export needs the onnx package "
                    "(pip install 'glassnet[onnx]')")
pytest.importorskip("onnxruntime", reason="the docs serve the model with onnxruntime")

DOC = Path(__file__).resolve().parents[2] / "docs" / "onnx.md"


def test_docs_snippets_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    scope = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), scope)    # noqa: S102  (our own docs)
    out = capsys.readouterr().out
    acc = float(re.search(r"onnxruntime test accuracy: ([0-9.]+)", out).group(1))
    assert acc > 0.8
    assert "(4, 5) (4, 4, 32)" in out
    assert (tmp_path / "digits.onnx").is_file() and (tmp_path / "tagger.onnx").is_file()
