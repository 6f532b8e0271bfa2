"""Recovery: level change, slope change and average effect under seasonal autocorrelation
(monthly series, errors correlated at lags 1 and 12).

Data-generating process (the source of every true value): ``n = 120`` months, interruption at
``t = 60``, ``y_t = 10 + 0.02 t + 2 * 1[t >= 60] + 0.01 (t - 60) 1[t >= 60] + e_t`` with
stationary multiplicative seasonal AR errors ``(1 - 0.3 B)(1 - 0.8 B^12) e_t = z_t``,
``z_t ~ N(0, 1)`` (a 240-month burn-in starts them from the stationary distribution). True
level change 2, slope change 0.01, average effect over the 60 post months
``2 + 0.01 * 29.5 = 2.295``.

150 replications (seed fixed); Monte Carlo SE of a coverage near 0.95 is
``sqrt(0.95 * 0.05 / 150) = 0.018``. Checks:

* regression with seasonal ARMA errors ``(1, 0, 0) x (1, 0, 0)_12`` (``seasonal_order``)
  covers all three within 3 MC SEs (0.053) of 95%, and its estimates are unbiased;
* ignoring the seasonal part under-covers the slope change and the average effect (whose
  estimates sum over many months, so lag-12 correlation inflates their variance): naive OLS
  (iid errors) and AR(1) errors both cover below 0.90 and at least 0.05 less than the
  seasonal model. (The level change alone is little affected: AR(1) errors cover it.)

Measured (this seed): coverage level / slope / average = 0.947 / 0.927 / 0.947 (seasonal),
0.953 / 0.840 / 0.880 (AR(1)), 0.907 / 0.800 / 0.840 (iid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.its import InterruptedTimeSeries

N, T0, PHI, SPHI, S, REPS, BURN = 120, 60, 0.3, 0.8, 12, 150, 240
TRUE_LEVEL = 2.0
#: the average effect over the 60 post months: level + slope * mean(0..59)
TRUE = {"level": TRUE_LEVEL, "slope": 0.01, "average": TRUE_LEVEL + 0.01 * 29.5}
MC_SE = float(np.sqrt(0.95 * 0.05 / REPS))


def _simulate(rng: np.random.Generator) -> pd.DataFrame:
    z = rng.standard_normal(N + BURN)
    e = np.zeros(N + BURN)
    for i in range(N + BURN):
        e[i] = (z[i] + (PHI * e[i - 1] if i >= 1 else 0.0)
                + (SPHI * e[i - S] if i >= S else 0.0)
                - (PHI * SPHI * e[i - S - 1] if i >= S + 1 else 0.0))
    t = np.arange(N, dtype=float)
    post = t >= T0
    y = 10 + 0.02 * t + TRUE_LEVEL * post + 0.01 * (t - T0) * post + e[BURN:]
    return pd.DataFrame({"t": t, "y": y})


@pytest.fixture(scope="module")
def runs() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20261130)
    models = {
        "iid": InterruptedTimeSeries(errors="iid"),
        "ar1": InterruptedTimeSeries(errors="arima"),
        "seasonal": InterruptedTimeSeries(errors="arima", seasonal_order=(1, 0, 0, S)),
    }
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in models}
    for _ in range(REPS):
        df = _simulate(rng)
        for name, model in models.items():
            eff = model.fit_series(df, outcome="y", time="t", interruptions=[T0]).effects
            eff = eff.set_index("effect")
            rows[name].append({f"{kind}_{col}": float(eff.loc[kind, col])
                               for kind in TRUE for col in ("estimate", "ci_lower", "ci_upper")})
    return {k: pd.DataFrame(v) for k, v in rows.items()}


def _coverage(df: pd.DataFrame, kind: str = "level") -> float:
    truth = TRUE[kind]
    return float(((df[f"{kind}_ci_lower"] <= truth) & (truth <= df[f"{kind}_ci_upper"])).mean())


@pytest.mark.slow
def test_seasonal_arima_errors_cover(runs: dict[str, pd.DataFrame]) -> None:
    for kind, truth in TRUE.items():
        cov = _coverage(runs["seasonal"], kind)
        assert abs(cov - 0.95) <= 3 * MC_SE, (kind, cov)
        err = runs["seasonal"][f"{kind}_estimate"] - truth
        assert abs(err.mean()) <= 4 * err.std(ddof=1) / np.sqrt(REPS), kind


@pytest.mark.slow
def test_ignoring_the_season_under_covers(runs: dict[str, pd.DataFrame]) -> None:
    for kind in ("slope", "average"):
        seasonal = _coverage(runs["seasonal"], kind)
        for name in ("iid", "ar1"):
            cov = _coverage(runs[name], kind)
            assert cov < 0.90, (name, kind, cov)
            assert seasonal - cov >= 0.05, (name, kind, cov, seasonal)
