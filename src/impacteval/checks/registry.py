"""Registry of sensitivity checks (small functions the report and pipeline call by name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from impacteval.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])

_BUILTIN_MODULES = (
    "impacteval.checks.evalue",
    "impacteval.checks.rosenbaum",
    "impacteval.checks.negative_control",
)


def _load_builtins() -> None:
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


#: Name -> sensitivity check function. The built-in checks are imported on first lookup.
CHECKS: Registry[Callable[..., Any]] = Registry("sensitivity check", loader=_load_builtins)


def register_check(name: str) -> Callable[[F], F]:
    """Function decorator that registers a sensitivity check under ``name``."""

    def wrap(func: F) -> F:
        CHECKS.register(name, func)
        return func

    return wrap
