"""Out-of-core inputs (issue 9): DuckDB limits from the config, chunked synthetic extracts,
folders and globs of Parquet files, catalog tables only on Spark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from impacteval.config import load_config, parse_config
from impacteval.data.readers import check_file, read_raw
from impacteval.engine import connect
from impacteval.exceptions import ConfigError, SchemaError

REPO = Path(__file__).resolve().parents[2]
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from impacteval.data.synth import generate

    out = tmp_path_factory.mktemp("chunked")
    truth = generate(1500, 4, out, chunk_persons=600)
    return out, truth


def _demo(**data: Any) -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["data"].update(data)
    return raw


def _column(folder: Path, column: str) -> list[Any]:
    return [v for f in sorted(folder.glob("*.parquet"))
            for v in pq.read_table(f, columns=[column]).column(column).to_pylist()]


def test_chunked_extract_is_a_folder_of_parts_per_table(chunked: tuple[Path, dict[str, Any]]) -> None:
    out, truth = chunked
    for t in TABLES:
        assert sorted(p.name for p in (out / t).iterdir()) == [
            "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert len(_column(out / "persons", "person_id")) == 1500
    assert truth["n_persons"] == 1500 and truth["world"]["chunks"] == 3
    assert json.loads((out / "truth.json").read_text()) == truth


def test_chunks_never_share_keys(chunked: tuple[Path, dict[str, Any]]) -> None:
    out, truth = chunked
    for table, key in (("persons", "person_id"), ("apc_episodes", "EPIKEY"),
                       ("ae_attendances", "AEKEY"), ("op_appointments", "ATTENDKEY")):
        values = _column(out / table, key)
        assert len(values) == len(set(values)), f"{table}.{key} repeats across chunks"
    homes = [set(pq.read_table(f, columns=["SETTING_ID"]).column(0).to_pylist())
             for f in sorted((out / "settings").glob("*.parquet"))]
    assert all(a.isdisjoint(b) for i, a in enumerate(homes) for b in homes[i + 1:])
    intervention = (out / "intervention_settings.csv").read_text().split()[1:]
    assert set(intervention) <= set(_column(out / "settings", "SETTING_ID"))
    assert len(intervention) == truth["world"]["n_intervention_settings"]


def test_chunked_truth_adds_up(chunked: tuple[Path, dict[str, Any]]) -> None:
    _, truth = chunked
    sample = truth["sample"]
    assert sample["n_treated"] > 0
    assert sample["observed"]["emergency_admissions"] <= sample["counterfactual"]["emergency_admissions"]
    assert 0.75 <= truth["outcomes"]["bed_days"]["value"] <= 1.0


def test_one_chunk_is_the_unchunked_extract(tmp_path: Path) -> None:
    from impacteval.data.synth import generate

    generate(800, 2, tmp_path / "a")
    generate(800, 2, tmp_path / "b", chunk_persons=800)
    for t in TABLES:
        assert (tmp_path / "a" / f"{t}.parquet").read_bytes() == (tmp_path / "b" / f"{t}.parquet").read_bytes()


def test_chunk_size_below_minimum_is_a_config_error(tmp_path: Path) -> None:
    from impacteval.data.synth import generate

    with pytest.raises(ConfigError, match="at least 500"):
        generate(2000, 1, tmp_path, chunk_persons=100)


@pytest.mark.parametrize("source", ["folder", "glob"])
def test_folder_and_glob_read_every_part(chunked: tuple[Path, dict[str, Any]], source: str) -> None:
    out, _ = chunked
    path = out / "apc_episodes" if source == "folder" else out / "apc_episodes" / "part-*.parquet"
    con = connect("duckdb")
    table = read_raw(con, "apc_episodes", check_file("apc_episodes", path))
    assert table.count().to_pyarrow().as_py() == len(_column(out / "apc_episodes", "EPIKEY"))


def test_glob_matching_nothing_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as err:
        check_file("apc_episodes", tmp_path / "apc_*.parquet")
    assert err.value.where == "data.apc_episodes"


def test_glob_must_match_parquet_only(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(SchemaError, match="not Parquet"):
        check_file("persons", tmp_path / "*")


def test_duckdb_limits_from_the_config_reach_the_connection(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_demo(memory_limit="1GB", threads=1, temp_directory="spill")))
    cfg = load_config(path)
    assert cfg.data.temp_directory == tmp_path / "spill"  # relative to the config file
    from impacteval.pipeline.runner import _connect

    con = _connect(cfg)

    def setting(name: str) -> str:
        return str(con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0])

    assert setting("threads") == "1"
    assert setting("temp_directory") == str(tmp_path / "spill")
    assert setting("memory_limit").replace(" ", "") in ("953.6MiB", "1.0GiB", "1000.0MB")


@pytest.mark.parametrize(("data", "message"), [
    ({"memory_limit": "eight gigs"}, "memory_limit"),
    ({"threads": 0}, "threads"),
    ({"engine": "spark", "threads": 2}, "applies to engine: duckdb only"),
    ({"apc_episodes": {"table": "main.hes.apc_episodes"}}, "need engine: spark"),
    ({"engine": "spark", "apc_episodes": {"table": "main.hes.apc episodes"}}, "apc_episodes"),
])
def test_bad_scale_options_name_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_demo(**data))


def test_catalog_tables_stay_names_on_spark() -> None:
    cfg = parse_config(_demo(engine="spark", apc_episodes={"table": "main.hes.apc_episodes"}))
    assert cfg.data.apc_episodes.table == "main.hes.apc_episodes"  # type: ignore[union-attr]
    assert isinstance(cfg.data.persons, Path)
