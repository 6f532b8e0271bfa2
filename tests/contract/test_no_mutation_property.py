"""Property: the matched-cohort estimators never mutate their input, whatever its shape."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from impacteval.estimators.regression import MatchedMeanDifference, MatchedRateRatio
from impacteval.testing.strategies import cohort_frames

COVARIATES = ["age", "female", "frailty"]


@pytest.mark.parametrize("estimator", [MatchedRateRatio(), MatchedMeanDifference()],
                         ids=lambda e: type(e).__name__)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=cohort_frames())
def test_fit_never_mutates_and_ignores_row_order(estimator: object,
                                                 frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    roles = {"outcome": "emergency_admissions", "treatment": "treated",
             "covariates": COVARIATES}
    if isinstance(estimator, MatchedRateRatio):
        roles["exposure"] = "person_years"
    first = estimator.fit(frame, **roles)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    # the estimate does not depend on the row order or the index
    reordered = frame.iloc[::-1].reset_index(drop=True)
    again = estimator.fit(reordered, **roles)  # type: ignore[attr-defined]
    assert again.estimate == pytest.approx(first.estimate, rel=1e-9)
