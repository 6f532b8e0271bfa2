"""Tools for testing estimators: simulated data with known effects and the estimator contract.

>>> from impacteval.testing import simulate_matched_cohort, check_estimator
"""

from impacteval.testing.check import CheckReport, EstimatorCheckError, check_estimator
from impacteval.testing.simulate import (
    SimulatedStudy,
    simulate_instrumental_variables,
    simulate_matched_cohort,
    simulate_panel,
    simulate_regression_discontinuity,
    simulate_time_series,
)

__all__ = [
    "CheckReport",
    "EstimatorCheckError",
    "SimulatedStudy",
    "check_estimator",
    "simulate_instrumental_variables",
    "simulate_matched_cohort",
    "simulate_panel",
    "simulate_regression_discontinuity",
    "simulate_time_series",
]
