"""The synth design's panel selection: windows, washout, donor rules, treatment column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.config.synth import SynthSpec
from impacteval.exceptions import DesignError, SchemaError
from impacteval.pipeline.design_synth import TREATED, select_panel


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"area": f"A{i}", "t": t, "pop": 100 if (i, t) != (3, 2) else 5,
             "y": float(rng.normal())} for i in range(8) for t in range(1, 31)]
    df = pd.DataFrame(rows)
    df.loc[(df["area"] == "A4") & (df["t"] == 25), "y"] = np.nan
    return df


def _select(**synth: object) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    spec = SynthSpec(**{"treated": [{"area": "A0", "start": 20}, {"area": "A1", "start": 24}],
                        "time": "t", "min_pre_periods": 10, "min_donors": 2,
                        "min_population": 50, **synth})
    return select_panel(_frame(), spec, unit="area", time="t", outcomes=["y"],
                        population="pop", source="data.table")


def test_windows_washout_and_treatment_column() -> None:
    panel, _, summary = _select(pre_period=[3, 18], washout=1)
    times = sorted(panel["t"].unique())
    assert times[0] == 3 and 19 not in times and 20 not in times and 24 not in times
    assert summary["pre_periods"] == 16 and summary["post_periods"] == 9
    a1 = panel[panel["area"] == "A1"].set_index("t")[TREATED]
    assert a1.loc[23] == 0 and a1.loc[25] == 1
    assert panel.loc[~panel["area"].isin(["A0", "A1"]), TREATED].eq(0).all()


def test_donor_rules_are_logged() -> None:
    _, log, _ = _select(exclude=["A2"])
    reasons = dict(zip(log["area"], log["reason"], strict=True))
    assert reasons["A2"].startswith("excluded")
    assert reasons["A3"].startswith("pre-period coverage")
    assert reasons["A4"].startswith("missing outcome")
    assert [r for r in reasons.values()].count("donor") == 3


def test_not_identified() -> None:
    with pytest.raises(DesignError, match="donor area"):
        _select(exclude=["A2", "A5", "A6"])
    with pytest.raises(DesignError, match="pre-period"):
        _select(pre_period=[12, 18])


def test_treated_area_with_a_gap_is_an_error() -> None:
    spec = SynthSpec(treated=[{"area": "A4", "start": 20}], time="t", min_donors=2)
    with pytest.raises(SchemaError, match="treated area has missing"):
        select_panel(_frame(), spec, unit="area", time="t", outcomes=["y"], population=None,
                     source="data.table")


def test_dates_are_months() -> None:
    df = _frame().assign(t=lambda d: pd.Timestamp("2013-01-15")
                         + pd.to_timedelta((d["t"] - 1) * 31, unit="D"))
    spec = SynthSpec(treated=[{"area": "A0", "start": "2014-08-20"}], time="t", min_donors=2)
    panel, _, summary = select_panel(df, spec, unit="area", time="t", outcomes=["y"],
                                     population=None, source="data.table")
    assert summary["dates"] and str(panel["t"].iloc[0]).endswith("-01")
    first = panel.loc[(panel["area"] == "A0") & (panel[TREATED] == 1), "t"].min()
    assert str(first) == "2014-08-01"
