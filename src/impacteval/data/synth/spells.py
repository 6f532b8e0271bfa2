"""Hospital provider spells (admission to discharge at one trust) before they become episodes.

Spells are built for every counterfactual admission, including those the intervention removes
(``keep`` false), so the truth can be computed from the same spells the tables are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impacteval.data.synth import world as w
from impacteval.data.synth.events import EventDraws
from impacteval.data.synth.population import People

EM, TERMINAL, TRANSFER, ELECTIVE, AFTER_DEATH = 0, 1, 2, 3, 4

#: Diagnosis vocabulary: index -> ICD-10 code (4 characters).
DIAG_CODES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [code for c in w.CONDITIONS for code in c[1]]
        + [c for c, _ in w.ACSC_PRIMARY]
        + [c for c, _ in w.EMERGENCY_PRIMARY]
        + [c for c, _ in w.ELECTIVE_PRIMARY]
        + list(w.OTHER_SECONDARY)
        + ["R69X"]
    )
)
_DIAG_INDEX = {c: i for i, c in enumerate(DIAG_CODES)}
#: Index of each condition's codes in DIAG_CODES, padded with -1: shape (K, max codes).
CONDITION_CODE_INDEX = np.full((len(w.CONDITIONS), max(len(c[1]) for c in w.CONDITIONS)), -1)
for _k, _c in enumerate(w.CONDITIONS):
    CONDITION_CODE_INDEX[_k, : len(_c[1])] = [_DIAG_INDEX[x] for x in _c[1]]


def _weighted(pairs: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([_DIAG_INDEX[c] for c, _ in pairs])
    p = np.array([x for _, x in pairs])
    return codes, p / p.sum()


_ACSC = _weighted(w.ACSC_PRIMARY)
_EMERG = _weighted(w.EMERGENCY_PRIMARY)
_ELECT = _weighted(w.ELECTIVE_PRIMARY)
ACSC_INDEX = frozenset(int(i) for i in _ACSC[0])


@dataclass(frozen=True)
class Spells:
    """One entry per provider spell; codes are ``S2``/``S3`` bytes."""

    person: np.ndarray
    adm: np.ndarray  # admission day
    nights: np.ndarray  # discharge day = adm + nights
    kind: np.ndarray  # EM, TERMINAL, TRANSFER, ELECTIVE, AFTER_DEATH
    method: np.ndarray  # ADMIMETH
    source: np.ndarray  # ADMISORC
    classpat: np.ndarray
    dismeth: np.ndarray
    disdest: np.ndarray
    provider: np.ndarray  # index into world.TRUSTS
    primary: np.ndarray  # index into DIAG_CODES
    acsc: np.ndarray  # bool: primary diagnosis is an ACSC
    specialty: np.ndarray  # S3
    n_episodes: np.ndarray
    n_procedures: np.ndarray
    keep: np.ndarray  # bool: the spell exists under the intervention
    treated_time: np.ndarray  # bool: admitted in a treated resident's follow-up


def _choose(rng: np.random.Generator, codes: tuple[str, ...], p: np.ndarray, n: int) -> np.ndarray:
    return np.array(codes, dtype="S3")[rng.choice(len(codes), size=n, p=p / p.sum())]


def provider_for(rng: np.random.Generator, people: People, person: np.ndarray) -> np.ndarray:
    area = people.area[person]
    main = area % len(w.TRUSTS)
    second = (area + 7) % len(w.TRUSTS)
    u = rng.random(person.size)
    other = rng.integers(0, len(w.TRUSTS), person.size)
    return np.where(u < 0.75, main, np.where(u < 0.95, second, other))


def _resident(people: People, person: np.ndarray, day_: np.ndarray) -> np.ndarray:
    return people.mover[person] & (day_ >= people.move_in[person]) & (day_ < people.res_end[person])


def _home_or_usual(rng: np.random.Generator, resident: np.ndarray, n: int) -> np.ndarray:
    home = _choose(rng, w.CARE_HOME_SOURCES, w.CARE_HOME_SOURCE_P, n)
    usual = _choose(rng, ("19", "29", "87"), np.array([0.985, 0.01, 0.005]), n)
    return np.where(resident, home, usual)


def _episode_counts(rng: np.random.Generator, nights: np.ndarray) -> np.ndarray:
    multi = rng.choice(4, size=nights.size, p=[0.78, 0.16, 0.05, 0.01]) + 1
    zero = np.where(rng.random(nights.size) < 0.03, 2, 1)
    k = np.where(nights == 0, zero, multi)
    return np.minimum(k, nights + 1)


def _emergency(rng: np.random.Generator, people: People, draws: EventDraws, kind: int) -> Spells:
    person, adm = draws.person, draws.day
    n = person.size
    age = (adm - people.birth[person]) / w.YEAR
    if kind == TERMINAL:
        nights = people.death[person] - adm
    else:
        zero = rng.random(n) < np.where(age < 65, 0.35, 0.22)
        mean = 3.0 + 0.12 * np.maximum(age - 40.0, 0.0)
        nights = np.where(zero, 0, rng.geometric(1.0 / mean)).astype(np.int64)
        # discharged alive before the day of death
        nights = np.minimum(nights, np.maximum(people.death[person] - 1 - adm, 0))
    resident = _resident(people, person, adm)
    imd = people.rate_imd[person].astype(float)
    is_acsc = rng.random(n) < 0.2 * (1.0 + w.ACSC_DEPRIVATION_SLOPE * (5.5 - imd))
    primary = np.where(
        is_acsc,
        _ACSC[0][rng.choice(_ACSC[0].size, size=n, p=_ACSC[1])],
        _EMERG[0][rng.choice(_EMERG[0].size, size=n, p=_EMERG[1])],
    )
    spec = np.where(
        age < 16,
        b"420",
        np.where(
            (age >= 75) & (rng.random(n) < 0.45),
            b"430",
            _choose(rng, w.EMERGENCY_SPECIALTIES[:5], np.array([0.45, 0.05, 0.2, 0.15, 0.15]), n),
        ),
    )
    dismeth = _choose(rng, ("1", "2"), np.array([0.985, 0.015]), n)
    disdest = _home_or_usual(rng, resident, n)
    if kind == TERMINAL:
        dismeth[:] = b"4"
        disdest[:] = b"79"
    return Spells(
        person=person,
        adm=adm,
        nights=nights,
        kind=np.full(n, kind, dtype=np.int8),
        method=_choose(rng, w.EMERGENCY_METHODS, w.EMERGENCY_METHOD_P, n),
        source=_home_or_usual(rng, resident, n),
        classpat=np.where(rng.random(n) < 0.99, b"1", b"2"),
        dismeth=dismeth,
        disdest=disdest,
        provider=provider_for(rng, people, person),
        primary=primary,
        acsc=is_acsc,
        specialty=spec,
        n_episodes=_episode_counts(rng, nights),
        n_procedures=np.where(rng.random(n) < 0.35, rng.integers(1, 3, n), 0),
        keep=draws.keep,
        treated_time=draws.treated_time,
    )


def _transfers(rng: np.random.Generator, people: People, parents: Spells) -> tuple[Spells, Spells]:
    """Mark ~3% of emergency spells as transferred out (DISDEST 51) and make the next spells."""
    chosen = (parents.kind == EM) & (parents.nights >= 1) & (rng.random(parents.person.size) < 0.03)
    disdest = parents.disdest.copy()
    disdest[chosen] = b"51"
    parents = _replace(parents, disdest=disdest)
    idx = np.flatnonzero(chosen)
    person = parents.person[idx]
    gap = rng.choice(4, size=idx.size, p=[0.8, 0.15, 0.03, 0.02])
    adm = parents.adm[idx] + parents.nights[idx] + gap
    nights = rng.geometric(1.0 / 7.0, size=idx.size).astype(np.int64)
    nights = np.minimum(nights, np.maximum(people.death[person] - 1 - adm, 0))
    alive = adm < np.minimum(people.death[person], w.END_DAY)
    idx, person, adm, nights = idx[alive], person[alive], adm[alive], nights[alive]
    n = idx.size
    provider = (parents.provider[idx] + 1 + rng.integers(0, len(w.TRUSTS) - 1, n)) % len(w.TRUSTS)
    resident = _resident(people, person, adm)
    child = Spells(
        person=person,
        adm=adm,
        nights=nights,
        kind=np.full(n, TRANSFER, dtype=np.int8),
        method=np.full(n, b"2B", dtype="S3"),
        source=np.full(n, b"51", dtype="S3"),
        classpat=np.full(n, b"1", dtype="S3"),
        dismeth=np.full(n, b"1", dtype="S3"),
        disdest=_home_or_usual(rng, resident, n),
        provider=provider,
        primary=parents.primary[idx],
        acsc=parents.acsc[idx],
        specialty=parents.specialty[idx],
        n_episodes=_episode_counts(rng, nights),
        n_procedures=np.where(rng.random(n) < 0.5, rng.integers(1, 4, n), 0),
        keep=parents.keep[idx],
        treated_time=parents.treated_time[idx],
    )
    return parents, child


def _elective(
    rng: np.random.Generator, people: People, person: np.ndarray, adm: np.ndarray, kind: int
) -> Spells:
    n = person.size
    classpat = _choose(rng, ("1", "2", "3", "4"), np.array([0.33, 0.62, 0.04, 0.01]), n)
    nights = np.where(
        classpat == b"1", rng.geometric(1.0 / 3.0, n), np.where(classpat == b"4", 1, 0)
    ).astype(np.int64)
    nights = np.minimum(nights, np.maximum(people.death[person] - 1 - adm, 0))
    resident = _resident(people, person, adm)
    source = _home_or_usual(rng, resident, n)
    return Spells(
        person=person,
        adm=adm,
        nights=nights,
        kind=np.full(n, kind, dtype=np.int8),
        method=_choose(rng, w.ELECTIVE_METHODS, w.ELECTIVE_METHOD_P, n),
        source=source,
        classpat=classpat,
        dismeth=np.full(n, b"1", dtype="S3"),
        disdest=source.copy(),
        provider=provider_for(rng, people, person),
        primary=_ELECT[0][rng.choice(_ELECT[0].size, size=n, p=_ELECT[1])],
        acsc=np.zeros(n, dtype=bool),
        specialty=_choose(rng, w.ELECTIVE_SPECIALTIES, np.ones(len(w.ELECTIVE_SPECIALTIES)), n),
        n_episodes=np.where((nights > 0) & (rng.random(n) < 0.05), 2, 1),
        n_procedures=np.where(rng.random(n) < 0.85, rng.integers(1, 4, n), 0),
        keep=np.ones(n, dtype=bool),
        treated_time=np.zeros(n, dtype=bool),
    )


def _replace(spells: Spells, **changes: np.ndarray) -> Spells:
    fields = {k: getattr(spells, k) for k in Spells.__dataclass_fields__}
    fields.update(changes)
    return Spells(**fields)


def concat(parts: list[Spells]) -> Spells:
    """Concatenate spell sets field by field."""
    return Spells(
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Spells.__dataclass_fields__}
    )


def select(spells: Spells, mask: np.ndarray) -> Spells:
    """The spells where ``mask`` is true."""
    return Spells(**{k: getattr(spells, k)[mask] for k in Spells.__dataclass_fields__})


_BIG = np.int64(1 << 20)  # > any day number we use; combines (person, day) into one sort key


def overlaps(
    person: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    fixed: Spells,
    *,
    start_inside: bool = False,
) -> np.ndarray:
    """Whether each stay [start, end] meets a stay in ``fixed`` of the same person.

    ``fixed`` stays of one person must not overlap each other. With ``start_inside`` only a
    start inside a fixed stay counts (so the spell a transfer came from is not caught).
    """
    if fixed.person.size == 0:
        return np.zeros(person.size, dtype=bool)
    order = np.lexsort((fixed.adm, fixed.person))
    fp, fs = fixed.person[order], fixed.adm[order]
    fe = fs + fixed.nights[order]
    probe = start if start_inside else end
    pos = np.searchsorted(fp * _BIG + fs, person * _BIG + probe, side="right") - 1
    at = np.maximum(pos, 0)
    return (pos >= 0) & (fp[at] == person) & (fe[at] >= start)


def _drop_self_overlaps(spells: Spells) -> Spells:
    """Drop spells admitted on or before the discharge day of an earlier spell of the person."""
    order = np.lexsort((spells.adm, spells.person))
    p = spells.person[order]
    key = p * _BIG + spells.adm[order] + spells.nights[order]
    previous = np.concatenate([[-1], np.maximum.accumulate(key)[:-1]])
    overlap = (previous // _BIG == p) & (previous % _BIG >= spells.adm[order])
    keep = np.empty(p.size, dtype=bool)
    keep[order] = ~overlap
    return select(spells, keep)


def build_spells(
    rng: np.random.Generator,
    people: People,
    emergency: EventDraws,
    terminal: EventDraws,
    elective: EventDraws,
) -> Spells:
    """All counterfactual spells: emergency, terminal, transfers, elective, after-death quirks.

    A person is in one hospital at a time: admissions drawn during another stay are dropped
    (terminal stays and transfer stays win). This happens before thinning, so the thinned
    spells remain a thinning of the counterfactual spells and the truth stays exact.
    """
    em = _emergency(rng, people, emergency, EM)
    term = _emergency(rng, people, terminal, TERMINAL)
    el = _elective(rng, people, elective.person, elective.day, ELECTIVE)
    base = concat([em, el])
    base = select(base, ~overlaps(base.person, base.adm, base.adm + base.nights, term))
    base = _drop_self_overlaps(base)
    base, transferred = _transfers(rng, people, base)
    transferred = select(
        transferred,
        ~overlaps(transferred.person, transferred.adm, transferred.adm + transferred.nights, term),
    )
    transferred = _drop_self_overlaps(transferred)
    base = select(base, ~overlaps(base.person, base.adm, base.adm, transferred, start_inside=True))
    # quirk: a day case recorded after the patient's death (~5% of deaths)
    dead = np.flatnonzero((people.death < w.END_DAY) & (rng.random(people.death.size) < 0.05))
    late = people.death[dead] + rng.integers(1, 61, dead.size)
    ok = late < w.END_DAY
    after = _elective(rng, people, dead[ok], late[ok], AFTER_DEATH)
    n_late = int(ok.sum())
    after = _replace(
        after,
        classpat=np.full(n_late, b"2", dtype="S3"),
        nights=np.zeros(n_late, np.int64),
        n_episodes=np.ones(n_late, np.int64),
    )
    return concat([base, term, transferred, after])
