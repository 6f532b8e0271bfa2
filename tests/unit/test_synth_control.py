"""Unit tests of the synthetic control family (small simulated panels; fast)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.optimize import minimize

from impacteval.estimators.base import ESTIMATORS
from impacteval.estimators.synthetic import (
    Predictor,
    SyntheticControl,
    SyntheticControlWarning,
    SyntheticDiD,
    frank_wolfe_simplex,
    permutation_p_value,
    simplex_least_squares,
)
from impacteval.estimators.synthetic.plots import gap_plot, trajectory_plot, weights_plot
from impacteval.estimators.synthetic.robustness import in_time_placebo, leave_one_out
from impacteval.exceptions import ConfigError, DesignError, SchemaError

ROLES = {"unit": "area", "time": "month", "outcome": "y", "treatment": "d"}


def panel(seed: int = 0, n_units: int = 8, n_times: int = 24, start: int = 18,
          effect: float = 2.0, noise: float = 0.1) -> pd.DataFrame:
    """Factor-model panel; unit 0 is a mix of units 1 and 2, treated from ``start``."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n_times, 2)).cumsum(axis=0)
    load = rng.uniform(0.5, 1.5, size=(n_units, 2))
    load[0] = 0.6 * load[1] + 0.4 * load[2]
    y = load @ f.T + rng.normal(0, noise, size=(n_units, n_times))
    d = np.zeros_like(y)
    d[0, start:] = 1
    y = y + effect * d
    return pd.DataFrame({"area": np.repeat([f"a{i:02d}" for i in range(n_units)], n_times),
                         "month": np.tile(np.arange(n_times), n_units),
                         "y": y.ravel(), "d": d.ravel().astype(int),
                         "x": np.repeat(load[:, 0], n_times)})


def test_registered() -> None:
    assert ESTIMATORS.get("synthetic_control") is SyntheticControl
    assert ESTIMATORS.get("synthetic_did") is SyntheticDiD


def test_simplex_least_squares_matches_slsqp() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(10, 25))
    b = a @ rng.dirichlet(np.full(25, 0.3)) + rng.normal(0, 0.5, 10)
    w = simplex_least_squares(a, b)
    ref = minimize(lambda x: np.sum((a @ x - b) ** 2), np.full(25, 0.04), method="SLSQP",
                   bounds=[(0, 1)] * 25,
                   constraints={"type": "eq", "fun": lambda x: x.sum() - 1},
                   options={"ftol": 1e-14, "maxiter": 1000})
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.sum((a @ w - b) ** 2) <= np.sum((a @ ref.x - b) ** 2) + 1e-9


def test_frank_wolfe_converges_to_ridge_simplex_optimum() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=(30, 6))
    zeta = 0.3
    w = frank_wolfe_simplex(y, zeta, intercept=False, min_decrease=1e-9, max_iter=20000)
    a, b = y[:, :5], y[:, 5]

    def obj(x: np.ndarray) -> float:
        return zeta**2 * x @ x + np.sum((a @ x - b) ** 2) / 30

    ref = minimize(obj, np.full(5, 0.2), method="SLSQP", bounds=[(0, 1)] * 5,
                   constraints={"type": "eq", "fun": lambda x: x.sum() - 1},
                   options={"ftol": 1e-15})
    # plain Frank-Wolfe converges sublinearly near a face of the simplex (as in R synthdid)
    assert obj(w) == pytest.approx(ref.fun, rel=1e-4)
    assert obj(w) >= ref.fun - 1e-9


def test_permutation_p_value() -> None:
    # (1 + 2 placebos at or above 3.0) / (1 + 4 placebos)
    assert permutation_p_value([1.0, 3.0, 5.0, 2.0], 3.0) == pytest.approx(3 / 5)


def test_recovers_effect_and_weights_on_noise_free_mixture() -> None:
    df = panel(noise=0.0)
    res = SyntheticControl(placebos=False).fit_details(df, **ROLES)
    assert res.att == pytest.approx(2.0, abs=1e-4)
    assert res.weights["a01"] == pytest.approx(0.6, abs=1e-3)
    assert res.weights["a02"] == pytest.approx(0.4, abs=1e-3)
    assert res.weights.sum() == pytest.approx(1.0)


def test_fit_is_pure_and_gives_effect_estimate() -> None:
    df = panel()
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        est = SyntheticControl(predictors=(Predictor(variable="y", periods=(15, 16, 17)),
                                           Predictor(variable="x")),
                               n_random_starts=0).fit(df, **ROLES)
    pd.testing.assert_frame_equal(df, before)
    assert est.design == "synthetic_control" and est.scale == "difference"
    assert 0 < est.p_value <= 1
    assert est.details["n_placebos"] == 7
    assert set(est.details["v"]) == {"y[15-17]", "x[0-17]"}
    assert est.to_dict()["std_error"] is None


def test_placebo_p_value_is_smallest_for_a_large_effect() -> None:
    df = panel(effect=20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        res = SyntheticControl().fit_details(df, **ROLES)
    assert res.placebos is not None
    assert res.placebos.p_value == pytest.approx(1 / 8)
    assert len(res.placebos.gaps) == 8 * 24


def test_warnings_few_donors_and_outside_hull() -> None:
    df = panel()
    df.loc[df["area"] == "a00", "y"] += 50.0  # far above every donor
    with pytest.warns(SyntheticControlWarning) as record:
        SyntheticControl().fit(df, **ROLES)
    text = " ".join(str(r.message) for r in record)
    assert "outside the donors' range" in text
    assert "poor pre-period fit" in text
    assert "smallest attainable permutation p-value" in text


def test_errors() -> None:
    df = panel()
    with pytest.raises(SchemaError, match="missing column"):
        SyntheticControl().fit(df.drop(columns="d"), **ROLES)
    two = df.assign(d=np.where(df["area"].isin(["a00", "a01"]) & (df["month"] >= 18), 1, 0))
    with pytest.raises(DesignError, match="one treated unit"):
        SyntheticControl().fit(two, **ROLES)
    with pytest.raises(DesignError, match="pre-treatment"):
        SyntheticControl().fit(df.assign(d=np.where((df["area"] == "a00") & (df["month"] >= 1),
                                                    1, 0)), **ROLES)
    with pytest.raises(DesignError, match="no unit is ever treated"):
        SyntheticControl().fit(df.assign(d=0), **ROLES)
    with pytest.raises(DesignError, match="switches"):
        SyntheticControl().fit(df.assign(d=np.where((df["area"] == "a00")
                                                    & (df["month"] == 20), 1, 0)), **ROLES)
    with pytest.raises(SchemaError, match="duplicate"):
        SyntheticControl().fit(pd.concat([df, df.head(1)]), **ROLES)
    with pytest.raises(ConfigError, match="v needs one weight"):
        SyntheticControl(v=(1.0,))
    with pytest.raises(ConfigError, match="v_search"):
        SyntheticControl(v_search="global")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="se_method"):
        SyntheticDiD(se_method="delta")  # type: ignore[arg-type]


def test_error_messages_hold_no_unit_labels() -> None:
    df = panel()
    df.loc[(df["area"] == "a00") & (df["month"] == 3), "y"] = np.nan
    with pytest.raises(SchemaError) as exc:
        SyntheticControl().fit(df, **ROLES)
    assert "a00" not in str(exc.value)


def test_donor_with_missing_outcome_is_dropped() -> None:
    df = panel()
    df.loc[(df["area"] == "a05") & (df["month"] == 3), "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        res = SyntheticControl(placebos=False).fit_details(df, **ROLES)
    assert res.n_donors_dropped == 1 and "a05" not in res.weights.index


def test_in_time_placebo_and_leave_one_out() -> None:
    df = panel(noise=0.0)
    est = SyntheticControl(placebos=False)
    fit = est.fit_details(df, **ROLES)
    itp = in_time_placebo(est, df, placebo_time=12, **ROLES)
    assert str(itp.treatment_time) == "12" and len(itp.path) == 18
    assert abs(itp.att) < 1e-3  # no effect before the real start
    loo = leave_one_out(est, fit, df, **ROLES)
    assert set(loo["left_out"]) == {"a01", "a02"}
    assert loo.groupby("left_out")["att"].first().notna().all()


def test_plots_return_figures_and_data() -> None:
    df = panel(effect=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        fit = SyntheticControl().fit_details(df, **ROLES)
    for fig, data in (trajectory_plot(fit), gap_plot(fit), weights_plot(fit)):
        assert isinstance(fig, Figure) and len(data) > 0
    assert set(gap_plot(fit)[1]["unit"]) == set(df["area"])


def test_sdid_did_equals_double_difference() -> None:
    df = panel()
    est = SyntheticDiD(method="did", se_method="none").fit(df, **ROLES)
    y = df.pivot(index="area", columns="month", values="y").to_numpy()
    dd = (y[0, 18:].mean() - y[0, :18].mean()) - (y[1:, 18:].mean() - y[1:, :18].mean())
    assert est.estimate == pytest.approx(dd, abs=1e-10)


def test_sdid_staggered_aggregates_cohorts() -> None:
    df = panel(n_units=12, noise=0.05)
    df["d"] = np.where((df["area"] == "a00") & (df["month"] >= 18), 1,
                       np.where((df["area"] == "a03") & (df["month"] >= 14), 1, 0))
    df.loc[(df["area"] == "a03") & (df["month"] >= 14), "y"] += 2.0
    fit = SyntheticDiD(se_method="none").fit_details(df, **ROLES)
    assert list(fit.cohorts["n_post_periods"]) == [10, 6]
    w = np.array([10, 6]) / 16
    assert fit.estimate == pytest.approx(float(w @ fit.cohorts["estimate"]))
    with pytest.raises(DesignError, match="bootstrap"):
        SyntheticDiD(se_method="placebo").fit(df, **ROLES)
    est = SyntheticDiD(se_method="bootstrap", replications=20).fit(df, **ROLES)
    assert est.std_error > 0 and est.details["staggered"]


def test_sdid_se_identification_errors() -> None:
    df = panel()
    with pytest.raises(DesignError, match="jackknife"):
        SyntheticDiD(se_method="jackknife").fit(df, **ROLES)
    with pytest.raises(DesignError, match="bootstrap"):
        SyntheticDiD(se_method="bootstrap").fit(df, **ROLES)
