"""Stage 2: deterministic linkage on the pseudonymised person key, and its quality report."""

from impacteval.linkage.link import LinkResult, link
from impacteval.linkage.pseudonymise import pseudonymise

__all__ = ["LinkResult", "link", "pseudonymise"]
