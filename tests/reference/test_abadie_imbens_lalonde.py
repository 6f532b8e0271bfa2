"""ATT and Abadie-Imbens standard errors against R's Matching::Match on Matching's `lalonde`.

Source of every expected number: tests/reference/data/matching_lalonde_ai.json, written by
tests/reference/scripts/matching_lalonde_ai.R (Matching 4.10.8, R 4.2.2, Debian packages).
Data: tests/reference/data/lalonde_matching.csv (see tests/reference/data/README_lalonde_matching.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.inference.abadie_imbens import abadie_imbens_att
from impacteval.matching.ties import inverse_variance_points, match_with_ties

DATA = Path(__file__).parent / "data"
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "matching_lalonde_ai.json").read_text())


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_matching.csv")


def _run(lalonde: pd.DataFrame, covariates: list[str], M: int):
    P = inverse_variance_points(lalonde[covariates].to_numpy(dtype=float))
    pairs = match_with_ties(P, lalonde["treat"].to_numpy(), M=M)
    return pairs, abadie_imbens_att(lalonde["re78"].to_numpy(), pairs)


@pytest.mark.parametrize(
    ("case", "M", "coarse"),
    [("att_m1", 1, False), ("att_m3", 3, False), ("att_m1_age_educ", 1, True)],
)
def test_att_and_ai_se_equal_match(ref: dict, lalonde: pd.DataFrame, case, M, coarse) -> None:
    covs = ["age", "educ"] if coarse else ref["covariates"]
    pairs, res = _run(lalonde, covs, M)
    expected = ref[case]
    assert res.att == pytest.approx(np.ravel(expected["est"])[0], rel=RTOL)
    assert res.se == pytest.approx(expected["se"], rel=RTOL)
    # the matched sets themselves, ties included (R's indices are 1-based)
    got = pairs.sort_values(["treated_index", "control_index"]).to_numpy()
    want = np.column_stack(
        [
            np.array(expected["index_treated"]) - 1,
            np.array(expected["index_control"]) - 1,
            np.array(expected["weights"]),
        ]
    )
    want = want[np.lexsort((want[:, 1], want[:, 0]))]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sample_se_equals_match_sample_true(ref: dict, lalonde: pd.DataFrame) -> None:
    _, res = _run(lalonde, ref["covariates"], 1)
    assert res.se_sample == pytest.approx(ref["att_m1_sample"]["se"], rel=RTOL)
