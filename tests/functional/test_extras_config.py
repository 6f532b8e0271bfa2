"""Issue 8 from the command line: a bad alternative specification or triangulation entry is
one message naming its location, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.functional.conftest import REPO, run_cli


@pytest.mark.parametrize(("extra", "where"), [
    ({"alternative_specifications": [
        {"name": "NB", "analysis": {"family": "negative_binomial"}},
        {"name": "tight", "matching": {"caliper": -0.1}}]},
     "alternative_specifications[1].matching.caliper"),
    ({"triangulation": [{"design": "regression_discontinuity", "rdd": {"running": "age",
                                                                  "cutof": 80}}]},
     "triangulation[0].rdd.cutof"),
    ({"subgroups": ["sex", "sex"]}, "subgroups[1].variable"),
])
def test_bad_extras_are_located(tmp_path: Path, extra: dict, where: str) -> None:
    cfg = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    cfg.update(extra)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2, proc.stderr
    assert f"{path}: {where}" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) <= 2


def test_unknown_subgroup_of_the_cohort_fails_before_ingest(workspace: Path) -> None:
    cfg = yaml.safe_load((workspace / "config.yaml").read_text())
    cfg["subgroups"] = ["sex", {"variable": "deprivation", "column": "imd_decle"}]
    (workspace / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("run", "--quiet", str(workspace / "config.yaml"))
    assert proc.returncode == 2, proc.stderr
    assert "subgroups[1].column: the care-home cohort has no column 'imd_decle'" in proc.stderr
    assert "ingest" not in proc.stderr and not (workspace / "outputs").exists()
