"""Difference-in-differences designs (issue 4).

Importing this package registers the estimators ``"did_2x2"`` (:class:`DifferenceInDifferences`),
``"did_twfe"`` (:class:`TwoWayFixedEffects`).
"""

from impacteval.estimators.did.two_by_two import DifferenceInDifferences, TwoWayFixedEffects
from impacteval.estimators.did.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap

__all__ = [
    "DifferenceInDifferences",
    "TwoWayFixedEffects",
    "WildBootstrapResult",
    "wild_cluster_bootstrap",
]
