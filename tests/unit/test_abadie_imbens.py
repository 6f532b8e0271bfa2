"""Unit tests: matching with ties and the Abadie-Imbens variance, on hand-computed cases.

Expected numbers are worked by hand from the formulas in the module docstrings (Matching's
RmatchLoop: Kcount, KKcount, Var.calc = 0) for tiny data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.exceptions import ConfigError, DesignError
from impacteval.inference.abadie_imbens import abadie_imbens_att, weighted_pairs
from impacteval.matching.multivariate import match_points
from impacteval.matching.ties import inverse_variance_points, match_with_ties


def test_ties_within_tolerance_share_the_weight() -> None:
    P = np.array([[0.0], [1.0], [-1.0], [1.0 + 1e-7], [3.0], [2.9]])
    t = np.array([1, 0, 0, 0, 0, 1])
    p = match_with_ties(P, t)
    # treated 0: controls 1, 2 at squared distance 1 and 3 at 1 + 2e-7 (within 1e-5): 3 ties
    assert p[p.treated_index == 0]["control_index"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(p[p.treated_index == 0]["weight"], 1 / 3)
    assert p[p.treated_index == 5]["control_index"].tolist() == [4]
    # with tolerance 0 the tie at 1 + 2e-7 is dropped
    p0 = match_with_ties(P, t, tolerance=0.0)
    assert p0[p0.treated_index == 0]["control_index"].tolist() == [1, 2]


def test_M_nearest_plus_ties() -> None:
    P = np.array([[0.0], [1.0], [2.0], [-2.0], [5.0]])
    t = np.array([1, 0, 0, 0, 0])
    p = match_with_ties(P, t, M=2)
    assert p["control_index"].tolist() == [1, 2, 3]  # 2nd nearest tied at distance 2
    assert match_with_ties(P, t, M=10)["control_index"].tolist() == [1, 2, 3, 4]


def test_ai_variance_by_hand() -> None:
    # treated 0 -> control 2; treated 1 -> controls 2 and 3 (weight 1/2 each)
    y = np.array([10.0, 6.0, 4.0, 2.0])
    pairs = pd.DataFrame(
        {"treated_index": [0, 1, 1], "control_index": [2, 2, 3], "weight": [1.0, 0.5, 0.5]}
    )
    r = abadie_imbens_att(y, pairs)
    # pair effects 6, 2, 4; att = (6 + 0.5*2 + 0.5*4) / 2 = 4.5
    assert r.att == pytest.approx(4.5)
    # sigma2 = 0.5 * (1*(1.5)^2 + 0.5*(2.5)^2 + 0.5*(0.5)^2) / 2
    sigma2 = 0.5 * (2.25 + 0.5 * 6.25 + 0.5 * 0.25) / 2
    assert r.sigma2 == pytest.approx(sigma2)
    # K = (1.5, 0.5), KK = (1.25, 0.25); unit effects 6 and 3
    var = (sigma2 * ((1.5**2 - 1.25) + (0.5**2 - 0.25)) + (1.5**2 + 1.5**2)) / 4
    assert r.se == pytest.approx(np.sqrt(var))
    assert r.se_sample == pytest.approx(np.sqrt(sigma2 * (2 + 1.5**2 + 0.5**2) / 4))
    assert (r.n_treated, r.n_controls_used) == (2, 2)


def test_weighted_pairs_from_match_result() -> None:
    P = np.array([[0.0], [0.9], [-1.2], [4.0], [4.1]])
    t = np.array([1, 0, 0, 1, 0])
    m = match_points(P, t, replace=True, ratio=2)
    wp = weighted_pairs(m)
    assert wp["weight"].tolist() == [0.5, 0.5, 0.5, 0.5]
    r = abadie_imbens_att(np.array([5.0, 1.0, 3.0, 7.0, 2.0]), wp)
    assert r.att == pytest.approx(((5 - 2) + (7 - 1.5)) / 2)


def test_errors() -> None:
    P = np.array([[0.0], [1.0]])
    with pytest.raises(ConfigError, match="M must"):
        match_with_ties(P, np.array([1, 0]), M=0)
    with pytest.raises(DesignError, match="treated and control"):
        match_with_ties(P, np.array([1, 1]))
    pairs = pd.DataFrame({"treated_index": [0], "control_index": [1], "weight": [0.5]})
    with pytest.raises(DesignError, match="sum to 1"):
        abadie_imbens_att(np.array([1.0, 2.0]), pairs)
    with pytest.raises(DesignError, match="missing"):
        abadie_imbens_att(np.array([np.nan, 2.0]), pairs.assign(weight=1.0))


def test_inverse_variance_points() -> None:
    X = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    Z = inverse_variance_points(X)
    np.testing.assert_allclose(Z[:, 0], X[:, 0] / np.std(X[:, 0], ddof=1))
    assert np.all(np.isfinite(Z))
