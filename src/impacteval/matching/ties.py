"""Nearest-neighbour matching with replacement that keeps every tied control (Matching's rule).

``Matching::Match`` (Sekhon 2011) with ``replace = TRUE, ties = TRUE``: each treated unit is
matched to the M nearest controls *and every other control whose squared distance is within
``tolerance`` of the M-th smallest* (``distance.tolerance``, default 1e-5); the matched
controls of a treated unit share its weight equally (each gets ``1 / (number matched)``).
Distances are Euclidean between rows of ``points``; Matching's default ``Weight = 1`` is the
inverse-variance scaling of :func:`inverse_variance_points`.

A KD-tree gives the M-th smallest distance and then the controls within the tolerance ball;
squared distances are recomputed directly from ``points`` (sum of squared differences, as
Matching computes them) before the tolerance is applied, so the tie sets agree with Matching.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment

_WHERE = "matching.ties"


def inverse_variance_points(X: np.ndarray) -> np.ndarray:
    """Each column divided by its sample SD (``n - 1``): Matching's ``Weight = 1`` distance.

    Columns with SD below ``sqrt(machine epsilon)`` are divided by that floor instead (as
    Matching does), so they still separate units that differ on them.
    """
    Z = np.asarray(X, dtype=float)
    sd = Z.std(axis=0, ddof=1)
    floor = float(np.sqrt(np.finfo(float).eps))
    return Z / np.where(sd < floor, floor, sd)


def match_with_ties(
    points: np.ndarray,
    treated: np.ndarray,
    *,
    M: int = 1,
    tolerance: float = 1e-5,
) -> pd.DataFrame:
    """Match every treated unit to its M nearest controls plus all ties, with replacement.

    Parameters
    ----------
    points
        n x p matrix; the distance is Euclidean between rows.
    treated
        Treatment indicator (bool or 0/1).
    M
        Matches per treated unit (before ties).
    tolerance
        Controls whose *squared* distance is at most the M-th smallest plus ``tolerance``
        are tied and all kept.

    Returns
    -------
    DataFrame
        One row per (treated, control) match: ``treated_index``, ``control_index`` (positions
        0..n-1), ``weight`` (``1 / number of controls matched to that treated unit``); sorted
        by treated unit, then control position.

    Examples
    --------
    >>> import numpy as np
    >>> p = match_with_ties(np.array([[0.0], [1.0], [-1.0], [3.0]]), np.array([1, 0, 0, 0]))
    >>> p[["control_index", "weight"]].to_numpy().tolist()
    [[1.0, 0.5], [2.0, 0.5]]
    """
    P = np.asarray(points, dtype=float)
    if P.ndim != 2 or not np.all(np.isfinite(P)):
        raise DesignError("points must be a finite n x p matrix", where=_WHERE)
    t = as_treatment(treated, P.shape[0], where=_WHERE)
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise ConfigError(f"M must be a whole number >= 1, got {M!r}", where=f"{_WHERE}.M")
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError("tolerance must be a non-negative number", where=f"{_WHERE}.tolerance")
    tu, cu = np.flatnonzero(t), np.flatnonzero(~t)
    if tu.size == 0 or cu.size == 0:
        raise DesignError(
            f"matching needs treated and control units (treated: {tu.size}, control: {cu.size})",
            where=_WHERE,
        )
    m = min(M, cu.size)
    tree = cKDTree(P[cu])
    d, _ = tree.query(P[tu], k=m)
    dmax = np.reshape(d, (tu.size, m))[:, -1]
    radius = np.sqrt(dmax**2 + tolerance) * (1 + 1e-9) + 1e-12
    balls = tree.query_ball_point(P[tu], r=radius)
    rows_t: list[np.ndarray] = []
    rows_c: list[np.ndarray] = []
    rows_w: list[np.ndarray] = []
    for i, cand in enumerate(balls):
        c = np.sort(np.asarray(cand, dtype=np.int64))
        sq = np.sum((P[cu[c]] - P[tu[i]]) ** 2, axis=1)
        kth = np.partition(sq, m - 1)[m - 1]
        keep = c[sq <= kth + tolerance]
        rows_t.append(np.full(keep.size, tu[i], dtype=np.int64))
        rows_c.append(cu[keep])
        rows_w.append(np.full(keep.size, 1.0 / keep.size))
    return pd.DataFrame(
        {
            "treated_index": np.concatenate(rows_t),
            "control_index": np.concatenate(rows_c),
            "weight": np.concatenate(rows_w),
        }
    )
