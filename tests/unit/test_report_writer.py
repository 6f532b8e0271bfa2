"""write_outputs: layout, atomicity, determinism, schema, self-contained HTML, output checks."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_fixtures import FAKE_MANIFEST, fake_result

from impacteval.exceptions import DisclosureError
from impacteval.report import REGIMES, check_outputs, export_release, write_outputs

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "results.schema.json"
REGIME = REGIMES["nhse_sde"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("w") / "rushcliffe-demo"
    return write_outputs(fake_result(), out, regime=REGIME, manifest=FAKE_MANIFEST)


def _released_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "private" not in p.parts]


def test_layout(written: Path) -> None:
    names = {p.relative_to(written).as_posix() for p in written.rglob("*") if p.is_file()}
    for expected in [
        "report.html", "report.md", "results.json", "manifest.json", "tables/_sdc.json",
        "tables/attrition.csv", "tables/table_one.csv", "tables/balance.csv",
        "tables/estimates.csv", "tables/outcome_summary.csv", "tables/ingest_report.csv",
        "tables/linkage_report.csv", "figures/love_plot.png", "figures/forest.png",
        "figures/flow.png", "figures/propensity_overlap.png", "figures/love_plot.csv",
        "figures/forest.csv", "figures/flow.csv", "figures/propensity_overlap.csv",
        "figures/design_check.png", "figures/design_check.csv", "private/README.txt", "private/matched_cohort.parquet",
    ]:
        assert expected in names
    assert "must never be copied into a release" in (written / "private/README.txt").read_text()
    assert not list(written.parent.glob(".rushcliffe-demo.*"))


def test_results_json_contents_and_schema(written: Path) -> None:
    doc = json.loads((written / "results.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
    assert doc["evaluation"]["id"] == "rushcliffe-demo"
    first = doc["estimates"][0]
    for key in ["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n_treated",
                "n_control", "scale"]:
        assert key in first
    # counts rounded to 5 (398 -> 400), model estimates untouched (0.75 * 1.02)
    assert (first["n_treated"], first["n_control"]) == (400, 400)
    assert first["estimate"] == pytest.approx(0.765)
    details = first["details"]
    assert details["n_clusters"] == 400  # count-named detail controlled (398)
    # crude rates recomputed from released events: 1210 * 0.765 * 0.51231 = 474.2 -> 475
    assert details["n_events_treated"] == 475
    assert details["rate_treated"] == round(475 / 512.31 * 1000, 1)
    assert details["absolute_difference_per_1000_py"] == pytest.approx(1210 * (0.765 - 1))
    assert {"covariate", "smd_before", "smd_after", "variance_ratio_after"} <= set(doc["balance"][0])
    assert doc["diagnostics"]["n_discarded"] == "<10"  # 4 discarded: suppressed
    assert doc["truth"]["outcomes"]["emergency_admissions"]["value"] == 0.75
    assert doc["sdc"]["regime"]["name"] == "nhse_sde"
    text = (written / "results.json").read_text()
    assert "/secure/extract" not in text and "deaths.parquet" in text  # no absolute paths
    assert "output_dir" not in doc["config"]["evaluation"]  # location is not analysis
    assert text == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_schema_rejects_unsafe_shape(written: Path) -> None:
    doc = json.loads((written / "results.json").read_text())
    doc["estimates"][0]["n_treated"] = -5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(SCHEMA.read_text()))


def test_byte_identical_across_writes(written: Path, tmp_path: Path) -> None:
    again = write_outputs(fake_result(), tmp_path / "rushcliffe-demo", regime=REGIME,
                          manifest=FAKE_MANIFEST)
    for rel in ["results.json", "report.html", "report.md", "tables/_sdc.json",
                "tables/table_one.csv", "figures/forest.png", "figures/love_plot.png",
                "figures/flow.png"]:
        assert (again / rel).read_bytes() == (written / rel).read_bytes(), rel


def test_manifest_lists_files_with_hashes(written: Path) -> None:
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["config_hash"] == FAKE_MANIFEST["config_hash"]
    files = {f["path"]: f for f in manifest["files"]}
    assert "manifest.json" not in files and "results.json" in files
    for rel, f in files.items():
        assert hashlib.sha256((written / rel).read_bytes()).hexdigest() == f["sha256"]


def test_no_row_level_data_outside_private(written: Path) -> None:
    ids = {"P000000", "P000123", "P000795"}  # fixture person ids (private matched cohort)
    for p in _released_files(written):
        if p.suffix in (".csv", ".json", ".html", ".md"):
            text = p.read_text()
            assert not any(i in text for i in ids), p
    overlap = (written / "figures/propensity_overlap.csv").read_text().splitlines()
    assert overlap[0] == "score,bin_lower,bin_upper,n_treated,n_control"
    assert len(overlap) == 21  # 20 bins, not 3,519 people


def test_html_is_self_contained(written: Path) -> None:
    html = (written / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "<script" not in html
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(srcs) >= 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    for section in ["summary", "methods", "participants", "descriptive", "balance",
                    "outcomes", "results", "limitations", "reproducibility"]:
        assert f'id="{section}"' in html
    assert "Synthetic data: true effect" in html
    assert "fewer emergency admissions" in html
    assert "&lt;10" in html  # the suppression label, escaped


def test_check_outputs_passes_on_release_and_flags_private(written: Path, tmp_path: Path) -> None:
    problems = check_outputs(written)
    assert len(problems) == 1
    assert problems[0].startswith("private/: a release must not contain the private folder")
    release = export_release(written, tmp_path / "release")
    assert not (release / "private").exists()
    assert check_outputs(release) == []
    with pytest.raises(FileExistsError):
        export_release(written, release)


def _tamper(release: Path, rel: str, old: str, new: str) -> None:
    path = release / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_check_outputs_fails_on_tampered_release(written: Path, tmp_path: Path) -> None:
    release = export_release(written, tmp_path / "release")
    _tamper(release, "tables/outcome_summary.csv", ",<10,", ",6,")
    _tamper(release, "tables/attrition.csv", ",5210", ",5211")
    _tamper(release, "results.json", '"n_control": 3115', '"n_control": 3117')
    _tamper(release, "results.json", '"n_clusters": 400', '"n_clusters": 398')
    (release / "tables/extra.csv").write_text("n\n3\n")
    shutil.copy(written / "private/matched_cohort.parquet", release / "figures/x.parquet")
    problems = check_outputs(release)
    joined = "\n".join(problems)
    assert "tables/outcome_summary.csv: line 6, column 'events' is below the threshold" in joined
    assert "tables/attrition.csv: line 2, column 'n_control' is not a multiple of 5" in joined
    assert "results.json: attrition[3].n_control is not a multiple of 5" in joined
    assert "tables/extra.csv: not covered by tables/_sdc.json" in joined
    assert "results.json: estimates[0].details.n_clusters is not a multiple of 5" in joined
    assert "figures/x.parquet: row-level data file in a release" in joined
    assert "5211" not in joined and "3117" not in joined  # never the values


def test_check_outputs_midpoint6_and_table_one_rows(written: Path, tmp_path: Path) -> None:
    release = export_release(written, tmp_path / "release")
    sdc = json.loads((release / "tables/_sdc.json").read_text())
    assert sdc["files"]["tables/table_one.csv"]["count_rows"] == {"statistic": ["n"]}
    # percentages in Table 1 are not counts: 68.8 must not be flagged, an n of 401 must be
    _tamper(release, "tables/table_one.csv", "n,n,400", "n,n,401")
    assert check_outputs(release) == [
        "tables/table_one.csv: line 2, column 'treated_before' is not a multiple of 5"
    ]
    (release / "tables/_sdc.json").unlink()
    assert "tables/_sdc.json: missing, so no CSV can be checked" in check_outputs(release)


class _ExplodingFigure:
    def savefig(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full while saving a figure")


def _exploding(result):  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        result, figures={"boom": _ExplodingFigure()},
        figure_data={**result.figure_data, "boom": result.figure_data["design_check"]},
    )


def test_abandoned_temporary_folders_are_cleaned(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above Linux's PID_MAX_LIMIT (2**22): no such process
    stale = tmp_path / f".ev.tmp-{dead}"
    (stale / "tables").mkdir(parents=True)
    (tmp_path / f".ev.old-{dead}").mkdir()
    write_outputs(fake_result(with_private=False), tmp_path / "ev", regime=REGIME,
                  manifest=FAKE_MANIFEST)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]


def test_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    bad = _exploding(fake_result())
    out = tmp_path / "outs" / "ev"
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(bad, out, regime=REGIME, manifest=FAKE_MANIFEST)
    assert not out.exists()
    assert list((tmp_path / "outs").iterdir()) == []


def test_existing_outputs_replaced_only_on_success(written: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    shutil.copytree(written, out)
    before = (out / "results.json").read_bytes()
    bad = _exploding(fake_result())
    with pytest.raises(RuntimeError):
        write_outputs(bad, out, regime=REGIME, manifest=FAKE_MANIFEST)
    assert (out / "results.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]
    retitled = dataclasses.replace(fake_result(with_private=False), title="Second run")
    write_outputs(retitled, out, regime=REGIME, manifest=FAKE_MANIFEST)
    assert json.loads((out / "results.json").read_text())["evaluation"]["title"] == "Second run"
    assert not (out / "private").exists()  # the old folder was replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]


def test_identifier_columns_are_refused(tmp_path: Path) -> None:
    r = fake_result()
    leaky = dataclasses.replace(
        r, figure_data={"leak": r.private["matched_cohort"][["person_id", "treated"]]}
    )
    with pytest.raises(DisclosureError, match="identifier") as err:
        write_outputs(leaky, tmp_path / "ev", regime=REGIME, manifest=FAKE_MANIFEST)
    assert "P0000" not in str(err.value)
    assert not (tmp_path / "ev").exists()


def test_other_regime_labels_flow_through(tmp_path: Path) -> None:
    out = write_outputs(fake_result(with_truth=False, with_private=False), tmp_path / "ev",
                        regime=REGIMES["nhsd_hes"], manifest=FAKE_MANIFEST)
    assert check_outputs(out) == []
    summary = (out / "tables/outcome_summary.csv").read_text()
    assert ",*," in summary  # 6 elective admissions in the treated arm
    html = (out / "report.html").read_text()
    assert "Synthetic data: true effect" not in html
    assert json.loads((out / "results.json").read_text())["truth"] is None


def test_supplied_figure_without_data_is_withheld(tmp_path: Path) -> None:
    r = fake_result(with_private=False)
    r = dataclasses.replace(r, figures={**r.figures, "raw_density": r.figures["design_check"]})
    out = write_outputs(r, tmp_path / "ev", regime=REGIME, manifest=FAKE_MANIFEST)
    assert not (out / "figures/raw_density.png").exists()
    assert (out / "figures/design_check.png").exists()
    assert (out / "figures/design_check.csv").read_text().splitlines() == [
        "x,n", "0.0,125", "1.0,<10"
    ]
    assert "withheld by disclosure control" in (out / "report.html").read_text()
