"""Greedy nearest-neighbour matching on a one-dimensional distance (e.g. the logit propensity).

The algorithm is MatchIt 4.x's ``nn_matchC_vec`` (``method = "nearest"`` with a propensity
distance), done with sorted search instead of a treated x control matrix:

1. All units are sorted by (distance, data order). Each treated unit's nearest available
   control *below* it and *above* it in that order are found through two "next available"
   pointer arrays with path compression (a control is removed by pointing past it), so each
   look-up costs amortised O(alpha(n)) and the whole match O((n_t + n_c) log n_c) for the sort.
2. Treated units are visited in ``order``: ``"largest"`` distance first (MatchIt's default
   for ATT), ``"smallest"``, ``"data"`` order, or ``"random"`` (a permutation drawn from
   ``rng``). Ties in the distance keep data order (R's ``order()`` is stable).
3. The closer of the two candidates is taken; **tie rule**: if both are equally distant
   the one below (smaller distance, or equal distance and earlier in the data) wins. Hence
   among controls with the same distance value as each other, the one *latest* in data
   order is reached first from above and the *earliest* from below, exactly as MatchIt.
4. A candidate further than the caliper is rejected (``|d_t - d_c| > caliper``; a
   difference equal to the caliper is accepted).
5. With ``ratio = k`` and no replacement, matching goes in k rounds: every treated unit
   gets its first control, then its second, ... (MatchIt's loop order). With replacement
   the k nearest controls of each treated unit are taken independently (nothing is removed).

The caliper with ``caliper_scale = "sd"`` is in standard deviations of the distance over
*all* units, treated and control together (``sd(distance)`` with the n - 1 denominator:
MatchIt's ``std.caliper = TRUE``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment
from impacteval.matching.result import MatchResult

_WHERE = "matching"

Order = Literal["largest", "smallest", "random", "data"]


class _Available:
    """Controls in sorted order (slots 0 .. m-1), with O(alpha) nearest-available look-ups."""

    def __init__(self, m: int) -> None:
        # up[j]: candidate for the smallest available slot >= j (m = none);
        # down[j + 1]: candidate for the largest available slot <= j (0 = none, shifted by 1).
        # Python lists: the look-ups below are scalar, and list items are read and written
        # several times faster than numpy array items
        self.m = m
        self.up = list(range(m + 1))
        self.down = list(range(m + 1))

    def above(self, j: int) -> int:
        """Smallest available slot >= j, or m if none."""
        up = self.up
        root = j
        while up[root] != root:
            root = up[root]
        while up[j] != root:  # path compression
            up[j], j = root, up[j]
        return root

    def below(self, j: int) -> int:
        """Largest available slot <= j, or -1 if none."""
        down = self.down
        k = j + 1
        root = k
        while down[root] != root:
            root = down[root]
        while down[k] != root:
            down[k], k = root, down[k]
        return root - 1

    def remove(self, j: int) -> None:
        self.up[j] = j + 1
        self.down[j + 1] = j


def nearest_neighbour_match(
    distance: np.ndarray,
    treated: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    caliper_scale: Literal["sd", "raw"] = "sd",
    order: Order = "largest",
    rng: np.random.Generator | None = None,
    exact: np.ndarray | None = None,
    distance_name: str = "distance",
) -> MatchResult:
    """Match each treated unit to its ``ratio`` nearest controls on a 1-D distance.

    Parameters
    ----------
    distance
        One value per unit (propensity or its logit), finite.
    treated
        Treatment indicator (bool or 0/1), one per unit.
    ratio
        Controls per treated unit (k in k:1 matching).
    replace
        Whether a control may be matched to several treated units.
    caliper
        Largest allowed distance between a treated unit and its control; ``None`` for none.
    caliper_scale
        ``"sd"``: ``caliper`` is in standard deviations of ``distance`` over all units;
        ``"raw"``: in units of ``distance``.
    order
        Order in which treated units choose: ``"largest"`` distance first (default, as
        MatchIt), ``"smallest"``, ``"random"`` (needs ``rng``) or ``"data"``. Ignored with
        replacement (each treated unit's choice is then independent of the others).
    rng
        Random generator for ``order = "random"``.
    exact
        Optional stratum label per unit (e.g. sex, or a combination of categories): units
        are matched only within their stratum, stratum by stratum in sorted label order
        (as MatchIt's ``exact =``). The caliper width is still computed over all units;
        with ``order = "random"`` each stratum draws its own permutation from ``rng``.
    distance_name
        Name of the distance, recorded in the result.

    Returns
    -------
    MatchResult

    Raises
    ------
    DesignError
        No treated or no control units, a non-finite distance, missing stratum labels, or
        nothing could be matched (no control within the caliper of any treated unit).
    ConfigError
        Invalid options (ratio < 1, negative caliper, unknown order, random order without rng).

    Examples
    --------
    >>> import numpy as np
    >>> m = nearest_neighbour_match(np.array([0.9, 0.1, 0.8, 0.3]), np.array([1, 0, 0, 1]))
    >>> m.pairs[["treated_index", "control_index"]].to_numpy().tolist()
    [[0, 2], [3, 1]]
    """
    d = np.asarray(distance, dtype=float)
    if d.ndim != 1:
        raise DesignError("the distance must be one value per unit", where=_WHERE)
    t = as_treatment(treated, d.shape[0], where=_WHERE)
    _check_options(ratio, caliper, caliper_scale, order, rng)
    if not np.all(np.isfinite(d)):
        raise DesignError(
            f"the distance is missing or infinite for {int((~np.isfinite(d)).sum())} unit(s)",
            where=_WHERE,
            hint="check the propensity model (covariates with missing values?)",
        )
    n = d.shape[0]
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        raise DesignError(
            f"matching needs treated and control units (treated: {n1}, control: {n - n1})",
            where=_WHERE,
            hint="check the cohort filters: one arm is empty",
        )

    width = _caliper_width(d, caliper, caliper_scale)
    strata: Iterator[np.ndarray]
    if exact is None:
        strata = iter([np.arange(n)])
    else:
        labels = np.asarray(exact)
        if labels.shape != (n,):
            raise DesignError("exact must give one stratum label per unit", where="matching.exact")
        if pd.isna(labels).any():
            raise DesignError(
                f"exact has {int(pd.isna(labels).sum())} missing stratum label(s)",
                where="matching.exact",
                hint="give every unit a stratum (e.g. an 'unknown' category)",
            )
        strata = _strata(labels)
    found = [_match_within(units, d, t, ratio, replace, width, order, rng) for units in strata]
    ti = np.concatenate([f[0] for f in found]).astype(np.int64)
    ci = np.concatenate([f[1] for f in found]).astype(np.int64)
    if ti.size == 0:
        where_not = "" if exact is None else " in any exact-matching stratum"
        raise DesignError(
            f"no treated unit has a control within the caliper{where_not} "
            f"({_describe(caliper, caliper_scale)})",
            where=_WHERE,
            hint="widen the caliper (matching.caliper) or check the propensity overlap plot: "
            "treated and control units may not overlap",
        )
    # one matched set per treated unit, numbered 1.. in the data order of the treated units;
    # within a set, controls in the order they were matched (nearest first)
    keep_order = np.argsort(ti, kind="stable")
    ti, ci = ti[keep_order], ci[keep_order]
    treated_idx = np.flatnonzero(t)
    matched_treated = np.unique(ti)
    pairs = pd.DataFrame(
        {
            "subclass": (np.searchsorted(matched_treated, ti) + 1).astype(np.int64),
            "treated_index": ti,
            "control_index": ci,
        }
    )
    has_match = np.isin(treated_idx, matched_treated)
    weights = _att_weights(n, treated_idx, pairs)
    discarded = np.zeros(n, dtype=bool)
    discarded[treated_idx[~has_match]] = True
    return MatchResult(
        pairs=pairs,
        weights=weights,
        treated=t,
        matched=weights > 0,
        discarded=discarded,
        distance=distance_name,
        caliper=caliper,
        caliper_scale=caliper_scale,
        caliper_width=width,
        method="nearest",
        ratio=ratio,
        replace=replace,
        order="data" if replace else order,
    )


def _strata(labels: np.ndarray) -> Iterator[np.ndarray]:
    """Positions of each stratum's units in data order, one stratum at a time, in sorted label
    order. One stable sort of the codes (O(n log n)) instead of one pass over all units per
    stratum, and only one stratum's arrays are built at a time, so thousands of strata over
    millions of units cost about as much as one."""
    codes, uniques = pd.factorize(labels, sort=True)
    by_stratum = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_stratum], np.arange(len(uniques) + 1))
    for k in range(len(uniques)):
        yield by_stratum[bounds[k]:bounds[k + 1]]


def _match_within(
    units: np.ndarray,
    d_all: np.ndarray,
    t_all: np.ndarray,
    ratio: int,
    replace: bool,
    width: float,
    order: str,
    rng: np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Match within one stratum; returns the pairs' treated and control global positions."""
    d = d_all[units]
    t = t_all[units]
    n = d.shape[0]
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    sorted_units = np.argsort(d, kind="stable")
    is_control_sorted = ~t[sorted_units]
    controls = sorted_units[is_control_sorted]  # control positions in (distance, data) order
    cd = d[controls]
    # slot of the first control at or after each unit's place in the sorted order
    first_above = np.empty(n, dtype=np.int64)
    first_above[sorted_units] = np.cumsum(is_control_sorted) - is_control_sorted
    treated_pos = np.flatnonzero(t)
    visit = _visit_order(d[treated_pos], order, rng, replace)

    m = controls.shape[0]
    matches: list[list[int]] = [[] for _ in range(n1)]
    # the loops below are scalar: plain Python floats and ints are several times faster to
    # index and compare than numpy scalars (same IEEE values, so the same matches)
    dt = d[treated_pos].tolist()
    above = first_above[treated_pos].tolist()
    cdl = cd.tolist()
    if replace:
        for i in visit.tolist():
            matches[i] = _k_nearest(dt[i], above[i], cdl, ratio, width)
    else:
        avail = _Available(m)
        left = m
        active = [True] * n1
        order_list = visit.tolist()
        for _ in range(ratio):
            for i in order_list:
                if left == 0:
                    break
                if not active[i]:
                    continue
                pos = above[i]
                lo = avail.below(pos - 1) if pos > 0 else -1
                hi = avail.above(pos) if pos < m else m
                slot = _closer(dt[i], lo, hi, cdl, m, width)
                if slot < 0:
                    active[i] = False
                    continue
                matches[i].append(slot)
                avail.remove(slot)
                left -= 1
    counts = np.fromiter((len(x) for x in matches), dtype=np.int64, count=n1)
    slots = np.fromiter(itertools.chain.from_iterable(matches), dtype=np.int64,
                        count=int(counts.sum()))
    return units[np.repeat(treated_pos, counts)], units[controls[slots]]


def _check_options(
    ratio: int, caliper: float | None, caliper_scale: str, order: str, rng: object
) -> None:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ConfigError(
            f"ratio must be a whole number >= 1, got {ratio!r}", where="matching.ratio"
        )
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ConfigError(
            f"caliper must be a positive number or null, got {caliper!r}", where="matching.caliper"
        )
    if caliper_scale not in ("sd", "raw"):
        raise ConfigError(
            f"caliper_scale must be 'sd' or 'raw', got {caliper_scale!r}",
            where="matching.caliper_scale",
        )
    if order not in ("largest", "smallest", "random", "data"):
        raise ConfigError(
            f"order must be one of largest, smallest, random, data; got {order!r}",
            where="matching.order",
        )
    if order == "random" and not isinstance(rng, np.random.Generator):
        raise ConfigError(
            "order 'random' needs a numpy Generator (rng)",
            where="matching.order",
            hint="pass rng=numpy.random.default_rng(seed)",
        )


def _caliper_width(d: np.ndarray, caliper: float | None, scale: str) -> float:
    if caliper is None:
        return float("inf")
    if scale == "raw":
        return float(caliper)
    sd = float(np.std(d, ddof=1))
    if not sd > 0:
        raise DesignError(
            "the distance is the same for every unit, so a caliper in SDs is undefined",
            where="matching.caliper",
            hint="check the propensity model (does it include any covariate?)",
        )
    return float(caliper) * sd


def _describe(caliper: float | None, scale: str) -> str:
    if caliper is None:
        return "no caliper"
    return (
        f"{caliper:g} SD of the distance" if scale == "sd" else f"{caliper:g} on the distance scale"
    )


def _visit_order(
    dt: np.ndarray, order: str, rng: np.random.Generator | None, replace: bool
) -> np.ndarray:
    if replace or order == "data":
        return np.arange(dt.shape[0])
    if order == "largest":
        return np.argsort(-dt, kind="stable")
    if order == "smallest":
        return np.argsort(dt, kind="stable")
    assert rng is not None
    return rng.permutation(dt.shape[0])


def _closer(di: float, lo: int, hi: int, cd: Sequence[float], m: int, width: float) -> int:
    """The nearer of the candidate slots below (lo) and above (hi) within the caliper, or -1."""
    dlo = abs(cd[lo] - di) if lo >= 0 else np.inf
    dhi = abs(cd[hi] - di) if hi < m else np.inf
    if dlo > width:
        lo = -1
    if dhi > width:
        hi = m
    if lo >= 0 and hi < m:
        return lo if dlo <= dhi else hi
    if lo >= 0:
        return lo
    if hi < m:
        return hi
    return -1


def _k_nearest(di: float, pos: int, cd: Sequence[float], k: int, width: float) -> list[int]:
    """The k nearest slots by walking outwards from ``pos`` (ties: the lower slot first)."""
    m = len(cd)
    lo, hi = pos - 1, pos
    out: list[int] = []
    while len(out) < k:
        slot = _closer(di, lo, hi, cd, m, width)
        if slot < 0:
            break
        out.append(slot)
        if slot == lo:
            lo -= 1
        else:
            hi += 1
    return out


def _att_weights(n: int, treated_idx: np.ndarray, pairs: pd.DataFrame) -> np.ndarray:
    """MatchIt's ``weights_matrixC``: 1 for matched treated; controls 1/k per set, rescaled."""
    w = np.zeros(n)
    k = pairs.groupby("subclass")["control_index"].transform("size").to_numpy()
    np.add.at(w, pairs["control_index"].to_numpy(), 1.0 / k)
    w[pairs["treated_index"].to_numpy()] = 1.0
    is_treated = np.zeros(n, dtype=bool)
    is_treated[treated_idx] = True
    wc = w[~is_treated]
    total = wc.sum()
    if total > 0:
        w[~is_treated] = wc * np.sum(wc > 0) / total
    return w
