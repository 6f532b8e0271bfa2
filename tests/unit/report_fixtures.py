"""A realistic fake EvaluationResult for the report tests (no pipeline run needed).

The numbers mimic a small Rushcliffe-like matched cohort (nhs_routine_data.md section 3.1):
about 400 treated care-home residents matched 1:1 from about 3,000 controls, with a few
small cells (rare ethnic groups, a handful of rejected rows, few deaths) so that disclosure
control has something to suppress.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from impacteval.config.models import Config
from impacteval.results import EffectEstimate, EvaluationResult

TRUE_RATE_RATIO = 0.75


def fake_config(**sdc: Any) -> dict[str, Any]:
    """A validated config dumped as JSON-ready data (as the pipeline passes it)."""
    cfg = Config(
        evaluation={"id": "rushcliffe-demo", "title": "Enhanced support for care-home residents"},
        data={
            "persons": "data/persons.parquet",
            "apc_episodes": "data/apc_episodes.parquet",
            "ae_attendances": "data/ae_attendances.parquet",
            "op_appointments": "data/op_appointments.parquet",
            "deaths": "/secure/extract/deaths.parquet",
            "data_cut": dt.date(2016, 8, 31),
        },
        cohort={
            "index_window": (dt.date(2014, 1, 1), dt.date(2016, 3, 31)),
            "treated_settings_file": "data/intervention_settings.csv",
            "control_areas": ["03W", "04C", "10X"],
        },
        sdc=sdc or {},
    )
    return cfg.model_dump(mode="json")


def _estimate(outcome: str, rr: float, se: float, *, naive: bool, n_t: int, n_c: int,
              rate_c: float) -> EffectEstimate:
    z = 1.959963984540054
    lo, hi = rr * np.exp(-z * se), rr * np.exp(z * se)
    rate_t = rate_c * rr
    diff = rate_t - rate_c
    return EffectEstimate(
        design="matched_cohort",
        estimator="matched_rate_ratio",
        outcome=outcome,
        estimand="ATT",
        scale="rate_ratio",
        estimate=rr,
        std_error=se,
        ci_lower=float(lo),
        ci_upper=float(hi),
        p_value=0.0123 if not naive else 0.43,
        n_treated=n_t,
        n_control=n_c,
        label="naive (unmatched)" if naive else "matched",
        details={
            "sample": "unmatched" if naive else "matched",
            "se_scale": "log",
            "family": "poisson",
            "cluster": "pair",
            # keys as written by impacteval.estimators.regression.MatchedRateRatio
            "rate_treated": rate_t,
            "rate_control": rate_c,
            "rate_unit": "per 1,000 person-years",
            "absolute_difference_per_1000_py": diff,
            "absolute_difference_ci_lower": diff - 120.0,
            "absolute_difference_ci_upper": diff + 110.0,
            "n_events_treated": rate_t * 512.31 / 1000,
            "n_events_control": rate_c * 540.77 / 1000,
            "person_years_treated": 512.31,
            "person_years_control": 540.77,
            "n_clusters": n_t,
        },
    )


def fake_result(*, with_truth: bool = True, with_private: bool = True, **sdc: Any
                ) -> EvaluationResult:
    """Build the fake result. Deterministic (fixed seed)."""
    rng = np.random.default_rng(20170401)
    covs = ["age", "female", "charlson", "hfrs", "prior_emergency_admissions",
            "prior_ae_attendances", "prior_elective_admissions", "imd_quintile_1",
            "ethnicity_other"]
    smd_before = np.array([0.42, 0.08, 0.31, 0.38, 0.35, 0.29, 0.05, 0.12, 0.02])
    balance = pd.DataFrame(
        {
            "covariate": covs,
            "smd_before": smd_before,
            "smd_after": np.array([0.03, -0.02, 0.04, 0.12, 0.05, 0.01, -0.03, 0.02, 0.0]),
            "variance_ratio_before": [1.4, 1.0, 1.3, 1.5, 1.6, 1.2, 1.0, 1.1, 1.0],
            "variance_ratio_after": [1.05, 1.0, 1.02, 1.1, 1.08, 0.97, 1.0, 1.0, 2.6],
            "ecdf_max_after": [0.04, 0.01, 0.03, 0.06, 0.02, 0.02, 0.01, 0.01, 0.0],
        }
    )
    table_one = pd.DataFrame(
        {
            "covariate": ["n", "age", "female", "charlson", "imd_quintile_1", "ethnicity_other"],
            "statistic": ["n", "mean", "percent", "mean", "percent", "percent"],
            "treated_before": [402, 86.4, 68.2, 2.1, 21.4, 1.2],
            "control_before": [3117, 83.9, 66.0, 1.7, 19.0, 2.3],
            "treated_after": [398, 86.3, 68.1, 2.1, 21.6, 1.3],
            "control_after": [398, 86.1, 67.8, 2.0, 21.1, 0.8],
        }
    )
    attrition = pd.DataFrame(
        {
            "step": [1, 2, 3, 4, 5],
            "description": [
                "moved into a care home in the index window",
                "aged 65 or over at move-in",
                "alive at move-in and linked to hospital records",
                "in an intervention setting or a comparison area",
                "matched (within caliper)",
            ],
            "n_treated": [431, 420, 409, 402, 398],
            "n_control": [5210, 4988, 4712, 3117, 398],
        }
    )
    outcomes = ["emergency_admissions", "ae_attendances", "elective_admissions"]
    est = []
    summary_rows = []
    for o, rate_c in zip(outcomes, [1210.0, 1640.0, 95.0], strict=False):
        rr = TRUE_RATE_RATIO if o != "elective_admissions" else 1.0
        est.append(_estimate(o, rr * 1.02, 0.09, naive=False, n_t=398, n_c=398, rate_c=rate_c))
        est.append(_estimate(o, rr * 1.31, 0.06, naive=True, n_t=402, n_c=3117, rate_c=rate_c))
        for arm, n, py in (("treated", 398, 512.31), ("control", 398, 540.77)):
            events = int(round(rate_c / 1000 * py * (rr if arm == "treated" else 1.0)))
            events = 6 if o == "elective_admissions" and arm == "treated" else events
            summary_rows.append(
                {"outcome": o, "arm": arm, "sample": "matched", "n_persons": n,
                 "events": events, "person_years": py,
                 "rate_per_1000_py": events / py * 1000}
            )
    ingest = pd.DataFrame(
        {
            "table": ["persons", "apc_episodes", "apc_episodes", "ae_attendances",
                      "op_appointments", "deaths"],
            "measure": ["rows_read", "rows_read", "rows_rejected:epiend_before_epistart",
                        "rows_read", "rows_read", "rows_read"],
            "count": [52340, 611203, 3, 402117, 880412, 9120],
        }
    )
    linkage = pd.DataFrame(
        {
            "table": ["apc_episodes", "apc_episodes", "apc_episodes", "deaths", "deaths"],
            "measure": ["records", "linked", "orphaned", "records", "linked"],
            "count": [611200, 611192, 8, 9120, 9120],
        }
    )
    n = 402 + 3117
    logit = np.concatenate([rng.normal(0.4, 1.0, 402), rng.normal(-1.5, 1.1, 3117)])
    overlap = pd.DataFrame({"logit": logit, "treated": np.r_[np.ones(402), np.zeros(3117)]})
    producer_fig = Figure(figsize=(4, 3))
    ax = producer_fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("design-specific figure")
    private = {}
    if with_private:
        private["matched_cohort"] = pd.DataFrame(
            {
                "person_id": [f"P{i:06d}" for i in range(796)],
                "treated": np.r_[np.ones(398, int), np.zeros(398, int)],
                "subclass": np.r_[np.arange(398), np.arange(398)],
                "logit": rng.normal(0, 1, 796),
            }
        )
    truth = None
    if with_truth:
        truth = {
            "outcomes": {
                "emergency_admissions": {"scale": "rate_ratio", "value": 0.75},
                "ae_attendances": {"scale": "rate_ratio", "value": 0.75},
                "elective_admissions": {"scale": "rate_ratio", "value": 1.0},
            },
            "seed": 1,
            "n_persons": n,
            "data_cut": "2016-08-31",
        }
    return EvaluationResult(
        evaluation_id="rushcliffe-demo",
        title="Enhanced support for care-home residents",
        design="matched_cohort",
        config=fake_config(**sdc),
        estimates=tuple(est),
        balance=balance,
        table_one=table_one,
        attrition=attrition,
        ingest_report=ingest,
        linkage_report=linkage,
        outcome_summary=pd.DataFrame(summary_rows),
        diagnostics={
            "max_abs_smd_after": 0.12,
            "n_discarded": 4,
            "n_discarded_treated": 4,
            "caliper_sd": 0.2,
            "warnings": ["hfrs: standardised mean difference 0.12 after matching exceeds 0.1"],
        },
        figures={"design_check": producer_fig},
        figure_data={
            "propensity_overlap": overlap,
            "design_check": pd.DataFrame({"x": [0.0, 1.0], "n": [123, 7]}),
        },
        private=private,
        truth=truth,
    )


FAKE_MANIFEST: dict[str, Any] = {
    "config_hash": "sha256:3f1c0d9e",
    "seed": 2017,
    "engine": "duckdb",
    "versions": {"impacteval": "0.1.0", "python": "3.11"},
    "input_hashes": {"persons.parquet": "sha256:aa11"},
    "timings": {"ingest": 1.5, "match": 0.4},
}


def rich_result() -> EvaluationResult:
    """The fake result with every optional report part: sensitivity diagnostics (Rosenbaum
    bounds of the published lead data, Rosenbaum 2002 section 4.3.3), negative controls, an
    alternative specification, a second design (triangulation) and IMD/sex subgroups."""
    import dataclasses
    from pathlib import Path

    from impacteval.checks import rosenbaum_wilcoxon

    base = fake_result()
    lead = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data"
                       / "lead_pairs.csv")
    bounds = rosenbaum_wilcoxon(lead["treated"], lead["control"], gammas=[1, 2, 3, 4, 5])

    def est(outcome: str, rr: float, lo: float, hi: float, design: str = "matched_cohort",
            **details: Any) -> EffectEstimate:
        return EffectEstimate(design=design, estimator=f"{design}_estimator", outcome=outcome,
                              estimand="ATT", scale="rate_ratio", estimate=rr, std_error=0.1,
                              ci_lower=lo, ci_upper=hi, p_value=0.03, n_treated=398,
                              n_control=398, details={"sample": "matched", **details})

    def level(name: str, n: int, ev_t: int, ev_c: int, py: float, rr: float) -> dict[str, Any]:
        return {"level": name, "n_treated": n, "n_control": n, "events_treated": ev_t,
                "events_control": ev_c, "person_years_treated": py,
                "person_years_control": py, "estimate": rr, "ci_lower": rr * 0.8,
                "ci_upper": rr * 1.25}

    subgroups = [
        {"variable": "imd_quintile", "label": "IMD quintile", "outcome": "emergency_admissions",
         "scale": "rate_ratio", "interaction_p": 0.004, "gap_levels": ["1", "5"],
         "levels": [level("1", 120, 180, 300, 200.0, 0.6), level("2", 90, 120, 150, 150.0, 0.8),
                    level("3", 80, 100, 110, 140.0, 0.9), level("4", 100, 110, 120, 160.0, 0.92),
                    level("5", 100, 95, 100, 200.0, 0.95), level("unknown", 4, 3, 5, 6.0, 0.6)]},
        {"variable": "sex", "outcome": "emergency_admissions", "scale": "rate_ratio",
         "interaction_p": 0.40,
         "levels": [level("female", 300, 400, 500, 500.0, 0.8),
                    level("male", 194, 208, 285, 356.0, 0.73)]},
    ]
    extra = (
        est("elective_hip_replacement", 1.03, 0.86, 1.24),
        est("emergency_admissions", 0.80, 0.69, 0.93, specification="caliper 0.1 SD"),
        est("emergency_admissions", 0.82, 0.70, 0.96, design="difference_in_differences"),
    )
    diagnostics = {
        **base.diagnostics,
        "sensitivity": {
            "rosenbaum": {"emergency_admissions": bounds.to_dict()},
            "negative_controls": {"outcomes": ["elective_hip_replacement"]},
        },
        "subgroups": subgroups,
    }
    return dataclasses.replace(base, estimates=base.estimates + extra, diagnostics=diagnostics)
