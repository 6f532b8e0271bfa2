"""Reference numbers for the classic synthetic control from pysyncon (MIT licence).

Run OUTSIDE the project venv (pysyncon is not a project dependency)::

    python3 -m venv /tmp/sc_ref/venv && /tmp/sc_ref/venv/bin/pip install pysyncon==1.7.0
    for d in basque germany california; do
        /tmp/sc_ref/venv/bin/python tests/reference/scripts/sc_pysyncon_reference.py $d
    done

Writes ``tests/reference/data/sc_pysyncon.json``: for the Basque (Abadie and Gardeazabal 2003),
West German reunification (Abadie, Diamond and Hainmueller 2015) and California Proposition 99
(Abadie, Diamond and Hainmueller 2010, outcome-only predictors) panels, the donor weights,
predictor weights V, pre-period MSPE over the optimisation window, the gap series and, for
Basque, the in-space placebo gaps of every donor (California's placebos take pysyncon too long
on a shared machine; with ADH 2010's covariate predictors our placebo p-value is the published
1/39, see test_california_adh2010_predictors_give_the_published_placebo_p_value). pysyncon's Nelder-Mead
outer search is run from both of its starts ("equal" and "ols") and the better pre-period
fit is kept, as R Synth does with its regression-based start.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from pysyncon import Dataprep, Synth

DATA = Path(__file__).resolve().parents[1] / "data"


def fit_best(dataprep: Dataprep, custom_V=None) -> Synth:
    best = None
    starts = ["equal", "ols"] if custom_V is None else ["equal"]
    for start in starts:
        s = Synth()
        try:
            s.fit(dataprep=dataprep, optim_method="Nelder-Mead", optim_initial=start,
                  custom_V=custom_V)
        except ValueError:
            continue
        if best is None or s.loss_V < best.loss_V:
            best = s
    return best


def gaps(s: Synth, dataprep: Dataprep) -> pd.Series:
    Z0, Z1 = dataprep.make_outcome_mats(time_period=dataprep.foo[dataprep.time_variable])
    return s._gaps(Z0=Z0, Z1=Z1)


def record(s: Synth, dataprep: Dataprep) -> dict:
    g = gaps(s, dataprep)
    return {
        "weights": {str(k): float(v) for k, v in zip(dataprep.controls_identifier, s.W, strict=True)},
        "v": [float(v) for v in s.V],
        "loss_v": float(s.loss_V),
        "gaps": {str(int(k)): float(v) for k, v in g.items()},
    }


def placebos(dataprep: Dataprep, controls: list[str]) -> dict:
    out = {}
    for unit in controls:
        dp = Dataprep(
            foo=dataprep.foo, predictors=dataprep.predictors,
            predictors_op=dataprep.predictors_op,
            time_predictors_prior=dataprep.time_predictors_prior,
            special_predictors=dataprep.special_predictors, dependent=dataprep.dependent,
            unit_variable=dataprep.unit_variable, time_variable=dataprep.time_variable,
            treatment_identifier=unit,
            controls_identifier=[c for c in controls if c != unit],
            time_optimize_ssr=dataprep.time_optimize_ssr,
        )
        s = fit_best(dp)
        rec = record(s, dp)
        out[unit] = {"gaps": rec["gaps"], "loss_v": rec["loss_v"]}
    return out


def basque() -> dict:
    df = pd.read_csv(DATA / "sc_basque.csv")
    controls = sorted(set(df.regionname) - {"Basque Country (Pais Vasco)", "Spain (Espana)"})
    dp = Dataprep(
        foo=df,
        predictors=["school.illit", "school.prim", "school.med", "school.high",
                    "school.post.high", "invest"],
        predictors_op="mean",
        time_predictors_prior=range(1964, 1970),
        special_predictors=[
            ("gdpcap", range(1960, 1970), "mean"),
            ("sec.agriculture", range(1961, 1970, 2), "mean"),
            ("sec.energy", range(1961, 1970, 2), "mean"),
            ("sec.industry", range(1961, 1970, 2), "mean"),
            ("sec.construction", range(1961, 1970, 2), "mean"),
            ("sec.services.venta", range(1961, 1970, 2), "mean"),
            ("sec.services.nonventa", range(1961, 1970, 2), "mean"),
            ("popdens", [1969], "mean"),
        ],
        dependent="gdpcap", unit_variable="regionname", time_variable="year",
        treatment_identifier="Basque Country (Pais Vasco)",
        controls_identifier=controls,
        time_optimize_ssr=range(1960, 1970),
    )
    s = fit_best(dp)
    rec = record(s, dp)
    rec["placebos"] = placebos(dp, controls)
    return rec


def germany() -> dict:
    df = pd.read_csv(DATA / "sc_germany.csv")
    controls = ["USA", "UK", "Austria", "Belgium", "Denmark", "France", "Italy",
                "Netherlands", "Norway", "Switzerland", "Japan", "Greece", "Portugal",
                "Spain", "Australia", "New Zealand"]
    common = dict(foo=df, predictors=["gdp", "trade", "infrate"], predictors_op="mean",
                  dependent="gdp", unit_variable="country", time_variable="year",
                  treatment_identifier="West Germany", controls_identifier=controls)
    train = Dataprep(**common, time_predictors_prior=range(1971, 1981),
                     special_predictors=[("industry", range(1971, 1981), "mean"),
                                         ("schooling", [1970, 1975], "mean"),
                                         ("invest70", [1980], "mean")],
                     time_optimize_ssr=range(1981, 1991))
    s_train = fit_best(train)
    main = Dataprep(**common, time_predictors_prior=range(1981, 1991),
                    special_predictors=[("industry", range(1981, 1991), "mean"),
                                        ("schooling", [1980, 1985], "mean"),
                                        ("invest80", [1980], "mean")],
                    time_optimize_ssr=range(1960, 1990))
    s = fit_best(main, custom_V=s_train.V)
    rec = record(s, main)
    rec["train"] = record(s_train, train)
    return rec


def california() -> dict:
    df = pd.read_csv(DATA / "sc_california_prop99.csv", sep=";")
    controls = sorted(set(df.State) - {"California"})
    dp = Dataprep(
        foo=df, predictors=["PacksPerCapita"], predictors_op="mean",
        time_predictors_prior=range(1970, 1989),
        special_predictors=[("PacksPerCapita", [1975], "mean"),
                            ("PacksPerCapita", [1980], "mean"),
                            ("PacksPerCapita", [1988], "mean")],
        dependent="PacksPerCapita", unit_variable="State", time_variable="Year",
        treatment_identifier="California", controls_identifier=controls,
        time_optimize_ssr=range(1970, 1989),
    )
    s = fit_best(dp)
    return record(s, dp)


if __name__ == "__main__":
    import sys

    import pysyncon

    # one dataset per run (they can run in parallel); the parts are merged when all exist
    name = sys.argv[1]
    part = {"basque": basque, "germany": germany, "california": california}[name]()
    (DATA / f"sc_pysyncon_{name}.part.json").write_text(json.dumps(part))
    parts = {n: DATA / f"sc_pysyncon_{n}.part.json" for n in ("basque", "germany", "california")}
    if all(p.exists() for p in parts.values()):
        out = {"source": f"pysyncon {getattr(pysyncon, '__version__', '1.7.0')} (Nelder-Mead "
                         "from 'equal' and 'ols' starts, best loss_V kept)"}
        out.update({n: json.loads(p.read_text()) for n, p in parts.items()})
        (DATA / "sc_pysyncon.json").write_text(json.dumps(out, indent=1, sort_keys=True))
        for p in parts.values():
            p.unlink()
    print(name, {k: round(v, 4) for k, v in part["weights"].items() if v > 1e-3})
