"""Covariate balance statistics, computed as MatchIt 4.x's ``summary.matchit`` does.

For each covariate (categorical covariates expand to one 0/1 row per level):

``mean_treated``, ``mean_control``
    Weighted means (weights normalised within arm; unmatched units have weight 0).
``smd``
    Standardised mean difference (treated minus control) divided by a standardisation
    factor computed in the *unweighted full sample*, so before and after are on one scale:
    for the ATT the SD of the treated arm, for the ATE ``sqrt((v1 + v0) / 2)`` (MatchIt's
    ``s.d.denom = "treated"`` / ``"pooled"``, cobalt's defaults). Variances are the unbiased
    ``n - 1`` variance for continuous covariates and ``p(1 - p)`` for binary (0/1)
    covariates. Binary covariates are standardised too (``binary = "std"``, the convention
    of MatchIt's ``summary(standardize = TRUE)`` and cobalt's ``binary = "std"``); with
    ``binary = "raw"`` their row holds the raw difference in proportions instead (cobalt's
    default). If the factor is zero (a covariate constant in the treated arm) the pooled
    SD of both arms is used; a difference below ``sqrt(machine epsilon)`` is reported raw.
``variance_ratio``
    Weighted variance treated / control, with the reliability-weights formula of
    ``stats::cov.wt`` (``sum(w (x - m)^2) / (1 - sum(w^2))``, w normalised). NaN for
    binary covariates: their variance is a function of their mean.
``ecdf_mean``, ``ecdf_max``
    Mean and maximum over the distinct values of the covariate in the full sample of
    ``|F_t(x) - F_c(x)|``, the difference of the weighted empirical CDFs. For a binary
    covariate both equal the absolute difference in proportions.
``ks``
    The Kolmogorov-Smirnov statistic: the same number as ``ecdf_max`` (kept as its own
    column because reports and cobalt name it so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import DesignError
from impacteval.matching.covariates import as_treatment, encode

_WHERE = "matching.balance"
_EPS = float(np.sqrt(np.finfo(float).eps))

BALANCE_COLUMNS = [
    "covariate",
    "type",
    "mean_treated",
    "mean_control",
    "smd",
    "variance_ratio",
    "ecdf_mean",
    "ecdf_max",
    "ks",
]


def balance_table(
    X: pd.DataFrame,
    treated: np.ndarray,
    weights: np.ndarray | None = None,
    estimand: Literal["ATT", "ATE"] = "ATT",
    *,
    binary: Literal["std", "raw"] = "std",
) -> pd.DataFrame:
    """Balance of each covariate between arms, optionally after weighting/matching.

    Parameters
    ----------
    X
        Covariates of the *full* sample (before matching), one row per unit; not modified.
    treated
        Treatment indicator (bool or 0/1).
    weights
        Matching or weighting weights (0 for unmatched units); ``None`` for the unweighted
        sample. The SMD's denominator always comes from the unweighted sample.
    estimand
        ``"ATT"`` (treated-arm SD) or ``"ATE"`` (pooled SD) for the SMD denominator.
    binary
        ``"std"`` to standardise binary covariates by ``sqrt(p (1 - p))`` of the treated arm,
        ``"raw"`` for the raw difference in proportions.

    Returns
    -------
    DataFrame
        Columns ``covariate, type (binary|continuous), mean_treated, mean_control, smd,
        variance_ratio, ecdf_mean, ecdf_max, ks``; one row per (expanded) covariate.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [70.0, 80, 75, 90], "male": [0, 1, 1, 0]})
    >>> balance_table(X, np.array([1, 1, 0, 0]))["smd"].round(3).tolist()
    [-1.061, 0.0]
    """
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"estimand must be 'ATT' or 'ATE', got {estimand!r}")
    if binary not in ("std", "raw"):
        raise ValueError(f"binary must be 'std' or 'raw', got {binary!r}")
    t = as_treatment(treated, len(X), where=_WHERE)
    if t.all() or not t.any():
        raise DesignError("balance needs treated and control units", where=_WHERE)
    Z, names, _ = encode(X, drop_first=False, where=_WHERE)
    if weights is None:
        w = np.ones(len(t))
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != t.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise DesignError("weights must be finite, non-negative and one per unit", where=_WHERE)
        if not (w[t] > 0).any() or not (w[~t] > 0).any():
            raise DesignError("an arm has no unit with positive weight", where=_WHERE)
    rows = [_one(Z[:, j], t, w, estimand, binary) for j in range(Z.shape[1])]
    out = pd.DataFrame(rows, columns=BALANCE_COLUMNS[1:])
    out.insert(0, "covariate", names)
    return out


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(x * w) / np.sum(w))


def _wvar(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    """MatchIt's ``wvar``: p(1-p) for binary, else the reliability-weights variance."""
    wn = w / np.sum(w)
    mx = float(np.sum(wn * x))
    if binary:
        return mx * (1 - mx)
    denom = 1 - float(np.sum(wn**2))
    if denom <= 0:  # a single unit with weight: variance undefined (MatchIt gives NaN too)
        return float("nan")
    return float(np.sum(wn * (x - mx) ** 2) / denom)


def _pooled_sd_proportional(x: np.ndarray, t: np.ndarray, binary: bool) -> float:
    """MatchIt's fallback ``pooled_sd(contribution = "proportional")`` (unweighted)."""
    n = x.shape[0]
    if binary:
        v = 0.0
        for arm in (t, ~t):
            s, k = float(x[arm].sum()), int(arm.sum())
            v += s * (1 - s / k) / n
        return float(np.sqrt(v))
    centred = x.copy()
    for arm in (t, ~t):
        centred[arm] = x[arm] - x[arm].mean()
    return float(np.sqrt(np.sum(centred**2) / (n - 2))) if n > 2 else float("nan")


def _ecdf_stats(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    wn = w.copy()
    wn[t] = w[t] / w[t].sum()
    wn[~t] = w[~t] / w[~t].sum()
    signed = np.where(t, wn, -wn)
    values, inverse = np.unique(x, return_inverse=True)
    per_value = np.bincount(inverse, weights=signed, minlength=values.shape[0])
    diff = np.abs(np.cumsum(per_value))
    return float(diff.mean()), float(diff.max())


def _one(
    x: np.ndarray, t: np.ndarray, w: np.ndarray, estimand: str, binary_mode: str
) -> tuple[object, ...]:
    is_binary = bool(np.all((x == 0) | (x == 1)))
    x1, x0, w1, w0 = x[t], x[~t], w[t], w[~t]
    m1, m0 = _wmean(x1, w1), _wmean(x0, w0)
    mdiff = m1 - m0
    too_small = np.sum(w1 != 0) < 2 and np.sum(w0 != 0) < 2
    smd = mdiff
    if abs(mdiff) > _EPS and not too_small and not (is_binary and binary_mode == "raw"):
        ones1, ones0 = np.ones(x1.shape[0]), np.ones(x0.shape[0])
        if estimand == "ATT":
            std = np.sqrt(_wvar(x1, ones1, is_binary)) if x1.shape[0] > 1 or is_binary else np.nan
        else:
            std = np.sqrt((_wvar(x1, ones1, is_binary) + _wvar(x0, ones0, is_binary)) / 2)
        if not np.isfinite(std) or std < _EPS:
            std = _pooled_sd_proportional(x, t, is_binary)
        # a zero denominator gives +-inf, as in MatchIt (the covariate separates the arms)
        if std > 0:
            smd = mdiff / std
        else:
            smd = float(np.copysign(np.inf, mdiff)) if std == 0 else float("nan")
    if is_binary:
        vr = np.nan
        e_mean = e_max = abs(mdiff)
    elif too_small:
        vr = e_mean = e_max = np.nan
    else:
        v0 = _wvar(x0, w0, False)
        vr = _wvar(x1, w1, False) / v0 if v0 > 0 else np.nan
        e_mean, e_max = _ecdf_stats(x, t, w)
    return ("binary" if is_binary else "continuous", m1, m0, smd, vr, e_mean, e_max, e_max)


def balance_summary(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    smd_threshold: float = 0.1,
    variance_ratio_range: tuple[float, float] = (0.5, 2.0),
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Before/after balance side by side, with threshold flags (for the report).

    Returns
    -------
    DataFrame
        ``covariate, label, smd_before, smd_after, variance_ratio_before,
        variance_ratio_after, ecdf_max_before, ecdf_max_after, balanced_smd,
        balanced_variance_ratio`` (flags are True/False; variance-ratio flag is True for
        binary covariates, which have no variance ratio).
    """
    b = before.set_index("covariate")
    a = after.set_index("covariate")
    if list(b.index) != list(a.index):
        raise ValueError("before and after balance tables must list the same covariates")
    lo, hi = variance_ratio_range
    vr = a["variance_ratio"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "covariate": b.index.to_list(),
            "label": [(labels or {}).get(c, c) for c in b.index],
            "smd_before": b["smd"].to_numpy(dtype=float),
            "smd_after": a["smd"].to_numpy(dtype=float),
            "variance_ratio_before": b["variance_ratio"].to_numpy(dtype=float),
            "variance_ratio_after": vr,
            "ecdf_max_before": b["ecdf_max"].to_numpy(dtype=float),
            "ecdf_max_after": a["ecdf_max"].to_numpy(dtype=float),
        }
    )
    out["balanced_smd"] = np.abs(out["smd_after"].to_numpy()) <= smd_threshold
    out["balanced_variance_ratio"] = np.isnan(vr) | ((vr >= lo) & (vr <= hi))
    return out
