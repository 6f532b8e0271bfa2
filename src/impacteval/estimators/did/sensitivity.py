"""Sensitivity of an event-study effect to violations of parallel trends.

Rambachan and Roth (2023), "A more credible approach to parallel trends", relative-magnitude
restriction ``Delta^RM(Mbar)``: after adoption, the period-to-period change of the trend
violation ``delta`` is at most ``Mbar`` times the largest period-to-period change seen before
adoption,

    |delta_{t+1} - delta_t| <= Mbar * max_{s < 0} |delta_{s+1} - delta_s|,  t >= 0,

with ``delta = 0`` in the reference period (-1). Event-study coefficients estimate
``beta = tau + delta`` with ``tau = 0`` before adoption, so the pre-period coefficients reveal
``delta_pre`` and hence the largest pre-period change ``S``. For a target
``theta = sum_e l_e tau_e`` over post periods ``e = 0..E`` the identified set is then the
interval

    l' beta_post -/+ Mbar * S * sum_j |L_j|,   L_j = sum_{e >= j} l_e,

(each post-period change is chosen at its bound with the sign of ``L_j``). The breakdown value
is the smallest ``Mbar`` at which the interval contains zero.

For ``Delta^RM`` this module gives the identified set *at the estimated coefficients*: it
shows how far the conclusion depends on the size of allowed violations, but it carries no
sampling uncertainty. Rambachan and Roth's confidence sets for ``Delta^RM`` (conditional /
hybrid moment-inequality tests, R package HonestDiD) are not implemented here.

Confidence intervals *are* given for the smoothness restriction ``Delta^SD(M)`` (the slope of
the violation changes by at most ``M`` between consecutive periods; ``M = 0`` is a linear
pre-trend extrapolated): :func:`smoothness_flci`, Rambachan and Roth's optimal fixed-length
confidence intervals, validated against HonestDiD's README example
(tests/reference/test_did_honestdid.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from impacteval.estimators.did.validation import WHERE
from impacteval.exceptions import ConfigError, DesignError


@dataclass(frozen=True)
class RelativeMagnitudeBounds:
    """Identified sets under ``Delta^RM(Mbar)`` for a grid of ``Mbar``.

    Attributes
    ----------
    table
        ``m_bar, lower, upper`` (the identified set at the estimated coefficients).
    estimate
        ``l' beta_post`` (the target under exact parallel trends).
    max_pre_change
        ``S``: the largest absolute period-to-period change of the pre-period coefficients
        (reference period = 0).
    breakdown
        Smallest ``Mbar`` whose set contains 0 (inf if ``S`` is 0 and the estimate is not 0).
    weights
        ``l_e`` per post event time.
    """

    table: pd.DataFrame
    estimate: float
    max_pre_change: float
    breakdown: float
    weights: dict[int, float]

    def plot(self, *, title: str = "Sensitivity to violations of parallel trends") -> Figure:
        """The set for each ``Mbar`` (and the confidence set when the table has one)."""
        t = self.table
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.subplots()
        x = t["m_bar"].to_numpy(dtype=float)
        if {"ci_lower", "ci_upper"} <= set(t.columns):
            ax.vlines(x, t["ci_lower"], t["ci_upper"], color="0.7", linewidth=8,
                      label="confidence set")
        ax.vlines(x, t["lower"], t["upper"], color="#1b9e77", linewidth=3,
                  label="identified set at the estimates")
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_xlabel("Mbar (post-adoption violation relative to the largest pre-period one)")
        ax.set_ylabel("effect")
        ax.set_title(title)
        ax.legend(frameon=False)
        return fig


def relative_magnitude_bounds(
    coefficients: pd.DataFrame,
    *,
    m_bar: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    target: int | None = None,
) -> RelativeMagnitudeBounds:
    """Rambachan-Roth relative-magnitude identified sets for an event-study effect.

    Parameters
    ----------
    coefficients
        Event-study table with ``event_time`` and ``estimate`` (e.g.
        :attr:`EventStudyResult.coefficients` or the ``dynamic`` aggregation of
        :class:`CallawaySantAnna` renamed ``label -> event_time``); the reference period -1
        must be 0 or absent, event times consecutive.
    m_bar
        Values of ``Mbar`` (>= 0).
    target
        One post event time; default: the average over all post periods.
    """
    c = pd.DataFrame(coefficients)[["event_time", "estimate"]].dropna()
    c = c.astype({"event_time": int}).drop_duplicates("event_time").set_index("event_time")
    if -1 in c.index and abs(float(c.loc[-1, "estimate"])) > 1e-12:
        raise ConfigError("the coefficient at event time -1 must be 0 (the reference)",
                          where=f"{WHERE}.sensitivity",
                          hint="use an event study with reference=-1")
    c.loc[-1, "estimate"] = 0.0
    c = c.sort_index()
    times = c.index.to_numpy()
    if not np.array_equal(times, np.arange(times.min(), times.max() + 1)):
        raise ConfigError("event times must be consecutive", where=f"{WHERE}.sensitivity",
                          hint="do not drop or bin event times inside the window")
    pre = c.loc[c.index <= -1, "estimate"].to_numpy()
    post = c.loc[c.index >= 0, "estimate"]
    if pre.size < 2:
        raise DesignError("no pre-period coefficient besides the reference",
                          where=f"{WHERE}.sensitivity",
                          hint="relative magnitudes need at least two pre-adoption periods")
    if post.empty:
        raise DesignError("no post-adoption coefficients", where=f"{WHERE}.sensitivity",
                          hint="the event study must include event times >= 0")
    if any(m < 0 for m in m_bar):
        raise ConfigError("m_bar must be >= 0", where=f"{WHERE}.sensitivity", hint="e.g. 0..2")
    if target is None:
        weights = np.full(post.size, 1.0 / post.size)
    else:
        if target not in post.index:
            raise ConfigError(f"target event time {target} is not a post period",
                              where=f"{WHERE}.sensitivity", hint="choose an event time >= 0")
        weights = (post.index.to_numpy() == target).astype(float)
    S = float(np.max(np.abs(np.diff(pre))))
    L = np.cumsum(weights[::-1])[::-1]
    spread = S * float(np.sum(np.abs(L)))
    theta = float(weights @ post.to_numpy())
    table = pd.DataFrame({"m_bar": list(m_bar)})
    table["lower"] = theta - table["m_bar"] * spread
    table["upper"] = theta + table["m_bar"] * spread
    if spread > 0:
        breakdown = abs(theta) / spread
    else:
        breakdown = 0.0 if theta == 0 else float("inf")
    return RelativeMagnitudeBounds(
        table=table, estimate=theta, max_pre_change=S, breakdown=breakdown,
        weights={int(e): float(w) for e, w in zip(post.index, weights, strict=True)},
    )


@dataclass(frozen=True)
class SmoothnessFLCI:
    """Rambachan-Roth fixed-length confidence intervals under the smoothness restriction.

    Attributes
    ----------
    table
        ``m, ci_lower, ci_upper`` per value of ``M`` (the bound on the change in slope of the
        trend violation between consecutive periods, in outcome units).
    original
        ``(ci_lower, ci_upper)``: the usual interval for the target, valid under exact parallel
        trends.
    estimate
        ``l' beta_post`` (the target under exact parallel trends).
    breakdown
        Smallest ``M`` of the grid whose interval contains 0 (NaN if none does).
    m_upper_bound
        HonestDiD's default top of the ``M`` grid: the largest absolute second difference of the
        pre-period coefficients plus ``z_{0.95}`` standard errors.
    weights
        ``l_e`` per post event time.
    """

    table: pd.DataFrame
    original: tuple[float, float]
    estimate: float
    breakdown: float
    m_upper_bound: float
    weights: dict[int, float]

    def plot(self, *, title: str = "Sensitivity to non-linear violations of parallel trends"
             ) -> Figure:
        """The interval for each ``M`` beside the usual interval (HonestDiD's sensitivity plot)."""
        t = self.table
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.subplots()
        x = t["m"].to_numpy(dtype=float)
        step = float(np.min(np.diff(x))) if x.size > 1 else 1.0
        ax.vlines(x[0] - step, *self.original, color="#d95f02", linewidth=3,
                  label="usual interval (exact parallel trends)")
        ax.vlines(x, t["ci_lower"], t["ci_upper"], color="#1b9e77", linewidth=3,
                  label="fixed-length CI under smoothness bound M")
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_xlabel("M (change in the slope of the violation between periods)")
        ax.set_ylabel("effect")
        ax.set_title(title)
        ax.legend(frameon=False)
        return fig


def _folded_normal_quantile(t: float, level: float) -> float:
    """``c`` with ``P(|N(t, 1)| <= c) = level``."""
    from scipy import optimize, stats

    t = abs(t)
    return float(optimize.brentq(
        lambda c: stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) - level, 0.0, t + 10.0,
        xtol=1e-14))


def _flci_half_length(sigma: np.ndarray, n_pre: int, lv: np.ndarray, m: float,
                      level: float) -> tuple[float, np.ndarray]:
    """Optimal FLCI half-length and pre-period weights (Rambachan and Roth 2023, section 4.1;
    HonestDiD's ``findOptimalFLCI`` parametrisation: the estimator is ``ell' beta_pre +
    l' beta_post`` with ``ell`` the first differences of ``w``; its worst-case bias over
    ``Delta^SD(M)`` is ``M (c + sum_k |sum_{j<=k} w_j|)`` when ``sum w = sum_s s l_s``;
    the half-length ``h * cv_alpha(bias / h)`` is minimised jointly over ``w``)."""
    from scipy import optimize

    K, T = n_pre, lv.size
    s_pre, s_pp, s_post = sigma[:K, :K], sigma[:K, K:], sigma[K:, K:]
    D = np.eye(K)
    D[np.arange(1, K), np.arange(K - 1)] = -1.0
    steps = np.arange(1, T + 1)
    const = float(sum(abs(steps[:s] @ lv[T - s:]) for s in range(1, T + 1)) - steps @ lv)
    target = float(steps @ lv)
    lower = np.tril(np.ones((K, K)))

    def sd(w: np.ndarray) -> float:
        e = D @ w
        return float(np.sqrt(max(e @ s_pre @ e + 2 * e @ s_pp @ lv + lv @ s_post @ lv, 1e-300)))

    def half(x: np.ndarray) -> float:
        h = sd(x[K:])
        return h * _folded_normal_quantile(m * (const + x[:K].sum()) / h, level)

    cons = [{"type": "ineq", "fun": lambda x: x[:K] - lower @ x[K:]},
            {"type": "ineq", "fun": lambda x: x[:K] + lower @ x[K:]},
            {"type": "eq", "fun": lambda x: x[K:].sum() - target}]
    w0 = np.zeros(K)
    w0[-1] = target  # the minimum-bias estimator (linear extrapolation from -2 and -1)
    x0 = np.concatenate([np.abs(lower @ w0), w0])
    res = optimize.minimize(half, x0, method="SLSQP", constraints=cons,
                            options={"ftol": 1e-14, "maxiter": 2000})
    # any feasible w gives a valid interval (its own worst-case bias and variance): when the
    # optimiser stops early, keep the better of its feasible point and the start
    x = res.x
    slack = np.r_[x[:K] - lower @ x[K:], x[:K] + lower @ x[K:]]
    feasible = bool(slack.min() >= -1e-9 and abs(x[K:].sum() - target) <= 1e-9 * (1 + abs(target)))
    if not feasible or half(x) > half(x0):
        x = x0
    return float(half(x)), D @ x[K:]


def smoothness_flci(
    coefficients: pd.DataFrame,
    cov: np.ndarray,
    *,
    m: Sequence[float] | None = None,
    target: int | None = None,
    ci_level: float = 0.95,
) -> SmoothnessFLCI:
    """Rambachan-Roth confidence intervals under ``Delta^SD(M)`` (fixed-length CIs).

    The smoothness restriction bounds how much the slope of the parallel-trends violation
    ``delta`` may change between consecutive periods: ``|(delta_{t+1} - delta_t) -
    (delta_t - delta_{t-1})| <= M`` (``M = 0``: the violation is a linear trend, extrapolated
    from the pre-periods). For each ``M`` the interval is the optimal fixed-length confidence
    interval of Rambachan and Roth (2023), built on the affine estimator whose worst-case bias
    and variance give the shortest interval (Armstrong and Kolesar 2018); it accounts for the
    sampling error of both the effects and the pre-trends. Agrees with the R package
    HonestDiD 0.2.8 (``createSensitivityResults``) to about 3e-5 on its README example
    (HonestDiD simulates the folded-normal critical value with 10^6 draws; it is exact here).

    Parameters
    ----------
    coefficients
        Event-study table with ``event_time`` and ``estimate``; the reference period -1 is 0 or
        absent; event times consecutive; at least two pre-periods besides the reference.
    cov
        Covariance of the estimates of the non-reference rows, in event-time order (as
        :attr:`EventStudyResult.cov`).
    m
        Values of ``M`` (>= 0). Default: 10 points from 0 to :attr:`SmoothnessFLCI.m_upper_bound`
        (HonestDiD's default grid).
    target
        One post event time; default: the first (event time 0), HonestDiD's default.
    ci_level
        Coverage of the intervals.
    """
    from scipy import stats

    c = pd.DataFrame(coefficients)[["event_time", "estimate"]].astype({"event_time": int})
    c = c.drop_duplicates("event_time").sort_values("event_time").reset_index(drop=True)
    if -1 in set(c["event_time"]):
        ref = c["event_time"] == -1
        if abs(float(c.loc[ref, "estimate"].iloc[0])) > 1e-12:
            raise ConfigError("the coefficient at event time -1 must be 0 (the reference)",
                              where=f"{WHERE}.sensitivity",
                              hint="use an event study with reference=-1")
        c = c[~ref].reset_index(drop=True)
    V = np.asarray(cov, dtype=float)
    if V.shape != (len(c), len(c)):
        raise ConfigError(f"cov must be {len(c)} x {len(c)} (the non-reference coefficients)",
                          where=f"{WHERE}.sensitivity", hint="pass EventStudyResult.cov")
    times = np.array([*c["event_time"], -1])
    times.sort()
    if not np.array_equal(times, np.arange(times.min(), times.max() + 1)):
        raise ConfigError("event times must be consecutive", where=f"{WHERE}.sensitivity",
                          hint="do not drop or bin event times inside the window")
    pre = (c["event_time"] < -1).to_numpy()
    post = (c["event_time"] >= 0).to_numpy()
    if pre.sum() < 2:
        raise DesignError("fewer than two pre-period coefficients besides the reference",
                          where=f"{WHERE}.sensitivity",
                          hint="smoothness bounds need at least three pre-adoption periods")
    if not post.any():
        raise DesignError("no post-adoption coefficients", where=f"{WHERE}.sensitivity",
                          hint="the event study must include event times >= 0")
    post_times = c.loc[post, "event_time"].to_numpy()
    if target is None:
        target = int(post_times[0])
    if target not in post_times:
        raise ConfigError(f"target event time {target} is not a post period",
                          where=f"{WHERE}.sensitivity", hint="choose an event time >= 0")
    order = np.r_[np.flatnonzero(pre), np.flatnonzero(post)]
    beta = c["estimate"].to_numpy(dtype=float)[order]
    sigma = V[np.ix_(order, order)]
    n_pre = int(pre.sum())
    # With few clusters the covariance of many event-time coefficients is singular (rank at
    # most the number of clusters less one): some combination of them then has zero estimated
    # variance and the fixed-length CI collapses to a point. Refuse rather than mislead.
    eig = np.linalg.eigvalsh((sigma + sigma.T) / 2)
    if eig.size and eig[0] <= 1e-10 * max(float(eig[-1]), 1e-300):
        raise DesignError("the covariance of the event-study coefficients is singular (more "
                          "event times than independent clusters)", where=f"{WHERE}.sensitivity",
                          hint="use fewer event times (a shorter window or quarterly periods) "
                          "or more clusters")
    lvec = (post_times == target).astype(float)
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    theta = float(lvec @ beta[n_pre:])
    se = float(np.sqrt(lvec @ sigma[n_pre:, n_pre:] @ lvec))
    # HonestDiD's DeltaSD_upperBound_Mpre: second differences of (beta_pre, 0)
    seq = np.r_[beta[:n_pre], 0.0]
    A = np.zeros((n_pre - 1, n_pre + 1))
    for r in range(n_pre - 1):
        A[r, r:r + 3] = (1.0, -2.0, 1.0)
    A = A[:, :n_pre]
    se_d = np.sqrt(np.diag(A @ sigma[:n_pre, :n_pre] @ A.T))
    m_ub = float(np.max(np.abs(A @ seq[:n_pre]) + stats.norm.ppf(0.95) * se_d))
    grid = list(m) if m is not None else list(np.linspace(0.0, m_ub, 10))
    if any(v < 0 for v in grid):
        raise ConfigError("M must be >= 0", where=f"{WHERE}.sensitivity", hint="e.g. 0..0.05")
    rows = []
    for mv in grid:
        half, ell = _flci_half_length(sigma, n_pre, lvec, float(mv), ci_level)
        centre = float(ell @ beta[:n_pre] + theta)
        rows.append({"m": float(mv), "ci_lower": centre - half, "ci_upper": centre + half})
    table = pd.DataFrame(rows)
    covers = table[(table["ci_lower"] <= 0) & (table["ci_upper"] >= 0)]
    return SmoothnessFLCI(
        table=table, original=(theta - z * se, theta + z * se), estimate=theta,
        breakdown=float(covers["m"].min()) if len(covers) else float("nan"),
        m_upper_bound=m_ub,
        weights={int(e): float(w) for e, w in zip(post_times, lvec, strict=True)},
    )
