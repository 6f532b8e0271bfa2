"""Interrupted time series: segmented regression (OLS with Newey-West SEs, Poisson,
quasi-Poisson, negative binomial with a log-population offset, ARIMA errors), seasonality,
several interruptions, phase-in, controlled ITS, counterfactual with bands, diagnostics, plot.

Importing this package registers :class:`InterruptedTimeSeries` as the estimator
``"interrupted_time_series"``.
"""

from impacteval.estimators.its.diagnostics import (
    AutocorrelationDiagnostics,
    autocorrelation_diagnostics,
)
from impacteval.estimators.its.estimator import InterruptedTimeSeries, ITSResult
from impacteval.estimators.its.plot import ITSPlot, its_plot
from impacteval.estimators.its.series import build_series, series_population

__all__ = [
    "AutocorrelationDiagnostics",
    "ITSPlot",
    "ITSResult",
    "InterruptedTimeSeries",
    "autocorrelation_diagnostics",
    "build_series",
    "its_plot",
    "series_population",
]
