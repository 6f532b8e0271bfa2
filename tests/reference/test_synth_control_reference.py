"""Classic synthetic control against published results, R Synth and pysyncon.

Data (``tests/reference/data/README_sc.md``): Basque Country (Abadie and Gardeazabal 2003),
West German reunification (Abadie, Diamond and Hainmueller 2015), California Proposition 99
(Abadie, Diamond and Hainmueller 2010). Reference numbers:

* Basque donor weights Cataluna 0.8508, Madrid 0.1492: R Synth's ``synth()`` example (and
  Abadie and Gardeazabal 2003 Table 1, rounded 0.85 / 0.15); pre-period loss 0.0088645 of
  those weights (pysyncon's own Basque test); pysyncon 1.7.0 fits and placebo fits
  (``tests/reference/scripts/sc_pysyncon_reference.py`` -> ``sc_pysyncon.json``), which ours
  must fit at least as well.
* West Germany weights USA 0.22, Austria 0.42, Netherlands 0.09, Switzerland 0.11, Japan
  0.16: Abadie, Diamond and Hainmueller (2015, *AJPS* 59(2), Table 2), with V from their
  1971-1980 / 1981-1990 cross-validation; pysyncon's fit of the same design.
* California (outcome-only predictors, as the panel shipped by R synthdid has no covariates):
  pysyncon's fit of the same design. With these predictors California ranks third of 39
  (p = 3/39). With ADH 2010's own predictors (covariates from the ``smoking`` data of
  pysyncon/tidysynth, ``sc_smoking_adh2010.csv``) it ranks first: p = 1/39 over all 38
  placebos with no pre-fit cutoff, as published; the weights agree with ADH 2010 Table 2
  (Colorado 0.164, Connecticut 0.069, Montana 0.199, Nevada 0.234, Utah 0.334) within 0.035.
  The difference was the predictor set, not the p-value rule.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.synthetic import (
    Predictor,
    SyntheticControl,
    SyntheticControlWarning,
)

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "sc_pysyncon.json").read_text())

BASQUE = "Basque Country (Pais Vasco)"
SECTORS = ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
           "sec.services.venta", "sec.services.nonventa"]
SCHOOL = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high",
          "invest"]
BASQUE_PREDICTORS = (
    tuple(Predictor(variable=v, periods=tuple(range(1964, 1970))) for v in SCHOOL)
    + (Predictor(variable="gdpcap", periods=tuple(range(1960, 1970))),)
    + tuple(Predictor(variable=v, periods=tuple(range(1961, 1970, 2))) for v in SECTORS)
    + (Predictor(variable="popdens", periods=(1969,)),)
)


@pytest.fixture(scope="module")
def basque() -> pd.DataFrame:
    df = pd.read_csv(DATA / "sc_basque.csv")
    df = df[df["regionname"] != "Spain (Espana)"]
    return df.assign(d=((df["regionname"] == BASQUE) & (df["year"] >= 1970)).astype(int))


@pytest.fixture(scope="module")
def basque_fit(basque: pd.DataFrame):  # type: ignore[no-untyped-def]
    est = SyntheticControl(predictors=BASQUE_PREDICTORS,
                           optimize_periods=tuple(range(1960, 1970)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        return est.fit_details(basque, unit="regionname", time="year", outcome="gdpcap",
                               treatment="d")


def test_basque_weights_match_r_synth(basque_fit) -> None:  # type: ignore[no-untyped-def]
    w = basque_fit.weights
    assert w["Cataluna"] == pytest.approx(0.8508, abs=0.01)
    assert w["Madrid (Comunidad De)"] == pytest.approx(0.1492, abs=0.01)
    assert w.drop(["Cataluna", "Madrid (Comunidad De)"]).max() < 0.01


def test_basque_pre_period_fit(basque_fit) -> None:  # type: ignore[no-untyped-def]
    # R Synth's weights give a 1960-1969 MSPE of 0.0088645 (pysyncon's test of the same
    # design); pysyncon 1.7.0 from its own starts stops at a worse optimum (Cataluna alone,
    # 0.0249) on this donor pool
    assert basque_fit.loss_v == pytest.approx(0.0088645, rel=1e-4)
    assert basque_fit.loss_v <= REF["basque"]["loss_v"]


def test_basque_placebos_fit_at_least_as_well_as_pysyncon(basque_fit) -> None:  # type: ignore[no-untyped-def]
    placebos = basque_fit.placebos
    assert placebos is not None
    ref = REF["basque"]["placebos"]
    assert set(ref) == set(placebos.ratios.loc[placebos.ratios["placebo"], "unit"])
    gaps = placebos.gaps[placebos.gaps["time"].between(1960, 1969)]
    ours = (gaps.groupby("unit")["gap"].apply(lambda g: float((g**2).mean())))
    ratio = pd.Series({u: ours[u] / rec["loss_v"] for u, rec in ref.items()})
    # each placebo is its own multi-modal V problem; with the Synth-style search two of the 16
    # land on a slightly worse local optimum than pysyncon's (Castilla-La Mancha +15%,
    # Cataluna +2%; v_search="multistart" beats pysyncon on both), several on better ones
    assert (ratio > 1 + 1e-3).sum() <= 2
    assert ratio.max() < 1.2
    assert ratio.median() <= 1 + 1e-3
    # the permutation p-value is (1 + #placebo ratios >= the treated ratio) / 17
    r = placebos.ratios
    expected = (1 + (r.loc[r["placebo"], "ratio"] >= r["ratio"].iloc[0]).sum()) / 17
    assert placebos.p_value == pytest.approx(expected)


def test_basque_multistart_finds_a_fit_at_least_as_good(basque: pd.DataFrame) -> None:
    est = SyntheticControl(predictors=BASQUE_PREDICTORS, optimize_periods=tuple(range(1960, 1970)),
                           v_search="multistart", n_random_starts=1, placebos=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        res = est.fit_details(basque, unit="regionname", time="year", outcome="gdpcap",
                              treatment="d")
    # Synth's Cataluna/Madrid solution is a local optimum of the V problem
    assert res.loss_v <= REF["basque"]["loss_v"] * (1 + 1e-6)


# ---------------------------------------------------------------------------- West Germany
GERMANY_DONORS = ["USA", "UK", "Austria", "Belgium", "Denmark", "France", "Italy", "Netherlands",
                  "Norway", "Switzerland", "Japan", "Greece", "Portugal", "Spain", "Australia",
                  "New Zealand"]
ADH2015_WEIGHTS = {"USA": 0.22, "Austria": 0.42, "Netherlands": 0.09, "Switzerland": 0.11,
                   "Japan": 0.16}


def _germany_predictors(years: range, school: tuple[int, int], invest: str
                        ) -> tuple[Predictor, ...]:
    return (tuple(Predictor(variable=v, periods=tuple(years)) for v in ("gdp", "trade", "infrate"))
            + (Predictor(variable="industry", periods=tuple(years)),
               Predictor(variable="schooling", periods=school),
               Predictor(variable=invest, periods=(1980,))))


@pytest.fixture(scope="module")
def germany() -> pd.DataFrame:
    df = pd.read_csv(DATA / "sc_germany.csv")
    df = df[df["country"].isin([*GERMANY_DONORS, "West Germany"])]
    return df.assign(d=((df["country"] == "West Germany") & (df["year"] >= 1991)).astype(int))


ROLES_DE = {"unit": "country", "time": "year", "outcome": "gdp", "treatment": "d"}


def test_germany_cross_validated_weights_match_adh_2015(germany: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        train = SyntheticControl(predictors=_germany_predictors(range(1971, 1981), (1970, 1975),
                                                                "invest70"),
                                 optimize_periods=tuple(range(1981, 1991)),
                                 placebos=False).fit_details(germany, **ROLES_DE)
        main = SyntheticControl(predictors=_germany_predictors(range(1981, 1991), (1980, 1985),
                                                               "invest80"),
                                optimize_periods=tuple(range(1960, 1990)), v=tuple(train.v),
                                placebos=False).fit_details(germany, **ROLES_DE)
    # training fit: pysyncon's loss 4927.75 (ours no worse)
    assert train.loss_v <= REF["germany"]["train"]["loss_v"] * (1 + 1e-6)
    for unit, value in ADH2015_WEIGHTS.items():
        assert main.weights[unit] == pytest.approx(value, abs=0.025)
    assert main.weights.drop(list(ADH2015_WEIGHTS)).max() < 0.01


def test_germany_w_given_pysyncon_v_matches_pysyncon(germany: pd.DataFrame) -> None:
    # same V -> the inner problem has one solution: tests predictors, scaling and the W solver
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        main = SyntheticControl(predictors=_germany_predictors(range(1981, 1991), (1980, 1985),
                                                               "invest80"),
                                optimize_periods=tuple(range(1960, 1990)),
                                v=tuple(REF["germany"]["v"]),
                                placebos=False).fit_details(germany, **ROLES_DE)
    for unit, value in REF["germany"]["weights"].items():
        assert main.weights[unit] == pytest.approx(value, abs=0.01)
    # pysyncon's SLSQP stops short of the inner optimum; the exact W fits 1960-1989 better
    assert main.loss_v <= REF["germany"]["loss_v"] * (1 + 1e-6)


# ---------------------------------------------------------------------------- California
def test_california_fit_matches_pysyncon() -> None:
    df = pd.read_csv(DATA / "sc_california_prop99.csv", sep=";")
    pre = tuple(range(1970, 1989))
    est = SyntheticControl(
        predictors=(Predictor(variable="PacksPerCapita", periods=pre),
                    Predictor(variable="PacksPerCapita", periods=(1975,)),
                    Predictor(variable="PacksPerCapita", periods=(1980,)),
                    Predictor(variable="PacksPerCapita", periods=(1988,))),
        optimize_periods=pre, placebos=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        res = est.fit_details(df, unit="State", time="Year", outcome="PacksPerCapita",
                              treatment="treated")
    # four predictors, 38 donors: the predictors are matched exactly by many donor mixes;
    # among them we take the one that fits the 1970-1988 outcomes best (MSPE 3.26), pysyncon
    # whichever its SLSQP stops at (8.25)
    assert res.loss_v <= REF["california"]["loss_v"]
    matched = res.predictors[res.predictors["v"] > 0.01]
    assert (matched["treated"] - matched["synthetic"]).abs().max() < 1e-3
    assert res.att < -15  # ADH 2010 Figure 2: a gap of about -20 to -25 packs by the 1990s


# ------------------------------------------------------- California, ADH 2010 specification
# ADH (2010, Table 2) weights of synthetic California
ADH2010_WEIGHTS = {"Colorado": 0.164, "Connecticut": 0.069, "Montana": 0.199, "Nevada": 0.234,
                   "Utah": 0.334}


@pytest.mark.slow
def test_california_adh2010_predictors_give_the_published_placebo_p_value() -> None:
    """With ADH 2010's predictors (log income, retail price, share aged 15-24 averaged over
    1980-1988, beer sales over 1984-1988, cigarette sales in 1975, 1980 and 1988; V chosen on
    the 1970-1988 fit) California's post/pre RMSPE ratio is the largest of the 39 states:
    p = 1/39 over all 38 placebos, as published (ADH 2010, section 4 and Figure 8). The 3/39
    of ``test_california_fit_matches_pysyncon`` comes from outcome-only predictors (the panel
    R synthdid ships has no covariates), not from the p-value rule."""
    df = pd.read_csv(DATA / "sc_smoking_adh2010.csv").astype({"year": int})
    df = df.assign(d=((df["state"] == "California") & (df["year"] >= 1989)).astype(int))
    r8 = tuple(range(1980, 1989))
    est = SyntheticControl(
        predictors=(Predictor(variable="lnincome", periods=r8),
                    Predictor(variable="retprice", periods=r8),
                    Predictor(variable="age15to24", periods=r8),
                    Predictor(variable="beer", periods=tuple(range(1984, 1989))),
                    Predictor(variable="cigsale", periods=(1975,)),
                    Predictor(variable="cigsale", periods=(1980,)),
                    Predictor(variable="cigsale", periods=(1988,))),
        optimize_periods=tuple(range(1970, 1989)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticControlWarning)
        res = est.fit_details(df, unit="state", time="year", outcome="cigsale", treatment="d")
    for state, value in ADH2010_WEIGHTS.items():
        assert res.weights[state] == pytest.approx(value, abs=0.035)
    assert res.weights.drop(list(ADH2010_WEIGHTS)).max() < 0.01
    assert res.placebos is not None
    ratios = res.placebos.ratios
    assert int(ratios["placebo"].sum()) == 38
    assert ratios["ratio"].idxmax() == 0  # row 0 is California
    assert res.placebos.p_value == pytest.approx(1 / 39)
    assert -25 < res.att < -15  # ADH 2010 Figure 2: a gap of about -20 packs on average
