"""Unit tests: balance statistics (hand-computed examples), balance summary and figures."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from impacteval.exceptions import DesignError
from impacteval.matching import balance_summary, balance_table, love_plot, overlap_plot

# treated: age 70, 80, 90; control: 60, 70, 80, 100 (hand calculations in each test)
X = pd.DataFrame(
    {
        "age": [70.0, 80, 90, 60, 70, 80, 100],
        "male": [1, 0, 1, 0, 0, 1, 0],
        "region": ["N", "S", "S", "N", "N", "N", "S"],
    }
)
T = np.array([1, 1, 1, 0, 0, 0, 0])


def _row(tab: pd.DataFrame, name: str) -> pd.Series:
    return tab.set_index("covariate").loc[name]


def test_att_smd_uses_treated_sd() -> None:
    row = _row(balance_table(X, T), "age")
    # means 80 and 77.5; treated SD = 10 (variance (100 + 0 + 100) / 2)
    assert row["mean_treated"] == pytest.approx(80.0)
    assert row["mean_control"] == pytest.approx(77.5)
    assert row["smd"] == pytest.approx(2.5 / 10)
    # variance ratio 100 / var(60, 70, 80, 100) = 100 / (875 / 3)
    assert row["variance_ratio"] == pytest.approx(100 / (875 / 3))


def test_ate_smd_uses_pooled_sd() -> None:
    row = _row(balance_table(X, T, estimand="ATE"), "age")
    assert row["smd"] == pytest.approx(2.5 / np.sqrt((100 + 875 / 3) / 2))


def test_binary_covariates_standardised_by_p_one_minus_p() -> None:
    tab = balance_table(X, T)
    row = _row(tab, "male")
    p1, p0 = 2 / 3, 1 / 4
    assert row["type"] == "binary"
    assert row["smd"] == pytest.approx((p1 - p0) / np.sqrt(p1 * (1 - p1)))
    assert np.isnan(row["variance_ratio"])
    assert row["ecdf_mean"] == row["ecdf_max"] == pytest.approx(p1 - p0)
    raw = _row(balance_table(X, T, binary="raw"), "male")
    assert raw["smd"] == pytest.approx(p1 - p0)


def test_categorical_expands_to_every_level() -> None:
    tab = balance_table(X, T)
    assert tab["covariate"].tolist() == ["age", "male", "region[N]", "region[S]"]
    assert _row(tab, "region[N]")["mean_treated"] == pytest.approx(1 / 3)


def test_ecdf_statistics_by_hand() -> None:
    # distinct ages 60, 70, 80, 90, 100; F_t = 0, 1/3, 2/3, 1, 1; F_c = 1/4, 1/2, 3/4, 3/4, 1
    diffs = np.array([1 / 4, 1 / 6, 1 / 12, 1 / 4, 0])
    row = _row(balance_table(X, T), "age")
    assert row["ecdf_mean"] == pytest.approx(diffs.mean())
    assert row["ecdf_max"] == pytest.approx(0.25)
    assert row["ks"] == row["ecdf_max"]


def test_weights_change_means_but_not_the_smd_denominator() -> None:
    w = np.array([1, 1, 1, 0, 2, 1, 0], dtype=float)  # controls 70 (x2) and 80
    row = _row(balance_table(X, T, w), "age")
    assert row["mean_control"] == pytest.approx((2 * 70 + 80) / 3)
    assert row["smd"] == pytest.approx((80 - 220 / 3) / 10)
    # weighted control variance, reliability weights: w = (2/3, 1/3), mean 73.33
    wn = np.array([2 / 3, 1 / 3])
    v0 = np.sum(wn * (np.array([70, 80]) - 220 / 3) ** 2) / (1 - np.sum(wn**2))
    assert row["variance_ratio"] == pytest.approx(100 / v0)


def test_invalid_weights_and_arms() -> None:
    with pytest.raises(DesignError, match="non-negative"):
        balance_table(X, T, np.array([1, 1, 1, -1, 1, 1, 1.0]))
    with pytest.raises(DesignError, match="positive weight"):
        balance_table(X, T, np.array([1, 1, 1, 0, 0, 0, 0.0]))
    with pytest.raises(DesignError, match="treated and control"):
        balance_table(X, np.ones(7))


def test_balance_summary_flags() -> None:
    before = balance_table(X, T)
    after = balance_table(X, T, np.array([1, 1, 1, 0, 2, 1, 0], dtype=float))
    s = balance_summary(before, after, smd_threshold=0.1, labels={"age": "Age (years)"})
    assert s.set_index("covariate").loc["age", "label"] == "Age (years)"
    np.testing.assert_array_equal(s["balanced_smd"], np.abs(s["smd_after"]) <= 0.1)
    assert bool(s.set_index("covariate").loc["male", "balanced_variance_ratio"])  # binary: no VR


def test_figures_are_figures_without_pyplot_state() -> None:
    before = balance_table(X, T)
    after = balance_table(X, T, np.array([1, 1, 1, 0, 2, 1, 0], dtype=float))
    fig = love_plot(before, after, threshold=0.1, labels={"age": "Age (years)"})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == {"Age (years)", "male", "region[N]", "region[S]"}
    assert any(list(line.get_xdata()) == [0.1, 0.1] for line in ax.get_lines())
    fig2 = overlap_plot(np.linspace(0.05, 0.95, 7), T)
    assert isinstance(fig2, Figure)
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # nothing registered with pyplot
    assert matplotlib.get_backend()  # no GUI needed to save
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_separating_covariate_gives_infinite_smd() -> None:
    """MatchIt divides by a zero SD too: a covariate that separates the arms has SMD +-inf."""
    tab = balance_table(pd.DataFrame({"b": [0, 0, 0, 1]}), np.array([0, 0, 0, 1]))
    assert tab["smd"].iloc[0] == np.inf
