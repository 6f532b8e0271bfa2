"""Config of the extras (issue 8): subgroups, negative controls, alternative specifications and
triangulation; every error names its location."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from impacteval.config import parse_config
from impacteval.config.extras import derived_config, overrides
from impacteval.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]

READY: dict[str, Any] = {
    "evaluation": {"id": "x"},
    "data": {"table": "t.csv"},
    "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"], "covariates": ["a", "b"]},
}


def _ready(**sections: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(READY)
    cfg.update(sections)
    return cfg


def _demo(**sections: Any) -> dict[str, Any]:
    cfg = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    for key in ("subgroups", "negative_controls", "alternative_specifications", "triangulation"):
        cfg.pop(key, None)
    cfg.update(sections)
    return cfg


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="c.yaml", base_dir=REPO / "configs")
    return str(info.value)


def test_subgroups_accept_names_and_mappings() -> None:
    cfg = parse_config(_ready(subgroups=["a", {"variable": "b", "bins": [1, 2],
                                                 "gap_levels": ["under 1", "2 and over"]}]))
    assert [s.variable for s in cfg.subgroups] == ["a", "b"]
    assert cfg.subgroups[1].bins == [1.0, 2.0] and cfg.subgroups[0].min_per_arm == 10


@pytest.mark.parametrize(("sections", "where", "text"), [
    ({"subgroups": ["a", "a"]}, "subgroups[1].variable", "listed twice"),
    ({"subgroups": [{"variable": "a", "outcomes": ["z"]}]}, "subgroups[0].outcomes",
     "not a main outcome"),
    ({"subgroups": [{"variable": "a", "bins": [3, 1]}]}, "subgroups.0.bins", "increase"),
    ({"negative_controls": {"outcomes": ["y"]}}, "negative_controls.outcomes",
     "is a main outcome"),
    ({"negative_controls": {}}, "negative_controls", "no outcome and no exposure"),
    ({"negative_controls": {"exposures": ["t"]}}, "negative_controls.exposures",
     "treatment itself"),
    ({"alternative_specifications": [{"name": "a", "matching": {"caliper": 0.1}},
                                     {"name": "b", "matching": {"caliper": -1}}]},
     "alternative_specifications[1].matching.caliper", "greater than 0"),
    ({"alternative_specifications": [{"name": "a", "analysis": {"familly": "poisson"}}]},
     "alternative_specifications[0].analysis.familly", "did you mean 'family'"),
    ({"alternative_specifications": [{"name": "a", "matchin": {"caliper": 0.1}}]},
     "alternative_specifications[0].matchin", "did you mean 'matching'"),
    ({"alternative_specifications": [{"name": "a", "data": {"table": "u.csv"}}]},
     "alternative_specifications[0].data", "cannot change this section"),
    ({"alternative_specifications": [{"name": "a", "matching": {"caliper": 0.1}},
                                     {"name": "a", "matching": {"caliper": 0.3}}]},
     "alternative_specifications[1].name", "used twice"),
    ({"alternative_specifications": [{"name": "a"}]}, "alternative_specifications[0]",
     "changes nothing"),
    ({"triangulation": [{"design": "matched_cohort"}]}, "triangulation[0].design",
     "already run"),
    ({"triangulation": [{"design": "regression_discontinuty", "rdd": {"running": "a"}}]},
     "triangulation[0].design", "Input should be"),
    ({"triangulation": [{"design": "regression_discontinuity"}]}, "triangulation[0]",
     "needs an 'rdd' section"),
    ({"triangulation": [{"design": "regression_discontinuity",
                         "rdd": {"running": "a", "p": 9}}]}, "triangulation[0].rdd.p",
     "less than or equal to 4"),
    ({"triangulation": [{"design": "instrumental_variables", "iv": {"treatment": "t",
                         "instruments": ["b"]}, "outcomes": ["y"]}]},
     "triangulation[0].outcomes", "cannot change this section"),
])
def test_errors_name_the_location(sections: dict[str, Any], where: str, text: str) -> None:
    message = _error(_ready(**sections))
    assert f"c.yaml: {where}" in message, message
    assert text in message


def test_negative_controls_on_episode_tables_are_known_outcomes_and_no_exposures() -> None:
    message = _error(_demo(negative_controls={"outcomes": ["bed_dayz"]}))
    assert "negative_controls.outcomes: unknown outcome 'bed_dayz'" in message
    assert "bed_days" in message  # the hint lists the valid outcomes
    message = _error(_demo(negative_controls={"exposures": ["nursing"]}))
    assert "negative_controls.exposures" in message


def test_alternative_config_keeps_what_the_user_set_and_overrides_one_key() -> None:
    cfg = parse_config(_demo(alternative_specifications=[
        {"name": "NB family", "analysis": {"family": "negative_binomial"}},
        {"name": "caliper 0.1", "matching": {"caliper": 0.1}}]), base_dir=REPO / "configs")
    nb = derived_config(cfg, overrides(cfg.alternative_specifications[0]), where="a")
    cal = derived_config(cfg, overrides(cfg.alternative_specifications[1]), where="b")
    assert nb.analysis.family == "negative_binomial" and nb.matching == cfg.matching
    assert cal.matching.caliper == 0.1 and cal.matching.order == cfg.matching.order
    assert cal.analysis == cfg.analysis and cal.data == cfg.data and cal.cohort == cfg.cohort
    assert not cal.alternative_specifications and cal.source_dir == cfg.source_dir


def test_triangulation_config_swaps_the_design_section() -> None:
    raw = _ready(rdd=None, triangulation=[
        {"design": "regression_discontinuity", "rdd": {"running": "a", "cutoff": 0.5}}])
    raw.pop("rdd")
    cfg = parse_config(raw)
    tri = derived_config(cfg, overrides(cfg.triangulation[0]),
                         design=cfg.triangulation[0].design, where="t")
    assert tri.evaluation.design == "regression_discontinuity"
    assert tri.rdd is not None and tri.rdd.cutoff == 0.5 and not tri.triangulation
    # and back: an RD study triangulated with a matched cohort drops the rdd section
    raw = _ready(evaluation={"id": "x", "design": "regression_discontinuity"},
                 rdd={"running": "a"}, triangulation=[{"design": "matched_cohort"}])
    cfg = parse_config(raw)
    tri = derived_config(cfg, overrides(cfg.triangulation[0]), design="matched_cohort",
                         where="t")
    assert tri.rdd is None and tri.evaluation.design == "matched_cohort"


def test_demo_configs_with_extras_load() -> None:
    for name in ("demo.yaml", "demo_full.yaml"):
        path = REPO / "configs" / name
        if path.is_file():
            raw = yaml.safe_load(path.read_text())
            parse_config(raw, source=name, base_dir=path.parent)
