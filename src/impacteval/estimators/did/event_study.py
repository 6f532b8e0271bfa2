"""Event studies: leads and lags of adoption with pre-trend checks.

Two estimators of the coefficients ``beta_e`` for event times ``e = t - g`` (period minus the
unit's first treated period), relative to a reference event time (default -1):

* ``method="twfe"``: the dynamic two-way fixed-effects regression
  ``y_it = a_i + l_t + sum_{e != ref} beta_e 1{t - g_i = e} + u_it``; with ``window=(lo, hi)``
  event times outside the window are binned into the end points. Under staggered adoption
  with effects that vary across cohorts, each ``beta_e`` is contaminated by effects at other
  event times (Sun and Abraham 2021).
* ``method="sun_abraham"``: Sun and Abraham's (2021) interaction-weighted estimator: the
  regression with cohort x event-time interactions (never-treated units, or if there are none
  the last-treated cohort before its adoption, as the comparison), aggregated per event time
  with the cohorts' shares of the treated observations at that event time; standard errors by
  the delta method with the shares held fixed (as fixest's ``sunab``).

Both are fitted with linearmodels ``PanelOLS`` (unit and period effects) and clustered standard
errors (``G/(G-1)``, R's ``vcovCL(type = "HC0")``, pyfixest's ``ssc(k_adj=False)``). The joint
Wald test of the pre-period coefficients is the usual pre-trend check (low power: see
Roth 2022; report it with the plot, not as a gate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.did.validation import WHERE, as_list, check_columns, check_level, numeric
from impacteval.estimators.did.wild_bootstrap import BootstrapWeights
from impacteval.exceptions import ConfigError, DesignError, EstimationError
from impacteval.results import EffectEstimate

EventMethod = Literal["twfe", "sun_abraham"]


@dataclass(frozen=True)
class EventStudyResult:
    """Event-study coefficients with their covariance and the pre-trend test.

    Attributes
    ----------
    coefficients
        ``event_time, estimate, std_error, ci_lower, ci_upper, n_units`` (treated units
        observed at that event time), one row per event time, including the reference
        (estimate 0, no standard error).
    cov
        Covariance of the non-reference estimates (rows of ``coefficients`` without the
        reference, in order).
    reference
        Reference event time.
    method
        ``"twfe"`` or ``"sun_abraham"``.
    pretrend_wald
        ``statistic, df, p_value`` of the joint test that all pre-period coefficients are 0
        (chi-squared), and its few-cluster versions (:func:`small_cluster_pretrend`).
    n_clusters
        Clusters used for the covariance.
    """

    coefficients: pd.DataFrame
    cov: np.ndarray
    reference: int
    method: str
    pretrend_wald: dict[str, float]
    n_clusters: int

    def plot(self, *, title: str | None = None) -> Figure:
        """Coefficients with pointwise confidence intervals against event time."""
        c = self.coefficients
        fig = Figure(figsize=(7.0, 4.0), layout="constrained")
        ax = fig.subplots()
        pre = c["event_time"] < 0
        for mask, colour, label in ((pre, "#7570b3", "before adoption"),
                                    (~pre, "#1b9e77", "after adoption")):
            sub = c[mask]
            ax.errorbar(sub["event_time"], sub["estimate"],
                        yerr=[sub["estimate"] - sub["ci_lower"], sub["ci_upper"] - sub["estimate"]],
                        fmt="o", color=colour, capsize=3, label=label)
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.axvline(self.reference + 0.5, color="0.6", linewidth=0.8, linestyle="--")
        ax.set_xlabel("periods since adoption")
        ax.set_ylabel(f"effect (relative to event time {self.reference})")
        p = self.pretrend_wald.get("p_value")
        sub_title = f"pre-trend Wald p = {p:.3f}" if p is not None and np.isfinite(p) else ""
        ax.set_title(title or f"Event study ({self.method}) {sub_title}".strip())
        ax.legend(frameon=False)
        return fig


def small_cluster_pretrend(statistic: float, df: int, n_clusters: int) -> dict[str, float]:
    """Few-cluster versions of a joint Wald test with a cluster-robust covariance.

    The chi-squared reference distribution of the Wald statistic ``W`` (``df = q``
    restrictions) assumes many clusters; with ``G`` clusters it over-rejects, badly when
    ``q`` is not small relative to ``G``. Two corrections (both reduce to the chi-squared
    test as ``G`` grows):

    * ``f``: ``W / q`` on ``F(q, G - 1)`` (Stata's ``test`` after ``vce(cluster)``);
    * ``hotelling``: ``(G - q) / (q (G - 1)) W`` on ``F(q, G - q)``, exact when the ``G``
      cluster scores are independent normal draws (Hotelling's T-squared; the fixed-G
      approximation of Hansen 2007 and Kiefer-Vogelsang). Needs ``G > q``.

    Parameters
    ----------
    statistic, df
        The Wald statistic and its number of restrictions ``q``.
    n_clusters
        ``G``, the number of clusters of the covariance.

    Returns
    -------
    dict
        ``f_statistic, f_df_denom, f_p_value, hotelling_statistic, hotelling_df_denom,
        hotelling_p_value`` (NaN where undefined).
    """
    W, q, G = float(statistic), int(df), int(n_clusters)
    nan = float("nan")
    out = {"f_statistic": nan, "f_df_denom": float(G - 1), "f_p_value": nan,
           "hotelling_statistic": nan, "hotelling_df_denom": float(G - q),
           "hotelling_p_value": nan}
    if q < 1 or not np.isfinite(W) or G < 2:
        return out
    out["f_statistic"] = W / q
    out["f_p_value"] = float(stats.f.sf(W / q, q, G - 1))
    if G > q:
        h = (G - q) / (q * (G - 1)) * W
        out["hotelling_statistic"] = h
        out["hotelling_p_value"] = float(stats.f.sf(h, q, G - q))
    return out


def _pretrend(coefs: pd.DataFrame, cov: np.ndarray, n_clusters: int) -> dict[str, float]:
    est = coefs.dropna(subset=["std_error"])
    pre = (est["event_time"] < 0).to_numpy()
    if not pre.any():
        return {"statistic": float("nan"), "df": 0, "p_value": float("nan"),
                **small_cluster_pretrend(float("nan"), 0, n_clusters)}
    b = est["estimate"].to_numpy()[pre]
    V = cov[np.ix_(pre, pre)]
    W = float(b @ np.linalg.pinv(V) @ b)
    df = int(np.linalg.matrix_rank(V))
    return {"statistic": W, "df": df, "p_value": float(stats.chi2.sf(W, df)),
            **small_cluster_pretrend(W, df, n_clusters)}


def event_study(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    method: EventMethod = "twfe",
    reference: int = -1,
    window: tuple[int, int] | None = None,
    clusters: str | None = None,
    ci_level: float = 0.95,
    pretrend_bootstrap: int = 0,
    bootstrap_weights: BootstrapWeights = "rademacher",
    seed: int | None = None,
) -> EventStudyResult:
    """Estimate an event study (see the module docstring).

    Parameters
    ----------
    data
        Long panel, one row per unit and period; never modified.
    outcome, unit, time, cohort
        Outcome, unit id, numeric period, first treated period (0 or missing = never).
    method
        ``"twfe"`` or ``"sun_abraham"``.
    reference
        Event time normalised to 0 (must be < 0; -1 = the period before adoption).
    window
        ``(lo, hi)``: TWFE bins event times outside into the end points; Sun-Abraham drops
        the interactions outside (they stay in the regression but are not reported).
    clusters
        Cluster column (default: the unit); must be constant within units.
    ci_level
        Confidence level of the pointwise intervals.
    pretrend_bootstrap
        Draws of the restricted wild cluster bootstrap of the pre-trend test (0 = off): adds
        ``bootstrap_p_value`` (and ``bootstrap_draws``) to ``pretrend_wald``
        (:func:`~impacteval.estimators.did.wild_bootstrap.wild_bootstrap_wald` on the two-way
        demeaned regression). Use it with few clusters, where the chi-squared test
        over-rejects.
    bootstrap_weights, seed
        Weights (``"rademacher"`` or ``"webb"``) and seed of that bootstrap.
    """
    from linearmodels.panel import PanelOLS
    from linearmodels.panel.utility import AbsorbingEffectError

    check_level(ci_level)
    if method not in ("twfe", "sun_abraham"):
        raise ConfigError(f"method must be 'twfe' or 'sun_abraham', got {method!r}",
                          where=f"{WHERE}.method", hint="use 'twfe' or 'sun_abraham'")
    if reference >= 0:
        raise ConfigError("the reference event time must be negative", where=f"{WHERE}.reference",
                          hint="use -1 (the period before adoption)")
    if window is not None and not (window[0] <= reference < 0 <= window[1]):
        raise ConfigError("window must be (lo, hi) with lo <= reference < 0 <= hi",
                          where=f"{WHERE}.window", hint="e.g. window=(-4, 4)")
    cl = clusters or unit
    check_columns(data, {"outcome": [outcome], "unit": [unit], "time": [time],
                         "cohort": [cohort], "clusters": as_list(cl)})
    t = numeric(data, time, role="time")
    g = numeric(data, cohort, role="cohort")
    g = np.where(np.isnan(g), 0.0, g)
    y = numeric(data, outcome, role="outcome")
    keep = ~np.isnan(y) & ~np.isnan(t) & data[cl].notna().to_numpy()
    frame = pd.DataFrame({"_u": data[unit].to_numpy(), "_t": t, "_g": g, "_y": y,
                          "_c": pd.factorize(data[cl])[0]})[keep]
    treated = frame["_g"] > 0
    if not treated.any():
        raise DesignError("no treated units", where=f"{WHERE}.cohort",
                          hint="the cohort column must give the first treated period")
    e = (frame["_t"] - frame["_g"]).where(treated)
    if method == "sun_abraham" and not (frame["_g"] == 0).any():
        last = frame.loc[treated, "_g"].max()
        frame = frame[frame["_t"] < last]
        e = e[frame.index]
        treated = (frame["_g"] > 0) & (frame["_g"] < last)
        e = e.where(treated)
        if not treated.any():
            raise DesignError("no never-treated units and a single cohort",
                              where=f"{WHERE}.cohort",
                              hint="Sun-Abraham needs a comparison cohort: add never-treated units")
    if method == "twfe" and window is not None:
        e = e.clip(lower=window[0], upper=window[1])
    ev = e.to_numpy()
    times = np.unique(ev[~np.isnan(ev)]).astype(int)
    times = times[times != reference]
    cols: dict[str, np.ndarray] = {}
    names: list[tuple[int, float]] = []
    if method == "twfe":
        for k in times:
            cols[f"e{k}"] = (ev == k).astype(float)
            names.append((int(k), np.nan))
    else:
        gvals = frame["_g"].to_numpy()
        for c in np.unique(gvals[treated.to_numpy()]):
            for k in times:
                m = (gvals == c) & (ev == k)
                if m.any():
                    cols[f"g{c}_e{k}"] = m.astype(float)
                    names.append((int(k), float(c)))
    X = pd.DataFrame(cols, index=frame.index)
    panel = frame.assign(**{c: X[c] for c in X.columns}).set_index(["_u", "_t"])
    if panel.index.duplicated().any():
        raise EstimationError("more than one row per unit and period", where=f"{WHERE}.data",
                              hint="aggregate the panel to one row per unit and period")
    model = PanelOLS(panel["_y"], panel[list(cols)], entity_effects=True, time_effects=True,
                     drop_absorbed=False, check_rank=True)
    try:
        res = model.fit(cov_type="clustered", clusters=panel[["_c"]], debiased=False,
                        group_debias=True, auto_df=False, count_effects=False)
    except (ValueError, AbsorbingEffectError) as exc:
        raise EstimationError(
            "the event-study regression is not identified", where=f"{WHERE}.event_study",
            hint="with no never-treated units bin the end points (window=(lo, hi)) or use "
                 "method='sun_abraham'",
        ) from exc
    n = len(panel)
    beta = res.params.to_numpy()
    V = res.cov.to_numpy() * n / (n - 1)  # linearmodels' group_debias has (n-1)/n: undo it
    unit_ids = frame["_u"].to_numpy()
    if method == "twfe":
        R = np.eye(len(beta))
        est_e, cov_e = beta, V
        event_times = times
    else:
        event_times = np.array(sorted({k for k, _ in names}))
        R = np.zeros((len(event_times), len(beta)))
        for j, (k, _cohort) in enumerate(names):
            R[np.searchsorted(event_times, k), j] = X.iloc[:, j].sum()
        R = R / R.sum(axis=1, keepdims=True)
        est_e, cov_e = R @ beta, R @ V @ R.T
    se = np.sqrt(np.diag(cov_e))
    z = stats.norm.ppf(0.5 + ci_level / 2)
    n_units = [int(pd.unique(unit_ids[ev == k]).size) for k in event_times]
    coefs = pd.DataFrame({"event_time": event_times.astype(int), "estimate": est_e,
                          "std_error": se, "ci_lower": est_e - z * se, "ci_upper": est_e + z * se,
                          "n_units": n_units})
    L = R  # coefficient rows as combinations of the regression's beta
    if window is not None:
        inside = (coefs["event_time"] >= window[0]) & (coefs["event_time"] <= window[1])
        idx = np.flatnonzero(inside.to_numpy())
        coefs, cov_e = coefs.iloc[idx].reset_index(drop=True), cov_e[np.ix_(idx, idx)]
        L = L[idx]
    wald = _pretrend(coefs, cov_e, int(frame["_c"].nunique()))
    pre_rows = (coefs["event_time"] < 0).to_numpy() & np.isfinite(coefs["std_error"].to_numpy())
    if pretrend_bootstrap and pre_rows.any():
        from impacteval.estimators.did.two_by_two import demean_two_way
        from impacteval.estimators.did.wild_bootstrap import wild_bootstrap_wald

        u_codes = pd.factorize(panel.index.get_level_values(0))[0]
        t_codes = pd.factorize(panel.index.get_level_values(1))[0]
        dm = demean_two_way(np.column_stack([panel["_y"].to_numpy(),
                                             panel[list(cols)].to_numpy()]), u_codes, t_codes)
        wb = wild_bootstrap_wald(dm[:, 1:], dm[:, 0], panel["_c"].to_numpy(), L[pre_rows],
                                 weights=bootstrap_weights, n_boot=pretrend_bootstrap,
                                 rng=np.random.default_rng(seed))
        wald.update(bootstrap_p_value=wb.p_value, bootstrap_draws=float(wb.n_boot))
    ref_row = pd.DataFrame({"event_time": [reference], "estimate": [0.0], "std_error": [np.nan],
                            "ci_lower": [0.0], "ci_upper": [0.0],
                            "n_units": [int(pd.unique(unit_ids[ev == reference]).size)]})
    table = pd.concat([coefs, ref_row]).sort_values("event_time").reset_index(drop=True)
    return EventStudyResult(coefficients=table, cov=cov_e, reference=reference, method=method,
                            pretrend_wald=wald, n_clusters=int(frame["_c"].nunique()))


@register_estimator("did_event_study")
@dataclass(frozen=True, kw_only=True)
class EventStudy:
    """Event-study estimator; the headline is the mean of the post-adoption coefficients.

    Parameters
    ----------
    method : {"twfe", "sun_abraham"}
        See :func:`event_study`.
    reference
        Reference event time (default -1).
    window
        Optional ``(lo, hi)`` event-time window.
    ci_level
        Confidence level.
    design
        Design name recorded in the estimate.

    Notes
    -----
    ``details``: ``event_study`` (the coefficient table, the figure data), ``pretrend_wald``,
    ``method``, ``reference``, ``window``, ``n_clusters``.
    """

    method: EventMethod = "sun_abraham"
    reference: int = -1
    window: tuple[int, int] | None = None
    ci_level: float = 0.95
    design: str = "difference_in_differences"

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        unit: str,
        time: str,
        cohort: str,
        clusters: str | None = None,
        covariates: Sequence[str] = (),
    ) -> EffectEstimate:
        """Fit the event study; ``covariates`` are not supported (raises if given)."""
        if covariates:
            raise ConfigError("the event study takes no covariates", where=f"{WHERE}.covariates",
                              hint="use CallawaySantAnna for covariate-adjusted event studies")
        res = event_study(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                          method=self.method, reference=self.reference, window=self.window,
                          clusters=clusters, ci_level=self.ci_level)
        c = res.coefficients.dropna(subset=["std_error"]).reset_index(drop=True)
        post = (c["event_time"] >= 0).to_numpy()
        w = post / post.sum()
        est = float(w @ c["estimate"].to_numpy())
        se = float(np.sqrt(w @ res.cov @ w))
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        g = numeric(data, cohort, role="cohort")
        ids = data[unit].to_numpy()
        treated_ids = pd.unique(ids[np.nan_to_num(g) > 0])
        return EffectEstimate(
            design=self.design, estimator="did_event_study", outcome=outcome, estimand="ATT",
            scale="difference", estimate=est, std_error=se, ci_lower=est - z * se,
            ci_upper=est + z * se, p_value=float(2 * stats.norm.sf(abs(est / se))),
            n_treated=int(treated_ids.size),
            n_control=int(pd.unique(ids).size - treated_ids.size), ci_level=self.ci_level,
            label=f"event study ({self.method}), mean of post-adoption effects",
            details={"event_study": res.coefficients, "pretrend_wald": res.pretrend_wald,
                     "method": self.method, "reference": self.reference,
                     "window": list(self.window) if self.window else None,
                     "n_clusters": res.n_clusters},
        )
