"""Read one input table (Parquet, CSV, a folder or glob of Parquet files, or a Spark catalog
table) onto the engine, with the user's column renames.

CSV files are read with every column as a string, so codes keep their leading zeros (``01``)
and letters (``2A``); the loader casts them per the contract afterwards. Parquet keeps its own
types and is cast the same way.
"""

from __future__ import annotations

import difflib
import glob
from collections.abc import Mapping
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from impacteval.config.models import CatalogTable
from impacteval.data.contract import TableSchema
from impacteval.exceptions import SchemaError

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")


def is_glob(path: Path) -> bool:
    """True if ``path`` holds a wildcard (``*``, ``?``, ``[``) and names a set of files."""
    return any(ch in str(path) for ch in "*?[")


def check_file(table: str, path: Path | CatalogTable | None) -> Path | CatalogTable:
    """Return ``path`` if it names readable input, else raise ``SchemaError``.

    Accepted: a Parquet or CSV file; a folder of Parquet files (a partitioned dataset, as
    Spark or ``synth-data --chunk-persons`` write); a glob of Parquet files
    (``extract/apc_*.parquet``); a catalog table (``{table: catalog.schema.name}``), which is
    checked when it is read on the engine.
    """
    where = f"data.{table}"
    if isinstance(path, CatalogTable):
        return path
    if path is None:
        raise SchemaError("no file given", where=where, hint=f"set data.{table} to a Parquet or CSV file")
    path = Path(path)
    if is_glob(path):
        matches = sorted(glob.glob(str(path)))
        if not matches:
            raise SchemaError(f"no files match {path}", where=where,
                              hint="check the pattern (relative paths are relative to the config file's folder)")
        if not all(m.lower().endswith(PARQUET_SUFFIXES) for m in matches):
            raise SchemaError(f"{path} matches files that are not Parquet", where=where,
                              hint="a pattern must match Parquet files only (*.parquet)")
        return path
    if not path.exists():
        raise SchemaError(
            f"file not found: {path}", where=where,
            hint="check the path (relative paths are relative to the config file's folder)",
        )
    name = path.name.lower()
    if path.is_dir():
        if not any(path.glob("*.parquet")):
            raise SchemaError(f"folder {path} holds no *.parquet files", where=where,
                              hint="point to a Parquet file, a folder of Parquet files or a CSV file")
        return path
    if not name.endswith(PARQUET_SUFFIXES + CSV_SUFFIXES):
        raise SchemaError(
            f"cannot tell the format of {path.name}", where=where,
            hint="use a .parquet or .csv file (UTF-8, header row)",
        )
    return path


def read_raw(con: BaseBackend, table: str, path: Path | CatalogTable) -> ibis.Table:
    """Read an input lazily onto ``con``: Parquet with its types, CSV with all columns as strings,
    a catalog table as the catalog holds it."""
    backend = getattr(con, "name", "")
    if isinstance(path, CatalogTable):
        return _read_catalog(con, table, path)
    name = path.name.lower()
    try:
        if is_glob(path):
            return con.read_parquet(str(path))
        if path.is_dir():
            source = str(path / "*.parquet") if backend == "duckdb" else str(path)
            return con.read_parquet(source)
        if name.endswith(PARQUET_SUFFIXES):
            return con.read_parquet(str(path))
        delim = "\t" if name.endswith(".tsv") else ","
        if backend == "duckdb":
            return con.read_csv(str(path), all_varchar=True, header=True, delim=delim)
        # Spark reads every column as a string unless asked to infer a schema.
        return con.read_csv(str(path), header=True, inferSchema=False, sep=delim)
    except Exception as exc:  # the engines raise their own IO/parser errors
        raise SchemaError(
            f"could not read {path.name} ({type(exc).__name__})", where=f"data.{table}",
            hint="check the file is a valid Parquet file or a UTF-8 CSV with a header row",
        ) from exc


def _read_catalog(con: BaseBackend, table: str, ref: CatalogTable) -> ibis.Table:
    """``catalog.schema.name`` from the Spark catalog (Unity Catalog on Databricks)."""
    where = f"data.{table}.table"
    if getattr(con, "name", "") != "pyspark":
        raise SchemaError("catalog tables can only be read on Spark", where=where,
                          hint="set data.engine: spark, or give a file path instead")
    *namespace, name = ref.table.split(".")
    database: tuple[str, str] | str | None = (
        (namespace[0], namespace[1]) if len(namespace) == 2 else namespace[0] if namespace else None
    )
    try:
        return con.table(name, database=database)
    except Exception as exc:  # pyspark's AnalysisException, ibis' TableNotFound
        raise SchemaError(
            f"table {ref.table} not found in the Spark catalog ({type(exc).__name__})", where=where,
            hint="check the name (catalog.schema.table) and that this session may read it",
        ) from exc


def apply_rename(raw: ibis.Table, schema: TableSchema, rename: Mapping[str, str]) -> ibis.Table:
    """Rename ``{their column: contract column}``.

    A source column not in the file, or a target that is not a contract column of the table,
    is a ``SchemaError`` (a typo would otherwise drop an optional column silently).
    """
    table = schema.name
    if not rename:
        return raw
    unknown = [new for new in rename.values() if new not in schema]
    if unknown:
        near = difflib.get_close_matches(unknown[0], schema.names, n=1)
        raise SchemaError(
            f"data.rename.{table} maps to {unknown[0]}, which is not a column of the contract",
            where=f"data.rename.{table}",
            hint=(f"did you mean {near[0]}? " if near else "")
            + "targets are contract columns (DATA_CONTRACT.md §7)",
        )
    missing = [src for src in rename if src not in raw.columns]
    if missing:
        raise SchemaError(
            f"data.rename.{table} names column(s) not in the file: {', '.join(sorted(missing))}",
            where=f"data.{table}",
            hint=f"the file has: {', '.join(raw.columns)}",
        )
    targets = list(rename.values())
    clash = sorted({t for t in targets if targets.count(t) > 1}
                   | {t for t in targets if t in raw.columns and t not in rename})
    if clash:
        raise SchemaError(
            f"data.rename.{table} would create duplicate column(s): {', '.join(clash)}",
            where=f"data.{table}", hint="rename each contract column from exactly one source column",
        )
    return raw.rename({new: old for old, new in rename.items()})


def check_columns(raw: ibis.Table, schema: TableSchema, rename: Mapping[str, str]) -> None:
    """Raise ``SchemaError`` naming every required contract column that is absent."""
    missing = [c for c in schema.required if c not in raw.columns]
    if not missing:
        return
    close = difflib.get_close_matches(missing[0], [c for c in raw.columns if c not in schema],
                                      n=1, cutoff=0.6)
    close += [c for c in raw.columns if c.lower() == missing[0].lower() and c not in close]
    source = close[0] if close else "<your column>"
    hint = (
        f"add the column(s) or map yours in the config: data.rename.{schema.name}: "
        f"{{{source}: {missing[0]}}}"
    )
    if rename:
        hint += f" (current renames: {', '.join(f'{k}->{v}' for k, v in rename.items())})"
    shown = ", ".join(raw.columns[:15]) + (", ..." if len(raw.columns) > 15 else "")
    raise SchemaError(
        f"missing required column(s) {', '.join(missing)}; "
        f"the table has {len(raw.columns)} column(s): {shown}",
        where=f"{schema.name}.{missing[0]}", hint=hint,
    )
