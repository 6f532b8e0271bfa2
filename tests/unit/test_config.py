"""Config loading: unknown keys, wrong types and impossible values name their location."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from impacteval.config import Config, load_config, parse_config
from impacteval.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]

READY = {
    "evaluation": {"id": "x"},
    "data": {"table": "t.csv"},
    "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"], "covariates": ["a"]},
}


def _with(**sections):
    cfg = json.loads(json.dumps(READY))
    for key, value in sections.items():
        cfg[key] = value
    return cfg


def test_demo_config_loads_and_resolves_paths_relative_to_the_file() -> None:
    cfg = load_config(REPO / "configs" / "demo.yaml")
    assert cfg.data.persons is not None and cfg.data.persons.is_absolute()
    assert cfg.data.persons.name == "persons.parquet"
    assert cfg.cohort is not None and cfg.cohort.min_age == 65
    dumped = cfg.releasable_dump()
    assert dumped["data"]["persons"] == "../data/demo/persons.parquet"
    assert "/work" not in json.dumps(dumped)


@pytest.mark.parametrize(
    ("section", "value", "where", "suggestion"),
    [
        ("matching", {"calipr": 0.1}, "matching.calipr", "caliper"),
        ("analysis", {"familly": "poisson"}, "analysis.familly", "family"),
        ("evaluation", {"id": "x", "sed": 1}, "evaluation.sed", "seed"),
    ],
)
def test_unknown_key_is_named_with_a_suggestion(section, value, where, suggestion) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(**{section: value}))
    assert where in str(info.value)
    assert f"did you mean '{suggestion}'" in str(info.value)


def test_unknown_top_level_section() -> None:
    with pytest.raises(ConfigError, match="unknown key 'outcome'") as info:
        parse_config(_with(outcome=["y"]))
    assert "outcomes" in str(info.value)


def test_literal_value_lists_choices() -> None:
    with pytest.raises(ConfigError, match="analysis.family") as info:
        parse_config(_with(analysis={"family": "gaussian"}))
    assert "poisson" in str(info.value)


def test_wrong_type_is_reported_with_location() -> None:
    with pytest.raises(ConfigError, match="matching.caliper"):
        parse_config(_with(matching={"caliper": "wide"}))


def test_episode_entry_needs_every_contract_table_and_a_cut() -> None:
    raw = {"evaluation": {"id": "x"}, "data": {"persons": "p.parquet"},
           "cohort": {"index_window": ["2014-01-01", "2015-01-01"], "treated_settings": ["S1"]}}
    with pytest.raises(ConfigError, match="apc_episodes"):
        parse_config(raw)


def test_cannot_mix_entry_points() -> None:
    with pytest.raises(ConfigError, match="not both"):
        parse_config(_with(data={"table": "t.csv", "persons": "p.parquet"}))


def test_index_window_must_be_ordered() -> None:
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["cohort"]["index_window"] = ["2016-01-01", "2014-01-01"]
    with pytest.raises(ConfigError, match="cohort: index_window"):
        parse_config(raw)


def test_impossible_date_is_an_error() -> None:
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["data"]["data_cut"] = "2016-02-30"
    with pytest.raises(ConfigError, match="data.data_cut"):
        parse_config(raw)


def test_missing_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("evaluation: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_config_is_frozen() -> None:
    cfg = parse_config(READY)
    with pytest.raises(Exception):  # pydantic ValidationError (frozen instance)
        cfg.matching.caliper = 1.0  # type: ignore[misc]


def test_json_schema_in_docs_is_current() -> None:
    """docs/config.schema.json is generated from the models (python -m impacteval.config.schema)."""
    committed = json.loads((REPO / "docs" / "config.schema.json").read_text())
    assert committed == Config.model_json_schema()


def test_markdown_reference_in_docs_is_current() -> None:
    from impacteval.config.schema import config_markdown

    assert (REPO / "docs" / "reference" / "config.md").read_text() == config_markdown()


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    cfg = parse_config(_with(data={"table": str(tmp_path / "t.csv")}), base_dir=Path("/elsewhere"))
    assert cfg.data.table == tmp_path / "t.csv"
