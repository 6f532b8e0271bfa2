"""Multiplier bootstrap of influence functions: standard errors and uniform bands.

As the R package did (``mboot``): ``b = sqrt(n) * mean(v * psi)`` with Rademacher multipliers
``v`` per unit (or per cluster, after summing the influence functions within clusters); the
standard error is the normalised interquartile range of ``b`` divided by ``sqrt(n)``; the
critical value of a uniform (simultaneous) band is the ``ci_level`` quantile of
``max_j |b_j| / se_j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

_IQR_NORM = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap standard errors (k,) and the uniform-band critical value."""

    std_error: np.ndarray
    critical_value: float
    n_boot: int


def multiplier_bootstrap(
    influence: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    ci_level: float = 0.95,
    clusters: np.ndarray | None = None,
    max_cells: int = 20_000_000,
) -> BootstrapResult:
    """Rademacher multiplier bootstrap of the columns of ``influence`` (n units x k).

    Parameters
    ----------
    influence
        Influence functions scaled so that ``se = sqrt(sum(psi**2)) / n``.
    n_boot
        Bootstrap draws.
    rng
        Source of randomness.
    ci_level
        Level of the uniform band.
    clusters
        Optional cluster label per unit (time-invariant); multipliers are drawn per cluster.
    max_cells
        Bound on ``draws x units`` held in memory at once.
    """
    psi = np.atleast_2d(np.asarray(influence, dtype=float).T).T
    n = psi.shape[0]
    if clusters is not None:
        codes = np.unique(np.asarray(clusters), return_inverse=True)[1]
        summed = np.zeros((int(codes.max()) + 1, psi.shape[1]))
        np.add.at(summed, codes, psi)
        psi_b, n_b = summed, summed.shape[0]
    else:
        psi_b, n_b = psi, n
    chunk = max(1, max_cells // max(n_b, 1))
    draws = []
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        v = rng.integers(0, 2, size=(m, n_b), dtype=np.int8) * 2 - 1
        draws.append(np.sqrt(n_b) * (v @ psi_b) / n_b)
    b = np.vstack(draws)
    q75, q25 = np.quantile(b, [0.75, 0.25], axis=0, method="inverted_cdf")
    sigma = (q75 - q25) / _IQR_NORM
    ok = sigma > np.sqrt(np.finfo(float).eps) * 10
    se = np.full(psi.shape[1], np.nan)
    se[ok] = sigma[ok] * np.sqrt(n_b) / n
    if ok.any():
        t_max = np.max(np.abs(b[:, ok] / sigma[ok]), axis=1)
        crit = float(np.quantile(t_max, ci_level, method="inverted_cdf"))
    else:
        crit = float("nan")
    return BootstrapResult(std_error=se, critical_value=crit, n_boot=n_boot)
