"""Subgroup and equity tables: effects by IMD quintile, age band, sex, ethnicity.

The pipeline computes subgroup effects (the report never refits) and passes them in
``result.diagnostics["subgroups"]``: a list of records, one per (variable, outcome)::

    {
      "variable": "imd_quintile",            # grouping variable
      "label": "IMD quintile",               # optional display name
      "outcome": "emergency_admissions",
      "scale": "rate_ratio",                 # scale of the level estimates
      "interaction_p": 0.03,                 # test that the effect differs between levels
      "gap_levels": ["1", "5"],              # optional: [disadvantaged, advantaged] level
      "method": "...",                       # optional: how levels were analysed (shown)
      "levels": [
        {"level": "1", "n_treated": 80, "n_control": 80, "events_treated": 90,
         "events_control": 120, "person_years_treated": 70.2, "person_years_control": 73.9,
         "estimate": 0.78, "ci_lower": 0.6, "ci_upper": 1.01},
        ...
      ]
    }

Person-years are released to one decimal, and hidden where the arm's number of people is
suppressed. The levels of a variable must be exhaustive (include ``unknown``): their counts add
up to the "All" row added here, which is protected by secondary suppression, so a suppressed level cannot
be recovered from the total. Crude rates per 1,000 person-years are recomputed from released
events. Interaction p-values are adjusted for multiplicity across all records (Holm 1979, and
Benjamini & Hochberg 1995). The gap statement compares the absolute gap in crude rates between
``gap_levels`` in the treated arm with that in the comparison arm: "held" when the
Holm-adjusted interaction p-value is >= 0.05 (no evidence that the effect differs), otherwise
"narrowed" or "widened".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from impacteval.exceptions import SchemaError
from impacteval.report.sdc import ColumnTotal, DisclosureRegime, RateColumn, apply_sdc

__all__ = ["SUBGROUP_COLUMNS", "adjust_pvalues", "gap_statement", "release_subgroups",
           "subgroup_context"]

TOTAL = "All"
COUNTS = ("n_treated", "n_control", "events_treated", "events_control")
SUBGROUP_COLUMNS = ["variable", "label", "outcome", "scale", "level", *COUNTS,
                    "person_years_treated", "person_years_control", "rate_treated",
                    "rate_control", "estimate", "ci_lower", "ci_upper", "interaction_p",
                    "interaction_p_holm", "interaction_p_bh"]
_WHERE = "diagnostics.subgroups"


def adjust_pvalues(p: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Holm (step-down) and Benjamini-Hochberg (step-up) adjusted p-values, NaN kept as NaN.

    Both are capped at 1 and monotone in the order of the raw p-values.
    """
    raw = np.asarray(p, dtype=float)
    holm = np.full(raw.shape, np.nan)
    bh = np.full(raw.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(raw))
    m = ok.size
    if m == 0:
        return holm, bh
    order = ok[np.argsort(raw[ok], kind="stable")]
    sorted_p = raw[order]
    h = np.maximum.accumulate((m - np.arange(m)) * sorted_p)
    holm[order] = np.minimum(h, 1.0)
    b = sorted_p * m / np.arange(1, m + 1)
    b = np.minimum.accumulate(b[::-1])[::-1]
    bh[order] = np.minimum(b, 1.0)
    return holm, bh


def _frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping) or not rec.get("levels"):
            raise SchemaError(f"subgroup record {i} has no levels", where=_WHERE,
                              hint="each record needs variable, outcome and a list of levels")
        for key in ("variable", "outcome"):
            if not rec.get(key):
                raise SchemaError(f"subgroup record {i} lacks {key!r}", where=_WHERE,
                                  hint="see impacteval.report.subgroups for the record shape")
        base = {"variable": str(rec["variable"]),
                "label": str(rec.get("label") or str(rec["variable"]).replace("_", " ")),
                "outcome": str(rec["outcome"]), "scale": str(rec.get("scale", "rate_ratio")),
                "interaction_p": rec.get("interaction_p")}
        levels = list(rec["levels"])
        for lv in levels:
            missing = [c for c in COUNTS if c not in lv]
            if missing:
                raise SchemaError(f"subgroup record {i} ({base['variable']}) level lacks "
                                  f"{missing}", where=_WHERE,
                                  hint="every level needs n_treated, n_control, events_treated, "
                                       "events_control")
            rows.append({**base, **{k: lv.get(k) for k in SUBGROUP_COLUMNS if k in lv},
                         "level": str(lv["level"])})
        total = {**base, "level": TOTAL}
        for c in (*COUNTS, "person_years_treated", "person_years_control"):
            vals = [lv.get(c) for lv in levels]
            total[c] = float(np.sum(vals)) if all(v is not None for v in vals) else math.nan
        rows.append(total)
    frame = pd.DataFrame(rows)
    for c in SUBGROUP_COLUMNS:
        if c not in frame.columns:
            frame[c] = math.nan
    return frame[SUBGROUP_COLUMNS[:-2]]


def release_subgroups(records: Sequence[Mapping[str, Any]], regime: DisclosureRegime
                      ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The subgroup table after disclosure control, with adjusted interaction p-values.

    Returns the released frame (columns :data:`SUBGROUP_COLUMNS`, one "All" row per
    variable and outcome) and the SDC log.
    """
    frame = _frame(records)
    per_record = frame.drop_duplicates(["variable", "outcome"])[
        ["variable", "outcome", "interaction_p"]].copy()
    holm, bh = adjust_pvalues(pd.to_numeric(per_record["interaction_p"], errors="coerce"))
    per_record["interaction_p_holm"], per_record["interaction_p_bh"] = holm, bh
    frame = frame.merge(per_record.drop(columns="interaction_p"), on=["variable", "outcome"],
                        how="left", sort=False)
    rates = {
        "rate_treated": RateColumn("events_treated", "person_years_treated", per=1000.0),
        "rate_control": RateColumn("events_control", "person_years_control", per=1000.0),
    }
    has_py = frame[["person_years_treated", "person_years_control"]].notna().all().all()
    safe, log = apply_sdc(
        frame, list(COUNTS), regime, rate_columns=rates if has_py else None,
        margins=[ColumnTotal("level", TOTAL, by=("variable", "outcome"))], table="subgroups",
    )
    # person-years are not counts, but those of an arm whose size is suppressed would hint at
    # it (0.0 person-years means no one): hide them with the count, round the others
    for arm in ("treated", "control"):
        col = f"person_years_{arm}"
        hidden = safe[f"n_{arm}"].map(lambda v: isinstance(v, str))
        py = pd.to_numeric(safe[col], errors="coerce").round(1).astype(object)
        safe[col] = py.where(~hidden, regime.label)
    return safe[SUBGROUP_COLUMNS], log


def gap_statement(record: Mapping[str, Any], holm_p: float) -> str | None:
    """Plain statement whether the gap between ``gap_levels`` narrowed, held or widened."""
    levels = {str(lv.get("level")): lv for lv in record.get("levels") or []}
    gap = record.get("gap_levels")
    if not gap or len(gap) != 2 or not all(str(g) in levels for g in gap):
        return None
    dis, adv = (levels[str(g)] for g in gap)

    def rate(lv: Mapping[str, Any], arm: str) -> float:
        py = lv.get(f"person_years_{arm}")
        ev = lv.get(f"events_{arm}")
        if py is None or ev is None or not float(py) > 0:
            return math.nan
        return float(ev) / float(py) * 1000

    gap_c = rate(dis, "control") - rate(adv, "control")
    gap_t = rate(dis, "treated") - rate(adv, "treated")
    label = str(record.get("label") or record.get("variable")).replace("_", " ")
    who = f"between {label} {gap[0]} and {gap[1]}"
    if math.isnan(gap_c) or math.isnan(gap_t):
        return None
    if not (isinstance(holm_p, float) and holm_p < 0.05):
        return (f"The gap {who} held: there is no clear evidence that the effect differs "
                f"between these groups (interaction test, Holm-adjusted).")
    verb = "narrowed" if abs(gap_t) < abs(gap_c) else "widened"
    return (f"The gap {who} {verb}: the effect differs between the groups (Holm-adjusted "
            f"interaction p < 0.05), and the difference in rates between them is "
            f"{'smaller' if verb == 'narrowed' else 'larger'} among people who received the "
            f"intervention than among comparison people.")


def subgroup_context(records: Sequence[Mapping[str, Any]], released: pd.DataFrame,
                     outcome_label: Any) -> list[dict[str, Any]]:
    """Display-ready subgroup blocks (one per variable and outcome) from the released table."""
    blocks = []
    for rec in records:
        var, out = str(rec["variable"]), str(rec["outcome"])
        part = released[(released["variable"] == var) & (released["outcome"] == out)]
        holm = part["interaction_p_holm"].iloc[0] if len(part) else math.nan
        bh = part["interaction_p_bh"].iloc[0] if len(part) else math.nan

        def f(x: Any, d: int = 2) -> str:
            if isinstance(x, str):
                return x
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return "-"
            return f"{float(x):,.{d}f}"

        def n(x: Any) -> str:
            if isinstance(x, str):
                return x
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return "-"
            return f"{int(x):,}"

        rows = [{"level": r["level"], "n_treated": n(r["n_treated"]),
                 "n_control": n(r["n_control"]), "rate_treated": f(r["rate_treated"], 1),
                 "rate_control": f(r["rate_control"], 1), "estimate": f(r["estimate"]),
                 "ci": (f"{f(r['ci_lower'])} to {f(r['ci_upper'])}"
                        if not pd.isna(r["ci_lower"]) else "-")}
                for r in part.to_dict(orient="records")]
        p = rec.get("interaction_p")
        blocks.append({
            "variable": var, "label": str(part["label"].iloc[0]) if len(part) else var,
            "outcome": outcome_label(out), "scale": str(rec.get("scale", "rate_ratio"))
            .replace("_", " "), "rows": rows,
            "interaction_p": f(p, 3) if p is not None else "-",
            "holm": f(holm, 3), "bh": f(bh, 3),
            "gap": gap_statement(rec, float(holm) if not pd.isna(holm) else math.nan),
            "method": str(rec["method"]) if rec.get("method") else None,
        })
    return blocks
