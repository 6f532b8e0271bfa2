"""Rambachan-Roth smoothness FLCI against the R package HonestDiD (README example: Medicaid
expansion and insurance coverage; numbers from its knitr cache, see
tests/reference/data/did_README.md and scripts/did_honestdid_readme.R).

HonestDiD simulates the folded-normal critical value (10^6 draws, seed 0); ours is exact, so
the bounds agree to about 3e-5 (0.1% of the interval lengths), not to machine precision."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.did import event_study
from impacteval.estimators.did.sensitivity import smoothness_flci

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "did_honestdid.json").read_text())
TOL = 5e-5


@pytest.fixture(scope="module")
def twfe() -> tuple[pd.DataFrame, np.ndarray]:
    """The README's TWFE event study (feols(dins ~ i(year, D, ref = 2013) | stfips + year,
    cluster = "stfips")); fixest's default small-sample factor (n-1)/(n-K), K = 7 event-time
    coefficients + 8 year effects, on top of our G/(G-1)."""
    d = pd.read_csv(DATA / "did_honestdid_ehec.csv")
    d["cohort"] = np.where(d["D"] == 1, 2014, 0)
    res = event_study(d, outcome="dins", unit="stfips", time="year", cohort="cohort")
    n = len(d)
    return res.coefficients, res.cov * (n - 1) / (n - 15)


def test_event_study_inputs_match_fixest(twfe: tuple[pd.DataFrame, np.ndarray]) -> None:
    """constructOriginalCS(l_vec = c(0.5, 0.5)) checks the coefficients and covariance."""
    coefs, cov = twfe
    c = coefs.dropna(subset=["std_error"]).reset_index(drop=True)
    post = (c["event_time"] >= 0).to_numpy()
    w = post / post.sum()
    est, se = float(w @ c["estimate"]), float(np.sqrt(w @ cov @ w))
    z = 1.959963984540054
    assert est - z * se == pytest.approx(REF["original_avg"]["lb"], abs=1e-10)
    assert est + z * se == pytest.approx(REF["original_avg"]["ub"], abs=1e-10)


def test_flci_delta_sd_matches_honestdid(twfe: tuple[pd.DataFrame, np.ndarray]) -> None:
    coefs, cov = twfe
    ref = REF["delta_sd"]
    got = smoothness_flci(coefs, cov, m=ref["m"])
    assert got.table["ci_lower"].to_numpy() == pytest.approx(ref["lb"], abs=TOL)
    assert got.table["ci_upper"].to_numpy() == pytest.approx(ref["ub"], abs=TOL)
    assert got.breakdown == pytest.approx(0.03)  # the README: "breakdown value M = 0.03"


def test_flci_on_honestdid_inputs_matches_printed_table() -> None:
    """HonestDiD's own betahat and sigma (the README's regression with a control)."""
    ref = REF["controls"]
    b = np.asarray(ref["betahat"])
    times = [-6, -5, -4, -3, -2, 0, 1]
    coefs = pd.DataFrame({"event_time": times, "estimate": b})
    got = smoothness_flci(coefs, np.asarray(ref["sigma"]), m=ref["printed_delta_sd"]["m"])
    # printed to 3 significant digits: half a unit of the last digit, plus our 3e-5
    def tol(x: float) -> float:
        return 0.5 * 10 ** (np.floor(np.log10(abs(x))) - 2) + 3e-5

    for col, key in (("ci_lower", "lb"), ("ci_upper", "ub")):
        for ours, printed in zip(got.table[col], ref["printed_delta_sd"][key], strict=True):
            assert ours == pytest.approx(printed, abs=tol(printed))
