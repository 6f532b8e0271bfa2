"""Inputs named as Spark catalog tables (Databricks: ``data.<table>: {table: catalog.schema.name}``)
give the same ingested tables as the same data read from Parquet files.

The tables are saved to the local warehouse of the session-scoped SparkSession (conftest), the
local stand-in for Unity Catalog / the Hive metastore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
import yaml

from impacteval.config import parse_config
from impacteval.config.models import CatalogTable
from impacteval.data.ingest import ingest
from impacteval.data.readers import read_raw
from impacteval.exceptions import SchemaError

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[2]
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")
SCHEMA = "impacteval_catalog_test"


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from impacteval.data.synth import generate

    data = tmp_path_factory.mktemp("catalog-extract")
    generate(2000, 11, data)
    return data


def _config(extract: Path, sources: dict[str, Any]) -> Any:
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["data"]["engine"] = "spark"
    raw["data"].update(sources)
    raw["cohort"]["treated_settings_file"] = str(extract / "intervention_settings.csv")
    return parse_config(raw)


@pytest.fixture(scope="module")
def catalog(extract: Path, spark_session: Any) -> dict[str, Any]:
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
    for t in TABLES:
        spark_session.read.parquet(str(extract / f"{t}.parquet")).write.mode("overwrite") \
            .saveAsTable(f"{SCHEMA}.{t}")
    # one three-part name (catalog.schema.table, as on Unity Catalog), the rest schema.table
    names = {t: {"table": f"{SCHEMA}.{t}"} for t in TABLES}
    names["apc_episodes"] = {"table": f"spark_catalog.{SCHEMA}.apc_episodes"}
    return names


def _frames(cfg: Any, con: Any) -> dict[str, pd.DataFrame]:
    ingested = ingest(cfg.data, con)
    out = {"ingest_report": ingested.report}
    out.update({t: con.to_pandas(ingested.tables[t]) for t in ("persons", "deaths", "settings")})
    return out


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype(object).where(df.notna(), None)
    return df.sort_values(list(df.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


def test_catalog_tables_match_files(extract: Path, catalog: dict[str, Any], spark_session: Any) -> None:
    # Spark reading the catalog against DuckDB reading the files (test_pipeline_engines.py
    # shows Spark and DuckDB agree on files), so the slow engine runs once
    from_tables = _frames(_config(extract, catalog), ibis.pyspark.connect(spark_session))
    files = _config(extract, {t: str(extract / f"{t}.parquet") for t in TABLES})
    from_files = _frames(files.model_copy(update={"data": files.data.model_copy(
        update={"engine": "duckdb"})}), ibis.duckdb.connect())
    assert len(from_tables["persons"]) > 1000
    for name, frame in from_files.items():
        pd.testing.assert_frame_equal(_normalise(from_tables[name]), _normalise(frame),
                                      check_dtype=False, obj=name)


def test_missing_catalog_table_names_the_key(spark_session: Any) -> None:
    con = ibis.pyspark.connect(spark_session)
    with pytest.raises(SchemaError) as err:
        read_raw(con, "deaths", CatalogTable(table=f"{SCHEMA}.no_such_table"))
    assert err.value.where == "data.deaths.table"
    assert "not found in the Spark catalog" in str(err.value)
