"""New residents, their index dates and arms, and one flag per eligibility step.

Rules (``shared/reference/nhs_routine_data.md`` sections 3.1 and 3.5):

* A person's move-in is their **first** residency in ``settings`` (earliest ``START_DATE``;
  ties broken by ``SETTING_ID`` then ``END_DATE`` so the choice is deterministic; residencies
  without a ``START_DATE`` are ignored). The index date is that ``START_DATE``.
* Arm: treated if that residency's ``SETTING_ID`` is an intervention setting, otherwise a
  candidate control. Candidate controls stay only if their ``CCG_CODE`` (persons table) is a
  comparison area.
* Persons are joined to ``persons`` by ``person_id`` (inner join: linkage has removed
  orphans) and to ``deaths`` (left join; earliest ``DOD`` if a person has several rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from impacteval.cohort.windows import follow_up_end
from impacteval.config.models import CohortSpec


@dataclass(frozen=True)
class Step:
    """One eligibility step: the boolean column of the candidate table that it tests."""

    name: str
    description: str
    flag: str | None


def age_at(mydob: ir.StringValue, on: ir.DateValue) -> ir.IntegerValue:
    """Age in whole years on a date, from an ``MMYYYY`` month-year of birth.

    The birthday is taken as the 15th of the birth month (the data contract's rule), so a
    person born ``031940`` is 73 on 2014-03-14 and 74 on 2014-03-15.
    """
    birth_month = mydob.substr(0, 2).cast("int64")
    birth_year = mydob.substr(2, 4).cast("int64")
    before_birthday = (on.month() < birth_month) | ((on.month() == birth_month) & (on.day() < 15))
    return (on.year().cast("int64") - birth_year - before_birthday.cast("int64")).cast("int64")


def first_residencies(settings: ir.Table) -> ir.Table:
    """One row per person: their earliest residency (``START_DATE`` not null)."""
    s = settings.filter(settings.START_DATE.notnull())
    order = ibis.window(
        group_by=s.person_id, order_by=[s.START_DATE, s.SETTING_ID, s.END_DATE]
    )
    ranked = s.mutate(_residency_rank=ibis.row_number().over(order))
    return ranked.filter(ranked._residency_rank == 0).drop("_residency_rank")


def steps(spec: CohortSpec) -> list[Step]:
    """The eligibility steps in the order they are applied (first row: the starting pool)."""
    lo, hi = spec.index_window
    alive = (
        Step("alive_at_index", "alive on the index date (no death recorded before it)", "ok_alive")
        if spec.exclude_died_before_index
        else Step("alive_at_index", "not applied (exclude_died_before_index is false)", None)
    )
    return [
        Step(
            "residents",
            "persons with a care-home residency; treated = first residency in an intervention "
            "setting, control = first residency elsewhere",
            None,
        ),
        Step(
            "index_in_window",
            f"first residency (move-in) starts between {lo.isoformat()} and {hi.isoformat()}",
            "ok_window",
        ),
        Step("comparison_area", "treated, or control living in a comparison area", "ok_area"),
        Step(
            "setting_type",
            "setting type is one of: " + ", ".join(spec.setting_types),
            "ok_type",
        ),
        Step("min_age", f"aged {spec.min_age} or over on the index date", "ok_age"),
        alive,
        Step("follow_up", "positive follow-up time (index date on or before the end of follow-up)",
             "ok_follow_up"),
    ]


def candidates(
    tables: dict[str, ir.Table],
    spec: CohortSpec,
    intervention_ids: list[str],
    data_cut: dt.date,
) -> ir.Table:
    """Every person with a residency, with their arm, index facts and eligibility flags.

    Returns
    -------
    ibis.Table
        ``person_id, treated (int64 0/1), index_date, setting_id, setting_type, setting_beds,
        setting_rural, area, MYDOB, SEX, ETHNOS, IMD19_DECILE, DOD, age, follow_up_end`` and
        non-null boolean flags ``ok_window, ok_area, ok_type, ok_age, ok_alive, ok_follow_up``.
    """
    first = first_residencies(tables["settings"])
    persons = tables["persons"].select(
        "person_id", "MYDOB", "SEX", "ETHNOS", "IMD19_DECILE", "CCG_CODE"
    )
    deaths = tables["deaths"]
    deaths = deaths.group_by(deaths.person_id.name("_death_person")).aggregate(
        DOD=deaths.DOD.min()
    )
    res = first.select(
        person_id=first.person_id,
        index_date=first.START_DATE.cast("date"),
        setting_end=first.END_DATE.cast("date"),
        setting_id=first.SETTING_ID,
        setting_type=first.SETTING_TYPE,
        setting_beds=first.SETTING_BEDS,
        setting_rural=first.SETTING_RURAL,
    )
    joined = res.join(persons, "person_id")
    joined = joined.left_join(deaths, joined.person_id == deaths._death_person).drop(
        "_death_person"
    )

    # a residency without a SETTING_ID cannot be an intervention setting: candidate control
    treated = ibis.coalesce(joined.setting_id.isin(intervention_ids), ibis.literal(False))
    in_area = (
        joined.CCG_CODE.isin(spec.control_areas) if spec.control_areas else ibis.literal(False)
    )
    lo, hi = spec.index_window
    age = age_at(joined.MYDOB, joined.index_date)
    end = follow_up_end(
        joined.index_date, joined.DOD, joined.setting_end, data_cut, spec.max_follow_up_days
    )
    out = joined.mutate(
        treated=treated.cast("int64"),
        area=joined.CCG_CODE,
        age=age,
        follow_up_end=end,
    )

    def flag(cond: ir.BooleanValue) -> ir.BooleanValue:
        return ibis.coalesce(cond, ibis.literal(False))

    alive = (
        out.DOD.isnull() | (out.DOD >= out.index_date)
        if spec.exclude_died_before_index
        else ibis.literal(True)
    )
    return out.mutate(
        ok_window=flag((out.index_date >= lo) & (out.index_date <= hi)),
        ok_area=flag((out.treated == 1) | in_area),
        ok_type=flag(
            out.setting_type.isin(list(spec.setting_types))
            if spec.setting_types
            else ibis.literal(False)
        ),
        ok_age=flag(out.age >= spec.min_age),
        ok_alive=flag(alive),
        ok_follow_up=flag(out.follow_up_end >= out.index_date),
    ).drop("CCG_CODE", "setting_end")
