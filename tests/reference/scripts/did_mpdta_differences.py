"""Reference numbers for Callaway and Sant'Anna (2021) on the did package's ``mpdta`` data.

Runs the PyPI package ``differences`` (0.3.0; Bernardo Dionisi, GPL-3) in its own venv, NOT the
project venv:

    python3 -m venv /tmp/did_ref && /tmp/did_ref/bin/pip install differences==0.3.0
    /tmp/did_ref/bin/python tests/reference/scripts/did_mpdta_differences.py

Input ``tests/reference/data/did_mpdta.csv`` (see did_README.md); output
``tests/reference/data/did_mpdta_differences.json``: every ATT(g,t) with its analytic
(influence-function) standard error, and the simple, group ("cohort"), dynamic ("event") and
calendar ("time") aggregations with analytic standard errors, for outcome regression, IPW and
doubly robust estimation, never-treated and not-yet-treated controls, with and without the
covariate ``lpop``, with one anticipation period, with the universal base period, and weighted
by county population ``exp(lpop)``.
"""

from __future__ import annotations

import json
import math
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from differences import ATTgt

ROOT = Path(__file__).resolve().parents[1]
data = pd.read_csv(ROOT / "data" / "did_mpdta.csv")
data["cohort"] = data["first.treat"].where(data["first.treat"] > 0, np.nan)
data["pop"] = np.exp(data["lpop"])  # unit weight for the weighted cases
panel = data.set_index(["countyreal", "year"])


def _num(x: float) -> float | None:
    x = float(x)
    return None if not math.isfinite(x) else x


def _table(df: pd.DataFrame, keys: list[str]) -> list[dict]:
    df = df.copy()
    df.columns = ["_".join(str(c) for c in col if str(c)) if isinstance(col, tuple) else str(col)
                  for col in df.columns]
    rows = []
    for idx, row in df.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        rec = {k: (int(v) if isinstance(v, (int, np.integer, float)) and float(v).is_integer() else str(v))
               for k, v in zip(keys, idx, strict=True)}
        est = [c for c in df.columns if c.endswith("ATT")][0]
        se = [c for c in df.columns if c.endswith("std_error")][0]
        rec["estimate"] = _num(row[est])
        rec["std_error"] = _num(row[se])
        rows.append(rec)
    return rows


cases = {}
settings = [(m, c, f, a, "varying", None) for m in ("reg", "std_ipw", "dr")
            for c in ("never_treated", "not_yet_treated") for f in ("lemp", "lemp ~ lpop")
            for a in (0, 1) if a == 0 or (f == "lemp" and m == "reg")]
settings += [("reg", c, "lemp", 0, "universal", None)
             for c in ("never_treated", "not_yet_treated")]
settings += [("dr", "never_treated", "lemp ~ lpop", 0, "universal", None)]
settings += [(m, "never_treated", "lemp ~ lpop", 0, "varying", "pop")
             for m in ("reg", "std_ipw", "dr")]
for est_method, control, formula, anticipation, base, weights in settings:
    att = ATTgt(data=panel, cohort_column="cohort", anticipation=anticipation,
                base_period=base)
    att.fit(formula=formula, est_method=est_method, control_group=control,
            weights_column=weights, progress_bar=False)
    res = att.results()
    name = (f"{est_method}|{control}|{'lpop' if '~' in formula else 'none'}"
            f"|ant{anticipation}" + ("|universal" if base == "universal" else "")
            + ("|weighted" if weights else ""))
    case = {"att_gt": _table(res, ["cohort", "base_period", "time"])}
    for kind, key in (("simple", "simple"), ("cohort", "group"),
                      ("event", "dynamic"), ("time", "calendar")):
        agg = att.aggregate(kind)
        case[key] = _table(agg, ["label"] if kind == "simple" else [key])
        if kind != "simple":
            overall = att.aggregate(kind, overall=True)
            case[key + "_overall"] = _table(overall, ["label"])
    cases[name] = case
    print(name, "done")

out = {
    "source": f"differences {version('differences')} (PyPI) run on did::mpdta; analytic SEs",
    "numpy": version("numpy"),
    "pandas": version("pandas"),
    "cases": cases,
}
(ROOT / "data" / "did_mpdta_differences.json").write_text(json.dumps(out, indent=1, sort_keys=True))
