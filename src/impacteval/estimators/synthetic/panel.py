"""Unit x time panels for the synthetic control family.

The estimators take a long table (one row per unit and time) with a 0/1 ``treatment`` column
that is 1 for a treated unit from its first treated period on (the layout of R synthdid's
``panel.matrices``). :func:`build_panel` checks it and returns the wide outcome matrix with the
treated units last; :class:`Predictor` describes a predictor of the classic synthetic control
(a variable averaged over a window of periods, e.g. a covariate mean or an outcome lag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, DesignError, SchemaError

FloatArray = np.ndarray


@dataclass(frozen=True, kw_only=True)
class Predictor:
    """One predictor of the classic synthetic control: ``variable`` averaged over ``periods``.

    Parameters
    ----------
    variable
        Column of the long table (a covariate or the outcome itself).
    periods
        Times to average over (missing values are ignored, as R Synth's ``mean`` with
        ``na.rm``); ``None`` means every pre-treatment period. One period gives an outcome lag.
    label
        Name in the balance table; default ``"<variable>[<first>-<last>]"``.
    """

    variable: str
    periods: tuple[Any, ...] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.variable, str) or not self.variable:
            raise ConfigError("predictor variable must be a column name",
                              where="synthetic_control.predictors")
        if self.periods is not None:
            object.__setattr__(self, "periods", tuple(self.periods))
            if len(self.periods) == 0:
                raise ConfigError(f"predictor {self.variable!r} has no periods",
                                  where="synthetic_control.predictors",
                                  hint="give at least one period or None for all pre-periods")

    def name(self, pre_times: Sequence[Any]) -> str:
        """Readable name of the predictor."""
        if self.label:
            return self.label
        periods = list(self.periods) if self.periods is not None else list(pre_times)
        if len(periods) == 1:
            return f"{self.variable}[{periods[0]}]"
        return f"{self.variable}[{periods[0]}-{periods[-1]}]"


@dataclass(frozen=True)
class Panel:
    """A balanced outcome panel, control units first and treated units last.

    Attributes
    ----------
    y
        Outcomes, shape (units, times).
    units
        Unit labels in the row order of ``y``.
    times
        Sorted times (columns of ``y``).
    n_control
        Number of control (never-treated) units: rows ``0 .. n_control - 1``.
    adoption
        Per treated unit (in row order), the index in ``times`` of its first treated period.
    long
        The long table restricted to the panel's units (used for predictors).
    unit, time
        Column names in ``long``.
    """

    y: FloatArray
    units: tuple[Any, ...]
    times: tuple[Any, ...]
    n_control: int
    adoption: tuple[int, ...]
    long: pd.DataFrame
    unit: str
    time: str

    @property
    def n_treated(self) -> int:
        """Number of treated units."""
        return len(self.units) - self.n_control

    @property
    def simultaneous(self) -> bool:
        """True when every treated unit starts treatment in the same period."""
        return len(set(self.adoption)) == 1


def _require_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise SchemaError("data must be a pandas DataFrame", where=where)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise SchemaError(f"missing column(s): {', '.join(missing)}", where=where,
                          hint="name the unit, time, outcome and treatment columns of the panel")


def build_panel(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treatment: str,
    where: str,
    min_pre_periods: int = 2,
    extra: Sequence[str] = (),
) -> tuple[Panel, int]:
    """Check a long unit x time table and return its wide outcome panel.

    Control units with any missing outcome are dropped from the donor pool (the number dropped
    is returned); a treated unit with a missing outcome is an error.

    Parameters
    ----------
    data
        Long table, one row per unit and time.
    unit, time, outcome, treatment
        Column names; ``treatment`` is 0/1 and, for a treated unit, 1 from its first treated
        period to the end (no switching back).
    where
        Prefix for error locations.
    min_pre_periods
        Fewer pre-treatment periods than this is a :class:`DesignError`.
    extra
        Further columns that must exist (predictor variables).

    Returns
    -------
    (Panel, number of donors dropped for missing outcomes)
    """
    _require_columns(data, [unit, time, outcome, treatment, *extra], where)
    df = data[list(dict.fromkeys([unit, time, outcome, treatment, *extra]))]
    if df[[unit, time]].isna().any().any():
        raise SchemaError("unit or time has missing values", where=f"{where}.{unit}")
    if df.duplicated([unit, time]).any():
        raise SchemaError(f"{int(df.duplicated([unit, time]).sum())} duplicate unit-time rows",
                          where=where, hint="aggregate to one row per unit and period first")
    try:
        y_all = pd.to_numeric(df[outcome], errors="raise").astype("float64")
        d_all = pd.to_numeric(df[treatment], errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise SchemaError("outcome and treatment must be numeric", where=f"{where}.{outcome}") from exc
    if d_all.isna().any() or not d_all.isin([0.0, 1.0]).all():
        raise SchemaError("treatment must be 0 or 1 with no missing values",
                          where=f"{where}.{treatment}")
    times = tuple(sorted(df[time].unique()))
    units_all = list(pd.unique(df[unit]))
    wide_y = pd.DataFrame({"u": df[unit].to_numpy(), "t": df[time].to_numpy(),
                           "y": y_all.to_numpy()}).pivot(index="u", columns="t", values="y")
    wide_y = wide_y.reindex(index=units_all, columns=list(times))
    wide_d = pd.DataFrame({"u": df[unit].to_numpy(), "t": df[time].to_numpy(),
                           "d": d_all.to_numpy()}).pivot(index="u", columns="t", values="d")
    wide_d = wide_d.reindex(index=units_all, columns=list(times)).fillna(0.0).to_numpy()
    ever = wide_d.max(axis=1) > 0
    if not ever.any():
        raise DesignError("no unit is ever treated", where=f"{where}.{treatment}",
                          hint="set treatment to 1 for the treated area(s) from the start month")
    if ever.all():
        raise DesignError("every unit is treated: there is no donor pool",
                          where=f"{where}.{treatment}")
    first = np.argmax(wide_d > 0, axis=1)
    for i in np.flatnonzero(ever):
        if not (wide_d[i, first[i]:] == 1).all():
            raise DesignError("a treated unit switches treatment off again (1 then 0)",
                              where=f"{where}.{treatment}",
                              hint="treatment must stay 1 from adoption to the end of the panel")
    y = wide_y.to_numpy()
    treated_missing = np.isnan(y[ever]).any()
    if treated_missing:
        raise SchemaError("a treated unit has missing outcomes", where=f"{where}.{outcome}",
                          hint="every treated unit needs the outcome in every period")
    keep_control = (~ever) & ~np.isnan(y).any(axis=1)
    n_dropped = int(((~ever) & ~keep_control).sum())
    order = np.concatenate([np.flatnonzero(keep_control), np.flatnonzero(ever)])
    n_control = int(keep_control.sum())
    if n_control < 2:
        raise DesignError(f"only {n_control} donor unit(s) with complete outcomes",
                          where=f"{where}.{unit}",
                          hint="a synthetic control needs at least 2 donors (ideally 10 or more)")
    adoption = tuple(int(first[i]) for i in np.flatnonzero(ever))
    if min(adoption) < min_pre_periods:
        raise DesignError(f"only {min(adoption)} pre-treatment period(s); at least "
                          f"{min_pre_periods} are needed", where=f"{where}.{time}",
                          hint="use a longer pre-period (several years of months for areas)")
    if len(times) - max(adoption) < 1:
        raise DesignError("no post-treatment period", where=f"{where}.{time}")
    units = tuple(units_all[i] for i in order)
    long = data[data[unit].isin(units)]
    return Panel(y=y[order], units=units, times=times, n_control=n_control, adoption=adoption,
                 long=long, unit=unit, time=time), n_dropped


def predictor_matrix(panel: Panel, predictors: Sequence[Predictor], pre_times: Sequence[Any],
                     *, where: str) -> tuple[FloatArray, list[str]]:
    """Predictor values per unit: shape (predictors, units), units in panel row order."""
    rows: list[FloatArray] = []
    names: list[str] = []
    long = panel.long
    for p in predictors:
        periods = list(p.periods) if p.periods is not None else list(pre_times)
        sub = long[long[panel.time].isin(periods)]
        try:
            values = pd.to_numeric(sub[p.variable], errors="raise").astype("float64")
        except (TypeError, ValueError) as exc:
            raise SchemaError("predictor variable must be numeric",
                              where=f"{where}.predictors.{p.variable}") from exc
        means = values.groupby(sub[panel.unit].to_numpy()).mean().reindex(list(panel.units))
        arr = means.to_numpy(dtype="float64")
        if np.isnan(arr).any():
            raise SchemaError(f"predictor {p.name(pre_times)!r} is missing for "
                              f"{int(np.isnan(arr).sum())} unit(s) over its periods",
                              where=f"{where}.predictors.{p.variable}",
                              hint="choose periods in which every unit has the variable")
        rows.append(arr)
        names.append(p.name(pre_times))
    return np.vstack(rows), names

