"""Person-level counts of events in date windows around each person's index date.

All windows are half-open in calendar days, ``[start, stop)``, with both bounds held as date
columns of the cohort table:

====================  ==========================  =====================================
window                start (inclusive)           stop (exclusive)
====================  ==========================  =====================================
year before (``_y1``)  index - 365 days           index (so day -365 .. day -1)
year -2 (``_y2``)      index - 730 days           index - 365 days (day -730 .. day -366)
follow-up              index (index day counts)   follow_up_end + 1 day
====================  ==========================  =====================================

Counts use each event's ``start_date``. Nights (bed days) count the nights of a spell that fall
inside the window: a spell from admission ``a`` to discharge ``d`` has the nights of dates
``a .. d-1``, so the nights in ``[start, stop)`` are ``max(0, min(d, stop) - max(a, start))``
(a spell is truncated to the window; zero-night spells add nothing).

Everything is computed in one pass over the events: a left join of the cohort to the events
on ``person_id`` and a date-range condition, then one conditional aggregate per output
column (the pattern of ``shared/reference/engines.md`` section 2; it compiles to
``COUNT(...) FILTER (WHERE ...)`` on DuckDB and ``COUNT(IF(...))`` on Spark).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

#: Cohort-table columns holding the window bounds, by window suffix.
Y1 = ("_y1", "y1_start", "y1_stop")
Y2 = ("_y2", "y2_start", "y2_stop")
FOLLOW_UP = ("", "fu_start", "fu_stop")


@dataclass(frozen=True)
class WindowedMeasure:
    """One output column: a count (or nights) of one event type in one window.

    Parameters
    ----------
    column
        Output column name, e.g. ``"emergency_admissions_y1"``.
    event
        Value of ``events.event`` to count, e.g. ``"emergency_admission"``.
    kind
        ``"count"``: events whose ``start_date`` is in the window; ``"nights"``: nights of
        the spell inside the window.
    start, stop
        Names of the cohort columns holding the window's inclusive start and exclusive stop.
    """

    column: str
    event: str
    kind: Literal["count", "nights"]
    start: str
    stop: str


def add_window_bounds(cohort: ir.Table) -> ir.Table:
    """Add the window-bound columns of the module table to a cohort table.

    Parameters
    ----------
    cohort
        Needs ``index_date`` and ``follow_up_end`` (last day of follow-up, inclusive).
    """
    index = cohort.index_date
    return cohort.mutate(
        y2_start=index - ibis.interval(days=730),
        y2_stop=index - ibis.interval(days=365),
        y1_start=index - ibis.interval(days=365),
        y1_stop=index,
        fu_start=index,
        fu_stop=cohort.follow_up_end + ibis.interval(days=1),
    )


def follow_up_end(
    index_date: ir.DateValue,
    death_date: ir.DateValue,
    setting_end: ir.DateValue,
    data_cut: dt.date,
    max_follow_up_days: int | None,
) -> ir.DateValue:
    """Last day of follow-up (inclusive): the earliest of the four ends.

    The ends are the date of death, the day the person left the setting (``END_DATE``),
    ``data_cut`` (the last day the extract covers) and, if set, day ``max_follow_up_days - 1``
    after the index date (so follow-up lasts at most ``max_follow_up_days`` days). Each end
    day is itself inside follow-up, so an admission on the day of death counts and a death
    ends follow-up on its own day. A missing date of death or ``END_DATE`` means no such end.
    """
    ends = [
        ibis.coalesce(death_date, ibis.literal(data_cut)),
        ibis.coalesce(setting_end, ibis.literal(data_cut)),
        ibis.literal(data_cut),
    ]
    if max_follow_up_days is not None:
        ends.append(index_date + ibis.interval(days=max_follow_up_days - 1))
    return ibis.least(*ends).cast("date")


def windowed_counts(
    cohort: ir.Table,
    events: ir.Table,
    measures: Sequence[WindowedMeasure],
    *,
    key: str = "person_id",
) -> ir.Table:
    """Count events (or sum nights) per person in date windows, in one pass over ``events``.

    Parameters
    ----------
    cohort
        One row per ``key`` with the date columns named by each measure's ``start``/``stop``.
    events
        Long event table ``person_id, event, start_date, end_date, nights``. A missing
        ``end_date`` is taken as ``start_date + nights`` (or ``start_date`` if both are missing).
    measures
        The output columns to build (names must be unique).
    key
        Person key column of ``cohort``; ``events`` always uses ``person_id``.

    Returns
    -------
    ibis.Table
        ``key`` plus one ``int64`` column per measure, one row per cohort row; persons with
        no events get 0.
    """
    if not measures:
        return cohort.select(key)
    names = [m.column for m in measures]
    if len(set(names)) != len(names):
        raise ValueError("windowed_counts: measure column names must be unique")
    bounds = sorted({m.start for m in measures} | {m.stop for m in measures})
    starts = sorted({m.start for m in measures})
    stops = sorted({m.stop for m in measures})
    span_start = cohort[starts[0]] if len(starts) == 1 else ibis.least(*[cohort[c] for c in starts])
    span_stop = cohort[stops[0]] if len(stops) == 1 else ibis.greatest(*[cohort[c] for c in stops])
    left = cohort.select(key, *bounds, _span_start=span_start, _span_stop=span_stop)

    wanted = sorted({m.event for m in measures})
    ev = events.filter(events.event.isin(wanted))
    spell_end = ibis.coalesce(
        ev.end_date, ev.start_date + ev.nights.cast("int64").as_interval("D"), ev.start_date
    )
    right = ev.select(
        _ev_person=ev.person_id, _ev_event=ev.event, _ev_start=ev.start_date, _ev_end=spell_end
    )
    joined = left.left_join(
        right,
        [
            left[key] == right._ev_person,
            right._ev_start < left._span_stop,
            right._ev_end >= left._span_start,
        ],
    )

    aggregates: dict[str, ir.Value] = {}
    for m in measures:
        is_event = joined._ev_event == m.event
        start, stop = joined[m.start], joined[m.stop]
        if m.kind == "count":
            in_window = is_event & (joined._ev_start >= start) & (joined._ev_start < stop)
            aggregates[m.column] = joined._ev_start.count(where=in_window)
        elif m.kind == "nights":
            nights = ibis.least(joined._ev_end, stop).delta(
                ibis.greatest(joined._ev_start, start), unit="day"
            )
            aggregates[m.column] = nights.sum(where=is_event & (nights > 0))
        else:  # pragma: no cover - guarded by the Literal type
            raise ValueError(f"unknown measure kind {m.kind!r}")
    counted = joined.group_by(joined[key]).aggregate(**aggregates)
    return counted.select(key, *[counted[n].fill_null(0).cast("int64").name(n) for n in names])
