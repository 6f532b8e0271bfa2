"""Typing, sentinel mapping and rule checks for one column, as Ibis expressions.

Every function returns expressions only; the loader counts them with one aggregate query per
table, so no row ever leaves the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from impacteval.data.contract import ColumnSchema, parse_sentinel

_INT_TEXT = r"^[+-]?\d+(\.0+)?$"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_TRUE = ("true", "t", "1", "y", "yes")
_FALSE = ("false", "f", "0", "n", "no")
IBIS_TYPE = {"string": "string", "date": "date", "int": "int64", "bool": "boolean"}


@dataclass(frozen=True)
class TypedColumn:
    """A column cast to its contract type.

    Attributes
    ----------
    value
        The typed value (null where the raw value was null, blank or unparseable).
    bad
        True where a non-blank raw value could not be cast (a wrong-type row).
    blank
        True where a raw string was empty or only spaces (mapped to null, counted).
    source_type
        The raw column's engine type, for error hints.
    """

    value: ir.Value
    bad: ir.BooleanValue
    blank: ir.BooleanValue
    source_type: str

    @property
    def can_be_bad(self) -> bool:
        """False when ``bad`` is the literal ``False`` (the storage type always casts)."""
        return not _is_false(self.bad)

    @property
    def can_be_blank(self) -> bool:
        return not _is_false(self.blank)


def _is_false(expr: ir.BooleanValue) -> bool:
    op = expr.op()
    return isinstance(op, ops.Literal) and op.value is False


def _false() -> ir.BooleanValue:
    return ibis.literal(False)


def cast_column(raw: ir.Value, col: ColumnSchema) -> TypedColumn:
    """Cast ``raw`` to ``col.dtype``; never raises on bad values, flags them instead."""
    typ = raw.type()
    target = IBIS_TYPE[col.dtype]
    source = str(typ)
    if typ.is_null():
        null = ibis.null().cast(target)
        return TypedColumn(null, _false(), _false(), source)
    if typ.is_string():
        s = raw.strip()
        blank = raw.notnull() & (s.length() == 0)
        present = raw.notnull() & (s.length() > 0)
        if col.dtype == "string":
            value = ibis.ifelse(blank, ibis.null().cast("string"), raw)
            return TypedColumn(value, _false(), blank, source)
        if col.dtype == "int":
            ok = s.re_search(_INT_TEXT)
            whole = s.re_replace(r"\.0+$", "")
            value = ibis.ifelse(ok, whole.try_cast("int64"), ibis.null().cast("int64"))
        elif col.dtype == "date":
            ok = s.re_search(_DATE_TEXT)
            value = ibis.ifelse(ok, s.try_cast("date"), ibis.null().cast("date"))
        else:  # bool
            low = s.lower()
            value = ibis.cases(
                (low.isin(_TRUE), ibis.literal(True)),
                (low.isin(_FALSE), ibis.literal(False)),
                else_=ibis.null().cast("boolean"),
            )
        bad = (present & value.isnull()).fill_null(False)
        return TypedColumn(value, bad, blank.fill_null(False), source)
    if col.dtype == "string":
        if typ.is_integer():
            return TypedColumn(raw.cast("string"), _false(), _false(), source)
        return TypedColumn(ibis.null().cast("string"), raw.notnull(), _false(), source)
    if col.dtype == "int":
        if typ.is_integer():
            return TypedColumn(raw.cast("int64"), _false(), _false(), source)
        if typ.is_floating() or typ.is_decimal():
            whole = raw.notnull() & (raw == raw.floor())
            value = ibis.ifelse(whole, raw.cast("int64"), ibis.null().cast("int64"))
            return TypedColumn(value, (raw.notnull() & ~whole).fill_null(True), _false(), source)
    if col.dtype == "date":
        if typ.is_date():
            return TypedColumn(raw, _false(), _false(), source)
        if typ.is_timestamp():
            return TypedColumn(raw.date(), _false(), _false(), source)
    if col.dtype == "bool":
        if typ.is_boolean():
            return TypedColumn(raw, _false(), _false(), source)
        if typ.is_integer():
            ok = raw.isin([0, 1])
            value = ibis.ifelse(ok, raw == 1, ibis.null().cast("boolean"))
            return TypedColumn(value, (raw.notnull() & ~ok).fill_null(False), _false(), source)
    # Any other storage type (e.g. a float code, a date stored as an integer) is wrong.
    return TypedColumn(ibis.null().cast(target), raw.notnull(), _false(), source)


def map_sentinels(value: ir.Value, col: ColumnSchema) -> tuple[ir.Value, ir.BooleanValue]:
    """Replace the column's sentinels; return the new value and where a sentinel was found."""
    target = IBIS_TYPE[col.dtype]
    to_null = [parse_sentinel(r, col.dtype) for r, new in col.sentinels if new is None]
    others = [(r, new) for r, new in col.sentinels if new is not None]
    hit = value.isin([parse_sentinel(r, col.dtype) for r, _ in col.sentinels]).fill_null(False)
    branches = [(value.isin(to_null), ibis.null().cast(target))] if to_null else []
    branches += [(value == ibis.literal(parse_sentinel(r, col.dtype), type=target),
                  ibis.literal(parse_sentinel(new, col.dtype), type=target)) for r, new in others]
    if not branches:
        return value, ibis.literal(False)
    return ibis.cases(*branches, else_=value), hit


def violates(value: ir.Value, col: ColumnSchema) -> ir.BooleanValue:
    """True where a non-null cleaned value breaks the column's code set, pattern or range."""
    cond: ir.BooleanValue = _false()
    if col.allowed is not None:
        cond = cond | ~value.isin(sorted(col.allowed))
    if col.regex is not None:
        cond = cond | ~value.re_search(col.regex)
    if col.min_value is not None:
        cond = cond | (value < col.min_value)
    if col.max_value is not None:
        cond = cond | (value > col.max_value)
    return (value.notnull() & cond).fill_null(False)
