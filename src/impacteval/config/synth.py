"""Config section ``synth:`` of the synthetic control design (``evaluation.design:
synthetic_control``).

The models are here; :func:`check_synth` is called by :class:`~impacteval.config.Config`'s
validator and checks the section against the entry point (an analysis-ready area x period
``data.table`` with roles, or episode tables from which the area x month panel is built).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from impacteval.config.models import Config

#: A period: a date (the first day of a month) or a number (a numeric period column).
Period = float | dt.date

#: ``synth.method`` -> names of the registered estimator (the first one registered is used).
SYNTH_METHODS: dict[str, tuple[str, ...]] = {
    "classic": ("synthetic_control",),
    "augmented": ("augmented_synthetic_control",),
    "synthetic_did": ("synthetic_did",),
    "generalized": ("generalized_synthetic_control",),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthTreated(_Model):
    """One treated area and the first period of its change."""

    area: str = Field(description="Area code (a value of the area column, e.g. a CCG code).")
    start: Period = Field(description="First period of the change: a date (the month that "
                          "contains it is the first treated month) or a number.")


class SynthPredictor(_Model):
    """A predictor of the classic synthetic control: a column averaged over a window."""

    variable: str = Field(description="Column of the panel: an outcome rate (built panels: "
                          "'<outcome>_rate'), a count, 'population' or a covariate column.")
    window: tuple[Period, Period] | None = Field(
        None, description="First and last period averaged (inclusive); one period gives an "
        "outcome lag. Default: every pre-period.")
    label: str = ""


class SynthSpec(_Model):
    """Synthetic control for area-level changes (one or several treated areas)."""

    method: Literal["classic", "augmented", "synthetic_did", "generalized"] = Field(
        "classic", description="classic (Abadie et al.: nested V/W, in-space placebos), "
        "augmented (ridge augmented SC), synthetic_did (Arkhangelsky et al.), generalized "
        "(interactive fixed effects, Xu 2017, with its parametric bootstrap).")
    treated: list[SynthTreated] = Field(
        min_length=1, description="Treated areas and their start periods (several: each is "
        "fitted against the never-treated donors and the effects aggregated).")
    time: str | None = Field(
        None, description="Period column of data.table (numbers or dates). A panel built from "
        "episode tables has 'month'.")
    population: str | None = Field(
        None, description="Population column of data.table (for donors.min_population).")
    area_column: Literal["CCG_CODE", "LSOA11", "GPPRAC"] = Field(
        "CCG_CODE", description="Episode tables: area column of the persons table.")
    per: float = Field(10_000.0, gt=0, description="Episode tables: rates per this many "
                       "registered persons.")
    pre_period: tuple[Period, Period] | None = Field(
        None, description="First and last pre-period (default: the first period of the data to "
        "the period before the earliest start).")
    post_period: tuple[Period, Period] | None = Field(
        None, description="First and last post-period (default: the earliest start, after the "
        "washout, to the last period: the last complete month before data.data_cut).")
    washout: int = Field(0, ge=0, description="Periods from each start that are neither pre "
                         "nor post (the change bedding in); dropped for every area.")
    predictors: list[SynthPredictor] = Field(
        default_factory=list, description="classic only. Default: every pre-period outcome "
        "(the weights then minimise the pre-period fit directly).")
    v_search: Literal["synth", "multistart"] = "synth"
    exclude: list[str] = Field(default_factory=list, description="Areas never used as donors "
                               "(areas with their own changes).")
    min_population: int = Field(
        1, ge=0, description="Donors need at least this registered population in every "
        "pre-period (coverage); needs synth.population on data.table.")
    min_donors: int = Field(5, ge=2, description="Fewer donors left is an error (inference is "
                            "not identified).")
    min_pre_periods: int = Field(12, ge=2, description="Fewer pre-periods is an error.")
    placebos: bool = Field(
        True, description="Placebo inference: in-space placebos for one treated area (classic), "
        "the placebo distribution of the aggregate otherwise.")
    placebo_mspe_cutoff: float | None = Field(
        None, gt=0, description="classic, one area: drop placebos whose pre-period MSPE exceeds "
        "this multiple of the treated area's (Abadie et al. 2010 used 20, 5, 2).")
    placebo_draws: int = Field(500, ge=19, description="Random re-assignments of the treated "
                               "areas to donors (several areas, or augmented).")
    in_time_placebo: Period | None = Field(
        None, description="classic, one area: refit as if the change began at this period.")
    leave_one_out: bool = Field(False, description="classic, one area: refit without each "
                                "donor with weight.")
    se_method: Literal["placebo", "jackknife", "bootstrap"] = Field(
        "placebo", description="synthetic_did with one treated area or a common start.")
    replications: int = Field(200, ge=2, description="synthetic_did placebo/bootstrap draws; "
                              "generalized bootstrap draws.")
    max_pre_rmspe_sd: float = Field(
        0.5, gt=0, description="Warn when the pre-period RMSPE exceeds this multiple of the SD "
        "of the treated area's pre-period outcome (poor fit).")
    ci_level: float = Field(0.95, gt=0.5, lt=1)
    seed: int | None = Field(None, ge=0, description="Default: evaluation.seed.")

    @model_validator(mode="after")
    def _check(self) -> SynthSpec:
        areas = [t.area for t in self.treated]
        if len(set(areas)) != len(areas):
            raise ValueError("synth.treated lists an area more than once")
        if set(areas) & set(self.exclude):
            raise ValueError("an area cannot be both treated and in synth.exclude")
        kinds = {isinstance(p, dt.date) for p in self._periods()}
        if len(kinds) > 1:
            raise ValueError("synth periods (treated.start, windows) must all be dates or all "
                             "numbers")
        for name in ("pre_period", "post_period"):
            w = getattr(self, name)
            if w is not None and w[0] > w[1]:
                raise ValueError(f"synth.{name}: the first period is after the last")
        first_start = min(t.start for t in self.treated)
        if self.pre_period is not None and not self.pre_period[1] < first_start:  # type: ignore[operator]
            raise ValueError("synth.pre_period must end before the earliest treated start")
        if self.post_period is not None and self.post_period[0] < first_start:  # type: ignore[operator]
            raise ValueError("synth.post_period must not begin before the earliest start")
        if self.method != "classic":
            for key in ("predictors", "in_time_placebo", "placebo_mspe_cutoff"):
                if getattr(self, key):
                    raise ValueError(f"synth.{key} applies to method: classic only")
            if self.leave_one_out:
                raise ValueError("synth.leave_one_out applies to method: classic only")
        multi = len(self.treated) > 1
        if not self.placebos and (multi or self.method == "augmented") \
                and self.method != "generalized":
            raise ValueError("synth.placebos: false applies to one treated area with method "
                             "classic or synthetic_did (elsewhere inference is the placebo "
                             "distribution)")
        if multi and (self.in_time_placebo is not None or self.leave_one_out
                      or self.placebo_mspe_cutoff is not None):
            raise ValueError("in_time_placebo, leave_one_out and placebo_mspe_cutoff apply to "
                             "one treated area")
        if self.in_time_placebo is not None and not self.in_time_placebo < first_start:  # type: ignore[operator]
            raise ValueError("synth.in_time_placebo must be before the treated start")
        return self

    def _periods(self) -> list[Period]:
        out: list[Period] = [t.start for t in self.treated]
        for w in (self.pre_period, self.post_period):
            if w is not None:
                out += list(w)
        out += [p for pr in self.predictors if pr.window is not None for p in pr.window]
        if self.in_time_placebo is not None:
            out.append(self.in_time_placebo)
        return out

    @property
    def dates(self) -> bool:
        """True when the periods are dates (months)."""
        return isinstance(self.treated[0].start, dt.date)


def check_synth(cfg: Config) -> None:
    """The ``synth`` section fits the design and the entry point."""
    design = cfg.evaluation.design
    spec = cfg.synth
    if design != "synthetic_control":
        if spec is not None:
            raise ValueError("a 'synth' section needs evaluation.design: synthetic_control")
        return
    if spec is None:
        raise ValueError("design 'synthetic_control' needs a 'synth' section")
    if cfg.data.analysis_ready:
        if spec.time is None:
            raise ValueError("a synthetic control on data.table needs synth.time (the period "
                             "column)")
        if cfg.roles is not None and cfg.roles.unit_id is None:
            raise ValueError("a synthetic control on data.table needs roles.unit_id (the area "
                             "column)")
        if spec.min_population > 1 and spec.population is None:
            raise ValueError("synth.min_population needs synth.population (a column of "
                             "data.table)")
        return
    if spec.time is not None or spec.population is not None:
        raise ValueError("synth.time and synth.population name columns of data.table; the panel "
                         "built from episode tables has 'month' and 'population'")
    if not spec.dates:
        raise ValueError("synth periods must be dates with episode tables (monthly panel)")
    if cfg.cohort is not None:
        raise ValueError("'cohort' (care-home cohort) does not apply to the area panel; remove "
                         "it")
    if "bed_days" in cfg.outcomes:
        raise ValueError("outcomes: bed_days is not a count of events; the area panel counts "
                         "events (remove bed_days)")
