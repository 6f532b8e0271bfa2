"""E-values for unmeasured confounding (VanderWeele & Ding 2017).

The E-value is the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need to have with both the treatment and the outcome, conditional
on the measured covariates, to fully explain away an observed risk ratio (VanderWeele TJ, Ding
P. Sensitivity analysis in observational research: introducing the E-value. Ann Intern Med
2017;167:268-274, doi:10.7326/M16-2607). For a risk ratio RR >= 1,

    E = RR + sqrt(RR * (RR - 1));

a protective RR < 1 is inverted first. The E-value for the confidence interval uses the limit
closer to the null, and is 1 when the interval includes the null. Rate ratios are treated as
risk ratios (paper, Table); odds ratios as risk ratios when the outcome is rare (< 15%), and
through sqrt(OR) otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from impacteval.checks.registry import register_check
from impacteval.exceptions import ConfigError
from impacteval.results import EffectEstimate

__all__ = ["EValue", "e_value", "evalue_for_estimate", "evalue_ratio"]

_RATIO_SCALES = ("rate_ratio", "risk_ratio", "odds_ratio")


@dataclass(frozen=True, kw_only=True)
class EValue:
    """E-values of one ratio estimate.

    Attributes
    ----------
    scale
        The estimate's scale (``rate_ratio``, ``risk_ratio`` or ``odds_ratio``).
    rr, rr_ci_limit
        The estimate and the confidence limit closer to the null, on the risk-ratio scale
        (after any odds-ratio conversion). ``rr_ci_limit`` is None without a CI.
    point
        E-value of the point estimate.
    ci
        E-value of the confidence limit closer to the null (1.0 when the CI includes the
        null); None without a CI.
    true
        The value the estimate is shifted to (1 = no effect).
    """

    scale: str
    rr: float
    rr_ci_limit: float | None
    point: float
    ci: float | None
    true: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "rr": self.rr, "rr_ci_limit": self.rr_ci_limit,
                "point": self.point, "ci": self.ci, "true": self.true}


def e_value(rr: float, *, true: float = 1.0) -> float:
    """E-value of one risk ratio ``rr`` against ``true`` (VanderWeele & Ding 2017, eq. 1).

    Parameters
    ----------
    rr
        A risk or rate ratio, > 0.
    true
        The true ratio to shift to (1 = explain the association away entirely); the ratio
        ``rr / true`` is used (EValue::threshold).

    Returns
    -------
    float
        The E-value (>= 1).
    """
    if not (isinstance(rr, (int, float)) and math.isfinite(rr) and rr > 0):
        raise ConfigError("a ratio for an E-value must be a finite positive number",
                          where="checks.e_value", hint="pass the ratio, not its logarithm")
    if not (math.isfinite(true) and true > 0):
        raise ConfigError("the true ratio must be a finite positive number",
                          where="checks.e_value", hint="use true=1 for no effect")
    x = float(rr) / float(true)
    if x < 1.0:
        x = 1.0 / x
    return x + math.sqrt(x * (x - 1.0))


def _to_rr(value: float, scale: str, rare: bool) -> float:
    if scale == "odds_ratio" and not rare:
        return math.sqrt(value)  # VanderWeele 2017 (common outcome): RR ~ sqrt(OR)
    return value


def evalue_ratio(estimate: float, ci_lower: float | None = None, ci_upper: float | None = None,
                 *, scale: str = "risk_ratio", rare: bool = True, true: float = 1.0) -> EValue:
    """E-values of a ratio estimate and its confidence interval (as ``EValue::evalues.RR``).

    Parameters
    ----------
    estimate, ci_lower, ci_upper
        The ratio and its confidence limits (not logs).
    scale
        ``rate_ratio``, ``risk_ratio`` or ``odds_ratio``.
    rare
        Odds ratios only: the outcome is rare (< 15%), so the OR approximates the RR;
        otherwise sqrt(OR) is used.
    true
        The value to shift to (1 = no effect).

    Raises
    ------
    ConfigError
        Unknown scale, non-positive values, or a point estimate outside its interval.
    """
    if scale not in _RATIO_SCALES:
        raise ConfigError(f"E-values need a ratio scale, not {scale!r}",
                          where="checks.evalue_ratio",
                          hint=f"one of {', '.join(_RATIO_SCALES)}")
    rr = _to_rr(estimate, scale, rare)
    lo = _to_rr(ci_lower, scale, rare) if ci_lower is not None else None
    hi = _to_rr(ci_upper, scale, rare) if ci_upper is not None else None
    t = _to_rr(true, scale, rare)
    point = e_value(rr, true=t)
    for v in (lo, hi):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ConfigError("confidence limits must be finite positive ratios",
                              where="checks.evalue_ratio", hint="pass the ratios, not logs")
    if (lo is not None and lo > rr) or (hi is not None and hi < rr):
        raise ConfigError("the point estimate lies outside its confidence interval",
                          where="checks.evalue_ratio", hint="check the order of the limits")
    limit: float | None = None
    ci: float | None = None
    if lo is not None or hi is not None:
        if rr > t:
            limit = lo
        elif rr < t:
            limit = hi
        else:
            limit = t
        if limit is None:  # only the far limit was given
            ci = None
        elif (rr >= t and limit <= t) or (rr <= t and limit >= t):
            ci = 1.0
        else:
            ci = e_value(limit, true=t)
    return EValue(scale=scale, rr=rr, rr_ci_limit=limit, point=point, ci=ci, true=true)


@register_check("evalue")
def evalue_for_estimate(estimate: EffectEstimate, *, rare: bool = True) -> EValue | None:
    """E-values of an :class:`~impacteval.results.EffectEstimate` on a ratio scale.

    Returns None for estimates on a difference or percent scale (no E-value is defined
    without an outcome standard deviation) or with a missing estimate.
    """
    if estimate.scale not in _RATIO_SCALES:
        return None
    values = (estimate.estimate, estimate.ci_lower, estimate.ci_upper)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
        return None
    return evalue_ratio(estimate.estimate, estimate.ci_lower, estimate.ci_upper,
                        scale=estimate.scale, rare=rare)
