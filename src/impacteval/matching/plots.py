"""Balance and overlap figures.

Figures are built on :class:`matplotlib.figure.Figure` directly (no ``pyplot``), so nothing
touches global state, no GUI backend is needed (Agg renders them) and nothing is shown.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from impacteval.matching.covariates import as_treatment


def love_plot(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    threshold: float = 0.1,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Absolute standardised mean differences before and after matching, per covariate.

    Parameters
    ----------
    before, after
        Balance tables from :func:`~impacteval.matching.balance.balance_table` over the same
        covariates.
    threshold
        Drawn as a dashed vertical line (default 0.1).
    labels
        Optional readable names per covariate.

    Returns
    -------
    matplotlib.figure.Figure
    """
    b = before.set_index("covariate")["smd"].abs()
    a = after.set_index("covariate")["smd"].abs().reindex(b.index)
    names = [(labels or {}).get(str(c), str(c)) for c in b.index]
    # largest imbalance before matching at the top
    order = np.argsort(b.to_numpy(), kind="stable")
    y = np.arange(len(order))
    fig = Figure(figsize=(7.0, 1.5 + 0.28 * len(order)), layout="constrained")
    ax = fig.subplots()
    for k, j in enumerate(order):
        ax.plot([b.iloc[j], a.iloc[j]], [k, k], color="0.8", linewidth=1, zorder=1)
    ax.scatter(
        b.to_numpy()[order],
        y,
        marker="o",
        facecolors="none",
        edgecolors="#d95f02",
        label="before matching",
        zorder=2,
    )
    ax.scatter(
        a.to_numpy()[order], y, marker="o", color="#1b9e77", label="after matching", zorder=3
    )
    ax.axvline(
        threshold, color="0.3", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
    )
    ax.set_yticks(y, [names[j] for j in order])
    ax.set_xlabel("absolute standardised mean difference")
    ax.set_xlim(left=0)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Covariate balance")
    return fig


def overlap_plot(
    propensity: np.ndarray,
    treated: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bins: int = 30,
) -> Figure:
    """Distribution of the propensity score by arm (density histograms, mirrored).

    Treated units are drawn above the axis and controls below, so regions without overlap
    stand out. Densities, not counts, are drawn.

    Parameters
    ----------
    propensity
        Propensity per unit (0..1).
    treated
        Treatment indicator.
    weights
        Optional matching weights (unmatched units then drop out).
    bins
        Number of equal-width bins over [0, 1].
    """
    p = np.asarray(propensity, dtype=float)
    t = as_treatment(treated, p.shape[0], where="matching.overlap_plot")
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for arm, sign, colour, name in (
        (t, 1.0, "#d95f02", "treated"),
        (~t, -1.0, "#1b9e77", "control"),
    ):
        if not np.any(w[arm] > 0):
            continue
        dens, _ = np.histogram(p[arm], bins=edges, weights=w[arm], density=True)
        ax.bar(
            edges[:-1],
            sign * dens,
            width=np.diff(edges),
            align="edge",
            color=colour,
            alpha=0.7,
            label=name,
        )
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("propensity score")
    ax.set_ylabel("density (controls below the axis)")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title("Propensity score overlap")
    return fig


def genetic_history_plot(
    history: pd.DataFrame, *, loss: str = "pvalue"
) -> tuple[Figure, pd.DataFrame]:
    """Best balance per generation of a genetic-matching search, and the data behind it.

    Parameters
    ----------
    history
        ``GeneticMatch.history`` (``generation, best, evaluations``).
    loss
        ``"pvalue"`` (``best`` is the smallest balance p-value) or ``"smd"`` (the largest
        absolute SMD); only labels the axis.

    Returns
    -------
    (Figure, DataFrame)
        The figure and a copy of the plotted data (no counts of people: nothing to suppress).
    """
    data = history[["generation", "best", "evaluations"]].copy()
    fig = Figure(figsize=(6.0, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(data["generation"], data["best"], marker="o", color="#1b9e77")
    ax.set_xlabel("generation")
    ax.set_ylabel("smallest balance p-value" if loss == "pvalue" else "largest |SMD|")
    ax.set_title("Genetic matching: best balance so far")
    return fig, data
