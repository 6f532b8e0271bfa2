"""Manipulation (density discontinuity) test of Cattaneo, Jansson and Ma (2020).

Cattaneo, Jansson and Ma (2020), "Simple local polynomial density estimators", *JASA*
115:1449-1455, and (2018) "Manipulation testing based on density discontinuity",
*Stata Journal* 18:234-261. The density at the cutoff is the slope of a local polynomial
fit of the empirical distribution function on each side; the test statistic is the
difference of the two slopes over its jackknife standard error. As in ``rddensity`` 3.0
(defaults): unrestricted fits on each side, order ``p = 2`` for the bandwidth and ``q = p + 1``
for the robust bias-corrected statistic, jackknife variance, the ``comb`` bandwidth
(median of the each-side, difference and sum MSE-optimal bandwidths), local sample-size
regularisation (at least ``20 + p + 1`` observations and distinct values on each side) and
the mass-point adjustment (ties share one value of the distribution function).

Only the unrestricted model with the jackknife variance is implemented (the package
defaults); an analyst who needs the restricted model or the plug-in variance should use
``rddensity`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.polynomial import hermite_e
from numpy.typing import ArrayLike
from scipy import stats

from impacteval.estimators.rdd.local_poly import FloatArray, Kernel
from impacteval.exceptions import DesignError

DensityBwSelect = Literal["comb", "each", "diff", "sum"]

# Constants of the rule-of-thumb pilot bandwidths for p = 1..7, from Cattaneo, Jansson and
# Ma's reference implementation (rddensity 3.0, ``rdbwdensity``): integrals of the
# equivalent kernels used for the bias (Cb) and the estimator (Cc) pilots.
_CB = (
    25884.444444494150957,
    3430865.4551236177795,
    845007948.04262602329,
    330631733667.03808594,
    187774809656037.3125,
    145729502641999264.0,
    146013502974449876992.0,
)
_CC = (
    4.8000000000000246914,
    548.57142857155463389,
    100800.00000020420703,
    29558225.458100609481,
    12896196859.612621307,
    7890871468221.609375,
    6467911284037581.0,
)


@dataclass(frozen=True)
class DensityTestResult:
    """Result of the density discontinuity test at the cutoff.

    Attributes
    ----------
    statistic, p_value
        Robust bias-corrected t statistic (jackknife standard error) and its two-sided
        normal p-value.
    h_left, h_right
        Bandwidths used below and above the cutoff.
    n_left, n_right
        Observations within the bandwidth below and at-or-above the cutoff.
    density_left, density_right
        Estimated densities at the cutoff from each side (order ``p + 1`` fits).
    """

    statistic: float
    p_value: float
    h_left: float
    h_right: float
    n_left: int
    n_right: int
    density_left: float
    density_right: float


def _moment(kernel: Kernel, m: int) -> float:
    """``int_0^1 K(u) u^m du`` for the kernels used here."""
    if kernel == "triangular":
        return 1.0 / (m + 1) - 1.0 / (m + 2)
    if kernel == "epanechnikov":
        return 0.75 * (1.0 / (m + 1) - 1.0 / (m + 3))
    return 0.5 / (m + 1)


def _bias_constant(p: int, kernel: Kernel) -> float:
    s = np.array([[_moment(kernel, i + j) for j in range(p + 1)] for i in range(p + 1)])
    c = np.array([_moment(kernel, i + p + 1) for i in range(p + 1)])
    return float(np.linalg.solve(s, c)[1])


@dataclass(frozen=True)
class _DensityFit:
    hat: FloatArray  # left, right, diff, sum
    jackknife: FloatArray  # variances: left, right, diff, sum (NaN when negative)
    coef: FloatArray  # coefficient of x^s: left, right, diff, sum


def _density_fit(
    x: FloatArray, y: FloatArray, n: int, hl: float, hr: float, p: int, s: int,
    kernel: Kernel, mass_points: bool,
) -> _DensityFit:
    """Local polynomial fit of the distribution function ``y`` on ``x`` (centred, sorted)."""
    keep = (x >= -hl) & (x <= hr)
    xh = x[keep]
    yh = y[keep]
    left = xh < 0
    ul = np.where(left, xh / hl, 0.0)
    ur = np.where(left, 0.0, xh / hr)
    if kernel == "uniform":
        w = np.where(left, 1.0 / (2 * hl), 1.0 / (2 * hr))
    elif kernel == "triangular":
        w = np.where(left, (1 + ul) / hl, (1 - ur) / hr)
    else:
        w = np.where(left, 0.75 * (1 - ul**2) / hl, 0.75 * (1 - ur**2) / hr)
    cols = []
    scale = []
    for power in range(p + 1):
        cols.append(np.where(left, ul**power, 0.0))
        cols.append(np.where(left, 0.0, ur**power))
        scale += [hl**power, hr**power]
    xp = np.column_stack(cols)
    xpw = xp * w[:, None]
    hp_inv = 1.0 / np.asarray(scale)
    try:
        s_inv = np.linalg.inv(xpw.T @ xp)
    except np.linalg.LinAlgError:
        nan4 = np.full(4, math.nan)
        return _DensityFit(nan4, nan4, nan4)
    b = hp_inv * (s_inv @ (xpw.T @ yh))

    # Jackknife: row i gets the sum of the weighted design over later rows; with mass points
    # all members of a group of ties take the value of the group's first member.
    nh = xh.shape[0]
    tail = np.vstack([np.cumsum(xpw[::-1], axis=0)[::-1][1:], np.zeros((1, xp.shape[1]))])
    tail = tail / (n - 1)
    if mass_points:
        first = np.flatnonzero(np.r_[True, xh[1:] != xh[:-1]])
        counts = np.diff(np.r_[first, nh])
        tail = np.repeat(tail[first], counts, axis=0)
    half = tail @ s_inv * hp_inv[None, :]
    v = half.T @ half
    jk = np.array([
        v[2, 2], v[3, 3], v[2, 2] + v[3, 3] - 2 * v[2, 3], v[2, 2] + v[3, 3] + 2 * v[2, 3]
    ])
    jk = np.where(jk < 0, math.nan, jk)
    hat = np.array([b[2], b[3], b[3] - b[2], b[3] + b[2]])
    coef = np.array([b[2 * s], b[2 * s + 1], b[2 * s + 1] - b[2 * s], b[2 * s + 1] + b[2 * s]])
    return _DensityFit(hat, jk, coef)


def _kth_abs(values: FloatArray, k: int) -> float:
    """The ``k``-th smallest absolute value (1-based, capped at the number of values)."""
    a = np.sort(np.abs(values))
    return float(a[min(k, a.shape[0]) - 1])


def density_bandwidths(
    x: FloatArray, y: FloatArray, unique: FloatArray, p: int, kernel: Kernel,
    mass_points: bool,
) -> FloatArray:
    """MSE-optimal bandwidths ``[left, right, diff, sum]`` (rddensity's ``rdbwdensity``)."""
    n = x.shape[0]
    xl, xr = x[x < 0], x[x >= 0]
    ul, ur = unique[unique < 0], unique[unique >= 0]
    mu = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    z = mu / sd
    phi = float(stats.norm.pdf(z))
    herm_b = float(hermite_e.hermeval(z, np.eye(p + 3)[p + 2]))
    herm_c = float(hermite_e.hermeval(z, np.eye(p + 1)[p]))
    fhat_b = 1.0 / (herm_b**2 * phi)
    fhat_c = 1.0 / (herm_c**2 * phi)
    bn = ((2 * p + 1) / 4 * fhat_b * _CB[p - 1] / n) ** (1 / (2 * p + 5)) * sd
    cn = (1 / (2 * p) * fhat_c * _CC[p - 1] / n) ** (1 / (2 * p + 1)) * sd
    max_abs = float(np.max(np.abs(unique)))
    bn = min(bn, max_abs)
    cn = min(cn, max_abs)
    kb, kc = 20 + p + 2 + 1, 20 + p + 1
    bn = max(bn, _kth_abs(xl, kb), _kth_abs(xr, kb), _kth_abs(ul, kb), _kth_abs(ur, kb))
    cn = max(cn, _kth_abs(xl, kc), _kth_abs(xr, kc), _kth_abs(ul, kc), _kth_abs(ur, kc))

    fit_b = _density_fit(x, y, n, bn, bn, p + 2, p + 1, kernel, mass_points)
    fit_c = _density_fit(x, y, n, cn, cn, p, 1, kernel, mass_points)
    variance = n * cn * fit_c.jackknife
    const = _bias_constant(p, kernel)
    bias_l = fit_b.coef[0] * const * (-1) ** p
    bias_r = fit_b.coef[1] * const
    bias2 = np.array([bias_l, bias_r, bias_r - bias_l, bias_r + bias_l]) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (1 / (2 * p) * variance / bias2 / n) ** (1 / (2 * p + 1))
    h = np.where(np.isfinite(h), h, 0.0)

    left_range, right_range = abs(float(unique[0])), float(unique[-1])
    widest = max(left_range, right_range)
    h = np.minimum(h, [left_range, right_range, widest, widest])
    kl = 20 + p + 1
    hl_min = max(_kth_abs(xl, kl), _kth_abs(ul, kl))
    hr_min = max(_kth_abs(xr, kl), _kth_abs(ur, kl))
    h = np.maximum(h, [hl_min, hr_min, max(hl_min, hr_min), max(hl_min, hr_min)])
    return np.asarray(h, dtype=np.float64)


def density_test(
    x: ArrayLike,
    cutoff: float = 0.0,
    *,
    p: int = 2,
    kernel: Kernel = "triangular",
    h: float | tuple[float, float] | None = None,
    bwselect: DensityBwSelect = "comb",
    mass_points: bool = True,
) -> DensityTestResult:
    """Test for a discontinuity in the density of the running variable at ``cutoff``.

    A jump in the density suggests units sorted themselves across the threshold
    (manipulation), which undermines an RD design.

    Parameters
    ----------
    x
        Running variable (missing values are dropped).
    cutoff
        Threshold; observations at the cutoff count as above it.
    p
        Order of the local polynomial for the bandwidth (the statistic uses ``p + 1``), 1..7.
    kernel
        ``"triangular"``, ``"epanechnikov"`` or ``"uniform"``.
    h
        Bandwidth (one, or ``(left, right)``); selected from the data if None.
    bwselect
        ``"comb"`` (median of each/diff/sum per side), ``"each"``, ``"diff"`` or ``"sum"``.
    mass_points
        Adjust for repeated values of the running variable.

    Returns
    -------
    DensityTestResult

    Raises
    ------
    DesignError
        If fewer than ``20 + p + 1`` distinct values lie on either side of the cutoff.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> res = density_test(rng.normal(size=2000))
    >>> 0.0 <= res.p_value <= 1.0
    True
    """
    if p not in range(1, 8):
        raise DesignError(f"p must be an integer from 1 to 7, got {p}", where="density_test.p")
    if kernel not in ("triangular", "epanechnikov", "uniform"):
        raise DesignError(
            "unknown kernel; allowed: triangular, epanechnikov, uniform",
            where="density_test.kernel",
        )
    if bwselect not in ("comb", "each", "diff", "sum"):
        raise DesignError(
            "unknown bwselect; allowed: comb, each, diff, sum", where="density_test.bwselect"
        )
    values = np.asarray(x, dtype=np.float64).ravel()
    values = np.sort(values[~np.isnan(values)]) - cutoff
    n = values.shape[0]
    unique = np.unique(values)
    n_left_u = int(np.count_nonzero(unique < 0))
    n_right_u = unique.shape[0] - n_left_u
    needed = 20 + p + 1
    if min(n_left_u, n_right_u) < needed:
        raise DesignError(
            f"the density test needs at least {needed} distinct values of the running variable "
            f"on each side of the cutoff; found {n_left_u} below and {n_right_u} at or above",
            where="density_test",
            hint="check the cutoff and the running variable, or use more data",
        )
    mp = mass_points and unique.shape[0] != n
    y = np.arange(n) / (n - 1)
    if mp:
        last = np.r_[np.flatnonzero(values[1:] != values[:-1]), n - 1]
        counts = np.diff(np.r_[-1, last])
        y = np.repeat(y[last], counts)

    if h is None:
        bws = density_bandwidths(values, y, unique, p, kernel, mp)
        if bwselect == "comb":
            hl = float(np.median([bws[0], bws[2], bws[3]]))
            hr = float(np.median([bws[1], bws[2], bws[3]]))
        elif bwselect == "each":
            hl, hr = float(bws[0]), float(bws[1])
        elif bwselect == "diff":
            hl = hr = float(bws[2])
        else:
            hl = hr = float(bws[3])
    else:
        if isinstance(h, (int, float)):
            hl = hr = float(h)
        else:
            hl, hr = float(h[0]), float(h[1])
        if not (hl > 0 and hr > 0):
            raise DesignError("bandwidths must be positive", where="density_test.h")

    fit = _density_fit(values, y, n, hl, hr, p + 1, 1, kernel, mp)
    statistic = float(fit.hat[2] / math.sqrt(fit.jackknife[2]))
    p_value = float(2 * stats.norm.sf(abs(statistic)))
    return DensityTestResult(
        statistic=statistic,
        p_value=p_value,
        h_left=hl,
        h_right=hr,
        n_left=int(np.count_nonzero((values >= -hl) & (values < 0))),
        n_right=int(np.count_nonzero((values >= 0) & (values <= hr))),
        density_left=float(fit.hat[0]),
        density_right=float(fit.hat[1]),
    )
