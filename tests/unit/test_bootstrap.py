"""Unit tests: cluster bootstrap over matched sets.

Reference: for the mean of G independent paired differences, the bootstrap SD of the
resampled mean is sd(d) * sqrt((G - 1) / G) / sqrt(G) (the plug-in SE; Efron and Tibshirani
1993, ch. 6), up to Monte Carlo error of relative size about 1 / sqrt(2 B).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.regression import MatchedMeanDifference
from impacteval.exceptions import ConfigError, EstimationError
from impacteval.inference.bootstrap import cluster_bootstrap


@pytest.fixture
def pairs() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    g = 60
    return pd.DataFrame(
        {
            "y": np.r_[rng.normal(1.0, 1.0, g), rng.normal(0.0, 1.5, g)],
            "t": np.r_[np.ones(g, int), np.zeros(g, int)],
            "subclass": np.r_[np.arange(g), np.arange(g)],
        }
    )


def _mean_difference(d: pd.DataFrame) -> float:
    return float(d.loc[d["t"] == 1, "y"].mean() - d.loc[d["t"] == 0, "y"].mean())


def test_se_equals_plug_in_paired_se(pairs: pd.DataFrame) -> None:
    before = pairs.copy()
    b = 1000
    r = cluster_bootstrap(
        pairs, _mean_difference, cluster="subclass", n_boot=b, rng=np.random.default_rng(1)
    )
    wide = pairs.pivot(index="subclass", columns="t", values="y")
    d = (wide[1] - wide[0]).to_numpy()
    g = d.shape[0]
    expected = d.std(ddof=1) * np.sqrt((g - 1) / g) / np.sqrt(g)
    assert r.std_error == pytest.approx(expected, rel=4 / np.sqrt(2 * b))
    assert r.estimate == pytest.approx(d.mean())
    assert r.ci_lower < r.estimate < r.ci_upper
    assert r.n_clusters == g and r.replicates.shape == (b,)
    pd.testing.assert_frame_equal(pairs, before)


def test_clusters_stay_whole_and_are_relabelled(pairs: pd.DataFrame) -> None:
    def check(d: pd.DataFrame) -> float:
        sizes = d.groupby("subclass")["t"].agg(["size", "sum"])
        assert (sizes["size"] == 2).all() and (sizes["sum"] == 1).all()
        return 0.0

    cluster_bootstrap(pairs, check, cluster="subclass", n_boot=20, rng=np.random.default_rng(0))


def test_deterministic_for_a_seed_and_works_with_an_estimator(pairs: pd.DataFrame) -> None:
    def stat(d: pd.DataFrame) -> float:
        return MatchedMeanDifference().fit(d, outcome="y", treatment="t").estimate

    a = cluster_bootstrap(pairs, stat, cluster="subclass", n_boot=30, rng=np.random.default_rng(5))
    b = cluster_bootstrap(pairs, stat, cluster="subclass", n_boot=30, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.replicates, b.replicates)


def test_failed_replicates_counted_and_errors(pairs: pd.DataFrame) -> None:
    calls = {"n": 0}

    def flaky(d: pd.DataFrame) -> float:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise EstimationError("degenerate replicate", where="test")
        return _mean_difference(d)

    r = cluster_bootstrap(pairs, flaky, cluster="subclass", n_boot=30, rng=np.random.default_rng(0))
    assert r.n_failed == 10 and r.replicates.shape == (20,)
    with pytest.raises(ConfigError, match="n_boot"):
        cluster_bootstrap(
            pairs, _mean_difference, cluster="subclass", n_boot=1, rng=np.random.default_rng(0)
        )
    with pytest.raises(EstimationError, match="not in the data"):
        cluster_bootstrap(pairs, _mean_difference, cluster="set", rng=np.random.default_rng(0))
