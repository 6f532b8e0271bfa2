"""Poisson (PPML) DiD with an exposure offset against R glm + sandwich::vcovCL.

Numbers: tests/reference/data/did_poisson_glm.json from
tests/reference/scripts/did_poisson_glm.R (which also simulated did_poisson_panel.csv).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.did import PoissonDiD

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "did_poisson_glm.json").read_text())


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(DATA / "did_poisson_panel.csv")


@pytest.mark.parametrize(("case", "covs"), [("two_by_two", []), ("two_by_two_covariate", ["x"])])
def test_two_by_two_rate_ratio(panel: pd.DataFrame, case: str, covs: list[str]) -> None:
    est = PoissonDiD().fit(panel, outcome="events", exposure="population", treated="treated",
                           post="post", unit="area", covariates=covs)
    assert math.log(est.estimate) == pytest.approx(REF[case]["log_rr"], rel=1e-8)
    # R's glm stops at deviance tolerance 1e-8; ours at 1e-12
    assert est.std_error == pytest.approx(REF[case]["se"], rel=1e-6)
    assert est.scale == "rate_ratio" and est.details["se_scale"] == "log"
    assert est.ci_lower < est.estimate < est.ci_upper
    assert (est.n_treated, est.n_control) == (16, 24)
    assert est.details["n_clusters"] == [40]


def test_twfe_poisson_staggered(panel: pd.DataFrame) -> None:
    est = PoissonDiD(fixed_effects=True).fit(
        panel, outcome="events", exposure="population", treated="treated", post="d",
        unit="area", time="quarter",
    )
    assert math.log(est.estimate) == pytest.approx(REF["twfe"]["log_rr"], rel=1e-8)
    assert est.std_error == pytest.approx(REF["twfe"]["se"], rel=1e-6)


def test_cell_rates_are_crude_rates(panel: pd.DataFrame) -> None:
    est = PoissonDiD(rate_per=1000).fit(panel, outcome="events", exposure="population",
                                        treated="treated", post="post", unit="area")
    cells = pd.DataFrame(est.details["cell_rates"]).set_index(["group", "period"])
    sub = panel[(panel.treated == 1) & (panel.post == 1)]
    assert cells.loc[("treated", "post"), "rate"] == pytest.approx(
        sub.events.sum() / sub.population.sum() * 1000)
    # without covariates the 2x2 PPML rate ratio is the ratio of crude rate ratios
    r = cells["rate"]
    crude = (r["treated", "post"] / r["treated", "pre"]) / (r["control", "post"] / r["control", "pre"])
    assert est.estimate == pytest.approx(crude, rel=1e-9)
