"""Unit tests of impacteval.spc (rules, charts, labels, figures).

Numbers: small hand-made series whose flags follow from the rule definitions quoted in
impacteval.spc.rules; the Anhoej limits are the published table values (Anhoej & Olesen 2014,
Table 1: n = 24 -> longest run 8, crossings >= 8; n = 36 -> 8 and >= 13;
n = 10 -> 6 and >= 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.exceptions import ConfigError, SchemaError
from impacteval.spc import (
    anhoej,
    attribute_chart,
    mdc_rules,
    run_chart,
    run_chart_rules,
    save_figure,
    spc_figure,
    xmr_chart,
)


@pytest.mark.parametrize(("n", "run_max", "cross_min"), [(24, 8, 8), (36, 8, 13), (10, 6, 2)])
def test_anhoej_limits(n: int, run_max: int, cross_min: int) -> None:
    y = np.tile([1.0, -1.0], n // 2)
    r = anhoej(y, 0.0)
    assert (r.longest_run_max, r.n_crossings_min) == (run_max, cross_min)
    assert r.n_crossings == n - 1 and r.longest_run == 1 and not r.signal


def test_anhoej_ignores_points_on_the_centre_and_flags_long_runs() -> None:
    y = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, -1, -1], dtype=float)  # 0 = on the centre
    r = anhoej(y, 0.0)
    assert r.n_useful == 11 and r.longest_run == 9 and r.n_crossings == 1
    assert r.signal  # 9 > round(log2(11)) + 3 = 6


def test_perla_rules_skip_median_and_ties() -> None:
    # six points above the median with one point on it in between: still a shift
    y = np.array([5, 6, 6, 5, 6, 6, 6, 6, 1, 2, 3, 3, 4, 5, 0, 0])
    flags = run_chart_rules(y, median=5.0, shift_length=6, trend_length=5)
    assert flags["shift"][:8].sum() == 7  # points 1..7 (index 1..7) above or on the median
    assert not flags["shift"][0]
    # 1, 2, 3, 3, 4, 5 is a trend of five distinct increasing values (the tie is skipped)
    assert flags["trend"][8:14].all() and not flags["trend"][14:].any()


def test_mdc_rules_each_rule() -> None:
    n = 20
    centre = np.zeros(n)
    lower, upper = centre - 3, centre + 3
    near_lower, near_upper = centre - 2, centre + 2
    y = np.array([0.5, -0.5] * 10)
    y[3] = 3.5  # outside
    y[6:9] = [2.5, -0.1, 2.2]  # not two-in-three (one point below the centre)
    y[10:13] = [2.5, 0.1, 2.2]  # two in three above, the middle point not flagged
    r = mdc_rules(y, centre, lower, upper, near_lower, near_upper)
    assert r["special_cause"][3] == "outside" and r["direction"][3] == 1
    assert list(r["two_in_three"][10:13]) == [True, False, True]
    assert not r["two_in_three"][6:9].any()
    yy = np.array([-1, 1, 2, 3, 4, 5, 6, 7, 0.5, 0.6], dtype=float) * 0.1
    r2 = mdc_rules(yy, np.zeros(10), -np.ones(10) * 9, np.ones(10) * 9,
                   -np.ones(10) * 6, np.ones(10) * 6)
    assert r2["trend"][:8].all() and not r2["trend"][8:].any()
    # the shift of seven points above the centre (indices 1..7) is outranked by the trend
    assert r2["shift"][1:8].all() and list(r2["special_cause"][1:8]) == ["trend"] * 7


def _weekly(y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"week": pd.date_range("2022-01-03", periods=len(y), freq="7D"), "y": y})


def test_xmr_limits_and_rebase_by_hand() -> None:
    y = np.array([10, 12, 11, 13, 12, 11, 20, 22, 21, 23, 22, 21], dtype=float)
    df = _weekly(y)
    before = df.copy()
    chart = xmr_chart(df, x="week", y="y", rebase_at=[df["week"].iloc[6]], screen_outliers=False)
    pd.testing.assert_frame_equal(df, before)
    d = chart.data
    mr = np.abs(np.diff(y[:6])).mean()  # (2 + 1 + 2 + 1 + 1) / 5 = 1.4
    assert mr == pytest.approx(1.4)
    assert d["centre"].iloc[0] == pytest.approx(11.5)
    assert d["upper"].iloc[0] == pytest.approx(11.5 + 2.66 * 1.4)
    assert d["near_upper"].iloc[0] == pytest.approx(11.5 + 2 * 2.66 / 3 * 1.4)
    assert d["centre"].iloc[6] == pytest.approx(21.5)
    assert list(chart.parts["n_obs"]) == [6, 6]
    assert chart.parts["short_baseline"].all()


def test_xmr_screens_large_moving_ranges() -> None:
    y = np.array([10, 11, 10, 11, 10, 40, 10, 11, 10, 11, 10, 11], dtype=float)
    screened = xmr_chart(_weekly(y), x="week", y="y").data
    raw = xmr_chart(_weekly(y), x="week", y="y", screen_outliers=False).data
    assert screened["upper"].iloc[0] < raw["upper"].iloc[0]
    assert screened["outside"].iloc[5]


def test_variation_labels_follow_direction() -> None:
    y = np.r_[np.full(10, 10.0) + np.tile([0.3, -0.3], 5), 30.0]
    # limits fixed on the first 10 points, so the last point does not move the mean
    up = xmr_chart(_weekly(y), x="week", y="y", baseline=10,
                   improvement_direction="increase").data
    down = xmr_chart(_weekly(y), x="week", y="y", baseline=10,
                     improvement_direction="decrease").data
    neutral = xmr_chart(_weekly(y), x="week", y="y", baseline=10,
                        improvement_direction="neutral").data
    assert up["variation"].iloc[-1] == "special_cause_improvement"
    assert down["variation"].iloc[-1] == "special_cause_concern"
    assert neutral["variation"].iloc[-1] == "special_cause_neutral_high"
    assert (up["variation"].iloc[:10] == "common_cause").all()
    # without a baseline the outlier lifts the mean (to 130/11) and the tiny moving ranges
    # put the first ten points below the limits or near them: concerns when higher is better
    moved = xmr_chart(_weekly(y), x="week", y="y", improvement_direction="increase").data
    assert (moved["variation"].iloc[:10] == "special_cause_concern").all()


def test_assurance() -> None:
    y = np.r_[np.full(12, 10.0) + np.tile([0.5, -0.5], 6)]
    chart = xmr_chart(_weekly(y), x="week", y="y", improvement_direction="increase")
    hi = float(chart.data["upper"].iloc[-1])
    assert chart.assurance(hi + 1) == "consistent_fail"
    assert chart.assurance(0.0) == "consistent_pass"
    assert chart.assurance(10.0) == "inconsistent"
    with pytest.raises(ConfigError):
        run_chart(_weekly(y), x="week", y="y").assurance(10.0)


def test_p_chart_by_hand_and_clipping() -> None:
    df = pd.DataFrame({"m": range(6), "r": [1, 2, 0, 1, 3, 1], "n": [10, 20, 10, 10, 20, 10]})
    chart = attribute_chart(df, chart="p", x="m", numerator="r", denominator="n")
    d = chart.data
    c = 8 / 80
    assert d["centre"].iloc[0] == pytest.approx(c)
    assert d["upper"].iloc[0] == pytest.approx(c + 3 * np.sqrt(c * (1 - c) / 10))
    assert (d["lower"] == 0).all()  # clipped at 0
    u = attribute_chart(df, chart="u", x="m", numerator="r", denominator="n", multiply=1000)
    assert u.data["centre"].iloc[0] == pytest.approx(100.0)
    cc = attribute_chart(df, chart="c", x="m", numerator="r")
    assert cc.data["upper"].iloc[0] == pytest.approx(8 / 6 + 3 * np.sqrt(8 / 6))


def test_bad_inputs() -> None:
    df = pd.DataFrame({"m": range(6), "r": [1, 2, 0, 1, 3, 1], "n": [10, 20, 10, 10, 20, 10]})
    with pytest.raises(SchemaError):
        attribute_chart(df.assign(r=df["r"] + 20), chart="p", x="m", numerator="r",
                        denominator="n")
    with pytest.raises(ConfigError):
        attribute_chart(df, chart="p", x="m", numerator="r")
    with pytest.raises(ConfigError):
        attribute_chart(df, chart="c", x="m", numerator="r", laney=True)
    with pytest.raises(SchemaError):
        xmr_chart(pd.concat([df, df.iloc[:1]]), x="m", y="r")
    with pytest.raises(SchemaError):
        xmr_chart(df.assign(r=df["r"].astype(float).where(df["m"] != 2)), x="m", y="r")
    with pytest.raises(ConfigError):
        xmr_chart(df, x="m", y="r", rebase_at=[100])
    with pytest.raises(ConfigError):
        xmr_chart(df, x="m", y="r", improvement_direction="up")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        xmr_chart(df, x="m", y="r", baseline=1)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figures_written(tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    y = np.r_[np.random.default_rng(2).normal(10, 1, 20), np.arange(8) + 13.0]
    for chart in (xmr_chart(_weekly(y), x="week", y="y"), run_chart(_weekly(y), x="week", y="y")):
        fig = spc_figure(chart, title="t")
        path = save_figure(fig, tmp_path / f"{chart.chart}{suffix}")
        assert path.stat().st_size > 1000
    with pytest.raises(ConfigError):
        save_figure(fig, tmp_path / "x.pdf")


def test_save_chart_writes_png_svg_csv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from impacteval.spc import save_chart

    y = np.r_[np.random.default_rng(3).normal(10, 1, 24)]
    chart = xmr_chart(_weekly(y), x="week", y="y")
    paths = save_chart(chart, tmp_path / "out", "xmr")
    assert {p.suffix for p in paths.values()} == {".png", ".svg", ".csv"}
    back = pd.read_csv(paths["csv"])
    assert len(back) == 24 and "variation" in back.columns


def test_runs_test_matches_enumeration() -> None:
    """Exact runs distribution against brute-force enumeration of all arrangements."""
    from itertools import combinations

    from impacteval.spc import runs_test

    n1, n2 = 5, 4
    counts: dict[int, int] = {}
    for above in combinations(range(n1 + n2), n1):
        s = np.where(np.isin(np.arange(n1 + n2), above), 1, -1)
        r = 1 + int(np.sum(s[1:] != s[:-1]))
        counts[r] = counts.get(r, 0) + 1
    total = sum(counts.values())
    y = np.array([1, 1, 1, 1, 1, -1, -1, -1, -1], dtype=float)  # 2 runs
    t = runs_test(y, 0.0)
    assert t.n_runs == 2 and (t.n_above, t.n_below) == (5, 4)
    assert t.p_too_few == pytest.approx(counts[2] / total)
    assert t.too_few and not t.too_many  # 2/126 = 0.016 <= 0.025
    alt = runs_test(np.array([1, -1, 1, -1, 1, -1, 1, -1, 1], dtype=float), 0.0)
    assert alt.n_runs == 9
    assert alt.p_too_many == pytest.approx(counts[9] / total)
    chart = run_chart(_weekly(y + 5), x="week", y="y")
    assert {"n_runs", "too_few_runs", "too_many_runs"} <= set(chart.parts.columns)
