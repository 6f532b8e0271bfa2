"""Frozen, validated models of the YAML configuration.

Unknown keys are errors (``extra="forbid"``); :func:`impacteval.config.load_config` turns
pydantic's errors into one :class:`~impacteval.exceptions.ConfigError` naming the location
(``matching.caliper``) and suggesting the nearest valid key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from impacteval.config.extras import (
    AlternativeSpec,
    NegativeControlsSpec,
    SubgroupSpec,
    TriangulationSpec,
    check_extras,
)
from impacteval.config.synth import SynthSpec, check_synth

CONTRACT_TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths")
OPTIONAL_TABLES = ("settings",)

#: Outcomes the derive stage knows how to count (see ``impacteval.derive.events``).
OutcomeName = Literal[
    "emergency_admissions",
    "avoidable_emergency_admissions",
    "elective_admissions",
    "ae_attendances",
    "op_attendances",
    "bed_days",
    "deaths",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluationSpec(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Folder name of the outputs.")
    title: str = "Impact evaluation"
    design: Literal["matched_cohort", "regression_discontinuity", "instrumental_variables",
                    "interrupted_time_series", "difference_in_differences",
                    "spc", "synthetic_control"] = "matched_cohort"
    estimand: Literal["ATT", "LATE", "ATE"] = "ATT"
    seed: int = Field(2017, ge=0, description="Seed for every random step (matching order, bootstrap).")
    output_dir: Path = Field(
        Path("outputs"), description="Outputs go to OUTPUT_DIR/<id>/ (relative to the working directory)."
    )


class InvalidRowPolicy(_Model):
    """What to do with rows that break a rule but can be kept; counted either way."""

    epiend_before_epistart: Literal["drop", "keep"] = "drop"
    events_after_death: Literal["drop", "keep"] = "drop"
    duplicate_ae_within_hour: Literal["drop", "keep"] = "drop"
    unfinished_episodes: Literal["drop", "keep"] = "drop"


class CatalogTable(_Model):
    """An input read from the Spark catalog (Databricks Unity Catalog, Hive metastore) by name."""

    table: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$",
        description="Table name: 'catalog.schema.table', 'schema.table' or 'table'.",
    )


#: An episode-table input: a file, a folder of Parquet files, a glob, or a catalog table.
InputSource = Path | CatalogTable


class DataSpec(_Model):
    """Where the inputs are. Relative paths are relative to the config file's folder."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    memory_limit: str | None = Field(
        None, pattern=r"(?i)^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
        description="DuckDB memory limit, e.g. '8GB'; beyond it DuckDB spills to temp_directory.",
    )
    threads: int | None = Field(None, ge=1, description="DuckDB worker threads (default: all cores).")
    temp_directory: Path | None = Field(
        None, description="Folder DuckDB spills to when memory_limit is reached (default: next to "
        "the in-memory database, i.e. .tmp in the working directory).",
    )
    persons: InputSource | None = None
    apc_episodes: InputSource | None = None
    ae_attendances: InputSource | None = None
    op_appointments: InputSource | None = None
    deaths: InputSource | None = None
    settings: InputSource | None = None
    table: Path | None = Field(None, description="Analysis-ready person-level table (skips stages 1-4).")
    data_cut: dt.date | None = Field(None, description="Last date covered by the extract.")
    rename: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per table, {their column: contract column}."
    )
    on_invalid: InvalidRowPolicy = InvalidRowPolicy()

    @model_validator(mode="after")
    def _one_entry_point(self) -> DataSpec:
        episode = [t for t in CONTRACT_TABLES if getattr(self, t) is not None]
        if self.table is not None and episode:
            raise ValueError("give either 'table' (analysis-ready) or the episode tables, not both")
        if self.table is None:
            missing = [t for t in CONTRACT_TABLES if getattr(self, t) is None]
            if missing:
                raise ValueError(
                    f"episode-table entry needs all of {', '.join(CONTRACT_TABLES)}; missing: "
                    + ", ".join(missing)
                )
            if self.data_cut is None:
                raise ValueError("'data_cut' is required with episode tables")
        unknown = set(self.rename) - set(CONTRACT_TABLES) - set(OPTIONAL_TABLES) - {"table"}
        if unknown:
            raise ValueError(f"rename: unknown table(s) {sorted(unknown)}")
        named = [t for t in (*CONTRACT_TABLES, *OPTIONAL_TABLES)
                 if isinstance(getattr(self, t), CatalogTable)]
        if named and self.engine != "spark":
            raise ValueError(f"{named[0]}: catalog tables ({{table: ...}}) need engine: spark; "
                             "with duckdb give a file, a folder of Parquet files or a glob")
        duck_only = [k for k in ("memory_limit", "threads", "temp_directory") if getattr(self, k) is not None]
        if duck_only and self.engine != "duckdb":
            raise ValueError(f"{duck_only[0]} applies to engine: duckdb only; configure your "
                             "SparkSession instead")
        return self

    @property
    def analysis_ready(self) -> bool:
        return self.table is not None


class CohortSpec(_Model):
    """Care-home move-in cohort: treated = moved into an intervention setting."""

    index_window: tuple[dt.date, dt.date] = Field(description="Move-in dates eligible as index dates.")
    min_age: int = Field(65, ge=0, le=120)
    setting_types: list[Literal["residential", "nursing"]] = ["residential", "nursing"]
    treated_settings: list[str] = Field(default_factory=list, description="SETTING_IDs of intervention settings.")
    treated_settings_file: Path | None = Field(None, description="CSV with a SETTING_ID column.")
    control_areas: list[str] = Field(default_factory=list, description="CCG_CODEs of comparison areas.")
    exclude_died_before_index: bool = True
    lookback_days: int = Field(730, ge=365, description="Diagnosis look-back for Charlson/frailty.")
    max_follow_up_days: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> CohortSpec:
        if self.index_window[0] > self.index_window[1]:
            raise ValueError("index_window: start is after end")
        if not self.treated_settings and self.treated_settings_file is None:
            raise ValueError("name the intervention settings: treated_settings or treated_settings_file")
        return self


class RolesSpec(_Model):
    """Column roles for an analysis-ready table."""

    unit_id: str | None = Field(None, description="One row per unit (required for a matched cohort).")
    treatment: str | None = Field(None, description="0/1 treatment (matched cohort; fuzzy RD).")
    outcomes: list[str] = Field(min_length=1)
    covariates: list[str] = Field(default_factory=list)
    exposure: str | None = Field(None, description="Person-time column (years) for rate outcomes.")
    cluster: str | None = None


class RDDSpec(_Model):
    """Regression discontinuity on a person-level table (analysis-ready or the cohort)."""

    running: str = Field(description="Column of the running variable (e.g. age, a risk score).")
    cutoff: float = 0.0
    fuzzy: bool = Field(False, description="Treatment take-up is not fully determined by the cutoff.")
    p: int = Field(1, ge=0, le=4, description="Order of the local polynomial.")
    kernel: Literal["triangular", "epanechnikov", "uniform"] = "triangular"
    bwselect: Literal["mserd", "msetwo", "cerrd", "certwo"] = "mserd"
    vce: Literal["nn", "hc0", "hc1", "hc2", "hc3"] = "nn"
    covariates: list[str] = Field(default_factory=list, description="Adjustment covariates.")
    balance_covariates: list[str] = Field(
        default_factory=list, description="Covariates checked for a jump at the cutoff.")
    cluster: str | None = None
    ci_level: float = Field(0.95, gt=0.5, lt=1)


class SeriesSpec(_Model):
    """Build a weekly or monthly series from episode tables (designs its and spc).

    Counts the derived events of ``outcomes`` that happen while a person belongs to the
    population (registered in one of ``areas``, or living in a care home), per period, with
    the population on each period's first day and its person-years as denominators.
    """

    outcomes: list[OutcomeName] | None = Field(
        None, description="Outcomes to count (default: the top-level 'outcomes').")
    frequency: Literal["month", "week"] = "month"
    start: dt.date = Field(description="First day of the series (a month's 1st, or a Monday).")
    end: dt.date | None = Field(
        None, description="Last day (inclusive; the last day of a month, or a Sunday). "
        "Default: data.data_cut.")
    population: Literal["registered", "care_home_residents"] = Field(
        "registered", description="registered: persons registered (REG_START to REG_END) with an "
        "address in 'areas'; care_home_residents: persons while they live in a care home "
        "(settings table START_DATE to END_DATE).")
    area_column: Literal["CCG_CODE", "LSOA11", "GPPRAC"] = "CCG_CODE"
    areas: list[str] = Field(
        default_factory=list, description="Areas of the intervention series (empty: every area).")
    comparison_areas: list[str] = Field(
        default_factory=list, description="Areas of a comparison series (controlled ITS).")
    setting_types: list[Literal["residential", "nursing"]] = ["residential", "nursing"]
    settings: list[str] = Field(
        default_factory=list, description="care_home_residents: only these SETTING_IDs.")
    denominator: Literal["person_years", "population"] = Field(
        "person_years", description="Offset / denominator: person-years in the population in "
        "the period, or the number in the population on the period's first day.")

    @model_validator(mode="after")
    def _check(self) -> SeriesSpec:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        after = self.end + dt.timedelta(days=1) if self.end is not None else None
        if self.frequency == "month" and (self.start.day != 1 or (after and after.day != 1)):
            raise ValueError("a monthly series runs over whole months: start on the 1st, end "
                             "on the last day of a month")
        if self.frequency == "week" and (self.start.weekday() != 0
                                         or (after and after.weekday() != 0)):
            raise ValueError("a weekly series runs over whole weeks: start on a Monday, end "
                             "on a Sunday")
        if set(self.areas) & set(self.comparison_areas):
            raise ValueError("an area cannot be in both 'areas' and 'comparison_areas'")
        if self.comparison_areas and not self.areas:
            raise ValueError("comparison_areas need 'areas' for the intervention series")
        if self.settings and self.population != "care_home_residents":
            raise ValueError("'settings' applies to population: care_home_residents")
        return self


class ITSSpec(_Model):
    """Interrupted time series on a series (analysis-ready, or built from episode tables)."""

    time: str | None = Field(
        None, description="Period column of data.table: numbers, or dates (month or week "
        "starts). A series built from episode tables has 'period'.")
    series: SeriesSpec | None = Field(None, description="Build the series (episode tables).")
    interruptions: list[float | dt.date] = Field(min_length=1, description="When the change began.")
    population: str | None = Field(None, description="Denominator column (log offset for counts).")
    comparison_group: str | None = Field(
        None, description="Column naming the series (controlled ITS: 1 = intervention series).")
    family: Literal["gaussian", "poisson", "quasipoisson", "negative_binomial"] = "quasipoisson"
    errors: Literal["iid", "hac", "arima", "auto"] = "hac"
    arima_order: tuple[int, int, int] = Field(
        (1, 0, 0), description="(p, 0, q) of the ARMA errors (errors: arima or auto).")
    seasonal_order: tuple[int, int, int, int] | None = Field(
        None, description="(P, 0, Q, s) seasonal ARMA errors, e.g. [1, 0, 0, 12] (errors: arima "
        "or auto), for autocorrelation at the seasonal lag.")
    seasonality: Literal["none", "fourier", "month"] = "none"
    fourier_pairs: int = Field(2, ge=1, le=6)
    period: float | None = Field(None, gt=1, description="Season length (default 12 for months).")
    slope_change: bool = True
    phase_in: int = Field(0, ge=0, description="Periods of implementation after each change.")
    phase_in_mode: Literal["exclude", "ramp"] = "exclude"
    effect: Literal["level", "slope", "cumulative", "average"] = "level"
    spc_chart: Literal["none", "run", "xmr", "c", "u"] = Field(
        "xmr", description="SPC chart of the first outcome, limits re-based at each interruption.")
    improvement_direction: Literal["increase", "decrease", "neutral"] = "decrease"
    ci_level: float = Field(0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _orders(self) -> ITSSpec:
        p, d, q = self.arima_order
        if d != 0 or p + q == 0 or min(p, q) < 0:
            raise ValueError("arima_order must be [p, 0, q] with p + q >= 1")
        if self.seasonal_order is not None:
            sp, sd, sq, s = self.seasonal_order
            if sd != 0 or sp + sq == 0 or min(sp, sq) < 0 or s < 2:
                raise ValueError("seasonal_order must be [P, 0, Q, s] with P + Q >= 1, s >= 2")
            if self.errors not in ("arima", "auto"):
                raise ValueError("seasonal_order needs errors: arima or auto")
        return self


class SPCSpec(_Model):
    """Statistical process control charts of a series (Making Data Count conventions)."""

    chart: Literal["run", "xmr", "p", "u", "c", "p'", "u'"] = Field(
        "xmr", description="run, xmr (individuals), p / u / c (attribute charts), p' / u' "
        "(Laney, for large denominators).")
    time: str | None = Field(None, description="Period column of data.table.")
    denominator: str | None = Field(
        None, description="Denominator column of data.table (p, u, p', u' charts). A series "
        "built from episode tables uses its series.denominator.")
    series: SeriesSpec | None = Field(None, description="Build the series (episode tables).")
    baseline: int | None = Field(
        None, ge=2, description="Fix the limits of each part on its first N points (default: "
        "all points of the part).")
    rebase_at: list[float | dt.date] = Field(
        default_factory=list, description="First period of each new part (recorded changes).")
    improvement_direction: Literal["increase", "decrease", "neutral"] = "decrease"
    run_length: int | None = Field(
        None, ge=2, description="Shift length (default 7; 6 on run charts).")
    trend_length: int | None = Field(
        None, ge=3, description="Trend length (default 7; 5 on run charts).")
    screen_outliers: bool = Field(
        True, description="Drop moving ranges >= 3.267 x their mean before the limits.")
    multiply: float = Field(
        1.0, gt=0, description="Scale of rates and proportions (e.g. 1000: per 1,000).")
    target: float | None = Field(
        None, description="Target on the plotted scale, for the assurance label.")


class IVSpec(_Model):
    """Instrumental variables (2SLS or LIML) on a person-level table."""

    treatment: str = Field(description="The endogenous treatment column.")
    instruments: list[str] = Field(min_length=1)
    covariates: list[str] = Field(default_factory=list)
    method: Literal["2sls", "liml"] = "2sls"
    cov_type: Literal["unadjusted", "robust", "clustered"] = "robust"
    cluster: str | None = None
    weak_instrument_f: float = Field(10.0, gt=0)
    ci_level: float = Field(0.95, gt=0.5, lt=1)


class DiDPanelSpec(_Model):
    """How the DiD design builds an area x period panel from episode tables."""

    start: dt.date = Field(description="First day of the first period (the first of a month).")
    end: dt.date | None = Field(
        None, description="End of the study period, exclusive (default: the day after data_cut).")
    period: Literal["month", "quarter"] = "quarter"
    area: str = Field("CCG_CODE", description="Area column of the persons table (the unit).")
    adoption: dict[str, dt.date] = Field(
        min_length=1, description="Treatment start per adopting area, e.g. {'04N': 2014-04-01}; "
        "other areas are never treated.")
    areas: list[str] = Field(
        default_factory=list, description="Keep only these areas (default: every area).")
    outcome_scale: Literal["rate", "count"] = Field(
        "rate", description="Linear estimators: outcome per 1,000 registered person-years in the "
        "period (rate) or the count. The Poisson estimator always uses counts with a "
        "person-years offset.")


class DiDSpec(_Model):
    """Difference-in-differences on a unit x period panel (analysis-ready or built)."""

    estimator: Literal["callaway_santanna", "twoway", "event_study", "sun_abraham",
                       "poisson"] = Field(
        "callaway_santanna", description="callaway_santanna (staggered-robust ATT), twoway "
        "(TWFE, with its Bacon decomposition), event_study (dynamic TWFE), sun_abraham "
        "(interaction-weighted event study), poisson (TWFE Poisson rate ratio).")
    time: str | None = Field(None, description="Numeric period column (analysis-ready table).")
    cohort: str | None = Field(
        None, description="First treated period of each unit, 0 or empty = never treated "
        "(analysis-ready table).")
    panel: DiDPanelSpec | None = Field(None, description="Panel building (episode tables).")
    cluster: str | None = Field(None, description="Cluster column above the unit (default: unit).")
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated"
    est_method: Literal["dr", "ipw", "reg"] = "dr"
    anticipation: int = Field(0, ge=0)
    base_period: Literal["varying", "universal"] = Field(
        "universal", description="Callaway-Sant'Anna pre-period base (universal gives an event "
        "study relative to period -1, as the sensitivity bounds need).")
    aggregation: Literal["group", "simple", "dynamic", "calendar"] = "group"
    reference: int = Field(-1, lt=0, description="Reference event time of the event study.")
    window: tuple[int, int] | None = Field(None, description="Event-time window (lo, hi).")
    n_boot: int = Field(0, ge=0, description="Multiplier-bootstrap draws (Callaway-Sant'Anna).")
    wild_bootstrap: int = Field(
        0, ge=0, description="Wild cluster bootstrap draws for the twoway p-value (0 = off).")
    bootstrap_weights: Literal["rademacher", "webb"] = "rademacher"
    pretrend_test: Literal["wild_bootstrap", "chi2", "f", "hotelling"] = Field(
        "wild_bootstrap", description="p-value of the joint pre-trend test: wild_bootstrap "
        "(restricted wild cluster bootstrap of the event study's Wald test; near nominal size "
        "with few clusters; Callaway-Sant'Anna uses the Sun-Abraham event study for it), chi2 "
        "(large-G Wald), f (W/q on F(q, G-1)) or hotelling ((G-q)/(q(G-1)) W on F(q, G-q)).")
    pretrend_bootstrap: int = Field(999, ge=99, description="Draws of that wild bootstrap.")
    sensitivity_m_bar: list[float] = Field(
        default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0],
        description="Mbar values of the Rambachan-Roth relative-magnitude bounds.")
    sensitivity_m: list[float] | None = Field(
        None, description="M values of the Rambachan-Roth smoothness confidence intervals "
        "(outcome units per period squared); default: HonestDiD's grid, 0 to an upper bound "
        "from the pre-period coefficients.")
    sensitivity_target: int | None = Field(
        None, ge=0, description="Post-adoption event time the sensitivity analyses are about "
        "(default: the average over post periods for the relative-magnitude bounds, event "
        "time 0 for the smoothness intervals, as HonestDiD).")
    ci_level: float = Field(0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _check(self) -> DiDSpec:
        if self.window is not None and not (self.window[0] <= self.reference < 0
                                            <= self.window[1]):
            raise ValueError("window must be [lo, hi] with lo <= reference < 0 <= hi")
        if any(m < 0 for m in self.sensitivity_m_bar):
            raise ValueError("sensitivity_m_bar values must be >= 0")
        if self.sensitivity_m is not None and any(m < 0 for m in self.sensitivity_m):
            raise ValueError("sensitivity_m values must be >= 0")
        return self


class PropensitySpec(_Model):
    """The propensity-score model (matching on the propensity, calipers, trimming)."""

    model: Literal["logistic", "gradient_boosting"] = Field(
        "logistic", description="Unpenalised logistic regression (as R's glm) or scikit-learn's "
        "HistGradientBoostingClassifier (seeded by evaluation.seed).")
    spline_df: int | None = Field(
        None, ge=2, le=6, description="Logistic: restricted (natural) cubic spline of each "
        "covariate with more than spline_df + 1 distinct values, with this many degrees of "
        "freedom (knots at Harrell's quantiles); null for linear terms.")
    interactions: bool = Field(False, description="Logistic: add every pairwise product of the "
                               "covariates (constant products are left out).")
    max_iter: int = Field(200, ge=1, le=5000, description="Gradient boosting: boosting rounds.")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Gradient boosting: shrinkage.")
    max_depth: int | None = Field(3, ge=1, le=20, description="Gradient boosting: tree depth.")


class GeneticSpec(_Model):
    """Genetic matching (Diamond and Sekhon 2013): options of the weight search."""

    loss: Literal["pvalue", "smd"] = Field(
        "pvalue", description="Maximise the smallest balance p-value (paired t and KS tests, "
        "as GenMatch) or minimise the largest absolute SMD; both lexically.")
    pop_size: int = Field(50, ge=4, le=5000, description="Genomes per generation.")
    max_generations: int = Field(25, ge=1, le=1000, description="Generation limit.")
    wait_generations: int = Field(
        5, ge=1, le=1000, description="Stop early when the best loss has not improved for this "
        "many generations.")
    balance_squares: bool = Field(False, description="Judge balance also on the squares of "
                                  "non-binary covariates.")
    balance_interactions: bool = Field(False, description="Judge balance also on pairwise "
                                       "products of the covariates.")


class MatchingSpec(_Model):
    """How treated units are matched to comparison units (see docs/how-to/matching.md)."""

    method: Literal["nearest", "optimal", "genetic"] = Field(
        "nearest", description="Greedy nearest neighbour; optimal pair matching (smallest total "
        "distance, no replacement); or genetic matching (with replacement).")
    distance: Literal["logit_propensity", "propensity", "mahalanobis", "robust_mahalanobis",
                      "scaled_euclidean", "generalized_mahalanobis"] = "logit_propensity"
    distance_weights: dict[str, float] = Field(
        default_factory=dict, description="generalized_mahalanobis: weight per covariate "
        "(unlisted covariates weigh 1).")
    ratio: int = Field(1, ge=1, le=20, description="Controls per treated unit (k:1).")
    replace: bool = Field(False, description="A control may be matched to several treated units.")
    caliper: float | None = Field(
        0.2, gt=0, description="Largest allowed difference. caliper_scale sd: in SDs of the "
        "propensity distance (for covariate distances: of the logit propensity, i.e. matching "
        "within propensity calipers); raw: on the matching distance itself. null for none.")
    caliper_scale: Literal["sd", "raw"] = "sd"
    calipers: dict[str, float] = Field(
        default_factory=dict, description="Per-covariate calipers: largest |difference| on the "
        "covariate's own scale (nearest and optimal).")
    order: Literal["largest", "smallest", "random", "data"] = Field(
        "largest", description="Order in which treated units choose (nearest without "
        "replacement); largest/smallest refer to the propensity. Default for covariate "
        "distances: data (as MatchIt).")
    exact: list[str] = Field(default_factory=list, description="Covariates matched exactly "
                             "(matching is done stratum by stratum).")
    covariates: list[str] | None = Field(None, description="Default: every covariate the cohort builds.")
    propensity: PropensitySpec = PropensitySpec()
    common_support: Literal["binary", "none", "minmax", "crump"] = Field(
        "binary", description="binary: drop units with a binary-covariate value seen in one arm "
        "only; minmax: also drop units outside the other arm's propensity range; crump: also "
        "keep only propensities in [trim_alpha, 1 - trim_alpha] (Crump et al. 2009); none.")
    trim_alpha: float = Field(0.1, gt=0, lt=0.5, description="Crump et al.'s alpha.")
    genetic: GeneticSpec = GeneticSpec()
    smd_threshold: float = Field(0.1, gt=0)
    variance_ratio_range: tuple[float, float] = (0.5, 2.0)

    @model_validator(mode="before")
    @classmethod
    def _genetic_defaults(cls, data: Any) -> Any:
        # genetic matching is with replacement and without a caliper unless the user says so
        if isinstance(data, dict) and data.get("method") == "genetic":
            data = dict(data)
            data.setdefault("replace", True)
            data.setdefault("caliper", None)
            data.setdefault("distance", "generalized_mahalanobis")
        # MatchIt's default order: largest propensity first, data order for covariate distances
        if isinstance(data, dict) and data.get("distance") not in (None, "logit_propensity",
                                                                   "propensity"):
            data = dict(data)
            data.setdefault("order", "data")
        return data

    @model_validator(mode="after")
    def _check(self) -> MatchingSpec:
        if self.method == "genetic":
            if self.distance != "generalized_mahalanobis":
                raise ValueError("genetic matching searches the weights of the generalized "
                                 "Mahalanobis distance: remove matching.distance")
            if not self.replace:
                raise ValueError("genetic matching is with replacement (as GenMatch): remove "
                                 "matching.replace: false")
            for key in ("caliper", "calipers", "exact", "distance_weights"):
                if getattr(self, key):
                    raise ValueError(f"matching.{key} is not available with method: genetic; "
                                     "remove it (or use method: nearest)")
        if self.method == "optimal" and self.replace:
            raise ValueError("optimal pair matching is without replacement: remove "
                             "matching.replace: true (or use method: nearest)")
        if self.distance_weights and self.distance != "generalized_mahalanobis":
            raise ValueError("matching.distance_weights needs distance: generalized_mahalanobis")
        bad = {k: v for k, v in self.distance_weights.items() if not v >= 0}
        if bad:
            raise ValueError(f"matching.distance_weights must be >= 0 (check {', '.join(bad)})")
        bad = {k: v for k, v in self.calipers.items() if not v > 0}
        if bad:
            raise ValueError(f"matching.calipers must be > 0 (check {', '.join(bad)})")
        if self.caliper_scale == "raw" and self.caliper is None:
            raise ValueError("matching.caliper_scale: raw needs a matching.caliper")
        lo, hi = self.variance_ratio_range
        if not 0 < lo < hi:
            raise ValueError("matching.variance_ratio_range must be (low, high) with 0 < low < high")
        if self.propensity.model == "gradient_boosting" and (
                self.propensity.spline_df is not None or self.propensity.interactions):
            raise ValueError("matching.propensity: spline_df and interactions apply to the "
                             "logistic model only")
        return self


class AnalysisSpec(_Model):
    """Outcome analysis on the matched sample."""

    estimator: str = Field(
        "matched_rate_ratio",
        description="Registered estimator for each outcome (a plugin's name, or a built-in such "
        "as matched_rate_ratio); it is called as fit(data, outcome=, treatment=, exposure=, "
        "weights=, clusters=, covariates=).")
    family: Literal["poisson", "negative_binomial"] = "poisson"
    cluster: Literal["pair", "setting", "pair_and_setting", "none"] = "pair"
    adjust_for: Literal["none", "matching_covariates"] = "none"
    ci_level: float = Field(0.95, gt=0.5, lt=1)
    naive_comparison: bool = True
    standard_errors: Literal["cluster", "bootstrap", "abadie_imbens"] = Field(
        "cluster", description="cluster: the estimator's cluster-robust SEs (analysis.cluster); "
        "bootstrap: resample matched sets (percentile CI); abadie_imbens: the matching "
        "estimator's ATT (difference in mean outcome, per person-year with an exposure) with "
        "the Abadie-Imbens SE, for matching with replacement (as Matching::Match).")
    n_boot: int = Field(999, ge=50, le=100_000, description="Bootstrap replicates.")


class SDCSpec(_Model):
    """Disclosure control for every released count."""

    regime: Literal["nhse_sde", "nhsd_hes", "opensafely", "custom"] = "nhse_sde"
    min_count: int | None = Field(None, ge=0, description="Suppress counts below this (custom regime).")
    round_to: int | None = Field(None, ge=1)
    suppress_label: str = "<10"


class Config(_Model):
    """The whole evaluation. Paths are absolute after :func:`load_config`."""

    _source_dir: Path | None = PrivateAttr(default=None)

    plugins: list[str] = Field(
        default_factory=list,
        description="Python modules imported before the config is checked; each registers its "
        "own estimators (see impacteval.plugins). Searched first next to the config file.")
    evaluation: EvaluationSpec
    data: DataSpec
    cohort: CohortSpec | None = None
    roles: RolesSpec | None = None
    outcomes: list[OutcomeName] = Field(
        default_factory=lambda: ["emergency_admissions", "ae_attendances", "elective_admissions"]
    )
    matching: MatchingSpec = MatchingSpec()
    analysis: AnalysisSpec = AnalysisSpec()
    rdd: RDDSpec | None = None
    iv: IVSpec | None = None
    its: ITSSpec | None = None
    spc: SPCSpec | None = None
    did: DiDSpec | None = None
    synth: SynthSpec | None = None
    sdc: SDCSpec = SDCSpec()
    subgroups: list[SubgroupSpec] = Field(
        default_factory=list, description="Effects by subgroup (a variable name, or a mapping "
        "with variable, bins, gap_levels ...): the design is re-run within each level.")
    negative_controls: NegativeControlsSpec | None = None
    alternative_specifications: list[AlternativeSpec] = Field(
        default_factory=list, description="Named overrides of sections (e.g. {name: 'caliper "
        "0.1', matching: {caliper: 0.1}}), each run and shown beside the primary analysis.")
    triangulation: list[TriangulationSpec] = Field(
        default_factory=list, description="Further designs on the same data (e.g. {design: "
        "regression_discontinuity, rdd: {...}}): one comparison table and forest plot.")

    @field_validator("subgroups", mode="before")
    @classmethod
    def _subgroup_names(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"variable": x} if isinstance(x, str) else x for x in v]
        return v

    @field_validator("outcomes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("outcomes are listed more than once")
        return v

    @model_validator(mode="after")
    def _design_sections(self) -> Config:
        design = self.evaluation.design
        if design == "regression_discontinuity" and self.rdd is None:
            raise ValueError("design 'regression_discontinuity' needs an 'rdd' section")
        if design == "instrumental_variables" and self.iv is None:
            raise ValueError("design 'instrumental_variables' needs an 'iv' section")
        if design in SERIES_DESIGNS:
            _check_series_design(self)
        if design != "interrupted_time_series" and self.its is not None:
            raise ValueError("an 'its' section needs evaluation.design: interrupted_time_series")
        if design != "spc" and self.spc is not None:
            raise ValueError("an 'spc' section needs evaluation.design: spc")
        if design != "regression_discontinuity" and self.rdd is not None:
            raise ValueError("an 'rdd' section needs evaluation.design: regression_discontinuity")
        if design != "instrumental_variables" and self.iv is not None:
            raise ValueError("an 'iv' section needs evaluation.design: instrumental_variables")
        if design == "difference_in_differences":
            _check_did(self)
        elif self.did is not None:
            raise ValueError("a 'did' section needs evaluation.design: difference_in_differences")
        check_synth(self)  # synthetic_control: the 'synth' section
        if design == "matched_cohort" and self.roles is not None:
            if self.roles.treatment is None or not self.roles.covariates or not self.roles.unit_id:
                raise ValueError("a matched cohort needs roles.unit_id, roles.treatment and "
                                 "roles.covariates")
        if self.rdd is not None and self.rdd.fuzzy and (self.roles is None or self.roles.treatment
                                                        is None) and self.data.analysis_ready:
            raise ValueError("a fuzzy RD needs roles.treatment (the take-up column)")
        return self

    @model_validator(mode="after")
    def _matching_inference(self) -> Config:
        if self.analysis.standard_errors == "abadie_imbens" and not self.matching.replace:
            raise ValueError("analysis.standard_errors: abadie_imbens is for matching with "
                             "replacement: set matching.replace: true (or method: genetic), or "
                             "use standard_errors: cluster or bootstrap")
        return self

    @model_validator(mode="after")
    def _entry(self) -> Config:
        if self.data.analysis_ready:
            if self.roles is None:
                raise ValueError("an analysis-ready 'data.table' needs a 'roles' section")
            if self.cohort is not None:
                raise ValueError("'cohort' applies to episode tables; remove it with 'data.table'")
        else:
            if self.cohort is None and self.evaluation.design not in (
                    "difference_in_differences", "synthetic_control"):
                if self.evaluation.design not in SERIES_DESIGNS:
                    raise ValueError("episode tables need a 'cohort' section")
            if self.roles is not None:
                raise ValueError("'roles' applies to an analysis-ready 'data.table' only")
        return self

    @model_validator(mode="after")
    def _extras(self) -> Config:
        check_extras(self)  # subgroups, negative controls, alternatives, triangulation
        return self

    @property
    def source_dir(self) -> Path | None:
        """Folder of the YAML file the config came from (None if built in code)."""
        return self._source_dir

    def releasable_dump(self) -> dict[str, Any]:
        """The config as JSON types with paths relative to the config's folder.

        Used in results.json and the report so that outputs carry no absolute paths
        (and are byte-identical wherever the project is checked out).
        """
        import os

        dumped = self.model_dump(mode="json")
        base = self._source_dir

        def rel(value: Any) -> Any:
            if isinstance(value, str) and os.path.isabs(value):
                if base is not None:
                    try:
                        return os.path.relpath(value, base)
                    except ValueError:  # different drive on Windows
                        return os.path.basename(value)
                return os.path.basename(value)
            return value

        for section in ("data", "cohort", "evaluation"):
            if isinstance(dumped.get(section), dict):
                dumped[section] = {k: rel(v) for k, v in dumped[section].items()}
        return dumped


def _check_did(cfg: Config) -> None:
    """The 'did' section fits the entry point (columns for a table, a panel for episodes)."""
    did = cfg.did
    if did is None:
        raise ValueError("design 'difference_in_differences' needs a 'did' section")
    if cfg.data.analysis_ready:
        if did.panel is not None:
            raise ValueError("did.panel builds a panel from episode tables; with data.table "
                             "give did.time and did.cohort instead")
        if did.time is None or did.cohort is None:
            raise ValueError("a DiD on data.table needs did.time (period column) and did.cohort "
                             "(first treated period, 0 = never)")
        if cfg.roles is not None and cfg.roles.unit_id is None:
            raise ValueError("a DiD on data.table needs roles.unit_id")
        if did.estimator == "poisson" and (cfg.roles is None or cfg.roles.exposure is None):
            raise ValueError("did.estimator 'poisson' needs roles.exposure (person-time or "
                             "population column)")
    else:
        if did.panel is None:
            raise ValueError("a DiD on episode tables needs did.panel (start, period, adoption)")
        if did.time is not None or did.cohort is not None:
            raise ValueError("did.time and did.cohort name columns of data.table; the panel "
                             "built from episode tables has 'period' and 'cohort'")
        if cfg.cohort is not None:
            raise ValueError("'cohort' (care-home cohort) does not apply to the DiD panel; "
                             "remove it")
        if "bed_days" in cfg.outcomes:
            raise ValueError("outcomes: bed_days is not a count of events; the DiD panel counts "
                             "events (remove bed_days)")


#: Designs on a weekly or monthly series (built from episode tables by ``its.series`` /
#: ``spc.series``, or an analysis-ready ``data.table`` with one row per period).
SERIES_DESIGNS = ("interrupted_time_series", "spc")


def _check_series_design(cfg: Config) -> None:
    """The its/spc section fits the entry point (a time column for a table, a series spec for
    episode tables)."""
    design = cfg.evaluation.design
    key = "its" if design == "interrupted_time_series" else "spc"
    spec = cfg.its if key == "its" else cfg.spc
    if spec is None:
        raise ValueError(f"design '{design}' needs an '{key}' section")
    if cfg.data.analysis_ready:
        if spec.series is not None:
            raise ValueError(f"{key}.series builds the series from episode tables; with "
                             f"data.table name the period column in {key}.time instead")
        if spec.time is None:
            raise ValueError(f"a series in data.table needs {key}.time (the period column)")
        if isinstance(spec, SPCSpec) and spec.chart in ("p", "u", "p'", "u'") \
                and spec.denominator is None:
            raise ValueError(f"a {spec.chart} chart needs spc.denominator (a column of data.table)")
        return
    if spec.series is None:
        raise ValueError(f"{key} on episode tables needs {key}.series (what to count, from "
                         "when, in which population)")
    if spec.time is not None:
        raise ValueError(f"{key}.time names a column of data.table; the series built from "
                         "episode tables has 'period'")
    if cfg.cohort is not None:
        raise ValueError(f"'cohort' (care-home cohort) does not apply to {key}.series; remove "
                         "it (series.population: care_home_residents counts care-home residents)")
    if (spec.series.end is not None and cfg.data.data_cut is not None
            and spec.series.end > cfg.data.data_cut):
        raise ValueError(f"{key}.series.end is after data.data_cut")
    if spec.series.population == "care_home_residents" and cfg.data.settings is None:
        raise ValueError("series.population care_home_residents needs data.settings")
    if isinstance(spec, ITSSpec):
        if spec.population is not None or spec.comparison_group is not None:
            raise ValueError("its.population and its.comparison_group name columns of "
                             "data.table; the built series sets them (series.denominator, "
                             "series.comparison_areas)")
        if any(not isinstance(i, dt.date) for i in spec.interruptions):
            raise ValueError("its.interruptions must be dates for a series built from episode "
                             "tables (the first day of the first post-intervention period)")
    else:
        if spec.denominator is not None:
            raise ValueError("spc.denominator names a column of data.table; the built series "
                             "uses series.denominator")
        if spec.series.comparison_areas:
            raise ValueError("spc.series.comparison_areas: an SPC chart follows one series; "
                             "remove comparison_areas")
        if any(not isinstance(r, dt.date) for r in spec.rebase_at):
            raise ValueError("spc.rebase_at must be dates for a series built from episode tables")
