"""The SPC design's released charts (impacteval.pipeline.design_spc)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from impacteval.config.models import SPCSpec
from impacteval.pipeline.design_spc import _released_data, redraw_from_released
from impacteval.spc import attribute_chart


def _data() -> pd.DataFrame:
    return pd.DataFrame({"t": np.arange(8), "n": [12, 3, 15, 20, 11, 4, 18, 14],
                         "days": [100.0, 90, 110, 120, 100, 95, 105, 100]})


def test_u_chart_is_drawn_from_the_released_counts() -> None:
    """The picture shows the released counts (rounded; suppressed ones leave a gap), not the
    raw ones; the CSV carries counts and denominators but not the ratio."""
    chart = attribute_chart(_data(), chart="u", x="t", numerator="n", denominator="days")
    released = _released_data(chart, SPCSpec(chart="u"), population_denominator=False)
    assert "y" not in released.columns and "events" in released.columns
    released = released.assign(events=["10", "<10", "15", "20", "10", "<10", "20", "15"])
    fig = redraw_from_released(chart, title="u", ylabel="")(released)
    y = fig.axes[0].lines[0].get_ydata()
    expected = np.array([10, np.nan, 15, 20, 10, np.nan, 20, 15]) / _data()["days"].to_numpy()
    np.testing.assert_allclose(y, expected)
    # limits are those of the full data
    centre = fig.axes[0].lines[1].get_ydata()
    np.testing.assert_allclose(centre, chart.data["centre"])


def test_population_denominators_are_released_as_counts() -> None:
    chart = attribute_chart(_data(), chart="p", x="t", numerator="n", denominator="days")
    released = _released_data(chart, SPCSpec(chart="p"), population_denominator=True)
    assert {"events", "n_population"} <= set(released.columns)
