"""Fixtures for end-to-end tests: a small synthetic extract and a config that points at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SMALL_PERSONS = 60_000  # the demo size
SEED = 2017  # the demo seed (Makefile DEMO_SEED)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic extract, generated once per test session (read-only: copy to tamper)."""
    from impacteval.data.synth import generate

    out = tmp_path_factory.mktemp("synth") / "extract"
    generate(SMALL_PERSONS, SEED, out)
    return out


#: Sections of configs/demo.yaml that re-run the design beside the main analysis (issue 8).
EXTRAS = ("subgroups", "negative_controls", "alternative_specifications", "triangulation")


def demo_config(data_dir: Path, out_dir: Path, *, extras: bool = False) -> dict:
    """The demo config (configs/demo.yaml) re-pointed at ``data_dir`` with outputs in ``out_dir``.

    Without ``extras`` the sections in :data:`EXTRAS` are left out, so that a test that turns
    the demo into another design (or times it) runs only the main analysis.
    """
    cfg = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    if not extras:
        for key in EXTRAS:
            cfg.pop(key, None)
    for table in ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings"):
        cfg["data"][table] = str(data_dir / f"{table}.parquet")
    cfg["cohort"]["treated_settings_file"] = str(data_dir / "intervention_settings.csv")
    cfg["evaluation"]["output_dir"] = str(out_dir)
    return cfg


@pytest.fixture
def workspace(tmp_path: Path, synth_dir: Path) -> Path:
    """A private copy of the extract plus config.yaml; outputs go to workspace/outputs."""
    data = tmp_path / "data"
    shutil.copytree(synth_dir, data)
    cfg = demo_config(data, tmp_path / "outputs")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return tmp_path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "impacteval", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=900)
