"""IV reference tests on Card (1995), proximity to college, against R AER::ivreg.

Numbers come from ``tests/reference/data/iv_card_aer.json``, written by
``tests/reference/scripts/iv_card_aer.R`` (see ``tests/reference/data/iv_README.md``).
Published values: Wooldridge, *Introductory Econometrics*, Example 15.4 (IV estimate 0.132,
SE 0.055; first-stage coefficient on nearc4 0.320, SE 0.088).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.iv import InstrumentalVariables, WeakInstrumentWarning
from impacteval.results import EffectEstimate

DATA = Path(__file__).parent / "data"
REL = 1e-6
CONTROLS = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [
    f"reg66{i}" for i in range(2, 10)
]
_FITS: dict[tuple, EffectEstimate] = {}


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "iv_card_aer.json").read_text())


@pytest.fixture(scope="module")
def card() -> pd.DataFrame:
    return pd.read_csv(DATA / "iv_card1995.csv")


def _fit(card: pd.DataFrame, instruments: tuple[str, ...], **params: str) -> EffectEstimate:
    """Fit once per specification; nearc4 alone has a first-stage F above 10 (no warning),
    nearc2 and nearc4 together about 8 (a WeakInstrumentWarning is expected)."""
    key = (instruments, tuple(sorted(params.items())))
    if key not in _FITS:
        expected = WeakInstrumentWarning if len(instruments) > 1 else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _FITS[key] = InstrumentalVariables(**params).fit(  # type: ignore[arg-type]
                card,
                outcome="lwage",
                treatment="educ",
                instruments=list(instruments),
                covariates=CONTROLS,
            )
        kinds = [w.category for w in caught]
        assert kinds == ([expected] if expected else [])
        assert _FITS[key].details["weak_instruments"] is (expected is not None)
    return _FITS[key]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def test_published_example_15_4(card: pd.DataFrame) -> None:
    est = _fit(card, ("nearc4",), cov_type="unadjusted")
    assert len(card) == 3010
    assert round(est.estimate, 3) == 0.132
    assert round(est.std_error, 3) == 0.055
    fs = est.details["first_stage"]
    assert round(fs["coef"]["nearc4"], 3) == 0.320
    assert round(fs["se"]["nearc4"], 3) == 0.088


@pytest.mark.parametrize(
    ("model", "instruments"), [("just", ("nearc4",)), ("over", ("nearc2", "nearc4"))]
)
def test_against_aer(
    card: pd.DataFrame, ref: dict, model: str, instruments: tuple[str, ...]
) -> None:
    r = ref[model]
    classical = _fit(card, instruments, cov_type="unadjusted")
    robust = _fit(card, instruments, cov_type="robust")
    assert classical.details["n"] == r["n"]
    assert _rel(classical.estimate, r["coef"]) < REL
    assert _rel(classical.std_error, r["se_classical"]) < REL
    assert _rel(robust.std_error, r["se_hc1"]) < REL
    assert _rel(classical.details["first_stage"]["f_statistic"], r["weak_f_classical"]) < REL
    assert _rel(robust.details["first_stage"]["f_statistic"], r["weak_f_hc1"]) < REL
    assert _rel(robust.details["first_stage"]["kleibergen_paap_f"], r["weak_f_hc1"]) < REL
    assert _rel(classical.details["wu_hausman"]["statistic"], r["wu_hausman_classical"]) < REL
    assert _rel(robust.details["endogeneity_robust"]["statistic"], r["wu_hausman_hc1"]) < REL
    if model == "over":
        assert _rel(classical.details["sargan"]["statistic"], r["sargan"]) < REL


def test_liml_against_r_k_class(card: pd.DataFrame, ref: dict) -> None:
    liml = _fit(card, ("nearc2", "nearc4"), cov_type="unadjusted", method="liml")
    assert _rel(liml.details["kappa"], ref["liml_over"]["kappa"]) < REL
    assert _rel(liml.estimate, ref["liml_over"]["coef"]) < REL


@pytest.mark.parametrize(
    ("key", "instruments", "cov_type"),
    [
        ("ar_just_classical", ("nearc4",), "unadjusted"),
        ("ar_just_hc1", ("nearc4",), "robust"),
        ("ar_over_classical", ("nearc2", "nearc4"), "unadjusted"),
        ("ar_over_hc1", ("nearc2", "nearc4"), "robust"),
    ],
)
def test_anderson_rubin_against_r_brute_force(
    card: pd.DataFrame, ref: dict, key: str, instruments: tuple[str, ...], cov_type: str
) -> None:
    entry = ref[key]
    ar = _fit(card, instruments, cov_type=cov_type).details["anderson_rubin"]
    roots = entry["roots"] if isinstance(entry["roots"], list) else []
    assert ar["statistic"] == pytest.approx(entry["statistic_at_zero"], rel=REL)
    assert ar["critical_value"] == pytest.approx(entry["critical_value"], rel=1e-9)
    if not entry["inside_at_grid_min"] and not entry["inside_at_grid_max"]:
        assert ar["shape"] == "bounded"
        assert [ar["ci_lower"], ar["ci_upper"]] == pytest.approx(roots, rel=REL, abs=1e-9)
    else:  # unbounded on the R grid: the finite endpoints R found must be ours
        assert ar["bounded"] is False
        finite = [v for iv in ar["intervals"] for v in iv if abs(v) != float("inf")]
        assert finite == pytest.approx(roots, rel=REL, abs=1e-9)
