"""Cluster bootstrap: resample whole clusters (e.g. matched sets) with replacement.

For matched samples (Austin and Small 2014; Abadie and Spiess 2022) the matched set is the
unit of resampling: each replicate draws G clusters with replacement from the G observed
ones, keeps all rows of each drawn cluster (a cluster drawn twice appears twice), and
recomputes the statistic. The standard error is the SD (``n - 1``) of the replicates; the
percentile interval takes their quantiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, EstimationError

_WHERE = "inference.bootstrap"


@dataclass(frozen=True, kw_only=True)
class BootstrapResult:
    """Replicates of a statistic and their summaries.

    Attributes
    ----------
    estimate
        The statistic on the original data.
    std_error
        SD of the replicates (``ddof = 1``).
    ci_lower, ci_upper
        Percentile interval at ``ci_level``.
    replicates
        One value per replicate (replicates where the statistic failed are dropped and
        counted in ``n_failed``).
    n_clusters, n_failed
    """

    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    replicates: np.ndarray
    n_clusters: int
    n_failed: int


def cluster_bootstrap(
    data: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float],
    *,
    cluster: str,
    n_boot: int = 999,
    rng: np.random.Generator,
    ci_level: float = 0.95,
) -> BootstrapResult:
    """Bootstrap a statistic by resampling clusters of rows with replacement.

    Parameters
    ----------
    data
        Rows to resample; not modified (each replicate gets a new frame).
    statistic
        Function of a frame returning a number (e.g. an estimator's ``fit(...).estimate``).
        It may raise :class:`~impacteval.exceptions.EstimationError` on a degenerate
        replicate; such replicates are dropped and counted.
    cluster
        Column naming each row's cluster (e.g. ``"subclass"``). In a replicate the column is
        relabelled 0..G-1 by position in the draw, so two copies of one cluster are separate
        clusters to a statistic that clusters on this column.
    n_boot
        Number of replicates.
    rng
        The random generator (the only source of randomness).
    ci_level
        Level of the percentile interval.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4], "set": [1, 1, 2, 2]})
    >>> r = cluster_bootstrap(df, lambda d: d["y"].mean(), cluster="set", n_boot=200,
    ...                       rng=np.random.default_rng(0))
    >>> r.estimate
    2.5
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ConfigError(f"n_boot must be a whole number >= 2, got {n_boot!r}", where=_WHERE)
    if not 0 < ci_level < 1:
        raise ConfigError(f"ci_level must be between 0 and 1, got {ci_level!r}", where=_WHERE)
    if cluster not in data.columns:
        raise EstimationError(f"cluster column {cluster!r} not in the data", where=_WHERE)
    if data[cluster].isna().any():
        raise EstimationError(f"cluster column {cluster!r} has missing values", where=_WHERE)
    codes, _ = pd.factorize(data[cluster])
    g = int(codes.max()) + 1
    if g < 2:
        raise EstimationError("the bootstrap needs at least 2 clusters", where=_WHERE)
    rows_of = np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])
    estimate = float(statistic(data))
    reps: list[float] = []
    failed = 0
    for _ in range(n_boot):
        draw = rng.integers(0, g, g)
        idx = np.concatenate([rows_of[c] for c in draw])
        copy_no = np.repeat(np.arange(g), [rows_of[c].shape[0] for c in draw])
        sample = data.iloc[idx].reset_index(drop=True)
        sample[cluster] = copy_no
        try:
            reps.append(float(statistic(sample)))
        except EstimationError:
            failed += 1
    arr = np.array(reps)
    if arr.shape[0] < 2:
        raise EstimationError(f"{failed} of {n_boot} bootstrap replicates failed", where=_WHERE)
    alpha = (1 - ci_level) / 2
    lo, hi = np.quantile(arr, [alpha, 1 - alpha])
    return BootstrapResult(
        estimate=estimate,
        std_error=float(arr.std(ddof=1)),
        ci_lower=float(lo),
        ci_upper=float(hi),
        ci_level=ci_level,
        replicates=arr,
        n_clusters=g,
        n_failed=failed,
    )
