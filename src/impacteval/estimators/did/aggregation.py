"""Aggregations of group-time ATTs (Callaway and Sant'Anna 2021, section 3).

Each follows the R package did's ``aggte``: weights are cohort shares ``P(G = g)`` among the
cells aggregated, and the influence function of an aggregate adds the effect of estimating
those shares (did's ``wif``).

* ``simple``: post-treatment cells weighted by cohort size.
* ``group``: per cohort, the mean of its post-treatment cells; overall: cohort-size weighted.
* ``dynamic``: per event time ``e = t - g`` (pre-periods included), cohort-size weighted;
  overall: the mean over ``e >= 0``.
* ``calendar``: per period, post-treatment cells of that period weighted by cohort size;
  overall: the mean over periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

AggregationKind = Literal["simple", "group", "dynamic", "calendar"]
KINDS: tuple[str, ...] = ("simple", "group", "dynamic", "calendar")


@dataclass(frozen=True)
class Aggregation:
    """One aggregation of the group-time ATTs.

    Attributes
    ----------
    kind
        ``simple``, ``group``, ``dynamic`` or ``calendar``.
    table
        One row per cohort / event time / period (empty for ``simple``): ``label, estimate,
        std_error``.
    estimate, std_error
        The overall aggregate and its analytic standard error.
    influence
        Influence functions of the table rows, (n_units, rows).
    overall_influence
        Influence function of the overall aggregate, (n_units,).
    """

    kind: str
    table: pd.DataFrame
    estimate: float
    std_error: float
    influence: np.ndarray
    overall_influence: np.ndarray


def cluster_sums(psi: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Influence functions summed within clusters (unchanged when ``cluster`` is None)."""
    if cluster is None:
        return psi
    codes = np.unique(cluster, return_inverse=True)[1]
    out = np.zeros((int(codes.max()) + 1, *psi.shape[1:]))
    np.add.at(out, codes, psi)
    return out


def influence_se(psi: np.ndarray, n: int, cluster: np.ndarray | None = None) -> np.ndarray:
    """``sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` (clusters = units when ``cluster`` is None)."""
    s = cluster_sums(psi, cluster)
    return np.sqrt(np.sum(s**2, axis=0)) / n


def _se(psi: np.ndarray, n: int, cluster: np.ndarray | None = None) -> np.ndarray:
    se = influence_se(psi, n, cluster)
    # as did: a zero influence function (the universal base period's cell) has no SE
    return np.where(se <= np.sqrt(np.finfo(float).eps) * 10, np.nan, se)


def _wif(keep: np.ndarray, pg: np.ndarray, cell_cohort: np.ndarray, unit_cohort: np.ndarray,
         unit_weight: np.ndarray | None = None) -> np.ndarray:
    """Influence of estimating the weights ``pg[keep] / sum(pg[keep])`` (did's ``wif``)."""
    w = 1.0 if unit_weight is None else unit_weight[:, None]
    ind = w * (unit_cohort[:, None] == cell_cohort[keep][None, :]) - pg[keep][None, :]
    s = pg[keep].sum()
    return ind / s - ind.sum(axis=1, keepdims=True) * (pg[keep] / s**2)[None, :]


def _weighted(keep: np.ndarray, att: np.ndarray, psi: np.ndarray, pg: np.ndarray,
              cell_cohort: np.ndarray, unit_cohort: np.ndarray,
              unit_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    w = pg[keep] / pg[keep].sum()
    est = float(np.sum(w * att[keep]))
    inf = psi[:, keep] @ w + _wif(keep, pg, cell_cohort, unit_cohort, unit_weight) @ att[keep]
    return est, inf


def aggregate(
    kind: str,
    *,
    cells: pd.DataFrame,
    influence: np.ndarray,
    unit_cohort: np.ndarray,
    cluster: np.ndarray | None = None,
    unit_weight: np.ndarray | None = None,
) -> Aggregation:
    """Aggregate group-time ATTs.

    Parameters
    ----------
    kind
        ``simple``, ``group``, ``dynamic`` or ``calendar``.
    cells
        Group-time table with columns ``cohort, time, att`` (rows align with ``influence``).
    influence
        Influence functions of the cells, (n_units, cells).
    unit_cohort
        Cohort of every unit (0 = never treated).
    cluster
        Optional cluster per unit for the standard errors.
    unit_weight
        Optional unit weights (normalised to mean 1): cohort shares are weighted.
    """
    n = influence.shape[0]
    g = cells["cohort"].to_numpy(dtype=float)
    t = cells["time"].to_numpy(dtype=float)
    att = cells["att"].to_numpy(dtype=float)
    ok = np.isfinite(att)
    cohorts = np.unique(g)
    uw = None if unit_weight is None else unit_weight / np.mean(unit_weight)
    share = {c: float(np.mean((1.0 if uw is None else uw) * (unit_cohort == c))) for c in cohorts}
    pg = np.array([share[c] for c in g])
    post = (g <= t) & ok
    rows: list[tuple[float, float, np.ndarray]] = []
    if kind == "simple":
        est, inf = _weighted(np.flatnonzero(post), att, influence, pg, g, unit_cohort, uw)
        return Aggregation(kind, pd.DataFrame(columns=["label", "estimate", "std_error"]), est,
                           float(_se(inf, n, cluster)), np.empty((n, 0)), inf)
    if kind == "group":
        for c in cohorts:
            keep = np.flatnonzero(post & (g == c))
            if keep.size:
                rows.append((c, float(att[keep].mean()), influence[:, keep].mean(axis=1)))
        labels = np.array([r[0] for r in rows])
        ests = np.array([r[1] for r in rows])
        inf_rows = np.column_stack([r[2] for r in rows])
        pgg = np.array([share[c] for c in labels])
        w = pgg / pgg.sum()
        overall = float(np.sum(w * ests))
        keep_all = np.arange(len(labels))
        overall_inf = inf_rows @ w + _wif(keep_all, pgg, labels, unit_cohort, uw) @ ests
    elif kind == "dynamic":
        e = t - g
        for ev in np.unique(e[ok]):
            keep = np.flatnonzero(ok & (e == ev))
            est, inf = _weighted(keep, att, influence, pg, g, unit_cohort, uw)
            rows.append((ev, est, inf))
        labels = np.array([r[0] for r in rows])
        ests = np.array([r[1] for r in rows])
        inf_rows = np.column_stack([r[2] for r in rows])
        nonneg = labels >= 0
        overall = float(ests[nonneg].mean())
        overall_inf = inf_rows[:, nonneg].mean(axis=1)
    elif kind == "calendar":
        for period in np.unique(t[post]):
            keep = np.flatnonzero(post & (t == period))
            est, inf = _weighted(keep, att, influence, pg, g, unit_cohort, uw)
            rows.append((period, est, inf))
        labels = np.array([r[0] for r in rows])
        ests = np.array([r[1] for r in rows])
        inf_rows = np.column_stack([r[2] for r in rows])
        overall = float(ests.mean())
        overall_inf = inf_rows.mean(axis=1)
    else:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # periods and event times are whole numbers
    table = pd.DataFrame({"label": labels, "estimate": ests,
                          "std_error": _se(inf_rows, n, cluster)})
    return Aggregation(kind, table, overall, float(_se(overall_inf, n, cluster)), inf_rows,
                       overall_inf)
