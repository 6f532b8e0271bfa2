"""Unit tests: genetic matching (determinism, loss, balance terms, options).

Lalonde data: tests/reference/data/lalonde_matchit.csv (MatchIt's `lalonde`, see
tests/reference/data/README_lalonde.md). The 0.1 SMD target is the issue's acceptance bar and
the usual balance threshold (Austin 2009; cobalt's default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching import balance_table
from impacteval.matching.distance import transform_covariates
from impacteval.matching.genetic import GeneticMatcher, _ks_pvalue, balance_terms
from impacteval.matching.multivariate import match_points

DATA = Path(__file__).parents[1] / "reference" / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_matchit.csv")


def test_lalonde_largest_abs_smd_at_most_0_1(lalonde: pd.DataFrame) -> None:
    """Issue 3's must-show: treated vs PSID controls (MatchIt's lalonde), p-value loss."""
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    before = balance_table(X, t)
    assert np.abs(before["smd"]).max() > 1.0  # badly imbalanced to start with
    g = GeneticMatcher(pop_size=30, max_generations=8, wait_generations=4, seed=7).fit(X, t)
    _, after = g.match.balance(X)
    assert np.abs(after["smd"]).max() <= 0.1
    assert g.match.replace and g.match.distance == "generalized_mahalanobis"
    assert g.match.n_matched_treated == int(t.sum())


def test_smd_loss_reports_the_largest_smd_of_the_returned_match(lalonde: pd.DataFrame) -> None:
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    g = GeneticMatcher(loss="smd", pop_size=16, max_generations=4, seed=3).fit(X, t)
    _, after = g.match.balance(X)
    assert g.history["best"].iloc[-1] == pytest.approx(np.abs(after["smd"]).max(), rel=1e-9)
    assert np.all(np.diff(g.history["best"].to_numpy()) <= 0)  # elitism: never worse
    assert np.abs(after["smd"]).max() <= 0.1


def test_same_seed_same_result_other_seed_differs(lalonde: pd.DataFrame) -> None:
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    a = GeneticMatcher(pop_size=8, max_generations=2, seed=11).fit(X, t)
    b = GeneticMatcher(pop_size=8, max_generations=2, seed=11).fit(X, t)
    c = GeneticMatcher(pop_size=8, max_generations=2, seed=12).fit(X, t)
    np.testing.assert_array_equal(a.weights, b.weights)
    pd.testing.assert_frame_equal(a.match.pairs, b.match.pairs)
    assert not np.array_equal(a.weights, c.weights)


def test_weights_reproduce_the_match_with_the_generic_matcher(lalonde: pd.DataFrame) -> None:
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    g = GeneticMatcher(pop_size=8, max_generations=2, ratio=2, seed=1).fit(X, t)
    P = transform_covariates(X, t, distance="generalized_mahalanobis", weights=g.weights).points
    m = match_points(P, t, replace=True, ratio=2)
    key = ["treated_index", "control_index"]
    pd.testing.assert_frame_equal(
        g.match.pairs[key].sort_values(key).reset_index(drop=True),
        m.pairs[key].sort_values(key).reset_index(drop=True),
    )


def test_first_genome_is_mahalanobis_and_pvalue_loss_is_sorted(lalonde: pd.DataFrame) -> None:
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    g = GeneticMatcher(pop_size=4, max_generations=1, local_search=False, seed=0).fit(X, t)
    assert np.all(np.diff(g.loss) >= 0) and np.all((g.loss >= 0) & (g.loss <= 1))
    # 9 t-tests (covariates, every race level) + 4 KS tests (non-binary: age, educ, re74, re75)
    assert g.loss.shape == (13,)
    assert len(g.history) == 2 and g.history["evaluations"].tolist() == [4, 6]


def test_early_stopping(lalonde: pd.DataFrame) -> None:
    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    g = GeneticMatcher(pop_size=4, max_generations=50, wait_generations=1, seed=2).fit(X, t)
    assert g.generations < 50
    best = g.history["best"].to_numpy()
    assert best[-1] == best[-2]  # stopped after a generation without improvement


def test_ks_pvalue_is_kolmogorov_limit() -> None:
    """As R's ks.test(exact = FALSE) / Matching's ks.fast: the limiting Kolmogorov
    distribution at sqrt(n m / (n + m)) D, with D from scipy's two-sample statistic."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=150), rng.normal(0.3, 1, 220)
    d = stats.ks_2samp(a, b).statistic
    expected = stats.kstwobign.sf(np.sqrt(150 * 220 / 370) * d)
    assert _ks_pvalue(a, b) == pytest.approx(expected, rel=1e-12)
    assert _ks_pvalue(a, a.copy()) == 1.0


def test_balance_terms() -> None:
    X = pd.DataFrame({"age": [60.0, 70, 80], "race": ["a", "b", "c"], "male": [1, 0, 1]})
    B = balance_terms(X)
    assert list(B.columns) == [
        "age", "race[b]", "race[c]", "male", "age^2",
        "age*race[b]", "age*race[c]", "age*male", "race[b]*male", "race[c]*male",
    ]  # fmt: skip
    np.testing.assert_allclose(B["age*male"], [60.0, 0, 80])
    assert (
        list(balance_terms(X, squares=False, interactions=False).columns) == B.columns[:4].tolist()
    )


def test_options_and_errors(lalonde: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="loss"):
        GeneticMatcher(loss="ks")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pop_size"):
        GeneticMatcher(pop_size=1)
    with pytest.raises(ConfigError, match="elite"):
        GeneticMatcher(pop_size=3, elite=3)
    X = lalonde[COVARIATES]
    with pytest.raises(DesignError, match="at least 2 treated"):
        GeneticMatcher().fit(X, np.r_[1, np.zeros(len(X) - 1)])
    before = X.copy()
    GeneticMatcher(pop_size=3, max_generations=1).fit(X, lalonde["treat"].to_numpy())
    pd.testing.assert_frame_equal(X, before)


def test_history_plot_returns_figure_and_data(lalonde: pd.DataFrame) -> None:
    from impacteval.matching.plots import genetic_history_plot

    g = GeneticMatcher(pop_size=4, max_generations=2, seed=0).fit(
        lalonde[COVARIATES], lalonde["treat"].to_numpy()
    )
    fig, data = genetic_history_plot(g.history)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1
    pd.testing.assert_frame_equal(data, g.history)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), g.history["best"])


def test_pvalue_search_starts_from_the_smd_search(lalonde: pd.DataFrame) -> None:
    """Warm start: the SMD search's best weights seed the p-value search (same seed, same
    random stream), so the result is never lexically worse than those weights."""
    from impacteval.matching.covariates import encode
    from impacteval.matching.distance import cholesky_whitening, design_matrix, pooled_covariance
    from impacteval.matching.genetic import _Evaluator, _lexically_better

    X, t = lalonde[COVARIATES], lalonde["treat"].to_numpy()
    smd = GeneticMatcher(loss="smd", pop_size=10, max_generations=2, wait_generations=4,
                         seed=3).fit(X, t)
    warm = GeneticMatcher(loss="pvalue", pop_size=10, max_generations=4, wait_generations=4,
                          seed=3).fit(X, t)
    Z, _ = design_matrix(X)
    tb = t.astype(bool)
    B, _, _ = encode(X, drop_first=False, where="test")
    ev = _Evaluator(Z @ cholesky_whitening(pooled_covariance(Z, tb)), tb, B, "pvalue", 1)
    assert not _lexically_better(ev.loss(smd.weights), warm.loss)
    cold = GeneticMatcher(loss="pvalue", pop_size=10, max_generations=4, wait_generations=4,
                          seed=3, warm_start=False).fit(X, t)
    assert not np.array_equal(cold.weights, warm.weights)
