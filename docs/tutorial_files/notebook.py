"""Write docs/tutorial.ipynb from docs/tutorial.md (the Markdown is the source).

    python docs/tutorial_files/notebook.py          # from anywhere

Each ```python block becomes a code cell; the ```text block that follows it (its printed
output in the Markdown) is left out, since the notebook makes its own outputs; the prose
between blocks becomes markdown cells. The notebook is written without outputs, with
stable cell ids, so regenerating it changes nothing unless tutorial.md changed;
``tests/viz/test_notebook.py`` checks that and executes the notebook with nbclient.
"""
import re
import sys
from pathlib import Path

import nbformat

DOCS = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```(\n\n```text\n.*?```)?", re.S)


def to_notebook(text: str) -> nbformat.NotebookNode:
    """The notebook for the Markdown ``text`` (nbformat 4, Python 3 kernel)."""
    cells, last = [], 0
    for m in BLOCK.finditer(text):
        prose = text[last:m.start()].strip()
        if prose:
            cells.append(nbformat.v4.new_markdown_cell(prose))
        cells.append(nbformat.v4.new_code_cell(m.group(1).rstrip("\n")))
        last = m.end()
    if text[last:].strip():
        cells.append(nbformat.v4.new_markdown_cell(text[last:].strip()))
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:03d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> int:
    nb = to_notebook((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    nbformat.validate(nb)
    out = DOCS / "tutorial.ipynb"
    out.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(nb.cells)} cells)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
