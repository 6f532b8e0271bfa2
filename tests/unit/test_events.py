"""Event table: admission types, ACSC, A&E / OP filters, bed days, data cut.

Definitions tested against nhs_routine_data.md §1.3 and §3.4 (admission methods, A&E seen /
unplanned, OP attended) and §4.4 (ACSC list, NHS Institute / Purdy et al. 2010).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.derive.codelists import load_codelist
from impacteval.derive.events import EVENT_SCHEMA, EVENTS, derive_events
from impacteval.exceptions import SchemaError

D = dt.date
CUT = D(2016, 8, 31)
APC_COLUMNS = [
    "person_id", "EPIKEY", "PROCODE3", "ADMIDATE", "EPISTART", "EPIEND", "DISDATE", "EPIORDER",
    "EPISTAT", "CLASSPAT", "ADMIMETH", "ADMISORC", "DISMETH", "DISDEST", "DIAG_4_01", "DIAG_4_02",
    "DIAG_4_03", "OPERTN_4_01", "OPERTN_4_02",
]


def ep(
    person: str, key: str, start: dt.date, end: dt.date | None, *, proc: str = "RX1",
    admi: dt.date | None = None, admimeth: str = "21", admisorc: str = "19",
    dismeth: str = "1", disdest: str = "19", dx: tuple[str | None, ...] = ("R100",),
    ops: tuple[str | None, ...] = (), order: int = 1,
) -> dict[str, object]:
    dx = (*dx, None, None, None)[:3]
    ops = (*ops, None, None)[:2]
    dis = end if dismeth != "8" else None
    return dict(zip(APC_COLUMNS, [
        person, key, proc, admi or start, start, end, dis, order, "3", "1", admimeth, admisorc,
        dismeth, disdest, *dx, *ops], strict=True))


def tables(
    apc: list[dict[str, object]],
    ae: list[tuple[str, dt.date, str | None, str | None]] = (),
    op: list[tuple[str, dt.date, str]] = (),
    deaths: list[tuple[str, dt.date]] = (),
) -> dict[str, ibis.Table]:
    a = pd.DataFrame(apc, columns=APC_COLUMNS)
    for c in ("ADMIDATE", "EPISTART", "EPIEND", "DISDATE"):
        a[c] = pd.to_datetime(a[c]).dt.date
    for c in APC_COLUMNS:
        if c.startswith(("DIAG", "OPERTN")):
            a[c] = a[c].astype("string")
    e = pd.DataFrame(list(ae), columns=["person_id", "ARRIVALDATE", "AEATTENDCAT", "AEATTENDDISP"])
    o = pd.DataFrame(list(op), columns=["person_id", "APPTDATE", "ATTENDED"])
    d = pd.DataFrame(list(deaths), columns=["person_id", "DOD"])
    for df, col in ((e, "ARRIVALDATE"), (o, "APPTDATE"), (d, "DOD")):
        df[col] = pd.to_datetime(df[col]).dt.date
    schemas = {
        "ae_attendances": {"person_id": "string", "ARRIVALDATE": "date", "AEATTENDCAT": "string",
                           "AEATTENDDISP": "string"},
        "op_appointments": {"person_id": "string", "APPTDATE": "date", "ATTENDED": "string"},
        "deaths": {"person_id": "string", "DOD": "date"},
    }
    apc_schema = {c: "string" for c in APC_COLUMNS}
    apc_schema.update({c: "date" for c in ("ADMIDATE", "EPISTART", "EPIEND", "DISDATE")})
    apc_schema["EPIORDER"] = "int64"
    return {
        "apc_episodes": ibis.memtable(a, schema=apc_schema),
        "ae_attendances": ibis.memtable(e, schema=schemas["ae_attendances"]),
        "op_appointments": ibis.memtable(o, schema=schemas["op_appointments"]),
        "deaths": ibis.memtable(d, schema=schemas["deaths"]),
    }


# Every scenario is a separate person in one extract, so the (slow to compile) event query
# runs once for the module.
ADMIMETH_CASES = [
    ("21", 1, 0), ("22", 1, 0), ("2A", 1, 0), ("2D", 1, 0), ("28", 1, 0),
    ("11", 0, 1), ("12", 0, 1), ("13", 0, 1),
    ("2B", 0, 0),  # transfer in: its admission happened elsewhere
    ("81", 0, 0),
    ("2C", 0, 0),  # baby born at home
    ("31", 0, 0),  # maternity
]
ACSC_CASES = [
    (("J45X",), (), "21", True),  # asthma, primary
    (("J45X",), (), "11", False),  # elective admission: never avoidable emergency
    (("R100", "J45X"), (), "21", False),  # asthma only secondary
    (("I10X",), (), "21", True),  # hypertension
    (("I10X",), ("K401",), "21", False),  # ... with a cardiac procedure
    (("I500",), ("U051",), "21", True),  # heart failure, non-cardiac procedure
    (("J20X", "J440"), (), "21", True),  # acute bronchitis with COPD
    (("J20X",), (), "21", False),  # acute bronchitis alone
    (("R100", "J181"), (), "22", True),  # pneumonia in any position
    (("J181", "D571"), (), "21", False),  # ... excluded with sickle-cell disease
    (("R100", "E112"), (), "21", True),  # diabetes complication, any position
    (("I209",), ("X011",), "21", False),  # angina with an excluding primary procedure
    (("I209",), ("Z942",), "21", True),  # angina with a non-excluding procedure chapter
    (("L031",), ("S061",), "21", True),  # cellulitis, minor skin procedure S06
    (("L031",), ("S411",), "21", False),  # cellulitis with an excluding procedure
    (("K250",), (), "21", True),  # perforated / bleeding ulcer
    (("K253",), (), "21", False),  # ulcer without haemorrhage or perforation
    (("R02X",), (), "21", True),  # gangrene
    (("N390",), (), "21", False),  # UTI: not on the 19-condition list
]
AE_CASES = [
    (D(2015, 1, 1), "1", "01", True),  # first attendance, admitted
    (D(2015, 1, 2), "2", "03", False),  # planned follow-up
    (D(2015, 1, 3), "3", "02", True),  # unplanned follow-up
    (D(2015, 1, 4), "1", "12", False),  # left before being treated: not seen
    (D(2015, 1, 5), "1", "13", False),  # left having refused treatment: not seen
    (D(2015, 1, 6), "1", None, True),  # disposal unknown: counted as seen
    (D(2015, 1, 7), None, "03", False),  # category unknown: not counted
]
OP_CASES = [(D(2015, 1, 1), "5", True), (D(2015, 1, 2), "6", True), (D(2015, 1, 3), "3", False),
            (D(2015, 1, 4), "7", False), (D(2015, 1, 5), "2", False)]


def scenario() -> dict[str, ibis.Table]:
    apc = []
    for code, _, _ in ADMIMETH_CASES:
        apc.append(ep(f"m_{code}", f"m_{code}", D(2015, 1, 1), D(2015, 1, 3), admimeth=code))
    for i, (dx, ops, admimeth, _) in enumerate(ACSC_CASES):
        apc.append(ep(f"acsc_{i}", f"acsc_{i}", D(2015, 1, 1), D(2015, 1, 3), dx=dx, ops=ops,
                      admimeth=admimeth))
    apc += [
        # transfer chain: one emergency admission, bed days per provider spell
        ep("tc1", "tc1a", D(2015, 1, 1), D(2015, 1, 4), disdest="51"),
        ep("tc1", "tc1b", D(2015, 1, 4), D(2015, 1, 9), proc="RY2", admimeth="2B", admisorc="51"),
        # the receiving trust codes the transfer as a new emergency admission: still one CIPS
        ep("tc2", "tc2a", D(2015, 1, 1), D(2015, 1, 2), disdest="51"),
        ep("tc2", "tc2b", D(2015, 1, 3), D(2015, 1, 5), proc="RY2", admimeth="21"),
        # bed days
        ep("beds", "b1", D(2015, 1, 1), D(2015, 1, 5)),  # 4 nights
        ep("beds", "b2", D(2015, 2, 1), D(2015, 2, 1), admimeth="11"),  # day case: 0 nights
        ep("beds", "b3", D(2016, 8, 20), D(2016, 8, 25), dismeth="8", disdest="98"),  # still in
        ep("beds", "b4", D(2015, 5, 1), D(2015, 5, 3), admimeth="31"),  # maternity: not counted
        # ACSC looks at the admission episode only
        ep("adm_ep", "a1", D(2015, 1, 1), D(2015, 1, 2), dismeth="8", disdest="98", dx=("R100",)),
        ep("adm_ep", "a2", D(2015, 1, 2), D(2015, 1, 4), order=2, dx=("J45X",)),
    ]
    ae = [("ae", d, cat, disp) for d, cat, disp, _ in AE_CASES]
    op = [("op", d, att) for d, att, _ in OP_CASES]
    return tables(apc, ae=ae, op=op, deaths=[("dead", D(2016, 1, 1))])


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def events_of(con, tabs, cut=CUT) -> pd.DataFrame:
    out = con.to_pyarrow(derive_events(tabs, data_cut=cut)).to_pandas()
    return out.sort_values(["person_id", "event", "start_date"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def ev(con) -> pd.DataFrame:
    return events_of(con, scenario())


def count(ev: pd.DataFrame, event: str, person: str | None = None) -> int:
    sel = ev.event == event
    if person is not None:
        sel &= ev.person_id == person
    return int(sel.sum())


def test_schema_and_event_names(ev):
    t = derive_events(scenario(), data_cut=CUT)
    assert dict(t.schema().items()) == {k: ibis.dtype(v) for k, v in EVENT_SCHEMA.items()}
    assert set(ev.event) == set(EVENTS)


@pytest.mark.parametrize(("admimeth", "emergency", "elective"), ADMIMETH_CASES)
def test_admission_method_classification(ev, admimeth, emergency, elective):
    person = f"m_{admimeth}"
    assert count(ev, "emergency_admission", person) == emergency
    assert count(ev, "elective_admission", person) == elective
    assert count(ev, "bed_days", person) == emergency + elective


def test_transfer_chain_counts_one_emergency_admission_and_bed_days_per_spell(ev):
    assert count(ev, "emergency_admission", "tc1") == 1
    assert count(ev, "emergency_admission", "tc2") == 1
    adm = ev[(ev.event == "emergency_admission") & (ev.person_id == "tc1")].iloc[0]
    assert (adm.start_date, adm.end_date, adm.nights) == (D(2015, 1, 1), D(2015, 1, 9), 8)
    beds = ev[(ev.event == "bed_days") & (ev.person_id == "tc1")]
    assert list(beds.nights) == [3, 5]


def test_bed_days(ev):
    beds = ev[(ev.event == "bed_days") & (ev.person_id == "beds")]
    assert list(beds.start_date) == [D(2015, 1, 1), D(2015, 2, 1), D(2016, 8, 20)]
    assert list(beds.end_date) == [D(2015, 1, 5), D(2015, 2, 1), CUT]
    assert list(beds.nights) == [4, 0, 11]
    still_in = ev[(ev.event == "emergency_admission") & (ev.start_date == D(2016, 8, 20))].iloc[0]
    assert pd.isna(still_in.end_date) and pd.isna(still_in.nights)


def test_ae_seen_and_unplanned_filters(ev):
    got = ev[ev.event == "ae_attendance"]
    assert list(got.start_date) == [d for d, _, _, kept in AE_CASES if kept]
    assert set(got.person_id) == {"ae"}
    assert got.end_date.isna().all() and got.nights.isna().all()


def test_op_attended_filter(ev):
    got = ev[ev.event == "op_attendance"]
    assert list(got.start_date) == [d for d, _, kept in OP_CASES if kept]


def test_death(ev):
    got = ev[ev.event == "death"]
    assert list(zip(got.person_id, got.start_date, strict=True)) == [("dead", D(2016, 1, 1))]


@pytest.mark.parametrize("case", range(len(ACSC_CASES)))
def test_acsc_examples(ev, case):
    avoidable = ACSC_CASES[case][3]
    assert count(ev, "avoidable_emergency_admission", f"acsc_{case}") == int(avoidable)


def test_acsc_uses_the_admission_episode_only(ev):
    assert count(ev, "emergency_admission", "adm_ep") == 1
    assert count(ev, "avoidable_emergency_admission", "adm_ep") == 0


def test_avoidable_admissions_are_emergency_admissions(ev):
    avoidable = ev[ev.event == "avoidable_emergency_admission"][["person_id", "start_date"]]
    emergency = ev[ev.event == "emergency_admission"][["person_id", "start_date"]]
    assert len(avoidable.merge(emergency)) == len(avoidable) > 0


def test_events_after_data_cut_are_dropped(con):
    cut = D(2015, 6, 30)
    apc = [ep("p1", "e1", D(2015, 6, 30), D(2015, 7, 2)), ep("p1", "e2", D(2015, 7, 1), D(2015, 7, 2))]
    ae = [("p1", D(2015, 6, 30), "1", "01"), ("p1", D(2015, 7, 1), "1", "01")]
    op = [("p1", D(2015, 7, 1), "5")]
    deaths = [("p1", D(2015, 7, 5)), ("p2", D(2015, 6, 1))]
    ev = events_of(con, tables(apc, ae=ae, op=op, deaths=deaths), cut=cut)
    assert (ev.start_date <= cut).all()
    assert count(ev, "emergency_admission") == 1
    assert count(ev, "ae_attendance") == 1
    assert count(ev, "op_attendance") == 0
    assert list(ev[ev.event == "death"].person_id) == ["p2"]
    # the admission on the cut day: bed days end at the cut
    bed = ev[ev.event == "bed_days"].iloc[0]
    assert (bed.end_date, bed.nights) == (cut, 0)


def test_acsc_list_has_19_conditions():
    cl = load_codelist("acsc")
    assert cl["category"].nunique() == 19
    assert set(cl["role"]) == {"include", "exclude", "require"}


def test_missing_table_raises_schema_error():
    tabs = tables([])
    del tabs["deaths"]
    with pytest.raises(SchemaError, match="deaths"):
        derive_events(tabs, data_cut=CUT)
