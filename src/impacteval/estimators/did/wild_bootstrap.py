"""Restricted wild cluster bootstrap (WCR) test of one OLS coefficient.

Cameron, Gelbach and Miller (2008) and MacKinnon and Webb (2017): impose the null
``beta_k = 0``, resample the restricted residuals by cluster with Rademacher or Webb
six-point weights, and compare the observed cluster-robust t statistic with the bootstrap
distribution of t. With Rademacher weights and ``2**G <= n_boot`` every sign vector is
enumerated (the test is then exact in the bootstrap sense and deterministic). Recommended when
there are few clusters (fewer than about 30-50), where the analytic cluster-robust t test
over-rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

BootstrapWeights = Literal["rademacher", "webb"]

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class WildBootstrapResult:
    """Outcome of a wild cluster bootstrap test of ``beta_k = 0``.

    Attributes
    ----------
    t_stat
        Observed cluster-robust t statistic of ``beta_k - null``.
    p_value
        Symmetric bootstrap p-value: share of bootstrap ``|t*|`` at least ``|t|`` (ties
        counted: under full enumeration the all-plus and all-minus sign vectors reproduce
        ``|t|`` exactly, so this is the conservative convention).
    ci_lower, ci_upper
        Bootstrap confidence interval by test inversion (NaN unless ``ci_level`` was given).
    n_boot
        Number of bootstrap draws used (``2**G`` under full enumeration).
    weights
        ``"rademacher"`` or ``"webb"``.
    enumerated
        True when all Rademacher sign vectors were used.
    n_clusters
        Number of clusters G.
    """

    t_stat: float
    p_value: float
    n_boot: int
    weights: str
    enumerated: bool
    n_clusters: int
    ci_lower: float = float("nan")
    ci_upper: float = float("nan")


def _draw(kind: str, n_boot: int, n_clusters: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    if kind == "rademacher" and 2**n_clusters <= n_boot:
        return np.array(list(product((-1.0, 1.0), repeat=n_clusters))), True
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_boot, n_clusters)), False
    if kind == "webb":
        return rng.choice(_WEBB, size=(n_boot, n_clusters)), False
    raise ValueError(f"weights must be 'rademacher' or 'webb', got {kind!r}")


def wild_cluster_bootstrap(
    X: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray | pd.Series,
    k: int,
    *,
    weights: BootstrapWeights = "rademacher",
    n_boot: int = 9999,
    rng: np.random.Generator,
    null: float = 0.0,
    ci_level: float | None = None,
    absorb: Callable[[np.ndarray], np.ndarray] | None = None,
    chunk: int = 2000,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap p-value for ``H0: beta_k = null`` in ``y = X beta + u``.

    Parameters
    ----------
    X, y
        Design matrix (n, p) and outcome (n,), no missing values.
    clusters
        Cluster label per row (any hashable values).
    k
        Column of ``X`` under test.
    weights
        ``"rademacher"`` (enumerated when ``2**G <= n_boot``) or ``"webb"`` (six-point; better
        with fewer than about 12 clusters).
    n_boot
        Number of bootstrap draws.
    rng
        Source of randomness.
    null
        Value of ``beta_k`` under the null hypothesis.
    ci_level
        If given, also the confidence interval: the set of nulls not rejected at
        ``1 - ci_level`` (the same bootstrap weights for every null), found by root-finding
        on each side of the estimate.
    absorb
        For designs whose fixed effects were partialled out of ``X`` and ``y``
        (Frisch-Waugh-Lovell): the same projection applied to each bootstrap outcome column,
        so that bootstrap residuals are those of the full fixed-effects regression.
    chunk
        Bootstrap draws processed at once (bounds memory at ``n x chunk`` floats).

    Returns
    -------
    WildBootstrapResult

    Notes
    -----
    The t statistics (observed and bootstrap) use the ``G/(G-1)`` cluster-robust variance; the
    common ``(n-1)/(n-k)`` factor would cancel in the comparison.
    """
    g, _ = pd.factorize(pd.Series(np.asarray(clusters)))
    G = int(g.max()) + 1
    xtx_inv = np.linalg.inv(X.T @ X)
    a_k = X @ xtx_inv[:, k]  # beta_k = a_k' y
    scale = G / (G - 1)

    def fit(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficient k and its cluster-robust SE for each column of Y."""
        beta = xtx_inv @ (X.T @ Y)
        E = Y - X @ beta
        S = np.zeros((G, Y.shape[1]))
        np.add.at(S, g, a_k[:, None] * E)
        return beta[k], np.sqrt(scale * np.sum(S**2, axis=0))

    def t_stats(Y: np.ndarray, b0: float) -> np.ndarray:
        b, se = fit(Y)
        return (b - b0) / se

    V, enumerated = _draw(weights, n_boot, G, rng)
    Xr = np.delete(X, k, axis=1)
    xr_pinv = np.linalg.pinv(Xr)

    def p_value(b0: float) -> tuple[float, float]:
        t_obs = float(t_stats(y[:, None], b0)[0])
        y0 = y - b0 * X[:, k]
        fitted_r = Xr @ (xr_pinv @ y0) + b0 * X[:, k]
        resid_r = y - fitted_r
        exceed = 0
        for start in range(0, V.shape[0], chunk):
            v = V[start : start + chunk]
            Y = fitted_r[:, None] + resid_r[:, None] * v[:, g].T
            if absorb is not None:
                Y = absorb(Y)
            exceed += int(np.sum(np.abs(t_stats(Y, b0)) >= abs(t_obs) * (1 - 1e-10)))
        return t_obs, exceed / V.shape[0]

    t_obs, p = p_value(null)
    lo = hi = float("nan")
    if ci_level is not None:
        alpha = 1 - ci_level
        b_arr, se_arr = fit(y[:, None])
        beta_hat, se_hat = float(b_arr[0]), float(se_arr[0])

        def gap(b0: float) -> float:
            return p_value(b0)[1] - alpha - 1e-12

        bounds = []
        for direction in (-1.0, 1.0):
            far = beta_hat + direction * 4 * se_hat
            step = 0
            while gap(far) > 0 and step < 8:
                far = beta_hat + direction * 4 * se_hat * 2 ** (step + 1)
                step += 1
            bounds.append(optimize.brentq(gap, beta_hat, far, xtol=1e-8 * (1 + abs(se_hat)))
                          if gap(far) <= 0 else float("nan"))
        lo, hi = bounds
    return WildBootstrapResult(
        t_stat=t_obs,
        p_value=p,
        n_boot=int(V.shape[0]),
        weights=weights,
        enumerated=enumerated,
        n_clusters=G,
        ci_lower=lo,
        ci_upper=hi,
    )


@dataclass(frozen=True)
class WildBootstrapWaldResult:
    """Restricted wild cluster bootstrap of a joint Wald test ``R beta = 0``.

    Attributes
    ----------
    statistic
        Observed Wald statistic (``G/(G-1)`` cluster-robust covariance).
    df
        Number of restrictions (rows of ``R``).
    p_value
        Share of bootstrap statistics at least the observed one.
    n_boot, weights, enumerated, n_clusters
        As :class:`WildBootstrapResult`.
    """

    statistic: float
    df: int
    p_value: float
    n_boot: int
    weights: str
    enumerated: bool
    n_clusters: int


def wild_bootstrap_wald(
    X: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray | pd.Series,
    R: np.ndarray,
    *,
    weights: BootstrapWeights = "rademacher",
    n_boot: int = 999,
    rng: np.random.Generator,
    chunk: int = 1000,
) -> WildBootstrapWaldResult:
    """Restricted wild cluster bootstrap (WCR) p-value of ``H0: R beta = 0`` in ``y = X beta + u``.

    The joint version of :func:`wild_cluster_bootstrap` (Cameron, Gelbach and Miller 2008;
    MacKinnon and Webb 2017): the model is fitted under the null (restricted least squares),
    its residuals are flipped by cluster, and the Wald statistic of each bootstrap sample is
    compared with the observed one. For an event study, ``X`` and ``y`` are the two-way
    demeaned event-time indicators and outcome (Frisch-Waugh-Lovell) and ``R`` selects (or
    aggregates) the pre-adoption coefficients: the pre-trend test with few clusters.

    Parameters
    ----------
    X, y
        Design (n, p) and outcome (n,), no missing values.
    clusters
        Cluster label per row.
    R
        Restrictions (q, p), full row rank.
    weights
        ``"rademacher"`` (enumerated when ``2**G <= n_boot``) or ``"webb"``.
    n_boot
        Bootstrap draws.
    rng
        Source of randomness.
    chunk
        Draws processed at once.
    """
    g, _ = pd.factorize(pd.Series(np.asarray(clusters)))
    G = int(g.max()) + 1
    R = np.atleast_2d(np.asarray(R, dtype=float))
    q = R.shape[0]
    A = np.linalg.pinv(X.T @ X)
    beta = A @ (X.T @ y)
    # restricted least squares: beta_r = beta - A R' (R A R')^-1 R beta
    RA = R @ A
    K = np.linalg.pinv(RA @ R.T)
    beta_r = beta - RA.T @ (K @ (R @ beta))
    fitted_r = X @ beta_r
    resid_r = y - fitted_r
    scale = G / (G - 1)

    def wald(Y: np.ndarray) -> np.ndarray:
        B = A @ (X.T @ Y)                       # (p, b)
        E = Y - X @ B                           # (n, b)
        S = np.zeros((G, X.shape[1], Y.shape[1]))
        np.add.at(S, g, X[:, :, None] * E[:, None, :])   # cluster scores (G, p, b)
        RS = np.einsum("qp,pk,gkb->bgq", R, A, S)        # (b, G, q): R A s_g
        V = scale * np.einsum("bgq,bgr->bqr", RS, RS)    # (b, q, q)
        Rb = (R @ B).T                                   # (b, q)
        sol = np.einsum("bqr,br->bq", np.linalg.pinv(V), Rb)
        return np.einsum("bq,bq->b", Rb, sol)

    W = float(wald(y[:, None])[0])
    V_draws, enumerated = _draw(weights, n_boot, G, rng)
    exceed = 0
    for start in range(0, V_draws.shape[0], chunk):
        v = V_draws[start : start + chunk]
        Y = fitted_r[:, None] + resid_r[:, None] * v[:, g].T
        exceed += int(np.sum(wald(Y) >= W * (1 - 1e-10)))
    return WildBootstrapWaldResult(statistic=W, df=q, p_value=exceed / V_draws.shape[0],
                                   n_boot=int(V_draws.shape[0]), weights=weights,
                                   enumerated=enumerated, n_clusters=G)
