"""Statistical process control: run charts, XmR charts with the Making Data Count rules,
P/U/C charts with varying denominators and Laney P'/U', rebasing at intervention dates,
variation labels and figures (see :mod:`impacteval.spc.charts`)."""

from impacteval.spc.charts import SPCChart, attribute_chart, run_chart, xmr_chart
from impacteval.spc.plot import save_chart, save_figure, spc_figure
from impacteval.spc.rules import (
    AnhoejResult,
    RunsTest,
    anhoej,
    mdc_rules,
    run_chart_rules,
    runs_test,
)

__all__ = [
    "AnhoejResult",
    "RunsTest",
    "SPCChart",
    "anhoej",
    "attribute_chart",
    "mdc_rules",
    "run_chart",
    "run_chart_rules",
    "runs_test",
    "save_chart",
    "save_figure",
    "spc_figure",
    "xmr_chart",
]
