"""The synthetic control family keeps the estimator contract (``check_estimator``)."""

from __future__ import annotations

import warnings

import pytest

from impacteval.estimators.synthetic import (
    AugmentedSyntheticControl,
    SyntheticControl,
    SyntheticDiD,
)
from impacteval.testing.check import check_estimator
from impacteval.testing.simulate import simulate_panel

ROLES = {"unit": "area", "time": "period", "outcome": "y", "treatment": "treatment"}
NO_INTERVAL = ("std_error", "ci_lower", "ci_upper")


@pytest.mark.parametrize(
    ("estimator", "allow_nan"),
    [
        (SyntheticControl(), NO_INTERVAL),
        (AugmentedSyntheticControl(), (*NO_INTERVAL, "p_value")),
        (SyntheticDiD(replications=20), ()),
    ],
    ids=["synthetic_control", "augmented_synthetic_control", "synthetic_did"],
)
def test_check_estimator(estimator: object, allow_nan: tuple[str, ...]) -> None:
    # 15 areas, one treated from period 14 of 20, effect 5 (simulate_panel's truth); areas
    # load on a common factor (loading SD 0.5), so only a weighted comparison fits
    study = simulate_panel(n_units=15, n_periods=20, treated_share=1 / 15, adoption=(14,),
                           loading_sd=0.5, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator, study.data, ROLES, allow_nan=allow_nan, truth=study.truth,
                        tolerance=3.0)
