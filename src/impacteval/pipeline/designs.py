"""Stages 6-7 for the designs that need no matching: regression discontinuity and IV.

Each takes a person-level table (analysis-ready, or the cohort the episode stages built),
runs the registered estimator on each outcome, and collects the design's diagnostics, so the
report can show them beside the estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from impacteval.config.models import ITSSpec, IVSpec, RDDSpec
from impacteval.exceptions import DesignError, ImpactEvalWarning, SchemaError
from impacteval.pipeline.analysis import AnalysisOutput

BALANCE_COLUMNS = ["covariate", "label", "mean_treated_before", "mean_control_before",
                   "mean_treated_after", "mean_control_after", "smd_before", "smd_after",
                   "variance_ratio_before", "variance_ratio_after", "ecdf_max_after", "ks_after"]


def _require_numeric(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise SchemaError(f"missing column(s): {', '.join(missing)}", where=source,
                          hint="check the column names in the config against the table")
    for col in columns:
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise SchemaError("must be numeric", where=f"{source}.{col}")
        n_missing = int(s.isna().sum())
        if n_missing:
            raise SchemaError(f"{n_missing} missing values", where=f"{source}.{col}",
                              hint="impute or drop these rows before the analysis")


def _output(estimates, diagnostics, figures, figure_data, flow, frame) -> AnalysisOutput:
    """AnalysisOutput of a design without matching: no balance table; Table 1 holds the
    numbers of people on each side (from the design's flow)."""
    n_t, n_c = int(flow["n_treated"].iloc[-1]), int(flow["n_control"].iloc[-1])
    table_one = pd.DataFrame([{"covariate": "n", "label": "Number of people", "statistic": "count",
                               "treated_before": n_t, "control_before": n_c,
                               "treated_after": n_t, "control_after": n_c}])
    return AnalysisOutput(
        estimates=tuple(estimates), balance=pd.DataFrame(columns=BALANCE_COLUMNS),
        table_one=table_one,
        outcome_summary=pd.DataFrame(columns=["outcome", "sample", "arm", "n_persons", "events",
                                              "person_years", "rate_per_1000_py"]),
        diagnostics=diagnostics, figures=figures, figure_data=figure_data, flow=flow,
        matched=frame,
    )


def _caught(fn: Any) -> tuple[Any, list[str]]:
    """Run ``fn`` and return its result and the texts of impacteval warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImpactEvalWarning)
        out = fn()
    return out, sorted({str(w.message) for w in caught if issubclass(w.category, ImpactEvalWarning)})


def _diagnostic(fn: Any, notes: list[str]) -> Any:
    """Run one diagnostic; on a DesignError record its message in ``notes`` and return None."""
    try:
        out, w = _caught(fn)
    except DesignError as exc:
        notes.append(f"not computed: {exc}")
        return None
    notes += w
    return out


def analyse_rdd(frame: pd.DataFrame, *, outcomes: Sequence[str], treatment: str | None,
                spec: RDDSpec, source: str) -> AnalysisOutput:
    """Regression discontinuity for each outcome, with the design's checks.

    Diagnostics: the Cattaneo-Jansson-Ma density test at the cutoff, jumps of the balance
    covariates at the cutoff, and the estimate over a grid of bandwidths (first outcome).
    """
    from impacteval.estimators.rdd import RegressionDiscontinuity, rd_plot

    cols = [spec.running, *outcomes, *spec.covariates, *spec.balance_covariates]
    if spec.fuzzy and treatment:
        cols.append(treatment)
    _require_numeric(frame, cols, source)
    est = RegressionDiscontinuity(cutoff=spec.cutoff, p=spec.p, kernel=spec.kernel,
                                  bwselect=spec.bwselect, vce=spec.vce, fuzzy=spec.fuzzy,
                                  level=spec.ci_level)
    estimates, notes = [], []
    for outcome in outcomes:
        fitted, w = _caught(lambda o=outcome: est.fit(
            frame, outcome=o, running=spec.running, treatment=treatment if spec.fuzzy else None,
            covariates=spec.covariates, cluster=spec.cluster))
        estimates.append(fitted)
        notes += w
    diagnostics: dict[str, Any] = {
        "running_variable": spec.running, "cutoff": spec.cutoff,
        "n_below_cutoff": int((frame[spec.running] < spec.cutoff).sum()),
        "n_at_or_above_cutoff": int((frame[spec.running] >= spec.cutoff).sum()),
    }
    # the checks are diagnostics: one that cannot be computed on these data is reported as
    # unavailable with its reason, and does not stop the evaluation
    density = _diagnostic(lambda: est.density_test(frame, running=spec.running), notes)
    if density is not None:
        diagnostics["density_test"] = {
            k: float(v) if isinstance(v, (int, float, np.floating)) else v
            for k, v in asdict(density).items()}
    else:
        diagnostics["density_test"] = {"available": False, "reason": notes[-1]}
    if spec.balance_covariates:
        bal = _diagnostic(lambda: est.covariate_balance(
            frame, running=spec.running, covariates=spec.balance_covariates,
            cluster=spec.cluster), notes)
        if bal is not None:
            diagnostics["covariate_jumps"] = bal.to_dict(orient="records")
    sens = _diagnostic(lambda: est.bandwidth_sensitivity(
        frame, outcome=outcomes[0], running=spec.running,
        treatment=treatment if spec.fuzzy else None, covariates=spec.covariates,
        cluster=spec.cluster), notes)
    if sens is not None:
        diagnostics["bandwidth_sensitivity"] = sens.to_dict(orient="records")
    diagnostics["warnings"] = sorted(set(notes))
    plot = rd_plot(frame, outcome=outcomes[0], running=spec.running, cutoff=spec.cutoff)
    flow = pd.DataFrame([{"step": "rd_sample", "description": "Rows used by the RD estimator",
                          "n_treated": diagnostics["n_at_or_above_cutoff"],
                          "n_control": diagnostics["n_below_cutoff"]}])
    return _output(estimates, diagnostics, {"rd_plot": plot.figure},
                         {"rd_plot": plot.bins}, flow, frame)


def analyse_iv(frame: pd.DataFrame, *, outcomes: Sequence[str], spec: IVSpec,
               source: str) -> AnalysisOutput:
    """Instrumental-variable estimates for each outcome, with first-stage and AR diagnostics."""
    from impacteval.estimators.iv import InstrumentalVariables

    cols = [*outcomes, spec.treatment, *spec.instruments, *spec.covariates]
    _require_numeric(frame, cols, source)
    est = InstrumentalVariables(method=spec.method, cov_type=spec.cov_type, level=spec.ci_level,
                                weak_instrument_f=spec.weak_instrument_f)
    estimates, notes = [], []
    for outcome in outcomes:
        fitted, w = _caught(lambda o=outcome: est.fit(
            frame, outcome=o, treatment=spec.treatment, instruments=spec.instruments,
            covariates=spec.covariates, cluster=spec.cluster))
        estimates.append(fitted)
        notes += w
    first = dict(estimates[0].details.get("first_stage", {}))
    diagnostics: dict[str, Any] = {
        "instruments": list(spec.instruments),
        "first_stage": first,
        "anderson_rubin": {e.outcome: dict(e.details.get("anderson_rubin", {})) for e in estimates},
        "warnings": sorted(set(notes)),
    }
    t = frame[spec.treatment]
    binary = bool(set(pd.unique(t)) <= {0, 1})
    flow = pd.DataFrame([{"step": "iv_sample", "description": "Rows used by the IV estimator",
                          "n_treated": int((t == 1).sum()) if binary else len(frame),
                          "n_control": int((t == 0).sum()) if binary else 0}])
    return _output(estimates, diagnostics, {}, {}, flow, frame)


def analyse_its(frame: pd.DataFrame, *, outcomes: Sequence[str], spec: ITSSpec,
                source: str) -> AnalysisOutput:
    """Segmented regression for each outcome, autocorrelation diagnostics, the ITS plot and
    an SPC chart of the first outcome with limits re-based at each interruption."""
    from impacteval.estimators.its import InterruptedTimeSeries, its_plot
    from impacteval.pipeline.design_spc import redraw_from_released
    from impacteval.spc import attribute_chart, run_chart, spc_figure, xmr_chart

    assert spec.time is not None, "resolve its.time first (design_its.resolved_its_spec)"
    cols = [*outcomes, *([spec.population] if spec.population else [])]
    _require_numeric(frame, cols, source)
    if spec.time not in frame.columns:
        raise SchemaError(f"missing column: {spec.time}", where=source)
    data = frame.copy()
    interruptions: list[Any] = list(spec.interruptions)
    if not pd.api.types.is_numeric_dtype(data[spec.time]):
        try:
            data[spec.time] = pd.to_datetime(data[spec.time])
        except (ValueError, TypeError) as exc:
            raise SchemaError("must hold numbers or dates", where=f"{source}.{spec.time}") from exc
        interruptions = [pd.Timestamp(str(i)) for i in interruptions]
    est = InterruptedTimeSeries(
        family=spec.family, errors=spec.errors, arima_order=spec.arima_order,
        seasonal_order=spec.seasonal_order, seasonality=spec.seasonality,
        fourier_pairs=spec.fourier_pairs, period=spec.period, slope_change=spec.slope_change,
        phase_in=spec.phase_in, phase_in_mode=spec.phase_in_mode, effect=spec.effect,
        ci_level=spec.ci_level)
    roles: dict[str, Any] = {"time": spec.time, "interruptions": interruptions,
             "population": spec.population,
             "group": spec.comparison_group}
    estimates, notes = [], []
    for outcome in outcomes:
        fitted, w = _caught(lambda o=outcome: est.fit(data, outcome=o, **roles))
        estimates.append(fitted)
        notes += w
    first = est.fit_series(data, outcome=outcomes[0], **roles)
    counts = spec.family != "gaussian"
    plot = its_plot(first, title=outcomes[0])
    plot_data = plot.data.rename(columns={"observed": "events"}) if counts else plot.data
    figures: dict[str, Any] = {"its_plot": plot.figure}
    if counts:  # the report draws the observed counts as released (rounded, suppressed)
        def _draw_its(released: pd.DataFrame, first: Any = first) -> Any:
            series = first.series.copy()
            series["observed"] = pd.to_numeric(released["events"], errors="coerce").to_numpy(
                dtype=float)
            return its_plot(replace(first, series=series), title=outcomes[0]).figure

        figures["its_plot"] = _draw_its
    figure_data: dict[str, pd.DataFrame] = {"its_plot": plot_data}
    series = data if spec.comparison_group is None else data[data[spec.comparison_group] == 1]
    chart = None
    if spec.spc_chart == "u" and spec.population:
        chart = attribute_chart(series, chart="u", x=spec.time, numerator=outcomes[0],
                                denominator=spec.population, rebase_at=interruptions,
                                improvement_direction=spec.improvement_direction)
    elif spec.spc_chart == "c":
        chart = attribute_chart(series, chart="c", x=spec.time, numerator=outcomes[0],
                                rebase_at=interruptions,
                                improvement_direction=spec.improvement_direction)
    elif spec.spc_chart == "xmr":
        chart = xmr_chart(series, x=spec.time, y=outcomes[0], rebase_at=interruptions,
                          improvement_direction=spec.improvement_direction)
    elif spec.spc_chart == "run":
        chart = run_chart(series, x=spec.time, y=outcomes[0], rebase_at=interruptions,
                          improvement_direction=spec.improvement_direction)
    if chart is not None:
        keep = [c for c in ("x", "y", "numerator", "denominator", "part", "centre", "lower",
                            "upper", "special_cause", "variation") if c in chart.data.columns]
        if "numerator" in keep:  # the ratio would give the unrounded count back
            keep.remove("y")
        spc_data = chart.data[keep]
        if counts:  # counts of events per period pass disclosure control
            spc_data = spc_data.rename(columns={"numerator": "events"} if "numerator" in keep
                                       else {"y": "events"})
        title = f"{outcomes[0]}: SPC ({spec.spc_chart})"
        figures["spc_chart"] = (redraw_from_released(chart, title=title, ylabel="")
                                if counts else spc_figure(chart, title=title))
        figure_data["spc_chart"] = spc_data
    post = series[spec.time] >= interruptions[0]
    diagnostics: dict[str, Any] = {
        "interruptions": [str(i) for i in interruptions],
        "autocorrelation": first.diagnostics.to_dict(),
        "errors_used": estimates[0].details.get("errors_used"),
        "warnings": sorted(set(notes)),
    }
    flow = pd.DataFrame([{"step": "its_periods",
                          "description": "Periods after / before the first interruption",
                          "n_treated": int(post.sum()), "n_control": int((~post).sum())}])
    return _output(estimates, diagnostics, figures, figure_data, flow, frame)
