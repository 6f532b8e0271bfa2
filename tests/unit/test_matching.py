"""Unit tests: propensity model, nearest-neighbour matching and the MatchResult record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching import MatchResult, PropensityModel, nearest_neighbour_match


@pytest.fixture
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame(
        {
            "age": rng.normal(82, 7, n),
            "frail": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
            "ethnicity": rng.choice(["Asian", "Black", "White"], n),
        }
    )
    eta = -0.5 + 0.04 * (df["age"] - 82) + 0.6 * df["frail"] - 0.3 * (df["sex"] == "M")
    df["treated"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


COVS = ["age", "frail", "sex", "ethnicity"]


# -- propensity ------------------------------------------------------------------------------


def test_propensity_equals_statsmodels_logit(cohort: pd.DataFrame) -> None:
    """Reference: statsmodels' Logit MLE on the same dummy coding (first level as reference)."""
    fit = PropensityModel().fit(cohort[COVS], cohort["treated"].to_numpy())
    Z = pd.get_dummies(cohort[COVS], columns=["sex", "ethnicity"], drop_first=True, dtype=float)
    sm_fit = sm.Logit(cohort["treated"].astype(float), sm.add_constant(Z)).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(fit.coef.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-8)
    assert list(fit.coef.index) == [
        "intercept",
        "age",
        "frail",
        "sex[M]",
        "ethnicity[Black]",
        "ethnicity[White]",
    ]
    np.testing.assert_allclose(fit.propensity, sm_fit.predict(), rtol=1e-8)
    np.testing.assert_allclose(fit.logit, np.log(fit.propensity / (1 - fit.propensity)), rtol=1e-8)
    assert fit.converged
    np.testing.assert_allclose(fit.predict_logit(cohort[COVS]), fit.logit, rtol=1e-12)


def test_propensity_does_not_mutate_or_standardise(cohort: pd.DataFrame) -> None:
    X = cohort[COVS].copy()
    before = X.copy()
    fit = PropensityModel().fit(X, cohort["treated"])
    pd.testing.assert_frame_equal(X, before)
    # coefficient of age is per year: rescaling age to decades multiplies it by 10
    X10 = X.assign(age=X["age"] / 10)
    fit10 = PropensityModel().fit(X10, cohort["treated"])
    assert fit10.coef["age"] == pytest.approx(10 * fit.coef["age"], rel=1e-8)


def test_perfect_separation_is_a_design_error() -> None:
    X = pd.DataFrame({"age": [60.0, 62, 64, 66, 80, 82, 84, 86], "frail": [0, 1, 0, 1, 0, 1, 1, 0]})
    t = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    with pytest.raises(DesignError) as info:
        PropensityModel().fit(X, t)
    err = info.value
    assert err.where == "matching.propensity"
    assert "separation" in err.message and "age" in err.message
    assert err.hint


def test_quasi_separation_is_a_design_error() -> None:
    # every frail unit is treated; the non-frail overlap
    X = pd.DataFrame({"frail": [1, 1, 1, 0, 0, 0, 0, 0, 0], "x": [1.0, 2, 3, 1, 2, 3, 4, 5, 6]})
    t = np.array([1, 1, 1, 1, 0, 1, 0, 0, 1])
    with pytest.raises(DesignError, match="frail"):
        PropensityModel().fit(X, t)


@pytest.mark.parametrize(
    ("X", "name"),
    [
        (pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [2.0, 4, 6, 8, 10, 12]}), "b"),
        (pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "c": [3.0] * 6}), "c"),
        (pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "z": [0.0] * 6}), "z"),
    ],
)
def test_singular_design_names_the_column(X: pd.DataFrame, name: str) -> None:
    with pytest.raises(DesignError, match=repr(name)) as info:
        PropensityModel().fit(X, np.array([1, 0, 1, 0, 0, 1]))
    assert info.value.hint


def test_missing_covariate_values_and_single_arm() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan, 3, 4]})
    with pytest.raises(DesignError, match="1 missing"):
        PropensityModel().fit(X, np.array([1, 0, 1, 0]))
    with pytest.raises(DesignError, match="treated and control"):
        PropensityModel().fit(pd.DataFrame({"a": [1.0, 2, 3]}), np.array([1, 1, 1]))
    with pytest.raises(DesignError, match="0/1"):
        PropensityModel().fit(pd.DataFrame({"a": [1.0, 2, 3]}), np.array([1, 2, 0]))


def test_error_messages_hold_no_row_values() -> None:
    secret = "PERSON-XYZ-123"
    X = pd.DataFrame({"id_like": [secret, "b", "c", "d"], "a": [1.0, 2, 3, 4]})
    with pytest.raises(DesignError) as info:
        PropensityModel().fit(X, np.array([1, 1, 0, 0]))
    assert secret not in str(info.value)


# -- nearest-neighbour matching --------------------------------------------------------------


def test_no_overlap_within_caliper_is_a_design_error() -> None:
    d = np.array([0.0, 0.1, 0.2, 5.0, 5.1])
    t = np.array([0, 0, 0, 1, 1])
    with pytest.raises(DesignError) as info:
        nearest_neighbour_match(d, t, caliper=0.5, caliper_scale="raw")
    assert info.value.where == "matching"
    assert "caliper" in info.value.hint and "overlap" in info.value.hint


def test_caliper_in_sd_uses_pooled_sd_of_all_units() -> None:
    d = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    t = np.array([1, 0, 1, 0, 0])
    m = nearest_neighbour_match(d, t, caliper=0.3)
    # pooled SD over all five units, n - 1 denominator (MatchIt's sd(distance)):
    # mean 3.2, sum of squared deviations 62.8, variance 62.8 / 4 = 15.7
    assert m.caliper_width == pytest.approx(0.3 * np.sqrt(15.7))
    # width 1.19: the treated unit at 2 takes the control at 1 (tie with 3: the one below wins),
    # leaving the unit at 0 with the control at 3, out of reach
    assert m.pairs[["treated_index", "control_index"]].to_numpy().tolist() == [[2, 1]]
    with pytest.raises(DesignError):
        nearest_neighbour_match(d, t, caliper=0.25)  # 0.99 < 1: nobody within reach


def test_largest_first_order_changes_who_gets_the_close_control() -> None:
    # two treated units compete for the control at 0.5
    d = np.array([0.4, 0.6, 0.5, 0.0])
    t = np.array([1, 1, 0, 0])
    largest = nearest_neighbour_match(d, t, order="largest")
    smallest = nearest_neighbour_match(d, t, order="smallest")
    pair = lambda m: dict(zip(m.pairs["treated_index"], m.pairs["control_index"], strict=True))  # noqa: E731
    assert pair(largest) == {1: 2, 0: 3}
    assert pair(smallest) == {0: 2, 1: 3}


def test_tie_rule_prefers_the_control_below() -> None:
    # controls at 0.4 and 0.6 are equally far from the treated unit at 0.5
    m = nearest_neighbour_match(np.array([0.6, 0.5, 0.4]), np.array([0, 1, 0]))
    assert m.pairs["control_index"].tolist() == [2]
    # equal distances: data order decides (latest below, earliest above)
    m2 = nearest_neighbour_match(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 0, 1, 0]))
    assert m2.pairs["control_index"].tolist() == [1]


def test_random_order_needs_rng_and_is_reproducible() -> None:
    rng = np.random.default_rng(3)
    d, t = rng.normal(size=200), rng.random(200) < 0.4
    with pytest.raises(ConfigError, match="rng"):
        nearest_neighbour_match(d, t, order="random")
    a = nearest_neighbour_match(d, t, order="random", rng=np.random.default_rng(9))
    b = nearest_neighbour_match(d, t, order="random", rng=np.random.default_rng(9))
    pd.testing.assert_frame_equal(a.pairs, b.pairs)


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"ratio": 0}, "matching.ratio"),
        ({"ratio": 1.5}, "matching.ratio"),
        ({"caliper": -0.1}, "matching.caliper"),
        ({"caliper_scale": "sds"}, "matching.caliper_scale"),
        ({"order": "biggest"}, "matching.order"),
    ],
)
def test_invalid_options_are_config_errors(options: dict, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        nearest_neighbour_match(np.array([0.1, 0.2]), np.array([1, 0]), **options)
    assert info.value.where == where


def test_non_finite_distance_and_empty_arm() -> None:
    with pytest.raises(DesignError, match="1 unit"):
        nearest_neighbour_match(np.array([0.1, np.nan, 0.3]), np.array([1, 0, 0]))
    with pytest.raises(DesignError, match="treated and control"):
        nearest_neighbour_match(np.array([0.1, 0.2]), np.array([0, 0]))


def test_fewer_controls_than_treated_leaves_some_discarded() -> None:
    d = np.array([0.1, 0.2, 0.3, 0.25])
    t = np.array([1, 1, 1, 0])
    m = nearest_neighbour_match(d, t)
    assert m.n_matched_treated == 1 and int(m.discarded.sum()) == 2
    assert m.summary().loc["discarded", "treated"] == 2


def test_large_problem_runs_without_dense_matrix() -> None:
    """2,000 treated x 200,000 controls: a dense matrix would need 3.2 GB."""
    rng = np.random.default_rng(0)
    n = 202_000
    d = rng.normal(size=n)
    t = np.zeros(n, dtype=bool)
    t[rng.choice(n, 2_000, replace=False)] = True
    m = nearest_neighbour_match(d, t, caliper=0.01)
    assert m.n_matched_treated == m.n_matched_control > 1_900


# -- MatchResult -----------------------------------------------------------------------------


@pytest.fixture
def small() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    data = pd.DataFrame({"pid": list("abcdefg"), "y": [1, 2, 3, 4, 5, 6, 7]})
    d = np.array([0.9, 0.8, 0.1, 0.85, 0.15, 0.5, 0.7])
    t = np.array([1, 1, 1, 0, 0, 0, 0])
    return data, d, t


def test_match_data_adds_weights_and_subclass(small) -> None:
    data, d, t = small
    before = data.copy()
    m = nearest_neighbour_match(d, t)
    md = m.match_data(data)
    pd.testing.assert_frame_equal(data, before)
    assert set(md.columns) == {"pid", "y", "weights", "subclass"}
    assert len(md) == 6
    assert md.groupby("subclass").size().eq(2).all()
    assert isinstance(m, MatchResult)
    with pytest.raises(ValueError):
        m.weights[0] = 5.0  # read-only


def test_pair_data_repeats_reused_controls(small) -> None:
    data, d, t = small
    m = nearest_neighbour_match(d, t, replace=True, ratio=2)
    pdata = m.pair_data(data)
    assert len(pdata) == 3 + 6
    assert pdata.groupby("subclass")["weights"].sum().eq(2.0).all()  # 1 + 2 x 1/2
    with pytest.raises(DesignError, match="several matched sets"):
        m.subclass()
    with pytest.raises(DesignError, match="rows"):
        m.match_data(data.iloc[:3])


def test_summary_counts(small) -> None:
    _, d, t = small
    s = nearest_neighbour_match(d, t).summary()
    assert s.loc["all"].tolist() == [4, 3]
    assert s.loc["matched"].tolist() == [3, 3]
    assert s.loc["unmatched"].tolist() == [1, 0]


def test_exact_strata_errors_and_no_cross_stratum_pairs() -> None:
    d = np.array([0.5, 0.51, 0.9, 0.2])
    t = np.array([1, 0, 1, 0])
    m = nearest_neighbour_match(d, t, exact=np.array(["F", "M", "M", "F"]))
    # unit 0's closest control (0.51) is in the other stratum: it takes unit 3 instead
    assert m.pairs[["treated_index", "control_index"]].to_numpy().tolist() == [[0, 3], [2, 1]]
    m2 = nearest_neighbour_match(d, t, exact=np.array(["F", "M", "F", "F"]))
    # stratum F: unit 2 (0.9, largest first) takes the only control; unit 0 is discarded
    assert m2.pairs[["treated_index", "control_index"]].to_numpy().tolist() == [[2, 3]]
    assert m2.discarded.tolist() == [True, False, False, False]
    with pytest.raises(DesignError, match="missing stratum"):
        nearest_neighbour_match(d, t, exact=np.array(["F", None, "F", "F"], dtype=object))
    with pytest.raises(DesignError, match="exact-matching stratum"):
        nearest_neighbour_match(d, t, exact=np.array(["F", "M", "F", "M"]) == "F")


def test_result_balance_uses_full_sample_denominator(small) -> None:
    data, d, t = small
    m = nearest_neighbour_match(d, t)
    X = pd.DataFrame({"d": d})
    before, after = m.balance(X)
    from impacteval.matching import balance_table

    pd.testing.assert_frame_equal(after, balance_table(X, t, m.weights))
    pd.testing.assert_frame_equal(before, balance_table(X, t))
    # the SMD after matching keeps the treated SD of the full sample as denominator
    sd_t = np.std(d[t == 1], ddof=1)
    diff = d[m.weights > 0][t[m.weights > 0] == 1].mean() - np.average(
        d[t == 0], weights=m.weights[t == 0]
    )
    assert after["smd"].iloc[0] == pytest.approx(diff / sd_t)


def test_boosted_propensity_is_seeded_and_reproducible() -> None:
    from impacteval.matching.propensity import BoostedPropensityModel

    rng = np.random.default_rng(4)
    X = pd.DataFrame({"age": rng.normal(80, 6, 500), "frail": rng.integers(0, 2, 500)})
    t = (rng.random(500) < 1 / (1 + np.exp(-(X["age"] - 80) / 6))).astype(int)
    a = BoostedPropensityModel(max_iter=30, seed=3).fit(X, t)
    b = BoostedPropensityModel(max_iter=30, seed=3).fit(X, t)
    np.testing.assert_array_equal(a.propensity, b.propensity)
    np.testing.assert_allclose(a.predict(X), a.propensity)
    # older people are more often treated: the scores rank them so
    assert np.corrcoef(a.logit, X["age"])[0, 1] > 0.5
