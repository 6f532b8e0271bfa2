"""Time-series builder (impacteval.estimators.its.build_series) on DuckDB.

Numbers: a hand-made event table; every expected count is listed next to its events.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.estimators.its import InterruptedTimeSeries, build_series
from impacteval.exceptions import ConfigError, SchemaError


@pytest.fixture
def events() -> ibis.Table:
    d = pd.DataFrame({
        "person_id": ["a", "a", "b", "c", "c", "b", "a"],
        "event": ["emergency_admission", "emergency_admission", "emergency_admission",
                  "elective_admission", "emergency_admission", "bed_days", "emergency_admission"],
        "start_date": pd.to_datetime(["2023-01-05", "2023-01-30", "2023-03-02", "2023-01-10",
                                      "2023-03-31", "2023-03-03", "2022-12-31"]).date,
        "end_date": [None] * 7,
        "nights": [None, None, None, None, None, 4, None],
    })
    return ibis.memtable(d)


def test_monthly_counts_fill_empty_months(events: ibis.Table) -> None:
    s = build_series(events, event="emergency_admission", start=dt.date(2023, 1, 1),
                     end=dt.date(2023, 3, 31))
    # January: a (5th), a (30th); February: none; March: b (2nd), c (31st); Dec 2022 excluded
    assert s["period"].tolist() == list(pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01"]))
    assert s["events"].tolist() == [2, 0, 2]


def test_weekly_nights_and_groups(events: ibis.Table) -> None:
    nights = build_series(events, event="bed_days", start=dt.date(2023, 2, 27),
                          end=dt.date(2023, 3, 12), frequency="week", measure="nights")
    # weeks starting Mon 27 Feb and Mon 6 Mar; b's 4 nights start on Fri 3 Mar
    assert nights["events"].tolist() == [4, 0]
    persons = ibis.memtable(pd.DataFrame({"person_id": ["a", "b", "c"], "practice": [1, 0, 1]}))
    pop = pd.DataFrame({
        "period": pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01"] * 2),
        "group": [0, 0, 0, 1, 1, 1],
        "population": [100.0, 100, 100, 200, 200, 200],
    })
    g = build_series(events, event="emergency_admission", start=dt.date(2023, 1, 1),
                     end=dt.date(2023, 3, 31), persons=persons, group="practice", population=pop)
    assert g["group"].tolist() == [0, 0, 0, 1, 1, 1]
    assert g["events"].tolist() == [0, 0, 1, 2, 0, 1]  # b in March; a x2 Jan, c in March
    assert g["population"].tolist() == [100.0, 100, 100, 200, 200, 200]


def test_builder_feeds_the_estimator(events: ibis.Table) -> None:
    s = build_series(events, event="emergency_admission", start=dt.date(2022, 1, 1),
                     end=dt.date(2023, 12, 31))
    assert len(s) == 24
    res = InterruptedTimeSeries(family="poisson", errors="iid", slope_change=False).fit_series(
        s.assign(events=s["events"] + 3), outcome="events", time="period",
        interruptions=["2023-01-01"],
    )
    assert res.details["time_unit"] == "month"


def test_builder_errors(events: ibis.Table) -> None:
    with pytest.raises(ConfigError):
        build_series(events, event="x", start=dt.date(2023, 2, 1), end=dt.date(2023, 1, 1))
    with pytest.raises(ConfigError):
        build_series(events, event="x", start=dt.date(2023, 1, 1), end=dt.date(2023, 2, 1),
                     group="practice")
    with pytest.raises(SchemaError, match="no population"):
        build_series(events, event="emergency_admission", start=dt.date(2023, 1, 1),
                     end=dt.date(2023, 3, 31),
                     population=pd.DataFrame({"period": pd.to_datetime(["2023-01-01"]),
                                              "population": [5.0]}))
    with pytest.raises(SchemaError):
        build_series(events.drop("nights"), event="bed_days", start=dt.date(2023, 1, 1),
                     end=dt.date(2023, 3, 31), measure="nights")
