"""Published interrupted time series estimates: Lopez Bernal, Cummins & Gasparrini (2017)
and Linden (2015).

Source: Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the
evaluation of public health interventions: a tutorial. *Int J Epidemiol* 46(1):348-355
(with its correction), and the authors' published code and data
(github.com/gasparrini/2017_lopezbernal_IJE_codedata, ``Rcode.R``, ``sicily.csv``). The
tutorial reports the smoking ban's rate ratio with Wald 95% CIs from ``Epi::ci.lin(model,
Exp = TRUE)`` rounded to three decimals for

* model1: Poisson, ``aces ~ offset(log(stdpop)) + smokban + time``: 0.894 (0.865, 0.925);
* model2: the same, quasi-Poisson: 0.894 (0.839, 0.953) (dispersion 3.559... printed 3.56);
* model3: quasi-Poisson with ``harmonic(month, 2, 12)``: 0.885 (0.839, 0.933).

The tests reproduce the three-decimal values exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.its import InterruptedTimeSeries

DATA = Path(__file__).parent / "data"

PUBLISHED = [
    ("poisson", "none", (0.894, 0.865, 0.925)),
    ("quasipoisson", "none", (0.894, 0.839, 0.953)),
    ("quasipoisson", "fourier", (0.885, 0.839, 0.933)),
]


@pytest.mark.parametrize(("family", "seasonality", "expected"), PUBLISHED)
def test_sicily_smoking_ban_rate_ratio(
    family: str, seasonality: str, expected: tuple[float, float, float]
) -> None:
    data = pd.read_csv(DATA / "its_sicily.csv")
    est = InterruptedTimeSeries(
        family=family,  # type: ignore[arg-type]
        errors="iid",
        slope_change=False,
        seasonality=seasonality,  # type: ignore[arg-type]
        period=12,
    ).fit(data, outcome="aces", time="time", interruptions=[37], population="stdpop")
    assert est.scale == "rate_ratio"
    got = tuple(round(v, 3) for v in (est.estimate, est.ci_lower, est.ci_upper))
    assert got == expected
    assert est.n_control == 36 and est.n_treated == 23


def test_sicily_dispersion_and_trend() -> None:
    """Printed in the tutorial's code: dispersion 3.56 (model2)."""
    data = pd.read_csv(DATA / "its_sicily.csv")
    res = InterruptedTimeSeries(family="quasipoisson", errors="iid", slope_change=False).fit_series(
        data, outcome="aces", time="time", interruptions=[37], population="stdpop"
    )
    assert round(res.details["dispersion"], 2) == 3.56


def test_linden_2015_california_single_group() -> None:
    """Linden (2015), *Stata Journal* 15(2):480-500, single-group ITSA of California's
    cigarette sales (``itsa cigsale, single treat(3) trperiod(1989) lag(1) posttrend``,
    OLS with Newey-West lag 1, ``_t`` = year - 1970): published coefficients
    ``_t = -1.779``, ``_x1989 = -20.058``, ``_x_t1989 = -1.495`` and post-intervention trend
    ``-3.274`` (data: ``its_california_cigsales.csv``, see ``its_README.md``).
    """
    data = pd.read_csv(DATA / "its_california_cigsales.csv")
    data = data.assign(t=data["year"] - 1970)
    res = InterruptedTimeSeries(errors="hac", hac_maxlags=1).fit_series(
        data, outcome="cigsale", time="t", interruptions=[19]
    )
    c = res.coefficients.set_index("term")["estimate"]
    assert round(c["time"], 3) == -1.779
    assert round(c["level_1"], 3) == -20.058
    assert round(c["slope_1"], 3) == -1.495
    assert round(c["time"] + c["slope_1"], 3) == -3.274
    assert res.estimate.estimate == c["level_1"]
    assert res.details["hac_maxlags"] == 1
