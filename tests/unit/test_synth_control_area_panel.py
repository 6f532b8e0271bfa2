"""Area x month panel, donor pool and washout (hand-made tables; counts checked by hand)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.estimators.synthetic.area_panel import (
    area_month_panel,
    donor_pool,
    treatment_indicator,
)
from impacteval.exceptions import DesignError, SchemaError

D = dt.date


@pytest.fixture()
def tables() -> tuple[ibis.Table, ibis.Table, ibis.Table]:
    persons = pd.DataFrame({
        "person_id": ["p1", "p2", "p3", "p4", "p5"],
        "CCG_CODE": ["00L", "00L", "01A", "01A", None],
        "REG_START": [None, D(2020, 2, 1), None, None, None],
        "REG_END": [None, None, D(2020, 2, 10), None, None],
    })
    events = pd.DataFrame({
        "person_id": ["p1", "p1", "p2", "p3", "p4", "p5", "p1"],
        "event": ["emergency_admission", "emergency_admission", "emergency_admission",
                  "ae_attendance", "emergency_admission", "emergency_admission",
                  "emergency_admission"],
        "start_date": [D(2020, 1, 5), D(2020, 1, 20), D(2020, 2, 3), D(2020, 1, 9),
                       D(2020, 3, 31), D(2020, 1, 1), D(2019, 12, 31)],
    })
    deaths = pd.DataFrame({"person_id": ["p4"], "DOD": [D(2020, 3, 10)]})
    return ibis.memtable(events), ibis.memtable(persons), ibis.memtable(deaths)


def test_counts_population_and_rates(tables) -> None:  # type: ignore[no-untyped-def]
    events, persons, deaths = tables
    out = area_month_panel(events, persons, outcomes=["emergency_admission", "ae_attendance"],
                           start=D(2020, 1, 1), end=D(2020, 3, 1), deaths=deaths)
    out = out.set_index(["area", "month"])
    # 00L: p1 always, p2 from Feb -> 1, 2, 2; 01A: p3 until 10 Feb, p4 until death 10 Mar
    assert out["population"].tolist() == [1, 2, 2, 2, 1, 0]
    assert out.loc[("00L", D(2020, 1, 1)), "emergency_admission"] == 2  # Dec event excluded
    assert out.loc[("00L", D(2020, 2, 1)), "emergency_admission"] == 1
    assert out.loc[("01A", D(2020, 1, 1)), "ae_attendance"] == 1
    assert out.loc[("01A", D(2020, 3, 1)), "emergency_admission"] == 1
    assert out.loc[("00L", D(2020, 1, 1)), "emergency_admission_rate"] == pytest.approx(20000.0)
    assert pd.isna(out.loc[("01A", D(2020, 3, 1)), "emergency_admission_rate"])  # population 0
    assert "p5" not in out.to_string()  # person without an area is left out


def test_missing_column(tables) -> None:  # type: ignore[no-untyped-def]
    events, persons, _ = tables
    with pytest.raises(SchemaError, match="REG_END"):
        area_month_panel(events, persons.drop("REG_END"), outcomes=["ae_attendance"],
                         start=D(2020, 1, 1), end=D(2020, 2, 1))


def test_donor_pool_and_washout() -> None:
    months = [D(2020, m, 1) for m in range(1, 7)]
    panel = pd.DataFrame([(a, m, pop) for a, pop in (("T", 50), ("A", 40), ("B", 30),
                                                     ("C", 0), ("X", 20)) for m in months],
                         columns=["area", "month", "population"])
    kept, log = donor_pool(panel, treated=["T"], start=D(2020, 4, 1), exclude=["X"])
    assert sorted(set(kept["area"])) == ["A", "B", "T"]
    assert dict(zip(log["area"], log["reason"], strict=True))["C"] == "pre-period coverage"
    out = treatment_indicator(kept, treated=["T"], start=D(2020, 4, 15), washout_months=1)
    assert sorted(set(out["month"])) == [D(2020, m, 1) for m in (1, 2, 3, 5, 6)]
    assert out.loc[out["area"] == "T", "treatment"].tolist() == [0, 0, 0, 1, 1]
    assert out.loc[out["area"] != "T", "treatment"].sum() == 0
    with pytest.raises(DesignError, match="fewer than 2 donor"):
        donor_pool(panel, treated=["T"], start=D(2020, 4, 1), exclude=["A", "X"])
