"""Properties of the DiD estimators (hypothesis).

* Parallel-trends invariance: adding any unit-specific constant and any common period shock to
  the outcome leaves every ATT(g,t), 2x2 and TWFE estimate and standard error unchanged.
* Shifting the outcome of cohort-g units from period g on by c adds c to every post-treatment
  ATT(g,t) of that cohort (never-treated comparison).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from impacteval.estimators.did import CallawaySantAnna, DifferenceInDifferences


def _panel(seed: int, n: int = 80, T: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 3, 4], size=n)
    cohort[:3] = [0, 3, 4]
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n), T), "time": np.tile(np.arange(1, T + 1), n),
        "cohort": np.repeat(cohort, T), "x": np.repeat(rng.normal(size=n), T),
        "y": rng.normal(size=n * T),
    })


ROLES = dict(outcome="y", unit="unit", time="time", cohort="cohort")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), unit_shift=st.floats(-50, 50), shock=st.floats(-50, 50),
       method=st.sampled_from(["reg", "ipw", "dr"]))
def test_invariant_to_unit_and_period_effects(seed: int, unit_shift: float, shock: float,
                                              method: str) -> None:
    d = _panel(seed)
    shifted = d.assign(y=d["y"] + unit_shift * (d["unit"] % 7) + shock * d["time"] ** 2)
    est = CallawaySantAnna(est_method=method)  # type: ignore[arg-type]
    a = est.estimate_cells(d, covariates=["x"], **ROLES).cells
    b = est.estimate_cells(shifted, covariates=["x"], **ROLES).cells
    np.testing.assert_allclose(b["att"], a["att"], atol=1e-8)
    np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=1e-6, atol=1e-10)
    two = d[d["time"].isin([2, 3])].assign(treated=lambda f: (f["cohort"] == 3).astype(int),
                                          post=lambda f: (f["time"] == 3).astype(int))
    two_s = two.assign(y=two["y"] + unit_shift * (two["unit"] % 7) + shock * two["time"] ** 2)
    kw = dict(outcome="y", treated="treated", post="post", clusters="unit")
    r1 = DifferenceInDifferences().fit(two[two["cohort"] != 4], **kw)
    r2 = DifferenceInDifferences().fit(two_s[two_s["cohort"] != 4], **kw)
    assert abs(r1.estimate - r2.estimate) < 1e-8
    assert abs(r1.std_error - r2.std_error) < 1e-8


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), effect=st.floats(-10, 10))
def test_effect_added_to_one_cohort_shifts_its_post_cells(seed: int, effect: float) -> None:
    d = _panel(seed)
    bumped = d.assign(y=d["y"] + effect * ((d["cohort"] == 3) & (d["time"] >= 3)))
    est = CallawaySantAnna(est_method="reg")
    a = est.estimate_cells(d, **ROLES).cells
    b = est.estimate_cells(bumped, **ROLES).cells
    hit = ((a["cohort"] == 3) & a["post"]).to_numpy()
    np.testing.assert_allclose(b["att"].to_numpy()[hit], a["att"].to_numpy()[hit] + effect,
                               atol=1e-8)
    np.testing.assert_allclose(b["att"].to_numpy()[~hit], a["att"].to_numpy()[~hit], atol=1e-8)
