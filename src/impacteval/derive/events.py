"""The long event table the cohort stage counts outcomes and prior utilisation from.

``derive_events`` returns one row per event with columns ``person_id, event, start_date,
end_date, nights`` (types in :data:`EVENT_SCHEMA`). Definitions (nhs_routine_data.md §1.3, §3.4):

``emergency_admission``
    A **continuous inpatient spell (CIPS) start** whose first spell's admission method is
    emergency, ``ADMIMETH`` in 21, 22, 23, 24, 25, 2A, 2D, 28. Counting CIPS starts (as the IAU
    does) means a patient moved between trusts is one admission even when the receiving trust
    codes the transfer as a new emergency admission; a CIPS that starts with a transfer in
    (2B, 81: its admission happened outside the extract) or a birth (2C) is not counted.
    ``start_date`` = admission date, ``end_date`` = discharge date of the CIPS (null while in
    hospital), ``nights`` = CIPS length of stay (null while in hospital).
``avoidable_emergency_admission``
    An emergency admission whose admission episode (first episode of the CIPS) meets one of the
    19 ACSC conditions (:mod:`impacteval.derive.acsc`). Same dates as the admission.
``elective_admission``
    A CIPS start with ``ADMIMETH`` in 11, 12, 13. Same date columns.
``bed_days``
    One row per **provider spell** belonging to an emergency or elective CIPS (so nights at a
    second trust after a transfer count): ``start_date`` = ``ADMIDATE``, ``end_date`` =
    ``DISDATE`` or ``data_cut`` if undischarged (capped at ``data_cut``), ``nights`` =
    ``end_date - start_date`` (0 for a same-day spell). The cohort stage truncates to windows
    and may drop zero-night spells.
``ae_attendance``
    A&E records that are unplanned (``AEATTENDCAT`` 1 or 3; null is not counted) and seen
    (``AEATTENDDISP`` not 12 or 13; null counts as seen). ``end_date``/``nights`` null.
``op_attendance``
    Outpatient appointments with ``ATTENDED`` 5 or 6. ``end_date``/``nights`` null.
``death``
    ``DOD`` from the deaths table (one row per person after linkage).

Events that start after ``data_cut`` are dropped. Only sum ``nights`` over ``bed_days`` rows:
the admission rows carry the length of stay for information.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from impacteval.derive._columns import in_codes, require_columns, with_optional_columns
from impacteval.derive.acsc import acsc_conditions
from impacteval.derive.spells import build_spells, with_cips_fields
from impacteval.exceptions import SchemaError

#: Output columns of :func:`derive_events` and their types.
EVENT_SCHEMA: dict[str, str] = {
    "person_id": "string",
    "event": "string",
    "start_date": "date",
    "end_date": "date",
    "nights": "int64",
}
#: Event names, in the order the cohort stage documents them.
EVENTS = (
    "emergency_admission",
    "avoidable_emergency_admission",
    "elective_admission",
    "ae_attendance",
    "op_attendance",
    "bed_days",
    "death",
)
#: New emergency admissions (2B/81 transfers in and 2C births excluded), nhs_routine_data §3.4.
EMERGENCY_ADMIMETH = ("21", "22", "23", "24", "25", "2A", "2D", "28")
ELECTIVE_ADMIMETH = ("11", "12", "13")
AE_UNPLANNED_ATTENDCAT = ("1", "3")
AE_NOT_SEEN_DISP = ("12", "13")
OP_ATTENDED = ("5", "6")

_TABLES = ("apc_episodes", "ae_attendances", "op_appointments", "deaths")


def _event_rows(
    table: ir.Table,
    name: str | ir.StringValue,
    start: ir.DateValue,
    end: ir.DateValue | None = None,
    nights: ir.IntegerValue | None = None,
) -> ir.Table:
    return table.select(
        person_id=table.person_id.cast("string"),
        event=(ibis.literal(name, type="string") if isinstance(name, str) else name.cast("string")),
        start_date=start.cast("date"),
        end_date=(end if end is not None else ibis.null()).cast("date"),
        nights=(nights if nights is not None else ibis.null()).cast("int64"),
    )


def admission_events(apc: ir.Table, *, data_cut: dt.date) -> ir.Table:
    """``emergency_admission``, ``avoidable_emergency_admission``, ``elective_admission`` and
    ``bed_days`` rows from the APC episode table (see the module docstring).

    The spell table is referenced once: each spell is paired with the four event kinds (a
    cross join with a 4-row table) and the pairs that apply are kept. Referencing it once per
    event kind would copy the whole spell-building plan into the query each time, which Spark's
    analyser does not survive.
    """
    episode_cols = [c for c in apc.columns if c.startswith(("DIAG_4_", "OPERTN_4_"))]
    if "DIAG_4_01" not in episode_cols:
        raise SchemaError(
            "missing column DIAG_4_01", where="apc_episodes",
            hint="avoidable admissions need the primary diagnosis",
        )
    # ACSC on candidate admission episodes: finished episodes with an emergency method (the
    # admission episode of an emergency CIPS is one of them)
    candidates = apc.filter(apc.EPISTAT == "3", in_codes(apc.ADMIMETH.cast("string"), EMERGENCY_ADMIMETH))
    acsc = acsc_conditions(candidates.select("EPIKEY", *episode_cols), "EPIKEY")
    acsc = acsc.select(_acsc_key=acsc.EPIKEY.cast("string")).distinct()

    sp = with_cips_fields(build_spells(apc))
    sp = sp.left_join(acsc, sp.CIPS_EPIKEY_ADM == acsc._acsc_key)
    emergency = in_codes(sp.CIPS_ADMIMETH, EMERGENCY_ADMIMETH)
    elective = in_codes(sp.CIPS_ADMIMETH, ELECTIVE_ADMIMETH)
    sp = sp.mutate(
        _emergency_start=sp.CIPS_START & emergency,
        _avoidable_start=sp.CIPS_START & emergency & sp._acsc_key.notnull(),
        _elective_start=sp.CIPS_START & elective,
        _in_admission=emergency | elective,
    )
    kinds = ibis.memtable(
        {"_kind": ["emergency_admission", "avoidable_emergency_admission", "elective_admission",
                   "bed_days"]}
    )
    pairs = sp.cross_join(kinds)
    keep = (
        ((pairs._kind == "emergency_admission") & pairs._emergency_start)
        | ((pairs._kind == "avoidable_emergency_admission") & pairs._avoidable_start)
        | ((pairs._kind == "elective_admission") & pairs._elective_start)
        | ((pairs._kind == "bed_days") & pairs._in_admission)
    )
    pairs = pairs.filter(keep)
    cut = ibis.literal(data_cut, type="date")
    is_beds = pairs._kind == "bed_days"
    bed_end = ibis.least(ibis.coalesce(pairs.DISDATE, cut), cut)
    start = ibis.ifelse(is_beds, pairs.ADMIDATE, pairs.CIPS_ADMIDATE)
    end = ibis.ifelse(is_beds, bed_end, pairs.CIPS_DISDATE)
    nights = end.delta(start, unit="day")
    # an admission still open at the cut has no discharge date and no length of stay
    nights = ibis.ifelse(is_beds | pairs.CIPS_DISDATE.notnull(), nights, ibis.null("int64"))
    return _event_rows(pairs, pairs._kind, start, end, nights)


def ae_events(ae: ir.Table) -> ir.Table:
    """``ae_attendance`` rows: unplanned (AEATTENDCAT 1/3) and seen (AEATTENDDISP not 12/13)."""
    require_columns(ae, ("person_id", "ARRIVALDATE"), where="ae_attendances")
    ae = with_optional_columns(ae, {"AEATTENDCAT": "string", "AEATTENDDISP": "string"})
    kept = ae.filter(
        in_codes(ae.AEATTENDCAT, AE_UNPLANNED_ATTENDCAT),
        ~in_codes(ae.AEATTENDDISP, AE_NOT_SEEN_DISP),
    )
    return _event_rows(kept, "ae_attendance", kept.ARRIVALDATE)


def op_events(op: ir.Table) -> ir.Table:
    """``op_attendance`` rows: ATTENDED 5 (seen on time) or 6 (late but seen)."""
    require_columns(op, ("person_id", "APPTDATE", "ATTENDED"), where="op_appointments")
    kept = op.filter(in_codes(op.ATTENDED, OP_ATTENDED))
    return _event_rows(kept, "op_attendance", kept.APPTDATE)


def death_events(deaths: ir.Table) -> ir.Table:
    """``death`` rows: one per person with a date of death."""
    require_columns(deaths, ("person_id", "DOD"), where="deaths")
    return _event_rows(deaths, "death", deaths.DOD)


def derive_events(tables: Mapping[str, ir.Table], *, data_cut: dt.date) -> ir.Table:
    """Long event table ``person_id, event, start_date, end_date, nights``.

    Parameters
    ----------
    tables
        Cleaned, linked contract tables; needs ``apc_episodes``, ``ae_attendances``,
        ``op_appointments`` and ``deaths`` (other keys are ignored).
    data_cut
        Last date covered by the extract: events starting later are dropped, and bed days of
        spells still open are counted up to it.

    Returns
    -------
    ibis.Table
        Columns and types of :data:`EVENT_SCHEMA`; ``event`` is one of :data:`EVENTS`.
        Definitions are in the module docstring.

    Raises
    ------
    SchemaError
        If a table or a column the definitions need is missing.
    """
    missing = [t for t in _TABLES if t not in tables]
    if missing:
        raise SchemaError(
            f"derive_events needs the table(s) {', '.join(missing)}",
            where="data",
            hint="pass every episode table from ingest/link",
        )
    events = ibis.union(
        admission_events(tables["apc_episodes"], data_cut=data_cut),
        ae_events(tables["ae_attendances"]),
        op_events(tables["op_appointments"]),
        death_events(tables["deaths"]),
        distinct=False,
    )
    events = events.filter(events.start_date.notnull(), events.start_date <= data_cut)
    return events.select(*(events[c].cast(t).name(c) for c, t in EVENT_SCHEMA.items()))
