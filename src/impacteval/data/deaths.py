"""One death record per person: the rule shared by ingest (events after death) and linkage."""

from __future__ import annotations

import ibis


def latest_registration(deaths: ibis.Table) -> ibis.Table:
    """Keep one row per ``person_id``: the latest registration (``DOR``), then the latest ``DOD``.

    ONS can hold several registrations for one person (amended or duplicate records); SDE
    pipelines keep the latest registration (nhs_routine_data.md §1.7 [S18]). Remaining ties are
    broken on every other column so the choice is deterministic on any engine.

    Parameters
    ----------
    deaths
        A ``deaths`` table with at least ``person_id`` and ``DOD`` (``DOR`` optional).

    Returns
    -------
    ibis.Table
        Same columns, one row per ``person_id`` (rows with a null ``person_id`` are dropped).
    """
    deaths = deaths.filter(deaths.person_id.notnull())
    order: list[ibis.Value] = []
    if "DOR" in deaths.columns:
        order.append(ibis.desc(deaths.DOR, nulls_first=False))
    order.append(ibis.desc(deaths.DOD, nulls_first=False))
    order += [ibis.asc(deaths[c], nulls_first=False) for c in deaths.columns
              if c not in ("person_id", "DOR", "DOD")]
    window = ibis.window(group_by=deaths.person_id, order_by=order)
    ranked = deaths.mutate(_death_rank=ibis.row_number().over(window))
    return ranked.filter(ranked._death_rank == 0).drop("_death_rank")
