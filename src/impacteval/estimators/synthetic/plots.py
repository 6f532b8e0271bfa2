"""Synthetic control figures, built on :class:`matplotlib.figure.Figure` (no pyplot).

Each function returns ``(figure, data)``: the DataFrame behind the figure, so the report can
apply disclosure control before releasing it.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from impacteval.estimators.synthetic.classic import SyntheticControlFit


def _start_line(ax: object, fit: SyntheticControlFit) -> None:
    ax.axvline(fit.treatment_time, color="0.5", linestyle="--", linewidth=1)  # type: ignore[attr-defined]


def trajectory_plot(fit: SyntheticControlFit, *, ylabel: str = "outcome"
                    ) -> tuple[Figure, pd.DataFrame]:
    """Treated unit against its synthetic control over time."""
    data = fit.path[["time", "treated", "synthetic"]].copy()
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.plot(data["time"], data["treated"], color="black", label="treated")
    ax.plot(data["time"], data["synthetic"], color="#d95f02", linestyle="--", label="synthetic")
    _start_line(ax, fit)
    ax.set_xlabel("time")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    return fig, data


def gap_plot(fit: SyntheticControlFit, *, placebos: bool = True
             ) -> tuple[Figure, pd.DataFrame]:
    """Gap (treated minus synthetic) over time; with ``placebos`` also every placebo's gap."""
    if placebos and fit.placebos is not None:
        keep = fit.placebos.ratios.loc[fit.placebos.ratios["included"], "unit"]
        data = fit.placebos.gaps[fit.placebos.gaps["unit"].isin(keep)].copy()
    else:
        data = pd.DataFrame({"unit": fit.treated_unit, "time": fit.path["time"],
                             "gap": fit.path["gap"], "placebo": False})
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for _, g in data[data["placebo"]].groupby("unit", sort=False):
        ax.plot(g["time"], g["gap"], color="0.75", linewidth=0.8)
    t = data[~data["placebo"]]
    ax.plot(t["time"], t["gap"], color="black", linewidth=1.8, label="treated")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    _start_line(ax, fit)
    ax.set_xlabel("time")
    ax.set_ylabel("gap (treated - synthetic)")
    return fig, data


def weights_plot(fit: SyntheticControlFit, *, min_weight: float = 1e-3
                 ) -> tuple[Figure, pd.DataFrame]:
    """Donor weights at least ``min_weight``, largest at the top."""
    w = fit.weights[fit.weights >= min_weight].sort_values()
    data = pd.DataFrame({"unit": w.index.astype(str), "weight": w.to_numpy()})
    fig = Figure(figsize=(6.0, 1.2 + 0.3 * len(data)), layout="constrained")
    ax = fig.subplots()
    ax.barh(data["unit"], data["weight"], color="#1b9e77")
    ax.set_xlabel("donor weight")
    ax.set_xlim(0, 1)
    return fig, data
