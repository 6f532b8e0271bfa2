"""SPC charts against NHSRplotthedots 0.2.2 (XmR, Making Data Count rules) and qicharts2
0.8.1 (run charts with Anhoej rules; C, U, U', P, P' charts).

Source of every expected number: ``tests/reference/data/spc_reference.json``, written by
``tests/reference/scripts/its_spc_reference.R`` (package versions and commits in the script)
on the worked examples

* ``qicharts2::cdi`` (hospital-acquired C. difficile infections per month, with patient-days;
  the example of the qicharts2 vignette, freeze = 24) and ``qicharts2::nhs_accidents``
  (the P-chart example of the qicharts2 documentation), both GPL-3 (qicharts2's licence);
* the UK seat-belt law series (R ``datasets::Seatbelts``, 1977-1984, rebased at February 1983);
* a constructed weekly series (fixed seed, in the script) that fires the outside, trend and
  two-in-three rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from impacteval.spc import attribute_chart, run_chart, xmr_chart

DATA = Path(__file__).parent / "data"
REF: dict[str, Any] = json.loads((DATA / "spc_reference.json").read_text())


def _cdi() -> pd.DataFrame:
    d = pd.read_csv(DATA / "spc_cdi.csv")
    return d.assign(month=pd.to_datetime(d["month"]))


def _seat() -> pd.DataFrame:
    d = pd.read_csv(DATA / "its_seatbelts.csv")
    d = d[d["year"] >= 1977]
    date = pd.to_datetime(pd.DataFrame({"year": d["year"], "month": d["month"], "day": 1}))
    return pd.DataFrame({"date": date.to_numpy(), "DriversKilled": d["DriversKilled"].to_numpy()})


def _rules() -> pd.DataFrame:
    d = pd.read_csv(DATA / "spc_rules_series.csv")
    return d.assign(t=pd.to_datetime(d["t"]))


def _ptd_kind(s: str) -> str:
    if s.startswith(("Above UCL", "Below LCL")):
        return "outside"
    if s.startswith("7 Point Trend"):
        return "trend"
    if s.startswith("2 in 3"):
        return "two_in_three"
    if s.startswith("7 Points"):
        return "shift"
    assert s == "Common Cause"
    return ""


PTD_CASES = [
    ("ptd_seatbelts_rebase", _seat, dict(x="date", y="DriversKilled", rebase_at=["1983-02-01"],
                                         improvement_direction="decrease")),
    ("ptd_seatbelts_fixed24_unscreened", _seat,
     dict(x="date", y="DriversKilled", baseline=24, screen_outliers=False,
          improvement_direction="decrease")),
    ("ptd_cdi_rebase", _cdi, dict(x="month", y="n", rebase_at=["2014-11-01"],
                                  improvement_direction="decrease")),
    ("ptd_rules_increase", _rules, dict(x="t", y="y", improvement_direction="increase")),
    ("ptd_rules_neutral", _rules, dict(x="t", y="y", improvement_direction="neutral")),
    ("ptd_rules_unscreened_fixed20", _rules,
     dict(x="t", y="y", baseline=20, screen_outliers=False, improvement_direction="decrease")),
]


def test_cdi_rebase_date_is_the_first_post_month() -> None:
    d = _cdi()
    assert d.loc[d["period"] == "post", "month"].min() == pd.Timestamp("2014-11-01")


@pytest.mark.parametrize(("name", "loader", "kwargs"), PTD_CASES, ids=[c[0] for c in PTD_CASES])
def test_xmr_matches_nhsrplotthedots(name: str, loader: Any, kwargs: dict[str, Any]) -> None:
    ref = REF[name]
    chart = xmr_chart(loader(), **kwargs)
    d = chart.data
    np.testing.assert_allclose(d["centre"], ref["centre"], rtol=1e-12)
    np.testing.assert_allclose(d["lower"], ref["lower"], rtol=1e-12)
    np.testing.assert_allclose(d["upper"], ref["upper"], rtol=1e-12)
    np.testing.assert_array_equal(d["part"], ref["rebase_group"])
    np.testing.assert_array_equal(d["outside"], ref["outside"])
    np.testing.assert_array_equal(d["close_to_limits"], ref["close"])
    assert d["special_cause"].tolist() == [_ptd_kind(s) for s in ref["special_cause_type"]]
    assert d["variation"].tolist() == ref["point_type"]


def test_constructed_series_fires_every_rule_somewhere() -> None:
    kinds = set()
    for name, loader, kwargs in PTD_CASES:
        kinds |= set(xmr_chart(loader(), **kwargs).data["special_cause"])
        kinds |= {_ptd_kind(s) for s in REF[name]["special_cause_type"]}
    assert {"outside", "trend", "two_in_three", "shift"} <= kinds


def _parts_equal(chart_parts: pd.DataFrame, ref_parts: list[dict[str, Any]]) -> None:
    assert len(chart_parts) == len(ref_parts)
    for (_, got), exp in zip(chart_parts.iterrows(), ref_parts, strict=True):
        assert got["n_obs"] == exp["n.obs"]
        assert got["n_useful"] == exp["n.useful"]
        assert got["longest_run"] == exp["longest.run"]
        assert got["longest_run_max"] == exp["longest.run.max"]
        assert got["n_crossings"] == exp["n.crossings"]
        assert got["n_crossings_min"] == exp["n.crossings.min"]
        assert bool(got["runs_signal"]) == exp["runs.signal"]


RUN_CASES = [
    ("qic_run_cdi_freeze24", _cdi, dict(x="month", y="n", baseline=24)),
    ("qic_run_cdi_part24", _cdi, dict(x="month", y="n", rebase_at=["2014-11-01"])),
    ("qic_run_seatbelts", _seat, dict(x="date", y="DriversKilled")),
]


@pytest.mark.parametrize(("name", "loader", "kwargs"), RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_run_chart_matches_qicharts2(name: str, loader: Any, kwargs: dict[str, Any]) -> None:
    ref = REF[name]
    chart = run_chart(loader(), **kwargs)
    np.testing.assert_allclose(chart.data["centre"], ref["cl"], rtol=1e-12)
    _parts_equal(chart.parts, ref["parts"])


ATTR_CASES = [
    ("qic_c_cdi_part24", _cdi, dict(chart="c", x="month", numerator="n",
                                    rebase_at=["2014-11-01"])),
    ("qic_u_cdi_freeze24", _cdi, dict(chart="u", x="month", numerator="n", denominator="days",
                                      multiply=10000, baseline=24)),
    ("qic_up_cdi_freeze24", _cdi, dict(chart="u", laney=True, x="month", numerator="n",
                                       denominator="days", multiply=10000, baseline=24)),
    ("qic_p_accidents", lambda: pd.read_csv(DATA / "spc_nhs_accidents.csv"),
     dict(chart="p", x="i", numerator="r", denominator="n", improvement_direction="increase")),
    ("qic_pp_accidents", lambda: pd.read_csv(DATA / "spc_nhs_accidents.csv"),
     dict(chart="p", laney=True, x="i", numerator="r", denominator="n",
          improvement_direction="increase")),
]


@pytest.mark.parametrize(("name", "loader", "kwargs"), ATTR_CASES, ids=[c[0] for c in ATTR_CASES])
def test_attribute_chart_matches_qicharts2(name: str, loader: Any, kwargs: dict[str, Any]) -> None:
    ref = REF[name]
    chart = attribute_chart(loader(), **kwargs)
    d = chart.data
    np.testing.assert_allclose(d["y"], ref["y"], rtol=1e-12)
    np.testing.assert_allclose(d["centre"], ref["cl"], rtol=1e-12)
    np.testing.assert_allclose(d["lower"], ref["lcl"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d["upper"], ref["ucl"], rtol=1e-12)
    np.testing.assert_allclose(d["near_lower"], ref["lcl95"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d["near_upper"], ref["ucl95"], rtol=1e-12)
    np.testing.assert_array_equal(d["outside"], ref["sigma_signal"])
    _parts_equal(chart.parts, ref["parts"])
