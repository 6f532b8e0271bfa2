"""Assemble ``diagnostics["sensitivity"]`` for the report from a matched cohort.

The report reads Rosenbaum bounds from ``result.diagnostics["sensitivity"]["rosenbaum"]``
(it never sees row-level data); :func:`sensitivity_diagnostics` computes that record in the
pipeline from the 1:1 matched cohort with one column per outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd

from impacteval.checks.rosenbaum import matched_pair_outcomes, rosenbaum_wilcoxon

__all__ = ["sensitivity_diagnostics"]


def sensitivity_diagnostics(
    matched: pd.DataFrame,
    outcomes: Sequence[str],
    *,
    subclass: str = "subclass",
    treated: str = "treated",
    person_time: str | None = None,
    alternative: Literal["greater", "less"] = "less",
    gammas: Sequence[float] = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0),
    negative_control_outcomes: Sequence[str] = (),
    negative_control_exposures: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``sensitivity`` diagnostics record (Rosenbaum bounds per outcome, negative controls).

    Parameters
    ----------
    matched
        The 1:1 matched cohort (not modified): ``subclass``, ``treated`` and one column per
        outcome (and ``person_time`` if given).
    outcomes
        Outcome columns to analyse.
    person_time
        Optional follow-up column: outcomes are compared as rates per unit of person-time.
    alternative
        ``less`` (default) when the intervention is meant to reduce the outcome.
    gammas
        Values of Gamma reported.
    negative_control_outcomes, negative_control_exposures
        Names recorded for the report, which finds their estimates among the run's estimates.

    Returns
    -------
    dict
        ``{"rosenbaum": {outcome: RosenbaumBounds.to_dict()}, "negative_controls":
        {"outcomes": [...], "exposures": [...]}}`` (``negative_controls`` only when given).
    """
    record: dict[str, Any] = {"rosenbaum": {}}
    for outcome in outcomes:
        t, c = matched_pair_outcomes(matched, outcome, subclass=subclass, treated=treated,
                                     person_time=person_time)
        record["rosenbaum"][outcome] = rosenbaum_wilcoxon(
            t, c, gammas=gammas, alternative=alternative).to_dict()
    if negative_control_outcomes or negative_control_exposures:
        record["negative_controls"] = {"outcomes": list(negative_control_outcomes),
                                       "exposures": list(negative_control_exposures)}
    return record
