"""Triangulation: several designs on one question, one comparison table and forest plot.

When the estimates of a run come from more than one design for the same outcome (e.g. a
matched cohort, a difference-in-differences and an interrupted time series of emergency
admissions), the report compares them side by side (Lawlor DA, Tilling K, Davey Smith G.
Triangulation in aetiological epidemiology. Int J Epidemiol 2016;45:1866-86). Naive
(unmatched) comparisons and alternative specifications are left out: each design contributes
its primary estimate. The comparison is built from the *released* estimates table, so the
figure shows nothing the table does not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

__all__ = ["TRIANGULATION_COLUMNS", "triangulation_forest", "triangulation_statements",
           "triangulation_table"]

TRIANGULATION_COLUMNS = ["outcome", "design", "estimator", "estimand", "scale", "estimate",
                         "ci_lower", "ci_upper", "p_value"]
_RATIO = ("rate_ratio", "risk_ratio", "odds_ratio")
_NULL = {"difference": 0.0, "percent": 0.0, **{s: 1.0 for s in _RATIO}}
_COLOURS = ("#005eb8", "#ed8b00", "#007f3b", "#7c2855", "#425563", "#da291c")
_RATIO_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0,
                3.0, 4.0, 5.0, 10.0)


def triangulation_table(estimates: pd.DataFrame) -> pd.DataFrame | None:
    """Primary estimates of outcomes estimated by two or more designs (None if there are none).

    ``estimates`` is the released estimates table (``outcome, method, design, estimator,
    estimand, scale, estimate, ci_lower, ci_upper, p_value``; ``method`` starting with
    ``naive`` marks naive comparisons, ``specification`` and ``negative_control`` (if present)
    mark alternatives and negative controls, which are left out).
    """
    if estimates is None or not len(estimates) or "design" not in estimates.columns:
        return None
    df = estimates[~estimates["method"].astype(str).str.startswith("naive")]
    for marker in ("specification", "negative_control"):
        if marker in df.columns:
            df = df[df[marker].isna()]
    df = df.drop_duplicates(["outcome", "design"], keep="first")
    multi = df.groupby("outcome", sort=False)["design"].transform("nunique") >= 2
    out = df.loc[multi, TRIANGULATION_COLUMNS].reset_index(drop=True)
    return out if len(out) else None


def triangulation_statements(table: pd.DataFrame) -> list[dict[str, str]]:
    """Per outcome: whether the designs agree (direction, and intervals excluding no effect)."""
    rows = []
    for outcome, part in table.groupby("outcome", sort=False):
        designs = ", ".join(str(d).replace("_", " ") for d in part["design"])
        sides, signif = [], []
        for r in part.itertuples():
            null = _NULL.get(str(r.scale), 0.0)
            sides.append(int(np.sign(float(r.estimate) - null)))
            signif.append(bool(float(r.ci_lower) > null or float(r.ci_upper) < null))
        scales = set(part["scale"])
        if len(set(sides)) == 1 and all(signif):
            text = ("all designs point the same way and each interval excludes no effect: "
                    "consistent evidence from designs with different sources of bias")
        elif len(set(sides)) == 1:
            text = ("all designs point the same way, but not every interval excludes no "
                    "effect: consistent direction, uncertain size")
        else:
            text = ("the designs disagree on the direction of the effect: at least one design's "
                    "assumptions are likely not met; read each design's diagnostics")
        if len(scales) > 1:
            text += " (estimates are on different scales: compare directions, not sizes)"
        rows.append({"outcome": str(outcome), "designs": designs, "statement": text})
    return rows


def triangulation_forest(table: pd.DataFrame) -> Figure:
    """Forest plot: one row per outcome and design, one colour per design."""
    df = table.reset_index(drop=True)
    ratio = all(s in _RATIO for s in df["scale"])
    designs = list(dict.fromkeys(df["design"]))
    colour = {d: _COLOURS[i % len(_COLOURS)] for i, d in enumerate(designs)}
    fig = Figure(figsize=(7.5, 0.45 * len(df) + 2.0))
    ax = fig.add_subplot()
    y = np.arange(len(df))[::-1]
    for yi, r in zip(y, df.itertuples(), strict=True):
        c = colour[r.design]
        ax.plot([float(r.ci_lower), float(r.ci_upper)], [yi, yi], color=c, linewidth=2)
        ax.plot(float(r.estimate), yi, marker="s", color=c, markersize=6,
                label=str(r.design).replace("_", " "))
    ax.axvline(1.0 if ratio else 0.0, color="black", linewidth=0.8)
    if ratio:
        ax.set_xscale("log")
        vals = df[["ci_lower", "ci_upper", "estimate"]].to_numpy(dtype=float)
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        ticks = [t for t in _RATIO_TICKS if lo / 1.3 <= t <= hi * 1.3] or [1.0]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("ratio (log scale); below 1 = fewer events with the intervention")
    else:
        ax.set_xlabel("effect (difference)")
    ax.set_yticks(y, [f"{str(o).replace('_', ' ')} - {str(d).replace('_', ' ')}"
                      for o, d in zip(df["outcome"], df["design"], strict=True)])
    handles, names = ax.get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for h, n in zip(handles, names, strict=True):
        seen.setdefault(n, h)
    ax.legend(list(seen.values()), list(seen), frameon=False, fontsize="small",
              loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(3, len(seen)))
    ax.grid(axis="x", color="#e8edee")
    ax.set_title("Triangulation: one question, several designs (95% CIs)")
    fig.tight_layout()
    return fig


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{float(x):,.2f}"


def triangulation_context(table: pd.DataFrame | None) -> dict[str, Any] | None:
    """Display rows and statements for the template (None without triangulation)."""
    if table is None:
        return None
    rows = [{"outcome": str(r.outcome).replace("_", " "),
             "design": str(r.design).replace("_", " "), "estimator": str(r.estimator),
             "scale": str(r.scale).replace("_", " "), "estimate": _fmt(r.estimate),
             "ci": f"{_fmt(r.ci_lower)} to {_fmt(r.ci_upper)}"}
            for r in table.itertuples()]
    statements = [{**s, "outcome": s["outcome"].replace("_", " ")}
                  for s in triangulation_statements(table)]
    return {"rows": rows, "statements": statements}
