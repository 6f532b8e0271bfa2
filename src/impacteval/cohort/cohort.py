"""Build the person-level cohort table of a care-home move-in evaluation (stage 4).

Relational work runs as Ibis expressions on the caller's backend up to the final person-level
table, which is brought into pandas once with declared dtypes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from impacteval.cohort.attrition import attrition_table, check_arms, eligible
from impacteval.cohort.comorbidities import SCORES, comorbidity_scores
from impacteval.cohort.covariates import (
    COVARIATES,
    FILL_RULES,
    FLOAT_COVARIATES,
    PRIOR_WINDOWS,
    covariate_labels,
    fill_values,
    person_covariates,
)
from impacteval.cohort.eligibility import candidates, steps
from impacteval.cohort.intervention import intervention_settings
from impacteval.cohort.measures import (
    EXPOSURE,
    EXPOSURE_LABEL,
    MEASURE_LABELS,
    OUTCOMES,
    UTILISATION,
)
from impacteval.cohort.result import CohortResult
from impacteval.cohort.windows import (
    FOLLOW_UP,
    Y1,
    Y2,
    WindowedMeasure,
    add_window_bounds,
    windowed_counts,
)
from impacteval.config.models import CohortSpec
from impacteval.exceptions import ConfigError, SchemaError

#: Columns each input must have (tables are the cleaned, linked contract tables).
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "persons": ("person_id", "MYDOB", "SEX", "ETHNOS", "IMD19_DECILE", "CCG_CODE"),
    "settings": (
        "person_id",
        "SETTING_ID",
        "SETTING_TYPE",
        "SETTING_BEDS",
        "SETTING_RURAL",
        "START_DATE",
        "END_DATE",
    ),
    "deaths": ("person_id", "DOD"),
}
EVENT_COLUMNS = ("person_id", "event", "start_date", "end_date", "nights")
DIAGNOSIS_COLUMNS = ("person_id", "EPISTART", "code")

#: Leading identifying columns of :attr:`CohortResult.table`.
ID_COLUMNS = ("person_id", "treated", "index_date", "setting_id", "setting_type", "area",
              "follow_up_end")

_WINDOWS = {"_y1": Y1, "_y2": Y2}


def build_cohort(
    con: BaseBackend,
    tables: Mapping[str, ir.Table],
    events: ir.Table,
    diagnoses: ir.Table,
    spec: CohortSpec,
    outcomes: Sequence[str],
    data_cut: dt.date,
) -> CohortResult:
    """Build the care-home move-in cohort: arms, eligibility, covariates, outcomes, person-time.

    Parameters
    ----------
    con
        Backend the Ibis expressions run on (DuckDB or Spark).
    tables
        Cleaned, linked contract tables: ``persons``, ``settings`` and ``deaths`` are read
        (others may be present and are ignored).
    events
        Long event table from :func:`impacteval.derive.derive_events`
        (``person_id, event, start_date, end_date, nights``).
    diagnoses
        ``person_id, EPISTART, code`` (one row per diagnosis of an episode).
    spec
        The cohort section of the config.
    outcomes
        Outcome names to count in follow-up (see :data:`impacteval.cohort.measures.OUTCOMES`).
    data_cut
        Last day covered by the extract.

    Returns
    -------
    CohortResult
        One row per eligible person, sorted by ``person_id``.

    Notes
    -----
    * Index date: the ``START_DATE`` of the person's first residency; people whose first
      residency is outside ``spec.index_window`` are not new residents in the window.
    * Follow-up runs from the index date to the earliest of death, leaving the setting,
      ``data_cut`` and ``index + max_follow_up_days - 1``, **both ends inclusive**: the index day
      and the end day are follow-up days, so events on the index date count as outcomes (not
      as prior use) and ``person_years = (end - index + 1 days) / 365.25``.
    * Counts are of events whose ``start_date`` is in the window; ``bed_days`` counts nights
      inside the window (spells truncated to it); ``deaths`` is 1 if the date of death is
      within follow-up (a death after leaving the setting is not counted).
    * Prior-use windows: ``_y1`` = days -365..-1, ``_y2`` = days -730..-366 before index.

    Raises
    ------
    ConfigError
        Unknown or repeated outcome names, missing ``settings`` table, missing or empty
        intervention settings file.
    SchemaError
        An input lacks a column the cohort needs.
    DesignError
        No treated or no control persons remain after the eligibility steps (the message
        names the step that removed the last ones).
    """
    outcome_list = _check_outcomes(outcomes)
    _check_inputs(tables, events, diagnoses)
    ids = intervention_settings(spec)

    cand = candidates(dict(tables), spec, ids, data_cut)
    step_list = steps(spec)
    attrition = attrition_table(con, cand, step_list)
    check_arms(attrition)

    cohort = add_window_bounds(cand.filter(eligible(cand, step_list)))
    fills = fill_values(con, cohort)
    counts = windowed_counts(cohort, events, _windowed_measures(outcome_list))
    counts = counts.rename(_wc_person="person_id")
    scores = comorbidity_scores(diagnoses, cohort, spec.lookback_days)
    scores = scores.rename(_cm_person="person_id")

    joined = cohort.left_join(counts, cohort.person_id == counts._wc_person).drop("_wc_person")
    joined = joined.left_join(scores, joined.person_id == scores._cm_person).drop("_cm_person")
    expr = _final_select(joined, outcome_list, fills).order_by("person_id")
    table = _with_dtypes(con.to_pandas(expr), outcome_list)

    labels = covariate_labels(spec.lookback_days)
    labels.update({o: MEASURE_LABELS[o] for o in outcome_list})
    labels[EXPOSURE] = EXPOSURE_LABEL
    return CohortResult(
        table=table,
        covariates=list(COVARIATES),
        labels=labels,
        attrition=attrition,
        outcome_columns=list(outcome_list),
        exposure=EXPOSURE,
        fill_rules=FILL_RULES,
    )


def _check_outcomes(outcomes: Sequence[str]) -> list[str]:
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        raise ConfigError(
            f"{len(unknown)} unknown outcome name(s)",
            where="outcomes",
            hint="choose from: " + ", ".join(OUTCOMES),
        )
    if len(set(outcomes)) != len(outcomes):
        raise ConfigError("an outcome is listed more than once", where="outcomes",
                          hint="list each outcome once")
    return list(outcomes)


def _check_inputs(tables: Mapping[str, ir.Table], events: ir.Table, diagnoses: ir.Table) -> None:
    if "settings" not in tables:
        raise ConfigError(
            "the care-home cohort needs the settings table (residencies)",
            where="data.settings",
            hint="give the path of the settings table in data.settings",
        )
    needed: dict[str, tuple[ir.Table, Sequence[str]]] = {
        name: (tables[name], cols) for name, cols in REQUIRED_COLUMNS.items() if name in tables
    }
    missing_tables = [name for name in REQUIRED_COLUMNS if name not in tables]
    if missing_tables:
        raise ConfigError(
            "missing input table(s): " + ", ".join(missing_tables),
            where="data",
            hint="give every contract table in the data section",
        )
    needed["events"] = (events, EVENT_COLUMNS)
    needed["diagnoses"] = (diagnoses, DIAGNOSIS_COLUMNS)
    for name, (table, cols) in needed.items():
        absent = [c for c in cols if c not in table.columns]
        if absent:
            raise SchemaError(
                f"missing column(s): {', '.join(absent)}",
                where=f"{name}.{absent[0]}",
                hint="rename the column in data.rename or check the upstream stage's output",
            )


def _windowed_measures(outcomes: Sequence[str]) -> list[WindowedMeasure]:
    measures = [
        WindowedMeasure(f"{name}{suffix}", event, kind, _WINDOWS[suffix][1], _WINDOWS[suffix][2])
        for name, (event, kind) in UTILISATION.items()
        for suffix in PRIOR_WINDOWS
    ]
    for name in outcomes:
        if name in UTILISATION:
            event, kind = UTILISATION[name]
            measures.append(WindowedMeasure(name, event, kind, FOLLOW_UP[1], FOLLOW_UP[2]))
    return measures


def _final_select(
    joined: ir.Table, outcomes: Sequence[str], fills: Mapping[str, float]
) -> ir.Table:
    values: dict[str, ir.Value] = {
        "person_id": joined.person_id.cast("string"),
        "treated": joined.treated.cast("int64"),
        "index_date": joined.index_date,
        "setting_id": joined.setting_id.cast("string"),
        "setting_type": joined.setting_type.cast("string"),
        "area": joined.area.cast("string"),
        "follow_up_end": joined.follow_up_end,
    }
    person = person_covariates(joined, fills)
    for name in COVARIATES:
        if name in person:
            values[name] = person[name]
        elif name in SCORES:
            dtype = "float64" if name in FLOAT_COVARIATES else "int64"
            values[name] = joined[name].fill_null(0).cast(dtype)
        else:
            values[name] = joined[name].fill_null(0).cast("int64")
    for name in outcomes:
        if name == "deaths":
            died = (
                joined.DOD.notnull()
                & (joined.DOD >= joined.index_date)
                & (joined.DOD <= joined.follow_up_end)
            )
            values[name] = ibis.coalesce(died, ibis.literal(False)).cast("int64")
        else:
            values[name] = joined[name].fill_null(0).cast("int64")
    days = joined.follow_up_end.delta(joined.index_date, unit="day") + 1
    values[EXPOSURE] = (days.cast("float64") / 365.25).cast("float64")
    return joined.select(**values)


def _with_dtypes(df: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """Declare every column's dtype (backends differ in what they return)."""
    id_dtypes = ("str", "int64", "datetime64[s]", "str", "str", "str", "datetime64[s]")
    dtypes: dict[str, str] = dict(zip(ID_COLUMNS, id_dtypes, strict=True))
    for name in COVARIATES:
        dtypes[name] = "float64" if name in FLOAT_COVARIATES else "int64"
    for name in outcomes:
        dtypes[name] = "int64"
    dtypes[EXPOSURE] = "float64"
    out = df.astype(dtypes)[list(dtypes)]
    return out.sort_values("person_id", kind="mergesort").reset_index(drop=True)
