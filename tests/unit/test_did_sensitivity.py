"""Rambachan-Roth relative-magnitude identified sets: closed form against a linear program."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from impacteval.estimators.did import event_study
from impacteval.estimators.did.sensitivity import relative_magnitude_bounds
from impacteval.exceptions import ConfigError, DesignError


def _lp_bounds(pre: np.ndarray, post: np.ndarray, weights: np.ndarray,
               m_bar: float) -> tuple[float, float]:
    """Identified set by brute force: optimise l'delta_post over the Delta^RM polytope."""
    E = post.size
    S = np.max(np.abs(np.diff(np.append(pre, 0.0))))
    # variables delta_0..delta_{E-1}; constraints |delta_j - delta_{j-1}| <= Mbar S, delta_{-1} = 0
    A, b = [], []
    for j in range(E):
        row = np.zeros(E)
        row[j] = 1
        if j > 0:
            row[j - 1] = -1
        A += [row, -row]
        b += [m_bar * S, m_bar * S]
    lo = linprog(weights, A_ub=np.array(A), b_ub=np.array(b), bounds=[(None, None)] * E)
    hi = linprog(-weights, A_ub=np.array(A), b_ub=np.array(b), bounds=[(None, None)] * E)
    theta = float(weights @ post)
    return theta - (-hi.fun), theta - lo.fun


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("target", [None, 1])
def test_closed_form_matches_linear_program(seed: int, target: int | None) -> None:
    rng = np.random.default_rng(seed)
    pre = rng.normal(scale=0.3, size=3)  # event times -4, -3, -2
    post = rng.normal(size=4)  # 0..3
    table = pd.DataFrame({"event_time": [-4, -3, -2, -1, 0, 1, 2, 3],
                          "estimate": [*pre, 0.0, *post]})
    res = relative_magnitude_bounds(table, m_bar=[0.0, 0.7, 2.0], target=target)
    w = np.full(4, 0.25) if target is None else np.eye(4)[target]
    for _, row in res.table.iterrows():
        lo, hi = _lp_bounds(pre, post, w, row["m_bar"])
        assert row["lower"] == pytest.approx(lo, abs=1e-8)
        assert row["upper"] == pytest.approx(hi, abs=1e-8)
    assert res.table.loc[0, "lower"] == pytest.approx(w @ post)  # Mbar = 0: parallel trends


def test_breakdown_value() -> None:
    # pre changes: 0.1 -> 0.3 (0.2), 0.3 -> 0 (0.3): S = 0.3; one post period 0.6
    table = pd.DataFrame({"event_time": [-3, -2, -1, 0], "estimate": [0.1, 0.3, 0.0, 0.6]})
    res = relative_magnitude_bounds(table, m_bar=[1.0, 2.0, 3.0])
    assert res.max_pre_change == pytest.approx(0.3)
    assert res.breakdown == pytest.approx(2.0)
    assert res.table["lower"].tolist() == pytest.approx([0.3, 0.0, -0.3])


def test_event_study_input_and_errors() -> None:
    mpdta = pd.read_csv(Path(__file__).parents[1] / "reference" / "data" / "did_mpdta.csv")
    es = event_study(mpdta, outcome="lemp", unit="countyreal", time="year",
                     cohort="first.treat", method="sun_abraham")
    res = relative_magnitude_bounds(es.coefficients)
    assert res.estimate == pytest.approx(
        es.coefficients.query("event_time >= 0")["estimate"].mean())
    assert (res.table["upper"] - res.table["lower"]).is_monotonic_increasing
    with pytest.raises(DesignError):
        relative_magnitude_bounds(pd.DataFrame({"event_time": [-1, 0], "estimate": [0.0, 1.0]}))
    with pytest.raises(ConfigError):
        relative_magnitude_bounds(pd.DataFrame({"event_time": [-3, -1, 0],
                                                "estimate": [0.1, 0.0, 1.0]}))
    with pytest.raises(ConfigError):
        relative_magnitude_bounds(pd.DataFrame({"event_time": [-2, -1, 0],
                                                "estimate": [0.1, 0.5, 1.0]}))
