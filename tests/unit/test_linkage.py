"""Linkage: orphans, duplicate deaths, persons without events, errors.

Expected counts are worked out by hand from the small tables written in each test.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.exceptions import LinkageError
from impacteval.linkage import link


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture
def tables() -> dict[str, ibis.Table]:
    persons = pd.DataFrame({"person_id": ["a", "b", "c", "d"]})
    apc = pd.DataFrame({"EPIKEY": ["1", "2", "3", "4"], "person_id": ["a", "a", "x", None]})
    ae = pd.DataFrame({"AEKEY": ["1", "2"], "person_id": ["b", "y"]})
    op = pd.DataFrame({"ATTENDKEY": pd.Series([], dtype="string"),
                       "person_id": pd.Series([], dtype="string")})
    deaths = pd.DataFrame({
        "person_id": ["a", "a", "a", "c", "z"],
        "DOD": [_d("2015-01-01"), _d("2015-01-02"), None, _d("2016-03-01"), _d("2014-01-01")],
        "DOR": [_d("2015-01-09"), _d("2015-01-05"), _d("2015-01-09"), None, _d("2014-01-02")],
    })
    frames = {"persons": persons, "apc_episodes": apc, "ae_attendances": ae,
              "op_appointments": op, "deaths": deaths}
    return {k: ibis.memtable(v) for k, v in frames.items()}


def _counts(report: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(r.table, r.measure): int(r.count) for r in report.itertuples()}


def test_counts(tables: dict[str, ibis.Table]) -> None:
    result = link(tables)
    c = _counts(result.report)
    assert c[("apc_episodes", "records")] == 4
    assert c[("apc_episodes", "linked")] == 2
    assert c[("apc_episodes", "orphaned")] == 2  # "x" unknown, null never links
    assert c[("ae_attendances", "orphaned")] == 1
    assert c[("op_appointments", "records")] == 0
    assert c[("deaths", "orphaned")] == 1  # "z"
    assert c[("deaths", "duplicate_death_registrations")] == 2  # three rows for "a"
    assert c[("deaths", "persons")] == 2
    assert c[("persons", "records")] == 4
    assert c[("persons", "persons_without_events")] == 2  # c (death only) and d
    assert result.rates["apc_episodes"] == pytest.approx(0.5)
    assert pd.isna(result.rates["op_appointments"])


def test_latest_registration_kept(tables: dict[str, ibis.Table]) -> None:
    deaths = link(tables).tables["deaths"].to_pandas().set_index("person_id")
    # "a": two rows registered 2015-01-09; the later DOD (2015-01-01 vs null) wins.
    assert pd.Timestamp(deaths.loc["a", "DOD"]) == pd.Timestamp("2015-01-01")
    assert pd.Timestamp(deaths.loc["c", "DOD"]) == pd.Timestamp("2016-03-01")
    assert len(deaths) == 2


def test_linked_tables_keep_columns_and_rows(tables: dict[str, ibis.Table]) -> None:
    apc = link(tables).tables["apc_episodes"].to_pandas()
    assert list(apc.columns) == ["EPIKEY", "person_id"]
    assert sorted(apc.EPIKEY) == ["1", "2"]


def test_no_persons_table(tables: dict[str, ibis.Table]) -> None:
    del tables["persons"]
    with pytest.raises(LinkageError, match="persons"):
        link(tables)


def test_missing_person_id(tables: dict[str, ibis.Table]) -> None:
    tables["ae_attendances"] = tables["ae_attendances"].rename(TOKEN="person_id")
    with pytest.raises(LinkageError) as info:
        link(tables)
    assert info.value.where == "linkage.ae_attendances"


def test_nothing_links_is_an_error(tables: dict[str, ibis.Table]) -> None:
    other = pd.DataFrame({"person_id": ["secret-1", "secret-2"]})
    tables["persons"] = ibis.memtable(other)
    with pytest.raises(LinkageError) as info:
        link(tables)
    assert "secret" not in str(info.value) and "6 event record(s)" in str(info.value)


def test_repeated_person_is_an_error(tables: dict[str, ibis.Table]) -> None:
    tables["persons"] = ibis.memtable(pd.DataFrame({"person_id": ["a", "b", "a"]}))
    with pytest.raises(LinkageError) as info:
        link(tables)
    assert info.value.where == "linkage.persons" and "1 row(s)" in info.value.message
