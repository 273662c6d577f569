"""Rebuild docs/tutorial.md's outputs and pictures by running its code blocks in order.

    python docs/tutorial_files/build.py          # from anywhere; runs in docs/

Every ```python block runs in one shared namespace with docs/ as the working directory;
when a ```text block follows it, that block is replaced by what the code printed. The
PNGs are written to docs/tutorial_files/.
"""
import contextlib
import io
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```(\n\n```text\n.*?```)?", re.S)


def run_blocks(text: str, workdir: Path):
    """Yield (match, printed output) for each python block of ``text``, run in ``workdir``."""
    namespace = {"__name__": "__tutorial__"}
    old = os.getcwd()
    os.chdir(workdir)
    try:
        for m in BLOCK.finditer(text):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(m.group(1), "tutorial.md", "exec"), namespace)
            yield m, out.getvalue()
    finally:
        os.chdir(old)


def main() -> int:
    path = DOCS / "tutorial.md"
    text = path.read_text(encoding="utf-8")
    pieces, last = [], 0
    for m, printed in run_blocks(text, DOCS):
        if m.group(2) is None:
            continue
        pieces += [text[last:m.start(2)], "\n\n```text\n" + printed.rstrip() + "\n```"]
        last = m.end(2)
    path.write_text("".join(pieces) + text[last:], encoding="utf-8")
    print(f"rebuilt {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
