"""Mahalanobis nearest-neighbour matching against R's MatchIt 4.5.1 on MatchIt's `lalonde`.

Source of every expected number: tests/reference/data/matchit_lalonde_mahalanobis.json, written
by tests/reference/scripts/matchit_lalonde_mahalanobis.R (MatchIt 4.5.1 with upstream's abs()
fix, built by tests/reference/scripts/build_matchit_fixed.sh; R 4.2.2 from Debian).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform

from impacteval.matching.distance import transform_covariates
from impacteval.matching.multivariate import covariate_match

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "matchit_lalonde_mahalanobis.json").read_text())


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_matchit.csv")


def test_mahalanobis_distances_equal_matchit(ref: dict, lalonde: pd.DataFrame) -> None:
    """MatchIt codes race with all three levels and uses a generalised inverse; we drop the
    first level: the Mahalanobis distance within the covariates' span is the same."""
    Z = transform_covariates(lalonde[COVARIATES], lalonde["treat"].to_numpy()).points
    ours = squareform(pdist(Z[:10]))
    np.testing.assert_allclose(ours, np.array(ref["dist_first10"]), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("mahalanobis", {}),
        ("mahalanobis_ratio2", {"ratio": 2}),
        ("mahalanobis_replace", {"replace": True}),
    ],
)
def test_pairs_and_weights_equal_matchit(
    ref: dict, lalonde: pd.DataFrame, case: str, options: dict
) -> None:
    m = covariate_match(lalonde[COVARIATES], lalonde["treat"].to_numpy(), **options)
    ids = lalonde["id"].to_numpy()
    got = set(zip(ids[m.pairs["treated_index"]], ids[m.pairs["control_index"]], strict=True))
    expected = {tuple(p) for p in ref[case]["pairs"]}
    assert got == expected
    np.testing.assert_allclose(m.weights, np.array(ref[case]["weights"]), rtol=1e-10)


def test_smd_after_equal_matchit(ref: dict, lalonde: pd.DataFrame) -> None:
    m = covariate_match(lalonde[COVARIATES], lalonde["treat"].to_numpy())
    _, after = m.balance(lalonde[COVARIATES])
    expected = ref["mahalanobis"]["smd_after"]
    got = dict(
        zip(after["covariate"].str.replace(r"[\[\]]", "", regex=True), after["smd"], strict=True)
    )
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-12), name
