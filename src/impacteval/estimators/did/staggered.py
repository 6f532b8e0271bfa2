"""Staggered adoption: Callaway and Sant'Anna (2021) group-time average treatment effects.

For every cohort g (units first treated in period g) and period t, ATT(g,t) compares the
outcome change of cohort g from a base period to t with the change of a comparison group:

* comparison units: never treated (``control_group="never_treated"``) or, in addition, units
  not yet treated by period ``t + anticipation`` (``"not_yet_treated"``, cohort g excluded);
* base period (did's default ``base_period="varying"``): for post-treatment cells (t >= g)
  the last period before ``g - anticipation``; for pre-treatment cells the period before t
  (these "pseudo-ATTs" are the pre-trend checks). With ``base_period="universal"`` every cell
  uses the last period before ``g - anticipation`` (that cell is reported as 0 with no
  standard error), which makes pre- and post-period estimates comparable in an event-study
  plot (Roth 2024, "Interpreting event-studies from recent difference-in-differences
  methods");
* each 2x2 comparison by outcome regression, IPW or doubly robust estimation
  (:mod:`impacteval.estimators.did.drdid`) with covariates measured in the base period.

Standard errors come from the influence functions (clustered on the unit), with an optional
multiplier bootstrap for uniform confidence bands. Everything is vectorised over units: the
only Python loops are over cohorts and periods. Units are dropped when they are not observed in
every period (counted) or are treated in the first period (no pre-period; counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.did.aggregation import (
    KINDS,
    Aggregation,
    aggregate,
    cluster_sums,
    influence_se,
)
from impacteval.estimators.did.drdid import EstMethod, att_2x2
from impacteval.estimators.did.multiplier import multiplier_bootstrap
from impacteval.estimators.did.panel import WidePanel, wide_panel
from impacteval.estimators.did.validation import WHERE, check_level, require
from impacteval.exceptions import ConfigError
from impacteval.results import EffectEstimate

ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["varying", "universal"]


@dataclass(frozen=True)
class GroupTimeATT:
    """Group-time ATTs with their influence functions.

    Attributes
    ----------
    cells
        One row per (cohort, time): ``cohort, time, base_period, event_time, post, att,
        std_error, n_treated, n_control``.
    influence
        Influence functions, (n_units, cells), scaled so ``se = sqrt(sum(psi**2)) / n``.
    unit_cohort
        Cohort of each unit in the analysis (0 = never treated).
    control_group, est_method, anticipation, base_period
        Settings used.
    n_dropped
        Units dropped: ``unbalanced`` (missing periods or values), ``treated_first_period``.
    unit_cluster
        Cluster code per unit when standard errors are clustered above the unit.
    unit_weight
        Unit weights when given (sampling or population weights).
    """

    cells: pd.DataFrame
    influence: np.ndarray
    unit_cohort: np.ndarray
    control_group: str
    est_method: str
    anticipation: int
    base_period: str = "varying"
    n_dropped: dict[str, int] = field(default_factory=dict)
    unit_cluster: np.ndarray | None = None
    unit_weight: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        """Number of units in the analysis."""
        return int(self.influence.shape[0])

    def aggregate(self, kind: str) -> Aggregation:
        """Simple, group, dynamic or calendar aggregation with analytic standard errors."""
        if kind not in KINDS:
            raise ConfigError(f"aggregation must be one of {list(KINDS)}, got {kind!r}",
                              where=f"{WHERE}.aggregation", hint="use 'group' for the overall ATT")
        return aggregate(kind, cells=self.cells, influence=self.influence,
                         unit_cohort=self.unit_cohort, cluster=self.unit_cluster,
                         unit_weight=self.unit_weight)

    def pretrend_wald(self) -> tuple[float, int, float]:
        """Wald test that all pre-treatment ATT(g,t) are zero: ``(statistic, df, p_value)``.

        Uses the joint influence-function covariance (as did's ``W``/``Wpval``).
        """
        pre = np.flatnonzero(~self.cells["post"].to_numpy()
                             & np.isfinite(self.cells["std_error"].to_numpy()))
        if pre.size == 0:
            return float("nan"), 0, float("nan")
        psi = cluster_sums(self.influence[:, pre], self.unit_cluster)
        n = self.n_units
        V = psi.T @ psi / n**2
        a = self.cells["att"].to_numpy()[pre]
        W = float(a @ np.linalg.pinv(V) @ a)
        df = int(np.linalg.matrix_rank(V))
        return W, df, float(stats.chi2.sf(W, df))


def group_time_att(
    panel: WidePanel,
    *,
    control_group: ControlGroup = "never_treated",
    est_method: EstMethod = "dr",
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
) -> GroupTimeATT:
    """Estimate every ATT(g,t) on a balanced wide panel (see the module docstring)."""
    if base_period not in ("varying", "universal"):
        raise ConfigError(f"base_period must be 'varying' or 'universal', got {base_period!r}",
                          where=f"{WHERE}.base_period", hint="use 'varying' (did's default)")
    if control_group not in ("never_treated", "not_yet_treated"):
        raise ConfigError(f"control_group must be 'never_treated' or 'not_yet_treated', got "
                          f"{control_group!r}", where=f"{WHERE}.control_group",
                          hint="use 'never_treated' or 'not_yet_treated'")
    if est_method not in ("reg", "ipw", "dr"):
        raise ConfigError(f"est_method must be 'reg', 'ipw' or 'dr', got {est_method!r}",
                          where=f"{WHERE}.est_method", hint="use 'dr' (doubly robust)")
    if anticipation < 0:
        raise ConfigError("anticipation must be >= 0", where=f"{WHERE}.anticipation",
                          hint="number of periods before adoption in which units react")
    periods = panel.periods
    g_all = panel.cohort
    all_cohorts = np.sort(pd.unique(g_all))
    # units treated before they have a pre-period (no base period) cannot be used
    bad_cohorts = [c for c in all_cohorts if c > 0 and not np.any(periods + anticipation < c)]
    keep_units = ~np.isin(g_all, bad_cohorts) if bad_cohorts else np.ones(g_all.size, bool)
    g = g_all[keep_units]
    unit_cluster = None if panel.cluster is None else panel.cluster[keep_units]
    unit_weight = None if panel.weights is None else panel.weights[keep_units]
    # period-major copies: each comparison reads two contiguous columns
    y_cols = np.ascontiguousarray(panel.y[keep_units].T)
    x_cols = np.ascontiguousarray(np.moveaxis(panel.x[keep_units], 1, 0))
    n = g.size
    cohorts = np.array([c for c in all_cohorts if c > 0 and c not in bad_cohorts])
    require(cohorts.size > 0, "no treated cohort with a pre-treatment period",
            where=f"{WHERE}.cohort", hint="cohorts must start after the first period")
    never = g == 0
    if control_group == "never_treated":
        require(bool(never.any()), "no never-treated units", where=f"{WHERE}.control_group",
                hint="use control_group='not_yet_treated'")
    rows: list[dict[str, object]] = []
    universal = base_period == "universal"
    first = 0 if universal else 1
    influence = np.zeros((n, cohorts.size * (periods.size - first)), order="F")
    for c in cohorts:
        treated = g == c
        base_post = np.flatnonzero(periods + anticipation < c)[-1]
        for ti in range(first, len(periods)):
            post = bool(c <= periods[ti])
            bi = int(base_post) if (post or universal) else ti - 1
            if control_group == "never_treated":
                comp = never
            else:
                comp = never | ((g > periods[max(ti, bi)] + anticipation) & (g != c))
            use = treated | comp
            n_c = int(comp.sum())
            row = {"cohort": c, "time": periods[ti], "base_period": periods[bi],
                   "event_time": periods[ti] - c, "post": post,
                   "n_treated": int(treated.sum()), "n_control": n_c}
            if ti == bi:  # universal base: the reference cell itself
                row.update(att=0.0, std_error=np.nan)
            elif n_c == 0:
                row.update(att=np.nan, std_error=np.nan)
            else:
                idx = np.flatnonzero(use)
                dy = y_cols[ti, idx] - y_cols[bi, idx]
                X = np.column_stack([np.ones(idx.size), x_cols[bi, idx, :]])
                att, inf = att_2x2(dy, treated[idx].astype(float), X, est_method,
                                   None if unit_weight is None else unit_weight[idx])
                inf *= n / idx.size
                influence[idx, len(rows)] = inf
                se = (np.sqrt(np.sum(inf**2)) / n if unit_cluster is None else
                      influence_se(influence[:, len(rows)], n, unit_cluster)[()])
                row.update(att=att, std_error=float(se))
            rows.append(row)
    cells = pd.DataFrame(rows)[["cohort", "time", "base_period", "event_time", "post", "att",
                                "std_error", "n_treated", "n_control"]]
    timing = ["cohort", "time", "base_period", "event_time"]
    if np.all(cells[timing].to_numpy() == np.round(cells[timing].to_numpy())):
        cells = cells.astype(dict.fromkeys(timing, "int64"))
    return GroupTimeATT(
        cells=cells, influence=influence, unit_cohort=g,
        control_group=control_group, est_method=est_method, anticipation=anticipation,
        base_period=base_period, n_dropped={"unbalanced": panel.n_dropped_unbalanced,
                   "treated_first_period": int((~keep_units).sum())},
        unit_cluster=unit_cluster, unit_weight=unit_weight,
    )


@register_estimator("did_callaway_santanna")
@dataclass(frozen=True, kw_only=True)
class CallawaySantAnna:
    """Callaway and Sant'Anna (2021) DiD for staggered adoption (panel data).

    Parameters
    ----------
    control_group : {"never_treated", "not_yet_treated"}
        Comparison units for each ATT(g,t).
    est_method : {"dr", "ipw", "reg"}
        Doubly robust (default, Sant'Anna and Zhao 2020), IPW or outcome regression.
    anticipation
        Periods before adoption in which units may already react.
    base_period : {"varying", "universal"}
        Base period of the pre-treatment cells (see the module docstring).
    aggregation : {"group", "simple", "dynamic", "calendar"}
        Which overall aggregate is the headline estimate (all four are in ``details``).
    n_boot
        Multiplier-bootstrap draws for uniform bands (0 = analytic only).
    ci_level
        Confidence level.
    seed
        Seed of the bootstrap.
    design
        Design name recorded in the estimate.

    Notes
    -----
    ``details``: ``group_time`` (the ATT(g,t) table, with ``ci_lower/ci_upper`` pointwise and
    ``band_lower/band_upper`` uniform when bootstrapped), ``aggregations`` (kind ->
    ``{"estimate", "std_error", "table"}``), ``pretrend_wald`` (``statistic, df, p_value``),
    ``critical_value`` (uniform band for the group-time table), ``control_group``,
    ``est_method``, ``anticipation``, ``n_units``, ``n_dropped``, ``cluster``, ``n_clusters``.
    """

    control_group: ControlGroup = "never_treated"
    est_method: EstMethod = "dr"
    anticipation: int = 0
    base_period: BasePeriod = "varying"
    aggregation: Literal["group", "simple", "dynamic", "calendar"] = "group"
    n_boot: int = 0
    ci_level: float = 0.95
    seed: int | None = None
    design: str = "difference_in_differences"

    def estimate_cells(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        unit: str,
        time: str,
        cohort: str,
        covariates: Sequence[str] = (),
        clusters: str | None = None,
        weights: str | None = None,
    ) -> GroupTimeATT:
        """The group-time ATTs (for aggregations, plots and pre-trend tests)."""
        panel = wide_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covariates, cluster=clusters, weights=weights)
        return group_time_att(panel, control_group=self.control_group,
                              est_method=self.est_method, anticipation=self.anticipation,
                              base_period=self.base_period)

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        unit: str,
        time: str,
        cohort: str,
        covariates: Sequence[str] = (),
        clusters: str | None = None,
        weights: str | None = None,
    ) -> EffectEstimate:
        """Estimate the ATT(g,t), the four aggregations and the pre-trend test.

        Parameters
        ----------
        data
            Long panel, one row per unit and period; never modified.
        outcome, unit, time, cohort
            Outcome; unit id; period (numeric, e.g. year or month index); first treated
            period (0 or missing = never treated).
        covariates
            Numeric covariates, taken in each comparison's base period.
        clusters
            Optional time-invariant column to cluster the standard errors on above the unit
            (e.g. the adopting area): influence functions are summed within clusters (did's
            ``clustervars``; with few clusters prefer fewer, larger comparisons).
        weights
            Optional positive unit weights, constant within unit (e.g. baseline population
            of an area): weighted 2x2 estimators (DRDID's ``i.weights``) and weighted cohort
            shares in the aggregations (did's ``weightsname``).
        """
        check_level(self.ci_level)
        if self.aggregation not in KINDS:
            raise ConfigError(f"aggregation must be one of {list(KINDS)}", where=f"{WHERE}.aggregation",
                              hint="use 'group'")
        gt = self.estimate_cells(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                                 covariates=covariates, clusters=clusters, weights=weights)
        z = float(stats.norm.ppf(0.5 + self.ci_level / 2))
        cells = gt.cells.copy()
        cells["ci_lower"] = cells["att"] - z * cells["std_error"]
        cells["ci_upper"] = cells["att"] + z * cells["std_error"]
        aggs = {k: gt.aggregate(k) for k in KINDS}
        details: dict[str, object] = {}
        rng = np.random.default_rng(self.seed)
        if self.n_boot:
            ok = np.isfinite(cells["att"].to_numpy())
            bs = multiplier_bootstrap(gt.influence[:, ok], n_boot=self.n_boot, rng=rng,
                                      ci_level=self.ci_level, clusters=gt.unit_cluster)
            cells.loc[ok, "bootstrap_se"] = bs.std_error
            cells["band_lower"] = cells["att"] - bs.critical_value * cells["bootstrap_se"]
            cells["band_upper"] = cells["att"] + bs.critical_value * cells["bootstrap_se"]
            details["critical_value"] = bs.critical_value
        agg_details: dict[str, object] = {}
        for k, a in aggs.items():
            tab = a.table.copy()
            tab["ci_lower"] = tab["estimate"] - z * tab["std_error"]
            tab["ci_upper"] = tab["estimate"] + z * tab["std_error"]
            if self.n_boot and len(tab):
                bs = multiplier_bootstrap(a.influence, n_boot=self.n_boot, rng=rng,
                                          ci_level=self.ci_level, clusters=gt.unit_cluster)
                crit = max(bs.critical_value, z)
                tab["band_lower"] = tab["estimate"] - crit * bs.std_error
                tab["band_upper"] = tab["estimate"] + crit * bs.std_error
            agg_details[k] = {"estimate": a.estimate, "std_error": a.std_error, "table": tab}
        W, df, p = gt.pretrend_wald()
        head = aggs[self.aggregation]
        est, se = head.estimate, head.std_error
        details.update(
            group_time=cells, aggregations=agg_details,
            pretrend_wald={"statistic": W, "df": df, "p_value": p},
            control_group=self.control_group, est_method=self.est_method,
            anticipation=self.anticipation, base_period=self.base_period,
            aggregation=self.aggregation,
            n_units=gt.n_units, n_dropped=gt.n_dropped, cluster=clusters, weights=weights,
            n_clusters=None if gt.unit_cluster is None else int(np.unique(gt.unit_cluster).size),
        )
        return EffectEstimate(
            design=self.design, estimator="did_callaway_santanna", outcome=outcome,
            estimand="ATT", scale="difference", estimate=est, std_error=se,
            ci_lower=est - z * se, ci_upper=est + z * se,
            p_value=float(2 * stats.norm.sf(abs(est / se))),
            n_treated=int((gt.unit_cohort > 0).sum()), n_control=int((gt.unit_cohort == 0).sum()),
            ci_level=self.ci_level, label=f"Callaway-Sant'Anna ({self.aggregation})",
            details=details,
        )
