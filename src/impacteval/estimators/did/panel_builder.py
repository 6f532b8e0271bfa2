"""Relational stage: unit x period panels for DiD from the derived events (Ibis).

:func:`build_panel` turns the long event table of :func:`impacteval.derive.derive_events`
(``person_id, event, start_date``) and the ``persons`` table (``person_id``, an area column,
``REG_START``, ``REG_END``) into one row per unit (area or person) and period with

* one event-count column per requested outcome (events dated in the period);
* ``person_years``: registered person-time in the period (registration clipped to the period and
  to death, from the ``death`` event when present) -- the exposure of rates and of the Poisson
  DiD; ``population``: persons registered on the period's first day;
* ``period`` (1, 2, ...), ``period_start``; ``cohort``: the period in which the unit's area
  adopted the intervention (0 = never / after the last period), from a small table of adoption
  dates per area.

Every unit appears in every period (zero counts are rows, not gaps), so the result is the
balanced panel the estimators expect. Written in portable Ibis (range joins, ``delta``,
conditional sums; no ``asof_join``), so it runs on DuckDB and Spark; nothing is materialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from impacteval.exceptions import ConfigError, SchemaError

Period = Literal["month", "quarter", "year"]
_STEP = {"month": 1, "quarter": 3, "year": 12}
_WHERE = "did.panel"


def period_table(start: date, end: date, period: Period) -> pd.DataFrame:
    """Consecutive periods ``[period_start, period_end)`` from ``start`` up to ``end``.

    ``start`` must be the first day of a month; the last period may be cut short at ``end``
    (its person-time is then shorter, which the exposure accounts for).
    """
    if period not in _STEP:
        raise ConfigError(f"period must be one of {list(_STEP)}, got {period!r}",
                          where=f"{_WHERE}.period", hint="use 'month', 'quarter' or 'year'")
    if start.day != 1 or end <= start:
        raise ConfigError("start must be the first day of a month and before end",
                          where=f"{_WHERE}.start", hint="e.g. start=2013-01-01, end=2016-09-01")
    starts = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=f"{_STEP[period]}MS",
                           inclusive="left")
    ends = [*starts[1:], pd.Timestamp(end)]
    return pd.DataFrame({"period": range(1, len(starts) + 1),
                         "period_start": [s.date() for s in starts],
                         "period_end": [e.date() for e in ends]})


def adoption_cohorts(adoption: pd.DataFrame, periods: pd.DataFrame, *, area: str) -> pd.DataFrame:
    """Map adoption dates per area (columns ``area``, ``adoption_date``) to period numbers.

    Areas adopting before the first period get cohort 1 (treated throughout: the estimators
    drop them as they have no pre-period); after the last period, 0 (never treated here).
    """
    missing = [c for c in (area, "adoption_date") if c not in adoption.columns]
    if missing:
        raise SchemaError(f"adoption table lacks columns {missing}", where=f"{_WHERE}.adoption",
                          hint=f"give one row per adopting area: {area}, adoption_date")
    if adoption[area].duplicated().any():
        raise SchemaError("adoption table has more than one row per area",
                          where=f"{_WHERE}.adoption", hint="keep each area's first adoption date")
    when = pd.to_datetime(adoption["adoption_date"]).dt.date
    first, last = periods["period_start"].iloc[0], periods["period_end"].iloc[-1]
    starts = periods["period_start"].to_numpy()
    cohort = [0 if d >= last else 1 if d < first else int((starts <= d).sum()) for d in when]
    return pd.DataFrame({area: adoption[area].astype(str).to_numpy(), "cohort": cohort})


def build_panel(
    events: ir.Table,
    persons: ir.Table,
    *,
    outcomes: Sequence[str],
    start: date,
    end: date,
    period: Period = "quarter",
    area: str = "CCG_CODE",
    unit: Literal["area", "person"] = "area",
    adoption: pd.DataFrame | None = None,
) -> ir.Table:
    """Unit x period panel of event counts and person-time (see the module docstring).

    Parameters
    ----------
    events
        Long event table: ``person_id, event, start_date``.
    persons
        ``person_id``, ``area``, ``REG_START`` and ``REG_END`` (nulls = open-ended).
    outcomes
        Event names to count, e.g. ``["emergency_admission", "ae_attendance"]``.
    start, end
        Study period ``[start, end)``; ``start`` on the first of a month.
    period
        ``"month"``, ``"quarter"`` or ``"year"``.
    area
        Area column of ``persons`` (persons without an area are left out).
    unit
        ``"area"`` (one row per area and period) or ``"person"`` (one row per person and period,
        with the area as a column for clustering).
    adoption
        Optional pandas table ``<area>, adoption_date``; adds ``cohort`` (0 if absent).

    Returns
    -------
    ibis.Table
        ``unit_id, <area>, period, period_start, <outcome counts>, person_years, population,
        cohort`` (for ``unit="area"`` the ``unit_id`` is the area code).
    """
    outcomes = list(outcomes)
    if not outcomes:
        raise ConfigError("no outcomes to count", where=f"{_WHERE}.outcomes",
                          hint="name at least one derived event")
    for name, table, cols in (("events", events, ("person_id", "event", "start_date")),
                              ("persons", persons, ("person_id", area, "REG_START", "REG_END"))):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise SchemaError(f"{name} lacks columns {missing}", where=f"{_WHERE}.{name}",
                              hint="pass the derived events and the linked persons table")
    if unit not in ("area", "person"):
        raise ConfigError(f"unit must be 'area' or 'person', got {unit!r}", where=f"{_WHERE}.unit",
                          hint="use 'area' or 'person'")
    per = period_table(start, end, period)
    periods = ibis.memtable(per)
    lo, hi = ibis.literal(start), ibis.literal(end)

    deaths = (events.filter(events.event == "death").group_by("person_id")
              .aggregate(_death=events.start_date.min()))
    p = persons.filter(persons[area].notnull())
    p = p.left_join(deaths, "person_id").select(
        person_id=p.person_id, _area=p[area].cast("string"),
        _reg_start=ibis.coalesce(p.REG_START, lo),
        # registration ends the day before REG_END+1 / death: time at risk is [start, stop)
        _reg_stop=ibis.least(ibis.coalesce(p.REG_END + ibis.interval(days=1), hi),
                             ibis.coalesce(deaths._death + ibis.interval(days=1), hi), hi),
    )
    uid = p.person_id if unit == "person" else p._area
    p = p.mutate(unit_id=uid)

    # person-time: registration overlapped with each period
    pt = p.join(periods, [p._reg_start < periods.period_end, p._reg_stop > periods.period_start])
    overlap = ibis.least(pt._reg_stop, pt.period_end).delta(
        ibis.greatest(pt._reg_start, pt.period_start), unit="day")
    registered_at_start = (pt._reg_start <= pt.period_start).ifelse(1, 0)
    exposure = pt.group_by(["unit_id", "period"]).aggregate(
        person_years=(overlap.cast("float64") / 365.25).sum(),
        population=registered_at_start.sum(),
    )

    ev = events.filter(events.event.isin(outcomes) & (events.start_date >= lo)
                       & (events.start_date < hi))
    ev = ev.join(p, "person_id").select("unit_id", "event", "start_date")
    ev = ev.join(periods, [ev.start_date >= periods.period_start,
                           ev.start_date < periods.period_end])
    counts = ev.group_by(["unit_id", "period"]).aggregate(
        **{o: (ev.event == o).ifelse(1, 0).sum() for o in outcomes})

    units = p.group_by("unit_id").aggregate(**{area: p._area.min()})
    grid = units.cross_join(periods.select("period", "period_start"))
    out = grid.left_join(counts, ["unit_id", "period"]).drop("unit_id_right", "period_right")
    out = out.left_join(exposure, ["unit_id", "period"]).drop("unit_id_right", "period_right")
    fills = {o: 0 for o in outcomes} | {"person_years": 0.0, "population": 0}
    out = out.mutate(**{c: out[c].fill_null(v) for c, v in fills.items()})
    if adoption is not None:
        coh = ibis.memtable(adoption_cohorts(adoption, per, area=area).rename(
            columns={area: "_adopt_area"}))
        out = out.left_join(coh, out[area] == coh._adopt_area).drop("_adopt_area")
        out = out.mutate(cohort=out.cohort.fill_null(0))
    else:
        out = out.mutate(cohort=ibis.literal(0))
    order = ["unit_id", area, "period", "period_start", *outcomes, "person_years", "population",
             "cohort"]
    return out.select(*order).order_by(["unit_id", "period"])
