"""Vectorised builders of Arrow columns and the deterministic Parquet writer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)


def hex_tokens(values: np.ndarray) -> np.ndarray:
    """16-character lower-case hex strings of unsigned 64-bit integers, as ``S16`` bytes."""
    digits = ((values.astype(np.uint64)[:, None] >> _SHIFTS) & np.uint64(15)).astype(np.uint8)
    return np.ascontiguousarray(_HEX[digits]).view("S16").ravel()


def unique_tokens(rng: np.random.Generator, n: int, part: tuple[int, int] = (0, 1)) -> np.ndarray:
    """``n`` distinct pseudonymised tokens (16 hex characters) drawn from ``rng``.

    ``part = (i, k)`` draws from the ``i``-th of ``k`` disjoint slices of the token space, so
    the chunks of a chunked extract never share a token.
    """
    lo, hi = _slice(2**63, part)
    values = rng.integers(lo, hi, size=n, dtype=np.int64).astype(np.uint64)
    while np.unique(values).size < n:  # collisions are ~1e-7 likely at 1M; redraw to be sure
        _, first = np.unique(values, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        values[dup] = rng.integers(lo, hi, size=int(dup.sum()), dtype=np.int64).astype(np.uint64)
    return hex_tokens(values)


def _slice(size: int, part: tuple[int, int]) -> tuple[int, int]:
    """Bounds ``[lo, hi)`` of the ``i``-th of ``k`` equal slices of ``range(size)``."""
    i, k = part
    width = size // k
    return i * width, (i + 1) * width if i + 1 < k else size


def from_bytes(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """String column from a fixed-width bytes array (``S<n>``)."""
    return pa.array(values, type=pa.binary(), mask=mask).cast(pa.string())


def coded(codes: Sequence[str], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """String column ``codes[index]``; rows where ``mask`` is true (or ``index < 0``) are null."""
    index = np.asarray(index)
    null = index < 0 if mask is None else (mask | (index < 0))
    indices = pa.array(np.where(null, 0, index).astype(np.int32), mask=null if null.any() else None)
    dictionary = pa.array(list(codes), type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``date32`` column from days since 1970-01-01."""
    return pa.array(np.asarray(days).astype(np.int32), mask=mask).cast(pa.date32())


def ints(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``int64`` column."""
    return pa.array(np.asarray(values).astype(np.int64), type=pa.int64(), mask=mask)


def serial_keys(first: int, n: int) -> pa.Array:
    """Unique numeric keys ``first, first+1, ...`` as strings (EPIKEY, AEKEY, ATTENDKEY)."""
    return pa.array(first + np.arange(n, dtype=np.int64)).cast(pa.string())


def formatted_numbers(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` followed by zero-padded ``numbers`` (e.g. ``E01`` + 6 digits)."""
    digits = np.char.zfill(np.asarray(numbers).astype(np.int64).astype(f"S{width}"), width)
    return np.char.add(prefix.encode(), digits)


def hhmm(minutes: np.ndarray) -> pa.Array:
    """``HH:MM`` strings from minutes after midnight."""
    minutes = np.asarray(minutes).astype(np.int64)
    hours = minutes // 60
    mins = minutes % 60
    out = np.zeros((minutes.size, 5), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789", dtype=np.uint8)
    out[:, 0] = digits[hours // 10]
    out[:, 1] = digits[hours % 10]
    out[:, 2] = ord(":")
    out[:, 3] = digits[mins // 10]
    out[:, 4] = digits[mins % 10]
    return from_bytes(out.view("S5").ravel())


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` with fixed options so the same table gives the same bytes."""
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=1_000_000,
        use_dictionary=True,
        write_statistics=True,
    )
