"""The derive stage gives identical tables on DuckDB and PySpark (ARCHITECTURE.md, Engines).

Input: a small synthetic extract from :func:`impacteval.data.synth.generate` (raw, not
ingested: parity does not need clean data), read from the same Parquet files by both engines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from impacteval.derive import (
    build_spells,
    charlson,
    derive_events,
    diagnoses,
    frailty_syndromes,
    hfrs,
)

pytestmark = pytest.mark.spark

TABLES = ("apc_episodes", "ae_attendances", "op_appointments", "deaths")
DATA_CUT = dt.date(2016, 8, 31)  # the synthetic world's cut (docs/dev/interfaces.md)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from impacteval.data.synth import generate

    out = tmp_path_factory.mktemp("synth")
    generate(1500, 11, out)
    return out


@pytest.fixture(scope="module")
def backends(extract: Path, spark_session: Any) -> dict[str, dict[str, ibis.Table]]:
    cons = {"duckdb": ibis.duckdb.connect(), "spark": ibis.pyspark.connect(spark_session)}
    return {
        name: {t: con.read_parquet(str(extract / f"{t}.parquet")) for t in TABLES}
        for name, con in cons.items()
    }


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype(object).where(df.notna(), None)
    return df.sort_values(list(df.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


def dx_by_person(tabs: dict[str, ibis.Table]) -> ibis.Table:
    return diagnoses(tabs["apc_episodes"]).drop("EPISTART")


CASES: dict[str, Callable[[dict[str, ibis.Table]], ibis.Table]] = {
    "spells": lambda t: build_spells(t["apc_episodes"]),
    "events": lambda t: derive_events(t, data_cut=DATA_CUT),
    "diagnoses": lambda t: diagnoses(t["apc_episodes"]),
    "charlson": lambda t: charlson(dx_by_person(t), "person_id", flags=True),
    "frailty": lambda t: frailty_syndromes(dx_by_person(t), "person_id", categories="imperial9"),
    "hfrs": lambda t: hfrs(dx_by_person(t), "person_id"),
}


@pytest.mark.parametrize("case", CASES)
def test_same_table_on_duckdb_and_spark(backends, case):
    build = CASES[case]
    duck = build(backends["duckdb"])
    spark = build(backends["spark"])
    assert duck.schema() == spark.schema()
    left, right = normalise(duck.to_pandas()), normalise(spark.to_pandas())
    assert len(left) > 0
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
