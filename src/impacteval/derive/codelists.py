"""Versioned clinical code lists shipped as CSV, and prefix matching against them.

Every list lives in ``codelists/<name>.csv`` with at least the columns
``code, category, weight, source, licence`` and is described (version, source, licence, how
codes match) in ``codelists/VERSIONS.json``. Codes are ICD-10 (or OPCS-4 for the ACSC procedure
exclusions) prefixes of 1-4 characters without dots: ``I21`` matches ``I210`` .. ``I219`` and
``I21X``; ``I252`` matches only ``I252``.

Lists shipped (see ``VERSIONS.json``): ``charlson_1987``, ``charlson_quan_2011``,
``frailty_imperial9``, ``frailty_iau6``, ``hfrs``, ``acsc``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from impacteval.exceptions import ConfigError

#: Columns every code-list CSV has.
CODELIST_COLUMNS = ("code", "category", "weight", "source", "licence")


@cache
def codelist_versions() -> dict[str, dict[str, Any]]:
    """Name -> ``{version, description, source, licence, match}`` of every shipped list."""
    text = resources.files("impacteval.derive").joinpath("codelists", "VERSIONS.json").read_text("utf-8")
    versions: dict[str, dict[str, Any]] = json.loads(text)
    return versions


@cache
def _read(name: str) -> pd.DataFrame:
    versions = codelist_versions()
    if name not in versions:
        raise ConfigError(
            f"unknown code list {name!r}",
            where="codelist",
            hint=f"use one of: {', '.join(sorted(versions))}",
        )
    path = resources.files("impacteval.derive").joinpath("codelists", f"{name}.csv")
    with resources.as_file(path) as p:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in CODELIST_COLUMNS if c not in df.columns]
    if missing:  # a packaging error, not a user error
        raise RuntimeError(f"code list {name} lacks columns {missing}")
    df["code"] = df["code"].str.strip().str.upper()
    df["weight"] = df["weight"].astype(float)
    return df


def load_codelist(name: str) -> pd.DataFrame:
    """Return a shipped code list as a new DataFrame (``weight`` as float, codes upper case).

    Parameters
    ----------
    name
        A key of :func:`codelist_versions`, e.g. ``"charlson_1987"``.

    Raises
    ------
    ConfigError
        If no list has that name.
    """
    return _read(name).copy()


def match_prefixes(
    table: ir.Table, code_column: str, codelist: pd.DataFrame, *, columns: tuple[str, ...]
) -> ir.Table:
    """Rows of ``table`` whose code starts with a code of ``codelist``, with list columns added.

    Each row is expanded into its prefixes of the lengths the list uses (a cross join with the
    few lengths, then ``substr(code, 0, L)``) and joined once, by equality, to the list: never a
    non-equi ``startswith`` join, so it scales on DuckDB and Spark, and ``table`` appears once
    in the query plan. A code matching several list rows
    gives several output rows.

    Parameters
    ----------
    table
        Any table with a string column ``code_column``.
    code_column
        Name of the code column in ``table``.
    codelist
        Code list with a ``code`` column (prefixes) and the ``columns`` to carry over.
    columns
        Code-list columns to add to each matched row (must not clash with ``table``'s columns).
    """
    clash = set(columns) & set(table.columns)
    if clash:
        raise ValueError(f"code-list columns {sorted(clash)} clash with the table's columns")
    if codelist.empty:
        raise ValueError("empty code list")
    lengths = sorted({len(c) for c in codelist["code"]})
    if len(lengths) == 1:
        keyed = table.mutate(_prefix=table[code_column].substr(0, lengths[0]))
    else:
        lt = ibis.memtable(pd.DataFrame({"_prefix_len": pd.Series(lengths, dtype="int64")}))
        pairs = table.cross_join(lt)
        keyed = pairs.mutate(_prefix=pairs[code_column].substr(0, pairs._prefix_len))
    sub = codelist[["code", *columns]].rename(columns={"code": "_code"}).drop_duplicates()
    cl = ibis.memtable(sub.reset_index(drop=True))
    return keyed.join(cl, keyed._prefix == cl._code).select(*table.columns, *columns)
