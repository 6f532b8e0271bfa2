"""Special-cause rules for run charts and Shewhart charts.

Anhoej rules (run charts; Anhoej & Olesen 2014, *PLoS ONE* 9:e113825; as ``qicharts2``'s
``runs.analysis``): points exactly on the centre line are ignored; with ``n`` useful points,
a signal is a longest run (consecutive points on one side) longer than
``round(log2(n)) + 3`` or fewer crossings (changes of side) than the 5% quantile of
Binomial(``n - 1``, 0.5).

Making Data Count rules (NHS England; as ``NHSRplotthedots`` 0.2.2
``ptd_calculate_point_type``), evaluated within one chart part, in this order of precedence:

1. a point beyond a process limit;
2. a trend: ``trend_length`` (7) consecutive points each strictly higher (lower) than the one
   before (a tie breaks it); every point of the trend is flagged;
3. two out of three consecutive points between a near-limit line (2 sigma) and the process
   limit, all three on the same side of the centre line; the close-to-limit points are flagged;
4. a shift: ``run_length`` (7) consecutive points on the same side of the centre line (a point
   on the centre line breaks it); every point of the run is flagged.

Classic run-chart rules (Perla, Provost & Murray 2011, *BMJ Qual Saf* 20:46-51): a shift is
``shift_length`` (6) or more consecutive points on one side of the median, points on the
median neither making nor breaking it; a trend is ``trend_length`` (5) or more points all going
up (or down), repeated values neither making nor breaking it. Too few or too many runs: the
exact Wald-Wolfowitz runs test (Swed & Eisenhart 1943, *Ann Math Stat* 14:66-87) given the
observed numbers of points above and below the median, two-sided at 5% (2.5% per tail); this
is the exact test behind Perla et al.'s table, computed for the actual split rather than read
from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class AnhoejResult:
    """Runs analysis of one chart part (``None`` fields when no useful points)."""

    n_obs: int
    n_useful: int
    longest_run: int | None
    longest_run_max: int | None
    n_crossings: int | None
    n_crossings_min: int | None
    signal: bool


def _round_half_even(x: float) -> int:
    return int(np.round(x))  # numpy rounds half to even, as R's round()


def anhoej(y: np.ndarray, centre: np.ndarray | float) -> AnhoejResult:
    """Anhoej runs analysis of ``y`` around ``centre`` (missing values ignored)."""
    y = np.asarray(y, dtype=float)
    side = np.sign(y - centre)
    side = side[np.isfinite(side) & (side != 0)]
    n = int(side.shape[0])
    if n == 0:
        return AnhoejResult(int(y.shape[0]), 0, None, None, None, None, False)
    change = np.flatnonzero(np.diff(side) != 0)
    bounds = np.concatenate([[-1], change, [n - 1]])
    lengths = np.diff(bounds)
    longest = int(lengths.max())
    crossings = int(lengths.shape[0] - 1)
    longest_max = _round_half_even(np.log2(n)) + 3
    crossings_min = int(stats.binom.ppf(0.05, max(n - 1, 0), 0.5))
    signal = not (crossings >= crossings_min and longest <= longest_max)
    return AnhoejResult(int(y.shape[0]), n, longest, longest_max, crossings, crossings_min, signal)


def _flag_runs(mask_end: np.ndarray, length: int) -> np.ndarray:
    """Flag every point of each window of ``length`` points ending where ``mask_end``."""
    n = mask_end.shape[0]
    flagged = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(mask_end):
        flagged[max(0, i - length + 1) : i + 1] = True
    return flagged


def mdc_rules(
    y: np.ndarray,
    centre: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    near_lower: np.ndarray,
    near_upper: np.ndarray,
    *,
    run_length: int = 7,
    trend_length: int = 7,
) -> dict[str, np.ndarray]:
    """Making Data Count special-cause flags for one chart part.

    Returns
    -------
    dict
        Boolean arrays ``outside, trend, two_in_three, shift``, the chosen
        ``special_cause`` type per point (``"outside"``, ``"trend"``, ``"two_in_three"``,
        ``"shift"`` or ``""``) and its ``direction`` (+1 up/above, -1 down/below, 0 none).
    """
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    outside = (y > upper) | (y < lower)
    rel = np.sign(y - centre)
    close = ~outside & ((y < near_lower) | (y > near_upper))

    # trend: trend_length points with trend_length - 1 same-sign differences
    d = np.sign(np.diff(y))
    k = trend_length - 1
    trend_end = np.zeros(n, dtype=bool)
    trend_dir_end = np.zeros(n)
    for i in range(k, n):
        w = d[i - k : i]
        if np.all(w == 1) or np.all(w == -1):
            trend_end[i] = True
            trend_dir_end[i] = w[0]
    trend = _flag_runs(trend_end, trend_length)

    # two in three (windows of three, all on one side, >= 2 close to a limit)
    two3 = np.zeros(n, dtype=bool)
    for s in range(0, max(n - 2, 0)):
        if close[s : s + 3].sum() >= 2 and abs(rel[s : s + 3].sum()) == 3:
            two3[s : s + 3] |= close[s : s + 3]

    # shift: run_length points with the same non-zero side
    shift_end = np.zeros(n, dtype=bool)
    for i in range(run_length - 1, n):
        w = rel[i - run_length + 1 : i + 1]
        shift_end[i] = bool(w[-1] != 0 and np.all(w == w[-1]))
    shift = _flag_runs(shift_end, run_length)

    # direction of a trend point: the step to the next point when that point is also part
    # of the trend, else the step from the previous point (NHSRplotthedots' convention)
    sdy = np.zeros(n)
    if n > 1:
        nxt = np.concatenate([d, d[-1:]])
        prv = np.concatenate([[0.0], d])
        both = np.concatenate([trend[1:], [False]]) & trend
        sdy = np.where(both, nxt, prv)
    kind = np.full(n, "", dtype=object)
    direction = np.zeros(n)
    for i in range(n):
        if outside[i]:
            kind[i], direction[i] = "outside", rel[i]
        elif trend[i]:
            kind[i], direction[i] = "trend", 1.0 if sdy[i] == 1 else -1.0
        elif two3[i]:
            kind[i], direction[i] = "two_in_three", 1.0 if rel[i] > 0 else -1.0
        elif shift[i]:
            kind[i], direction[i] = "shift", 1.0 if rel[i] > 0 else -1.0
    return {
        "outside": outside,
        "trend": trend,
        "two_in_three": two3,
        "shift": shift,
        "close_to_limits": close,
        "special_cause": kind,
        "direction": direction,
    }


def run_chart_rules(
    y: np.ndarray, median: float, *, shift_length: int = 6, trend_length: int = 5
) -> dict[str, np.ndarray]:
    """Perla et al. (2011) shift and trend flags (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    side = np.sign(y - median)
    shift = np.zeros(n, dtype=bool)
    idx = [i for i in range(n) if side[i] != 0 and np.isfinite(side[i])]
    start = 0
    while start < len(idx):
        end = start
        while end + 1 < len(idx) and side[idx[end + 1]] == side[idx[start]]:
            end += 1
        if end - start + 1 >= shift_length:
            shift[idx[start] : idx[end] + 1] = True
        start = end + 1
    trend = np.zeros(n, dtype=bool)
    # drop repeated values, then find monotone runs of distinct values
    keep = [i for i in range(n) if i == 0 or y[i] != y[i - 1]]
    vals = y[keep]
    steps = np.sign(np.diff(vals))
    s = 0
    while s < steps.shape[0]:
        e = s
        while e + 1 < steps.shape[0] and steps[e + 1] == steps[s]:
            e += 1
        if e - s + 2 >= trend_length:
            trend[keep[s] : keep[e + 1] + 1] = True
        s = e + 1
    return {"shift": shift, "trend": trend}


@dataclass(frozen=True)
class RunsTest:
    """Exact runs test of one part (``None`` p-values when a side has no points)."""

    n_runs: int
    n_above: int
    n_below: int
    p_too_few: float | None
    p_too_many: float | None
    too_few: bool
    too_many: bool


def _runs_pmf(r: int, n1: int, n2: int) -> float:
    total = comb(n1 + n2, n1)
    if r % 2 == 0:
        k = r // 2
        return 2 * comb(n1 - 1, k - 1) * comb(n2 - 1, k - 1) / total
    k = (r - 1) // 2
    return (comb(n1 - 1, k) * comb(n2 - 1, k - 1) + comb(n1 - 1, k - 1) * comb(n2 - 1, k)) / total


def runs_test(y: np.ndarray, median: float, *, alpha: float = 0.05) -> RunsTest:
    """Exact two-sided runs test around ``median`` (points on it are ignored)."""
    side = np.sign(np.asarray(y, dtype=float) - median)
    side = side[np.isfinite(side) & (side != 0)]
    n1, n2 = int(np.sum(side > 0)), int(np.sum(side < 0))
    n_runs = int(1 + np.sum(side[1:] != side[:-1])) if side.size else 0
    if n1 == 0 or n2 == 0:
        return RunsTest(n_runs, n1, n2, None, None, False, False)
    pmf = {r: _runs_pmf(r, n1, n2) for r in range(2, n1 + n2 + 1)}
    p_few = float(sum(v for r, v in pmf.items() if r <= n_runs))
    p_many = float(sum(v for r, v in pmf.items() if r >= n_runs))
    return RunsTest(n_runs, n1, n2, p_few, p_many, p_few <= alpha / 2, p_many <= alpha / 2)
