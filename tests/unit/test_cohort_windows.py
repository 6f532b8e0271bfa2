"""Windowed counts, bed-day truncation, covariates and the shape of the cohort table.

Expected numbers are worked out by hand from the window definitions in
``impacteval.cohort.windows`` (module docstring): ``_y1`` = days -365..-1, ``_y2`` = days
-730..-366, follow-up = index day .. last day of follow-up, all inclusive.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from test_cohort import (
    ALL_OUTCOMES,
    CUT,
    EVENTS_SCHEMA,
    D,
    event,
    inputs,
    make_spec,
    person,
    residency,
    row,
    run,
    table,
)

from impacteval.cohort import WindowedMeasure, windowed_counts
from impacteval.cohort.covariates import COVARIATES, FLOAT_COVARIATES

IDX = D(2015, 6, 1)
END = D(2016, 1, 31)  # residency end: last day of follow-up


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def one_person_world(events: list[dict], dx: list[dict] | None = None, **person_kw):
    persons = [person("a", **person_kw), person("t")]
    settings = [residency("a", "C1", IDX, END), residency("t", "T1", D(2015, 1, 1))]
    return inputs(persons, settings, events=events, dx=dx)


def test_counts_at_window_boundaries(con):
    ea = "emergency_admission"
    events = [
        event("a", ea, IDX - days(731)),  # before y2: not counted
        event("a", ea, IDX - days(730)),  # first day of y2
        event("a", ea, IDX - days(366)),  # last day of y2
        event("a", ea, IDX - days(365)),  # first day of y1
        event("a", ea, IDX - days(1)),  # last day of y1
        event("a", ea, IDX),  # index day: follow-up, not prior use
        event("a", ea, END),  # last day of follow-up
        event("a", ea, END + days(1)),  # after follow-up: not counted
        event("t", ea, IDX - days(1)),  # another person's event
    ]
    result = run(con, *one_person_world(events))
    a = row(result, "a")
    assert (a["emergency_admissions_y2"], a["emergency_admissions_y1"],
            a["emergency_admissions"]) == (2, 2, 2)


def test_each_event_type_feeds_its_own_columns(con):
    events = [
        event("a", "avoidable_emergency_admission", IDX - days(365)),
        event("a", "elective_admission", IDX + days(5)),
        event("a", "elective_admission", IDX - days(500)),
        event("a", "ae_attendance", IDX - days(10)),
        event("a", "ae_attendance", IDX - days(11)),
        event("a", "ae_attendance", IDX + days(1)),
        event("a", "op_attendance", IDX - days(400)),
        event("a", "death", IDX + days(3)),  # the deaths outcome comes from the deaths table
        event("a", "something_else", IDX + days(3)),
    ]
    a = row(run(con, *one_person_world(events)), "a")
    expected = {
        "avoidable_emergency_admissions_y1": 1, "avoidable_emergency_admissions_y2": 0,
        "avoidable_emergency_admissions": 0,
        "elective_admissions_y1": 0, "elective_admissions_y2": 1, "elective_admissions": 1,
        "ae_attendances_y1": 2, "ae_attendances_y2": 0, "ae_attendances": 1,
        "op_attendances_y1": 0, "op_attendances_y2": 1, "op_attendances": 0,
        "emergency_admissions_y1": 0, "emergency_admissions": 0, "deaths": 0,
    }
    assert {k: int(a[k]) for k in expected} == expected


def test_bed_days_truncated_to_windows(con):
    b = "bed_days"
    events = [
        # nights of dates -370..-366 fall in y2 (5), -365..-361 in y1 (5)
        event("a", b, IDX - days(370), IDX - days(360), 10),
        # nights -3..-1 in y1 (3), index..+3 in follow-up (4)
        event("a", b, IDX - days(3), IDX + days(4), 7),
        # crosses the end of follow-up: nights END-2, END-1, END count (3)
        event("a", b, END - days(2), END + days(5), 7),
        # entirely before y2: nothing
        event("a", b, IDX - days(800), IDX - days(790), 10),
        # zero-night spell: nothing
        event("a", b, IDX + days(20), IDX + days(20), 0),
        # no end date: start + nights (2 nights in follow-up)
        event("a", b, IDX + days(30), None, 2),
        # spell from before y2 into y2: nights -730 and -729 (2)
        event("a", b, IDX - days(735), IDX - days(728), 7),
        # an admission row carries nights too but is not a bed_days row
        event("a", "emergency_admission", IDX + days(40), IDX + days(50), 10),
    ]
    a = row(run(con, *one_person_world(events)), "a")
    assert a["bed_days_y2"] == 5 + 2
    assert a["bed_days_y1"] == 5 + 3
    assert a["bed_days"] == 4 + 3 + 2


def test_windowed_counts_primitive_is_one_row_per_person():
    con = ibis.duckdb.connect()
    cohort = ibis.memtable(pd.DataFrame({
        "person_id": ["p", "q", "r"],
        "w_start": [D(2015, 1, 1)] * 3,
        "w_stop": [D(2015, 2, 1)] * 3,
    }))
    events = table([
        event("p", "x", D(2015, 1, 1)), event("p", "x", D(2015, 1, 31)),
        event("p", "x", D(2015, 2, 1)), event("q", "y", D(2015, 1, 5)),
        event("q", "x", D(2014, 12, 31)),
    ], EVENTS_SCHEMA)
    measures = [WindowedMeasure("n_x", "x", "count", "w_start", "w_stop"),
                WindowedMeasure("n_y", "y", "count", "w_start", "w_stop")]
    out = con.to_pandas(windowed_counts(cohort, events, measures)).sort_values("person_id")
    assert list(out["person_id"]) == ["p", "q", "r"]
    assert list(out["n_x"]) == [2, 0, 0]
    assert list(out["n_y"]) == [0, 1, 0]
    assert out["n_x"].dtype == "int64"
    with pytest.raises(ValueError, match="unique"):
        windowed_counts(cohort, events, measures + measures[:1])


def test_windowed_counts_compile_to_one_join_and_conditional_aggregates():
    cohort = ibis.table({"person_id": "string", "s": "date", "e": "date"}, name="cohort")
    events = ibis.table(EVENTS_SCHEMA, name="events")
    measures = [WindowedMeasure(f"m{i}", f"ev{i}", "count", "s", "e") for i in range(6)]
    sql = ibis.to_sql(windowed_counts(cohort, events, measures), dialect="duckdb").upper()
    assert sql.count("LEFT OUTER JOIN") == 1
    assert sql.count("FILTER(WHERE") >= 6 or sql.count("FILTER (WHERE") >= 6


def test_comorbidity_look_back_window(con):
    dx = [
        {"person_id": "a", "EPISTART": IDX - days(730), "code": "F03X"},  # in: dementia
        {"person_id": "a", "EPISTART": IDX - days(1), "code": "L89X"},  # in: pressure ulcer
        {"person_id": "a", "EPISTART": IDX - days(731), "code": "C78X"},  # too early
        {"person_id": "a", "EPISTART": IDX, "code": "I21X"},  # index day: not look-back
    ]
    result = run(con, *one_person_world([], dx))
    a = row(result, "a")
    # Charlson 1987 weights (nhs_routine_data.md §4.1): dementia 1; C78 and I21 are outside.
    assert a["charlson"] == 1
    # IAU six categories: cognitive (F03) + pressure ulcers (L89)
    assert a["frailty_syndromes"] == 2
    # HFRS weights (nhs_routine_data.md §4.3): F03 2.1 + L89 1.7
    assert a["hfrs"] == pytest.approx(3.8)
    t = row(result, "t")
    assert (t["charlson"], t["frailty_syndromes"], t["hfrs"]) == (0, 0, 0.0)


def test_lookback_days_setting_is_used(con):
    dx = [{"person_id": "a", "EPISTART": IDX - days(400), "code": "F03X"}]
    result = run(con, *one_person_world([], dx), spec=make_spec(lookback_days=365))
    assert row(result, "a")["charlson"] == 0


def test_person_and_setting_covariates_and_fill_rules(con):
    persons = [
        person("p1", sex="2", ethnos="A", imd=2),
        person("p2", sex="1", ethnos="M", imd=None),
        person("p3", sex="9", ethnos="Z", imd=8),
        person("p4", sex="0", ethnos=None, imd=5),
        person("p5", sex="2", ethnos="99", imd=None),
        person("t", sex="1", ethnos="C", imd=9),
    ]
    settings = [
        residency("p1", "C1", D(2014, 3, 1), kind="nursing", beds=40, rural="rural"),
        residency("p2", "C1", D(2015, 3, 1), beds=None),
        residency("p3", "C2", D(2016, 3, 1), beds=20),
        residency("p4", "C2", D(2014, 3, 1), beds=None),
        residency("p5", "C2", D(2014, 3, 1), beds=60),
        residency("t", "T1", D(2015, 1, 1), kind="nursing", beds=30, rural="rural"),
    ]
    t = run(con, *inputs(persons, settings)).table.set_index("person_id")
    assert t["female"].to_dict() == {"p1": 1, "p2": 0, "p3": 0, "p4": 0, "p5": 1, "t": 0}
    assert t["white"].to_dict() == {"p1": 1, "p2": 0, "p3": 0, "p4": 0, "p5": 0, "t": 1}
    assert t["ethnicity_unknown"].to_dict() == {"p1": 0, "p2": 0, "p3": 1, "p4": 1, "p5": 1,
                                                "t": 0}
    # observed deciles 2, 8, 5, 9: median 6.5 fills p2 and p5
    assert t["imd_decile"].to_dict() == {"p1": 2.0, "p2": 6.5, "p3": 8.0, "p4": 5.0,
                                         "p5": 6.5, "t": 9.0}
    assert t["imd_missing"].to_dict() == {"p1": 0, "p2": 1, "p3": 0, "p4": 0, "p5": 1, "t": 0}
    # observed beds 40, 20, 60, 30: median 35
    assert t["setting_beds"].to_dict() == {"p1": 40.0, "p2": 35.0, "p3": 20.0, "p4": 35.0,
                                           "p5": 60.0, "t": 30.0}
    assert t["nursing"].to_dict() == {"p1": 1, "p2": 0, "p3": 0, "p4": 0, "p5": 0, "t": 1}
    assert t["rural"].to_dict() == {"p1": 1, "p2": 0, "p3": 0, "p4": 0, "p5": 0, "t": 1}
    assert t["index_year"].to_dict() == {"p1": 2014, "p2": 2015, "p3": 2016, "p4": 2014,
                                         "p5": 2014, "t": 2015}


def test_imd_fill_when_nobody_has_a_decile(con):
    persons = [person("a", imd=None), person("t", imd=None)]
    settings = [residency("a", "C1", D(2015, 1, 1)), residency("t", "T1", D(2015, 1, 1))]
    t = run(con, *inputs(persons, settings)).table
    assert list(t["imd_decile"]) == [5.5, 5.5]
    assert list(t["imd_missing"]) == [1, 1]


def test_table_shape_dtypes_labels_and_order(con):
    persons = [person(p) for p in ("z9", "a1", "m5", "t")]
    settings = [residency("z9", "C1", D(2015, 1, 1)), residency("a1", "C1", D(2015, 2, 1)),
                residency("m5", "T1", D(2015, 3, 1)), residency("t", "T1", D(2015, 1, 1))]
    outcomes = ["ae_attendances", "deaths", "bed_days"]
    result = run(con, *inputs(persons, settings), outcomes=outcomes)
    t = result.table
    assert list(t["person_id"]) == ["a1", "m5", "t", "z9"]
    assert list(t.index) == [0, 1, 2, 3]
    assert result.covariates == list(COVARIATES)
    assert result.outcome_columns == outcomes
    assert result.exposure == "person_years"
    assert list(t.columns) == ["person_id", "treated", "index_date", "setting_id",
                               "setting_type", "area", "follow_up_end", *COVARIATES, *outcomes,
                               "person_years"]
    for c in COVARIATES:
        assert t[c].dtype == ("float64" if c in FLOAT_COVARIATES else "int64"), c
        assert not t[c].isna().any(), c
        assert result.labels[c], c
    for c in outcomes:
        assert t[c].dtype == "int64"
        assert result.labels[c]
    assert t["person_years"].dtype == "float64" and result.labels["person_years"]
    assert t["treated"].dtype == "int64"
    assert t["index_date"].dtype == "datetime64[s]"
    assert "emergency_admissions" not in t.columns  # only requested outcomes
    with pytest.raises(TypeError):
        result.labels["age"] = "x"  # type: ignore[index]


def test_same_inputs_give_identical_tables(con):
    events = [event("a", "ae_attendance", IDX + days(d)) for d in range(0, 200, 7)]
    first = run(con, *one_person_world(events))
    second = run(ibis.duckdb.connect(), *one_person_world(events))
    pd.testing.assert_frame_equal(first.table, second.table)
    pd.testing.assert_frame_equal(first.attrition, second.attrition)
    assert np.isfinite(first.table["person_years"]).all()


def test_all_outcomes_present(con):
    t = run(con, *one_person_world([]), outcomes=ALL_OUTCOMES).table
    assert set(ALL_OUTCOMES) <= set(t.columns)
    assert t["follow_up_end"].max() <= pd.Timestamp(CUT)
