"""Reference numbers for the ridge augmented synthetic control from pysyncon's AugSynth
(pysyncon 1.7.0, MIT; it follows R augsynth with ``progfunc="Ridge"``), run outside the
project venv::

    /tmp/sc_ref/venv/bin/python tests/reference/scripts/sc_augsynth_reference.py

Basque data, treatment from 1970, pre-period outcomes 1955-1969 only (no covariates), donors
as R Synth's example. Writes ``tests/reference/data/sc_augsynth.json``: the cross-validated
ridge penalty (1-SE rule), the SC and augmented weights and the gaps, plus the augmented
weights for a fixed penalty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from pysyncon import AugSynth, Dataprep

DATA = Path(__file__).resolve().parents[1] / "data"

df = pd.read_csv(DATA / "sc_basque.csv")
controls = sorted(set(df.regionname) - {"Basque Country (Pais Vasco)", "Spain (Espana)"})
dp = Dataprep(foo=df[df.regionname != "Spain (Espana)"], predictors=[], predictors_op="mean",
              time_predictors_prior=range(1955, 1970), dependent="gdpcap",
              unit_variable="regionname", time_variable="year",
              treatment_identifier="Basque Country (Pais Vasco)",
              controls_identifier=controls, time_optimize_ssr=range(1955, 1970))
out = {"source": "pysyncon 1.7.0 AugSynth(use_covariates=False)"}
for name, lam in (("cv", None), ("fixed", 1.0)):
    a = AugSynth()
    a.fit(dataprep=dp, lambda_=lam, use_covariates=False)
    Z0, Z1 = dp.make_outcome_mats(time_period=dp.foo["year"])
    gaps = a._gaps(Z0=Z0, Z1=Z1)
    out[name] = {"lambda": float(a.lambda_),
                 "sc_weights": {str(k): float(v) for k, v in zip(controls, a.synw, strict=True)},
                 "weights": {str(k): float(v) for k, v in zip(controls, a.W, strict=True)},
                 "gaps": {str(int(k)): float(v) for k, v in gaps.items()}}
    if lam is None:
        out[name]["cv_lambdas"] = [float(x) for x in a.cv_result.lambdas]
        out[name]["cv_errors"] = [float(x) for x in a.cv_result.errors_mean]
(DATA / "sc_augsynth.json").write_text(json.dumps(out, indent=1, sort_keys=True))
print(out["cv"]["lambda"], {k: round(v, 3) for k, v in out["cv"]["weights"].items()})
