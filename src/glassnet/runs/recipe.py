"""One recipe base for every task: TOML in and out, types checked from the field annotations.

A task's recipe is a dataclass deriving from :class:`TaskRecipe`::

    @dataclasses.dataclass
    class ForecastRecipe(TaskRecipe):
        task: str = "forecast"
        data: str = ""
        season: int = 0

Errors name the key, where it came from (the file, or the ``--set`` flag), the expected type
and the value received: ``recipe r.toml: epochs: expected int, got str 'twenty'``.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from ..train.recipe import read_toml

__all__ = ["TaskRecipe", "parse_set"]

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

    @classmethod
    def from_dict(cls, data: dict, where: str = "recipe") -> TaskRecipe:
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}; {cls.task_name()} recipes "
                             f"take {', '.join(sorted(fields))}")
        values = {k: _coerce(v, _allowed(hints[k]), k, where) for k, v in data.items()}
        recipe = cls(**values)
        recipe.check(where)
        return recipe

    @classmethod
    def from_toml(cls, path) -> TaskRecipe:
        return cls.from_dict(read_toml(path), f"recipe {path}")

    @classmethod
    def task_name(cls) -> str:
        return next(f.default for f in dataclasses.fields(cls) if f.name == "task")

    def check(self, where: str) -> None:
        """Range checks beyond types (override; raise ValueError naming ``where`` and key)."""

    def with_overrides(self, pairs) -> TaskRecipe:
        """A copy with ``--set key=value`` overrides applied (values parsed as TOML)."""
        data = self.to_dict()
        hints = typing.get_type_hints(type(self))
        for pair in pairs:
            key, value = parse_set(pair)
            if key not in hints:
                raise ValueError(f"--set {pair}: unknown key {key!r}; {self.task_name()} "
                                 f"recipes take {', '.join(sorted(hints))}")
            data[key] = _coerce(value, _allowed(hints[key]), key, f"--set {pair}")
        recipe = type(self)(**data)
        recipe.check("--set")
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
