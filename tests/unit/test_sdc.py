"""Disclosure control: regimes on known tables, secondary suppression, rates, midpoint-6.

Regime rules: shared/reference/nhs_routine_data.md section 2 (NHS England SDE [S9]: counts
under 10 suppressed, the rest rounded to 5; NHS Digital HES [S8]: 1-7 suppressed, rounded to 5;
OpenSAFELY [S10]: <=7 redacted, round to 5, midpoint-6 ``ceiling(x/6)*6 - 3*(x != 0)``).
Expected values below are worked by hand from those rules (rounding half up to 5).
"""

from __future__ import annotations

import pandas as pd
import pytest

from impacteval.config.models import SDCSpec
from impacteval.exceptions import ConfigError, DisclosureError
from impacteval.report.sdc import (
    REGIMES,
    ColumnTotal,
    DisclosureRegime,
    RateColumn,
    RowTotal,
    apply_sdc,
    get_regime,
    is_count_name,
    midpoint6,
)

RAW = [0, 1, 7, 8, 9, 10, 12, 13, 22, 23, 1234]


def _released(regime: DisclosureRegime, values: list[int] = RAW) -> list[object]:
    safe, _ = apply_sdc(pd.DataFrame({"n": values}), ["n"], regime)
    return safe["n"].tolist()


def test_nhse_sde_suppresses_under_10_and_rounds_to_5() -> None:
    assert _released(REGIMES["nhse_sde"]) == [
        0, "<10", "<10", "<10", "<10", 10, 10, 15, 20, 25, 1235,
    ]


def test_nhsd_hes_suppresses_1_to_7_and_shows_zero() -> None:
    assert _released(REGIMES["nhsd_hes"]) == [0, "*", "*", 10, 10, 10, 10, 15, 20, 25, 1235]


def test_opensafely_redacts_7_or_fewer_then_rounds() -> None:
    lab = REGIMES["opensafely"].label
    assert _released(REGIMES["opensafely"]) == [0, lab, lab, 10, 10, 10, 10, 15, 20, 25, 1235]


def test_custom_regime_and_no_rounding_into_the_suppressed_range() -> None:
    r = get_regime(SDCSpec(regime="custom", min_count=3, round_to=10))
    assert r.label == "<3"
    assert _released(r) == [0, "<3", 10, 10, 10, 10, 10, 10, 20, 20, 1230]
    # 12 would round to 10, below min_count 12: it goes up to 20 instead.
    strict = get_regime(SDCSpec(regime="custom", min_count=12, round_to=10))
    assert _released(strict, [11, 12, 14, 15]) == ["<12", 20, 20, 20]


def test_suppress_zero() -> None:
    r = DisclosureRegime(name="custom", min_count=10, round_to=5, suppress_zero=True)
    assert _released(r, [0, 3, 10]) == ["<10", "<10", 10]


def test_get_regime_named_custom_and_errors() -> None:
    assert get_regime(SDCSpec()) == REGIMES["nhse_sde"]
    assert get_regime("nhsd_hes").label == "*"
    assert get_regime(SDCSpec(regime="nhsd_hes", suppress_label="<8")).label == "<8"
    tightened = get_regime(SDCSpec(regime="nhse_sde", min_count=15, round_to=10))
    assert (tightened.min_count, tightened.round_to) == (15, 10)
    with pytest.raises(ConfigError, match="custom disclosure regime needs") as err:
        get_regime(SDCSpec(regime="custom", min_count=10))
    assert err.value.where == "sdc" and err.value.hint
    with pytest.raises(ConfigError, match="relax"):
        get_regime(SDCSpec(regime="nhse_sde", min_count=5))
    with pytest.raises(ConfigError, match="did you mean 'opensafely'"):
        get_regime("opensafly")
    with pytest.raises(ConfigError, match="not a number"):
        DisclosureRegime(name="custom", min_count=10, round_to=5, label="5")


def test_midpoint6_values() -> None:
    # The formula's own examples (nhs_routine_data.md section 2): 0->0, 1-6->3, 7-12->9.
    assert [midpoint6(x) for x in (0, 1, 6, 7, 12, 13, 18, 19)] == [0, 3, 3, 9, 9, 15, 15, 21]


def test_secondary_suppression_row_total() -> None:
    df = pd.DataFrame({"n_treated": [4, 120], "n_control": [50, 130], "n_total": [54, 250]})
    safe, log = apply_sdc(
        df, ["n_treated", "n_control", "n_total"], REGIMES["nhse_sde"],
        margins=[RowTotal("n_total", ("n_treated", "n_control"))],
    )
    assert safe["n_treated"].tolist() == ["<10", 120]
    assert safe["n_control"].tolist() == ["<10", 130]  # 50 hidden: 55 - 50 would reveal 4
    assert safe["n_total"].tolist() == [55, 250]
    assert {"table": "table", "column": "n_control", "action": "secondary_suppression",
            "cells": 1} in log


def test_secondary_suppression_group_total_picks_next_smallest() -> None:
    df = pd.DataFrame(
        {
            "area": ["A"] * 4 + ["B"] * 3,
            "group": ["x", "y", "z", "total", "x", "y", "total"],
            "n": [3, 40, 25, 68, 30, 31, 61],
        }
    )
    safe, _ = apply_sdc(df, ["n"], REGIMES["nhse_sde"],
                        margins=[ColumnTotal("group", "total", ("area",))])
    # In area A, 3 is suppressed; the next smallest part (25) goes too; the total stays.
    assert safe["n"].tolist() == ["<10", 40, "<10", 70, 30, 30, 60]


def test_secondary_suppression_two_way_table_cascades() -> None:
    # Row and column totals: hiding one inner cell forces a rectangle of four hidden cells.
    df = pd.DataFrame(
        {"row": ["r1", "r2", "tot"], "a": [3, 20, 23], "b": [40, 50, 90], "total": [43, 70, 113]}
    )
    safe, _ = apply_sdc(
        df, ["a", "b", "total"], REGIMES["nhse_sde"],
        margins=[RowTotal("total", ("a", "b")), ColumnTotal("row", "tot")],
    )
    assert safe[["a", "b"]].iloc[:2].to_numpy().tolist() == [["<10", "<10"], ["<10", "<10"]]
    assert safe["total"].tolist() == [45, 70, 115]
    assert safe.loc[2, ["a", "b"]].tolist() == [25, 90]


def test_rates_recomputed_from_rounded_counts_and_suppressed_with_numerator() -> None:
    df = pd.DataFrame({"events": [6, 123], "person_years": [512.3, 540.8],
                       "rate_per_1000_py": [11.71, 227.44]})
    safe, log = apply_sdc(
        df, ["events"], REGIMES["nhse_sde"],
        rate_columns={"rate_per_1000_py": RateColumn("events", "person_years", per=1000)},
    )
    assert safe["events"].tolist() == ["<10", 125]
    assert safe["rate_per_1000_py"].tolist() == ["<10", round(125 / 540.8 * 1000, 1)]
    assert any(e["action"] == "rate_suppressed" for e in log)


def test_percentages_use_rounded_numerator_and_denominator() -> None:
    df = pd.DataFrame({"k": [21, 3], "n": [102, 102]})
    safe, _ = apply_sdc(df, ["k", "n"], REGIMES["nhse_sde"],
                        rate_columns={"pct": RateColumn("k", "n", per=100)})
    assert safe["pct"].tolist() == [round(20 / 100 * 100, 1), "<10"]


def test_midpoint6_for_rates_only_in_opensafely() -> None:
    df = pd.DataFrame({"num": [0, 5, 14], "den": [60, 61, 100]})
    rates = {"ratio": RateColumn("num", "den", per=1)}
    safe, _ = apply_sdc(df, ["num", "den"], REGIMES["opensafely"], rate_columns=rates,
                        midpoint6_for_rates=True)
    assert safe["num_midpoint6"].tolist() == [0, 3, 15]
    # ceiling(60/6)*6-3 = 57, ceiling(61/6)*6-3 = 63, ceiling(100/6)*6-3 = 99
    assert safe["den_midpoint6"].tolist() == [57, 63, 99]
    assert safe["ratio"].tolist() == [0.0, round(3 / 63, 1), round(15 / 99, 1)]
    with pytest.raises(DisclosureError, match="midpoint-6"):
        apply_sdc(df, ["num", "den"], REGIMES["nhse_sde"], rate_columns=rates,
                  midpoint6_for_rates=True)


def test_input_not_mutated_missing_kept_and_errors() -> None:
    df = pd.DataFrame({"n": [3.0, None, 40.0], "label": ["a", "b", "c"]})
    before = df.copy()
    safe, _ = apply_sdc(df, ["n"], REGIMES["nhse_sde"])
    pd.testing.assert_frame_equal(df, before)
    assert safe["n"].tolist() == ["<10", None, 40]
    with pytest.raises(DisclosureError, match="negative"):
        apply_sdc(pd.DataFrame({"n": [-1]}), ["n"], REGIMES["nhse_sde"])
    with pytest.raises(DisclosureError, match="missing"):
        apply_sdc(df, ["m"], REGIMES["nhse_sde"])
    with pytest.raises(DisclosureError, match="not numbers") as err:
        apply_sdc(safe, ["n"], REGIMES["nhse_sde"])  # already released: "<10" is text
    assert "<10" not in str(err.value)


def test_log_never_holds_values() -> None:
    _, log = apply_sdc(pd.DataFrame({"n": [3, 4567]}), ["n"], REGIMES["nhse_sde"])
    assert all(set(e) == {"table", "column", "action", "cells"} for e in log)
    assert [(e["action"], e["cells"]) for e in log] == [("primary_suppression", 1), ("rounded", 1)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("n", True), ("n_treated", True), ("events", True), ("row_count", True),
     ("events_treated", True), ("rate_per_1000_py", False), ("smd_after", False),
     ("person_years", False), ("nights_mean", False)],
)
def test_is_count_name(name: str, expected: bool) -> None:
    assert is_count_name(name) is expected
