"""Count outcomes: Poisson (PPML) difference-in-differences with an exposure offset.

``log E[y] = log(exposure) + b0 + b1 treated + b2 post + b3 treated x post (+ covariates)``, or
with ``fixed_effects=True`` unit and period dummies in place of ``treated`` and ``post``
(TWFE Poisson; ``treated x post`` may then switch on at unit-specific times). The rate ratio
``exp(b3)`` is the ratio of the treated group's post-period rate to the rate it would have had
if its rate had changed by the same factor as the comparison group's (parallel trends in
*ratios*; Wooldridge 2023, "Simple approaches to nonlinear difference-in-differences with
panel data"). Poisson quasi-likelihood is consistent for the conditional mean whatever the
dispersion, so the standard errors must be cluster-robust: fitted with statsmodels ``GLM``,
covariance ``sandwich::vcovCL(type="HC0")`` (:mod:`impacteval.inference.cluster`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.did.validation import (
    WHERE,
    as_list,
    binary,
    check_columns,
    check_level,
    numeric,
    require,
    weights_column,
)
from impacteval.exceptions import ConfigError, EstimationError, SchemaError
from impacteval.inference.cluster import sandwich_cov
from impacteval.results import EffectEstimate

_MAX_DUMMIES = 5000


@register_estimator("did_poisson")
@dataclass(frozen=True, kw_only=True)
class PoissonDiD:
    """Poisson (PPML) DiD for counts with an exposure (person-time, population) offset.

    Parameters
    ----------
    fixed_effects
        Unit and period dummies instead of the group and period indicators (needs ``unit``
        and ``time``; at most 5,000 dummies: aggregate person-level data to areas first).
    ci_level
        Confidence level (Wald, log scale).
    rate_per
        Crude rates in ``details`` are per this many exposure units (1,000 person-years).
    design
        Design name recorded in the estimate.
    """

    fixed_effects: bool = False
    ci_level: float = 0.95
    rate_per: float = 1000.0
    design: str = "difference_in_differences"

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        exposure: str,
        treated: str,
        post: str,
        clusters: str | Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        unit: str | None = None,
        time: str | None = None,
        weights: str | None = None,
    ) -> EffectEstimate:
        """Estimate the DiD rate ratio.

        Parameters
        ----------
        data
            One row per unit (or cell) and period; never modified.
        outcome, exposure
            Event count (>= 0) and exposure (> 0) columns.
        treated, post
            0/1 group and post-period columns (with ``fixed_effects`` ``post`` may be
            unit-specific: 1 from the unit's adoption onwards).
        clusters
            Cluster column(s) (default: ``unit`` if given, else each row).
        covariates
            Numeric covariates.
        unit, time
            Unit and period columns (needed for ``fixed_effects``).
        weights
            Optional prior weights (matching weights; rows with weight 0 dropped), as R's
            ``glm(weights = )``; crude cell rates are weighted too.

        Returns
        -------
        EffectEstimate
            Scale ``"rate_ratio"``; ``std_error`` on the log scale. ``details``:
            ``log_rate_ratio``, ``se_scale`` (``"log"``), ``cell_rates`` (``group, period,
            events, exposure, rate``; per ``rate_per``), ``rate_per``, ``cluster``,
            ``n_clusters``, ``fixed_effects``, ``n_rows``, ``n_rows_dropped``, ``converged``.
        """
        import statsmodels.api as sm  # deferred: slow to import, needed only here

        check_level(self.ci_level)
        covs = list(covariates)
        cl_cols = as_list(clusters) or as_list(unit)
        if self.fixed_effects and (unit is None or time is None):
            raise ConfigError("fixed_effects=True needs the unit and time columns",
                              where=f"{WHERE}.fixed_effects", hint="pass unit= and time=")
        check_columns(data, {"outcome": [outcome], "exposure": [exposure], "treated": [treated],
                             "post": [post], "clusters": cl_cols, "covariates": covs,
                             "unit": as_list(unit), "time": as_list(time),
                             "weights": as_list(weights)})
        y = numeric(data, outcome, role="outcome")
        w = weights_column(data, weights)
        e = numeric(data, exposure, role="exposure")
        d = binary(data, treated, role="treated")
        t = binary(data, post, role="post")
        if np.any(y[~np.isnan(y)] < 0):
            raise SchemaError(f"column '{outcome}' has negative counts", where=f"{WHERE}.outcome",
                              hint="the outcome must be an event count")
        if np.any(e[~np.isnan(e)] <= 0):
            raise SchemaError(f"column '{exposure}' has non-positive values",
                              where=f"{WHERE}.exposure",
                              hint="drop rows without exposure (person-time or population)")
        Z = np.column_stack([numeric(data, c, role="covariates") for c in covs]) if covs else \
            np.empty((len(data), 0))
        keep = ~(np.isnan(y) | np.isnan(e) | np.isnan(d) | np.isnan(t) | np.isnan(Z).any(axis=1)
                 | np.isnan(w)) & (w > 0)
        if cl_cols:
            keep &= data[cl_cols].notna().all(axis=1).to_numpy()
        y, e, d, t, Z, w = y[keep], e[keep], d[keep], t[keep], Z[keep], w[keep]
        dt = d * t
        require(bool(dt.any()) and bool((dt == 0).any()), "no treated post-period rows",
                where=f"{WHERE}.data", hint="the treated group needs post-period data")
        if self.fixed_effects:
            fe = [pd.get_dummies(pd.Categorical(data.loc[keep, c]), drop_first=True, dtype=float)
                  for c in (unit, time)]
            n_dummies = sum(f.shape[1] for f in fe)
            if n_dummies > _MAX_DUMMIES:
                raise ConfigError(f"{n_dummies} fixed-effect dummies (limit {_MAX_DUMMIES})",
                                  where=f"{WHERE}.fixed_effects",
                                  hint="aggregate to areas or use fixed_effects=False")
            X = np.column_stack([np.ones_like(y), dt, Z] + [f.to_numpy() for f in fe])
        else:
            X = np.column_stack([np.ones_like(y), d, t, dt, Z])
        k = 1 if self.fixed_effects else 3
        try:
            res = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(e),
                         var_weights=w).fit(
                method="IRLS", tol=1e-12, maxiter=200)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise EstimationError("the Poisson model could not be fitted", where=f"{WHERE}.poisson",
                                  hint="check for groups or periods without any events") from exc
        mu = res.fittedvalues
        bread = np.linalg.pinv((X.T * (w * mu)) @ X)
        cl = data.loc[keep, cl_cols].reset_index(drop=True) if cl_cols else None
        cov, n_cl = sandwich_cov(bread, X * (w * (y - mu))[:, None], cl, kind="HC0")
        b = float(res.params[k])
        se = float(np.sqrt(cov[k, k]))
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        cells = pd.DataFrame(
            [{"group": "treated" if dv else "control", "period": "post" if tv else "pre",
              "events": float((w * y)[(d == dv) & (t == tv)].sum()),
              "exposure": float((w * e)[(d == dv) & (t == tv)].sum())}
             for dv in (1, 0) for tv in (0, 1)]
        )
        cells["rate"] = cells["events"] / cells["exposure"] * self.rate_per
        if unit is not None:
            ids = data.loc[keep, unit].to_numpy()
            n_t, n_c = int(pd.unique(ids[d == 1]).size), int(pd.unique(ids[d == 0]).size)
        else:
            n_t, n_c = int((d == 1).sum()), int((d == 0).sum())
        return EffectEstimate(
            design=self.design, estimator="did_poisson", outcome=outcome, estimand="ATT",
            scale="rate_ratio", estimate=float(np.exp(b)), std_error=se,
            ci_lower=float(np.exp(b - z * se)), ci_upper=float(np.exp(b + z * se)),
            p_value=float(2 * stats.norm.sf(abs(b / se))), n_treated=n_t, n_control=n_c,
            ci_level=self.ci_level,
            details={"log_rate_ratio": b, "se_scale": "log", "cell_rates": cells,
                     "rate_per": self.rate_per, "cluster": cl_cols,
                     "n_clusters": n_cl if cl_cols else [], "fixed_effects": self.fixed_effects,
                     "n_rows": int(keep.sum()), "n_rows_dropped": int((~keep).sum()),
                     "converged": bool(res.converged), "weights": weights},
        )
