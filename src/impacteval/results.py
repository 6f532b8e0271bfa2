"""Result records shared by every design: immutable, JSON-ready, tidy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

EffectScale = Literal["difference", "rate_ratio", "odds_ratio", "risk_ratio", "percent"]


def _jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, kw_only=True)
class EffectEstimate:
    """One effect estimate from one design, estimator and outcome.

    ``estimate``, ``ci_lower`` and ``ci_upper`` are on ``scale`` (a rate ratio is reported as
    the ratio, not its log); ``std_error`` is on the scale the model was fitted on
    (``details["se_scale"]`` says which, e.g. ``"log"`` for rate ratios).

    ``details`` holds documented, design-specific extras (for the matched cohort:
    ``rate_treated``, ``rate_control`` per person-year, ``absolute_difference_per_1000``
    with its CI, ``cluster``, ``family``, ``person_years_treated`` ...).
    """

    design: str
    estimator: str
    outcome: str
    estimand: str
    scale: EffectScale
    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    n_treated: int
    n_control: int
    ci_level: float = 0.95
    label: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["details"] = dict(self.details)
        return _jsonable(d)  # type: ignore[no-any-return]

    def tidy(self) -> pd.DataFrame:
        """One-row DataFrame of the headline fields (no details)."""
        d = self.to_dict()
        d.pop("details")
        return pd.DataFrame([d])


def jsonable(value: Any) -> Any:
    """Public alias of the JSON conversion used for results.json."""
    return _jsonable(value)


@dataclass(frozen=True, kw_only=True)
class EvaluationResult:
    """Everything a run produced that the report consumes (the report never refits anything).

    Tables are plain DataFrames with documented columns; counts in them are *unrounded*
    here: disclosure control is applied at the output boundary by ``impacteval.report``.

    Attributes
    ----------
    evaluation_id, title, design
        From the config.
    config
        The validated config as a plain mapping (``Config.model_dump(mode="json")``).
    estimates
        Every :class:`EffectEstimate` (matched and naive, each outcome).
    balance
        One row per covariate: ``covariate, smd_before, smd_after, variance_ratio_before,
        variance_ratio_after, ecdf_max_after`` (more columns allowed).
    table_one
        Descriptive table: ``covariate, statistic (mean|percent), treated_before,
        control_before, treated_after, control_after`` plus ``n`` rows (counts).
    attrition
        Participant flow: ``step, description, n_treated, n_control`` (counts).
    ingest_report, linkage_report
        Per table counts (``table, measure, count``).
    outcome_summary
        Crude counts and rates per arm: ``outcome, arm, sample, n_persons, events,
        person_years, rate_per_1000_py``.
    diagnostics
        Named scalar diagnostics and warnings (``max_abs_smd_after``, ``n_discarded`` ...).
    figures
        Name -> matplotlib Figure (``love_plot``, ``propensity_overlap``, ``forest``).
    figure_data
        Name -> DataFrame behind each figure (released after disclosure control).
    private
        Row-level artefacts (matched cohort) written only under ``private/``.
    truth
        Optional known effects (synthetic data) shown beside estimates.
    """

    evaluation_id: str
    title: str
    design: str
    config: Mapping[str, Any]
    estimates: tuple[EffectEstimate, ...]
    balance: pd.DataFrame
    table_one: pd.DataFrame
    attrition: pd.DataFrame
    ingest_report: pd.DataFrame | None = None
    linkage_report: pd.DataFrame | None = None
    outcome_summary: pd.DataFrame | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, Any] = field(default_factory=dict)
    figure_data: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    private: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    truth: Mapping[str, Any] | None = None
