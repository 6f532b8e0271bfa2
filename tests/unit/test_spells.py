"""Provider spells and CIPS on hand-made episode tables (rules: nhs_routine_data.md §1.4)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.derive.spells import SPELL_SCHEMA, build_cips, build_spells
from impacteval.exceptions import SchemaError

D = dt.date
COLUMNS = [
    "person_id", "EPIKEY", "PROCODE3", "ADMIDATE", "EPISTART", "EPIEND", "DISDATE", "EPIORDER",
    "EPISTAT", "CLASSPAT", "ADMIMETH", "ADMISORC", "DISMETH", "DISDEST", "DIAG_4_01",
]


def ep(
    person: str, key: str, proc: str, admi: dt.date | None, start: dt.date, end: dt.date | None,
    *, dis: dt.date | None = None, order: int = 1, stat: str = "3", admimeth: str = "21",
    admisorc: str | None = "19", dismeth: str | None = "1", disdest: str | None = "19",
    diag: str | None = "R100",
) -> dict[str, object]:
    """One episode row; DISDATE defaults to EPIEND for a discharging episode."""
    if dis is None and dismeth not in ("8", None):
        dis = end
    return dict(zip(COLUMNS, [person, key, proc, admi, start, end, dis, order, stat, "1",
                              admimeth, admisorc, dismeth, disdest, diag], strict=True))


def frame(rows: list[dict[str, object]]) -> ibis.Table:
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("ADMIDATE", "EPISTART", "EPIEND", "DISDATE"):
        df[c] = pd.to_datetime(df[c]).dt.date
    df["EPIORDER"] = df["EPIORDER"].astype("Int64")
    return ibis.memtable(df)


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def fetch(con: ibis.BaseBackend, expr: ibis.Table) -> pd.DataFrame:
    """Execute; via Arrow so that dates stay ``datetime.date``."""
    return con.to_pyarrow(expr).to_pandas()


def spells_of(con: ibis.BaseBackend, rows: list[dict[str, object]]) -> pd.DataFrame:
    out = fetch(con, build_spells(frame(rows)))
    return out.sort_values(["person_id", "EPISTART", "PROCODE3"]).reset_index(drop=True)


def test_multi_episode_spell_collapses_to_one_row(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), order=1, dismeth="8",
           disdest="98", admimeth="21", diag="J45X"),
        ep("p1", "e2", "RX1", D(2015, 1, 1), D(2015, 1, 3), D(2015, 1, 4), order=2, dismeth="8",
           disdest="98", admimeth="21", diag="I10X"),
        ep("p1", "e3", "RX1", D(2015, 1, 1), D(2015, 1, 4), D(2015, 1, 6), order=3, dismeth="4",
           disdest="79", admimeth="21", diag="I50X"),
    ]
    s = spells_of(con, rows)
    assert len(s) == 1
    row = s.iloc[0]
    assert row.EPI_COUNT == 3
    assert row.SPELL_ID == "p1-RX1-1"
    assert (row.EPIKEY_ADM, row.EPIKEY_DIS) == ("e1", "e3")
    assert row.DIAG_4_01 == "J45X"  # admission side from the first episode
    assert (row.DISMETH, row.DISDEST) == ("4", "79")  # discharge side from the last
    assert row.DISDATE == D(2015, 1, 6)
    assert row.los_nights == 5


def test_output_schema_is_declared(con):
    t = build_spells(frame([ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 2))]))
    assert dict(t.schema().items()) == {k: ibis.dtype(v) for k, v in SPELL_SCHEMA.items()}


def test_dismeth_8_continues_when_next_starts_on_previous_end(con):
    # admission dates disagree (a coding error) and EPISTARTs differ: only the DISMETH rule joins
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 5), dismeth="8", disdest="98"),
        ep("p1", "e2", "RX1", D(2015, 1, 5), D(2015, 1, 5), D(2015, 1, 9), order=2),
    ]
    s = spells_of(con, rows)
    assert len(s) == 1 and s.EPI_COUNT.iloc[0] == 2
    assert s.ADMIDATE.iloc[0] == D(2015, 1, 1)


def test_null_dismeth_counts_as_unknown_9(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 5), dismeth=None, disdest="98"),
        ep("p1", "e2", "RX1", D(2015, 1, 5), D(2015, 1, 5), D(2015, 1, 9), order=2),
    ]
    assert len(spells_of(con, rows)) == 1


def test_discharged_episode_then_new_admission_same_day_is_two_spells(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 5), dismeth="1"),
        ep("p1", "e2", "RX1", D(2015, 1, 5), D(2015, 1, 5), D(2015, 1, 9)),
    ]
    s = spells_of(con, rows)
    assert list(s.SPELL_ID) == ["p1-RX1-1", "p1-RX1-2"]
    assert list(s.EPI_COUNT) == [1, 1]


def test_same_epistart_continues_spell(con):
    # second episode has a different (wrong) admission date but starts the same day
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 1), dismeth="1"),
        ep("p1", "e2", "RX1", D(2014, 12, 31), D(2015, 1, 1), D(2015, 1, 3), order=2),
    ]
    s = spells_of(con, rows)
    assert len(s) == 1 and s.EPI_COUNT.iloc[0] == 2


def test_same_admidate_continues_spell_despite_gap(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), dismeth="1"),
        ep("p1", "e2", "RX1", D(2015, 1, 1), D(2015, 1, 5), D(2015, 1, 7), order=2),
    ]
    assert len(spells_of(con, rows)) == 1


def test_providers_and_persons_are_separate(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3)),
        ep("p1", "e2", "RY2", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3)),
        ep("p2", "e3", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3)),
    ]
    s = spells_of(con, rows)
    assert sorted(s.SPELL_ID) == ["p1-RX1-1", "p1-RY2-1", "p2-RX1-1"]


def test_unfinished_episodes_are_left_out(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), dismeth="8", disdest="98"),
        ep("p1", "e2", "RX1", D(2015, 1, 1), D(2015, 1, 3), None, order=2, stat="1", dismeth=None,
           disdest=None),
    ]
    s = spells_of(con, rows)
    assert len(s) == 1 and s.EPI_COUNT.iloc[0] == 1
    # the finished episode ended without discharge: the spell is still open
    assert pd.isna(s.DISDATE.iloc[0]) and pd.isna(s.los_nights.iloc[0])


def test_missing_admidate_is_imputed_from_epistart(con):
    rows = [
        ep("p1", "e1", "RX1", None, D(2015, 2, 1), D(2015, 2, 2), dismeth="8", disdest="98"),
        ep("p1", "e2", "RX1", None, D(2015, 2, 2), D(2015, 2, 4), order=2),
    ]
    s = spells_of(con, rows)
    assert len(s) == 1
    assert s.ADMIDATE.iloc[0] == D(2015, 2, 1)
    assert s.los_nights.iloc[0] == 3


def test_transit_helper(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), disdest="51"),
        ep("p1", "e2", "RY2", D(2015, 1, 3), D(2015, 1, 3), D(2015, 1, 5), admimeth="2B",
           admisorc="51", disdest="51"),
        ep("p1", "e3", "RZ3", D(2015, 1, 5), D(2015, 1, 5), D(2015, 1, 8), admimeth="81",
           admisorc="19", disdest="19"),
        ep("p1", "e4", "RX1", D(2015, 6, 1), D(2015, 6, 1), D(2015, 6, 2)),
    ]
    s = spells_of(con, rows)
    assert list(s.TRANSIT) == [1, 2, 3, 0]


@pytest.mark.parametrize(
    ("gap_days", "prev_disdest", "admisorc", "admimeth", "same_cips"),
    [
        (3, "51", "19", "21", True),  # previous discharged to another NHS provider, 3 days
        (4, "51", "19", "21", False),  # 4 days is too long
        (0, "19", "51", "21", True),  # admitted from another provider
        (2, "19", "19", "2B", True),  # emergency transfer
        (1, "19", "19", "81", True),  # non-emergency transfer
        (0, "19", "19", "21", False),  # no transfer marker: a new admission
        (-1, "19", "52", "21", True),  # overlapping spells with a transfer marker
    ],
)
def test_cips_rules(con, gap_days, prev_disdest, admisorc, admimeth, same_cips):
    end1 = D(2015, 1, 10)
    start2 = end1 + dt.timedelta(days=gap_days)
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 5), D(2015, 1, 5), end1, disdest=prev_disdest),
        ep("p1", "e2", "RY2", start2, start2, start2 + dt.timedelta(days=2), admisorc=admisorc,
           admimeth=admimeth),
    ]
    s = spells_of(con, rows)
    assert len(s) == 2
    assert (s.CIPS_ID.nunique() == 1) is same_cips
    assert s.CIPS_ID.iloc[0] == "p1-C1"


def test_transfer_chain_is_one_cips(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), disdest="51"),
        ep("p1", "e2", "RY2", D(2015, 1, 3), D(2015, 1, 3), D(2015, 1, 6), admimeth="2B",
           admisorc="51", disdest="51"),
        ep("p1", "e3", "RZ3", D(2015, 1, 7), D(2015, 1, 7), D(2015, 1, 9), admimeth="2B",
           admisorc="51"),
        ep("p1", "e4", "RX1", D(2015, 3, 1), D(2015, 3, 1), D(2015, 3, 2)),
    ]
    s = spells_of(con, rows)
    assert list(s.CIPS_ID) == ["p1-C1", "p1-C1", "p1-C1", "p1-C2"]
    c = fetch(con, build_cips(build_spells(frame(rows)))).sort_values("ADMIDATE")
    first = c.iloc[0]
    assert first.SPELL_COUNT == 3
    assert (first.ADMIDATE, first.DISDATE, first.ADMIMETH) == (D(2015, 1, 1), D(2015, 1, 9), "21")
    assert first.los_nights == 8


def test_missing_required_column_raises_schema_error():
    t = frame([ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 2))]).drop("EPISTAT")
    with pytest.raises(SchemaError, match="EPISTAT"):
        build_spells(t)


def test_optional_columns_may_be_absent(con):
    t = frame([ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 2))])
    t = t.drop("ADMISORC", "DISDEST", "CLASSPAT", "DIAG_4_01")
    s = fetch(con, build_spells(t))
    assert len(s) == 1 and s.los_nights.iloc[0] == 1


def test_cips_fields_are_shared_by_every_spell_of_the_chain(con):
    from impacteval.derive.spells import with_cips_fields

    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), disdest="51"),
        ep("p1", "e2", "RY2", D(2015, 1, 3), D(2015, 1, 3), D(2015, 1, 6), admimeth="2B",
           admisorc="51"),
    ]
    c = fetch(con, with_cips_fields(build_spells(frame(rows)))).sort_values("EPISTART")
    assert list(c.CIPS_START) == [True, False]
    assert set(c.CIPS_ADMIMETH) == {"21"} and set(c.CIPS_EPIKEY_ADM) == {"e1"}
    assert set(c.CIPS_ADMIDATE) == {D(2015, 1, 1)} and set(c.CIPS_DISDATE) == {D(2015, 1, 6)}
    assert set(c.SPELL_COUNT) == {2}


def test_input_row_order_does_not_change_the_spells(con):
    rows = [
        ep("p1", "e1", "RX1", D(2015, 1, 1), D(2015, 1, 1), D(2015, 1, 3), dismeth="8", disdest="98"),
        ep("p1", "e2", "RX1", D(2015, 1, 1), D(2015, 1, 3), D(2015, 1, 5), order=2, disdest="51"),
        ep("p1", "e3", "RY2", D(2015, 1, 5), D(2015, 1, 5), D(2015, 1, 9), admimeth="2B"),
        ep("p2", "e4", "RX1", D(2015, 2, 1), D(2015, 2, 1), D(2015, 2, 1)),
    ]
    assert spells_of(con, rows).equals(spells_of(con, rows[::-1]))
