"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

On a balanced panel with an absorbing binary treatment adopted at cohort-specific times and no
covariates, the TWFE coefficient is a weighted average of every 2x2 DiD between timing groups
(Goodman-Bacon 2021, theorem 1):

* ``treated_vs_never``: cohort k against the never-treated;
* ``earlier_vs_later``: earlier cohort k treated, later cohort l as the not-yet-treated
  comparison (periods before l adopts);
* ``later_vs_earlier``: later cohort l treated, the *already treated* cohort k as the
  comparison (periods after k adopted) -- the comparison that makes TWFE biased when effects
  change over time.

Weights (the paper's equation 10, normalised to sum to one) grow with the groups' sizes and
with the variance of treatment within the pair. Cohorts treated from the first period
(always treated) enter only as comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from impacteval.estimators.did.panel import wide_panel
from impacteval.estimators.did.validation import WHERE, require


@dataclass(frozen=True)
class BaconDecomposition:
    """The 2x2 comparisons, their weights and the TWFE estimate they average to.

    Attributes
    ----------
    comparisons
        ``type, treated, control, estimate, weight, n_treated_units, n_control_units``
        (control 0 = never treated).
    estimate
        ``sum(weight * estimate)``: the TWFE coefficient.
    by_type
        Weight and weighted-mean estimate per comparison type.
    """

    comparisons: pd.DataFrame
    estimate: float
    by_type: pd.DataFrame

    def plot(self) -> Figure:
        """Each 2x2 estimate against its weight, coloured by comparison type."""
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.subplots()
        colours = {"treated_vs_never": "#1b9e77", "earlier_vs_later": "#7570b3",
                   "later_vs_earlier": "#d95f02"}
        for kind, sub in self.comparisons.groupby("type"):
            ax.scatter(sub["weight"], sub["estimate"], color=colours.get(str(kind), "0.3"),
                       label=str(kind).replace("_", " "))
        ax.axhline(self.estimate, color="0.3", linestyle="--", linewidth=0.8,
                   label="TWFE estimate")
        ax.set_xlabel("weight")
        ax.set_ylabel("2x2 DiD estimate")
        ax.legend(frameon=False)
        return fig


def bacon_decomposition(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str
) -> BaconDecomposition:
    """Decompose the TWFE DiD estimate into its 2x2 comparisons.

    Parameters
    ----------
    data
        Long panel (balanced: units with missing periods are dropped), never modified.
    outcome, unit, time, cohort
        Outcome, unit id, numeric period and first treated period (0/missing = never).
    """
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort)
    Y, g, periods = panel.y, panel.cohort, panel.periods
    groups = np.unique(g)
    timing = groups[groups > 0]
    require(timing.size > 0, "no treated units", where=f"{WHERE}.cohort",
            hint="the cohort column must give the first treated period")
    means = {c: Y[g == c].mean(axis=0) for c in groups}
    share = {c: float(np.mean(g == c)) for c in groups}
    count = {c: int(np.sum(g == c)) for c in groups}
    dbar = {c: float(np.mean(periods >= c)) if c > 0 else 0.0 for c in groups}

    def diff(c: float, after: np.ndarray, before: np.ndarray) -> float:
        return float(means[c][after].mean() - means[c][before].mean())

    rows: list[dict[str, object]] = []
    for k in timing:
        pre_k, post_k = periods < k, periods >= k
        if 0.0 in means and pre_k.any():
            n_ku = share[k] / (share[k] + share[0.0])
            w = (share[k] + share[0.0]) ** 2 * n_ku * (1 - n_ku) * dbar[k] * (1 - dbar[k])
            est = diff(k, post_k, pre_k) - diff(0.0, post_k, pre_k)
            rows.append({"type": "treated_vs_never", "treated": k, "control": 0.0,
                         "estimate": est, "raw_weight": w})
        for lc in timing[timing > k]:
            n_kl = share[k] / (share[k] + share[lc])
            mid = (periods >= k) & (periods < lc)
            post_l = periods >= lc
            if pre_k.any():
                w = (((share[k] + share[lc]) * (1 - dbar[lc])) ** 2 * n_kl * (1 - n_kl)
                     * (dbar[k] - dbar[lc]) / (1 - dbar[lc]) * (1 - dbar[k]) / (1 - dbar[lc]))
                est = diff(k, mid, pre_k) - diff(lc, mid, pre_k)
                rows.append({"type": "earlier_vs_later", "treated": k, "control": lc,
                             "estimate": est, "raw_weight": w})
            if post_l.any():
                w = (((share[k] + share[lc]) * dbar[k]) ** 2 * n_kl * (1 - n_kl)
                     * (dbar[lc] / dbar[k]) * (dbar[k] - dbar[lc]) / dbar[k])
                est = diff(lc, post_l, mid) - diff(k, post_l, mid)
                rows.append({"type": "later_vs_earlier", "treated": lc, "control": k,
                             "estimate": est, "raw_weight": w})
    require(bool(rows), "no 2x2 comparison is available", where=f"{WHERE}.cohort",
            hint="the panel needs never-treated units or cohorts adopting at different times")
    comp = pd.DataFrame(rows)
    comp["weight"] = comp["raw_weight"] / comp["raw_weight"].sum()
    comp["n_treated_units"] = [count[c] for c in comp["treated"]]
    comp["n_control_units"] = [count[c] for c in comp["control"]]
    comp = comp.drop(columns="raw_weight")
    est = float(np.sum(comp["weight"] * comp["estimate"]))
    by_type = (comp.assign(wx=comp["weight"] * comp["estimate"]).groupby("type", as_index=False)
               .agg(weight=("weight", "sum"), wx=("wx", "sum")))
    by_type["estimate"] = by_type["wx"] / by_type["weight"]
    return BaconDecomposition(comparisons=comp, estimate=est,
                              by_type=by_type.drop(columns="wx"))
