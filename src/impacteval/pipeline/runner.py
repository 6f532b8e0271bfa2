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
from impacteval.pipeline.design_registry import (
    EpisodeData,
    build_person_cohort,
    get_design,
    prepare_ready_table,
)
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


def _input_paths(cfg: Config) -> dict[str, Any]:
    """The inputs by name: paths (file, folder, glob) or catalog tables."""
    names = ("table",) if cfg.data.analysis_ready else (*CONTRACT_TABLES, "settings")
    return {n: getattr(cfg.data, n) for n in names if getattr(cfg.data, n) is not None}


def _check_config_against_world(cfg: Config) -> None:
    """Checks that need no data: files exist, dates are coherent."""
    from impacteval.data.readers import check_file

    for name, path in _input_paths(cfg).items():
        if name != "table":  # episode tables: a file, a folder or glob of Parquet, a catalog table
            check_file(name, path)
        elif not path.is_file():
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
    from impacteval.pipeline.extras import check_episode_extras

    check_episode_extras(cfg)


def _connect(cfg: Config) -> Any:
    from impacteval.engine import connect

    temp = cfg.data.temp_directory
    return connect(cfg.data.engine, memory_limit=cfg.data.memory_limit, threads=cfg.data.threads,
                   temp_directory=None if temp is None else str(temp))


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
    assert cfg.data.table is not None
    handler = get_design(cfg.evaluation.design)
    if handler.check_ready is not None:
        handler.check_ready(cfg, frame, f"data.table ({cfg.data.table.name})")
    from impacteval.pipeline.extras import check_ready_extras

    check_ready_extras(cfg, frame, f"data.table ({cfg.data.table.name})")


def _load_truth(cfg: Config) -> dict[str, Any] | None:
    anchor = cfg.data.persons or cfg.data.table
    if not isinstance(anchor, Path):  # none, or a catalog table
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
    from impacteval.pipeline.extras import (
        build_config,
        has_extras,
        main_prepared,
        merge_diagnostics,
        run_extras,
    )

    extras_wanted = has_extras(cfg)
    bar = StageProgress(total=(7 if episode else 3) + extras_wanted, enabled=progress)

    with bar.stage("validate", "validate config and inputs"):
        if episode:  # ingest validates the tables themselves, before anything is written
            _check_config_against_world(cfg)
        else:
            validate(cfg)

    handler = get_design(cfg.evaluation.design)
    ingest_report = linkage_report = None
    episode_data = None
    if episode:
        from impacteval.data.ingest import ingest
        from impacteval.derive import derive_events, diagnoses
        from impacteval.linkage import link

        assert cfg.data.data_cut is not None
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
        episode_data = EpisodeData(con=con, tables=linked.tables, events=events, diagnoses=dx)
        with bar.stage("build", handler.build_label):
            prepared = (handler.build or build_person_cohort)(build_config(cfg), episode_data)
    else:
        assert cfg.data.table is not None
        prepared = prepare_ready_table(cfg, _read_table(cfg.data.table))

    with bar.stage("estimate", "design and estimate"):
        out = handler.analyse(cfg, main_prepared(cfg, prepared))
    extras = None
    if extras_wanted:  # subgroups, negative controls, alternatives, triangulation
        with bar.stage("extras", "subgroups, negative controls, alternatives, triangulation"):
            extras = run_extras(cfg, handler, prepared, episode_data)

    attrition = (_extend_flow(prepared.attrition, out.flow) if len(prepared.attrition)
                 else out.flow)
    diagnostics = dict(out.diagnostics)
    if prepared.codelists:  # the code lists stage 4 used, for the report's methods
        diagnostics["codelists"] = list(prepared.codelists)
    estimates, figures, figure_data = out.estimates, dict(out.figures), dict(out.figure_data)
    if extras is not None:
        estimates += extras.estimates
        diagnostics = merge_diagnostics(diagnostics, extras.diagnostics)
        figures.update(extras.figures)
        figure_data.update(extras.figure_data)
    frame = prepared.frame
    result = EvaluationResult(
        evaluation_id=cfg.evaluation.id, title=cfg.evaluation.title, design=cfg.evaluation.design,
        config=cfg.releasable_dump(), estimates=estimates, balance=out.balance,
        table_one=out.table_one, attrition=attrition, ingest_report=ingest_report,
        linkage_report=linkage_report, outcome_summary=out.outcome_summary,
        diagnostics=diagnostics, figures=figures, figure_data=figure_data,
        private=({"analysis_table": frame, "matched_cohort": out.matched}
                 if out.matched is not frame else {"analysis_table": frame}),
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
