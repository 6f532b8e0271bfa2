"""Few-cluster pre-trend tests: the joint wild bootstrap reduces to the one-coefficient
test, and the F corrections follow their formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from impacteval.estimators.did import event_study, wild_bootstrap_wald, wild_cluster_bootstrap
from impacteval.estimators.did.event_study import small_cluster_pretrend


def _data(seed: int = 3, G: int = 9, n_per: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), n_per)
    X = np.column_stack([np.ones(g.size), rng.normal(size=g.size), rng.normal(size=g.size)])
    y = X @ np.array([1.0, 0.3, 0.0]) + rng.normal(size=G)[g] + rng.normal(size=g.size)
    return X, y, g


def test_one_restriction_equals_the_wild_t_test() -> None:
    """q = 1: W = t^2, so the WCR Wald and WCR t p-values agree draw for draw (enumerated)."""
    X, y, g = _data()
    for k in (1, 2):
        R = np.eye(3)[[k]]
        wald = wild_bootstrap_wald(X, y, g, R, n_boot=999, rng=np.random.default_rng(0))
        t = wild_cluster_bootstrap(X, y, g, k, n_boot=999, rng=np.random.default_rng(0))
        assert wald.enumerated and t.enumerated and wald.n_boot == 512
        assert wald.statistic == pytest.approx(t.t_stat**2, rel=1e-10)
        assert wald.p_value == pytest.approx(t.p_value, abs=1e-12)


def test_event_study_bootstrap_uses_the_reported_wald_statistic() -> None:
    rng = np.random.default_rng(5)
    rows = [(i, t, (4 if i < 3 else 5 if i < 6 else 0), rng.normal() + 0.1 * t)
            for i in range(10) for t in range(1, 8)]
    d = pd.DataFrame(rows, columns=["u", "t", "g", "y"])
    w = event_study(d, outcome="y", unit="u", time="t", cohort="g", pretrend_bootstrap=99,
                    seed=1).pretrend_wald
    assert w["bootstrap_draws"] == 99 and 0 < w["bootstrap_p_value"] <= 1
    assert w["p_value"] == pytest.approx(stats.chi2.sf(w["statistic"], w["df"]))
    again = event_study(d, outcome="y", unit="u", time="t", cohort="g", pretrend_bootstrap=99,
                        seed=1).pretrend_wald
    assert again == w  # seeded: reproducible


def test_small_cluster_corrections() -> None:
    out = small_cluster_pretrend(12.0, 4, 10)
    assert out["f_statistic"] == 3.0 and out["f_df_denom"] == 9
    assert out["f_p_value"] == pytest.approx(stats.f.sf(3.0, 4, 9))
    h = 6 / (4 * 9) * 12.0
    assert out["hotelling_statistic"] == pytest.approx(h)
    assert out["hotelling_p_value"] == pytest.approx(stats.f.sf(h, 4, 6))
    # both tend to the chi-squared test as clusters grow, and are more conservative before
    big = small_cluster_pretrend(12.0, 4, 100_000)
    chi2 = stats.chi2.sf(12.0, 4)
    assert big["f_p_value"] == pytest.approx(chi2, rel=1e-3)
    assert big["hotelling_p_value"] == pytest.approx(chi2, rel=1e-3)
    assert chi2 < out["f_p_value"] < out["hotelling_p_value"]
    assert np.isnan(small_cluster_pretrend(12.0, 4, 4)["hotelling_p_value"])  # needs G > q


def test_smoothness_ci_refuses_a_singular_covariance() -> None:
    """Few clusters, many event times: a zero-variance combination would give a point CI."""
    import numpy as np
    import pandas as pd
    import pytest

    from impacteval.estimators.did.sensitivity import smoothness_flci
    from impacteval.exceptions import DesignError

    times = [-4, -3, -2, 0, 1]
    coefs = pd.DataFrame({"event_time": times, "estimate": [0.1, -0.2, 0.05, 1.0, 1.2]})
    g = np.random.default_rng(1).normal(size=(len(times), 2))  # rank 2 < 5
    with pytest.raises(DesignError, match="singular"):
        smoothness_flci(coefs, g @ g.T, m=[0.0])
    full = g @ g.T + np.eye(len(times))
    assert smoothness_flci(coefs, full, m=[0.0]).table["ci_upper"].iloc[0] > \
        smoothness_flci(coefs, full, m=[0.0]).table["ci_lower"].iloc[0]
