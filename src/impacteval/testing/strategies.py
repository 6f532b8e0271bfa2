"""Hypothesis strategies for estimator tests (needs the ``hypothesis`` package: dev extra).

Import this module only in tests; the rest of :mod:`impacteval.testing` does not need
hypothesis.

>>> from impacteval.testing.strategies import cohort_frames   # doctest: +SKIP
>>> @given(cohort_frames())                                   # doctest: +SKIP
... def test_fit_never_mutates(frame): ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume
from hypothesis import strategies as st

from impacteval.testing.simulate import simulate_matched_cohort


@st.composite
def cohort_frames(
    draw: st.DrawFn,
    *,
    min_rows: int = 200,
    max_rows: int = 600,
    index_kinds: tuple[str, ...] = ("range", "shuffled", "strings"),
) -> pd.DataFrame:
    """Person-level cohort tables as :func:`simulate_matched_cohort` makes them, varied in the
    ways real tables vary: size, effect, confounding, row order, index type, a boolean or
    integer treatment column, extra unrelated columns, and column order.

    Columns always include ``treated, age, female, frailty, person_years,
    emergency_admissions``; both arms are non-empty and have events.
    """
    n = draw(st.integers(min_rows, max_rows))
    study = simulate_matched_cohort(
        n,
        rate_ratio=draw(st.sampled_from([0.5, 0.75, 1.0, 1.5])),
        confounding=draw(st.sampled_from([0.0, 0.5, 1.0])),
        seed=draw(st.integers(0, 2**31 - 1)),
    )
    frame = study.data
    if draw(st.booleans()):
        frame = frame.assign(treated=frame["treated"].astype(bool))
    if draw(st.booleans()):
        frame = frame.assign(note=pd.array(["x"] * len(frame), dtype="string"))
    kind = draw(st.sampled_from(index_kinds))
    if kind == "shuffled":
        order = np.random.default_rng(draw(st.integers(0, 1000))).permutation(len(frame))
        frame = frame.iloc[order]
    elif kind == "strings":
        frame = frame.set_axis([f"r{i}" for i in range(len(frame))], axis=0)
    cols = list(frame.columns)
    if draw(st.booleans()):
        cols = cols[::-1]
    frame = frame[cols]
    arms = frame["treated"].astype(int)
    events = frame.groupby(arms)["emergency_admissions"].sum()
    # discard the (vanishingly rare) draw with an empty arm or an arm without events
    assume(arms.nunique() == 2 and bool((events > 0).all()))
    return frame
