"""Difference-in-differences estimators: inputs, errors, purity and small exact cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.base import ESTIMATORS
from impacteval.estimators.did import (
    CallawaySantAnna,
    DifferenceInDifferences,
    EventStudy,
    PoissonDiD,
    TwoWayFixedEffects,
    multiplier_bootstrap,
    wide_panel,
)
from impacteval.exceptions import ConfigError, DesignError, EstimationError, SchemaError

MPDTA = Path(__file__).parents[1] / "reference" / "data" / "did_mpdta.csv"
CS_ROLES = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


def _two_by_two(seed: int = 0, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), 2)
    treated = (unit < n // 2).astype(int)
    post = np.tile([0, 1], n)
    y = rng.normal(size=n)[unit] + post + 2.0 * treated * post + rng.normal(size=2 * n)
    return pd.DataFrame({"unit": [f"secret-{u}" for u in unit], "treated": treated,
                         "post": post, "y": y, "events": rng.poisson(5, 2 * n),
                         "py": rng.uniform(0.5, 1.5, 2 * n)})


def test_registered_names() -> None:
    for name in ("did_2x2", "did_twfe", "did_callaway_santanna", "did_poisson",
                 "did_event_study"):
        assert name in ESTIMATORS


def test_means_and_regression_agree_and_recover_the_cell_contrast() -> None:
    d = _two_by_two()
    reg = DifferenceInDifferences().fit(d, outcome="y", treated="treated", post="post",
                                        clusters="unit", unit="unit")
    means = DifferenceInDifferences(method="means").fit(d, outcome="y", treated="treated",
                                                        post="post", clusters="unit")
    m = d.groupby(["treated", "post"])["y"].mean()
    contrast = (m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0])
    assert reg.estimate == pytest.approx(contrast, abs=1e-12)
    assert means.estimate == pytest.approx(contrast, abs=1e-12)
    assert means.std_error == reg.std_error
    assert (reg.n_treated, reg.n_control) == (30, 30)


@pytest.mark.parametrize("make", [
    lambda d: DifferenceInDifferences().fit(d, outcome="y", treated="treated", post="post",
                                            clusters="unit"),
    lambda d: PoissonDiD().fit(d, outcome="events", exposure="py", treated="treated",
                               post="post", unit="unit"),
])
def test_fit_does_not_mutate_input(make) -> None:  # type: ignore[no-untyped-def]
    d = _two_by_two()
    before = d.copy()
    make(d)
    pd.testing.assert_frame_equal(d, before)


def test_cs_and_event_study_do_not_mutate(mpdta: pd.DataFrame) -> None:
    before = mpdta.copy()
    CallawaySantAnna(est_method="dr").fit(mpdta, covariates=["lpop"], **CS_ROLES)
    EventStudy().fit(mpdta, **CS_ROLES)
    pd.testing.assert_frame_equal(mpdta, before)


def test_errors_name_columns_not_values() -> None:
    d = _two_by_two()
    with pytest.raises(SchemaError, match="outcome") as exc:
        DifferenceInDifferences().fit(d, outcome="nope", treated="treated", post="post")
    assert exc.value.where == "did.outcome"
    bad = d.assign(treated=d["treated"] * 2)
    with pytest.raises(SchemaError, match="0/1") as exc:
        DifferenceInDifferences().fit(bad, outcome="y", treated="treated", post="post",
                                      clusters="unit")
    assert "secret" not in str(exc.value)
    with pytest.raises(ConfigError):
        DifferenceInDifferences(method="means").fit(d, outcome="y", treated="treated",
                                                    post="post", covariates=["py"])
    with pytest.raises(ConfigError):
        DifferenceInDifferences(cov_kind="HC3").fit(d, outcome="y", treated="treated",  # type: ignore[arg-type]
                                                    post="post")
    with pytest.raises(DesignError, match="treated/post"):
        DifferenceInDifferences().fit(d[~((d.treated == 1) & (d.post == 1))], outcome="y",
                                      treated="treated", post="post")
    with pytest.raises(SchemaError, match="negative"):
        PoissonDiD().fit(d.assign(events=-d["events"]), outcome="events", exposure="py",
                         treated="treated", post="post")


def test_cs_input_errors(mpdta: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="more than one row"):
        CallawaySantAnna().fit(pd.concat([mpdta, mpdta.head(1)]), **CS_ROLES)
    varying = mpdta.copy()
    varying.loc[varying.index[0], "first.treat"] = 2006
    with pytest.raises(SchemaError, match="varies within 1 units"):
        CallawaySantAnna().fit(varying, **CS_ROLES)
    no_never = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DesignError, match="never-treated"):
        CallawaySantAnna().fit(no_never, **CS_ROLES)
    with pytest.raises(ConfigError):
        CallawaySantAnna(est_method="ols").fit(mpdta, **CS_ROLES)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CallawaySantAnna(aggregation="overall").fit(mpdta, **CS_ROLES)  # type: ignore[arg-type]


def test_cs_not_yet_treated_without_never_treated(mpdta: pd.DataFrame) -> None:
    # Without never-treated units nobody is untreated in 2007, and cohort 2007 (excluded from
    # its own comparison) has no other not-yet-treated cohort in 2006 either: those cells are
    # NaN, the rest estimable.
    no_never = mpdta[mpdta["first.treat"] > 0]
    est = CallawaySantAnna(control_group="not_yet_treated", est_method="reg").fit(
        no_never, **CS_ROLES)
    cells = pd.DataFrame(est.details["group_time"])
    missing = cells[cells["att"].isna()][["cohort", "time"]].to_numpy().tolist()
    assert missing == [[2004, 2007], [2006, 2007], [2007, 2006], [2007, 2007]]
    assert np.isfinite(est.estimate)


def test_unbalanced_units_are_dropped_and_counted(mpdta: pd.DataFrame) -> None:
    dropped = mpdta.drop(index=mpdta.index[[0, 7]])  # one row of two different counties
    panel = wide_panel(dropped, outcome="lemp", unit="countyreal", time="year",
                       cohort="first.treat")
    assert panel.n_dropped_unbalanced == 2 and panel.y.shape == (498, 5)
    est = CallawaySantAnna(est_method="reg").fit(dropped, **CS_ROLES)
    assert est.details["n_dropped"] == {"unbalanced": 2, "treated_first_period": 0}


def test_units_treated_in_first_period_are_dropped(mpdta: pd.DataFrame) -> None:
    d = mpdta.copy()
    d.loc[d["countyreal"] == d["countyreal"].iloc[0], "first.treat"] = 2003
    est = CallawaySantAnna(est_method="reg").fit(d, **CS_ROLES)
    assert est.details["n_dropped"]["treated_first_period"] == 1


def test_anticipation_moves_the_base_period(mpdta: pd.DataFrame) -> None:
    cells = CallawaySantAnna(est_method="reg", anticipation=1).estimate_cells(
        mpdta, **CS_ROLES).cells
    post = cells[cells["post"]]
    assert (post["base_period"] == post["cohort"] - 2).all()
    assert 2004 not in set(cells["cohort"])  # no period before 2004 - 1


def test_multiplier_bootstrap_clusters_and_reproducibility() -> None:
    rng = np.random.default_rng(3)
    psi = rng.normal(size=(2000, 3))
    a = multiplier_bootstrap(psi, n_boot=500, rng=np.random.default_rng(1))
    b = multiplier_bootstrap(psi, n_boot=500, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.std_error, b.std_error)
    analytic = np.sqrt((psi**2).sum(axis=0)) / 2000
    np.testing.assert_allclose(a.std_error, analytic, rtol=0.15)
    # one cluster per unit gives the same draws as no clustering
    c = multiplier_bootstrap(psi, n_boot=500, rng=np.random.default_rng(1),
                             clusters=np.arange(2000))
    np.testing.assert_allclose(c.std_error, a.std_error)
    assert a.critical_value > 1.96


def test_twfe_requires_varying_treatment() -> None:
    d = _two_by_two().assign(D=0)
    with pytest.raises(DesignError):
        TwoWayFixedEffects().fit(d, outcome="y", treatment="D", unit="unit", time="post")


def test_event_study_options(mpdta: pd.DataFrame) -> None:
    with pytest.raises(ConfigError):
        EventStudy(reference=0).fit(mpdta, **CS_ROLES)
    with pytest.raises(ConfigError):
        EventStudy(window=(0, 3)).fit(mpdta, **CS_ROLES)
    with pytest.raises(ConfigError):
        EventStudy().fit(mpdta, covariates=["lpop"], **CS_ROLES)
    est = EventStudy(method="twfe", reference=-2).fit(mpdta, **CS_ROLES)
    table = pd.DataFrame(est.details["event_study"]).set_index("event_time")
    assert table.loc[-2, "estimate"] == 0 and np.isfinite(table.loc[-1, "std_error"])


def test_cs_clustered_standard_errors(mpdta: pd.DataFrame) -> None:
    d = mpdta.assign(state=mpdta["countyreal"] // 1000, unit_copy=mpdta["countyreal"])
    plain = CallawaySantAnna(est_method="reg").fit(d, **CS_ROLES)
    by_unit = CallawaySantAnna(est_method="reg").fit(d, clusters="unit_copy", **CS_ROLES)
    assert by_unit.std_error == pytest.approx(plain.std_error, rel=1e-12)
    est = CallawaySantAnna(est_method="reg", n_boot=2000, seed=5).fit(d, clusters="state",
                                                                       **CS_ROLES)
    assert est.details["n_clusters"] == d["state"].nunique()
    assert est.std_error != pytest.approx(plain.std_error, rel=1e-3)
    cells = pd.DataFrame(est.details["group_time"])
    # the clustered multiplier bootstrap (an independent route) agrees with the analytic SEs
    np.testing.assert_allclose(cells["bootstrap_se"], cells["std_error"], rtol=0.25)
    varying = d.assign(state=np.arange(len(d)))
    with pytest.raises(SchemaError, match="varies within units"):
        CallawaySantAnna().fit(varying, clusters="state", **CS_ROLES)


def test_event_study_without_never_treated(mpdta: pd.DataFrame) -> None:
    treated_only = mpdta[mpdta["first.treat"] > 0]
    # TWFE with every event time is not identified without never-treated units ...
    with pytest.raises(EstimationError, match="not identified"):
        EventStudy(method="twfe").fit(treated_only, **CS_ROLES)
    # ... binned end points are; Sun-Abraham uses the last cohort (2007) before it adopts
    EventStudy(method="twfe", window=(-2, 2)).fit(treated_only, **CS_ROLES)
    sa = EventStudy(method="sun_abraham").fit(treated_only, **CS_ROLES)
    table = pd.DataFrame(sa.details["event_study"])
    assert table["event_time"].max() == 2  # 2007 dropped: cohort 2004 reaches e = 2 in 2006
    assert sa.n_treated == 191


def test_cs_weights_scale_free_and_validated(mpdta: pd.DataFrame) -> None:
    d = mpdta.assign(pop=np.exp(mpdta["lpop"]))
    a = CallawaySantAnna(est_method="dr").fit(d, covariates=["lpop"], weights="pop", **CS_ROLES)
    b = CallawaySantAnna(est_method="dr").fit(d.assign(pop=d["pop"] * 37.5),
                                              covariates=["lpop"], weights="pop", **CS_ROLES)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-10)
    assert a.std_error == pytest.approx(b.std_error, rel=1e-8)
    ones = CallawaySantAnna(est_method="dr").fit(d.assign(pop=1.0), covariates=["lpop"],
                                                 weights="pop", **CS_ROLES)
    plain = CallawaySantAnna(est_method="dr").fit(d, covariates=["lpop"], **CS_ROLES)
    assert ones.estimate == pytest.approx(plain.estimate, rel=1e-12)
    assert ones.std_error == pytest.approx(plain.std_error, rel=1e-10)
    with pytest.raises(SchemaError, match="constant within units"):
        CallawaySantAnna().fit(d.assign(pop=np.arange(len(d)) + 1.0), weights="pop", **CS_ROLES)
