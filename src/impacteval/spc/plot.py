"""SPC figures: matplotlib ``Figure`` objects built without pyplot (Agg canvas).

The data behind a figure are :attr:`SPCChart.data` (write them with
``chart.data.to_csv``); :func:`save_figure` writes PNG or SVG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from impacteval.exceptions import ConfigError
from impacteval.spc.charts import SPCChart

#: Point colours by variation label (Making Data Count palette).
COLOURS = {
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289de0",
    "special_cause_concern": "#fab428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}


def spc_figure(chart: SPCChart, *, title: str = "", ylabel: str = "") -> Figure:
    """Draw a run chart or control chart: points coloured by variation, centre line, limits.

    Each chart part is drawn with its own centre line and limits (steps at rebase points).
    """
    d = chart.data
    fig = Figure(figsize=(9, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = d["x"].to_numpy()
    ax.plot(x, d["y"], color="#7B7D7D", lw=1, zorder=1)
    for label, colour in COLOURS.items():
        m = (d["variation"] == label).to_numpy()
        if m.any():
            ax.scatter(x[m], d["y"].to_numpy()[m], color=colour, s=22, zorder=2,
                       label=label.replace("_", " "))
    for p in np.unique(d["part"]):
        m = (d["part"] == p).to_numpy()
        ax.plot(x[m], d["centre"].to_numpy()[m], color="black", lw=1.2,
                label="median" if (chart.chart == "run" and p == 0) else
                ("centre" if p == 0 else None))
        if chart.chart != "run":
            for col in ("lower", "upper"):
                ax.plot(x[m], d[col].to_numpy()[m], color="#de1b1b", lw=1, ls="--",
                        label="process limits" if (p == 0 and col == "upper") else None)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def save_chart(
    chart: SPCChart, directory: str | Path, name: str, *, title: str = "", ylabel: str = ""
) -> dict[str, Path]:
    """Write ``<name>.png``, ``<name>.svg`` and the data behind them, ``<name>.csv``.

    The CSV is :attr:`SPCChart.data` unrounded: apply disclosure control (e.g. to small
    numerators) before releasing it outside the secure environment.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fig = spc_figure(chart, title=title, ylabel=ylabel)
    out = {ext: save_figure(fig, directory / f"{name}.{ext}") for ext in ("png", "svg")}
    out["csv"] = directory / f"{name}.csv"
    chart.data.to_csv(out["csv"], index=False)
    return out


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG or SVG (by the file extension)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError("figures are written as .png or .svg", where="spc.figure")
    fig.savefig(path, dpi=150)
    return path
