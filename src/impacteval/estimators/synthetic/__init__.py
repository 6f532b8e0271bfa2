"""Synthetic control family for area-level evaluations.

Importing this package registers :class:`SyntheticControl` (``"synthetic_control"``: classic
synthetic control with in-space placebo inference), :class:`AugmentedSyntheticControl`
(``"augmented_synthetic_control"``: ridge augmented SC) and :class:`SyntheticDiD`
(``"synthetic_did"``: synthetic difference-in-differences, with its SC and DiD variants,
placebo/jackknife/bootstrap SEs and staggered adoption) and :class:`SeveralTreated`
(``"synthetic_control_several"``: several treated units or staggered adoption, each fitted
against the never-treated donors, the ATT aggregated, placebo-distribution inference).
:class:`GeneralizedSyntheticControl` (``"generalized_synthetic_control"``, module
``generalized``) is the generalised synthetic control of R gsynth.

Modules: ``panel`` (long table -> checked panel, predictors), ``simplex`` (simplex-constrained
solvers), ``vweights`` (nested V/W optimisation), ``classic``, ``augmented``, ``robustness`` (in-time placebo,
leave-one-out), ``plots``, ``sdid``, ``several``, ``area_panel`` (area x month rates from derived events,
donor-pool rules, washout).
"""

from impacteval.estimators.synthetic.area_panel import (
    area_month_panel,
    donor_pool,
    treatment_indicator,
)
from impacteval.estimators.synthetic.augmented import AugmentedFit, AugmentedSyntheticControl
from impacteval.estimators.synthetic.classic import (
    PlaceboResult,
    SyntheticControl,
    SyntheticControlFit,
    SyntheticControlWarning,
    permutation_p_value,
)
from impacteval.estimators.synthetic.generalized import GeneralizedFit, GeneralizedSyntheticControl
from impacteval.estimators.synthetic.panel import Panel, Predictor, build_panel
from impacteval.estimators.synthetic.plots import gap_plot, trajectory_plot, weights_plot
from impacteval.estimators.synthetic.robustness import in_time_placebo, leave_one_out
from impacteval.estimators.synthetic.sdid import SyntheticDiD, SyntheticDiDFit
from impacteval.estimators.synthetic.several import SeveralTreated, SeveralTreatedFit
from impacteval.estimators.synthetic.simplex import frank_wolfe_simplex, simplex_least_squares

__all__ = [
    "AugmentedFit",
    "AugmentedSyntheticControl",
    "GeneralizedFit",
    "GeneralizedSyntheticControl",
    "Panel",
    "PlaceboResult",
    "Predictor",
    "SyntheticControl",
    "SyntheticControlFit",
    "SyntheticControlWarning",
    "SeveralTreated",
    "SeveralTreatedFit",
    "SyntheticDiD",
    "SyntheticDiDFit",
    "area_month_panel",
    "build_panel",
    "donor_pool",
    "frank_wolfe_simplex",
    "gap_plot",
    "in_time_placebo",
    "leave_one_out",
    "permutation_p_value",
    "simplex_least_squares",
    "trajectory_plot",
    "treatment_indicator",
    "weights_plot",
]
