"""``module:attribute``, the way every command names an app (``edgemcp dev``, ``stdio``,
``schema``, the operator commands): imported from the project the command runs in."""

import importlib
import os
import sys
from typing import Any


class TargetError(Exception):
    """The target does not name an object: one line that says which part is wrong."""


def import_target(target: str) -> Any:
    """The object ``module:attribute`` names (the attribute defaults to ``app``). A module
    that cannot be imported or lacks the attribute is a ``TargetError``; an exception the
    module itself raises while importing propagates (the caller decides how to word it)."""
    module_name, _, attribute = target.partition(":")
    attribute = attribute or "app"
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise TargetError(f"{target!r} is not module:attribute (e.g. examples.weather:app)")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the app lives in the project, beside its tests
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import {module_name} (from {target}): {' '.join(str(exc).split())}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise TargetError(f"module {module_name} has no attribute {attribute!r}") from None
