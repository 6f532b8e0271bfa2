"""check_estimator itself: it passes a well-behaved estimator and catches each broken rule."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from impacteval.exceptions import ConfigError, EstimationError
from impacteval.results import EffectEstimate
from impacteval.testing import EstimatorCheckError, check_estimator, simulate_matched_cohort


def _difference(data: pd.DataFrame, outcome: str, treatment: str, shift: float = 0.0,
                **fields: Any) -> EffectEstimate:
    for col in (outcome, treatment):
        if col not in data.columns:
            raise EstimationError(f"column {col!r} not in the data", where=f"toy.{col}")
    y, t = data[outcome].to_numpy(float), data[treatment].to_numpy() == 1
    est = y[t].mean() - y[~t].mean() + shift
    se = math.sqrt(y[t].var(ddof=1) / t.sum() + y[~t].var(ddof=1) / (~t).sum())
    values: dict[str, Any] = dict(
        design="toy", estimator="difference", outcome=outcome, estimand="ATE",
        scale="difference", estimate=est, std_error=se, ci_lower=est - 1.96 * se,
        ci_upper=est + 1.96 * se, p_value=0.5, n_treated=int(t.sum()), n_control=int((~t).sum()))
    values.update(fields)
    return EffectEstimate(**values)


@dataclass(frozen=True, kw_only=True)
class Good:
    design: str = "toy"

    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        return _difference(data, outcome, treatment)


@dataclass(frozen=True, kw_only=True)
class Mutates(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        data[outcome] = data[outcome] * 1.0  # changes the dtype of the caller's column
        return _difference(data, outcome, treatment)


@dataclass(frozen=True, kw_only=True)
class Random(Good):
    seed: int = 0

    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        noise = np.random.default_rng().normal()  # ignores self.seed: not reproducible
        return _difference(data, outcome, treatment, shift=noise * 1e-3)


@dataclass(frozen=True, kw_only=True)
class Seeded(Good):
    seed: int = 0

    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        noise = np.random.default_rng(self.seed).normal()
        return _difference(data, outcome, treatment, shift=noise * 1e-3)


@dataclass(frozen=True, kw_only=True)
class KeyErrors(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        y, t = data[outcome], data[treatment]  # KeyError when a column is missing
        return _difference(pd.DataFrame({outcome: y, treatment: t}), outcome, treatment)


@dataclass(frozen=True, kw_only=True)
class NoWhere(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        if outcome not in data.columns:
            raise ConfigError("outcome missing")
        return _difference(data, outcome, treatment)


@dataclass(frozen=True, kw_only=True)
class Leaky(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        if outcome not in data.columns:
            first = data["person_id"].iloc[0]
            raise EstimationError(f"no outcome for person {first}", where="toy.outcome")
        return _difference(data, outcome, treatment)


@dataclass(frozen=True, kw_only=True)
class Incomplete(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> EffectEstimate:
        base = _difference(data, outcome, treatment)
        return replace(base, std_error=math.nan, ci_lower=base.ci_upper + 1.0, scale="log",
                       p_value=1.5)


@dataclass(frozen=True, kw_only=True)
class NotARecord(Good):
    def fit(self, data: pd.DataFrame, *, outcome: str, treatment: str) -> Any:
        return {"estimate": 1.0}


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, dict[str, str]]:
    s = simulate_matched_cohort(400, seed=11)
    return s.data, {"outcome": "emergency_admissions", "treatment": "treated"}


def test_good_estimator_passes(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    report = check_estimator(Good(), data, roles)
    assert report.passed == (
        "returns EffectEstimate", "does not mutate data", "does not mutate roles",
        "does not mutate the estimator", "deterministic for a seed", "complete result record",
        "clear error on a missing role column")


def test_mutation_is_caught(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError, match="mutated its input data"):
        check_estimator(Mutates(), data.copy(), roles)


def test_unseeded_randomness_is_caught(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError, match="not deterministic"):
        check_estimator(Random(), data, roles)
    assert "deterministic for a seed" in check_estimator(Seeded(), data, roles).passed


def test_keyerror_on_missing_role_is_caught(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError) as info:
        check_estimator(KeyErrors(), data, roles)
    assert any("raised KeyError" in f for f in info.value.failures)
    assert len(info.value.failures) == 2  # one per role


def test_error_without_where_is_caught(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError) as info:
        check_estimator(NoWhere(), data, roles)
    # outcome: no where=; treatment: the toy's own EstimationError has where=
    assert info.value.failures == ("missing outcome column: the error has no where=",)


def test_error_repeating_an_identifier_is_caught(
        study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError) as info:
        check_estimator(Leaky(), data, roles)
    assert info.value.failures == (
        "missing outcome column: the error message repeats a value from the data",)


def test_incomplete_record_lists_every_problem(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError) as info:
        check_estimator(Incomplete(), data, roles)
    text = "\n".join(info.value.failures)
    for expected in ("scale 'log'", "std_error is not finite", "p_value outside",
                     "ci_lower > ci_upper", "estimate outside"):
        assert expected in text
    # allow_nan and estimate_in_ci relax exactly those checks
    with pytest.raises(EstimatorCheckError) as info:
        check_estimator(Incomplete(), data, roles, allow_nan=("std_error",), estimate_in_ci=False)
    assert "std_error is not finite" not in "\n".join(info.value.failures)


def test_wrong_return_type_is_caught(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    with pytest.raises(EstimatorCheckError, match="not EffectEstimate"):
        check_estimator(NotARecord(), data, roles)


def test_recovery_with_ci_and_with_tolerance(study: tuple[pd.DataFrame, dict[str, str]]) -> None:
    data, roles = study
    est = check_estimator(Good(), data, roles).estimate
    assert "recovers truth" in check_estimator(Good(), data, roles, truth=est.estimate).passed
    far = est.ci_upper + 1.0
    with pytest.raises(EstimatorCheckError, match="outside the CI"):
        check_estimator(Good(), data, roles, truth=far)
    with pytest.raises(EstimatorCheckError, match="tolerance"):
        check_estimator(Good(), data, roles, truth=est.estimate + 0.2, tolerance=0.1)


def test_simulated_cohort_is_confounded_and_deterministic() -> None:
    a = simulate_matched_cohort(3000, rate_ratio=0.75, seed=5)
    b = simulate_matched_cohort(3000, rate_ratio=0.75, seed=5)
    pd.testing.assert_frame_equal(a.data, b.data)
    d = a.data
    # treated residents are older and frailer (the simulator's confounding) ...
    assert d.loc[d.treated == 1, "frailty"].mean() > d.loc[d.treated == 0, "frailty"].mean() + 1
    rate = d.groupby("treated")[["emergency_admissions", "person_years"]].sum()
    crude = (rate.loc[1].iloc[0] / rate.loc[1].iloc[1]) / (rate.loc[0].iloc[0] / rate.loc[0].iloc[1])
    # ... so the crude rate ratio is biased towards 1 and above the truth
    assert crude > a.truth + 0.1


def test_simulators_reject_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="rate_ratio"):
        simulate_matched_cohort(500, rate_ratio=-1.0)
    with pytest.raises(ConfigError, match="at least 200"):
        simulate_matched_cohort(10)
