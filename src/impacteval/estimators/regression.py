"""Outcome models on a matched sample: rate ratios from count GLMs with a person-time offset.

:class:`MatchedRateRatio` follows MatchIt's guidance for estimating effects after matching
("Estimating Effects After Matching" vignette): fit the outcome model on the matched sample
with the matching weights as (prior) weights, and use cluster-robust standard errors with
the matched pair/set as the cluster (optionally a second dimension, e.g. the care home).

Model: ``log E[y] = log(exposure) + b0 + b1 * treated (+ covariates, + treated x covariates)``
with a Poisson or negative-binomial (NB2) likelihood, fitted by IRLS to full convergence.

* The weights enter as prior weights (R ``glm(weights = )``, statsmodels ``var_weights``):
  each unit's log-likelihood contribution is multiplied by its weight.
* Negative binomial: NB2, ``Var(y) = mu + alpha * mu^2``. ``alpha`` is estimated by maximum
  likelihood jointly with the coefficients (the weighted NB2 log-likelihood is profiled over
  ``log(alpha)`` with Brent's method, the coefficients refitted by IRLS at each ``alpha``),
  which is the estimate R's ``MASS::glm.nb`` converges to (``theta = 1/alpha``). Standard
  errors then treat ``alpha`` as known, as ``glm.nb``/``sandwich`` do. If the likelihood is
  maximised at ``alpha -> 0`` (no over-dispersion) the fit is the Poisson fit.
* Standard errors: cluster-robust sandwich (:mod:`impacteval.inference.cluster`), equal to
  R's ``sandwich::vcovCL(fit, cluster = ~ pair (+ setting), type = "HC0")``: the
  small-sample factor is ``G/(G - 1)`` per clustering dimension (no ``(n - 1)/(n - k)``);
  two-way clustering by Cameron-Gelbach-Miller inclusion-exclusion. With
  ``cluster_se=True`` and no cluster columns, each unit is its own cluster
  (heteroskedasticity-robust); with ``cluster_se=False``, the model-based covariance.
* Without covariates the rate ratio is ``exp(b1)``. With covariates the model includes the
  treatment-by-covariate interactions (``interactions=True``) and the reported rate ratio is
  *marginal* over the treated (ATT) by g-computation: predicted event counts of the matched
  treated units (weighted, with their own person-time) with treatment set to 1, divided by
  the same with treatment set to 0. Its standard error (log scale) is by the delta method
  with the cluster-robust covariance, holding the treated units' covariates fixed (as
  ``marginaleffects::avg_comparisons(vcov = ~subclass)``). Without interactions this ratio
  equals ``exp(b1)`` exactly.

``details`` keys (all per 1,000 person-years where a rate): ``rate_treated``,
``rate_control`` (crude weighted rates: sum(w * events) / sum(w * person-years) * 1000),
``rate_unit``, ``absolute_difference_per_1000_py`` = (RR - 1) x crude control rate with
``absolute_difference_ci_lower/upper`` from the RR's CI (control rate held fixed),
``log_rate_ratio``, ``se_scale`` (``"log"``), ``family``, ``alpha`` (NB2 dispersion or
None), ``cluster`` (list of cluster columns), ``n_clusters``, ``covariance``,
``n_events_treated``, ``n_events_control``, ``person_years_treated``,
``person_years_control`` (weighted sums), ``marginal`` (True when by g-computation),
``n_iter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from impacteval.estimators.base import register_estimator
from impacteval.exceptions import ConfigError, DesignError, EstimationError
from impacteval.inference.cluster import sandwich_cov
from impacteval.matching.covariates import encode
from impacteval.results import EffectEstimate

_WHERE = "analysis"
_LOG_ALPHA_BOUNDS = (-15.0, 5.0)


@dataclass(frozen=True)
class _GLMFit:
    coef: np.ndarray
    mu: np.ndarray
    n_iter: int
    converged: bool


def _irls_log_link(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    w: np.ndarray,
    alpha: float,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-11,
) -> _GLMFit:
    """IRLS for a log-link Poisson (alpha = 0) or NB2 GLM, in an orthonormal basis of X.

    Covariates far from zero (a calendar year, say), and their interactions with treatment,
    make the normal equations so ill-conditioned that IRLS cannot meet a tight tolerance.
    Fitting on ``Q = X R^-1`` (thin QR of X) is an exact reparametrisation: the fitted means are
    the same and the coefficients map back as ``beta = R^-1 gamma``.
    """
    n = X.shape[0]
    if n == 0 or X.shape[1] == 0:
        return _irls_core(X, y, offset, w, alpha, start, max_iter, tol)
    _, r = np.linalg.qr(X)
    if np.any(np.abs(np.diag(r)) < 1e-12 * max(1.0, float(np.abs(r).max()))):
        return _irls_core(X, y, offset, w, alpha, start, max_iter, tol)  # singular: no basis
    r = r / np.sqrt(n)
    Xq = np.linalg.solve(r.T, X.T).T  # X r^-1: orthogonal columns of norm sqrt(n)
    start_q = None if start is None else r @ start
    fit = _irls_core(Xq, y, offset, w, alpha, start_q, max_iter, tol)
    return _GLMFit(np.linalg.solve(r, fit.coef), fit.mu, fit.n_iter, fit.converged)


def _irls_core(
    X: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    w: np.ndarray,
    alpha: float,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-11,
) -> _GLMFit:
    """IRLS (Fisher scoring) for a log-link Poisson (alpha = 0) or NB2 GLM with prior weights."""
    if start is None:
        eta = np.log(y + 0.1)
        mu = y + 0.1
        beta = np.zeros(X.shape[1])
        first = True
    else:
        beta = start.copy()
        eta = X @ beta + offset
        mu = np.exp(eta)
        first = False
    for it in range(1, max_iter + 1):
        W = w * mu / (1 + alpha * mu)
        z = eta - offset + (y - mu) / mu
        XtW = X.T * W
        try:
            new = np.linalg.solve(XtW @ X, XtW @ z)
        except np.linalg.LinAlgError:
            return _GLMFit(beta, mu, it, False)
        change = np.max(np.abs(new - beta))
        beta = new
        eta = np.clip(X @ beta + offset, -700, 700)
        mu = np.exp(eta)
        if not first and change < tol * (1 + np.max(np.abs(beta))):
            return _GLMFit(beta, mu, it, True)
        first = False
    return _GLMFit(beta, mu, max_iter, False)


def _nb2_loglik(y: np.ndarray, mu: np.ndarray, w: np.ndarray, alpha: float) -> float:
    r = 1.0 / alpha
    ll = (
        special.gammaln(y + r)
        - special.gammaln(r)
        - special.gammaln(y + 1)
        + r * np.log(r / (r + mu))
        + special.xlogy(y, mu / (r + mu))
    )
    return float(np.sum(w * ll))


@register_estimator("matched_rate_ratio")
@dataclass(frozen=True, kw_only=True)
class MatchedRateRatio:
    """Rate ratio (ATT) on a matched sample from a Poisson or negative-binomial GLM.

    Parameters
    ----------
    family
        ``"poisson"`` or ``"negative_binomial"`` (NB2, dispersion estimated by ML).
    ci_level
        Confidence level of the Wald interval (on the log scale).
    cluster_se
        Cluster-robust standard errors (see the module docstring).
    interactions
        With covariates, include treatment-by-covariate interactions (the marginal rate
        ratio by g-computation then differs from ``exp(b1)``).
    design
        Design name recorded in the estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1, 0, 2, 3, 1, 4], "t": [1, 1, 1, 0, 0, 0],
    ...                    "py": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], "pair": [1, 2, 3, 1, 2, 3]})
    >>> est = MatchedRateRatio().fit(df, outcome="y", treatment="t", exposure="py",
    ...                              clusters=["pair"])
    >>> round(est.estimate, 4)
    0.375
    """

    family: Literal["poisson", "negative_binomial"] = "poisson"
    ci_level: float = 0.95
    cluster_se: bool = True
    interactions: bool = True
    design: str = "matched_cohort"

    def __post_init__(self) -> None:
        if self.family not in ("poisson", "negative_binomial"):
            raise ConfigError(
                f"family must be 'poisson' or 'negative_binomial', got {self.family!r}",
                where="analysis.family",
            )
        if not 0.5 < self.ci_level < 1:
            raise ConfigError(
                f"ci_level must be between 0.5 and 1, got {self.ci_level!r}",
                where="analysis.ci_level",
            )

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treatment: str,
        exposure: str,
        weights: str | None = None,
        clusters: list[str] | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Fit the model and return the rate ratio of treated versus control.

        Parameters
        ----------
        data
            One row per unit (the matched sample, or the full sample with zero weights for
            unmatched units). Not modified.
        outcome
            Event count column.
        treatment
            0/1 (or boolean) treatment column.
        exposure
            Person-time column (years), > 0 for every unit with positive weight.
        weights
            Matching weights column (rows with weight 0 are dropped); ``None`` for 1.
        clusters
            One or two cluster columns (e.g. ``["subclass"]`` or ``["subclass", "setting_id"]``).
        covariates
            Adjustment covariates (numeric, boolean or categorical).

        Raises
        ------
        EstimationError
            Missing columns or values, negative counts, non-positive exposure, an arm with
            no person-time or no events (the rate ratio is not identified), or no convergence.
        """
        covariates = list(covariates)
        if clusters is not None and not self.cluster_se:
            raise ConfigError(
                "cluster columns were given but cluster_se is False",
                where="analysis.cluster",
                hint="set cluster: none, or keep cluster-robust standard errors",
            )
        sample = _matched_sample(data, outcome=outcome, treatment=treatment, weights=weights,
                                 clusters=clusters, covariates=covariates, extra=[exposure])
        sub, w, y, t, where = sample.sub, sample.w, sample.y, sample.t, sample.where
        if np.any(y < 0):
            raise EstimationError(f"outcome {outcome!r} has negative counts", where=where)
        py = self._numeric(sub[exposure], exposure, where)
        if np.any(py <= 0):
            raise EstimationError(
                f"{int(np.sum(py <= 0))} unit(s) have zero or negative person-time in {exposure!r}",
                where=where,
                hint="drop units with no time at risk (e.g. died on the index date) before estimating",
            )
        cl_frame = sample.cluster_frame()
        events = {arm: float(np.sum((w * y)[t == arm])) for arm in (1, 0)}
        person_years = {arm: float(np.sum((w * py)[t == arm])) for arm in (1, 0)}
        for arm, name in ((1, "treated"), (0, "control")):
            if person_years[arm] <= 0:
                raise EstimationError(
                    f"the {name} arm has no units or no person-time, so the rate ratio is not identified",
                    where=where,
                )
            if events[arm] <= 0:
                raise EstimationError(
                    f"no {outcome} events in the {name} arm, so the rate ratio is not identified",
                    where=where,
                    hint="report the crude counts instead, lengthen follow-up, or drop this outcome",
                )

        X, names = self._design(sub, t, covariates, where)
        offset = np.log(py)
        fit, alpha = self._fit_glm(X, y, offset, w, where)
        mu = fit.mu
        info = (X.T * (w * mu / (1 + alpha * mu))) @ X
        try:
            bread_inv = np.linalg.inv(info)
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                "the outcome model's information matrix is singular", where=where
            ) from exc
        if self.cluster_se:
            scores = X * (w * (y - mu) / (1 + alpha * mu))[:, None]
            cov, n_clusters = sandwich_cov(bread_inv, scores, cl_frame)
            covariance = "cluster_robust_HC0" if clusters else "robust_HC0"
        else:
            cov, n_clusters, covariance = bread_inv, [], "model_based"

        if covariates:
            log_rr, grad = self._g_computation(X, t, w, offset, fit.coef, names)
            marginal = True
        else:
            log_rr = float(fit.coef[1])
            grad = np.zeros(len(names))
            grad[1] = 1.0
            marginal = False
        var = float(grad @ cov @ grad)
        if not var > 0:
            raise EstimationError(
                "the variance of the rate ratio is not positive (too few clusters for two-way clustering?)",
                where=where,
                hint="cluster on the matched pair only",
            )
        se = float(np.sqrt(var))
        z = float(stats.norm.ppf(0.5 + self.ci_level / 2))
        rr = float(np.exp(log_rr))
        lo, hi = float(np.exp(log_rr - z * se)), float(np.exp(log_rr + z * se))
        p = float(2 * stats.norm.sf(abs(log_rr / se)))
        rate_t = events[1] / person_years[1] * 1000
        rate_c = events[0] / person_years[0] * 1000
        details = {
            "rate_treated": rate_t,
            "rate_control": rate_c,
            "rate_unit": "per 1,000 person-years",
            "absolute_difference_per_1000_py": (rr - 1) * rate_c,
            "absolute_difference_ci_lower": (lo - 1) * rate_c,
            "absolute_difference_ci_upper": (hi - 1) * rate_c,
            "log_rate_ratio": log_rr,
            "se_scale": "log",
            "family": self.family,
            "alpha": alpha if self.family == "negative_binomial" else None,
            "cluster": list(clusters or []),
            "n_clusters": n_clusters,
            "covariance": covariance,
            "n_events_treated": events[1],
            "n_events_control": events[0],
            "person_years_treated": person_years[1],
            "person_years_control": person_years[0],
            "marginal": marginal,
            "covariates": covariates,
            "n_iter": fit.n_iter,
        }
        return EffectEstimate(
            design=self.design,
            estimator="matched_rate_ratio",
            outcome=outcome,
            estimand="ATT",
            scale="rate_ratio",
            estimate=rr,
            std_error=se,
            ci_lower=lo,
            ci_upper=hi,
            p_value=p,
            n_treated=int(np.sum(t == 1)),
            n_control=int(np.sum(t == 0)),
            ci_level=self.ci_level,
            details=details,
        )

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _numeric(s: pd.Series, col: str, where: str) -> np.ndarray:
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise EstimationError(f"column {col!r} must be numeric", where=where)
        arr = s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(arr)):
            raise EstimationError(
                f"column {col!r} has {int((~np.isfinite(arr)).sum())} missing or infinite value(s)",
                where=where,
            )
        return arr

    @classmethod
    def _treatment(cls, s: pd.Series, col: str, where: str) -> np.ndarray:
        arr = cls._numeric(s, col, where)
        if not np.all(np.isin(arr, (0.0, 1.0))):
            raise EstimationError(f"treatment column {col!r} must be 0/1", where=where)
        return arr.astype(np.int64)

    @classmethod
    def _weights(cls, data: pd.DataFrame, weights: str | None, where: str) -> np.ndarray:
        if weights is None:
            return np.ones(len(data))
        w = cls._numeric(data[weights], weights, where)
        if np.any(w < 0):
            raise EstimationError(f"weights column {weights!r} has negative values", where=where)
        return w

    def _design(
        self, sub: pd.DataFrame, t: np.ndarray, covariates: list[str], where: str
    ) -> tuple[np.ndarray, list[str]]:
        cols = [np.ones(len(t)), t.astype(float)]
        names = ["intercept", "treated"]
        if covariates:
            try:
                Z, znames, _ = encode(sub[covariates], drop_first=True, where=where)
            except DesignError as exc:
                raise EstimationError(
                    exc.message, where=where, hint="impute or drop missing adjustment covariates"
                ) from exc
            cols.extend(Z.T)
            names.extend(znames)
            if self.interactions:
                cols.extend((Z * t[:, None]).T)
                names.extend(f"treated:{c}" for c in znames)
        X = np.column_stack(cols)
        scale = np.sqrt(np.mean(X**2, axis=0))
        if (
            np.any(scale == 0)
            or np.linalg.matrix_rank(X / np.where(scale == 0, 1, scale)) < X.shape[1]
        ):
            raise EstimationError(
                "the outcome model's design is singular (a covariate is constant, or collinear "
                "with others, within the matched sample or within an arm)",
                where=where,
                hint="drop constant or redundant adjustment covariates, or set interactions off",
            )
        return X, names

    def _fit_glm(
        self, X: np.ndarray, y: np.ndarray, offset: np.ndarray, w: np.ndarray, where: str
    ) -> tuple[_GLMFit, float]:
        pois = _irls_log_link(X, y, offset, w, 0.0)
        if not pois.converged:
            raise EstimationError("the Poisson outcome model did not converge", where=where)
        if self.family == "poisson":
            return pois, 0.0

        def negll(log_alpha: float) -> float:
            f = _irls_log_link(X, y, offset, w, float(np.exp(log_alpha)), start=pois.coef)
            return -_nb2_loglik(y, f.mu, w, float(np.exp(log_alpha)))

        res = optimize.minimize_scalar(
            negll, bounds=_LOG_ALPHA_BOUNDS, method="bounded", options={"xatol": 1e-9}
        )
        alpha = float(np.exp(res.x))
        fit = _irls_log_link(X, y, offset, w, alpha, start=pois.coef)
        if not fit.converged:
            raise EstimationError(
                "the negative-binomial outcome model did not converge", where=where
            )
        return fit, alpha

    @staticmethod
    def _g_computation(
        X: np.ndarray,
        t: np.ndarray,
        w: np.ndarray,
        offset: np.ndarray,
        coef: np.ndarray,
        names: list[str],
    ) -> tuple[float, np.ndarray]:
        """log of the marginal RR among the treated and its gradient in the coefficients."""
        treated = t == 1
        Xt = X[treated]
        X1, X0 = Xt.copy(), Xt.copy()
        X1[:, 1] = 1.0
        X0[:, 1] = 0.0
        inter = [j for j, nm in enumerate(names) if nm.startswith("treated:")]
        main = [names.index(nm.removeprefix("treated:")) for nm in np.array(names)[inter]]
        X1[:, inter] = Xt[:, main]
        X0[:, inter] = 0.0
        wt, off = w[treated], offset[treated]
        m1 = wt * np.exp(X1 @ coef + off)
        m0 = wt * np.exp(X0 @ coef + off)
        s1, s0 = m1.sum(), m0.sum()
        grad = (m1 @ X1) / s1 - (m0 @ X0) / s0
        return float(np.log(s1) - np.log(s0)), grad


@dataclass(frozen=True)
class _Sample:
    """The rows of a matched sample an outcome model uses (weight > 0), with checked roles."""

    sub: pd.DataFrame
    w: np.ndarray
    y: np.ndarray
    t: np.ndarray
    clusters: list[str] | None
    where: str

    def cluster_frame(self) -> pd.DataFrame | None:
        """The cluster columns (None without clustering); missing cluster values are an error."""
        if not self.clusters:
            return None
        frame = self.sub[self.clusters].reset_index(drop=True)
        if frame.isna().to_numpy().any():
            raise EstimationError(
                f"cluster column(s) {', '.join(self.clusters)} have missing values",
                where=self.where,
            )
        return frame


def _matched_sample(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    weights: str | None,
    clusters: Sequence[str] | None,
    covariates: Sequence[str],
    extra: Sequence[str] = (),
) -> _Sample:
    """Check the roles of an outcome model and keep the rows with positive weight.

    Shared by the matched-sample estimators: one or two cluster columns, every named column
    present, numeric non-negative weights, a numeric outcome and a 0/1 treatment.
    """
    clusters = list(clusters) if clusters else None
    if clusters is not None and not 1 <= len(clusters) <= 2:
        raise ConfigError("give one or two cluster columns", where="analysis.cluster")
    needed = [outcome, treatment, *extra, *covariates, *(clusters or [])]
    if weights is not None:
        needed.append(weights)
    needed = list(dict.fromkeys(needed))
    where = f"{_WHERE}.{outcome}"
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise EstimationError(f"column(s) not in the data: {', '.join(missing)}", where=where)
    w_all = MatchedRateRatio._weights(data, weights, where)
    keep = w_all > 0
    sub = data.loc[keep, needed]
    y = MatchedRateRatio._numeric(sub[outcome], outcome, where)
    t = MatchedRateRatio._treatment(sub[treatment], treatment, where)
    return _Sample(sub=sub, w=w_all[keep], y=y, t=t, clusters=clusters, where=where)


@register_estimator("matched_mean_difference")
@dataclass(frozen=True, kw_only=True)
class MatchedMeanDifference:
    """Difference in means (ATT) on a matched sample, optionally regression-adjusted.

    Weighted least squares of the outcome on treatment (and, with covariates, the covariates
    and their interactions with treatment), with the matching weights. Without covariates
    the estimate is the weighted difference in means. With covariates it is the ATT by
    g-computation: the weighted mean over the matched treated units of the predicted outcome
    with treatment set to 1 minus set to 0 (linear in the coefficients, so its standard error
    is exact given the covariance, holding the treated units' covariates fixed, as
    ``marginaleffects::avg_comparisons(fit, variables = "treat", vcov = ~subclass,
    newdata = subset(treat == 1), wts = "weights")``).

    Standard errors are cluster-robust by the given cluster columns (the matched set; a
    second level such as the care home), equal to ``sandwich::vcovCL(fit, cluster = ...)``
    with ``type = covariance``: ``"HC1"`` (vcovCL's default for ``lm``) or ``"HC0"``. Without
    cluster columns each unit is its own cluster (heteroskedasticity-robust).

    Parameters
    ----------
    ci_level
        Confidence level of the Wald interval.
    covariance
        ``"HC1"`` or ``"HC0"``.
    interactions
        Include treatment-by-covariate interactions when covariates are given.
    design
        Design name recorded in the estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [5.0, 7, 6, 3, 4, 2], "t": [1, 1, 1, 0, 0, 0],
    ...                    "pair": [1, 2, 3, 1, 2, 3]})
    >>> round(MatchedMeanDifference().fit(df, outcome="y", treatment="t", clusters=["pair"]).estimate, 6)
    3.0
    """

    ci_level: float = 0.95
    covariance: Literal["HC0", "HC1"] = "HC1"
    interactions: bool = True
    design: str = "matched_cohort"

    def __post_init__(self) -> None:
        if not 0.5 < self.ci_level < 1:
            raise ConfigError(
                f"ci_level must be between 0.5 and 1, got {self.ci_level!r}",
                where="analysis.ci_level",
            )
        if self.covariance not in ("HC0", "HC1"):
            raise ConfigError(
                f"covariance must be 'HC0' or 'HC1', got {self.covariance!r}",
                where="analysis.covariance",
            )

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treatment: str,
        weights: str | None = None,
        clusters: list[str] | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Estimate the ATT as a difference in (adjusted) means.

        Parameters
        ----------
        data
            The matched sample (or the full sample with zero weights); not modified.
        outcome, treatment
            Outcome (numeric) and 0/1 treatment columns.
        weights
            Matching weights column; rows with weight 0 are dropped. ``None`` for 1.
        clusters
            One or two cluster columns (e.g. ``["subclass"]``).
        covariates
            Adjustment covariates (numeric, boolean or categorical).
        """
        covariates = list(covariates)
        sample = _matched_sample(data, outcome=outcome, treatment=treatment, weights=weights,
                                 clusters=clusters, covariates=covariates)
        sub, w, y, t, where = sample.sub, sample.w, sample.y, sample.t, sample.where
        for arm, name in ((1, "treated"), (0, "control")):
            if not np.any(t == arm):
                raise EstimationError(f"the {name} arm has no units with weight", where=where)
        cl_frame = sample.cluster_frame()
        helper = MatchedRateRatio(interactions=self.interactions)
        X, names = helper._design(sub, t, covariates, where)
        XtW = X.T * w
        bread_inv = np.linalg.inv(XtW @ X)
        coef = bread_inv @ (XtW @ y)
        resid = y - X @ coef
        scores = X * (w * resid)[:, None]
        cov, n_clusters = sandwich_cov(bread_inv, scores, cl_frame, kind=self.covariance)
        # g-computation over the matched treated units (weighted): a linear contrast
        grad = np.zeros(len(names))
        grad[1] = 1.0
        treated = t == 1
        for j, nm in enumerate(names):
            if nm.startswith("treated:"):
                main = names.index(nm.removeprefix("treated:"))
                grad[j] = float(np.sum(w[treated] * X[treated, main]) / np.sum(w[treated]))
        est = float(grad @ coef)
        se = float(np.sqrt(grad @ cov @ grad))
        z = float(stats.norm.ppf(0.5 + self.ci_level / 2))
        details = {
            "mean_treated": float(np.sum((w * y)[treated]) / np.sum(w[treated])),
            "mean_control": float(np.sum((w * y)[~treated]) / np.sum(w[~treated])),
            "se_scale": "difference",
            "cluster": list(clusters or []),
            "n_clusters": n_clusters,
            "covariance": f"cluster_robust_{self.covariance}" if clusters else self.covariance,
            "covariates": covariates,
            "marginal": bool(covariates),
        }
        return EffectEstimate(
            design=self.design,
            estimator="matched_mean_difference",
            outcome=outcome,
            estimand="ATT",
            scale="difference",
            estimate=est,
            std_error=se,
            ci_lower=est - z * se,
            ci_upper=est + z * se,
            p_value=float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan"),
            n_treated=int(np.sum(treated)),
            n_control=int(np.sum(~treated)),
            ci_level=self.ci_level,
            details=details,
        )


def _irls_logistic(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, bool]:
    """Weighted logistic regression (prior weights ``w``) by Newton-Raphson with step halving.

    Columns are scaled to unit root-mean-square while iterating (earnings in dollars next to
    0/1 indicators would otherwise make the Hessian ill-conditioned); coefficients are
    returned on the original scale.
    """
    scale = np.sqrt(np.mean(X**2, axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    Xs = X / scale

    def loglik(b: np.ndarray) -> float:
        eta = Xs @ b
        return float(-np.sum(w * (y * np.logaddexp(0, -eta) + (1 - y) * np.logaddexp(0, eta))))

    coef = np.zeros(X.shape[1])
    ll = loglik(coef)
    for _ in range(max_iter):
        mu = special.expit(Xs @ coef)
        info = (Xs.T * (w * mu * (1 - mu))) @ Xs
        try:
            step = np.linalg.solve(info, Xs.T @ (w * (y - mu)))
        except np.linalg.LinAlgError:
            return coef / scale, False
        new = coef + step
        new_ll = loglik(new)
        halvings = 0
        while not new_ll >= ll - 1e-12 * abs(ll) and halvings < 30:
            step = step / 2
            new = coef + step
            new_ll = loglik(new)
            halvings += 1
        coef, ll = new, new_ll
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(coef))):
            return coef / scale, True
    return coef / scale, False


@register_estimator("matched_risk_contrast")
@dataclass(frozen=True, kw_only=True)
class MatchedRiskContrast:
    """Risk difference or risk ratio (ATT) of a binary outcome on a matched sample.

    A weighted logistic regression of the outcome on treatment (and, with covariates, the
    covariates and their interactions with treatment), then g-computation over the matched
    treated units: ``p1`` and ``p0`` are the weighted means of the predicted risks with
    treatment set to 1 and to 0; the risk difference is ``p1 - p0``, the risk ratio
    ``p1 / p0`` (standard error and CI on the log scale). Standard errors by the delta
    method with the cluster-robust covariance ``sandwich::vcovCL(fit, cluster = ...)`` (HC0,
    its default for GLMs), holding the treated units' covariates fixed.

    Parameters
    ----------
    contrast
        ``"risk_difference"`` or ``"risk_ratio"``; the other is reported in ``details``.
    ci_level
        Confidence level of the Wald interval.
    interactions
        Include treatment-by-covariate interactions when covariates are given.
    design
        Design name recorded in the estimate.
    """

    contrast: Literal["risk_difference", "risk_ratio"] = "risk_difference"
    ci_level: float = 0.95
    interactions: bool = True
    design: str = "matched_cohort"

    def __post_init__(self) -> None:
        if self.contrast not in ("risk_difference", "risk_ratio"):
            raise ConfigError(
                f"contrast must be 'risk_difference' or 'risk_ratio', got {self.contrast!r}",
                where="analysis.contrast",
            )
        if not 0.5 < self.ci_level < 1:
            raise ConfigError(
                f"ci_level must be between 0.5 and 1, got {self.ci_level!r}",
                where="analysis.ci_level",
            )

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treatment: str,
        weights: str | None = None,
        clusters: list[str] | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Estimate the ATT risk contrast (see the class docstring for the roles)."""
        covariates = list(covariates)
        sample = _matched_sample(data, outcome=outcome, treatment=treatment, weights=weights,
                                 clusters=clusters, covariates=covariates)
        sub, w, y, t, where = sample.sub, sample.w, sample.y, sample.t, sample.where
        if not np.all(np.isin(y, (0.0, 1.0))):
            raise EstimationError(f"outcome {outcome!r} must be 0/1", where=where)
        for arm, name in ((1, "treated"), (0, "control")):
            ya = y[t == arm]
            if ya.size == 0 or ya.min() == ya.max():
                raise EstimationError(
                    f"the {name} arm has no units or no variation in {outcome!r}, so the risk "
                    "model is not identified",
                    where=where,
                    hint="report the crude counts instead",
                )
        cl_frame = sample.cluster_frame()
        X, names = MatchedRateRatio(interactions=self.interactions)._design(
            sub, t, covariates, where
        )
        coef, converged = _irls_logistic(X, y, w)
        if not converged:
            raise EstimationError(
                "the logistic outcome model did not converge (separation?)", where=where
            )
        mu = special.expit(X @ coef)
        bread_inv = np.linalg.inv((X.T * (w * mu * (1 - mu))) @ X)
        scores = X * (w * (y - mu))[:, None]
        cov, n_clusters = sandwich_cov(bread_inv, scores, cl_frame)
        treated = t == 1
        Xt, wt = X[treated], w[treated]
        X1, X0 = Xt.copy(), Xt.copy()
        X1[:, 1], X0[:, 1] = 1.0, 0.0
        inter = [j for j, nm in enumerate(names) if nm.startswith("treated:")]
        main = [names.index(names[j].removeprefix("treated:")) for j in inter]
        X1[:, inter] = Xt[:, main]
        X0[:, inter] = 0.0
        r1, r0 = special.expit(X1 @ coef), special.expit(X0 @ coef)
        p1, p0 = float(np.sum(wt * r1) / wt.sum()), float(np.sum(wt * r0) / wt.sum())
        g1 = (wt * r1 * (1 - r1)) @ X1 / wt.sum()
        g0 = (wt * r0 * (1 - r0)) @ X0 / wt.sum()
        rd, g_rd = p1 - p0, g1 - g0
        log_rr, g_rr = float(np.log(p1 / p0)), g1 / p1 - g0 / p0
        se_rd = float(np.sqrt(g_rd @ cov @ g_rd))
        se_rr = float(np.sqrt(g_rr @ cov @ g_rr))
        z = float(stats.norm.ppf(0.5 + self.ci_level / 2))
        if self.contrast == "risk_difference":
            est, se, lo, hi = rd, se_rd, rd - z * se_rd, rd + z * se_rd
            scale: Literal["difference", "risk_ratio"] = "difference"
            p_value = float(2 * stats.norm.sf(abs(rd / se_rd)))
        else:
            est, se = float(np.exp(log_rr)), se_rr
            lo, hi = float(np.exp(log_rr - z * se_rr)), float(np.exp(log_rr + z * se_rr))
            scale = "risk_ratio"
            p_value = float(2 * stats.norm.sf(abs(log_rr / se_rr)))
        details = {
            "risk_treated": p1,
            "risk_control": p0,
            "risk_difference": rd,
            "risk_difference_se": se_rd,
            "risk_ratio": float(np.exp(log_rr)),
            "log_risk_ratio_se": se_rr,
            "se_scale": "difference" if self.contrast == "risk_difference" else "log",
            "cluster": list(clusters or []),
            "n_clusters": n_clusters,
            "covariance": "cluster_robust_HC0" if clusters else "robust_HC0",
            "covariates": covariates,
        }
        return EffectEstimate(
            design=self.design,
            estimator="matched_risk_contrast",
            outcome=outcome,
            estimand="ATT",
            scale=scale,
            estimate=est,
            std_error=se,
            ci_lower=lo,
            ci_upper=hi,
            p_value=p_value,
            n_treated=int(np.sum(treated)),
            n_control=int(np.sum(~treated)),
            ci_level=self.ci_level,
            details=details,
        )
