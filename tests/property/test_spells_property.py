"""Property tests of spell and CIPS building against a plain-Python statement of the rules.

The reference below restates nhs_routine_data.md §1.4 (HF HES_pipeline rules) row by row; the
Ibis/DuckDB implementation must give the same partition of finished episodes into spells and of
spells into CIPS, for any episode table hypothesis can think of.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import ibis
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impacteval.derive.spells import build_spells

BASE = dt.date(2015, 1, 1)
SCHEMA = {
    "person_id": "string", "EPIKEY": "string", "PROCODE3": "string", "ADMIDATE": "date",
    "EPISTART": "date", "EPIEND": "date", "DISDATE": "date", "EPIORDER": "int64",
    "EPISTAT": "string", "ADMIMETH": "string", "ADMISORC": "string", "DISMETH": "string",
    "DISDEST": "string",
}

episode = st.fixed_dictionaries({
    "person_id": st.sampled_from(["p1", "p2"]),
    "PROCODE3": st.sampled_from(["RX1", "RY2"]),
    "start": st.integers(0, 20),
    "length": st.integers(0, 4),
    "adm_offset": st.one_of(st.none(), st.integers(0, 3)),
    "EPIORDER": st.one_of(st.none(), st.integers(1, 3)),
    "EPISTAT": st.sampled_from(["3", "3", "3", "1"]),
    "ADMIMETH": st.sampled_from(["21", "11", "2B", "81"]),
    "ADMISORC": st.sampled_from(["19", "51", None]),
    "DISMETH": st.sampled_from(["1", "8", None]),
    "DISDEST": st.sampled_from(["19", "51", "98", None]),
})


def to_frame(eps: list[dict]) -> pd.DataFrame:
    rows = []
    for i, e in enumerate(eps):
        start = BASE + dt.timedelta(days=e["start"])
        end = start + dt.timedelta(days=e["length"])
        rows.append({
            "person_id": e["person_id"], "EPIKEY": f"e{i:03d}", "PROCODE3": e["PROCODE3"],
            "ADMIDATE": None if e["adm_offset"] is None else start - dt.timedelta(days=e["adm_offset"]),
            "EPISTART": start, "EPIEND": end, "DISDATE": end if e["DISMETH"] == "1" else None,
            "EPIORDER": e["EPIORDER"], "EPISTAT": e["EPISTAT"], "ADMIMETH": e["ADMIMETH"],
            "ADMISORC": e["ADMISORC"], "DISMETH": e["DISMETH"], "DISDEST": e["DISDEST"],
        })
    return pd.DataFrame(rows, columns=list(SCHEMA))


def _nl(x):
    """Sort key: nulls last."""
    return (x is None, x if x is not None else 0)


def reference_spells(df: pd.DataFrame) -> dict[str, tuple[str, str, int]]:
    """SPELL_ID -> (first EPIKEY, last EPIKEY, episode count), rules restated in Python."""
    plain = df.astype(object).where(df.notna(), None)  # NaN / pd.NA -> None
    eps = [r for r in plain.to_dict("records") if r["EPISTAT"] == "3"]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in eps:
        adm_t = r["ADMISORC"] in ("51", "52", "53") or r["ADMIMETH"] in ("2B", "81")
        dis_t = r["DISDEST"] in ("51", "52", "53")
        r["TRANSIT"] = 2 if adm_t and dis_t else 1 if dis_t else 3 if adm_t else 0
        r["FILLED"] = r["ADMIDATE"]
        if r["FILLED"] is None and r["EPIORDER"] == 1 and not adm_t:
            r["FILLED"] = r["EPISTART"]
        groups[(r["person_id"], r["PROCODE3"])].append(r)
    out: dict[str, tuple[str, str, int]] = {}
    for (person, proc), rs in groups.items():
        rs.sort(key=lambda r: (_nl(r["EPISTART"]), _nl(r["EPIEND"]), _nl(r["EPIORDER"]),
                               r["TRANSIT"], r["EPIKEY"]))
        n, members = 0, []
        for i, r in enumerate(rs):
            p = rs[i - 1] if i else None
            cont = p is not None and (
                (r["FILLED"] is not None and r["FILLED"] == p["FILLED"])
                or r["EPISTART"] == p["EPISTART"]
                or (p["DISMETH"] in ("8", "9", None) and r["EPISTART"] == p["EPIEND"])
            )
            if not cont:
                n += 1
                members.append([])
            members[-1].append(r["EPIKEY"])
        for k, m in enumerate(members, start=1):
            out[f"{person}-{proc}-{k}"] = (m[0], m[-1], len(m))
    return out


def reference_cips(spells: pd.DataFrame) -> dict[str, str]:
    """SPELL_ID -> CIPS_ID, from the spell table's own columns."""
    out = {}
    for person, s in spells.groupby("person_id"):
        s = s.astype(object).where(s.notna(), None)
        recs = sorted(s.to_dict("records"), key=lambda r: (r["EPISTART"], r["EPIEND"],
                                                           r["PROCODE3"], r["SPELL_ID"]))
        n = 0
        for i, r in enumerate(recs):
            p = recs[i - 1] if i else None
            joins = p is not None and (r["EPISTART"] - p["EPIEND"]).days <= 3 and (
                p["DISDEST"] in ("51", "52", "53") or r["ADMISORC"] in ("51", "52", "53")
                or r["ADMIMETH"] in ("2B", "81")
            )
            n += 0 if joins else 1
            out[r["SPELL_ID"]] = f"{person}-C{n}"
    return out


CON = ibis.duckdb.connect()
# Compile once (compiling the window-heavy query costs far more than running it on a few rows);
# each example registers its own data under the table name the SQL reads.
SQL = ibis.to_sql(build_spells(ibis.table(SCHEMA, name="apc_prop")), dialect="duckdb")
ARROW_SCHEMA = ibis.schema(SCHEMA).to_pyarrow()


def run_spells(df: pd.DataFrame) -> pd.DataFrame:
    CON.con.register("apc_prop", pa.Table.from_pandas(df, schema=ARROW_SCHEMA, preserve_index=False))
    try:
        return CON.con.sql(SQL).fetch_arrow_table().to_pandas()
    finally:
        CON.con.unregister("apc_prop")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(episode, min_size=1, max_size=12))
def test_spells_partition_finished_episodes_and_cips_chain(eps):
    df = to_frame(eps)
    spells = run_spells(df)
    finished = int((df.EPISTAT == "3").sum())

    # every finished episode is in exactly one spell
    assert int(spells.EPI_COUNT.sum()) == finished
    assert spells.SPELL_ID.is_unique
    got = {r.SPELL_ID: (r.EPIKEY_ADM, r.EPIKEY_DIS, r.EPI_COUNT) for r in spells.itertuples()}
    assert got == reference_spells(df)

    # CIPS ids follow the rule and number each person's chains 1, 2, ... in spell order
    assert dict(zip(spells.SPELL_ID, spells.CIPS_ID, strict=True)) == reference_cips(spells)
    for _, s in spells.groupby("person_id"):
        s = s.sort_values(["EPISTART", "EPIEND", "PROCODE3", "SPELL_ID"])
        numbers = s.CIPS_ID.str.rsplit("-C", n=1).str[1].astype(int).tolist()
        assert numbers[0] == 1
        assert all(b - a in (0, 1) for a, b in zip(numbers, numbers[1:], strict=False))
