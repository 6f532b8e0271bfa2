"""Benchmark: impacteval's SyntheticControl against pysyncon on California Proposition 99.

The panel of Abadie, Diamond and Hainmueller (2010) as shipped by R synthdid (39 states,
1970-2000, cigarette packs per capita; ``tests/reference/data/sc_california_prop99.csv``).
Both run in one process with the same predictors (packs per capita averaged over 1970-1988 and
in 1975, 1980 and 1988), V chosen on the 1970-1988 outcome fit, and fit California plus the
in-space placebo of every donor (38 more fits), one after another. pysyncon runs its default
Nelder-Mead from equal V with SLSQP for W; impacteval its default ``v_search="synth"``.
Prints the time of each, the ratio, and the pre-period RMSPE of California's fit by each.
pysyncon is imported only here; without it the script says so and exits.

    python benchmarks/synth_control_vs_pysyncon.py [--max-placebos 38]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from impacteval.estimators.synthetic import Predictor, SyntheticControl

DATA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "data"
PRE = tuple(range(1970, 1989))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-placebos", type=int, default=38)
    args = parser.parse_args()
    try:
        from pysyncon import Dataprep, Synth
    except ImportError:
        print("pysyncon is not installed: pip install pysyncon (in a separate venv) to compare")
        return 0
    df = pd.read_csv(DATA / "sc_california_prop99.csv", sep=";")
    states = sorted(set(df["State"]) - {"California"})
    placebo_units = states[: args.max_placebos]

    # ---- impacteval: the main fit and the placebos in one call
    est = SyntheticControl(
        predictors=(Predictor(variable="PacksPerCapita", periods=PRE),
                    Predictor(variable="PacksPerCapita", periods=(1975,)),
                    Predictor(variable="PacksPerCapita", periods=(1980,)),
                    Predictor(variable="PacksPerCapita", periods=(1988,))),
        optimize_periods=PRE)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = est.fit_details(df, unit="State", time="Year", outcome="PacksPerCapita",
                              treatment="treated")
    t_ours = time.perf_counter() - t0
    n_ours = 1 + (0 if fit.placebos is None else int(fit.placebos.ratios["placebo"].sum()))

    # ---- pysyncon: main fit + one fit per placebo donor
    def dataprep(treated: str, controls: list[str]) -> Dataprep:
        return Dataprep(
            foo=df, predictors=["PacksPerCapita"], predictors_op="mean",
            time_predictors_prior=range(1970, 1989),
            special_predictors=[("PacksPerCapita", [1975], "mean"),
                                ("PacksPerCapita", [1980], "mean"),
                                ("PacksPerCapita", [1988], "mean")],
            dependent="PacksPerCapita", unit_variable="State", time_variable="Year",
            treatment_identifier=treated, controls_identifier=controls,
            time_optimize_ssr=range(1970, 1989))

    t0 = time.perf_counter()
    main_fit = Synth()
    main_fit.fit(dataprep=dataprep("California", states), optim_method="Nelder-Mead",
                 optim_initial="equal")
    for unit in placebo_units:
        Synth().fit(dataprep=dataprep(unit, [s for s in states if s != unit]),
                    optim_method="Nelder-Mead", optim_initial="equal")
    t_peer = time.perf_counter() - t0
    n_peer = 1 + len(placebo_units)

    ours_rmspe = math.sqrt(fit.loss_v)
    peer_rmspe = math.sqrt(main_fit.loss_V)
    print(f"impacteval: {n_ours} fits in {t_ours:.2f} s ({t_ours / n_ours:.3f} s per fit)")
    print(f"pysyncon:   {n_peer} fits in {t_peer:.2f} s ({t_peer / n_peer:.3f} s per fit)")
    print(f"per-fit time ratio pysyncon / impacteval: "
          f"{(t_peer / n_peer) / (t_ours / n_ours):.1f}x")
    print(f"California pre-period RMSPE 1970-1988: impacteval {ours_rmspe:.4f}, "
          f"pysyncon {peer_rmspe:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
