"""Each bad input: exit code 2, one clear message naming where and how to fix, no traceback,
no row values, and no outputs folder left behind (issue 2, "Must show")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.functional.conftest import run_cli


def _edit_config(ws: Path, edit) -> Path:
    cfg = yaml.safe_load((ws / "config.yaml").read_text())
    edit(cfg)
    (ws / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return ws / "config.yaml"


def _edit_table(ws: Path, table: str, edit) -> None:
    path = ws / "data" / f"{table}.parquet"
    t = pq.read_table(path)
    pq.write_table(edit(t), path)


def _assert_user_error(proc, *must_contain: str, forbidden: tuple[str, ...] = ()) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    err = proc.stderr
    assert "Traceback" not in err and "Traceback" not in proc.stdout
    # progress lines may precede it, but there is exactly one error message
    assert sum(line.startswith("error: ") for line in err.splitlines()) == 1, err
    for text in must_contain:
        assert text in err, (text, err)
    for text in forbidden:
        assert text not in err and text not in proc.stdout, text


def _assert_no_outputs(ws: Path) -> None:
    out = ws / "outputs"
    assert not out.exists() or not any(out.iterdir()), list(out.rglob("*"))


@pytest.mark.parametrize("command", ["run", "validate"])
def test_unknown_config_key_names_it_and_suggests(workspace: Path, command: str) -> None:
    cfg = _edit_config(workspace, lambda c: c["matching"].update(calipr=0.1))
    proc = run_cli(command, str(cfg))
    _assert_user_error(proc, "matching.calipr", "did you mean 'caliper'")
    _assert_no_outputs(workspace)


def test_missing_input_file(workspace: Path) -> None:
    (workspace / "data" / "deaths.parquet").unlink()
    proc = run_cli("run", str(workspace / "config.yaml"))
    _assert_user_error(proc, "data.deaths", "not found")
    _assert_no_outputs(workspace)


def test_missing_required_column(workspace: Path) -> None:
    _edit_table(workspace, "apc_episodes", lambda t: t.drop(["ADMIMETH"]))
    proc = run_cli("run", str(workspace / "config.yaml"))
    _assert_user_error(proc, "apc_episodes", "ADMIMETH")
    _assert_no_outputs(workspace)


def test_wrong_column_type(workspace: Path) -> None:
    def edit(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("EPISTART")
        bad = pa.array(["not a date"] * t.num_rows, pa.string())
        return t.set_column(i, "EPISTART", bad)

    _edit_table(workspace, "apc_episodes", edit)
    proc = run_cli("run", str(workspace / "config.yaml"))
    _assert_user_error(proc, "apc_episodes.EPISTART", forbidden=("not a date",))
    _assert_no_outputs(workspace)


def test_invalid_code_value(workspace: Path) -> None:
    def edit(t: pa.Table) -> pa.Table:
        col = t.column("ADMIMETH").to_pylist()
        col[0] = "Q7"  # not an ADMIMETH code
        i = t.schema.get_field_index("ADMIMETH")
        return t.set_column(i, "ADMIMETH", pa.array(col, pa.string()))

    _edit_table(workspace, "apc_episodes", edit)
    proc = run_cli("run", str(workspace / "config.yaml"))
    _assert_user_error(proc, "apc_episodes.ADMIMETH", forbidden=("Q7",))
    _assert_no_outputs(workspace)


def test_dates_out_of_order(workspace: Path) -> None:
    def edit(t: pa.Table) -> pa.Table:
        df = t.to_pandas()
        row = df.index[df["REG_END"].notna()][0] if df["REG_END"].notna().any() else df.index[0]
        df.loc[row, "REG_START"] = pd.Timestamp("2016-01-01").date()
        df.loc[row, "REG_END"] = pd.Timestamp("2014-01-01").date()
        return pa.Table.from_pandas(df, schema=t.schema, preserve_index=False)

    _edit_table(workspace, "persons", edit)
    proc = run_cli("run", str(workspace / "config.yaml"))
    _assert_user_error(proc, "persons.REG_START")
    _assert_no_outputs(workspace)


def test_no_treated_left_after_filters(workspace: Path) -> None:
    cfg = _edit_config(workspace, lambda c: c["cohort"].update(min_age=120))
    proc = run_cli("run", str(cfg))
    _assert_user_error(proc, "cohort", "treated")
    _assert_no_outputs(workspace)


def test_no_overlap_in_propensity(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 400
    treated = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    age = np.where(treated == 1, rng.uniform(90, 100, n), rng.uniform(65, 75, n))
    df = pd.DataFrame({"id": np.arange(n), "t": treated, "age": age,
                       "y": rng.poisson(1.0, n), "py": np.ones(n)})
    df.to_csv(tmp_path / "table.csv", index=False)
    cfg = {
        "evaluation": {"id": "overlap", "output_dir": str(tmp_path / "outputs")},
        "data": {"table": "table.csv"},
        "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"], "covariates": ["age"],
                  "exposure": "py"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_cli("run", str(tmp_path / "config.yaml"))
    _assert_user_error(proc, "overlap")
    _assert_no_outputs(tmp_path)
