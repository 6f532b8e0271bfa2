"""The spine end to end on a small synthetic extract: CLI run, outputs, recovery, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.conftest import run_cli

REQUIRED_ESTIMATE_FIELDS = {"estimate", "std_error", "ci_lower", "ci_upper", "p_value",
                            "n_treated", "n_control", "scale"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, synth_dir: Path):
    import yaml

    from tests.functional.conftest import demo_config

    ws = tmp_path_factory.mktemp("e2e")
    cfg = demo_config(synth_dir, ws / "outputs", extras=True)  # the demo as `make demo` runs it
    (ws / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("run", str(ws / "config.yaml"))
    return ws, proc


def test_run_succeeds_and_writes_outputs(demo_run) -> None:
    ws, proc = demo_run
    assert proc.returncode == 0, proc.stderr
    out = ws / "outputs" / "demo_care_homes"
    for name in ("report.html", "results.json", "manifest.json"):
        assert (out / name).is_file(), name
    assert any((out / "tables").glob("*.csv"))
    assert any((out / "figures").glob("*.png"))
    assert (out / "private").is_dir()
    # nothing row-level outside private/
    for path in out.rglob("*.parquet"):
        assert "private" in path.relative_to(out).parts, path


def test_results_json_holds_estimates_and_balance(demo_run) -> None:
    ws, _ = demo_run
    res = json.loads((ws / "outputs" / "demo_care_homes" / "results.json").read_text())
    estimates = res["estimates"]
    outcomes = {e["outcome"] for e in estimates}
    assert {"emergency_admissions", "ae_attendances", "elective_admissions"} <= outcomes
    for e in estimates:
        assert REQUIRED_ESTIMATE_FIELDS <= set(e), set(e)
        assert e["scale"] == "rate_ratio"
        assert e["ci_lower"] < e["estimate"] < e["ci_upper"]
    samples = {(e["outcome"], e["details"]["sample"]) for e in estimates}
    assert ("emergency_admissions", "matched") in samples and ("emergency_admissions", "naive") in samples
    balance = res["balance"]
    assert balance and {"covariate", "smd_before", "smd_after", "variance_ratio_after"} <= set(balance[0])


def test_matched_estimate_recovers_truth_and_naive_is_biased(demo_run) -> None:
    """Issue 2: the matched rate ratio's CI contains truth.json's value; the naive one is biased."""
    ws, _ = demo_run
    res = json.loads((ws / "outputs" / "demo_care_homes" / "results.json").read_text())
    truth = res["truth"]["outcomes"]["emergency_admissions"]["value"]
    by = {(e["outcome"], e["details"]["sample"]): e for e in res["estimates"]
          if not e["details"].get("specification")}
    matched = by[("emergency_admissions", "matched")]
    naive = by[("emergency_admissions", "naive")]
    assert matched["ci_lower"] <= truth <= matched["ci_upper"], (matched, truth)
    # the naive comparison is confounded by frailty: further from the truth than the matched one
    assert abs(naive["estimate"] - truth) > abs(matched["estimate"] - truth)
    assert not (naive["ci_lower"] <= truth <= naive["ci_upper"]), naive


def test_results_json_is_byte_identical_across_runs(demo_run, tmp_path: Path) -> None:
    import yaml

    ws, _ = demo_run
    cfg = yaml.safe_load((ws / "config.yaml").read_text())
    cfg["evaluation"]["output_dir"] = str(tmp_path / "again")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("run", "--quiet", str(tmp_path / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    first = (ws / "outputs" / "demo_care_homes" / "results.json").read_bytes()
    second = (tmp_path / "again" / "demo_care_homes" / "results.json").read_bytes()
    assert first == second


def test_demo_runs_negative_controls_subgroups_and_an_alternative(demo_run) -> None:
    """Issue 8: the demo's extras are in results.json (so the determinism test covers them),
    their counts pass disclosure control, and the report shows them."""
    ws, _ = demo_run
    out = ws / "outputs" / "demo_care_homes"
    res = json.loads((out / "results.json").read_text())
    nc = {r["outcome"]: r for r in res["sensitivity"]["negative_controls"]}
    assert set(nc) == {"elective_admissions", "op_attendances"}
    for r in nc.values():  # the synthetic world has no effect on planned care
        assert r["ci_lower"] <= 1.0 <= r["ci_upper"], r
    alt = [e for e in res["estimates"] if e["details"].get("specification")]
    assert {e["details"]["specification"] for e in alt} == {"negative binomial"}
    assert {e["outcome"] for e in alt} == {"emergency_admissions",
                                           "avoidable_emergency_admissions", "ae_attendances"}
    variables = {r["variable"] for r in res["subgroups"]}
    assert variables == {"imd_quintile", "age_band", "sex", "ethnicity"}
    assert res["sdc"]["count_fields"]["subgroups"]
    for r in res["subgroups"]:
        for c in ("n_treated", "n_control", "events_treated", "events_control"):
            v = r[c]
            assert v == "<10" or (float(v) % 5 == 0 and not 0 < float(v) < 10), (c, v)
    html = (out / "report.html").read_text()
    for heading in ("Subgroups and equity", "Negative controls", "Alternative specifications"):
        assert heading in html


def test_export_release_and_check_outputs(demo_run, tmp_path: Path) -> None:
    ws, _ = demo_run
    out = ws / "outputs" / "demo_care_homes"
    # the run folder itself holds private/ and is not releasable as it stands
    assert run_cli("check-outputs", str(out)).returncode == 2
    release = tmp_path / "release"
    proc = run_cli("export-release", str(out), str(release))
    assert proc.returncode == 0, proc.stderr
    assert not (release / "private").exists() and (release / "report.html").is_file()
    proc = run_cli("check-outputs", str(release))
    assert proc.returncode == 0, proc.stderr


def test_validate_runs_no_analysis(workspace: Path) -> None:
    proc = run_cli("validate", str(workspace / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    assert not (workspace / "outputs").exists()
