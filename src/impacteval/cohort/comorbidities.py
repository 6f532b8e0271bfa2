"""Charlson index, frailty syndromes and HFRS from diagnoses in the look-back before index."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from impacteval.derive.comorbidity import charlson, frailty_syndromes, hfrs

SCORES = ("charlson", "frailty_syndromes", "hfrs")


def lookback_diagnoses(diagnoses: ir.Table, cohort: ir.Table, lookback_days: int) -> ir.Table:
    """Diagnoses recorded in ``[index - lookback_days, index)`` (episode start before index).

    Returns ``person_id, EPISTART, code`` for persons in ``cohort`` (which needs
    ``person_id, index_date``).
    """
    people = cohort.select(_dx_person="person_id", _dx_index="index_date")
    joined = diagnoses.join(
        people,
        [
            diagnoses.person_id == people._dx_person,
            diagnoses.EPISTART >= people._dx_index - ibis.interval(days=lookback_days),
            diagnoses.EPISTART < people._dx_index,
        ],
    )
    return joined.select("person_id", "EPISTART", "code")


def comorbidity_scores(diagnoses: ir.Table, cohort: ir.Table, lookback_days: int) -> ir.Table:
    """``charlson``, ``frailty_syndromes`` and ``hfrs`` per person of ``cohort``.

    Each score is computed by :mod:`impacteval.derive.comorbidity` over the look-back diagnoses
    with ``person_id`` as the key: Charlson with the 1987 weights, frailty syndromes with the
    six IAU categories, HFRS (computed at every age; Gilbert et al. validated it from 75).
    Persons with no diagnosis in the look-back are absent from the result (the caller fills
    them with 0).

    Returns
    -------
    ibis.Table
        ``person_id, charlson, frailty_syndromes, hfrs`` (one row per person with any
        look-back diagnosis).
    """
    dx = lookback_diagnoses(diagnoses, cohort, lookback_days)
    scored_tables = {
        "charlson": charlson(dx, "person_id", weights="charlson_1987"),
        "frailty_syndromes": frailty_syndromes(dx, "person_id", categories="iau6"),
        "hfrs": hfrs(dx, "person_id"),
    }
    out = dx.select("person_id").distinct()
    for name in SCORES:
        scored = scored_tables[name]
        scored = scored.select(_sc_person=scored.person_id, **{f"_sc_{name}": scored[name]})
        out = out.left_join(scored, out.person_id == scored._sc_person).drop("_sc_person")
    return out.select(
        "person_id",
        charlson=out["_sc_charlson"].cast("int64"),
        frailty_syndromes=out["_sc_frailty_syndromes"].cast("int64"),
        hfrs=out["_sc_hfrs"].cast("float64"),
    )
