"""The report's sensitivity section, built from estimates and ``diagnostics["sensitivity"]``.

What is shown (each part only when its inputs exist):

* **E-values** for every matched estimate on a ratio scale (computed here from the estimate,
  :func:`impacteval.checks.evalue_for_estimate`); also added to the main results table.
* **Rosenbaum bounds** from ``diagnostics["sensitivity"]["rosenbaum"]``: a mapping
  ``outcome -> RosenbaumBounds.to_dict()`` (computed by the pipeline on the matched pairs,
  because the report never sees row-level data).
* **Negative controls** from ``diagnostics["sensitivity"]["negative_controls"]``: a mapping
  ``{"outcomes": [names], "exposures": [names]}``; their estimates are ordinary
  ``result.estimates`` with those outcome names.
* **Alternative specifications**: estimates whose ``details["specification"]`` is set (a
  label such as ``"caliper 0.1"``), shown side by side with the primary estimate of the same
  outcome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from impacteval.checks import evalue_for_estimate, negative_control_table
from impacteval.results import EffectEstimate, EvaluationResult

__all__ = ["evalue_rows", "sensitivity_context", "sensitivity_record"]


def _matched(e: EffectEstimate) -> bool:
    """Not unmatched, not an alternative specification, not a negative control (no E-value
    for an estimate that should show no effect)."""
    return (str(e.details.get("sample", "matched")) != "unmatched"
            and not e.details.get("specification") and not e.details.get("negative_control"))


def _f(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, str):
        return x
    return f"{float(x):,.{digits}f}"


def evalue_rows(estimates: tuple[EffectEstimate, ...]) -> list[dict[str, Any] | None]:
    """One row per estimate (same order): E-values of the point and CI, or None."""
    rows = []
    for e in estimates:
        ev = evalue_for_estimate(e) if _matched(e) else None
        rows.append(None if ev is None else {"outcome": e.outcome, **ev.to_dict()})
    return rows


def _negative_names(sens: Mapping[str, Any]) -> dict[str, list[str]]:
    nc = sens.get("negative_controls") or {}
    if not isinstance(nc, Mapping):
        return {}
    return {k: [str(x) for x in nc.get(k) or []] for k in ("outcomes", "exposures") if nc.get(k)}


def sensitivity_record(result: EvaluationResult) -> dict[str, Any]:
    """The ``sensitivity`` block of results.json: E-values per estimate and negative controls.

    Rosenbaum bounds stay in ``diagnostics["sensitivity"]`` (released there).
    """
    evs = evalue_rows(result.estimates)
    sens = result.diagnostics.get("sensitivity") or {}
    record: dict[str, Any] = {
        "evalues": [
            {"outcome": e.outcome, "estimator": e.estimator, "point": ev["point"],
             "ci": ev["ci"], "rr_ci_limit": ev["rr_ci_limit"]}
            for e, ev in zip(result.estimates, evs, strict=True) if ev is not None
        ],
    }
    names = _negative_names(sens if isinstance(sens, Mapping) else {})
    record["negative_controls"] = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for kind, outcomes in names.items()
        for row in negative_control_table(result.estimates, outcomes,
                                          kind=kind.rstrip("s")).to_dict(orient="records")
    ]
    return record


def sensitivity_context(result: EvaluationResult, diagnostics: Mapping[str, Any],
                        outcome_label: Any) -> dict[str, Any]:
    """Display-ready sensitivity section (``diagnostics`` already disclosure-controlled)."""
    evs = evalue_rows(result.estimates)
    def name(e: EffectEstimate) -> str:
        label = outcome_label(e.outcome)
        if e.design != result.design:
            label += f" ({e.design.replace('_', ' ')})"
        return str(label)

    evalues = [
        {"outcome": name(e), "estimate": _f(e.estimate),
         "scale": e.scale.replace("_", " "), "point": _f(ev["point"]), "ci": _f(ev["ci"]),
         "limit": _f(ev["rr_ci_limit"]),
         "reading": (f"an unmeasured confounder associated with both the intervention and "
                     f"{outcome_label(e.outcome)} by a risk ratio of {_f(ev['point'])} each "
                     f"(above the measured covariates) could explain the estimate away; one of "
                     f"{_f(ev['ci'])} could move the confidence interval to include no effect")}
        for e, ev in zip(result.estimates, evs, strict=True) if ev is not None
    ]
    sens = diagnostics.get("sensitivity") or {}
    sens = sens if isinstance(sens, Mapping) else {}
    rosenbaum = []
    for outcome, rec in (sens.get("rosenbaum") or {}).items():
        if not isinstance(rec, Mapping):
            continue
        gc = rec.get("gamma_critical")
        rosenbaum.append({
            "outcome": outcome_label(str(outcome)),
            "n_pairs": rec.get("n_pairs"),
            "alternative": "lower" if rec.get("alternative") == "less" else "higher",
            "gamma_critical": _f(gc) if gc is not None else "below 1 (not significant)",
            "alpha": rec.get("alpha", 0.05),
            "bounds": [{"gamma": _f(b.get("gamma")), "p_lower": _p(b.get("p_lower")),
                        "p_upper": _p(b.get("p_upper"))} for b in rec.get("bounds") or []],
        })
    negative = []
    for kind, outcomes in _negative_names(sens).items():
        table = negative_control_table(result.estimates, outcomes, kind=kind.rstrip("s"))
        for r in table.to_dict(orient="records"):
            negative.append({
                "outcome": outcome_label(str(r["outcome"])), "kind": r["kind"],
                "estimate": _f(r["estimate"]),
                "ci": f"{_f(r['ci_lower'])} to {_f(r['ci_upper'])}",
                "ok": r["excludes_null"] is False, "verdict": r["verdict"],
            })
    alternatives = []
    primary: dict[tuple[str, str], EffectEstimate] = {}
    for e in result.estimates:
        if _matched(e):
            primary.setdefault((e.design, e.outcome), e)  # the first one is the primary
    for e in result.estimates:
        spec = e.details.get("specification")
        if not spec:
            continue
        p = primary.get((e.design, e.outcome))
        alternatives.append({
            "outcome": name(e), "specification": str(spec),
            "estimate": _f(e.estimate), "ci": f"{_f(e.ci_lower)} to {_f(e.ci_upper)}",
            "primary": _f(p.estimate) if p else "-",
            "primary_ci": f"{_f(p.ci_lower)} to {_f(p.ci_upper)}" if p else "-",
        })
    return {"evalues": evalues, "rosenbaum": rosenbaum, "negative_controls": negative,
            "alternatives": alternatives}


def _p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"
