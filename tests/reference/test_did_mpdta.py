"""Callaway and Sant'Anna on the did package's mpdta data.

Reference numbers: tests/reference/data/did_mpdta_differences.json from the PyPI package
``differences`` 0.3.0 (script tests/reference/scripts/did_mpdta_differences.py), and the
output printed in the R did package's README (did 2.5.1, outcome regression, never-treated
controls; 4 decimals).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from impacteval.estimators.did import CallawaySantAnna, dynamic_plot, group_time_plot

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "did_mpdta_differences.json").read_text())["cases"]
KINDS = ("simple", "group", "dynamic", "calendar")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "did_mpdta.csv")


def _estimator(key: str) -> tuple[CallawaySantAnna, list[str]]:
    method, control, cov, ant, *extra = key.split("|")
    est = CallawaySantAnna(est_method="ipw" if method == "std_ipw" else method,  # type: ignore[arg-type]
                           control_group=control,  # type: ignore[arg-type]
                           anticipation=int(ant[-1]),
                           base_period="universal" if "universal" in extra else "varying")
    return est, (["lpop"] if cov == "lpop" else []), "weighted" in extra


@pytest.mark.parametrize("key", sorted(CASES))
def test_group_time_atts_and_aggregations(mpdta: pd.DataFrame, key: str) -> None:
    ref = CASES[key]
    est, covs, weighted = _estimator(key)
    data = mpdta.assign(pop=np.exp(mpdta["lpop"]))  # as the script: population weights
    gt = est.estimate_cells(data, outcome="lemp", unit="countyreal", time="year",
                            cohort="first.treat", covariates=covs,
                            weights="pop" if weighted else None)
    want = pd.DataFrame(ref["att_gt"]).sort_values(["cohort", "time"]).reset_index(drop=True)
    got = gt.cells.sort_values(["cohort", "time"]).reset_index(drop=True)
    assert len(got) == len(want)
    np.testing.assert_array_equal(got["cohort"], want["cohort"])
    np.testing.assert_array_equal(got["time"], want["time"])
    np.testing.assert_array_equal(got["base_period"], want["base_period"])
    # logit/OLS by different code paths: agree to ~1e-12 (estimates), ~1e-7 (SEs, IPW/DR)
    np.testing.assert_allclose(got["att"], want["estimate"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(got["std_error"], want["std_error"], rtol=1e-6)
    for kind in KINDS:
        agg = gt.aggregate(kind)
        overall = ref[kind][0] if kind == "simple" else ref[f"{kind}_overall"][0]
        assert agg.estimate == pytest.approx(overall["estimate"], rel=1e-9, abs=1e-11)
        assert agg.std_error == pytest.approx(overall["std_error"], rel=1e-6)
        if kind != "simple":
            tab = pd.DataFrame(ref[kind])
            np.testing.assert_allclose(agg.table["label"], tab[kind])
            np.testing.assert_allclose(agg.table["estimate"], tab["estimate"], rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(agg.table["std_error"], tab["std_error"], rtol=1e-6)


# did 2.5.1 README (att_gt(est_method = "reg"), never-treated): ATT(g,t) to 4 decimals
README_ATT_GT = {
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
    (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
    (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}


def test_did_readme_output(mpdta: pd.DataFrame) -> None:
    est = CallawaySantAnna(est_method="reg").fit(
        mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat"
    )
    cells = pd.DataFrame(est.details["group_time"]).set_index(["cohort", "time"])["att"]
    for key, value in README_ATT_GT.items():
        assert cells[key] == pytest.approx(value, abs=5e-5)
    aggs = est.details["aggregations"]
    assert aggs["group"]["estimate"] == pytest.approx(-0.031, abs=5e-4)  # README: -0.031
    assert est.estimate == aggs["group"]["estimate"]
    assert aggs["dynamic"]["estimate"] == pytest.approx(-0.0772, abs=5e-5)  # README: -0.0772
    dyn = pd.DataFrame(aggs["dynamic"]["table"]).set_index("label")["estimate"]
    for e, v in {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373,
                 3: -0.1008}.items():
        assert dyn[e] == pytest.approx(v, abs=5e-5)
    # README: "P-value for pre-test of parallel trends assumption: 0.16812" (analytic V)
    assert est.details["pretrend_wald"]["p_value"] == pytest.approx(0.16812, abs=5e-6)
    assert est.details["pretrend_wald"]["df"] == 5
    # the same test from the universal base period (a full-rank recombination of the cells)
    uni = CallawaySantAnna(est_method="reg", base_period="universal").fit(
        mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    assert uni.details["pretrend_wald"]["p_value"] == pytest.approx(0.16812, abs=5e-6)
    assert (est.n_treated, est.n_control) == (191, 309)


def test_multiplier_bootstrap_close_to_analytic(mpdta: pd.DataFrame) -> None:
    est = CallawaySantAnna(est_method="reg", n_boot=999, seed=1).fit(
        mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat"
    )
    cells = pd.DataFrame(est.details["group_time"])
    # bootstrap SE of an SE from 999 IQR-based draws: about 4 % relative; allow 20 %
    np.testing.assert_allclose(cells["bootstrap_se"], cells["std_error"], rtol=0.2)
    # uniform band over 12 cells: between the pointwise 1.96 and Bonferroni's 2.87
    # (README's band: critical value about 2.6-2.7)
    assert 1.96 < est.details["critical_value"] < 2.87
    assert (cells["band_upper"] - cells["band_lower"] > cells["ci_upper"] - cells["ci_lower"]).all()
    dyn = est.details["aggregations"]["dynamic"]["table"]
    assert {"band_lower", "band_upper"} <= set(dyn.columns)
    assert isinstance(dynamic_plot(dyn), Figure)
    assert isinstance(group_time_plot(cells), Figure)
