"""Figures for staggered-adoption results (built on Figure, no pyplot; see matching/plots.py).

Each function takes the table the figure shows (the report releases that table after
disclosure control) and returns the Figure.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def dynamic_plot(table: pd.DataFrame, *, title: str = "Effect by time since adoption") -> Figure:
    """Event-time effects with pointwise intervals and, if present, uniform bands.

    Parameters
    ----------
    table
        The ``dynamic`` aggregation table of :class:`CallawaySantAnna` (``details
        ["aggregations"]["dynamic"]["table"]``): ``label`` (event time), ``estimate``,
        ``ci_lower``, ``ci_upper`` and optionally ``band_lower``, ``band_upper``.
    title
        Figure title.
    """
    t = pd.DataFrame(table)
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    pre = t["label"] < 0
    if {"band_lower", "band_upper"} <= set(t.columns):
        ax.vlines(t["label"], t["band_lower"], t["band_upper"], color="0.75", linewidth=6,
                  label="uniform band")
    for mask, colour, label in ((pre, "#7570b3", "before adoption (pre-trend check)"),
                                (~pre, "#1b9e77", "after adoption")):
        sub = t[mask]
        ax.errorbar(sub["label"], sub["estimate"],
                    yerr=[sub["estimate"] - sub["ci_lower"], sub["ci_upper"] - sub["estimate"]],
                    fmt="o", color=colour, capsize=3, label=label)
    ax.axhline(0.0, color="0.4", linewidth=0.8)
    ax.set_xlabel("periods since adoption")
    ax.set_ylabel("average effect on the treated")
    ax.set_title(title)
    ax.legend(frameon=False)
    return fig


def group_time_plot(cells: pd.DataFrame) -> Figure:
    """ATT(g,t) per cohort (one panel per cohort) against period, as did's ``ggdid``.

    Parameters
    ----------
    cells
        ``details["group_time"]`` of :class:`CallawaySantAnna`: ``cohort, time, att, post,
        ci_lower, ci_upper`` (and ``band_lower/band_upper`` when bootstrapped).
    """
    c = pd.DataFrame(cells).dropna(subset=["att"])
    cohorts = sorted(c["cohort"].unique())
    fig = Figure(figsize=(7.0, 2.2 * len(cohorts)), layout="constrained")
    axes = fig.subplots(len(cohorts), 1, sharex=True, squeeze=False)[:, 0]
    lo, hi = ("band_lower", "band_upper") if "band_lower" in c else ("ci_lower", "ci_upper")
    for ax, g in zip(axes, cohorts, strict=True):
        sub = c[c["cohort"] == g]
        for post, colour in ((False, "#7570b3"), (True, "#1b9e77")):
            s = sub[sub["post"] == post]
            ax.errorbar(s["time"], s["att"], yerr=[s["att"] - s[lo], s[hi] - s["att"]],
                        fmt="o", color=colour, capsize=3)
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_title(f"cohort first treated in {g:g}", fontsize=9)
    axes[-1].set_xlabel("period")
    return fig
