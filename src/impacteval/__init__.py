"""impacteval: evaluate health and care interventions from routine NHS data.

The public API is imported lazily so that ``import impacteval`` stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": ("impacteval.config", "load_config"),
    "parse_config": ("impacteval.config", "parse_config"),
    "Config": ("impacteval.config", "Config"),
    "EffectEstimate": ("impacteval.results", "EffectEstimate"),
    "EvaluationResult": ("impacteval.results", "EvaluationResult"),
    "run": ("impacteval.pipeline", "run"),
    "validate": ("impacteval.pipeline", "validate"),
    "register_estimator": ("impacteval.estimators", "register_estimator"),
    "check_estimator": ("impacteval.testing", "check_estimator"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'impacteval' has no attribute {name!r}")
