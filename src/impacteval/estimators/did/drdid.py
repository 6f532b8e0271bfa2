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


def _xtwx(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' diag(w) X`` without BLAS (skinny products: BLAS threads only add overhead)."""
    return np.einsum("ij,i,ik->jk", X, w, X)


def _xtv(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``X' v``."""
    return np.einsum("ij,i->j", X, v)


def _xb(X: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``X b``."""
    return np.einsum("ij,j->i", X, b)


def logit_fit(
    X: np.ndarray, d: np.ndarray, w: np.ndarray | None = None, *, max_iter: int = 50,
    tol: float = 1e-10,
) -> np.ndarray:
    """(Weighted) maximum-likelihood logit by Newton-Raphson (raises on non-convergence)."""
    w = np.ones(d.shape[0]) if w is None else w
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-_xb(X, beta)))
        H = _xtwx(X, w * p * (1 - p))
        try:
            step = np.linalg.solve(H, _xtv(X, w * (d - p)))
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
    A = _xtwx(X, w) / n
    if np.linalg.cond(A) > 1e12:
        raise EstimationError(
            "the outcome regression among comparison units is singular",
            where="did.covariates",
            hint="drop covariates that are constant or collinear among comparison units",
        )
    A_inv = np.linalg.inv(A)
    b = A_inv @ (_xtv(X, w * y) / n)
    return b, A_inv


def att_2x2(
    dy: np.ndarray, d: np.ndarray, X: np.ndarray, method: EstMethod,
    weights: np.ndarray | None = None,
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
    weights
        Optional unit (sampling) weights, normalised to mean 1 as DRDID's ``i.weights``.

    Returns
    -------
    (att, influence)

    Notes
    -----
    The estimation-effect terms ``lin_rep @ M`` of DRDID (an (n1, k) matrix times a k-vector)
    are computed as ``score_i * x_i' (A^-1 M)``, which never forms the (n1, k) matrix.
    """
    n = dy.shape[0]
    w = np.ones(n) if weights is None else weights / np.mean(weights)
    c = 1.0 - d
    wd, wc = w * d, w * c
    if method == "reg":
        b, A_inv = _ols(X, dy, wc)
        m = _xb(X, b)
        mean_d = wd.mean()
        eta_t = np.mean(wd * dy) / mean_d
        eta_c = np.mean(wd * m) / mean_d
        ols_effect = wc * (dy - m) * _xb(X, A_inv @ (_xtv(X, wd) / n))
        inf_t = (wd * dy - wd * eta_t) / mean_d
        inf_c = (wd * m - wd * eta_c + ols_effect) / mean_d
        return float(eta_t - eta_c), inf_t - inf_c
    if method not in ("ipw", "dr"):
        raise ValueError(f"method must be 'reg', 'ipw' or 'dr', got {method!r}")
    gamma = logit_fit(X, d, w)
    ps = 1.0 / (1.0 + np.exp(-_xb(X, gamma)))
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(d == 1, 1.0, (ps < TRIM_LEVEL).astype(float))
    H_inv = np.linalg.inv(_xtwx(X, w * ps * (1 - ps)) / n)
    w1 = wd * trim
    w0 = w * trim * ps * c / (1 - ps)

    def ps_term(M: np.ndarray) -> np.ndarray:
        return w * (d - ps) * _xb(X, H_inv @ M)

    if method == "ipw":
        att_t = np.mean(w1 * dy) / np.mean(w1)
        att_c = np.mean(w0 * dy) / np.mean(w0)
        inf_t = (w1 * dy - w1 * att_t) / np.mean(w1)
        M2 = _xtv(X, w0 * (dy - att_c)) / n
        inf_c = (w0 * dy - w0 * att_c + ps_term(M2)) / np.mean(w0)
        return float(att_t - att_c), inf_t - inf_c
    b, A_inv = _ols(X, dy, wc)
    r = dy - _xb(X, b)
    eta_t = np.mean(w1 * r) / np.mean(w1)
    eta_c = np.mean(w0 * r) / np.mean(w0)

    def ols_term(M: np.ndarray) -> np.ndarray:
        return wc * r * _xb(X, A_inv @ M)

    inf_t = (w1 * r - w1 * eta_t - ols_term(_xtv(X, w1) / n)) / np.mean(w1)
    M2 = _xtv(X, w0 * (r - eta_c)) / n
    inf_c = (w0 * r - w0 * eta_c + ps_term(M2) - ols_term(_xtv(X, w0) / n)) / np.mean(w0)
    return float(eta_t - eta_c), inf_t - inf_c
