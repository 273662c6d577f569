"""One recipe base for every task (the run layer's tasks and the classification recipe):
TOML in and out, types checked from the field annotations.

A task's recipe is a dataclass deriving from :class:`TaskRecipe`; a field's type comes from
its annotation and its allowed range from :func:`param`'s metadata::

    @dataclasses.dataclass
    class ForecastRecipe(TaskRecipe):
        task: str = "forecast"
        data: str = param("", required="a CSV path")
        season: int = param(0, ge=0)
        lr: float = param(0.003, gt=0)
        kind: str = param("auto", choices=("auto", "classification", "regression"))

Every recipe is checked when it is made (from a file, a dict, ``--set`` or in code). Errors
name where it came from (the file, the ``--set`` flag), the key, what was expected and the
value received: ``recipe r.toml: epochs: expected int, got str 'twenty'``.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import tomllib
import types
import typing
from pathlib import Path

__all__ = ["TaskRecipe", "param", "parse_set", "read_toml"]

_WHERE = contextvars.ContextVar("recipe_source", default="recipe")


def param(default, *, ge=None, gt=None, le=None, lt=None, choices=None, required=None):
    """A recipe field with its allowed values: bounds (``ge``/``gt``/``le``/``lt``), a tuple
    of ``choices``, or ``required`` (a description: the string may not be empty)."""
    meta = {k: v for k, v in dict(ge=ge, gt=gt, le=le, lt=lt, choices=choices,
                                   required=required).items() if v is not None}
    return dataclasses.field(default=default, metadata=meta)


def _range_text(meta) -> str:
    lo = ("[", meta["ge"]) if "ge" in meta else ("(", meta["gt"]) if "gt" in meta else None
    hi = ("]", meta["le"]) if "le" in meta else (")", meta["lt"]) if "lt" in meta else None
    if lo and hi:
        return f"in {lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo:
        return f"{'>=' if lo[0] == '[' else '>'} {lo[1]}"
    return f"{'<=' if hi[0] == ']' else '<'} {hi[1]}"


def _check_meta(key, value, meta, where) -> None:
    if value is None:
        return
    if "required" in meta and value == "":
        raise ValueError(f"{where}: {key}: expected {meta['required']}, got nothing")
    if "choices" in meta and value not in meta["choices"]:
        raise ValueError(f"{where}: {key}: expected one of {', '.join(map(str, meta['choices']))}"
                         f", got {value!r}")
    tests = {"ge": lambda b: value >= b, "gt": lambda b: value > b,
             "le": lambda b: value <= b, "lt": lambda b: value < b}
    if not all(ok(meta[k]) for k, ok in tests.items() if k in meta):
        raise ValueError(f"{where}: {key}: expected {_range_text(meta)}, got {value!r}")


@contextlib.contextmanager
def _source(where: str):
    token = _WHERE.set(where)
    try:
        yield
    finally:
        _WHERE.reset(token)

_NAMES = {int: "int", float: "float", str: "str", bool: "bool", type(None): "None"}


def _allowed(annotation) -> tuple:
    """The plain types a field accepts: ``int | None`` -> (int, NoneType)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _coerce(value, allowed: tuple, key: str, where: str):
    for t in allowed:
        if t is bool and isinstance(value, bool):
            return value
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is str and isinstance(value, str):
            return value
        if t is type(None) and value is None:
            return None
    want = " or ".join(_NAMES.get(t, getattr(t, "__name__", str(t))) for t in allowed)
    raise ValueError(f"{where}: {key}: expected {want}, got {type(value).__name__} {value!r}")


@dataclasses.dataclass
class TaskRecipe:
    """Base of every task recipe: ``task`` names the task; the other fields are the task's."""

    task: str = ""

    def __post_init__(self):
        where = _WHERE.get()
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(getattr(self, f.name), _allowed(hints[f.name]), f.name, where)
            object.__setattr__(self, f.name, value)
            _check_meta(f.name, value, f.metadata, where)
        self.check(where)

    @classmethod
    def from_dict(cls, data: dict, where: str = "recipe") -> TaskRecipe:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}; {cls.task_name()} recipes "
                             f"take {', '.join(sorted(fields))}")
        with _source(where):
            return cls(**data)

    @classmethod
    def from_toml(cls, path) -> TaskRecipe:
        return cls.from_dict(read_toml(path), f"recipe {path}")

    @classmethod
    def task_name(cls) -> str:
        return next(f.default for f in dataclasses.fields(cls) if f.name == "task")

    def check(self, where: str) -> None:
        """Checks across fields, beyond each field's type and :func:`param` range (override;
        raise ValueError naming ``where`` and the key)."""

    def with_overrides(self, pairs) -> TaskRecipe:
        """A copy with ``--set key=value`` overrides applied (values parsed as TOML)."""
        recipe = self
        for pair in pairs:
            key, value = parse_set(pair)
            if key not in recipe.to_dict():
                raise ValueError(f"--set {pair}: unknown key {key!r}; {self.task_name()} "
                                 f"recipes take {', '.join(sorted(recipe.to_dict()))}")
            with _source(f"--set {pair}"):
                recipe = dataclasses.replace(recipe, **{key: value})
        return recipe

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """Flat TOML (None values left out); reading it back gives the same recipe."""
        lines = [f"# glassnet {self.task} recipe"]
        for k, v in self.to_dict().items():
            if v is not None:
                lines.append(f"{k} = {json.dumps(v)}")
        return "\n".join(lines) + "\n"


def parse_set(pair: str) -> tuple[str, object]:
    """``"epochs=5"`` -> ("epochs", 5); a value that is not a TOML literal stays a string."""
    key, sep, raw = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set {pair}: expected key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def read_toml(path) -> dict:
    """The table in the recipe file ``path`` (stdlib ``tomllib``).

    Raises:
        FileNotFoundError: no such file. ValueError: not valid UTF-8 TOML. Both name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"recipe {path}: invalid TOML ({e})") from None
