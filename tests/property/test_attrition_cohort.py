"""Property tests of the cohort's participant flow (attrition).

For random small care-home worlds: the attrition counts never increase from one step to the
next, they equal an independent pure-Python reading of the eligibility rules, and the last
step's counts equal the arm sizes of the built table (or a DesignError is raised when an arm
is empty).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from impacteval.cohort import build_cohort
from impacteval.config.models import CohortSpec
from impacteval.exceptions import DesignError

CUT = dt.date(2016, 8, 31)
WINDOW = (dt.date(2014, 1, 1), dt.date(2016, 8, 31))
ORIGIN = dt.date(2013, 6, 1)
SETTING_IDS = ("T1", "C1", "C2")
SCHEMAS = {
    "persons": {"person_id": "string", "MYDOB": "string", "SEX": "string", "ETHNOS": "string",
                "IMD19_DECILE": "int64", "CCG_CODE": "string"},
    "settings": {"person_id": "string", "SETTING_ID": "string", "SETTING_TYPE": "string",
                 "SETTING_BEDS": "int64", "SETTING_RURAL": "string", "START_DATE": "date",
                 "END_DATE": "date"},
    "deaths": {"person_id": "string", "DOD": "date"},
    "events": {"person_id": "string", "event": "string", "start_date": "date",
               "end_date": "date", "nights": "int64"},
    "dx": {"person_id": "string", "EPISTART": "date", "code": "string"},
}
STEPS = ["residents", "index_in_window", "comparison_area", "setting_type", "min_age",
         "alive_at_index", "follow_up"]

person_strategy = st.fixed_dictionaries({
    "start": st.integers(0, 1400),  # days after 2013-06-01 (before, in and after the window)
    "setting": st.sampled_from(SETTING_IDS),
    "kind": st.sampled_from(["residential", "nursing"]),
    "ccg": st.sampled_from(["03W", "04N", None]),
    "birth_year": st.integers(1930, 1955),
    "birth_month": st.integers(1, 12),
    # days after the move-in; days -1, 0 and 1 are the edges of "alive" and "positive follow-up"
    "death": st.none() | st.sampled_from([-1, 0, 1]) | st.integers(-60, 500),
    "end": st.none() | st.sampled_from([-1, 0, 1]) | st.integers(-3, 500),  # residency end
    "second": st.none() | st.integers(1, 300),  # a later second residency
})
world_strategy = st.fixed_dictionaries({
    "people": st.lists(person_strategy, min_size=1, max_size=14),
    "setting_types": st.sampled_from([["residential", "nursing"], ["residential"], ["nursing"]]),
    "max_follow_up_days": st.none() | st.integers(1, 400),
    # most worlds get one surely eligible person per arm, so that most examples reach the
    # built table; the others mostly exercise the DesignError path
    "anchors": st.sampled_from([True, True, True, False]),
})


def with_anchors(world: dict) -> dict:
    """Prepend one eligible treated and one eligible control person when ``anchors`` is set."""
    if not world["anchors"]:
        return world
    kind = world["setting_types"][0]
    base = {"start": 400, "kind": kind, "birth_year": 1930, "birth_month": 6, "death": None,
            "end": None, "second": None}
    anchors = [{**base, "setting": "T1", "ccg": "04N"}, {**base, "setting": "C2", "ccg": "03W"}]
    return {**world, "people": anchors + world["people"]}


def _age(birth_year: int, birth_month: int, on: dt.date) -> int:
    """Whole years on ``on`` with the birthday on the 15th of the birth month (data contract)."""
    return on.year - birth_year - int((on.month, on.day) < (birth_month, 15))


def expected_attrition(world: dict) -> tuple[list[tuple[int, int]], set[str]]:
    """Pure-Python reading of the eligibility rules: counts per step and the final person set."""
    counts = [[0, 0] for _ in STEPS]
    final: set[str] = set()
    for i, p in enumerate(world["people"]):
        start = ORIGIN + dt.timedelta(days=p["start"])
        dod = None if p["death"] is None else start + dt.timedelta(days=p["death"])
        end = None if p["end"] is None else start + dt.timedelta(days=p["end"])
        treated = p["setting"] == "T1"
        last = min(d for d in (dod, end, CUT) if d is not None)
        if world["max_follow_up_days"] is not None:
            last = min(last, start + dt.timedelta(days=world["max_follow_up_days"] - 1))
        flags = [
            True,
            WINDOW[0] <= start <= WINDOW[1],
            treated or p["ccg"] == "03W",
            p["kind"] in world["setting_types"],
            _age(p["birth_year"], p["birth_month"], start) >= 65,
            dod is None or dod >= start,
            last >= start,
        ]
        ok = True
        for k, flag in enumerate(flags):
            ok = ok and flag
            if ok:
                counts[k][0 if treated else 1] += 1
        if ok:
            final.add(f"p{i:02d}")
    return [(t, c) for t, c in counts], final


def frames(world: dict) -> dict[str, ibis.Table]:
    persons, residencies, deaths = [], [], []
    for i, p in enumerate(world["people"]):
        pid = f"p{i:02d}"
        start = ORIGIN + dt.timedelta(days=p["start"])
        persons.append({"person_id": pid, "MYDOB": f"{p['birth_month']:02d}{p['birth_year']}",
                        "SEX": "2", "ETHNOS": "A", "IMD19_DECILE": 5, "CCG_CODE": p["ccg"]})
        end = None if p["end"] is None else start + dt.timedelta(days=p["end"])
        residencies.append({"person_id": pid, "SETTING_ID": p["setting"],
                            "SETTING_TYPE": p["kind"], "SETTING_BEDS": 30,
                            "SETTING_RURAL": "urban", "START_DATE": start, "END_DATE": end})
        if p["second"] is not None:
            later = start + dt.timedelta(days=p["second"])
            residencies.append({"person_id": pid, "SETTING_ID": "T1" if p["setting"] != "T1"
                                else "C1", "SETTING_TYPE": "nursing", "SETTING_BEDS": 50,
                                "SETTING_RURAL": "rural", "START_DATE": later, "END_DATE": None})
        if p["death"] is not None:
            deaths.append({"person_id": pid, "DOD": start + dt.timedelta(days=p["death"])})
    rows = {"persons": persons, "settings": residencies, "deaths": deaths, "events": [],
            "dx": []}
    return {
        name: ibis.memtable(pd.DataFrame(rows[name], columns=list(schema)),
                            schema=ibis.schema(schema))
        for name, schema in SCHEMAS.items()
    }


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=world_strategy)
def test_attrition_monotone_matches_rules_and_final_arms(world: dict) -> None:
    world = with_anchors(world)
    con = ibis.duckdb.connect()
    t = frames(world)
    spec = CohortSpec(index_window=WINDOW, treated_settings=["T1"], control_areas=["03W"],
                      setting_types=world["setting_types"],
                      max_follow_up_days=world["max_follow_up_days"])
    expected, final_ids = expected_attrition(world)
    tables = {"persons": t["persons"], "settings": t["settings"], "deaths": t["deaths"]}
    try:
        result = build_cohort(con, tables, t["events"], t["dx"], spec, ["deaths"], CUT)
    except DesignError as err:
        hypothesis_event("design error")
        t_last, c_last = expected[-1]
        assert t_last == 0 or c_last == 0
        assert err.where == "cohort"
        if t_last == 0:
            assert "no treated persons" in err.message
        if c_last == 0:
            assert "no control persons" in err.message
        return
    hypothesis_event("cohort built")
    a = result.attrition
    assert list(a["step"]) == STEPS
    got = list(zip(a["n_treated"].tolist(), a["n_control"].tolist(), strict=True))
    assert got == expected
    assert (a["n_treated"].diff().dropna() <= 0).all()
    assert (a["n_control"].diff().dropna() <= 0).all()
    assert a["n_treated"].iloc[-1] == (result.table["treated"] == 1).sum()
    assert a["n_control"].iloc[-1] == (result.table["treated"] == 0).sum()
    assert set(result.table["person_id"]) == final_ids
    assert (result.table["person_years"] > 0).all()
    assert result.table["person_id"].is_unique
