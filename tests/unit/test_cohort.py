"""Unit tests of the cohort builder on small hand-made tables with known answers.

Every expected number below is worked out by hand from the rules in
``impacteval.cohort.cohort.build_cohort`` (docstring) and ``docs/dev/interfaces.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest

from impacteval.cohort import CohortResult, build_cohort
from impacteval.config.models import CohortSpec
from impacteval.exceptions import ConfigError, DesignError, SchemaError

D = dt.date
CUT = D(2016, 8, 31)
WINDOW = (D(2014, 1, 1), D(2016, 8, 31))
ALL_OUTCOMES = [
    "emergency_admissions",
    "avoidable_emergency_admissions",
    "elective_admissions",
    "ae_attendances",
    "op_attendances",
    "bed_days",
    "deaths",
]

PERSONS_SCHEMA = ibis.schema(
    {"person_id": "string", "MYDOB": "string", "SEX": "string", "ETHNOS": "string",
     "IMD19_DECILE": "int64", "CCG_CODE": "string"}
)
SETTINGS_SCHEMA = ibis.schema(
    {"person_id": "string", "SETTING_ID": "string", "SETTING_TYPE": "string",
     "SETTING_BEDS": "int64", "SETTING_RURAL": "string", "START_DATE": "date", "END_DATE": "date"}
)
DEATHS_SCHEMA = ibis.schema({"person_id": "string", "DOD": "date"})
EVENTS_SCHEMA = ibis.schema(
    {"person_id": "string", "event": "string", "start_date": "date", "end_date": "date",
     "nights": "int64"}
)
DX_SCHEMA = ibis.schema({"person_id": "string", "EPISTART": "date", "code": "string"})


def person(pid: str, *, mydob: str = "011930", sex: str = "2", ethnos: str | None = "A",
           imd: int | None = 5, ccg: str | None = "03W") -> dict[str, object]:
    return {"person_id": pid, "MYDOB": mydob, "SEX": sex, "ETHNOS": ethnos,
            "IMD19_DECILE": imd, "CCG_CODE": ccg}


def residency(pid: str, sid: str, start: dt.date, end: dt.date | None = None, *,
              kind: str = "residential", beds: int | None = 30,
              rural: str = "urban") -> dict[str, object]:
    return {"person_id": pid, "SETTING_ID": sid, "SETTING_TYPE": kind, "SETTING_BEDS": beds,
            "SETTING_RURAL": rural, "START_DATE": start, "END_DATE": end}


def event(pid: str, name: str, start: dt.date, end: dt.date | None = None,
          nights: int | None = None) -> dict[str, object]:
    return {"person_id": pid, "event": name, "start_date": start, "end_date": end,
            "nights": nights}


def table(rows: Iterable[dict[str, object]], schema: ibis.Schema) -> ir.Table:
    frame = pd.DataFrame(list(rows), columns=list(schema.names))
    return ibis.memtable(frame, schema=schema)


def inputs(persons: list[dict], settings: list[dict], deaths: list[dict] | None = None,
           events: list[dict] | None = None, dx: list[dict] | None = None
           ) -> tuple[dict[str, ir.Table], ir.Table, ir.Table]:
    tables = {
        "persons": table(persons, PERSONS_SCHEMA),
        "settings": table(settings, SETTINGS_SCHEMA),
        "deaths": table(deaths or [], DEATHS_SCHEMA),
    }
    return tables, table(events or [], EVENTS_SCHEMA), table(dx or [], DX_SCHEMA)


def make_spec(**changes: object) -> CohortSpec:
    base: dict[str, object] = {"index_window": WINDOW, "treated_settings": ["T1"],
                               "control_areas": ["03W"]}
    base.update(changes)
    return CohortSpec(**base)


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def run(con, tables, events, dx, spec=None, outcomes=ALL_OUTCOMES, cut=CUT) -> CohortResult:
    return build_cohort(con, tables, events, dx, spec or make_spec(), list(outcomes), cut)


def row(result: CohortResult, pid: str) -> pd.Series:
    t = result.table
    return t.loc[t["person_id"] == pid].iloc[0]


# --------------------------------------------------------------------------------------
# index date, first residency, arms
# --------------------------------------------------------------------------------------


def test_index_is_first_residency_and_arm_follows_it(con):
    persons = [person("a"), person("b"), person("c"), person("d", ccg="04N")]
    settings = [
        # a: first residency in a comparison-area home, later moves to the intervention home
        residency("a", "T1", D(2015, 1, 1)),
        residency("a", "C1", D(2014, 5, 1), D(2015, 1, 1)),
        # b: first residency before the window: not a new resident, even though the second is in it
        residency("b", "C1", D(2013, 6, 1), D(2014, 2, 1)),
        residency("b", "T1", D(2014, 2, 1)),
        # c: moves into the intervention home in the window
        residency("c", "T1", D(2016, 2, 29)),
        # d: lives outside the comparison areas but moves into the intervention home: treated
        residency("d", "T1", D(2014, 1, 1)),
    ]
    result = run(con, *inputs(persons, settings))
    t = result.table
    assert list(t["person_id"]) == ["a", "c", "d"]
    assert list(t["treated"]) == [0, 1, 1]
    assert list(t["index_date"]) == [pd.Timestamp("2014-05-01"), pd.Timestamp("2016-02-29"),
                                     pd.Timestamp("2014-01-01")]
    assert list(t["setting_id"]) == ["C1", "T1", "T1"]
    assert list(t["area"]) == ["03W", "03W", "04N"]
    # the index date (first residency) decides the arm, and b's later move does not re-enter
    first = result.attrition.set_index("step")
    assert first.loc["residents", "n_treated"] == 2  # c, d
    assert first.loc["residents", "n_control"] == 2  # a, b


def test_ties_on_first_start_date_are_broken_by_setting_id(con):
    persons = [person("a")]
    settings = [residency("a", "T1", D(2015, 1, 1)), residency("a", "C9", D(2015, 1, 1)),
                residency("z", "T1", D(2015, 1, 1))]
    persons.append(person("z"))
    result = run(con, *inputs(persons, settings))
    # "C9" < "T1": a is a control; the choice does not depend on row order
    assert row(result, "a")["treated"] == 0
    assert row(result, "a")["setting_id"] == "C9"


def test_treated_settings_file_adds_settings(con, tmp_path):
    path = tmp_path / "homes.csv"
    path.write_text("SETTING_ID,name\nT2,Home two\n", encoding="utf-8")
    persons = [person("a"), person("b"), person("c")]
    settings = [residency("a", "T1", D(2015, 1, 1)), residency("b", "T2", D(2015, 1, 1)),
                residency("c", "C1", D(2015, 1, 1))]
    result = run(con, *inputs(persons, settings), spec=make_spec(treated_settings_file=path))
    assert dict(zip(result.table["person_id"], result.table["treated"], strict=True)) == {
        "a": 1, "b": 1, "c": 0}


def test_missing_treated_settings_file_is_a_config_error(con, tmp_path):
    spec = make_spec(treated_settings=[], treated_settings_file=tmp_path / "absent.csv")
    with pytest.raises(ConfigError) as info:
        run(con, *inputs([person("a")], [residency("a", "T1", D(2015, 1, 1))]), spec=spec)
    assert info.value.where == "cohort.treated_settings_file"
    assert info.value.hint


def test_treated_settings_file_without_setting_id_column(con, tmp_path):
    path = tmp_path / "homes.csv"
    path.write_text("home\nT2\n", encoding="utf-8")
    spec = make_spec(treated_settings_file=path)
    with pytest.raises(ConfigError, match="SETTING_ID") as info:
        run(con, *inputs([person("a")], [residency("a", "T1", D(2015, 1, 1))]), spec=spec)
    assert info.value.where == "cohort.treated_settings_file"


# --------------------------------------------------------------------------------------
# age from MYDOB (15th of the birth month)
# --------------------------------------------------------------------------------------


AGE_CASES = [  # (MYDOB, index date, whole years with the birthday on the 15th)
    ("031940", D(2014, 3, 14), 73),  # day before the 15th of the birth month
    ("031940", D(2014, 3, 15), 74),  # on the 15th: birthday reached
    ("031940", D(2014, 2, 28), 73),  # month before the birth month
    ("031940", D(2014, 4, 1), 74),  # month after
    ("121949", D(2014, 12, 31), 65),
    ("011950", D(2014, 12, 31), 64),
]


def test_age_from_mydob(con):
    persons = [person(f"a{i}", mydob=m) for i, (m, _, _) in enumerate(AGE_CASES)]
    settings = [residency(f"a{i}", "C1", d) for i, (_, d, _) in enumerate(AGE_CASES)]
    result = run(con, *inputs([*persons, person("t")],
                              [*settings, residency("t", "T1", D(2015, 1, 1))]),
                 spec=make_spec(min_age=0))
    for i, (_, _, age) in enumerate(AGE_CASES):
        assert row(result, f"a{i}")["age"] == age, AGE_CASES[i]


def test_min_age_uses_age_at_index(con):
    persons = [person("young", mydob="031949"), person("old", mydob="031949"), person("t")]
    settings = [
        residency("young", "C1", D(2014, 3, 14)),  # 64 on the day before the 15th
        residency("old", "C1", D(2014, 3, 15)),  # 65 on the 15th
        residency("t", "T1", D(2015, 1, 1)),
    ]
    result = run(con, *inputs(persons, settings))
    assert list(result.table["person_id"]) == ["old", "t"]


# --------------------------------------------------------------------------------------
# eligibility steps and attrition
# --------------------------------------------------------------------------------------


def attrition_world() -> tuple[dict[str, ir.Table], ir.Table, ir.Table]:
    """Seven treated and six controls; each step removes the persons named beside it."""
    persons = [
        person("t1"), person("t2"), person("t3"), person("t4"), person("t5", mydob="011960"),
        person("t6"), person("t7"),
        person("c1"), person("c2", ccg="04N"), person("c3", mydob="011960"), person("c4"),
        person("c5", ccg=None), person("c6"),
    ]
    settings = [
        residency("t1", "T1", D(2014, 6, 1)),
        residency("t2", "T1", D(2015, 2, 1)),
        residency("t3", "T1", D(2013, 5, 1)),  # index_in_window
        residency("t4", "T1", D(2015, 2, 1), kind="nursing"),  # setting_type
        residency("t5", "T1", D(2015, 2, 1)),  # min_age (aged 55)
        residency("t6", "T1", D(2015, 2, 1)),  # alive_at_index (died 2015-01-31)
        residency("t7", "T1", D(2016, 10, 1)),  # follow_up (index after the data cut)
        residency("c1", "C1", D(2014, 7, 1)),
        residency("c2", "C2", D(2014, 7, 1)),  # comparison_area (04N)
        residency("c3", "C1", D(2014, 7, 1)),  # min_age
        residency("c4", "C1", D(2016, 9, 15)),  # follow_up
        residency("c5", "C1", D(2014, 7, 1)),  # comparison_area (no CCG)
        residency("c6", "C1", D(2017, 2, 1)),  # index_in_window (after it)
    ]
    deaths = [{"person_id": "t6", "DOD": D(2015, 1, 31)}]
    return inputs(persons, settings, deaths)


ATTRITION_SPEC = {"index_window": (D(2014, 1, 1), D(2016, 12, 31)),
                  "setting_types": ["residential"]}


def test_each_eligibility_step_and_attrition_counts(con):
    result = run(con, *attrition_world(), spec=make_spec(**ATTRITION_SPEC))
    a = result.attrition
    assert list(a.columns) == ["step", "description", "n_treated", "n_control"]
    assert list(a["step"]) == ["residents", "index_in_window", "comparison_area", "setting_type",
                               "min_age", "alive_at_index", "follow_up"]
    assert list(a["n_treated"]) == [7, 6, 6, 5, 4, 3, 2]
    assert list(a["n_control"]) == [6, 5, 3, 3, 2, 2, 1]
    assert a["n_treated"].dtype == "int64" and a["n_control"].dtype == "int64"
    assert list(result.table["person_id"]) == ["c1", "t1", "t2"]
    assert (result.n_treated, result.n_control) == (2, 1)
    assert all(isinstance(d, str) and d for d in a["description"])


def test_died_before_index_kept_out_by_follow_up_when_exclusion_is_off(con):
    spec = make_spec(**ATTRITION_SPEC, exclude_died_before_index=False)
    a = run(con, *attrition_world(), spec=spec).attrition.set_index("step")
    assert a.loc["alive_at_index", "n_treated"] == 4  # not applied
    assert "not applied" in a.loc["alive_at_index", "description"]
    # t6 (died before index) has negative follow-up, t7 none after the cut
    assert a.loc["follow_up", "n_treated"] == 2


def test_attrition_messages_have_no_identifiers(con):
    a = run(con, *attrition_world(), spec=make_spec(**ATTRITION_SPEC)).attrition
    text = " ".join(a["description"])
    for pid in ("t1", "t2", "c1", "c2"):
        assert pid not in text.split()


# --------------------------------------------------------------------------------------
# follow-up end and person-time
# --------------------------------------------------------------------------------------


def test_follow_up_ends_at_death_move_out_cut_or_maximum(con):
    idx = D(2015, 1, 1)
    persons = [person(p) for p in ("die", "leave", "cut", "leave_then_die", "die_on_index", "t")]
    settings = [
        residency("die", "C1", idx, D(2015, 1, 10)),  # residency ends with the death
        residency("leave", "C1", idx, D(2015, 3, 1)),
        residency("cut", "C1", idx),
        residency("leave_then_die", "C1", idx, D(2015, 3, 1)),
        residency("die_on_index", "C1", idx, idx),
        residency("t", "T1", D(2016, 8, 31)),  # index on the data cut: one day
    ]
    deaths = [{"person_id": "die", "DOD": D(2015, 1, 10)},
              {"person_id": "leave_then_die", "DOD": D(2015, 6, 1)},
              {"person_id": "die_on_index", "DOD": idx}]
    result = run(con, *inputs(persons, settings, deaths))
    expected_end = {
        "die": D(2015, 1, 10), "leave": D(2015, 3, 1), "cut": CUT,
        "leave_then_die": D(2015, 3, 1), "die_on_index": idx, "t": CUT,
    }
    expected_death = {"die": 1, "leave": 0, "cut": 0, "leave_then_die": 0, "die_on_index": 1,
                      "t": 0}
    for pid, end in expected_end.items():
        r = row(result, pid)
        assert r["follow_up_end"] == pd.Timestamp(end), pid
        start = r["index_date"].date()
        days = (end - start).days + 1  # both ends inclusive
        assert r["person_years"] == pytest.approx(days / 365.25), pid
        assert r["deaths"] == expected_death[pid], pid
    assert row(result, "die")["person_years"] == pytest.approx(10 / 365.25)
    assert row(result, "t")["person_years"] == pytest.approx(1 / 365.25)


def test_max_follow_up_days_caps_follow_up(con):
    persons = [person("a"), person("t")]
    settings = [residency("a", "C1", D(2015, 1, 1)), residency("t", "T1", D(2016, 8, 1))]
    result = run(con, *inputs(persons, settings), spec=make_spec(max_follow_up_days=100))
    assert row(result, "a")["follow_up_end"] == pd.Timestamp(D(2015, 4, 10))  # day 100
    assert row(result, "a")["person_years"] == pytest.approx(100 / 365.25)
    # the data cut comes first for t: 2016-08-01 .. 2016-08-31 is 31 days
    assert row(result, "t")["person_years"] == pytest.approx(31 / 365.25)


# --------------------------------------------------------------------------------------
# design errors
# --------------------------------------------------------------------------------------


def test_no_treated_raises_design_error_naming_the_step(con):
    spec = make_spec(treated_settings=["NOPE"])
    with pytest.raises(DesignError, match="no treated persons") as info:
        run(con, *attrition_world(), spec=spec)
    assert info.value.where == "cohort"
    assert "residents" in info.value.message
    assert "treated_settings" in (info.value.hint or "")


def test_no_controls_raises_design_error_naming_the_step(con):
    spec = make_spec(**{**ATTRITION_SPEC, "control_areas": ["99Z"]})
    with pytest.raises(DesignError, match="no control persons") as info:
        run(con, *attrition_world(), spec=spec)
    assert "'comparison_area' removed the last 5" in info.value.message
    assert "control_areas" in (info.value.hint or "")


def test_both_arms_emptied_by_a_late_step(con):
    spec = make_spec(**{**ATTRITION_SPEC, "min_age": 120})
    with pytest.raises(DesignError) as info:
        run(con, *attrition_world(), spec=spec)
    msg = info.value.message
    assert "no treated persons remain: step 'min_age' removed the last 5" in msg
    assert "no control persons remain: step 'min_age' removed the last 3" in msg


# --------------------------------------------------------------------------------------
# inputs checked
# --------------------------------------------------------------------------------------


def test_unknown_outcome_is_a_config_error(con):
    with pytest.raises(ConfigError) as info:
        run(con, *attrition_world(), outcomes=["emergency_admissions", "falls"])
    assert info.value.where == "outcomes"
    assert "falls" not in info.value.message  # names allowed values in the hint instead
    assert "emergency_admissions" in (info.value.hint or "")


def test_missing_column_is_a_schema_error(con):
    tables, events, dx = attrition_world()
    tables = {**tables, "persons": tables["persons"].drop("CCG_CODE")}
    with pytest.raises(SchemaError) as info:
        run(con, tables, events, dx)
    assert info.value.where == "persons.CCG_CODE"


def test_missing_settings_table_is_a_config_error(con):
    tables, events, dx = attrition_world()
    tables = {k: v for k, v in tables.items() if k != "settings"}
    with pytest.raises(ConfigError) as info:
        run(con, tables, events, dx)
    assert info.value.where == "data.settings"


def test_empty_treated_settings_file_is_a_config_error(con, tmp_path):
    path = tmp_path / "homes.csv"
    path.write_text("SETTING_ID\n\n", encoding="utf-8")
    spec = make_spec(treated_settings=[], treated_settings_file=path)
    with pytest.raises(ConfigError, match="no intervention settings"):
        run(con, *inputs([person("a")], [residency("a", "T1", D(2015, 1, 1))]), spec=spec)


def test_residency_without_setting_id_is_a_candidate_control(con):
    persons = [person("a"), person("b", ccg="04N"), person("t")]
    settings = [residency("a", None, D(2015, 1, 1)), residency("b", None, D(2015, 1, 1)),
                residency("t", "T1", D(2015, 1, 1))]
    result = run(con, *inputs(persons, settings))
    a = result.attrition.set_index("step")
    assert (a.loc["residents", "n_treated"], a.loc["residents", "n_control"]) == (1, 2)
    assert list(result.table["person_id"]) == ["a", "t"]
    assert list(result.table["treated"]) == [0, 1]
    assert result.table["setting_id"].isna().tolist() == [True, False]  # missing stays missing
