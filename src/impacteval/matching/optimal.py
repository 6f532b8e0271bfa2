"""Optimal pair (and k:1) matching: the smallest total distance, by sparse linear assignment.

Greedy nearest-neighbour matching lets early treated units take controls that later ones
needed; optimal matching (Rosenbaum 1989; MatchIt's ``method = "optimal"``, through
optmatch) instead chooses the set of pairs with the smallest *sum* of distances. Here the
problem is a rectangular assignment solved by scipy's
:func:`~scipy.sparse.csgraph.min_weight_full_bipartite_matching` (LAPJVsp):

* rows are the treated units, each repeated ``ratio`` times (k:1 matching: every copy takes
  one control, so each treated unit gets k distinct controls); columns are the controls;
* an edge is a (treated, control) pair allowed by the calipers, weighted by its distance
  (Euclidean between rows of ``points``; for a propensity distance pass it as one column).
  Without any caliper every pair is an edge, so the size is limited (``max_edges``): this
  is the one matcher that needs all treated x control distances, and a caliper keeps the
  graph sparse (candidates from a KD-tree ball query);
* every row also has its own "unmatched" column of weight larger than any matching's total
  distance, so a solution always exists and the solver matches as many treated copies as the
  calipers allow (maximum cardinality) and, among those matchings, minimises the total
  distance. A treated unit none of whose copies could be matched is ``discarded``.
* ``exact``: solved stratum by stratum (the total is the sum of the strata's optima).

Pair matching with full matching's flexibility (one treated to many controls *and* one
control to many treated, optmatch's ``fullmatch``) is not implemented.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment
from impacteval.matching.multivariate import (
    _check_calipers,
    _result,
    exact_strata,
    match_by_stratum,
)
from impacteval.matching.result import MatchResult

_WHERE = "matching"
MAX_EDGES = 20_000_000


def optimal_match(
    points: np.ndarray,
    treated: np.ndarray,
    *,
    ratio: int = 1,
    caliper: float | None = None,
    caliper_covariates: np.ndarray | None = None,
    caliper_widths: np.ndarray | None = None,
    exact: np.ndarray | None = None,
    distance_name: str = "euclidean",
    max_edges: int = MAX_EDGES,
) -> MatchResult:
    """Optimal k:1 matching without replacement (smallest total distance).

    Parameters
    ----------
    points
        n x p matrix (or a length-n vector, e.g. the logit propensity); the distance is
        Euclidean between rows.
    treated
        Treatment indicator (bool or 0/1).
    ratio
        Controls per treated unit.
    caliper
        Largest allowed distance between a treated unit and its control (``None``: none).
    caliper_covariates, caliper_widths
        n x q raw covariates and q widths: a pair needs ``|x_t - x_c| <= width`` on each.
    exact
        Optional stratum label per unit; units match only within their stratum.
    distance_name
        Recorded in the result.
    max_edges
        Largest number of candidate pairs in one stratum (memory guard).

    Returns
    -------
    MatchResult
        ``method = "optimal"``; within a matched set controls are listed nearest first.

    Raises
    ------
    DesignError
        An empty arm, non-finite points, too many candidate pairs, or nothing matchable.

    Examples
    --------
    >>> import numpy as np
    >>> # greedy (largest first) would pair 0.6 with 0.5 and leave 0.45 with 0.9
    >>> m = optimal_match(np.array([0.6, 0.45, 0.5, 0.9, 0.0]), np.array([1, 1, 0, 0, 0]))
    >>> m.pairs[["treated_index", "control_index"]].to_numpy().tolist()
    [[0, 3], [1, 2]]
    """
    P = np.asarray(points, dtype=float)
    if P.ndim == 1:
        P = P[:, None]
    if P.ndim != 2:
        raise DesignError("points must be a vector or an n x p matrix", where=_WHERE)
    n = P.shape[0]
    t = as_treatment(treated, n, where=_WHERE)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ConfigError(f"ratio must be a whole number >= 1, got {ratio!r}",
                          where="matching.ratio")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ConfigError(f"caliper must be a positive number or null, got {caliper!r}",
                          where="matching.caliper")
    if not np.all(np.isfinite(P)):
        raise DesignError("the distance is missing or infinite for some units", where=_WHERE)
    n1 = int(t.sum())
    if n1 == 0 or n1 == n:
        raise DesignError(
            f"matching needs treated and control units (treated: {n1}, control: {n - n1})",
            where=_WHERE, hint="check the cohort filters: one arm is empty",
        )
    C, widths = _check_calipers(caliper_covariates, caliper_widths, n)
    width = float("inf") if caliper is None else float(caliper)
    def solve(tu: np.ndarray, cu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _solve(P, C, widths, width, tu, cu, ratio, max_edges)

    ti, ci = match_by_stratum(exact_strata(exact, n), t, solve, exact=exact is not None)
    res = _result(n, t, ti, ci, distance_name, caliper, width, ratio, False, "data")
    return dc_replace(res, method="optimal")


def _edges(
    P: np.ndarray, C: np.ndarray | None, widths: np.ndarray | None, width: float,
    tu: np.ndarray, cu: np.ndarray, max_edges: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate (treated slot, control slot, distance) triples within the calipers."""
    if np.isfinite(width):
        tree = cKDTree(P[cu])
        balls = tree.query_ball_point(P[tu], r=width * (1 + 1e-12))
        sizes = np.array([len(b) for b in balls], dtype=np.int64)
        if int(sizes.sum()) > max_edges:
            raise _too_big(int(sizes.sum()), max_edges)
        rows = np.repeat(np.arange(tu.size), sizes)
        cols = (np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
                if sizes.sum() else np.empty(0, np.int64))
    else:
        if tu.size * cu.size > max_edges:
            raise _too_big(tu.size * cu.size, max_edges)
        rows = np.repeat(np.arange(tu.size), cu.size)
        cols = np.tile(np.arange(cu.size), tu.size)
    d = np.sqrt(np.sum((P[tu[rows]] - P[cu[cols]]) ** 2, axis=1))
    ok = d <= width
    if C is not None and widths is not None:
        ok &= np.all(np.abs(C[tu[rows]] - C[cu[cols]]) <= widths, axis=1)
    return rows[ok], cols[ok], d[ok]


def _too_big(edges: int, max_edges: int) -> DesignError:
    return DesignError(
        f"optimal matching would need {edges:,} candidate pairs (limit {max_edges:,})",
        where="matching.method",
        hint="add or narrow a caliper (matching.caliper), match within exact strata "
        "(matching.exact), or use method: nearest",
    )


def _solve(
    P: np.ndarray, C: np.ndarray | None, widths: np.ndarray | None, width: float,
    tu: np.ndarray, cu: np.ndarray, ratio: int, max_edges: int,
) -> tuple[np.ndarray, np.ndarray]:
    rows, cols, d = _edges(P, C, widths, width, tu, cu, max_edges)
    if rows.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    n_rows = tu.size * ratio
    m = cu.size
    # copy c of treated slot i is row c * n1 + i; weights offset by 1 so none is zero
    r = np.concatenate([rows + c * tu.size for c in range(ratio)])
    cc = np.tile(cols, ratio)
    w = np.tile(d + 1.0, ratio)
    # one private "unmatched" column per row, dearer than any whole matching
    big = n_rows * (float(d.max()) + 1.0) * 2.0 + 1.0
    r = np.concatenate([r, np.arange(n_rows)])
    cc = np.concatenate([cc, m + np.arange(n_rows)])
    w = np.concatenate([w, np.full(n_rows, big)])
    graph = sparse.csr_array((w, (r, cc)), shape=(n_rows, m + n_rows))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    real = col_ind < m
    slot_t = row_ind[real] % tu.size
    slot_c = col_ind[real]
    dist = np.sqrt(np.sum((P[tu[slot_t]] - P[cu[slot_c]]) ** 2, axis=1))
    # within a matched set, controls nearest first (ties: earlier in the data)
    order = np.lexsort((cu[slot_c], dist, slot_t))
    return tu[slot_t[order]].astype(np.int64), cu[slot_c[order]].astype(np.int64)
