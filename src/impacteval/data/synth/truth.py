"""The known effect (``truth.json``): per-outcome targets and the sample's own counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from impacteval.data.synth import world as w
from impacteval.data.synth.events import EventDraws, in_treated_followup
from impacteval.data.synth.population import People
from impacteval.data.synth.spells import ELECTIVE, EM, TERMINAL, Spells

_NOTES = {
    "emergency_admissions": (
        "emergency spells (ADMIMETH 21-28, not 2B transfers) of treated residents between moving "
        "in and leaving the home are kept with probability value (thinning of the counterfactual "
        "Poisson process), so the ATT rate ratio per person-time is value in expectation"
    ),
    "avoidable_emergency_admissions": "emergency admissions with an ACSC primary diagnosis; thinned like all emergency admissions",
    "ae_attendances": "all A&E rows (admitted and not) of treated residents are thinned alike",
    "elective_admissions": "not affected by the intervention",
    "op_attendances": "not affected by the intervention",
    "bed_days": (
        "not a constant multiplier: emergency nights are thinned, elective nights are not; value is "
        "the expected ratio of treated nights in follow-up to the counterfactual nights, given the "
        "counterfactual spells of this sample (nights clipped at the end of follow-up)"
    ),
    "deaths": (
        "death times do not depend on treatment (rate ratio exactly 1); where people die does: a "
        "terminal emergency admission can be thinned, so deaths outside hospital rise"
    ),
}


def _round(x: float) -> float:
    return float(round(x, 6))


def compute_truth(
    people: People,
    spells: Spells,
    ae: EventDraws,
    op: EventDraws,
    rate_ratio: float,
) -> dict[str, Any]:
    """Targets per outcome plus counterfactual and observed counts in treated follow-up."""
    treated = np.flatnonzero(people.treated)
    fu_end = np.minimum(people.res_end[treated], w.END_DAY)
    person_years = float((fu_end - people.move_in[treated]).sum() / w.YEAR)

    in_fu = in_treated_followup(people, spells.person, spells.adm)
    emergency = in_fu & ((spells.kind == EM) | (spells.kind == TERMINAL))
    admitted_ae = emergency & (spells.method == b"21")
    ae_fu = in_treated_followup(people, ae.person, ae.day)
    op_fu = in_treated_followup(people, op.person, op.day)
    end = np.minimum(people.res_end[spells.person], w.END_DAY)
    nights = np.where(in_fu, np.minimum(spells.adm + spells.nights, end) - spells.adm, 0)
    weight = np.where(spells.treated_time, rate_ratio, 1.0)

    def both(mask: np.ndarray, keep: np.ndarray) -> tuple[int, int]:
        return int(mask.sum()), int((mask & keep).sum())

    counts = {
        "emergency_admissions": both(emergency, spells.keep),
        "avoidable_emergency_admissions": both(emergency & spells.acsc, spells.keep),
        "ae_attendances": tuple(
            a + b for a, b in zip(both(admitted_ae, spells.keep), both(ae_fu, ae.keep), strict=True)
        ),
        "elective_admissions": both(in_fu & (spells.kind == ELECTIVE), spells.keep),
        "op_attendances": both(op_fu, op.keep),
        "bed_days": (int(nights.sum()), int((nights * spells.keep).sum())),
    }
    died = people.treated & (people.death < w.END_DAY) & (people.death == people.res_end)
    counts["deaths"] = (int(died.sum()), int(died.sum()))
    cf_nights = float(nights.sum())
    bed_days_value = _round(float((nights * weight).sum()) / cf_nights) if cf_nights > 0 else None
    values: dict[str, float | None] = {
        "emergency_admissions": rate_ratio,
        "avoidable_emergency_admissions": rate_ratio,
        "ae_attendances": rate_ratio,
        "elective_admissions": 1.0,
        "op_attendances": 1.0,
        "bed_days": bed_days_value,
        "deaths": 1.0,
    }
    outcomes = {
        name: {"scale": "rate_ratio", "value": values[name], "note": _NOTES[name]}
        for name in values
    }
    return {
        "outcomes": outcomes,
        "rate_ratio": rate_ratio,
        "data_cut": w.DATA_CUT.isoformat(),
        "sample": {
            "description": (
                "counts over treated residents' follow-up (move-in to the earliest of death, "
                "move-out, data cut) before the data cut's censoring of open spells: "
                "counterfactual = no intervention, observed = as generated"
            ),
            "n_treated": int(treated.size),
            "treated_person_years": _round(person_years),
            "counterfactual": {k: v[0] for k, v in counts.items()},
            "observed": {k: v[1] for k, v in counts.items()},
        },
    }
