"""Run charts and Shewhart control charts (XmR, P, U, C, Laney P' and U').

Every chart is split into *parts* at the recorded intervention dates (``rebase_at``: the first
x value of each new part); centre line and limits are computed separately in each part from
its first ``baseline`` points (all points of the part when ``None``) and then held fixed for
the rest of the part.

XmR (individuals) chart, as NHS England's Making Data Count / ``NHSRplotthedots`` 0.2.2
    centre = mean of the baseline points; moving ranges ``|y_i - y_{i-1}|`` of the baseline
    points; with ``screen_outliers`` (default, as ``NHSRplotthedots``; the Making Data Count
    Excel tool does not screen) moving ranges ``>= 3.267 x`` their mean are dropped and the mean
    recomputed; process limits = centre +/- 2.66 x mean moving range; near-limit lines =
    centre +/- (2/3) x 2.66 x mean moving range.

Attribute charts, as ``qicharts2`` 0.8 (Anhoej; Montgomery, *Introduction to Statistical
Quality Control*, 7.17 and 7.19)
    P: centre = sum(numerators) / sum(denominators) over the baseline, sigma_i =
    sqrt(c (1 - c) / n_i), limits clipped to [0, 1]; U: centre = sum / sum, sigma_i =
    sqrt(c / n_i); C: centre = mean count, sigma = sqrt(c); lower limits clipped at 0.
    Limits at 3 sigma, near-limit lines at 2 sigma. Laney P' and U' (Laney 2002, *Qual Eng*
    14:531-537): sigma_i is multiplied by sigma_z = mean moving range of the baseline
    z-scores ``(y_i - c) / sigma_i`` / 1.128 (moving ranges >= 3.267 x their mean screened
    out first, as ``qicharts2``).

Special causes: the Making Data Count rules (:func:`impacteval.spc.rules.mdc_rules`) on every
Shewhart chart (with the per-point limits of attribute charts), Anhoej runs analysis on every
chart (per part, around the centre line, as ``qicharts2``), and on run charts the shift and
trend rules of Perla et al. Variation labels use the improvement direction:
``special_cause_improvement`` / ``special_cause_concern`` (``special_cause_neutral_high`` /
``_low`` when the direction is neutral) or ``common_cause``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, SchemaError
from impacteval.spc.rules import anhoej, mdc_rules, run_chart_rules, runs_test

Direction = Literal["increase", "decrease", "neutral"]
AttributeChart = Literal["p", "u", "c"]

_WHERE = "spc"
_MR_SCREEN = 3.267
_XMR_LIMIT = 2.66
_D2 = 1.128


@dataclass(frozen=True)
class SPCChart:
    """A computed chart.

    Attributes
    ----------
    chart
        ``"run"``, ``"xmr"``, ``"p"``, ``"pp"`` (Laney P'), ``"u"``, ``"up"`` (Laney U'), ``"c"``.
    data
        One row per point (in x order): ``x, y`` (the plotted statistic), ``numerator,
        denominator`` (attribute charts), ``part`` (0, 1, ...), ``baseline`` (used for the
        limits), ``centre, lower, upper, near_lower, near_upper`` (NaN for run charts),
        rule flags (``outside, trend, two_in_three, shift`` for Shewhart charts; ``shift, trend``
        for run charts), ``runs_signal`` (Anhoej signal of the point's part),
        ``special_cause`` (rule name or ""), ``variation`` (label).
    parts
        One row per part: ``part, first_x, n_obs, n_useful, centre, longest_run,
        longest_run_max, n_crossings, n_crossings_min, runs_signal, short_baseline``
        (fewer than 12 baseline points: trial limits); run charts add ``n_runs,
        runs_p_too_few, runs_p_too_many, too_few_runs, too_many_runs`` (exact runs test).
    improvement_direction
        ``"increase"``, ``"decrease"`` or ``"neutral"``.
    """

    chart: str
    data: pd.DataFrame
    parts: pd.DataFrame
    improvement_direction: str

    def assurance(self, target: float) -> str:
        """Making Data Count assurance of the last part against ``target``.

        ``"consistent_pass"``, ``"consistent_fail"`` or ``"inconsistent"`` (hit and miss) from
        where the target lies relative to the last part's process limits; ``"no_direction"``
        when the improvement direction is neutral. Not defined for run charts.
        """
        if self.chart == "run":
            raise ConfigError("assurance needs a control chart, not a run chart", where=_WHERE)
        last = self.data[self.data["part"] == self.data["part"].max()]
        lo, hi = float(last["lower"].iloc[-1]), float(last["upper"].iloc[-1])
        if self.improvement_direction == "neutral":
            return "no_direction"
        up = self.improvement_direction == "increase"
        if target > hi:
            return "consistent_fail" if up else "consistent_pass"
        if target < lo:
            return "consistent_pass" if up else "consistent_fail"
        return "inconsistent"


# -- validation helpers -----------------------------------------------------------------


def _check_direction(direction: str) -> None:
    if direction not in ("increase", "decrease", "neutral"):
        raise ConfigError(
            "improvement_direction must be increase, decrease or neutral",
            where=f"{_WHERE}.improvement_direction",
        )


def _prepare(
    data: pd.DataFrame, x: str, columns: Sequence[str], rebase_at: Sequence[object]
) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(data, pd.DataFrame):
        raise SchemaError("data must be a pandas DataFrame", where=_WHERE)
    missing = [c for c in (x, *columns) if c not in data.columns]
    if missing:
        raise SchemaError(f"column(s) not in the data: {', '.join(missing)}", where=_WHERE)
    frame = data[[x, *columns]].copy()
    if frame[x].isna().any() or frame[x].duplicated().any():
        raise SchemaError(
            f"the x column {x!r} must have no missing or repeated values",
            where=_WHERE,
            hint="aggregate to one row per period",
        )
    for c in columns:
        s = frame[c]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            raise SchemaError(f"column {c!r} must be numeric", where=_WHERE)
        arr = s.to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(arr)):
            raise SchemaError(
                f"column {c!r} has {int((~np.isfinite(arr)).sum())} missing value(s)",
                where=_WHERE,
            )
        frame[c] = arr
    frame = frame.sort_values(x, kind="stable").reset_index(drop=True)
    xs = frame[x]
    part = np.zeros(len(frame), dtype=int)
    for r in rebase_at:
        try:
            hit = (xs >= pd.Timestamp(r)) if pd.api.types.is_datetime64_any_dtype(xs) else (xs >= r)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                "rebase_at values must be of the x column's type", where=f"{_WHERE}.rebase_at"
            ) from exc
        hit = np.asarray(hit, dtype=bool)
        if not hit.any() or hit.all():
            raise ConfigError(
                "each rebase_at value must fall inside the series (not before its first point)",
                where=f"{_WHERE}.rebase_at",
            )
        part += hit.astype(int)
    return frame, part


def _baseline_mask(part: np.ndarray, baseline: int | None) -> np.ndarray:
    if baseline is not None and baseline < 2:
        raise ConfigError("baseline must be at least 2 points", where=f"{_WHERE}.baseline")
    base = np.zeros(part.shape[0], dtype=bool)
    for p in np.unique(part):
        idx = np.flatnonzero(part == p)
        base[idx[: (baseline if baseline is not None else idx.shape[0])]] = True
    return base


def _variation(kind: np.ndarray, direction: np.ndarray, improvement: str) -> np.ndarray:
    out = np.full(kind.shape[0], "common_cause", dtype=object)
    special = kind != ""
    if improvement == "neutral":
        out[special & (direction > 0)] = "special_cause_neutral_high"
        out[special & (direction < 0)] = "special_cause_neutral_low"
    else:
        sign = 1.0 if improvement == "increase" else -1.0
        out[special & (direction * sign > 0)] = "special_cause_improvement"
        out[special & (direction * sign < 0)] = "special_cause_concern"
    return out


def _parts_table(frame: pd.DataFrame, x: str, part: np.ndarray, base: np.ndarray,
                 centre: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    rows = []
    for p in np.unique(part):
        m = part == p
        a = anhoej(y[m], centre[m])
        rows.append({
            "part": int(p),
            "first_x": frame.loc[m, x].iloc[0],
            "n_obs": int(m.sum()),
            "n_baseline": int((m & base).sum()),
            "n_useful": a.n_useful,
            "centre": float(centre[m][0]),
            "longest_run": a.longest_run,
            "longest_run_max": a.longest_run_max,
            "n_crossings": a.n_crossings,
            "n_crossings_min": a.n_crossings_min,
            "runs_signal": a.signal,
            "short_baseline": int((m & base).sum()) < 12,
        })
    return pd.DataFrame(rows)


def _check_lengths(run_length: int, trend_length: int) -> None:
    if run_length < 2 or trend_length < 3:
        raise ConfigError("run_length must be >= 2 and trend_length >= 3", where=_WHERE)


# -- run chart --------------------------------------------------------------------------


def run_chart(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    rebase_at: Sequence[object] = (),
    baseline: int | None = None,
    improvement_direction: Direction = "neutral",
    shift_length: int = 6,
    trend_length: int = 5,
) -> SPCChart:
    """Run chart: median of the baseline, Perla shift/trend rules, the exact runs test (too
    few / too many runs, in ``parts``) and Anhoej runs analysis.

    Parameters
    ----------
    data
        One row per period. Not modified.
    x, y
        Period and value columns.
    rebase_at
        First x value of each new part (e.g. intervention dates).
    baseline
        Points at the start of each part that define its median (``None``: all).
    improvement_direction
        For the variation labels of shift/trend points.
    shift_length, trend_length
        Rule lengths (6 and 5 by Perla et al. 2011).
    """
    _check_direction(improvement_direction)
    _check_lengths(shift_length, trend_length)
    frame, part = _prepare(data, x, [y], rebase_at)
    base = _baseline_mask(part, baseline)
    yv = frame[y].to_numpy(dtype=float)
    centre = np.empty_like(yv)
    shift = np.zeros(yv.shape[0], dtype=bool)
    trend = np.zeros(yv.shape[0], dtype=bool)
    direction = np.zeros(yv.shape[0])
    for p in np.unique(part):
        m = part == p
        med = float(np.median(yv[m & base]))
        centre[m] = med
        flags = run_chart_rules(yv[m], med, shift_length=shift_length, trend_length=trend_length)
        shift[m], trend[m] = flags["shift"], flags["trend"]
        d = np.sign(np.diff(yv[m]))
        step = np.concatenate([[d[0] if d.size else 0.0], d])
        direction[m] = np.where(flags["shift"], np.sign(yv[m] - med), np.where(flags["trend"], step, 0))
    kind = np.where(shift, "shift", np.where(trend, "trend", "")).astype(object)
    parts = _parts_table(frame, x, part, base, centre, yv)
    tests = [runs_test(yv[part == p], float(centre[part == p][0])) for p in parts["part"]]
    parts["n_runs"] = [t.n_runs for t in tests]
    parts["runs_p_too_few"] = [t.p_too_few for t in tests]
    parts["runs_p_too_many"] = [t.p_too_many for t in tests]
    parts["too_few_runs"] = [t.too_few for t in tests]
    parts["too_many_runs"] = [t.too_many for t in tests]
    out = pd.DataFrame({
        "x": frame[x].to_numpy(), "y": yv, "part": part, "baseline": base, "centre": centre,
        "lower": np.nan, "upper": np.nan, "near_lower": np.nan, "near_upper": np.nan,
        "shift": shift, "trend": trend,
        "runs_signal": parts.set_index("part").loc[part, "runs_signal"].to_numpy(),
        "special_cause": kind,
        "variation": _variation(kind, direction, improvement_direction),
    })
    return SPCChart("run", out, parts, improvement_direction)


# -- Shewhart charts --------------------------------------------------------------------


def _finish(
    chart: str, frame: pd.DataFrame, x: str, yv: np.ndarray, part: np.ndarray, base: np.ndarray,
    centre: np.ndarray, sigma_like: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    improvement_direction: str, run_length: int, trend_length: int,
    extra: dict[str, np.ndarray],
) -> SPCChart:
    lower, upper, near_lower, near_upper = sigma_like
    n = yv.shape[0]
    flags = {k: np.zeros(n, dtype=bool) for k in ("outside", "trend", "two_in_three", "shift",
                                                  "close_to_limits")}
    kind = np.full(n, "", dtype=object)
    direction = np.zeros(n)
    for p in np.unique(part):
        m = part == p
        r = mdc_rules(yv[m], centre[m], lower[m], upper[m], near_lower[m], near_upper[m],
                      run_length=run_length, trend_length=trend_length)
        for k in flags:
            flags[k][m] = r[k]
        kind[m], direction[m] = r["special_cause"], r["direction"]
    parts = _parts_table(frame, x, part, base, centre, yv)
    out = pd.DataFrame({
        "x": frame[x].to_numpy(), "y": yv, **extra, "part": part, "baseline": base,
        "centre": centre, "lower": lower, "upper": upper, "near_lower": near_lower,
        "near_upper": near_upper, **flags,
        "runs_signal": parts.set_index("part").loc[part, "runs_signal"].to_numpy(),
        "special_cause": kind,
        "variation": _variation(kind, direction, improvement_direction),
    })
    return SPCChart(chart, out, parts, improvement_direction)


def xmr_chart(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    rebase_at: Sequence[object] = (),
    baseline: int | None = None,
    screen_outliers: bool = True,
    improvement_direction: Direction = "increase",
    run_length: int = 7,
    trend_length: int = 7,
) -> SPCChart:
    """XmR chart with the Making Data Count rules (see the module docstring).

    Parameters
    ----------
    data
        One row per period. Not modified.
    x, y
        Period and value columns.
    rebase_at
        First x value of each new part (recorded intervention dates).
    baseline
        Fix the limits of each part on its first ``baseline`` points
        (``NHSRplotthedots``' ``fix_after_n_points``).
    screen_outliers
        Drop moving ranges >= 3.267 x their mean before computing the limits.
    improvement_direction
        ``"increase"``, ``"decrease"`` or ``"neutral"``.
    run_length, trend_length
        Shift and trend lengths (7 by Making Data Count).
    """
    _check_direction(improvement_direction)
    _check_lengths(run_length, trend_length)
    frame, part = _prepare(data, x, [y], rebase_at)
    base = _baseline_mask(part, baseline)
    yv = frame[y].to_numpy(dtype=float)
    n = yv.shape[0]
    centre, amr_all = np.empty(n), np.empty(n)
    for p in np.unique(part):
        m = part == p
        yb = yv[m & base]
        mean = float(yb.mean())
        mr = np.abs(np.diff(yb))
        if mr.size == 0:
            raise ConfigError("each part needs at least 2 baseline points", where=_WHERE)
        amr = float(mr.mean())
        if screen_outliers:
            kept = mr[mr < _MR_SCREEN * amr]
            amr = float(kept.mean()) if kept.size else amr
        centre[m], amr_all[m] = mean, amr
    upper = centre + _XMR_LIMIT * amr_all
    lower = centre - _XMR_LIMIT * amr_all
    near_upper = centre + (2 * _XMR_LIMIT / 3) * amr_all
    near_lower = centre - (2 * _XMR_LIMIT / 3) * amr_all
    return _finish("xmr", frame, x, yv, part, base, centre,
                   (lower, upper, near_lower, near_upper), improvement_direction,
                   run_length, trend_length, {})


def attribute_chart(
    data: pd.DataFrame,
    *,
    chart: AttributeChart,
    x: str,
    numerator: str,
    denominator: str | None = None,
    laney: bool = False,
    screen_outliers: bool = True,
    multiply: float = 1.0,
    rebase_at: Sequence[object] = (),
    baseline: int | None = None,
    improvement_direction: Direction = "decrease",
    run_length: int = 7,
    trend_length: int = 7,
) -> SPCChart:
    """P, U or C chart (Laney P' / U' with ``laney=True``) with varying denominators.

    Parameters
    ----------
    chart
        ``"p"`` (proportion numerator/denominator), ``"u"`` (rate per unit of denominator)
        or ``"c"`` (count; no denominator).
    numerator, denominator
        Count and denominator columns (denominators > 0; P numerators <= denominators).
    laney
        Laney's adjustment for over-dispersion between subgroups (P and U only).
    screen_outliers
        Laney only: drop moving ranges of the z-scores >= 3.267 x their mean before
        estimating sigma_z (Nelson 1982; ``qicharts2``'s default ``qic.screenedmr = TRUE``).
    multiply
        Scale of the plotted statistic (e.g. 100 for percent, 10000 for per 10,000).
    rebase_at, baseline, improvement_direction, run_length, trend_length
        As :func:`xmr_chart`.
    """
    _check_direction(improvement_direction)
    _check_lengths(run_length, trend_length)
    if chart not in ("p", "u", "c"):
        raise ConfigError("chart must be p, u or c", where=f"{_WHERE}.chart")
    if chart == "c" and (denominator is not None or laney):
        raise ConfigError("a C chart has no denominator and no Laney adjustment",
                          where=f"{_WHERE}.chart")
    if chart != "c" and denominator is None:
        raise ConfigError(f"a {chart.upper()} chart needs a denominator column",
                          where=f"{_WHERE}.denominator")
    if not multiply > 0:
        raise ConfigError("multiply must be positive", where=f"{_WHERE}.multiply")
    cols = [numerator] + ([denominator] if denominator else [])
    frame, part = _prepare(data, x, cols, rebase_at)
    base = _baseline_mask(part, baseline)
    num = frame[numerator].to_numpy(dtype=float)
    den = frame[denominator].to_numpy(dtype=float) if denominator else np.ones(len(frame))
    if np.any(num < 0) or np.any(den <= 0):
        raise SchemaError("numerators must be >= 0 and denominators > 0", where=_WHERE)
    if chart == "p" and np.any(num > den):
        raise SchemaError("a P chart needs numerators <= denominators", where=_WHERE)
    y = num / den
    n = y.shape[0]
    centre, sigma = np.empty(n), np.empty(n)
    for p in np.unique(part):
        m = part == p
        b = m & base
        if chart == "c":
            c = float(num[b].mean())
            s = np.full(int(m.sum()), np.sqrt(c))
        else:
            c = float(num[b].sum() / den[b].sum())
            s = np.sqrt(c * (1 - c) / den[m]) if chart == "p" else np.sqrt(c / den[m])
        if laney:
            z = (y[b] - c) / s[base[m]]
            if z.size < 2:
                raise ConfigError("Laney charts need at least 2 baseline points", where=_WHERE)
            mr = np.abs(np.diff(z))
            amr = float(mr.mean())
            if screen_outliers:
                kept = mr[mr < _MR_SCREEN * amr]
                amr = float(kept.mean()) if kept.size else amr
            s = s * amr / _D2
        centre[m], sigma[m] = c, s
    upper, lower = centre + 3 * sigma, centre - 3 * sigma
    near_upper, near_lower = centre + 2 * sigma, centre - 2 * sigma
    lower, near_lower = np.maximum(lower, 0), np.maximum(near_lower, 0)
    if chart == "p":
        upper, near_upper = np.minimum(upper, 1), np.minimum(near_upper, 1)
    name = chart + ("p" if laney else "")
    extra = {"numerator": num} | ({"denominator": den} if denominator else {})
    k = multiply
    return _finish(name, frame, x, y * k, part, base, centre * k,
                   (lower * k, upper * k, near_lower * k, near_upper * k),
                   improvement_direction, run_length, trend_length, extra)
