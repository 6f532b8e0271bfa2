"""Time-series builder: weekly or monthly event counts (and denominators) from derived events.

The aggregation runs on the relational engine (Ibis: DuckDB or Spark): events are filtered
to the chosen event types and date window, optionally restricted to a set of persons (which
may carry a series/group column, e.g. intervention and comparison practices), truncated to
the period start (month start, or ISO week starting Monday) and counted (or their nights
summed, for ``bed_days``). Only the per-period totals are brought into pandas; periods with no
events are filled with 0 so the series is complete. Population denominators are merged from a
small table of ``period`` (and group) rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, SchemaError

Frequency = Literal["month", "week"]
_WHERE = "analysis.its.series"


def _period_grid(start: dt.date, end: dt.date, frequency: Frequency) -> pd.DatetimeIndex:
    s = pd.Timestamp(start)
    if frequency == "month":
        return pd.date_range(s.to_period("M").start_time, pd.Timestamp(end), freq="MS")
    monday = s - pd.Timedelta(days=s.weekday())
    return pd.date_range(monday, pd.Timestamp(end), freq="7D")


def build_series(
    events: ibis.Table,
    *,
    event: str | Sequence[str],
    start: dt.date,
    end: dt.date,
    frequency: Frequency = "month",
    measure: Literal["count", "nights"] = "count",
    persons: ibis.Table | None = None,
    group: str | None = None,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Aggregate derived events to a complete weekly or monthly series.

    Parameters
    ----------
    events
        The derived event table (``person_id, event, start_date, end_date, nights``).
    event
        Event type(s) to count, e.g. ``"emergency_admission"``.
    start, end
        Window of event start dates (inclusive). Periods run from the period containing
        ``start`` to the period containing ``end``; partial first/last periods are the
        caller's responsibility (choose whole months or weeks).
    frequency
        ``"month"`` (periods start on the 1st) or ``"week"`` (periods start on Monday).
    measure
        ``"count"`` of events or sum of ``"nights"`` (bed days).
    persons
        Optional table of persons to include (``person_id`` plus the ``group`` column).
    group
        Column of ``persons`` that splits the series (e.g. 1 intervention, 0 comparison).
    population
        Optional denominators: ``period`` (period start) and ``population`` columns, plus
        ``group`` when grouped. Every period (and group) of the series must be present.

    Returns
    -------
    pandas.DataFrame
        ``period`` (Timestamp), [``group``], ``events`` (int64 counts or nights) and
        ``population`` when given; sorted by group then period.

    Raises
    ------
    ConfigError
        Bad window, frequency or measure, or ``group`` without ``persons``.
    SchemaError
        Missing columns, or denominators missing for some periods.
    """
    if frequency not in ("month", "week"):
        raise ConfigError("frequency must be month or week", where=f"{_WHERE}.frequency")
    if measure not in ("count", "nights"):
        raise ConfigError("measure must be count or nights", where=f"{_WHERE}.measure")
    if end < start:
        raise ConfigError("the series ends before it starts", where=f"{_WHERE}.end")
    if group is not None and persons is None:
        raise ConfigError("group needs a persons table that holds it", where=f"{_WHERE}.group")
    kinds = [event] if isinstance(event, str) else list(event)
    need = {"person_id", "event", "start_date"} | ({"nights"} if measure == "nights" else set())
    missing = sorted(need - set(events.columns))
    if missing:
        raise SchemaError(f"event table lacks column(s): {', '.join(missing)}", where=_WHERE)

    ev = events.filter(
        events.event.isin(kinds)
        & (events.start_date >= ibis.literal(start))
        & (events.start_date <= ibis.literal(end))
    )
    keys = ["period"]
    if persons is not None:
        pcols = ["person_id"] + ([group] if group else [])
        lacking = [c for c in pcols if c not in persons.columns]
        if lacking:
            raise SchemaError(f"persons table lacks column(s): {', '.join(lacking)}",
                              where=_WHERE)
        p = persons.select(*pcols).distinct()
        ev = ev.inner_join(p, "person_id")
        if group:
            ev = ev.mutate(group=ev[group])
            keys.append("group")
    unit = "M" if frequency == "month" else "W"
    ev = ev.mutate(period=ev.start_date.truncate(unit))
    value = ev.count() if measure == "count" else ev.nights.fill_null(0).sum()
    agg = ev.group_by(keys).aggregate(events=value).to_pandas()

    grid = pd.DataFrame({"period": _period_grid(start, end, frequency)})
    if group:
        groups = persons.select(group).distinct().to_pandas()[group]  # type: ignore[union-attr]
        grid = grid.merge(pd.DataFrame({"group": groups.to_numpy()}), how="cross")
    agg["period"] = pd.to_datetime(agg["period"])
    grid["period"] = pd.to_datetime(grid["period"])
    out = grid.merge(agg, on=keys, how="left")
    out["events"] = out["events"].fillna(0).astype(np.int64)
    if population is not None:
        pkeys = keys
        absent = [c for c in [*pkeys, "population"] if c not in population.columns]
        if absent:
            raise SchemaError(
                f"population table lacks column(s): {', '.join(absent)}", where=_WHERE
            )
        pop = population[[*pkeys, "population"]].copy()
        pop["period"] = pd.to_datetime(pop["period"])
        out = out.merge(pop, on=pkeys, how="left")
        n_missing = int(out["population"].isna().sum())
        if n_missing:
            raise SchemaError(
                f"{n_missing} period(s) have no population denominator",
                where=_WHERE,
                hint="give a population row for every period (and group) of the series",
            )
    sort = (["group"] if group else []) + ["period"]
    return out.sort_values(sort).reset_index(drop=True)


def series_population(
    members: ibis.Table,
    *,
    start: dt.date,
    end: dt.date,
    frequency: Frequency = "month",
    group: str | None = None,
) -> pd.DataFrame:
    """Population denominators per period from membership intervals (on the engine).

    Parameters
    ----------
    members
        One row per spell of membership: ``person_id``, ``entry`` (date, first day in the
        population), ``exit`` (date, first day no longer in it: exclusive) and ``group`` when
        grouped. A person may have several spells (e.g. two care-home stays).
    start, end
        The series window (inclusive), as for :func:`build_series`.
    frequency
        ``"month"`` or ``"week"``.
    group
        Column of ``members`` that splits the series.

    Returns
    -------
    pandas.DataFrame
        ``period``, [``group``], ``population`` (members on the period's first day) and
        ``person_years`` (days in the population within the period / 365.25), for every period
        of the window (zeros where nobody was a member), sorted by group then period.
    """
    if frequency not in ("month", "week"):
        raise ConfigError("frequency must be month or week", where=f"{_WHERE}.frequency")
    need = {"person_id", "entry", "exit"} | ({group} if group else set())
    missing = sorted(need - set(members.columns))
    if missing:
        raise SchemaError(f"membership table lacks column(s): {', '.join(missing)}",
                          where=_WHERE)
    grid = pd.DataFrame({"period": _period_grid(start, end, frequency)})
    step = pd.DateOffset(months=1) if frequency == "month" else pd.Timedelta(days=7)
    stop = min(pd.Timestamp(end) + pd.Timedelta(days=1), grid["period"].iloc[-1] + step)
    ends = [*grid["period"].iloc[1:], stop]
    periods = ibis.memtable(pd.DataFrame({
        "period": [p.date() for p in grid["period"]],
        "period_end": [e.date() for e in ends],
    }))
    lo, hi = ibis.literal(start), ibis.literal(stop.date())
    m = members.mutate(_in=ibis.greatest(members.entry.cast("date"), lo),
                       _out=ibis.least(members.exit.cast("date"), hi))
    m = m.filter(m._in < m._out)
    j = m.join(periods, [m._in < periods.period_end, m._out > periods.period])
    days = ibis.least(j._out, j.period_end).delta(ibis.greatest(j._in, j.period), unit="day")
    at_start = ((j.entry.cast("date") <= j.period) & (j.exit.cast("date") > j.period)).ifelse(1, 0)
    keys = ["period"] + (["group"] if group else [])
    if group:
        j = j.mutate(group=j[group])
    agg = j.group_by(keys).aggregate(
        population=at_start.sum(), person_years=(days.cast("float64") / 365.25).sum()
    ).to_pandas()
    agg["period"] = pd.to_datetime(agg["period"])
    if group:
        groups = members.select(group).distinct().to_pandas()[group]
        grid = grid.merge(pd.DataFrame({"group": sorted(groups.to_numpy())}), how="cross")
    out = grid.merge(agg, on=keys, how="left")
    out["population"] = out["population"].fillna(0).astype(np.int64)
    out["person_years"] = out["person_years"].fillna(0.0).astype(float)
    sort = (["group"] if group else []) + ["period"]
    return out.sort_values(sort).reset_index(drop=True)
