"""Least squares with cluster-robust covariance (the linear algebra behind the 2x2 DiD)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import EstimationError
from impacteval.inference.cluster import sandwich_cov


@dataclass(frozen=True)
class OLSFit:
    """Coefficients, residuals, ``(X'X)^-1`` and the cluster-robust covariance."""

    coef: np.ndarray
    resid: np.ndarray
    xtx_inv: np.ndarray
    cov: np.ndarray
    n_clusters: list[int]


def ols(
    X: np.ndarray,
    y: np.ndarray,
    clusters: pd.DataFrame | np.ndarray | None,
    *,
    kind: Literal["HC0", "HC1"] = "HC1",
    weights: np.ndarray | None = None,
    where: str = "did",
) -> OLSFit:
    """(Weighted) OLS with the covariance of R's ``sandwich::vcovCL(lm_fit, cluster=..., type=kind)``.

    ``HC1`` (vcovCL's default for ``lm``) is ``G/(G-1) (n-1)/(n-k)`` times the HC0 meat; ``HC0``
    keeps only ``G/(G-1)``. ``clusters=None`` treats each row as its own cluster. ``weights``
    are ``lm``'s prior weights (scores ``w x e``, bread ``X'WX``); rows must have w > 0.
    """
    w = np.ones(len(y)) if weights is None else weights
    xtx = (X.T * w) @ X
    if np.linalg.matrix_rank(xtx) < X.shape[1]:
        raise EstimationError(
            "the design matrix is rank deficient",
            where=where,
            hint="drop covariates that are constant or collinear with the treatment and period",
        )
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (X.T @ (w * y))
    resid = y - X @ coef
    cov, n_cl = sandwich_cov(xtx_inv, X * (w * resid)[:, None], clusters, kind=kind)
    return OLSFit(coef, resid, xtx_inv, cov, n_cl)
