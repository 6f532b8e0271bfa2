"""Relational engine: one Ibis connection, DuckDB by default, Spark for scale-out."""

from __future__ import annotations

from typing import Any, Literal

import ibis
from ibis.backends import BaseBackend


def connect(
    engine: Literal["duckdb", "spark"] = "duckdb",
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: str | None = None,
    spark_session: Any = None,
) -> BaseBackend:
    """Open the backend the relational stages run on.

    Parameters
    ----------
    engine
        ``"duckdb"`` (embedded, out-of-core) or ``"spark"`` (an existing or local SparkSession).
    memory_limit, threads, temp_directory
        DuckDB settings (config keys ``data.memory_limit``, ``data.threads``,
        ``data.temp_directory``); ``memory_limit`` such as ``"8GB"`` makes DuckDB spill to
        ``temp_directory`` instead of running out of memory.
    spark_session
        A SparkSession to use; by default the active session (on Databricks, the platform's
        ``spark``) or, if none, a new local one (``local[2]``).
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        if memory_limit:
            con.raw_sql(f"SET memory_limit='{memory_limit}'")
        if threads:
            con.raw_sql(f"SET threads={int(threads)}")
        if temp_directory:
            quoted = str(temp_directory).replace("'", "''")
            con.raw_sql(f"SET temp_directory='{quoted}'")
        return con
    if engine == "spark":
        if spark_session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:  # pragma: no cover - depends on the optional extra
                from impacteval.exceptions import ConfigError

                raise ConfigError(
                    "engine 'spark' needs pyspark", where="data.engine",
                    hint="pip install 'impacteval[spark]' or use engine: duckdb",
                ) from exc
            # the running session if there is one (Databricks' ``spark``), else local mode
            spark_session = (SparkSession.getActiveSession()
                             or SparkSession.builder.master("local[2]").getOrCreate())
        return ibis.pyspark.connect(spark_session)
    raise ValueError(f"unknown engine {engine!r}")
