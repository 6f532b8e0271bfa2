"""Unit tests of InstrumentalVariables: errors, purity, registry, warnings, diagnostics."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from impacteval.estimators import ESTIMATORS
from impacteval.estimators.iv import InstrumentalVariables, WeakInstrumentWarning, anderson_rubin
from impacteval.exceptions import ConfigError, DesignError, ImpactEvalWarning

SENTINEL = 987654.321  # a row value that must never appear in a message


def _data(seed: int = 0, n: int = 600, pi: float = 0.6, binary: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=n)
    z2 = rng.normal(size=n)
    age = rng.normal(70, 8, size=n)
    site = rng.integers(0, 30, size=n)
    u = rng.normal(size=n)
    if binary:
        d = (pi * z1 + 0.3 * z2 + 0.8 * u + rng.normal(size=n) > 0).astype(int)
    else:
        d = pi * z1 + 0.3 * z2 + 0.02 * age + 0.8 * u + rng.normal(size=n)
    y = 1.5 * d + 0.05 * age + u
    return pd.DataFrame({"y": y, "d": d, "z1": z1, "z2": z2, "age": age, "site": site})


def _fit(data: pd.DataFrame, est: InstrumentalVariables | None = None, **roles):
    roles = {"outcome": "y", "treatment": "d", "instruments": ["z1", "z2"], **roles}
    est = est or InstrumentalVariables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakInstrumentWarning)
        return est.fit(data, **roles)


def test_registered_and_frozen() -> None:
    assert ESTIMATORS.get("instrumental_variables") is InstrumentalVariables
    est = InstrumentalVariables()
    assert est.design == "instrumental_variables"
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.method = "liml"  # type: ignore[misc]
    with pytest.raises(TypeError):
        InstrumentalVariables("2sls")  # type: ignore[misc]  # keyword-only


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"method": "gmm"}, "method"),
        ({"cov_type": "hc3"}, "cov_type"),
        ({"level": 1.5}, "level"),
        ({"level": 0.0}, "level"),
        ({"weak_instrument_f": -1.0}, "weak_instrument_f"),
        ({"weak_instrument_f": math.nan}, "weak_instrument_f"),
    ],
)
def test_bad_parameters_raise_config_error(params: dict, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        InstrumentalVariables(**params)
    assert info.value.where == f"InstrumentalVariables.{where}"
    assert info.value.hint


def test_result_record() -> None:
    data = _data(binary=True)
    est = _fit(data, covariates=["age"])
    assert est.design == "instrumental_variables"
    assert est.scale == "difference"
    assert est.estimand == "LATE"
    assert est.estimator == "instrumental_variables:2sls"
    assert est.n_treated == int(data["d"].sum())
    assert est.n_control == int((data["d"] == 0).sum())
    assert est.ci_lower < est.estimate < est.ci_upper
    details = est.details
    for key in (
        "first_stage",
        "anderson_rubin",
        "sargan",
        "hansen_j",
        "wu_hausman",
        "method",
        "cov_type",
        "n",
    ):
        assert key in details
    assert details["n"] == len(data)
    assert details["treatment_binary"] is True
    for key in ("statistic", "p_value", "ci_lower", "ci_upper", "bounded"):
        assert key in details["anderson_rubin"]
    for key in ("coef", "se", "f_statistic", "partial_r2"):
        assert key in details["first_stage"]
    # JSON-ready without NaN or numpy types
    json.dumps(est.to_dict(), allow_nan=False)


def test_continuous_treatment_counts() -> None:
    est = _fit(_data())
    assert est.details["treatment_binary"] is False
    assert (est.n_treated, est.n_control) == (600, 0)


def test_fit_is_pure() -> None:
    data = _data()
    before = data.copy(deep=True)
    est = InstrumentalVariables(cov_type="clustered")
    first = _fit(data, est, covariates=["age"], cluster="site")
    second = _fit(data, est, covariates=["age"], cluster="site")
    pd.testing.assert_frame_equal(data, before)
    assert est == InstrumentalVariables(cov_type="clustered")
    assert first.to_dict() == second.to_dict()


def test_row_order_does_not_matter() -> None:
    data = _data()
    shuffled = data.sample(frac=1.0, random_state=3).set_index(pd.Index(np.arange(600) * 7))
    a = _fit(data, covariates=["age"])
    b = _fit(shuffled, covariates=["age"])
    assert a.estimate == pytest.approx(b.estimate, rel=1e-10)
    assert a.std_error == pytest.approx(b.std_error, rel=1e-8)


def test_weak_instrument_warning() -> None:
    weak = _data(pi=0.02)
    weak = weak.assign(d=weak["d"] - 0.3 * weak["z2"])  # only z1 (weak) remains relevant
    with pytest.warns(WeakInstrumentWarning, match="below 10") as record:
        est = InstrumentalVariables().fit(weak, outcome="y", treatment="d", instruments=["z1"])
    assert issubclass(WeakInstrumentWarning, ImpactEvalWarning)
    assert str(SENTINEL) not in str(record[0].message)
    assert est.details["weak_instruments"] is True
    assert est.details["first_stage"]["weak_instrument_f"] < 10
    # an unbounded AR set (infinite endpoints) still serialises to strict JSON
    assert est.details["anderson_rubin"]["bounded"] is False
    json.dumps(est.to_dict(), allow_nan=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakInstrumentWarning)
        strong = InstrumentalVariables().fit(
            _data(pi=1.0), outcome="y", treatment="d", instruments=["z1"]
        )
    assert strong.details["weak_instruments"] is False
    # the threshold is a parameter
    with pytest.warns(WeakInstrumentWarning):
        InstrumentalVariables(weak_instrument_f=1e6).fit(
            _data(pi=1.0), outcome="y", treatment="d", instruments=["z1"]
        )


@pytest.mark.parametrize("cov_type", ["unadjusted", "robust", "clustered"])
def test_first_stage_f_against_statsmodels(cov_type: str) -> None:
    """First-stage F (Wald / q) from statsmodels OLS with HC1 / Stata cluster correction; with
    one endogenous regressor the Kleibergen-Paap rk Wald F (robust) and the Cragg-Donald F
    (classical) equal it."""
    data = _data(seed=4)
    cluster = "site" if cov_type == "clustered" else None
    est = _fit(data, InstrumentalVariables(cov_type=cov_type), covariates=["age"], cluster=cluster)
    fs = est.details["first_stage"]
    exog = sm.add_constant(data[["age", "z1", "z2"]])
    ols = sm.OLS(data["d"], exog)
    if cov_type == "unadjusted":
        fitted = ols.fit()
    elif cov_type == "robust":
        fitted = ols.fit(cov_type="HC1")
    else:
        fitted = ols.fit(cov_type="cluster", cov_kwds={"groups": data["site"].to_numpy()})
    r = np.zeros((2, 4))
    r[0, 2] = r[1, 3] = 1.0
    wald = float(np.squeeze(fitted.wald_test(r, use_f=False, scalar=True).statistic))
    assert fs["f_statistic"] == pytest.approx(wald / 2, rel=1e-8)
    assert fs["weak_instrument_f"] == pytest.approx(wald / 2, rel=1e-8)
    if cov_type == "unadjusted":
        assert fs["cragg_donald_f"] == pytest.approx(wald / 2, rel=1e-8)
    else:
        assert fs["kleibergen_paap_f"] == pytest.approx(wald / 2, rel=1e-8)
    for z in ("z1", "z2"):
        assert fs["coef"][z] == pytest.approx(fitted.params[z], rel=1e-10)
        assert fs["se"][z] == pytest.approx(fitted.bse[z], rel=1e-8)


def test_liml_equals_2sls_when_exactly_identified() -> None:
    data = _data(seed=5)
    tsls = _fit(data, InstrumentalVariables(method="2sls"), instruments=["z1"])
    liml = _fit(data, InstrumentalVariables(method="liml"), instruments=["z1"])
    assert liml.details["kappa"] == pytest.approx(1.0, abs=1e-10)
    assert liml.estimate == pytest.approx(tsls.estimate, rel=1e-10)
    assert liml.std_error == pytest.approx(tsls.std_error, rel=1e-8)
    assert tsls.details["sargan"]["available"] is False


def test_anderson_rubin_in_details_matches_function() -> None:
    data = _data(seed=6)
    est = _fit(data, InstrumentalVariables(cov_type="clustered"), cluster="site")
    direct = anderson_rubin(
        data["y"].to_numpy(),
        data["d"].to_numpy(),
        data[["z1", "z2"]].to_numpy(),
        np.ones((len(data), 1)),
        cov_type="clustered",
        clusters=data["site"].to_numpy(),
    )
    assert est.details["anderson_rubin"]["ci_lower"] == pytest.approx(direct.ci_lower, rel=1e-10)
    assert est.details["anderson_rubin"]["ci_upper"] == pytest.approx(direct.ci_upper, rel=1e-10)
    assert est.details["n_clusters"] == 30


def _raises_design(
    data: pd.DataFrame, match: str, est: InstrumentalVariables | None = None, **roles
) -> DesignError:
    with pytest.raises(DesignError, match=match) as info:
        _fit(data, est, **roles)
    err = info.value
    assert err.where and err.where.startswith("estimators.instrumental_variables")
    assert err.hint
    assert "987654" not in str(err)
    return err


def test_fewer_instruments_than_endogenous() -> None:
    _raises_design(_data(), "fewer instruments", instruments=[])


def test_missing_columns() -> None:
    err = _raises_design(_data(), "not in the data", instruments=["z1", "distance"])
    assert "'distance'" in str(err)


def test_missing_values_counted_not_shown() -> None:
    data = _data()
    data.loc[[3, 10], "z1"] = np.nan
    data.loc[5, "y"] = SENTINEL
    err = _raises_design(data, "missing or infinite")
    assert "'z1' (2 rows)" in str(err)
    data2 = _data()
    data2.loc[1, "age"] = np.inf
    _raises_design(data2, "missing or infinite", covariates=["age"])


def test_constant_instrument() -> None:
    data = _data().assign(z2=SENTINEL)
    _raises_design(data, "instrument 'z2' is constant")


def test_instrument_collinear_with_covariates() -> None:
    data = _data()
    data = data.assign(z2=2.0 * data["age"] + 1.0)
    _raises_design(data, "instrument 'z2' is collinear with the covariates", covariates=["age"])


def test_instruments_collinear_with_each_other() -> None:
    data = _data()
    data = data.assign(z3=data["z1"] - data["z2"])
    _raises_design(data, "collinear with each other", instruments=["z1", "z2", "z3"])


def test_role_clashes() -> None:
    data = _data()
    _raises_design(data, "more than one role", instruments=["z1", "z1"])
    _raises_design(data, "more than one role", instruments=["z1", "age"], covariates=["age"])
    _raises_design(data, "more than one role", instruments=["z1", "d"])


def test_cluster_rules() -> None:
    data = _data()
    _raises_design(data, "needs a cluster column", InstrumentalVariables(cov_type="clustered"))
    _raises_design(data, "cluster column was given", cluster="site")
    few = data.assign(site=data["site"] % 3)
    _raises_design(few, "too few", InstrumentalVariables(cov_type="clustered"), cluster="site")


def test_non_numeric_and_constant_treatment() -> None:
    data = _data().assign(z2=lambda t: np.where(t["z1"] > 0, "near", "far"))
    _raises_design(data, "must be numeric")
    _raises_design(_data().assign(d=1.0), "treatment column is constant")


def test_string_instruments_rejected() -> None:
    _raises_design(_data(), "not a string", instruments="z1")


def test_nullable_and_boolean_columns() -> None:
    data = _data(binary=True)
    converted = data.assign(
        d=data["d"].astype(bool), age=data["age"].round().astype("Int64"), z1=data["z1"]
    )
    a = _fit(data.assign(age=data["age"].round()), covariates=["age"])
    b = _fit(converted, covariates=["age"])
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
    assert b.details["treatment_binary"] is True
    with_na = converted.astype({"age": "Int64"})
    with_na.loc[7, "age"] = pd.NA
    _raises_design(with_na, "'age' \\(1 rows\\)", covariates=["age"])


def test_few_clusters_many_covariates_hansen_unavailable_not_fatal() -> None:
    rng = np.random.default_rng(1008)  # not _data's seed: its draws would duplicate z1
    data = _data(seed=8, n=400)
    extra = {f"c{j}": rng.normal(size=400) for j in range(8)}
    data = data.assign(**extra, site=data["site"] % 6)  # 6 clusters < 11 moment conditions
    est = _fit(
        data, InstrumentalVariables(cov_type="clustered"), covariates=list(extra), cluster="site"
    )
    assert est.details["n_clusters"] == 6
    assert est.details["hansen_j"]["available"] is False
    assert "reason" in est.details["hansen_j"]
    assert math.isfinite(est.std_error)


def test_singular_ar_covariance_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    import impacteval.estimators.iv.estimator as module

    def singular(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(module, "anderson_rubin", singular)
    est = _fit(_data(), InstrumentalVariables(cov_type="clustered"), cluster="site")
    ar = est.details["anderson_rubin"]
    assert ar["available"] is False and ar["reason"]
    assert math.isnan(ar["ci_lower"])
    assert math.isfinite(est.estimate)
