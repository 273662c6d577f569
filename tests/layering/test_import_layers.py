"""Imports point down the layers only, and no private name crosses a package.

Layers, low to high: backend/errors -> tensor -> ops -> nn -> optim/data -> io -> train ->
inspect/viz -> runs/apps -> cli. The package root ``glassnet/__init__.py`` is the facade that
gathers everything for ``import glassnet as gn``; to check a layer, each test imports it in a
fresh interpreter with that facade bypassed (an empty ``glassnet`` package object pointing at
the same folder), and asserts that no module of a higher layer was loaded.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import glassnet

SRC = Path(glassnet.__file__).resolve().parent

RANK = {  # first component under glassnet -> layer rank
    "version": 0, "backend": 0, "errors": 0, "blas": 0,
    "tensor": 1,
    "ops": 2, "_bind": 2, "_inplace": 2, "_inplace_index": 2, "factory": 2, "autograd": 2,
    "special": 2,
    "nn": 3, "models": 3,
    "optim": 4, "data": 4,
    "io": 5, "onnx": 5,
    "train": 6, "distributed": 6,
    "inspect": 7, "viz": 7,
    "runs": 8, "apps": 8, "playground": 8,
    "cli": 9, "__main__": 9,
}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def modules():
    """Every module of the package except the facade, as dotted names."""
    out = []
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1:
            out.append(".".join(parts))
    return out


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in modules()} - set(RANK))
    assert not missing, f"add these to RANK with their layer: {missing}"


PROBE = r"""
import importlib, json, sys, types
pkg = types.ModuleType("glassnet"); pkg.__path__ = [sys.argv[1]]; pkg.__file__ = None
sys.modules["glassnet"] = pkg
importlib.import_module(sys.argv[2])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("glassnet."))))
"""

LAYER_ROOTS = sorted({".".join(m.split(".")[:2]) for m in modules()} - {"glassnet.__main__"})


@pytest.mark.parametrize("module", LAYER_ROOTS)
def test_a_layer_loads_nothing_above_it(module):
    res = subprocess.run([sys.executable, "-c", PROBE, str(SRC), module],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    loaded = json.loads(res.stdout.strip().splitlines()[-1])
    rank = RANK[_top(module)]
    above = [m for m in loaded if RANK.get(_top(m), 99) > rank]
    assert not above, f"importing {module} (layer {rank}) loaded higher layers: {above}"


def _package(module: str) -> str:
    """The subpackage a module lives in ("" for modules directly under glassnet/)."""
    top = _top(module)
    return top if (SRC / top).is_dir() else ""


def test_no_private_name_is_imported_across_packages():
    bad = []
    for mod in modules():
        path = SRC.parent / (mod.replace(".", "/") + ".py")
        if not path.exists():
            path = SRC.parent / mod.replace(".", "/") / "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pkg = mod.split(".")[:-1] if path.name != "__init__.py" else mod.split(".")
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("glassnet.") or _package(target) == _package(mod):
                continue
            names = [a.name for a in node.names]
            parts = target.split(".")[1:] + names
            if any(p.startswith("_") and not p.startswith("__") for p in parts):
                bad.append(f"{mod}: from {target} import {', '.join(names)}")
    assert not bad, "\n".join(bad)
