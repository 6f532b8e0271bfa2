"""Event times from piecewise-constant intensities, and the known treatment effect.

Every person's observed time is cut into slots with constant intensities (calendar years for
the general population; for care-home movers: before the last year, four quarters of the
pre-move surge, while resident, after moving out). Counts per slot are Poisson and times are
uniform within the slot, which is exact for a piecewise-constant Poisson process.

The effect is applied by *thinning*: events are first drawn for everybody under no
intervention (the counterfactual); then each emergency admission and A&E attendance of a
treated resident between moving in and leaving the home (death or move-out) is kept with
probability ``rate_ratio``. A thinned Poisson process is a Poisson process with intensity
``rate_ratio`` times the original, so the ATT rate ratio per person-time in follow-up is exactly
``rate_ratio`` in expectation, and follow-up itself (death, move-out) does not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impacteval.data.synth import world as w
from impacteval.data.synth.population import People

KINDS = ("em", "ae", "el", "op")
#: Slot of a mover's residency (the only slot where the intervention acts).
RESIDENT_SLOT = 5


@dataclass(frozen=True)
class EventDraws:
    """Counterfactual events of one kind: who, which day, whether the effect applies."""

    person: np.ndarray
    day: np.ndarray
    treated_time: np.ndarray  # bool: in a treated resident's follow-up
    keep: np.ndarray  # bool: survives thinning (always True when treated_time is False)


def _interp(age: np.ndarray, curve: np.ndarray) -> np.ndarray:
    return np.interp(age, w.AGE_KNOTS, curve)


def _multipliers(people: People, idx: np.ndarray) -> dict[str, np.ndarray]:
    m = people.em_mult[idx]
    imd = people.rate_imd[idx].astype(float)
    return {
        "em": m * (1.0 + w.EM_DEPRIVATION_SLOPE * (5.5 - imd)),
        "ae": m**0.8 * (1.0 + w.AE_DEPRIVATION_SLOPE * (5.5 - imd)),
        "el": m**0.3,
        "op": m**0.4,
    }


def _general_slots(
    people: People, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    lo = w.YEAR_BOUNDS[:-1][None, :]
    hi = w.YEAR_BOUNDS[1:][None, :]
    s0 = people.obs_start[idx][:, None]
    e0 = people.obs_end[idx][:, None]
    starts = np.clip(lo, s0, e0)
    ends = np.clip(hi, s0, e0)
    age = np.maximum(((starts + ends) / 2.0 - people.birth[idx][:, None]) / w.YEAR, 0.0)
    mult = _multipliers(people, idx)
    curves = {"em": w.RATE_EMERGENCY, "ae": w.RATE_AE_OTHER, "el": w.RATE_ELECTIVE, "op": w.RATE_OP}
    rates = {k: _interp(age, curves[k]) * mult[k][:, None] for k in KINDS}
    return starts, ends, rates


def _mover_slots(
    people: People, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    s = people.move_in[idx]
    obs_end = people.obs_end[idx]
    res_end = np.minimum(people.res_end[idx], obs_end)
    pre = s[:, None] + w.PRE_QUARTERS[None, :]
    after_start = np.where(people.moved_out[idx], res_end + 1, obs_end)
    starts = np.column_stack([np.full(idx.size, w.START_DAY), pre, after_start])
    ends = np.column_stack([pre, res_end, obs_end])
    ends = np.minimum(ends, obs_end[:, None])
    starts = np.minimum(starts, ends)
    mult = _multipliers(people, idx)
    surge = {"em": w.MOVER_SURGE, "ae": w.MOVER_SURGE, "el": np.ones(4), "op": np.full(4, 1.2)}
    rates = {}
    for k in KINDS:
        per_slot = np.concatenate(
            [[w.MOVER_PRE[k]], w.MOVER_PRE[k] * surge[k], [w.MOVER_POST[k]] * 2]
        )
        rates[k] = per_slot[None, :] * mult[k][:, None]
    return starts, ends, rates


def _sample(
    rng: np.random.Generator,
    idx: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    rate: np.ndarray,
    fixed_totals: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson counts per slot and uniform times within slots.

    ``fixed_totals`` (movers only) are already-drawn counts for the four pre-move quarters
    (slots 1-4); they are spread over the quarters in proportion to the expected counts,
    which given the Poisson total is the same distribution as independent Poisson counts.
    """
    length = np.maximum(ends - starts, 0).astype(float)
    mu = rate * length / w.YEAR
    counts = rng.poisson(mu)
    if fixed_totals is not None:
        counts[:, 1:5] = _spread(rng, fixed_totals, mu[:, 1:5])
    flat_counts = counts.ravel()
    flat = np.repeat(np.arange(flat_counts.size), flat_counts)
    row, slot = np.divmod(flat, starts.shape[1])
    t = starts.ravel()[flat] + rng.random(flat.size) * length.ravel()[flat]
    return idx[row], np.floor(t).astype(np.int64), slot


def _spread(rng: np.random.Generator, totals: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Multinomial split of ``totals`` over columns with probabilities proportional to ``mu``."""
    out = np.zeros(mu.shape, dtype=np.int64)
    left = totals.astype(np.int64).copy()
    rest = mu.sum(axis=1)
    for j in range(mu.shape[1] - 1):
        p = np.divide(mu[:, j], rest, out=np.zeros_like(rest), where=rest > 0)
        out[:, j] = rng.binomial(left, np.clip(p, 0.0, 1.0))
        left -= out[:, j]
        rest = rest - mu[:, j]
    out[:, -1] = left
    return out


def draw_events(
    rng: np.random.Generator, people: People, rate_ratio: float
) -> dict[str, EventDraws]:
    """Counterfactual events of every kind for everybody, with the thinning decision."""
    general = np.flatnonzero(~people.mover)
    movers = np.flatnonzero(people.mover)
    g_start, g_end, g_rates = _general_slots(people, general)
    m_start, m_end, m_rates = _mover_slots(people, movers)
    out: dict[str, EventDraws] = {}
    for kind in KINDS:
        gp, gd, _ = _sample(rng, general, g_start, g_end, g_rates[kind])
        fixed = people.prior_em[movers] if kind == "em" else None
        mp, md, ms = _sample(rng, movers, m_start, m_end, m_rates[kind], fixed)
        person = np.concatenate([gp, mp])
        day_ = np.concatenate([gd, md])
        treated_time = np.concatenate(
            [np.zeros(gp.size, dtype=bool), (ms == RESIDENT_SLOT) & people.treated[mp]]
        )
        keep = (
            thin(rng, treated_time, rate_ratio)
            if kind in ("em", "ae")
            else np.ones(person.size, bool)
        )
        out[kind] = EventDraws(person=person, day=day_, treated_time=treated_time, keep=keep)
    return out


def thin(rng: np.random.Generator, treated_time: np.ndarray, rate_ratio: float) -> np.ndarray:
    """Keep events outside treated time; keep treated-time events with probability ``rate_ratio``."""
    u = rng.random(treated_time.size)
    return ~treated_time | (u < rate_ratio)


def in_treated_followup(people: People, person: np.ndarray, day_: np.ndarray) -> np.ndarray:
    """Whether each (person, day) lies in a treated resident's follow-up (move-in to leaving)."""
    res_end = np.minimum(people.res_end[person], w.END_DAY)
    return people.treated[person] & (day_ >= people.move_in[person]) & (day_ < res_end)


def draw_terminal_admissions(
    rng: np.random.Generator, people: People, rate_ratio: float
) -> EventDraws:
    """Emergency admissions that end in death in hospital, for a share of deaths.

    ``day`` is the admission day; the spell's nights are ``death - day``.
    """
    dead = np.flatnonzero(people.death < w.END_DAY)
    age = (people.death[dead] - people.birth[dead]) / w.YEAR
    p_hospital = np.where(people.mover[dead], 0.35, np.where(age >= 65, 0.5, 0.35))
    chosen = dead[rng.random(dead.size) < p_hospital]
    nights = rng.geometric(1.0 / 9.0, size=chosen.size).astype(np.int64)
    adm = np.maximum(people.death[chosen] - nights, people.obs_start[chosen])
    treated_time = in_treated_followup(people, chosen, adm)
    keep = thin(rng, treated_time, rate_ratio)
    return EventDraws(person=chosen, day=adm, treated_time=treated_time, keep=keep)
