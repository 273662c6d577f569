"""The run directory, written once for every task.

    RUN/recipe.toml   the complete recipe (defaults filled in)
    RUN/run.json      {"task", "test": {metric: value}, "baselines": {name: {metric: value}}, ...}
    RUN/...           the task's own files (weights, forecasts, pictures)

Every file is written atomically (``glassnet.io``); an existing run is never replaced
unless asked (``overwrite``).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..io import atomic_write_text

__all__ = ["prepare_run_dir", "write_run_json", "read_run_json", "resolve_data", "data_root",
           "RUN_FILES"]

RUN_FILES = ("recipe.toml", "run.json")


def prepare_run_dir(run_dir, recipe, *, overwrite: bool = False) -> Path:
    """Create ``run_dir`` and write ``recipe.toml``. A folder that already holds a run is
    refused (naming the ways out) unless ``overwrite``, which removes the old run first."""
    run_dir = Path(run_dir)
    if (run_dir / "recipe.toml").exists() or (run_dir / "run.json").exists():
        if not overwrite:
            raise ValueError(f"--out {run_dir}: already holds a run; replace it with "
                             f"--overwrite or choose another --out")
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "recipe.toml", recipe.to_toml())
    return run_dir


def write_run_json(run_dir, record: dict) -> Path:
    """Write ``run.json``; the contract keys ``task``, ``test`` and ``baselines`` must be
    present so that runs on any data can be compared."""
    missing = [k for k in ("task", "test", "baselines") if k not in record]
    if missing:
        raise ValueError(f"run.json: missing contract keys {missing}")
    return atomic_write_text(Path(run_dir) / "run.json", json.dumps(record, indent=1))


def read_run_json(run_dir) -> dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no run.json (not a finished run directory)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: damaged ({e.msg} at line {e.lineno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: damaged (expected a JSON object, got "
                         f"{type(record).__name__})")
    return record


def _data_roots(data_dir=None) -> list[Path]:
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get("GLASSNET_DATA"):
        roots.append(Path(os.environ["GLASSNET_DATA"]))
    roots.append(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
    return roots


def data_root(data_dir=None) -> Path:
    """The data root: ``data_dir``, else ``$GLASSNET_DATA``, else the ``shared/data`` folder
    beside the repository."""
    return _data_roots(data_dir)[0]


def resolve_data(path: str, data_dir=None) -> Path:
    """Where a recipe's ``data`` path points: absolute, or relative to the working folder,
    else relative to the data root (``data_dir``, ``$GLASSNET_DATA``, or the ``shared/data``
    folder beside the repository)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    for root in _data_roots(data_dir):
        if (root / p).exists():
            return root / p
    return p
