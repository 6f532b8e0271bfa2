"""2x2 DiD and TWFE on Card and Krueger (1994) against R lm + sandwich::vcovCL.

Numbers: tests/reference/data/did_card_krueger.json, made by
tests/reference/scripts/did_card_krueger.R (data source and licence in did_README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.did import DifferenceInDifferences, TwoWayFixedEffects

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "did_card_krueger.json").read_text())


@pytest.fixture(scope="module")
def ck() -> pd.DataFrame:
    d = pd.read_csv(DATA / "did_card_krueger.csv")
    for code, name in ((2, "kfc"), (3, "roys"), (4, "wendys")):
        d[name] = (d["chain"] == code).astype(int)
    d["nj_post"] = d["nj"] * d["post"]
    return d


def test_cell_means_reproduce_table_3(ck: pd.DataFrame) -> None:
    est = DifferenceInDifferences(method="means").fit(
        ck, outcome="fte", treated="nj", post="post", clusters="store_id", unit="store_id"
    )
    m = pd.DataFrame(est.details["cell_means"]).set_index(["group", "period"])["mean"]
    ref = REF["cell_means"]
    assert m["treated", "pre"] == pytest.approx(ref["nj1_post0"], rel=1e-12)
    assert m["treated", "post"] == pytest.approx(ref["nj1_post1"], rel=1e-12)
    assert m["control", "pre"] == pytest.approx(ref["nj0_post0"], rel=1e-12)
    assert m["control", "post"] == pytest.approx(ref["nj0_post1"], rel=1e-12)
    assert est.estimate == pytest.approx(REF["did_means"], rel=1e-12)
    assert est.details["n_rows"] == REF["n_rows"]
    assert est.details["n_clusters"] == [REF["n_clusters"]]
    # 410 stores: 331 in New Jersey, 79 in Pennsylvania (Card and Krueger 1994, Table 1)
    assert (est.n_treated, est.n_control) == (331, 79)


@pytest.mark.parametrize("kind", ["HC0", "HC1"])
def test_regression_store_clustered_se(ck: pd.DataFrame, kind: str) -> None:
    est = DifferenceInDifferences(cov_kind=kind).fit(
        ck, outcome="fte", treated="nj", post="post", clusters="store_id"
    )
    ref = REF["regression"][kind.lower()]
    assert est.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert est.std_error == pytest.approx(ref["se"], rel=1e-8)


@pytest.mark.parametrize("kind", ["HC0", "HC1"])
def test_regression_with_covariates(ck: pd.DataFrame, kind: str) -> None:
    est = DifferenceInDifferences(cov_kind=kind).fit(
        ck, outcome="fte", treated="nj", post="post", clusters="store_id",
        covariates=["kfc", "roys", "wendys", "co_owned"],
    )
    ref = REF["regression_covariates"][kind.lower()]
    assert est.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert est.std_error == pytest.approx(ref["se"], rel=1e-8)


def test_twfe_balanced_panel(ck: pd.DataFrame) -> None:
    complete = ck.dropna(subset=["fte"])
    balanced = complete[complete.groupby("store_id")["fte"].transform("size") == 2]
    est = TwoWayFixedEffects(cov_kind="HC0").fit(
        balanced, outcome="fte", treatment="nj_post", unit="store_id", time="post"
    )
    ref = REF["twfe_balanced"]
    assert est.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert est.std_error == pytest.approx(ref["se"], rel=1e-8)
    assert est.details["n_rows"] == ref["n_rows"]
    assert est.details["n_clusters"] == [ref["n_clusters"]]


def test_wild_bootstrap_agrees_with_analytic_p_with_many_clusters(ck: pd.DataFrame) -> None:
    # 410 clusters: the bootstrap and the normal approximation agree; with 1,999 draws the
    # Monte Carlo SE of a p-value near 0.035 is sqrt(0.035 * 0.965 / 1999) = 0.004.
    est = DifferenceInDifferences(wild_bootstrap=1999, seed=20261130).fit(
        ck, outcome="fte", treated="nj", post="post", clusters="store_id"
    )
    assert est.details["wild_bootstrap_p_value"] == pytest.approx(est.p_value, abs=0.015)
    assert est.details["wild_bootstrap_draws"] == 1999
    assert ck.equals(ck)  # fixture untouched
