"""Methods paragraphs, limitations and the SPC section for the series designs
(``interrupted_time_series`` and ``spc``).

Everything is read from the released config (``result.config``) and the released
diagnostics, so the text states what the run did: the series (built from episode tables or
read from a table), the model, the autocorrelation handling and its checks, the chart rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SERIES_DESIGNS = ("interrupted_time_series", "spc")

_FAMILY = {
    "gaussian": "linear regression (ordinary least squares) of the rate per 1,000",
    "poisson": "Poisson regression of the counts",
    "quasipoisson": "quasi-Poisson regression of the counts (over-dispersion estimated)",
    "negative_binomial": "negative binomial regression of the counts",
}
_CHART = {"run": "run chart", "xmr": "XmR (individuals) chart", "p": "P chart", "u": "U chart",
          "c": "C chart", "p'": "Laney P' chart", "u'": "Laney U' chart"}


def _join(items: Sequence[Any]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _series_text(series: Mapping[str, Any] | None, data: Mapping[str, Any]) -> str:
    if not series:
        return f"The series was read from an analysis-ready table ({data.get('table', '-')}), " \
               "one row per period."
    who = ("people registered with an address in " + (_join(series.get("areas") or [])
                                                       or "any area")
           if series.get("population") == "registered" else
           "care-home residents (" + _join(series.get("setting_types") or []) + " homes)"
           + (f" whose address is in {_join(series['areas'])}" if series.get("areas") else ""))
    end = series.get("end") or data.get("data_cut")
    denom = ("person-years in the population in each period"
             if series.get("denominator") == "person_years"
             else "the number in the population on the first day of each period")
    text = (f"The {series.get('frequency', 'month')}ly series was built from the episode "
            f"tables: events of {who} counted while they were in that population, from "
            f"{series.get('start')} to {end}, with {denom} as the denominator.")
    if series.get("comparison_areas"):
        text += (" A comparison series was built the same way for "
                 f"{_join(series['comparison_areas'])}.")
    return text


def _errors_text(its: Mapping[str, Any], diagnostics: Mapping[str, Any]) -> str:
    errors = str(its.get("errors", "hac"))
    used = str(diagnostics.get("errors_used") or errors)
    order = its.get("arima_order") or [1, 0, 0]
    seasonal = its.get("seasonal_order")
    arima = f"ARIMA({order[0]},0,{order[2]})"
    if seasonal:
        arima += f"x({seasonal[0]},0,{seasonal[2]})[{seasonal[3]}]"
    texts = {
        "iid": "model-based standard errors (independent errors)",
        "hac": "Newey-West standard errors, robust to autocorrelation and heteroskedasticity "
               "(Driscoll-Kraay over the two series for a controlled design)",
        "arima": f"regression with {arima} errors fitted by exact maximum likelihood",
    }
    if errors == "auto":
        return ("ordinary least squares, refitted with " + texts["arima"]
                + " if the Ljung-Box test found autocorrelation in its residuals (the model "
                f"used: {texts.get(used, used)})")
    return texts.get(errors, errors)


def design_methods(result: Any, diagnostics: Mapping[str, Any]) -> list[str]:
    """Paragraphs of the Methods design section for ITS and SPC runs (empty otherwise)."""
    cfg = dict(result.config or {})
    data = dict(cfg.get("data") or {})
    if result.design == "interrupted_time_series":
        its = dict(cfg.get("its") or {})
        series = its.get("series")
        paras = [_series_text(series, data)]
        interruptions = _join([f"{i:g}" if isinstance(i, (int, float)) else str(i)
                               for i in its.get("interruptions") or []])
        seasonality = {"none": "no seasonal terms",
                       "fourier": f"{its.get('fourier_pairs', 2)} pairs of Fourier terms for "
                                  "seasonality",
                       "month": "calendar-month indicators"}.get(
            str(its.get("seasonality", "none")), "")
        offset = ("" if its.get("family") == "gaussian"
                  else " with the log of the denominator as an offset (so effects are rate "
                       "ratios)")
        model = (f"Segmented regression: {_FAMILY.get(str(its.get('family')), its.get('family'))}"
                 f"{offset}, with a pre-intervention level and trend, a change in level"
                 f"{' and in slope' if its.get('slope_change', True) else ''} at each "
                 f"interruption ({interruptions}), {seasonality}, and "
                 f"{_errors_text(its, diagnostics)}.")
        if int(its.get("phase_in") or 0):
            model += (f" The {its['phase_in']} period(s) after each interruption were an "
                      "implementation phase ("
                      + ("left out of the fit" if its.get("phase_in_mode") == "exclude"
                         else "a linear ramp of the level change") + ").")
        if (series or {}).get("comparison_areas") or its.get("comparison_group"):
            model += (" Controlled interrupted time series: the effects are the changes in the "
                      "intervention series over and above the changes in the comparison series "
                      "at the same time.")
        model += (f" Headline effect: the {its.get('effect', 'level')} change at the first "
                  f"interruption with {float(its.get('ci_level', 0.95)) * 100:g}% confidence "
                  "intervals; the counterfactual is the pre-intervention model projected "
                  "forward.")
        paras.append(model)
        ac = diagnostics.get("autocorrelation")
        if isinstance(ac, Mapping) and ac.get("ljung_box_p") is not None:
            paras.append(
                "Autocorrelation of the residuals was checked with the Ljung-Box test (p = "
                f"{float(ac['ljung_box_p']):.3g}) and the Durbin-Watson statistic "
                f"({float(ac.get('durbin_watson', float('nan'))):.2f}; 2 means none).")
        if its.get("spc_chart", "none") != "none":
            paras.append(
                f"A {_CHART.get(str(its['spc_chart']), its['spc_chart'])} of the first "
                "outcome, with limits re-based at each interruption, shows the same series "
                "with the Making Data Count rules.")
        return paras
    if result.design == "spc":
        spc = dict(cfg.get("spc") or {})
        paras = [_series_text(spc.get("series"), data)]
        chart = str(spc.get("chart", "xmr"))
        baseline = (f"the first {spc['baseline']} points of each part"
                    if spc.get("baseline") else "all the points of each part")
        rebase = (f", re-based at {_join([str(r) for r in spc['rebase_at']])}"
                  if spc.get("rebase_at") else "")
        if chart == "run":
            rules = (f"a shift of {spc.get('run_length') or 6} or more points on one side of "
                     f"the median, a trend of {spc.get('trend_length') or 5} or more points "
                     "rising or falling, too few or too many runs, and Anhoej's runs analysis")
            limits = f"the median of {baseline}{rebase}"
        else:
            limits = (("the mean of " if chart == "xmr" else "the pooled rate or proportion of ")
                      + f"{baseline}{rebase}, with process limits at "
                      + ("2.66 times the mean moving range" if chart == "xmr"
                         else "3 sigma (varying with the denominator"
                         + ("; Laney's adjustment for between-period variation" if "'" in chart
                            else "") + ")"))
            rules = ("the Making Data Count rules: a point outside the process limits, a run "
                     f"of {spc.get('run_length') or 7} points on one side of the centre line, a "
                     f"trend of {spc.get('trend_length') or 7} points rising or falling, and two "
                     "of three points beyond two sigma on the same side")
        direction = str(spc.get("improvement_direction", "decrease"))
        paras.append(
            f"Statistical process control: a {_CHART.get(chart, chart)} per outcome, centre "
            f"line {limits}. Special causes: {rules}. Points are labelled as common or special "
            f"cause variation, special causes as improvement or concern (improvement is a "
            f"{direction}), as in NHS England's Making Data Count"
            + (f"; assurance is read against the target {spc['target']:g}"
               if spc.get("target") is not None and chart != "run" else "") + ".")
        return paras
    return []


def design_limitations(result: Any, diagnostics: Mapping[str, Any]) -> list[str]:
    """Limitations specific to ITS and SPC runs (regression to the mean, history, ...)."""
    cfg = dict(result.config or {})
    items: list[str] = []
    if result.design == "interrupted_time_series":
        its = dict(cfg.get("its") or {})
        controlled = bool((its.get("series") or {}).get("comparison_areas")
                          or its.get("comparison_group"))
        items.append(
            "History: anything else that changed at the time of the intervention (another "
            "service change, a national policy, a coding or data-collection change, a winter "
            "surge or an epidemic) would be credited to the intervention; "
            + ("the comparison series removes changes it shares, but not those specific to the "
               "intervention area." if controlled else
               "a single series cannot separate them: a comparison series (controlled ITS) or "
               "a control outcome helps."))
        items.append(
            "The counterfactual assumes the pre-intervention level and trend would have "
            "continued; the further the post-period runs from the interruption, the more the "
            "estimate rests on that extrapolation.")
        ac = diagnostics.get("autocorrelation")
        if (isinstance(ac, Mapping) and ac.get("ljung_box_p") is not None
                and float(ac["ljung_box_p"]) < 0.05):
            fix = ("the Newey-West errors (errors: hac) allow for it" if its.get("errors") == "hac"
                   else "use errors: hac, or model the rate (family: gaussian) with errors: "
                   "arima (and a seasonal_order if the correlation is seasonal)")
            items.append(
                "The residuals are autocorrelated (Ljung-Box p < 0.05): standard errors that "
                f"ignore it are too small; {fix}.")
        series = its.get("series") or {}
        if series.get("population") == "care_home_residents":
            items.append(
                "The care-home population changes over time (people move in, move out and "
                "die); a change in its mix at the interruption (selection) can change the rate "
                "without any effect of the intervention.")
    elif result.design == "spc":
        items.append(
            "A special cause shows that the process changed, not why: SPC has no "
            "counterfactual, so another change at the same time (history), a change in "
            "recording, or a return from an unusually high or low baseline (regression to the "
            "mean) can produce the same signal.")
        items.append(
            "The rules assume independent points: autocorrelated or seasonal series give more "
            "false signals.")
        summaries = diagnostics.get("spc") or []
        if any(isinstance(s, Mapping) and s.get("trial_limits") for s in summaries):
            items.append(
                "Fewer than 12 points define the limits of the latest part: they are trial "
                "limits and will move as data accrue.")
        spc = dict(cfg.get("spc") or {})
        if spc.get("chart") in ("p", "u"):
            items.append(
                "With large denominators P and U chart limits become very narrow and flag "
                "ordinary between-period variation; a Laney P' or U' chart adjusts for it.")
        items.append(
            "Regression to the mean: if monitoring (or a change) started when the measure was "
            "unusually high, later points tend to be lower without any change in the process.")
    return items


def series_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A summary of :func:`~impacteval.report.render.plain_summary` reworded for an ITS: the
    threat is another change at the same time, not a difference between groups, so no E-value
    (which is about confounding between groups)."""
    out = dict(summary)
    out["interpretation"] = str(out.get("interpretation", "")).replace(
        "This is an observational comparison: differences between the groups that the data do "
        "not record may explain part of the estimate.",
        "This compares the series with its own projected trend: anything else that changed at "
        "the same time may explain part of the estimate (see Limitations).")
    out["evalue"] = None
    return out


def summary_lead(design: str) -> str:
    """Opening words of the summary's headline sentence, by design."""
    if design == "interrupted_time_series":
        return ("Compared with the continuation of the trend before the change, the change was "
                "followed by")
    if design == "synthetic_control":
        return ("Compared with a weighted combination of areas without the change (the "
                "synthetic control), the change was followed by")
    if design == "difference_in_differences":
        return ("Compared with the change over the same time in units that had not adopted "
                "it, the intervention was followed by")
    if design == "regression_discontinuity":
        return ("Compared with people just on the other side of the threshold, the "
                "intervention was followed by")
    if design == "instrumental_variables":
        return ("Among people whose treatment was changed by the instrument, the treatment was "
                "followed by")
    return "Compared with similar people who did not receive it, the intervention was followed by"


def spc_context(diagnostics: Mapping[str, Any], label: Any) -> list[dict[str, str]]:
    """Display rows of the SPC summary (one per chart): latest variation and assurance."""
    rows = []
    for s in diagnostics.get("spc") or []:
        if not isinstance(s, Mapping):
            continue

        def num(v: Any) -> str:
            return "-" if v is None else f"{float(v):.3g}"

        rows.append({
            "outcome": label(str(s.get("outcome", ""))),
            "chart": str(s.get("chart_name", s.get("chart", ""))),
            "points": str(s.get("points", "")),
            "parts": str(s.get("parts", "")),
            "centre": num(s.get("centre")),
            "limits": f"{num(s.get('lower'))} to {num(s.get('upper'))}",
            "latest": f"{s.get('latest_period', '')}: {s.get('latest_variation_text', '')}",
            "special": (f"{s.get('improvement_points_last_part', 0)} improvement, "
                        f"{s.get('concern_points_last_part', 0)} concern"),
            "runs": "yes" if s.get("runs_signal_last_part") else "no",
            "assurance": str(s.get("assurance_text") or "no target given"),
        })
    return rows
