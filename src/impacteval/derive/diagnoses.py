"""Long diagnosis table from the APC episode table."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from impacteval.derive._columns import require_columns

#: ICD-10 3-character prefixes treated as "no diagnosis" (R69X and the HES R69X3/6/8 variants:
#: unknown and unspecified causes of morbidity; nhs_routine_data.md §1.2).
UNKNOWN_DIAGNOSIS_PREFIXES = ("R69",)

#: Output columns of :func:`diagnoses` and their types.
DIAGNOSIS_SCHEMA: dict[str, str] = {"person_id": "string", "EPISTART": "date", "code": "string"}


def diagnosis_columns(apc: ir.Table) -> list[str]:
    """The ``DIAG_4_01`` .. ``DIAG_4_20`` columns present in ``apc``, in order."""
    return [f"DIAG_4_{i:02d}" for i in range(1, 21) if f"DIAG_4_{i:02d}" in apc.columns]


def diagnoses(apc: ir.Table) -> ir.Table:
    """One row per (person, episode start, distinct diagnosis code).

    Parameters
    ----------
    apc
        Cleaned ``apc_episodes`` table with ``person_id, EPISTART`` and any of
        ``DIAG_4_01..DIAG_4_20``. If ``EPISTAT`` is present only finished episodes (``"3"``)
        are used, as for spells.

    Returns
    -------
    ibis.Table
        ``person_id, EPISTART, code`` (codes upper-cased and stripped; nulls, empty strings and
        R69-type "unknown" codes dropped; duplicates within an episode date removed).

    Raises
    ------
    SchemaError
        If ``person_id``, ``EPISTART`` or every ``DIAG_4_xx`` column is missing.
    """
    require_columns(apc, ("person_id", "EPISTART"), where="apc_episodes")
    cols = diagnosis_columns(apc)
    if not cols:
        require_columns(apc, ("DIAG_4_01",), where="apc_episodes")
    t = apc.filter(apc.EPISTAT == "3") if "EPISTAT" in apc.columns else apc
    parts = [
        t.select(
            person_id=t.person_id.cast("string"),
            EPISTART=t.EPISTART.cast("date"),
            code=t[c].cast("string").strip().upper(),
        )
        for c in cols
    ]
    long = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    long = long.filter(
        long.code.notnull(),
        long.code != "",
        ~long.code.substr(0, 3).isin(UNKNOWN_DIAGNOSIS_PREFIXES),
    )
    return long.distinct()
