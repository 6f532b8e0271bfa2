"""Analyses run beside the main one: subgroups, negative controls, alternative specifications
and triangulation (config sections of :mod:`impacteval.config.extras`).

Each re-runs a registered design (:class:`~impacteval.pipeline.design_registry.DesignHandler`)
through its ``analyse`` step, so it works for every design, built-in or added later:

- **subgroups**: the design is re-run within each level of the subgroup variable. For a
  matched cohort that is *matching within the subgroup* (the propensity model is refitted and
  people are matched only to people of the same level), so each level's comparison is
  balanced on its own and the levels' matched samples are disjoint. That independence is
  what the interaction test needs: Cochran's Q (heterogeneity of the level estimates, on the
  log scale for ratios, standard errors from the confidence limits) with ``k - 1`` degrees of
  freedom. Levels with fewer than ``min_per_arm`` people in either arm are counted but not
  estimated. The report adjusts the interaction p-values for multiplicity (Holm) and applies
  disclosure control per level (:mod:`impacteval.report.subgroups`).
- **negative controls**: the outcomes are estimated on the same analysis table, by the same
  design and settings as the main outcomes; an exposure (a matched cohort on an
  analysis-ready table) replaces the treatment in a re-run on the first outcome.
- **alternative specifications**: each is a full config (sections overridden) run on the same
  analysis table; its estimates carry ``details["specification"]``.
- **triangulation**: each further design builds its own analysis table from the same data
  (episode tables) or reads the same ``data.table``, and is analysed by its own handler.

A step that cannot be identified on the data (a DesignError or EstimationError, e.g. no overlap
in a small subgroup) is recorded as a note and does not stop the run; configuration and data
errors do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.config import Config
from impacteval.config.extras import SubgroupSpec, derived_config, overrides
from impacteval.exceptions import ConfigError, DesignError, EstimationError, SchemaError
from impacteval.pipeline.analysis import AnalysisOutput
from impacteval.pipeline.design_registry import (
    DesignHandler,
    EpisodeData,
    Prepared,
    build_person_cohort,
    get_design,
    prepare_ready_table,
)
from impacteval.report.tables import is_naive
from impacteval.results import EffectEstimate

__all__ = ["ExtrasOutput", "build_config", "check_episode_extras", "check_ready_extras",
           "has_extras", "run_extras", "subgroup_levels"]

_RATIO = ("rate_ratio", "risk_ratio", "odds_ratio")
_MAX_LEVELS = 12
_COMPACT = 10  # entries of a nested diagnostic kept in the compact record of a re-run
_UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class ExtrasOutput:
    """What the extras add to the run's result."""

    estimates: tuple[EffectEstimate, ...] = ()
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, Any] = field(default_factory=dict)
    figure_data: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def has_extras(cfg: Config) -> bool:
    """Whether the config asks for any of the extras."""
    return bool(cfg.subgroups or cfg.negative_controls or cfg.alternative_specifications
                or cfg.triangulation)


def _nc_outcomes(cfg: Config) -> list[str]:
    return list(cfg.negative_controls.outcomes) if cfg.negative_controls else []


def build_config(cfg: Config) -> Config:
    """The config stage 4 builds with: negative-control outcomes are built beside the main
    ones (episode tables), so they can be estimated on the same analysis table."""
    extra = [o for o in _nc_outcomes(cfg) if o not in cfg.outcomes]
    if not extra or cfg.data.analysis_ready:
        return cfg
    built = cfg.model_copy(update={"outcomes": [*cfg.outcomes, *extra]})
    built._source_dir = cfg.source_dir
    return built


def split_outcomes(cfg: Config, prepared: Prepared) -> tuple[list[str], list[str]]:
    """The analysis table's main and negative-control outcome columns.

    On episode tables the negative controls were built after the main outcomes
    (:func:`build_config`); a design's build may rename outcome columns (e.g. a ``_rate``
    suffix), so when it kept one column per outcome they are split by position, otherwise by
    name. On an analysis-ready table the negative controls are the named columns.
    """
    nc = _nc_outcomes(cfg)
    if not nc:
        return list(prepared.outcomes), []
    outcomes = list(prepared.outcomes)
    if cfg.data.analysis_ready:
        return [o for o in outcomes if o not in nc], nc
    extra = [o for o in nc if o not in cfg.outcomes]
    if len(outcomes) == len(cfg.outcomes) + len(extra):
        return outcomes[:len(cfg.outcomes)], outcomes[len(cfg.outcomes):]
    return [o for o in outcomes if o not in nc], [o for o in outcomes if o in nc]


def main_prepared(cfg: Config, prepared: Prepared) -> Prepared:
    """The analysis table's roles for the main analysis (without negative-control outcomes)."""
    main, nc = split_outcomes(cfg, prepared)
    return replace(prepared, outcomes=main) if nc else prepared


def _quiet(cfg: Config) -> Config:
    """The config of a re-run: no naive comparison (only the design's estimates are used)."""
    quiet = cfg.model_copy(update={"analysis": cfg.analysis.model_copy(
        update={"naive_comparison": False})})
    quiet._source_dir = cfg.source_dir
    return quiet


def _mark(estimates: Sequence[EffectEstimate], **details: Any) -> list[EffectEstimate]:
    """The design's own (non-naive) estimates with ``details`` added."""
    return [replace(e, details={**e.details, **details}) for e in estimates if not is_naive(e)]


def _try(fn: Any, what: str, notes: list[str]) -> Any:
    try:
        return fn()
    except (DesignError, EstimationError) as exc:
        notes.append(f"{what}: not computed ({exc.message})")
        return None


def _scalars(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """A compact record of a re-run's diagnostics: numbers, text and short lists of text, also
    inside small nested mappings (e.g. a pre-trend test, a density test); tables, long lists
    and large mappings (propensity coefficients) are left out."""
    out: dict[str, Any] = {}
    for k, v in diagnostics.items():
        if isinstance(v, (bool, int, float, str, np.integer, np.floating)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)) and len(v) <= _COMPACT and all(
                isinstance(x, str) for x in v):
            out[k] = list(v)
        elif isinstance(v, Mapping):
            inner = _scalars(v)
            if inner and len(inner) <= _COMPACT:
                out[k] = inner
    return out


# --------------------------------------------------------------------------- subgroups


def _natural(levels: Sequence[str]) -> list[str]:
    def key(s: str) -> tuple[int, float, str]:
        if s == _UNKNOWN:
            return (2, 0.0, s)
        try:
            return (0, float(s), s)
        except ValueError:
            return (1, 0.0, s)

    return sorted(levels, key=key)


def _binned(values: pd.Series, bins: Sequence[float]) -> tuple[pd.Series, list[str]]:
    names = [f"under {bins[0]:g}"]
    names += [f"{a:g} to under {b:g}" for a, b in zip(bins[:-1], bins[1:], strict=True)]
    names.append(f"{bins[-1]:g} and over")
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    idx = np.searchsorted(np.asarray(bins, dtype=float), x, side="right")
    out = pd.Series([names[i] for i in idx], index=values.index, dtype=object)
    out[np.isnan(x)] = _UNKNOWN
    return out, names + ([_UNKNOWN] if np.isnan(x).any() else [])


def subgroup_levels(frame: pd.DataFrame, spec: SubgroupSpec, *, where: str
                    ) -> tuple[pd.Series, list[str], str, tuple[str, str] | None]:
    """The level of each row of ``frame`` for one subgroup variable.

    Returns the levels (text, ``unknown`` for missing values), their display order, the
    variable's label and the gap levels. The built-in groupings of the care-home cohort
    (``imd_quintile`` from ``imd_decile``/``imd_missing``, ``age_band`` from ``age``, ``sex``
    from ``female``, ``ethnicity`` from ``white``/``ethnicity_unknown``) are used when the
    table has no column of that name.

    Raises
    ------
    SchemaError
        The column is missing, or has too many distinct values to be a grouping (give bins).
    """
    from impacteval.config.extras import BUILTIN_SUBGROUPS

    column = spec.column or spec.variable
    builtin_label, builtin_gap = BUILTIN_SUBGROUPS.get(spec.variable, (None, None))
    label = spec.label or builtin_label or spec.variable.replace("_", " ")
    gap = spec.gap_levels or builtin_gap
    cols = frame.columns
    if column not in cols and spec.column is None and builtin_label is not None:
        v = spec.variable
        if v == "imd_quintile" and "imd_decile" in cols:
            q = np.ceil(pd.to_numeric(frame["imd_decile"], errors="coerce") / 2.0)
            out = q.map(lambda x: _UNKNOWN if pd.isna(x) else str(int(x))).astype(object)
            if "imd_missing" in cols:
                out = out.where(frame["imd_missing"].astype(float) != 1, _UNKNOWN)
            return out, _natural(pd.unique(out).tolist()), label, gap
        if v == "age_band" and "age" in cols:
            out, order = _binned(frame["age"], spec.bins or [75.0, 85.0])
            return out, [o for o in order if o in set(out)], label, gap
        if v == "sex" and "female" in cols:
            out = frame["female"].map({1: "female", 0: "male or not stated"}).fillna(_UNKNOWN)
            order = ["female", "male or not stated", _UNKNOWN]
            return out.astype(object), [o for o in order if o in set(out)], label, gap
        if v == "ethnicity" and "white" in cols:
            out = frame["white"].map({1: "White", 0: "other ethnic groups"}).astype(object)
            if "ethnicity_unknown" in cols:
                out = out.where(frame["ethnicity_unknown"].astype(float) != 1, "not stated")
            out = out.fillna(_UNKNOWN)
            order = ["White", "other ethnic groups", "not stated", _UNKNOWN]
            return out, [o for o in order if o in set(out)], label, gap
    if column not in cols:
        raise SchemaError(f"no column {column!r} in the analysis table", where=where,
                          hint="name a column of the analysis table, or one of the built-in "
                          "groupings: " + ", ".join(BUILTIN_SUBGROUPS))
    values = frame[column]
    if spec.bins:
        if not pd.api.types.is_numeric_dtype(values):
            raise SchemaError("bins need a numeric column", where=f"{where} ({column})")
        out, order = _binned(values, spec.bins)
        return out, [o for o in order if o in set(out)], label, gap

    def text(x: Any) -> str:
        if pd.isna(x):
            return _UNKNOWN
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            return str(int(x))
        return str(x)

    out = values.map(text).astype(object)
    order = _natural(pd.unique(out).tolist())
    if len(order) > _MAX_LEVELS:
        raise SchemaError(f"{len(order)} distinct values: too many for subgroups",
                          where=f"{where} ({column})",
                          hint="give bins (cut points) for a numeric column, or group it first")
    return out, order, label, gap


def _arm_counts(frame: pd.DataFrame, p: Prepared, outcome: str) -> dict[str, Any]:
    """People, events and person-years per arm of a (sub)sample, unrounded."""
    rec: dict[str, Any] = {}
    t = frame[p.treatment].astype(bool) if p.treatment in frame.columns else None
    for arm in ("treated", "control"):
        if t is None:
            rec[f"n_{arm}"] = None
            rec[f"events_{arm}"] = None
            continue
        sub = frame.loc[t if arm == "treated" else ~t]
        rec[f"n_{arm}"] = int(len(sub))
        rec[f"events_{arm}"] = (float(sub[outcome].sum()) if outcome in sub.columns
                                else None)
        if p.exposure and p.exposure in sub.columns:
            rec[f"person_years_{arm}"] = float(sub[p.exposure].sum())
    return rec


def _se(e: EffectEstimate) -> float:
    """Standard error on the analysis scale (log for ratios) from the confidence limits."""
    z = float(stats.norm.ppf(0.5 + e.ci_level / 2.0))
    lo, hi = float(e.ci_lower), float(e.ci_upper)
    if e.scale in _RATIO:
        if not (lo > 0 and hi > 0):
            return math.nan
        lo, hi = math.log(lo), math.log(hi)
    return (hi - lo) / (2.0 * z) if z > 0 else math.nan


def heterogeneity_p(estimates: Sequence[EffectEstimate]) -> float | None:
    """Cochran's Q test that independent subgroup estimates differ (None if under two).

    Ratios are compared on the log scale; each standard error comes from the confidence
    limits, so any design's estimates can be compared.
    """
    rows = []
    for e in estimates:
        b = float(e.estimate)
        if e.scale in _RATIO:
            b = math.log(b) if b > 0 else math.nan
        se = _se(e)
        if math.isfinite(b) and math.isfinite(se) and se > 0:
            rows.append((b, se))
    if len(rows) < 2:
        return None
    beta = np.array([r[0] for r in rows])
    w = 1.0 / np.array([r[1] for r in rows]) ** 2
    pooled = float(np.sum(w * beta) / np.sum(w))
    q = float(np.sum(w * (beta - pooled) ** 2))
    return float(stats.chi2.sf(q, df=len(rows) - 1))


def _subgroups(cfg: Config, handler: DesignHandler, prepared: Prepared, notes: list[str]
               ) -> list[dict[str, Any]]:
    quiet = _quiet(cfg)
    records: list[dict[str, Any]] = []
    # a matched cohort's arms are its treatment column; another design's sides (below and
    # above a cutoff, instrument values, periods) are counted by its estimator
    by_arm = cfg.evaluation.design == "matched_cohort"
    for i, spec in enumerate(cfg.subgroups):
        where = f"subgroups[{i}]"
        levels, order, label, gap = subgroup_levels(prepared.frame, spec, where=where)
        outcomes = list(spec.outcomes or prepared.outcomes[:1])
        per_outcome: dict[str, list[dict[str, Any]]] = {o: [] for o in outcomes}
        fitted: dict[str, list[EffectEstimate]] = {o: [] for o in outcomes}
        for level in order:
            subset = prepared.frame.loc[(levels == level).to_numpy()].reset_index(drop=True)
            sub_p = replace(prepared, frame=subset, outcomes=outcomes)
            counted = sub_p if by_arm else replace(sub_p, treatment=None)
            arms = _arm_counts(subset, counted, outcomes[0])
            small = (arms["n_treated"] is not None
                     and min(arms["n_treated"], arms["n_control"]) < spec.min_per_arm)
            out = None
            if small:
                notes.append(f"{where} ({spec.variable}) level {level!r}: fewer than "
                             f"{spec.min_per_arm} people in an arm, not estimated")
            else:
                out = _try(lambda p=sub_p: handler.analyse(quiet, p),
                           f"{where} ({spec.variable}) level {level!r}", notes)
            for outcome in outcomes:
                est = None
                if out is not None:
                    est = next((e for e in out.estimates
                                if e.outcome == outcome and not is_naive(e)), None)
                sample = out.matched if out is not None else subset
                rec = {"level": level, **_arm_counts(sample, counted, outcome)}
                if est is not None and rec["n_treated"] is None:
                    rec.update(n_treated=est.n_treated, n_control=est.n_control)
                if est is not None and rec["n_treated"] is not None and min(
                        rec["n_treated"], rec["n_control"]) < spec.min_per_arm:
                    notes.append(f"{where} ({spec.variable}) level {level!r}, {outcome}: "
                                 f"fewer than {spec.min_per_arm} people in an arm after the "
                                 "design, estimate withheld")
                    est = None
                if est is None:
                    rec.update(estimate=None, ci_lower=None, ci_upper=None)
                else:
                    fitted[outcome].append(est)
                    rec.update(estimate=est.estimate, ci_lower=est.ci_lower,
                               ci_upper=est.ci_upper)
                per_outcome[outcome].append(rec)
        for outcome in outcomes:
            scale = fitted[outcome][0].scale if fitted[outcome] else "rate_ratio"
            record: dict[str, Any] = {
                "variable": spec.variable, "label": label, "outcome": outcome,
                "scale": scale, "interaction_p": heterogeneity_p(fitted[outcome]),
                "levels": per_outcome[outcome],
                "method": ("each group analysed on its own (people matched only within "
                           "the group)" if by_arm else "the design re-run within each group")
                          + "; the test compares the groups' estimates (Cochran's Q)"}
            estimated = [lv["level"] for lv in per_outcome[outcome]
                         if lv.get("estimate") is not None]
            if by_arm and len(estimated) < len(per_outcome[outcome]):
                record["method"] += ("; counts are each group's matched sample, or everyone in "
                                     "a group too small to estimate")
            record_gap = gap
            if (spec.variable == "imd_quintile" and spec.gap_levels is None and gap is not None
                    and not set(gap) <= set(estimated)):
                # quintile 1 or 5 missing or not estimated: compare the most and the least
                # deprived quintiles that were
                numeric = [lv for lv in estimated if lv.isdigit()]
                record_gap = ((min(numeric, key=int), max(numeric, key=int))
                              if len(numeric) >= 2 else None)
            if record_gap is not None:
                record["gap_levels"] = list(record_gap)
            records.append(record)
    return records


def check_ready_extras(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    """Before anything runs on an analysis-ready table: the columns the extras name exist
    (negative controls numeric, subgroup variables or their built-in sources).

    Raises
    ------
    SchemaError
        Naming the config key and the missing column.
    """
    from impacteval.pipeline.designs import _require_numeric

    nc = cfg.negative_controls
    if nc is not None:
        for key, names in (("outcomes", nc.outcomes), ("exposures", nc.exposures)):
            missing = [c for c in names if c not in frame.columns]
            if missing:
                raise SchemaError(f"missing column(s): {', '.join(missing)}",
                                  where=f"negative_controls.{key}",
                                  hint=f"name columns of {source}")
            _require_numeric(frame, names, source)
    for i, spec in enumerate(cfg.subgroups):
        subgroup_levels(frame, spec, where=f"subgroups[{i}]")


def check_episode_extras(cfg: Config) -> None:
    """Before anything runs on episode tables with the person-level cohort: subgroup variables
    are built-in groupings or columns the cohort builds (a design with its own build is checked
    when its table exists).

    Raises
    ------
    ConfigError
        Naming ``subgroups[i].variable`` (or ``.column``).
    """
    from impacteval.cohort.covariates import COVARIATES
    from impacteval.cohort.measures import EXPOSURE
    from impacteval.config.extras import BUILTIN_SUBGROUPS

    if cfg.data.analysis_ready or not cfg.subgroups:
        return
    if get_design(cfg.evaluation.design).build is not None:
        return
    known = {*COVARIATES, *build_config(cfg).outcomes, EXPOSURE, "treated", "setting_id",
             "setting_type", "area", "index_date", "follow_up_end"}
    for i, spec in enumerate(cfg.subgroups):
        if spec.column is None and spec.variable in BUILTIN_SUBGROUPS:
            continue
        column = spec.column or spec.variable
        if column not in known:
            key = "column" if spec.column else "variable"
            raise ConfigError(f"the care-home cohort has no column {column!r}",
                              where=f"subgroups[{i}].{key}",
                              hint="use a built-in grouping (" + ", ".join(BUILTIN_SUBGROUPS)
                              + ") or a cohort column such as setting_type, area, nursing")


# ----------------------------------------------------------------- negative controls


def _negative_controls(cfg: Config, handler: DesignHandler, prepared: Prepared,
                       notes: list[str]) -> tuple[list[EffectEstimate], dict[str, list[str]]]:
    nc = cfg.negative_controls
    assert nc is not None
    quiet = _quiet(cfg)
    estimates: list[EffectEstimate] = []
    nc_columns = split_outcomes(cfg, prepared)[1]
    if nc_columns:
        p = replace(prepared, outcomes=nc_columns)
        out = _try(lambda: handler.analyse(quiet, p), "negative_controls.outcomes", notes)
        if out is not None:
            estimates += _mark(out.estimates, negative_control="outcome")
    for name in nc.exposures:
        if name not in prepared.frame.columns:
            raise SchemaError(f"missing column: {name}", where="negative_controls.exposures",
                              hint="name a 0/1 column of the analysis table")
        covariates = [c for c in prepared.covariates if c != name]
        p = replace(prepared, treatment=name, outcomes=list(prepared.outcomes[:1]),
                    covariates=covariates)
        out = _try(lambda p=p: handler.analyse(quiet, p),
                   f"negative_controls.exposures ({name})", notes)
        if out is not None:
            estimates += _mark(out.estimates, negative_control="exposure", exposure=name)
    names = {k: list(v) for k, v in (("outcomes", nc_columns), ("exposures", nc.exposures))
             if v}
    return estimates, names


# ------------------------------------------------------ alternatives and triangulation


def _prepared_for(derived: Config, handler: DesignHandler, prepared: Prepared,
                  episode: EpisodeData | None, *, rebuild: bool) -> Prepared:
    if derived.data.analysis_ready:
        assert derived.data.table is not None
        if handler.check_ready is not None:
            handler.check_ready(derived, prepared.frame,
                                f"data.table ({derived.data.table.name})")
        return prepare_ready_table(derived, prepared.frame)
    if not rebuild:
        return prepared
    assert episode is not None
    return main_prepared(derived, (handler.build or build_person_cohort)(derived, episode))


def _alternatives(cfg: Config, handler: DesignHandler, prepared: Prepared,
                  episode: EpisodeData | None, notes: list[str]
                  ) -> tuple[list[EffectEstimate], dict[str, Any]]:
    estimates: list[EffectEstimate] = []
    diags: dict[str, Any] = {}
    for i, alt in enumerate(cfg.alternative_specifications):
        where = f"alternative_specifications[{i}]"
        update = overrides(alt)
        derived = _derive(cfg, update, None, where)
        # a design that builds its own table (a panel, a series) builds it again when the
        # alternative changes its section (e.g. the panel's periods)
        rebuild = handler.build is not None and any(
            k not in ("matching", "analysis") for k in update)
        p = _prepared_for(derived, handler, prepared, episode, rebuild=rebuild)
        out = _try(lambda d=derived, p=p: handler.analyse(_quiet(d), p),
                   f"{where} ({alt.name})", notes)
        if out is not None:
            estimates += _mark(out.estimates, specification=alt.name)
            diags[alt.name] = _scalars(out.diagnostics)
    return estimates, diags


def _triangulation(cfg: Config, handler: DesignHandler, prepared: Prepared,
                   episode: EpisodeData | None, notes: list[str]
                   ) -> tuple[list[EffectEstimate], dict[str, Any], dict[str, Any],
                              dict[str, pd.DataFrame]]:
    estimates: list[EffectEstimate] = []
    diags: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    figure_data: dict[str, pd.DataFrame] = {}
    for i, tri in enumerate(cfg.triangulation):
        where = f"triangulation[{i}]"
        derived = _derive(cfg, overrides(tri), tri.design, where)
        other = get_design(tri.design)
        same_table = (other.build is None and handler.build is None
                      and derived.cohort == cfg.cohort)
        p = _prepared_for(derived, other, prepared, episode, rebuild=not same_table)
        out: AnalysisOutput | None = _try(lambda d=derived, p=p, h=other: h.analyse(_quiet(d), p),
                                          f"{where} ({tri.design})", notes)
        if out is None:
            continue
        estimates += [replace(e, design=tri.design) for e in _mark(out.estimates,
                                                                   triangulation=tri.design)]
        diags[tri.design] = _scalars(out.diagnostics)
        for name, data in out.figure_data.items():
            figure_data[f"{tri.design}_{name}"] = data
            if name in out.figures:
                figures[f"{tri.design}_{name}"] = out.figures[name]
    return estimates, diags, figures, figure_data


def _derive(cfg: Config, update: Mapping[str, Any], design: str | None, where: str) -> Config:
    from pydantic import ValidationError

    try:
        return derived_config(cfg, update, design=design, where=where)
    except ValidationError as exc:  # validated when the config was loaded; kept for safety
        from impacteval.config.load import _format

        raise _format(exc, "config") from None


# ----------------------------------------------------------------------------- runner


def run_extras(cfg: Config, handler: DesignHandler, prepared: Prepared,
               episode: EpisodeData | None = None) -> ExtrasOutput:
    """Run the extras of ``cfg`` after the main analysis.

    Parameters
    ----------
    cfg
        The validated config (with its extras sections).
    handler
        The main design's handler.
    prepared
        The analysis table the main analysis used (with the negative-control outcomes'
        columns when there are any: see :func:`build_config`).
    episode
        Stages 1-3's output on episode tables (triangulation designs build their own table
        from it); None for an analysis-ready table.

    Returns
    -------
    ExtrasOutput
        Estimates to append (marked in ``details``: ``negative_control``, ``exposure``,
        ``specification``, ``triangulation``) and diagnostics to merge: ``subgroups``
        (records for :mod:`impacteval.report.subgroups`), ``negative_controls`` (names, for
        ``diagnostics["sensitivity"]``), ``alternative_specifications`` and
        ``triangulation`` (each run's scalar diagnostics), ``extras_notes``.
    """
    notes: list[str] = []
    estimates: list[EffectEstimate] = []
    diagnostics: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    figure_data: dict[str, pd.DataFrame] = {}
    main = main_prepared(cfg, prepared)
    if cfg.negative_controls is not None:
        nc_est, names = _negative_controls(cfg, handler, prepared, notes)
        estimates += nc_est
        diagnostics["negative_controls"] = names
    if cfg.alternative_specifications:
        alt_est, alt_diag = _alternatives(cfg, handler, main, episode, notes)
        estimates += alt_est
        diagnostics["alternative_specifications"] = alt_diag
    if cfg.triangulation:
        tri_est, tri_diag, tri_fig, tri_data = _triangulation(cfg, handler, main, episode, notes)
        estimates += tri_est
        diagnostics["triangulation"] = tri_diag
        figures.update(tri_fig)
        figure_data.update(tri_data)
    if cfg.subgroups:
        if main.treatment is None and cfg.evaluation.design == "matched_cohort":
            raise ConfigError("subgroups need the treatment role", where="roles.treatment")
        diagnostics["subgroups"] = _subgroups(cfg, handler, main, notes)
    if notes:
        diagnostics["extras_notes"] = notes
    return ExtrasOutput(estimates=tuple(estimates), diagnostics=diagnostics, figures=figures,
                        figure_data=figure_data)


def merge_diagnostics(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The run's diagnostics with the extras' added; negative-control names go under
    ``sensitivity`` (where :mod:`impacteval.report.sensitivity` reads them)."""
    out = dict(base)
    extra = dict(extra)
    names = extra.pop("negative_controls", None)
    if names:
        sens = dict(out.get("sensitivity") or {})
        sens["negative_controls"] = names
        out["sensitivity"] = sens
    out.update(extra)
    return out
