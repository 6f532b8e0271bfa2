"""SeveralTreated: aggregation weights, exhaustive placebo assignments, fast path = long-table
path, and the errors when inference is not identified."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.synthetic import (
    AugmentedSyntheticControl,
    SeveralTreated,
    SyntheticControl,
    SyntheticControlWarning,
    SyntheticDiD,
)
from impacteval.estimators.synthetic.panel import build_panel
from impacteval.estimators.synthetic.several import _matrix_unit, fit_unit
from impacteval.exceptions import ConfigError, DesignError
from impacteval.testing import simulate_panel

ROLES = {"unit": "area", "time": "period", "outcome": "y", "treatment": "treatment"}


def _data(n_units: int = 14, share: float = 0.15, adoption: tuple[int, ...] = (7, 10)
          ) -> pd.DataFrame:
    return simulate_panel(n_units, 14, effect=5.0, treated_share=share, adoption=adoption,
                          loading_sd=0.5, seed=4).data


def _fit(est: SeveralTreated, data: pd.DataFrame):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        return est.fit_details(data, **ROLES)


def test_att_is_the_post_period_weighted_mean_of_unit_effects() -> None:
    res = _fit(SeveralTreated(draws=19), _data())
    u = res.units
    assert u["weight"].sum() == pytest.approx(1.0)
    assert np.allclose(u["weight"], u["n_post_periods"] / u["n_post_periods"].sum())
    assert res.att == pytest.approx(float((u["weight"] * u["att"]).sum()))
    assert set(u["adoption_time"]) == {7, 10}


def test_one_treated_unit_uses_every_donor_once() -> None:
    data = _data(12, 0.09, (8,))
    res = _fit(SeveralTreated(draws=100), data)
    n0 = res.n_donors
    assert res.exhaustive and res.placebo_aggregates.size == n0
    expected = (1 + np.sum(np.abs(res.placebo_aggregates) >= abs(res.att))) / (1 + n0)
    assert res.p_value == pytest.approx(expected)
    assert np.allclose(np.sort(res.placebo_aggregates), np.sort(res.placebo_units["att"]))


def test_exhaustive_when_assignments_are_few() -> None:
    res = _fit(SeveralTreated(draws=10_000), _data(8, 0.25, (7, 10)))
    k, n0 = len(res.units), res.n_donors
    assert res.exhaustive and res.placebo_aggregates.size == math.perm(n0, k)


@pytest.mark.parametrize("base", [SyntheticControl(placebos=False), SyntheticDiD()])
def test_matrix_fast_path_matches_the_long_table_fit(base: SyntheticControl | SyntheticDiD
                                                     ) -> None:
    data = _data(12, 0.09, (8,))
    panel, _ = build_panel(data, where="t", **ROLES)
    slow = fit_unit(base, data, **ROLES)
    fast = _matrix_unit(base, panel.y[:panel.n_control], panel.y[panel.n_control],
                        panel.adoption[0], np.random.default_rng(0))
    assert fast is not None
    assert fast[0] == pytest.approx(slow.att, abs=1e-10)
    assert fast[1] == pytest.approx(slow.pre_rmspe, abs=1e-10)
    assert np.allclose(fast[2], slow.path["synthetic"].to_numpy())


def test_augmented_base_runs_through_the_long_table() -> None:
    res = _fit(SeveralTreated(base=AugmentedSyntheticControl(), draws=19), _data())
    assert math.isfinite(res.att) and res.ci_lower < res.att < res.ci_upper


def test_too_few_donors_for_the_placebo_distribution() -> None:
    data = _data(4, 0.5, (7, 10))  # 2 treated, 2 donors
    with pytest.raises(DesignError, match="more donors than treated"):
        _fit(SeveralTreated(draws=19), data)


def test_short_pre_period_is_an_error() -> None:
    with pytest.raises(DesignError, match="pre-treatment period"):
        _fit(SeveralTreated(draws=19, min_pre_periods=8), _data())


def test_parameters_are_checked() -> None:
    with pytest.raises(ConfigError, match="draws"):
        SeveralTreated(draws=5)
    with pytest.raises(ConfigError, match="base"):
        SeveralTreated(base="classic")  # type: ignore[arg-type]


def test_poor_fit_warns() -> None:
    data = _data()
    treated = data["cohort"] > 0
    data = data.assign(y=data["y"].where(~treated | (data["period"] % 2 == 0),
                                         data["y"] + 30))
    with pytest.warns(SyntheticControlWarning, match="poor pre-period fit"):
        SeveralTreated(draws=19).fit_details(data, **ROLES)
