"""Binned regression discontinuity plot.

Bin means of the outcome against the running variable on each side of the cutoff, with a
global polynomial fitted separately on each side (the usual RD picture, as ``rdplot`` in
Calonico, Cattaneo and Titiunik 2015, *JASA* 110:1753-1769, but with the number of bins
chosen by the analyst rather than by its IMSE rules). Bins are evenly spaced (``"es"``) or
hold equal numbers of observations (quantile-spaced, ``"qs"``). The figure is a
matplotlib ``Figure`` drawn with the Agg backend (no global pyplot state); the data behind it
are returned alongside so that the report can apply disclosure control to the bin counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from impacteval.exceptions import ConfigError, DesignError, SchemaError

Binning = Literal["es", "qs"]


@dataclass(frozen=True)
class RDPlot:
    """An RD plot and the data behind it.

    Attributes
    ----------
    figure
        The matplotlib figure.
    bins
        One row per bin: ``side ("left"|"right"), bin, x_lower, x_upper, x_mean, y_mean, n``.
    fit
        The fitted global polynomial on a grid: ``side, x, fitted``.
    """

    figure: Figure
    bins: pd.DataFrame
    fit: pd.DataFrame


def _bin_side(x: np.ndarray, y: np.ndarray, n_bins: int, binning: Binning,
              lower: float, upper: float) -> pd.DataFrame:
    if binning == "es":
        edges = np.linspace(lower, upper, n_bins + 1)
    else:
        edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1))
        edges[0], edges[-1] = lower, upper
        edges = np.unique(edges)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.shape[0] - 2)
    k = edges.shape[0] - 1
    n = np.bincount(idx, minlength=k)
    sum_x = np.bincount(idx, weights=x, minlength=k)
    sum_y = np.bincount(idx, weights=y, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "bin": np.arange(k),
            "x_lower": edges[:-1],
            "x_upper": edges[1:],
            "x_mean": sum_x / n,
            "y_mean": sum_y / n,
            "n": n.astype(np.int64),
        })
    return out[out["n"] > 0].reset_index(drop=True)


def rd_plot(
    data: pd.DataFrame,
    *,
    outcome: str,
    running: str,
    cutoff: float = 0.0,
    n_bins: int | tuple[int, int] = 20,
    binning: Binning = "es",
    order: int = 4,
    title: str | None = None,
) -> RDPlot:
    """Binned scatter of ``outcome`` against ``running`` with a global polynomial per side.

    Parameters
    ----------
    data
        One row per unit; never modified. Rows with a missing outcome or score are dropped.
    outcome, running
        Column names.
    cutoff
        Threshold (observations at the cutoff are on the right).
    n_bins
        Bins per side (one number or ``(left, right)``).
    binning
        ``"es"`` evenly spaced or ``"qs"`` quantile-spaced bins.
    order
        Order of the global polynomial fitted on each side (default 4, as rdplot).
    title
        Figure title.

    Returns
    -------
    RDPlot

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, 500)
    >>> df = pd.DataFrame({"x": x, "y": x + (x >= 0) + rng.normal(0, 0.2, 500)})
    >>> plot = rd_plot(df, outcome="y", running="x", n_bins=10)
    >>> sorted(plot.bins["side"].unique())
    ['left', 'right']
    """
    for col in (outcome, running):
        if col not in data.columns:
            raise SchemaError(f"column {col!r} not found", where=f"data.{col}")
    bins_lr = (n_bins, n_bins) if isinstance(n_bins, int) else tuple(n_bins)
    if len(bins_lr) != 2 or not all(isinstance(v, int) and v >= 1 for v in bins_lr):
        raise ConfigError("n_bins must be a positive integer or a pair of them",
                          where="rd_plot.n_bins")
    if binning not in ("es", "qs"):
        raise ConfigError("binning must be 'es' (evenly spaced) or 'qs' (quantile spaced)",
                          where="rd_plot.binning")
    if not isinstance(order, int) or not 0 <= order <= 8:
        raise ConfigError("order must be an integer from 0 to 8", where="rd_plot.order")
    vals = data[[running, outcome]].to_numpy(dtype=np.float64, na_value=np.nan)
    vals = vals[np.all(np.isfinite(vals), axis=1)]
    x, y = vals[:, 0], vals[:, 1]
    left = x < cutoff
    if not left.any() or left.all():
        raise DesignError("the plot needs observations on both sides of the cutoff",
                          where=f"rd_plot.{running}")

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    bin_tables = []
    fit_tables = []
    for side, mask, n_side, lo, hi in (
        ("left", left, bins_lr[0], float(x[left].min()), float(cutoff)),
        ("right", ~left, bins_lr[1], float(cutoff), float(x[~left].max())),
    ):
        xs, ys = x[mask], y[mask]
        table = _bin_side(xs, ys, n_side, binning, lo, hi)
        table.insert(0, "side", side)
        bin_tables.append(table)
        deg = min(order, np.unique(xs).shape[0] - 1)
        # Centre and scale before fitting so that high orders stay well conditioned.
        scale = max(abs(hi - lo), 1e-12)
        coef = np.polynomial.polynomial.polyfit((xs - cutoff) / scale, ys, deg)
        grid = np.linspace(lo, hi, 200)
        fitted = np.polynomial.polynomial.polyval((grid - cutoff) / scale, coef)
        fit_tables.append(pd.DataFrame({"side": side, "x": grid, "fitted": fitted}))
        ax.scatter(table["x_mean"], table["y_mean"], s=14, color="#005EB8", zorder=3)
        ax.plot(grid, fitted, color="#DA291C", linewidth=1.5)
    ax.axvline(cutoff, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlabel(running)
    ax.set_ylabel(f"{outcome} (bin mean)")
    ax.set_title(title or f"Regression discontinuity: {outcome} at {running} = {cutoff:g}")
    fig.tight_layout()
    return RDPlot(
        figure=fig,
        bins=pd.concat(bin_tables, ignore_index=True),
        fit=pd.concat(fit_tables, ignore_index=True),
    )
