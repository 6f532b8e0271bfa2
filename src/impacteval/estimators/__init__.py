"""Estimators, one module per design family; each registers itself by name."""

from impacteval.estimators.base import ESTIMATORS, Estimator, register_estimator

__all__ = ["ESTIMATORS", "Estimator", "register_estimator"]
