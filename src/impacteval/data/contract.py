"""The input data contract (DATA_CONTRACT.md §7.1-7.5 and the ``settings`` extension), as data.

Each table is a :class:`TableSchema` of :class:`ColumnSchema` records. The loader
(:mod:`impacteval.data.ingest`) reads these records; nothing about a column's rules lives in
the loader's code.

Column conventions
------------------
``required``
    the column must be present in the extract (after ``data.rename``).
``nullable``
    a null left after sentinel mapping and imputation is allowed. ``False`` means the row is
    rejected and counted (``rows_rejected:missing:<COLUMN>``). Required columns default to
    not nullable, except where the contract maps a sentinel of that column to null
    (``EPIORDER``, ``CLASSPAT``, ``ADMIMETH``, ``ATTENDED``): an unknown code does not lose an
    episode. ``PROCODE3`` in ``apc_episodes`` stays not nullable because spell building groups
    on it (nhs_routine_data.md §1.3, HF pipeline keeps only episodes with a provider).
``sentinels``
    ``(raw text, replacement)`` pairs: the raw value (compared after the value is typed) is
    replaced by ``replacement`` (``None`` = null) and counted as ``values_fixed:<col>:sentinel``
    (``...:infant_age`` for ``STARTAGE`` 7001-7007 -> 0).
``allowed`` / ``regex`` / ``min_value`` / ``max_value``
    closed code set, full-match pattern, inclusive range; checked after sentinel mapping; a
    non-null value that breaks them is a :class:`~impacteval.exceptions.SchemaError` that gives
    the count and the allowed set, never the values found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

DType = Literal["string", "date", "int", "bool"]

#: HES date sentinels: 1800-01-01 null, 1801-01-01 invalid, 1600-01-01 and 1582-10-15 seen in
#: extracts (nhs_routine_data.md §1.2, HF HES_pipeline [S1]).
DATE_SENTINELS: tuple[str, ...] = ("1800-01-01", "1801-01-01", "1600-01-01", "1582-10-15")

ICD10_4 = r"^[A-Z]\d{2}[0-9X]$"
ICD10_DEATH = r"^[A-Z]\d{2}[0-9X]?$"
OPCS4 = r"^[A-Z]\d{2}[0-9]$"
ORG3 = r"^[A-Z0-9]{3}$"


@dataclass(frozen=True, kw_only=True)
class ColumnSchema:
    """One column of the contract.

    Parameters
    ----------
    name
        Contract column name (HES style, or ``person_id``).
    dtype
        ``string``, ``date``, ``int`` or ``bool``. Codes are always strings.
    required
        The column must be present.
    nullable
        Nulls allowed after cleaning; ``None`` means ``not required``.
    allowed
        Closed set of allowed codes (strings), or ``None``.
    regex
        Full-match pattern for string values, or ``None``.
    sentinels
        ``(raw text, replacement or None)`` pairs mapped before checking codes.
    min_value, max_value
        Inclusive range for ``int`` columns.
    unique
        Values must be unique within the table (a duplicate is a ``SchemaError``).
    description
        Meaning, for error hints and docs.
    """

    name: str
    dtype: DType
    required: bool = False
    nullable: bool | None = None
    allowed: frozenset[str] | None = None
    regex: str | None = None
    sentinels: tuple[tuple[str, str | None], ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    unique: bool = False
    description: str = ""

    @property
    def allows_null(self) -> bool:
        """Whether a null left after cleaning keeps the row."""
        return (not self.required) if self.nullable is None else self.nullable

    @property
    def has_value_rules(self) -> bool:
        """Whether any code set, pattern or range applies."""
        return (self.allowed is not None or self.regex is not None
                or self.min_value is not None or self.max_value is not None)

    @property
    def sentinel_kind(self) -> str:
        """Label of the fix in the ingest report (``sentinel`` or ``infant_age``)."""
        return "infant_age" if self.name == "STARTAGE" else "sentinel"

    def describe_rule(self) -> str:
        """Human-readable statement of the allowed values (used in error messages)."""
        parts: list[str] = []
        if self.allowed is not None:
            parts.append("allowed codes: " + ", ".join(sorted(self.allowed)))
        if self.regex is not None:
            parts.append(f"format {self.regex}")
        if self.min_value is not None or self.max_value is not None:
            parts.append(f"range {self.min_value}..{self.max_value}")
        return "; ".join(parts) if parts else "any value"


@dataclass(frozen=True, kw_only=True)
class TableSchema:
    """One table of the contract.

    Parameters
    ----------
    name
        Table name (a key of ``DataSpec``).
    columns
        Its columns, in contract order.
    event_date
        Column that dates an event (for ``data_cut`` and events-after-death), or ``None``.
    """

    name: str
    columns: tuple[ColumnSchema, ...]
    event_date: str | None = None
    _index: dict[str, ColumnSchema] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: c for c in self.columns})

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name`` (``KeyError`` if the contract has none)."""
        return self._index[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def key(self) -> str | None:
        """The unique key column, if any."""
        keys = [c.name for c in self.columns if c.unique]
        return keys[0] if keys else None


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _null(*raw: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((r, None) for r in raw)


def _col(name: str, dtype: DType, **rules: object) -> ColumnSchema:
    if dtype == "date" and "sentinels" not in rules:
        rules["sentinels"] = _null(*DATE_SENTINELS)
    return ColumnSchema(name=name, dtype=dtype, **rules)  # type: ignore[arg-type]


def _numbered(prefix: str, n: int, **rules: object) -> Iterable[ColumnSchema]:
    return (_col(f"{prefix}{i:02d}", "string", **rules) for i in range(1, n + 1))


PERSON_ID = _col("person_id", "string", required=True, description="pseudonymised person key")

PERSONS = TableSchema(
    name="persons",
    columns=(
        _col("person_id", "string", required=True, unique=True,
             description="pseudonymised person key, one row per person"),
        _col("MYDOB", "string", required=True, regex=r"^(0[1-9]|1[0-2])\d{4}$",
             description="month and year of birth MMYYYY"),
        _col("SEX", "string", required=True, allowed=_codes("1 2 9 0")),
        _col("ETHNOS", "string", allowed=_codes("A B C D E F G H J K L M N P R S Z 99"),
             description="2001-census ethnic category; Z not stated and 99 not known are codes"),
        _col("LSOA11", "string", regex=r"^E01\d{6}$", sentinels=_null("Z99999999")),
        _col("IMD19_DECILE", "int", min_value=1, max_value=10),
        _col("GPPRAC", "string", regex=r"^[A-Z]\d{5}$", sentinels=_null("V81997", "V81998", "V81999")),
        _col("CCG_CODE", "string", regex=ORG3),
        _col("REG_START", "date"),
        _col("REG_END", "date", description="null = still registered"),
    ),
)

APC_EPISODES = TableSchema(
    name="apc_episodes",
    event_date="EPISTART",
    columns=(
        _col("EPIKEY", "string", required=True, unique=True),
        PERSON_ID,
        _col("PROCODE3", "string", required=True, regex=ORG3, sentinels=_null("89997", "89999")),
        _col("ADMIDATE", "date", description="imputed from EPISTART if null (§1.3)"),
        _col("EPISTART", "date", required=True),
        _col("EPIEND", "date", description="null if unfinished"),
        _col("DISDATE", "date"),
        _col("EPIORDER", "int", required=True, nullable=True, min_value=1, max_value=97,
             sentinels=_null("98", "99")),
        _col("EPISTAT", "string", required=True, allowed=_codes("1 3 9")),
        _col("CLASSPAT", "string", required=True, nullable=True, allowed=_codes("1 2 3 4 5"),
             sentinels=_null("8", "9")),
        _col("ADMIMETH", "string", required=True, nullable=True,
             allowed=_codes("11 12 13 21 22 23 24 25 2A 2B 2C 2D 28 31 32 81 82 83"),
             sentinels=_null("98", "99")),
        _col("ADMISORC", "string",
             allowed=_codes("19 29 37 38 39 40 41 42 49 50 51 52 53 54 65 66 79 85 87 88"),
             sentinels=_null("98", "99")),
        _col("DISMETH", "string", allowed=_codes("1 2 3 4 5 8"), sentinels=_null("9")),
        _col("DISDEST", "string",
             allowed=_codes("19 29 30 37 38 48 49 50 51 52 53 54 65 66 79 84 85 87 88 98"),
             sentinels=_null("99")),
        _col("STARTAGE", "int", min_value=0, max_value=120,
             sentinels=tuple((str(v), "0") for v in range(7001, 7008))),
        # '&' = not known in HES specialty fields (nhs_routine_data.md: mem, HES dictionary).
        _col("MAINSPEF", "string", regex=ORG3, sentinels=_null("&")),
        _col("TRETSPEF", "string", regex=ORG3, sentinels=_null("&")),
        *_numbered("DIAG_4_", 20, regex=ICD10_4),
        # '-' = no procedure (contract); X997/X998/X999 missing / n.a. (§1.2, HF pipeline [S1]).
        *_numbered("OPERTN_4_", 24, regex=OPCS4, sentinels=_null("-", "X997", "X998", "X999")),
        # The contract says 5-char site; trust-level 3-char codes are accepted too.
        _col("SITETRET", "string", regex=r"^[A-Z0-9]{3}([A-Z0-9]{2})?$"),
    ),
)

AE_ATTENDANCES = TableSchema(
    name="ae_attendances",
    event_date="ARRIVALDATE",
    columns=(
        _col("AEKEY", "string", required=True, unique=True),
        PERSON_ID,
        _col("PROCODE3", "string", required=True, regex=ORG3),
        _col("ARRIVALDATE", "date", required=True),
        _col("ARRIVALTIME", "string", regex=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM"),
        _col("AEDEPTTYPE", "string", allowed=_codes("01 02 03 04 05")),
        _col("AEATTENDCAT", "string", allowed=_codes("1 2 3")),
        _col("AEARRIVALMODE", "string", allowed=_codes("1 2")),
        # 99 = not known (NHS DD A&E attendance disposal, nhs_routine_data.md §1.5, mem).
        _col("AEATTENDDISP", "string", allowed=_codes("01 02 03 04 05 06 07 10 11 12 13 14"),
             sentinels=_null("99")),
        _col("DEP_MINUTES", "int", min_value=0, max_value=4320),
        _col("ADMITTED_FLAG", "bool"),
        _col("DIAG_01", "string"),
    ),
)

OP_APPOINTMENTS = TableSchema(
    name="op_appointments",
    event_date="APPTDATE",
    columns=(
        _col("ATTENDKEY", "string", required=True, unique=True),
        PERSON_ID,
        _col("PROCODE3", "string", required=True, regex=ORG3),
        _col("APPTDATE", "date", required=True),
        _col("ATTENDED", "string", required=True, nullable=True, allowed=_codes("0 2 3 4 5 6 7"),
             sentinels=_null("9")),
        _col("FIRSTATT", "string", allowed=_codes("1 2 3 4 5"), sentinels=_null("9", "X")),
        _col("TRETSPEF", "string", regex=ORG3, sentinels=_null("&")),
        _col("OUTCOME", "string", allowed=_codes("1 2 3 4 5")),
        _col("PRIORITY", "string", allowed=_codes("1 2 3"), sentinels=_null("9")),
        _col("CONSMED", "string", allowed=_codes("01 02 03 04 05 09 10 11 98")),
    ),
)

DEATHS = TableSchema(
    name="deaths",
    event_date="DOD",
    columns=(
        _col("person_id", "string", required=True,
             description="one row per person after linkage (latest registration kept)"),
        _col("DOD", "date", required=True, description="filled from DOR if null"),
        _col("DOR", "date"),
        _col("CAUSE_OF_DEATH", "string", regex=ICD10_DEATH),
        *_numbered("CAUSE_OF_DEATH_", 15, regex=ICD10_DEATH),
        _col("POD_TYPE", "string", allowed=_codes("hospital care_home hospice home other")),
    ),
)

SETTINGS = TableSchema(
    name="settings",
    columns=(
        PERSON_ID,
        _col("SETTING_ID", "string", required=True, description="e.g. CQC location id"),
        _col("SETTING_TYPE", "string", required=True, allowed=_codes("residential nursing")),
        _col("SETTING_BEDS", "int", min_value=0, max_value=2000),
        _col("SETTING_RURAL", "string", allowed=_codes("urban rural")),
        _col("START_DATE", "date", required=True),
        _col("END_DATE", "date"),
    ),
)

#: The contract, by table name (the five episode tables, then ``settings``).
CONTRACT: dict[str, TableSchema] = {
    s.name: s for s in (PERSONS, APC_EPISODES, AE_ATTENDANCES, OP_APPOINTMENTS, DEATHS, SETTINGS)
}

#: Pairs of date columns that must be ordered (start <= end) within a row; a violation is a
#: :class:`~impacteval.exceptions.SchemaError` (an impossible record, not a fixable quirk).
IMPOSSIBLE_DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "persons": (("REG_START", "REG_END"),),
    "settings": (("START_DATE", "END_DATE"),),
}

#: Pairs that should be ordered but are kept and counted (``rows_kept_flagged:<a>_after_<b>``).
FLAGGED_DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "apc_episodes": (("ADMIDATE", "EPISTART"), ("ADMIDATE", "DISDATE")),
    "deaths": (("DOD", "DOR"),),
}


def parse_sentinel(raw: str, dtype: DType) -> object:
    """Typed value of a sentinel's raw text (``'1800-01-01'`` -> ``date``; ``'98'`` -> 98)."""
    if dtype == "date":
        return dt.date.fromisoformat(raw)
    if dtype == "int":
        return int(raw)
    return raw
