"""Robustness checks of a classic synthetic control: in-time placebo and leave-one-out donors
(Abadie, Diamond and Hainmueller 2015, sections 4.2-4.3)."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import pandas as pd

from impacteval.estimators.synthetic.classic import SyntheticControl, SyntheticControlFit
from impacteval.estimators.synthetic.panel import Predictor
from impacteval.exceptions import ConfigError, DesignError


def in_time_placebo(estimator: SyntheticControl, data: pd.DataFrame, *, unit: str, time: str,
                    outcome: str, treatment: str, placebo_time: Any) -> SyntheticControlFit:
    """Refit as if treatment had started at ``placebo_time`` (before the real start).

    Only periods before the real start are used; predictor windows and optimisation periods
    are clipped to periods before ``placebo_time`` (predictors left with none are dropped).
    A credible design shows no gap between ``placebo_time`` and the real start.

    Returns
    -------
    SyntheticControlFit
        Its ``att`` is the mean placebo gap, ``path`` covers the pre-treatment periods only.
    """
    where = "synthetic_control.in_time_placebo"
    treated_units = data.loc[data[treatment] == 1, unit].unique()
    if len(treated_units) != 1:
        raise DesignError("the in-time placebo needs exactly one treated unit", where=where)
    start = data.loc[data[treatment] == 1, time].min()
    if not placebo_time < start:
        raise ConfigError("placebo_time must be before the real treatment start", where=where)
    pre = data[data[time] < start]
    fake = pre.assign(**{treatment: ((pre[unit] == treated_units[0])
                                     & (pre[time] >= placebo_time)).astype("int64")})
    clipped: list[Predictor] = []
    for p in estimator.predictors:
        if p.periods is None:
            clipped.append(p)
            continue
        kept = tuple(t for t in p.periods if t < placebo_time)
        if kept:
            clipped.append(Predictor(variable=p.variable, periods=kept, label=p.label))
    opt = None
    if estimator.optimize_periods is not None:
        opt = tuple(t for t in estimator.optimize_periods if t < placebo_time) or None
    v = estimator.v if len(clipped) == len(estimator.predictors) else None
    est = replace(estimator, predictors=tuple(clipped), optimize_periods=opt, v=v,
                  placebos=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit_details(fake, unit=unit, time=time, outcome=outcome, treatment=treatment)


def leave_one_out(estimator: SyntheticControl, fit: SyntheticControlFit, data: pd.DataFrame, *,
                  unit: str, time: str, outcome: str, treatment: str,
                  min_weight: float = 1e-3) -> pd.DataFrame:
    """Refit once without each donor whose weight is at least ``min_weight``.

    Returns
    -------
    pandas.DataFrame
        ``left_out, weight, att, pre_rmspe`` (one row per dropped donor) and the gap path in
        ``time, gap`` columns stacked long (``left_out`` repeated).
    """
    rows = []
    est = replace(estimator, placebos=False)
    for donor, weight in fit.weights[fit.weights >= min_weight].items():
        sub = data[data[unit] != donor]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = est.fit_details(sub, unit=unit, time=time, outcome=outcome, treatment=treatment)
        rows.append(pd.DataFrame({"left_out": donor, "weight": float(weight), "att": res.att,
                                  "pre_rmspe": res.pre_rmspe, "time": res.path["time"],
                                  "gap": res.path["gap"]}))
    if not rows:
        return pd.DataFrame(columns=["left_out", "weight", "att", "pre_rmspe", "time", "gap"])
    return pd.concat(rows, ignore_index=True)
