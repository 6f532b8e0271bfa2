"""Unit tests: MatchedMeanDifference options, errors and hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.base import ESTIMATORS
from impacteval.estimators.regression import MatchedMeanDifference
from impacteval.exceptions import ConfigError, EstimationError


@pytest.fixture
def pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [5.0, 7, 6, 9, 3, 4, 2, 5],
            "t": [1, 1, 1, 1, 0, 0, 0, 0],
            "x": [1.0, 2, 0, 3, 1, 2, 0, 2],
            "pair": [1, 2, 3, 4, 1, 2, 3, 4],
            "w": [1.0, 1, 1, 1, 1, 1, 1, 0],
        }
    )


def test_registered() -> None:
    assert ESTIMATORS.get("matched_mean_difference") is MatchedMeanDifference


def test_weighted_difference_in_means(pairs: pd.DataFrame) -> None:
    est = MatchedMeanDifference().fit(pairs, outcome="y", treatment="t", weights="w")
    # the zero-weight control is dropped: 27/4 - 9/3
    assert est.estimate == pytest.approx(27 / 4 - 3.0)
    assert est.n_control == 3 and est.details["mean_control"] == pytest.approx(3.0)
    assert est.ci_lower < est.estimate < est.ci_upper


def test_pair_clustered_se_is_paired_se_for_1_to_1() -> None:
    """1:1 pairs, HC0 with G/(G-1): the SE is the paired-difference SE, sd(d)/sqrt(G)."""
    rng = np.random.default_rng(2)
    g = 30
    y1, y0 = rng.normal(2, 1, g), rng.normal(0, 1, g)
    df = pd.DataFrame(
        {
            "y": np.r_[y1, y0],
            "t": np.r_[np.ones(g), np.zeros(g)],
            "pair": np.r_[1 : g + 1, 1 : g + 1],
        }
    )
    est = MatchedMeanDifference(covariance="HC0").fit(
        df, outcome="y", treatment="t", clusters=["pair"]
    )
    d = y1 - y0
    assert est.estimate == pytest.approx(d.mean())
    assert est.std_error == pytest.approx(d.std(ddof=1) / np.sqrt(g), rel=1e-10)


def test_adjusted_without_interactions_is_the_treatment_coefficient(pairs: pd.DataFrame) -> None:
    est = MatchedMeanDifference(interactions=False).fit(
        pairs, outcome="y", treatment="t", covariates=["x"]
    )
    D = np.column_stack([np.ones(8), pairs["t"], pairs["x"]])
    b = np.linalg.lstsq(D, pairs["y"].to_numpy(), rcond=None)[0]
    assert est.estimate == pytest.approx(b[1])
    assert est.details["marginal"] is True


def test_errors(pairs: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="covariance"):
        MatchedMeanDifference(covariance="HC3")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ci_level"):
        MatchedMeanDifference(ci_level=1.5)
    with pytest.raises(EstimationError, match="not in the data"):
        MatchedMeanDifference().fit(pairs, outcome="z", treatment="t")
    with pytest.raises(EstimationError, match="control arm"):
        MatchedMeanDifference().fit(
            pairs.assign(w=pairs["t"] * 1.0), outcome="y", treatment="t", weights="w"
        )
    with pytest.raises(ConfigError, match="one or two"):
        MatchedMeanDifference().fit(pairs, outcome="y", treatment="t", clusters=["pair", "x", "w"])


def test_risk_contrast_plain_is_difference_of_proportions(pairs: pd.DataFrame) -> None:
    from impacteval.estimators.regression import MatchedRiskContrast

    df = pairs.assign(event=[1, 0, 1, 1, 0, 1, 0, 0])
    rd = MatchedRiskContrast().fit(df, outcome="event", treatment="t", clusters=["pair"])
    assert rd.estimate == pytest.approx(0.75 - 0.25, abs=1e-9)
    rr = MatchedRiskContrast(contrast="risk_ratio").fit(df, outcome="event", treatment="t")
    assert rr.estimate == pytest.approx(3.0, rel=1e-9)


def test_risk_contrast_errors(pairs: pd.DataFrame) -> None:
    from impacteval.estimators.regression import MatchedRiskContrast

    with pytest.raises(EstimationError, match="must be 0/1"):
        MatchedRiskContrast().fit(pairs, outcome="y", treatment="t")
    with pytest.raises(EstimationError, match="no variation"):
        MatchedRiskContrast().fit(
            pairs.assign(e=[1, 1, 1, 1, 0, 1, 0, 0]), outcome="e", treatment="t"
        )
    # x perfectly separates the outcome within the treated arm: no MLE
    sep = pairs.assign(e=[1, 1, 0, 1, 0, 1, 0, 1], x=[1.0, 2, 0, 3, 1, 2, 0, 2])
    with pytest.raises(EstimationError, match="converge"):
        MatchedRiskContrast().fit(sep, outcome="e", treatment="t", covariates=["x"])
    with pytest.raises(ConfigError, match="contrast"):
        MatchedRiskContrast(contrast="odds")  # type: ignore[arg-type]
