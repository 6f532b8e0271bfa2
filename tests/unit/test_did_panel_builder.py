"""Panel builder (Ibis on DuckDB): counts, person-time and cohorts on a hand-made extract.

Expected values are worked out by hand in the comments (person-time in days / 365.25).
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest

from impacteval.estimators.did import PoissonDiD
from impacteval.estimators.did.panel_builder import build_panel, period_table
from impacteval.exceptions import ConfigError, SchemaError

PERSONS = pd.DataFrame({
    "person_id": ["a", "b", "c", "d"],
    "CCG_CODE": ["04N", "04N", "03W", None],
    "REG_START": [date(2012, 1, 1), date(2013, 2, 1), None, date(2013, 1, 1)],
    "REG_END": [None, date(2013, 4, 30), None, None],
})
EVENTS = pd.DataFrame({
    "person_id": ["a", "a", "b", "c", "c", "d", "a"],
    "event": ["emergency_admission", "ae_attendance", "emergency_admission",
              "emergency_admission", "death", "emergency_admission", "emergency_admission"],
    "start_date": [date(2013, 1, 5), date(2013, 4, 2), date(2013, 3, 3), date(2013, 5, 1),
                   date(2013, 6, 30), date(2013, 1, 1), date(2013, 7, 1)],
})
ADOPTION = pd.DataFrame({"CCG_CODE": ["04N"], "adoption_date": [date(2013, 4, 1)]})


@pytest.fixture(scope="module")
def tables() -> tuple[ibis.Table, ibis.Table]:
    con = ibis.duckdb.connect()
    return con.create_table("ev", EVENTS), con.create_table("pe", PERSONS)


def _build(tables: tuple[ibis.Table, ibis.Table], unit: str = "area") -> pd.DataFrame:
    ev, pe = tables
    return build_panel(ev, pe, outcomes=["emergency_admission", "ae_attendance"],
                       start=date(2013, 1, 1), end=date(2013, 7, 1), period="quarter",
                       unit=unit, adoption=ADOPTION).to_pandas()  # type: ignore[arg-type]


def test_area_panel(tables: tuple[ibis.Table, ibis.Table]) -> None:
    got = _build(tables).set_index(["unit_id", "period"])
    # person d has no area; the 2013-07-01 event is outside [start, end)
    assert list(got.index) == [("03W", 1), ("03W", 2), ("04N", 1), ("04N", 2)]
    assert got["emergency_admission"].tolist() == [0, 1, 2, 0]
    assert got["ae_attendance"].tolist() == [0, 0, 0, 1]
    # c: registered throughout, dies 2013-06-30 (at risk to the end of that day): 90 + 91 days
    assert got.loc[("03W", 1), "person_years"] == pytest.approx(90 / 365.25)
    assert got.loc[("03W", 2), "person_years"] == pytest.approx(91 / 365.25)
    # a: 90 + 91 days; b: registered 2013-02-01 to 2013-04-30: 59 + 30 days
    assert got.loc[("04N", 1), "person_years"] == pytest.approx((90 + 59) / 365.25)
    assert got.loc[("04N", 2), "person_years"] == pytest.approx((91 + 30) / 365.25)
    assert got["population"].tolist() == [1, 1, 1, 2]
    assert got["cohort"].tolist() == [0, 0, 2, 2]
    assert list(pd.to_datetime(got["period_start"]))[:2] == [pd.Timestamp("2013-01-01"),
                                                          pd.Timestamp("2013-04-01")]


def test_person_panel_sums_to_area_panel(tables: tuple[ibis.Table, ibis.Table]) -> None:
    people = _build(tables, unit="person")
    areas = _build(tables)
    assert len(people) == 3 * 2  # every person with an area in every period
    summed = people.groupby(["CCG_CODE", "period"])[["emergency_admission", "person_years"]].sum()
    expect = areas.set_index(["CCG_CODE", "period"])[["emergency_admission", "person_years"]]
    pd.testing.assert_frame_equal(summed.sort_index(), expect.sort_index(), check_dtype=False)


def test_panel_feeds_the_poisson_did(tables: tuple[ibis.Table, ibis.Table]) -> None:
    panel = _build(tables, unit="person")
    panel = panel[panel["person_years"] > 0].assign(
        treated=lambda d: (d["cohort"] > 0).astype(int),
        post=lambda d: (d["period"] >= 2).astype(int))
    est = PoissonDiD().fit(panel, outcome="emergency_admission", exposure="person_years",
                           treated="treated", post="post", unit="unit_id")
    assert est.n_treated == 2 and est.n_control == 1


def test_bad_arguments(tables: tuple[ibis.Table, ibis.Table]) -> None:
    ev, pe = tables
    with pytest.raises(ConfigError):
        period_table(date(2013, 1, 2), date(2014, 1, 1), "quarter")
    with pytest.raises(ConfigError):
        build_panel(ev, pe, outcomes=[], start=date(2013, 1, 1), end=date(2014, 1, 1))
    with pytest.raises(SchemaError, match="REG_START"):
        build_panel(ev, pe.drop("REG_START"), outcomes=["death"], start=date(2013, 1, 1),
                    end=date(2014, 1, 1))
    with pytest.raises(SchemaError, match="more than one row per area"):
        build_panel(ev, pe, outcomes=["death"], start=date(2013, 1, 1), end=date(2014, 1, 1),
                    adoption=pd.concat([ADOPTION, ADOPTION]))
