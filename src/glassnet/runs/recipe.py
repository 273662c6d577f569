"""The recipe base of every task (defined in :mod:`glassnet.train.recipe_base`, below this
layer, so that the classification recipe of ``glassnet.train`` shares it)."""
from ..train.recipe_base import TaskRecipe, param, parse_set, read_toml

__all__ = ["TaskRecipe", "param", "parse_set", "read_toml"]
