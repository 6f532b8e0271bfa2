"""Participant flow (attrition) of the cohort and the check that both arms survive it."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from impacteval.cohort.eligibility import Step
from impacteval.exceptions import DesignError

ATTRITION_COLUMNS = ("step", "description", "n_treated", "n_control")

_HINTS = {
    "residents": "check that the settings table is loaded and linked to persons",
    "index_in_window": "widen cohort.index_window or check the settings START_DATE values",
    "comparison_area": "check cohort.control_areas against the persons CCG_CODE values",
    "setting_type": "widen cohort.setting_types or check the settings SETTING_TYPE values",
    "min_age": "lower cohort.min_age or check the persons MYDOB values",
    "alive_at_index": "check the deaths table dates against the settings START_DATE values",
    "follow_up": "check data_cut and the settings END_DATE values against the index dates",
}


def eligible(candidates: ir.Table, steps: Sequence[Step]) -> ir.BooleanValue:
    """The condition a candidate must meet to pass every step."""
    cond: ir.BooleanValue = ibis.literal(True)
    for step in steps:
        if step.flag is not None:
            cond = cond & candidates[step.flag]
    return cond


def attrition_table(
    con: BaseBackend, candidates: ir.Table, steps: Sequence[Step]
) -> pd.DataFrame:
    """Persons remaining in each arm after each step, from one aggregate query.

    Parameters
    ----------
    con
        Backend that runs the query.
    candidates
        Table with ``treated`` (0/1) and the boolean flag column of every step.
    steps
        Steps in the order applied; each step's count includes every earlier step's filter.

    Returns
    -------
    pandas.DataFrame
        ``step, description, n_treated, n_control`` (``int64`` counts), one row per step.
    """
    aggregates: dict[str, ir.Value] = {}
    cond: ir.BooleanValue = ibis.literal(True)
    is_treated = candidates.treated == 1
    for i, step in enumerate(steps):
        if step.flag is not None:
            cond = cond & candidates[step.flag]
        aggregates[f"t{i}"] = candidates.person_id.count(where=cond & is_treated)
        aggregates[f"c{i}"] = candidates.person_id.count(where=cond & ~is_treated)
    row = con.to_pandas(candidates.aggregate(**aggregates)).iloc[0]
    table = pd.DataFrame(
        {
            "step": [s.name for s in steps],
            "description": [s.description for s in steps],
            "n_treated": [int(row[f"t{i}"]) for i in range(len(steps))],
            "n_control": [int(row[f"c{i}"]) for i in range(len(steps))],
        }
    )
    return table.astype({"step": "str", "description": "str", "n_treated": "int64",
                         "n_control": "int64"})


def check_arms(attrition: pd.DataFrame) -> None:
    """Raise if no treated or no control persons remain after the last step.

    Raises
    ------
    DesignError
        Naming, for each empty arm, the step that removed its last persons (``where="cohort"``).
    """
    problems: list[str] = []
    hints: list[str] = []
    for column, arm in (("n_treated", "treated"), ("n_control", "control")):
        counts = attrition[column].to_numpy()
        if counts[-1] > 0:
            continue
        empty_at = int((counts == 0).argmax())
        step = str(attrition["step"].iloc[empty_at])
        if empty_at == 0:
            problems.append(f"no {arm} persons to start from (step '{step}')")
        else:
            before = int(counts[empty_at - 1])
            problems.append(
                f"no {arm} persons remain: step '{step}' removed the last {before}"
            )
        hint = _HINTS.get(step, "check the cohort settings")
        if arm == "treated" and empty_at == 0:
            hint = ("check cohort.treated_settings / treated_settings_file against the settings "
                    "SETTING_ID values")
        if hint not in hints:
            hints.append(hint)
    if problems:
        raise DesignError("; ".join(problems), where="cohort", hint="; ".join(hints))
