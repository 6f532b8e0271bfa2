"""Property tests of the SPC rules and charts (hypothesis).

Properties: the XmR chart is equivariant under y -> a y + b (a > 0): limits transform the same
way and every flag is unchanged; with a < 0 the limits swap and the variation labels of an
``increase`` chart become those of a ``decrease`` chart; Anhoej crossings equal the number of
side changes among points off the centre line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from impacteval.spc import anhoej, xmr_chart

values = st.lists(st.integers(min_value=-50, max_value=50), min_size=8, max_size=40)


def _frame(y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(y.shape[0]), "y": y})


@settings(max_examples=60, deadline=None)
@given(values, st.floats(min_value=0.1, max_value=10), st.floats(min_value=-100, max_value=100))
def test_xmr_affine_equivariance(ys: list[int], a: float, b: float) -> None:
    y = np.asarray(ys, dtype=float)
    if np.all(np.diff(y) == 0):
        return
    base = xmr_chart(_frame(y), x="x", y="y").data
    lines = base[["centre", "lower", "upper", "near_lower", "near_upper"]].to_numpy()
    if np.min(np.abs(lines - y[:, None])) < 1e-6:
        return  # a point on a line: rounding of a y + b may move it across (not a property)
    moved = xmr_chart(_frame(a * y + b), x="x", y="y").data
    np.testing.assert_allclose(moved["upper"], a * base["upper"] + b, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(moved["centre"], a * base["centre"] + b, rtol=1e-9, atol=1e-9)
    for col in ("outside", "trend", "shift", "two_in_three", "special_cause", "variation"):
        assert moved[col].tolist() == base[col].tolist(), col


@settings(max_examples=60, deadline=None)
@given(values)
def test_xmr_reflection_swaps_direction(ys: list[int]) -> None:
    y = np.asarray(ys, dtype=float)
    if np.all(np.diff(y) == 0):
        return
    up = xmr_chart(_frame(y), x="x", y="y", improvement_direction="increase").data
    down = xmr_chart(_frame(-y), x="x", y="y", improvement_direction="decrease").data
    np.testing.assert_allclose(down["upper"], -up["lower"], atol=1e-9)
    assert down["variation"].tolist() == up["variation"].tolist()


@settings(max_examples=100, deadline=None)
@given(values)
def test_anhoej_crossings_count_side_changes(ys: list[int]) -> None:
    y = np.asarray(ys, dtype=float)
    r = anhoej(y, 0.0)
    side = np.sign(y[y != 0])
    if side.size == 0:
        assert r.n_useful == 0 and not r.signal
        return
    assert r.n_crossings == int(np.sum(side[1:] != side[:-1]))
    assert r.longest_run is not None and 1 <= r.longest_run <= side.size
