"""Covariates of the person-level cohort table: names, order, labels and fill rules.

Every covariate is complete (no missing values) after these fill rules:

* ``female``: ``SEX == "2"``; not specified / not known (``9``, ``0``, null) count as 0.
* ``white``: ``ETHNOS`` in ``A, B, C``; ``ethnicity_unknown`` is 1 where ``ETHNOS`` is null,
  ``Z`` (not stated), ``99`` or ``X`` (not known), and then ``white`` is 0.
* ``imd_decile``: missing deciles are filled with the median decile of the final cohort (both
  arms), flagged by ``imd_missing``; if no one has a decile, 5.5 (the middle of 1-10).
* ``setting_beds``: missing bed counts are filled with the median of the final cohort; if no
  one has one, 0.
* ``nursing`` / ``rural``: 1 for ``SETTING_TYPE == "nursing"`` / ``SETTING_RURAL == "rural"``,
  else 0 (a missing value counts as 0).
* ``charlson``, ``frailty_syndromes``, ``hfrs``: 0 for persons with no diagnosis in
  ``[index - lookback_days, index)``.
* prior utilisation ``<measure>_y1`` / ``<measure>_y2``: 0 when there is no event.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from impacteval.cohort.measures import MEASURE_LABELS, UTILISATION

ETHNOS_WHITE = ("A", "B", "C")
ETHNOS_UNKNOWN = ("Z", "99", "X")
IMD_FILL_IF_ALL_MISSING = 5.5

PRIOR_WINDOWS = {
    "_y1": "in the year before move-in (days -365 to -1)",
    "_y2": "in the year before that (days -730 to -366)",
}

BASE_COVARIATES: tuple[str, ...] = (
    "age",
    "female",
    "white",
    "ethnicity_unknown",
    "imd_decile",
    "imd_missing",
    "nursing",
    "setting_beds",
    "rural",
    "charlson",
    "frailty_syndromes",
    "hfrs",
)

PRIOR_COVARIATES: tuple[str, ...] = tuple(
    f"{measure}{suffix}" for measure in UTILISATION for suffix in PRIOR_WINDOWS
)

#: Every covariate in the fixed order of :attr:`CohortResult.covariates`.
COVARIATES: tuple[str, ...] = (*BASE_COVARIATES, *PRIOR_COVARIATES, "index_year")

#: Covariates held as ``float64``; all others are ``int64``.
FLOAT_COVARIATES = frozenset({"imd_decile", "setting_beds", "hfrs"})

FILL_RULES: dict[str, str] = {
    "female": "SEX not specified or not known counts as not female (0)",
    "white": "ETHNOS not stated or not known counts as 0, flagged by ethnicity_unknown",
    "imd_decile": "missing filled with the cohort median decile, flagged by imd_missing",
    "setting_beds": "missing filled with the cohort median number of beds",
    "nursing": "missing setting type counts as 0",
    "rural": "missing rurality counts as 0 (urban)",
    "charlson": "0 when no diagnosis is recorded in the look-back",
    "frailty_syndromes": "0 when no diagnosis is recorded in the look-back",
    "hfrs": "0 when no diagnosis is recorded in the look-back",
    **{c: "0 when no event is recorded in the window" for c in PRIOR_COVARIATES},
}


def covariate_labels(lookback_days: int) -> dict[str, str]:
    """Readable name of each covariate."""
    years = f"{lookback_days / 365:.0f}-year" if lookback_days % 365 == 0 else (
        f"{lookback_days}-day"
    )
    labels = {
        "age": "Age at move-in (years)",
        "female": "Female",
        "white": "White ethnicity",
        "ethnicity_unknown": "Ethnicity not stated or not known",
        "imd_decile": "IMD 2019 decile (1 = most deprived)",
        "imd_missing": "IMD decile not known",
        "nursing": "Nursing home (vs residential)",
        "setting_beds": "Care home beds",
        "rural": "Rural care home",
        "charlson": f"Charlson index (1987 weights, {years} look-back)",
        "frailty_syndromes": f"Frailty syndromes, count of 6 ({years} look-back)",
        "hfrs": f"Hospital Frailty Risk Score ({years} look-back)",
        "index_year": "Year of move-in",
    }
    for measure in UTILISATION:
        for suffix, text in PRIOR_WINDOWS.items():
            labels[f"{measure}{suffix}"] = f"{MEASURE_LABELS[measure]} {text}"
    return labels


def _indicator(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.coalesce(cond, ibis.literal(False)).cast("int64")


def fill_values(con: BaseBackend, cohort: ir.Table) -> dict[str, float]:
    """Medians of ``IMD19_DECILE`` and ``setting_beds`` over the eligible cohort (one query).

    Computed as a plain aggregate (not a window) so that it runs the same on every backend;
    returns the documented fallbacks when no one has a value.
    """
    imd = cohort.IMD19_DECILE.cast("float64")
    beds = cohort.setting_beds.cast("float64")
    row = con.to_pandas(cohort.aggregate(imd=imd.median(), beds=beds.median())).iloc[0]
    return {
        "imd_decile": IMD_FILL_IF_ALL_MISSING if pd.isna(row["imd"]) else float(row["imd"]),
        "setting_beds": 0.0 if pd.isna(row["beds"]) else float(row["beds"]),
    }


def person_covariates(cohort: ir.Table, fills: Mapping[str, float]) -> dict[str, ir.Value]:
    """Expressions for the person and setting covariates over the eligible cohort table.

    Parameters
    ----------
    cohort
        One row per eligible person with ``age, SEX, ETHNOS, IMD19_DECILE, setting_type,
        setting_beds, setting_rural, index_date``.
    fills
        Values for missing ``imd_decile`` and ``setting_beds`` (from :func:`fill_values`).
    """
    imd = cohort.IMD19_DECILE.cast("float64")
    beds = cohort.setting_beds.cast("float64")
    return {
        "age": cohort.age.cast("int64"),
        "female": _indicator(cohort.SEX == "2"),
        "white": _indicator(cohort.ETHNOS.isin(list(ETHNOS_WHITE))),
        "ethnicity_unknown": _indicator(
            cohort.ETHNOS.isnull() | cohort.ETHNOS.isin(list(ETHNOS_UNKNOWN))
        ),
        "imd_decile": imd.fill_null(float(fills["imd_decile"])).cast("float64"),
        "imd_missing": _indicator(cohort.IMD19_DECILE.isnull()),
        "nursing": _indicator(cohort.setting_type == "nursing"),
        "setting_beds": beds.fill_null(float(fills["setting_beds"])).cast("float64"),
        "rural": _indicator(cohort.setting_rural == "rural"),
        "index_year": cohort.index_date.year().cast("int64"),
    }
