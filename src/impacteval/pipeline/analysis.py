"""Stages 5-6 on an analysis-ready, person-level table: match, check balance, estimate.

Shared by both entry points: the episode-table pipeline (after the cohort stage) and a
user's own analysis-ready table (``data: {table: ...}`` plus ``roles``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from impacteval.config.models import AnalysisSpec, MatchingSpec
from impacteval.exceptions import DesignError, SchemaError
from impacteval.results import EffectEstimate

SUBCLASS = "subclass"
WEIGHT = "match_weight"


@dataclass(frozen=True, kw_only=True)
class AnalysisOutput:
    """What stages 5-6 produce (consumed by the report via EvaluationResult)."""

    estimates: tuple[EffectEstimate, ...]
    balance: pd.DataFrame
    table_one: pd.DataFrame
    outcome_summary: pd.DataFrame
    diagnostics: Mapping[str, Any]
    figures: Mapping[str, Any]
    figure_data: Mapping[str, pd.DataFrame]
    flow: pd.DataFrame
    matched: pd.DataFrame = field(repr=False)


def check_analysis_table(
    frame: pd.DataFrame,
    *,
    source: str,
    unit_id: str,
    treatment: str,
    outcomes: Sequence[str],
    covariates: Sequence[str],
    exposure: str | None,
    extra: Sequence[str] = (),
) -> None:
    """Check roles exist and have usable types; errors name the column, never values."""
    needed = [unit_id, treatment, *outcomes, *covariates, *([exposure] if exposure else []), *extra]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"missing column(s): {', '.join(missing)}",
            where=source,
            hint="check the names under 'roles' against the table's header",
        )
    if frame[unit_id].duplicated().any():
        n = int(frame[unit_id].duplicated().sum())
        raise SchemaError(f"{n} duplicated unit ids", where=f"{source}.{unit_id}",
                          hint="the table must have one row per unit")
    t = frame[treatment]
    if not pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t):
        raise SchemaError("treatment must be 0/1 or true/false", where=f"{source}.{treatment}")
    bad = int((~t.isin([0, 1, True, False])).sum())
    if bad:
        raise SchemaError(f"{bad} rows are not 0/1", where=f"{source}.{treatment}",
                          hint="code the treatment column as 1 = treated, 0 = comparison")
    for col in [*outcomes, *covariates, *([exposure] if exposure else [])]:
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise SchemaError("must be numeric", where=f"{source}.{col}",
                              hint="encode categories as 0/1 indicator columns")
        n_missing = int(s.isna().sum())
        if n_missing:
            raise SchemaError(f"{n_missing} missing values", where=f"{source}.{col}",
                              hint="impute or drop these rows before the analysis")
    for col in outcomes:
        n_neg = int((frame[col] < 0).sum())
        if n_neg:
            raise SchemaError(f"{n_neg} negative counts", where=f"{source}.{col}")
    if exposure:
        n_bad = int((frame[exposure] <= 0).sum())
        if n_bad:
            raise SchemaError(f"{n_bad} rows with exposure <= 0", where=f"{source}.{exposure}",
                              hint="drop rows with no time at risk")


def _arm_sizes(treated: np.ndarray) -> tuple[int, int]:
    return int(treated.sum()), int((~treated).sum())


def analyse(
    frame: pd.DataFrame,
    *,
    unit_id: str,
    treatment: str,
    outcomes: Sequence[str],
    covariates: Sequence[str],
    exposure: str | None,
    setting: str | None,
    matching: MatchingSpec,
    analysis: AnalysisSpec,
    seed: int,
    labels: Mapping[str, str] | None = None,
) -> AnalysisOutput:
    """Propensity-score matching, balance and rate ratios for each outcome.

    Parameters
    ----------
    frame
        One row per unit; never modified.
    setting
        Column of a higher-level cluster (e.g. care home), used when
        ``analysis.cluster`` asks for it.
    """
    from impacteval.matching import balance_table, love_plot, overlap_plot
    from impacteval.pipeline.matching_step import run_matching

    labels = dict(labels or {})
    treated_all = frame[treatment].astype(bool).to_numpy()
    n_t0, n_c0 = _arm_sizes(treated_all)
    if n_t0 == 0 or n_c0 == 0:
        arm = "treated" if n_t0 == 0 else "comparison"
        raise DesignError(f"no {arm} units in the analysis table", where="analysis",
                          hint="check the cohort filters or the treatment column")

    chosen = list(matching.covariates) if matching.covariates else list(covariates)
    unknown = [c for c in chosen if c not in covariates]
    if unknown:
        raise DesignError(f"matching covariate(s) not built: {', '.join(unknown)}",
                          where="matching.covariates", hint=f"choose from: {', '.join(covariates)}")
    step = run_matching(frame, treated_all, covariates=chosen, spec=matching, seed=seed)
    frame, treated, X = step.frame, step.treated, step.X
    n_t, n_c = _arm_sizes(treated)
    constant, ps_covariates, fitted, match = step.constant, step.covariates, step.fitted, step.match
    outside = step.diagnostics["outside_discrete_support"]
    weights = np.asarray(match.weights, dtype=float)
    in_match = weights > 0

    # balance after matching on the full sample with the matching weights (0 = unmatched), so
    # the SMD denominator is the unweighted treated SD, as MatchIt and cobalt report it
    before = balance_table(X, treated)
    after = balance_table(X, treated, weights=weights)
    balance = _combine_balance(before, after, labels)

    if matching.replace:
        # a control reused across matched sets has no single pair: cluster on the unit instead
        matched = frame.loc[in_match].assign(**{WEIGHT: weights[in_match]})
        matched[SUBCLASS] = np.arange(len(matched), dtype=np.int64)
    else:
        matched = match.match_data(frame).rename(columns={"weights": WEIGHT, "subclass": SUBCLASS})
    matched["propensity"] = np.asarray(fitted.propensity)[matched.index.to_numpy()]

    clusters_matched = _clusters(analysis.cluster, setting, matched=True)
    clusters_naive = _clusters(analysis.cluster, setting, matched=False)
    adjust = list(ps_covariates) if analysis.adjust_for == "matching_covariates" else []
    exposure_col = exposure or "_unit_exposure"
    data_all = frame if exposure else frame.assign(_unit_exposure=1.0)
    data_matched = matched if exposure else matched.assign(_unit_exposure=1.0)

    estimator = _outcome_estimator(analysis)
    estimates: list[EffectEstimate] = []
    for outcome in outcomes:
        if analysis.standard_errors == "abadie_imbens":
            from impacteval.pipeline.matching_step import abadie_imbens_estimate

            estimates.append(abadie_imbens_estimate(
                step, outcome, exposure=exposure, ci_level=analysis.ci_level,
                label=labels.get(outcome, outcome)))
        else:
            est = estimator.fit(
                data_matched, outcome=outcome, treatment=treatment, exposure=exposure_col,
                weights=WEIGHT, clusters=clusters_matched, covariates=adjust,
            )
            if analysis.standard_errors == "bootstrap":
                est = _bootstrapped(est, estimator, match, frame, data_matched, outcome=outcome,
                                    treatment=treatment, exposure=exposure_col, adjust=adjust,
                                    replace=matching.replace, n_boot=analysis.n_boot, seed=seed)
            estimates.append(_relabel(est, "matched", labels.get(outcome, outcome)))
        if analysis.naive_comparison:
            naive = estimator.fit(
                data_all, outcome=outcome, treatment=treatment, exposure=exposure_col,
                weights=None, clusters=clusters_naive, covariates=(),
            )
            estimates.append(_relabel(naive, "naive", labels.get(outcome, outcome)))

    summary = _outcome_summary(frame, matched, treatment, outcomes, exposure)
    flow = pd.DataFrame([
        *step.flow,
        {"step": "matched", "description": "Matched", "n_treated": int((treated & in_match).sum()),
         "n_control": int((~treated & in_match).sum())},
    ])
    n_discarded = int(np.asarray(match.discarded).sum())
    max_after = float(balance["smd_after"].abs().max())
    diagnostics: dict[str, Any] = {
        "n_treated_before": n_t,
        "n_control_before": n_c,
        "n_treated_matched": int((treated & in_match).sum()),
        "n_control_matched": int((~treated & in_match).sum()),
        "n_treated_discarded": n_discarded,
        "max_abs_smd_before": float(balance["smd_before"].abs().max()),
        "max_abs_smd_after": max_after,
        "smd_threshold": matching.smd_threshold,
        "covariates_over_smd_threshold": balance.loc[
            balance["smd_after"].abs() > matching.smd_threshold, "covariate"].tolist(),
        "variance_ratio_range": list(matching.variance_ratio_range),
        "covariates_outside_variance_ratio": _vr_outside(balance, matching.variance_ratio_range),
        "constant_covariates_dropped": constant,
        "outside_discrete_support": outside,
        "propensity_covariates": ps_covariates,
        "propensity_coefficients": {k: float(v) for k, v in fitted.coef.items()},
        "matching": {k: v for k, v in step.diagnostics.items()
                     if k not in ("outside_discrete_support",)},
        "standard_errors": analysis.standard_errors,
    }
    if not matching.replace and matching.ratio == 1:
        from impacteval.checks import sensitivity_diagnostics

        # Rosenbaum bounds on the matched pairs (rates per person-year where there is exposure)
        diagnostics["sensitivity"] = sensitivity_diagnostics(
            matched, outcomes, subclass=SUBCLASS, treated=treatment, person_time=exposure)
    figures = {
        "love_plot": love_plot(before.assign(covariate=before["covariate"].map(lambda c: labels.get(c, c))),
                               after.assign(covariate=after["covariate"].map(lambda c: labels.get(c, c))),
                               threshold=matching.smd_threshold),
        "propensity_overlap": overlap_plot(np.asarray(fitted.propensity), treated),
    }
    figure_data = {
        "love_plot": balance[["covariate", "label", "smd_before", "smd_after"]],
        # row-level scores: the report bins them and applies disclosure control to the bins
        "propensity_overlap": pd.DataFrame({"propensity": np.asarray(fitted.propensity),
                                            "treated": treated.astype(int)}),
    }
    return AnalysisOutput(
        estimates=tuple(estimates), balance=balance, table_one=_table_one(balance, n_t, n_c, diagnostics,
                             {c for c in chosen if set(pd.unique(X[c])) <= {0.0, 1.0}}),
        outcome_summary=summary, diagnostics=diagnostics, figures=figures,
        figure_data=figure_data, flow=flow, matched=matched,
    )


def _bootstrapped(est: EffectEstimate, estimator: Any, match: Any, frame: pd.DataFrame,
                  data_matched: pd.DataFrame, *, outcome: str, treatment: str, exposure: str,
                  adjust: list[str], replace: bool, n_boot: int, seed: int) -> EffectEstimate:
    """The estimate with a bootstrap over matched sets (pairs data with replacement)."""
    from impacteval.pipeline.matching_step import bootstrap_estimate

    if replace:
        # one row per unit per matched set (reused controls repeated), MatchIt's get_matches()
        data = match.pair_data(_with_exposure(frame, exposure))
        data = data.rename(columns={"weights": WEIGHT, "subclass": SUBCLASS})
    else:
        data = data_matched

    def statistic(sample: pd.DataFrame) -> float:
        return float(estimator.fit(sample, outcome=outcome, treatment=treatment,
                                   exposure=exposure, weights=WEIGHT, clusters=None,
                                   covariates=adjust).estimate)

    return bootstrap_estimate(est, statistic, data.reset_index(drop=True), cluster=SUBCLASS,
                              n_boot=n_boot, seed=seed)


def _with_exposure(frame: pd.DataFrame, exposure: str) -> pd.DataFrame:
    return frame if exposure in frame.columns else frame.assign(**{exposure: 1.0})


def discrete_common_support(
    frame: pd.DataFrame, treated: np.ndarray, covariates: Sequence[str]
) -> tuple[np.ndarray, dict[str, dict[str, int]]]:
    """Keep units whose binary covariate values occur in both arms.

    A value of a binary covariate seen in one arm only (say, rural homes only among the
    comparison residents) predicts treatment perfectly (quasi-complete separation): the
    propensity model has no finite maximum-likelihood estimate and such units have no
    comparable counterpart. Ordinal and count covariates are left to the propensity model
    and the caliper.
    They are set aside before the propensity model, so the estimand is the ATT on the
    region of common support; how many were set aside, per covariate and arm, is reported.

    Returns
    -------
    keep
        Boolean mask over the rows of ``frame``.
    outside
        ``{covariate: {"treated": n, "control": n}}`` for covariates that removed units.
    """
    keep = np.ones(len(frame), dtype=bool)
    outside: dict[str, dict[str, int]] = {}
    for col in covariates:
        values = frame[col].to_numpy()
        if len(pd.unique(values)) != 2:
            continue
        in_t = set(pd.unique(values[treated & keep]))
        in_c = set(pd.unique(values[~treated & keep]))
        shared = in_t & in_c
        drop = keep & ~np.isin(values, list(shared))
        if drop.any():
            outside[col] = {"treated": int((drop & treated).sum()),
                            "control": int((drop & ~treated).sum())}
            keep &= ~drop
    return keep, outside


def _outcome_estimator(analysis: AnalysisSpec) -> Any:
    """The configured outcome estimator: the built-in rate ratio with the configured family,
    or any registered estimator (a plugin's) with its defaults."""
    from impacteval.estimators import ESTIMATORS
    from impacteval.estimators.regression import MatchedRateRatio

    if analysis.estimator == "matched_rate_ratio":
        return MatchedRateRatio(family=analysis.family, ci_level=analysis.ci_level)
    cls = ESTIMATORS.get(analysis.estimator, where="analysis.estimator")
    return cls()


def _clusters(kind: str, setting: str | None, *, matched: bool) -> list[str] | None:
    wanted: list[str] = []
    if matched and kind in ("pair", "pair_and_setting"):
        wanted.append(SUBCLASS)
    if kind in ("setting", "pair_and_setting"):
        if setting is None:
            raise DesignError("clustering on setting needs a setting column", where="analysis.cluster",
                              hint="set roles.cluster, or use cluster: pair")
        wanted.append(setting)
    return wanted or None


def _relabel(est: EffectEstimate, sample: str, label: str) -> EffectEstimate:
    from dataclasses import replace

    details = dict(est.details)
    details["sample"] = sample
    return replace(est, estimator=f"{est.estimator}:{sample}", label=label, details=details)


def _vr_outside(balance: pd.DataFrame, rng: tuple[float, float]) -> list[str]:
    vr = balance["variance_ratio_after"]
    mask = vr.notna() & ((vr < rng[0]) | (vr > rng[1]))
    return balance.loc[mask, "covariate"].tolist()


def _combine_balance(before: pd.DataFrame, after: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    b = before.set_index("covariate")
    a = after.set_index("covariate")
    out = pd.DataFrame({
        "covariate": b.index,
        "label": [labels.get(c, c) for c in b.index],
        "mean_treated_before": b["mean_treated"].to_numpy(),
        "mean_control_before": b["mean_control"].to_numpy(),
        "mean_treated_after": a.loc[b.index, "mean_treated"].to_numpy(),
        "mean_control_after": a.loc[b.index, "mean_control"].to_numpy(),
        "smd_before": b["smd"].to_numpy(),
        "smd_after": a.loc[b.index, "smd"].to_numpy(),
        "variance_ratio_before": b["variance_ratio"].to_numpy(),
        "variance_ratio_after": a.loc[b.index, "variance_ratio"].to_numpy(),
        "ecdf_max_after": a.loc[b.index, "ecdf_max"].to_numpy(),
        "ks_after": a.loc[b.index, "ks"].to_numpy(),
    })
    return out.reset_index(drop=True)


def _table_one(balance: pd.DataFrame, n_t: int, n_c: int, diag: Mapping[str, Any],
               binary: set[str]) -> pd.DataFrame:
    rows = [{
        "covariate": "n", "label": "Number of people", "statistic": "count",
        "treated_before": n_t, "control_before": n_c,
        "treated_after": diag["n_treated_matched"], "control_after": diag["n_control_matched"],
    }]
    for r in balance.itertuples(index=False):
        rows.append({
            "covariate": r.covariate, "label": r.label,
            "statistic": "proportion" if r.covariate in binary else "mean",
            "treated_before": r.mean_treated_before, "control_before": r.mean_control_before,
            "treated_after": r.mean_treated_after, "control_after": r.mean_control_after,
        })
    return pd.DataFrame(rows)


def _outcome_summary(frame: pd.DataFrame, matched: pd.DataFrame, treatment: str,
                     outcomes: Sequence[str], exposure: str | None) -> pd.DataFrame:
    rows = []
    for sample, df in (("all", frame), ("matched", matched)):
        arm_mask = df[treatment].astype(bool)
        for arm, mask in (("treated", arm_mask), ("control", ~arm_mask)):
            sub = df.loc[mask]
            py = float(sub[exposure].sum()) if exposure else float(len(sub))
            for outcome in outcomes:
                events = float(sub[outcome].sum())
                rows.append({
                    "outcome": outcome, "sample": sample, "arm": arm,
                    "n_persons": len(sub), "events": events,
                    "person_years": py,
                    "rate_per_1000_py": 1000.0 * events / py if py > 0 else float("nan"),
                })
    return pd.DataFrame(rows)
