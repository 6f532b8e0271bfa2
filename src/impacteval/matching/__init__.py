"""Matching: propensity models, nearest-neighbour matching, the match result, balance, plots."""

from impacteval.matching.balance import BALANCE_COLUMNS, balance_summary, balance_table
from impacteval.matching.nearest import nearest_neighbour_match
from impacteval.matching.plots import love_plot, overlap_plot
from impacteval.matching.propensity import FittedPropensity, PropensityModel
from impacteval.matching.result import MatchResult

__all__ = [
    "BALANCE_COLUMNS",
    "FittedPropensity",
    "MatchResult",
    "PropensityModel",
    "balance_summary",
    "balance_table",
    "love_plot",
    "nearest_neighbour_match",
    "overlap_plot",
]
