"""Keyed pseudonymisation: equal to Python's hmac module and to RFC 4231 test vectors."""

from __future__ import annotations

import hashlib
import hmac

import ibis
import pandas as pd
import pytest

from impacteval.exceptions import ConfigError
from impacteval.linkage import pseudonymise

VALUES = ["9434765919", "", "ÄÖ-ünïcode", "x" * 200, None]


def _run(values: list[str | None], key: bytes) -> list[str | None]:
    con = ibis.duckdb.connect()
    t = con.create_table("ids", pd.DataFrame({"pid": pd.Series(values, dtype="string"),
                                              "n": range(len(values))}))
    out = pseudonymise(t, "pid", key).order_by("n").to_pandas()
    return [None if pd.isna(v) else v for v in out.pid]


def test_rfc4231_case_1() -> None:
    # RFC 4231 §4.2: key = 0x0b * 20, data = "Hi There".
    expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert _run(["Hi There"], b"\x0b" * 20) == [expected]


def test_rfc4231_case_6_long_key() -> None:
    # RFC 4231 §4.7: 131-byte key (hashed first), data below.
    expected = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    assert _run(["Test Using Larger Than Block-Size Key - Hash Key First"],
                b"\xaa" * 131) == [expected]


@pytest.mark.parametrize("key", [b"k" * 16, bytes(range(64)), b"\xff" * 65])
def test_matches_python_hmac(key: bytes) -> None:
    expected = [None if v is None else hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()
                for v in VALUES]
    assert _run(VALUES, key) == expected


def test_rejects_short_key_and_bad_column() -> None:
    t = ibis.memtable(pd.DataFrame({"pid": ["a"], "n": [1]}))
    with pytest.raises(ConfigError, match="16 bytes"):
        pseudonymise(t, "pid", b"short")
    with pytest.raises(ConfigError, match="text"):
        pseudonymise(t, "n", b"k" * 32)
