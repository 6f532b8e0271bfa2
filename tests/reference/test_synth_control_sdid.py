"""Synthetic difference-in-differences against R synthdid and Arkhangelsky et al. (2021).

Numbers: ``tests/reference/data/sc_synthdid_quick.json`` from
``tests/reference/scripts/sc_synthdid_reference.R --quick`` (R synthdid at commit 70c1ce3, on
its own ``california_prop99`` data; deterministic numbers), and the published estimates of Arkhangelsky, Athey, Hirshberg,
Imbens and Wager (2021, *AER* 111(12), Table 1): SDID -15.6, SC -19.6, DID -27.3.

The estimators are deterministic and must agree closely, and so must every placebo draw
(each control as the pseudo-treated unit). The placebo SE is a Monte Carlo estimate over B
draws; it is compared with its B -> infinity value (the SD over all 38 placebo draws) within
three Monte Carlo standard errors of an SD estimated from B draws.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.synthetic import SyntheticDiD
from impacteval.estimators.synthetic.panel import build_panel
from impacteval.estimators.synthetic.sdid import make_opts, placebo_estimate, sdid_estimate

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "sc_synthdid_quick.json").read_text())
#: R synthdid's Monte Carlo SEs (set.seed(20260101), 200 draws), from the full script run
REF_MC = json.loads((DATA / "sc_synthdid.json").read_text())
ROLES = {"unit": "State", "time": "Year", "outcome": "PacksPerCapita", "treatment": "treated"}
B = 40


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return pd.read_csv(DATA / "sc_california_prop99.csv", sep=";")


@pytest.fixture(scope="module")
def multi(prop99: pd.DataFrame) -> pd.DataFrame:
    last3 = sorted(prop99["State"].unique())[-3:]
    treated = prop99["State"].isin(["California", *last3]) & (prop99["Year"] >= 1989)
    return prop99.assign(treated=treated.astype(int))


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_prop99_estimates_match_synthdid_and_paper(prop99: pd.DataFrame, method: str) -> None:
    est = SyntheticDiD(method=method, se_method="none").fit(prop99, **ROLES)  # type: ignore[arg-type]
    assert est.estimate == pytest.approx(REF["prop99"][method], rel=1e-6)
    assert est.estimate == pytest.approx(REF["published"][method], abs=0.05)


def test_prop99_weights_match_synthdid(prop99: pd.DataFrame) -> None:
    fit = SyntheticDiD(se_method="none").fit_details(prop99, **ROLES)
    ref = REF["prop99"]
    units = ref["units"][: ref["N0"]]
    omega = fit.unit_weights.set_index("unit")["omega"].reindex(units).to_numpy()
    np.testing.assert_allclose(omega, ref["omega"], atol=1e-6)
    np.testing.assert_allclose(fit.time_weights["lambda"].to_numpy(), ref["lambda"], atol=1e-6)


def test_prop99_placebo_draws_match_synthdid(prop99: pd.DataFrame) -> None:
    # every control as the pseudo-treated unit: the 38 values the placebo SE samples from
    panel, _ = build_panel(prop99, where="test", **ROLES)
    n0, t0 = panel.n_control, panel.adoption[0]
    opts = make_opts(panel.y, n0, t0, "sdid", None, 1e-6, 10_000)
    _, w = sdid_estimate(panel.y, n0, t0, opts)
    ours = [placebo_estimate(panel.y, n0, t0, opts, w,
                             np.append(np.delete(np.arange(n0), j), j)) for j in range(n0)]
    np.testing.assert_allclose(ours, REF["prop99"]["placebo_each"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_prop99_placebo_se_within_monte_carlo_error(prop99: pd.DataFrame) -> None:
    draws = np.asarray(REF["prop99"]["placebo_each"])
    exact = draws.std()  # the placebo SE as B -> infinity (9.37; paper, B = 200: 8.4)
    kurtosis = ((draws - draws.mean()) ** 4).mean() / draws.var() ** 2
    tol = 3 * math.sqrt((kurtosis - 1) / (4 * B))  # SE of an SD estimate from B draws
    est = SyntheticDiD(se_method="placebo", replications=B, seed=7).fit(prop99, **ROLES)
    assert est.std_error == pytest.approx(exact, rel=tol)
    # R's own placebo SE from 200 draws (9.40) is within its Monte Carlo error of the same value
    assert REF_MC["prop99"]["se_placebo"] == pytest.approx(
        exact, rel=3 * math.sqrt((kurtosis - 1) / (4 * 200)))
    assert est.ci_lower < est.estimate < est.ci_upper


def test_multi_jackknife_se_matches_synthdid(multi: pd.DataFrame) -> None:
    est = SyntheticDiD(se_method="jackknife").fit(multi, **ROLES)
    assert est.estimate == pytest.approx(REF["multi"]["sdid"], rel=1e-6)
    assert est.std_error == pytest.approx(REF["multi"]["se_jackknife"], rel=1e-5)


@pytest.mark.slow
def test_multi_bootstrap_se_matches_synthdid(multi: pd.DataFrame) -> None:
    # R synthdid's bootstrap SE (200 draws): 6.81; both are Monte Carlo estimates, compared
    # within three SEs of an SD estimate (kurtosis up to 5 assumed, as the placebo draws')
    est = SyntheticDiD(se_method="bootstrap", replications=B, seed=11).fit(multi, **ROLES)
    tol = 3 * math.sqrt(4 / (4 * B) + 4 / (4 * 200))
    assert est.std_error == pytest.approx(REF_MC["multi"]["se_bootstrap"], rel=tol)
    # and the same order as the jackknife SE (8.60), which estimates the same sampling SD
    assert 0.5 < est.std_error / REF["multi"]["se_jackknife"] < 2.0
