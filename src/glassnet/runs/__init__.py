"""The run layer: one recipe base, one run directory, and a registry of tasks.

Sits above ``train``, ``inspect`` and ``viz`` (it may import them; nothing below imports it).
``glassnet train RECIPE.toml`` looks the recipe's ``task`` up here; ``glassnet tasks`` lists
what is registered with the keys and data formats of each.
"""
from .recipe import TaskRecipe, parse_set
from .registry import Task, get_task, register, tasks
from .rundir import prepare_run_dir, read_run_json, write_run_json

__all__ = ["TaskRecipe", "parse_set", "Task", "register", "get_task", "tasks",
           "prepare_run_dir", "write_run_json", "read_run_json"]
