"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens and Wager 2021,
*AER* 111(12):4088-4118).

``SyntheticDiD`` is registered as ``"synthetic_did"``. Unit weights (ridge-regularised, with an
intercept) make the weighted controls parallel to the treated units before treatment; time
weights make the weighted pre-periods predictive of the post-periods; the effect is the
weighted double difference. ``method="sc"`` and ``method="did"`` give the synthetic control and
difference-in-differences estimators of the same framework (as R synthdid's ``sc_estimate`` and
``did_estimate``). Weights, estimates and the jackknife SE agree with R synthdid on the
California Proposition 99 data; see ``tests/reference/test_synth_control_sdid.py``.

Standard errors: ``"placebo"`` (Algorithm 4: controls reassigned as pseudo-treated, weights
re-estimated), ``"jackknife"`` (Algorithm 3: leave one unit out, weights fixed), ``"bootstrap"``
(Algorithm 2: units resampled, weights re-estimated). With staggered adoption the estimator is
fitted per adoption cohort (never-treated controls) and the cohort effects are averaged with
weights equal to their numbers of treated unit-periods; only the bootstrap SE is offered there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.synthetic.panel import Panel, build_panel
from impacteval.estimators.synthetic.simplex import frank_wolfe_simplex, sparsify
from impacteval.exceptions import ConfigError, DesignError
from impacteval.results import EffectEstimate

FloatArray = np.ndarray
Method = Literal["sdid", "sc", "did"]
SeMethod = Literal["placebo", "jackknife", "bootstrap", "none"]
WHERE = "synthetic_did"


@dataclass(frozen=True)
class _Opts:
    method: Method
    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    max_iter: int
    max_iter_pre_sparsify: int = 100


@dataclass(frozen=True)
class SDIDWeights:
    """Unit weights ``omega`` (controls) and time weights ``lambda_`` (pre-periods)."""

    omega: FloatArray
    lambda_: FloatArray


def _collapsed(y: FloatArray, n0: int, t0: int) -> FloatArray:
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def _solve(y: FloatArray, zeta: float, intercept: bool, start: FloatArray | None,
           opts: _Opts) -> FloatArray:
    w = frank_wolfe_simplex(y, zeta, intercept=intercept, start=start,
                            min_decrease=opts.min_decrease, max_iter=opts.max_iter_pre_sparsify)
    return frank_wolfe_simplex(y, zeta, intercept=intercept, start=sparsify(w),
                               min_decrease=opts.min_decrease, max_iter=opts.max_iter)


def sdid_estimate(y: FloatArray, n0: int, t0: int, opts: _Opts, *,
                  start: SDIDWeights | None = None, update: bool = True
                  ) -> tuple[float, SDIDWeights]:
    """Estimate for a block design: rows ``:n0`` controls, columns ``:t0`` pre-periods."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    if opts.method == "did":
        w = SDIDWeights(np.full(n0, 1.0 / n0), np.full(t0, 1.0 / t0))
    elif not update:
        assert start is not None
        w = start
    else:
        yc = _collapsed(y, n0, t0)
        if opts.method == "sdid":
            lam = _solve(yc[:n0, :], opts.zeta_lambda, True,
                         None if start is None else start.lambda_, opts)
        else:
            lam = np.zeros(t0)
        omega = _solve(yc[:, :t0].T, opts.zeta_omega, opts.method == "sdid",
                       None if start is None else start.omega, opts)
        w = SDIDWeights(omega, lam)
    unit_w = np.concatenate([-w.omega, np.full(n1, 1.0 / n1)])
    time_w = np.concatenate([-w.lambda_, np.full(t1, 1.0 / t1)])
    return float(unit_w @ y @ time_w), w


def _normalise(x: FloatArray) -> FloatArray:
    s = x.sum()
    return x / s if s != 0 else np.full(x.size, 1.0 / x.size)


def make_opts(y: FloatArray, n0: int, t0: int, method: Method, eta_omega: float | None,
              eta_lambda: float, max_iter: int) -> _Opts:
    """Regularisation as R synthdid: noise level = SD of the controls' pre-period first
    differences, ``zeta_omega = (N1 T1)^(1/4) * noise`` (``1e-6 * noise`` for ``sc``)."""
    noise = float(np.diff(y[:n0, :t0], axis=1).std(ddof=1)) if t0 > 1 else 0.0
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    if eta_omega is None:
        eta_omega = 1e-6 if method == "sc" else (n1 * t1) ** 0.25
    return _Opts(method=method, zeta_omega=eta_omega * noise, zeta_lambda=eta_lambda * noise,
                 min_decrease=1e-5 * noise, max_iter=max_iter)


def placebo_se(y: FloatArray, n0: int, t0: int, opts: _Opts, w: SDIDWeights, reps: int,
               rng: np.random.Generator) -> float:
    """Algorithm 4: controls permuted, the last N1 of them pseudo-treated, weights re-fitted."""
    n1 = y.shape[0] - n0
    if n0 <= n1:
        raise DesignError("the placebo SE needs more controls than treated units",
                          where=f"{WHERE}.se_method", hint="use se_method='bootstrap' or 'jackknife'")
    est = np.array([placebo_estimate(y, n0, t0, opts, w, rng.permutation(n0))
                    for _ in range(reps)])
    return float(math.sqrt((reps - 1) / reps) * est.std(ddof=1))


def placebo_estimate(y: FloatArray, n0: int, t0: int, opts: _Opts, w: SDIDWeights,
                     order: FloatArray) -> float:
    """One placebo draw: controls in ``order``, the last N1 of them pseudo-treated, weights
    re-fitted from the fitted ones (R synthdid's ``placebo_se`` step)."""
    m0 = n0 - (y.shape[0] - n0)
    start = SDIDWeights(_normalise(w.omega[order[:m0]]), w.lambda_)
    return sdid_estimate(y[order], m0, t0, opts, start=start)[0]


def jackknife_se(y: FloatArray, n0: int, t0: int, opts: _Opts, w: SDIDWeights) -> float:
    """Algorithm 3: leave one unit out with the weights fixed (renormalised)."""
    n = y.shape[0]
    if n - n0 < 2 or (opts.method != "did" and np.count_nonzero(w.omega) < 2):
        raise DesignError("the jackknife SE needs at least 2 treated units and 2 weighted "
                          "controls", where=f"{WHERE}.se_method",
                          hint="use se_method='placebo' with one treated unit")
    u = np.empty(n)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        m0 = n0 - (i < n0)
        start = SDIDWeights(_normalise(w.omega[keep[keep < n0]]), w.lambda_)
        u[i] = sdid_estimate(y[keep], m0, t0, opts, start=start, update=False)[0]
    return float(math.sqrt(((n - 1) / n) * (n - 1) * u.var(ddof=1)))


def bootstrap_se(estimator: Any, reps: int, n_units: int, is_control: FloatArray,
                 rng: np.random.Generator) -> float:
    """Algorithm 2: units resampled with replacement; draws without both groups are redrawn."""
    est = np.empty(reps)
    r = 0
    tries = 0
    while r < reps:
        tries += 1
        if tries > 20 * reps:
            raise DesignError("bootstrap draws rarely contain both treated and control units",
                              where=f"{WHERE}.se_method", hint="use se_method='placebo'")
        ind = np.sort(rng.integers(0, n_units, n_units))
        if is_control[ind].all() or not is_control[ind].any():
            continue
        est[r] = estimator(ind)
        r += 1
    return float(math.sqrt((reps - 1) / reps) * est.std(ddof=1))


@dataclass(frozen=True)
class SyntheticDiDFit:
    """A synthetic DiD fit.

    Attributes
    ----------
    estimate, std_error
        ATT and its standard error (``se_method``).
    cohorts
        One row per adoption cohort: ``adoption_time, n_treated, n_post_periods, estimate``.
    unit_weights
        ``cohort (adoption time), unit, omega`` for the controls.
    time_weights
        ``cohort, time, lambda`` for the pre-periods.
    path
        ``cohort, time, treated_mean, synthetic_mean`` where the synthetic mean is the
        omega-weighted control mean shifted by the weighted pre-period difference.
    """

    estimate: float
    std_error: float
    se_method: str
    cohorts: pd.DataFrame
    unit_weights: pd.DataFrame
    time_weights: pd.DataFrame
    path: pd.DataFrame
    n_treated: int
    n_control: int
    n_donors_dropped: int


@register_estimator("synthetic_did")
@dataclass(frozen=True, kw_only=True)
class SyntheticDiD:
    """Synthetic difference-in-differences (and its SC and DiD special cases).

    Parameters
    ----------
    method
        ``"sdid"`` (default), ``"sc"`` (synthetic control weights, no time weights, no
        intercept) or ``"did"`` (uniform weights).
    se_method
        ``"placebo"`` (default; needs more controls than treated units), ``"jackknife"``
        (needs 2+ treated units), ``"bootstrap"`` (needs 2+ treated units) or ``"none"``.
    replications
        Placebo or bootstrap replications.
    level
        Confidence level of the normal interval.
    eta_omega, eta_lambda
        Regularisation multipliers of the noise level (defaults as the paper).
    max_iter
        Frank-Wolfe iterations.
    seed
        Seed of the generator used by the placebo and bootstrap SEs.

    Notes
    -----
    ``details``: ``method, se_method, replications, cohorts`` (records), ``unit_weights``
    (unit -> omega, simultaneous adoption), ``time_weights`` (time -> lambda),
    ``n_donors_dropped``, ``staggered``.
    """

    design: ClassVar[str] = "synthetic_did"

    method: Method = "sdid"
    se_method: SeMethod = "placebo"
    replications: int = 200
    level: float = 0.95
    eta_omega: float | None = None
    eta_lambda: float = 1e-6
    max_iter: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("sdid", "sc", "did"):
            raise ConfigError("unknown method; allowed: sdid, sc, did", where=f"{WHERE}.method")
        if self.se_method not in ("placebo", "jackknife", "bootstrap", "none"):
            raise ConfigError("unknown se_method; allowed: placebo, jackknife, bootstrap, none",
                              where=f"{WHERE}.se_method")
        if not isinstance(self.replications, int) or self.replications < 2:
            raise ConfigError("replications must be an integer >= 2",
                              where=f"{WHERE}.replications")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{WHERE}.level")
        if self.eta_omega is not None and not (math.isfinite(self.eta_omega)
                                               and self.eta_omega >= 0):
            raise ConfigError("eta_omega must be a non-negative number",
                              where=f"{WHERE}.eta_omega")
        if not (math.isfinite(self.eta_lambda) and self.eta_lambda >= 0):
            raise ConfigError("eta_lambda must be a non-negative number",
                              where=f"{WHERE}.eta_lambda")
        if not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ConfigError("max_iter must be a positive integer", where=f"{WHERE}.max_iter")

    def _cohort_fits(self, panel: Panel, rows: FloatArray | None = None
                     ) -> list[tuple[int, FloatArray, float, SDIDWeights, _Opts, int]]:
        """Per adoption cohort: (adoption, rows used, estimate, weights, opts, n_treated)."""
        idx = np.arange(len(panel.units)) if rows is None else rows
        n_all_control = panel.n_control
        adoption = np.full(len(panel.units), -1)
        adoption[n_all_control:] = panel.adoption
        out = []
        for a in sorted(set(adoption[idx][adoption[idx] >= 0])):
            ctrl = idx[adoption[idx] < 0]
            trt = idx[adoption[idx] == a]
            y = panel.y[np.concatenate([ctrl, trt])]
            opts = make_opts(y, ctrl.size, int(a), self.method, self.eta_omega, self.eta_lambda,
                             self.max_iter)
            tau, w = sdid_estimate(y, ctrl.size, int(a), opts)
            out.append((int(a), np.concatenate([ctrl, trt]), tau, w, opts, trt.size))
        return out

    def fit_details(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                    treatment: str) -> SyntheticDiDFit:
        """Fit and return the full :class:`SyntheticDiDFit` (roles as ``fit``)."""
        panel, dropped = build_panel(data, unit=unit, time=time, outcome=outcome,
                                     treatment=treatment, where=WHERE)
        rng = np.random.default_rng(self.seed)
        fits = self._cohort_fits(panel)
        n_times = len(panel.times)
        cell = np.array([n1 * (n_times - a) for a, _, _, _, _, n1 in fits], dtype="float64")
        taus = np.array([f[2] for f in fits])
        att = float(cell @ taus / cell.sum())
        staggered = len(fits) > 1
        n0 = panel.n_control
        se = math.nan
        if self.se_method != "none":
            if staggered and self.se_method != "bootstrap":
                raise DesignError("with staggered adoption only the bootstrap SE is available",
                                  where=f"{WHERE}.se_method", hint="set se_method='bootstrap'")
            a, _, _, w, opts, _ = fits[0]
            if self.se_method == "placebo":
                se = placebo_se(panel.y, n0, a, opts, w, self.replications, rng)
            elif self.se_method == "jackknife":
                se = jackknife_se(panel.y, n0, a, opts, w)
            else:
                if panel.n_treated < 2:
                    raise DesignError("the bootstrap SE needs at least 2 treated units",
                                      where=f"{WHERE}.se_method",
                                      hint="use se_method='placebo' with one treated unit")
                se = self._bootstrap(panel, fits, rng)
        times = list(panel.times)
        cohorts, uw, tw, paths = [], [], [], []
        for a, rows_used, tau, w, _, n1 in fits:
            cohorts.append({"adoption_time": times[a], "n_treated": n1,
                            "n_post_periods": n_times - a, "estimate": tau})
            ctrl_rows = rows_used[: rows_used.size - n1]
            uw.append(pd.DataFrame({"cohort": times[a],
                                    "unit": [panel.units[i] for i in ctrl_rows],
                                    "omega": w.omega}))
            tw.append(pd.DataFrame({"cohort": times[a], "time": times[:a], "lambda": w.lambda_}))
            treated_mean = panel.y[rows_used[-n1:]].mean(axis=0)
            control_w = w.omega @ panel.y[ctrl_rows]
            shift = float((treated_mean[:a] - control_w[:a]) @ w.lambda_) \
                if self.method != "sc" else 0.0
            paths.append(pd.DataFrame({"cohort": times[a], "time": times,
                                       "treated_mean": treated_mean,
                                       "synthetic_mean": control_w + shift}))
        return SyntheticDiDFit(
            estimate=att, std_error=se, se_method=self.se_method,
            cohorts=pd.DataFrame(cohorts), unit_weights=pd.concat(uw, ignore_index=True),
            time_weights=pd.concat(tw, ignore_index=True),
            path=pd.concat(paths, ignore_index=True), n_treated=panel.n_treated,
            n_control=n0, n_donors_dropped=dropped)

    def _bootstrap(self, panel: Panel, fits: list[Any], rng: np.random.Generator) -> float:
        is_control = np.arange(len(panel.units)) < panel.n_control
        n_times = len(panel.times)
        if len(fits) == 1:
            a, _, _, w, opts, _ = fits[0]

            def one(ind: FloatArray) -> float:
                ctrl = ind[ind < panel.n_control]
                start = SDIDWeights(_normalise(w.omega[ctrl]), w.lambda_)
                return sdid_estimate(panel.y[ind], ctrl.size, a, opts, start=start)[0]
        else:
            def one(ind: FloatArray) -> float:
                sub = self._cohort_fits(panel, ind)
                cell = np.array([n1 * (n_times - a) for a, _, _, _, _, n1 in sub], dtype=float)
                return float(cell @ np.array([f[2] for f in sub]) / cell.sum())
        return bootstrap_se(one, self.replications, len(panel.units), is_control, rng)

    def fit(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
            treatment: str) -> EffectEstimate:
        """Fit and summarise as an :class:`EffectEstimate` (scale ``difference``, ATT).

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
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        se = res.std_error
        ok = math.isfinite(se) and se > 0
        details: dict[str, Any] = {
            "method": self.method, "se_method": self.se_method,
            "replications": self.replications, "cohorts": res.cohorts,
            "staggered": len(res.cohorts) > 1, "n_donors_dropped": res.n_donors_dropped,
        }
        if len(res.cohorts) == 1:
            details["unit_weights"] = {str(u): float(o) for u, o in
                                       zip(res.unit_weights["unit"], res.unit_weights["omega"], strict=True)}
            details["time_weights"] = {str(t): float(v) for t, v in
                                       zip(res.time_weights["time"], res.time_weights["lambda"], strict=True)}
        return EffectEstimate(
            design="synthetic_did", estimator=f"synthetic_did:{self.method}", outcome=outcome,
            estimand="ATT", scale="difference", estimate=res.estimate, std_error=se,
            ci_lower=res.estimate - z * se if ok else math.nan,
            ci_upper=res.estimate + z * se if ok else math.nan,
            p_value=float(2 * stats.norm.sf(abs(res.estimate) / se)) if ok else math.nan,
            n_treated=res.n_treated, n_control=res.n_control, ci_level=self.level,
            details=details)
