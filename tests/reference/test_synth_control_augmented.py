"""Ridge augmented synthetic control against pysyncon's AugSynth (R augsynth's ridge method).

Numbers: ``tests/reference/data/sc_augsynth.json`` from
``tests/reference/scripts/sc_augsynth_reference.py`` (pysyncon 1.7.0, MIT) on the Basque data,
outcome-only (pre-period 1955-1969), with the cross-validated penalty and with penalty 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.base import ESTIMATORS
from impacteval.estimators.synthetic import AugmentedSyntheticControl
from impacteval.exceptions import ConfigError

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "sc_augsynth.json").read_text())
ROLES = {"unit": "regionname", "time": "year", "outcome": "gdpcap", "treatment": "d"}


@pytest.fixture(scope="module")
def basque() -> pd.DataFrame:
    df = pd.read_csv(DATA / "sc_basque.csv")
    df = df[df["regionname"] != "Spain (Espana)"]
    return df.assign(d=((df["regionname"] == "Basque Country (Pais Vasco)")
                        & (df["year"] >= 1970)).astype(int))


@pytest.mark.parametrize(("name", "lam"), [("cv", None), ("fixed", 1.0)])
def test_matches_pysyncon_augsynth(basque: pd.DataFrame, name: str, lam: float | None) -> None:
    fit = AugmentedSyntheticControl(lambda_=lam).fit_details(basque, **ROLES)
    ref = REF[name]
    assert fit.lambda_ == pytest.approx(ref["lambda"], rel=1e-9)
    for key, ours in (("sc_weights", fit.sc_weights), ("weights", fit.weights)):
        r = pd.Series(ref[key])
        np.testing.assert_allclose(ours.reindex(r.index).to_numpy(), r.to_numpy(), atol=1e-5)
    g = pd.Series(ref["gaps"]).rename(index=int)
    np.testing.assert_allclose(fit.path.set_index("time")["gap"].reindex(g.index), g, atol=1e-5)
    assert fit.weights.sum() == pytest.approx(1.0)


def test_registered_and_validated(basque: pd.DataFrame) -> None:
    assert ESTIMATORS.get("augmented_synthetic_control") is AugmentedSyntheticControl
    est = AugmentedSyntheticControl(lambda_=1.0).fit(basque, **ROLES)
    assert est.estimator == "augmented_synthetic_control" and est.details["lambda"] == 1.0
    with pytest.raises(ConfigError, match="lambda_"):
        AugmentedSyntheticControl(lambda_=-1.0)
