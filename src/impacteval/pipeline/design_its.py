"""The interrupted time series design (``evaluation.design: interrupted_time_series``).

Two entries:

- an analysis-ready series (``data.table``, one row per period and series) whose columns the
  ``its`` section names (``time``, ``population``, ``comparison_group``);
- episode tables: the ``build`` step makes the weekly or monthly series of ``its.series``
  (:mod:`impacteval.pipeline.series_build`): counts of each outcome in the population, with
  the population and its person-years per period, for the intervention areas and, with
  ``comparison_areas``, a comparison series (controlled ITS). The count families use the
  chosen denominator (``series.denominator``) as the log offset; the gaussian family models
  the rate per 1,000 (``<outcome>_rate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from impacteval.config import Config
from impacteval.config.models import ITSSpec
from impacteval.exceptions import SchemaError
from impacteval.pipeline.analysis import AnalysisOutput
from impacteval.pipeline.design_registry import (
    DesignHandler,
    EpisodeData,
    Prepared,
    register_design,
)


def series_outcomes(cfg: Config, series_outcomes: Sequence[str] | None) -> list[str]:
    """The outcomes a built series counts: ``series.outcomes`` or the top-level list."""
    return list(series_outcomes) if series_outcomes else list(cfg.outcomes)


def resolved_its_spec(cfg: Config, p: Prepared) -> tuple[ITSSpec, list[str]]:
    """The ``its`` section with the built series' column roles filled in, and the outcome
    columns to model (the counts, or their rates for the gaussian family)."""
    spec = cfg.its
    assert spec is not None
    if spec.series is None:
        return spec, list(p.outcomes)
    gaussian = spec.family == "gaussian"
    update = {
        "time": "period",
        "population": None if gaussian else spec.series.denominator,
        "comparison_group": "group" if spec.series.comparison_areas else None,
    }
    outcomes = [f"{o}_rate" for o in p.outcomes] if gaussian else list(p.outcomes)
    return spec.model_copy(update=update), outcomes


def _build(cfg: Config, ep: EpisodeData) -> Prepared:
    from impacteval.pipeline.series_build import build_episode_series

    assert cfg.its is not None and cfg.its.series is not None and cfg.data.data_cut is not None
    outcomes = series_outcomes(cfg, cfg.its.series.outcomes)
    frame, attrition, labels = build_episode_series(
        cfg.its.series, outcomes, ep, cfg.data.data_cut, where="its.series")
    return Prepared(frame=frame, attrition=attrition, source="its.series", outcomes=outcomes,
                    labels=labels, extra={"series": True})


def _check_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    from impacteval.pipeline.designs import _require_numeric

    spec = cfg.its
    assert spec is not None and spec.time is not None and cfg.roles is not None
    if spec.time not in frame.columns:
        raise SchemaError(f"missing column: {spec.time}", where=source,
                          hint="its.time names the period column")
    _require_numeric(frame, [*cfg.roles.outcomes,
                             *([spec.population] if spec.population else []),
                             *([spec.comparison_group] if spec.comparison_group else [])],
                     source)


def _analyse(cfg: Config, p: Prepared) -> AnalysisOutput:
    from impacteval.pipeline.designs import analyse_its

    spec, outcomes = resolved_its_spec(cfg, p)
    out = analyse_its(p.frame, outcomes=outcomes, spec=spec, source=p.source)
    # the shared Table 1 counts the flow's units, here periods of the series
    table_one = out.table_one.assign(
        label="Number of periods (after / before the first interruption)")
    return replace(out, table_one=table_one)


register_design(DesignHandler(name="interrupted_time_series", analyse=_analyse, build=_build,
                              check_ready=_check_ready,
                              build_label="build the weekly or monthly series"))
