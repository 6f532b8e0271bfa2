"""The synthetic control design (``evaluation.design: synthetic_control``, section ``synth``).

Entry points: an analysis-ready area x period ``data.table`` (``roles.unit_id`` = area,
``roles.outcomes``, ``synth.time``), or episode tables, from which :func:`build_area_panel`
builds the area x month panel of the derived events (rates per ``synth.per`` registered
persons; columns ``area, month, population, <outcome>, <outcome>_rate``; the rates are
analysed).

:func:`analyse_synth` applies the windows, washout and donor-pool rules, checks that inference
is identified (``synth.min_donors``, ``synth.min_pre_periods``), fits the method for each
outcome and collects the figures (trajectory, gaps with placebos, placebo ratios or placebo
distribution, donor weights) with the data behind them. One treated area with ``classic``:
the in-space placebo test of Abadie, Diamond and Hainmueller (2010); several treated areas
(any method) or ``augmented``: :class:`~impacteval.estimators.synthetic.SeveralTreated`
(each area against the never-treated donors, ATT averaged over treated area-periods, placebo
distribution of the aggregate); ``synthetic_did`` with one area: its own SE (``se_method``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from impacteval.config import Config
from impacteval.config.synth import SynthSpec
from impacteval.exceptions import ConfigError, DesignError, SchemaError
from impacteval.pipeline.analysis import AnalysisOutput
from impacteval.pipeline.design_registry import (
    FLOW_COLUMNS,
    DesignHandler,
    EpisodeData,
    Prepared,
    register_design,
)
from impacteval.pipeline.designs import BALANCE_COLUMNS, _caught, _diagnostic

WHERE = "synth"
TREATED = "_synth_treated"


# --------------------------------------------------------------------------- stage 4
def _event_name(outcome: str) -> str:
    from impacteval.cohort.measures import UTILISATION

    return UTILISATION[outcome][0] if outcome in UTILISATION else "death"


def _month(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def _last_complete_month(cut: dt.date) -> dt.date:
    nxt = cut + dt.timedelta(days=1)
    first = _month(cut)
    return first if nxt.month != cut.month else _month(first - dt.timedelta(days=1))


def build_area_panel(cfg: Config, ep: EpisodeData) -> Prepared:
    """Stage 4: the area x month panel of the outcomes' events per registered population."""
    from impacteval.estimators.synthetic import area_month_panel

    spec = cfg.synth
    assert spec is not None and cfg.data.data_cut is not None
    outcomes = list(cfg.outcomes)
    events = [_event_name(o) for o in outcomes]
    if spec.pre_period is not None:
        start = _month(spec.pre_period[0])  # type: ignore[arg-type]
    else:
        first = ep.events.filter(ep.events.event.isin(events)).start_date.min().execute()
        if first is None or pd.isna(first):
            raise DesignError("no events of the outcomes in the extract", where="outcomes")
        start = _month(pd.Timestamp(first).date())
    end = (_month(spec.post_period[1]) if spec.post_period is not None  # type: ignore[arg-type]
           else _last_complete_month(cfg.data.data_cut))
    panel = area_month_panel(ep.events, ep.tables["persons"], outcomes=events, start=start,
                             end=end, area=spec.area_column, deaths=ep.tables.get("deaths"),
                             per=spec.per)
    rename: dict[str, str] = {}
    for o, e in zip(outcomes, events, strict=True):
        rename[e], rename[f"{e}_rate"] = o, f"{o}_rate"
    panel = panel.rename(columns=rename)
    from impacteval.cohort.measures import MEASURE_LABELS

    per = f"{spec.per:,.0f}"
    labels = {f"{o}_rate": f"{MEASURE_LABELS.get(o, o)} per {per} registered persons"
              for o in outcomes}
    return Prepared(frame=panel, attrition=pd.DataFrame(columns=FLOW_COLUMNS),
                    source="area x month panel", outcomes=[f"{o}_rate" for o in outcomes],
                    unit_id="area", labels=labels,
                    extra={"time": "month", "population": "population"})


def check_synth_ready(cfg: Config, frame: pd.DataFrame, source: str) -> None:
    """Columns of an analysis-ready area x period table exist and are usable."""
    spec, roles = cfg.synth, cfg.roles
    assert spec is not None and roles is not None and roles.unit_id is not None
    assert spec.time is not None
    cols = [roles.unit_id, spec.time, *roles.outcomes,
            *([spec.population] if spec.population else []),
            *[p.variable for p in spec.predictors]]
    missing = [c for c in dict.fromkeys(cols) if c not in frame.columns]
    if missing:
        raise SchemaError(f"missing column(s): {', '.join(missing)}", where=source,
                          hint="check roles.unit_id, roles.outcomes, synth.time, "
                          "synth.population and synth.predictors against the table")
    for col in [*roles.outcomes, *([spec.population] if spec.population else []),
                *[p.variable for p in spec.predictors]]:
        if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
            raise SchemaError("must be numeric", where=f"{source}.{col}")
    if frame[[roles.unit_id, spec.time]].isna().any().any():
        raise SchemaError("area or period has missing values",
                          where=f"{source}.{roles.unit_id}")


# --------------------------------------------------------------------------- stage 5-7
def _normalise_time(frame: pd.DataFrame, time: str, dates: bool, source: str) -> pd.DataFrame:
    s = frame[time]
    if dates:
        try:
            months = pd.to_datetime(s).dt.to_period("M").dt.to_timestamp().dt.date
        except (ValueError, TypeError) as exc:
            raise SchemaError("must hold dates (the periods in synth are dates)",
                              where=f"{source}.{time}") from exc
        return frame.assign(**{time: months})
    if not pd.api.types.is_numeric_dtype(s):
        raise SchemaError("must hold numbers (the periods in synth are numbers)",
                          where=f"{source}.{time}",
                          hint="give synth.treated.start and windows as dates for a date column")
    return frame.assign(**{time: s.astype("float64")})


def _start(value: Any, dates: bool) -> Any:
    return _month(value) if dates else float(value)


def _window(spec: SynthSpec, name: str, dates: bool) -> tuple[Any, Any] | None:
    w = getattr(spec, name)
    return None if w is None else (_start(w[0], dates), _start(w[1], dates))


def select_panel(frame: pd.DataFrame, spec: SynthSpec, *, unit: str, time: str,
                 outcomes: Sequence[str], population: str | None, source: str
                 ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Windows, washout and donor rules; adds the 0/1 treatment column.

    Returns (panel, donor log ``area, kept, reason``, summary of the periods used).
    """
    dates = spec.dates
    data = _normalise_time(frame, time, dates, source)
    starts = {t.area: _start(t.start, dates) for t in spec.treated}
    areas = set(data[unit].astype(str))
    absent = [a for a in starts if a not in areas]
    if absent:
        raise DesignError(f"{len(absent)} treated area(s) are not in the panel",
                          where=f"{WHERE}.treated",
                          hint=f"check the area codes against the {unit} column")
    data = data.assign(**{unit: data[unit].astype(str)})
    times = sorted(data[time].unique())
    first_start = min(starts.values())
    pre = _window(spec, "pre_period", dates) or (times[0], None)
    post = _window(spec, "post_period", dates) or (first_start, times[-1])
    washout: set[Any] = set()
    for s in set(starts.values()):
        washout |= set([t for t in times if t >= s][: spec.washout])
    keep = [t for t in times
            if ((t >= pre[0] and (t < first_start if pre[1] is None else t <= pre[1]))
                or (post[0] <= t <= post[1])) and t not in washout]
    data = data[data[time].isin(keep)]
    n_pre = int(sum(t < first_start for t in keep))
    if n_pre < spec.min_pre_periods:
        raise DesignError(f"{n_pre} pre-period(s) before the earliest start; at least "
                          f"{spec.min_pre_periods} are needed for a credible fit and placebo "
                          "inference", where=f"{WHERE}.pre_period",
                          hint="use a longer pre-period (several years of months), or lower "
                          "synth.min_pre_periods knowingly")
    for s in starts.values():
        if not any(t >= s for t in keep):
            raise DesignError("a treated area has no post-period (after washout)",
                              where=f"{WHERE}.treated", hint="check the start dates, the "
                              "washout and synth.post_period")
    pre_rows = data[data[time] < first_start]
    rows = []
    for a in sorted(areas):
        sub = data[data[unit] == a]
        if a in starts:
            reason = "treated"
            if sub[list(outcomes)].isna().any().any() or len(sub) < len(keep):
                raise SchemaError("a treated area has missing outcomes or periods",
                                  where=f"{source}.{outcomes[0]}",
                                  hint="every treated area needs every outcome in every period")
        elif a in spec.exclude:
            reason = "excluded (own change)"
        elif population is not None and (
                len(pre_rows[pre_rows[unit] == a]) == 0
                or pre_rows.loc[pre_rows[unit] == a, population].min() < spec.min_population):
            reason = "pre-period coverage (population below synth.min_population)"
        elif len(sub) < len(keep) or sub[list(outcomes)].isna().any().any():
            reason = "missing outcome values or periods"
        else:
            reason = "donor"
        rows.append({"area": a, "kept": reason in ("treated", "donor"), "reason": reason})
    log = pd.DataFrame(rows)
    n_donors = int((log["reason"] == "donor").sum())
    if n_donors < spec.min_donors:
        raise DesignError(f"{n_donors} donor area(s) remain after the donor-pool rules; at "
                          f"least {spec.min_donors} are needed for placebo inference",
                          where=f"{WHERE}.exclude",
                          hint="relax synth.exclude or synth.min_population, or lower "
                          "synth.min_donors knowingly (p-values of 1/(donors + 1) at best)")
    if spec.placebos and n_donors < len(starts) + 1:
        raise DesignError("fewer donors than treated areas plus one: the placebo distribution "
                          "is not identified", where=f"{WHERE}.treated")
    kept = set(log.loc[log["kept"], "area"])
    data = data[data[unit].isin(kept)]
    treated = pd.Series([a in starts and t >= starts[a]
                         for a, t in zip(data[unit], data[time], strict=True)], index=data.index)
    data = data.assign(**{TREATED: treated.astype("int64")})
    summary = {"periods": [str(t) for t in keep][:1] + [str(t) for t in keep][-1:],
               "pre_periods": n_pre, "post_periods": len(keep) - n_pre,
               "washout_dropped": sorted(str(t) for t in washout), "dates": dates}
    return data.reset_index(drop=True), log, summary


def _predictors(spec: SynthSpec, times: Sequence[Any]) -> tuple[Any, ...]:
    from impacteval.estimators.synthetic import Predictor

    out = []
    for p in spec.predictors:
        periods = None
        if p.window is not None:
            lo, hi = (_start(p.window[0], spec.dates), _start(p.window[1], spec.dates))
            periods = tuple(t for t in times if lo <= t <= hi)
            if not periods:
                raise ConfigError("the window holds no period of the panel",
                                  where=f"{WHERE}.predictors.{p.variable}")
        out.append(Predictor(variable=p.variable, periods=periods, label=p.label))
    return tuple(out)


def _base(spec: SynthSpec, times: Sequence[Any], seed: int) -> Any:
    from impacteval.estimators.synthetic import (
        AugmentedSyntheticControl,
        SyntheticControl,
        SyntheticDiD,
    )

    if spec.method == "classic":
        return SyntheticControl(predictors=_predictors(spec, times), v_search=spec.v_search,
                                placebos=spec.placebos,
                                placebo_mspe_cutoff=spec.placebo_mspe_cutoff,
                                level=spec.ci_level, max_pre_rmspe_sd=spec.max_pre_rmspe_sd,
                                seed=seed)
    if spec.method == "augmented":
        return AugmentedSyntheticControl(level=spec.ci_level)
    return SyntheticDiD(se_method=spec.se_method, replications=spec.replications,
                        level=spec.ci_level, seed=seed)


def _line_figure(data: pd.DataFrame, *, y: Sequence[str], title: str, ylabel: str,
                 start_lines: Sequence[Any]) -> Figure:
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for u, g in data.groupby("unit", sort=True):
        for col, style in zip(y, ("-", "--"), strict=False):
            ax.plot(g["time"], g[col], linestyle=style, label=f"{u} {col}")
    for s in start_lines:
        ax.axvline(s, color="0.5", linestyle=":", linewidth=1)
    if "gap" in y:
        ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel("period")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=7)
    return fig


def _hist_figure(values: np.ndarray, att: float, title: str) -> tuple[Figure, pd.DataFrame]:
    counts, edges = np.histogram(values, bins=min(30, max(5, values.size // 10)))
    data = pd.DataFrame({"bin_lower": edges[:-1], "bin_upper": edges[1:],
                         "share": counts / values.size})
    fig = Figure(figsize=(6.0, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.bar(data["bin_lower"], data["share"], width=np.diff(edges), align="edge", color="0.7")
    ax.axvline(att, color="black", linewidth=1.8)
    ax.set_title(title)
    ax.set_xlabel("placebo aggregate effect (estimate: black line)")
    ax.set_ylabel("share of placebo assignments")
    return fig, data


def _classic_single(est: Any, data: pd.DataFrame, roles: dict[str, str], spec: SynthSpec,
                    outcome: str, notes: list[str]) -> tuple[Any, dict[str, Any], dict, dict]:
    from impacteval.estimators.synthetic import (
        gap_plot,
        in_time_placebo,
        leave_one_out,
        trajectory_plot,
        weights_plot,
    )
    from impacteval.estimators.synthetic.classic import to_estimate

    fit, w = _caught(lambda: est.fit_details(data, **roles))
    notes += w
    estimate = to_estimate(fit, outcome=outcome, level=spec.ci_level)
    figs, fdata = {}, {}
    fig, d = trajectory_plot(fit, ylabel=outcome)
    figs["trajectory"], fdata["trajectory"] = fig, d.assign(unit=str(fit.treated_unit))
    fig, d = gap_plot(fit, placebos=True)
    figs["gaps"], fdata["gaps"] = fig, d
    fig, d = weights_plot(fit)
    figs["weights"], fdata["weights"] = fig, d
    diag: dict[str, Any] = {"pre_rmspe": fit.pre_rmspe, "post_rmspe": fit.post_rmspe,
                            "rmspe_ratio": fit.rmspe_ratio,
                            "p_value": estimate.p_value,
                            "predictor_balance": fit.predictors.to_dict(orient="records")}
    if fit.placebos is not None:
        r = fit.placebos.ratios.sort_values("ratio", ascending=False)
        fig = Figure(figsize=(6.0, 1.2 + 0.22 * len(r)), layout="constrained")
        ax = fig.subplots()
        ax.barh(r["unit"].astype(str)[::-1], r["ratio"][::-1],
                color=["black" if not p else "0.7" for p in r["placebo"][::-1]])
        ax.set_xlabel("post/pre-period RMSPE ratio (treated area in black)")
        figs["placebo_ratios"] = fig
        fdata["placebo_ratios"] = r[["unit", "placebo", "pre_rmspe", "post_rmspe", "ratio",
                                     "included"]].reset_index(drop=True)
    if spec.in_time_placebo is not None:
        pt = _start(spec.in_time_placebo, spec.dates)
        res = _diagnostic(lambda: in_time_placebo(est, data, placebo_time=pt, **roles), notes)
        if res is not None:
            diag["in_time_placebo"] = {"placebo_time": str(pt), "att": res.att,
                                       "pre_rmspe": res.pre_rmspe}
    if spec.leave_one_out:
        loo = _diagnostic(lambda: leave_one_out(
            est, fit, data, unit=roles["unit"], time=roles["time"], outcome=roles["outcome"],
            treatment=roles["treatment"]), notes)
        if loo is not None:
            diag["leave_one_out"] = (loo.drop_duplicates("left_out")
                                     [["left_out", "weight", "att", "pre_rmspe"]]
                                     .to_dict(orient="records"))
    return estimate, diag, figs, fdata


def _several(base: Any, data: pd.DataFrame, roles: dict[str, str], spec: SynthSpec,
             outcome: str, seed: int, notes: list[str]) -> tuple[Any, dict[str, Any], dict, dict]:
    from impacteval.estimators.synthetic import SeveralTreated

    est = SeveralTreated(base=replace(base, placebos=False) if hasattr(base, "placebos")
                         else base, draws=spec.placebo_draws, level=spec.ci_level,
                         max_pre_rmspe_sd=spec.max_pre_rmspe_sd,
                         min_pre_periods=spec.min_pre_periods, seed=seed)
    fit, w = _caught(lambda: est.fit_details(data, **roles))
    notes += w
    estimate = est.summarise(fit, outcome=outcome)
    paths = fit.paths.assign(unit=fit.paths["unit"].astype(str))
    starts = sorted(set(fit.units["adoption_time"]))
    figs = {"trajectory": _line_figure(paths, y=("treated", "synthetic"),
                                       title=f"{outcome}: treated and synthetic",
                                       ylabel=outcome, start_lines=starts),
            "gaps": _line_figure(paths, y=("gap",), title=f"{outcome}: gaps", ylabel="gap",
                                 start_lines=starts)}
    fdata = {"trajectory": paths[["unit", "time", "treated", "synthetic"]],
             "gaps": paths[["unit", "time", "gap", "post"]]}
    fig, d = _hist_figure(fit.placebo_aggregates, fit.att, f"{outcome}: placebo distribution")
    figs["placebo_distribution"], fdata["placebo_distribution"] = fig, d
    wts = fit.weights.assign(unit=fit.weights["unit"].astype(str),
                             donor=fit.weights["donor"].astype(str))
    wts = wts[wts["weight"].abs() >= 1e-3].reset_index(drop=True)
    fig = Figure(figsize=(6.0, 1.2 + 0.25 * len(wts)), layout="constrained")
    ax = fig.subplots()
    ax.barh([f"{u}: {d}" for u, d in zip(wts["unit"], wts["donor"], strict=True)][::-1],
            wts["weight"][::-1], color="#1b9e77")
    ax.set_xlabel("donor weight (treated area: donor)")
    figs["weights"], fdata["weights"] = fig, wts
    diag = {"pre_rmspe": {str(u): float(r) for u, r in zip(fit.units["unit"],
                                                           fit.units["pre_rmspe"], strict=True)},
            "p_value": fit.p_value, "units": fit.units.assign(unit=fit.units["unit"].astype(str))
            .to_dict(orient="records")}
    return estimate, diag, figs, fdata


def _sdid_single(est: Any, data: pd.DataFrame, roles: dict[str, str], spec: SynthSpec,
                 outcome: str, notes: list[str]) -> tuple[Any, dict[str, Any], dict, dict]:
    from impacteval.estimators.synthetic.several import fit_unit

    estimate, w = _caught(lambda: est.fit(data, **roles))
    notes += w
    one = fit_unit(est, data, **roles)
    unit = str(data.loc[data[roles["treatment"]] == 1, roles["unit"]].iloc[0])
    path = one.path.assign(unit=unit)
    start = path.loc[path["post"], "time"].min()
    figs = {"trajectory": _line_figure(path, y=("treated", "synthetic"),
                                       title=f"{outcome}: treated and synthetic DiD",
                                       ylabel=outcome, start_lines=[start]),
            "gaps": _line_figure(path, y=("gap",), title=f"{outcome}: gap", ylabel="gap",
                                 start_lines=[start])}
    wts = pd.DataFrame({"unit": one.weights.index.astype(str), "weight": one.weights.to_numpy()})
    wts = wts[wts["weight"] >= 1e-3].sort_values("weight").reset_index(drop=True)
    fig = Figure(figsize=(6.0, 1.2 + 0.3 * len(wts)), layout="constrained")
    ax = fig.subplots()
    ax.barh(wts["unit"], wts["weight"], color="#1b9e77")
    ax.set_xlabel("donor weight (omega)")
    figs["weights"] = fig
    fdata = {"trajectory": path[["unit", "time", "treated", "synthetic"]],
             "gaps": path[["unit", "time", "gap", "post"]], "weights": wts}
    diag = {"pre_rmspe": one.pre_rmspe, "p_value": estimate.p_value,
            "se_method": spec.se_method}
    return estimate, diag, figs, fdata


def _generalized(spec: SynthSpec, data: pd.DataFrame, roles: dict[str, str], outcome: str,
                 seed: int, notes: list[str]) -> tuple[Any, dict[str, Any], dict, dict]:
    """The registered generalised synthetic control (several areas and their own inference)."""
    import dataclasses

    from impacteval.config.synth import SYNTH_METHODS
    from impacteval.estimators import ESTIMATORS

    cls = ESTIMATORS.get(SYNTH_METHODS["generalized"][0], where=f"{WHERE}.method")
    names = {f.name for f in dataclasses.fields(cls)}
    options = {"replications": spec.replications, "level": spec.ci_level, "seed": seed,
               "min_pre_periods": spec.min_pre_periods}
    est = cls(**{k: v for k, v in options.items() if k in names})
    fit, w = _caught(lambda: est.fit_details(data, **roles))
    notes += w
    estimate = est.to_estimate(fit, outcome=roles["outcome"])
    eff = fit.effects.assign(unit=fit.effects["unit"].astype(str))
    paths = eff.rename(columns={"observed": "treated", "counterfactual": "synthetic",
                                "effect": "gap"})
    starts = sorted(set(data.loc[data[roles["treatment"]] == 1].groupby(roles["unit"])
                        [roles["time"]].min()))
    figs = {"trajectory": _line_figure(paths, y=("treated", "synthetic"),
                                       title=f"{outcome}: treated and counterfactual",
                                       ylabel=outcome, start_lines=starts),
            "gaps": _line_figure(paths, y=("gap",), title=f"{outcome}: effects", ylabel="gap",
                                 start_lines=starts)}
    fdata = {"trajectory": paths[["unit", "time", "treated", "synthetic"]],
             "gaps": paths[["unit", "time", "event_time", "gap"]],
             "att_by_event_time": fit.att}
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(fit.att["event_time"], fit.att["att"],
                yerr=[fit.att["att"] - fit.att["ci_lower"], fit.att["ci_upper"] - fit.att["att"]],
                fmt="o", color="black", ecolor="0.6", markersize=3)
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.axvline(-0.5, color="0.5", linestyle=":")
    ax.set_xlabel("periods since the start")
    ax.set_ylabel("ATT")
    figs["att_by_event_time"] = fig
    diag = {"pre_rmspe": fit.pre_rmspe, "p_value": fit.p_value, "factors": fit.r}
    return estimate, diag, figs, fdata


def _relative_pre_rmspe(data: pd.DataFrame, spec: SynthSpec, *, unit: str, time: str,
                        per_outcome: dict[str, Any]) -> float | None:
    """Largest pre-period RMSPE relative to the treated area's mean pre-period outcome."""
    starts = {t.area: _start(t.start, spec.dates) for t in spec.treated}
    ratios = []
    for outcome, diag in per_outcome.items():
        pre_mean = {a: float(data.loc[(data[unit] == a) & (data[time] < s), outcome]
                             .abs().mean()) for a, s in starts.items()}
        rmspe = diag.get("pre_rmspe")
        if isinstance(rmspe, dict):
            ratios += [float(r) / pre_mean[str(a)] for a, r in rmspe.items()
                       if pre_mean.get(str(a), 0) > 0]
        elif isinstance(rmspe, (int, float)) and np.isfinite(rmspe):
            level = float(np.mean(list(pre_mean.values())))
            if level > 0:
                ratios.append(float(rmspe) / level)
    return max(ratios) if ratios else None


def analyse_synth(cfg: Config, p: Prepared) -> AnalysisOutput:
    """Stages 5-7 of the synthetic control design on an area x period panel."""
    spec = cfg.synth
    assert spec is not None and p.unit_id is not None
    time = str(p.extra.get("time") or spec.time)
    population = p.extra.get("population") or spec.population
    data, log, summary = select_panel(p.frame, spec, unit=p.unit_id, time=time,
                                      outcomes=p.outcomes, population=population,
                                      source=p.source)
    seed = cfg.evaluation.seed if spec.seed is None else spec.seed
    times = sorted(data[time].unique())
    base = _base(spec, times, seed) if spec.method != "generalized" else None
    several = len(spec.treated) > 1 or spec.method == "augmented"
    estimates: list[Any] = []
    notes: list[str] = []
    figures: dict[str, Any] = {}
    figure_data: dict[str, pd.DataFrame] = {}
    per_outcome: dict[str, Any] = {}
    for outcome in p.outcomes:
        roles = {"unit": p.unit_id, "time": time, "outcome": outcome, "treatment": TREATED}
        if spec.method == "generalized":
            est, diag, figs, fdata = _generalized(spec, data, roles, outcome, seed, notes)
        elif several:
            est, diag, figs, fdata = _several(base, data, roles, spec, outcome, seed, notes)
        elif spec.method == "classic":
            est, diag, figs, fdata = _classic_single(base, data, roles, spec, outcome, notes)
        else:
            est, diag, figs, fdata = _sdid_single(base, data, roles, spec, outcome, notes)
        estimates.append(est)
        per_outcome[outcome] = diag
        for name, fig in figs.items():
            figures[f"synth_{name}_{outcome}"] = fig
        for name, frame in fdata.items():
            figure_data[f"synth_{name}_{outcome}"] = frame.assign(
                **{c: frame[c].astype(str) for c in ("time",) if c in frame.columns})
    relative = _relative_pre_rmspe(data, spec, unit=p.unit_id, time=time,
                                   per_outcome=per_outcome)
    treated_rows = data[data[TREATED] == 1]
    is_treated_area = data[p.unit_id].isin({t.area for t in spec.treated})
    diagnostics: dict[str, Any] = {
        "method": spec.method,
        "treated": [{"area": t.area, "start": str(_start(t.start, spec.dates))}
                    for t in spec.treated],
        "donor_pool": log.to_dict(orient="records"),
        "panel": summary,
        "inference": ("parametric bootstrap (Xu 2017)" if spec.method == "generalized"
                      else "in-space placebos, post/pre RMSPE ratio (Abadie et al. 2010)"
                      if not several and spec.method == "classic"
                      else f"synthetic DiD {spec.se_method} standard error"
                      if not several else
                      "placebo distribution of the aggregate (each donor as if treated; "
                      "treated areas re-assigned to random donors)"),
        "outcomes": per_outcome,
        "warnings": sorted(set(notes)),
    }
    if relative is not None:
        # the report's design check: worst pre-period RMSPE relative to the treated area's
        # mean pre-period outcome, over outcomes and treated areas
        diagnostics["pre_period_rmspe_ratio"] = relative
        diagnostics["pre_period_rmspe_ratio_definition"] = (
            "largest pre-period RMSPE / mean pre-period outcome of the treated area, over "
            "outcomes and treated areas")
    flow = pd.DataFrame([
        {"step": "area_periods", "description": "Area-periods in the analysis (treated areas / "
         "donor areas), after windows, washout and donor rules",
         "n_treated": int(is_treated_area.sum()), "n_control": int((~is_treated_area).sum())},
        {"step": "treated_periods", "description": "Treated area-periods after the start",
         "n_treated": int(len(treated_rows)), "n_control": 0},
    ])
    table_one = pd.DataFrame([{"covariate": "n", "label": "Area-periods", "statistic": "count",
                               "treated_before": int(is_treated_area.sum()),
                               "control_before": int((~is_treated_area).sum()),
                               "treated_after": int(is_treated_area.sum()),
                               "control_after": int((~is_treated_area).sum())}])
    return AnalysisOutput(
        estimates=tuple(estimates), balance=pd.DataFrame(columns=BALANCE_COLUMNS),
        table_one=table_one,
        outcome_summary=pd.DataFrame(columns=["outcome", "sample", "arm", "n_persons", "events",
                                              "person_years", "rate_per_1000_py"]),
        diagnostics=diagnostics, figures=figures, figure_data=figure_data, flow=flow,
        matched=data)


register_design(DesignHandler(name="synthetic_control", analyse=analyse_synth,
                              build=build_area_panel, check_ready=check_synth_ready,
                              build_label="build the area x month panel"))

__all__ = ["analyse_synth", "build_area_panel", "check_synth_ready", "select_panel"]
