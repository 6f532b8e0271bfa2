"""Result records are immutable and JSON-ready; the registry suggests near names."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from impacteval.exceptions import ConfigError
from impacteval.registry import Registry
from impacteval.results import EffectEstimate, jsonable


def _estimate(**kw) -> EffectEstimate:
    base = dict(design="matched_cohort", estimator="matched_rate_ratio", outcome="y", estimand="ATT",
                scale="rate_ratio", estimate=0.8, std_error=0.1, ci_lower=0.66, ci_upper=0.97,
                p_value=0.03, n_treated=100, n_control=100, details={"rate_control": np.float64(1.5)})
    base.update(kw)
    return EffectEstimate(**base)


def test_effect_estimate_is_immutable_including_details() -> None:
    est = _estimate()
    with pytest.raises(AttributeError):
        est.estimate = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        est.details["rate_control"] = 2.0  # type: ignore[index]


def test_to_dict_is_plain_json_and_nan_becomes_null() -> None:
    est = _estimate(p_value=float("nan"), details={"a": np.int64(3), "b": [np.float32(0.5)]})
    d = est.to_dict()
    text = json.dumps(d)  # raises if anything is not JSON-native
    assert d["p_value"] is None and d["details"] == {"a": 3, "b": [0.5]}
    assert "NaN" not in text


def test_tidy_is_one_row_without_details() -> None:
    row = _estimate().tidy()
    assert len(row) == 1 and "details" not in row.columns
    assert math.isclose(row.loc[0, "estimate"], 0.8)


def test_jsonable_handles_nested_numpy() -> None:
    assert jsonable({"x": (np.float64(np.inf), np.bool_(True))}) == {"x": [None, True]}


def test_registry_suggests_the_nearest_name() -> None:
    reg: Registry[int] = Registry("estimator")
    reg.register("matched_rate_ratio", 1)
    with pytest.raises(ConfigError, match="did you mean 'matched_rate_ratio'"):
        reg.get("matched_rate_rato", where="analysis.estimator")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("matched_rate_ratio", 2)
    assert reg.names() == ["matched_rate_ratio"] and "matched_rate_ratio" in reg


def test_builtin_estimators_are_registered_on_first_lookup() -> None:
    from impacteval.estimators import ESTIMATORS

    assert {"matched_rate_ratio", "regression_discontinuity", "instrumental_variables"} <= set(
        ESTIMATORS.names())


def test_re_registering_the_same_class_is_allowed_but_not_a_different_one() -> None:
    reg: Registry[type] = Registry("estimator")

    class A:
        pass

    reg.register("a", A)
    reg.register("a", A)  # a notebook cell run twice

    class B:
        pass

    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", B)
