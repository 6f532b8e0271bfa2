"""Cluster-robust (sandwich) covariance, one-way and multi-way.

Written to agree with R's ``sandwich::vcovCL(fit, cluster = ..., type = "HC0")`` (its
default for GLMs, ``cadjust = TRUE``, ``multi0 = FALSE``, ``fix = FALSE``):

``V = B^{-1} M B^{-1}`` with ``B`` the Fisher information (``X' W X`` with the IRLS working
weights) and ``M = sum_S sign(S) * G_S / (G_S - 1) * sum_g u_g u_g'`` where ``u_g`` is the sum
of the score contributions in cluster g of the clustering S. One-way clustering has one
term; two-way clustering on (A, B) (Cameron, Gelbach and Miller 2011) has the terms A and B
with sign +1 and their intersection A x B with sign -1, each with its own small-sample
factor ``G/(G - 1)``. ``type = "HC1"`` multiplies by ``(n - 1)/(n - k)`` as well.

Note: statsmodels' ``cov_type="cluster"`` uses the Stata factor
``G/(G - 1) * (n - 1)/(n - k)`` by default; this module's default is R's ``HC0``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd


def cluster_meat(
    scores: np.ndarray,
    clusters: pd.DataFrame | np.ndarray,
    *,
    adjust: bool = True,
) -> tuple[np.ndarray, list[int]]:
    """Sum of cluster outer products of the scores, with inclusion-exclusion over clusterings.

    Parameters
    ----------
    scores
        Score contributions, shape (n, k).
    clusters
        One column per clustering dimension (n rows); any hashable values.
    adjust
        Apply ``G/(G - 1)`` to each term (sandwich's ``cadjust``).

    Returns
    -------
    (meat, n_clusters)
        ``meat`` of shape (k, k) (not divided by n); the number of clusters per dimension.
    """
    u = np.asarray(scores, dtype=float)
    cl = pd.DataFrame(clusters).reset_index(drop=True)
    if len(cl) != u.shape[0]:
        raise ValueError("clusters and scores must have the same number of rows")
    if cl.isna().to_numpy().any():
        raise ValueError("cluster columns must not have missing values")
    codes = [pd.factorize(cl.iloc[:, j])[0] for j in range(cl.shape[1])]
    dims = range(len(codes))
    meat = np.zeros((u.shape[1], u.shape[1]))
    for size in range(1, len(codes) + 1):
        sign = 1.0 if size % 2 == 1 else -1.0
        for subset in combinations(dims, size):
            if size == 1:
                g = codes[subset[0]]
            else:
                g = pd.MultiIndex.from_arrays([codes[j] for j in subset]).factorize()[0]
            n_g = int(g.max()) + 1
            sums = np.zeros((n_g, u.shape[1]))
            np.add.at(sums, g, u)
            factor = n_g / (n_g - 1) if adjust and n_g > 1 else 1.0
            meat += sign * factor * (sums.T @ sums)
    n_clusters = [int(c.max()) + 1 for c in codes]
    return meat, n_clusters


def sandwich_cov(
    bread_inv: np.ndarray,
    scores: np.ndarray,
    clusters: pd.DataFrame | np.ndarray | None,
    *,
    kind: Literal["HC0", "HC1"] = "HC0",
    adjust: bool = True,
) -> tuple[np.ndarray, list[int]]:
    """Cluster-robust covariance ``bread_inv @ meat @ bread_inv``.

    Parameters
    ----------
    bread_inv
        Inverse of the information matrix (the model-based covariance), (k, k).
    scores
        Score contributions per observation, (n, k).
    clusters
        Cluster columns, or ``None`` to treat every observation as its own cluster
        (heteroskedasticity-robust, with the ``n/(n - 1)`` factor as ``vcovCL`` applies).
    kind
        ``"HC0"`` (R's default for GLMs) or ``"HC1"`` (extra ``(n - 1)/(n - k)``).
    adjust
        Per-term ``G/(G - 1)`` factor.

    Returns
    -------
    (cov, n_clusters)
    """
    n, k = np.shape(scores)
    if clusters is None:
        clusters = np.arange(n)
    meat, n_clusters = cluster_meat(scores, clusters, adjust=adjust)
    if kind == "HC1":
        meat = meat * (n - 1) / (n - k)
    elif kind != "HC0":
        raise ValueError(f"kind must be 'HC0' or 'HC1', got {kind!r}")
    cov = bread_inv @ meat @ bread_inv
    return (cov + cov.T) / 2, n_clusters
