"""Matching options from the YAML config, end to end through the CLI (issue 3).

One small generated analysis-ready table (1,500 people, confounded treatment, a true rate
ratio of 0.8); each test runs one family of options and checks what reaches results.json.
Bad option combinations and unknown columns exit with code 2 and one message naming the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.functional.conftest import run_cli

ROLES = {"unit_id": "id", "treatment": "t", "outcomes": ["y"],
         "covariates": ["age", "frail", "prior", "male", "area"], "exposure": "py"}


def _table(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(82, 7, n)
    frail = (rng.random(n) < 0.4).astype(int)
    prior = rng.poisson(1.0, n)
    male = (rng.random(n) < 0.4).astype(int)
    area = rng.integers(0, 3, n)
    lp = -1.2 + 0.05 * (age - 82) + 0.6 * frail + 0.3 * prior - 0.2 * male
    t = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    py = rng.uniform(0.5, 1.0, n)
    mu = py * np.exp(-0.5 + 0.03 * (age - 82) + 0.5 * frail + 0.2 * prior + np.log(0.8) * t)
    return pd.DataFrame({"id": np.arange(n), "t": t, "age": age.round(1), "frail": frail,
                         "prior": prior, "male": male, "area": area, "y": rng.poisson(mu),
                         "py": py})


def _write(tmp_path: Path, matching: dict, analysis: dict | None = None) -> Path:
    _table().to_csv(tmp_path / "table.csv", index=False)
    cfg = {"evaluation": {"id": "m", "output_dir": str(tmp_path / "outputs")},
           "data": {"table": "table.csv"}, "roles": ROLES, "matching": matching}
    if analysis:
        cfg["analysis"] = analysis
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(tmp_path: Path, matching: dict, analysis: dict | None = None) -> dict:
    proc = run_cli("run", "--quiet", str(_write(tmp_path, matching, analysis)))
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / "outputs" / "m" / "results.json").read_text())


def _matched(res: dict) -> dict:
    (est,) = [e for e in res["estimates"] if e["details"].get("sample") == "matched"]
    return est


def test_covariate_distance_k1_with_replacement_exact_calipers_abadie_imbens(
        tmp_path: Path) -> None:
    res = _run(tmp_path, {"distance": "mahalanobis", "ratio": 2, "replace": True,
                          "exact": ["male"], "calipers": {"age": 5}},
               {"standard_errors": "abadie_imbens"})
    d = res["diagnostics"]
    m = d["matching"]
    assert (m["method"], m["distance"], m["ratio"], m["replace"]) == (
        "nearest", "mahalanobis", 2, True)
    assert m["exact"] == ["male"] and m["exact_strata"] == 2
    assert m["propensity_caliper_width"] > 0  # caliper 0.2 SD of the logit propensity
    assert d["max_abs_smd_after"] < d["max_abs_smd_before"]
    est = _matched(res)
    assert est["estimator"] == "abadie_imbens_att:matched" and est["scale"] == "difference"
    assert est["details"]["inference"] == "abadie_imbens"
    assert est["details"]["outcome_unit"] == "per person-year"
    z = (est["ci_upper"] - est["estimate"]) / est["std_error"]
    assert z == pytest.approx(1.959964, abs=1e-5)
    assert est["ci_lower"] < 0  # the true effect lowers the rate


def test_optimal_with_splines_interactions_crump_and_bootstrap(tmp_path: Path) -> None:
    res = _run(tmp_path, {"method": "optimal", "ratio": 2, "common_support": "crump",
                          "propensity": {"spline_df": 3, "interactions": True}},
               {"standard_errors": "bootstrap", "n_boot": 60})
    d = res["diagnostics"]
    assert d["matching"]["method"] == "optimal"
    assert d["matching"]["propensity_support"] == [0.1, 0.9]
    # spline terms and products in the propensity model
    assert "age'1" in d["propensity_coefficients"]
    assert any(":" in k for k in d["propensity_coefficients"])
    assert any(r["step"] == "propensity_support" for r in res["attrition"])
    est = _matched(res)
    assert est["details"]["inference"] == "cluster_bootstrap"
    assert est["details"]["bootstrap_replicates"] == 60
    assert est["ci_lower"] < est["estimate"] < est["ci_upper"]
    assert est["std_error"] != est["details"]["se_cluster_robust"]


def test_genetic_matching_from_config(tmp_path: Path) -> None:
    res = _run(tmp_path, {"method": "genetic",
                          "genetic": {"pop_size": 10, "max_generations": 3, "loss": "smd",
                                      "balance_squares": True}},
               {"standard_errors": "bootstrap", "n_boot": 50})
    d = res["diagnostics"]
    g = d["matching"]["genetic"]
    assert d["matching"]["replace"] is True
    assert set(g["weights"]) == {"age", "frail", "prior", "male", "area"}
    assert "age^2" in g["balance_terms"] and g["generations"] <= 3
    assert d["max_abs_smd_after"] < 0.05
    assert _matched(res)["details"]["inference"] == "cluster_bootstrap"


def test_boosting_minmax_generalised_weights_random_order(tmp_path: Path) -> None:
    matching = {"distance": "generalized_mahalanobis", "distance_weights": {"age": 3},
                "propensity": {"model": "gradient_boosting", "max_iter": 40},
                "common_support": "minmax", "order": "random", "ratio": 3}
    res = _run(tmp_path, matching)
    d = res["diagnostics"]
    assert d["matching"]["propensity_model"] == "gradient_boosting"
    lo, hi = d["matching"]["propensity_support"]
    assert 0 < lo < hi < 1
    assert d["propensity_coefficients"] == {}
    first = (tmp_path / "outputs" / "m" / "results.json").read_bytes()
    # the same seed gives the same outputs (boosting and the random order are seeded)
    proc = run_cli("run", "--quiet", str(tmp_path / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "outputs" / "m" / "results.json").read_bytes() == first


@pytest.mark.parametrize(("matching", "analysis", "message"), [
    ({"method": "genetic", "replace": False}, None, "genetic matching is with replacement"),
    ({}, {"standard_errors": "abadie_imbens"}, "matching.replace: true"),
])
def test_bad_matching_options_exit_2(tmp_path: Path, matching: dict, analysis: dict | None,
                                     message: str) -> None:
    """More combinations are checked in process: tests/unit/test_matching_spec.py."""
    proc = run_cli("validate", str(_write(tmp_path, matching, analysis)))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_exact_column_exits_2(tmp_path: Path) -> None:
    proc = run_cli("run", "--quiet", str(_write(tmp_path, {"exact": ["ward"]})))
    assert proc.returncode == 2, proc.stderr
    assert "matching.exact" in proc.stderr and "ward" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs" / "m").exists()
