"""Rosenbaum bounds for matched pairs: Wilcoxon's signed-rank test under hidden bias.

Under a bias in treatment assignment of at most Gamma (two matched people may differ in their
odds of treatment by a factor of at most Gamma because of an unmeasured covariate), the
one-sided p-value of Wilcoxon's signed-rank test of no effect lies between two bounds
(Rosenbaum PR. Observational Studies, 2nd ed. Springer 2002, section 4.3.3; Rosenbaum 1987,
Biometrika 74:13-26). With the pairs' treated-minus-control differences d, zero differences
dropped, average ranks q of |d| and T the sum of the ranks of the positive differences, the
large-sample bounds use p+ = Gamma / (1 + Gamma) and p- = 1 / (1 + Gamma):

    E+(T) = p+ * sum(q),   E-(T) = p- * sum(q),   V(T) = p+ (1 - p+) * sum(q^2),

and the upper (lower) bound of the p-value for a positive effect is 1 - Phi((T - E+) / sqrt(V))
(1 - Phi((T - E-) / sqrt(V))). This is the normal approximation of ``rbounds::psens`` and of
``DOS2::senWilcox`` without continuity correction; at Gamma = 1 both bounds equal the p-value
of ``wilcox.test(d, alternative = "greater", exact = FALSE, correct = FALSE)``.

For an intervention meant to *reduce* an outcome (fewer admissions), pass
``alternative="less"``: the test is then of the control-minus-treated differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from impacteval.checks.registry import register_check
from impacteval.exceptions import ConfigError, DesignError

__all__ = ["RosenbaumBounds", "critical_gamma", "matched_pair_outcomes", "rosenbaum_wilcoxon"]

_WHERE = "checks.rosenbaum_wilcoxon"


@dataclass(frozen=True, kw_only=True)
class RosenbaumBounds:
    """Bounds on the one-sided signed-rank p-value over a grid of Gamma.

    Attributes
    ----------
    bounds
        ``gamma, p_lower, p_upper`` (one row per Gamma, ascending).
    statistic
        Wilcoxon's T (sum of ranks of the differences in the tested direction).
    n_pairs, n_nonzero
        Pairs given, and pairs with a non-zero difference (the ones that count).
    alternative
        ``greater`` (treated higher) or ``less`` (treated lower).
    gamma_critical
        The largest Gamma at which the upper bound is still <= ``alpha`` (None if even
        Gamma = 1 does not reach it).
    alpha
        The level used for ``gamma_critical``.
    """

    bounds: pd.DataFrame
    statistic: float
    n_pairs: int
    n_nonzero: int
    alternative: str
    gamma_critical: float | None
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {"bounds": self.bounds.to_dict(orient="records"), "statistic": self.statistic,
                "n_pairs": self.n_pairs, "n_nonzero": self.n_nonzero,
                "alternative": self.alternative, "gamma_critical": self.gamma_critical,
                "alpha": self.alpha}


def _differences(treated: Any, control: Any, alternative: str) -> np.ndarray:
    t = np.asarray(treated, dtype=float)
    c = np.asarray(control, dtype=float)
    if t.ndim != 1 or t.shape != c.shape:
        raise DesignError("treated and control outcomes must be 1-D and of equal length "
                          f"(got {t.shape} and {c.shape})", where=_WHERE,
                          hint="one treated and one control outcome per matched pair, "
                               "in pair order")
    if not (np.isfinite(t).all() and np.isfinite(c).all()):
        raise DesignError("outcomes contain missing or infinite values", where=_WHERE,
                          hint="drop incomplete pairs before the sensitivity analysis")
    if alternative not in ("greater", "less"):
        raise ConfigError(f"alternative must be 'greater' or 'less', not {alternative!r}",
                          where=_WHERE, hint="'less' for an intervention meant to reduce use")
    d = t - c if alternative == "greater" else c - t
    return d[d != 0]


def _moments(d: np.ndarray) -> tuple[float, np.ndarray]:
    q = stats.rankdata(np.abs(d), method="average")
    return float(q[d > 0].sum()), q


def _bounds_at(t_stat: float, q: np.ndarray, gamma: float) -> tuple[float, float]:
    p_plus = gamma / (1.0 + gamma)
    p_minus = 1.0 / (1.0 + gamma)
    sq = float(q.sum())
    sd = float(np.sqrt((q**2).sum() * p_plus * (1.0 - p_plus)))
    upper = float(stats.norm.sf((t_stat - p_plus * sq) / sd))
    lower = float(stats.norm.sf((t_stat - p_minus * sq) / sd))
    return lower, upper


@register_check("rosenbaum_wilcoxon")
def rosenbaum_wilcoxon(
    treated: Sequence[float] | np.ndarray | pd.Series,
    control: Sequence[float] | np.ndarray | pd.Series,
    *,
    gammas: Sequence[float] = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0),
    alternative: Literal["greater", "less"] = "greater",
    alpha: float = 0.05,
) -> RosenbaumBounds:
    """Rosenbaum bounds for Wilcoxon's signed-rank test in matched pairs.

    Parameters
    ----------
    treated, control
        Outcomes of the treated and the control member of each pair, in pair order
        (continuous or counts; ties and zero differences allowed).
    gammas
        Values of Gamma >= 1 to report.
    alternative
        ``greater``: the treated have higher outcomes; ``less``: lower.
    alpha
        Level for the critical Gamma.

    Returns
    -------
    RosenbaumBounds

    Raises
    ------
    DesignError
        Unequal lengths, missing values, or fewer than two non-zero differences.
    ConfigError
        A Gamma below 1, or an unknown alternative.
    """
    d = _differences(treated, control, alternative)
    n_pairs = int(np.asarray(treated).shape[0])
    if d.size < 2:
        raise DesignError("fewer than two matched pairs have different outcomes",
                          where=_WHERE, hint="the signed-rank test needs non-zero differences")
    g = sorted(float(x) for x in gammas)
    if not g or g[0] < 1.0:
        raise ConfigError("every Gamma must be >= 1", where=_WHERE,
                          hint="Gamma = 1 is no hidden bias")
    if not 0 < alpha < 1:
        raise ConfigError("alpha must lie between 0 and 1", where=_WHERE, hint="e.g. 0.05")
    t_stat, q = _moments(d)
    rows = [(gamma, *_bounds_at(t_stat, q, gamma)) for gamma in g]
    frame = pd.DataFrame(rows, columns=["gamma", "p_lower", "p_upper"])
    return RosenbaumBounds(bounds=frame, statistic=t_stat, n_pairs=n_pairs,
                           n_nonzero=int(d.size), alternative=alternative,
                           gamma_critical=critical_gamma(t_stat, q, alpha), alpha=alpha)


def critical_gamma(t_stat: float, q: np.ndarray, alpha: float = 0.05,
                   gamma_max: float = 1000.0) -> float | None:
    """Largest Gamma at which the upper p-value bound is <= ``alpha`` (None if none is).

    The upper bound increases with Gamma, so the root of ``p_upper(Gamma) - alpha`` is found
    by Brent's method on [1, gamma_max] (``gamma_max`` is returned if the bound never reaches
    ``alpha`` there).
    """
    def f(gamma: float) -> float:
        return _bounds_at(t_stat, q, gamma)[1] - alpha

    if f(1.0) > 0:
        return None
    if f(gamma_max) <= 0:
        return gamma_max
    return float(optimize.brentq(f, 1.0, gamma_max, xtol=1e-10))


def matched_pair_outcomes(
    matched: pd.DataFrame,
    outcome: str,
    *,
    subclass: str = "subclass",
    treated: str = "treated",
    person_time: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Treated and control outcomes per matched pair, from a 1:1 matched cohort.

    Parameters
    ----------
    matched
        One row per matched person (not modified): pair id ``subclass``, 0/1 ``treated`` and
        the outcome column.
    outcome
        The outcome column (counts or continuous).
    person_time
        Optional follow-up column: the outcome is then compared as a rate per unit of
        person-time (people with different follow-up are comparable).

    Returns
    -------
    (treated, control)
        Arrays in pair order (sorted by ``subclass``).

    Raises
    ------
    SchemaError
        A column is missing.
    DesignError
        A pair does not have exactly one treated and one control member, or follow-up is not
        positive.
    """
    from impacteval.exceptions import SchemaError

    where = "checks.matched_pair_outcomes"
    cols = [subclass, treated, outcome] + ([person_time] if person_time else [])
    missing = [c for c in cols if c not in matched.columns]
    if missing:
        raise SchemaError(f"matched cohort lacks column(s) {missing}", where=where,
                          hint="pass the matched cohort with pair ids and the outcome")
    df = matched[cols]
    y = df[outcome].astype(float)
    if person_time:
        t = df[person_time].astype(float)
        if not (t > 0).all():
            raise DesignError("follow-up must be positive for every matched person",
                              where=where, hint="drop people with no time at risk")
        y = y / t
    flag = df[treated].astype(int)
    sizes = df.groupby(subclass)[treated].agg(["size", "sum"])
    if not ((sizes["size"] == 2) & (sizes["sum"] == 1)).all():
        raise DesignError("Rosenbaum bounds here need 1:1 matched pairs",
                          where=where, hint="use ratio 1 matching, or a matched-sets method")
    frame = pd.DataFrame({"s": df[subclass].to_numpy(), "t": flag.to_numpy(),
                          "y": y.to_numpy()})
    wide = frame.pivot(index="s", columns="t", values="y").sort_index()
    return wide[1].to_numpy(dtype=float), wide[0].to_numpy(dtype=float)
