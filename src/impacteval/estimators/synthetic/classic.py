"""The classic synthetic control (Abadie and Gardeazabal 2003; Abadie, Diamond and Hainmueller
2010, 2015) with in-space placebo inference.

``SyntheticControl`` is registered as ``"synthetic_control"``. One treated unit is compared
with a convex combination of donor units chosen so that the predictors (covariate means over
windows, outcome lags) match, with predictor weights V chosen to fit the pre-period outcome.
The donor weights for the Basque data agree with R Synth (Cataluna 0.8508, Madrid 0.1492) and
pysyncon; see ``tests/reference/test_synth_control_reference.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from impacteval.estimators.base import register_estimator
from impacteval.estimators.synthetic.panel import (
    Panel,
    Predictor,
    build_panel,
    predictor_matrix,
)
from impacteval.estimators.synthetic.vweights import (
    NestedFit,
    VSearch,
    nested_fit,
    scale_predictors,
)
from impacteval.exceptions import ConfigError, DesignError, ImpactEvalWarning
from impacteval.results import EffectEstimate

FloatArray = np.ndarray
WHERE = "synthetic_control"


class SyntheticControlWarning(ImpactEvalWarning):
    """Synthetic control inference or fit is weak (poor pre-period fit, too few donors...)."""


@dataclass(frozen=True)
class PlaceboResult:
    """In-space placebos: every donor in turn treated as if it were the treated unit.

    Attributes
    ----------
    gaps
        Long table ``unit, time, gap, placebo (bool; False for the treated unit)``.
    ratios
        One row per unit: ``unit, placebo, pre_rmspe, post_rmspe, ratio, included``
        (``included`` is False for placebos dropped by the pre-MSPE cutoff).
    p_value
        Share of units (treated included) whose post/pre RMSPE ratio is at least the
        treated unit's: ``(1 + #placebos with ratio >= treated) / (1 + #placebos)``.
    """

    gaps: pd.DataFrame
    ratios: pd.DataFrame
    p_value: float


@dataclass(frozen=True)
class SyntheticControlFit:
    """Everything a classic synthetic control fit produced.

    Attributes
    ----------
    treated_unit, treatment_time
        The treated unit and its first treated period.
    weights
        Donor weights (index: donor unit), summing to one.
    v
        Predictor weights (index: predictor name), summing to one.
    predictors
        Balance table ``predictor, v, treated, synthetic, donor_mean`` (unscaled values).
    path
        ``time, treated, synthetic, gap, post`` over every period.
    pre_rmspe, post_rmspe, rmspe_ratio
        Root mean squared gap before and after treatment, and their ratio.
    att
        Mean post-treatment gap (treated minus synthetic).
    loss_v
        Mean squared pre-period outcome error over the optimisation periods.
    start
        The start of the V search that gave the best fit.
    placebos
        In-space placebos (None if not run).
    n_donors_dropped
        Donors dropped for missing outcomes.
    warnings
        Messages of the warnings raised.
    """

    treated_unit: Any
    treatment_time: Any
    weights: pd.Series
    v: pd.Series
    predictors: pd.DataFrame
    path: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    att: float
    loss_v: float
    start: str
    placebos: PlaceboResult | None
    n_donors_dropped: int = 0
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Problem:
    panel: Panel
    x: FloatArray | None  # predictors (k, units) unscaled, or None for outcome-only
    names: list[str]
    pre: FloatArray  # indices of pre-treatment periods
    opt: FloatArray  # indices of optimisation periods
    post: FloatArray


def rmspe(gaps: FloatArray) -> float:
    """Root mean squared value of a gap series."""
    return float(np.sqrt(np.mean(np.square(gaps)))) if gaps.size else math.nan


@register_estimator("synthetic_control")
@dataclass(frozen=True, kw_only=True)
class SyntheticControl:
    """Classic synthetic control for one treated area.

    Parameters
    ----------
    predictors
        :class:`Predictor` specs (covariate means over windows, outcome lags). Empty (default):
        every pre-period outcome is a predictor with equal V, so W minimises the pre-period
        outcome fit directly.
    optimize_periods
        Periods whose outcome fit chooses V (default: every pre-treatment period).
    v
        Fixed predictor weights (one per predictor; e.g. from a training window, as Abadie,
        Diamond and Hainmueller 2015). Default: searched.
    v_search
        ``"synth"`` (default; R Synth's search from equal V with Nelder-Mead and BFGS) or
        ``"multistart"`` (also the regression-based and random starts, and Powell; a lower
        pre-period loss, possibly different weights from R Synth's).
    n_random_starts
        Random Dirichlet starts of the ``"multistart"`` search.
    placebos
        Run the in-space placebo for every donor and report the permutation p-value.
    placebo_mspe_cutoff
        Drop placebos whose pre-period MSPE exceeds this multiple of the treated unit's
        (Abadie et al. 2010 used 20, 5 and 2); default keeps all.
    level
        Nominal level; a warning says when the permutation p-value cannot reach
        ``1 - level`` with the donors available.
    max_pre_rmspe_sd
        Warn when the pre-period RMSPE exceeds this multiple of the standard deviation of the
        treated unit's pre-period outcome (poor fit: the synthetic control does not track it).
    seed
        Seed of the generator used for random starts.

    Notes
    -----
    ``fit`` returns an :class:`~impacteval.results.EffectEstimate` with ``estimate`` the mean
    post-treatment gap (treated minus synthetic, scale ``difference``), ``p_value`` the
    in-space placebo permutation p-value (NaN without placebos) and no standard error or
    confidence interval (NaN: the design's inference is the permutation test). ``details``:
    ``weights`` (donor -> weight), ``v`` (predictor -> weight), ``pre_rmspe, post_rmspe,
    rmspe_ratio, loss_v, treated_unit, treatment_time, n_donors, n_donors_dropped,
    n_pre_periods, n_post_periods, n_placebos, gaps`` (time -> gap), ``warnings``.
    ``fit_details`` returns the full :class:`SyntheticControlFit`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=20).cumsum()
    >>> rows = [(u, t, (1 + u / 10) * f[t] + rng.normal(0, 0.1) + (2.0 if u == 0 and t >= 15 else 0),
    ...          int(u == 0 and t >= 15)) for u in range(8) for t in range(20)]
    >>> df = pd.DataFrame(rows, columns=["area", "month", "y", "d"])
    >>> est = SyntheticControl(placebos=False).fit(df, unit="area", time="month", outcome="y",
    ...                                            treatment="d")
    >>> est.estimator
    'synthetic_control'
    """

    design: ClassVar[str] = "synthetic_control"

    predictors: tuple[Predictor, ...] = ()
    optimize_periods: tuple[Any, ...] | None = None
    v: tuple[float, ...] | None = None
    v_search: VSearch = "synth"
    n_random_starts: int = 2
    placebos: bool = True
    placebo_mspe_cutoff: float | None = None
    level: float = 0.95
    max_pre_rmspe_sd: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "predictors", tuple(self.predictors))
        for p in self.predictors:
            if not isinstance(p, Predictor):
                raise ConfigError("predictors must be Predictor(variable=..., periods=...)",
                                  where=f"{WHERE}.predictors")
        if self.optimize_periods is not None:
            object.__setattr__(self, "optimize_periods", tuple(self.optimize_periods))
            if not self.optimize_periods:
                raise ConfigError("optimize_periods is empty", where=f"{WHERE}.optimize_periods")
        if self.v is not None:
            object.__setattr__(self, "v", tuple(float(x) for x in self.v))
            if not self.predictors or len(self.v) != len(self.predictors):
                raise ConfigError("v needs one weight per predictor", where=f"{WHERE}.v")
            if any(not math.isfinite(x) or x < 0 for x in self.v) or sum(self.v) <= 0:
                raise ConfigError("v must be non-negative with a positive sum", where=f"{WHERE}.v")
        if self.v_search not in ("synth", "multistart"):
            raise ConfigError("unknown v_search; allowed: synth, multistart",
                              where=f"{WHERE}.v_search")
        if not isinstance(self.n_random_starts, int) or self.n_random_starts < 0:
            raise ConfigError("n_random_starts must be a non-negative integer",
                              where=f"{WHERE}.n_random_starts")
        if self.placebo_mspe_cutoff is not None and not self.placebo_mspe_cutoff > 0:
            raise ConfigError("placebo_mspe_cutoff must be positive",
                              where=f"{WHERE}.placebo_mspe_cutoff")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{WHERE}.level")
        if not float(self.max_pre_rmspe_sd) > 0:
            raise ConfigError("max_pre_rmspe_sd must be positive",
                              where=f"{WHERE}.max_pre_rmspe_sd")

    # ------------------------------------------------------------------ problem set-up
    def _problem(self, data: pd.DataFrame, unit: str, time: str, outcome: str,
                 treatment: str) -> tuple[_Problem, int]:
        extra = [p.variable for p in self.predictors]
        panel, dropped = build_panel(data, unit=unit, time=time, outcome=outcome,
                                     treatment=treatment, where=WHERE, extra=extra)
        if panel.n_treated != 1:
            raise DesignError(
                f"the classic synthetic control takes one treated unit; found {panel.n_treated}",
                where=f"{WHERE}.{treatment}",
                hint="fit one treated area at a time, or use synthetic_did for several")
        t0 = panel.adoption[0]
        times = np.asarray(panel.times, dtype=object)
        pre = np.arange(t0)
        post = np.arange(t0, len(times))
        if self.optimize_periods is None:
            opt = pre
        else:
            pos = {t: i for i, t in enumerate(panel.times)}
            missing = [t for t in self.optimize_periods if t not in pos]
            if missing:
                raise ConfigError(f"{len(missing)} optimize_periods are not in the panel",
                                  where=f"{WHERE}.optimize_periods")
            opt = np.array(sorted(pos[t] for t in self.optimize_periods))
            if opt.max() >= t0:
                raise ConfigError("optimize_periods must lie before treatment starts",
                                  where=f"{WHERE}.optimize_periods")
        if self.predictors:
            x, names = predictor_matrix(panel, self.predictors, list(times[pre]), where=WHERE)
        else:
            x, names = None, [f"{outcome}[{t}]" for t in times[pre]]
        return _Problem(panel=panel, x=x, names=names, pre=pre, opt=opt, post=post), dropped

    def _solve(self, prob: _Problem, treated: int, donors: FloatArray,
               rng: np.random.Generator) -> NestedFit:
        y = prob.panel.y
        z1 = y[treated, prob.opt]
        z0 = y[np.ix_(donors, prob.opt)].T
        if prob.x is None:
            x = y[:, prob.pre]
            x1, x0 = x[treated], x[donors].T
            fixed: FloatArray | None = np.full(x.shape[1], 1.0 / x.shape[1])
        else:
            xs = scale_predictors(prob.x[:, np.append(donors, treated)])
            x0, x1 = xs[:, :-1], xs[:, -1]
            fixed = None if self.v is None else np.asarray(self.v)
        return nested_fit(x0, x1, z0, z1, rng=rng, n_random_starts=self.n_random_starts,
                          fixed_v=fixed, search=self.v_search)

    # ------------------------------------------------------------------ fitting
    def fit_details(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                    treatment: str) -> SyntheticControlFit:
        """Fit and return the full :class:`SyntheticControlFit` (see ``fit`` for roles)."""
        prob, dropped = self._problem(data, unit, time, outcome, treatment)
        panel = prob.panel
        rng = np.random.default_rng(self.seed)
        n0 = panel.n_control
        treated = n0
        donors = np.arange(n0)
        nf = self._solve(prob, treated, donors, rng)
        synthetic = panel.y[donors].T @ nf.w
        gap = panel.y[treated] - synthetic
        pre_r, post_r = rmspe(gap[prob.pre]), rmspe(gap[prob.post])
        messages: list[str] = []

        sd_pre = float(np.std(panel.y[treated, prob.pre], ddof=1)) if prob.pre.size > 1 else 0.0
        if sd_pre > 0 and pre_r > self.max_pre_rmspe_sd * sd_pre:
            messages.append(
                f"poor pre-period fit: RMSPE is {pre_r / sd_pre:.2f} x the SD of the treated "
                "unit's pre-period outcome; the effect estimate is not credible")
        outside = np.mean((panel.y[treated, prob.pre] > panel.y[np.ix_(donors, prob.pre)].max(0))
                          | (panel.y[treated, prob.pre] < panel.y[np.ix_(donors, prob.pre)].min(0)))
        if outside > 0.5:
            messages.append(
                f"the treated unit lies outside the donors' range in {outside:.0%} of "
                "pre-periods: no convex combination can fit it (consider synthetic_did or "
                "an augmented/generalised method)")

        placebo = self._placebos(prob, treated, donors, gap, rng) if self.placebos else None
        if self.placebos and 1.0 / (n0 + 1) > 1.0 - self.level:
            messages.append(
                f"with {n0} donors the smallest attainable permutation p-value is "
                f"{1.0 / (n0 + 1):.3f} > {1.0 - self.level:.3f}: the test cannot reject at "
                "this level")
        for m in messages:
            warnings.warn(m, SyntheticControlWarning, stacklevel=2)

        times = list(panel.times)
        donor_units = list(panel.units[:n0])
        if prob.x is not None:
            predictors = pd.DataFrame({
                "predictor": prob.names, "v": nf.v, "treated": prob.x[:, treated],
                "synthetic": prob.x[:, donors] @ nf.w,
                "donor_mean": prob.x[:, donors].mean(axis=1)})
        else:
            xo = panel.y[:, prob.pre]
            predictors = pd.DataFrame({
                "predictor": prob.names, "v": nf.v, "treated": xo[treated],
                "synthetic": xo[donors].T @ nf.w, "donor_mean": xo[donors].mean(axis=0)})
        return SyntheticControlFit(
            treated_unit=panel.units[treated],
            treatment_time=times[panel.adoption[0]],
            weights=pd.Series(nf.w, index=pd.Index(donor_units, name="unit"), name="weight"),
            v=pd.Series(nf.v, index=pd.Index(prob.names, name="predictor"), name="v"),
            predictors=predictors,
            path=pd.DataFrame({"time": times, "treated": panel.y[treated],
                               "synthetic": synthetic, "gap": gap,
                               "post": np.arange(len(times)) >= panel.adoption[0]}),
            pre_rmspe=pre_r, post_rmspe=post_r,
            rmspe_ratio=post_r / pre_r if pre_r > 0 else math.inf,
            att=float(gap[prob.post].mean()), loss_v=nf.loss_v, start=nf.start,
            placebos=placebo, n_donors_dropped=dropped, warnings=tuple(messages))

    def _placebos(self, prob: _Problem, treated: int, donors: FloatArray, gap: FloatArray,
                  rng: np.random.Generator) -> PlaceboResult:
        panel = prob.panel
        times = list(panel.times)
        rows = [{"unit": panel.units[treated], "placebo": False, "pre_rmspe": rmspe(gap[prob.pre]),
                 "post_rmspe": rmspe(gap[prob.post])}]
        gap_frames = [pd.DataFrame({"unit": panel.units[treated], "time": times, "gap": gap,
                                    "placebo": False})]
        for j in donors:
            others = donors[donors != j]
            nf = self._solve(prob, int(j), others, rng)
            g = panel.y[j] - panel.y[others].T @ nf.w
            rows.append({"unit": panel.units[j], "placebo": True, "pre_rmspe": rmspe(g[prob.pre]),
                         "post_rmspe": rmspe(g[prob.post])})
            gap_frames.append(pd.DataFrame({"unit": panel.units[j], "time": times, "gap": g,
                                            "placebo": True}))
        ratios = pd.DataFrame(rows)
        with np.errstate(divide="ignore"):
            ratios["ratio"] = ratios["post_rmspe"] / ratios["pre_rmspe"]
        treated_pre = ratios["pre_rmspe"].iloc[0]
        if self.placebo_mspe_cutoff is None:
            ratios["included"] = True
        else:
            ratios["included"] = (ratios["pre_rmspe"] ** 2
                                  <= self.placebo_mspe_cutoff * treated_pre**2) | ~ratios["placebo"]
        p = permutation_p_value(ratios.loc[ratios["included"], "ratio"].to_numpy()[1:],
                                float(ratios["ratio"].iloc[0]))
        return PlaceboResult(gaps=pd.concat(gap_frames, ignore_index=True), ratios=ratios,
                             p_value=p)

    def fit(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
            treatment: str) -> EffectEstimate:
        """Fit the synthetic control and summarise it as an :class:`EffectEstimate`.

        Parameters
        ----------
        data
            Long table, one row per unit and period.
        unit, time, outcome
            Column names (area, period, outcome such as admissions per 10,000).
        treatment
            0/1 column: 1 for the treated unit from its first treated period on.
        """
        res = self.fit_details(data, unit=unit, time=time, outcome=outcome,
                               treatment=treatment)
        return to_estimate(res, outcome=outcome, level=self.level)


def permutation_p_value(placebo_ratios: Sequence[float] | FloatArray, treated_ratio: float) -> float:
    """``(1 + #{placebo ratio >= treated ratio}) / (1 + #placebos)`` (Abadie et al. 2010)."""
    r = np.asarray(placebo_ratios, dtype="float64")
    return float((1 + np.sum(r >= treated_ratio)) / (1 + r.size))


def to_estimate(res: SyntheticControlFit, *, outcome: str, level: float) -> EffectEstimate:
    """Summarise a :class:`SyntheticControlFit` as an :class:`EffectEstimate`."""
    post = res.path[res.path["post"]]
    pre = res.path[~res.path["post"]]
    return EffectEstimate(
        design="synthetic_control", estimator="synthetic_control", outcome=outcome,
        estimand="ATT", scale="difference", estimate=res.att, std_error=math.nan,
        ci_lower=math.nan, ci_upper=math.nan,
        p_value=res.placebos.p_value if res.placebos is not None else math.nan,
        n_treated=1, n_control=int((res.weights >= 0).sum()), ci_level=level,
        details={
            "weights": {str(k): float(v) for k, v in res.weights.items()},
            "v": {str(k): float(v) for k, v in res.v.items()},
            "pre_rmspe": res.pre_rmspe, "post_rmspe": res.post_rmspe,
            "rmspe_ratio": res.rmspe_ratio, "loss_v": res.loss_v,
            "treated_unit": str(res.treated_unit), "treatment_time": str(res.treatment_time),
            "n_donors": int(res.weights.size), "n_donors_dropped": res.n_donors_dropped,
            "n_pre_periods": len(pre), "n_post_periods": len(post),
            "n_placebos": 0 if res.placebos is None else int(res.placebos.ratios["placebo"].sum()),
            "gaps": {str(t): float(g) for t, g in zip(res.path["time"], res.path["gap"], strict=True)},
            "warnings": list(res.warnings),
        })
