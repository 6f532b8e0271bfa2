"""Reference p-values for the restricted wild cluster bootstrap, from ``wildboottest``.

Simulates a small clustered 2x2 DiD (10 clusters, so the 2**10 Rademacher sign vectors are all
enumerated and the p-value is deterministic), writes it to
tests/reference/data/did_wild_bootstrap.csv and the p-values of ``H0: beta = 0`` for the
treated x post coefficient (and, with covariate ``x``, likewise) from the PyPI package
**wildboottest** (MIT; WCR, bootstrap_type "11", Rademacher, B = 9999 > 2**10 -> full
enumeration) to tests/reference/data/did_wild_bootstrap.json; likewise for the TWFE coefficient of an
unbalanced 10-area panel (did_wild_bootstrap_twfe.csv) fitted with area and quarter dummies.
Run outside the project venv:

    python3 -m venv /tmp/did_ref && /tmp/did_ref/bin/pip install wildboottest statsmodels
    /tmp/did_ref/bin/python tests/reference/scripts/did_wild_bootstrap_wildboottest.py
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from wildboottest.wildboottest import wildboottest

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(20261130)
G, per = 10, 12
cluster = np.repeat(np.arange(G), per)
treated = (cluster < 4).astype(float)
post = np.tile(np.arange(per) % 2, G).astype(float)
x = np.round(rng.normal(size=G * per), 4)
y = np.round(1 + 0.5 * treated + 0.3 * post + 0.4 * treated * post + 0.5 * x
             + rng.normal(size=G)[cluster] + rng.normal(size=G * per), 6)
data = pd.DataFrame({"cluster": cluster, "treated": treated, "post": post, "x": x, "y": y})
data.to_csv(ROOT / "data" / "did_wild_bootstrap.csv", index=False)

out: dict[str, object] = {"source": f"wildboottest {version('wildboottest')} (WCR11, Rademacher, "
                          "full enumeration)"}
for name, cols in (("no_covariates", ["treated", "post", "tp"]),
                   ("covariate", ["treated", "post", "tp", "x"])):
    X = sm.add_constant(data.assign(tp=data.treated * data.post)[cols])
    model = sm.OLS(data["y"], X)
    res = wildboottest(model, B=9999, cluster=data["cluster"], param="tp",
                       weights_type="rademacher", impose_null=True, bootstrap_type="11",
                       seed=1, show=False)
    out[name] = {"p_value": float(res["p-value"].iloc[0]), "t_stat": float(res["statistic"].iloc[0])}
# TWFE on an unbalanced area x quarter panel (10 areas, 4 adopting in quarter 6; 3 rows
# removed): the dummy-variable regression y ~ D + x + area + quarter dummies.
rng = np.random.default_rng(1)
n, T = 10, 12
u = np.repeat(np.arange(n), T)
t = np.tile(np.arange(T), n)
D = ((u < 4) & (t >= 6)).astype(int)
xx = np.round(rng.normal(size=n * T), 6)
yy = np.round(rng.normal(size=n)[u] + 0.1 * t + 0.5 * D + 0.3 * xx + rng.normal(size=n * T), 6)
panel = pd.DataFrame({"area": u, "quarter": t, "D": D, "x": xx, "y": yy}).drop(index=[3, 50, 77])
panel.to_csv(ROOT / "data" / "did_wild_bootstrap_twfe.csv", index=False)
X = pd.concat([panel[["D", "x"]],
               pd.get_dummies(panel["area"], prefix="a", drop_first=True, dtype=float),
               pd.get_dummies(panel["quarter"], prefix="q", drop_first=True, dtype=float)], axis=1)
res = wildboottest(sm.OLS(panel["y"], sm.add_constant(X)), B=9999, cluster=panel["area"],
                   param="D", weights_type="rademacher", impose_null=True, bootstrap_type="11",
                   seed=1, show=False)
out["twfe"] = {"p_value": float(res["p-value"].iloc[0]), "t_stat": float(res["statistic"].iloc[0])}
(ROOT / "data" / "did_wild_bootstrap.json").write_text(json.dumps(out, indent=1))
print(json.dumps(out, indent=1))
