"""Integration: the cohort built from a small synthetic extract through ingest, link and derive.

The synthetic world (``docs/dev/interfaces.md``, "Synthetic data") selects older, frailer
people into the intervention homes (confounding by design, ``impacteval.data.synth``), so the
treated arm must look older and frailer than the controls before matching.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from impacteval.cohort import CohortResult, build_cohort
from impacteval.config.models import CohortSpec, DataSpec

N_PERSONS = 20_000
SEED = 11
CUT = dt.date(2016, 8, 31)  # the synthetic world's data cut (interfaces.md)
COMPARISON_AREAS = ["03W", "04C", "10X", "06H", "06Q", "99E"]  # interfaces.md
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")
OUTCOMES = ["emergency_admissions", "avoidable_emergency_admissions", "elective_admissions",
            "ae_attendances", "op_attendances", "bed_days", "deaths"]


class Built(NamedTuple):
    cohort: CohortResult
    events: pd.DataFrame
    deaths: pd.DataFrame


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    from impacteval.data.ingest import ingest
    from impacteval.data.synth import generate
    from impacteval.derive import derive_events, diagnoses
    from impacteval.engine import connect
    from impacteval.linkage import link

    out: Path = tmp_path_factory.mktemp("cohort_synth")
    generate(N_PERSONS, SEED, out)
    con = connect("duckdb")
    data = DataSpec(**{t: out / f"{t}.parquet" for t in TABLES}, data_cut=CUT)
    linked = link(ingest(data, con).tables)
    events = derive_events(linked.tables, data_cut=CUT)
    dx = diagnoses(linked.tables["apc_episodes"])
    spec = CohortSpec(index_window=(dt.date(2014, 1, 1), CUT),
                      treated_settings_file=out / "intervention_settings.csv",
                      control_areas=COMPARISON_AREAS)
    cohort = build_cohort(con, linked.tables, events, dx, spec, OUTCOMES, CUT)
    return Built(cohort, con.to_pandas(events), con.to_pandas(linked.tables["deaths"]))


@pytest.fixture(scope="module")
def synthetic_cohort(built: Built) -> CohortResult:
    return built.cohort


@pytest.mark.slow
def test_treated_are_older_and_frailer(synthetic_cohort: CohortResult) -> None:
    t = synthetic_cohort.table
    means = t.groupby("treated")[["age", "frailty_syndromes", "hfrs", "charlson"]].mean()
    assert synthetic_cohort.n_treated >= 30 and synthetic_cohort.n_control >= 100
    assert means.loc[1, "age"] > means.loc[0, "age"]
    assert means.loc[1, "frailty_syndromes"] > means.loc[0, "frailty_syndromes"]
    assert means.loc[1, "hfrs"] > means.loc[0, "hfrs"]


@pytest.mark.slow
def test_synthetic_cohort_is_well_formed(synthetic_cohort: CohortResult) -> None:
    r = synthetic_cohort
    t = r.table
    assert t["person_id"].is_unique and t["person_id"].is_monotonic_increasing
    assert not t[r.covariates].isna().any().any()
    assert (t[r.outcome_columns] >= 0).all().all()
    assert set(t["deaths"].unique()) <= {0, 1}
    assert (t["person_years"] > 0).all()
    longest = ((CUT - dt.date(2014, 1, 1)).days + 1) / 365.25
    assert (t["person_years"] <= longest + 1e-12).all()
    assert (t["age"] >= 65).all()
    assert set(t.loc[t["treated"] == 0, "area"]) <= set(COMPARISON_AREAS)
    last = r.attrition.iloc[-1]
    assert (last["n_treated"], last["n_control"]) == (r.n_treated, r.n_control)
    # prior use is real: most new residents had some hospital contact in the year before
    assert (t["emergency_admissions_y1"] + t["ae_attendances_y1"] > 0).mean() > 0.5


EVENT_OF = {"emergency_admissions": "emergency_admission",
            "avoidable_emergency_admissions": "avoidable_emergency_admission",
            "elective_admissions": "elective_admission", "ae_attendances": "ae_attendance",
            "op_attendances": "op_attendance", "bed_days": "bed_days"}


def _pandas_window_counts(table: pd.DataFrame, events: pd.DataFrame, measure: str,
                          start: pd.Series, stop: pd.Series) -> np.ndarray:
    """Independent pandas reading of the window rules (cohort.windows docstring): events with
    start_date in [start, stop); for bed days, nights of [admission, discharge) in the window."""
    people = table[["person_id"]].assign(w_start=start.to_numpy(), w_stop=stop.to_numpy())
    ev = events.loc[events["event"] == EVENT_OF[measure]]
    m = people.merge(ev, on="person_id", how="inner")
    if measure == "bed_days":
        end = m["end_date"].fillna(m["start_date"] + pd.to_timedelta(m["nights"], unit="D"))
        lo = np.maximum(m["start_date"].to_numpy(), m["w_start"].to_numpy())
        hi = np.minimum(end.to_numpy(), m["w_stop"].to_numpy())
        m["n"] = np.clip((hi - lo) / np.timedelta64(1, "D"), 0, None)
    else:
        m["n"] = ((m["start_date"] >= m["w_start"]) & (m["start_date"] < m["w_stop"])).astype(int)
    per_person = m.groupby("person_id")["n"].sum()
    return table["person_id"].map(per_person).fillna(0).astype("int64").to_numpy()


@pytest.mark.slow
def test_counts_match_a_pandas_reading_of_the_windows(built: Built) -> None:
    t = built.cohort.table
    events = built.events.assign(
        start_date=pd.to_datetime(built.events["start_date"]),
        end_date=pd.to_datetime(built.events["end_date"]),
    )
    day = pd.Timedelta(days=1)
    idx, end = t["index_date"], t["follow_up_end"]
    windows = {"_y1": (idx - 365 * day, idx), "_y2": (idx - 730 * day, idx - 365 * day),
               "": (idx, end + day)}
    checked = 0
    for measure in EVENT_OF:
        for suffix, (lo, hi) in windows.items():
            column = f"{measure}{suffix}"
            expected = _pandas_window_counts(t, events, measure, lo, hi)
            np.testing.assert_array_equal(t[column].to_numpy(), expected, err_msg=column)
            checked += int(expected.sum() > 0)
    assert checked >= 15  # the comparison is not vacuous: most columns have events
    dod = t["person_id"].map(built.deaths.set_index("person_id")["DOD"])
    dod = pd.to_datetime(dod)
    died = (dod >= idx) & (dod <= end)
    np.testing.assert_array_equal(t["deaths"].to_numpy(), died.astype("int64").to_numpy())
