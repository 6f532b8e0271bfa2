"""Regression discontinuity: sharp and fuzzy local polynomial RD, density test, RD plot.

Importing this package registers :class:`RegressionDiscontinuity` as the estimator
``"regression_discontinuity"``.
"""

from impacteval.estimators.rdd.density import DensityTestResult, density_test
from impacteval.estimators.rdd.estimator import MassPointsWarning, RegressionDiscontinuity
from impacteval.estimators.rdd.plot import RDPlot, rd_plot

__all__ = [
    "DensityTestResult",
    "MassPointsWarning",
    "RDPlot",
    "RegressionDiscontinuity",
    "density_test",
    "rd_plot",
]
