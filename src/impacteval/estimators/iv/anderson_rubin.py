"""Anderson-Rubin test and confidence set for one endogenous regressor.

The Anderson-Rubin (AR) test of ``H0: beta = b`` regresses ``y - b * x`` on the covariates and
the excluded instruments and tests that the instruments' coefficients are zero. Its size does
not depend on instrument strength, so inverting it gives a confidence set that is valid when
the instruments are weak (Anderson and Rubin 1949; Staiger and Stock 1997; Andrews, Stock and
Sun 2019). The set can be a bounded interval, the union of two rays, the whole real line, or
(over-identified models only) empty; all of these are reported as they are.

linearmodels has no weak-instrument-robust inference, so this module provides it. Nothing is
re-estimated per candidate ``b``: after partialling out the covariates, the reduced-form
coefficients and residuals of ``y - b x`` are ``pi_y - b pi_x`` and ``e_y - b e_x``, so the
statistic is a ratio of quadratics in ``b`` (classical) or a quadratic form with a matrix that
is quadratic in ``b`` (robust and cluster-robust). The set is found on a grid over the whole
real line (``b = centre + scale * tan(theta)``) that also holds the 2SLS estimate and the
minimiser of the statistic (exact for classical errors: the LIML estimate), refined with
Brent's method at every sign change and with a bounded minimisation around every local
extremum, so that a dip below (or a bump above) the critical value between grid points is
not missed.

Conventions (chosen to match ``AER::ivreg``/``lmtest::waldtest`` and Stata's small-sample
corrections):

- ``"unadjusted"``: the classical F statistic with ``F(q, n - k - q)`` reference distribution
  (exact under normal homoskedastic errors), ``k`` covariates including the constant;
- ``"robust"``: Wald statistic with the HC1 covariance (``n / (n - k - q)``), ``chi2(q)``;
- ``"clustered"``: Wald statistic with the cluster-robust covariance and Stata's correction
  ``G / (G - 1) * (n - 1) / (n - k - q)``, ``chi2(q)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

CovType = Literal["unadjusted", "robust", "clustered"]
SetShape = Literal["bounded", "unbounded", "disjoint", "real_line", "empty"]

_HALF_PI = math.pi / 2.0


@dataclass(frozen=True, kw_only=True)
class AndersonRubinResult:
    """Anderson-Rubin test of ``beta = null`` and the confidence set by test inversion.

    Attributes
    ----------
    statistic, p_value
        AR statistic and p-value for ``H0: beta = null``.
    null
        The hypothesised value tested (0: no effect).
    distribution
        ``"F"`` (classical) or ``"chi2"`` (robust, clustered).
    df
        Degrees of freedom: ``(q, n - k - q)`` for F, ``(q,)`` for chi2.
    level, critical_value
        Confidence level of the set and the critical value of the statistic.
    intervals
        The confidence set as disjoint closed intervals, in increasing order; endpoints may
        be ``-inf``/``inf``.
    shape
        ``"bounded"`` (one finite interval), ``"unbounded"`` (one half-line), ``"disjoint"``
        (several pieces, e.g. two rays), ``"real_line"`` or ``"empty"`` (every value rejected:
        the over-identifying restrictions are themselves rejected).
    bounded
        True if every interval is finite (an empty set counts as bounded).
    ci_lower, ci_upper
        Smallest and largest point of the set (its hull); NaN if the set is empty.
    statistic_at_infinity
        Limit of the statistic as ``|beta| -> inf``: the first-stage Wald (chi2) or F statistic
        of the excluded instruments. The set is unbounded iff it is below ``critical_value``.
    """

    statistic: float
    p_value: float
    null: float
    distribution: str
    df: tuple[int, ...]
    level: float
    critical_value: float
    intervals: tuple[tuple[float, float], ...]
    shape: SetShape
    bounded: bool
    ci_lower: float
    ci_upper: float
    statistic_at_infinity: float

    def contains(self, value: float) -> bool:
        """True if ``value`` lies in the confidence set."""
        return any(lo <= value <= hi for lo, hi in self.intervals)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for ``EffectEstimate.details``."""
        return {
            "available": True,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "null": self.null,
            "distribution": self.distribution,
            "df": list(self.df),
            "level": self.level,
            "critical_value": self.critical_value,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "bounded": self.bounded,
            "shape": self.shape,
            "intervals": [list(iv) for iv in self.intervals],
            "statistic_at_infinity": self.statistic_at_infinity,
        }


class AndersonRubinStatistic:
    """The AR statistic as a function of the hypothesised coefficient ``b``.

    Parameters
    ----------
    y, x : ndarray, shape (n,)
        Outcome and the endogenous regressor.
    instruments : ndarray, shape (n, q)
        Excluded instruments.
    exog : ndarray, shape (n, k)
        Covariates including the constant column.
    cov_type : {"unadjusted", "robust", "clustered"}
    clusters : ndarray of int, shape (n,), optional
        Cluster codes (required for ``"clustered"``).
    """

    def __init__(
        self,
        y: np.ndarray,
        x: np.ndarray,
        instruments: np.ndarray,
        exog: np.ndarray,
        *,
        cov_type: CovType,
        clusters: np.ndarray | None = None,
    ) -> None:
        n, q = instruments.shape
        k = exog.shape[1]
        self.n, self.q, self.k = n, q, k
        self.cov_type = cov_type
        self.df_resid = n - k - q
        if self.df_resid <= 0:
            raise ValueError("the AR statistic needs more observations than regressors")
        qw, _ = np.linalg.qr(exog)
        yx = np.column_stack([y, x]).astype(float)
        yx_t = yx - qw @ (qw.T @ yx)
        z_t = instruments - qw @ (qw.T @ instruments)
        ztz = z_t.T @ z_t
        c = z_t.T @ yx_t  # (q, 2): Z~'y~, Z~'x~
        pi = np.linalg.solve(ztz, c)
        resid = yx_t - z_t @ pi
        # cross-products of (y~, x~) projected on Z~ and of the reduced-form residuals
        self._proj = c.T @ pi  # (2, 2)
        self._rss = resid.T @ resid  # (2, 2)
        self._c = c
        if cov_type == "unadjusted":
            self.distribution = "F"
            self.df: tuple[int, ...] = (q, self.df_resid)
            return
        self.distribution = "chi2"
        self.df = (q,)
        score_y = z_t * resid[:, [0]]
        score_x = z_t * resid[:, [1]]
        if cov_type == "clustered":
            if clusters is None:
                raise ValueError("clusters are required for a clustered AR statistic")
            codes, inverse = np.unique(clusters, return_inverse=True)
            g = codes.shape[0]
            sum_y = np.zeros((g, q))
            sum_x = np.zeros((g, q))
            np.add.at(sum_y, inverse, score_y)
            np.add.at(sum_x, inverse, score_x)
            score_y, score_x = sum_y, sum_x
            scale = g / (g - 1) * (n - 1) / self.df_resid
        elif cov_type == "robust":
            scale = n / self.df_resid
        else:
            raise ValueError(f"unknown cov_type {cov_type!r}")
        self._m_yy = scale * score_y.T @ score_y
        self._m_xy = scale * score_x.T @ score_y
        self._m_xx = scale * score_x.T @ score_x

    def __call__(self, b: np.ndarray | float) -> np.ndarray:
        """AR statistic at each value of ``b`` (vectorised)."""
        b = np.atleast_1d(np.asarray(b, dtype=float))
        if self.cov_type == "unadjusted":
            p, r = self._proj, self._rss
            num = p[0, 0] - 2.0 * b * p[0, 1] + b * b * p[1, 1]
            den = r[0, 0] - 2.0 * b * r[0, 1] + b * b * r[1, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray((num / self.q) / (den / self.df_resid))
        cb = self._c[:, 0][None, :] - b[:, None] * self._c[:, 1][None, :]  # (m, q)
        bb = b[:, None, None]
        vb = self._m_yy[None] - bb * (self._m_xy + self._m_xy.T)[None] + bb * bb * self._m_xx[None]
        sol = np.linalg.solve(vb, cb[..., None])[..., 0]
        return np.asarray(np.einsum("mq,mq->m", cb, sol))

    def at_infinity(self) -> float:
        """Limit of the statistic as ``|b| -> inf`` (the first-stage statistic)."""
        if self.cov_type == "unadjusted":
            return float((self._proj[1, 1] / self.q) / (self._rss[1, 1] / self.df_resid))
        cx = self._c[:, 1]
        return float(cx @ np.linalg.solve(self._m_xx, cx))

    def p_value(self, statistic: float) -> float:
        """p-value of a value of the statistic."""
        if self.distribution == "F":
            return float(stats.f.sf(statistic, self.q, self.df_resid))
        return float(stats.chi2.sf(statistic, self.q))

    def critical_value(self, level: float) -> float:
        """Critical value of the statistic at confidence ``level``."""
        if self.distribution == "F":
            return float(stats.f.ppf(level, self.q, self.df_resid))
        return float(stats.chi2.ppf(level, self.q))

    def minimiser(self) -> float:
        """The value of ``b`` where the statistic is smallest (NaN if it is at infinity).

        Classical: exact, from the generalised eigenproblem of the two quadratic forms (the
        minimiser is the LIML estimate). Robust: Brent's method started from the 2SLS estimate.
        """
        if self.cov_type == "unadjusted":
            # minimise a'Pa / a'Ra over a = (1, -b): eigenvector of R^-1 P, smallest eigenvalue
            try:
                vals, vecs = np.linalg.eig(np.linalg.solve(self._rss, self._proj))
            except np.linalg.LinAlgError:  # an exact fit of y - b x: no interior minimum
                return math.nan
            a = vecs[:, int(np.argmin(vals.real))].real
            return float(-a[1] / a[0]) if a[0] != 0 else math.nan
        centre, scale = self.tsls_centre_and_scale()
        scale = scale if scale > 0 and math.isfinite(scale) else 1.0
        try:
            res = optimize.minimize_scalar(
                lambda b: float(self(b)[0]),
                bracket=(centre - scale, centre + scale),
                method="brent",
            )
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            return math.nan
        return float(res.x) if math.isfinite(float(res.x)) else math.nan

    def tsls_centre_and_scale(self) -> tuple[float, float]:
        """2SLS estimate and its classical standard error (used to place the search grid)."""
        p = self._proj
        beta = p[0, 1] / p[1, 1]
        total = p + self._rss
        u2 = total[0, 0] - 2.0 * beta * total[0, 1] + beta * beta * total[1, 1]
        sigma2 = u2 / max(self.n - self.k - 1, 1)
        se = math.sqrt(max(sigma2, 0.0) / p[1, 1])
        return float(beta), float(se)


def _theta_to_b(theta: float, centre: float, scale: float) -> float:
    if theta <= -_HALF_PI:
        return -math.inf
    if theta >= _HALF_PI:
        return math.inf
    return centre + scale * math.tan(theta)


def confidence_set(
    stat: AndersonRubinStatistic,
    level: float,
    *,
    centre: float | None = None,
    scale: float | None = None,
    n_grid: int = 2001,
) -> tuple[tuple[tuple[float, float], ...], float]:
    """Invert the AR test: the set of ``b`` with statistic at most the critical value.

    Parameters
    ----------
    stat : AndersonRubinStatistic
    level : float
        Confidence level in (0, 1).
    centre, scale : float, optional
        Where to centre the grid and how to stretch it (default: the 2SLS estimate and its
        classical standard error). The grid covers the whole real line whatever they are.
    n_grid : int
        Number of grid points in ``theta``.

    Returns
    -------
    intervals, critical_value
    """
    crit = stat.critical_value(level)
    c0, s0 = stat.tsls_centre_and_scale()
    centre = c0 if centre is None else centre
    scale = s0 if scale is None else scale
    if not (math.isfinite(scale) and scale > 0):
        scale = max(abs(centre), 1.0)
    limit = stat.at_infinity() - crit

    def f(theta: float) -> float:
        if abs(theta) >= _HALF_PI:
            return limit
        return float(stat(centre + scale * math.tan(theta))[0]) - crit

    inner = np.linspace(-_HALF_PI, _HALF_PI, n_grid + 2)[1:-1]
    # the 2SLS estimate and the minimiser of the statistic join the grid, so a set narrower
    # than the grid spacing around the minimum is never missed
    anchors = [b for b in (c0, stat.minimiser()) if math.isfinite(b)]
    inner = np.unique(
        np.concatenate([inner, np.arctan((np.asarray(anchors, dtype=float) - centre) / scale)])
    )
    inner = inner[np.abs(inner) < _HALF_PI]
    values = stat(centre + scale * np.tan(inner)) - crit
    thetas = [-_HALF_PI, *inner.tolist(), _HALF_PI]
    fvals = [limit, *values.tolist(), limit]

    # refine each interior local extremum: a narrow dip below (or bump above) zero between
    # grid points would otherwise be missed
    extra: list[tuple[float, float]] = []
    for i in range(1, len(thetas) - 1):
        lo_v, mid, hi_v = fvals[i - 1], fvals[i], fvals[i + 1]
        is_min = mid <= lo_v and mid <= hi_v and mid > 0
        is_max = mid >= lo_v and mid >= hi_v and mid <= 0
        if not (is_min or is_max):
            continue
        sign = 1.0 if is_min else -1.0
        res = optimize.minimize_scalar(
            lambda t, s=sign: s * f(t),
            bounds=(thetas[i - 1], thetas[i + 1]),
            method="bounded",
            options={"xatol": 1e-12},
        )
        value = f(float(res.x))
        if (value <= 0) != (mid <= 0):
            extra.append((float(res.x), value))
    if extra:
        merged = sorted([*zip(thetas, fvals, strict=True), *extra])
        thetas = [t for t, _ in merged]
        fvals = [v for _, v in merged]

    inside = [v <= 0 for v in fvals]
    intervals: list[tuple[float, float]] = []
    start: float | None = thetas[0] if inside[0] else None
    for i in range(len(thetas) - 1):
        if inside[i] == inside[i + 1]:
            continue
        root = optimize.brentq(f, thetas[i], thetas[i + 1], xtol=1e-14, rtol=1e-14)
        if inside[i]:  # leaving the set
            assert start is not None
            intervals.append((start, root))
            start = None
        else:  # entering the set
            start = root
    if start is not None:
        intervals.append((start, thetas[-1]))
    out = tuple(
        (_theta_to_b(lo, centre, scale), _theta_to_b(hi, centre, scale)) for lo, hi in intervals
    )
    return out, crit


def _shape(intervals: tuple[tuple[float, float], ...]) -> SetShape:
    if not intervals:
        return "empty"
    if len(intervals) > 1:
        return "disjoint"
    lo, hi = intervals[0]
    if math.isinf(lo) and math.isinf(hi):
        return "real_line"
    if math.isinf(lo) or math.isinf(hi):
        return "unbounded"
    return "bounded"


def anderson_rubin(
    y: np.ndarray,
    x: np.ndarray,
    instruments: np.ndarray,
    exog: np.ndarray,
    *,
    cov_type: CovType = "unadjusted",
    clusters: np.ndarray | None = None,
    level: float = 0.95,
    null: float = 0.0,
) -> AndersonRubinResult:
    """Anderson-Rubin test of ``beta = null`` and confidence set for one endogenous regressor.

    Parameters
    ----------
    y, x : ndarray, shape (n,)
        Outcome and endogenous regressor.
    instruments : ndarray, shape (n, q)
        Excluded instruments.
    exog : ndarray, shape (n, k)
        Included exogenous regressors, including the constant column.
    cov_type : {"unadjusted", "robust", "clustered"}
        See the module docstring for the conventions.
    clusters : ndarray, optional
        Cluster labels, one per row (``"clustered"`` only).
    level : float
        Confidence level of the set.
    null : float
        Value of the coefficient tested.

    Returns
    -------
    AndersonRubinResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(500, 1)); u = rng.normal(size=500)
    >>> x = z[:, 0] + u; y = 0.5 * x + u + rng.normal(size=500)
    >>> res = anderson_rubin(y, x, z, np.ones((500, 1)))
    >>> res.shape, res.contains(0.5)
    ('bounded', True)
    """
    stat = AndersonRubinStatistic(
        np.asarray(y, dtype=float),
        np.asarray(x, dtype=float),
        np.asarray(instruments, dtype=float).reshape(len(y), -1),
        np.asarray(exog, dtype=float).reshape(len(y), -1),
        cov_type=cov_type,
        clusters=clusters,
    )
    intervals, crit = confidence_set(stat, level)
    value = float(stat(null)[0])
    shape = _shape(intervals)
    bounded = all(math.isfinite(lo) and math.isfinite(hi) for lo, hi in intervals)
    lower = intervals[0][0] if intervals else math.nan
    upper = intervals[-1][1] if intervals else math.nan
    return AndersonRubinResult(
        statistic=value,
        p_value=stat.p_value(value),
        null=null,
        distribution=stat.distribution,
        df=stat.df,
        level=level,
        critical_value=crit,
        intervals=intervals,
        shape=shape,
        bounded=bounded,
        ci_lower=lower,
        ci_upper=upper,
        statistic_at_infinity=stat.at_infinity(),
    )
