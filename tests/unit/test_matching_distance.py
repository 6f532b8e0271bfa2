"""Unit tests: covariate distances and KD-tree nearest-neighbour matching.

Expected values come from brute-force computations in this file (dense distance matrices on
small samples, greedy matching written out directly) and from textbook definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist, pdist, squareform

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.distance import pooled_covariance, transform_covariates
from impacteval.matching.multivariate import covariate_match, match_points


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 240
    X = pd.DataFrame(
        {
            "age": np.round(rng.normal(75, 8, n)),  # rounded: ties happen
            "admissions": rng.poisson(1.5, n).astype(float),
            "frail": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    eta = -1 + 0.05 * (X["age"] - 75) + 0.4 * X["admissions"]
    t = (rng.random(n) < 1 / (1 + np.exp(-eta))).to_numpy()
    return X, t


def _dummies(X: pd.DataFrame) -> np.ndarray:
    return pd.get_dummies(X, columns=["sex"], drop_first=True, dtype=float).to_numpy()


def test_mahalanobis_equals_definition(data) -> None:
    """d^2 = (x - y)' S^-1 (x - y), S the pooled within-arm covariance (scipy's cdist)."""
    X, t = data
    Z = _dummies(X)
    S = pooled_covariance(Z, t)
    expected = cdist(Z[:30], Z[:30], metric="mahalanobis", VI=np.linalg.inv(S))
    got = squareform(pdist(transform_covariates(X, t).points[:30]))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_pooled_covariance_by_hand(data) -> None:
    X, t = data
    Z = _dummies(X)
    c1 = np.cov(Z[t], rowvar=False) * (t.sum() - 1)
    c0 = np.cov(Z[~t], rowvar=False) * ((~t).sum() - 1)
    np.testing.assert_allclose(pooled_covariance(Z, t), (c1 + c0) / (len(t) - 2), rtol=1e-12)


def test_generalized_with_unit_weights_is_mahalanobis(data) -> None:
    X, t = data
    a = pdist(transform_covariates(X, t, distance="generalized_mahalanobis").points)
    b = pdist(transform_covariates(X, t).points)
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_generalized_weights_scale_cholesky_coordinates(data) -> None:
    """Diamond and Sekhon: d^2 = (x-y)' (S^-1/2)' W S^-1/2 (x-y), S = R'R, S^-1/2 = R'^-1."""
    X, t = data
    Z = _dummies(X)
    R = np.linalg.cholesky(pooled_covariance(Z, t)).T
    w = np.array([2.0, 0.5, 10.0, 1.0])
    Sih = np.linalg.inv(R.T)
    M = Sih.T @ np.diag(w) @ Sih
    expected = cdist(Z[:20], Z[:20], metric="mahalanobis", VI=M)
    got = squareform(
        pdist(transform_covariates(X, t, distance="generalized_mahalanobis", weights=w).points[:20])
    )
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_scaled_euclidean_divides_by_pooled_sd(data) -> None:
    X, t = data
    Z = _dummies(X)
    sd = np.sqrt(np.diag(pooled_covariance(Z, t)))
    np.testing.assert_allclose(
        transform_covariates(X, t, distance="scaled_euclidean").points, Z / sd, rtol=1e-12
    )


def test_robust_mahalanobis_ignores_monotone_transforms_and_outliers(data) -> None:
    X, t = data
    Y = X.copy()
    Y["admissions"] = np.exp(Y["admissions"])  # monotone
    Y["age"] = np.where(X["age"] == X["age"].max(), 1e6, X["age"])  # outliers keep their rank
    a = transform_covariates(X, t, distance="robust_mahalanobis").points
    b = transform_covariates(Y, t, distance="robust_mahalanobis").points
    np.testing.assert_allclose(pdist(a), pdist(b), rtol=1e-9)


def test_robust_mahalanobis_diagonal_is_untied_rank_variance() -> None:
    """Rosenbaum (2010, 8.3): a covariate with ties is not up-weighted: with one covariate the
    squared distance is (rank difference)^2 / var(1..n)."""
    x = pd.DataFrame({"x": [1.0, 1.0, 2.0, 3.0, 5.0, 8.0]})
    t = np.array([1, 0, 1, 0, 0, 1])
    Z = transform_covariates(x, t, distance="robust_mahalanobis").points
    ranks = np.array([1.5, 1.5, 3, 4, 5, 6])
    expected = np.abs(ranks[:, None] - ranks[None, :]) / np.std(np.arange(1, 7), ddof=1)
    np.testing.assert_allclose(squareform(pdist(Z)), expected, rtol=1e-12)


def test_options_errors(data) -> None:
    X, t = data
    with pytest.raises(ConfigError, match="distance must be one of"):
        transform_covariates(X, t, distance="cosine")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="generalized_mahalanobis"):
        transform_covariates(X, t, weights=np.ones(4))
    with pytest.raises(ConfigError, match="weights must be 4"):
        transform_covariates(X, t, distance="generalized_mahalanobis", weights=np.ones(3))
    with pytest.raises(DesignError, match="constant"):
        transform_covariates(pd.DataFrame({"a": np.ones(5)}), np.array([1, 0, 1, 0, 0]))
    with pytest.raises(ConfigError, match="numeric"):
        covariate_match(X, t, calipers={"sex": 1.0})
    with pytest.raises(ConfigError, match="not among"):
        covariate_match(X, t, calipers={"bmi": 1.0})
    with pytest.raises(ConfigError, match="order_score"):
        covariate_match(X, t, order="largest")


# -- brute-force greedy matcher ---------------------------------------------------------------


def _brute(
    P: np.ndarray,
    t: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float = np.inf,
    C: np.ndarray | None = None,
    widths: np.ndarray | None = None,
    visit: np.ndarray | None = None,
) -> set[tuple[int, int]]:
    """Greedy matching with a dense distance matrix (tie rule: earliest control)."""
    tu, cu = np.flatnonzero(t), np.flatnonzero(~t)
    D = cdist(P[tu], P[cu])
    allowed = D <= caliper
    if C is not None and widths is not None:
        allowed &= np.all(np.abs(C[tu][:, None, :] - C[cu][None, :, :]) <= widths, axis=2)
    D = np.where(allowed, D, np.inf)
    taken = np.zeros(len(cu), bool)
    out: set[tuple[int, int]] = set()
    order = np.arange(len(tu)) if visit is None else visit
    if replace:
        for i in order:
            cand = [j for j in np.lexsort((np.arange(len(cu)), D[i])) if np.isfinite(D[i, j])]
            out |= {(int(tu[i]), int(cu[j])) for j in cand[:ratio]}
        return out
    active = np.ones(len(tu), bool)
    for _ in range(ratio):
        for i in order:
            if not active[i]:
                continue
            d = np.where(taken, np.inf, D[i])
            if not np.isfinite(d).any():
                active[i] = False
                continue
            j = int(np.argmin(d))  # first minimum = earliest control
            taken[j] = True
            out.add((int(tu[i]), int(cu[j])))
    return out


def _pairs(m) -> set[tuple[int, int]]:
    return set(zip(m.pairs["treated_index"], m.pairs["control_index"], strict=True))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ratio": 3},
        {"replace": True},
        {"replace": True, "ratio": 2},
        {"caliper": 0.4},
        {"caliper": 0.5, "ratio": 2},
    ],
)
def test_kdtree_matching_equals_brute_force(data, options) -> None:
    X, t = data
    P = transform_covariates(X, t).points
    m = match_points(P, t, **options)
    expected = _brute(P, t, **{k: v for k, v in options.items()})
    assert _pairs(m) == expected
    assert m.discarded.sum() == t.sum() - len({p[0] for p in expected})


def test_integer_points_ties_go_to_earliest_control() -> None:
    """Several controls at the same distance: the earliest in the data wins (MatchIt's rule)."""
    P = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [5.0, 5.0], [0.0, -1.0]])
    t = np.array([1, 0, 0, 0, 1, 0])
    m = match_points(P, t)
    assert _pairs(m) == {(0, 1), (4, 2)}
    assert _pairs(match_points(P, t, replace=True, ratio=2)) == {(0, 1), (0, 2), (4, 1), (4, 2)}


def test_per_covariate_calipers_equal_brute_force(data) -> None:
    X, t = data
    P = transform_covariates(X, t).points
    C = X[["age", "admissions"]].to_numpy(dtype=float)
    widths = np.array([2.0, 0.0 + 1.0])
    m = covariate_match(X, t, calipers={"age": 2.0, "admissions": 1.0})
    assert _pairs(m) == _brute(P, t, C=C, widths=widths)
    tu = m.pairs["treated_index"].to_numpy()
    cu = m.pairs["control_index"].to_numpy()
    assert np.all(np.abs(C[tu] - C[cu]) <= widths)
    m2 = covariate_match(X, t, calipers={"age": 2.0}, replace=True, ratio=2)
    assert _pairs(m2) == _brute(P, t, C=C[:, :1], widths=widths[:1], replace=True, ratio=2)


def test_exact_matching_stratum_by_stratum(data) -> None:
    X, t = data
    P = transform_covariates(X, t).points
    strata = X["sex"].to_numpy()
    m = covariate_match(X, t, exact=strata)
    expected: set[tuple[int, int]] = set()
    for s in ("F", "M"):
        idx = np.flatnonzero(strata == s)
        sub = _brute(P[idx], t[idx])
        expected |= {(int(idx[a]), int(idx[b])) for a, b in sub}
    assert _pairs(m) == expected
    assert np.all(strata[m.pairs["treated_index"]] == strata[m.pairs["control_index"]])


def test_random_and_score_orders(data) -> None:
    X, t = data
    P = transform_covariates(X, t).points
    tu = np.flatnonzero(t)
    perm = np.random.default_rng(3).permutation(len(tu))
    m = match_points(P, t, order="random", rng=np.random.default_rng(3), ratio=2)
    assert _pairs(m) == _brute(P, t, visit=perm, ratio=2)
    score = X["age"].to_numpy(dtype=float) + 0.001 * np.arange(len(X))
    m = match_points(P, t, order="largest", order_score=score)
    assert _pairs(m) == _brute(P, t, visit=np.argsort(-score[tu], kind="stable"))


def test_weights_and_no_mutation(data) -> None:
    X, t = data
    before = X.copy()
    m = covariate_match(X, t, ratio=2)
    pd.testing.assert_frame_equal(X, before)
    assert m.distance == "mahalanobis"
    assert np.all(m.weights[m.pairs["treated_index"]] == 1.0)
    assert m.weights[~t].sum() == pytest.approx(m.n_matched_control)


def test_nothing_within_caliper_raises() -> None:
    X = pd.DataFrame({"age": [60.0, 70, 80, 90], "score": [1.0, 2, 4, 3]})
    t = np.array([1, 0, 1, 0])
    with pytest.raises(DesignError, match="within the calipers"):
        covariate_match(X, t, calipers={"age": 5.0})
    with pytest.raises(DesignError, match="within the calipers"):
        covariate_match(X, t, caliper=0.01)
