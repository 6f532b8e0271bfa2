"""Cohort builder: index dates for treated and controls, eligibility and attrition,
covariates, outcome windows and person-time (stage 4 of the pipeline)."""

from impacteval.cohort.cohort import build_cohort
from impacteval.cohort.result import CohortResult
from impacteval.cohort.windows import WindowedMeasure, windowed_counts

__all__ = ["CohortResult", "WindowedMeasure", "build_cohort", "windowed_counts"]
