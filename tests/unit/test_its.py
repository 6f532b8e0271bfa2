"""Unit tests of the interrupted time series estimator (impacteval.estimators.its).

Numbers: noiseless series built here from stated coefficients (the fit must return them to
numerical precision); closed forms stated next to each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.base import ESTIMATORS
from impacteval.estimators.its import (
    InterruptedTimeSeries,
    autocorrelation_diagnostics,
    its_plot,
)
from impacteval.exceptions import ConfigError, DesignError, SchemaError


def _series(n: int = 48, t0: int = 24, level: float = -5.0, slope: float = 0.4,
            noise: float = 0.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    post = t >= t0
    y = 50 + 0.5 * t + level * post + slope * (t - t0) * post + noise * rng.standard_normal(n)
    return pd.DataFrame({"t": t, "y": y})


def test_registered() -> None:
    assert ESTIMATORS.get("interrupted_time_series") is InterruptedTimeSeries


def test_noiseless_level_and_slope_recovered_exactly() -> None:
    df = _series(noise=0.0)
    before = df.copy()
    res = InterruptedTimeSeries(errors="iid").fit_series(
        df, outcome="y", time="t", interruptions=[24]
    )
    pd.testing.assert_frame_equal(df, before)  # input not modified
    eff = res.effects.set_index("effect")
    assert eff.loc["level", "estimate"] == pytest.approx(-5.0, abs=1e-9)
    assert eff.loc["slope", "estimate"] == pytest.approx(0.4, abs=1e-10)
    # cumulative = sum over post periods of level + slope * (t - 24), t = 24..47
    k = np.arange(24)
    assert eff.loc["cumulative", "estimate"] == pytest.approx(np.sum(-5.0 + 0.4 * k), abs=1e-8)
    assert eff.loc["average", "estimate"] == pytest.approx(np.mean(-5.0 + 0.4 * k), abs=1e-9)
    s = res.series
    pre = ~s["post"]
    np.testing.assert_allclose(s.loc[pre, "counterfactual"], s.loc[pre, "fitted"])
    # counterfactual continues the pre-period line 50 + 0.5 t
    np.testing.assert_allclose(s["counterfactual"], 50 + 0.5 * s["t"], atol=1e-8)
    assert res.estimate.n_control == 24 and res.estimate.n_treated == 24


def test_headline_effect_choice() -> None:
    df = _series(noise=1.0)
    model = InterruptedTimeSeries(errors="iid", effect="slope")
    est = model.fit(df, outcome="y", time="t", interruptions=[24])
    res = model.fit_series(df, outcome="y", time="t", interruptions=[24])
    assert est.estimate == res.effects.set_index("effect").loc["slope", "estimate"]
    assert est.ci_lower < est.estimate < est.ci_upper


def test_two_interruptions() -> None:
    t = np.arange(60, dtype=float)
    y = 10 + 0.2 * t + 3 * (t >= 20) + 0.1 * (t - 20) * (t >= 20) - 4 * (t >= 40) \
        - 0.3 * (t - 40) * (t >= 40)
    res = InterruptedTimeSeries(errors="iid").fit_series(
        pd.DataFrame({"t": t, "y": y}), outcome="y", time="t", interruptions=[20, 40]
    )
    e = res.effects.set_index(["effect", "interruption"])["estimate"]
    assert e[("level", 1)] == pytest.approx(3.0, abs=1e-9)
    assert e[("slope", 1)] == pytest.approx(0.1, abs=1e-10)
    assert e[("level", 2)] == pytest.approx(-4.0, abs=1e-9)
    assert e[("slope", 2)] == pytest.approx(-0.3, abs=1e-10)


def test_phase_in_excluded_rows_do_not_matter() -> None:
    df = _series(noise=0.0)
    df.loc[(df["t"] >= 24) & (df["t"] < 27), "y"] = 1e3  # garbage during implementation
    res = InterruptedTimeSeries(errors="iid", phase_in=3).fit_series(
        df, outcome="y", time="t", interruptions=[24]
    )
    e = res.effects.set_index("effect")["estimate"]
    # the segment now starts at 27: level there = -5 + 0.4 * 3, slope unchanged
    assert e["level"] == pytest.approx(-5.0 + 1.2, abs=1e-8)
    assert e["slope"] == pytest.approx(0.4, abs=1e-10)
    assert int((~res.series["used"]).sum()) == 3
    assert res.series["in_phase_in"].sum() == 3


def test_phase_in_ramp_recovered() -> None:
    t = np.arange(40, dtype=float)
    ramp = np.where(t >= 20, np.minimum(1.0, (t - 20 + 1) / 4), 0.0)  # phase-in of 3
    y = 5 + 0.1 * t + 2.0 * ramp + 0.05 * np.maximum(t - 23, 0)
    res = InterruptedTimeSeries(errors="iid", phase_in=3, phase_in_mode="ramp").fit_series(
        pd.DataFrame({"t": t, "y": y}), outcome="y", time="t", interruptions=[20]
    )
    e = res.effects.set_index("effect")["estimate"]
    assert e["level"] == pytest.approx(2.0, abs=1e-9)
    assert e["slope"] == pytest.approx(0.05, abs=1e-10)
    assert res.series["used"].all()


def test_controlled_its_removes_common_shock() -> None:
    t = np.arange(40, dtype=float)
    common = 6.0 * (t >= 20)  # affects both series (e.g. a coding change)
    yi = 20 + 0.3 * t + common - 2.5 * (t >= 20)
    yc = 12 + 0.1 * t + common
    df = pd.DataFrame({"t": np.r_[t, t], "y": np.r_[yi, yc], "g": np.r_[np.ones(40), np.zeros(40)]})
    res = InterruptedTimeSeries(errors="iid", slope_change=False).fit_series(
        df, outcome="y", time="t", interruptions=[20], group="g"
    )
    assert res.estimate.estimate == pytest.approx(-2.5, abs=1e-9)
    assert res.details["controlled"]
    s = res.series
    assert s.loc[s["group"] == 0, "counterfactual"].isna().all()
    treated_post = (s["group"] == 1) & s["post"]
    # counterfactual of the intervention series keeps the common shock
    np.testing.assert_allclose(
        s.loc[treated_post, "counterfactual"], 20 + 0.3 * s.loc[treated_post, "t"] + 6.0, atol=1e-8
    )
    hac = InterruptedTimeSeries(errors="hac", slope_change=False).fit(
        df.assign(y=df["y"] + np.random.default_rng(3).normal(0, 1, 80)),
        outcome="y", time="t", interruptions=[20], group="g",
    )
    assert np.isfinite(hac.std_error) and hac.std_error > 0


def test_monthly_dates_with_month_indicators_and_poisson() -> None:
    dates = pd.date_range("2018-01-01", periods=48, freq="MS")
    t = np.arange(48)
    season = np.array([0.2, 0.1, 0, -0.1, -0.2, -0.1, 0, 0.05, 0.1, 0.15, 0.1, 0.05])
    pop = np.full(48, 2e5)
    mu = pop * np.exp(-8 + 0.01 * t + np.log(0.8) * (t >= 24) + season[t % 12])
    df = pd.DataFrame({"date": dates, "events": np.round(mu), "pop": pop})
    res = InterruptedTimeSeries(family="poisson", errors="iid", slope_change=False,
                                seasonality="month").fit_series(
        df, outcome="events", time="date", interruptions=["2020-01-01"], population="pop"
    )
    assert res.details["time_unit"] == "month"
    assert res.estimate.scale == "rate_ratio"
    assert res.estimate.estimate == pytest.approx(0.8, rel=2e-3)  # rounding of counts only
    assert {f"month_{m}" for m in range(2, 13)} <= set(res.coefficients["term"])
    # log-link cumulative effect = sum(fitted - counterfactual) over post periods
    s = res.series[res.series["post"]]
    cum = res.effects.set_index("effect").loc["cumulative", "estimate"]
    assert cum == pytest.approx(float((s["fitted"] - s["counterfactual"]).sum()), rel=1e-12)
    assert cum < 0
    band = s["counterfactual_lower"] < s["counterfactual"]
    assert band.all() and (s["counterfactual"] < s["counterfactual_upper"]).all()


def test_fourier_period_defaults_for_monthly_dates() -> None:
    dates = pd.date_range("2018-01-01", periods=36, freq="MS")
    t = np.arange(36)
    y = 3 + 0.02 * t + 0.5 * np.sin(2 * np.pi * t / 12) + 1.0 * (t >= 18)
    res = InterruptedTimeSeries(errors="iid", slope_change=False, seasonality="fourier",
                                fourier_pairs=1).fit_series(
        pd.DataFrame({"d": dates, "y": y}), outcome="y", time="d", interruptions=["2019-07-01"]
    )
    c = res.coefficients.set_index("term")["estimate"]
    assert c["sin_1"] == pytest.approx(0.5, abs=1e-9)
    assert c["level_1"] == pytest.approx(1.0, abs=1e-9)


def test_arima_errors_with_excluded_phase_in_uses_missing_values() -> None:
    df = _series(noise=1.0, seed=4)
    res = InterruptedTimeSeries(errors="arima", phase_in=2).fit_series(
        df, outcome="y", time="t", interruptions=[24]
    )
    assert res.details["arma_params"] is not None
    assert res.details["n_obs"] == 46
    assert res.estimate.ci_lower < res.estimate.estimate < res.estimate.ci_upper


@pytest.mark.parametrize(
    ("params", "roles", "error"),
    [
        ({}, {"interruptions": [2]}, DesignError),  # 2 pre periods < 3
        ({}, {"interruptions": [48]}, DesignError),  # nothing after
        ({}, {"interruptions": [30, 20]}, ConfigError),
        ({}, {"interruptions": []}, ConfigError),
        ({}, {"interruptions": ["2020-01-01"]}, ConfigError),
        ({"family": "poisson"}, {"interruptions": [24]}, SchemaError),  # non-integer outcome
        ({}, {"interruptions": [24], "population": "t"}, ConfigError),  # offset with gaussian
        ({"seasonality": "fourier"}, {"interruptions": [24]}, ConfigError),  # no period
        ({"seasonality": "month"}, {"interruptions": [24]}, ConfigError),  # no months
    ],
)
def test_user_errors(params: dict, roles: dict, error: type[Exception]) -> None:
    df = _series(noise=1.0)
    with pytest.raises(error):
        InterruptedTimeSeries(**params).fit(df, outcome="y", time="t", **roles)


def test_bad_data_and_config() -> None:
    df = _series()
    with pytest.raises(SchemaError, match="repeated periods"):
        InterruptedTimeSeries().fit(pd.concat([df, df.iloc[:1]]), outcome="y", time="t",
                                    interruptions=[24])
    with pytest.raises(SchemaError, match="missing"):
        InterruptedTimeSeries().fit(df.assign(y=df["y"].where(df["t"] != 3)), outcome="y",
                                    time="t", interruptions=[24])
    with pytest.raises(SchemaError, match="not in the data"):
        InterruptedTimeSeries().fit(df, outcome="nope", time="t", interruptions=[24])
    with pytest.raises(ConfigError):
        InterruptedTimeSeries(family="poisson", errors="arima")
    with pytest.raises(ConfigError):
        InterruptedTimeSeries(arima_order=(1, 1, 0))
    with pytest.raises(ConfigError):
        InterruptedTimeSeries(effect="slope", slope_change=False)
    with pytest.raises(ConfigError):
        InterruptedTimeSeries(family="logit")  # type: ignore[arg-type]


def test_error_messages_have_no_row_values() -> None:
    df = _series(noise=1.0)
    df.loc[5, "y"] = -123456.0
    with pytest.raises(SchemaError) as info:
        InterruptedTimeSeries(family="poisson").fit(df, outcome="y", time="t", interruptions=[24])
    assert "123456" not in str(info.value)


def test_diagnostics_white_noise_and_ar1() -> None:
    rng = np.random.default_rng(7)
    e = rng.standard_normal(200)
    d = autocorrelation_diagnostics(e)
    # Durbin-Watson = sum(diff^2)/sum(e^2), about 2 for white noise
    assert d.durbin_watson == pytest.approx(np.sum(np.diff(e) ** 2) / np.sum(e**2))
    assert 1.6 < d.durbin_watson < 2.4
    # lag-1 ACF by its definition
    ec = e - e.mean()
    assert d.correlogram["acf"].iloc[0] == pytest.approx(np.sum(ec[1:] * ec[:-1]) / np.sum(ec**2))
    x = np.zeros(200)
    for i in range(1, 200):
        x[i] = 0.7 * x[i - 1] + e[i]
    d2 = autocorrelation_diagnostics(x)
    assert d2.ljung_box_p < 1e-6 and d2.durbin_watson < 1.0
    assert d2.correlogram["pacf"].iloc[0] == pytest.approx(d2.correlogram["acf"].iloc[0])


def test_plot_returns_figure_and_data() -> None:
    df = _series(noise=1.0)
    res = InterruptedTimeSeries().fit_series(df, outcome="y", time="t", interruptions=[24])
    p = its_plot(res, title="test")
    assert len(p.figure.axes) == 1
    assert list(p.data.columns[:3]) == ["time", "group", "observed"]
    assert len(p.data) == len(df)
    with pytest.raises(ConfigError):
        its_plot(res, rate_per=1000)


def test_plot_rates_with_population() -> None:
    data = pd.read_csv("tests/reference/data/its_sicily.csv")
    res = InterruptedTimeSeries(family="quasipoisson").fit_series(
        data, outcome="aces", time="time", interruptions=[37], population="stdpop"
    )
    p = its_plot(res, rate_per=1e5)
    np.testing.assert_allclose(p.data["observed"], data["aces"] / data["stdpop"] * 1e5)


def test_auto_errors_switch_to_arima_only_with_autocorrelation() -> None:
    rng = np.random.default_rng(11)
    t = np.arange(120, dtype=float)
    e = np.zeros(120)
    z = rng.standard_normal(120)
    for i in range(1, 120):
        e[i] = 0.7 * e[i - 1] + z[i]
    base = 10 + 0.05 * t + 2 * (t >= 60)
    auto = InterruptedTimeSeries(errors="auto", slope_change=False)
    correlated = auto.fit_series(pd.DataFrame({"t": t, "y": base + e}), outcome="y", time="t",
                                 interruptions=[60])
    assert correlated.details["errors_used"] == "arima"
    assert correlated.estimate.details["errors"] == "auto"
    white = auto.fit_series(pd.DataFrame({"t": t, "y": base + z}), outcome="y", time="t",
                            interruptions=[60])
    assert white.details["errors_used"] == "iid"
    assert not white.details["autocorrelation_remaining"]
    with pytest.raises(ConfigError):
        InterruptedTimeSeries(errors="auto", family="poisson")


def test_estimate_is_strict_json() -> None:
    import json

    df = _series(noise=1.0)
    est = InterruptedTimeSeries(family="gaussian", errors="arima").fit(
        df, outcome="y", time="t", interruptions=[24]
    )
    text = json.dumps(est.to_dict(), allow_nan=False)
    assert '"effects"' in text and est.details["se_scale"] == "identity"


def test_plot_with_dates_marks_the_interruption() -> None:
    dates = pd.date_range("2019-01-01", periods=36, freq="MS")
    y = 5 + 0.1 * np.arange(36) + 2.0 * (np.arange(36) >= 18)
    res = InterruptedTimeSeries(errors="iid").fit_series(
        pd.DataFrame({"d": dates, "y": y + np.random.default_rng(1).normal(0, 0.1, 36)}),
        outcome="y", time="d", interruptions=["2020-07-01"],
    )
    p = its_plot(res)
    lines = [ln for ln in p.figure.axes[0].get_lines() if ln.get_linestyle() == ":"]
    assert len(lines) == 1
    assert p.data["time"].iloc[0] == pd.Timestamp("2019-01-01")


def test_group_without_comparison_rows() -> None:
    df = _series(noise=1.0).assign(g=1)
    with pytest.raises(DesignError, match="no comparison"):
        InterruptedTimeSeries().fit(df, outcome="y", time="t", interruptions=[24], group="g")
