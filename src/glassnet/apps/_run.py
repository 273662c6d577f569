"""Shared plumbing of the speech and music apps: data location, recipe files, run folders."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..io import atomic_write_text
from ..train.recipe import check_fields, read_toml

__all__ = ["data_root", "read_recipe", "recipe_to_toml", "prepare_run_dir", "write_json",
           "read_json", "check_fields"]


def data_root(data_dir=None) -> Path:
    """The shared data folder: ``data_dir``, else ``$GLASSNET_DATA``, else the repository's
    sibling ``shared/data`` (the layout of a checkout next to ``shared/``)."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"])
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def read_recipe(cls, source):
    """Build the recipe dataclass ``cls`` from a TOML path or a dict; unknown keys are errors."""
    if isinstance(source, dict):
        data, where = dict(source), "recipe"
    else:
        data, where = read_toml(source), f"recipe {source}"
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; expected keys from "
                         f"{sorted(known)}")
    return cls(**data)


def recipe_to_toml(recipe) -> str:
    """A recipe dataclass as flat TOML (None values left out)."""
    lines = ["# glassnet app recipe"]
    for k, v in dataclasses.asdict(recipe).items():
        if v is not None:
            lines.append(f"{k} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


def prepare_run_dir(run_dir, recipe, *, overwrite: bool = False) -> Path:
    """Create ``run_dir`` and write ``recipe.toml``; refuse to replace a finished run unless
    ``overwrite``."""
    run_dir = Path(run_dir)
    if (run_dir / "run.json").exists() and not overwrite:
        raise ValueError(f"--out {run_dir}: already holds a run; replace it with --overwrite "
                         f"or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "recipe.toml", recipe_to_toml(recipe))
    return run_dir


def write_json(path, obj) -> None:
    atomic_write_text(Path(path), json.dumps(obj, indent=1))


def read_json(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (not a finished run directory)")
    return json.loads(path.read_text(encoding="utf-8"))


def cli_train(args, recipe_cls, train_fn):
    """``glassnet train RECIPE.toml`` for an app recipe: apply the command-line overrides
    (--epochs, --batch-size, --lr, --seed, --data-dir) and call
    ``train_fn(recipe, run_dir, overwrite=, verbose=)``; returns ``(recipe, run_dir, result)``."""
    import time
    bad = [f"--{k}" for k in ("model", "dataset", "optimizer", "resume")
           if getattr(args, k, None)]
    if bad:
        raise ValueError(f"{args.recipe}: a {recipe_cls.__name__} recipe does not take "
                         f"{', '.join(bad)}")
    data = dataclasses.asdict(read_recipe(recipe_cls, args.recipe))
    for key in ("epochs", "batch_size", "lr", "seed", "data_dir"):
        if getattr(args, key, None) is not None:
            data[key] = getattr(args, key)
    recipe = recipe_cls(**data)
    run_dir = Path(args.out or f"runs/{Path(args.recipe).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    result = train_fn(recipe, run_dir, overwrite=bool(getattr(args, "overwrite", False)),
                      verbose=not getattr(args, "quiet", False))
    return recipe, run_dir, result
