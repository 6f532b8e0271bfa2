"""The regression discontinuity estimator (sharp and fuzzy), its balance and sensitivity checks.

``RegressionDiscontinuity`` is registered as ``"regression_discontinuity"``. It estimates
the jump in the outcome (sharp) or the ratio of the jumps in outcome and treatment (fuzzy)
at the cutoff with local polynomials, Calonico-Cattaneo-Titiunik bandwidths and robust
bias-corrected inference; the numbers agree with ``rdrobust`` (see
``tests/reference/test_rdd_senate.py``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.rdd.bandwidth import (
    Bandwidths,
    BwSelect,
    distinct_share,
    select_bandwidths,
)
from impacteval.estimators.rdd.density import DensityTestResult, density_test
from impacteval.estimators.rdd.local_poly import (
    FloatArray,
    Kernel,
    RDFit,
    Side,
    Vce,
    n_distinct,
    rd_fit,
    support,
)
from impacteval.exceptions import ConfigError, DesignError, ImpactEvalWarning, SchemaError
from impacteval.results import EffectEstimate

MassPoints = Literal["adjust", "check", "off"]

_KERNELS = ("triangular", "epanechnikov", "uniform")
_BWSELECT = ("mserd", "msetwo", "cerrd", "certwo")
_VCE = ("nn", "hc0", "hc1", "hc2", "hc3")
_MASSPOINTS = ("adjust", "check", "off")

#: Share of repeated running-variable values on a side above which mass points are flagged
#: (rdrobust's threshold).
MASS_POINT_SHARE = 0.2
#: Minimum number of distinct values kept inside the pilot bandwidths when adjusting for
#: mass points (rdrobust's default ``bwcheck``).
MASS_POINT_BWCHECK = 10
#: Fewer observations than this and the bandwidth cannot be selected from the data.
MIN_N_FOR_SELECTION = 20


class MassPointsWarning(ImpactEvalWarning):
    """The running variable has many repeated values (a discrete score such as age in years)."""


@dataclass(frozen=True)
class _Prepared:
    left: Side
    right: Side
    n_dropped: int
    n_cov: int
    n_clusters: tuple[int, int] | None


def _bandwidth_pair(value: float | Sequence[float] | None, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    pair = (float(value), float(value)) if np.isscalar(value) else tuple(float(v) for v in value)  # type: ignore[arg-type, union-attr]
    if len(pair) != 2 or not all(math.isfinite(v) and v > 0 for v in pair):
        raise ConfigError(
            f"{name} must be one positive number or a (left, right) pair of positive numbers",
            where=f"regression_discontinuity.{name}",
        )
    return pair[0], pair[1]


@register_estimator("regression_discontinuity")
@dataclass(frozen=True, kw_only=True)
class RegressionDiscontinuity:
    """Sharp or fuzzy regression discontinuity with robust bias-corrected inference.

    Parameters
    ----------
    cutoff
        Threshold of the running variable; units at or above it are on the "right" side.
    p
        Order of the local polynomial for the point estimate (1 = local linear).
    q
        Order of the polynomial for the bias correction; default ``p + 1``.
    kernel
        ``"triangular"`` (default), ``"epanechnikov"`` or ``"uniform"``.
    bwselect
        ``"mserd"`` (one MSE-optimal bandwidth, default), ``"msetwo"`` (one per side),
        ``"cerrd"``/``"certwo"`` (coverage-error-optimal for the robust confidence interval).
    vce
        ``"nn"`` (nearest-neighbour residuals, default) or ``"hc0"``..``"hc3"``. With a
        ``cluster`` column the cluster-robust CR1 variance is used (``"nn"`` or ``"hc1"``
        only, as rdrobust's default switch to ``cr1``).
    nnmatch
        Minimum number of neighbours for ``vce="nn"``.
    fuzzy
        Fuzzy design: ``fit`` needs a ``treatment`` column whose probability jumps at the cutoff.
    level
        Confidence level, in (0, 1).
    masspoints
        ``"adjust"`` (default): warn when a side has >= 20% repeated values and keep at least
        10 distinct values in the pilot bandwidths; ``"check"``: warn only; ``"off"``.

    Notes
    -----
    ``fit`` returns an :class:`~impacteval.results.EffectEstimate` whose ``estimate`` is the
    *conventional* local polynomial estimate, while ``std_error``, ``ci_lower``,
    ``ci_upper`` and ``p_value`` are the *robust bias-corrected* ones (Calonico, Cattaneo and
    Titiunik 2014): the interval is centred on the bias-corrected estimate, so it need not
    be symmetric around ``estimate``. ``details`` keys:

    ``estimate_conventional, se_conventional, ci_lower_conventional, ci_upper_conventional,
    p_value_conventional`` (conventional inference, valid only if the bias is negligible);
    ``estimate_bias_corrected, se_robust, ci_lower_robust, ci_upper_robust, p_value_robust``;
    ``h_left, h_right, b_left, b_right`` (bandwidths); ``n_left, n_right`` (observations per
    side), ``n_h_left, n_h_right`` (within ``h``), ``n_b_left, n_b_right`` (within ``b``);
    ``kernel, p, q, vce, nnmatch, bwselect, cutoff, fuzzy, level``; ``covariates`` and
    ``covariate_coefficients``; ``cluster, n_clusters``; ``mass_points_share_left/right``,
    ``mass_points_adjusted``; ``n_dropped_missing``; for fuzzy designs
    ``first_stage_estimate, first_stage_se, first_stage_ci_lower_robust,
    first_stage_ci_upper_robust``.

    ``n_treated``/``n_control`` are the effective numbers of observations within ``h`` at or
    above / below the cutoff.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, 2000)
    >>> df = pd.DataFrame({"score": x, "y": 1 + x + 0.5 * (x >= 0) + rng.normal(0, 0.3, 2000)})
    >>> est = RegressionDiscontinuity().fit(df, outcome="y", running="score")
    >>> abs(est.estimate - 0.5) < 0.2
    True
    """

    design: ClassVar[str] = "regression_discontinuity"

    cutoff: float = 0.0
    p: int = 1
    q: int | None = None
    kernel: Kernel = "triangular"
    bwselect: BwSelect = "mserd"
    vce: Vce = "nn"
    nnmatch: int = 3
    fuzzy: bool = False
    level: float = 0.95
    masspoints: MassPoints = "adjust"

    def __post_init__(self) -> None:
        where = "regression_discontinuity"
        if not math.isfinite(float(self.cutoff)):
            raise ConfigError("cutoff must be a finite number", where=f"{where}.cutoff")
        if not isinstance(self.p, int) or not 0 <= self.p <= 10:
            raise ConfigError("p must be an integer from 0 to 10", where=f"{where}.p")
        if self.q is not None and (not isinstance(self.q, int) or not self.p < self.q <= 11):
            raise ConfigError("q must be an integer greater than p (at most 11)", where=f"{where}.q")
        for name, value, allowed in (
            ("kernel", self.kernel, _KERNELS),
            ("bwselect", self.bwselect, _BWSELECT),
            ("vce", self.vce, _VCE),
            ("masspoints", self.masspoints, _MASSPOINTS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"unknown {name}; allowed: {', '.join(allowed)}", where=f"{where}.{name}"
                )
        if not isinstance(self.nnmatch, int) or self.nnmatch < 1:
            raise ConfigError("nnmatch must be a positive integer", where=f"{where}.nnmatch")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{where}.level")

    @property
    def q_order(self) -> int:
        """Order of the bias-correction polynomial (``q`` or ``p + 1``)."""
        return self.p + 1 if self.q is None else self.q

    # ------------------------------------------------------------------ data preparation
    def _prepare(
        self,
        data: pd.DataFrame,
        outcome: str,
        running: str,
        treatment: str | None,
        covariates: Sequence[str],
        cluster: str | None,
    ) -> _Prepared:
        covariates = list(covariates)
        numeric = [outcome, running] + ([treatment] if treatment else []) + covariates
        for col in numeric + ([cluster] if cluster else []):
            if col not in data.columns:
                raise SchemaError(
                    f"column {col!r} not found", where=f"data.{col}",
                    hint="check the role names in the configuration",
                )
        for col in numeric:
            if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
                raise SchemaError(f"column {col!r} must be numeric", where=f"data.{col}")
        columns = [data[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in numeric]
        ok = np.isfinite(columns[0])
        for col_values in columns[1:]:
            ok &= np.isfinite(col_values)
        codes: np.ndarray | None = None
        if cluster:
            codes_all, _ = pd.factorize(data[cluster], use_na_sentinel=True)
            ok &= codes_all >= 0
            codes = codes_all.astype(np.int64)
        n_dropped = int(ok.size - np.count_nonzero(ok))
        keep = np.flatnonzero(ok)
        # Sort once by the running variable: sides become contiguous blocks and the
        # windows used later are slices of them.
        keep = keep[np.argsort(columns[1][keep])]
        x = columns[1][keep] - float(self.cutoff)
        d = np.empty((keep.size, len(numeric) - 1))
        for j, col_values in enumerate(columns[:1] + columns[2:]):  # outcome, treatment, covs
            d[:, j] = col_values[keep]
        if codes is not None:
            codes = codes[keep]
        split = int(np.searchsorted(x, 0.0, side="left"))
        n_left, n_right = split, keep.size - split
        if n_left == 0 or n_right == 0:
            raise DesignError(
                f"no observations {'below' if n_left == 0 else 'at or above'} the cutoff "
                f"({n_left} below, {n_right} at or above)",
                where=f"regression_discontinuity.{running}",
                hint="check the cutoff against the range of the running variable",
            )
        is_left = slice(0, split)
        is_right = slice(split, keep.size)
        q = self.q_order
        for label, part in (("below", is_left), ("at or above", is_right)):
            distinct = n_distinct(x[part])
            if distinct < q + 1:
                raise DesignError(
                    f"only {distinct} distinct values of the running variable {label} the "
                    f"cutoff; a polynomial of order q={q} needs at least {q + 1}",
                    where=f"regression_discontinuity.{running}",
                    hint="use more data, or lower p and q",
                )
        left = Side(x=x[is_left], d=d[is_left],
                    cluster=None if codes is None else codes[is_left])
        right = Side(x=x[is_right], d=d[is_right],
                     cluster=None if codes is None else codes[is_right])
        n_clusters = None
        if codes is not None:
            n_clusters = (int(np.unique(codes[is_left]).shape[0]),
                          int(np.unique(codes[is_right]).shape[0]))
        return _Prepared(left, right, n_dropped, len(covariates), n_clusters)

    def _check_roles(self, treatment: str | None, cluster: str | None) -> Vce:
        if self.fuzzy and treatment is None:
            raise ConfigError(
                "a fuzzy design needs the treatment column", where="regression_discontinuity.treatment",
                hint="pass treatment=<column> or use fuzzy=False for a sharp design",
            )
        if not self.fuzzy and treatment is not None:
            raise ConfigError(
                "treatment is only used by a fuzzy design (in a sharp design the cutoff "
                "defines treatment)", where="regression_discontinuity.treatment",
                hint="set fuzzy=True or drop the treatment role",
            )
        if cluster is not None:
            if self.vce not in ("nn", "hc1"):
                raise ConfigError(
                    f"vce={self.vce!r} cannot be combined with a cluster; clustered designs use "
                    "the CR1 cluster-robust variance", where="regression_discontinuity.vce",
                    hint="use vce='nn' (default) or 'hc1' with a cluster column",
                )
            return "hc1"
        return self.vce

    # ------------------------------------------------------------------ fitting
    def _bandwidths(
        self,
        prep: _Prepared,
        vce: Vce,
        h: tuple[float, float] | None,
        b: tuple[float, float] | None,
        running: str,
    ) -> tuple[Bandwidths, dict[str, Any]]:
        share_l = distinct_share(prep.left.x)
        share_r = distinct_share(prep.right.x)
        mass = max(share_l, share_r) >= MASS_POINT_SHARE and self.masspoints != "off"
        if mass:
            warnings.warn(
                f"mass points in the running variable: {share_l:.0%} of values below and "
                f"{share_r:.0%} at or above the cutoff repeat an earlier value"
                + ("; bandwidths keep at least 10 distinct values" if self.masspoints == "adjust"
                   else "; consider masspoints='adjust'"),
                MassPointsWarning,
                stacklevel=3,
            )
        info = {
            "mass_points_share_left": share_l,
            "mass_points_share_right": share_r,
            "mass_points_adjusted": bool(mass and self.masspoints == "adjust"),
        }
        if h is not None:
            b = h if b is None else b
            return Bandwidths(h[0], h[1], b[0], b[1], "manual"), info
        n = prep.left.n + prep.right.n
        if n < MIN_N_FOR_SELECTION:
            raise DesignError(
                f"only {n} observations: too few to select a bandwidth from the data",
                where="regression_discontinuity", hint="pass a bandwidth h or use more data",
            )
        try:
            bws = select_bandwidths(
                prep.left, prep.right, p=self.p, q=self.q_order, kernel=self.kernel,
                bwselect=self.bwselect, vce=vce, nnmatch=self.nnmatch, fuzzy=self.fuzzy,
                n_cov=prep.n_cov,
                bwcheck=MASS_POINT_BWCHECK if info["mass_points_adjusted"] else None,
                adjust_mass_points=self.masspoints == "adjust",
                n_clusters=prep.n_clusters,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise DesignError(
                "the bandwidth could not be selected: too little variation of the running "
                "variable or the outcome near the cutoff",
                where=f"regression_discontinuity.{running}",
                hint="check for mass points, or pass a bandwidth h",
            ) from exc
        if b is not None:
            bws = Bandwidths(bws.h_left, bws.h_right, b[0], b[1], bws.method)
        return bws, info

    def _check_within(self, prep: _Prepared, bws: Bandwidths, running: str) -> None:
        for label, side, h, b in (
            ("below", prep.left, bws.h_left, bws.b_left),
            ("at or above", prep.right, bws.h_right, bws.b_right),
        ):
            n_h = n_distinct(side.x[support(side.x, h, self.kernel)[0]])
            n_b = n_distinct(side.x[support(side.x, b, self.kernel)[0]])
            if n_h < self.p + 1 or n_b < self.q_order + 1:
                raise DesignError(
                    f"too few observations within the bandwidth {label} the cutoff: "
                    f"{n_h} distinct values within h (need {self.p + 1}) and {n_b} within b "
                    f"(need {self.q_order + 1})",
                    where=f"regression_discontinuity.{running}",
                    hint="use a wider bandwidth or more data",
                )

    def _fit_numbers(
        self,
        data: pd.DataFrame,
        outcome: str,
        running: str,
        treatment: str | None,
        covariates: Sequence[str],
        cluster: str | None,
        h: float | Sequence[float] | None,
        b: float | Sequence[float] | None,
    ) -> tuple[RDFit, Bandwidths, _Prepared, dict[str, Any]]:
        vce = self._check_roles(treatment, cluster)
        h_pair = _bandwidth_pair(h, "h")
        b_pair = _bandwidth_pair(b, "b")
        prep = self._prepare(data, outcome, running, treatment, covariates, cluster)
        if self.fuzzy:
            t_l, t_r = prep.left.d[:, 1], prep.right.d[:, 1]
            if np.var(t_l) == 0 and np.var(t_r) == 0 and abs(t_l.mean() - t_r.mean()) < 1e-8:
                raise DesignError(
                    "the treatment does not change at the cutoff (it is constant on both "
                    "sides with the same value): the fuzzy design is not identified",
                    where=f"regression_discontinuity.{treatment}",
                    hint="check the treatment column, or use a sharp design",
                )
        bws, info = self._bandwidths(prep, vce, h_pair, b_pair, running)
        self._check_within(prep, bws, running)
        fit = rd_fit(
            prep.left, prep.right, h=(bws.h_left, bws.h_right), b=(bws.b_left, bws.b_right),
            p=self.p, q=self.q_order, kernel=self.kernel, vce=vce, nnmatch=self.nnmatch,
            fuzzy=self.fuzzy, n_cov=prep.n_cov,
        )
        if not (math.isfinite(fit.tau_cl) and math.isfinite(fit.se_rb)):
            raise DesignError(
                "the local polynomial fit is not identified at these bandwidths",
                where="regression_discontinuity", hint="use a wider bandwidth or more data",
            )
        if fit.first_stage is not None:
            z = stats.norm.ppf(0.5 + self.level / 2)
            tau_t, _, se_t, _ = fit.first_stage
            if abs(tau_t) <= z * se_t:
                raise DesignError(
                    f"the treatment does not jump at the cutoff: the first-stage jump is not "
                    f"distinguishable from zero (|estimate| / s.e. = {abs(tau_t) / se_t:.2f}, "
                    f"below {z:.2f}); the fuzzy RD ratio is not identified",
                    where=f"regression_discontinuity.{treatment}",
                    hint="check the treatment column and the cutoff, or report the sharp "
                    "(intention-to-treat) jump",
                )
        return fit, bws, prep, info

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        running: str,
        treatment: str | None = None,
        covariates: Sequence[str] = (),
        cluster: str | None = None,
        h: float | Sequence[float] | None = None,
        b: float | Sequence[float] | None = None,
    ) -> EffectEstimate:
        """Estimate the effect at the cutoff.

        Parameters
        ----------
        data
            One row per unit; never modified.
        outcome, running
            Column names of the outcome and the running variable (score).
        treatment
            Treatment received (0/1 or a dose), for fuzzy designs only.
        covariates
            Pre-treatment covariates for efficiency (they must not jump at the cutoff).
        cluster
            Column of cluster identifiers (e.g. GP practice) for cluster-robust variance.
        h, b
            Main and bias bandwidths (one value or ``(left, right)``); selected by
            ``bwselect`` when not given; ``b`` defaults to ``h`` when ``h`` is given.

        Returns
        -------
        EffectEstimate
            Design ``"regression_discontinuity"``, scale ``"difference"`` (see class notes).

        Raises
        ------
        SchemaError
            Missing or non-numeric columns.
        ConfigError
            Roles that do not fit the design (treatment without ``fuzzy`` ...).
        DesignError
            No observations on one side, too few within the bandwidth, or (fuzzy) a
            treatment that does not jump at the cutoff.
        """
        fit, bws, prep, info = self._fit_numbers(
            data, outcome, running, treatment, covariates, cluster, h, b
        )
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        ci_cl = (fit.tau_cl - z * fit.se_cl, fit.tau_cl + z * fit.se_cl)
        ci_rb = (fit.tau_bc - z * fit.se_rb, fit.tau_bc + z * fit.se_rb)
        p_cl = float(2 * stats.norm.sf(abs(fit.tau_cl / fit.se_cl)))
        p_rb = float(2 * stats.norm.sf(abs(fit.tau_bc / fit.se_rb)))
        details: dict[str, Any] = {
            "estimate_conventional": fit.tau_cl,
            "se_conventional": fit.se_cl,
            "ci_lower_conventional": ci_cl[0],
            "ci_upper_conventional": ci_cl[1],
            "p_value_conventional": p_cl,
            "estimate_bias_corrected": fit.tau_bc,
            "se_robust": fit.se_rb,
            "ci_lower_robust": ci_rb[0],
            "ci_upper_robust": ci_rb[1],
            "p_value_robust": p_rb,
            "h_left": bws.h_left,
            "h_right": bws.h_right,
            "b_left": bws.b_left,
            "b_right": bws.b_right,
            "bwselect": bws.method,
            "n_left": prep.left.n,
            "n_right": prep.right.n,
            "n_h_left": fit.n_h[0],
            "n_h_right": fit.n_h[1],
            "n_b_left": fit.n_b[0],
            "n_b_right": fit.n_b[1],
            "kernel": self.kernel,
            "p": self.p,
            "q": self.q_order,
            "vce": "cr1" if cluster else self.vce,
            "nnmatch": self.nnmatch,
            "cutoff": float(self.cutoff),
            "fuzzy": self.fuzzy,
            "level": self.level,
            "covariates": list(covariates),
            "covariate_coefficients": (
                {} if fit.gamma is None else
                {c: float(g) for c, g in zip(covariates, fit.gamma[:, 0], strict=True)}
            ),
            "cluster": cluster,
            "n_clusters": fit.n_clusters,
            "n_dropped_missing": prep.n_dropped,
            **info,
        }
        if fit.first_stage is not None:
            tau_t, tau_t_bc, se_t, se_t_rb = fit.first_stage
            details.update(
                first_stage_estimate=tau_t,
                first_stage_se=se_t,
                first_stage_ci_lower_robust=tau_t_bc - z * se_t_rb,
                first_stage_ci_upper_robust=tau_t_bc + z * se_t_rb,
            )
        return EffectEstimate(
            design=self.design,
            estimator="regression_discontinuity",
            outcome=outcome,
            estimand=("local average treatment effect at the cutoff (compliers)" if self.fuzzy
                      else "average treatment effect at the cutoff"),
            scale="difference",
            estimate=fit.tau_cl,
            std_error=fit.se_rb,
            ci_lower=ci_rb[0],
            ci_upper=ci_rb[1],
            p_value=p_rb,
            n_treated=fit.n_h[1],
            n_control=fit.n_h[0],
            ci_level=self.level,
            label=f"RD ({'fuzzy' if self.fuzzy else 'sharp'}, p={self.p}, {self.kernel}, {bws.method})",
            details=details,
        )

    # ------------------------------------------------------------------ checks
    def covariate_balance(
        self,
        data: pd.DataFrame,
        *,
        running: str,
        covariates: Sequence[str],
        cluster: str | None = None,
        h: float | Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Jump of each pre-treatment covariate at the cutoff (a placebo: should be ~0).

        Each covariate is used as the outcome of a sharp RD with this estimator's settings
        (its own selected bandwidth unless ``h`` is given).

        Returns
        -------
        DataFrame
            ``covariate, estimate, std_error, ci_lower, ci_upper, p_value, h_left, h_right,
            n_left, n_right`` (robust bias-corrected inference, effective sample sizes).
        """
        sharp = replace(self, fuzzy=False)
        rows = []
        for cov in covariates:
            est = sharp.fit(data, outcome=cov, running=running, cluster=cluster, h=h)
            rows.append({
                "covariate": cov,
                "estimate": est.estimate,
                "std_error": est.std_error,
                "ci_lower": est.ci_lower,
                "ci_upper": est.ci_upper,
                "p_value": est.p_value,
                "h_left": est.details["h_left"],
                "h_right": est.details["h_right"],
                "n_left": est.n_control,
                "n_right": est.n_treated,
            })
        return pd.DataFrame(rows, columns=[
            "covariate", "estimate", "std_error", "ci_lower", "ci_upper", "p_value",
            "h_left", "h_right", "n_left", "n_right",
        ])

    def bandwidth_sensitivity(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        running: str,
        treatment: str | None = None,
        covariates: Sequence[str] = (),
        cluster: str | None = None,
        multipliers: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
        bandwidths: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Estimates over a grid of bandwidths.

        By default the grid is ``multipliers`` times the selected bandwidths, with the bias
        bandwidth scaled alike (the selected ratio ``h/b`` is kept, so multiplier 1
        reproduces ``fit``). With ``bandwidths`` the grid is those values of ``h`` on both
        sides with ``b = h``.

        Returns
        -------
        DataFrame
            ``multiplier, h_left, h_right, b_left, b_right, estimate, std_error, ci_lower,
            ci_upper, p_value, n_left, n_right`` (``multiplier`` is NaN for explicit bandwidths).
        """
        roles = dict(outcome=outcome, running=running, treatment=treatment,
                     covariates=covariates, cluster=cluster)
        grid: list[tuple[float, tuple[float, float], tuple[float, float]]] = []
        if bandwidths is not None:
            for bw in bandwidths:
                pair = _bandwidth_pair(bw, "bandwidths")
                assert pair is not None
                grid.append((math.nan, pair, pair))
        else:
            base = self.fit(data, **roles)  # type: ignore[arg-type]
            d = base.details
            for m in multipliers:
                if not (math.isfinite(m) and m > 0):
                    raise ConfigError("multipliers must be positive",
                                      where="regression_discontinuity.multipliers")
                grid.append((float(m), (m * d["h_left"], m * d["h_right"]),
                             (m * d["b_left"], m * d["b_right"])))
        rows = []
        for m, h_pair, b_pair in grid:
            est = self.fit(data, h=h_pair, b=b_pair, **roles)  # type: ignore[arg-type]
            rows.append({
                "multiplier": m, "h_left": h_pair[0], "h_right": h_pair[1],
                "b_left": b_pair[0], "b_right": b_pair[1], "estimate": est.estimate,
                "std_error": est.std_error, "ci_lower": est.ci_lower, "ci_upper": est.ci_upper,
                "p_value": est.p_value, "n_left": est.n_control, "n_right": est.n_treated,
            })
        return pd.DataFrame(rows)

    def density_test(self, data: pd.DataFrame, *, running: str) -> DensityTestResult:
        """Cattaneo-Jansson-Ma manipulation test of ``running`` at this estimator's cutoff."""
        if running not in data.columns:
            raise SchemaError(f"column {running!r} not found", where=f"data.{running}")
        x: FloatArray = data[running].to_numpy(dtype=np.float64, na_value=np.nan)
        return density_test(x, cutoff=float(self.cutoff), kernel=self.kernel)
