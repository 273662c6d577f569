"""Picture of a notebook showing a model: docs/tutorial_files/notebook_model.png.

    python docs/tutorial_files/screenshot.py        # needs nbclient, ipykernel, chromium

Executes docs/tutorial.ipynb with nbclient (in a temporary folder), takes the HTML output of
the cell ``mlp`` (the model's ``_repr_html_``: layer table and diagram), lays it out like a
Jupyter cell (prompt, source, output) and screenshots it with headless Chromium.
"""
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

DOCS = Path(__file__).resolve().parents[1]
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{font-family:system-ui,sans-serif;margin:0;padding:14px;background:#fff}}
.cell{{display:flex;gap:8px;margin-bottom:6px}}.prompt{{width:70px;color:#307fc1;
font-family:monospace;text-align:right;padding-top:6px}}.out .prompt{{color:#bf5b3d}}
.src{{flex:1;background:#f7f7f7;border:1px solid #e0e0e0;padding:6px 8px;font-family:monospace}}
.area{{flex:1;padding:4px 0}}</style></head><body>
<div class="cell"><div class="prompt">[{n}]:</div><div class="src">{src}</div></div>
<div class="cell out"><div class="prompt">[{n}]:</div><div class="area">{out}</div></div>
</body></html>"""


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium in PATH", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "tutorial_files").mkdir()
        nb = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp)}}).execute()
        cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == "mlp")
        page = PAGE.format(n=cell.execution_count, src=html.escape(cell.source),
                           out=cell.outputs[0]["data"]["text/html"])
        (tmp / "page.html").write_text(page, encoding="utf-8")
        out = DOCS / "tutorial_files" / "notebook_model.png"
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
                        f"--screenshot={out}", "--window-size=820,720",
                        (tmp / "page.html").as_uri()], check=True, capture_output=True,
                       timeout=120)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
