"""Goodman-Bacon decomposition: the weighted 2x2 estimates reproduce the TWFE coefficient."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from impacteval.estimators.did import TwoWayFixedEffects, bacon_decomposition

MPDTA = Path(__file__).parents[1] / "reference" / "data" / "did_mpdta.csv"


def _twfe(d: pd.DataFrame, y: str, u: str, t: str, g: str) -> float:
    d = d.assign(_D=((d[g] > 0) & (d[t] >= d[g])).astype(int))
    return TwoWayFixedEffects().fit(d, outcome=y, treatment="_D", unit=u, time=t).estimate


def test_mpdta_weights_sum_to_one_and_average_to_twfe() -> None:
    d = pd.read_csv(MPDTA)
    b = bacon_decomposition(d, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    assert b.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (b.comparisons["weight"] > 0).all()
    assert b.estimate == pytest.approx(_twfe(d, "lemp", "countyreal", "year", "first.treat"),
                                       abs=1e-12)
    # 3 cohorts + never treated: 3 treated-vs-never and 3 pairs x 2 timing comparisons
    assert b.comparisons["type"].value_counts().to_dict() == {
        "treated_vs_never": 3, "earlier_vs_later": 3, "later_vs_earlier": 3}
    # did's TWFE vignette reports -0.0365 for this regression
    assert b.estimate == pytest.approx(-0.0365, abs=5e-5)
    assert isinstance(b.plot(), Figure)


@pytest.mark.parametrize("seed", [1, 2])
def test_identity_with_always_treated_and_no_never_treated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, T = 90, 7
    cohort = rng.choice([1, 3, 5, 6], size=n)  # 1 = treated from the first period
    unit = np.repeat(np.arange(n), T)
    time = np.tile(np.arange(1, T + 1), n)
    g = np.repeat(cohort, T)
    y = rng.normal(size=n)[unit] + 0.3 * time + (time >= g) * (1 + 0.5 * (time - g)) + rng.normal(size=n * T)
    d = pd.DataFrame({"y": y, "u": unit, "t": time, "g": g})
    b = bacon_decomposition(d, outcome="y", unit="u", time="t", cohort="g")
    assert "treated_vs_never" not in set(b.comparisons["type"])
    assert b.estimate == pytest.approx(_twfe(d, "y", "u", "t", "g"), abs=1e-10)
