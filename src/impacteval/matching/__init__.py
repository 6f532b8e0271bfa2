"""Matching: propensity models, nearest-neighbour matching, the match result, balance, plots."""

from impacteval.matching.balance import BALANCE_COLUMNS, balance_summary, balance_table
from impacteval.matching.distance import CovariateTransform, transform_covariates
from impacteval.matching.multivariate import covariate_match, match_points
from impacteval.matching.nearest import nearest_neighbour_match
from impacteval.matching.plots import love_plot, overlap_plot
from impacteval.matching.propensity import FittedPropensity, PropensityModel
from impacteval.matching.result import MatchResult

__all__ = [
    "BALANCE_COLUMNS",
    "CovariateTransform",
    "FittedPropensity",
    "MatchResult",
    "PropensityModel",
    "balance_summary",
    "balance_table",
    "covariate_match",
    "love_plot",
    "match_points",
    "nearest_neighbour_match",
    "overlap_plot",
    "transform_covariates",
]
