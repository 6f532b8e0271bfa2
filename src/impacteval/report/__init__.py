"""impacteval.report: disclosure control, released tables, figures, rendering and outputs.

The report consumes :class:`~impacteval.results.EvaluationResult` records; it never refits a
model or inspects estimator types. Disclosure control is applied here, at the output boundary.
"""

from impacteval.report.checks import check_outputs
from impacteval.report.docx import write_docx
from impacteval.report.sdc import (
    REGIMES,
    ColumnTotal,
    DisclosureRegime,
    RateColumn,
    RowTotal,
    apply_sdc,
    get_regime,
)
from impacteval.report.writer import export_release, write_outputs

__all__ = [
    "REGIMES",
    "ColumnTotal",
    "DisclosureRegime",
    "RateColumn",
    "RowTotal",
    "apply_sdc",
    "check_outputs",
    "export_release",
    "get_regime",
    "write_docx",
    "write_outputs",
]
