"""Restricted wild cluster bootstrap against the PyPI package ``wildboottest``.

Numbers: tests/reference/data/did_wild_bootstrap.json (script
tests/reference/scripts/did_wild_bootstrap_wildboottest.py). 10 clusters: both programs
enumerate all 1,024 Rademacher sign vectors, so the p-values are deterministic. wildboottest
counts bootstrap |t*| strictly greater than |t|; under enumeration the all-plus and all-minus
sign vectors reproduce |t| exactly, and whether floating point puts them above or below is
arbitrary. We count such ties (the conservative convention), so our p-value equals
wildboottest's or exceeds it by exactly those 2 draws (2/1024).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.did import (
    DifferenceInDifferences,
    TwoWayFixedEffects,
    wild_cluster_bootstrap,
)

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "did_wild_bootstrap.json").read_text())


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA / "did_wild_bootstrap.csv")


@pytest.mark.parametrize(("case", "covs"), [("no_covariates", []), ("covariate", ["x"])])
def test_enumerated_p_value(data: pd.DataFrame, case: str, covs: list[str]) -> None:
    est = DifferenceInDifferences(wild_bootstrap=9999, seed=1).fit(
        data, outcome="y", treated="treated", post="post", clusters="cluster", covariates=covs)
    assert est.details["wild_bootstrap_enumerated"] and est.details["wild_bootstrap_draws"] == 1024
    # wildboottest's t uses the HC1-type factor G/(G-1)(n-1)/(n-k), as our default cov_kind
    assert est.estimate / est.std_error == pytest.approx(REF[case]["t_stat"], rel=1e-10)
    diff = est.details["wild_bootstrap_p_value"] - REF[case]["p_value"]
    assert min(abs(diff), abs(diff - 2 / 1024)) < 1e-12


def test_confidence_interval_by_test_inversion(data: pd.DataFrame) -> None:
    X = np.column_stack([np.ones(len(data)), data["treated"], data["post"],
                         data["treated"] * data["post"]])
    y, cl = data["y"].to_numpy(), data["cluster"].to_numpy()
    res = wild_cluster_bootstrap(X, y, cl, 3, n_boot=4096, rng=np.random.default_rng(0),
                                 ci_level=0.95)
    beta = np.linalg.lstsq(X, y, rcond=None)[0][3]
    assert res.ci_lower < beta < res.ci_upper

    def p(b0: float) -> float:
        return wild_cluster_bootstrap(X, y, cl, 3, n_boot=4096, rng=np.random.default_rng(0),
                                      null=b0).p_value

    # just inside the interval the null is not rejected at 5 %, just outside it is
    eps = 1e-4 * (res.ci_upper - res.ci_lower)
    assert p(res.ci_lower + eps) > 0.05 >= p(res.ci_lower - eps)
    assert p(res.ci_upper - eps) > 0.05 >= p(res.ci_upper + eps)
    est = DifferenceInDifferences(wild_bootstrap=4096, wild_bootstrap_ci=True, seed=0).fit(
        data, outcome="y", treated="treated", post="post", clusters="cluster")
    assert est.details["wild_bootstrap_ci_lower"] == pytest.approx(res.ci_lower)
    assert est.details["wild_bootstrap_ci_upper"] == pytest.approx(res.ci_upper)


def test_twfe_wild_bootstrap_on_unbalanced_area_panel() -> None:
    # 10 areas x 12 quarters, 3 rows missing; wildboottest ran the dummy-variable regression,
    # we run the bootstrap on the two-way demeaned data with each draw re-projected.
    panel = pd.read_csv(DATA / "did_wild_bootstrap_twfe.csv")
    est = TwoWayFixedEffects(wild_bootstrap=9999, seed=1).fit(
        panel, outcome="y", treatment="D", unit="area", time="quarter", covariates=["x"])
    assert est.details["wild_bootstrap_enumerated"]
    diff = est.details["wild_bootstrap_p_value"] - REF["twfe"]["p_value"]
    assert min(abs(diff), abs(diff - 2 / 1024)) < 1e-12
    # the FWL coefficient equals PanelOLS's; the t statistic differs from wildboottest's only
    # by its (n-1)/(n-k) factor with k counting the 21 dummies: HC1 vs our HC0 G/(G-1)
    n, k = len(panel), 2 + 1 + 9 + 11
    t_ours = est.estimate / est.std_error
    assert t_ours / np.sqrt((n - 1) / (n - k)) == pytest.approx(REF["twfe"]["t_stat"], rel=1e-8)
