"""Interrupted time series by segmented regression.

Model (one series, interruptions ``k = 1..K``; see :mod:`.design` for the columns)::

    g(E[y_t]) = log(pop_t) [log link only] + b0 + b1 t + sum_k (c_k level_k(t) + d_k slope_k(t))
                + seasonal terms + covariates

Families
    ``"gaussian"`` (OLS; identity link; effects are differences), ``"poisson"``,
    ``"quasipoisson"`` (Poisson with the Pearson dispersion ``X2 / (n - p)``, as R's
    ``glm(family = quasipoisson)``) and ``"negative_binomial"`` (NB2: the dispersion
    ``alpha`` is estimated by maximum likelihood, then the coefficients' covariance is that of
    the GLM with ``alpha`` fixed, as R's ``MASS::glm.nb``). The log-link families take an
    optional population column as the offset ``log(population)``; effects are rate ratios.

Errors / standard errors (``errors``)
    ``"iid"``: model-based; ``"hac"``: Newey-West heteroskedasticity- and
    autocorrelation-consistent covariance (Bartlett kernel, ``hac_maxlags`` lags, default
    ``floor(4 (n/100)^(2/9))``, small-sample factor ``n / (n - p)``), as R
    ``sandwich::NeweyWest(fit, lag = L, prewhite = FALSE, adjust = TRUE)``; with a comparison
    series, Driscoll-Kraay (Newey-West on the scores summed over the series at each time; lag
    default from the length of one series), as ``sandwich::vcovPL(fit, cluster = ~group,
    order.by = ~time, lag = L, adjust = TRUE)``; ``"arima"``
    (gaussian only): regression with ARMA(p, q) errors by exact Gaussian maximum likelihood
    (statsmodels ``SARIMAX`` with the design as exogenous regressors and no trend), as R
    ``arima(y, order = c(p, 0, q), xreg = X, include.mean = FALSE, method = "ML")``; with
    ``seasonal_order = (P, 0, Q, s)`` the errors are the multiplicative seasonal ARMA
    ``(p, 0, q) x (P, 0, Q)_s`` (``SARIMAX(..., seasonal_order=...)``, as R ``arima(...,
    seasonal = list(order = c(P, 0, Q), period = s))``), for autocorrelation that remains at
    the seasonal lag (e.g. 12 months) after any seasonal terms of the mean.

Excluded phase-in periods are dropped from the OLS/GLM fits (the Newey-West weights then
treat the rows either side of the gap as adjacent) and are missing values in the ARIMA
likelihood (which keeps the time spacing).

Intervals
    Wald intervals; Student t with the residual degrees of freedom for gaussian ``"iid"``
    (as ``confint.lm``), normal otherwise (as ``Epi::ci.lin`` in Lopez Bernal et al. 2017).

Effects reported (for the intervention series)
    * ``level`` and ``slope`` change at each interruption: the coefficients ``c_k`` and
      ``d_k`` (differences), or ``exp(c_k)``, ``exp(d_k)`` (rate ratios);
    * ``cumulative``: the sum over every period at or after the first interruption of the
      fitted value minus the counterfactual (fitted with every interruption term set to 0;
      in outcome units, e.g. events), and ``average`` = cumulative / number of those periods.
      Both by the delta method on the linear predictor. The fitted value and counterfactual
      of the ARIMA model are its regression part (the mean), not one-step forecasts.

Controlled ITS: with ``group`` (1 = intervention series, 0 = comparison series) the effects are
the ``group:`` interaction terms, i.e. the changes in the intervention series over and above
the changes in the comparison series at the same times; the counterfactual of the
intervention series keeps the comparison series' changes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from impacteval.estimators.base import register_estimator
from impacteval.estimators.its.design import (
    PhaseIn,
    Seasonality,
    check_full_rank,
    interruption_times,
    seasonal_columns,
    segment_columns,
    time_axis,
)
from impacteval.estimators.its.diagnostics import (
    AutocorrelationDiagnostics,
    autocorrelation_diagnostics,
)
from impacteval.exceptions import ConfigError, DesignError, EstimationError, SchemaError
from impacteval.results import EffectEstimate

Family = Literal["gaussian", "poisson", "quasipoisson", "negative_binomial"]
Errors = Literal["iid", "hac", "arima", "auto"]
Headline = Literal["level", "slope", "cumulative", "average"]

_WHERE = "analysis.its"
_MIN_PRE = 3


@dataclass(frozen=True)
class ITSResult:
    """Everything an interrupted time series fit produced.

    Attributes
    ----------
    estimate
        The headline :class:`EffectEstimate` (``InterruptedTimeSeries.effect``).
    effects
        One row per effect: ``effect (level|slope|cumulative|average), interruption (1..K,
        or 0 for cumulative/average), scale, estimate, std_error, ci_lower, ci_upper,
        p_value``. ``std_error`` is on the model scale (log for rate ratios).
    coefficients
        ``term, estimate, std_error, ci_lower, ci_upper, p_value`` on the model scale.
    series
        One row per observation (intervention series first, each in time order): ``time``
        (as given), ``t``
        (numeric), ``group`` (1 intervention, 0 comparison), ``observed``, ``population``
        (or NaN), ``fitted``, ``counterfactual``, ``counterfactual_lower``,
        ``counterfactual_upper`` (pointwise band of the counterfactual mean), ``post`` (at or
        after the first interruption), ``in_phase_in``, ``used`` (in the fit).
        Counterfactual columns are NaN for the comparison series and before the first
        interruption they equal the fit.
    diagnostics
        Autocorrelation diagnostics of the residuals (deviance residuals for the log-link
        families, response residuals for OLS, the innovations for the ARIMA model) of the
        intervention series.
    details
        Model facts: ``family, errors, hac_maxlags, dispersion, alpha, arima_order,
        arma_params`` (AR, MA, seasonal AR, seasonal MA coefficients, then the innovation
        variance), ``seasonal_order``, ``loglik``
        (ARIMA only), ``errors_used`` (the model ``"auto"`` chose),
        ``autocorrelation_remaining`` (Ljung-Box p < ``autocorrelation_alpha``), ``aic, n_obs, n_params, time_unit, interruptions`` (numeric times).
    """

    estimate: EffectEstimate
    effects: pd.DataFrame
    coefficients: pd.DataFrame
    series: pd.DataFrame
    diagnostics: AutocorrelationDiagnostics
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fitted:
    params: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    df_resid: float
    use_t: bool
    dispersion: float | None
    alpha: float | None
    aic: float
    arma: tuple[float, ...] = ()
    loglik: float = float("nan")


@register_estimator("interrupted_time_series")
@dataclass(frozen=True, kw_only=True)
class InterruptedTimeSeries:
    """Segmented regression for an interrupted time series (optionally controlled).

    Parameters
    ----------
    family
        ``"gaussian"``, ``"poisson"``, ``"quasipoisson"`` or ``"negative_binomial"``.
    errors
        ``"iid"``, ``"hac"`` (Newey-West), ``"arima"`` (gaussian only) or ``"auto"``
        (gaussian only: OLS, refitted with ARIMA errors of ``arima_order`` when the
        Ljung-Box test of the OLS residuals has p < ``autocorrelation_alpha``; the model
        used is ``details["errors_used"]``).
    autocorrelation_alpha
        Significance level of the Ljung-Box test that switches ``"auto"`` to ARIMA errors.
    hac_maxlags
        Newey-West lags; ``None`` for ``floor(4 (n/100)^(2/9))``.
    arima_order
        ``(p, 0, q)`` order of the error process when ``errors="arima"``.
    seasonal_order
        ``(P, 0, Q, s)`` seasonal order of the error process (``None``: not seasonal), e.g.
        ``(1, 0, 0, 12)`` for monthly data whose residuals correlate at lag 12.
    slope_change
        Include a slope change at each interruption.
    phase_in
        Number of periods after each interruption during which the intervention is being
        implemented.
    phase_in_mode
        ``"exclude"`` (drop them from the fit) or ``"ramp"`` (linear phase-in of the level).
    seasonality
        ``"none"``, ``"fourier"`` or ``"month"``.
    fourier_pairs
        Number of sine/cosine pairs.
    period
        Season length in time units; ``None``: 12 for monthly dates, 365.25/7 for weekly
        dates, required otherwise with Fourier terms.
    effect
        Headline effect returned by :meth:`fit`: ``"level"`` (at the first interruption),
        ``"slope"``, ``"cumulative"`` or ``"average"``.
    ci_level
        Confidence level.
    design
        Design name recorded in the estimate.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24)
    >>> df = pd.DataFrame({"t": t, "y": 10 + 0.5 * t + 3.0 * (t >= 12) + 0.1 * np.sin(t)})
    >>> est = InterruptedTimeSeries(errors="iid", slope_change=False).fit(
    ...     df, outcome="y", time="t", interruptions=[12])
    >>> round(est.estimate, 1)
    3.0
    """

    family: Family = "gaussian"
    errors: Errors = "hac"
    hac_maxlags: int | None = None
    arima_order: tuple[int, int, int] = (1, 0, 0)
    seasonal_order: tuple[int, int, int, int] | None = None
    autocorrelation_alpha: float = 0.05
    slope_change: bool = True
    phase_in: int = 0
    phase_in_mode: PhaseIn = "exclude"
    seasonality: Seasonality = "none"
    fourier_pairs: int = 2
    period: float | None = None
    effect: Headline = "level"
    ci_level: float = 0.95
    design: str = "interrupted_time_series"

    def __post_init__(self) -> None:
        choices: dict[str, tuple[object, ...]] = {
            "family": ("gaussian", "poisson", "quasipoisson", "negative_binomial"),
            "errors": ("iid", "hac", "arima", "auto"),
            "phase_in_mode": ("exclude", "ramp"),
            "seasonality": ("none", "fourier", "month"),
            "effect": ("level", "slope", "cumulative", "average"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(map(str, allowed))}",
                    where=f"{_WHERE}.{name}",
                )
        if self.errors in ("arima", "auto") and self.family != "gaussian":
            raise ConfigError(
                "ARIMA errors are available for the gaussian family only",
                where=f"{_WHERE}.errors",
                hint="model a rate or log count with family gaussian, or use errors: hac",
            )
        p, d, q = self.arima_order
        if d != 0 or p < 0 or q < 0 or p + q == 0:
            raise ConfigError(
                "arima_order must be (p, 0, q) with p + q >= 1 (difference the outcome yourself "
                "if the series is not stationary around the segmented trend)",
                where=f"{_WHERE}.arima_order",
            )
        if self.seasonal_order is not None:
            sp, sd, sq, s = self.seasonal_order
            if sd != 0 or sp < 0 or sq < 0 or sp + sq == 0 or s < 2:
                raise ConfigError(
                    "seasonal_order must be (P, 0, Q, s) with P + Q >= 1 and s >= 2",
                    where=f"{_WHERE}.seasonal_order",
                )
            if self.errors not in ("arima", "auto"):
                raise ConfigError(
                    "seasonal_order needs errors: arima or auto", where=f"{_WHERE}.seasonal_order"
                )
        if not 0 < self.autocorrelation_alpha < 1:
            raise ConfigError(
                "autocorrelation_alpha must be between 0 and 1",
                where=f"{_WHERE}.autocorrelation_alpha",
            )
        if self.hac_maxlags is not None and self.hac_maxlags < 0:
            raise ConfigError("hac_maxlags must be >= 0", where=f"{_WHERE}.hac_maxlags")
        if self.phase_in < 0:
            raise ConfigError("phase_in must be >= 0", where=f"{_WHERE}.phase_in")
        if self.effect == "slope" and not self.slope_change:
            raise ConfigError(
                "effect 'slope' needs slope_change", where=f"{_WHERE}.effect"
            )
        if not 0.5 < self.ci_level < 1:
            raise ConfigError("ci_level must be between 0.5 and 1", where=f"{_WHERE}.ci_level")

    # -- public API ----------------------------------------------------------------------

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        time: str,
        interruptions: Sequence[object],
        population: str | None = None,
        group: str | None = None,
        month: str | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Fit the model and return the headline effect (see :meth:`fit_series`)."""
        return self.fit_series(
            data,
            outcome=outcome,
            time=time,
            interruptions=interruptions,
            population=population,
            group=group,
            month=month,
            covariates=covariates,
        ).estimate

    def fit_series(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        time: str,
        interruptions: Sequence[object],
        population: str | None = None,
        group: str | None = None,
        month: str | None = None,
        covariates: Sequence[str] = (),
    ) -> ITSResult:
        """Fit the segmented regression and return effects, counterfactual and diagnostics.

        Parameters
        ----------
        data
            One row per period (per series when ``group`` is given). Not modified.
        outcome
            Outcome column (counts for the log-link families).
        time
            Period column: numbers, or dates (month starts for monthly data).
        interruptions
            First post-intervention period of each interruption, in the time column's type.
        population
            Population (denominator) column for the log-population offset.
        group
            0/1 column marking the intervention series (1) and the comparison series (0).
        month
            Calendar-month column (1-12) for month indicators when ``time`` is not a date.
        covariates
            Numeric time-varying covariates.

        Raises
        ------
        ConfigError, SchemaError, DesignError, EstimationError
        """
        if self.errors == "auto":
            if group:
                raise ConfigError(
                    "errors: auto is not available for a controlled ITS (stacked series)",
                    where=f"{_WHERE}.errors",
                    hint="use errors: hac (Driscoll-Kraay over the series)",
                )
            roles: dict[str, Any] = dict(
                outcome=outcome, time=time, interruptions=interruptions,
                population=population, group=group, month=month, covariates=covariates,
            )
            first = replace(self, errors="iid", seasonal_order=None).fit_series(data, **roles)
            chosen = first
            if first.diagnostics.ljung_box_p < self.autocorrelation_alpha:
                chosen = replace(self, errors="arima").fit_series(data, **roles)
            details = {**chosen.details, "errors": "auto",
                       "errors_used": chosen.details["errors"]}
            est_details = {**dict(chosen.estimate.details), "errors": "auto",
                           "errors_used": chosen.details["errors"]}
            return ITSResult(
                estimate=replace(chosen.estimate, details=est_details),
                effects=chosen.effects, coefficients=chosen.coefficients,
                series=chosen.series, diagnostics=chosen.diagnostics, details=details,
            )
        where = f"{_WHERE}.{outcome}"
        covariates = list(covariates)
        frame = self._validate(data, outcome, time, population, group, month, covariates, where)
        axis = time_axis(frame[time], f"{where}.time")
        starts = interruption_times(list(interruptions), axis, f"{_WHERE}.interruptions")
        if not starts:
            raise ConfigError("give at least one interruption", where=f"{_WHERE}.interruptions")
        t = axis.t
        g = frame[group].to_numpy(dtype=float) if group else np.ones(len(frame))
        order = np.lexsort((t, -g))
        frame = frame.iloc[order].reset_index(drop=True)
        t, g = t[order], g[order]
        cal_month = frame[month].to_numpy(dtype=float) if month else (
            axis.month[order] if axis.month is not None else None
        )
        if group and not np.any(g == 0):
            raise DesignError(
                f"the group column {group!r} marks no comparison series (no rows with 0)",
                where=where,
                hint="give the comparison series' rows with group 0, or drop group",
            )
        self._check_series(t, g, starts, where)

        period = self.period
        if period is None and self.seasonality == "fourier":
            period = {"month": 12.0, "week": 365.25 / 7}.get(axis.unit)
        seg, seg_names, phase = segment_columns(
            t, starts, slope_change=self.slope_change, phase_in=self.phase_in,
            phase_in_mode=self.phase_in_mode,
        )
        seas, seas_names = seasonal_columns(
            t, cal_month, seasonality=self.seasonality, fourier_pairs=self.fourier_pairs,
            period=period, where=f"{_WHERE}.seasonality",
        )
        cov_cols = frame[covariates].to_numpy(dtype=float) if covariates else np.empty((len(t), 0))
        blocks = [np.ones(len(t))[:, None], t[:, None]]
        names = ["intercept", "time"]
        if group:
            blocks += [g[:, None], (g * t)[:, None], seg, seg * g[:, None]]
            names += ["group", "group:time", *seg_names, *[f"group:{s}" for s in seg_names]]
            effect_cols = [names.index(f"group:{s}") for s in seg_names]
        else:
            blocks += [seg]
            names += seg_names
            effect_cols = [names.index(s) for s in seg_names]
        blocks += [seas, cov_cols]
        names += seas_names + covariates
        X = np.column_stack(blocks)
        used = ~phase if (self.phase_in > 0 and self.phase_in_mode == "exclude") else np.ones(
            len(t), dtype=bool
        )
        check_full_rank(X[used], names, where)

        y = frame[outcome].to_numpy(dtype=float)
        offset = (
            np.log(frame[population].to_numpy(dtype=float)) if population else np.zeros(len(t))
        )
        if self.errors == "arima":
            if group:
                raise ConfigError(
                    "ARIMA errors are not available for a controlled ITS (stacked series)",
                    where=f"{_WHERE}.errors",
                    hint="use errors: hac (Driscoll-Kraay over the series)",
                )
            check_full_rank(X, names, where)
            fitted_model = self._fit_arima(X, np.where(used, y, np.nan), where)
        else:
            fitted_model = self._fit(X[used], y[used], offset[used], g[used], where)
        return self._summarise(
            fitted_model, X, y, offset, t, g, used, phase, starts, names, effect_cols,
            frame, time, population, outcome, axis.unit, where,
        )

    # -- validation ----------------------------------------------------------------------

    def _validate(
        self,
        data: pd.DataFrame,
        outcome: str,
        time: str,
        population: str | None,
        group: str | None,
        month: str | None,
        covariates: list[str],
        where: str,
    ) -> pd.DataFrame:
        if not isinstance(data, pd.DataFrame):
            raise SchemaError("data must be a pandas DataFrame", where=where)
        cols = [outcome, time, *(c for c in (population, group, month) if c), *covariates]
        cols = list(dict.fromkeys(cols))
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise SchemaError(f"column(s) not in the data: {', '.join(missing)}", where=where)
        if population and self.family == "gaussian":
            raise ConfigError(
                "a population offset needs a log-link family",
                where=f"{_WHERE}.population",
                hint="use family poisson/quasipoisson/negative_binomial, or model the rate "
                "itself as the outcome with family gaussian",
            )
        frame = data[cols].copy()
        numeric = [outcome, *(c for c in (population, group, month) if c), *covariates]
        for c in dict.fromkeys(numeric):
            s = frame[c]
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
                raise SchemaError(f"column {c!r} must be numeric", where=where)
            arr = s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
            if not np.all(np.isfinite(arr)):
                raise SchemaError(
                    f"column {c!r} has {int((~np.isfinite(arr)).sum())} missing or infinite "
                    "value(s)",
                    where=where,
                    hint="an interrupted time series needs a value for every period",
                )
            frame[c] = arr
        y = frame[outcome].to_numpy()
        if self.family != "gaussian" and (np.any(y < 0) or np.any(y != np.round(y))):
            raise SchemaError(
                f"outcome {outcome!r} must hold non-negative whole counts for family "
                f"{self.family}",
                where=where,
            )
        if population and np.any(frame[population].to_numpy() <= 0):
            raise SchemaError(
                f"population column {population!r} must be positive", where=where
            )
        if group and not np.all(np.isin(frame[group].to_numpy(), (0.0, 1.0))):
            raise SchemaError(f"group column {group!r} must be 0/1", where=where)
        return frame

    def _check_series(self, t: np.ndarray, g: np.ndarray, starts: list[float], where: str) -> None:
        groups = [1.0, 0.0] if np.any(g == 0) else [1.0]
        if not np.any(g == 1):
            raise DesignError("there is no intervention series (group == 1)", where=where)
        for grp in groups:
            tg = t[g == grp]
            if np.unique(tg).shape[0] != tg.shape[0]:
                raise SchemaError(
                    "the time column has repeated periods within a series",
                    where=where,
                    hint="aggregate to one row per period (and per series with a comparison)",
                )
            n_pre = int(np.sum(tg < starts[0]))
            if n_pre < _MIN_PRE:
                raise DesignError(
                    f"only {n_pre} period(s) before the first interruption (need >= {_MIN_PRE})",
                    where=where,
                    hint="an interrupted time series needs a pre-intervention trend",
                )
            if not np.any(tg >= starts[-1] + self.phase_in):
                raise DesignError(
                    "no periods after the last interruption (and its phase-in)", where=where
                )

    # -- fitting -------------------------------------------------------------------------

    def _maxlags(self, n: int) -> int:
        if self.hac_maxlags is not None:
            return self.hac_maxlags
        return int(np.floor(4 * (n / 100) ** (2 / 9)))

    def _fit(
        self, X: np.ndarray, y: np.ndarray, offset: np.ndarray, g: np.ndarray, where: str
    ) -> _Fitted:
        n, k = X.shape
        if n - k < 1:
            raise DesignError(
                f"{n} observations for {k} parameters", where=where,
                hint="use a longer series or fewer terms",
            )
        hac = self.errors == "hac"
        cov_kw: dict[str, Any] = {}
        if hac:
            # Newey-West within the intervention series; with a comparison series the
            # stacked rows are grouped by series (statsmodels hac-groupsum).
            if np.any(g == 0):
                cov_kw = {
                    "cov_type": "hac-groupsum",
                    "cov_kwds": {"time": self._within_index(g), "maxlags": self._maxlags(n // 2),
                                 "use_correction": "hac"},
                }
            else:
                cov_kw = {"cov_type": "HAC",
                          "cov_kwds": {"maxlags": self._maxlags(n), "use_correction": True}}
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                if self.family == "gaussian":
                    res = sm.OLS(y, X).fit(**cov_kw)
                    return _Fitted(
                        np.asarray(res.params), np.asarray(res.cov_params()), np.asarray(res.resid),
                        float(res.df_resid), not hac, None, None, float(res.aic),
                    )
                alpha = None
                if self.family == "negative_binomial":
                    alpha = self._nb_alpha(X, y, offset, where)
                    fam: sm.families.Family = sm.families.NegativeBinomial(alpha=alpha)
                else:
                    fam = sm.families.Poisson()
                scale: Any = "X2" if self.family == "quasipoisson" else 1.0
                res = sm.GLM(y, X, family=fam, offset=offset).fit(
                    scale=scale, tol=1e-12, maxiter=200, **cov_kw
                )
            except ConvergenceWarning as exc:
                raise EstimationError(
                    f"the {self.family} segmented regression did not converge", where=where
                ) from exc
            except np.linalg.LinAlgError as exc:
                raise EstimationError(
                    "the segmented regression could not be fitted (singular matrix)", where=where
                ) from exc
        resid = np.asarray(res.resid_deviance)
        dispersion = float(res.scale) if self.family == "quasipoisson" else None
        return _Fitted(
            np.asarray(res.params), np.asarray(res.cov_params()), resid, float(res.df_resid),
            False, dispersion, alpha, float(res.aic) if self.family != "quasipoisson" else np.nan,
        )

    @staticmethod
    def _within_index(g: np.ndarray) -> np.ndarray:
        idx = np.zeros(g.shape[0], dtype=int)
        for grp in np.unique(g):
            m = g == grp
            idx[m] = np.arange(int(m.sum()))
        return idx

    def _nb_alpha(self, X: np.ndarray, y: np.ndarray, offset: np.ndarray, where: str) -> float:
        """ML estimate of the NB2 dispersion: the coefficients are profiled out by IRLS."""
        pois = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
        start = np.asarray(pois.params)

        def negll(log_alpha: float) -> float:
            fam = sm.families.NegativeBinomial(alpha=float(np.exp(log_alpha)))
            res = sm.GLM(y, X, family=fam, offset=offset).fit(
                start_params=start, tol=1e-12, maxiter=200
            )
            return -float(res.llf)

        opt = optimize.minimize_scalar(
            negll, bounds=(-20.0, 5.0), method="bounded", options={"xatol": 1e-10}
        )
        alpha = float(np.exp(opt.x))
        if not opt.success or not np.isfinite(alpha):
            raise EstimationError(
                "the negative-binomial dispersion did not converge", where=where,
                hint="use family quasipoisson",
            )
        return alpha

    def _fit_arima(self, X: np.ndarray, y: np.ndarray, where: str) -> _Fitted:
        """Regression with ARMA errors by exact Gaussian ML (``y`` NaN for excluded rows).

        AR(1) errors without excluded rows (and no seasonal part): the likelihood is maximised
        exactly by profiling (Prais-Winsten GLS for the coefficients and variance at each
        ``phi``, Brent's method for ``phi``). Otherwise statsmodels ``SARIMAX`` (L-BFGS on
        column-scaled regressors). The covariance is the inverse numerical Hessian of the full
        likelihood at the optimum (statsmodels ``cov_type="approx"``), as R's ``arima``.
        Seasonal ARMA errors: :meth:`_fit_seasonal` (exact ML in the time domain).
        """
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        if self.seasonal_order is not None:
            return self._fit_seasonal(X, y, where)
        k = X.shape[1]
        ok = np.isfinite(y)
        p, _, q = self.arima_order
        seasonal = (0, 0, 0, 0)
        n_arma = p + q
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if (p, q) == (1, 0) and self.seasonal_order is None and bool(np.all(ok)):
                full = self._ar1_profile(X, y)
            else:
                scale = np.sqrt(np.mean(X[ok] ** 2, axis=0))
                ys = float(np.std(y[ok])) or 1.0
                Xs = X / scale
                ols = sm.OLS(y[ok] / ys, Xs[ok]).fit()
                model_s = SARIMAX(y / ys, exog=Xs, order=self.arima_order,
                                  seasonal_order=seasonal, trend="n")
                start = np.concatenate([np.asarray(ols.params), np.zeros(n_arma), [ols.scale]])
                res_s = model_s.fit(start_params=start, disp=False, maxiter=2000,
                                    method="lbfgs")
                if not res_s.mle_retvals.get("converged", False):
                    raise EstimationError(
                        "the regression with ARIMA errors did not converge", where=where,
                        hint="try a simpler arima_order, e.g. (1, 0, 0)",
                    )
                # polish with tight tolerances; keep whichever likelihood is higher
                polished = model_s.fit(start_params=np.asarray(res_s.params), disp=False,
                                       maxiter=2000, method="lbfgs", pgtol=1e-10, factr=10.0)
                if np.isfinite(polished.llf) and polished.llf >= res_s.llf:
                    res_s = polished
                ps = np.asarray(res_s.params)
                full = np.concatenate([ps[:k] / scale * ys, ps[k:-1], [ps[-1] * ys**2]])
            model = SARIMAX(y, exog=X, order=self.arima_order, seasonal_order=seasonal,
                            trend="n")
            res = model.smooth(full, cov_type="approx")
        cov = np.asarray(res.cov_params())[:k, :k]
        resid = np.asarray(res.resid)[ok]
        return _Fitted(full[:k], cov, resid, float(ok.sum() - len(full)), False, None,
                       None, float(res.aic), tuple(float(v) for v in full[k:]), float(res.llf))

    def _arma_polynomials(self, free: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lag polynomials (AR with the sign of ``1 - phi L``, MA ``1 + theta L``) of the
        multiplicative seasonal model from unconstrained values (stationary and invertible by
        construction, as statsmodels' transforms); also the constrained coefficients."""
        from statsmodels.tsa.statespace.tools import constrain_stationary_univariate as cs

        p, _, q = self.arima_order
        sp, _, sq, period = self.seasonal_order or (0, 0, 0, 1)
        sizes = [p, q, sp, sq]
        parts, i = [], 0
        for j, size in enumerate(sizes):
            v = free[i:i + size]
            i += size
            parts.append(np.zeros(0) if size == 0 else (cs(v) if j in (0, 2) else -cs(-v)))
        phi, theta, sphi, stheta = parts

        def lagged(coefs: np.ndarray, step: int, sign: float) -> np.ndarray:
            poly = np.zeros(coefs.size * step + 1)
            poly[0] = 1.0
            poly[step::step] = sign * coefs
            return poly

        ar = np.convolve(lagged(phi, 1, -1.0), lagged(sphi, period, -1.0))
        ma = np.convolve(lagged(theta, 1, 1.0), lagged(stheta, period, 1.0))
        return ar, ma, np.concatenate(parts)

    def _fit_seasonal(self, X: np.ndarray, y: np.ndarray, where: str) -> _Fitted:
        """Regression with seasonal ARMA errors by exact Gaussian ML in the time domain.

        For given ARMA coefficients the errors' correlation matrix ``R`` of the observed rows
        is the ARMA autocovariance (statsmodels ``arma_acovf`` of the multiplied-out
        polynomials); the coefficients and the innovation variance are profiled out by GLS
        and the profile likelihood ``-(m/2) log(sigma2) - (1/2) log|R|`` is maximised over the
        ARMA coefficients (L-BFGS on the stationarity- and invertibility-constraining
        transform). Excluded rows are dropped from ``R`` (exact, keeps the time spacing). The
        coefficients' covariance is ``sigma2 (X' R^-1 X)^-1`` (the inverse information, whose
        regression block does not involve the ARMA coefficients); the residuals are the
        one-step prediction errors (innovations). Same maximum as ``SARIMAX`` / R ``arima``
        with ``seasonal = list(order = c(P, 0, Q), period = s)``, at a fraction of the cost.
        """
        from scipy.linalg import cholesky, solve_triangular
        from statsmodels.tsa.arima_process import arma_acovf
        from threadpoolctl import threadpool_limits

        ok = np.isfinite(y)
        Xo, yo = X[ok], y[ok]
        idx = np.flatnonzero(ok)
        n_all = X.shape[0]
        m, k = Xo.shape
        lags = np.abs(idx[:, None] - idx[None, :])
        p, _, q = self.arima_order
        sp, _, sq, _ = self.seasonal_order or (0, 0, 0, 1)
        n_arma = p + q + sp + sq

        def profile(free: np.ndarray) -> tuple[float, dict[str, Any]]:
            ar, ma, coefs = self._arma_polynomials(free)
            acov = arma_acovf(ar, ma, nobs=n_all, sigma2=1.0)
            L = cholesky(acov[lags], lower=True)
            Xw = solve_triangular(L, Xo, lower=True)
            yw = solve_triangular(L, yo, lower=True)
            b = np.linalg.lstsq(Xw, yw, rcond=None)[0]
            u = yw - Xw @ b
            s2 = float(u @ u) / m
            logdet = 2.0 * float(np.sum(np.log(np.diag(L))))
            nll = 0.5 * (m * np.log(s2) + logdet)
            return nll, {"b": b, "s2": s2, "L": L, "Xw": Xw, "u": u, "coefs": coefs,
                         "logdet": logdet}

        def objective(free: np.ndarray) -> float:
            try:
                val = profile(free)[0]
            except (np.linalg.LinAlgError, ValueError):
                return 1e100
            return val if np.isfinite(val) else 1e100

        best: Any = None
        # small matrices: one BLAS thread is fastest (threads only contend)
        with threadpool_limits(limits=1, user_api="blas"):
            for start in (np.zeros(n_arma), np.full(n_arma, 0.5)):
                opt = optimize.minimize(objective, start, method="L-BFGS-B",
                                        options={"maxiter": 500, "gtol": 1e-8, "ftol": 1e-13})
                if best is None or opt.fun < best.fun:
                    best = opt
                if best.success and best.fun < 1e99:
                    break  # the second start only when the first failed
        if best is None or not np.isfinite(best.fun) or best.fun >= 1e99:
            raise EstimationError(
                "the regression with seasonal ARIMA errors did not converge", where=where,
                hint="try a simpler seasonal_order, e.g. [1, 0, 0, 12]",
            )
        _, fit = profile(best.x)
        s2, L = fit["s2"], fit["L"]
        cov = s2 * np.linalg.inv(fit["Xw"].T @ fit["Xw"])
        innovations = fit["u"] * np.diag(L)
        llf = -0.5 * (m * (np.log(2 * np.pi) + 1 + np.log(s2)) + fit["logdet"])
        n_par = k + n_arma + 1
        return _Fitted(fit["b"], cov, innovations, float(m - n_par), False, None, None,
                       float(-2 * llf + 2 * n_par),
                       tuple(float(v) for v in [*fit["coefs"], s2]), float(llf))

    @staticmethod
    def _ar1_profile(X: np.ndarray, y: np.ndarray) -> np.ndarray:
        n = y.shape[0]

        def gls(phi: float) -> tuple[np.ndarray, float]:
            c = np.sqrt(1 - phi**2)
            yt = np.concatenate([[c * y[0]], y[1:] - phi * y[:-1]])
            Xt = np.vstack([c * X[0], X[1:] - phi * X[:-1]])
            b = np.linalg.lstsq(Xt, yt, rcond=None)[0]
            return b, float(np.sum((yt - Xt @ b) ** 2) / n)

        def negll(phi: float) -> float:
            _, s2 = gls(phi)
            return 0.5 * n * np.log(s2) - 0.5 * np.log(1 - phi**2)

        opt = optimize.minimize_scalar(
            negll, bounds=(-0.9999, 0.9999), method="bounded", options={"xatol": 1e-12}
        )
        b, s2 = gls(float(opt.x))
        return np.concatenate([b, [float(opt.x)], [s2]])

    # -- summaries -----------------------------------------------------------------------

    def _summarise(
        self,
        fm: _Fitted,
        X: np.ndarray,
        y: np.ndarray,
        offset: np.ndarray,
        t: np.ndarray,
        g: np.ndarray,
        used: np.ndarray,
        phase: np.ndarray,
        starts: list[float],
        names: list[str],
        effect_cols: list[int],
        frame: pd.DataFrame,
        time: str,
        population: str | None,
        outcome: str,
        unit: str,
        where: str,
    ) -> ITSResult:
        b, V = fm.params, fm.cov
        if not np.all(np.isfinite(V)) or np.any(np.diag(V) <= 0):
            raise EstimationError(
                "the covariance of the estimates is not positive", where=where,
                hint="use a longer series, fewer terms, or errors: iid",
            )
        crit = (
            float(stats.t.ppf(0.5 + self.ci_level / 2, fm.df_resid))
            if fm.use_t else float(stats.norm.ppf(0.5 + self.ci_level / 2))
        )
        dist_sf: Callable[[Any], Any] = (
            (lambda z: stats.t.sf(z, fm.df_resid)) if fm.use_t else stats.norm.sf
        )
        se = np.sqrt(np.diag(V))
        coefs = pd.DataFrame({
            "term": names, "estimate": b, "std_error": se,
            "ci_lower": b - crit * se, "ci_upper": b + crit * se,
            "p_value": 2 * dist_sf(np.abs(b / se)),
        })
        log_link = self.family != "gaussian"
        scale = "rate_ratio" if log_link else "difference"
        tr = np.exp if log_link else (lambda v: v)

        # counterfactual: intervention-specific terms set to zero
        X_cf = X.copy()
        X_cf[:, effect_cols] = 0.0
        eta = X @ b + offset
        eta_cf = X_cf @ b + offset
        se_cf = np.sqrt(np.einsum("ij,jk,ik->i", X_cf, V, X_cf))
        inv = np.exp if log_link else (lambda v: v)
        fitted, cf = inv(eta), inv(eta_cf)
        cf_lo, cf_hi = inv(eta_cf - crit * se_cf), inv(eta_cf + crit * se_cf)
        treated_post = (g == 1) & (t >= starts[0])

        rows: list[dict[str, Any]] = []
        seg_terms = [names[j] for j in effect_cols]
        for j, term in zip(effect_cols, seg_terms, strict=True):
            kind, k = term.split(":")[-1].split("_")
            est, s = float(b[j]), float(se[j])
            rows.append({
                "effect": kind, "interruption": int(k), "scale": scale,
                "estimate": float(tr(est)), "std_error": s,
                "ci_lower": float(tr(est - crit * s)), "ci_upper": float(tr(est + crit * s)),
                "p_value": float(2 * dist_sf(abs(est / s))),
            })
        # cumulative and average effect over the post period (delta method)
        n_post = int(treated_post.sum())
        diff = fitted[treated_post] - cf[treated_post]
        if log_link:
            grad = (fitted[treated_post] @ X[treated_post]) - (cf[treated_post] @ X_cf[treated_post])
        else:
            grad = (X[treated_post] - X_cf[treated_post]).sum(axis=0)
        cum = float(diff.sum())
        cum_se = float(np.sqrt(grad @ V @ grad))
        for kind, div in (("cumulative", 1.0), ("average", float(n_post))):
            est, s = cum / div, cum_se / div
            rows.append({
                "effect": kind, "interruption": 0, "scale": "difference",
                "estimate": est, "std_error": s,
                "ci_lower": est - crit * s, "ci_upper": est + crit * s,
                "p_value": float(2 * dist_sf(abs(est / s))) if s > 0 else np.nan,
            })
        effects = pd.DataFrame(rows)

        series = pd.DataFrame({
            "time": frame[time].to_numpy(),
            "t": t,
            "group": g.astype(int),
            "observed": y,
            "population": frame[population].to_numpy(dtype=float) if population else np.nan,
            "fitted": fitted,
            "counterfactual": np.where(g == 1, cf, np.nan),
            "counterfactual_lower": np.where(g == 1, cf_lo, np.nan),
            "counterfactual_upper": np.where(g == 1, cf_hi, np.nan),
            "post": t >= starts[0],
            "in_phase_in": phase,
            "used": used,
        })
        treated_used = (g[used] == 1)
        diag = autocorrelation_diagnostics(fm.resid[treated_used])

        head_row = effects[
            (effects["effect"] == self.effect)
            & (effects["interruption"] == (0 if self.effect in ("cumulative", "average") else 1))
        ].iloc[0]
        details: dict[str, Any] = {
            "family": self.family,
            "errors": self.errors,
            "hac_maxlags": self._maxlags(int(used.sum()) // (2 if np.any(g == 0) else 1))
            if self.errors == "hac" else None,
            "dispersion": fm.dispersion,
            "alpha": fm.alpha,
            "arima_order": list(self.arima_order) if self.errors == "arima" else None,
            "seasonal_order": list(self.seasonal_order)
            if self.errors == "arima" and self.seasonal_order is not None else None,
            "aic": fm.aic,
            "arma_params": list(fm.arma) if fm.arma else None,
            "loglik": fm.loglik,
            "n_obs": int(used.sum()),
            "n_params": len(names),
            "time_unit": unit,
            "interruptions": starts,
            "controlled": bool(np.any(g == 0)),
            "se_scale": "log" if (log_link and head_row["effect"] in ("level", "slope"))
            else "identity",
            "effects": effects,
            "errors_used": self.errors,
            "ljung_box_p": diag.ljung_box_p,
            "autocorrelation_remaining": bool(diag.ljung_box_p < self.autocorrelation_alpha),
            "durbin_watson": diag.durbin_watson,
        }
        estimand = {
            "level": "level change at the first interruption",
            "slope": "slope change per time unit at the first interruption",
            "cumulative": "cumulative effect over the post-intervention period",
            "average": "average effect per post-intervention period",
        }[self.effect]
        estimate = EffectEstimate(
            design=self.design,
            estimator="interrupted_time_series",
            outcome=outcome,
            estimand=estimand,
            scale=head_row["scale"],
            estimate=float(head_row["estimate"]),
            std_error=float(head_row["std_error"]),
            ci_lower=float(head_row["ci_lower"]),
            ci_upper=float(head_row["ci_upper"]),
            p_value=float(head_row["p_value"]),
            n_treated=n_post,
            n_control=int(np.sum((g == 1) & (t < starts[0]))),
            ci_level=self.ci_level,
            details=details,
        )
        return ITSResult(
            estimate=estimate, effects=effects, coefficients=coefs, series=series,
            diagnostics=diag, details={k: v for k, v in details.items() if k != "effects"},
        )
