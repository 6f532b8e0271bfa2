"""Keyed pseudonymisation (HMAC-SHA256) of an identifier column, computed on the engine.

For users who receive an identifiable key (or a pseudonym from a different scheme in each
table) and must replace it with one shared pseudonym before linkage. HMAC (RFC 2104) is built
from the engine's SHA-256 and hex functions, so the identifier never leaves the engine:

``HMAC(K, m) = SHA256((K' xor opad) || SHA256((K' xor ipad) || m))``

where ``K'`` is the key zero-padded to the 64-byte block (hashed first if longer). The two
padded keys are computed in Python; the byte strings are concatenated in hexadecimal
(``unhex(hex(pad) || hex(m))``) because hex strings concatenate the same way on every engine.
The result is the lower-case hex digest, equal to Python's
``hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()``.
"""

from __future__ import annotations

import hashlib

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from impacteval.exceptions import ConfigError

_BLOCK = 64
MIN_KEY_BYTES = 16


@ibis.udf.scalar.builtin(name="sha256")
def _duckdb_sha256(value: dt.binary) -> str:  # type: ignore[empty-body]
    """DuckDB ``sha256(blob)`` -> lower-case hex."""


@ibis.udf.scalar.builtin(name="sha2")
def _spark_sha2(value: dt.binary, bits: int) -> str:  # type: ignore[empty-body]
    """Spark ``sha2(binary, 256)`` -> lower-case hex."""


@ibis.udf.scalar.builtin(name="unhex")
def _unhex(value: str) -> dt.binary:
    """``unhex(string)`` -> bytes (DuckDB and Spark)."""


@ibis.udf.scalar.builtin(name="hex")
def _hex(value: str) -> str:  # type: ignore[empty-body]
    """``hex(string)`` -> hex of its UTF-8 bytes (DuckDB and Spark)."""


def _pads(key: bytes) -> tuple[str, str]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return inner.hex().upper(), outer.hex().upper()


def hmac_sha256(value: ir.StringValue, key: bytes, *, backend: str) -> ir.StringValue:
    """HMAC-SHA256 hex digest of each value (null stays null), as an Ibis expression."""
    inner_pad, outer_pad = _pads(key)

    def sha256(hex_text: ir.StringValue) -> ir.StringValue:
        data = _unhex(hex_text)
        if backend == "duckdb":
            return _duckdb_sha256(data)
        return _spark_sha2(data, 256)

    inner = sha256(ibis.literal(inner_pad) + _hex(value))
    outer = sha256(ibis.literal(outer_pad) + inner)
    return ibis.ifelse(value.isnull(), ibis.null().cast("string"), outer)


def pseudonymise(table: ibis.Table, column: str, key: bytes) -> ibis.Table:
    """Replace ``column`` by its keyed HMAC-SHA256 pseudonym (64 lower-case hex characters).

    Parameters
    ----------
    table
        An Ibis table on DuckDB or PySpark.
    column
        The identifier column (string); nulls stay null.
    key
        The secret key, at least 16 bytes (RFC 2104 recommends at least the 32-byte digest
        length). Keep it outside the project folder; the same key gives the same pseudonyms,
        so tables pseudonymised with one key link on the result.

    Returns
    -------
    ibis.Table
        Same columns, ``column`` replaced (lazy).

    Raises
    ------
    ConfigError
        A key shorter than 16 bytes, a column that is missing or not a string, or an engine
        other than DuckDB or PySpark.

    Examples
    --------
    >>> persons = pseudonymise(persons, "NHS_NUMBER", key)   # doctest: +SKIP
    """
    where = "linkage.pseudonymise"
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"the key must be at least {MIN_KEY_BYTES} bytes", where=where,
                          hint="generate one with secrets.token_bytes(32) and store it securely")
    if column not in table.columns or not table[column].type().is_string():
        raise ConfigError(f"column {column} must exist and hold text", where=where,
                          hint="cast the identifier to a string first")
    backend = table.get_backend().name
    if backend not in ("duckdb", "pyspark"):
        raise ConfigError(f"pseudonymise supports duckdb and pyspark, not {backend}",
                          where=where, hint="use engine: duckdb or engine: spark")
    return table.mutate(**{column: hmac_sha256(table[column], key, backend=backend)})
