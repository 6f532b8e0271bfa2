"""Two-group, two-period difference-in-differences (means and regression) and TWFE.

:class:`DifferenceInDifferences` is the textbook 2x2 comparison::

    y = b0 + b1 * treated + b2 * post + tau * treated x post (+ covariates) + u

``tau`` equals the difference of the four cell means when there are no covariates. Standard
errors are cluster-robust (R's ``sandwich::vcovCL``; ``HC1`` is vcovCL's default for ``lm``,
``HC0`` keeps only the ``G/(G-1)`` factor); cluster on the unit (store, practice, area) or a
higher level (trust, region). With few clusters, ask for a restricted wild cluster bootstrap
p-value (:mod:`impacteval.estimators.did.wild_bootstrap`).

:class:`TwoWayFixedEffects` fits unit and period fixed effects with linearmodels'
``PanelOLS`` and a 0/1 treatment indicator (optionally time-varying covariates). Under
staggered adoption with heterogeneous effects this estimate is a weighted average with
possibly negative weights (see :func:`~impacteval.estimators.did.bacon.bacon_decomposition`
and :class:`~impacteval.estimators.did.staggered.CallawaySantAnna`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.did.ols import ols
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
from impacteval.estimators.did.wild_bootstrap import BootstrapWeights, wild_cluster_bootstrap
from impacteval.exceptions import ConfigError, EstimationError
from impacteval.results import EffectEstimate

CovKind = Literal["HC0", "HC1"]


def _check_common(ci_level: float, cov_kind: str) -> None:
    check_level(ci_level)
    if cov_kind not in ("HC0", "HC1"):
        raise ConfigError(f"cov_kind must be 'HC0' or 'HC1', got {cov_kind!r}",
                          where=f"{WHERE}.cov_kind", hint="use 'HC1' (vcovCL's default for lm)")


@register_estimator("did_2x2")
@dataclass(frozen=True, kw_only=True)
class DifferenceInDifferences:
    """Two-group, two-period difference-in-differences (ATT under parallel trends).

    Parameters
    ----------
    method : {"regression", "means"}
        ``"means"`` is the difference of the four cell means (no covariates allowed); its
        standard error is the regression's, to which it is numerically identical.
    cov_kind : {"HC1", "HC0"}
        Small-sample factor of the cluster-robust covariance (see the module docstring).
    ci_level
        Confidence level of the Wald interval (normal reference distribution).
    wild_bootstrap
        Number of restricted wild cluster bootstrap draws for the p-value (0 = off). Needs
        clusters.
    bootstrap_weights : {"rademacher", "webb"}
        Bootstrap weights (Webb's six-point weights for fewer than about 12 clusters).
    wild_bootstrap_ci
        Also invert the bootstrap test into a ``ci_level`` confidence interval (about 30
        bootstrap runs; off by default).
    seed
        Seed of the bootstrap's ``numpy.random.Generator``.
    design
        Design name recorded in the estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1., 2., 2., 5., 1., 2., 1., 2.],
    ...                    "nj": [1, 1, 1, 1, 0, 0, 0, 0], "post": [0, 1, 0, 1, 0, 1, 0, 1],
    ...                    "store": [1, 1, 2, 2, 3, 3, 4, 4]})
    >>> est = DifferenceInDifferences().fit(df, outcome="y", treated="nj", post="post",
    ...                                     clusters="store")
    >>> round(est.estimate, 3)
    1.0
    """

    method: Literal["regression", "means"] = "regression"
    cov_kind: CovKind = "HC1"
    ci_level: float = 0.95
    wild_bootstrap: int = 0
    bootstrap_weights: BootstrapWeights = "rademacher"
    wild_bootstrap_ci: bool = False
    seed: int | None = None
    design: str = "difference_in_differences"

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treated: str,
        post: str,
        clusters: str | Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        unit: str | None = None,
        weights: str | None = None,
    ) -> EffectEstimate:
        """Estimate the 2x2 DiD.

        Parameters
        ----------
        data
            One row per unit and period (or repeated cross-sections); never modified.
        outcome, treated, post
            Outcome column, 0/1 treated-group column, 0/1 post-period column.
        clusters
            Cluster column(s) (two columns = two-way clustering); ``None`` = each row its own
            cluster (heteroskedasticity-robust).
        covariates
            Numeric covariate columns (categorical ones must be dummy-coded first).
        unit
            Unit identifier, used only to count treated and control units (rows otherwise).
        weights
            Optional prior weights (e.g. matching weights; rows with weight 0 are dropped):
            weighted least squares, cell means weighted, ``lm(weights = )`` + ``vcovCL``.

        Returns
        -------
        EffectEstimate
            Scale ``"difference"``, estimand ``"ATT"``. ``details``: ``cell_means`` (rows
            ``group, period, mean, n``), ``cov_kind``, ``cluster``, ``n_clusters``,
            ``n_rows``, ``n_rows_dropped`` (missing values), ``method``, and with the
            bootstrap ``wild_bootstrap_p_value``, ``wild_bootstrap_draws``,
            ``wild_bootstrap_weights``, ``wild_bootstrap_enumerated``.
        """
        _check_common(self.ci_level, self.cov_kind)
        if self.method not in ("regression", "means"):
            raise ConfigError(f"method must be 'regression' or 'means', got {self.method!r}",
                              where=f"{WHERE}.method", hint="use 'regression' or 'means'")
        covs = list(covariates)
        if self.method == "means" and covs:
            raise ConfigError("the 'means' method takes no covariates", where=f"{WHERE}.covariates",
                              hint="use method='regression' to adjust for covariates")
        cl_cols = as_list(clusters)
        check_columns(data, {"outcome": [outcome], "treated": [treated], "post": [post],
                             "clusters": cl_cols, "covariates": covs,
                             "unit": as_list(unit), "weights": as_list(weights)})
        y = numeric(data, outcome, role="outcome")
        w = weights_column(data, weights)
        d = binary(data, treated, role="treated")
        t = binary(data, post, role="post")
        Z = np.column_stack([numeric(data, c, role="covariates") for c in covs]) if covs else \
            np.empty((len(data), 0))
        keep = ~(np.isnan(y) | np.isnan(d) | np.isnan(t) | np.isnan(Z).any(axis=1)
                 | np.isnan(w)) & (w > 0)
        if cl_cols:
            keep &= data[cl_cols].notna().all(axis=1).to_numpy()
        y, d, t, Z, w = y[keep], d[keep], t[keep], Z[keep], w[keep]
        for dv, tv, name in ((1, 0, "treated/pre"), (1, 1, "treated/post"),
                             (0, 0, "control/pre"), (0, 1, "control/post")):
            require(bool(np.any((d == dv) & (t == tv))), f"no complete rows in the {name} cell",
                    where=f"{WHERE}.data", hint="each group needs outcomes before and after")
        X = np.column_stack([np.ones_like(y), d, t, d * t, Z])
        cl = data.loc[keep, cl_cols].reset_index(drop=True) if cl_cols else None
        fit = ols(X, y, cl, kind=self.cov_kind, weights=None if weights is None else w)
        means = pd.DataFrame(
            [{"group": "treated" if dv else "control", "period": "post" if tv else "pre",
              "mean": float(np.average(y[(d == dv) & (t == tv)], weights=w[(d == dv) & (t == tv)])),
              "n": int(((d == dv) & (t == tv)).sum())}
             for dv in (1, 0) for tv in (0, 1)]
        )
        m = means.set_index(["group", "period"])["mean"]
        did_means = (m["treated", "post"] - m["treated", "pre"]) - (m["control", "post"] - m["control", "pre"])
        est = float(did_means) if self.method == "means" else float(fit.coef[3])
        se = float(np.sqrt(fit.cov[3, 3]))
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        details: dict[str, object] = {
            "cell_means": means, "cov_kind": self.cov_kind, "cluster": cl_cols,
            "n_clusters": fit.n_clusters if cl_cols else [], "n_rows": int(keep.sum()),
            "n_rows_dropped": int((~keep).sum()), "method": self.method,
            "covariates": covs, "weights": weights,
        }
        if self.wild_bootstrap:
            if weights is not None:
                raise ConfigError("the wild cluster bootstrap does not take weights",
                                  where=f"{WHERE}.wild_bootstrap",
                                  hint="use the clustered standard errors with weights")
            if not cl_cols or len(cl_cols) != 1:
                raise ConfigError("the wild cluster bootstrap needs exactly one cluster column",
                                  where=f"{WHERE}.wild_bootstrap", hint="pass clusters='<column>'")
            wb = wild_cluster_bootstrap(X, y, cl.iloc[:, 0].to_numpy(), 3,  # type: ignore[union-attr]
                                        weights=self.bootstrap_weights, n_boot=self.wild_bootstrap,
                                        rng=np.random.default_rng(self.seed),
                                        ci_level=self.ci_level if self.wild_bootstrap_ci else None)
            details.update(wild_bootstrap_p_value=wb.p_value, wild_bootstrap_draws=wb.n_boot,
                           wild_bootstrap_weights=wb.weights,
                           wild_bootstrap_enumerated=wb.enumerated)
            if self.wild_bootstrap_ci:
                details.update(wild_bootstrap_ci_lower=wb.ci_lower,
                               wild_bootstrap_ci_upper=wb.ci_upper)
        if unit is not None:
            units = data.loc[keep, [unit]].assign(_d=d)
            n_t = int(units.loc[units["_d"] == 1, unit].nunique())
            n_c = int(units.loc[units["_d"] == 0, unit].nunique())
        else:
            n_t, n_c = int((d == 1).sum()), int((d == 0).sum())
        return EffectEstimate(
            design=self.design, estimator="did_2x2", outcome=outcome, estimand="ATT",
            scale="difference", estimate=est, std_error=se, ci_lower=est - z * se,
            ci_upper=est + z * se, p_value=float(2 * stats.norm.sf(abs(est / se))),
            n_treated=n_t, n_control=n_c, ci_level=self.ci_level, details=details,
        )


def demean_two_way(
    values: np.ndarray, unit_codes: np.ndarray, time_codes: np.ndarray, *,
    tol: float = 1e-13, max_iter: int = 10_000,
) -> np.ndarray:
    """Residuals of ``values`` (n, k) on unit and period dummies by alternating projections.

    Exact after one sweep on a balanced panel; iterates to ``tol`` on unbalanced panels
    (Guimaraes and Portugal 2010). By Frisch-Waugh-Lovell, OLS on the demeaned columns gives
    the two-way fixed-effects coefficients, residuals and (unit-clustered) scores.
    """
    v = np.array(values, dtype=float, copy=True)
    n_u, n_t = int(unit_codes.max()) + 1, int(time_codes.max()) + 1
    cnt_u = np.bincount(unit_codes, minlength=n_u)[:, None]
    cnt_t = np.bincount(time_codes, minlength=n_t)[:, None]
    scale = max(float(np.max(np.abs(v))), 1.0)
    for _ in range(max_iter):
        sums = np.zeros((n_u, v.shape[1]))
        np.add.at(sums, unit_codes, v)
        v -= (sums / cnt_u)[unit_codes]
        sums = np.zeros((n_t, v.shape[1]))
        np.add.at(sums, time_codes, v)
        shift = (sums / cnt_t)[time_codes]
        v -= shift
        if np.max(np.abs(shift)) < tol * scale:
            return v
    raise EstimationError("two-way demeaning did not converge", where=f"{WHERE}.twfe",
                          hint="the panel may be badly connected; check units observed once")


@register_estimator("did_twfe")
@dataclass(frozen=True, kw_only=True)
class TwoWayFixedEffects:
    """Two-way (unit and period) fixed-effects regression on a 0/1 treatment indicator.

    Fitted by linearmodels ``PanelOLS(entity_effects=True, time_effects=True)`` with the
    clustered covariance, the absorbed effects not counted in the degrees of freedom (they
    are nested in the unit clusters). ``cov_kind="HC0"`` uses the factor ``G/(G-1)``, equal to
    R's ``sandwich::vcovCL(type="HC0")`` on the dummy-variable regression (linearmodels'
    ``group_debias`` factor ``G/(G-1) (n-1)/n`` is rescaled by ``n/(n-1)``); ``"HC1"`` is
    linearmodels' ``debiased`` covariance, ``G/(G-1) (n-1)/(n-k)`` with k the non-absorbed
    regressors (Stata's ``xtreg, fe vce(cluster)`` convention without the effects).

    Parameters
    ----------
    cov_kind : {"HC0", "HC1"}
        Small-sample factor (see above).
    ci_level
        Confidence level (normal reference distribution).
    wild_bootstrap
        Restricted wild cluster bootstrap draws (0 = off), for few clusters (e.g. a handful
        of adopting areas). Run on the two-way demeaned data (Frisch-Waugh-Lovell), which
        reproduces the fixed-effects regression's coefficient and clustered t statistic.
        Needs exactly one cluster column.
    bootstrap_weights : {"rademacher", "webb"}
        Bootstrap weights.
    wild_bootstrap_ci
        Also the bootstrap confidence interval by test inversion.
    seed
        Seed of the bootstrap.
    design
        Design name recorded in the estimate.
    """

    cov_kind: CovKind = "HC0"
    ci_level: float = 0.95
    wild_bootstrap: int = 0
    bootstrap_weights: BootstrapWeights = "rademacher"
    wild_bootstrap_ci: bool = False
    seed: int | None = None
    design: str = "difference_in_differences"

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treatment: str,
        unit: str,
        time: str,
        clusters: str | Sequence[str] | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Estimate the TWFE coefficient on ``treatment``.

        Parameters
        ----------
        data
            Long panel, one row per unit and period; never modified.
        outcome, treatment, unit, time
            Outcome, 0/1 treatment-in-effect indicator, unit id and period columns.
        clusters
            Cluster column(s), at most two (default: the unit).
        covariates
            Numeric, time-varying covariates (time-invariant ones are absorbed).

        Returns
        -------
        EffectEstimate
            ``details``: ``cluster``, ``n_clusters``, ``cov_kind``, ``n_rows``,
            ``n_rows_dropped``, ``covariates`` and, with the bootstrap, the
            ``wild_bootstrap_*`` keys of :class:`DifferenceInDifferences`.
        """
        from linearmodels.panel import PanelOLS
        from linearmodels.panel.utility import AbsorbingEffectError

        _check_common(self.ci_level, self.cov_kind)
        covs = list(covariates)
        cl_cols = as_list(clusters) or [unit]
        if len(cl_cols) > 2:
            raise ConfigError("at most two cluster columns", where=f"{WHERE}.clusters",
                              hint="cluster on the unit or one higher level")
        check_columns(data, {"outcome": [outcome], "treatment": [treatment], "unit": [unit],
                             "time": [time], "clusters": cl_cols, "covariates": covs})
        frame = pd.DataFrame({
            "_u": data[unit].to_numpy(), "_t": data[time].to_numpy(),
            "_y": numeric(data, outcome, role="outcome"),
            "_d": binary(data, treatment, role="treatment"),
        })
        for j, c in enumerate(covs):
            frame[f"_x{j}"] = numeric(data, c, role="covariates")
        for j, c in enumerate(cl_cols):
            frame[f"_c{j}"] = pd.factorize(data[c])[0]
        keep = frame.notna().all(axis=1) & (frame[[f"_c{j}" for j in range(len(cl_cols))]] >= 0).all(axis=1)
        frame = frame.loc[keep]
        if frame.duplicated(["_u", "_t"]).any():
            raise EstimationError("more than one row per unit and period", where=f"{WHERE}.data",
                                  hint="aggregate the panel to one row per unit and period")
        require(frame["_d"].nunique() == 2, "the treatment indicator does not vary",
                where=f"{WHERE}.treatment", hint="the panel needs treated and untreated unit-periods")
        frame = frame.set_index(["_u", "_t"])
        exog = frame[["_d"] + [f"_x{j}" for j in range(len(covs))]]
        model = PanelOLS(frame["_y"], exog, entity_effects=True, time_effects=True,
                         drop_absorbed=False, check_rank=True)
        try:
            res = model.fit(cov_type="clustered", clusters=frame[[f"_c{j}" for j in range(len(cl_cols))]],
                            debiased=self.cov_kind == "HC1", group_debias=True,
                            auto_df=False, count_effects=False)
        except (ValueError, AbsorbingEffectError) as exc:
            raise EstimationError("the two-way fixed-effects model could not be fitted",
                                  where=f"{WHERE}.twfe",
                                  hint="check that treatment varies within units and periods") from exc
        est = float(res.params["_d"])
        se = float(res.std_errors["_d"])
        if self.cov_kind == "HC0":
            se *= float(np.sqrt(len(frame) / (len(frame) - 1)))
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        ever = frame.groupby(level=0)["_d"].max()
        details: dict[str, object] = {
            "cluster": cl_cols,
            "n_clusters": [int(frame[f"_c{j}"].nunique()) for j in range(len(cl_cols))],
            "cov_kind": self.cov_kind, "n_rows": int(keep.sum()),
            "n_rows_dropped": int((~keep).sum()), "covariates": covs,
        }
        if self.wild_bootstrap:
            if len(cl_cols) != 1:
                raise ConfigError("the wild cluster bootstrap needs exactly one cluster column",
                                  where=f"{WHERE}.wild_bootstrap", hint="pass clusters='<column>'")
            u_codes = pd.factorize(frame.index.get_level_values(0))[0]
            t_codes = pd.factorize(frame.index.get_level_values(1))[0]
            cols = frame[["_y", *exog.columns]].to_numpy(dtype=float)
            dm = demean_two_way(cols, u_codes, t_codes)
            wb = wild_cluster_bootstrap(dm[:, 1:], dm[:, 0], frame["_c0"].to_numpy(), 0,
                                        weights=self.bootstrap_weights, n_boot=self.wild_bootstrap,
                                        rng=np.random.default_rng(self.seed),
                                        ci_level=self.ci_level if self.wild_bootstrap_ci else None,
                                        absorb=lambda M: demean_two_way(M, u_codes, t_codes))
            details.update(wild_bootstrap_p_value=wb.p_value, wild_bootstrap_draws=wb.n_boot,
                           wild_bootstrap_weights=wb.weights,
                           wild_bootstrap_enumerated=wb.enumerated)
            if self.wild_bootstrap_ci:
                details.update(wild_bootstrap_ci_lower=wb.ci_lower,
                               wild_bootstrap_ci_upper=wb.ci_upper)
        return EffectEstimate(
            design=self.design, estimator="did_twfe", outcome=outcome, estimand="ATT",
            scale="difference", estimate=est, std_error=se, ci_lower=est - z * se,
            ci_upper=est + z * se, p_value=float(2 * stats.norm.sf(abs(est / se))),
            n_treated=int((ever == 1).sum()), n_control=int((ever == 0).sum()),
            ci_level=self.ci_level, details=details,
        )
