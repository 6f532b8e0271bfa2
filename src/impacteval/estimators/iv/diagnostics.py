"""Instrument diagnostics read from a fitted linearmodels IV model.

linearmodels computes the first stage, the Cragg-Donald and Kleibergen-Paap statistics, the
Sargan, Hansen J (two-step GMM) and Wu-Hausman tests; this module only collects them into the
plain mappings documented in :class:`~impacteval.estimators.iv.InstrumentalVariables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from linearmodels.iv import IVGMM
from linearmodels.iv.results import IVGMMResults, IVResults
from linearmodels.shared.hypotheses import InvalidTestStatistic, WaldTestStatistic
from scipy import stats

from impacteval.estimators.iv.stock_yogo import stock_yogo_critical_values


def _test(result: Any) -> dict[str, Any]:
    """A linearmodels test statistic as a plain mapping (``available`` False if undefined)."""
    if isinstance(result, InvalidTestStatistic) or not isinstance(result, WaldTestStatistic):
        reason = getattr(result, "reason", "not defined")
        return {"available": False, "reason": str(reason)}
    out: dict[str, Any] = {
        "available": True,
        "statistic": float(result.stat),
        "p_value": float(result.pval),
        "distribution": str(result.dist_name),
    }
    df = int(result.df)
    df_denom = getattr(result, "df_denom", None)
    out["df"] = [df] if df_denom is None else [df, int(df_denom)]
    return out


def first_stage(
    res: IVResults,
    *,
    treatment: str,
    instruments: Sequence[str],
    cov_type: str,
    method: str,
) -> dict[str, Any]:
    """First-stage coefficients, F statistics, partial R-squared and Stock-Yogo values.

    ``f_statistic`` is the Wald statistic of the excluded instruments divided by their number,
    using the model's covariance (classical, HC1 or cluster-robust with Stata's correction);
    its p-value uses ``F(q, n - k)`` when classical and ``chi2(q) / q`` otherwise.
    ``weak_instrument_f`` is the statistic compared with the rule of thumb: the Cragg-Donald F
    when classical, the Kleibergen-Paap rk Wald F otherwise (with one endogenous regressor these
    equal ``f_statistic``).
    """
    fs = res.first_stage
    q = len(instruments)
    ind = fs.individual[treatment]
    diag = fs.diagnostics.loc[treatment]
    if cov_type == "unadjusted":
        f_value = float(diag["f.stat"])
        df: list[int] = [q, int(ind.df_resid)]
        f_p = float(stats.f.sf(f_value, q, int(ind.df_resid)))
        f_dist = "F"
    else:
        f_value = float(diag["f.stat"]) / q
        df = [q]
        f_p = float(stats.chi2.sf(f_value * q, q))
        f_dist = "chi2/q"
    cd_f = float(fs.cragg_donald_f)
    kp_f = float(fs.kleibergen_paap_f)
    effective = cd_f if cov_type == "unadjusted" else kp_f
    return {
        "coef": {name: float(ind.params[name]) for name in instruments},
        "se": {name: float(ind.std_errors[name]) for name in instruments},
        "f_statistic": f_value,
        "f_p_value": f_p,
        "f_df": df,
        "f_distribution": f_dist,
        "partial_r2": float(diag["partial.rsquared"]),
        "shea_partial_r2": float(diag["shea.rsquared"]),
        "r2": float(diag["rsquared"]),
        "cragg_donald_f": cd_f,
        "kleibergen_paap_f": kp_f,
        "kleibergen_paap_lm": _test(fs.kleibergen_paap),
        "weak_instrument_f": effective,
        "weak_instrument_f_name": "Cragg-Donald F"
        if cov_type == "unadjusted"
        else "Kleibergen-Paap rk Wald F",
        "stock_yogo": stock_yogo_critical_values(q, method="liml" if method == "liml" else "2sls"),
    }


def hansen_j(
    dependent: pd.Series,
    exog: pd.DataFrame,
    endog: pd.DataFrame,
    instruments: pd.DataFrame,
    *,
    cov_type: str,
    clusters: Any = None,
) -> dict[str, Any]:
    """Hansen's J from linearmodels' two-step efficient GMM (as Stata's ``ivreg2`` reports).

    The weight matrix is heteroskedasticity-robust, or cluster-robust when ``cov_type`` is
    ``"clustered"``; with one instrument per endogenous regressor the test is not defined.
    """
    if instruments.shape[1] <= endog.shape[1]:
        return {
            "available": False,
            "reason": "exactly identified: no over-identifying restrictions",
        }
    try:
        if cov_type == "clustered":
            model = IVGMM(
                dependent, exog, endog, instruments, weight_type="clustered", clusters=clusters
            )
            fitted = cast(IVGMMResults, model.fit(cov_type="clustered", clusters=clusters))
        else:
            model = IVGMM(dependent, exog, endog, instruments, weight_type="robust")
            fitted = cast(IVGMMResults, model.fit(cov_type="robust"))
    except (ValueError, np.linalg.LinAlgError) as exc:
        # linearmodels refuses a singular covariance of the moment conditions, e.g. fewer
        # clusters than instruments plus covariates
        return {
            "available": False,
            "reason": f"weight matrix not defined ({exc.__class__.__name__})",
        }
    out = _test(fitted.j_stat)
    out["weight"] = "clustered" if cov_type == "clustered" else "robust"
    return out


def over_identification(res: IVResults, n_instruments: int) -> dict[str, Any]:
    """Sargan's test (classical) from linearmodels; undefined when exactly identified."""
    if n_instruments <= 1:
        return {
            "available": False,
            "reason": "exactly identified: no over-identifying restrictions",
        }
    return _test(res.sargan)


def endogeneity(res: IVResults, cov_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wu-Hausman F test (classical) and Wooldridge's regression test (model's covariance)."""
    wu = _test(res.wu_hausman())
    robust = _test(res.wooldridge_regression)
    robust["cov_type"] = cov_type
    return wu, robust
