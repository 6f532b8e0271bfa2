"""Event studies on mpdta (TWFE leads/lags and Sun-Abraham) against pyfixest.

Numbers: tests/reference/data/did_event_study_pyfixest.json from
tests/reference/scripts/did_event_study_pyfixest.py (pyfixest 0.60.0 feols, CRV1 with
ssc(k_adj=False)).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from impacteval.estimators.did import CallawaySantAnna, EventStudy, event_study

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "did_event_study_pyfixest.json").read_text())


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "did_mpdta.csv")


@pytest.mark.parametrize(("case", "method", "window"), [
    ("twfe", "twfe", None), ("twfe_window", "twfe", (-2, 2)), ("sun_abraham", "sun_abraham", None),
])
def test_coefficients_and_clustered_se(mpdta: pd.DataFrame, case: str, method: str,
                                       window: tuple[int, int] | None) -> None:
    res = event_study(mpdta, outcome="lemp", unit="countyreal", time="year",
                      cohort="first.treat", method=method, window=window)  # type: ignore[arg-type]
    c = res.coefficients.dropna(subset=["std_error"])
    ref = REF[case]
    np.testing.assert_array_equal(c["event_time"], ref["event_time"])
    np.testing.assert_allclose(c["estimate"], ref["estimate"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(c["std_error"], ref["std_error"], rtol=1e-7)
    row = res.coefficients.set_index("event_time").loc[-1]
    assert row["estimate"] == 0 and np.isnan(row["std_error"])


def test_sun_abraham_post_equals_callaway_santanna_never_treated(mpdta: pd.DataFrame) -> None:
    # Without covariates both are cohort-share weighted means of the same 2x2 comparisons
    # against the never-treated with base period g - 1 (Sun and Abraham 2021, section 4).
    sa = event_study(mpdta, outcome="lemp", unit="countyreal", time="year",
                     cohort="first.treat", method="sun_abraham").coefficients
    cs = CallawaySantAnna(est_method="reg").estimate_cells(
        mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat"
    ).aggregate("dynamic").table
    post_sa = sa[sa["event_time"] >= 0].set_index("event_time")["estimate"]
    post_cs = cs[cs["label"] >= 0].set_index("label")["estimate"]
    np.testing.assert_allclose(post_sa.to_numpy(), post_cs.to_numpy(), rtol=1e-10)


def test_estimator_plot_and_pretrend(mpdta: pd.DataFrame) -> None:
    est = EventStudy(method="twfe").fit(mpdta, outcome="lemp", unit="countyreal", time="year",
                                        cohort="first.treat")
    table = pd.DataFrame(est.details["event_study"])
    post = table[table["event_time"] >= 0]["estimate"]
    assert est.estimate == pytest.approx(post.mean())
    wald = est.details["pretrend_wald"]
    assert wald["df"] == 3 and 0 < wald["p_value"] < 1
    res = event_study(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    assert isinstance(res.plot(), Figure)
    # counts behind the figure (for disclosure control): 191 treated counties at e = 0
    assert int(res.coefficients.set_index("event_time").loc[0, "n_units"]) == 191
