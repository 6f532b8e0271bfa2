"""The person-level cohort record handed from the build stage to matching and estimation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd


@dataclass(frozen=True, kw_only=True)
class CohortResult:
    """Person-level analysis table of a care-home move-in cohort, with its participant flow.

    Attributes
    ----------
    table
        One row per person, sorted by ``person_id`` (row order is deterministic): ``person_id``,
        ``treated`` (0/1), ``index_date``, ``setting_id``, ``setting_type``, ``area``
        (``CCG_CODE``), ``follow_up_end`` (last day of follow-up, inclusive), every column in
        ``covariates``, every column in ``outcome_columns`` and ``person_years``. Integer
        columns are ``int64``, other numbers ``float64``, dates ``datetime64[s]``; covariates
        and outcomes have no missing values.
    covariates
        Covariate column names in a fixed order (see :data:`impacteval.cohort.covariates.COVARIATES`).
    labels
        Readable name of every covariate, outcome and the exposure column.
    attrition
        Participant flow: ``step, description, n_treated, n_control``, one row per
        eligibility step in the order applied; counts are those *remaining after* the step
        and are unrounded (disclosure control happens in the report).
    outcome_columns
        Outcome column names, in the order requested.
    exposure
        Name of the person-time column (years): ``"person_years"``.
    fill_rules
        Covariate name -> how its missing values were filled (for the report's methods).
    """

    table: pd.DataFrame
    covariates: list[str]
    labels: Mapping[str, str]
    attrition: pd.DataFrame
    outcome_columns: list[str]
    exposure: str = "person_years"
    fill_rules: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "fill_rules", MappingProxyType(dict(self.fill_rules)))

    @property
    def n_treated(self) -> int:
        """Number of treated persons in :attr:`table`."""
        return int((self.table["treated"] == 1).sum())

    @property
    def n_control(self) -> int:
        """Number of control persons in :attr:`table`."""
        return int((self.table["treated"] == 0).sum())
