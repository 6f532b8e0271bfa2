"""Ridge augmented synthetic control (Ben-Michael, Feller and Rothstein 2021, *JASA*
116:1789-1803), as R augsynth with ``progfunc="Ridge"`` and no covariates.

``AugmentedSyntheticControl`` is registered as ``"augmented_synthetic_control"``. The
synthetic control weights on the pre-period outcomes (each period centred at the donors'
mean) are corrected by a ridge regression of the treated unit's remaining pre-period
imbalance on the donors: ``w_aug = w_sc + (x1 - X0 w_sc)' (X0 X0' + lambda I)^-1 X0``. The
correction can make weights negative (extrapolation beyond the donors' convex hull), trading
a little variance for less bias when the synthetic control cannot fit the treated unit. The
penalty is chosen, when not given, by leave-one-period-out cross-validation over the
pre-period with the one-standard-error rule (augsynth's defaults: 21 values from the largest
squared singular value down by 1e-8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from impacteval.estimators.base import register_estimator
from impacteval.estimators.synthetic.panel import build_panel
from impacteval.estimators.synthetic.simplex import simplex_least_squares
from impacteval.exceptions import ConfigError, DesignError
from impacteval.results import EffectEstimate

FloatArray = np.ndarray
WHERE = "augmented_synthetic_control"


def ridge_correction(x0: FloatArray, x1: FloatArray, w: FloatArray, lam: float) -> FloatArray:
    """``(x1 - x0 w)' (x0 x0' + lam I)^-1 x0`` for ``x0`` of shape (periods, donors)."""
    m = x1 - x0 @ w
    return np.linalg.solve(x0 @ x0.T + lam * np.eye(x0.shape[0]), m) @ x0


def lambda_grid(x0: FloatArray, min_ratio: float = 1e-8, n: int = 20) -> FloatArray:
    """augsynth's penalty grid: ``s1^2 * r^(k - 1)``, ``r = min_ratio^(1/n)``, k = 0..n."""
    s1 = np.linalg.svd(x0, compute_uv=False)[0]
    return s1**2 * (min_ratio ** (1 / n)) ** (np.arange(n + 1) - 1)


def cross_validate(x0: FloatArray, x1: FloatArray, lambdas: FloatArray
                   ) -> tuple[FloatArray, FloatArray]:
    """Mean and SE of the held-out squared error, each of periods 1..T0-1 held out in turn."""
    t0 = x0.shape[0]
    errs = np.empty((t0 - 1, lambdas.size))
    for i in range(t0 - 1):
        keep = np.delete(np.arange(t0), i)
        w = simplex_least_squares(x0[keep], x1[keep])
        for j, lam in enumerate(lambdas):
            wa = w + ridge_correction(x0[keep], x1[keep], w, float(lam))
            errs[i, j] = float((x1[i] - x0[i] @ wa) ** 2)
    return errs.mean(axis=0), errs.std(axis=0, ddof=1) / math.sqrt(t0 - 1)


@dataclass(frozen=True)
class AugmentedFit:
    """Augmented SC fit: weights (SC and augmented), penalty, path and summary numbers."""

    weights: pd.Series
    sc_weights: pd.Series
    lambda_: float
    path: pd.DataFrame
    att: float
    pre_rmspe: float
    cv: pd.DataFrame | None


@register_estimator("augmented_synthetic_control")
@dataclass(frozen=True, kw_only=True)
class AugmentedSyntheticControl:
    """Ridge augmented synthetic control for one treated unit.

    Parameters
    ----------
    lambda_
        Ridge penalty; ``None`` (default) chooses it by cross-validation (1-SE rule).
    level
        Nominal level (recorded; this estimator reports no interval: use the classic
        estimator's placebos or ``synthetic_did`` for inference).

    Notes
    -----
    ``details``: ``weights`` (may be negative), ``sc_weights``, ``lambda``, ``pre_rmspe``,
    ``gaps`` (time -> gap).
    """

    design: ClassVar[str] = "synthetic_control"

    lambda_: float | None = None
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.lambda_ is not None and not (math.isfinite(self.lambda_) and self.lambda_ > 0):
            raise ConfigError("lambda_ must be a positive number", where=f"{WHERE}.lambda_")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{WHERE}.level")

    def fit_details(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                    treatment: str) -> AugmentedFit:
        """Fit and return the full :class:`AugmentedFit` (roles as ``fit``)."""
        panel, _ = build_panel(data, unit=unit, time=time, outcome=outcome,
                               treatment=treatment, where=WHERE, min_pre_periods=3)
        if panel.n_treated != 1:
            raise DesignError(f"takes one treated unit; found {panel.n_treated}",
                              where=f"{WHERE}.{treatment}")
        n0, t0 = panel.n_control, panel.adoption[0]
        y0, y1 = panel.y[:n0].T, panel.y[n0]  # (times, donors), (times,)
        centre = y0[:t0].mean(axis=1)
        x0 = y0[:t0] - centre[:, None]
        x1 = y1[:t0] - centre
        cv = None
        if self.lambda_ is None:
            grid = lambda_grid(x0)
            mean, se = cross_validate(x0, x1, grid)
            best = int(np.argmin(mean))
            lam = float(grid[mean <= mean[best] + se[best]].max())
            cv = pd.DataFrame({"lambda": grid, "error_mean": mean, "error_se": se})
        else:
            lam = float(self.lambda_)
        w_sc = simplex_least_squares(x0, x1)
        w = w_sc + ridge_correction(x0, x1, w_sc, lam)
        gap = y1 - y0 @ w
        donors = pd.Index(panel.units[:n0], name="unit")
        times = list(panel.times)
        return AugmentedFit(
            weights=pd.Series(w, index=donors, name="weight"),
            sc_weights=pd.Series(w_sc, index=donors, name="weight"), lambda_=lam,
            path=pd.DataFrame({"time": times, "treated": y1, "synthetic": y0 @ w, "gap": gap,
                               "post": np.arange(len(times)) >= t0}),
            att=float(gap[t0:].mean()), pre_rmspe=float(np.sqrt(np.mean(gap[:t0] ** 2))), cv=cv)

    def fit(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
            treatment: str) -> EffectEstimate:
        """Fit and summarise as an :class:`EffectEstimate` (mean post-period gap).

        Parameters
        ----------
        data
            Long table, one row per unit and period.
        unit, time, outcome
            Column names.
        treatment
            0/1 column: 1 for the treated unit from its first treated period on.
        """
        res = self.fit_details(data, unit=unit, time=time, outcome=outcome, treatment=treatment)
        return EffectEstimate(
            design="synthetic_control", estimator="augmented_synthetic_control",
            outcome=outcome, estimand="ATT", scale="difference", estimate=res.att,
            std_error=math.nan, ci_lower=math.nan, ci_upper=math.nan, p_value=math.nan,
            n_treated=1, n_control=int(res.weights.size), ci_level=self.level,
            details={"weights": {str(k): float(v) for k, v in res.weights.items()},
                     "sc_weights": {str(k): float(v) for k, v in res.sc_weights.items()},
                     "lambda": res.lambda_, "pre_rmspe": res.pre_rmspe,
                     "gaps": {str(t): float(g) for t, g in
                              zip(res.path["time"], res.path["gap"], strict=True)}})
