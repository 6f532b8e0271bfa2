"""impacteval.checks by hand: E-value edge cases, Rosenbaum bounds properties, negative controls."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from impacteval.checks import (
    CHECKS,
    e_value,
    evalue_for_estimate,
    evalue_ratio,
    negative_control_table,
    rosenbaum_wilcoxon,
)
from impacteval.exceptions import ConfigError, DesignError
from impacteval.results import EffectEstimate


def _est(outcome: str, est: float, lo: float, hi: float, scale: str = "rate_ratio",
         sample: str = "matched") -> EffectEstimate:
    return EffectEstimate(design="matched_cohort", estimator="x", outcome=outcome,
                          estimand="ATT", scale=scale, estimate=est, std_error=0.1,
                          ci_lower=lo, ci_upper=hi, p_value=0.04, n_treated=50, n_control=50,
                          details={"sample": sample})


def test_evalue_null_and_ci_crossing_null() -> None:
    assert e_value(1.0) == 1.0
    ev = evalue_ratio(1.2, 0.9, 1.6)  # CI includes 1: CI E-value is 1
    assert ev.ci == 1.0 and ev.rr_ci_limit == 0.9
    # by hand: 1.2 + sqrt(1.2 * 0.2) = 1.68990
    assert ev.point == pytest.approx(1.2 + math.sqrt(0.24))


def test_evalue_common_outcome_odds_ratio_uses_square_root() -> None:
    ev = evalue_ratio(4.0, 2.25, 9.0, scale="odds_ratio", rare=False)
    assert ev.rr == 2.0 and ev.rr_ci_limit == 1.5
    assert ev.point == pytest.approx(2 + math.sqrt(2))
    assert ev.ci == pytest.approx(1.5 + math.sqrt(0.75))


def test_evalue_shift_to_true_value() -> None:
    # EValue vignette: summary(evalues.RR(est = 2.5, true = 1.5)) -> ratio 2.5/1.5
    x = 2.5 / 1.5
    assert evalue_ratio(2.5, true=1.5).point == pytest.approx(x + math.sqrt(x * (x - 1)))


def test_evalue_errors() -> None:
    with pytest.raises(ConfigError, match="ratio scale"):
        evalue_ratio(1.2, scale="difference")
    with pytest.raises(ConfigError, match="positive"):
        e_value(-0.3)
    with pytest.raises(ConfigError, match="outside"):
        evalue_ratio(1.2, 1.3, 1.5)


def test_evalue_for_estimate_skips_difference_scale() -> None:
    assert evalue_for_estimate(_est("x", 3.0, 1.0, 5.0, scale="difference")) is None
    ev = evalue_for_estimate(_est("x", 0.75, 0.64, 0.88))
    assert ev is not None and ev.rr_ci_limit == 0.88
    assert ev.point == pytest.approx(1 / 0.75 + math.sqrt(1 / 0.75 * (1 / 0.75 - 1)))


def test_rosenbaum_bounds_monotone_and_direction() -> None:
    rng = np.random.default_rng(8)
    control = rng.poisson(3.0, 200)
    treated = rng.poisson(2.2, 200)  # the intervention reduces use
    res = rosenbaum_wilcoxon(treated, control, gammas=[1, 1.5, 2, 3], alternative="less")
    b = res.bounds
    assert (np.diff(b["p_upper"]) > 0).all() and (np.diff(b["p_lower"]) < 0).all()
    assert b.at[0, "p_upper"] == pytest.approx(b.at[0, "p_lower"])
    assert res.gamma_critical is not None and res.gamma_critical > 1
    # the same data tested in the wrong direction give a large p-value and no critical Gamma
    wrong = rosenbaum_wilcoxon(treated, control, gammas=[1], alternative="greater")
    assert wrong.bounds.at[0, "p_upper"] > 0.5 and wrong.gamma_critical is None
    # swapping the arms and the direction gives the same answer
    swapped = rosenbaum_wilcoxon(control, treated, gammas=[1, 1.5, 2, 3])
    pd.testing.assert_frame_equal(swapped.bounds, b)


def test_rosenbaum_does_not_mutate_inputs_and_errors() -> None:
    t = pd.Series([3.0, 1.0, 4.0, 1.0, 5.0])
    c = pd.Series([1.0, 1.0, 2.0, 0.0, 2.0])
    before = (t.copy(), c.copy())
    rosenbaum_wilcoxon(t, c)
    pd.testing.assert_series_equal(t, before[0])
    pd.testing.assert_series_equal(c, before[1])
    with pytest.raises(DesignError, match="equal length"):
        rosenbaum_wilcoxon([1.0, 2.0], [1.0])
    with pytest.raises(DesignError, match="missing"):
        rosenbaum_wilcoxon([1.0, np.nan, 3.0], [0.0, 1.0, 1.0])
    with pytest.raises(DesignError, match="non-zero"):
        rosenbaum_wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 2.0])
    with pytest.raises(ConfigError, match=">= 1"):
        rosenbaum_wilcoxon(t, c, gammas=[0.5])


def test_negative_control_table() -> None:
    ests = [_est("elective_hip", 1.02, 0.85, 1.22), _est("elective_hip", 1.5, 1.2, 1.9,
                                                          sample="unmatched"),
            _est("cataract", 0.70, 0.55, 0.89)]
    t = negative_control_table(ests, ["elective_hip", "cataract", "dental"])
    assert list(t["outcome"]) == ["elective_hip", "cataract", "dental"]
    assert list(t["excludes_null"]) == [False, True, None]
    assert t.at[0, "estimate"] == 1.02  # the matched estimate, not the naive one
    assert "residual confounding" in t.at[1, "verdict"]
    assert t.at[2, "verdict"] == "not estimated"


def test_registry_names() -> None:
    assert {"evalue", "rosenbaum_wilcoxon", "negative_control"} <= set(CHECKS)
    assert CHECKS.get("evalue") is evalue_for_estimate


def test_matched_pair_outcomes_rates_and_errors() -> None:
    from impacteval.checks import matched_pair_outcomes
    from impacteval.exceptions import SchemaError

    m = pd.DataFrame({"subclass": [2, 2, 1, 1], "treated": [1, 0, 0, 1],
                      "y": [3.0, 1.0, 4.0, 2.0], "py": [1.0, 2.0, 2.0, 0.5]})
    before = m.copy()
    t, c = matched_pair_outcomes(m, "y")
    assert list(t) == [2.0, 3.0] and list(c) == [4.0, 1.0]  # pair 1 first
    t, c = matched_pair_outcomes(m, "y", person_time="py")
    assert list(t) == [4.0, 3.0] and list(c) == [2.0, 0.5]
    pd.testing.assert_frame_equal(m, before)
    with pytest.raises(SchemaError, match="lacks"):
        matched_pair_outcomes(m, "z")
    with pytest.raises(DesignError, match="1:1"):
        matched_pair_outcomes(pd.concat([m, m.iloc[:1]]), "y")


def test_sensitivity_diagnostics_record_matches_the_report_shape() -> None:
    from impacteval.checks import sensitivity_diagnostics

    lead = pd.read_csv(
        __import__("pathlib").Path(__file__).resolve().parents[1]
        / "reference" / "data" / "lead_pairs.csv")
    matched = pd.DataFrame({
        "subclass": np.r_[lead["pair"], lead["pair"]],
        "treated": np.r_[np.ones(33, int), np.zeros(33, int)],
        "lead": np.r_[lead["treated"], lead["control"]],
    })
    rec = sensitivity_diagnostics(matched, ["lead"], alternative="greater",
                                  negative_control_outcomes=["cataract"])
    rb = rec["rosenbaum"]["lead"]
    assert rb["statistic"] == 499 and rb["n_pairs"] == 33  # Rosenbaum (2002) lead data
    assert rb["gamma_critical"] == pytest.approx(4.43464723376915, rel=1e-8)  # base R
    assert rec["negative_controls"] == {"outcomes": ["cataract"], "exposures": []}
