"""Difference-in-differences from the YAML config (``evaluation.design:
difference_in_differences`` with a ``did:`` section).

Two entry points:

* an analysis-ready panel (``data.table``, one row per unit and period; ``roles.unit_id``,
  ``roles.outcomes``, optional ``roles.covariates``, ``roles.exposure``, ``roles.cluster``;
  ``did.time`` and ``did.cohort`` name the period and first-treated-period columns);
* episode tables: after ingest, link and derive, :func:`build_did_panel` makes an area x
  month (or quarter) panel of event counts and registered person-years with
  :func:`~impacteval.estimators.did.panel_builder.build_panel`, each area's treatment start
  taken from ``did.panel.adoption``.

:func:`analyse_did` fits the chosen estimator on every outcome and, on the first outcome,
the checks the report shows: the event study (plot and data), the joint pre-trend test (with
a few-cluster correction), the Goodman-Bacon decomposition when a two-way fixed-effects
estimator is used, and the Rambachan-Roth relative-magnitude bounds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from impacteval.config import Config
from impacteval.config.models import DiDSpec
from impacteval.exceptions import DesignError, SchemaError
from impacteval.pipeline.analysis import AnalysisOutput
from impacteval.pipeline.design_registry import (
    FLOW_COLUMNS,
    DesignHandler,
    EpisodeData,
    Prepared,
    register_design,
)
from impacteval.pipeline.designs import _caught, _diagnostic, _output, _require_numeric
from impacteval.report.sdc import is_count_name

if TYPE_CHECKING:
    from impacteval.estimators.did.event_study import EventMethod

#: Event of the derived event table behind each countable outcome.
_EVENTS = {"emergency_admissions": "emergency_admission",
           "avoidable_emergency_admissions": "avoidable_emergency_admission",
           "elective_admissions": "elective_admission", "ae_attendances": "ae_attendance",
           "op_attendances": "op_attendance", "deaths": "death"}
_TREAT, _EVER, _RATE = "_did_treated", "_did_ever", "_did_rate"
_PER = 1000.0


def _roles(cfg: Config, p: Prepared) -> tuple[DiDSpec, str, str, str]:
    did = cfg.did
    assert did is not None and p.unit_id is not None
    time, cohort = p.extra["time"], p.extra["cohort"]
    return did, p.unit_id, time, cohort


# --- entry points -----------------------------------------------------------------------


def _check_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    did, r = cfg.did, cfg.roles
    assert did is not None and r is not None and did.time and did.cohort and r.unit_id
    missing = [c for c in (r.unit_id, did.cohort) if c not in frame.columns]
    if missing:
        raise SchemaError(f"missing column(s): {', '.join(missing)}", where=source,
                          hint="check roles.unit_id and did.cohort against the table")
    cols = [did.time, *r.covariates, *([r.exposure] if r.exposure else [])]
    _require_numeric(frame, [*r.outcomes, *cols], source)
    if not pd.api.types.is_numeric_dtype(frame[did.cohort]):
        raise SchemaError("must be numeric (first treated period; 0 or empty = never)",
                          where=f"{source}.{did.cohort}")
    extra = [c for c in (did.cluster, r.cluster) if c]
    absent = [c for c in extra if c not in frame.columns]
    if absent:
        raise SchemaError(f"missing column(s): {', '.join(absent)}", where=source,
                          hint="check did.cluster / roles.cluster against the table")
    n_dup = int(frame.duplicated([r.unit_id, did.time]).sum())
    if n_dup:
        raise SchemaError(f"{n_dup} repeated (unit, period) rows",
                          where=f"{source}.{r.unit_id}",
                          hint="aggregate the panel to one row per unit and period")
    g = frame.groupby(r.unit_id)[did.cohort].nunique(dropna=False)
    if (g > 1).any():
        raise SchemaError(f"changes within a unit for {int((g > 1).sum())} units",
                          where=f"{source}.{did.cohort}",
                          hint="the cohort column holds each unit's first treated period")


def prepare_ready_panel(cfg: Config, p: Prepared) -> Prepared:
    """The analysis-ready panel with its period and cohort columns recorded in ``extra``."""
    did = cfg.did
    assert did is not None
    if "time" in p.extra:
        return p
    return dataclasses.replace(p, extra={**p.extra, "time": did.time, "cohort": did.cohort})


def build_did_panel(cfg: Config, ep: EpisodeData) -> Prepared:
    """Stage 4 on episode tables: the area x period panel of counts and person-years."""
    from impacteval.estimators.did.panel_builder import build_panel

    did = cfg.did
    assert did is not None and did.panel is not None and cfg.data.data_cut is not None
    spec = did.panel
    persons = ep.tables["persons"]
    if spec.area not in persons.columns:
        raise SchemaError(f"missing column: {spec.area}", where="data.persons",
                          hint="did.panel.area names the persons table's area column")
    if spec.areas:
        persons = persons.filter(persons[spec.area].cast("string").isin(spec.areas))
    end = spec.end or cfg.data.data_cut + dt.timedelta(days=1)
    if end <= spec.start:
        raise DesignError("the panel ends before it starts", where="did.panel.start",
                          hint="start must be before did.panel.end (default: data.data_cut)")
    outcomes: list[str] = list(cfg.outcomes)
    adoption = pd.DataFrame({spec.area: list(spec.adoption),
                             "adoption_date": list(spec.adoption.values())})
    panel = build_panel(ep.events, persons, outcomes=[_EVENTS[o] for o in outcomes],
                        start=spec.start, end=end, period=spec.period, area=spec.area,
                        unit="area", adoption=adoption).to_pandas()
    panel = panel.rename(columns={_EVENTS[o]: o for o in outcomes})
    unknown = sorted(set(spec.adoption) - set(panel[spec.area].astype(str)))
    if unknown:
        raise DesignError(f"adopting area(s) not in the panel: {', '.join(unknown)}",
                          where="did.panel.adoption",
                          hint=f"use codes of the persons table's {spec.area} column")
    linear = did.estimator != "poisson" and spec.outcome_scale == "rate"
    names = list(outcomes)
    labels: dict[str, str] = {}
    if linear:
        py = panel["person_years"].to_numpy(dtype=float)
        for o in outcomes:
            rate = f"{o}_per_1000py"
            panel[rate] = np.where(py > 0, panel[o].to_numpy(dtype=float) / np.where(
                py > 0, py, 1.0) * _PER, np.nan)
            labels[rate] = f"{o.replace('_', ' ')} per 1,000 person-years"
        names = [f"{o}_per_1000py" for o in outcomes]
    panel["period"] = panel["period"].astype("int64")
    panel["cohort"] = panel["cohort"].astype("int64")
    adopters = panel.loc[panel["cohort"] > 0, "unit_id"].nunique()
    attrition = pd.DataFrame([{"step": "panel",
                               "description": f"Areas in the {spec.period}ly panel "
                               "(adopting / never adopting)",
                               "n_treated": int(adopters),
                               "n_control": int(panel["unit_id"].nunique() - adopters)}],
                             columns=FLOW_COLUMNS)
    return Prepared(frame=panel, attrition=attrition, source="did.panel", outcomes=names,
                    unit_id="unit_id", exposure="person_years", setting=spec.area,
                    labels=labels, extra={"time": "period", "cohort": "cohort",
                                          "counts": dict(zip(names, outcomes, strict=True))})


# --- analysis ---------------------------------------------------------------------------


def _with_indicators(frame: pd.DataFrame, time: str, cohort: str) -> pd.DataFrame:
    g = pd.to_numeric(frame[cohort]).fillna(0).to_numpy(dtype=float)
    t = pd.to_numeric(frame[time]).to_numpy(dtype=float)
    return frame.assign(**{_EVER: (g > 0).astype(float),
                           _TREAT: ((g > 0) & (t >= g)).astype(float)})


def _cluster(cfg: Config, p: Prepared) -> str | None:
    did = cfg.did
    assert did is not None
    return did.cluster or (cfg.roles.cluster if cfg.roles is not None else None)


def _fit(cfg: Config, p: Prepared, frame: pd.DataFrame, outcome: str, exposure_outcome: str
         ) -> Any:
    """The headline estimate of one outcome with the configured estimator."""
    from impacteval.estimators.did import (
        CallawaySantAnna,
        EventStudy,
        PoissonDiD,
        TwoWayFixedEffects,
    )

    did, unit, time, cohort = _roles(cfg, p)
    cl = _cluster(cfg, p)
    seed = cfg.evaluation.seed
    if did.estimator == "callaway_santanna":
        return CallawaySantAnna(
            control_group=did.control_group, est_method=did.est_method,
            anticipation=did.anticipation, base_period=did.base_period,
            aggregation=did.aggregation, n_boot=did.n_boot, ci_level=did.ci_level, seed=seed,
        ).fit(frame, outcome=outcome, unit=unit, time=time, cohort=cohort,
              covariates=p.covariates, clusters=cl)
    if did.estimator == "twoway":
        return TwoWayFixedEffects(
            ci_level=did.ci_level, wild_bootstrap=did.wild_bootstrap,
            bootstrap_weights=did.bootstrap_weights, seed=seed,
        ).fit(frame, outcome=outcome, treatment=_TREAT, unit=unit, time=time,
              clusters=cl or unit, covariates=p.covariates)
    if did.estimator in ("event_study", "sun_abraham"):
        method: EventMethod = "twfe" if did.estimator == "event_study" else "sun_abraham"
        return EventStudy(method=method, reference=did.reference, window=did.window,
                          ci_level=did.ci_level).fit(frame, outcome=outcome, unit=unit,
                                                     time=time, cohort=cohort, clusters=cl,
                                                     covariates=p.covariates)
    assert p.exposure is not None
    return PoissonDiD(fixed_effects=True, ci_level=did.ci_level).fit(
        frame, outcome=exposure_outcome, exposure=p.exposure, treated=_EVER, post=_TREAT,
        clusters=cl or unit, covariates=p.covariates, unit=unit, time=time)


def _release_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Estimate details without count columns inside tables (results.json releases details;
    only count-named *values* are controlled there, so counts inside tables are dropped --
    the event-study figure data carries the per-event-time counts under SDC instead)."""
    out: dict[str, Any] = {}
    for k, v in details.items():
        if isinstance(v, pd.DataFrame):
            out[k] = v.drop(columns=[c for c in v.columns if is_count_name(str(c))
                                     or str(c) in ("exposure",)])
        elif isinstance(v, Mapping) and is_count_name(str(k)):
            # e.g. n_dropped = {reason: units}: name the inner counts so that SDC sees them
            out[k] = {f"n_{kk}": vv for kk, vv in v.items()}
        elif isinstance(v, Mapping):
            out[k] = _release_details(v)
        else:
            out[k] = v
    return out


def _pretrend_record(wald: Mapping[str, Any], chosen: str, source: str) -> dict[str, Any]:
    keys = {"chi2": "p_value", "f": "f_p_value", "hotelling": "hotelling_p_value",
            "wild_bootstrap": "bootstrap_p_value"}
    rec = {k: (float(v) if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)
               else v) for k, v in wald.items()}
    rec["p_value_chi2"] = rec.pop("p_value", float("nan"))
    chosen_key = "p_value_chi2" if chosen == "chi2" else keys[chosen]
    rec["p_value"] = rec.get(chosen_key, float("nan"))
    rec["test"] = chosen
    rec["source"] = source
    return rec


def _cs_dynamic_cov(cfg: Config, p: Prepared, frame: pd.DataFrame, outcome: str,
                    table: pd.DataFrame) -> np.ndarray:
    """Covariance of the Callaway-Sant'Anna event-study estimates (the dynamic aggregation's
    influence functions, clustered as the estimate), rows with a standard error, in order."""
    from impacteval.estimators.did import CallawaySantAnna
    from impacteval.estimators.did.aggregation import cluster_sums

    did, unit, time, cohort = _roles(cfg, p)
    gt = CallawaySantAnna(control_group=did.control_group, est_method=did.est_method,
                          anticipation=did.anticipation, base_period=did.base_period,
                          ).estimate_cells(frame, outcome=outcome, unit=unit, time=time,
                                           cohort=cohort, covariates=p.covariates,
                                           clusters=_cluster(cfg, p))
    agg = gt.aggregate("dynamic")
    ok = np.isfinite(agg.table["std_error"].to_numpy(dtype=float))
    psi = cluster_sums(agg.influence[:, ok], gt.unit_cluster)
    cov: np.ndarray = psi.T @ psi / gt.n_units**2
    return cov


def _event_study_diagnostics(cfg: Config, p: Prepared, frame: pd.DataFrame, outcome: str,
                             first: Any, notes: list[str]
                             ) -> tuple[dict[str, Any], Any, Any, np.ndarray | None]:
    """Event-study table, figure and pre-trend test for the first outcome."""
    from impacteval.estimators.did import dynamic_plot, event_study
    from impacteval.estimators.did.event_study import small_cluster_pretrend

    did, unit, time, cohort = _roles(cfg, p)
    cl = _cluster(cfg, p)
    seed = cfg.evaluation.seed
    boot = did.pretrend_bootstrap if did.pretrend_test == "wild_bootstrap" else 0
    if did.estimator == "callaway_santanna":
        dyn = first.details["aggregations"]["dynamic"]["table"]
        cells = first.details["group_time"]
        ok = cells.dropna(subset=["att"])
        n_units = (ok.assign(_n=ok["n_treated"]).drop_duplicates(["cohort", "event_time"])
                   .groupby("event_time")["_n"].sum())
        table = dyn.rename(columns={"label": "event_time"}).copy()
        table["n_treated_units"] = [int(n_units.get(e, 0)) for e in table["event_time"]]
        fig = dynamic_plot(dyn, title=f"{outcome}: effect by time since adoption "
                                      "(Callaway-Sant'Anna)")
        wald = dict(first.details["pretrend_wald"])
        n_cl = first.details.get("n_clusters") or first.details.get("n_units")
        wald.update(small_cluster_pretrend(wald["statistic"], int(wald["df"]), int(n_cl)))
        source = "Callaway-Sant'Anna pre-treatment ATT(g,t)"
        if boot:
            sa = _diagnostic(lambda: event_study(
                frame, outcome=outcome, unit=unit, time=time, cohort=cohort,
                method="sun_abraham", reference=did.reference, window=did.window, clusters=cl,
                pretrend_bootstrap=boot, bootstrap_weights=did.bootstrap_weights, seed=seed),
                notes)
            if sa is not None and "bootstrap_p_value" in sa.pretrend_wald:
                wald["bootstrap_p_value"] = sa.pretrend_wald["bootstrap_p_value"]
                wald["bootstrap_draws"] = sa.pretrend_wald["bootstrap_draws"]
                source += "; wild bootstrap on the Sun-Abraham event study"
        cov = None
        if did.base_period == "universal":
            cov = _cs_dynamic_cov(cfg, p, frame, outcome, table)
        return _pretrend_record(wald, did.pretrend_test, source), table, fig, cov
    method: EventMethod = "sun_abraham" if did.estimator == "sun_abraham" else "twfe"
    y = outcome
    data = frame
    if did.estimator == "poisson":  # the event study of the rate (linear scale)
        assert p.exposure is not None
        e = pd.to_numeric(frame[p.exposure]).to_numpy(dtype=float)
        data = frame.assign(**{_RATE: np.where(e > 0, pd.to_numeric(frame[outcome]).to_numpy(
            dtype=float) / np.where(e > 0, e, 1.0) * _PER, np.nan)})
        y = _RATE
    res = event_study(data, outcome=y, unit=unit, time=time, cohort=cohort, method=method,
                      reference=did.reference, window=did.window, clusters=cl,
                      ci_level=did.ci_level, pretrend_bootstrap=boot,
                      bootstrap_weights=did.bootstrap_weights, seed=seed)
    table = res.coefficients.rename(columns={"n_units": "n_treated_units"})
    label = f"{outcome} per {_PER:,.0f} exposure" if did.estimator == "poisson" else outcome
    fig = res.plot(title=f"{label}: event study ({method})")
    return (_pretrend_record(res.pretrend_wald, did.pretrend_test, f"event study ({method})"),
            table, fig, res.cov)


def analyse_did(cfg: Config, p: Prepared) -> AnalysisOutput:
    """Stages 5-7 of the DiD design (see the module docstring)."""
    from impacteval.estimators.did import bacon_decomposition, relative_magnitude_bounds
    from impacteval.estimators.did.sensitivity import smoothness_flci

    p = prepare_ready_panel(cfg, p)
    did, unit, time, cohort = _roles(cfg, p)
    frame = _with_indicators(p.frame, time, cohort)
    counts: Mapping[str, str] = p.extra.get("counts", {})
    if did.estimator == "poisson" and counts:  # the counts behind the outcomes asked for
        outcomes = [counts.get(o, o) for o in p.outcomes]
    else:
        outcomes = list(p.outcomes)
    if did.estimator in ("event_study", "sun_abraham") and p.covariates:
        raise DesignError("the event-study estimators take no covariates",
                          where="roles.covariates",
                          hint="use did.estimator: callaway_santanna for covariate adjustment")
    estimates, notes = [], []
    for outcome in outcomes:
        fitted, w = _caught(lambda o=outcome: _fit(cfg, p, frame, o, o))
        estimates.append(fitted)
        notes += w
    first = outcomes[0]
    diagnostics: dict[str, Any] = {"estimator": did.estimator, "diagnostics_outcome": first,
                                   "periods": int(frame[time].nunique())}
    figures: dict[str, Any] = {}
    figure_data: dict[str, pd.DataFrame] = {}
    es = _diagnostic(lambda: _event_study_diagnostics(cfg, p, frame, first, estimates[0], notes),
                     notes)
    if es is not None:
        pretrend, table, fig, cov = es
        diagnostics["pretrend_wald"] = pretrend
        figures["event_study"] = fig
        figure_data["event_study"] = table
        sens = None
        if did.estimator == "callaway_santanna" and did.base_period == "varying":
            notes.append("sensitivity bounds not computed: they need an event study relative "
                         "to period -1 (did.base_period: universal)")
        else:
            sens = _diagnostic(lambda: relative_magnitude_bounds(
                table, m_bar=did.sensitivity_m_bar, target=did.sensitivity_target), notes)
        if sens is not None:
            diagnostics["sensitivity_relative_magnitudes"] = {
                "identified_set": sens.table.to_dict(orient="records"),
                "estimate": sens.estimate, "max_pre_change": sens.max_pre_change,
                "breakdown_m_bar": sens.breakdown,
                "note": "identified sets at the estimated event-study coefficients "
                        "(Rambachan-Roth Delta^RM; no sampling uncertainty)",
            }
            figure_data["sensitivity_bounds"] = sens.table
            figures["sensitivity_bounds"] = sens.plot(
                title=f"{first}: Rambachan-Roth relative-magnitude bounds")
        if cov is not None:
            sd = _diagnostic(lambda: smoothness_flci(
                table, cov, m=did.sensitivity_m, target=did.sensitivity_target,
                ci_level=did.ci_level), notes)
            if sd is not None:
                diagnostics["sensitivity_smoothness"] = {
                    "confidence_intervals": sd.table.to_dict(orient="records"),
                    "usual_interval": list(sd.original), "target_event_times": sd.weights,
                    "breakdown_m": sd.breakdown, "m_upper_bound": sd.m_upper_bound,
                    "note": "Rambachan-Roth fixed-length confidence intervals under "
                            "Delta^SD(M) (validated against HonestDiD)",
                }
                figure_data["sensitivity_smoothness"] = sd.table
                figures["sensitivity_smoothness"] = sd.plot(
                    title=f"{first}: Rambachan-Roth smoothness confidence intervals")
    else:
        diagnostics["pretrend_wald"] = {"available": False, "reason": notes[-1]}
    if did.estimator in ("twoway", "event_study"):
        if p.covariates:
            notes.append("Bacon decomposition not computed: it applies to TWFE without "
                         "covariates")
        else:
            bacon = _diagnostic(lambda: bacon_decomposition(frame, outcome=first, unit=unit,
                                                            time=time, cohort=cohort), notes)
            if bacon is not None:
                diagnostics["bacon_decomposition"] = {
                    "twfe_estimate": bacon.estimate,
                    "by_type": bacon.by_type[["type", "weight", "estimate"]].to_dict(
                        orient="records")}
                figures["bacon_decomposition"] = bacon.plot()
                figure_data["bacon_decomposition"] = bacon.comparisons[
                    ["type", "treated", "control", "estimate", "weight"]]
    diagnostics["warnings"] = sorted(set(notes))
    released = []
    for est in estimates:
        released.append(type(est)(**{**{f: getattr(est, f) for f in est.__dataclass_fields__},
                                     "details": _release_details(est.details)}))
    g = pd.to_numeric(frame[cohort]).fillna(0)
    n_t = int(frame.loc[g > 0, unit].nunique())
    n_c = int(frame.loc[g <= 0, unit].nunique())
    flow = pd.DataFrame([{"step": "did_panel", "description": "Units in the analysis panel "
                          "(treated at some point / never treated)",
                          "n_treated": n_t, "n_control": n_c}], columns=FLOW_COLUMNS)
    out = _output(released, diagnostics, figures, figure_data, flow, p.frame)
    table_one = out.table_one.assign(label="Number of units")
    return dataclasses.replace(out, table_one=table_one)


register_design(DesignHandler(name="difference_in_differences", analyse=analyse_did,
                              build=build_did_panel, check_ready=_check_ready,
                              build_label="build the area x period panel"))
