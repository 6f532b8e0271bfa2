"""Statistical disclosure control (SDC) for released counts.

Disclosure control happens once, at the output boundary: every count that leaves the secure
environment (tables, the data behind figures, the participant flow, ``n_treated`` and
``n_control`` of each estimate) goes through :func:`apply_sdc`. Model estimates (rate ratios,
confidence intervals, p-values, standardised mean differences) are exempt.

The three steps, in order:

1. **Primary suppression**: a count ``x`` with ``0 < x < min_count`` (and ``x == 0`` when the
   regime suppresses zeros) is replaced by the regime's label, e.g. ``"<10"``.
2. **Secondary (complementary) suppression**: when the table releases totals (a row total
   such as ``n_total = n_treated + n_control``, or a total row per group), a suppressed cell
   could be recovered by subtraction. Each total is a linear equation over the cells of the
   table; a suppressed cell is *recoverable* when it is determined by the system of equations
   given the released cells (checked exactly, by rank). While some suppressed cell is
   recoverable, the smallest released part of an equation that contains a recoverable cell is
   suppressed too (a total only when no part is left).
   The familiar rule "if exactly one cell of a group with a released total is suppressed,
   suppress the next smallest" is the one-equation case.
3. **Rounding** of every released count to the nearest multiple of ``round_to`` (half up).
   A count that passed suppression is never rounded into ``[1, min_count)``: it goes up to the
   smallest multiple of ``round_to`` that is at least ``min_count`` (only possible in custom
   regimes where ``round_to`` is large relative to ``min_count``).

Rates and percentages that a table derives from its counts (``rate_columns``) are recomputed
from the rounded numerator and denominator, and suppressed with their numerator.

OpenSAFELY's midpoint-6 rounding (``ceiling(x/6)*6 - 3*(x != 0)``) can be asked for the counts
behind rates (``midpoint6=True``) in regimes that allow it; those columns are renamed with the
suffix ``_midpoint6`` and are not suppressed (midpoint-6 already hides small numbers).

Sources of the regimes: ``shared/reference/nhs_routine_data.md`` section 2 (NHS England SDE
"Output your results" [S9]; NHS Digital HES/ECDS disclosure control guidance [S8]; OpenSAFELY
output checking rules [S10]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from impacteval.config.models import SDCSpec
from impacteval.exceptions import ConfigError, DisclosureError

__all__ = [
    "REGIMES",
    "ColumnTotal",
    "DisclosureRegime",
    "RateColumn",
    "RowTotal",
    "apply_sdc",
    "get_regime",
    "is_count_name",
    "midpoint6",
]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class DisclosureRegime:
    """A named set of disclosure-control rules.

    Parameters
    ----------
    name
        Regime name (``nhse_sde``, ``nhsd_hes``, ``opensafely`` or ``custom``).
    min_count
        Counts below this are suppressed (``0 < x < min_count``; zero too if ``suppress_zero``).
    round_to
        Released counts are rounded to the nearest multiple of this (1 = no rounding).
    suppress_zero
        Whether a zero count is suppressed as well.
    midpoint6
        Whether OpenSAFELY midpoint-6 rounding may be used for the counts behind rates.
    label
        Text written in place of a suppressed cell, e.g. ``"<10"``.
    description
        One sentence for the report's methods section.
    source
        Where the rule comes from.
    """

    name: str
    min_count: int
    round_to: int
    suppress_zero: bool = False
    midpoint6: bool = False
    label: str = "<10"
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.min_count < 0:
            raise ConfigError("min_count must be 0 or more", where="sdc.min_count")
        if self.round_to < 1:
            raise ConfigError("round_to must be 1 or more", where="sdc.round_to")
        if not self.label or _is_number(self.label):
            raise ConfigError(
                "the suppression label must be non-empty text that is not a number",
                where="sdc.suppress_label",
                hint="use something like '<10' or '*'",
            )

    def is_small(self, x: float) -> bool:
        """Whether a count must be suppressed (primary suppression)."""
        if x == 0:
            return self.suppress_zero and self.min_count > 0
        return x < self.min_count

    def round_count(self, x: float) -> int:
        """Round a count that passed suppression to a multiple of ``round_to`` (half up)."""
        r = self.round_to
        value = int(math.floor(x / r + 0.5)) * r
        if x > 0 and value < self.min_count:
            value = max(r, int(math.ceil(self.min_count / r)) * r)
        return value

    def is_released_value_safe(self, value: float) -> bool:
        """Whether a released (numeric) count value complies with the regime."""
        if self.is_small(value):
            return False
        return float(value).is_integer() and int(value) % self.round_to == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REGIMES: Mapping[str, DisclosureRegime] = {
    "nhse_sde": DisclosureRegime(
        name="nhse_sde",
        min_count=10,
        round_to=5,
        suppress_zero=False,
        label="<10",
        description=(
            "NHS England Secure Data Environment rules: counts from 1 to 9 suppressed, "
            "all other counts rounded to the nearest 5"
        ),
        source="NHS England SDE 'Output your results' (nhs_routine_data.md section 2, [S9])",
    ),
    "nhsd_hes": DisclosureRegime(
        name="nhsd_hes",
        min_count=8,
        round_to=5,
        suppress_zero=False,
        label="*",
        description=(
            "NHS Digital HES rules: counts from 1 to 7 suppressed (zero shown), "
            "all other counts rounded to the nearest 5"
        ),
        source="NHS Digital HES/ECDS disclosure control (nhs_routine_data.md section 2, [S8])",
    ),
    "opensafely": DisclosureRegime(
        name="opensafely",
        min_count=8,
        round_to=5,
        suppress_zero=False,
        midpoint6=True,
        label="[REDACTED]",
        description=(
            "OpenSAFELY rules: counts of 7 or fewer redacted, then all counts rounded to the "
            "nearest 5 (midpoint-6 rounding available for rates)"
        ),
        source="OpenSAFELY output checking rules (nhs_routine_data.md section 2, [S10])",
    ),
}

_DEFAULT_LABEL = SDCSpec.model_fields["suppress_label"].default


def get_regime(spec: SDCSpec | str) -> DisclosureRegime:
    """Build the regime a config asks for.

    Parameters
    ----------
    spec
        The config's ``sdc`` section, or a regime name.

    Returns
    -------
    DisclosureRegime
        A named regime (its own label unless ``suppress_label`` is set explicitly), or a
        ``custom`` one from ``min_count`` and ``round_to``. For a named regime, ``min_count``
        and ``round_to`` may tighten it (a larger threshold or rounding base) but never relax it.

    Raises
    ------
    ConfigError
        Unknown regime name; ``custom`` without ``min_count`` and ``round_to``; a named regime
        relaxed by ``min_count``/``round_to``.
    """
    if isinstance(spec, str):
        if spec not in (*REGIMES, "custom"):
            _unknown(spec)
        spec = SDCSpec.model_validate({"regime": spec})
    explicit_label = "suppress_label" in spec.model_fields_set
    if spec.regime == "custom":
        if spec.min_count is None or spec.round_to is None:
            raise ConfigError(
                "the custom disclosure regime needs both min_count and round_to",
                where="sdc",
                hint="add e.g. 'min_count: 10' and 'round_to: 5', or pick a named regime "
                f"({', '.join(REGIMES)})",
            )
        label = spec.suppress_label if explicit_label else f"<{spec.min_count}"
        return DisclosureRegime(
            name="custom",
            min_count=spec.min_count,
            round_to=spec.round_to,
            label=label,
            description=(
                f"custom rules: counts from 1 to {spec.min_count - 1} suppressed, all other "
                f"counts rounded to the nearest {spec.round_to}"
            ),
            source="configuration (sdc.min_count, sdc.round_to)",
        )
    base = REGIMES[spec.regime]
    min_count = base.min_count if spec.min_count is None else spec.min_count
    round_to = base.round_to if spec.round_to is None else spec.round_to
    if min_count < base.min_count or round_to % base.round_to != 0:
        raise ConfigError(
            f"min_count/round_to would relax the {spec.regime} regime "
            f"(min_count {base.min_count}, round_to {base.round_to})",
            where="sdc",
            hint="use regime 'custom' for other rules, or only tighten the named regime",
        )
    changes: dict[str, Any] = {"min_count": min_count, "round_to": round_to}
    if explicit_label:
        changes["label"] = spec.suppress_label
    if min_count == base.min_count and round_to == base.round_to:
        return DisclosureRegime(**{**base.to_dict(), **changes})
    changes["description"] = (
        f"{base.description}; tightened to counts below {min_count} suppressed and rounding "
        f"to the nearest {round_to}"
    )
    return DisclosureRegime(**{**base.to_dict(), **changes})


def _unknown(name: str) -> NoReturn:
    from impacteval.registry import suggest

    close = suggest(name, [*REGIMES, "custom"])
    raise ConfigError(
        f"unknown disclosure regime {name!r}; known: {', '.join([*REGIMES, 'custom'])}",
        where="sdc.regime",
        hint=f"did you mean {close!r}?" if close else None,
    )


def midpoint6(x: float) -> int:
    """OpenSAFELY midpoint-6 rounding: ``ceiling(x/6)*6 - 3*(x != 0)``.

    >>> [midpoint6(v) for v in (0, 1, 6, 7, 12, 13)]
    [0, 3, 3, 9, 9, 15]
    """
    if x == 0:
        return 0
    return int(math.ceil(x / 6)) * 6 - 3


_COUNT_EXACT = frozenset({"n", "count", "events", "persons", "n_persons"})


def is_count_name(name: str) -> bool:
    """Whether a column or details key names a count of people or events (by convention).

    Counts are named ``n``, ``count``, ``events``, ``persons``, ``n_<...>``, ``count_<...>``,
    ``events_<...>`` or ``<...>_count``. Used for the data behind figures and for estimate
    details, whose count columns are not declared elsewhere.
    """
    name = name.lower()
    return (
        name in _COUNT_EXACT
        or name.startswith(("n_", "count_", "events_"))
        or name.endswith(("_count", "_events"))
    )


@dataclass(frozen=True)
class RateColumn:
    """A column derived from counts: ``numerator / denominator * per``, rounded to ``decimals``.

    The denominator may be a count column (then its rounded value is used) or another column
    (e.g. person-years, used as given). Use ``per=100`` for percentages, ``per=1000`` for rates
    per 1,000 person-years.
    """

    numerator: str
    denominator: str
    per: float = 1.0
    decimals: int = 1


@dataclass(frozen=True)
class RowTotal:
    """In every row, column ``total`` is the sum of columns ``parts``."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class ColumnTotal:
    """Rows where ``key == total_value`` hold the sum of the other rows of their ``by`` group.

    Applies to ``columns`` (default: every count column of the table).
    """

    key: str
    total_value: Any
    by: tuple[str, ...] = field(default_factory=tuple)
    columns: tuple[str, ...] | None = None


Margin = RowTotal | ColumnTotal
Cell = tuple[int, str]


def apply_sdc(
    df: pd.DataFrame,
    count_columns: Sequence[str],
    regime: DisclosureRegime,
    *,
    rate_columns: Mapping[str, RateColumn] | None = None,
    margins: Sequence[Margin] = (),
    midpoint6_for_rates: bool = False,
    table: str = "table",
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Apply primary suppression, secondary suppression and rounding to a table.

    Parameters
    ----------
    df
        The table (not modified).
    count_columns
        Columns holding counts of people or events.
    regime
        The disclosure regime.
    rate_columns
        Derived columns to (re)compute from the released counts: ``{column: RateColumn}``;
        the column is created if the table does not have it yet.
    margins
        Totals released in the same table (:class:`RowTotal`, :class:`ColumnTotal`), used for
        secondary suppression.
    midpoint6_for_rates
        Use midpoint-6 rounding for the count columns behind ``rate_columns`` (only in regimes
        that allow it); those columns get the suffix ``_midpoint6``.
    table
        Table name used in the log and in error messages.

    Returns
    -------
    safe_df : DataFrame
        A copy: count and rate columns hold numbers or the suppression label (object dtype);
        missing counts stay missing.
    log : list of dict
        One entry per column and action (``primary_suppression``, ``secondary_suppression``,
        ``rounded``, ``midpoint6``, ``rate_recomputed``, ``rate_suppressed``) with the number of
        cells; never a cell value.

    Raises
    ------
    DisclosureError
        A named column is missing, a count is negative or not a number, or midpoint-6 is asked
        for in a regime that does not allow it.

    Examples
    --------
    >>> t = pd.DataFrame({"arm": ["treated", "control"], "n": [4, 1234]})
    >>> safe, log = apply_sdc(t, ["n"], REGIMES["nhse_sde"])
    >>> safe["n"].tolist()
    ['<10', 1235]
    """
    rate_columns = dict(rate_columns or {})
    counts = list(dict.fromkeys(count_columns))
    missing = [c for c in counts if c not in df.columns]
    for rc in rate_columns.values():
        missing += [c for c in (rc.numerator, rc.denominator) if c not in df.columns]
    if missing:
        raise DisclosureError(
            f"columns named for disclosure control are missing: {sorted(set(missing))}",
            where=f"report.{table}",
        )
    mp6_cols: list[str] = []
    if midpoint6_for_rates:
        if not regime.midpoint6:
            raise DisclosureError(
                f"midpoint-6 rounding is not part of the {regime.name} regime",
                where=f"report.{table}",
                hint="use the 'opensafely' regime or drop midpoint6_for_rates",
            )
        for rc in rate_columns.values():
            for c in (rc.numerator, rc.denominator):
                if c in counts and c not in mp6_cols:
                    mp6_cols.append(c)
    sdc_cols = [c for c in counts if c not in mp6_cols]

    out = df.copy().reset_index(drop=True)
    values: dict[str, np.ndarray] = {}
    for c in counts:
        try:
            values[c] = pd.to_numeric(out[c], errors="raise").astype("float64").to_numpy()
        except (TypeError, ValueError) as exc:
            raise DisclosureError(
                f"count column {c!r} holds values that are not numbers",
                where=f"report.{table}",
                hint="apply disclosure control once, to the unrounded counts",
            ) from exc
    for c, v in values.items():
        if np.any(v[~np.isnan(v)] < 0):
            raise DisclosureError(f"negative counts in column {c!r}", where=f"report.{table}")

    log: list[dict[str, Any]] = []
    suppressed: set[Cell] = set()
    for c in sdc_cols:
        v = values[c]
        for i in range(len(v)):
            if not np.isnan(v[i]) and regime.is_small(v[i]):
                suppressed.add((i, c))
        n_primary = sum(1 for cell in suppressed if cell[1] == c)
        if n_primary:
            log.append(_entry(table, c, "primary_suppression", n_primary))

    equations = _equations(out, sdc_cols, margins, table)
    secondary = _secondary_suppression(equations, suppressed, values)
    for c in sdc_cols:
        n_sec = sum(1 for cell in secondary if cell[1] == c)
        if n_sec:
            log.append(_entry(table, c, "secondary_suppression", n_sec))
    suppressed |= secondary

    released: dict[str, list[Any]] = {}
    for c in sdc_cols:
        col: list[Any] = []
        n_rounded = 0
        for i, x in enumerate(values[c]):
            if (i, c) in suppressed:
                col.append(regime.label)
            elif np.isnan(x):
                col.append(None)
            else:
                col.append(regime.round_count(x))
                n_rounded += 1
        released[c] = col
        if n_rounded and regime.round_to > 1:
            log.append(_entry(table, c, "rounded", n_rounded))
    for c in mp6_cols:
        released[c] = [None if np.isnan(x) else midpoint6(x) for x in values[c]]
        log.append(_entry(table, c, "midpoint6", int(np.sum(~np.isnan(values[c])))))

    for name, rc in rate_columns.items():
        col = []
        n_sup = 0
        for i in range(len(out)):
            num = released[rc.numerator][i] if rc.numerator in released else out.at[i, rc.numerator]
            den = (
                released[rc.denominator][i]
                if rc.denominator in released
                else out.at[i, rc.denominator]
            )
            if isinstance(num, str) or isinstance(den, str):
                col.append(regime.label)
                n_sup += 1
            elif num is None or den is None or pd.isna(num) or pd.isna(den) or float(den) == 0:
                col.append(None)
            else:
                col.append(round(float(num) / float(den) * rc.per, rc.decimals))
        out[name] = pd.Series(col, dtype="object")
        log.append(_entry(table, name, "rate_recomputed", len(out) - n_sup))
        if n_sup:
            log.append(_entry(table, name, "rate_suppressed", n_sup))

    for c, col in released.items():
        out[c] = pd.Series(col, dtype="object")
    if mp6_cols:
        out = out.rename(columns={c: f"{c}_midpoint6" for c in mp6_cols})
    return out, log


def _entry(table: str, column: str, action: str, cells: int) -> dict[str, Any]:
    return {"table": table, "column": column, "action": action, "cells": int(cells)}


def _equations(
    df: pd.DataFrame, columns: Sequence[str], margins: Sequence[Margin], table: str
) -> list[tuple[Cell, list[Cell]]]:
    """Each released total as (total cell, part cells)."""
    eqs: list[tuple[Cell, list[Cell]]] = []
    cols = set(columns)
    for m in margins:
        if isinstance(m, RowTotal):
            if m.total not in cols or not set(m.parts) <= cols:
                raise DisclosureError(
                    f"a row total must be built from count columns: {m.total} = "
                    f"{' + '.join(m.parts)}",
                    where=f"report.{table}",
                )
            for i in range(len(df)):
                eqs.append(((i, m.total), [(i, p) for p in m.parts]))
        else:
            needed = [m.key, *m.by]
            absent = [c for c in needed if c not in df.columns]
            if absent:
                raise DisclosureError(
                    f"column total refers to missing columns {absent}", where=f"report.{table}"
                )
            groups = df.groupby(list(m.by), sort=False, dropna=False).indices if m.by else {
                (): np.arange(len(df))
            }
            for rows in groups.values():
                rows = sorted(int(r) for r in rows)
                totals = [r for r in rows if df.at[r, m.key] == m.total_value]
                parts = [r for r in rows if r not in totals]
                if len(totals) != 1:
                    continue
                for c in columns if m.columns is None else [c for c in m.columns if c in cols]:
                    eqs.append(((totals[0], c), [(r, c) for r in parts]))
    return eqs


def _secondary_suppression(
    equations: list[tuple[Cell, list[Cell]]],
    suppressed: set[Cell],
    values: Mapping[str, np.ndarray],
) -> set[Cell]:
    """Suppress further cells until no suppressed cell is determined by the released totals.

    Greedy: among the equations that contain a recoverable cell, hide the smallest released
    part (a total only when no part is left), then check again.
    """
    if not equations or not suppressed:
        return set()
    hidden = set(suppressed)
    added: set[Cell] = set()
    cells_in: dict[Cell, list[int]] = {}
    for k, (total, parts) in enumerate(equations):
        for cell in (total, *parts):
            cells_in.setdefault(cell, []).append(k)
    for _ in range(len(cells_in) + 1):
        exposed = _recoverable(equations, hidden, cells_in)
        if not exposed:
            return added
        candidates: set[tuple[int, float, int, str]] = set()
        for k in sorted({k for cell in exposed for k in cells_in[cell]}):
            total, parts = equations[k]
            for cell in (*parts, total):
                x = values[cell[1]][cell[0]]
                if cell in hidden or np.isnan(x):
                    continue
                candidates.add((1 if cell == total else 0, float(x), cell[0], cell[1]))
        if not candidates:
            return added  # every cell of these equations is hidden already
        _, _, row, col = min(candidates)
        hidden.add((row, col))
        added.add((row, col))
    return added


def _recoverable(
    equations: list[tuple[Cell, list[Cell]]], hidden: set[Cell], cells_in: Mapping[Cell, list[int]]
) -> list[Cell]:
    """Hidden cells whose values the released totals determine.

    The equations restricted to hidden cells form ``A x = b``; hidden cell ``i`` is determined
    exactly when the unit vector ``e_i`` lies in the row space of ``A``.
    """
    involved = sorted(c for c in hidden if c in cells_in)
    if not involved:
        return []
    index = {c: j for j, c in enumerate(involved)}
    rows = []
    for total, parts in equations:
        row = np.zeros(len(involved))
        if total in index:
            row[index[total]] = 1.0
        for p in parts:
            if p in index:
                row[index[p]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    a = np.vstack(rows)
    rank = np.linalg.matrix_rank(a)
    found = []
    for cell in involved:
        e = np.zeros(len(involved))
        e[index[cell]] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            found.append(cell)
    return found


def __getattr__(name: str) -> Any:
    # docs/dev/interfaces.md lists check_outputs under sdc.py; it lives in checks.py (which
    # imports this module), so it is re-exported lazily to avoid an import cycle.
    if name == "check_outputs":
        from impacteval.report.checks import check_outputs

        return check_outputs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
