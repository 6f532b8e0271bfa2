"""How a design plugs into the pipeline: one :class:`DesignHandler` per ``evaluation.design``.

The runner does the stages every design shares (validate; on episode tables ingest, link and
derive; then disclosure control and the report) and asks the design's handler for the rest:

- ``build``: stage 4 on episode tables, turning the derived events into the design's
  analysis table (a person-level cohort, an area x period panel, a time series). ``None``
  means the person-level care-home cohort (:func:`build_person_cohort`).
- ``check_ready``: checks an analysis-ready ``data.table`` against the config before anything
  runs (columns exist, types usable). Raise :class:`~impacteval.exceptions.SchemaError`.
- ``analyse``: stages 5-7 on the :class:`Prepared` table, returning an
  :class:`~impacteval.pipeline.analysis.AnalysisOutput`.

Built-in handlers live in the modules named in :data:`BUILTIN_DESIGN_MODULES` and are imported
on first lookup; a new design adds its module there (or registers from a plugin).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from impacteval.registry import Registry

if TYPE_CHECKING:
    from impacteval.config import Config
    from impacteval.pipeline.analysis import AnalysisOutput

FLOW_COLUMNS = ["step", "description", "n_treated", "n_control"]


@dataclass(frozen=True, kw_only=True)
class EpisodeData:
    """What stages 1-3 give stage 4: the engine connection, the linked tables (Ibis), the
    derived event tables (Ibis) and the diagnoses table (Ibis)."""

    con: Any
    tables: Mapping[str, Any]
    events: Any
    diagnoses: Any


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """The analysis table and the roles of its columns, whichever entry point built it."""

    frame: pd.DataFrame
    attrition: pd.DataFrame
    source: str
    outcomes: list[str]
    unit_id: str | None = None
    treatment: str | None = None
    exposure: str | None = None
    setting: str | None = None
    covariates: list[str] = field(default_factory=list)
    labels: Mapping[str, str] = field(default_factory=dict)
    codelists: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DesignHandler:
    name: str
    analyse: Callable[[Config, Prepared], AnalysisOutput]
    build: Callable[[Config, EpisodeData], Prepared] | None = None
    check_ready: Callable[[Config, pd.DataFrame, str], None] | None = None
    #: stage names for the progress display of ``build`` (episode path)
    build_label: str = "build cohort, covariates and outcomes"


BUILTIN_DESIGN_MODULES = (
    "impacteval.pipeline.builtin_designs",
    "impacteval.pipeline.design_its",
    "impacteval.pipeline.design_spc",
    "impacteval.pipeline.design_did",
    "impacteval.pipeline.design_synth",
)


def _load_builtins() -> None:
    import importlib

    for module in BUILTIN_DESIGN_MODULES:
        importlib.import_module(module)


DESIGNS: Registry[DesignHandler] = Registry("design", loader=_load_builtins)


def register_design(handler: DesignHandler) -> DesignHandler:
    """Register a design handler under ``handler.name``."""
    return DESIGNS.register(handler.name, handler)


def get_design(name: str) -> DesignHandler:
    return DESIGNS.get(name, where="evaluation.design")


def build_person_cohort(cfg: Config, ep: EpisodeData) -> Prepared:
    """Stage 4 for person-level designs: the care-home move-in cohort (treated and controls
    with index dates, covariates and outcome windows) and its attrition log."""
    from impacteval.cohort import build_cohort

    assert cfg.cohort is not None and cfg.data.data_cut is not None
    cohort = build_cohort(ep.con, ep.tables, ep.events, ep.diagnoses, cfg.cohort,
                          list(cfg.outcomes), cfg.data.data_cut)
    return Prepared(
        frame=cohort.table, attrition=cohort.attrition, source="cohort",
        outcomes=list(cfg.outcomes), unit_id="person_id", treatment="treated",
        exposure=cohort.exposure, setting="setting_id", covariates=list(cohort.covariates),
        labels=dict(cohort.labels),
        codelists=("charlson_1987", "frailty_iau6", "hfrs", "acsc"))


def prepare_ready_table(cfg: Config, frame: pd.DataFrame) -> Prepared:
    """:class:`Prepared` for an analysis-ready ``data.table`` with its ``roles``."""
    assert cfg.roles is not None and cfg.data.table is not None
    r = cfg.roles
    attrition = pd.DataFrame(columns=FLOW_COLUMNS)
    if r.treatment is not None and cfg.evaluation.design == "matched_cohort":
        t = frame[r.treatment].astype(bool)
        attrition = pd.DataFrame([{"step": "analysis_table",
                                   "description": "Rows in the analysis-ready table",
                                   "n_treated": int(t.sum()), "n_control": int((~t).sum())}])
    return Prepared(
        frame=frame, attrition=attrition, source=f"data.table ({cfg.data.table.name})",
        outcomes=list(r.outcomes), unit_id=r.unit_id, treatment=r.treatment,
        exposure=r.exposure, setting=r.cluster, covariates=list(r.covariates))
