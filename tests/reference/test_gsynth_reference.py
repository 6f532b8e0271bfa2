"""Generalised synthetic control against R gsynth 1.2.1 on its own data.

Numbers: ``tests/reference/data/gsynth_quick.json`` (deterministic: factors chosen by
cross-validation, the CV table, average ATT, ATT by period, covariate coefficients) and
``gsynth.json`` (also parametric-bootstrap SEs, 1000 draws) from
``tests/reference/scripts/gsynth_reference.R`` (source commit e4525ad of
github.com/xuyiqing/gsynth; MIT). Data: gsynth's ``simdata`` (simulated: 5 of 50 units
treated from period 21 of 30, two factors, true effects 1..10 over the post-period) and
``turnout`` (Election Day Registration and US state turnout 1920-2012, staggered adoption;
Xu 2017, section 6); see ``tests/reference/data/gsynth_README.md``.

The EM variant (``EM = TRUE``, Gobillon and Magnac 2016) is compared too (gsynth needs lfe
for its starting values: the script installs a stand-in, see its header).

The documented example (``?gsynth``; Xu 2017) gives r* = 2, average ATT 5.54 and
coefficients 1.022 and 3.053 on simdata; the turnout example r* = 2 and average ATT 4.90.

The bootstrap SE is a Monte Carlo estimate: ours (B draws) and R's (1000 draws, another
generator) are compared within three Monte Carlo standard errors of their difference
(an SD from B draws has relative SE about ``1 / sqrt(2 B)``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.synthetic import GeneralizedSyntheticControl

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "gsynth_quick.json").read_text())
REF_MC = json.loads((DATA / "gsynth.json").read_text())
SIM_ROLES = {"unit": "id", "time": "time", "outcome": "Y", "treatment": "D"}
TURNOUT_ROLES: dict[str, Any] = {"unit": "abb", "time": "year", "outcome": "turnout", "treatment": "policy_edr",
                 "covariates": ["policy_mail_in", "policy_motor"]}


@pytest.fixture(scope="module")
def simdata() -> pd.DataFrame:
    return pd.read_csv(DATA / "gsynth_simdata.csv")


@pytest.fixture(scope="module")
def turnout() -> pd.DataFrame:
    return pd.read_csv(DATA / "gsynth_turnout.csv")


def _agree(fit: Any, ref: dict[str, Any]) -> None:
    assert fit.r == ref["r_cv"]
    assert fit.att_avg == pytest.approx(ref["att_avg"], rel=1e-9)
    assert fit.sigma2 == pytest.approx(ref["sigma2"], rel=1e-9)
    # gsynth's ATT rows run from event time -min(T0) to the end of the panel (its labels are
    # calendar periods with simultaneous adoption, event time + 1 with staggered adoption)
    assert len(fit.att) == len(ref["att"])
    np.testing.assert_allclose(fit.att["att"].to_numpy(), ref["att"], rtol=1e-8, atol=1e-9)
    if "cv_mspe" in ref:
        assert fit.cv is not None
        assert fit.cv["r"].tolist() == ref["cv_r"]
        np.testing.assert_allclose(fit.cv["mspe"].to_numpy(), ref["cv_mspe"], rtol=1e-9)
        np.testing.assert_allclose(fit.cv["pc"].to_numpy(), ref["cv_pc"], rtol=1e-9)
    if "beta" in ref:
        np.testing.assert_allclose(list(fit.beta.values()), ref["beta"], rtol=1e-7)


def test_simdata_documented_example(simdata: pd.DataFrame) -> None:
    fit = GeneralizedSyntheticControl(force="two-way", inference="none").fit_details(
        simdata, covariates=["X1", "X2"], **SIM_ROLES)
    _agree(fit, REF["simdata_twoway_cv"])
    # the numbers printed in gsynth's documentation / Xu (2017)
    assert fit.r == 2
    assert round(fit.att_avg, 2) == 5.54
    assert [round(b, 3) for b in fit.beta.values()] == [1.022, 3.053]
    # simdata's event times: 20 pre-periods (-20..-1), 10 post-periods (0..9)
    assert fit.att["event_time"].tolist() == list(range(-20, 10))
    assert fit.att["n_treated"].tolist() == [0] * 20 + [5] * 10


@pytest.mark.parametrize("force", ["none", "unit", "time", "two-way"])
def test_simdata_each_force_without_covariates(simdata: pd.DataFrame, force: str) -> None:
    fit = GeneralizedSyntheticControl(force=force, inference="none").fit_details(  # type: ignore[arg-type]
        simdata, **SIM_ROLES)
    _agree(fit, REF[f"simdata_{force}_cv_nocov"])


def test_simdata_fixed_r_and_pc_criterion(simdata: pd.DataFrame) -> None:
    fixed = GeneralizedSyntheticControl(force="unit", r=1, inference="none").fit_details(
        simdata, covariates=["X1", "X2"], **SIM_ROLES)
    _agree(fixed, REF["simdata_unit_r1"])
    assert fixed.cv is None
    pc = GeneralizedSyntheticControl(force="two-way", criterion="pc", inference="none")
    _agree(pc.fit_details(simdata, covariates=["X1", "X2"], **SIM_ROLES), REF["simdata_pc"])


def test_turnout_staggered_adoption(turnout: pd.DataFrame) -> None:
    fit = GeneralizedSyntheticControl(force="two-way", inference="none").fit_details(
        turnout, **TURNOUT_ROLES)
    ref = REF["turnout_twoway_cv"]
    _agree(fit, ref)
    assert fit.n_treated == ref["n_treated"] and fit.n_control == ref["n_control"]
    assert round(fit.att_avg, 2) == 4.90
    # gsynth labels event times from 1 (first treated election); ours from 0
    assert fit.att["event_time"].tolist() == [int(v) - 1 for v in ref["att_label"]]


def test_em_fixed_r_simdata(simdata: pd.DataFrame) -> None:
    fit = GeneralizedSyntheticControl(force="two-way", r=2, em=True, inference="none"
                                      ).fit_details(simdata, **SIM_ROLES)
    _agree(fit, REF["simdata_em_twoway_r2_nocov"])


@pytest.mark.parametrize(("name", "data_fixture", "roles"), [
    ("simdata_em_twoway_cv", "simdata", {**SIM_ROLES, "covariates": ["X1", "X2"]}),
    ("turnout_em_twoway_cv", "turnout", TURNOUT_ROLES),
])
def test_em_cross_validated(request: pytest.FixtureRequest, name: str, data_fixture: str,
                            roles: dict[str, Any]) -> None:
    # EM stops at a relative change of 0.001 in the fitted values, so agreement to 1e-8
    # shows the same iterations from the same start (gsynth's additive fixed-effects fit)
    fit = GeneralizedSyntheticControl(force="two-way", em=True, inference="none").fit_details(
        request.getfixturevalue(data_fixture), **roles)
    _agree(fit, REF[name])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "data_fixture", "roles", "params"), [
    ("simdata", "simdata", {**SIM_ROLES, "covariates": ["X1", "X2"]}, {}),
    ("turnout", "turnout", TURNOUT_ROLES, {}),
    ("simdata_em", "simdata", {**SIM_ROLES, "covariates": ["X1", "X2"]}, {"em": True, "r": 2}),
])
def test_parametric_bootstrap_se_within_monte_carlo_error(
        request: pytest.FixtureRequest, name: str, data_fixture: str,
        roles: dict[str, Any], params: dict[str, Any]) -> None:
    b = 400
    data = request.getfixturevalue(data_fixture)
    fit = GeneralizedSyntheticControl(force="two-way", replications=b, seed=7,
                                      **params).fit_details(data, **roles)
    ref = REF_MC[f"{name}_parametric"]
    rel_mc = math.sqrt(1 / (2 * b) + 1 / (2 * ref["nboots"]))
    assert fit.std_error == pytest.approx(ref["se_avg"], rel=3 * rel_mc)
    ours = fit.att["std_error"].to_numpy()
    # per-period SEs: the mean relative difference (30 or 24 periods) is much more precise
    rel = np.abs(ours / np.asarray(ref["se_att"]) - 1)
    assert rel.mean() < 3 * rel_mc
