"""One local SparkSession for the engine-parity tests (shared/reference/engines.md §1, §3).

Tests here are marked ``spark`` and skipped when pyspark (the ``[spark]`` extra) or Java is
not installed.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    # the Python workers must run this interpreter, not python3 from PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse: Path = tmp_path_factory.mktemp("spark-warehouse")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("impacteval-engine-parity")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.ui.enabled", "false")
        # local mode's default 1 GB heap holds the cached input tables of every test of the
        # session; the cohort stage then failed now and then with "Not enough memory to build
        # and broadcast the table" (see docs/how-to/scale.md). A larger heap and no broadcast
        # joins make the parity tests deterministic; the results do not depend on the join
        # strategy.
        .config("spark.driver.memory", "3g")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .getOrCreate()
    )
    yield spark
    spark.stop()
