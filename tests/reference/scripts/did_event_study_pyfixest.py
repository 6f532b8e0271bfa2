"""Reference numbers for the event studies on mpdta, from pyfixest (PyPI, MIT licence).

Run outside the project venv:

    python3 -m venv /tmp/did_ref && /tmp/did_ref/bin/pip install pyfixest==0.60.0
    /tmp/did_ref/bin/python tests/reference/scripts/did_event_study_pyfixest.py

Regressions by ``pyfixest.feols`` with unit and year fixed effects and ``CRV1`` standard errors
clustered on the county with ``ssc(k_adj=False, G_adj=True)`` (factor G/(G-1), as R's
``sandwich::vcovCL(type = "HC0")``):

* ``twfe``: dummies for every event time except -1 (never-treated counties all zero);
* ``twfe_window``: event times binned into [-2, 2];
* ``sun_abraham``: cohort x event-time dummies (except -1), never-treated as comparison,
  aggregated per event time with the cohorts' shares of treated observations at that event
  time, covariance by the delta method (shares fixed), as fixest's ``sunab``/``aggregate``.

Output: tests/reference/data/did_event_study_pyfixest.json.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf

ROOT = Path(__file__).resolve().parents[1]
d = pd.read_csv(ROOT / "data" / "did_mpdta.csv").rename(columns={"first.treat": "g"})
d["e"] = np.where(d["g"] > 0, d["year"] - d["g"], np.nan)
ssc = pf.ssc(k_adj=False, G_adj=True)


def name(k: float) -> str:
    return f"e_m{-int(k)}" if k < 0 else f"e_p{int(k)}"


def twfe(e: pd.Series) -> dict:
    times = sorted(k for k in e.dropna().unique() if k != -1)
    data = d.copy()
    for k in times:
        data[name(k)] = (e == k).astype(float)
    fit = pf.feols(f"lemp ~ {' + '.join(name(k) for k in times)} | countyreal + year",
                   data=data, vcov={"CRV1": "countyreal"}, ssc=ssc)
    coef = fit.coef()
    se = fit.se()
    return {"event_time": [int(k) for k in times],
            "estimate": [float(coef[name(k)]) for k in times],
            "std_error": [float(se[name(k)]) for k in times]}


out = {"source": f"pyfixest {version('pyfixest')} feols, CRV1 ssc(k_adj=False)",
       "twfe": twfe(d["e"]), "twfe_window": twfe(d["e"].clip(-2, 2))}

# Sun and Abraham: cohort x event-time interactions
times = sorted(k for k in d["e"].dropna().unique() if k != -1)
data = d.copy()
cols, keys = [], []
for g in sorted(d.loc[d["g"] > 0, "g"].unique()):
    for k in times:
        m = (d["g"] == g) & (d["e"] == k)
        if m.any():
            c = f"g{int(g)}_{name(k)}"
            data[c] = m.astype(float)
            cols.append(c)
            keys.append((k, int(m.sum())))
fit = pf.feols(f"lemp ~ {' + '.join(cols)} | countyreal + year", data=data,
               vcov={"CRV1": "countyreal"}, ssc=ssc)
beta = fit.coef()[cols].to_numpy()
V = pd.DataFrame(fit._vcov, index=fit._coefnames, columns=fit._coefnames).loc[cols, cols].to_numpy()
R = np.zeros((len(times), len(cols)))
for j, (k, count) in enumerate(keys):
    R[times.index(k), j] = count
R /= R.sum(axis=1, keepdims=True)
out["sun_abraham"] = {"event_time": [int(k) for k in times], "estimate": list(R @ beta),
                      "std_error": list(np.sqrt(np.diag(R @ V @ R.T)))}
(ROOT / "data" / "did_event_study_pyfixest.json").write_text(json.dumps(out, indent=1))
print(json.dumps(out, indent=1))
