"""Report figures, drawn only from released (disclosure-controlled) tables.

Every function returns a new :class:`matplotlib.figure.Figure` (no pyplot, no global state).
:func:`figure_png` saves a figure with fixed metadata and resolution so that the same figure
gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

__all__ = ["figure_png", "flow_diagram", "forest_plot", "love_plot", "overlap_plot"]

_TREATED = "#005eb8"  # NHS blue
_CONTROL = "#ed8b00"  # NHS orange
_GREY = "#768692"
_DPI = 110


def figure_png(fig: Any) -> bytes:
    """PNG bytes of a matplotlib figure, deterministic for the same figure.

    The ``Software`` metadata (matplotlib version) is dropped and the resolution fixed.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def figure_svg(fig: Any) -> bytes:
    """SVG bytes of a matplotlib figure, deterministic for the same figure (no date, fixed
    id salt)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "impacteval", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", dpi=_DPI, metadata={"Date": None, "Creator": None})
    return buf.getvalue()


#: Supplied figures also written as SVG (vector charts for reports and slides).
SVG_FIGURES = ("its_plot", "spc_chart")


def wants_svg(name: str) -> bool:
    """Whether a supplied figure is also released as SVG (the series designs' charts)."""
    return name in SVG_FIGURES or name.startswith("spc_")


def _numeric(values: pd.Series) -> np.ndarray:
    """Numbers of a released column; suppression labels become NaN."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def love_plot(balance: pd.DataFrame, threshold: float = 0.1) -> Figure:
    """Absolute standardised mean differences before and after matching, per covariate.

    Covariates are named by the ``label`` column when present, else by ``covariate``.
    """
    df = balance.reset_index(drop=True)
    before = np.abs(_numeric(df["smd_before"])) if "smd_before" in df else np.full(len(df), np.nan)
    after = np.abs(_numeric(df["smd_after"])) if "smd_after" in df else np.full(len(df), np.nan)
    order = np.argsort(-np.nan_to_num(before, nan=-1.0), kind="stable")[::-1]
    names = df["label"] if "label" in df.columns else df["covariate"]
    labels = names.astype(str).to_numpy()[order]
    y = np.arange(len(df))
    fig = Figure(figsize=(6.5, 0.35 * len(df) + 1.4))
    ax = fig.add_subplot()
    ax.scatter(before[order], y, marker="o", facecolors="none", edgecolors=_GREY,
               label="before matching", zorder=3)
    ax.scatter(after[order], y, marker="o", color=_TREATED, label="after matching", zorder=3)
    ax.axvline(threshold, color="#da291c", linestyle="--", linewidth=1,
               label=f"threshold {threshold:g}")
    ax.set_yticks(y, labels)
    ax.set_xlabel("absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#e8edee")
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    ax.set_title("Covariate balance")
    fig.tight_layout()
    return fig


def overlap_plot(hist: pd.DataFrame) -> Figure:
    """Propensity-score distributions per arm from released histogram counts.

    ``hist`` has ``bin_lower, bin_upper, n_treated, n_control`` (after disclosure control);
    suppressed bins are drawn empty and the caption says so.
    """
    lo = _numeric(hist["bin_lower"])
    hi = _numeric(hist["bin_upper"])
    width = hi - lo
    n_t = _numeric(hist["n_treated"])
    n_c = _numeric(hist["n_control"])
    suppressed = int(np.isnan(n_t).sum() + np.isnan(n_c).sum())
    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.add_subplot()
    tot_t = np.nansum(n_t) or 1.0
    tot_c = np.nansum(n_c) or 1.0
    ax.bar(lo, np.nan_to_num(n_t) / tot_t, width=width, align="edge", alpha=0.6,
           color=_TREATED, label="treated")
    ax.bar(lo, np.nan_to_num(n_c) / tot_c, width=width, align="edge", alpha=0.6,
           color=_CONTROL, label="comparison")
    score = str(hist["score"].iloc[0]) if "score" in hist and len(hist) else "score"
    ax.set_xlabel(f"propensity score ({score})")
    ax.set_ylabel("share of arm")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title("Overlap of propensity scores (before matching)")
    if suppressed:
        fig.text(0.01, 0.01, f"{suppressed} bin counts suppressed (disclosure control) "
                 "are drawn empty.", fontsize="x-small", color=_GREY)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


_RATIO_SCALES = ("rate_ratio", "odds_ratio", "risk_ratio")
_RATIO_TICKS = (0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


def forest_plot(estimates: pd.DataFrame, truth: Mapping[str, Any] | None = None) -> Figure:
    """Estimates with confidence intervals, one row per outcome and method.

    ``estimates`` has ``outcome, method, scale, estimate, ci_lower, ci_upper``. Known true
    effects (synthetic data) are marked with a cross.
    """
    df = estimates.reset_index(drop=True)
    ratio = bool(len(df)) and all(s in _RATIO_SCALES for s in df["scale"])
    true = dict((truth or {}).get("outcomes", {}))
    labels = [f"{str(o).replace('_', ' ')} - {m}" for o, m in zip(df["outcome"], df["method"], strict=False)]
    # long labels (negative controls, alternative specifications) widen the figure rather
    # than squeeze the axis
    width = max(7.5, 5.0 + 0.075 * max((len(x) for x in labels), default=0))
    fig = Figure(figsize=(width, 0.45 * len(df) + 1.8))
    ax = fig.add_subplot()
    y = np.arange(len(df))[::-1]
    for yi, (_, row) in zip(y, df.iterrows(), strict=False):
        naive = str(row["method"]).startswith("naive")
        colour = _GREY if naive else _TREATED
        ax.plot([row["ci_lower"], row["ci_upper"]], [yi, yi], color=colour, linewidth=2)
        ax.plot(row["estimate"], yi, marker="s", color=colour, markersize=6)
        t = true.get(str(row["outcome"]))
        if isinstance(t, Mapping) and t.get("value") is not None and t.get("scale") == row["scale"]:
            ax.plot(float(t["value"]), yi, marker="x", color="#da291c", markersize=8,
                    label="synthetic data: true effect")
    ax.axvline(1.0 if ratio else 0.0, color="black", linewidth=0.8)
    if ratio:
        ax.set_xscale("log")
        lo = float(np.nanmin(df[["ci_lower", "estimate"]].to_numpy(dtype=float)))
        hi = float(np.nanmax(df[["ci_upper", "estimate"]].to_numpy(dtype=float)))
        ticks = [t for t in _RATIO_TICKS if lo / 1.3 <= t <= hi * 1.3] or [1.0]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("ratio (log scale); below 1 = fewer events with the intervention")
    else:
        ax.set_xlabel("effect")
    ax.set_yticks(y, labels)
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles[:1], names[:1], frameon=False, fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.16))
    ax.grid(axis="x", color="#e8edee")
    ax.set_title("Estimated effects (95% confidence intervals)")
    fig.tight_layout()
    return fig


def flow_diagram(attrition: pd.DataFrame) -> Figure:
    """Participant flow: one box per step with released counts per arm."""
    df = attrition.reset_index(drop=True)
    n = len(df)
    fig = Figure(figsize=(7.0, 1.05 * n + 0.4))
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.2, n)
    ax.axis("off")
    for i, (_, row) in enumerate(df.iterrows()):
        y = n - 1 - i
        box = FancyBboxPatch((0.05, y + 0.12), 0.9, 0.66, boxstyle="round,pad=0.01",
                             facecolor="#e8edee", edgecolor=_TREATED, linewidth=1)
        ax.add_patch(box)
        text = f"{row.get('step', i + 1)}. {row.get('description', '')}"
        counts = f"treated: {row.get('n_treated', '')}    comparison: {row.get('n_control', '')}"
        ax.text(0.5, y + 0.55, text, ha="center", va="center", fontsize=9, wrap=True)
        ax.text(0.5, y + 0.3, counts, ha="center", va="center", fontsize=9, color=_TREATED,
                fontweight="bold")
        if i < n - 1:
            ax.annotate("", xy=(0.5, y - 0.2), xytext=(0.5, y + 0.1),
                        arrowprops={"arrowstyle": "->", "color": _GREY})
    ax.set_title("Participant flow (counts after disclosure control)")
    fig.tight_layout()
    return fig
