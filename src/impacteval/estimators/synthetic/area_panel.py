"""Area x month panels for area-level designs, donor-pool rules and washout months.

``area_month_panel`` turns the derived event table (``impacteval.derive.derive_events``: one
row per person and event) and the persons table into one row per area and calendar month:
the registered population at mid-month and, per outcome event, the count and the rate per
10,000 registered persons. The aggregation runs on the Ibis backend; only the small
area x month result is brought into pandas. ``donor_pool`` applies the donor rules and
``treatment_indicator`` adds the 0/1 ``treatment`` column the estimators take, dropping the
washout months after the start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import pandas as pd

from impacteval.exceptions import ConfigError, DesignError, SchemaError

WHERE = "area_panel"


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def area_month_panel(
    events: ibis.Table,
    persons: ibis.Table,
    *,
    outcomes: Sequence[str],
    start: dt.date,
    end: dt.date,
    area: str = "CCG_CODE",
    deaths: ibis.Table | None = None,
    per: float = 10_000.0,
) -> pd.DataFrame:
    """Monthly counts and rates per area.

    Parameters
    ----------
    events
        ``person_id, event, start_date`` (derived events).
    persons
        ``person_id, <area>, REG_START, REG_END`` (null start = registered from the start,
        null end = still registered).
    outcomes
        Event names to count (e.g. ``"emergency_admission"``).
    start, end
        First and last month (any day inside them).
    area
        Area column of ``persons``.
    deaths
        Optional ``person_id, DOD``: persons leave the population after death.
    per
        Rate denominator (registered persons).

    Returns
    -------
    pandas.DataFrame
        ``area, month (first day), population`` and per outcome ``<outcome>`` (count) and
        ``<outcome>_rate`` (per ``per`` registered persons; NaN where population is 0).
        Persons without an area are left out.
    """
    if not outcomes:
        raise ConfigError("no outcomes given", where=f"{WHERE}.outcomes")
    if end < start:
        raise ConfigError("end is before start", where=f"{WHERE}.end")
    for table, cols, name in ((events, ["person_id", "event", "start_date"], "events"),
                              (persons, ["person_id", area, "REG_START", "REG_END"], "persons")):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise SchemaError(f"missing column(s): {', '.join(missing)}", where=f"{WHERE}.{name}")
    months = _months(start, end)
    first, last = months[0], months[-1]
    last_day = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()

    p = persons.select("person_id", area_=persons[area], reg_start=persons.REG_START,
                       reg_end=persons.REG_END).filter(ibis._.area_.notnull())
    if deaths is not None:
        d = deaths.select("person_id", dod=deaths.DOD)
        p = p.left_join(d, "person_id").select(
            "person_id", "area_", "reg_start",
            reg_end=ibis.cases((ibis._.dod.notnull() & (ibis._.reg_end.isnull()
                                                        | (ibis._.dod < ibis._.reg_end)),
                                ibis._.dod), else_=ibis._.reg_end))

    # population at mid-month: aggregate persons to (area, start month, end) first so the
    # cross join with the months is small
    grouped = p.group_by(["area_", "reg_start", "reg_end"]).agg(n=ibis._.count())
    month_t = ibis.memtable(pd.DataFrame({"month": pd.to_datetime(months)
                                          + pd.Timedelta(days=14)}))
    month_t = month_t.select(mid=month_t.month.cast("date"))
    joined = grouped.cross_join(month_t)
    alive = ((joined.reg_start.isnull() | (joined.reg_start <= joined.mid))
             & (joined.reg_end.isnull() | (joined.reg_end >= joined.mid)))
    pop = (joined.filter(alive).group_by(["area_", "mid"]).agg(population=joined.n.sum())
           .to_pandas())
    pop["month"] = pd.to_datetime(pop["mid"]).dt.to_period("M").dt.to_timestamp()

    e = events.filter(events.event.isin(list(outcomes))
                      & (events.start_date >= first) & (events.start_date <= last_day))
    e = e.inner_join(p.select("person_id", "area_"), "person_id")
    counts = (e.group_by(["area_", e.start_date.truncate("M").name("month"), "event"])
              .agg(n=ibis._.count()).to_pandas())
    counts["month"] = pd.to_datetime(counts["month"]).dt.to_period("M").dt.to_timestamp()

    areas = sorted(set(pop["area_"]) | set(counts["area_"]))
    grid = pd.MultiIndex.from_product([areas, pd.to_datetime(months)], names=["area", "month"])
    out = pd.DataFrame(index=grid).reset_index()
    out = out.merge(pop.rename(columns={"area_": "area"})[["area", "month", "population"]],
                    on=["area", "month"], how="left")
    out["population"] = out["population"].fillna(0).astype("int64")
    wide = counts.pivot_table(index=["area_", "month"], columns="event", values="n",
                              aggfunc="sum").reset_index().rename(columns={"area_": "area"})
    out = out.merge(wide, on=["area", "month"], how="left")
    for o in outcomes:
        out[o] = out[o].fillna(0).astype("int64") if o in out.columns else 0
        rate = out[o] / out["population"].where(out["population"] > 0) * per
        out[f"{o}_rate"] = rate.astype("float64")
    out["month"] = out["month"].dt.date
    return out[["area", "month", "population",
                *[c for o in outcomes for c in (o, f"{o}_rate")]]]


def donor_pool(
    panel: pd.DataFrame,
    *,
    treated: Sequence[str],
    start: dt.date,
    exclude: Sequence[str] = (),
    min_population: int = 1,
    area: str = "area",
    month: str = "month",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the treated areas and the eligible donors.

    A donor is dropped if it is listed in ``exclude`` (areas with their own changes) or if its
    population falls below ``min_population`` in any pre-period month (incomplete coverage).

    Returns
    -------
    (panel restricted to treated + donors, log with ``area, kept, reason``)
    """
    missing = [a for a in treated if a not in set(panel[area])]
    if missing:
        raise DesignError(f"{len(missing)} treated area(s) are not in the panel",
                          where=f"{WHERE}.treated")
    pre = panel[panel[month] < start]
    min_pop = pre.groupby(area)["population"].min()
    rows = []
    for a in sorted(set(panel[area])):
        if a in treated:
            rows.append({"area": a, "kept": True, "reason": "treated"})
        elif a in exclude:
            rows.append({"area": a, "kept": False, "reason": "excluded (own change)"})
        elif min_pop.get(a, 0) < min_population:
            rows.append({"area": a, "kept": False, "reason": "pre-period coverage"})
        else:
            rows.append({"area": a, "kept": True, "reason": "donor"})
    log = pd.DataFrame(rows)
    kept = set(log.loc[log["kept"], "area"])
    if len(kept) - len(set(treated)) < 2:
        raise DesignError("fewer than 2 donor areas remain", where=f"{WHERE}.donors",
                          hint="relax min_population or the exclusions")
    return panel[panel[area].isin(kept)], log


def treatment_indicator(
    panel: pd.DataFrame,
    *,
    treated: Sequence[str],
    start: dt.date,
    washout_months: int = 0,
    area: str = "area",
    month: str = "month",
    column: str = "treatment",
) -> pd.DataFrame:
    """Add a 0/1 ``column`` (treated area from ``start`` + washout) and drop washout months.

    The ``washout_months`` months from ``start`` are removed for every area (the change is
    bedding in: neither pre nor post).
    """
    if not isinstance(washout_months, int) or washout_months < 0:
        raise ConfigError("washout_months must be a non-negative integer",
                          where=f"{WHERE}.washout_months")
    first_post = (pd.Timestamp(start).to_period("M") + washout_months).to_timestamp().date()
    start_month = pd.Timestamp(start).to_period("M").to_timestamp().date()
    out = panel[(panel[month] < start_month) | (panel[month] >= first_post)]
    return out.assign(**{column: (out[area].isin(list(treated))
                                  & (out[month] >= first_post)).astype("int64")})
