"""Synthetic control family for area-level evaluations.

Importing this package registers :class:`SyntheticControl` (``"synthetic_control"``) and
:class:`SyntheticDiD` (``"synthetic_did"``).
"""

from impacteval.estimators.synthetic.classic import (
    PlaceboResult,
    SyntheticControl,
    SyntheticControlFit,
    SyntheticControlWarning,
    permutation_p_value,
)
from impacteval.estimators.synthetic.panel import Panel, Predictor, build_panel
from impacteval.estimators.synthetic.sdid import SyntheticDiD, SyntheticDiDFit
from impacteval.estimators.synthetic.simplex import frank_wolfe_simplex, simplex_least_squares

__all__ = [
    "Panel",
    "PlaceboResult",
    "Predictor",
    "SyntheticControl",
    "SyntheticControlFit",
    "SyntheticControlWarning",
    "SyntheticDiD",
    "SyntheticDiDFit",
    "build_panel",
    "frank_wolfe_simplex",
    "permutation_p_value",
    "simplex_least_squares",
]
