"""Design matrices for segmented (interrupted time series) regression.

The time axis
    Integer or float time columns are used as they are (gaps are honoured). A datetime
    column is converted to elapsed whole months (when every date is the first of a month),
    else to elapsed weeks (when every gap is a multiple of 7 days), else to elapsed days;
    the first period is 0.

Segments (one set per interruption ``k`` with first post-intervention time ``T_k``)
    ``level_k = 1[t >= T_k]`` and ``slope_k = (t - T_k) * 1[t >= T_k]``: the level change is
    the jump in the (linear predictor of the) series at ``T_k`` itself, the slope change is
    the change in trend per time unit after ``T_k``. With a phase-in of ``m`` periods,

    * ``"exclude"``: observations with ``T_k <= t < T_k + m`` are dropped from the fit and the
      segment starts at ``T_k + m`` (``level_k = 1[t >= T_k + m]``,
      ``slope_k = (t - T_k - m) * 1[t >= T_k + m]``);
    * ``"ramp"``: the level change is phased in linearly,
      ``level_k = min(1, (t - T_k + 1) / (m + 1)) * 1[t >= T_k]``, and the slope change starts
      at ``T_k + m``.

Seasonality
    ``"fourier"``: ``sin(2 pi j t / period)``, ``cos(2 pi j t / period)`` for ``j = 1..K``
    (R ``tsModel::harmonic(t, K, period)``, column order sin_1..sin_K, cos_1..cos_K);
    ``"month"``: indicators of calendar month 2..12 (month 1 is the reference).

Controlled ITS (comparison series)
    Rows of both series are stacked. Columns: intercept, ``time``, ``group`` (1 = intervention
    series), ``group:time``, the segment columns (changes common to both series) and
    ``group:<segment>`` (the changes in the intervention series over and above the comparison
    series, which are the effects reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, DesignError, SchemaError

PhaseIn = Literal["exclude", "ramp"]
Seasonality = Literal["none", "fourier", "month"]


@dataclass(frozen=True)
class TimeAxis:
    """Numeric time of every row, the unit it is in and the calendar month (if known)."""

    t: np.ndarray
    unit: str
    month: np.ndarray | None
    origin: object


def time_axis(values: pd.Series, where: str) -> TimeAxis:
    """Convert a time column to numeric elapsed time (see the module docstring)."""
    if values.isna().any():
        raise SchemaError(
            f"time column {values.name!r} has {int(values.isna().sum())} missing value(s)",
            where=where,
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        d = pd.DatetimeIndex(values)
        origin = d.min()
        if bool(np.all(d.day == 1)):
            t = (d.year - origin.year) * 12 + (d.month - origin.month)
            return TimeAxis(np.asarray(t, dtype=float), "month", np.asarray(d.month), origin)
        days = np.asarray((d - origin).days, dtype=float)
        if bool(np.all(days % 7 == 0)):
            return TimeAxis(days / 7.0, "week", np.asarray(d.month), origin)
        return TimeAxis(days, "day", np.asarray(d.month), origin)
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        raise SchemaError(
            f"time column {values.name!r} must be numeric or a date",
            where=where,
            hint="use a period number (1, 2, ...) or the period's start date",
        )
    t = values.to_numpy(dtype=float)
    if not np.all(np.isfinite(t)):
        raise SchemaError(f"time column {values.name!r} has infinite values", where=where)
    return TimeAxis(t, "period", None, None)


def interruption_times(values: Sequence[object], axis: TimeAxis, where: str) -> list[float]:
    """Convert interruption values (same type as the time column) to numeric time."""
    out: list[float] = []
    for v in values:
        if axis.origin is not None:
            try:
                ts = pd.Timestamp(v)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    "interruptions must be dates when the time column holds dates",
                    where=where,
                ) from exc
            origin = pd.Timestamp(axis.origin)
            if axis.unit == "month":
                out.append(float((ts.year - origin.year) * 12 + ts.month - origin.month))
            elif axis.unit == "week":
                out.append((ts - origin).days / 7.0)
            else:
                out.append(float((ts - origin).days))
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ConfigError(
                    "interruptions must be numbers when the time column is numeric",
                    where=where,
                )
            out.append(float(v))
    if sorted(out) != out or len(set(out)) != len(out):
        raise ConfigError("interruptions must be distinct and in increasing order", where=where)
    return out


def segment_columns(
    t: np.ndarray,
    starts: Sequence[float],
    *,
    slope_change: bool,
    phase_in: int,
    phase_in_mode: PhaseIn,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Segment columns, their names and the mask of rows inside a phase-in window.

    Returns
    -------
    columns
        ``(n, n_terms)`` array: ``level_1, slope_1, level_2, slope_2, ...``.
    names
        Column names.
    in_phase_in
        Boolean mask of rows inside any phase-in window (dropped when ``"exclude"``).
    """
    cols: list[np.ndarray] = []
    names: list[str] = []
    phase = np.zeros(t.shape[0], dtype=bool)
    for k, start in enumerate(starts, start=1):
        end = start + phase_in
        if phase_in > 0:
            phase |= (t >= start) & (t < end)
        if phase_in_mode == "ramp" and phase_in > 0:
            level = np.where(t >= start, np.minimum(1.0, (t - start + 1) / (phase_in + 1)), 0.0)
        else:
            level = (t >= end).astype(float)
        cols.append(level)
        names.append(f"level_{k}")
        if slope_change:
            cols.append(np.where(t >= end, t - end, 0.0))
            names.append(f"slope_{k}")
    return np.column_stack(cols), names, phase


def seasonal_columns(
    t: np.ndarray,
    month: np.ndarray | None,
    *,
    seasonality: Seasonality,
    fourier_pairs: int,
    period: float | None,
    where: str,
) -> tuple[np.ndarray, list[str]]:
    """Seasonal columns (Fourier pairs or month indicators); empty when ``"none"``."""
    n = t.shape[0]
    if seasonality == "none":
        return np.empty((n, 0)), []
    if seasonality == "fourier":
        if period is None:
            raise ConfigError(
                "Fourier seasonality needs the period length",
                where=where,
                hint="set period (12 for monthly data, 52.18 for weekly data)",
            )
        if fourier_pairs < 1 or fourier_pairs > period / 2:
            raise ConfigError(
                f"fourier_pairs must be between 1 and period/2, got {fourier_pairs}", where=where
            )
        k = np.arange(1, fourier_pairs + 1) * 2 * np.pi / period
        m = np.outer(t, k)
        names = [f"sin_{j}" for j in range(1, fourier_pairs + 1)]
        names += [f"cos_{j}" for j in range(1, fourier_pairs + 1)]
        return np.column_stack([np.sin(m), np.cos(m)]), names
    if month is None:
        raise ConfigError(
            "month indicators need calendar months",
            where=where,
            hint="give a date time column or a month column (1-12)",
        )
    month = np.asarray(month, dtype=float)
    if not np.all(np.isin(month, np.arange(1, 13))):
        raise SchemaError("the month column must hold integers 1-12", where=where)
    present = [m for m in range(2, 13) if np.any(month == m)]
    cols = [(month == m).astype(float) for m in present]
    return (np.column_stack(cols) if cols else np.empty((n, 0))), [f"month_{m}" for m in present]


def check_full_rank(X: np.ndarray, names: list[str], where: str) -> None:
    """Raise DesignError when the design matrix is rank deficient."""
    scale = np.sqrt(np.mean(X**2, axis=0))
    if np.any(scale == 0):
        bad = [nm for nm, s in zip(names, scale, strict=True) if s == 0]
        raise DesignError(
            f"design column(s) are all zero: {', '.join(bad)}",
            where=where,
            hint="check that every interruption has observations after it (and after its phase-in)",
        )
    if np.linalg.matrix_rank(X / scale) < X.shape[1]:
        raise DesignError(
            "the segmented regression design is singular (collinear terms)",
            where=where,
            hint="use fewer interruptions, a shorter phase-in, or fewer seasonal terms",
        )
