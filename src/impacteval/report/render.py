"""Render the report (HTML and Markdown) from released tables with Jinja2 templates.

:func:`build_context` turns an :class:`~impacteval.results.EvaluationResult`, its released
tables (after disclosure control) and the run manifest into a plain dict of display-ready
values, organised by STROBE section. The templates only lay that dict out; all text is
escaped (HTML autoescape; a Markdown filter for the Markdown report).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from impacteval.checks import evalue_for_estimate
from impacteval.derive.codelists import codelist_versions
from impacteval.report.checklists import (
    DESIGN_ASSUMPTIONS,
    RECORD_ITEMS,
    STROBE_ITEMS,
    before_after_design,
    codelists_used,
    credibility_checklist,
    design_diagnostics,
    fill_checklist,
)
from impacteval.report.design_text import (
    SERIES_DESIGNS,
    design_limitations,
    design_methods,
    series_summary,
    spc_context,
    summary_lead,
)
from impacteval.report.sdc import DisclosureRegime
from impacteval.report.sensitivity import evalue_rows, sensitivity_context
from impacteval.report.subgroups import subgroup_context
from impacteval.report.tables import (
    ReleasedTable,
    absolute_difference,
    absolute_difference_ci,
    is_naive,
)
from impacteval.report.triangulation import triangulation_context, triangulation_table
from impacteval.results import EffectEstimate, EvaluationResult

__all__ = [
    "build_context",
    "fmt_count",
    "fmt_number",
    "fmt_p",
    "outcome_label",
    "plain_summary",
    "render_html",
    "render_markdown",
]

_OUTCOME_LABELS = {
    "emergency_admissions": "emergency admissions",
    "avoidable_emergency_admissions": "avoidable emergency admissions",
    "elective_admissions": "elective admissions",
    "ae_attendances": "A&E attendances",
    "op_attendances": "outpatient attendances",
    "bed_days": "hospital bed days",
    "deaths": "deaths",
}

_FAMILIES = {"poisson": "Poisson", "negative_binomial": "negative binomial (NB2)"}

#: Figures the report places in its own sections; other figures go after the main results.
_REPORT_FIGURES = ("flow", "love_plot", "propensity_overlap", "forest", "triangulation")

#: Diagnostics shown in their own sections, not in the generic diagnostics table.
_STRUCTURED_DIAGNOSTICS = ("sensitivity", "subgroups", "codelists", "warnings", "spc")


def outcome_label(outcome: str) -> str:
    """Readable name of an outcome (``ae_attendances`` -> ``A&E attendances``)."""
    return _OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))


def fmt_count(value: Any) -> str:
    """A released count with thousands separators; a suppression label as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value
    return f"{int(value):,}"


def fmt_number(value: Any, digits: int = 2) -> str:
    """A number to ``digits`` decimals; text (labels) as it is; missing as a dash."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "-"
    return f"{x:,.{digits}f}"


def fmt_p(p: Any) -> str:
    """A p-value: ``<0.001`` or three decimals."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def _pct(x: float) -> str:
    return f"{abs(x):.0f}%"


def _primary_outcome(result: EvaluationResult) -> str | None:
    cfg = result.config
    roles = cfg.get("roles") or {}
    candidates = list(roles.get("outcomes") or cfg.get("outcomes") or [])
    matched = [e.outcome for e in result.estimates if not is_naive(e)]
    for o in candidates:
        if o in matched:
            return str(o)
    return matched[0] if matched else None


def plain_summary(estimate: EffectEstimate) -> dict[str, Any]:
    """Plain-English statements of one (matched) estimate for commissioners.

    Returns ``headline`` (relative change with its CI), ``absolute`` (difference per 1,000
    person-years, if the estimate carries it), ``excludes_null`` and ``interpretation``.
    """
    label = outcome_label(estimate.outcome)
    level = f"{estimate.ci_level * 100:g}%"
    rr, lo, hi = estimate.estimate, estimate.ci_lower, estimate.ci_upper
    if estimate.scale in ("rate_ratio", "risk_ratio", "odds_ratio"):
        null = 1.0
        change = (rr - 1.0) * 100
        word = "fewer" if change < 0 else "more"
        lo_c, hi_c = (lo - 1.0) * 100, (hi - 1.0) * 100
        if hi_c < 0:
            ci = f"{level} CI {_pct(hi_c)} to {_pct(lo_c)} fewer"
        elif lo_c > 0:
            ci = f"{level} CI {_pct(lo_c)} to {_pct(hi_c)} more"
        else:
            ci = f"{level} CI from {_pct(lo_c)} fewer to {_pct(hi_c)} more"
        headline = f"an estimated {_pct(change)} {word} {label} ({ci})"
        if estimate.scale == "odds_ratio":
            headline = f"odds of {label} an estimated {_pct(change)} {'lower' if change < 0 else 'higher'} ({ci.replace('fewer', 'lower').replace('more', 'higher')})"
    else:
        null = 0.0
        headline = (
            f"an estimated difference of {fmt_number(rr)} in {label} "
            f"({level} CI {fmt_number(lo)} to {fmt_number(hi)}; scale: {estimate.scale})"
        )
    excludes = bool(lo > null or hi < null)
    absolute = None
    diff = absolute_difference(estimate.details)
    if diff is not None and not math.isnan(diff):
        a_lo, a_hi = absolute_difference_ci(estimate.details)
        word = "fewer" if diff < 0 else "more"
        absolute = f"about {abs(float(diff)):,.0f} {word} {label} per 1,000 person-years"
        if isinstance(a_lo, (int, float)) and isinstance(a_hi, (int, float)):
            lo_a, hi_a = sorted((float(a_lo), float(a_hi)))
            if hi_a < 0:
                absolute += f" ({level} CI {-hi_a:,.0f} to {-lo_a:,.0f} fewer)"
            elif lo_a > 0:
                absolute += f" ({level} CI {lo_a:,.0f} to {hi_a:,.0f} more)"
            else:
                absolute += f" ({level} CI from {-lo_a:,.0f} fewer to {hi_a:,.0f} more)"
    if excludes:
        interpretation = (
            f"The {level} confidence interval excludes no effect, so chance alone is an "
            "unlikely explanation. This is an observational comparison: differences between "
            "the groups that the data do not record may explain part of the estimate."
        )
    else:
        interpretation = (
            f"The {level} confidence interval includes no effect: the data are consistent with "
            "no change, and with the effects at either end of the interval."
        )
    return {
        "outcome": estimate.outcome,
        "outcome_label": label,
        "headline": headline,
        "absolute": absolute,
        "excludes_null": excludes,
        "interpretation": interpretation,
    }


def _with_evalue(summary: dict[str, Any], estimate: EffectEstimate) -> dict[str, Any]:
    """Add a plain-English E-value sentence (ratio estimates whose CI excludes no effect)."""
    ev = evalue_for_estimate(estimate)
    sentence = None
    if ev is not None and summary["excludes_null"]:
        strength = ("weak" if ev.point < 1.5 else "moderate" if ev.point < 2.5
                    else "strong" if ev.point < 4 else "very strong")
        sentence = (
            f"To explain this away, a difference between the groups that the data do not "
            f"record would need to be {strength}: associated with both receiving the "
            f"intervention and with {summary['outcome_label']} by a factor of about "
            f"{ev.point:.1f} each (E-value; {ev.ci:.1f} to make the effect uncertain)."
        )
    return {**summary, "evalue": sentence}


def _rows(table: ReleasedTable | None) -> list[dict[str, Any]]:
    if table is None:
        return []
    return [dict(r) for r in table.frame.to_dict(orient="records")]


def _report_value(rows: list[dict[str, Any]], table: str, measure: str) -> Any:
    for r in rows:
        if r.get("table") == table and r.get("measure") == measure:
            return r.get("count")
    return None


def _methods(result: EvaluationResult, tables: Mapping[str, ReleasedTable],
             regime: DisclosureRegime) -> dict[str, Any]:
    cfg = result.config
    ingest = _rows(tables.get("ingest_report"))
    sources = [
        {"table": r["table"], "rows_read": fmt_count(r["count"])}
        for r in ingest
        if r.get("measure") == "rows_read"
    ]
    linkage_rows = _rows(tables.get("linkage_report"))
    linkage = []
    for t in dict.fromkeys(r["table"] for r in linkage_rows):
        rec, lnk = _report_value(linkage_rows, t, "records"), _report_value(linkage_rows, t, "linked")
        rate = "-"
        if isinstance(rec, (int, float)) and isinstance(lnk, (int, float)) and rec > 0:
            rate = f"{100.0 * lnk / rec:.1f}%"
        linkage.append({"table": t, "records": fmt_count(rec), "linked": fmt_count(lnk),
                        "rate": rate})
    matching = dict(cfg.get("matching") or {})
    analysis = dict(cfg.get("analysis") or {})
    labels = {
        str(r.get("covariate")): _display_name(r) for r in _rows(tables.get("balance"))
    }
    covariates = [
        labels.get(str(c), str(c))
        for c in (matching.get("covariates") or result.balance.get("covariate", []))
    ]
    caliper = matching.get("caliper")
    evaluation = dict(cfg.get("evaluation") or {})
    cohort = dict(cfg.get("cohort") or {})
    data = dict(cfg.get("data") or {})
    outcomes = list(dict.fromkeys(e.outcome for e in result.estimates))
    return {
        "sources": sources,
        "linkage": linkage,
        "entry": "analysis-ready table" if data.get("table") else "routine episode tables",
        "data_cut": data.get("data_cut"),
        "index_window": cohort.get("index_window"),
        "control_areas": cohort.get("control_areas") or [],
        "min_age": cohort.get("min_age"),
        "estimand": evaluation.get("estimand", "ATT"),
        "covariates": covariates,
        "distance": str(matching.get("distance", "logit_propensity")).replace("_", " "),
        "method": matching.get("method", "nearest"),
        "ratio": matching.get("ratio", 1),
        "replace": bool(matching.get("replace", False)),
        "caliper": "none" if caliper is None else f"{caliper:g} standard deviations of the distance",
        "order": matching.get("order"),
        "smd_threshold": matching.get("smd_threshold", 0.1),
        "variance_ratio_range": matching.get("variance_ratio_range", (0.5, 2.0)),
        "family": _FAMILIES.get(str(analysis.get("family", "poisson")),
                                str(analysis.get("family")).replace("_", " ")),
        "cluster": str(analysis.get("cluster", "pair")).replace("_", " and "),
        "adjust_for": str(analysis.get("adjust_for", "none")).replace("_", " "),
        "ci_level": f"{float(analysis.get('ci_level', 0.95)) * 100:g}%",
        "outcomes": [outcome_label(o) for o in outcomes],
        "regime": {"name": regime.name, "description": regime.description,
                   "label": regime.label, "source": regime.source},
        "seed": evaluation.get("seed"),
    }


def _limitations(result: EvaluationResult, tables: Mapping[str, ReleasedTable],
                 diagnostics: Mapping[str, Any], n_suppressed: int) -> list[str]:
    items: list[str] = []
    bal = tables["balance"].frame
    names = [_display_name(r) for r in _rows(tables["balance"])]
    if "smd_ok" in bal:
        bad = [n for n, ok in zip(names, bal["smd_ok"], strict=True) if ok is False]
        if bad:
            items.append(
                f"Residual imbalance after matching: {len(bad)} covariate(s) have a standardised "
                f"mean difference above the threshold ({', '.join(bad)})."
            )
    if "variance_ratio_ok" in bal:
        bad = [n for n, ok in zip(names, bal["variance_ratio_ok"], strict=True) if ok is False]
        if bad:
            items.append(
                f"Variance ratio outside the accepted range for {len(bad)} covariate(s) "
                f"({', '.join(bad)})."
            )
    discarded = next(
        (diagnostics[k] for k in ("n_treated_discarded", "n_discarded_treated", "n_discarded")
         if k in diagnostics),
        None,
    )
    if isinstance(discarded, str) or (isinstance(discarded, (int, float)) and discarded > 0):
        how_many = (
            f"A small number ({discarded}) of" if isinstance(discarded, str)
            else fmt_count(discarded)
        )
        items.append(
            f"{how_many} treated people had no comparison within the caliper and were "
            "excluded: the estimate describes the matched treated people."
        )
    for c in design_diagnostics(diagnostics, float(
            (result.config.get("matching") or {}).get("smd_threshold", 0.1))):
        if not c["ok"] and c["key"] != "max_abs_smd_after":
            items.append(
                f"{c['label']}: {c['value']} fails the rule {c['rule']}, so the assumption of "
                f"{c['assumption']} is in doubt."
            )
    for w in diagnostics.get("warnings") or []:
        items.append(str(w))
    if n_suppressed:
        items.append(
            f"{n_suppressed} small number(s) were suppressed for disclosure control and are shown "
            "as a label; other counts are rounded, so totals may not add up exactly."
        )
    items.append(
        "Routine hospital data are recorded for payment and administration, not for research: "
        "diagnoses can be missing or miscoded, coding depth differs between trusts and changes "
        "over time, and care outside hospital (general practice, community services) is not "
        "seen."
    )
    series = result.design in SERIES_DESIGNS
    if not series:
        items.append(
            "This is an observational comparison. Matching balances the recorded characteristics "
            "only; unmeasured differences (for example in frailty or family support) can bias the "
            "estimate (unmeasured confounding)."
        )
    items += design_limitations(result, diagnostics)
    if before_after_design(result.design):
        items.append(
            "Regression to the mean: this is a before-and-after comparison. If the group was "
            "chosen, or started the intervention, when its hospital use was unusually high, its "
            "use would tend to fall afterwards without any intervention, and the comparison "
            "would credit that fall to the intervention. Treat a fall with caution unless a "
            "comparison group or a long pre-period shows it is not a return to the usual level."
        )
    if not series:
        items.append(
            "Regression to the mean: people often start an intervention (such as a move into "
            "care) after a crisis, when hospital use is unusually high and tends to fall anyway. "
            "Comparing with matched people at a similar point, on similar prior use, guards "
            "against this; simple before-and-after comparisons do not."
        )
    return items


def build_context(
    result: EvaluationResult,
    tables: Mapping[str, ReleasedTable],
    regime: DisclosureRegime,
    *,
    manifest: Mapping[str, Any],
    figures: Mapping[str, str],
    diagnostics: Mapping[str, Any],
    sdc_log: Sequence[Mapping[str, Any]],
    withheld_figures: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the templates show, display-ready and already disclosure-controlled.

    Parameters
    ----------
    result
        The evaluation result (only its released parts and model estimates are shown).
    tables
        Released tables from :func:`~impacteval.report.tables.release_tables`.
    regime
        The disclosure regime applied.
    manifest
        The run manifest (config hash, seed, versions ...).
    figures
        Figure name -> base64-encoded PNG.
    diagnostics
        Diagnostics after disclosure control.
    sdc_log
        The combined SDC log.
    withheld_figures
        Names of supplied figures not released (no data behind them to check).
    """
    primary = _primary_outcome(result)
    matched = [e for e in result.estimates
               if not is_naive(e) and not e.details.get("specification")
               and not e.details.get("negative_control")]
    # the headline uses the run's own design; other designs are compared under Triangulation
    own = [e for e in matched if e.design == result.design] or matched
    seen: set[str] = set()
    headline_estimates = []
    for e in [x for x in own if x.outcome == primary] + [x for x in own if x.outcome != primary]:
        if e.outcome not in seen:
            seen.add(e.outcome)
            headline_estimates.append(e)
    summaries = [_with_evalue(plain_summary(e), e) for e in headline_estimates]
    if result.design in SERIES_DESIGNS:
        summaries = [series_summary(s) for s in summaries]
    truth = dict((result.truth or {}).get("outcomes", {}))
    est_rows = []
    evalues = evalue_rows(result.estimates)
    for i, r in enumerate(_rows(tables["estimates"])):
        ev = evalues[i] if i < len(evalues) else None
        t = truth.get(r["outcome"])
        true_value = t.get("value") if isinstance(t, Mapping) and t.get("scale") == r["scale"] else None
        est_rows.append(
            {
                "outcome": outcome_label(str(r["outcome"])),
                "method": r["method"],
                "scale": str(r["scale"]).replace("_", " "),
                "estimate": fmt_number(r["estimate"]),
                "ci": f"{fmt_number(r['ci_lower'])} to {fmt_number(r['ci_upper'])}",
                "p": fmt_p(r["p_value"]),
                "n_treated": fmt_count(r["n_treated"]),
                "n_control": fmt_count(r["n_control"]),
                "abs_diff": fmt_number(r["absolute_difference_per_1000"], 0),
                "abs_ci": (
                    f"{fmt_number(r['absolute_difference_per_1000_ci_lower'], 0)} to "
                    f"{fmt_number(r['absolute_difference_per_1000_ci_upper'], 0)}"
                    if r["absolute_difference_per_1000_ci_lower"] is not None
                    and not _isnan(r["absolute_difference_per_1000_ci_lower"])
                    else "-"
                ),
                "truth": fmt_number(true_value) if true_value is not None else "-",
                "evalue": (f"{fmt_number(ev['point'])} ({fmt_number(ev['ci'])})"
                           if ev is not None else "-"),
            }
        )
    table_one = []
    for r in _rows(tables["table_one"]):
        stat = str(r["statistic"])
        table_one.append(
            {
                "covariate": _display_name(r),
                "statistic": "%" if stat.lower() in ("proportion", "percent") else stat,
                **{c: _table_one_value(r.get(c), stat.lower()) for c in
                   ("treated_before", "control_before", "treated_after", "control_after")},
            }
        )
    balance = [
        {
            "covariate": _display_name(r),
            "smd_before": fmt_number(r.get("smd_before"), 3),
            "smd_after": fmt_number(r.get("smd_after"), 3),
            "vr_after": fmt_number(r.get("variance_ratio_after"), 2),
            "ok": bool(r.get("smd_ok") is not False and r.get("variance_ratio_ok") is not False),
        }
        for r in _rows(tables["balance"])
    ]
    outcome_rows = [
        {
            "outcome": outcome_label(str(r.get("outcome", ""))),
            "arm": r.get("arm", ""),
            "sample": r.get("sample", ""),
            "n_persons": fmt_count(r.get("n_persons")),
            "events": fmt_count(r.get("events")),
            "person_years": fmt_number(r.get("person_years"), 1),
            "rate": fmt_number(r.get("rate_per_1000_py"), 1),
        }
        for r in _rows(tables.get("outcome_summary"))
    ]
    attrition = [
        {
            "step": r.get("step", ""),
            "description": r.get("description", ""),
            "n_treated": fmt_count(r.get("n_treated")),
            "n_control": fmt_count(r.get("n_control")),
        }
        for r in _rows(tables["attrition"])
    ]
    n_suppressed = sum(
        int(e["cells"]) for e in sdc_log
        if e["action"] in ("primary_suppression", "secondary_suppression")
    )
    versions = manifest.get("versions") or {}
    extra_figures = [
        {"name": n, "title": n.replace("_", " "), "png": b64}
        for n, b64 in figures.items()
        if n not in _REPORT_FIGURES
    ]
    methods = _methods(result, tables, regime)
    limitations = _limitations(result, tables, diagnostics, n_suppressed) + (
        [
            f"Figure(s) withheld by disclosure control because the data behind them were "
            f"not supplied: {', '.join(withheld_figures)}."
        ]
        if withheld_figures
        else []
    )
    sensitivity = sensitivity_context(result, diagnostics, outcome_label)
    smd_threshold = float((result.config.get("matching") or {}).get("smd_threshold", 0.1))
    checks = design_diagnostics(diagnostics, smd_threshold)
    primary_ev = next(
        (ev for e, ev in zip(result.estimates, evalues, strict=True)
         if ev is not None and e.outcome == primary),
        None,
    )
    credibility = credibility_checklist(
        balance=balance,
        diagnostics=diagnostics,
        design=result.design,
        design_checks=checks,
        regime_name=regime.name,
        n_suppressed=n_suppressed,
        evalue_primary=(
            {"point": fmt_number(primary_ev["point"]), "ci": fmt_number(primary_ev["ci"]),
             "ci_raw": float(primary_ev["ci"]) if primary_ev["ci"] is not None else 1.0}
            if primary_ev is not None else None
        ),
        negative_controls=sensitivity["negative_controls"],
        n_limitations=len(limitations),
    )
    codelists = codelists_used(
        result.config,
        [str(c) for c in result.balance.get("covariate", [])],
        [e.outcome for e in result.estimates],
        diagnostics,
        codelist_versions(),
    )
    subgroup_records = result.diagnostics.get("subgroups") or []
    subgroups = (
        subgroup_context(subgroup_records, tables["subgroups"].frame, outcome_label)
        if subgroup_records and "subgroups" in tables else []
    )
    triangulation = triangulation_context(triangulation_table(tables["estimates"].frame))
    strobe, record = _checklist_notes(result, methods, attrition, codelists, checks,
                                      sensitivity, limitations, manifest)
    extra = []
    if subgroups:
        extra.append(f"subgroup effects for {len(subgroups)} variable(s) and outcome(s) with "
                     "interaction tests (Holm and Benjamini-Hochberg adjusted)")
    if triangulation:
        extra.append("triangulation across designs")
    for row in strobe:
        if row["item"] in ("12", "17") and extra:
            row["note"] = f"{row['note']}; {'; '.join(extra)}"
        if row["item"] == "17" and subgroups:
            row["section"] = "subgroups"
    # checklist entries and evidence links point only at sections this report has
    shown = {"balance": bool(balance), "outcomes": bool(outcome_rows),
             "triangulation": bool(triangulation), "subgroups": bool(subgroups)}
    strobe, record = _existing_sections(strobe, shown), _existing_sections(record, shown)
    credibility = [{**c, "anchor": _SECTION_FALLBACK[c["anchor"]]}
                   if not shown.get(c["anchor"], True) else c for c in credibility]

    return {
        "triangulation": triangulation,
        "subgroups": subgroups,
        "credibility": credibility,
        "credibility_summary": _credibility_summary(credibility),
        "sensitivity": sensitivity,
        "codelists": codelists,
        "assumptions": checks,
        "record": record,
        "title": result.title,
        "evaluation_id": result.evaluation_id,
        "design": result.design.replace("_", " "),
        # picks templates/methods_<design>.{html,md}.j2 (methods_generic.* otherwise)
        "design_key": re.sub(r"[^a-z0-9_]", "_", result.design.lower()),
        "design_assumption": DESIGN_ASSUMPTIONS.get(result.design.lower()),
        "design_methods": design_methods(result, diagnostics),
        "spc": spc_context(diagnostics, outcome_label),
        "summary_lead": summary_lead(result.design),
        "primary_outcome": outcome_label(primary) if primary else None,
        "summaries": summaries,
        "methods": methods,
        "attrition": attrition,
        "table_one": table_one,
        "balance": balance,
        "outcomes": outcome_rows,
        "estimates": est_rows,
        "has_truth": bool(truth),
        "figures": {**dict.fromkeys(_REPORT_FIGURES), **dict(figures)},
        "extra_figures": extra_figures,
        "limitations": limitations,
        "diagnostics": [
            {"name": k.replace("_", " "), "value": _display_value(v)}
            for k, v in sorted(diagnostics.items())
            if k not in _STRUCTURED_DIAGNOSTICS
        ],
        "n_suppressed": n_suppressed,
        "regime": {"name": regime.name, "label": regime.label,
                   "description": regime.description},
        "reproducibility": {
            "config_hash": manifest.get("config_sha256", manifest.get("config_hash", "-")),
            "inputs": _manifest_inputs(manifest.get("inputs")),
            "seed": manifest.get("seed", result.config.get("evaluation", {}).get("seed", "-")),
            "engine": manifest.get("engine", "-"),
            "versions": [{"name": k, "version": str(v)} for k, v in sorted(versions.items())],
        },
        "strobe": strobe,
    }


#: Where a checklist entry points when its section is not in the report (a design without a
#: balance table or a crude outcome summary, a run without subgroups or triangulation).
_SECTION_FALLBACK = {"balance": "descriptive", "outcomes": "results",
                     "triangulation": "results", "subgroups": "sensitivity"}


def _existing_sections(rows: list[dict[str, str]], shown: Mapping[str, bool]
                       ) -> list[dict[str, str]]:
    """Checklist rows with sections the report leaves out replaced by the fallback."""
    return [{**r, "section": _SECTION_FALLBACK[r["section"]]}
            if not shown.get(r["section"], True) else r for r in rows]


def _credibility_summary(rows: Sequence[Mapping[str, str]]) -> str:
    """One sentence: how many credibility checks passed, need caution or failed."""
    n = {k: sum(1 for r in rows if r["status"] == k) for k in ("yes", "no", "caution")}
    parts = [f"{n['yes']} passed"]
    if n["caution"]:
        parts.append(f"{n['caution']} need caution")
    if n["no"]:
        parts.append(f"{n['no']} failed")
    return "Credibility checks: " + ", ".join(parts) + "."


def _checklist_notes(
    result: EvaluationResult,
    methods: Mapping[str, Any],
    attrition: Sequence[Mapping[str, Any]],
    codelists: Sequence[Mapping[str, str]],
    checks: Sequence[Mapping[str, Any]],
    sensitivity: Mapping[str, Any],
    limitations: Sequence[str],
    manifest: Mapping[str, Any],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """STROBE and RECORD rows with notes filled from the run."""
    sources = ", ".join(s["table"] for s in methods["sources"]) or "analysis-ready table"
    linkage = "; ".join(f"{lk['table']} {lk['rate']}" for lk in methods["linkage"])
    window = methods.get("index_window")
    period = f"index dates {window[0]} to {window[1]}" if window else "index period as configured"
    cut = f", data cut {methods['data_cut']}" if methods.get("data_cut") else ""
    flow = (f"{len(attrition)} steps, from {attrition[0]['n_treated']} treated to "
            f"{attrition[-1]['n_treated']}" if attrition else "no flow supplied")
    lists = ", ".join(f"{c['name']} v{c['version']}" for c in codelists) or "none used"
    n_ev, n_rb = len(sensitivity["evalues"]), len(sensitivity["rosenbaum"])
    n_nc, n_alt = len(sensitivity["negative_controls"]), len(sensitivity["alternatives"])
    sens = (f"E-values for {n_ev} estimate(s); Rosenbaum bounds for {n_rb} outcome(s); "
            f"{n_nc} negative control(s); {n_alt} alternative specification(s)")
    diag = ", ".join(f"{c['label']} {'met' if c['ok'] else 'not met'}" for c in checks)
    design = result.design.replace("_", " ")
    matched = len(result.balance) > 0  # a design that matched or weighted people
    config_hash = manifest.get("config_sha256", manifest.get("config_hash", "-"))
    strobe = {
        "1": f"{design}; plain-English summary with absolute and relative effects",
        "4": design,
        "5": f"{period}{cut}",
        "6": f"estimand {methods['estimand']}; comparison areas: "
             f"{', '.join(methods['control_areas']) or 'as configured'}",
        "7": f"outcomes: {', '.join(methods['outcomes'])}; covariates: "
             f"{len(methods['covariates'])}; code lists: {lists}",
        "8": f"routine hospital data: {sources}",
        "9": f"design diagnostics: {diag or 'none supplied'}",
        "10": "all eligible people in the extract (no sample size calculation)",
        "12": f"{methods['family']} model, {methods['ci_level']} CIs; {sens}",
        "13": flow,
        "16": ("matched and naive (unadjusted) estimates with CIs" if matched
               else f"{design} estimates with CIs"),
        "17": sens,
        "19": f"{len(limitations)} limitation(s) listed",
        "22": "not recorded by the run: state funding in the covering paper",
        "2": f"evaluation of: {result.title}",
        "3": f"estimate the effect ({methods['estimand']}) on {', '.join(methods['outcomes'])}",
        "11": ("covariates as in the descriptive table (means, percentages, counts)" if matched
               else "variables as named in the methods; counts in the descriptive table"),
        "14": ("characteristics before and after matching; person-years in the outcomes table"
               if matched else "numbers of people analysed on each side of the comparison"),
        "15": "events, person-years and crude rates per arm",
        "18": "headline effect on the primary outcome in the summary",
        "20": "summary states the observational nature and the CI's range",
        "21": ("results describe the matched treated people in the setting studied" if matched
               else f"results describe the people (or periods) analysed by the {design}, "
                    "in the setting studied"),
    }
    record = {
        "1.1": "routinely collected hospital data (HES/SUS-like episodes)",
        "1.2": f"{period}{cut}",
        "1.3": f"linkage rates: {linkage}" if linkage else "no linkage report supplied",
        "6.1": f"code lists: {lists}",
        "6.2": "sources of each code list cited in the code-list table",
        "6.3": f"linkage by pseudonymised person id; {linkage or 'no linkage report'}",
        "7.1": f"code lists and versions: {lists}",
        "12.1": f"extract tables read: {sources}",
        "12.2": "rows rejected at ingest are counted in the data-sources table",
        "12.3": f"linkage rates per table: {linkage or 'not supplied'}",
        "13.1": flow,
        "19.1": "limitations discuss unmeasured confounding, miscoding and changes in coding "
                "depth, and care not seen in hospital data",
        "22.1": f"config hash {config_hash}; code and config versioned with the run",
    }
    return fill_checklist(STROBE_ITEMS, strobe), fill_checklist(RECORD_ITEMS, record)


def _table_one_value(value: Any, statistic: str) -> str:
    """A Table 1 cell: counts with separators, shares as percentages, means to one decimal."""
    if isinstance(value, str) or value is None:
        return fmt_count(value)
    if statistic in ("n", "count"):
        return fmt_count(value)
    x = float(value)
    if math.isnan(x):
        return "-"
    if statistic == "proportion":
        return f"{100 * x:.1f}%"
    if statistic == "percent":
        return f"{x:.1f}%"
    return f"{x:.1f}"


def _manifest_inputs(inputs: Any) -> list[dict[str, str]]:
    """Input files and their hashes from the manifest (``{name: {file, sha256}}``)."""
    if not isinstance(inputs, Mapping):
        return []
    rows = []
    for name, info in sorted(inputs.items()):
        info = info if isinstance(info, Mapping) else {"sha256": info}
        rows.append({"name": str(name), "file": str(info.get("file", name)),
                     "sha256": str(info.get("sha256", "-"))})
    return rows


def _display_name(row: Mapping[str, Any]) -> str:
    """A covariate's readable label (the ``label`` column) or its name without underscores."""
    label = row.get("label")
    if isinstance(label, str) and label:
        return label
    return str(row.get("covariate", "")).replace("_", " ")


def _display_value(value: Any) -> str:
    """A diagnostic for the report: numbers to 3 decimals, lists joined, mappings as k=v."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_display_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_display_value(v) for v in value) or "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return f"{int(value):,}"
    return fmt_number(value, 3)


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")


def _md_escape(value: Any) -> str:
    """Escape text for a Markdown table cell or paragraph (pipes, newlines, HTML tags)."""
    text = str(value)
    text = text.replace("&", "&amp;") if _TAG_LIKE.search(text) else text
    text = _TAG_LIKE.sub("&lt;", text)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("impacteval.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_escape
    return env


def render_html(context: Mapping[str, Any]) -> str:
    """The self-contained HTML report (inline CSS, figures as base64 PNG)."""
    return _environment().get_template("report.html.j2").render(**context)


def render_markdown(context: Mapping[str, Any]) -> str:
    """The Markdown report (figures referenced as ``figures/<name>.png``)."""
    return _environment().get_template("report.md.j2").render(**context)
