"""Several treated units and staggered adoption for the single-unit synthetic control methods.

:class:`SeveralTreated` wraps a single-unit method (classic :class:`SyntheticControl`,
:class:`AugmentedSyntheticControl` or :class:`SyntheticDiD`) and

1. fits each treated unit on its own against the never-treated donors, from its own adoption
   period (staggered adoption is allowed; other treated units are never donors);
2. aggregates the unit effects (mean post-period gap, or SDID's double difference) into one
   ATT with weights proportional to each unit's number of post-treatment periods, i.e. the
   average over treated unit-periods (the weighting of R synthdid's staggered estimator);
3. draws inference from the placebo distribution of the aggregate (Cavallo, Galiani, Noy and
   Pantano 2013, *REStat* 95(5):1549-1561; Abadie 2021, *JEL* 59(2) section 7): every donor is
   fitted as if treated at each adoption period in use (against the other donors); a placebo
   aggregate re-assigns the treated units' adoption periods and weights to a random set of
   distinct donors and averages their placebo effects with the same weights. With ``k``
   treated units and ``n`` donors there are ``n! / (n - k)!`` assignments; all are used when
   they are no more than ``draws``, otherwise ``draws`` are sampled.

The p-value is ``(1 + #{|placebo aggregate| >= |ATT|}) / (1 + #placebo aggregates)``; the
interval inverts the placebo distribution (``[ATT - q(1 - a/2), ATT - q(a/2)]`` with ``q`` its
quantiles), treating the placebo aggregates as draws of the estimation error under no effect;
``std_error`` is their standard deviation. Both are honest when the treated units' errors are
exchangeable with the donors' (see ``tests/recovery/test_synth_several_recovery.py``).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from impacteval.estimators.base import register_estimator
from impacteval.estimators.synthetic.augmented import AugmentedSyntheticControl
from impacteval.estimators.synthetic.classic import SyntheticControl, SyntheticControlWarning
from impacteval.estimators.synthetic.panel import build_panel
from impacteval.estimators.synthetic.sdid import SyntheticDiD, make_opts, sdid_estimate
from impacteval.estimators.synthetic.vweights import nested_fit
from impacteval.exceptions import ConfigError, DesignError
from impacteval.results import EffectEstimate

WHERE = "synthetic_control.several"
Base = SyntheticControl | AugmentedSyntheticControl | SyntheticDiD


@dataclass(frozen=True)
class UnitFit:
    """One unit fitted against donors: effect, pre-period RMSPE and the path."""

    att: float
    pre_rmspe: float
    path: pd.DataFrame  # time, treated, synthetic, gap, post
    weights: pd.Series  # donor -> weight


@dataclass(frozen=True)
class SeveralTreatedFit:
    """Result of :class:`SeveralTreated`.

    Attributes
    ----------
    att
        Aggregated ATT: ``sum_i w_i att_i`` with ``w_i`` proportional to unit i's post periods.
    units
        One row per treated unit: ``unit, adoption_time, n_post_periods, weight, att,
        pre_rmspe, pre_sd`` (``pre_sd``: SD of the unit's pre-period outcome).
    paths
        ``unit, time, treated, synthetic, gap, post`` for each treated unit.
    weights
        ``unit (treated), donor, weight``.
    placebo_units
        ``donor, adoption_time, att, pre_rmspe``: each donor fitted as if treated.
    placebo_aggregates
        The placebo distribution of the aggregate (one value per assignment).
    p_value, std_error, ci_lower, ci_upper
        Placebo inference (see the module docstring).
    exhaustive
        True when every assignment of donors was used (no sampling).
    warnings
        Messages of the warnings raised.
    """

    att: float
    units: pd.DataFrame
    paths: pd.DataFrame
    weights: pd.DataFrame
    placebo_units: pd.DataFrame
    placebo_aggregates: np.ndarray
    p_value: float
    std_error: float
    ci_lower: float
    ci_upper: float
    exhaustive: bool
    n_donors: int
    n_donors_dropped: int
    warnings: tuple[str, ...] = field(default=())


def fit_unit(base: Base, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
             treatment: str) -> UnitFit:
    """Fit ``base`` to a panel with exactly one treated unit (no inference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        if isinstance(base, SyntheticControl):
            res = replace(base, placebos=False).fit_details(
                data, unit=unit, time=time, outcome=outcome, treatment=treatment)
            return UnitFit(att=res.att, pre_rmspe=res.pre_rmspe, path=res.path,
                           weights=res.weights)
        if isinstance(base, AugmentedSyntheticControl):
            ares = base.fit_details(data, unit=unit, time=time, outcome=outcome,
                                    treatment=treatment)
            return UnitFit(att=ares.att, pre_rmspe=ares.pre_rmspe, path=ares.path,
                           weights=ares.weights)
    sres = replace(base, se_method="none").fit_details(data, unit=unit, time=time,
                                                       outcome=outcome, treatment=treatment)
    p = sres.path
    gap = p["treated_mean"] - p["synthetic_mean"]
    post = p["time"] >= sres.cohorts["adoption_time"].iloc[0]
    path = pd.DataFrame({"time": p["time"], "treated": p["treated_mean"],
                         "synthetic": p["synthetic_mean"], "gap": gap, "post": post})
    return UnitFit(att=sres.estimate, pre_rmspe=float(np.sqrt(np.mean(gap[~post] ** 2))),
                   path=path.reset_index(drop=True),
                   weights=pd.Series(sres.unit_weights["omega"].to_numpy(),
                                     index=sres.unit_weights["unit"].to_numpy(), name="weight"))


def _matrix_unit(base: Base, y0: np.ndarray, y1: np.ndarray, t0: int,
                 rng: np.random.Generator) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    """Fast path on matrices (donors x times, treated series, first treated period) for the
    classic SC on pre-period outcomes and for SDID: ``(att, pre_rmspe, synthetic, weights)``,
    the same numbers as :func:`fit_unit`; None when the base needs the long table."""
    if isinstance(base, SyntheticControl):
        if base.predictors or base.optimize_periods is not None or base.v is not None:
            return None
        x0, x1 = y0[:, :t0].T, y1[:t0]
        nf = nested_fit(x0, x1, x0, x1, rng=rng, fixed_v=np.full(t0, 1.0 / t0))
        synthetic = y0.T @ nf.w
        gap = y1 - synthetic
        return (float(gap[t0:].mean()), float(np.sqrt(np.mean(gap[:t0] ** 2))), synthetic,
                nf.w)
    if isinstance(base, SyntheticDiD):
        y = np.vstack([y0, y1[None, :]])
        n0 = y0.shape[0]
        opts = make_opts(y, n0, t0, base.method, base.eta_omega, base.eta_lambda,
                         base.max_iter)
        tau, w = sdid_estimate(y, n0, t0, opts)
        control = w.omega @ y0
        shift = float((y1[:t0] - control[:t0]) @ w.lambda_) if base.method != "sc" else 0.0
        gap = y1 - control - shift
        return tau, float(np.sqrt(np.mean(gap[:t0] ** 2))), control + shift, w.omega
    return None


def _assignments(n_donors: int, k: int, draws: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, bool]:
    """Ordered assignments of ``k`` distinct donors: all of them if few enough, else a sample."""
    total = math.perm(n_donors, k)
    if total <= draws:
        return np.array(list(itertools.permutations(range(n_donors), k)), dtype=int), True
    return np.array([rng.choice(n_donors, size=k, replace=False) for _ in range(draws)]), False


@register_estimator("synthetic_control_several")
@dataclass(frozen=True, kw_only=True)
class SeveralTreated:
    """Several treated units (staggered adoption allowed) fitted one by one, with an aggregated
    ATT and placebo-distribution inference.

    Parameters
    ----------
    base
        The single-unit method: :class:`SyntheticControl` (default, outcome-only predictors),
        :class:`AugmentedSyntheticControl` or :class:`SyntheticDiD`. Its own inference is not
        used.
    draws
        Maximum number of placebo assignments (all are used when there are fewer).
    level
        Confidence level of the placebo interval.
    max_pre_rmspe_sd
        Warn when a treated unit's pre-period RMSPE exceeds this multiple of the SD of its
        pre-period outcome.
    min_pre_periods
        Fewer pre-treatment periods (for the earliest adopter) is a :class:`DesignError`.
    seed
        Seed of the generator that samples the placebo assignments.

    Notes
    -----
    ``fit`` returns an :class:`~impacteval.results.EffectEstimate` (scale ``difference``,
    estimand ATT) with ``details``: ``method`` (the base estimator's name), ``units`` (records of
    :attr:`SeveralTreatedFit.units`), ``aggregation`` (text), ``placebo_draws``, ``exhaustive``,
    ``weights`` (treated unit -> donor -> weight), ``pre_rmspe`` (treated unit -> RMSPE),
    ``n_donors``, ``n_donors_dropped``, ``warnings``. One treated unit is allowed (the
    placebo distribution is then every donor in turn).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> f = rng.normal(size=24).cumsum()
    >>> rows = [(u, t, (1 + u / 10) * f[t] + rng.normal(0, 0.1) + (2.0 if u < 2 and t >= 18 else 0),
    ...          int(u < 2 and t >= 18)) for u in range(12) for t in range(24)]
    >>> df = pd.DataFrame(rows, columns=["area", "month", "y", "d"])
    >>> est = SeveralTreated().fit(df, unit="area", time="month", outcome="y", treatment="d")
    >>> est.n_treated
    2
    """

    design: ClassVar[str] = "synthetic_control"

    base: Base = field(default_factory=lambda: SyntheticControl(placebos=False))
    draws: int = 500
    level: float = 0.95
    max_pre_rmspe_sd: float = 0.5
    min_pre_periods: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.base, (SyntheticControl, AugmentedSyntheticControl, SyntheticDiD)):
            raise ConfigError("base must be SyntheticControl, AugmentedSyntheticControl or "
                              "SyntheticDiD", where=f"{WHERE}.base")
        if not isinstance(self.draws, int) or self.draws < 19:
            raise ConfigError("draws must be an integer of at least 19", where=f"{WHERE}.draws")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{WHERE}.level")
        if not float(self.max_pre_rmspe_sd) > 0:
            raise ConfigError("max_pre_rmspe_sd must be positive",
                              where=f"{WHERE}.max_pre_rmspe_sd")
        if not isinstance(self.min_pre_periods, int) or self.min_pre_periods < 2:
            raise ConfigError("min_pre_periods must be an integer >= 2",
                              where=f"{WHERE}.min_pre_periods")

    def fit_details(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                    treatment: str) -> SeveralTreatedFit:
        """Fit and return the full :class:`SeveralTreatedFit` (roles as ``fit``)."""
        panel, dropped = build_panel(data, unit=unit, time=time, outcome=outcome,
                                     treatment=treatment, where=WHERE,
                                     min_pre_periods=self.min_pre_periods)
        n0, k = panel.n_control, panel.n_treated
        if n0 < k + 1:
            raise DesignError(f"{n0} donors for {k} treated units: the placebo distribution "
                              "needs more donors than treated units", where=f"{WHERE}.{unit}",
                              hint="add donor areas or fit fewer treated units")
        donors = list(panel.units[:n0])
        treated_units = list(panel.units[n0:])
        times = list(panel.times)
        cols = [unit, time, outcome, treatment]
        extra = [p.variable for p in getattr(self.base, "predictors", ())]
        cols += [c for c in extra if c not in cols]
        long = panel.long[cols]
        donor_rows = long[long[unit].isin(donors)]
        rows, paths, wrows, messages = [], [], [], []
        y0 = panel.y[:n0]
        rng = np.random.default_rng(self.seed)
        for u, a in zip(treated_units, panel.adoption, strict=True):
            fit = self._unit(long, donor_rows, y0, panel.y[panel.units.index(u)], a, u, times,
                             donors, rng, roles=(unit, time, outcome, treatment))
            y_pre = panel.y[panel.units.index(u), :a]
            sd = float(np.std(y_pre, ddof=1)) if a > 1 else 0.0
            rows.append({"unit": u, "adoption_time": times[a], "n_post_periods": len(times) - a,
                         "att": fit.att, "pre_rmspe": fit.pre_rmspe, "pre_sd": sd})
            paths.append(fit.path.assign(unit=u))
            wrows.append(pd.DataFrame({"unit": u, "donor": fit.weights.index,
                                       "weight": fit.weights.to_numpy()}))
        units = pd.DataFrame(rows)
        ratio = units["pre_rmspe"] / units["pre_sd"].where(units["pre_sd"] > 0)
        poor = int((ratio > self.max_pre_rmspe_sd).sum())
        if poor:
            messages.append(
                f"poor pre-period fit for {poor} of {k} treated unit(s) (pre-period RMSPE up to "
                f"{float(ratio.max()):.2f} x the SD of the unit's pre-period outcome; see the "
                "units table): their effect estimates are not credible")
        units.insert(3, "weight", units["n_post_periods"] / units["n_post_periods"].sum())
        att = float(units["weight"] @ units["att"])

        # placebo effects: each donor as if treated at each adoption period in use
        adoption_times = sorted(set(panel.adoption))
        prow = []
        for a in adoption_times:
            for i, j in enumerate(donors):
                others = np.delete(np.arange(n0), i)
                fast = _matrix_unit(self.base, y0[others], y0[i], a, rng)
                if fast is not None:
                    fit = UnitFit(att=fast[0], pre_rmspe=fast[1], path=pd.DataFrame(),
                                  weights=pd.Series(dtype="float64"))
                else:
                    fake = donor_rows.assign(**{treatment: ((donor_rows[unit] == j)
                                                            & (donor_rows[time] >= times[a]))
                                                .astype("int64")})
                    fit = fit_unit(self.base, fake, unit=unit, time=time, outcome=outcome,
                                   treatment=treatment)
                prow.append({"donor": j, "adoption_time": times[a], "att": fit.att,
                             "pre_rmspe": fit.pre_rmspe})
        placebo_units = pd.DataFrame(prow)
        effect = placebo_units.pivot(index="donor", columns="adoption_time", values="att")
        effect = effect.reindex(index=donors, columns=[times[a] for a in adoption_times])
        col = [adoption_times.index(a) for a in panel.adoption]
        assign, exhaustive = _assignments(n0, k, self.draws, rng)
        eff = effect.to_numpy()
        aggregates = (eff[assign, np.asarray(col)[None, :]] * units["weight"].to_numpy()).sum(1)

        p_value = float((1 + np.sum(np.abs(aggregates) >= abs(att) - 1e-12))
                        / (1 + aggregates.size))
        alpha = 1.0 - self.level
        lo_q, hi_q = np.quantile(aggregates, [alpha / 2, 1 - alpha / 2])
        if 1.0 / (1 + aggregates.size) > alpha:
            messages.append(
                f"only {aggregates.size} placebo assignments: the smallest attainable p-value "
                f"{1.0 / (1 + aggregates.size):.3f} exceeds {alpha:.3f}, so the test cannot "
                "reject at this level and the interval is wide")
        for m in messages:
            warnings.warn(m, SyntheticControlWarning, stacklevel=2)
        return SeveralTreatedFit(
            att=att, units=units, paths=pd.concat(paths, ignore_index=True),
            weights=pd.concat(wrows, ignore_index=True), placebo_units=placebo_units,
            placebo_aggregates=aggregates, p_value=p_value,
            std_error=float(np.std(aggregates, ddof=1)),
            ci_lower=float(att - hi_q), ci_upper=float(att - lo_q), exhaustive=exhaustive,
            n_donors=n0, n_donors_dropped=dropped, warnings=tuple(messages))

    def _unit(self, long: pd.DataFrame, donor_rows: pd.DataFrame, y0: np.ndarray,
              y1: np.ndarray, a: int, u: object, times: list, donors: list,
              rng: np.random.Generator, *, roles: tuple[str, str, str, str]) -> UnitFit:
        """One treated unit against the donors (matrix fast path when the base allows)."""
        fast = _matrix_unit(self.base, y0, y1, a, rng)
        if fast is None:
            unit = roles[0]
            sub = pd.concat([donor_rows, long[long[unit] == u]], ignore_index=True)
            return fit_unit(self.base, sub, unit=unit, time=roles[1], outcome=roles[2],
                            treatment=roles[3])
        att, pre_rmspe, synthetic, w = fast
        post = np.arange(len(times)) >= a
        path = pd.DataFrame({"time": times, "treated": y1, "synthetic": synthetic,
                             "gap": y1 - synthetic, "post": post})
        return UnitFit(att=att, pre_rmspe=pre_rmspe, path=path,
                       weights=pd.Series(w, index=pd.Index(donors), name="weight"))

    def fit(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
            treatment: str) -> EffectEstimate:
        """Fit every treated unit and summarise the aggregate as an :class:`EffectEstimate`.

        Parameters
        ----------
        data
            Long table, one row per unit and period.
        unit, time, outcome
            Column names.
        treatment
            0/1 column, 1 for a treated unit from its adoption period on.
        """
        res = self.fit_details(data, unit=unit, time=time, outcome=outcome, treatment=treatment)
        return self.summarise(res, outcome=outcome)

    def summarise(self, res: SeveralTreatedFit, *, outcome: str) -> EffectEstimate:
        """The :class:`EffectEstimate` of a :class:`SeveralTreatedFit` (as ``fit`` returns)."""
        base_name = {SyntheticControl: "synthetic_control",
                     AugmentedSyntheticControl: "augmented_synthetic_control",
                     SyntheticDiD: "synthetic_did"}[type(self.base)]
        return EffectEstimate(
            design="synthetic_control", estimator=f"synthetic_control_several:{base_name}",
            outcome=outcome, estimand="ATT", scale="difference", estimate=res.att,
            std_error=res.std_error, ci_lower=res.ci_lower, ci_upper=res.ci_upper,
            p_value=res.p_value, n_treated=len(res.units), n_control=res.n_donors,
            ci_level=self.level,
            details={
                "method": base_name, "units": res.units,
                "aggregation": "mean of the unit effects weighted by post-treatment periods",
                "placebo_draws": int(res.placebo_aggregates.size),
                "exhaustive": res.exhaustive,
                "weights": {str(u): {str(d): float(w) for d, w in zip(g["donor"], g["weight"],
                                                                       strict=True)}
                            for u, g in res.weights.groupby("unit", sort=False)},
                "pre_rmspe": {str(u): float(r) for u, r in zip(res.units["unit"],
                                                               res.units["pre_rmspe"],
                                                               strict=True)},
                "n_donors": res.n_donors, "n_donors_dropped": res.n_donors_dropped,
                "warnings": list(res.warnings),
            })

