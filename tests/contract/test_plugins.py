"""load_plugins: a user's module registers an estimator that then passes the contract."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from impacteval.estimators import ESTIMATORS
from impacteval.exceptions import ConfigError
from impacteval.plugins import load_plugins
from impacteval.testing import check_estimator, simulate_matched_cohort

PLUGIN = '''
from dataclasses import dataclass
import numpy as np
from impacteval.estimators import register_estimator
from impacteval.exceptions import EstimationError
from impacteval.results import EffectEstimate

@register_estimator("{name}")
@dataclass(frozen=True, kw_only=True)
class CrudeRateRatio:
    design: str = "matched_cohort"

    def fit(self, data, *, outcome, treatment, exposure):
        missing = [c for c in (outcome, treatment, exposure) if c not in data.columns]
        if missing:
            raise EstimationError("column(s) not in the data: " + ", ".join(missing),
                                  where="analysis." + outcome)
        t = data[treatment].to_numpy() == 1
        y, py = data[outcome].to_numpy(float), data[exposure].to_numpy(float)
        e1, e0 = y[t].sum(), y[~t].sum()
        rr = (e1 / py[t].sum()) / (e0 / py[~t].sum())
        se = float(np.sqrt(1 / e1 + 1 / e0))
        return EffectEstimate(design=self.design, estimator="{name}", outcome=outcome,
                              estimand="ATE", scale="rate_ratio", estimate=rr, std_error=se,
                              ci_lower=rr * np.exp(-1.96 * se), ci_upper=rr * np.exp(1.96 * se),
                              p_value=0.5, n_treated=int(t.sum()), n_control=int((~t).sum()))
'''


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    before = set(sys.modules)
    yield tmp_path
    for mod in set(sys.modules) - before:
        if mod.startswith("ie_plugin_"):
            del sys.modules[mod]


def test_plugin_registers_an_estimator_that_passes_the_contract(plugin_dir: Path) -> None:
    name = "ie_test_crude_rate_ratio"
    (plugin_dir / "ie_plugin_crude.py").write_text(textwrap.dedent(PLUGIN.format(name=name)))
    n_before = len(sys.path)
    load_plugins(["ie_plugin_crude"], base_dir=plugin_dir)
    assert len(sys.path) == n_before  # base_dir only while importing
    assert name in ESTIMATORS
    load_plugins(["ie_plugin_crude"], base_dir=plugin_dir)  # second load is a no-op
    study = simulate_matched_cohort(600, confounding=0.0, seed=2)
    report = check_estimator(ESTIMATORS.get(name)(), study.data,
                             {k: study.roles[k] for k in ("outcome", "treatment", "exposure")},
                             truth=study.truth)
    assert "recovers truth" in report.passed


def test_unimportable_module_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_plugins(["json", "ie_plugin_does_not_exist"])
    assert info.value.where == "plugins[1]"
    assert "PYTHONPATH" in str(info.value)


def test_file_path_instead_of_module_name(plugin_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not a Python module name") as info:
        load_plugins(["my_estimators.py"])
    assert "not a file path" in str(info.value)
    with pytest.raises(ConfigError, match="list of module names"):
        load_plugins("my_estimators")


def test_plugin_failing_on_import_and_name_clash(plugin_dir: Path) -> None:
    (plugin_dir / "ie_plugin_broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match="failed while importing") as info:
        load_plugins(["ie_plugin_broken"], base_dir=plugin_dir)
    assert isinstance(info.value.__cause__, RuntimeError)
    (plugin_dir / "ie_plugin_clash.py").write_text(
        textwrap.dedent(PLUGIN.format(name="matched_rate_ratio")))
    with pytest.raises(ConfigError, match="already taken"):
        load_plugins(["ie_plugin_clash"], base_dir=plugin_dir)
    (plugin_dir / "ie_plugin_dep.py").write_text("import ie_missing_dependency_xyz\n")
    with pytest.raises(ConfigError, match="not installed"):
        load_plugins(["ie_plugin_dep"], base_dir=plugin_dir)
