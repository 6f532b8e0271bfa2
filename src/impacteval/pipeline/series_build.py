"""Stage 4 of the series designs (``its``, ``spc``): a weekly or monthly series from the
derived events of episode tables.

The population is a set of membership spells, built on the engine (Ibis):

``registered``
    One spell per person of ``persons`` whose ``area_column`` is in ``areas`` (or
    ``comparison_areas``; every person when ``areas`` is empty), from
    ``REG_START`` (the series start when null) to ``REG_END`` (inclusive; open when null).
``care_home_residents``
    One spell per ``settings`` row of the chosen ``setting_types`` (and ``settings`` IDs),
    from ``START_DATE`` to ``END_DATE`` (inclusive; open when null), for persons whose area is
    in ``areas`` / ``comparison_areas`` when given.

Every spell ends at death (the day after the derived ``death`` event) and at the end of the
series. An event counts when it starts inside one of the person's spells: so admissions of
care-home residents count while they live in a care home, not before they moved in. The
counts per period come from :func:`impacteval.estimators.its.build_series`, the denominators
(number in the population on each period's first day; person-years in the period) from
:func:`impacteval.estimators.its.series_population`. Rates per 1,000 of the denominator are
added as ``<outcome>_rate``. A person's spells should not overlap (an event inside two
overlapping spells of one person is counted twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import ibis
import pandas as pd

from impacteval.config.models import SeriesSpec
from impacteval.exceptions import ConfigError, DesignError, SchemaError
from impacteval.pipeline.design_registry import FLOW_COLUMNS, EpisodeData

#: Outcome name -> (derived event, how it is aggregated), as the cohort stage's measures.
SERIES_EVENTS: dict[str, tuple[str, Literal["count", "nights"]]] = {
    "emergency_admissions": ("emergency_admission", "count"),
    "avoidable_emergency_admissions": ("avoidable_emergency_admission", "count"),
    "elective_admissions": ("elective_admission", "count"),
    "ae_attendances": ("ae_attendance", "count"),
    "op_attendances": ("op_attendance", "count"),
    "bed_days": ("bed_days", "nights"),
    "deaths": ("death", "count"),
}
RATE_PER = 1000.0


def _check_window(spec: SeriesSpec, data_cut: dt.date, where: str) -> tuple[dt.date, dt.date]:
    end = spec.end or data_cut
    start = spec.start
    if end > data_cut:
        raise ConfigError(f"the series ends after data.data_cut ({data_cut})", where=f"{where}.end",
                          hint="end the series on or before the data cut")
    after = end + dt.timedelta(days=1)
    if spec.frequency == "month":
        if start.day != 1:
            raise ConfigError("a monthly series starts on the first day of a month",
                              where=f"{where}.start", hint="e.g. 2013-01-01")
        if after.day != 1:
            raise ConfigError("a monthly series ends on the last day of a month (whole months)",
                              where=f"{where}.end", hint="e.g. 2016-08-31")
    else:
        if start.weekday() != 0:
            raise ConfigError("a weekly series starts on a Monday", where=f"{where}.start")
        if after.weekday() != 0:
            raise ConfigError("a weekly series ends on a Sunday (whole weeks)",
                              where=f"{where}.end")
    if end < start:
        raise ConfigError("the series ends before it starts", where=f"{where}.end")
    return start, end


def _members(spec: SeriesSpec, ep: EpisodeData, start: dt.date, end: dt.date,
             where: str) -> ibis.Table:
    """Membership spells ``person_id, entry, exit, group`` (group 1 intervention, 0 comparison)."""
    persons = ep.tables["persons"]
    lo, hi = ibis.literal(start), ibis.literal(end + dt.timedelta(days=1))
    if spec.area_column not in persons.columns:
        raise SchemaError(f"the persons table has no {spec.area_column} column",
                          where=f"{where}.area_column")
    areas = [*spec.areas, *spec.comparison_areas]
    area = persons[spec.area_column].cast("string")
    who = persons.select(person_id=persons.person_id, _area=area)
    if areas:
        who = who.filter(who._area.isin(areas))
    group = (who._area.isin(spec.areas).ifelse(1, 0) if spec.comparison_areas
             else ibis.literal(1))
    who = who.mutate(group=group)
    ev = ep.events
    deaths = (ev.filter(ev.event == "death").group_by("person_id")
              .aggregate(_death=ev.start_date.min()))
    if spec.population == "registered":
        need = [c for c in ("REG_START", "REG_END") if c not in persons.columns]
        if need:
            raise SchemaError(f"the persons table has no {', '.join(need)} column(s)",
                              where=f"{where}.population",
                              hint="registered populations need registration dates")
        spells = persons.select("person_id", _entry=persons.REG_START.cast("date"),
                                _exit=persons.REG_END.cast("date"))
        spells = spells.mutate(_entry=ibis.coalesce(spells._entry, lo),
                               _exit=ibis.coalesce(spells._exit + ibis.interval(days=1), hi))
    else:
        if "settings" not in ep.tables:
            raise ConfigError("care-home residents need the settings table",
                              where="data.settings")
        s = ep.tables["settings"]
        s = s.filter(s.START_DATE.notnull() & s.SETTING_TYPE.isin(list(spec.setting_types)))
        if spec.settings:
            s = s.filter(s.SETTING_ID.cast("string").isin(list(spec.settings)))
        spells = s.select("person_id", _entry=s.START_DATE.cast("date"),
                          _exit=s.END_DATE.cast("date"))
        spells = spells.mutate(_exit=ibis.coalesce(spells._exit + ibis.interval(days=1), hi))
    j = spells.join(who, "person_id").left_join(deaths, "person_id")
    out = j.select(
        person_id=j.person_id, group=j.group, entry=j._entry,
        exit=ibis.least(j._exit, hi,
                        ibis.coalesce(j._death + ibis.interval(days=1), hi)),
    )
    return out.filter((out.entry < out.exit) & (out.entry < hi) & (out.exit > lo)).distinct()


def build_episode_series(spec: SeriesSpec, outcomes: Sequence[str], ep: EpisodeData,
                         data_cut: dt.date, *, where: str
                         ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The series of ``outcomes`` per period (see the module docstring).

    Returns
    -------
    frame
        ``period`` (Timestamp), ``group`` (1 intervention, 0 comparison; only with
        ``comparison_areas``), one count column per outcome, ``population``,
        ``person_years`` and ``<outcome>_rate`` (per 1,000 of ``spec.denominator``).
    attrition
        Persons in the population at any time in the window, per series.
    labels
        Column -> readable label.
    """
    from impacteval.estimators.its import build_series, series_population

    start, end = _check_window(spec, data_cut, where)
    # materialised once on the engine: every count and denominator below reads them
    members = _members(spec, ep, start, end, where).cache()
    grouped = bool(spec.comparison_areas)
    pop = series_population(members, start=start, end=end, frequency=spec.frequency,
                            group="group" if grouped else None)
    ev = ep.events
    names = sorted({SERIES_EVENTS[o][0] for o in outcomes})
    ev = ev.filter(ev.event.isin(names) & (ev.start_date >= ibis.literal(start))
                   & (ev.start_date <= ibis.literal(end)))
    j = ev.join(members, [ev.person_id == members.person_id,
                          ev.start_date >= members.entry, ev.start_date < members.exit])
    inside = j.select(person_id=ev.person_id, event=ev.event, start_date=ev.start_date,
                      nights=ev.nights, group=members.group).cache()
    keys = ["period", "group"] if grouped else ["period"]
    frame = pop[keys]
    groups_of = members.select("person_id", "group").distinct() if grouped else None
    for o in outcomes:
        event, measure = SERIES_EVENTS[o]
        s = build_series(inside, event=event, start=start, end=end, frequency=spec.frequency,
                         measure=measure, persons=groups_of, group="group" if grouped else None)
        frame = frame.merge(s.rename(columns={"events": o}), on=keys, how="left")
        frame[o] = frame[o].fillna(0).astype("int64")
    frame = frame.merge(pop, on=keys, how="left")
    denom = spec.denominator
    empty = frame[denom] <= 0
    if bool(empty.any()):
        raise DesignError(
            f"{int(empty.sum())} period(s) have nobody in the population ({denom} 0)",
            where=f"{where}.population",
            hint="check the areas / settings and the series start and end against the data")
    for o in outcomes:
        frame[f"{o}_rate"] = frame[o] / frame[denom] * RATE_PER
    sort = (["group"] if grouped else []) + ["period"]
    frame = frame.sort_values(sort, ascending=[False, True] if grouped else True,
                              kind="stable").reset_index(drop=True)
    n_people = members.group_by("group").aggregate(n=members.person_id.nunique()).to_pandas()
    n_by = dict(zip(n_people["group"].astype(int), n_people["n"].astype(int), strict=True))
    attrition = pd.DataFrame([{
        "step": "series_population",
        "description": ("People in the population at any time in the series "
                        f"({spec.population.replace('_', ' ')}; intervention / comparison)"),
        "n_treated": n_by.get(1, 0), "n_control": n_by.get(0, 0),
    }], columns=FLOW_COLUMNS)
    per = "person-years" if denom == "person_years" else "population"
    labels = {f"{o}_rate": f"{o.replace('_', ' ')} per 1,000 {per}" for o in outcomes}
    return frame, attrition, labels
