"""Reference numbers for the RD tests, from rdrobust and rddensity.

Run in a separate virtual environment (CI does not have these packages):

    python -m venv /tmp/rdref && /tmp/rdref/bin/pip install rdrobust rddensity
    /tmp/rdref/bin/python tests/reference/scripts/rdd_reference.py

Writes ``tests/reference/data/rdd_reference.json``. Inputs: ``tests/reference/data/senate.csv``
(see ``senate_README.md``). The fuzzy case uses a *constructed* treatment on the Senate data
(documented below and rebuilt identically by the tests), so no extra data file is needed.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from rddensity import rddensity
from rdrobust import rdrobust

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"


def fuzzy_treatment(df: pd.DataFrame) -> np.ndarray:
    """Constructed take-up: the cutoff that switches treatment on depends on the Senate class.

    class 1: margin >= 0; class 2: margin >= 10; class 3: margin >= -10. The probability of
    treatment therefore jumps at 0 (by the share of class 1 seats) without being 0/1 on
    either side: a fuzzy design with known structure.
    """
    m = df["margin"].to_numpy()
    cls = df["class"].to_numpy()
    return np.where(cls == 1, m >= 0, np.where(cls == 2, m >= 10, m >= -10)).astype(float)


def record(r) -> dict:
    coef = r.coef.to_numpy().ravel()
    se = r.se.to_numpy().ravel()
    ci = r.ci.to_numpy()
    bws = r.bws.to_numpy()
    out = {
        "tau_cl": float(coef[0]),
        "tau_bc": float(coef[1]),
        "se_cl": float(se[0]),
        "se_rb": float(se[2]),
        "ci_cl": [float(ci[0, 0]), float(ci[0, 1])],
        "ci_rb": [float(ci[2, 0]), float(ci[2, 1])],
        "pv_rb": float(r.pv.to_numpy().ravel()[2]),
        "h": [float(bws[0, 0]), float(bws[0, 1])],
        "b": [float(bws[1, 0]), float(bws[1, 1])],
        "n_h": [int(r.N_h[0]), int(r.N_h[1])],
    }
    if r.tau_T is not None:
        out["first_stage_tau_cl"] = float(r.tau_T.to_numpy().ravel()[0])
        out["first_stage_se_cl"] = float(r.se_T.to_numpy().ravel()[0])
    return out


def main() -> None:
    df = pd.read_csv(DATA / "senate.csv")
    cases: dict[str, dict] = {}

    def run(name: str, spec: dict, **kw) -> None:
        d = df
        cols = ["vote", "margin"] + spec.get("covariates", []) + ([spec["cluster"]] if spec.get("cluster") else [])
        d = d.dropna(subset=cols).reset_index(drop=True)
        args = dict(kernel=spec.get("kernel", "triangular"), vce=spec.get("vce", "nn"),
                    p=spec.get("p", 1), bwselect=spec.get("bwselect", "mserd"))
        if "h" in spec:
            args["h"] = spec["h"]
        if "b" in spec:
            args["b"] = spec["b"]
        if spec.get("covariates"):
            args["covs"] = d[spec["covariates"]]
        if spec.get("cluster"):
            args["cluster"] = d[spec["cluster"]]
        if spec.get("fuzzy"):
            args["fuzzy"] = fuzzy_treatment(d)
        # Mass points: the margin rounded to whole points (about 60% repeated values).
        margin = d["margin"].round() if spec.get("round_margin") else d["margin"]
        r = rdrobust(d["vote"], margin, **args, **kw)
        cases[name] = {"spec": spec, "rdrobust": record(r)}

    for vce in ("nn", "hc1", "hc0", "hc2", "hc3"):
        run(f"sharp_fixed_h15_{vce}", {"vce": vce, "h": 15.0})
        run(f"sharp_fixed_h15_b25_{vce}", {"vce": vce, "h": 15.0, "b": 25.0})
    for vce in ("nn", "hc1"):
        for sel in ("mserd", "msetwo", "cerrd", "certwo"):
            run(f"sharp_{sel}_{vce}", {"vce": vce, "bwselect": sel})
    for kernel in ("epanechnikov", "uniform"):
        run(f"sharp_mserd_nn_{kernel}", {"kernel": kernel})
        run(f"sharp_fixed_h15_nn_{kernel}", {"kernel": kernel, "h": 15.0})
    run("sharp_mserd_nn_p2", {"p": 2})
    run("sharp_mserd_covs_nn", {"covariates": ["presdemvoteshlag1", "population"]})
    run("sharp_mserd_cluster_state", {"cluster": "state"})
    run("sharp_fixed_h15_cluster_state", {"cluster": "state", "h": 15.0})
    run("sharp_mserd_covs_cluster_state",
        {"covariates": ["presdemvoteshlag1", "population"], "cluster": "state"})
    run("sharp_mserd_nn_mass_points", {"round_margin": True})
    run("sharp_msetwo_hc1_mass_points", {"round_margin": True, "bwselect": "msetwo", "vce": "hc1"})
    run("fuzzy_fixed_h15_nn", {"fuzzy": True, "h": 15.0})
    run("fuzzy_fixed_h15_hc1", {"fuzzy": True, "h": 15.0, "vce": "hc1"})
    run("fuzzy_mserd_nn", {"fuzzy": True})
    run("fuzzy_msetwo_hc1", {"fuzzy": True, "bwselect": "msetwo", "vce": "hc1"})
    run("fuzzy_mserd_covs_nn", {"fuzzy": True, "covariates": ["presdemvoteshlag1"]})

    density: dict[str, dict] = {}
    x = df["margin"].dropna().to_numpy()
    for name, values, kernel in (
        ("senate_margin_triangular", x, "triangular"),
        ("senate_margin_uniform", x, "uniform"),
        ("senate_margin_epanechnikov", x, "epanechnikov"),
        ("senate_margin_rounded_triangular", np.round(x), "triangular"),
    ):
        r = rddensity(values, c=0, kernel=kernel)
        density[name] = {
            "kernel": kernel,
            "rounded": "rounded" in name,
            "statistic": float(r.test["t_jk"]),
            "p_value": float(r.test["p_jk"]),
            "h": [float(r.h["left"]), float(r.h["right"])],
            "n_eff": [int(r.n["eff_left"]), int(r.n["eff_right"])],
            "density": [float(r.hat["left"]), float(r.hat["right"])],
        }

    out = {
        "generated_by": "tests/reference/scripts/rdd_reference.py",
        "versions": {"rdrobust": version("rdrobust"), "rddensity": version("rddensity"),
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "data": "tests/reference/data/senate.csv",
        "rdrobust": cases,
        "rddensity": density,
    }
    (DATA / "rdd_reference.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
