"""The public API of glassnet.train and glassnet.io: every name exists and is documented."""
import inspect

import pytest

import glassnet.io
import glassnet.models
import glassnet.train


@pytest.mark.parametrize("module", [glassnet.train, glassnet.io, glassnet.models])
def test_public_names_are_documented(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"
