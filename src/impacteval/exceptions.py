"""Exception and warning hierarchy.

Every error a user can cause derives from :class:`ImpactEvalError`. The CLI maps these to
exit code 2 and prints only ``str(error)``: one message naming *where* the problem is and
*how to fix it*. Messages never contain row-level values or identifiers.
"""

from __future__ import annotations


class ImpactEvalError(Exception):
    """Base class for user-facing errors (bad config, bad data, unidentifiable design)."""

    exit_code: int = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text}\n  how to fix: {self.hint}"
        return text


class ConfigError(ImpactEvalError):
    """The YAML configuration is invalid (unknown key, wrong type, impossible value)."""


class SchemaError(ImpactEvalError):
    """An input table breaks the data contract (missing column, wrong type, bad code, bad date)."""


class LinkageError(ImpactEvalError):
    """Records cannot be linked (no shared key, no linkable persons)."""


class DesignError(ImpactEvalError):
    """The design cannot be identified on these data (no treated, no controls, no overlap...)."""


class EstimationError(ImpactEvalError):
    """A model could not be fitted to the data it was given."""


class DisclosureError(ImpactEvalError):
    """An output would release a cell that fails disclosure control."""


class ImpactEvalWarning(UserWarning):
    """Base class for impacteval warnings."""


class BalanceWarning(ImpactEvalWarning):
    """Covariate balance after matching misses a threshold."""


class DataQualityWarning(ImpactEvalWarning):
    """Input data had problems that were fixed or dropped (counted in the ingest report)."""
