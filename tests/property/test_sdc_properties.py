"""Property tests of disclosure control (hypothesis).

For every regime (the named ones of nhs_routine_data.md section 2 and random custom ones) and
random two-way tables with released row and column totals:

- no released count lies in ``[1, min_count)`` (nor is zero when zeros are suppressed);
- every released count is a multiple of ``round_to``;
- no suppressed cell can be recovered from the released totals: each total equation has either
  no or at least two hidden cells, and (stronger) no hidden cell is determined by the whole
  system of released totals. The audit below is written independently of the implementation
  (least squares over the hidden cells, instead of the implementation's rank test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impacteval.report.sdc import (
    REGIMES,
    ColumnTotal,
    DisclosureRegime,
    RowTotal,
    apply_sdc,
)

custom_regimes = st.builds(
    lambda m, r, z: DisclosureRegime(name="custom", min_count=m, round_to=r, suppress_zero=z,
                                     label=f"<{m}"),
    st.integers(0, 15),
    st.integers(1, 10),
    st.booleans(),
)
regimes = st.one_of(st.sampled_from(list(REGIMES.values())), custom_regimes)
small_counts = st.one_of(st.integers(0, 12), st.integers(0, 400))


@st.composite
def two_way_tables(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 4))
    cells = np.array(
        [[draw(small_counts) for _ in range(n_cols)] for _ in range(n_rows)], dtype=float
    )
    cols = [f"c{j}" for j in range(n_cols)]
    df = pd.DataFrame(cells, columns=cols)
    df["total"] = cells.sum(axis=1)
    df.insert(0, "row", [f"r{i}" for i in range(n_rows)])
    total_row = {"row": "all", **{c: df[c].sum() for c in [*cols, "total"]}}
    return pd.concat([df, pd.DataFrame([total_row])], ignore_index=True)


def _count_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c != "row"]


def _released_numbers(safe: pd.DataFrame, cols: list[str], label: str) -> list[float]:
    return [float(v) for c in cols for v in safe[c] if v is not None and v != label]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=two_way_tables(), regime=regimes)
def test_released_counts_are_safe(table: pd.DataFrame, regime: DisclosureRegime) -> None:
    cols = _count_columns(table)
    parts = tuple(c for c in cols if c != "total")
    safe, _ = apply_sdc(table, cols, regime,
                        margins=[RowTotal("total", parts), ColumnTotal("row", "all")])
    for x in _released_numbers(safe, cols, regime.label):
        assert not (0 < x < regime.min_count)
        assert not (x == 0 and regime.suppress_zero and regime.min_count > 0)
        assert x % regime.round_to == 0
    # Every cell that primary suppression must hide is hidden.
    for c in cols:
        for raw, out in zip(table[c], safe[c], strict=False):
            if (0 < raw < regime.min_count) or (raw == 0 and regime.suppress_zero
                                                and regime.min_count > 0):
                assert out == regime.label


def _equations(n_rows: int, cols: list[str]) -> list[list[tuple[tuple[int, str], float]]]:
    """Each total as coefficients over cells: total - sum(parts) = 0."""
    parts = [c for c in cols if c != "total"]
    eqs = []
    for i in range(n_rows + 1):  # row totals, including the grand-total row
        eqs.append([((i, "total"), 1.0)] + [((i, c), -1.0) for c in parts])
    for c in cols:  # column totals (last row)
        eqs.append([((n_rows, c), 1.0)] + [((i, c), -1.0) for i in range(n_rows)])
    return eqs


def _determined(eqs: list[list[tuple[tuple[int, str], float]]], hidden: list[tuple[int, str]]
                ) -> list[tuple[int, str]]:
    """Hidden cells fixed by the equations: the min-norm solution's null-space check."""
    if not hidden:
        return []
    idx = {c: j for j, c in enumerate(hidden)}
    a = np.zeros((len(eqs), len(hidden)))
    for k, eq in enumerate(eqs):
        for cell, coef in eq:
            if cell in idx:
                a[k, idx[cell]] += coef
    # A hidden cell is determined iff every null-space vector of A is zero in its coordinate.
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return [c for c in hidden if null.shape[0] == 0 or np.all(np.abs(null[:, idx[c]]) < 1e-9)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=two_way_tables(), regime=regimes)
def test_no_suppressed_cell_recoverable_from_totals(
    table: pd.DataFrame, regime: DisclosureRegime
) -> None:
    cols = _count_columns(table)
    parts = tuple(c for c in cols if c != "total")
    safe, _ = apply_sdc(table, cols, regime,
                        margins=[RowTotal("total", parts), ColumnTotal("row", "all")])
    hidden = [(i, c) for c in cols for i in range(len(safe)) if safe.at[i, c] == regime.label]
    eqs = _equations(len(safe) - 1, cols)
    hidden_set = set(hidden)
    for eq in eqs:
        n_hidden = sum(1 for cell, _ in eq if cell in hidden_set)
        assert n_hidden != 1
    assert _determined(eqs, hidden) == []


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 1000), min_size=1, max_size=30), regime=regimes)
def test_single_column_and_input_unchanged(values: list[int], regime: DisclosureRegime) -> None:
    df = pd.DataFrame({"n": values})
    before = df.copy()
    safe, log = apply_sdc(df, ["n"], regime)
    pd.testing.assert_frame_equal(df, before)
    for x in _released_numbers(safe, ["n"], regime.label):
        assert not (0 < x < regime.min_count) and x % regime.round_to == 0
    assert sum(e["cells"] for e in log if e["action"] == "primary_suppression") == sum(
        1 for v in safe["n"] if v == regime.label
    )


@st.composite
def outcome_summaries(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for outcome in draw(st.lists(st.sampled_from(["emergency_admissions", "deaths", "bed_days"]),
                                 min_size=1, max_size=3, unique=True)):
        for arm in ("treated", "control"):
            n = draw(small_counts)
            rows.append({"outcome": outcome, "arm": arm, "sample": "matched", "n_persons": n,
                         "events": float(draw(small_counts)),
                         "person_years": draw(st.floats(0.0, 900.0)),
                         "rate_per_1000_py": 0.0})
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(summary=outcome_summaries(), regime=regimes)
def test_released_tables_pass_the_output_checker(summary: pd.DataFrame,
                                                 regime: DisclosureRegime) -> None:
    # The release functions and check_outputs agree: every released count cell passes the
    # checker's rule, and every rate whose events are suppressed is suppressed too.
    from impacteval.report.checks import _cell_problem
    from impacteval.report.tables import release_outcome_summary

    released = release_outcome_summary(summary, regime)
    for c in released.count_columns:
        for v in released.frame[c]:
            text = "" if v is None else str(v)
            assert _cell_problem(text, regime, midpoint6=False) is None
    for ev, rate in zip(released.frame["events"], released.frame["rate_per_1000_py"],
                        strict=True):
        assert (ev == regime.label) == (rate == regime.label)
