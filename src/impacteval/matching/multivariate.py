"""Greedy nearest-neighbour matching on covariate distances, with KD-trees.

The covariates are first transformed (:func:`~impacteval.matching.distance.transform_covariates`)
so that the chosen distance (Mahalanobis, robust Mahalanobis, scaled Euclidean, generalised
Mahalanobis) is the Euclidean distance between rows. A KD-tree over the controls (scipy's
``cKDTree``, unbalanced: two to four times faster to build than scikit-learn's ``KDTree``)
then finds each treated unit's candidates; no treated x control matrix is formed.

Rules (MatchIt's ``method = "nearest"`` with a covariate distance, whose default order for
such distances is the data order):

* Treated units choose in ``order``: ``"data"`` (default), ``"random"`` (a permutation from
  ``rng``), or ``"largest"`` / ``"smallest"`` of an ``order_score`` (e.g. the propensity).
* **Tie rule**: among available controls at the same (floating-point equal) distance, the
  one earliest in the data wins. The search widens until no tie can lie beyond it.
* ``caliper`` is a maximum on the distance itself (in its own units: e.g. Mahalanobis
  units); ``calipers`` are per-covariate maxima ``|x_t - x_c| <= width`` on the raw scale of
  numeric covariates. A candidate that fails any caliper is skipped and the next nearest is
  tried, so a unit is discarded only if *no* available control passes all calipers.
* Without replacement and ``ratio = k``: k rounds, every treated unit taking one control per
  round (MatchIt's loop order). With replacement each treated unit takes its k nearest.
* ``exact``: matching is done separately within each stratum (sorted label order), each
  with its own tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment
from impacteval.matching.distance import DistanceName, transform_covariates
from impacteval.matching.nearest import _att_weights, _check_options
from impacteval.matching.result import MatchResult

_WHERE = "matching"

Order = Literal["data", "random", "largest", "smallest"]


def covariate_match(
    X: pd.DataFrame,
    treated: np.ndarray,
    *,
    distance: DistanceName = "mahalanobis",
    weights: np.ndarray | None = None,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    calipers: Mapping[str, float] | None = None,
    order: Order = "data",
    order_score: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    exact: np.ndarray | None = None,
) -> MatchResult:
    """Nearest-neighbour matching on a covariate distance.

    Parameters
    ----------
    X
        Covariates for the distance, one row per unit; not modified.
    treated
        Treatment indicator (bool or 0/1).
    distance
        ``mahalanobis`` (default), ``robust_mahalanobis``, ``scaled_euclidean``,
        ``euclidean`` or ``generalized_mahalanobis`` (with ``weights``).
    weights
        Per-design-column weights of the generalised Mahalanobis distance.
    ratio, replace, order, order_score, rng, exact
        As in :func:`match_points`.
    caliper
        Maximum distance (in the distance's own units), or ``None``.
    calipers
        Column of ``X`` (numeric) -> maximum absolute difference on its raw scale.

    Returns
    -------
    MatchResult
        ``distance`` is the distance's name; ``caliper_scale`` is ``"raw"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [60.0, 61, 80, 79, 70], "bmi": [20.0, 21, 30, 29, 25]})
    >>> m = covariate_match(X, np.array([1, 0, 1, 0, 0]), distance="scaled_euclidean")
    >>> m.pairs[["treated_index", "control_index"]].to_numpy().tolist()
    [[0, 1], [2, 3]]
    """
    tr = transform_covariates(X, treated, distance=distance, weights=weights)
    cal_cols = None
    widths = None
    if calipers:
        unknown = [c for c in calipers if c not in X.columns]
        if unknown:
            raise ConfigError(
                f"caliper covariate(s) not among the covariates: {', '.join(map(str, unknown))}",
                where="matching.calipers",
            )
        for c in calipers:
            if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]):
                raise ConfigError(
                    f"caliper covariate {c!r} must be numeric",
                    where="matching.calipers",
                    hint="use exact matching for categorical covariates",
                )
        cal_cols = np.column_stack(
            [X[c].astype("float64").to_numpy(dtype=float, na_value=np.nan) for c in calipers]
        )
        widths = np.array([calipers[c] for c in calipers], dtype=float)
    return match_points(
        tr.points,
        treated,
        ratio=ratio,
        replace=replace,
        caliper=caliper,
        caliper_covariates=cal_cols,
        caliper_widths=widths,
        order=order,
        order_score=order_score,
        rng=rng,
        exact=exact,
        distance_name=distance,
    )


def match_points(
    points: np.ndarray,
    treated: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    caliper_covariates: np.ndarray | None = None,
    caliper_widths: np.ndarray | None = None,
    order: Order = "data",
    order_score: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    exact: np.ndarray | None = None,
    distance_name: str = "euclidean",
) -> MatchResult:
    """Greedy nearest-neighbour matching on the Euclidean distance between rows of ``points``.

    Parameters
    ----------
    points
        n x p matrix (e.g. ``transform_covariates(...).points``), finite.
    treated
        Treatment indicator (bool or 0/1).
    ratio
        Controls per treated unit.
    replace
        Whether a control may serve several treated units.
    caliper
        Maximum Euclidean distance between rows of ``points``; ``None`` for none.
    caliper_covariates, caliper_widths
        Optional n x q matrix of raw covariates and q widths: a pair is allowed only if
        ``|x_t - x_c| <= width`` for every column.
    order
        ``"data"``, ``"random"`` (needs ``rng``), ``"largest"`` / ``"smallest"`` (need
        ``order_score``). Ignored with replacement.
    order_score
        One value per unit used by ``"largest"`` / ``"smallest"``.
    rng
        Generator for ``order = "random"``.
    exact
        Optional stratum label per unit; units match only within their stratum.
    distance_name
        Recorded in the result.

    Returns
    -------
    MatchResult

    Raises
    ------
    DesignError
        Empty arm, non-finite points, or nothing matched within the calipers.
    ConfigError
        Invalid options.
    """
    P = np.asarray(points, dtype=float)
    if P.ndim != 2:
        raise DesignError("points must be a 2-D matrix (units x coordinates)", where=_WHERE)
    n = P.shape[0]
    t = as_treatment(treated, n, where=_WHERE)
    _check_options(ratio, caliper, "raw", order, rng)
    if not np.all(np.isfinite(P)):
        raise DesignError(
            f"the transformed covariates are missing or infinite for "
            f"{int((~np.isfinite(P).all(axis=1)).sum())} unit(s)",
            where=_WHERE,
        )
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        raise DesignError(
            f"matching needs treated and control units (treated: {n1}, control: {n - n1})",
            where=_WHERE,
            hint="check the cohort filters: one arm is empty",
        )
    score = None
    if order in ("largest", "smallest"):
        if order_score is None:
            raise ConfigError(
                f"order {order!r} needs order_score (e.g. the propensity score)",
                where="matching.order",
            )
        score = np.asarray(order_score, dtype=float)
        if score.shape != (n,) or not np.all(np.isfinite(score)):
            raise DesignError("order_score must be one finite value per unit", where=_WHERE)
    C, widths = _check_calipers(caliper_covariates, caliper_widths, n)
    width = float("inf") if caliper is None else float(caliper)

    def solve(tu: np.ndarray, cu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        visit = _visit(tu, order, score, rng, replace)
        return _Searcher(P, C, widths, width, tu, cu).match(visit, ratio, replace)

    ti, ci = match_by_stratum(exact_strata(exact, n), t, solve, exact=exact is not None)
    return _result(n, t, ti, ci, distance_name, caliper, width, ratio, replace, order)


class _Searcher:
    """Nearest-available-control search within one stratum (KD-tree, widening queries)."""

    def __init__(
        self,
        P: np.ndarray,
        C: np.ndarray | None,
        widths: np.ndarray | None,
        width: float,
        tu: np.ndarray,
        cu: np.ndarray,
        *,
        tree: cKDTree | None = None,
    ) -> None:
        self.P, self.C, self.widths, self.width = P, C, widths, width
        self.tu, self.cu = tu, cu
        self.m = cu.shape[0]
        self.tree = _tree(P[cu]) if tree is None else tree
        self.available = np.ones(self.m, dtype=bool)

    def _query(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        d, j = self.tree.query(self.P[self.tu[i]][None, :], k=min(k, self.m))
        return np.reshape(d, -1), np.reshape(j, -1)

    def _ok(self, i: int, d: np.ndarray, j: np.ndarray, replace: bool) -> np.ndarray:
        ok = d <= self.width
        if not replace:
            ok &= self.available[j]
        if self.C is not None and self.widths is not None:
            diff = np.abs(self.C[self.cu[j]] - self.C[self.tu[i]])
            ok &= np.all(diff <= self.widths, axis=1)
        return ok

    def nearest(self, i: int, need: int, replace: bool, k0: int) -> list[int]:
        """Up to ``need`` allowed controls (local slots) nearest to treated ``i``, tie rule applied."""
        k = max(k0, need + 1)
        while True:
            d, j = self._query(i, k)
            ok = self._ok(i, d, j, replace)
            exhausted = d.shape[0] >= self.m or d[-1] > self.width
            if ok.sum() >= need:
                dv, jv = d[ok], j[ok]
                sel = np.lexsort((jv, dv))[:need]
                if exhausted or dv[sel[-1]] < d[-1]:
                    return [int(x) for x in jv[sel]]
            elif exhausted:
                dv, jv = d[ok], j[ok]
                return [int(x) for x in jv[np.lexsort((jv, dv))]]
            k *= 4

    def match(self, visit: np.ndarray, ratio: int, replace: bool) -> tuple[np.ndarray, np.ndarray]:
        rows_t: list[int] = []
        rows_c: list[int] = []
        if replace:
            for i in visit:
                for s in self.nearest(int(i), ratio, True, ratio + 1):
                    rows_t.append(int(self.tu[i]))
                    rows_c.append(int(self.cu[s]))
        else:
            active = np.ones(self.tu.shape[0], dtype=bool)
            k0 = 8
            for _ in range(ratio):
                for i in visit:
                    if not active[i]:
                        continue
                    if not self.available.any():
                        break
                    got = self.nearest(int(i), 1, False, k0)
                    if not got:
                        active[i] = False
                        continue
                    self.available[got[0]] = False
                    rows_t.append(int(self.tu[i]))
                    rows_c.append(int(self.cu[got[0]]))
        return np.array(rows_t, dtype=np.int64), np.array(rows_c, dtype=np.int64)


def _tree(points: np.ndarray) -> cKDTree:
    """KD-tree over control points (unbalanced, uncompacted: 2-4x faster to build)."""
    return cKDTree(points, balanced_tree=False, compact_nodes=False)


def _visit(
    tu: np.ndarray,
    order: str,
    score: np.ndarray | None,
    rng: np.random.Generator | None,
    replace: bool,
) -> np.ndarray:
    if replace or order == "data":
        return np.arange(tu.shape[0])
    if order == "random":
        assert rng is not None
        return rng.permutation(tu.shape[0])
    assert score is not None
    s = score[tu]
    return np.argsort(-s if order == "largest" else s, kind="stable")


def _check_calipers(
    C: np.ndarray | None, widths: np.ndarray | None, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if C is None and widths is None:
        return None, None
    if C is None or widths is None:
        raise ConfigError(
            "per-covariate calipers need both the covariates and their widths",
            where="matching.calipers",
        )
    C = np.asarray(C, dtype=float)
    w = np.asarray(widths, dtype=float)
    if C.ndim != 2 or C.shape[0] != n or w.shape != (C.shape[1],):
        raise ConfigError(
            "caliper covariates must be n x q with q widths", where="matching.calipers"
        )
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ConfigError("caliper widths must be positive numbers", where="matching.calipers")
    if not np.all(np.isfinite(C)):
        raise DesignError(
            f"caliper covariates are missing for {int((~np.isfinite(C).all(axis=1)).sum())} "
            "unit(s)",
            where="matching.calipers",
        )
    return C, w


def _result(
    n: int,
    t: np.ndarray,
    ti: np.ndarray,
    ci: np.ndarray,
    distance_name: str,
    caliper: float | None,
    width: float,
    ratio: int,
    replace: bool,
    order: str,
) -> MatchResult:
    keep = np.argsort(ti, kind="stable")
    ti, ci = ti[keep], ci[keep]
    matched_treated = np.unique(ti)
    pairs = pd.DataFrame(
        {
            "subclass": (np.searchsorted(matched_treated, ti) + 1).astype(np.int64),
            "treated_index": ti,
            "control_index": ci,
        }
    )
    treated_idx = np.flatnonzero(t)
    weights = _att_weights(n, treated_idx, pairs)
    discarded = np.zeros(n, dtype=bool)
    discarded[treated_idx[~np.isin(treated_idx, matched_treated)]] = True
    return MatchResult(
        pairs=pairs,
        weights=weights,
        treated=t,
        matched=weights > 0,
        discarded=discarded,
        distance=distance_name,
        caliper=caliper,
        caliper_scale="raw",
        caliper_width=width,
        method="nearest",
        ratio=ratio,
        replace=replace,
        order="data" if replace else order,
    )


def exact_strata(exact: Any, n: int) -> list[np.ndarray]:
    """Row positions of each exact-matching stratum (one stratum of all rows without ``exact``)."""
    if exact is None:
        return [np.arange(n)]
    labels = np.asarray(exact)
    if labels.shape != (n,) or pd.isna(labels).any():
        raise DesignError(
            "exact must give one non-missing stratum label per unit",
            where="matching.exact",
            hint="give every unit a stratum (e.g. an 'unknown' category)",
        )
    codes, _ = pd.factorize(labels, sort=True)
    return [np.flatnonzero(codes == k) for k in range(int(codes.max()) + 1)]


def match_by_stratum(
    strata: list[np.ndarray],
    t: np.ndarray,
    solve: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    *,
    exact: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``solve(treated_rows, control_rows)`` in each stratum with both arms and stack the
    matched (treated, control) row pairs; a DesignError when nothing matched."""
    pairs = [solve(units[t[units]], units[~t[units]]) for units in strata
             if t[units].any() and (~t[units]).any()]
    ti = np.concatenate([p[0] for p in pairs]) if pairs else np.empty(0, np.int64)
    ci = np.concatenate([p[1] for p in pairs]) if pairs else np.empty(0, np.int64)
    if ti.size == 0:
        raise DesignError(
            "no treated unit has a control within the calipers"
            + (" in any exact-matching stratum" if exact else ""),
            where=_WHERE,
            hint="widen the caliper(s) or check the overlap of treated and control units",
        )
    return ti, ci
