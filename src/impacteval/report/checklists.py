"""Credibility checklist, design diagnostics, and STROBE/RECORD checklists for the report.

The STROBE items (von Elm E et al. The Strengthening the Reporting of Observational Studies in
Epidemiology (STROBE) statement. Lancet 2007;370:1453-7; cohort-study checklist) and the
RECORD extension for routinely collected health data (Benchimol EI et al. PLoS Med
2015;12:e1001885) are each mapped to the report section (HTML anchor) that addresses them,
with a short note filled from the run (sources, linkage rates, flow, code lists and versions,
diagnostics). Items a routine-data evaluation cannot address from the run (e.g. funding) say
so: the checklist never claims more than the report shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DESIGN_ASSUMPTIONS",
    "DESIGN_DIAGNOSTICS",
    "DIAGNOSTIC_ALIASES",
    "RECORD_ITEMS",
    "STROBE_ITEMS",
    "before_after_design",
    "codelists_used",
    "credibility_checklist",
    "design_diagnostics",
    "fill_checklist",
]

#: STROBE (cohort) items: (item, topic, section anchor).
STROBE_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("1", "Title and abstract: design named, informative summary", "summary"),
    ("2", "Background and rationale", "summary"),
    ("3", "Objectives", "summary"),
    ("4", "Study design presented early", "methods-design"),
    ("5", "Setting: locations, periods of recruitment, follow-up, data collection", "methods-design"),
    ("6", "Participants: eligibility, sources, methods of selection; matching criteria",
     "methods-design"),
    ("7", "Variables: outcomes, exposures, confounders, effect modifiers", "methods-codelists"),
    ("8", "Data sources and measurement", "methods-sources"),
    ("9", "Bias: efforts to address potential sources of bias", "methods-assumptions"),
    ("10", "Study size", "participants"),
    ("11", "Quantitative variables: handling and groupings", "descriptive"),
    ("12", "Statistical methods: confounding, subgroups, missing data, sensitivity analyses",
     "methods-design"),
    ("13", "Participants: numbers at each stage, reasons for non-participation, flow diagram",
     "participants"),
    ("14", "Descriptive data: characteristics, missing data, follow-up time", "descriptive"),
    ("15", "Outcome data: numbers of outcome events or summary measures over time", "outcomes"),
    ("16", "Main results: unadjusted and adjusted estimates with precision", "results"),
    ("17", "Other analyses: subgroups, interactions, sensitivity analyses", "sensitivity"),
    ("18", "Key results with reference to objectives", "summary"),
    ("19", "Limitations: sources of bias or imprecision, direction and magnitude", "limitations"),
    ("20", "Cautious overall interpretation", "summary"),
    ("21", "Generalisability (external validity)", "limitations"),
    ("22", "Funding", "reproducibility"),
)

#: RECORD extension items: (item, topic, section anchor).
RECORD_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("1.1", "Type of data used named in title or abstract", "summary"),
    ("1.2", "Geographic region and time frame", "methods-design"),
    ("1.3", "Linkage between databases stated", "methods-linkage"),
    ("6.1", "Methods of population selection: codes and algorithms", "methods-codelists"),
    ("6.2", "Validation studies of the codes or algorithms", "methods-codelists"),
    ("6.3", "Linkage: flow diagram or description of the linkage", "methods-linkage"),
    ("7.1", "Complete list of codes and algorithms for exposures, outcomes, confounders",
     "methods-codelists"),
    ("12.1", "Extent of access to the database population", "methods-sources"),
    ("12.2", "Data cleaning methods", "methods-sources"),
    ("12.3", "Linkage methods and quality evaluation", "methods-linkage"),
    ("13.1", "Selection of persons in detail, with a flow diagram", "participants"),
    ("19.1", "Implications of using data not created for the research question "
     "(misclassification, unmeasured confounding, missing data, changing eligibility)",
     "limitations"),
    ("22.1", "Access to protocol, raw data and programming code", "reproducibility"),
)

#: Design diagnostics recognised in ``result.diagnostics``: key -> (label, rule, threshold).
#: ``rule`` ``p_above``: passes when the p-value is at least the threshold (no evidence
#: against the assumption); ``at_least``: passes when the value is at least the threshold;
#: ``at_most``: passes when at most.
DESIGN_DIAGNOSTICS: dict[str, tuple[str, str, float, str]] = {
    "pretrend_p_value": ("Parallel pre-trends (joint test of leads)", "p_above", 0.05,
                         "parallel trends before the intervention"),
    "pre_trend_p_value": ("Parallel pre-trends (joint test of leads)", "p_above", 0.05,
                          "parallel trends before the intervention"),
    "first_stage_f": ("Instrument strength (first-stage F)", "at_least", 10.0,
                      "a relevant (strong) instrument"),
    "density_test_p_value": ("No manipulation at the cut-off (density test)", "p_above", 0.05,
                             "no sorting around the threshold"),
    "pre_period_rmspe_ratio": ("Pre-period fit of the synthetic control (RMSPE ratio)",
                               "at_most", 0.1, "a close pre-intervention fit"),
    "max_abs_smd_after": ("Largest standardised mean difference after matching", "at_most",
                          0.1, "balance on measured covariates"),
}

#: Each design's identifying assumption in plain words and the diagnostics that probe it
#: (shown in the Methods design paragraph for designs without their own template).
DESIGN_ASSUMPTIONS: dict[str, str] = {
    "difference_in_differences": (
        "Changes in the outcome from before to after the intervention are compared between the "
        "intervention group and a comparison group. The key assumption is parallel trends: "
        "without the intervention both groups would have changed alike. It is probed by the "
        "test of pre-intervention effects (leads of the event study)"
    ),
    "interrupted_time_series": (
        "The outcome series after the intervention is compared with the continuation of its "
        "pre-intervention level and trend. The key assumptions are that the pre-period trend "
        "would have continued and that nothing else changed at the same time; autocorrelation "
        "is checked by the Ljung-Box test. A single-group before-and-after comparison is "
        "exposed to regression to the mean (see Limitations)"
    ),
    "regression_discontinuity": (
        "People just above and just below the eligibility threshold are compared. The key "
        "assumptions are that the outcome would have been continuous at the threshold and "
        "that people could not sort themselves across it; the density test probes sorting"
    ),
    "instrumental_variables": (
        "An instrument that shifts who receives the intervention is used to compare like with "
        "like. The key assumptions are relevance (checked by the first-stage F statistic), "
        "independence of the instrument from unmeasured confounders, and that the instrument "
        "affects the outcome only through the intervention (neither can be tested)"
    ),
    "synthetic_control": (
        "The treated area is compared with a weighted combination of untreated areas that "
        "reproduces its pre-intervention outcomes. The key assumption is that a close "
        "pre-period fit carries over after the intervention; the pre-period fit and placebo "
        "tests in the untreated areas probe it"
    ),
    "synthetic_did": (
        "Synthetic difference-in-differences reweights comparison units and pre-periods so "
        "that pre-intervention trends match; the key assumption is parallel trends after "
        "reweighting, probed by the pre-period fit"
    ),
}

_CODELIST_HINTS = (
    ("charlson", ("charlson_1987", "charlson_quan_2011")),
    ("hfrs", ("hfrs",)),
    ("frailty", ("frailty_iau6", "frailty_imperial9")),
    ("avoidable", ("acsc",)),
    ("acsc", ("acsc",)),
)

_BEFORE_AFTER = ("before_after", "pre_post", "its", "interrupted_time_series", "uncontrolled")


def before_after_design(design: str) -> bool:
    """True for designs that compare a group with itself over time (regression to the mean)."""
    d = design.lower()
    return any(k in d for k in _BEFORE_AFTER)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


#: Where the pipeline's design steps put the same diagnostics (nested records), by key.
DIAGNOSTIC_ALIASES: dict[str, tuple[str, ...]] = {
    "pretrend_p_value": ("pretrend_wald.p_value", "event_study.pretrend_wald.p_value"),
    "first_stage_f": ("first_stage.weak_instrument_f",),
    "density_test_p_value": ("density_test.p_value",),
}


def _lookup(diagnostics: Mapping[str, Any], path: str) -> Any:
    value: Any = diagnostics
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def design_diagnostics(diagnostics: Mapping[str, Any], smd_threshold: float = 0.1
                       ) -> list[dict[str, Any]]:
    """Recognised design diagnostics with the assumption each checks and a pass/fail.

    Each key of :data:`DESIGN_DIAGNOSTICS` is read from ``diagnostics`` directly or, failing
    that, from the nested places listed in :data:`DIAGNOSTIC_ALIASES` (e.g. the RDD step's
    ``density_test.p_value``, the IV step's ``first_stage.weak_instrument_f``).
    """
    rows = []
    for key, (label, rule, threshold, assumption) in DESIGN_DIAGNOSTICS.items():
        raw = diagnostics.get(key)
        for alias in DIAGNOSTIC_ALIASES.get(key, ()):
            if raw is not None:
                break
            raw = _lookup(diagnostics, alias)
        if not isinstance(raw, (int, float)) or not _finite(raw):
            continue
        value = float(raw)
        if key == "max_abs_smd_after":
            threshold = smd_threshold
        ok = (value >= threshold) if rule in ("p_above", "at_least") else (value <= threshold)
        sign = {"p_above": "p >=", "at_least": ">=", "at_most": "<="}[rule]
        rows.append({"key": key, "label": label, "assumption": assumption,
                     "value": f"{value:.3g}", "rule": f"{sign} {threshold:g}",
                     "ok": bool(ok)})
    return rows


def codelists_used(result_config: Mapping[str, Any], covariates: Sequence[str],
                   outcomes: Sequence[str], diagnostics: Mapping[str, Any],
                   versions: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Code lists behind the run's variables, with version and source.

    ``diagnostics["codelists"]`` (a list of names, if the pipeline records it) wins; otherwise
    lists are inferred from covariate and outcome names (``charlson``, ``hfrs``, ``frailty``,
    ``avoidable`` -> ACSC). Unknown names are listed with version ``unknown``.
    """
    names: list[str]
    given = diagnostics.get("codelists")
    if isinstance(given, (list, tuple)) and given:
        names = [str(n) for n in given]
    else:
        text = " ".join([*map(str, covariates), *map(str, outcomes)]).lower()
        comorb = str((result_config.get("cohort") or {}).get("comorbidity", "")).lower()
        names = []
        for hint, lists in _CODELIST_HINTS:
            if hint in text:
                chosen = [n for n in lists if n == comorb] or [lists[0]]
                names += [n for n in chosen if n not in names]
    rows = []
    for n in names:
        v = versions.get(n, {})
        rows.append({"name": n, "version": str(v.get("version", "unknown")),
                     "description": str(v.get("description", "")),
                     "source": str(v.get("source", ""))})
    return rows


def credibility_checklist(
    *,
    balance: Sequence[Mapping[str, Any]],
    diagnostics: Mapping[str, Any],
    design: str,
    design_checks: Sequence[Mapping[str, Any]],
    regime_name: str,
    n_suppressed: int,
    evalue_primary: Mapping[str, Any] | None,
    negative_controls: Sequence[Mapping[str, Any]],
    n_limitations: int,
) -> list[dict[str, str]]:
    """The credibility checklist at the top of the report.

    Each row: ``question``, ``status`` (``yes``, ``no``, ``caution``, ``n/a``), ``detail`` and
    ``anchor`` (the section with the evidence). Rules: balance ``no`` when any covariate fails
    its thresholds; overlap ``caution`` when treated people were discarded; pre-trends from
    ``pretrend_p_value`` (``caution`` for a before-and-after design without one, ``n/a``
    otherwise); each other recognised design diagnostic by its rule
    (:data:`DESIGN_DIAGNOSTICS`); hidden confounding ``caution`` when the E-value of the
    primary estimate's confidence limit is below 1.5 (a weak confounder could make the effect
    uncertain; the cut-off is a reporting convention, not a test); negative controls ``no``
    when any shows an effect.
    """
    rows: list[dict[str, str]] = []
    if balance:
        bad = [b["covariate"] for b in balance if not b.get("ok")]
        rows.append({"question": "Are the compared groups balanced on recorded characteristics?",
                     "status": "no" if bad else "yes",
                     "detail": (f"{len(bad)} of {len(balance)} covariates outside the thresholds"
                                if bad else f"all {len(balance)} covariates within thresholds"),
                     "anchor": "balance"})
    discarded = next((diagnostics[k] for k in ("n_treated_discarded", "n_discarded_treated",
                                                "n_discarded") if k in diagnostics), None)
    if discarded is not None:
        some = isinstance(discarded, str) or (_finite(discarded) and discarded > 0)
        rows.append({"question": "Do the groups overlap (comparable people found for everyone)?",
                     "status": "caution" if some else "yes",
                     "detail": (f"{discarded} treated people had no comparable match and were "
                                "left out" if some else "every treated person was matched"),
                     "anchor": "balance"})
    pre = [c for c in design_checks if c["key"] in ("pretrend_p_value", "pre_trend_p_value")]
    if pre:
        rows.append({"question": "Were trends parallel before the intervention?",
                     "status": "yes" if pre[0]["ok"] else "no",
                     "detail": f"joint test of pre-period effects: p = {pre[0]['value']}",
                     "anchor": "methods-assumptions"})
    elif before_after_design(design):
        rows.append({"question": "Were trends parallel before the intervention?",
                     "status": "caution", "detail": "no pre-trend test was supplied",
                     "anchor": "limitations"})
    else:
        rows.append({"question": "Were trends parallel before the intervention?",
                     "status": "n/a", "detail": "not a before-and-after design",
                     "anchor": "methods-design"})
    for c in design_checks:
        if c["key"] in ("pretrend_p_value", "pre_trend_p_value", "max_abs_smd_after"):
            continue
        rows.append({"question": f"{c['label']}: {c['assumption']}?",
                     "status": "yes" if c["ok"] else "no",
                     "detail": f"{c['value']} (rule {c['rule']})",
                     "anchor": "methods-assumptions"})
    if evalue_primary is not None:
        rows.append({"question": "How strong would hidden confounding need to be?",
                     "status": "caution" if evalue_primary["ci_raw"] < 1.5 else "yes",
                     "detail": (f"E-value {evalue_primary['point']} for the estimate, "
                                f"{evalue_primary['ci']} for the confidence limit"),
                     "anchor": "sensitivity"})
    if negative_controls:
        bad_nc = [n for n in negative_controls if not n["ok"]]
        rows.append({"question": "Do negative controls show no effect, as they should?",
                     "status": "no" if bad_nc else "yes",
                     "detail": (f"{len(bad_nc)} of {len(negative_controls)} show an effect"
                                if bad_nc else f"none of {len(negative_controls)} shows an effect"),
                     "anchor": "sensitivity"})
    rows.append({"question": "Was disclosure control applied to every released count?",
                 "status": "yes",
                 "detail": f"regime {regime_name}; {n_suppressed} cell(s) suppressed",
                 "anchor": "methods-disclosure"})
    rows.append({"question": "Are the known limitations stated?", "status": "yes",
                 "detail": f"{n_limitations} limitation(s) listed", "anchor": "limitations"})
    return rows


def fill_checklist(items: Sequence[tuple[str, str, str]], notes: Mapping[str, str]
                   ) -> list[dict[str, str]]:
    """Checklist rows ``item, topic, section, note`` (note from ``notes`` by item, or '')."""
    return [{"item": i, "topic": t, "section": s, "note": notes.get(i, "")}
            for i, t, s in items]
