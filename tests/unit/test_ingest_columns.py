"""Column typing and sentinel mapping on the engine agree with a plain-Python reference.

The reference is the contract's own wording: ints are whole numbers (``3``, ``+3``, ``007``,
``3.0``), dates are ISO ``YYYY-MM-DD`` calendar dates, blank text is null, sentinels map to
null, and anything else that is not blank is a wrong-type value.
"""

from __future__ import annotations

import datetime as dt
import re

import ibis
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from impacteval.data.columns import cast_column, map_sentinels, violates
from impacteval.data.contract import CONTRACT

INT64_MAX = 2**63 - 1
GARBAGE = st.text(alphabet="0123456789 .-+:aX/", max_size=12)


def _run(values: list[str | None], column: str, table: str) -> pd.DataFrame:
    col = CONTRACT[table].column(column)
    t = ibis.memtable(pd.DataFrame({"raw": pd.Series(values, dtype="object").astype("string"),
                                    "i": range(len(values))}))
    typed = cast_column(t.raw, col)
    value, sentinel = map_sentinels(typed.value, col)
    expr = t.select("i", value=value, bad=typed.bad, blank=typed.blank, sentinel=sentinel,
                    violates=violates(value, col))
    return ibis.duckdb.connect().execute(expr.order_by("i")).reset_index(drop=True)


def _int_ref(text: str | None) -> tuple[int | None, bool]:
    if text is None or not text.strip():
        return None, False
    s = text.strip()
    if not re.fullmatch(r"[+-]?\d+(\.0+)?", s):
        return None, True
    n = int(s.split(".")[0])
    return (n, False) if abs(n) <= INT64_MAX else (None, True)


def _date_ref(text: str | None) -> tuple[dt.date | None, bool]:
    if text is None or not text.strip():
        return None, False
    s = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return None, True
    try:
        return dt.date.fromisoformat(s), False
    except ValueError:
        return None, True


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(10**20), 10**20).map(str),
                          st.sampled_from(["7001", "7007", "98", " 84 ", "84.0", "84.5", "+3"]),
                          GARBAGE), min_size=1, max_size=40))
def test_int_column_matches_reference(values: list[str | None]) -> None:
    got = _run(values, "STARTAGE", "apc_episodes")
    for k, text in enumerate(values):
        ref, bad = _int_ref(text)
        assert bool(got.bad[k]) == bad, text
        infant = ref is not None and 7001 <= ref <= 7007
        assert bool(got.sentinel[k]) == infant, text
        expected = 0 if infant else ref
        assert (pd.isna(got.value[k]) and expected is None) or got.value[k] == expected, text
        out_of_range = expected is not None and not 0 <= expected <= 120
        assert bool(got.violates[k]) == out_of_range, text


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates().map(dt.date.isoformat),
                          st.from_regex(r"\A\d{4}-[01]\d-[0-3]\d\Z"),
                          st.sampled_from(["1800-01-01", "1801-01-01", "1582-10-15", "2015-02-29",
                                           "20150101", "  "]),
                          GARBAGE), min_size=1, max_size=40))
def test_date_column_matches_reference(values: list[str | None]) -> None:
    got = _run(values, "EPISTART", "apc_episodes")
    sentinels = {dt.date(1800, 1, 1), dt.date(1801, 1, 1), dt.date(1600, 1, 1),
                 dt.date(1582, 10, 15)}
    for k, text in enumerate(values):
        ref, bad = _date_ref(text)
        assert bool(got.bad[k]) == bad, text
        assert bool(got.blank[k]) == (text is not None and not text.strip()), text
        assert bool(got.sentinel[k]) == (ref in sentinels), text
        expected = None if ref in sentinels else ref
        if expected is None:
            assert pd.isna(got.value[k]), text
        else:
            assert pd.Timestamp(got.value[k]).date() == expected, text


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["21", "2A", "2B", "98", "99", "2a", "21 ",
                                                      "", "X"])), min_size=1, max_size=30))
def test_code_column_matches_reference(values: list[str | None]) -> None:
    col = CONTRACT["apc_episodes"].column("ADMIMETH")
    assert col.allowed is not None
    got = _run(values, "ADMIMETH", "apc_episodes")
    for k, text in enumerate(values):
        blank = text is not None and not text.strip()
        sentinel = text in ("98", "99")
        assert bool(got.sentinel[k]) == sentinel, text
        clean = None if (text is None or blank or sentinel) else text
        assert bool(got.violates[k]) == (clean is not None and clean not in col.allowed), text
