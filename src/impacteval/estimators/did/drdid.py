"""Two-period panel DiD estimators with their influence functions (Sant'Anna and Zhao 2020).

These are the building blocks of the group-time ATTs: each takes one 2x2 comparison (treated
units D = 1 and comparison units D = 0, outcome change ``dy`` between the base and the current
period, covariates ``X`` with an intercept column, measured in the base period) and returns the
ATT and its influence function over the units of the comparison (``n1`` values; the ATT's
variance is ``mean(IF**2) / n1``). The formulas follow the R package DRDID
(``reg_did_panel``, ``std_ipw_did_panel``, ``drdid_panel``; unit weights 1):

* ``reg``: outcome regression (Heckman, Ichimura and Todd 1997): OLS of ``dy`` on ``X`` among
  comparison units, ATT = mean over treated of ``dy - X b``.
* ``ipw``: standardised (Hajek) inverse probability weighting (Abadie 2005), logit propensity.
* ``dr``: the doubly robust estimator (Sant'Anna and Zhao 2020, "traditional" DR: logit
  propensity by maximum likelihood, outcome regression by OLS among comparison units).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from impacteval.exceptions import EstimationError

EstMethod = Literal["reg", "ipw", "dr"]

#: DRDID trims comparison units whose propensity score is at least this (weight 0).
TRIM_LEVEL = 0.995


def logit_fit(X: np.ndarray, d: np.ndarray, *, max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood logit coefficients by Newton-Raphson (raises on non-convergence)."""
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        W = p * (1 - p)
        H = (X.T * W) @ X
        try:
            step = np.linalg.solve(H, X.T @ (d - p))
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                "the propensity-score model is singular", where="did.covariates",
                hint="drop collinear or constant covariates, or use est_method='reg'",
            ) from exc
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            return beta
    raise EstimationError(
        "the propensity-score model did not converge (perfect separation?)",
        where="did.covariates",
        hint="the covariates may predict group membership perfectly; drop or coarsen them",
    )


def _ols(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted OLS coefficients and ``((X' W X)/n)^-1``."""
    n = X.shape[0]
    A = (X.T * w) @ X / n
    if np.linalg.cond(A) > 1e12:
        raise EstimationError(
            "the outcome regression among comparison units is singular",
            where="did.covariates",
            hint="drop covariates that are constant or collinear among comparison units",
        )
    A_inv = np.linalg.inv(A)
    b = A_inv @ ((X.T * w) @ y / n)
    return b, A_inv


def att_2x2(
    dy: np.ndarray, d: np.ndarray, X: np.ndarray, method: EstMethod
) -> tuple[float, np.ndarray]:
    """ATT and influence function of one two-period panel comparison.

    Parameters
    ----------
    dy
        Outcome change (current minus base period), shape (n1,).
    d
        1 for treated, 0 for comparison units.
    X
        Covariates with an intercept column first, shape (n1, k).
    method
        ``"reg"``, ``"ipw"`` or ``"dr"``.

    Returns
    -------
    (att, influence)
    """
    n = dy.shape[0]
    c = 1.0 - d
    if method == "reg":
        b, A_inv = _ols(X, dy, c)
        m = X @ b
        mean_d = d.mean()
        eta_t = np.mean(d * dy) / mean_d
        eta_c = np.mean(d * m) / mean_d
        att = eta_t - eta_c
        lin_ols = (c * (dy - m))[:, None] * X @ A_inv
        inf_t = (d * dy - d * eta_t) / mean_d
        inf_c = (d * m - d * eta_c + lin_ols @ np.mean(d[:, None] * X, axis=0)) / mean_d
        return float(att), inf_t - inf_c
    if method not in ("ipw", "dr"):
        raise ValueError(f"method must be 'reg', 'ipw' or 'dr', got {method!r}")
    gamma = logit_fit(X, d)
    ps = 1.0 / (1.0 + np.exp(-(X @ gamma)))
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(d == 1, 1.0, (ps < TRIM_LEVEL).astype(float))
    H_inv = np.linalg.inv((X.T * (ps * (1 - ps))) @ X / n)
    lin_ps = ((d - ps)[:, None] * X) @ H_inv
    w1 = d * trim
    w0 = trim * ps * c / (1 - ps)
    if method == "ipw":
        att_t = np.mean(w1 * dy) / np.mean(w1)
        att_c = np.mean(w0 * dy) / np.mean(w0)
        inf_t = (w1 * dy - w1 * att_t) / np.mean(w1)
        M2 = np.mean((w0 * (dy - att_c))[:, None] * X, axis=0)
        inf_c = (w0 * dy - w0 * att_c + lin_ps @ M2) / np.mean(w0)
        return float(att_t - att_c), inf_t - inf_c
    b, A_inv = _ols(X, dy, c)
    m = X @ b
    r = dy - m
    eta_t = np.mean(w1 * r) / np.mean(w1)
    eta_c = np.mean(w0 * r) / np.mean(w0)
    lin_ols = (c * r)[:, None] * X @ A_inv
    inf_t = (w1 * r - w1 * eta_t - lin_ols @ np.mean(w1[:, None] * X, axis=0)) / np.mean(w1)
    M2 = np.mean((w0 * (r - eta_c))[:, None] * X, axis=0)
    M3 = np.mean(w0[:, None] * X, axis=0)
    inf_c = (w0 * r - w0 * eta_c + lin_ps @ M2 - lin_ols @ M3) / np.mean(w0)
    return float(eta_t - eta_c), inf_t - inf_c
