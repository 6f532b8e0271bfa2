"""Hypothesis: linkage is idempotent and its counts add up."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impacteval.exceptions import LinkageError
from impacteval.linkage import link

IDS = st.sampled_from(["p0", "p1", "p2", "p3", "p4", "p5", "p6"])


@st.composite
def extracts(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    persons = sorted(draw(st.sets(IDS, min_size=1, max_size=5)))
    apc = draw(st.lists(IDS, max_size=8))
    ae = draw(st.lists(IDS, max_size=6))
    deaths = draw(st.lists(st.tuples(IDS, st.integers(0, 3), st.integers(0, 3)), max_size=6))
    return {
        "persons": pd.DataFrame({"person_id": persons}),
        "apc_episodes": pd.DataFrame({"EPIKEY": [str(i) for i in range(len(apc))],
                                      "person_id": pd.Series(apc, dtype="string")}),
        "ae_attendances": pd.DataFrame({"AEKEY": [str(i) for i in range(len(ae))],
                                        "person_id": pd.Series(ae, dtype="string")}),
        "deaths": pd.DataFrame({
            "person_id": pd.Series([d[0] for d in deaths], dtype="string"),
            "DOD": pd.Series([d[1] for d in deaths], dtype="int64"),
            "DOR": pd.Series([d[1] + d[2] for d in deaths], dtype="int64"),
        }),
    }


def _frames(tables: dict[str, ibis.Table]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, t in tables.items():
        df = t.to_pandas()
        out[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
def test_link_idempotent_and_counts_add_up(data: dict[str, pd.DataFrame]) -> None:
    persons = set(data["persons"].person_id)
    events = pd.concat([data["apc_episodes"].person_id, data["ae_attendances"].person_id])
    if len(events) and not events.isin(persons).any():
        with pytest.raises(LinkageError):  # nothing links: different pseudonym schemes
            link({k: ibis.memtable(v) for k, v in data.items()})
        return
    first = link({k: ibis.memtable(v) for k, v in data.items()})
    second = link(first.tables)
    a, b = _frames(dict(first.tables)), _frames(dict(second.tables))
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False)
    c = {(r.table, r.measure): int(r.count) for r in first.report.itertuples()}
    c2 = {(r.table, r.measure): int(r.count) for r in second.report.itertuples()}
    for name in ("apc_episodes", "ae_attendances", "deaths"):
        assert c[(name, "orphaned")] + c[(name, "linked")] == c[(name, "records")] == len(data[name])
        assert c[(name, "linked")] == int(data[name].person_id.isin(persons).sum())
        assert c2[(name, "orphaned")] == 0
    linked_deaths = data["deaths"][data["deaths"].person_id.isin(persons)]
    assert len(a["deaths"]) == linked_deaths.person_id.nunique()
    assert c[("deaths", "duplicate_death_registrations")] == len(linked_deaths) - len(a["deaths"])
    assert c2[("deaths", "duplicate_death_registrations")] == 0
    with_events = set(data["apc_episodes"].person_id) | set(data["ae_attendances"].person_id)
    assert c[("persons", "persons_without_events")] == len(persons - with_events)
