"""Interrupted time series figure: observed, fitted and counterfactual with its band.

The figure is a matplotlib ``Figure`` drawn without pyplot (Agg canvas); the data behind it
(:attr:`ITSResult.series`, optionally as rates) are returned with it so the report can apply
disclosure control to counts before release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from impacteval.estimators.its.estimator import ITSResult
from impacteval.exceptions import ConfigError


@dataclass(frozen=True)
class ITSPlot:
    """An ITS figure and the data behind it.

    Attributes
    ----------
    figure
        The matplotlib figure.
    data
        ``time, group, observed, fitted, counterfactual, counterfactual_lower,
        counterfactual_upper, post, in_phase_in`` on the plotted scale (rates per
        ``rate_per`` population when ``rate_per`` is given and a population was used).
    """

    figure: Figure
    data: pd.DataFrame


def its_plot(
    result: ITSResult,
    *,
    rate_per: float | None = None,
    title: str = "",
    ylabel: str = "",
) -> ITSPlot:
    """Draw the observed series, the fitted segments and the counterfactual with its band.

    Parameters
    ----------
    result
        From :meth:`InterruptedTimeSeries.fit_series`.
    rate_per
        Plot rates per this many population (needs a population offset in the fit).
    title, ylabel
        Labels.

    Raises
    ------
    ConfigError
        ``rate_per`` without a population in the fit.
    """
    s = result.series
    cols = ["observed", "fitted", "counterfactual", "counterfactual_lower", "counterfactual_upper"]
    data = s[["time", "group", *cols, "post", "in_phase_in"]].copy()
    if rate_per is not None:
        pop = s["population"].to_numpy(dtype=float)
        if not np.all(np.isfinite(pop)):
            raise ConfigError(
                "rate_per needs a model fitted with a population offset",
                where="report.its_plot",
            )
        for c in cols:
            data[c] = data[c].to_numpy(dtype=float) / pop * rate_per
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    dated = bool(pd.api.types.is_datetime64_any_dtype(s["time"]))
    x_all = s["time"].to_numpy() if dated else s["t"].to_numpy(dtype=float)
    for grp, colour, label in ((1, "tab:blue", "intervention"), (0, "tab:grey", "comparison")):
        m = data["group"].to_numpy() == grp
        if not m.any():
            continue
        x = x_all[m]
        d = data[m]
        ax.scatter(x, d["observed"], s=12, color=colour, alpha=0.7,
                   label=f"observed ({label})" if grp == 0 else "observed")
        for seg_post in (False, True):
            mm = d["post"].to_numpy() == seg_post
            ax.plot(x[mm], d["fitted"].to_numpy()[mm], color=colour, lw=1.8,
                    label="fitted" if (grp == 1 and not seg_post) else None)
        if grp == 1:
            pm = d["post"].to_numpy()
            ax.plot(x[pm], d["counterfactual"].to_numpy()[pm], color="tab:red", ls="--",
                    lw=1.5, label="counterfactual")
            ax.fill_between(x[pm], d["counterfactual_lower"].to_numpy()[pm],
                            d["counterfactual_upper"].to_numpy()[pm], color="tab:red",
                            alpha=0.15, lw=0, label=f"{result.estimate.ci_level:.0%} CI")
    t_num = s["t"].to_numpy(dtype=float)
    for start in result.details["interruptions"]:
        after = np.flatnonzero(t_num >= start)
        if dated and after.size:
            ax.axvline(x_all[after[np.argmin(t_num[after])]], color="black", lw=0.8, ls=":")
        elif not dated:
            ax.axvline(start - 0.5, color="black", lw=0.8, ls=":")
    ax.set_xlabel("date" if dated else f"time ({result.details['time_unit']}s since start)")
    ax.set_ylabel(ylabel or ("rate" if rate_per else "outcome"))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    if dated:
        fig.autofmt_xdate()
    fig.tight_layout()
    return ITSPlot(figure=fig, data=data.reset_index(drop=True))
