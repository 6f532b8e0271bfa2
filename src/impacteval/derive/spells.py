"""Episodes -> provider spells -> continuous inpatient spells (CIPS).

The rules follow the Health Foundation ``HES_pipeline`` (MIT) as summarised in
``shared/reference/nhs_routine_data.md`` section 1.4:

* **Provider spell.** Finished episodes (``EPISTAT == "3"``) are grouped by
  ``(person_id, PROCODE3)`` and ordered by ``EPISTART, EPIEND, EPIORDER, TRANSIT, EPIKEY``. An
  episode continues the previous episode's spell if it has the same admission date, or the
  same ``EPISTART``, or the previous episode ended without discharge (``DISMETH`` 8 or 9) on
  the day this one starts. Anything else starts a new spell.
* **CIPS.** A person's spells, ordered by ``EPISTART, EPIEND, PROCODE3, SPELL_ID``, chain into one
  continuous inpatient spell when the spell starts no more than 3 days after the previous
  spell's ``EPIEND`` and there is a transfer marker: previous ``DISDEST`` in 51/52/53, or this
  spell's ``ADMISORC`` in 51/52/53, or its ``ADMIMETH`` in 2B/81.

Everything is an Ibis expression built from window functions and equi-joins only, so the same
code runs on DuckDB and PySpark (no ASOF joins, no ordered array aggregation). Identifiers are
strings built from ``person_id``, ``PROCODE3`` and a 1-based counter, identical on every engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from impacteval.derive._columns import in_codes, require_columns, with_optional_columns

#: ADMISORC / DISDEST codes for a transfer from / to another NHS provider (nhs_routine_data §1.4).
TRANSFER_SOURCE_DEST = ("51", "52", "53")
#: ADMIMETH codes of an admission by transfer (2B emergency transfer, 81 non-emergency transfer).
TRANSFER_ADMIMETH = ("2B", "81")
#: DISMETH of an episode that ended without discharge (8 not applicable; 9 unknown, which the
#: ingest stage maps to null, so a null DISMETH counts as 9 here).
NOT_DISCHARGED_DISMETH = ("8", "9")
#: DISMETH codes of a real discharge (clinical advice, self, tribunal, died, stillbirth).
DISCHARGED_DISMETH = ("1", "2", "3", "4", "5")
#: Maximum gap in days between spells of one CIPS.
CIPS_MAX_GAP_DAYS = 3
#: Order of a person's spells when chaining them into CIPS.
_SPELL_ORDER = ("EPISTART", "EPIEND", "PROCODE3", "SPELL_ID")

_REQUIRED = ("person_id", "EPIKEY", "PROCODE3", "EPISTART", "EPIEND", "EPISTAT")
_OPTIONAL = {
    "ADMIDATE": "date",
    "DISDATE": "date",
    "EPIORDER": "int64",
    "ADMIMETH": "string",
    "ADMISORC": "string",
    "CLASSPAT": "string",
    "DISMETH": "string",
    "DISDEST": "string",
    "DIAG_4_01": "string",
}

#: Output columns of :func:`build_spells`, in order, with their declared types.
SPELL_SCHEMA: dict[str, str] = {
    "person_id": "string",
    "SPELL_ID": "string",
    "CIPS_ID": "string",
    "PROCODE3": "string",
    "ADMIDATE": "date",
    "DISDATE": "date",
    "EPISTART": "date",
    "EPIEND": "date",
    "ADMIMETH": "string",
    "ADMISORC": "string",
    "CLASSPAT": "string",
    "DISMETH": "string",
    "DISDEST": "string",
    "DIAG_4_01": "string",
    "TRANSIT": "int64",
    "EPI_COUNT": "int64",
    "EPIKEY_ADM": "string",
    "EPIKEY_DIS": "string",
    "los_nights": "int64",
}


def _transit(admitted_by_transfer: ir.BooleanValue, discharged_by_transfer: ir.BooleanValue) -> ir.IntegerValue:
    """HF ``TRANSIT``: 0 none, 1 discharged by transfer, 2 both, 3 admitted by transfer."""
    return (
        ibis.cases(
            (admitted_by_transfer & discharged_by_transfer, 2),
            (discharged_by_transfer, 1),
            (admitted_by_transfer, 3),
            else_=0,
        )
        .cast("int64")
    )


def prepare_episodes(apc: ir.Table) -> ir.Table:
    """Finished episodes with ``ADMIDATE_FILLED`` and ``TRANSIT`` added.

    Parameters
    ----------
    apc
        Cleaned ``apc_episodes`` contract table.

    Returns
    -------
    ibis.Table
        Episodes with ``EPISTAT == "3"`` and non-null ``person_id``, ``PROCODE3``, ``EPIKEY``,
        ``EPISTART``; plus ``ADMIDATE_FILLED`` (``ADMIDATE``, else ``EPISTART`` when the episode is
        the first of its spell and not a transfer in, nhs_routine_data §1.3) and ``TRANSIT``.
    """
    require_columns(apc, _REQUIRED, where="apc_episodes")
    t = with_optional_columns(apc, _OPTIONAL)
    # declare types (an empty or all-null input column may arrive untyped)
    t = t.mutate(
        **{c: t[c].cast("string") for c in ("person_id", "EPIKEY", "PROCODE3", "EPISTAT")},
        **{c: t[c].cast("date") for c in ("EPISTART", "EPIEND")},
        **{c: t[c].cast(dtype) for c, dtype in _OPTIONAL.items()},
    )
    t = t.filter(
        (t.EPISTAT == "3"),
        t.person_id.notnull(),
        t.PROCODE3.notnull(),
        t.EPIKEY.notnull(),
        t.EPISTART.notnull(),
    )
    admitted_by_transfer = in_codes(t.ADMISORC, TRANSFER_SOURCE_DEST) | in_codes(
        t.ADMIMETH, TRANSFER_ADMIMETH
    )
    discharged_by_transfer = in_codes(t.DISDEST, TRANSFER_SOURCE_DEST)
    impute = t.ADMIDATE.isnull() & (t.EPIORDER == 1).fill_null(False) & ~admitted_by_transfer
    return t.mutate(
        ADMIDATE_FILLED=ibis.ifelse(impute, t.EPISTART, t.ADMIDATE),
        TRANSIT=_transit(admitted_by_transfer, discharged_by_transfer),
    )


def _episode_order(desc: bool = False) -> list[ir.Value]:
    keys = ["EPISTART", "EPIEND", "EPIORDER", "TRANSIT", "EPIKEY"]
    if desc:
        return [ibis.desc(k, nulls_first=True) for k in keys]
    return [ibis.asc(k, nulls_first=False) for k in keys]


def assign_spells(episodes: ir.Table) -> ir.Table:
    """Add ``SPELL_ID`` to each episode of :func:`prepare_episodes` (one spell per episode group).

    ``SPELL_ID`` is ``person_id || '-' || PROCODE3 || '-' || n`` where ``n`` counts the spells of
    that person at that provider from 1 in episode order.
    """
    w = ibis.window(group_by=["person_id", "PROCODE3"], order_by=_episode_order())
    e = episodes
    prev_adm = e.ADMIDATE_FILLED.lag().over(w)
    prev_start = e.EPISTART.lag().over(w)
    prev_end = e.EPIEND.lag().over(w)
    prev_dismeth = e.DISMETH.lag().over(w)
    prev_exists = e.EPIKEY.lag().over(w).notnull()
    prev_not_discharged = in_codes(prev_dismeth, NOT_DISCHARGED_DISMETH) | (
        prev_dismeth.isnull() & prev_exists
    )
    continues = (
        (e.ADMIDATE_FILLED == prev_adm).fill_null(False)
        | (e.EPISTART == prev_start).fill_null(False)
        | (prev_not_discharged & (e.EPISTART == prev_end).fill_null(False))
    )
    flagged = e.mutate(_new_spell=ibis.ifelse(continues, 0, 1).cast("int64"))
    cw = ibis.cumulative_window(group_by=["person_id", "PROCODE3"], order_by=_episode_order())
    numbered = flagged.mutate(_spell_no=flagged._new_spell.sum().over(cw).cast("int64"))
    return numbered.mutate(
        SPELL_ID=numbered.person_id.concat("-", numbered.PROCODE3, "-", numbered._spell_no.cast("string"))
    ).drop("_new_spell", "_spell_no")


def _value_on_row(value: ir.Value, flag: ir.BooleanValue, window: ibis.Window) -> ir.Value:
    """The value on the one row of ``window`` where ``flag`` holds, broadcast to every row.

    A conditional ``max`` over the partition: plain window aggregates, identical on every
    engine, and no self-join (a join of a table to itself doubles the query plan on Spark).
    """
    return ibis.ifelse(flag, value, ibis.null(value.type())).max().over(window)


def _collapse(episodes: ir.Table) -> ir.Table:
    """One row per SPELL_ID: admission side from the first episode, discharge side from the last."""
    w_first = ibis.window(group_by="SPELL_ID", order_by=_episode_order())
    w_last = ibis.window(group_by="SPELL_ID", order_by=_episode_order(desc=True))
    ranked = episodes.mutate(
        _rn_first=ibis.row_number().over(w_first),
        _rn_last=ibis.row_number().over(w_last),
    )
    w = ibis.window(group_by="SPELL_ID")
    is_last = ranked._rn_last == 0
    discharged = in_codes(ranked.DISMETH, DISCHARGED_DISMETH)
    # a discharge episode that lacks DISDATE but records a discharge method ends on EPIEND
    disdate = ibis.coalesce(ranked.DISDATE, ibis.ifelse(discharged, ranked.EPIEND, ibis.null("date")))
    spread = ranked.mutate(
        _DISDATE=_value_on_row(disdate, is_last, w),
        _EPIEND=_value_on_row(ranked.EPIEND, is_last, w),
        _DISMETH=_value_on_row(ranked.DISMETH, is_last, w),
        _DISDEST=_value_on_row(ranked.DISDEST, is_last, w),
        _EPIKEY_DIS=_value_on_row(ranked.EPIKEY, is_last, w),
        _EPI_COUNT=ranked.EPIKEY.count().over(w),
    )
    first = spread.filter(spread._rn_first == 0)
    adm_transfer = first.TRANSIT >= 2
    dis_transfer = in_codes(first._DISDEST, TRANSFER_SOURCE_DEST)
    admidate = ibis.coalesce(first.ADMIDATE_FILLED, first.EPISTART)
    return first.select(
        "person_id",
        "SPELL_ID",
        "PROCODE3",
        ADMIDATE=admidate,
        EPISTART=first.EPISTART,
        ADMIMETH=first.ADMIMETH,
        ADMISORC=first.ADMISORC,
        CLASSPAT=first.CLASSPAT,
        DIAG_4_01=first.DIAG_4_01,
        EPIKEY_ADM=first.EPIKEY,
        EPI_COUNT=first._EPI_COUNT.cast("int64"),
        DISDATE=first._DISDATE,
        EPIEND=first._EPIEND,
        DISMETH=first._DISMETH,
        DISDEST=first._DISDEST,
        EPIKEY_DIS=first._EPIKEY_DIS,
        TRANSIT=_transit(adm_transfer, dis_transfer),
        los_nights=first._DISDATE.delta(admidate, unit="day").cast("int64"),
    )


def assign_cips(spells: ir.Table) -> ir.Table:
    """Add ``CIPS_ID`` to a spell table (``person_id || '-C' || n``, n from 1 per person).

    Parameters
    ----------
    spells
        Spell table with ``person_id, SPELL_ID, PROCODE3, EPISTART, EPIEND, ADMIMETH, ADMISORC,
        DISDEST``.
    """
    order = [ibis.asc(k, nulls_first=False) for k in _SPELL_ORDER]
    w = ibis.window(group_by="person_id", order_by=order)
    s = spells
    prev_end = s.EPIEND.lag().over(w)
    prev_dest = s.DISDEST.lag().over(w)
    close = (s.EPISTART.delta(prev_end, unit="day") <= CIPS_MAX_GAP_DAYS).fill_null(False)
    transfer = (
        in_codes(prev_dest, TRANSFER_SOURCE_DEST)
        | in_codes(s.ADMISORC, TRANSFER_SOURCE_DEST)
        | in_codes(s.ADMIMETH, TRANSFER_ADMIMETH)
    )
    flagged = s.mutate(_new_cips=ibis.ifelse(close & transfer, 0, 1).cast("int64"))
    cw = ibis.cumulative_window(group_by="person_id", order_by=order)
    numbered = flagged.mutate(_cips_no=flagged._new_cips.sum().over(cw).cast("int64"))
    return numbered.mutate(
        CIPS_ID=numbered.person_id.concat("-C", numbered._cips_no.cast("string"))
    ).drop("_new_cips", "_cips_no")


def build_spells(apc: ir.Table) -> ir.Table:
    """Provider spells with their continuous inpatient spell (CIPS) id.

    Parameters
    ----------
    apc
        Cleaned ``apc_episodes`` contract table (codes as strings, dates as date, sentinels null).
        ``ADMIDATE`` may be null: it is imputed from ``EPISTART`` for a first, non-transfer
        episode; a spell whose first episode still has no admission date takes its ``EPISTART``.

    Returns
    -------
    ibis.Table
        One row per provider spell with the columns of :data:`SPELL_SCHEMA`:
        admission-side fields (``ADMIDATE, EPISTART, ADMIMETH, ADMISORC, CLASSPAT, DIAG_4_01,
        EPIKEY_ADM``) from the first episode, discharge-side fields (``DISDATE, EPIEND, DISMETH,
        DISDEST, EPIKEY_DIS``) from the last; ``EPI_COUNT`` episodes in the spell; ``TRANSIT``
        (0 none, 1 discharged by transfer, 2 both, 3 admitted by transfer); ``los_nights`` =
        ``DISDATE - ADMIDATE`` in days, null while undischarged.

    Examples
    --------
    >>> spells = build_spells(tables["apc_episodes"])  # doctest: +SKIP
    >>> spells.group_by("CIPS_ID").aggregate(n=spells.count())  # doctest: +SKIP
    """
    episodes = assign_spells(prepare_episodes(apc))
    spells = assign_cips(_collapse(episodes))
    return spells.select(*(spells[c].cast(t).name(c) for c, t in SPELL_SCHEMA.items()))


def with_cips_fields(spells: ir.Table) -> ir.Table:
    """Add CIPS-level fields to every spell of :func:`build_spells` (window functions only).

    Adds ``CIPS_START`` (bool: first spell of its CIPS), ``CIPS_ADMIDATE``, ``CIPS_ADMIMETH``,
    ``CIPS_EPIKEY_ADM`` (from the first spell), ``CIPS_DISDATE`` (``DISDATE`` of the last spell,
    null if that spell is undischarged) and ``SPELL_COUNT``.
    """
    asc = [ibis.asc(k, nulls_first=False) for k in _SPELL_ORDER]
    desc = [ibis.desc(k, nulls_first=True) for k in _SPELL_ORDER]
    ranked = spells.mutate(
        _rn_first=ibis.row_number().over(ibis.window(group_by="CIPS_ID", order_by=asc)),
        _rn_last=ibis.row_number().over(ibis.window(group_by="CIPS_ID", order_by=desc)),
    )
    w = ibis.window(group_by="CIPS_ID")
    first, last = ranked._rn_first == 0, ranked._rn_last == 0
    out = ranked.mutate(
        CIPS_START=first,
        CIPS_ADMIDATE=_value_on_row(ranked.ADMIDATE, first, w),
        CIPS_ADMIMETH=_value_on_row(ranked.ADMIMETH, first, w),
        CIPS_EPIKEY_ADM=_value_on_row(ranked.EPIKEY_ADM, first, w),
        CIPS_DISDATE=_value_on_row(ranked.DISDATE, last, w),
        SPELL_COUNT=ranked.SPELL_ID.count().over(w).cast("int64"),
    )
    return out.drop("_rn_first", "_rn_last")


def build_cips(spells: ir.Table) -> ir.Table:
    """One row per continuous inpatient spell, from the output of :func:`build_spells`.

    Returns
    -------
    ibis.Table
        ``person_id, CIPS_ID, ADMIDATE, DISDATE, ADMIMETH, ADMISORC, CLASSPAT, DIAG_4_01,
        EPIKEY_ADM, SPELL_COUNT, los_nights``: admission side from the first spell, ``DISDATE``
        from the last spell (null if that spell is undischarged).
    """
    c = with_cips_fields(spells)
    c = c.filter(c.CIPS_START)
    return c.select(
        "person_id", "CIPS_ID", "ADMIDATE",
        DISDATE=c.CIPS_DISDATE,
        ADMIMETH=c.ADMIMETH, ADMISORC=c.ADMISORC, CLASSPAT=c.CLASSPAT, DIAG_4_01=c.DIAG_4_01,
        EPIKEY_ADM=c.EPIKEY_ADM, SPELL_COUNT=c.SPELL_COUNT,
        los_nights=c.CIPS_DISDATE.delta(c.ADMIDATE, unit="day").cast("int64"),
    )
