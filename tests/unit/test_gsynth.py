"""Generalised synthetic control: parameters, identification errors, warnings, building blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.synthetic import GeneralizedSyntheticControl, SyntheticControlWarning
from impacteval.estimators.synthetic.generalized import _loo_errors, inter_fe
from impacteval.exceptions import ConfigError, DesignError, SchemaError

ROLES = {"unit": "unit", "time": "t", "outcome": "y", "treatment": "d"}


def panel(n_co: int = 20, n_tr: int = 1, t_all: int = 20, adoption: tuple[int, ...] = (12,),
          seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_co + n_tr
    f = rng.normal(size=(t_all, 1))
    y = rng.normal(size=(n, 1)) @ f.T + rng.normal(size=n)[:, None] \
        + 0.3 * rng.normal(size=(n, t_all))
    d = np.zeros((n, t_all), dtype=int)
    for k in range(n_tr):
        d[n_co + k, adoption[k % len(adoption)]:] = 1
    y = y + 2.0 * d
    return pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(n)], t_all),
                         "t": np.tile(np.arange(t_all), n), "y": y.ravel(), "d": d.ravel(),
                         "x": rng.normal(size=n * t_all)})


@pytest.mark.parametrize(("params", "where"), [
    ({"force": "both"}, "force"),
    ({"r": -1}, "r"),
    ({"r_range": (3, 1)}, "r_range"),
    ({"r_range": (0,)}, "r_range"),
    ({"criterion": "bic"}, "criterion"),
    ({"inference": "jackknife"}, "inference"),
    ({"replications": 1}, "replications"),
    ({"level": 1.5}, "level"),
    ({"min_pre_periods": 0}, "min_pre_periods"),
    ({"tol": 0.0}, "tol"),
    ({"em": "yes"}, "em"),
])
def test_bad_parameters_name_the_key(params: dict, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        GeneralizedSyntheticControl(**params)
    assert err.value.where == f"generalized_synthetic_control.{where}"


def test_pre_period_too_short_for_the_cv_range() -> None:
    # force="unit", r up to 5: cross-validation needs 5 + 1 + 1 = 7 pre-periods
    with pytest.raises(DesignError, match="needs at least 7 pre-treatment periods") as err:
        GeneralizedSyntheticControl(inference="none").fit(panel(adoption=(6,)), **ROLES)
    assert err.value.where == "generalized_synthetic_control.r_range"
    est = GeneralizedSyntheticControl(inference="none", r_range=(0, 3)).fit(
        panel(adoption=(6,)), **ROLES)
    assert np.isfinite(est.estimate)


def test_fixed_r_needs_r_plus_one_pre_periods_with_unit_effects() -> None:
    with pytest.raises(DesignError, match="r = 5") as err:
        GeneralizedSyntheticControl(r=5, inference="none").fit(panel(adoption=(5,)), **ROLES)
    assert err.value.where == "generalized_synthetic_control.r"
    est = GeneralizedSyntheticControl(r=5, force="none", inference="none").fit(
        panel(adoption=(5,)), **ROLES)
    assert est.details["r"] == 5


def test_too_few_controls_for_the_factors() -> None:
    with pytest.raises(DesignError, match="control units"):
        GeneralizedSyntheticControl(r=4, inference="none").fit(panel(n_co=4), **ROLES)
    with pytest.warns(SyntheticControlWarning, match="only 6 control units"):
        GeneralizedSyntheticControl(r_range=(0, 2), inference="none").fit(panel(n_co=6),
                                                                           **ROLES)


def test_short_pre_period_treated_units_are_dropped_with_a_warning() -> None:
    df = panel(n_tr=3, adoption=(12, 12, 3))
    with pytest.warns(SyntheticControlWarning, match="1 treated unit"):
        fit = GeneralizedSyntheticControl(inference="none").fit_details(df, **ROLES)
    assert fit.n_treated == 2 and fit.n_dropped_treated == 1
    with pytest.raises(DesignError, match="every treated unit"):
        GeneralizedSyntheticControl(inference="none", min_pre_periods=13).fit(df, **ROLES)


def test_nonparametric_bootstrap_needs_several_treated_units() -> None:
    with pytest.raises(DesignError, match="several treated units") as err:
        GeneralizedSyntheticControl(inference="nonparametric").fit(panel(), **ROLES)
    assert err.value.where == "generalized_synthetic_control.inference"


def test_covariate_errors_name_the_column() -> None:
    df = panel()
    bad = df.assign(x=df["x"].where(df.index != 5))
    with pytest.raises(SchemaError, match="missing") as err:
        GeneralizedSyntheticControl(inference="none").fit(bad, covariates=["x"], **ROLES)
    assert err.value.where == "generalized_synthetic_control.x"
    still = df.assign(x=df["unit"].str[1:].astype(float))
    with pytest.raises(DesignError, match="does not change over time"):
        GeneralizedSyntheticControl(inference="none").fit(still, covariates=["x"], **ROLES)
    with pytest.raises(SchemaError, match="missing column"):
        GeneralizedSyntheticControl(inference="none").fit(df, covariates=["nope"], **ROLES)


def test_inter_fe_recovers_beta_and_factors_without_noise() -> None:
    rng = np.random.default_rng(1)
    t_all, n = 25, 30
    f = rng.normal(size=(t_all, 2))
    lam = rng.normal(size=(n, 2))
    x = rng.normal(size=(t_all, n, 1)) + 0.5 * (f @ lam.T)[:, :, None]  # correlated with F L'
    y = 1.5 * x[:, :, 0] + f @ lam.T + rng.normal(size=n)[None, :] + 4.0
    fit = inter_fe(y, x, 2, 1, None, 1e-10)
    assert fit.beta[0] == pytest.approx(1.5, abs=1e-6)
    assert np.abs(fit.residuals).max() < 1e-6
    np.testing.assert_allclose(fit.factor.T @ fit.factor / t_all, np.eye(2), atol=1e-10)


def test_closed_form_leave_one_out_equals_refitting() -> None:
    rng = np.random.default_rng(2)
    z = np.column_stack([rng.normal(size=(15, 2)), np.ones(15)])
    u = rng.normal(size=(15, 3))
    t0s = np.array([10, 10, 12])
    total, count = _loo_errors(u, z, t0s)
    brute, n = 0.0, 0
    for j, t0 in enumerate(t0s):
        for lv in range(t0):
            keep = [t for t in range(t0) if t != lv]
            lam = np.linalg.lstsq(z[keep], u[keep, j], rcond=None)[0]
            brute += float((u[lv, j] - z[lv] @ lam) ** 2)
            n += 1
    assert count == n
    assert total == pytest.approx(brute, rel=1e-10)


def test_same_seed_same_answer_and_event_time_table() -> None:
    df = panel(n_tr=4, adoption=(10, 12))
    a = GeneralizedSyntheticControl(replications=20, seed=5).fit(df, **ROLES)
    b = GeneralizedSyntheticControl(replications=20, seed=5).fit(df, **ROLES)
    c = GeneralizedSyntheticControl(replications=20, seed=6).fit(df, **ROLES)
    assert a.to_dict() == b.to_dict()
    assert a.std_error != c.std_error
    att = a.details["att_by_event_time"]
    assert att["event_time"].min() == -10 and att["event_time"].max() == 9
    # post-period counts: 4 units at event times 0..7, 2 units (adopting at 10) at 8..9
    post = att.set_index("event_time")["n_treated"]
    assert post.loc[0:7].eq(4).all() and post.loc[8:9].eq(2).all()
    assert a.details["staggered"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntheticControlWarning)
        GeneralizedSyntheticControl(inference="none").fit(df, **ROLES)


def test_em_variant_runs_with_both_bootstraps_and_is_labelled() -> None:
    df = panel(n_tr=4, adoption=(10, 12))
    par = GeneralizedSyntheticControl(em=True, r=1, replications=20).fit(df, **ROLES)
    npar = GeneralizedSyntheticControl(em=True, r=1, replications=20,
                                       inference="nonparametric")
    with pytest.warns(SyntheticControlWarning, match="fewer|< 40"):
        nonpar = npar.fit(df, **ROLES)
    assert par.estimator == "generalized_synthetic_control:em" and par.details["em"] is True
    for e in (par, nonpar):
        assert e.ci_lower < 2.0 < e.ci_upper  # the simulated effect
