"""impacteval.checks: sensitivity analyses as small registered functions.

* :func:`evalue_for_estimate`, :func:`evalue_ratio`, :func:`e_value`: E-values for rate, risk
  and odds ratios (VanderWeele & Ding 2017);
* :func:`rosenbaum_wilcoxon`: Rosenbaum bounds for matched pairs (Wilcoxon signed rank);
* :func:`negative_control_table`: negative-control outcomes and exposures.

:func:`sensitivity_diagnostics` assembles ``diagnostics["sensitivity"]`` for the report from a
matched cohort. Each check is registered in :data:`CHECKS` by name (``evalue``, ``rosenbaum_wilcoxon``,
``negative_control``).
"""

from impacteval.checks.evalue import EValue, e_value, evalue_for_estimate, evalue_ratio
from impacteval.checks.negative_control import negative_control_table
from impacteval.checks.registry import CHECKS, register_check
from impacteval.checks.rosenbaum import (
    RosenbaumBounds,
    critical_gamma,
    matched_pair_outcomes,
    rosenbaum_wilcoxon,
)
from impacteval.checks.suite import sensitivity_diagnostics

__all__ = [
    "CHECKS",
    "EValue",
    "RosenbaumBounds",
    "critical_gamma",
    "e_value",
    "evalue_for_estimate",
    "evalue_ratio",
    "matched_pair_outcomes",
    "negative_control_table",
    "register_check",
    "rosenbaum_wilcoxon",
    "sensitivity_diagnostics",
]
