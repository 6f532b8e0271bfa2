"""Property tests of the subgroup table's disclosure control (hypothesis).

For every regime (named and random custom ones) and random subgroup records (several
variables, levels with small and large counts): no released count lies in ``[1, min_count)``
(nor is zero when zeros are suppressed), every released count is a multiple of ``round_to``,
and in each (variable, outcome) block and count column a suppressed level is never the only
hidden cell of the equation "levels sum to the All row" (so it cannot be recovered by
subtraction; the All row is released or hidden with at least one other cell).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impacteval.report.sdc import REGIMES, DisclosureRegime
from impacteval.report.subgroups import COUNTS, TOTAL, release_subgroups

custom_regimes = st.builds(
    lambda m, r, z: DisclosureRegime(name="custom", min_count=m, round_to=r, suppress_zero=z,
                                     label=f"<{m}"),
    st.integers(0, 15), st.integers(1, 10), st.booleans(),
)
regimes = st.one_of(st.sampled_from(list(REGIMES.values())), custom_regimes)
counts = st.one_of(st.integers(0, 12), st.integers(0, 500))


@st.composite
def records(draw: st.DrawFn) -> list[dict]:
    out = []
    for v in range(draw(st.integers(1, 3))):
        levels = []
        for lv in range(draw(st.integers(1, 5))):
            levels.append({"level": f"l{lv}", **{c: draw(counts) for c in COUNTS},
                           "person_years_treated": 100.0, "person_years_control": 100.0,
                           "estimate": 1.0, "ci_lower": 0.8, "ci_upper": 1.2})
        out.append({"variable": f"v{v}", "outcome": "o", "interaction_p":
                    draw(st.floats(0, 1)), "levels": levels})
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records(), regime=regimes)
def test_released_subgroup_counts_are_safe_and_unrecoverable(recs: list[dict],
                                                              regime: DisclosureRegime) -> None:
    safe, _ = release_subgroups(recs, regime)
    label = regime.label
    for c in COUNTS:
        for v in safe[c]:
            if v == label or v is None or pd.isna(v):
                continue
            x = float(v)
            assert x.is_integer() and x % regime.round_to == 0
            assert not (0 < x < regime.min_count)
            if regime.suppress_zero and regime.min_count > 0:
                assert x != 0
    for _, block in safe.groupby(["variable", "outcome"], sort=False):
        for c in COUNTS:
            hidden = [lv for lv, v in zip(block["level"], block[c], strict=True) if v == label]
            assert len(hidden) != 1, (c, hidden)  # one hidden cell in the sum = recoverable
            if hidden:
                assert TOTAL in hidden or len([h for h in hidden if h != TOTAL]) >= 2


@st.composite
def records_with_person_time(draw: st.DrawFn) -> list[dict]:
    recs = draw(records())
    for rec in recs:
        for lv in rec["levels"]:
            for arm in ("treated", "control"):  # no one in an arm -> no person-time
                lv[f"person_years_{arm}"] = (0.0 if lv[f"n_{arm}"] == 0 else
                                             draw(st.floats(0.01, 5000.0)))
    return recs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=records_with_person_time(), regime=regimes)
def test_person_years_never_reveal_a_suppressed_arm(recs: list[dict],
                                                     regime: DisclosureRegime) -> None:
    """Person-years of an arm whose size is suppressed are hidden too (0.0 would say 'no one');
    released person-years have at most one decimal."""
    safe, _ = release_subgroups(recs, regime)
    for arm in ("treated", "control"):
        for n, py in zip(safe[f"n_{arm}"], safe[f"person_years_{arm}"], strict=True):
            if n == regime.label:
                assert py == regime.label
            elif py is not None and not pd.isna(py):
                assert round(float(py), 1) == float(py)
