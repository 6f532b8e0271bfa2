"""Difference-in-differences designs (issue 4).

Importing this package registers the estimators ``"did_2x2"``
(:class:`DifferenceInDifferences`), ``"did_twfe"`` (:class:`TwoWayFixedEffects`),
``"did_callaway_santanna"`` (:class:`CallawaySantAnna`), ``"did_poisson"``
(:class:`PoissonDiD`), ``"did_event_study"`` (:class:`EventStudy`) and ``"did_matched"``
(:class:`MatchedDiD`).
"""

from impacteval.estimators.did.aggregation import Aggregation
from impacteval.estimators.did.bacon import BaconDecomposition, bacon_decomposition
from impacteval.estimators.did.count import PoissonDiD
from impacteval.estimators.did.event_study import EventStudy, EventStudyResult, event_study
from impacteval.estimators.did.matched import MatchedDiD
from impacteval.estimators.did.multiplier import BootstrapResult, multiplier_bootstrap
from impacteval.estimators.did.panel import WidePanel, wide_panel
from impacteval.estimators.did.panel_builder import build_panel
from impacteval.estimators.did.plots import dynamic_plot, group_time_plot
from impacteval.estimators.did.sensitivity import (
    RelativeMagnitudeBounds,
    SmoothnessFLCI,
    relative_magnitude_bounds,
    smoothness_flci,
)
from impacteval.estimators.did.staggered import CallawaySantAnna, GroupTimeATT, group_time_att
from impacteval.estimators.did.two_by_two import DifferenceInDifferences, TwoWayFixedEffects
from impacteval.estimators.did.wild_bootstrap import (
    WildBootstrapResult,
    WildBootstrapWaldResult,
    wild_bootstrap_wald,
    wild_cluster_bootstrap,
)

__all__ = [
    "Aggregation",
    "BaconDecomposition",
    "BootstrapResult",
    "CallawaySantAnna",
    "DifferenceInDifferences",
    "EventStudy",
    "EventStudyResult",
    "GroupTimeATT",
    "MatchedDiD",
    "PoissonDiD",
    "RelativeMagnitudeBounds",
    "SmoothnessFLCI",
    "TwoWayFixedEffects",
    "WidePanel",
    "WildBootstrapResult",
    "WildBootstrapWaldResult",
    "bacon_decomposition",
    "build_panel",
    "dynamic_plot",
    "event_study",
    "group_time_att",
    "group_time_plot",
    "multiplier_bootstrap",
    "relative_magnitude_bounds",
    "smoothness_flci",
    "wide_panel",
    "wild_bootstrap_wald",
    "wild_cluster_bootstrap",
]
