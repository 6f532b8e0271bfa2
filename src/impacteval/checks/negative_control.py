"""Negative-control outcomes and exposures (Lipsitch, Tchetgen Tchetgen & Cohen 2010).

A negative-control outcome is one the intervention cannot plausibly change (e.g. elective
hip replacements for a falls service) but that shares the confounding of the real outcome. If
the design estimates an effect on it, the comparison is biased; the size of that spurious
effect is a rough measure of residual confounding (Lipsitch M, Tchetgen Tchetgen E, Cohen T.
Negative controls: a tool for detecting confounding and bias in observational studies.
Epidemiology 2010;21:383-388). This helper tabulates such estimates and flags the ones whose
confidence interval excludes the null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from impacteval.checks.registry import register_check
from impacteval.exceptions import ConfigError
from impacteval.results import EffectEstimate

__all__ = ["NULL_VALUES", "negative_control_table"]

#: The no-effect value of each scale.
NULL_VALUES = {"difference": 0.0, "percent": 0.0, "rate_ratio": 1.0, "risk_ratio": 1.0,
               "odds_ratio": 1.0}

COLUMNS = ["outcome", "kind", "scale", "estimate", "ci_lower", "ci_upper", "p_value",
           "excludes_null", "verdict"]


@register_check("negative_control")
def negative_control_table(estimates: Sequence[EffectEstimate],
                           negative_controls: Sequence[str], *,
                           kind: str = "outcome") -> pd.DataFrame:
    """Estimates on negative-control outcomes (or exposures) with a plain verdict.

    Parameters
    ----------
    estimates
        Estimates of the same design; those whose ``outcome`` (for exposures:
        ``details["exposure"]``) is listed in ``negative_controls`` are used (naive/unmatched
        ones are skipped).
    negative_controls
        Names of the negative-control outcomes (or exposures, with ``kind="exposure"``).
    kind
        ``outcome`` or ``exposure`` (shown in the table).

    Returns
    -------
    DataFrame
        Columns ``outcome, kind, scale, estimate, ci_lower, ci_upper, p_value,
        excludes_null, verdict`` in the order of ``negative_controls``; a control without an
        estimate gets a row with ``verdict = "not estimated"``.
    """
    if kind not in ("outcome", "exposure"):
        raise ConfigError(f"kind must be 'outcome' or 'exposure', not {kind!r}",
                          where="checks.negative_control_table", hint="'outcome'")
    rows = []
    for name in dict.fromkeys(negative_controls):
        # an exposure's estimate names the exposure in details["exposure"] (its outcome is
        # the outcome it was estimated on)
        found = [e for e in estimates
                 if (e.details.get("exposure") == name if kind == "exposure"
                     else e.outcome == name and e.details.get("negative_control") != "exposure")
                 and str(e.details.get("sample", "matched")) not in ("unmatched", "naive")]
        if not found:
            rows.append({"outcome": name, "kind": kind, "scale": None, "estimate": math.nan,
                         "ci_lower": math.nan, "ci_upper": math.nan, "p_value": math.nan,
                         "excludes_null": None, "verdict": "not estimated"})
            continue
        e = found[0]
        null = NULL_VALUES.get(e.scale)
        if null is None:
            raise ConfigError(f"unknown scale {e.scale!r}", where="checks.negative_control_table",
                              hint=f"one of {', '.join(NULL_VALUES)}")
        excludes = bool(e.ci_lower > null or e.ci_upper < null)
        verdict = ("effect found where none is expected: residual confounding or bias likely"
                   if excludes else "no effect detected, as expected")
        rows.append({"outcome": name, "kind": kind, "scale": e.scale, "estimate": e.estimate,
                     "ci_lower": e.ci_lower, "ci_upper": e.ci_upper, "p_value": e.p_value,
                     "excludes_null": excludes, "verdict": verdict})
    return pd.DataFrame(rows, columns=COLUMNS)
