"""The built-in designs' handlers (see :mod:`impacteval.pipeline.design_registry`); the
interrupted time series is in :mod:`impacteval.pipeline.design_its`, SPC in
:mod:`impacteval.pipeline.design_spc`."""

from __future__ import annotations

import pandas as pd

from impacteval.config import Config
from impacteval.exceptions import SchemaError
from impacteval.pipeline.analysis import AnalysisOutput, analyse, check_analysis_table
from impacteval.pipeline.design_registry import DesignHandler, Prepared, register_design


def _matched_cohort(cfg: Config, p: Prepared) -> AnalysisOutput:
    assert p.treatment is not None and p.unit_id is not None
    return analyse(p.frame, unit_id=p.unit_id, treatment=p.treatment, outcomes=p.outcomes,
                   covariates=p.covariates, exposure=p.exposure, setting=p.setting,
                   matching=cfg.matching, analysis=cfg.analysis, seed=cfg.evaluation.seed,
                   labels=p.labels)


def _check_matched_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    r = cfg.roles
    assert r is not None and r.treatment is not None and r.unit_id is not None
    check_analysis_table(frame, source=source, unit_id=r.unit_id, treatment=r.treatment,
                         outcomes=r.outcomes, covariates=r.covariates, exposure=r.exposure,
                         extra=[r.cluster] if r.cluster else [])


def _check_columns(cfg: Config, frame: pd.DataFrame, source: str, cols: list[str]) -> None:
    from impacteval.pipeline.designs import _require_numeric

    r = cfg.roles
    assert r is not None
    if r.unit_id is not None and r.unit_id not in frame.columns:
        raise SchemaError(f"missing column: {r.unit_id}", where=source)
    _require_numeric(frame, [*r.outcomes, *cols], source)


def _check_rdd_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    assert cfg.rdd is not None and cfg.roles is not None
    cols = [cfg.rdd.running, *cfg.rdd.covariates, *cfg.rdd.balance_covariates]
    if cfg.rdd.fuzzy and cfg.roles.treatment:
        cols.append(cfg.roles.treatment)
    _check_columns(cfg, frame, source, cols)


def _check_iv_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    assert cfg.iv is not None
    _check_columns(cfg, frame, source, [cfg.iv.treatment, *cfg.iv.instruments,
                                        *cfg.iv.covariates])


def _rdd(cfg: Config, p: Prepared) -> AnalysisOutput:
    from impacteval.pipeline.designs import analyse_rdd

    assert cfg.rdd is not None
    return analyse_rdd(p.frame, outcomes=p.outcomes, treatment=p.treatment, spec=cfg.rdd,
                       source=p.source)


def _iv(cfg: Config, p: Prepared) -> AnalysisOutput:
    from impacteval.pipeline.designs import analyse_iv

    assert cfg.iv is not None
    return analyse_iv(p.frame, outcomes=p.outcomes, spec=cfg.iv, source=p.source)


register_design(DesignHandler(name="matched_cohort", analyse=_matched_cohort,
                              check_ready=_check_matched_ready))
register_design(DesignHandler(name="regression_discontinuity", analyse=_rdd,
                              check_ready=_check_rdd_ready))
register_design(DesignHandler(name="instrumental_variables", analyse=_iv,
                              check_ready=_check_iv_ready))
