"""Autocorrelation diagnostics of segmented-regression residuals.

ACF and PACF (statsmodels ``acf``/``pacf``, the PACF by Yule-Walker with the MLE
denominator as R's ``pacf``), the Ljung-Box Q statistic (statsmodels ``acorr_ljungbox``,
equal to R ``Box.test(type = "Ljung-Box", fitdf = 0)``) and the Durbin-Watson statistic
(sum of squared first differences over the sum of squares).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson
from statsmodels.tsa.stattools import acf, pacf

from impacteval.exceptions import EstimationError


@dataclass(frozen=True)
class AutocorrelationDiagnostics:
    """Residual autocorrelation summary.

    Attributes
    ----------
    correlogram
        One row per lag ``1..nlags``: ``lag, acf, pacf, bound`` (``bound`` is the approximate
        95% white-noise bound ``1.96 / sqrt(n)``).
    ljung_box_lag
        Lag of the Ljung-Box test.
    ljung_box_stat, ljung_box_p
        Statistic and p-value (chi-squared with ``ljung_box_lag`` degrees of freedom).
    durbin_watson
        Durbin-Watson statistic (about 2 without first-order autocorrelation).
    """

    correlogram: pd.DataFrame
    ljung_box_lag: int
    ljung_box_stat: float
    ljung_box_p: float
    durbin_watson: float

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON summary (the correlogram as lists)."""
        return {
            "acf": self.correlogram["acf"].tolist(),
            "pacf": self.correlogram["pacf"].tolist(),
            "ljung_box_lag": self.ljung_box_lag,
            "ljung_box_stat": self.ljung_box_stat,
            "ljung_box_p": self.ljung_box_p,
            "durbin_watson": self.durbin_watson,
        }


def autocorrelation_diagnostics(
    residuals: np.ndarray, *, nlags: int | None = None, ljung_box_lag: int | None = None
) -> AutocorrelationDiagnostics:
    """ACF, PACF, Ljung-Box and Durbin-Watson of a residual series in time order.

    Parameters
    ----------
    residuals
        Residuals in time order (not modified).
    nlags
        Lags of the correlogram; default ``min(24, n // 2 - 1)``.
    ljung_box_lag
        Lag of the Ljung-Box test; default ``min(12, n // 5)`` (at least 1).

    Raises
    ------
    EstimationError
        Fewer than 8 residuals, or non-finite residuals.
    """
    r = np.asarray(residuals, dtype=float)
    n = r.shape[0]
    if n < 8 or not np.all(np.isfinite(r)):
        raise EstimationError(
            "autocorrelation diagnostics need at least 8 finite residuals",
            where="analysis.its.diagnostics",
        )
    nlags = min(24, n // 2 - 1) if nlags is None else int(nlags)
    lb_lag = max(1, min(12, n // 5)) if ljung_box_lag is None else int(ljung_box_lag)
    a = acf(r, nlags=nlags, fft=False)[1:]
    p = pacf(r, nlags=nlags, method="ywm")[1:]
    lb = acorr_ljungbox(r, lags=[lb_lag], return_df=True)
    table = pd.DataFrame(
        {
            "lag": np.arange(1, nlags + 1),
            "acf": a,
            "pacf": p,
            "bound": np.full(nlags, 1.96 / np.sqrt(n)),
        }
    )
    return AutocorrelationDiagnostics(
        correlogram=table,
        ljung_box_lag=lb_lag,
        ljung_box_stat=float(lb["lb_stat"].iloc[0]),
        ljung_box_p=float(lb["lb_pvalue"].iloc[0]),
        durbin_watson=float(durbin_watson(r)),
    )
