"""Stage 5 of the matched cohort from the ``matching:`` section: support, propensity, match.

Also the outcome standard errors that depend on how the match was made
(``analysis.standard_errors``): a bootstrap over matched sets and the Abadie-Imbens
standard error for matching with replacement.

Rules (documented in docs/how-to/matching.md):

* Common support (``matching.common_support``): ``binary`` (default) drops units whose value
  of a binary matching covariate occurs in one arm only (it would separate the arms);
  ``minmax`` and ``crump`` do that and then drop units whose propensity is outside the other
  arm's range (MatchIt's ``discard = "both"``) or outside ``[alpha, 1 - alpha]`` (Crump,
  Hotz, Imbens and Mitnik 2009), without re-fitting the model; ``none`` drops nothing.
* The propensity model is always fitted (it draws the overlap plot and orders the treated
  units for ``order: largest|smallest``).
* ``caliper`` with ``caliper_scale: sd`` is in SDs of the propensity distance; for covariate
  distances it applies to the *logit propensity* (Mahalanobis matching within propensity
  calipers, Rosenbaum and Rubin 1985). With ``caliper_scale: raw`` it is on the matching
  distance itself.
* With per-covariate calipers and a propensity distance, the KD-tree matcher is used on the
  one-dimensional distance (tie rule: the earliest control in the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.config.models import MatchingSpec
from impacteval.exceptions import ConfigError, DesignError, EstimationError
from impacteval.matching.propensity import FittedPropensity
from impacteval.matching.result import MatchResult
from impacteval.results import EffectEstimate

PROPENSITY_DISTANCES = ("logit_propensity", "propensity")


@dataclass(frozen=True, kw_only=True)
class MatchingStep:
    """What the matching stage produced (positions refer to the rows of ``frame``)."""

    frame: pd.DataFrame
    treated: np.ndarray
    X: pd.DataFrame
    covariates: list[str]
    constant: list[str]
    fitted: FittedPropensity
    match: MatchResult
    flow: list[dict[str, Any]]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def run_matching(
    frame: pd.DataFrame,
    treated: np.ndarray,
    *,
    covariates: list[str],
    spec: MatchingSpec,
    seed: int,
) -> MatchingStep:
    """Common support, propensity model and the configured matcher.

    Parameters
    ----------
    frame
        One row per unit (never modified).
    treated
        Treatment indicator per row.
    covariates
        The matching covariates (already checked to exist).
    spec
        The ``matching:`` section.
    seed
        ``evaluation.seed`` (random order, gradient boosting, genetic search).
    """
    from impacteval.pipeline.analysis import discrete_common_support

    _check_columns(frame, covariates, spec)
    flow: list[dict[str, Any]] = []
    diagnostics: dict[str, Any] = {"common_support": spec.common_support}
    outside: dict[str, dict[str, int]] = {}
    if spec.common_support != "none":
        keep, outside = discrete_common_support(frame, treated, covariates)
        frame = frame.loc[keep].reset_index(drop=True)
        treated = treated[keep]
    diagnostics["outside_discrete_support"] = outside
    _require_both_arms(treated, "no overlap: no treated or no comparison unit shares "
                       "covariate values with the other arm", "matching.covariates")
    flow.append({"step": "common_support",
                 "description": "Within common support on binary covariates (values seen in "
                 "both arms)" if spec.common_support != "none" else "All units (no common-"
                 "support restriction)",
                 "n_treated": int(treated.sum()), "n_control": int((~treated).sum())})
    X = frame[covariates].astype(float)
    constant = [c for c in covariates if X[c].nunique() <= 1]
    covs = [c for c in covariates if c not in constant]
    if not covs:
        raise DesignError("every matching covariate is constant", where="matching.covariates")

    fitted = _fit_propensity(X[covs], treated, spec, seed)
    if spec.common_support in ("minmax", "crump"):
        e = np.asarray(fitted.propensity)
        if spec.common_support == "minmax":
            lo = max(e[treated].min(), e[~treated].min())
            hi = min(e[treated].max(), e[~treated].max())
            desc = "Propensity within both arms' range (min-max)"
        else:
            lo, hi = spec.trim_alpha, 1 - spec.trim_alpha
            desc = f"Propensity in [{lo:g}, {hi:g}] (Crump et al. 2009)"
        keep = (e >= lo) & (e <= hi)
        frame = frame.loc[keep].reset_index(drop=True)
        treated = treated[keep]
        X = X.loc[keep].reset_index(drop=True)
        fitted = replace(fitted, propensity=np.asarray(fitted.propensity)[keep],
                         logit=np.asarray(fitted.logit)[keep])
        _require_both_arms(treated, "no unit is left in the propensity's region of common "
                           "support", "matching.common_support")
        flow.append({"step": "propensity_support", "description": desc,
                     "n_treated": int(treated.sum()), "n_control": int((~treated).sum())})
        diagnostics["propensity_support"] = [float(lo), float(hi)]

    match, extra = _match(frame, X[covs], treated, fitted, spec, seed)
    diagnostics.update(extra)
    diagnostics["propensity_model"] = spec.propensity.model
    return MatchingStep(frame=frame, treated=treated, X=X, covariates=covs, constant=constant,
                        fitted=fitted, match=match, flow=flow, diagnostics=diagnostics)


def _require_both_arms(treated: np.ndarray, message: str, where: str) -> None:
    if treated.all() or not treated.any():
        raise DesignError(message, where=where,
                          hint="choose fewer or coarser matching covariates, or relax the "
                          "common-support rule (matching.common_support)")


def _check_columns(frame: pd.DataFrame, covariates: list[str], spec: MatchingSpec) -> None:
    for key, names in (("exact", spec.exact), ("calipers", list(spec.calipers))):
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise ConfigError(f"column(s) not in the analysis table: {', '.join(missing)}",
                              where=f"matching.{key}",
                              hint=f"choose from the covariates: {', '.join(covariates)}")
    for c in spec.calipers:
        s = frame[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise ConfigError(f"caliper covariate {c!r} must be numeric",
                              where="matching.calipers",
                              hint="use matching.exact for categorical covariates")
    unknown = [c for c in spec.distance_weights if c not in covariates]
    if unknown:
        raise ConfigError(f"not a matching covariate: {', '.join(unknown)}",
                          where="matching.distance_weights",
                          hint=f"choose from: {', '.join(covariates)}")
    for c in spec.exact:
        if frame[c].isna().any():
            raise DesignError(f"{int(frame[c].isna().sum())} missing values",
                              where=f"matching.exact.{c}",
                              hint="give every unit a value (e.g. an 'unknown' category)")


def _fit_propensity(
    X: pd.DataFrame, treated: np.ndarray, spec: MatchingSpec, seed: int
) -> FittedPropensity:
    from impacteval.matching.propensity import BoostedPropensityModel, PropensityModel

    p = spec.propensity
    if p.model == "gradient_boosting":
        return BoostedPropensityModel(max_iter=p.max_iter, learning_rate=p.learning_rate,
                                      max_depth=p.max_depth, seed=seed).fit(X, treated)
    return PropensityModel(spline_df=p.spline_df, interactions=p.interactions).fit(X, treated)


def _exact_labels(frame: pd.DataFrame, spec: MatchingSpec) -> np.ndarray | None:
    if not spec.exact:
        return None
    parts = frame[spec.exact].astype(str)
    return np.asarray(parts.agg("\x1f".join, axis=1).to_numpy())


def _match(
    frame: pd.DataFrame, X: pd.DataFrame, treated: np.ndarray, fitted: FittedPropensity,
    spec: MatchingSpec, seed: int,
) -> tuple[MatchResult, dict[str, Any]]:
    from impacteval.matching import (
        GeneticMatcher,
        balance_terms,
        match_points,
        nearest_neighbour_match,
        transform_covariates,
    )
    from impacteval.matching.optimal import optimal_match

    rng = np.random.default_rng(seed)
    info: dict[str, Any] = {"method": spec.method, "distance": spec.distance,
                            "ratio": spec.ratio, "replace": spec.replace}
    if spec.method == "genetic":
        g = spec.genetic
        terms = X
        if g.balance_squares or g.balance_interactions:
            terms = balance_terms(X, squares=g.balance_squares,
                                  interactions=g.balance_interactions)
        gm = GeneticMatcher(loss=g.loss, pop_size=g.pop_size, max_generations=g.max_generations,
                            wait_generations=g.wait_generations, ratio=spec.ratio,
                            seed=seed).fit(X, treated, balance=terms)
        info["genetic"] = {
            "weights": {n: float(w) for n, w in zip(gm.names, gm.weights, strict=True)},
            "loss": g.loss, "best": float(gm.history["best"].iloc[-1]),
            "generations": gm.generations, "balance_terms": list(terms.columns),
        }
        return gm.match, info

    exact = _exact_labels(frame, spec)
    logit = np.asarray(fitted.logit)
    ps_distance = spec.distance in PROPENSITY_DISTANCES
    cal_cols: list[np.ndarray] = []
    cal_widths: list[float] = []
    for c, w in spec.calipers.items():
        cal_cols.append(frame[c].astype(float).to_numpy())
        cal_widths.append(float(w))
    if ps_distance:
        d = logit if spec.distance == "logit_propensity" else np.asarray(fitted.propensity)
        points = d[:, None]
        width = None
        if spec.caliper is not None:
            width = spec.caliper * (float(np.std(d, ddof=1)) if spec.caliper_scale == "sd"
                                    else 1.0)
    else:
        weights = None
        if spec.distance == "generalized_mahalanobis":
            weights = np.array([spec.distance_weights.get(c, 1.0) for c in X.columns])
        tr = transform_covariates(X, treated, distance=spec.distance,  # type: ignore[arg-type]
                                  weights=weights)
        points = tr.points
        d = np.asarray(fitted.propensity)  # the order score
        width = None
        if spec.caliper is not None:
            if spec.caliper_scale == "raw":
                width = float(spec.caliper)
            else:  # within propensity calipers
                cal_cols.append(logit)
                cal_widths.append(spec.caliper * float(np.std(logit, ddof=1)))
                info["propensity_caliper_width"] = cal_widths[-1]
    C = np.column_stack(cal_cols) if cal_cols else None
    W = np.array(cal_widths) if cal_widths else None
    if spec.method == "optimal":
        m = optimal_match(points, treated, ratio=spec.ratio, caliper=width,
                          caliper_covariates=C, caliper_widths=W, exact=exact,
                          distance_name=spec.distance)
    elif ps_distance and C is None:
        m = nearest_neighbour_match(d, treated, ratio=spec.ratio, replace=spec.replace,
                                    caliper=spec.caliper, caliper_scale=spec.caliper_scale,
                                    order=spec.order, rng=rng, exact=exact,
                                    distance_name=spec.distance)
    else:
        m = match_points(points, treated, ratio=spec.ratio, replace=spec.replace, caliper=width,
                         caliper_covariates=C, caliper_widths=W, order=spec.order,
                         order_score=np.asarray(fitted.propensity), rng=rng, exact=exact,
                         distance_name=spec.distance)
    info["caliper_width"] = None if not np.isfinite(m.caliper_width) else m.caliper_width
    if exact is not None:
        info["exact"] = list(spec.exact)
        info["exact_strata"] = int(pd.unique(exact).shape[0])
    return m, info


def bootstrap_estimate(
    est: EffectEstimate,
    statistic: Any,
    data: pd.DataFrame,
    *,
    cluster: str,
    n_boot: int,
    seed: int,
) -> EffectEstimate:
    """Replace an estimate's SE, CI and p-value by a bootstrap over matched sets.

    The matched sets (``cluster``) are resampled with replacement (Austin and Small 2014;
    Abadie and Spiess 2022) and ``statistic(sample)`` re-computed; the interval is the
    percentile interval. For ratio estimates (``details["se_scale"] == "log"``) the SE is
    the SD of the log replicates and the p-value is from ``log(estimate) / SE``.
    """
    from impacteval.inference.bootstrap import cluster_bootstrap

    rng = np.random.default_rng(seed)
    res = cluster_bootstrap(data, statistic, cluster=cluster, n_boot=n_boot, rng=rng,
                            ci_level=est.ci_level)
    log = est.details.get("se_scale") == "log"
    reps = res.replicates
    if log:
        reps = np.log(reps[reps > 0])
        centre = float(np.log(est.estimate))
    else:
        centre = float(est.estimate)
    se = float(np.std(reps, ddof=1))
    if not se > 0:
        raise EstimationError("the bootstrap replicates do not vary", where="analysis.n_boot")
    details = dict(est.details)
    details.update({"inference": "cluster_bootstrap", "bootstrap_replicates": n_boot,
                    "bootstrap_failed": res.n_failed, "n_bootstrap_clusters": res.n_clusters,
                    "se_cluster_robust": est.std_error, "ci_method": "percentile"})
    return replace(est, std_error=se, ci_lower=res.ci_lower, ci_upper=res.ci_upper,
                   p_value=float(2 * stats.norm.sf(abs(centre) / se)), details=details)


def abadie_imbens_estimate(
    step: MatchingStep, outcome: str, *, exposure: str | None, ci_level: float, label: str,
) -> EffectEstimate:
    """The matching estimator's ATT with the Abadie-Imbens SE (``Matching::Match``).

    The unit-level outcome is ``outcome`` (or ``outcome / exposure``, a rate per person-year,
    with an exposure column); the ATT is the mean over matched treated units of their outcome
    minus the mean of their matched controls'.
    """
    from impacteval.inference.abadie_imbens import abadie_imbens_att, weighted_pairs

    y = step.frame[outcome].to_numpy(dtype=float)
    if exposure:
        y = y / step.frame[exposure].to_numpy(dtype=float)
    ai = abadie_imbens_att(y, weighted_pairs(step.match))
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    p = float(2 * stats.norm.sf(abs(ai.att) / ai.se)) if ai.se > 0 else float("nan")
    return EffectEstimate(
        design="matched_cohort", estimator="abadie_imbens_att:matched", outcome=outcome,
        estimand="ATT", scale="difference", estimate=ai.att, std_error=ai.se,
        ci_lower=ai.att - z * ai.se, ci_upper=ai.att + z * ai.se, p_value=p,
        n_treated=ai.n_treated, n_control=ai.n_controls_used, ci_level=ci_level, label=label,
        details={"sample": "matched", "inference": "abadie_imbens",
                 "se_sample_att": ai.se_sample, "sigma2": ai.sigma2,
                 "outcome_unit": "per person-year" if exposure else "per person",
                 "se_scale": "identity"},
    )
