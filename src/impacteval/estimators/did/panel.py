"""Long panel -> unit x period matrices (vectorised; no loop over units)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from impacteval.estimators.did.validation import WHERE, check_columns, numeric
from impacteval.exceptions import SchemaError


@dataclass(frozen=True)
class WidePanel:
    """A balanced panel as matrices.

    Attributes
    ----------
    units
        Unit identifiers (n,), in row order of the matrices.
    periods
        Sorted periods (T,).
    y
        Outcome, (n, T).
    cohort
        First treated period per unit (n,); 0 = never treated within the data.
    x
        Covariates, (n, T, k) (k may be 0).
    n_dropped_unbalanced
        Units dropped because a period or value was missing.
    cluster
        Cluster code per unit (n,), or None.
    weights
        Unit weight (n,), or None.
    """

    units: np.ndarray
    periods: np.ndarray
    y: np.ndarray
    cohort: np.ndarray
    x: np.ndarray
    n_dropped_unbalanced: int
    cluster: np.ndarray | None = None
    weights: np.ndarray | None = None


def wide_panel(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
) -> WidePanel:
    """Pivot a long panel to unit x period matrices; drop units not observed in every period.

    ``cohort`` holds the first period in which a unit is treated (constant within unit); 0,
    missing or a value after the last period mean never treated within the data. ``cluster``
    and ``weights`` (optional) must be constant within unit.
    """
    covs = list(covariates)
    check_columns(data, {"outcome": [outcome], "unit": [unit], "time": [time],
                         "cohort": [cohort], "covariates": covs,
                         "clusters": [cluster] if cluster else [],
                         "weights": [weights] if weights else []})
    t_vals = numeric(data, time, role="time")
    g_vals = numeric(data, cohort, role="cohort")
    y_vals = numeric(data, outcome, role="outcome")
    if np.isnan(t_vals).any():
        raise SchemaError(f"column '{time}' has {int(np.isnan(t_vals).sum())} missing values",
                          where=f"{WHERE}.time", hint="drop rows without a period")
    u_codes, units = pd.factorize(data[unit], use_na_sentinel=True)
    if (u_codes < 0).any():
        raise SchemaError(f"column '{unit}' has missing values", where=f"{WHERE}.unit",
                          hint="drop rows without a unit identifier")
    # pandas' hash factorisation: much faster than np.unique on millions of rows
    t_codes, periods_idx = pd.factorize(t_vals, sort=True)
    periods = np.asarray(periods_idx, dtype=float)
    n, T = len(units), len(periods)
    flat = u_codes.astype(np.int64) * T + t_codes
    if np.bincount(flat, minlength=n * T).max() > 1:
        raise SchemaError("more than one row per unit and period", where=f"{WHERE}.data",
                          hint="aggregate the panel to one row per unit and period")
    Y = np.full((n, T), np.nan)
    Y[u_codes, t_codes] = y_vals
    X = np.full((n, T, len(covs)), np.nan)
    for j, c in enumerate(covs):
        X[u_codes, t_codes, j] = numeric(data, c, role="covariates")
    g_fill = np.where(np.isnan(g_vals), 0.0, g_vals)
    gmin = np.full(n, np.inf)
    gmax = np.full(n, -np.inf)
    np.minimum.at(gmin, u_codes, g_fill)
    np.maximum.at(gmax, u_codes, g_fill)
    if np.any(gmin != gmax):
        raise SchemaError(
            f"column '{cohort}' varies within {int(np.sum(gmin != gmax))} units",
            where=f"{WHERE}.cohort",
            hint="the cohort is the first treated period and must be constant within a unit",
        )
    g = np.where(gmin > periods[-1], 0.0, gmin)
    cl_codes = None
    if cluster is not None:
        codes = pd.factorize(data[cluster])[0]
        cmin = np.full(n, np.iinfo(np.int64).max)
        cmax = np.full(n, -1)
        np.minimum.at(cmin, u_codes, codes)
        np.maximum.at(cmax, u_codes, codes)
        if np.any(cmin != cmax) or np.any(codes < 0):
            raise SchemaError(
                f"column '{cluster}' is missing or varies within units",
                where=f"{WHERE}.clusters",
                hint="cluster on a time-invariant grouping of units (e.g. the adopting area)",
            )
        cl_codes = cmin
    unit_w = None
    if weights is not None:
        wv = numeric(data, weights, role="weights")
        wmin = np.full(n, np.inf)
        wmax = np.full(n, -np.inf)
        np.minimum.at(wmin, u_codes, np.nan_to_num(wv, nan=-1.0))
        np.maximum.at(wmax, u_codes, np.nan_to_num(wv, nan=-1.0))
        if np.any(wmin != wmax) or np.any(wmin <= 0):
            raise SchemaError(
                f"column '{weights}' must be positive and constant within units",
                where=f"{WHERE}.weights",
                hint="use one time-invariant weight per unit (e.g. the baseline population)",
            )
        unit_w = wmin
    complete = ~np.isnan(Y).any(axis=1)
    if covs:
        complete &= ~np.isnan(X).any(axis=(1, 2))
    return WidePanel(
        units=np.asarray(units)[complete], periods=periods, y=Y[complete], cohort=g[complete],
        x=X[complete], n_dropped_unbalanced=int((~complete).sum()),
        cluster=None if cl_codes is None else cl_codes[complete],
        weights=None if unit_w is None else unit_w[complete],
    )
