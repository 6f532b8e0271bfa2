"""CLI end to end (issue 9): synth-data --chunk-persons writes folders of Parquet parts, and a
config with DuckDB limits and folder / glob inputs validates; bad limits exit 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.functional.conftest import demo_config, run_cli

TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")


def _chunked_config(tmp_path: Path, **data: object) -> Path:
    extract = tmp_path / "extract"
    done = run_cli("synth-data", "--persons", "2000", "--seed", "5", "--out", str(extract),
                   "--chunk-persons", "1000", "-q")
    assert done.returncode == 0, done.stderr
    cfg = demo_config(extract, tmp_path / "outputs")
    for table in TABLES:
        cfg["data"][table] = str(extract / table)
    cfg["data"]["apc_episodes"] = str(extract / "apc_episodes" / "part-*.parquet")
    cfg["data"].update(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_chunked_extract_with_duckdb_limits_validates(tmp_path: Path) -> None:
    path = _chunked_config(tmp_path, memory_limit="2GB", threads=1, temp_directory="spill")
    assert sorted(p.name for p in (tmp_path / "extract" / "apc_episodes").iterdir()) == [
        "part-00000.parquet", "part-00001.parquet"]
    done = run_cli("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "ok: config and inputs are valid" in done.stdout


def test_threads_with_spark_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = _chunked_config(tmp_path, engine="spark", threads=2)
    done = run_cli("validate", str(path))
    assert done.returncode == 2
    assert "threads applies to engine: duckdb only" in done.stderr
    assert "Traceback" not in done.stderr
