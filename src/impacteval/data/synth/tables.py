"""The persons, settings, A&E, outpatient and deaths contract tables (DATA_CONTRACT.md §7)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from impacteval.data.synth import world as w
from impacteval.data.synth.arrow import (
    coded,
    dates,
    formatted_numbers,
    from_bytes,
    hhmm,
    ints,
    serial_keys,
)
from impacteval.data.synth.population import ETHNOS_CODES, SEX_CODES, Homes, People
from impacteval.data.synth.spells import CONDITION_CODE_INDEX, DIAG_CODES, provider_for

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("MYDOB", pa.string()),
        ("SEX", pa.string()),
        ("ETHNOS", pa.string()),
        ("LSOA11", pa.string()),
        ("IMD19_DECILE", pa.int64()),
        ("GPPRAC", pa.string()),
        ("CCG_CODE", pa.string()),
        ("REG_START", pa.date32()),
        ("REG_END", pa.date32()),
    ]
)
SETTINGS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("SETTING_ID", pa.string()),
        ("SETTING_TYPE", pa.string()),
        ("SETTING_BEDS", pa.int64()),
        ("SETTING_RURAL", pa.string()),
        ("START_DATE", pa.date32()),
        ("END_DATE", pa.date32()),
    ]
)
AE_SCHEMA = pa.schema(
    [
        ("AEKEY", pa.string()),
        ("person_id", pa.string()),
        ("PROCODE3", pa.string()),
        ("ARRIVALDATE", pa.date32()),
        ("ARRIVALTIME", pa.string()),
        ("AEDEPTTYPE", pa.string()),
        ("AEATTENDCAT", pa.string()),
        ("AEARRIVALMODE", pa.string()),
        ("AEATTENDDISP", pa.string()),
        ("DEP_MINUTES", pa.int64()),
        ("ADMITTED_FLAG", pa.bool_()),
        ("DIAG_01", pa.string()),
    ]
)
OP_SCHEMA = pa.schema(
    [
        ("ATTENDKEY", pa.string()),
        ("person_id", pa.string()),
        ("PROCODE3", pa.string()),
        ("APPTDATE", pa.date32()),
        ("ATTENDED", pa.string()),
        ("FIRSTATT", pa.string()),
        ("TRETSPEF", pa.string()),
        ("OUTCOME", pa.string()),
        ("PRIORITY", pa.string()),
        ("CONSMED", pa.string()),
    ]
)
CAUSE_COLUMNS = tuple(f"CAUSE_OF_DEATH_{i:02d}" for i in range(1, 16))
DEATHS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("DOD", pa.date32()),
        ("DOR", pa.date32()),
        ("CAUSE_OF_DEATH", pa.string()),
        *[(c, pa.string()) for c in CAUSE_COLUMNS],
        ("POD_TYPE", pa.string()),
    ]
)
_HOUR_WEIGHTS = np.array(
    [
        1.0,
        0.8,
        0.6,
        0.5,
        0.5,
        0.6,
        1.0,
        2.0,
        3.5,
        4.5,
        5.0,
        5.0,
        4.8,
        4.6,
        4.5,
        4.4,
        4.4,
        4.5,
        4.4,
        4.0,
        3.5,
        3.0,
        2.3,
        1.6,
    ]
)
_AE_DISPOSALS = ("02", "03", "04", "05", "06", "07", "10", "11", "12", "13", "14")
_AE_DISPOSAL_P = np.array([0.35, 0.38, 0.03, 0.03, 0.04, 0.01, 0.001, 0.04, 0.05, 0.01, 0.059])


def _pick(
    rng: np.random.Generator, codes: tuple[str, ...], p: list[float] | np.ndarray, n: int
) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.array([c.encode() for c in codes])[rng.choice(len(codes), size=n, p=p / p.sum())]


def _mmyyyy(day_: np.ndarray) -> np.ndarray:
    months = day_.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return np.char.add(
        formatted_numbers("", months % 12 + 1, 2), formatted_numbers("", 1970 + months // 12, 4)
    )


def persons_table(rng: np.random.Generator, people: People) -> pa.Table:
    """One row per linkable person, in a shuffled order; quirks at ~0.3% each."""
    idx = np.flatnonzero(~people.orphan)
    idx = idx[rng.permutation(idx.size)]
    n = idx.size
    u = rng.random((n, 2))
    # unknown residence: ~0.3% of people, ~2% of care-home movers (communal-establishment
    # addresses are often not geocoded), so both arms of a care-home cohort have some
    lsoa_unknown = u[:, 0] < np.where(people.mover[idx], 0.02, 0.003)
    lsoa = np.where(lsoa_unknown, b"Z99999999", formatted_numbers("E01", people.lsoa[idx], 6))
    letters = np.frombuffer(w.AREA_GP_LETTER.encode(), dtype="S1")
    gp = np.char.add(
        letters[people.gp_letter[idx] % letters.size], formatted_numbers("", people.gp[idx], 5)
    )
    gp = np.where(u[:, 1] < 0.003, b"V81999", gp)
    reg_end = people.reg_end[idx]
    return pa.table(
        {
            "person_id": from_bytes(people.token[idx]),
            "MYDOB": from_bytes(_mmyyyy(people.birth[idx])),
            "SEX": coded(SEX_CODES, people.sex[idx]),
            "ETHNOS": coded(ETHNOS_CODES, people.ethnos[idx]),
            "LSOA11": from_bytes(lsoa),
            "IMD19_DECILE": ints(people.imd[idx], mask=lsoa_unknown),
            "GPPRAC": from_bytes(gp),
            "CCG_CODE": coded(w.AREAS, people.area[idx]),
            "REG_START": dates(people.reg_start[idx]),
            "REG_END": dates(np.where(reg_end < w.END_DAY, reg_end, 0), mask=reg_end >= w.END_DAY),
        },
        schema=PERSONS_SCHEMA,
    )


def settings_table(people: People, homes: Homes) -> pa.Table:
    """One row per care-home residency (``END_DATE`` = move-out or death, null if resident)."""
    idx = np.flatnonzero(people.mover)
    idx = idx[np.lexsort((people.token[idx], people.move_in[idx]))]
    home = people.home[idx]
    end = people.res_end[idx]
    return pa.table(
        {
            "person_id": from_bytes(people.token[idx]),
            "SETTING_ID": from_bytes(homes.setting_id[home]),
            "SETTING_TYPE": coded(("residential", "nursing"), homes.nursing[home].astype(np.int64)),
            "SETTING_BEDS": ints(homes.beds[home]),
            "SETTING_RURAL": coded(("urban", "rural"), homes.rural[home].astype(np.int64)),
            "START_DATE": dates(people.move_in[idx]),
            "END_DATE": dates(np.where(end < w.END_DAY, end, 0), mask=end >= w.END_DAY),
        },
        schema=SETTINGS_SCHEMA,
    )


def ae_table(
    rng: np.random.Generator,
    people: People,
    admitted: tuple[np.ndarray, np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    first_key: int,
) -> pa.Table:
    """A&E attendances: those admitted (same day as an ADMIMETH 21 spell), the rest, quirks.

    ``admitted`` is (person, day, provider index); ``other`` is (person, day).
    """
    a_person, a_day, a_provider = admitted
    o_person, o_day = other
    dead = np.flatnonzero((people.death < w.END_DAY) & (rng.random(people.death.size) < 0.05))
    late = people.death[dead] + rng.integers(1, 61, dead.size)
    ok = late < w.END_DAY
    o_person = np.concatenate([o_person, dead[ok]])
    o_day = np.concatenate([o_day, late[ok]])
    person = np.concatenate([a_person, o_person])
    day_ = np.concatenate([a_day, o_day])
    provider = np.concatenate([a_provider, provider_for(rng, people, o_person)])
    is_adm = np.arange(person.size) < a_person.size
    n = person.size
    age = (day_ - people.birth[person]) / w.YEAR
    resident = (
        people.mover[person] & (day_ >= people.move_in[person]) & (day_ < people.res_end[person])
    )
    minute = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()) * 60 + rng.integers(
        0, 60, n
    )
    p_ambulance = np.where(is_adm, 0.6, 0.1 + 0.25 * (age >= 75) + 0.3 * resident)
    disposal = np.where(is_adm, b"01", _pick(rng, _AE_DISPOSALS, _AE_DISPOSAL_P, n))
    minutes = np.where(
        is_adm, rng.lognormal(np.log(270.0), 0.4, n), rng.lognormal(np.log(140.0), 0.55, n)
    )
    dept = np.where(
        is_adm, b"01", _pick(rng, ("01", "02", "03", "04"), [0.70, 0.02, 0.24, 0.04], n)
    )
    cat = np.where(
        is_adm & (rng.random(n) < 0.95), b"1", _pick(rng, ("1", "2", "3"), [0.88, 0.05, 0.07], n)
    )
    diag = np.where(rng.random(n) < 0.1, -1, rng.integers(0, len(w.AE_DIAGNOSES), n))

    # quirk: ~0.4% duplicate rows (same person, provider, day; arrival 1-59 minutes later)
    dup = np.flatnonzero(rng.random(n) < 0.004)
    rows = np.concatenate([np.arange(n), dup])
    minute = np.concatenate([minute, np.minimum(minute[dup] + rng.integers(1, 60, dup.size), 1439)])
    order = np.lexsort((minute, day_[rows]))
    rows, minute = rows[order], minute[order]
    trusts = np.array(w.TRUSTS, dtype="S3")
    return pa.table(
        {
            "AEKEY": serial_keys(first_key, rows.size),
            "person_id": from_bytes(people.token[person[rows]]),
            "PROCODE3": from_bytes(trusts[provider[rows]]),
            "ARRIVALDATE": dates(day_[rows]),
            "ARRIVALTIME": hhmm(minute),
            "AEDEPTTYPE": from_bytes(dept[rows]),
            "AEATTENDCAT": from_bytes(cat[rows]),
            "AEARRIVALMODE": from_bytes(np.where(rng.random(n) < p_ambulance, b"1", b"2")[rows]),
            "AEATTENDDISP": from_bytes(disposal[rows]),
            "DEP_MINUTES": ints(np.clip(np.round(minutes), 1, 4320)[rows]),
            "ADMITTED_FLAG": pa.array(is_adm[rows]),
            "DIAG_01": coded(w.AE_DIAGNOSES, diag[rows]),
        },
        schema=AE_SCHEMA,
    )


def op_table(
    rng: np.random.Generator, people: People, person: np.ndarray, day_: np.ndarray, first_key: int
) -> pa.Table:
    """Outpatient appointments (attended 5/6 mostly; DNA 3; cancellations 2/4), plus quirks."""
    dead = np.flatnonzero((people.death < w.END_DAY) & (rng.random(people.death.size) < 0.1))
    late = people.death[dead] + rng.integers(1, 61, dead.size)
    ok = late < w.END_DAY
    person = np.concatenate([person, dead[ok]])
    day_ = np.concatenate([day_, late[ok]])
    order = np.lexsort((person, day_))
    person, day_ = person[order], day_[order]
    n = person.size
    attended = _pick(
        rng, ("5", "6", "3", "2", "4", "7", "0"), [0.80, 0.04, 0.07, 0.04, 0.04, 0.005, 0.005], n
    )
    seen = (attended == b"5") | (attended == b"6")
    outcome = _pick(rng, ("1", "2", "3"), [0.25, 0.60, 0.15], n)
    trusts = np.array(w.TRUSTS, dtype="S3")
    return pa.table(
        {
            "ATTENDKEY": serial_keys(first_key, n),
            "person_id": from_bytes(people.token[person]),
            "PROCODE3": from_bytes(trusts[provider_for(rng, people, person)]),
            "APPTDATE": dates(day_),
            "ATTENDED": from_bytes(attended),
            "FIRSTATT": from_bytes(
                _pick(rng, ("1", "2", "3", "4", "5"), [0.30, 0.60, 0.03, 0.06, 0.01], n)
            ),
            "TRETSPEF": from_bytes(_pick(rng, w.OP_SPECIALTIES, np.ones(len(w.OP_SPECIALTIES)), n)),
            "OUTCOME": from_bytes(outcome, mask=~seen),
            "PRIORITY": from_bytes(_pick(rng, ("1", "2", "3"), [0.80, 0.15, 0.05], n)),
            "CONSMED": from_bytes(
                _pick(rng, ("01", "02", "03", "98"), [0.93, 0.04, 0.01, 0.02], n)
            ),
        },
        schema=OP_SCHEMA,
    )


#: Conditions that become the underlying cause of death, in order of precedence.
_CAUSE_PRECEDENCE = ("metacanc", "canc", "dementia", "chf", "copd", "cevd", "rend", "ami")


def deaths_table(rng: np.random.Generator, people: People, in_hospital: np.ndarray) -> pa.Table:
    """ONS deaths (incl. unlinkable persons), with a few second registrations and null DODs."""
    dead = np.flatnonzero(people.death < w.END_DAY)
    n = dead.size
    names = [c[0] for c in w.CONDITIONS]
    k = len(names)
    has = people.conditions[dead]
    codes = CONDITION_CODE_INDEX[np.arange(k)[None, :], people.condition_code[dead]]
    other = np.array([DIAG_CODES.index(c) if c in DIAG_CODES else -1 for c in w.DEATH_OTHER_CAUSES])
    vocab = DIAG_CODES + tuple(c for c in w.DEATH_OTHER_CAUSES if c not in DIAG_CODES)
    other = np.where(other >= 0, other, len(DIAG_CODES) + np.cumsum(other < 0) - 1)
    underlying = other[rng.integers(0, other.size, n)]
    for name in reversed(_CAUSE_PRECEDENCE):  # highest precedence written last
        c = names.index(name)
        underlying = np.where(has[:, c], codes[:, c], underlying)
    contributing = np.where(has & (codes != underlying[:, None]), codes, -1)
    contributing = np.take_along_axis(
        contributing, np.argsort(contributing < 0, axis=1, kind="stable"), axis=1
    )[:, :4]
    resident_at_death = people.mover[dead] & (people.res_end[dead] == people.death[dead])
    pod = np.where(
        in_hospital[dead],
        b"hospital",
        np.where(
            resident_at_death,
            b"care_home",
            _pick(rng, ("home", "hospice", "care_home", "other"), [0.55, 0.15, 0.15, 0.15], n),
        ),
    )
    dod = people.death[dead]
    dor = dod + rng.geometric(1.0 / 6.0, n)
    # quirk: ~0.5% registered twice (a later registration), ~0.2% with no date of death
    twice = np.flatnonzero(rng.random(n) < 0.005)
    rows = np.concatenate([np.arange(n), twice])
    dor = np.concatenate([dor, dor[twice] + rng.integers(10, 200, twice.size)])
    underlying = np.concatenate([underlying, other[rng.integers(0, other.size, twice.size)]])
    dod_null = rng.random(rows.size) < 0.002
    order = np.lexsort((people.token[dead[rows]], dor))
    rows, dor, underlying, dod_null = rows[order], dor[order], underlying[order], dod_null[order]
    columns: dict[str, pa.Array] = {
        "person_id": from_bytes(people.token[dead[rows]]),
        "DOD": dates(dod[rows], mask=dod_null),
        "DOR": dates(dor),
        "CAUSE_OF_DEATH": coded(vocab, underlying),
    }
    for j, name in enumerate(CAUSE_COLUMNS):
        if j == 0:
            columns[name] = coded(vocab, underlying)
        elif j <= 4:
            columns[name] = coded(vocab, contributing[rows, j - 1])
        else:
            columns[name] = pa.nulls(rows.size, type=pa.string())
    columns["POD_TYPE"] = from_bytes(pod[rows])
    return pa.table(columns, schema=DEATHS_SCHEMA)
