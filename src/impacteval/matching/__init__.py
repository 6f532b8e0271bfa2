"""Matching: propensity models, distances, nearest-neighbour, optimal and genetic matching, the
match result, balance, plots."""

from impacteval.matching.balance import BALANCE_COLUMNS, balance_summary, balance_table
from impacteval.matching.distance import CovariateTransform, transform_covariates
from impacteval.matching.genetic import GeneticMatch, GeneticMatcher, balance_terms
from impacteval.matching.multivariate import covariate_match, match_points
from impacteval.matching.nearest import nearest_neighbour_match
from impacteval.matching.optimal import optimal_match
from impacteval.matching.plots import genetic_history_plot, love_plot, overlap_plot
from impacteval.matching.propensity import (
    BoostedPropensityModel,
    FittedPropensity,
    PropensityModel,
    TermExpansion,
)
from impacteval.matching.result import MatchResult
from impacteval.matching.ties import inverse_variance_points, match_with_ties

__all__ = [
    "BALANCE_COLUMNS",
    "BoostedPropensityModel",
    "CovariateTransform",
    "FittedPropensity",
    "GeneticMatch",
    "GeneticMatcher",
    "MatchResult",
    "PropensityModel",
    "TermExpansion",
    "balance_summary",
    "balance_table",
    "balance_terms",
    "covariate_match",
    "genetic_history_plot",
    "inverse_variance_points",
    "love_plot",
    "match_points",
    "match_with_ties",
    "nearest_neighbour_match",
    "optimal_match",
    "overlap_plot",
    "transform_covariates",
]
