"""Stage runner: validate everything, then run, then write outputs atomically."""

from impacteval.pipeline.runner import RunOutcome, run, validate

__all__ = ["RunOutcome", "run", "validate"]
