"""Instrumental variables: 2SLS and LIML with weak-instrument diagnostics (issue 7).

Importing this package registers :class:`InstrumentalVariables` as the estimator
``"instrumental_variables"``.
"""

from impacteval.estimators.iv.anderson_rubin import (
    AndersonRubinResult,
    AndersonRubinStatistic,
    anderson_rubin,
)
from impacteval.estimators.iv.estimator import InstrumentalVariables, WeakInstrumentWarning
from impacteval.estimators.iv.stock_yogo import stock_yogo_critical_values

__all__ = [
    "AndersonRubinResult",
    "AndersonRubinStatistic",
    "InstrumentalVariables",
    "WeakInstrumentWarning",
    "anderson_rubin",
    "stock_yogo_critical_values",
]
