"""The demo's relational stages (ingest, link, derive, cohort) give identical tables on DuckDB
and Spark local mode (issue 9: the same config runs on both engines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from impacteval.cohort import build_cohort
from impacteval.config import parse_config
from impacteval.data.ingest import ingest
from impacteval.derive import derive_events, diagnoses
from impacteval.linkage import link

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[2]
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    from impacteval.data.synth import generate

    data = tmp_path_factory.mktemp("extract")
    generate(6000, 3, data)
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    for t in TABLES:
        raw["data"][t] = str(data / f"{t}.parquet")
    raw["cohort"]["treated_settings_file"] = str(data / "intervention_settings.csv")
    return parse_config(raw)


def _stages(cfg, con) -> dict[str, pd.DataFrame]:
    ingested = ingest(cfg.data, con)
    linked = link(ingested.tables)
    events = derive_events(linked.tables, data_cut=cfg.data.data_cut)
    cohort = build_cohort(con, linked.tables, events, diagnoses(linked.tables["apc_episodes"]),
                          cfg.cohort, list(cfg.outcomes), cfg.data.data_cut)
    return {
        "ingest_report": ingested.report,
        "linkage_report": linked.report,
        "events": events.to_pandas(),
        "cohort": cohort.table,
        "attrition": cohort.attrition,
    }


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype(object).where(df.notna(), None)
    return df.sort_values(list(df.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


def test_relational_stages_identical_on_duckdb_and_spark(config, spark_session: Any) -> None:
    import ibis

    duck = _stages(config, ibis.duckdb.connect())
    spark = _stages(config, ibis.pyspark.connect(spark_session))
    assert len(duck["cohort"]) > 50
    for name in duck:
        left, right = _normalise(duck[name]), _normalise(spark[name])
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=name)
