"""Small column helpers shared by the derive modules (not public API)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis
import ibis.expr.types as ir

from impacteval.exceptions import SchemaError


def require_columns(table: ir.Table, columns: Iterable[str], *, where: str) -> None:
    """Raise :class:`SchemaError` naming the missing columns (names only, never values)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"missing column(s) {', '.join(missing)}",
            where=where,
            hint="pass the cleaned contract table from ingest (docs/dev/interfaces.md)",
        )


def with_optional_columns(table: ir.Table, optional: Mapping[str, str]) -> ir.Table:
    """Add each absent optional column as a typed null, so later steps need no branches."""
    extra = {
        name: ibis.null().cast(dtype) for name, dtype in optional.items() if name not in table.columns
    }
    return table.mutate(**extra) if extra else table


def in_codes(column: ir.Value, codes: Iterable[str]) -> ir.BooleanValue:
    """``column IN codes`` with null treated as False (SQL would give null)."""
    return column.isin(tuple(codes)).fill_null(False)
