"""The instrumental-variables estimator (2SLS and LIML on linearmodels)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS, IVLIML
from linearmodels.iv.results import IVResults

from impacteval.estimators.base import register_estimator
from impacteval.estimators.iv import diagnostics
from impacteval.estimators.iv.anderson_rubin import anderson_rubin
from impacteval.estimators.iv.validation import WHERE, check_columns, check_design, check_roles
from impacteval.exceptions import ConfigError, EstimationError, ImpactEvalWarning
from impacteval.results import EffectEstimate

Method = Literal["2sls", "liml"]
CovType = Literal["unadjusted", "robust", "clustered"]

_METHODS = ("2sls", "liml")
_COV_TYPES = ("unadjusted", "robust", "clustered")


class WeakInstrumentWarning(ImpactEvalWarning):
    """The first-stage F statistic is below the weak-instrument threshold."""


def _const_name(taken: set[str]) -> str:
    name = "const"
    while name in taken:
        name = f"_{name}"
    return name


@register_estimator("instrumental_variables")
@dataclass(frozen=True, kw_only=True)
class InstrumentalVariables:
    """Instrumental-variables estimate of the effect of one endogenous treatment.

    Two-stage least squares or LIML from linearmodels, with the diagnostics that make an IV
    analysis credible: first-stage strength (F, partial R-squared, Cragg-Donald and
    Kleibergen-Paap rk Wald F, Stock-Yogo critical values), the weak-instrument-robust
    Anderson-Rubin test and confidence set, over-identification (Sargan, Hansen J) and
    endogeneity (Wu-Hausman) tests.

    Parameters
    ----------
    method : {"2sls", "liml"}
        Estimator. LIML is less biased than 2SLS with many or weak instruments; the two are
        identical when the model is exactly identified.
    cov_type : {"unadjusted", "robust", "clustered"}
        Covariance: classical, heteroskedasticity-robust (HC1) or cluster-robust (with
        Stata's ``G/(G-1) (n-1)/(n-k)`` correction). All use the small-sample (``debiased``)
        scaling and t(n - k) reference distribution of linearmodels, which makes the classical
        standard errors equal to ``AER::ivreg``'s and the robust ones to ``sandwich::vcovHC``
        type HC1.
    level : float
        Confidence level of the Wald and Anderson-Rubin intervals.
    weak_instrument_f : float
        Threshold for the first-stage F below which a :class:`WeakInstrumentWarning` is
        issued (Staiger and Stock 1997 rule of thumb: 10). The F compared is the Cragg-Donald
        F (classical) or the Kleibergen-Paap rk Wald F (robust, clustered).

    Notes
    -----
    ``fit`` returns an :class:`~impacteval.results.EffectEstimate` with design
    ``"instrumental_variables"``, scale ``"difference"`` and estimand ``"LATE"`` (the effect
    among compliers, under monotonicity, for a binary treatment and instrument; a weighted
    average of marginal effects otherwise). ``n_treated``/``n_control`` count rows with
    treatment 1/0 when the treatment is binary; for a continuous treatment ``n_treated`` is
    the number of rows and ``n_control`` is 0 (``details["treatment_binary"]`` says which).

    ``details`` keys:

    - ``method``, ``cov_type``, ``n``, ``n_clusters`` (None unless clustered),
      ``instruments``, ``covariates``, ``treatment_binary``, ``kappa`` (LIML; 1 for 2SLS);
    - ``first_stage``: ``coef`` and ``se`` per instrument, ``f_statistic`` (Wald/q with the
      model's covariance), ``f_p_value``, ``f_df``, ``f_distribution``, ``partial_r2``,
      ``shea_partial_r2``, ``r2``, ``cragg_donald_f``, ``kleibergen_paap_f``,
      ``kleibergen_paap_lm`` (underidentification test), ``weak_instrument_f`` and its
      ``weak_instrument_f_name``, ``stock_yogo`` (critical values, 1 to 30 instruments);
    - ``weak_instruments``: True if ``weak_instrument_f`` is below the threshold;
      ``weak_instrument_threshold``;
    - ``anderson_rubin``: ``available``, ``statistic``, ``p_value`` (of no effect), ``ci_lower``,
      ``ci_upper`` (hull of the set), ``bounded``, ``shape``, ``intervals``,
      ``distribution``, ``df``, ``critical_value``, ``level``, ``statistic_at_infinity``;
    - ``sargan`` (classical, from the 2SLS/LIML residuals), ``hansen_j`` (two-step efficient
      GMM J with a heteroskedasticity-robust weight, cluster-robust when clustered, whatever
      ``cov_type``), ``wu_hausman`` (classical F) and ``endogeneity_robust`` (Wooldridge's
      regression test with the model's covariance; with HC1 it is ``AER``'s robust
      Wu-Hausman): ``available`` and, when available, ``statistic``, ``p_value``, ``df``,
      ``distribution`` (``reason`` when not; both over-identification tests need more
      instruments than endogenous regressors);
    - ``ols``: the OLS estimate and standard error with the same covariates and covariance,
      for comparison.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.integers(0, 2, 2000); u = rng.normal(size=2000)
    >>> d = (0.2 + 0.5 * z + 0.2 * u > 0.5).astype(int)
    >>> df = pd.DataFrame({"z": z, "d": d, "y": 2.0 * d + u})
    >>> est = InstrumentalVariables().fit(df, outcome="y", treatment="d", instruments=["z"])
    >>> round(est.estimate, 1)
    2.0
    """

    method: Method = "2sls"
    cov_type: CovType = "robust"
    level: float = 0.95
    weak_instrument_f: float = 10.0
    design: ClassVar[str] = "instrumental_variables"

    def __post_init__(self) -> None:
        cls = type(self).__name__
        if self.method not in _METHODS:
            raise ConfigError(
                f"method must be one of {', '.join(_METHODS)}",
                where=f"{cls}.method",
                hint="use '2sls' (default) or 'liml'",
            )
        if self.cov_type not in _COV_TYPES:
            raise ConfigError(
                f"cov_type must be one of {', '.join(_COV_TYPES)}",
                where=f"{cls}.cov_type",
                hint="use 'robust' (default), 'unadjusted' or 'clustered'",
            )
        if not (isinstance(self.level, float | int) and 0.0 < float(self.level) < 1.0):
            raise ConfigError(
                "level must be a number strictly between 0 and 1",
                where=f"{cls}.level",
                hint="e.g. 0.95",
            )
        if not (
            isinstance(self.weak_instrument_f, float | int)
            and math.isfinite(self.weak_instrument_f)
            and self.weak_instrument_f >= 0
        ):
            raise ConfigError(
                "weak_instrument_f must be a non-negative number",
                where=f"{cls}.weak_instrument_f",
                hint="10 is the Staiger-Stock rule of thumb",
            )

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome: str,
        treatment: str,
        instruments: Sequence[str],
        covariates: Sequence[str] = (),
        cluster: str | None = None,
    ) -> EffectEstimate:
        """Estimate the effect of ``treatment`` on ``outcome`` using ``instruments``.

        Parameters
        ----------
        data : DataFrame
            Analysis table, one row per unit; not modified.
        outcome : str
            Outcome column.
        treatment : str
            The endogenous regressor (binary or continuous).
        instruments : sequence of str
            Excluded instruments (at least one).
        covariates : sequence of str
            Included exogenous covariates (an intercept is always added).
        cluster : str, optional
            Cluster column; required with ``cov_type="clustered"`` and not allowed otherwise.

        Returns
        -------
        EffectEstimate

        Raises
        ------
        DesignError
            Fewer instruments than endogenous regressors, a constant instrument, an instrument
            collinear with the covariates, missing columns or values, too few clusters.
        EstimationError
            linearmodels could not fit the model.

        Warns
        -----
        WeakInstrumentWarning
            If the first-stage F statistic is below ``weak_instrument_f``.
        """
        check_roles(
            outcome=outcome,
            treatment=treatment,
            instruments=instruments,
            covariates=covariates,
            cluster=cluster,
            cov_type=self.cov_type,
        )
        instruments = list(instruments)
        covariates = list(covariates)
        numeric = [outcome, treatment, *instruments, *covariates]
        check_columns(data, numeric, cluster)

        n = len(data)
        index = pd.RangeIndex(n)
        const = _const_name(set(numeric))
        y = pd.Series(data[outcome].to_numpy(dtype=float), index=index, name=outcome)
        x = pd.DataFrame({treatment: data[treatment].to_numpy(dtype=float)}, index=index)
        z = pd.DataFrame({c: data[c].to_numpy(dtype=float) for c in instruments}, index=index)
        w = pd.DataFrame(
            {const: np.ones(n), **{c: data[c].to_numpy(dtype=float) for c in covariates}},
            index=index,
        )
        clusters: np.ndarray | None = None
        if cluster is not None:
            clusters = pd.factorize(data[cluster], sort=True)[0].astype(np.int64)
        check_design(
            treatment=x[treatment].to_numpy(),
            instruments=z.to_numpy(),
            instrument_names=instruments,
            exog=w.to_numpy(),
            covariate_names=covariates,
            clusters=clusters,
        )

        fit_options: dict[str, Any] = {"cov_type": self.cov_type, "debiased": True}
        if clusters is not None:
            fit_options["clusters"] = clusters
        model_cls = IVLIML if self.method == "liml" else IV2SLS
        try:
            res = cast(IVResults, model_cls(y, w, x, z).fit(**fit_options))
            ols = IV2SLS(y, pd.concat([w, x], axis=1), None, None).fit(**fit_options)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise EstimationError(
                f"linearmodels could not fit the {self.method} model ({type(exc).__name__})",
                where=WHERE,
                hint="check for collinear covariates or too little variation in the treatment",
            ) from exc

        first = diagnostics.first_stage(
            res,
            treatment=treatment,
            instruments=instruments,
            cov_type=self.cov_type,
            method=self.method,
        )
        weak = bool(first["weak_instrument_f"] < self.weak_instrument_f)
        if weak:
            warnings.warn(
                WeakInstrumentWarning(
                    f"weak instruments: {first['weak_instrument_f_name']} = "
                    f"{first['weak_instrument_f']:.2f} is below {self.weak_instrument_f:g}; "
                    f"the {self.method.upper()} estimate may be biased towards OLS and its Wald "
                    "interval may under-cover. Report the Anderson-Rubin confidence set "
                    "(details['anderson_rubin']) instead."
                ),
                stacklevel=2,
            )
        try:
            ar_details = anderson_rubin(
                y.to_numpy(),
                x[treatment].to_numpy(),
                z.to_numpy(),
                w.to_numpy(),
                cov_type=self.cov_type,
                clusters=clusters,
                level=float(self.level),
            ).to_dict()
        except np.linalg.LinAlgError:
            # a singular robust covariance of the reduced form (e.g. cluster-level covariates
            # absorbing the instruments' variation between clusters): say so, do not guess
            ar_details = {
                "available": False,
                "reason": "the covariance of the reduced-form coefficients is singular",
                "statistic": math.nan,
                "p_value": math.nan,
                "ci_lower": math.nan,
                "ci_upper": math.nan,
                "bounded": False,
            }
        sargan = diagnostics.over_identification(res, len(instruments))
        hansen = diagnostics.hansen_j(y, w, x, z, cov_type=self.cov_type, clusters=clusters)
        wu, endog_robust = diagnostics.endogeneity(res, self.cov_type)

        estimate = float(res.params[treatment])
        ci = res.conf_int(level=float(self.level)).loc[treatment]
        treat_values = x[treatment].to_numpy()
        binary = bool(np.isin(treat_values, (0.0, 1.0)).all())
        n_treated = int((treat_values == 1.0).sum()) if binary else n
        n_control = int((treat_values == 0.0).sum()) if binary else 0
        kappa = res.kappa if self.method == "liml" else 1.0
        details: dict[str, Any] = {
            "method": self.method,
            "cov_type": self.cov_type,
            "n": n,
            "n_clusters": None if clusters is None else int(np.unique(clusters).shape[0]),
            "instruments": instruments,
            "covariates": covariates,
            "treatment_binary": binary,
            "kappa": float(kappa) if kappa is not None else 1.0,
            "first_stage": first,
            "weak_instruments": weak,
            "weak_instrument_threshold": float(self.weak_instrument_f),
            "anderson_rubin": ar_details,
            "sargan": sargan,
            "hansen_j": hansen,
            "wu_hausman": wu,
            "endogeneity_robust": endog_robust,
            "ols": {
                "estimate": float(ols.params[treatment]),
                "std_error": float(ols.std_errors[treatment]),
            },
        }
        return EffectEstimate(
            design=self.design,
            estimator=f"instrumental_variables:{self.method}",
            outcome=outcome,
            estimand="LATE",
            scale="difference",
            estimate=estimate,
            std_error=float(res.std_errors[treatment]),
            ci_lower=float(ci["lower"]),
            ci_upper=float(ci["upper"]),
            p_value=float(res.pvalues[treatment]),
            n_treated=n_treated,
            n_control=n_control,
            ci_level=float(self.level),
            label=f"{treatment} -> {outcome} (IV: {', '.join(instruments)})",
            details=details,
        )
