"""The stage runner: validate everything first, then run stages 1-8, then write atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from impacteval.config import Config, load_config
from impacteval.config.models import CONTRACT_TABLES
from impacteval.exceptions import ConfigError, DesignError, SchemaError
from impacteval.pipeline.analysis import analyse, check_analysis_table
from impacteval.pipeline.manifest import build_manifest
from impacteval.pipeline.progress import StageProgress
from impacteval.results import EvaluationResult


@dataclass(frozen=True)
class RunOutcome:
    """Where the outputs went and the in-memory result."""

    out_dir: Path
    result: EvaluationResult


def _as_config(config: Config | str | Path) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def _input_paths(cfg: Config) -> dict[str, Path]:
    names = ("table",) if cfg.data.analysis_ready else (*CONTRACT_TABLES, "settings")
    return {n: getattr(cfg.data, n) for n in names if getattr(cfg.data, n) is not None}


def _check_config_against_world(cfg: Config) -> None:
    """Checks that need no data: files exist, dates are coherent."""
    for name, path in _input_paths(cfg).items():
        if not path.is_file():
            raise ConfigError("input file not found", where=f"data.{name}",
                              hint="check the path (relative paths are relative to the config file)")
    if cfg.cohort is not None:
        if cfg.cohort.treated_settings_file is not None and not cfg.cohort.treated_settings_file.is_file():
            raise ConfigError("file not found", where="cohort.treated_settings_file",
                              hint="check the path (relative to the config file)")
        assert cfg.data.data_cut is not None
        if cfg.cohort.index_window[0] > cfg.data.data_cut:
            raise DesignError("the index window starts after the data cut: no follow-up is possible",
                              where="cohort.index_window", hint="move the window before data.data_cut")
        if "settings" not in _input_paths(cfg):
            raise ConfigError("the care-home cohort needs the 'settings' table", where="data.settings",
                              hint="add data.settings: path/to/settings.parquet")


def _connect(cfg: Config) -> Any:
    from impacteval.engine import connect

    return connect(cfg.data.engine, memory_limit=cfg.data.memory_limit)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise SchemaError("could not read the table", where=str(path.name),
                          hint="is it valid Parquet or CSV?") from exc
    raise ConfigError("unsupported file type", where="data.table", hint="use .parquet or .csv")


def _extend_flow(attrition: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Append the analysis-stage steps (support, matching) to the cohort's attrition log."""
    return pd.concat([attrition, extra[["step", "description", "n_treated", "n_control"]]],
                     ignore_index=True)


def validate(config: Config | str | Path) -> dict[str, Any]:
    """Check the config and the inputs without running the analysis.

    Returns a small summary (inputs checked); raises an ImpactEvalError on any problem.
    """
    cfg = _as_config(config)
    _check_config_against_world(cfg)
    if cfg.data.analysis_ready:
        assert cfg.data.table is not None and cfg.roles is not None
        frame = _read_table(cfg.data.table)
        _check_ready_table(cfg, frame)
        return {"entry": "analysis_ready", "rows": len(frame)}
    from impacteval.data.ingest import validate_inputs

    con = _connect(cfg)
    validate_inputs(cfg.data, con)
    return {"entry": "episode_tables", "tables": sorted(_input_paths(cfg))}


def _check_ready_table(cfg: Config, frame: pd.DataFrame) -> None:
    """Roles and design columns of an analysis-ready table exist and have usable types."""
    assert cfg.roles is not None and cfg.data.table is not None
    r = cfg.roles
    source = f"data.table ({cfg.data.table.name})"
    if cfg.evaluation.design == "matched_cohort":
        assert r.treatment is not None and r.unit_id is not None
        check_analysis_table(frame, source=source, unit_id=r.unit_id, treatment=r.treatment,
                             outcomes=r.outcomes, covariates=r.covariates, exposure=r.exposure,
                             extra=[r.cluster] if r.cluster else [])
        return
    from impacteval.pipeline.designs import _require_numeric

    if r.unit_id is not None and r.unit_id not in frame.columns:
        raise SchemaError(f"missing column: {r.unit_id}", where=source)
    cols = list(r.outcomes)
    if cfg.rdd is not None:
        cols += [cfg.rdd.running, *cfg.rdd.covariates, *cfg.rdd.balance_covariates]
        if cfg.rdd.fuzzy and r.treatment:
            cols.append(r.treatment)
    if cfg.iv is not None:
        cols += [cfg.iv.treatment, *cfg.iv.instruments, *cfg.iv.covariates]
    if cfg.its is not None:
        cols += [cfg.its.population] if cfg.its.population else []
        if cfg.its.time not in frame.columns:
            raise SchemaError(f"missing column: {cfg.its.time}", where=source)
    _require_numeric(frame, cols, source)


def _load_truth(cfg: Config) -> dict[str, Any] | None:
    anchor = cfg.data.persons or cfg.data.table
    if anchor is None:
        return None
    path = anchor.parent / "truth.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def run(config: Config | str | Path, *, progress: bool = True) -> RunOutcome:
    """Run the whole evaluation and write its outputs.

    Parameters
    ----------
    config
        A :class:`Config` or the path of a YAML file.
    progress
        Show stage progress on stderr.

    Returns
    -------
    RunOutcome
        The output folder and the in-memory :class:`EvaluationResult`.
    """
    cfg = _as_config(config)
    seed = cfg.evaluation.seed
    episode = not cfg.data.analysis_ready
    bar = StageProgress(total=7 if episode else 3, enabled=progress)

    with bar.stage("validate", "validate config and inputs"):
        if episode:  # ingest validates the tables themselves, before anything is written
            _check_config_against_world(cfg)
        else:
            validate(cfg)

    ingest_report = linkage_report = None
    attrition: pd.DataFrame
    if episode:
        from impacteval.cohort import build_cohort
        from impacteval.data.ingest import ingest
        from impacteval.derive import derive_events, diagnoses
        from impacteval.linkage import link

        assert cfg.cohort is not None and cfg.data.data_cut is not None
        con = _connect(cfg)
        with bar.stage("ingest", "ingest and clean episode tables"):
            ingested = ingest(cfg.data, con)
            ingest_report = ingested.report
        with bar.stage("link", "link datasets on the pseudonymised key"):
            linked = link(ingested.tables)
            linkage_report = linked.report
        with bar.stage("derive", "derive spells and events"):
            events = derive_events(linked.tables, data_cut=cfg.data.data_cut)
            dx = diagnoses(linked.tables["apc_episodes"])
        with bar.stage("cohort", "build cohort, covariates and outcomes"):
            cohort = build_cohort(con, linked.tables, events, dx, cfg.cohort, list(cfg.outcomes),
                                  cfg.data.data_cut)
        frame, attrition = cohort.table, cohort.attrition
        unit_id, treatment, exposure, setting = "person_id", "treated", cohort.exposure, "setting_id"
        outcomes, covariates, labels = list(cfg.outcomes), list(cohort.covariates), dict(cohort.labels)
    else:
        assert cfg.roles is not None and cfg.data.table is not None
        r = cfg.roles
        frame = _read_table(cfg.data.table)
        unit_id, treatment, exposure, setting = r.unit_id, r.treatment, r.exposure, r.cluster
        outcomes, covariates, labels = list(r.outcomes), list(r.covariates), {}
        attrition = pd.DataFrame(columns=["step", "description", "n_treated", "n_control"])
        if treatment is not None and cfg.evaluation.design == "matched_cohort":
            t = frame[treatment].astype(bool)
            attrition = pd.DataFrame([{"step": "analysis_table",
                                       "description": "Rows in the analysis-ready table",
                                       "n_treated": int(t.sum()), "n_control": int((~t).sum())}])

    design = cfg.evaluation.design
    source = f"data.table ({cfg.data.table.name})" if cfg.data.table is not None else "cohort"
    with bar.stage("estimate", "design and estimate"):
        if design == "matched_cohort":
            assert treatment is not None and unit_id is not None
            out = analyse(frame, unit_id=unit_id, treatment=treatment, outcomes=outcomes,
                          covariates=covariates, exposure=exposure, setting=setting,
                          matching=cfg.matching, analysis=cfg.analysis, seed=seed, labels=labels)
        elif design == "regression_discontinuity":
            from impacteval.pipeline.designs import analyse_rdd

            assert cfg.rdd is not None
            out = analyse_rdd(frame, outcomes=outcomes, treatment=treatment, spec=cfg.rdd,
                              source=source)
        elif design == "interrupted_time_series":
            from impacteval.pipeline.designs import analyse_its

            assert cfg.its is not None
            out = analyse_its(frame, outcomes=outcomes, spec=cfg.its, source=source)
        else:
            from impacteval.pipeline.designs import analyse_iv

            assert cfg.iv is not None
            out = analyse_iv(frame, outcomes=outcomes, spec=cfg.iv, source=source)

    attrition = _extend_flow(attrition, out.flow) if len(attrition) else out.flow
    diagnostics = dict(out.diagnostics)
    if episode:  # the code lists the derive and cohort stages used, for the report's methods
        diagnostics["codelists"] = ["charlson_1987", "frailty_iau6", "hfrs", "acsc"]
    result = EvaluationResult(
        evaluation_id=cfg.evaluation.id, title=cfg.evaluation.title, design=cfg.evaluation.design,
        config=cfg.releasable_dump(), estimates=out.estimates, balance=out.balance,
        table_one=out.table_one, attrition=attrition, ingest_report=ingest_report,
        linkage_report=linkage_report, outcome_summary=out.outcome_summary,
        diagnostics=diagnostics, figures=out.figures, figure_data=out.figure_data,
        private=({"analysis_table": frame, "matched_cohort": out.matched}
                 if design == "matched_cohort" else {"analysis_table": frame}),
        truth=_load_truth(cfg),
    )
    out_dir = (Path.cwd() / cfg.evaluation.output_dir / cfg.evaluation.id
               if not cfg.evaluation.output_dir.is_absolute()
               else cfg.evaluation.output_dir / cfg.evaluation.id)
    from impacteval.report import get_regime, write_outputs

    with bar.stage("report", "apply disclosure control and write the report"):
        manifest = build_manifest(config=result.config, inputs=_input_paths(cfg), seed=seed,
                                  engine=cfg.data.engine if episode else "pandas",
                                  timings=bar.timings)
        written = write_outputs(result, out_dir, regime=get_regime(cfg.sdc), manifest=manifest)
    return RunOutcome(out_dir=written, result=result)
