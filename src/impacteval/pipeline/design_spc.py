"""Statistical process control as a design of its own (``evaluation.design: spc``).

A monitoring run: one chart per outcome (run, XmR, P, U, C, Laney P' or U'; the ``spc``
section), limits fixed on a baseline and re-based at recorded change dates, special causes
by the Making Data Count rules and Anhoej runs analysis, and the Making Data Count variation
and assurance labels of the latest point. The series is an analysis-ready ``data.table`` (one
row per period; ``spc.time``, ``spc.denominator``) or is built from episode tables by
``spc.series`` (:mod:`impacteval.pipeline.series_build`).

On a built series, run and XmR charts plot the rate per 1,000 of the denominator
(``<outcome>_rate``), C charts the counts, and P/U charts the counts over the denominator
(times ``spc.multiply``).

Released with each chart (``figures/spc_<outcome>.png`` and ``.svg``, and the data behind it,
``figures/spc_<outcome>.csv``, after disclosure control): counts as ``events`` (and a
population denominator as ``n_population``) so that the report layer rounds and suppresses
them; for attribute charts the plotted ratio itself is left out of the CSV (it would give the
unrounded count back with the denominator) and is recomputed from the released columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from impacteval.config import Config
from impacteval.config.models import SPCSpec
from impacteval.exceptions import ConfigError, SchemaError
from impacteval.pipeline.analysis import AnalysisOutput
from impacteval.pipeline.design_registry import (
    DesignHandler,
    EpisodeData,
    Prepared,
    register_design,
)
from impacteval.pipeline.designs import BALANCE_COLUMNS, _caught, _require_numeric

#: Making Data Count wording of the variation and assurance labels.
VARIATION_TEXT = {
    "common_cause": "Common cause variation (no significant change)",
    "special_cause_improvement": "Special cause variation: improvement",
    "special_cause_concern": "Special cause variation: concern",
    "special_cause_neutral_high": "Special cause variation: higher (no direction of improvement)",
    "special_cause_neutral_low": "Special cause variation: lower (no direction of improvement)",
}
ASSURANCE_TEXT = {
    "consistent_pass": "The process will consistently meet the target",
    "consistent_fail": "The process will consistently fail the target",
    "inconsistent": "The process will hit and miss the target (it lies within the limits)",
    "no_direction": "No assurance without a direction of improvement",
}
_CHART_NAMES = {"run": "run chart", "xmr": "XmR (individuals) chart", "p": "P chart",
                "u": "U chart", "c": "C chart", "p'": "Laney P' chart", "u'": "Laney U' chart"}


def _build(cfg: Config, ep: EpisodeData) -> Prepared:
    from impacteval.pipeline.design_its import series_outcomes
    from impacteval.pipeline.series_build import build_episode_series

    assert cfg.spc is not None and cfg.spc.series is not None and cfg.data.data_cut is not None
    outcomes = series_outcomes(cfg, cfg.spc.series.outcomes)
    frame, attrition, labels = build_episode_series(
        cfg.spc.series, outcomes, ep, cfg.data.data_cut, where="spc.series")
    return Prepared(frame=frame, attrition=attrition, source="spc.series", outcomes=outcomes,
                    labels=labels, extra={"series": True})


def _check_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    spec = cfg.spc
    assert spec is not None and spec.time is not None and cfg.roles is not None
    if spec.time not in frame.columns:
        raise SchemaError(f"missing column: {spec.time}", where=source,
                          hint="spc.time names the period column")
    _require_numeric(frame, [*cfg.roles.outcomes,
                             *([spec.denominator] if spec.denominator else [])], source)


def _time_column(frame: pd.DataFrame, col: str, source: str) -> pd.Series:
    s = frame[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s
    try:
        return pd.to_datetime(s)
    except (ValueError, TypeError) as exc:
        raise SchemaError("must hold numbers or dates", where=f"{source}.{col}") from exc


def _chart(spec: SPCSpec, data: pd.DataFrame, *, x: str, outcome: str, built: bool,
           denominator: str | None, rebase: list[Any]) -> Any:
    from impacteval.spc import attribute_chart, run_chart, xmr_chart

    common: dict[str, Any] = {"rebase_at": rebase, "baseline": spec.baseline,
                              "improvement_direction": spec.improvement_direction}
    if spec.chart == "run":
        y = f"{outcome}_rate" if built else outcome
        return run_chart(data, x=x, y=y, shift_length=spec.run_length or 6,
                         trend_length=spec.trend_length or 5, **common)
    lengths: dict[str, Any] = {"run_length": spec.run_length or 7,
                               "trend_length": spec.trend_length or 7}
    if spec.chart == "xmr":
        y = f"{outcome}_rate" if built else outcome
        return xmr_chart(data, x=x, y=y, screen_outliers=spec.screen_outliers, **common,
                         **lengths)
    if spec.chart == "c":
        return attribute_chart(data, chart="c", x=x, numerator=outcome, **common, **lengths)
    return attribute_chart(data, chart="p" if spec.chart.startswith("p") else "u", x=x,
                           numerator=outcome, denominator=denominator,
                           laney=spec.chart.endswith("'"), screen_outliers=spec.screen_outliers,
                           multiply=spec.multiply, **common, **lengths)


def redraw_from_released(chart: Any, *, title: str, ylabel: str,
                         multiply: float = 1.0) -> Callable[[pd.DataFrame], Any]:
    """A function drawing ``chart`` from its released data (see :func:`_released_data`), for the
    report layer: the plotted counts are the released ones (rounded; suppressed counts leave
    a gap), the limits those computed on the full data."""
    from impacteval.spc import SPCChart, spc_figure

    def draw(released: pd.DataFrame) -> Any:
        d = chart.data.copy()
        if "events" in released.columns and len(released) == len(d):
            ev = pd.to_numeric(released["events"], errors="coerce").to_numpy(dtype=float)
            if "numerator" in d.columns:  # attribute chart: the plotted ratio of the counts
                den = (d["denominator"].to_numpy(dtype=float) if "denominator" in d.columns
                       else np.ones(len(d)))
                d["y"] = ev / den * multiply
            else:
                d["y"] = ev
        return spc_figure(SPCChart(chart.chart, d, chart.parts, chart.improvement_direction),
                          title=title, ylabel=ylabel)

    return draw


def _released_data(chart: Any, spec: SPCSpec, *, population_denominator: bool) -> pd.DataFrame:
    """The data behind a chart, with counts named so that disclosure control finds them."""
    d = chart.data
    keep = ["x", "part", "baseline", "centre", "lower", "upper", "near_lower", "near_upper",
            "special_cause", "variation"]
    if spec.chart in ("run", "xmr"):  # values or rates, not counts
        return d[["x", "y", *keep[1:]]].copy()
    if spec.chart == "c":
        return d[["x", "y", *keep[1:]]].rename(columns={"y": "events"})
    out = d[["x", "numerator", "denominator", *keep[1:]]].rename(columns={"numerator": "events"})
    if population_denominator:
        out = out.rename(columns={"denominator": "n_population"})
    return out


def _summary(chart: Any, spec: SPCSpec, outcome: str) -> dict[str, Any]:
    d = chart.data
    last_part = int(d["part"].max())
    last = d[d["part"] == last_part]
    latest = last.iloc[-1]
    special = last["special_cause"].astype(str) != ""
    variation = str(latest["variation"])
    # the Making Data Count icon reads the latest points: special cause if the last point is
    # flagged, else common cause
    row: dict[str, Any] = {
        "outcome": outcome,
        "chart": spec.chart,
        "chart_name": _CHART_NAMES[spec.chart],
        "points": len(d),
        "parts": last_part + 1,
        "baseline_points": int(last["baseline"].sum()),
        "centre": float(latest["centre"]),
        "lower": None if np.isnan(latest["lower"]) else float(latest["lower"]),
        "upper": None if np.isnan(latest["upper"]) else float(latest["upper"]),
        "latest_period": str(pd.Timestamp(latest["x"]).date())
        if isinstance(latest["x"], pd.Timestamp) else str(latest["x"]),
        "latest_variation": variation,
        "latest_variation_text": VARIATION_TEXT.get(variation, variation),
        "special_cause_points_last_part": int(special.sum()),
        "improvement_points_last_part": int((last["variation"] == "special_cause_improvement").sum()),
        "concern_points_last_part": int((last["variation"] == "special_cause_concern").sum()),
        "runs_signal_last_part": bool(chart.parts["runs_signal"].iloc[-1]),
        "trial_limits": bool(chart.parts["short_baseline"].iloc[-1]),
        "improvement_direction": spec.improvement_direction,
        "target": spec.target,
        "assurance": None,
        "assurance_text": None,
    }
    if spec.target is not None and spec.chart != "run":
        a = chart.assurance(spec.target)
        row["assurance"], row["assurance_text"] = a, ASSURANCE_TEXT[a]
    return row


def analyse_spc(frame: pd.DataFrame, *, outcomes: list[str], spec: SPCSpec, source: str,
                built: bool, population_denominator: bool) -> AnalysisOutput:
    """One SPC chart per outcome, its released data and the Making Data Count summary."""
    assert spec.time is not None
    data = frame.copy()
    data[spec.time] = _time_column(data, spec.time, source)
    dated = pd.api.types.is_datetime64_any_dtype(data[spec.time])
    rebase: list[Any] = []
    for r in spec.rebase_at:
        if dated and isinstance(r, (int, float)):
            raise ConfigError("rebase_at must be dates: the time column holds dates",
                              where="spc.rebase_at")
        rebase.append(pd.Timestamp(str(r)) if dated else r)
    figures: dict[str, Any] = {}
    figure_data: dict[str, pd.DataFrame] = {}
    summaries, notes = [], []
    for outcome in outcomes:
        chart, w = _caught(lambda o=outcome: _chart(
            spec, data, x=spec.time, outcome=o, built=built, denominator=spec.denominator,
            rebase=rebase))
        notes += w
        name = f"spc_{outcome}"
        label = outcome.replace("_", " ")
        scale = (" per 1,000" if built and spec.chart in ("run", "xmr") else
                 (f" (x {spec.multiply:g})" if spec.chart not in ("run", "xmr", "c")
                  and spec.multiply != 1 else ""))
        figures[name] = redraw_from_released(
            chart, title=f"{label}: {_CHART_NAMES[spec.chart]}", ylabel=f"{label}{scale}",
            multiply=spec.multiply)
        figure_data[name] = _released_data(chart, spec,
                                           population_denominator=population_denominator)
        summaries.append(_summary(chart, spec, outcome))
    t = data[spec.time]
    after = (t >= rebase[0]) if rebase else pd.Series(False, index=data.index)
    flow = pd.DataFrame([{"step": "spc_periods",
                          "description": "Periods charted (after / before the first re-base)",
                          "n_treated": int(after.sum()), "n_control": int((~after).sum())}])
    diagnostics: dict[str, Any] = {"spc": summaries, "warnings": sorted(set(notes))}
    return AnalysisOutput(
        estimates=(), balance=pd.DataFrame(columns=BALANCE_COLUMNS),
        table_one=pd.DataFrame([{
            "covariate": "n", "label": "Number of periods (after / before the first re-base)",
            "statistic": "count", "treated_before": int(after.sum()),
            "control_before": int((~after).sum()), "treated_after": int(after.sum()),
            "control_after": int((~after).sum())}]),
        outcome_summary=pd.DataFrame(columns=["outcome", "sample", "arm", "n_persons",
                                              "events", "person_years", "rate_per_1000_py"]),
        diagnostics=diagnostics, figures=figures, figure_data=figure_data, flow=flow,
        matched=frame,
    )


def _analyse(cfg: Config, p: Prepared) -> AnalysisOutput:
    spec = cfg.spc
    assert spec is not None
    built = spec.series is not None
    if built:
        assert spec.series is not None
        spec = spec.model_copy(update={"time": "period",
                                       "denominator": spec.series.denominator})
    return analyse_spc(p.frame, outcomes=list(p.outcomes), spec=spec, source=p.source,
                       built=built, population_denominator=built and spec.denominator
                       == "population")


register_design(DesignHandler(name="spc", analyse=_analyse, build=_build,
                              check_ready=_check_ready,
                              build_label="build the weekly or monthly series"))
