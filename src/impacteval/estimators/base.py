"""The estimator protocol and registry.

An estimator is a frozen, keyword-only dataclass of parameters whose ``fit`` is pure: it
never mutates its input, ``self`` or global state, and takes randomness from an explicit
``numpy.random.Generator``. It returns an :class:`~impacteval.results.EffectEstimate`.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from impacteval.registry import Registry
from impacteval.results import EffectEstimate


@runtime_checkable
class Estimator(Protocol):
    """What every estimator provides (built-in or user-written)."""

    design: str

    def fit(self, data: Any, **roles: Any) -> EffectEstimate:  # pragma: no cover - protocol
        ...


E = TypeVar("E", bound=type)

BUILTIN_MODULES = (
    "impacteval.estimators.regression",
    "impacteval.estimators.rdd",
    "impacteval.estimators.iv",
    "impacteval.estimators.did",
    "impacteval.estimators.its",
    "impacteval.estimators.synthetic",
)


def _load_builtins() -> None:
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)


#: Name -> estimator class. Configs refer to estimators by these names; the built-in
#: estimators are imported on the first lookup.
ESTIMATORS: Registry[type] = Registry("estimator", loader=_load_builtins)


def register_estimator(name: str) -> Any:
    """Class decorator that registers an estimator under ``name``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @register_estimator("my_ratio")          # doctest: +SKIP
    ... @dataclass(frozen=True, kw_only=True)
    ... class MyRatio:
    ...     design: str = "matched_cohort"
    ...     def fit(self, data, *, outcome, treatment): ...
    """

    def wrap(cls: E) -> E:
        ESTIMATORS.register(name, cls)
        return cls

    return wrap
