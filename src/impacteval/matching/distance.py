"""Covariate distances, expressed as a linear (or rank) transform of the covariates.

Every distance here is the Euclidean distance between rows of a transformed matrix ``Z``
returned by :func:`transform_covariates`, so a nearest-neighbour search can use a KD-tree on
``Z`` and never needs a treated x control distance matrix (the approach of MatchIt's
``transform_covariates`` / ``mahalanobize``).

``"mahalanobis"``
    ``d(x, y)^2 = (x - y)' S^{-1} (x - y)`` with ``S`` the *pooled within-arm* covariance
    (each arm centred on its own means, divided by ``n - 2``): MatchIt 4.x's choice, which
    keeps the distance from depending on how different the arms are. ``Z = X L`` with
    ``S^{-1} = L L'``. A singular ``S`` (e.g. every level of a categorical covariate, or a
    covariate that is a linear combination of others) uses the Moore-Penrose inverse, i.e.
    the Mahalanobis distance within the subspace the covariates span.
``"robust_mahalanobis"``
    Rosenbaum (2010, section 8.3): each covariate replaced by its ranks (ties averaged);
    covariance of the ranks (full sample) rescaled so that every diagonal entry equals the
    variance of untied ranks ``1..n`` (so a covariate with many ties is not up-weighted);
    then Mahalanobis on the ranks. Insensitive to outliers and to monotone transformations.
``"scaled_euclidean"``
    Each covariate divided by its pooled within-arm standard deviation
    (``sqrt(diag(S))``); no correlation adjustment.
``"euclidean"``
    The covariates as they are.
``"generalized_mahalanobis"``
    Diamond and Sekhon (2013): ``d(x, y)^2 = (x - y)' (S^{-1/2})' W S^{-1/2} (x - y)`` with
    ``S^{-1/2} = R'^{-1}`` from the Cholesky factor ``S = R'R`` (upper triangular ``R``) and
    ``W = diag(weights)``. With all weights equal to 1 it is the Mahalanobis distance.
    ``Z = X R^{-1} diag(sqrt(w))``. Used by genetic matching (:mod:`.genetic`).

Categorical covariates are coded as indicators of all but their first level (the coding does
not change a Mahalanobis distance; for the scaled Euclidean and generalised Mahalanobis
distances each indicator is a coordinate of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from impacteval.exceptions import ConfigError, DesignError
from impacteval.matching.covariates import as_treatment, encode

_WHERE = "matching.distance"

DistanceName = Literal[
    "mahalanobis", "robust_mahalanobis", "scaled_euclidean", "euclidean", "generalized_mahalanobis"
]
DISTANCES: tuple[str, ...] = (
    "mahalanobis",
    "robust_mahalanobis",
    "scaled_euclidean",
    "euclidean",
    "generalized_mahalanobis",
)


@dataclass(frozen=True, kw_only=True)
class CovariateTransform:
    """The transformed covariates of one distance.

    Attributes
    ----------
    points
        ``Z`` (n x p'): Euclidean distance between rows is the requested distance.
    names
        Design-column names of the covariates before the transform (indicator columns of a
        categorical covariate are ``"<column>[<level>]"``).
    distance
        The distance's name.
    dropped
        Design columns left out because they are constant (they cannot separate units).
    """

    points: np.ndarray
    names: tuple[str, ...]
    distance: str
    dropped: tuple[str, ...]


def design_matrix(X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Covariates as a float matrix, categorical columns coded by all but their first level."""
    Z, names, _ = encode(X, drop_first=True, where=_WHERE)
    return Z, names


def pooled_covariance(Z: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Pooled within-arm covariance: arms centred on their own means, ``/(n - 2)``."""
    t = np.asarray(treated, dtype=bool)
    centred = Z.astype(float, copy=True)
    for arm in (t, ~t):
        centred[arm] -= centred[arm].mean(axis=0)
    n = Z.shape[0]
    return np.asarray(centred.T @ centred / (n - 2))


def whitening(S: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L L' = S^+`` (so ``||x L||^2 = x' S^+ x``).

    Cholesky of the inverse when ``S`` is well conditioned; otherwise the eigenvectors with
    positive eigenvalues scaled by ``1/sqrt(eigenvalue)`` (Moore-Penrose inverse).
    """
    S = (S + S.T) / 2
    vals, vecs = np.linalg.eigh(S)
    tol = max(S.shape) * np.finfo(float).eps * max(float(vals.max()), 0.0)
    keep = vals > max(tol, 1e-12 * float(vals.max()))
    return np.asarray(vecs[:, keep] / np.sqrt(vals[keep]))


def cholesky_whitening(S: np.ndarray) -> np.ndarray:
    """``R^{-1}`` from ``S = R'R`` (Diamond and Sekhon's ``S^{-1/2}``, transposed for rows).

    Falls back to :func:`whitening` (with zero columns appended to keep p columns) when
    ``S`` is not positive definite.
    """
    p = S.shape[0]
    try:
        R = linalg.cholesky((S + S.T) / 2, lower=False)
        return np.asarray(linalg.solve_triangular(R, np.eye(p), lower=False))
    except linalg.LinAlgError:
        L = whitening(S)
        return np.hstack([L, np.zeros((p, p - L.shape[1]))])


def transform_covariates(
    X: pd.DataFrame,
    treated: np.ndarray,
    *,
    distance: DistanceName = "mahalanobis",
    weights: np.ndarray | None = None,
) -> CovariateTransform:
    """Transform covariates so that Euclidean distance between rows is ``distance``.

    Parameters
    ----------
    X
        Covariates, one row per unit (numeric, boolean or categorical); not modified.
    treated
        Treatment indicator (bool or 0/1); the pooled within-arm covariance needs it.
    distance
        One of ``mahalanobis, robust_mahalanobis, scaled_euclidean, euclidean,
        generalized_mahalanobis`` (see the module docstring).
    weights
        Per-covariate weights for ``generalized_mahalanobis``: one non-negative number per
        design column (after dropping constant columns: see ``CovariateTransform.names``);
        ``None`` means all 1. Not allowed with the other distances.

    Returns
    -------
    CovariateTransform

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [60.0, 70, 80, 65], "score": [1.0, 3, 2, 5]})
    >>> Z = transform_covariates(X, np.array([1, 1, 0, 0])).points
    >>> Z.shape
    (4, 2)
    """
    if distance not in DISTANCES:
        raise ConfigError(
            f"distance must be one of {', '.join(DISTANCES)}; got {distance!r}",
            where="matching.distance",
        )
    if weights is not None and distance != "generalized_mahalanobis":
        raise ConfigError(
            "covariate weights apply only to distance 'generalized_mahalanobis'",
            where="matching.distance",
        )
    Z, names = design_matrix(X)
    t = as_treatment(treated, Z.shape[0], where=_WHERE)
    if Z.shape[1] == 0:
        raise DesignError("no covariates to compute a distance on", where=_WHERE)
    spread = Z.max(axis=0) - Z.min(axis=0)
    constant = spread < np.sqrt(np.finfo(float).eps)
    if constant.all():
        raise DesignError(
            "every covariate is constant, so no distance can separate units",
            where=_WHERE,
            hint="check the covariate list and the cohort filters",
        )
    dropped = tuple(n for n, c in zip(names, constant, strict=True) if c)
    Z = Z[:, ~constant]
    kept = tuple(n for n, c in zip(names, constant, strict=True) if not c)
    n = Z.shape[0]
    if distance in ("mahalanobis", "scaled_euclidean", "generalized_mahalanobis") and n < 3:
        raise DesignError("a covariance needs at least 3 units", where=_WHERE)

    if distance == "euclidean":
        points = Z.copy()
    elif distance == "scaled_euclidean":
        sd = np.sqrt(np.diag(pooled_covariance(Z, t)))
        sd = np.where(sd > 0, sd, 1.0)
        points = Z / sd
    elif distance == "mahalanobis":
        points = Z @ whitening(pooled_covariance(Z, t))
    elif distance == "robust_mahalanobis":
        ranks = np.column_stack([stats.rankdata(Z[:, j]) for j in range(Z.shape[1])])
        S = np.cov(ranks, rowvar=False).reshape(Z.shape[1], Z.shape[1])
        untied_sd = float(np.std(np.arange(1, n + 1), ddof=1))
        mult = untied_sd / np.sqrt(np.diag(S))
        points = ranks @ whitening(S * np.outer(mult, mult))
    else:
        w = _check_weights(weights, len(kept))
        points = (Z @ cholesky_whitening(pooled_covariance(Z, t))) * np.sqrt(w)
    return CovariateTransform(points=points, names=kept, distance=distance, dropped=dropped)


def _check_weights(weights: np.ndarray | None, p: int) -> np.ndarray:
    if weights is None:
        return np.ones(p)
    w = np.asarray(weights, dtype=float)
    if w.shape != (p,) or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ConfigError(
            f"weights must be {p} finite non-negative numbers, not all zero "
            "(one per non-constant design column)",
            where="matching.distance.weights",
        )
    return w
