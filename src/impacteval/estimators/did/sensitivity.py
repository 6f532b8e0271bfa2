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

What this module gives is the identified set *at the estimated coefficients*: it shows how far
the conclusion depends on the size of allowed violations, but it carries no sampling
uncertainty. Rambachan and Roth's confidence sets for ``Delta^RM`` (conditional / hybrid
moment-inequality tests, R package HonestDiD) are not implemented here.
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
