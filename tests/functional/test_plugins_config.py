"""A user's own estimator, named in the config's plugins list, runs in batch (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tests.functional.conftest import run_cli

PLUGIN = '''
from dataclasses import dataclass, replace
from impacteval.estimators import register_estimator
from impacteval.estimators.regression import MatchedRateRatio


@register_estimator("nb_rate_ratio_plugin")
@dataclass(frozen=True, kw_only=True)
class NBRatio:
    design: str = "matched_cohort"

    def fit(self, data, *, outcome, treatment, exposure, weights=None, clusters=None,
            covariates=()):
        est = MatchedRateRatio(family="negative_binomial").fit(
            data, outcome=outcome, treatment=treatment, exposure=exposure, weights=weights,
            clusters=clusters, covariates=covariates)
        return replace(est, estimator="nb_rate_ratio_plugin")
'''


def _workspace(tmp_path: Path, estimator: str) -> Path:
    rng = np.random.default_rng(5)
    n = 1200
    age = rng.normal(84, 6, n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(age - 86) / 4))).astype(int)
    py = rng.uniform(0.3, 1.5, n)
    y = rng.poisson(py * np.exp(-0.4 + 0.04 * (age - 84)) * np.where(t == 1, 0.75, 1.0))
    pd.DataFrame({"id": np.arange(n), "t": t, "age": age, "y": y, "py": py}).to_csv(
        tmp_path / "table.csv", index=False)
    (tmp_path / "my_estimators.py").write_text(PLUGIN)
    cfg = {
        "plugins": ["my_estimators"],
        "evaluation": {"id": "plugin_run", "output_dir": str(tmp_path / "outputs")},
        "data": {"table": "table.csv"},
        "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"], "covariates": ["age"],
                  "exposure": "py"},
        "analysis": {"estimator": estimator},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "config.yaml"


def test_plugin_estimator_runs_from_the_config(tmp_path: Path) -> None:
    proc = run_cli("run", "--quiet", str(_workspace(tmp_path, "nb_rate_ratio_plugin")))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "outputs" / "plugin_run" / "results.json").read_text())
    assert {e["estimator"].split(":")[0] for e in res["estimates"]} == {"nb_rate_ratio_plugin"}


def test_unknown_estimator_name_is_a_config_error(tmp_path: Path) -> None:
    proc = run_cli("run", "--quiet", str(_workspace(tmp_path, "nb_rate_ratio_plugn")))
    assert proc.returncode == 2
    assert "analysis.estimator" in proc.stderr and "did you mean 'nb_rate_ratio_plugin'" in proc.stderr
    assert "Traceback" not in proc.stderr
