"""Spells -> consultant episodes (the ``apc_episodes`` contract table, DATA_CONTRACT.md §7.2)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from impacteval.data.synth import world as w
from impacteval.data.synth.arrow import coded, dates, from_bytes, ints, serial_keys
from impacteval.data.synth.population import People
from impacteval.data.synth.spells import (
    AFTER_DEATH,
    CONDITION_CODE_INDEX,
    DIAG_CODES,
    ELECTIVE,
    Spells,
    select,
)

N_DIAG = 20
N_OPERTN = 24
DIAG_COLUMNS = tuple(f"DIAG_4_{i:02d}" for i in range(1, N_DIAG + 1))
OPERTN_COLUMNS = tuple(f"OPERTN_4_{i:02d}" for i in range(1, N_OPERTN + 1))
APC_SCHEMA = pa.schema(
    [
        ("EPIKEY", pa.string()),
        ("person_id", pa.string()),
        ("PROCODE3", pa.string()),
        ("ADMIDATE", pa.date32()),
        ("EPISTART", pa.date32()),
        ("EPIEND", pa.date32()),
        ("DISDATE", pa.date32()),
        ("EPIORDER", pa.int64()),
        ("EPISTAT", pa.string()),
        ("CLASSPAT", pa.string()),
        ("ADMIMETH", pa.string()),
        ("ADMISORC", pa.string()),
        ("DISMETH", pa.string()),
        ("DISDEST", pa.string()),
        ("STARTAGE", pa.int64()),
        ("MAINSPEF", pa.string()),
        ("TRETSPEF", pa.string()),
        *[(c, pa.string()) for c in DIAG_COLUMNS],
        *[(c, pa.string()) for c in OPERTN_COLUMNS],
        ("SITETRET", pa.string()),
    ]
)
_SENTINEL_NULL = w.day(dt.date(1800, 1, 1))
_SENTINEL_INVALID = w.day(dt.date(1801, 1, 1))
#: Upper bounds (days) of the HES infant age codes 7001-7007 (nhs_routine_data.md §1.2).
_INFANT_BOUNDS = np.array([1, 7, 29, 91, 183, 274, 366])


def start_age(epistart: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """STARTAGE: whole years, or 7001-7007 for infants under one year."""
    days = np.maximum(epistart - birth, 0)
    years = np.floor(days / w.YEAR).astype(np.int64)
    infant_code = 7001 + np.searchsorted(_INFANT_BOUNDS, days, side="right")
    return np.where(days < 365, np.minimum(infant_code, 7007), years)


def _split(rng: np.random.Generator, spells: Spells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Episode index arrays: spell of each episode and its 0-based order within the spell."""
    k = spells.n_episodes.astype(np.int64)
    nights = spells.nights
    cuts = np.floor(rng.random((k.size, 3)) * (nights + 1)[:, None]).astype(np.int64)
    cuts = np.where(
        np.arange(3)[None, :] < (k - 1)[:, None], np.minimum(cuts, nights[:, None]), nights[:, None]
    )
    cuts.sort(axis=1)
    bounds = np.column_stack([np.zeros(k.size, np.int64), cuts, nights])
    spell = np.repeat(np.arange(k.size), k)
    order = np.arange(spell.size) - np.repeat(np.cumsum(k) - k, k)
    return spell, order, bounds


def episodes_table(
    rng: np.random.Generator, people: People, spells: Spells, first_key: int
) -> pa.Table:
    """Episodes of the spells that exist under the intervention, cut at the data cut.

    Spells still open at the cut: half are absent (not yet discharged, so not in a
    discharge-based extract); the other half appear with their finished episodes and an
    unfinished last episode (EPISTAT 1, no EPIEND, no DISDATE).
    """
    discharge = spells.adm + spells.nights
    open_at_cut = discharge > w.CUT_DAY
    absent = open_at_cut & (rng.random(discharge.size) < 0.5)
    keep = spells.keep & ~absent & (spells.adm <= w.CUT_DAY)
    sp = select(spells, keep)
    spell, order, bounds = _split(rng, sp)
    epistart = sp.adm[spell] + bounds[spell, order]
    epiend = sp.adm[spell] + bounds[spell, order + 1]
    last = order == sp.n_episodes[spell] - 1
    started = epistart <= w.CUT_DAY
    spell, order, epistart, epiend, last = (
        spell[started],
        order[started],
        epistart[started],
        epiend[started],
        last[started],
    )
    unfinished = epiend > w.CUT_DAY
    rows = np.lexsort((order, spell, epistart))
    spell, order, epistart, epiend, last, unfinished = (
        a[rows] for a in (spell, order, epistart, epiend, last, unfinished)
    )
    n = spell.size
    person = sp.person[spell]
    discharged = last & ~unfinished
    dismeth = np.where(discharged, sp.dismeth[spell], b"8")
    disdest = np.where(discharged, sp.disdest[spell], b"98")
    age = start_age(epistart, people.birth[person])

    # --- quirks (each well under 1% of rows) ---------------------------------------------------
    admidate = sp.adm[spell].copy()
    admidate_null = np.zeros(n, dtype=bool)
    first_nontransfer = (order == 0) & (sp.method[spell] != b"2B")
    u = rng.random(n)
    admidate_null[first_nontransfer & (u < 0.004)] = True
    admidate[first_nontransfer & (u >= 0.004) & (u < 0.006)] = _SENTINEL_NULL
    admidate[first_nontransfer & (u >= 0.006) & (u < 0.007)] = _SENTINEL_INVALID
    single = sp.n_episodes[spell] == 1
    backwards = single & ~unfinished & (rng.random(n) < 0.002)
    epiend = np.where(backwards, epistart - rng.integers(1, 31, n), epiend)

    specialty = np.where(
        (order == 0) | (rng.random(n) < 0.5),
        sp.specialty[spell],
        np.array(w.EMERGENCY_SPECIALTIES, dtype="S3")[
            rng.integers(0, len(w.EMERGENCY_SPECIALTIES), n)
        ],
    )
    tretspef = np.where(rng.random(n) < 0.9, specialty, b"300")
    provider = np.array(w.TRUSTS, dtype="S3")[sp.provider[spell]]
    site = np.char.add(
        np.char.add(provider, b"0"), np.array([b"1", b"2", b"3"])[rng.integers(0, 3, n)]
    )

    columns: dict[str, pa.Array] = {
        "EPIKEY": serial_keys(first_key, n),
        "person_id": from_bytes(people.token[person]),
        "PROCODE3": from_bytes(provider),
        "ADMIDATE": dates(admidate, mask=admidate_null),
        "EPISTART": dates(epistart),
        "EPIEND": dates(epiend, mask=unfinished),
        "DISDATE": dates(sp.adm[spell] + sp.nights[spell], mask=~discharged),
        "EPIORDER": ints(order + 1),
        "EPISTAT": from_bytes(np.where(unfinished, b"1", b"3")),
        "CLASSPAT": from_bytes(sp.classpat[spell]),
        "ADMIMETH": from_bytes(sp.method[spell]),
        "ADMISORC": from_bytes(sp.source[spell]),
        "DISMETH": from_bytes(dismeth),
        "DISDEST": from_bytes(disdest),
        "STARTAGE": ints(age),
        "MAINSPEF": from_bytes(specialty),
        "TRETSPEF": from_bytes(tretspef),
    }
    diag = _diagnoses(rng, people, sp, spell, person, age)
    for j, name in enumerate(DIAG_COLUMNS):
        columns[name] = coded(DIAG_CODES, diag[:, j])
    columns.update(_procedures(rng, sp, spell, order))
    columns["SITETRET"] = from_bytes(site)
    return pa.table(columns, schema=APC_SCHEMA)


def _diagnoses(
    rng: np.random.Generator,
    people: People,
    sp: Spells,
    spell: np.ndarray,
    person: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """(rows, 20) diagnosis code indices, -1 = empty; primary first, then comorbidities."""
    n = spell.size
    k = len(w.CONDITIONS)
    primary = sp.primary[spell].astype(np.int16)
    primary = np.where(rng.random(n) < 0.003, DIAG_CODES.index("R69X"), primary).astype(np.int16)
    years = np.where(age >= 7000, 0, age)
    p_record = np.where(years >= 50, 0.75, 0.5)
    recorded = people.conditions[person] & (rng.random((n, k)) < p_record[:, None])
    codes = CONDITION_CODE_INDEX[np.arange(k)[None, :], people.condition_code[person]].astype(
        np.int16
    )
    recorded &= codes != primary[:, None]
    n_extra = np.minimum(rng.poisson(0.4 + 0.04 * np.maximum(years - 40, 0)), 4)
    groups = np.array([DIAG_CODES.index(c) for c in w.OTHER_SECONDARY], dtype=np.int16).reshape(
        4, 5
    )
    extra = groups[np.arange(4)[None, :], rng.integers(0, 5, (n, 4))]
    extra = np.where(np.arange(4)[None, :] < n_extra[:, None], extra, -1)
    matrix = np.column_stack([primary, np.where(recorded, codes, -1), extra]).astype(np.int16)
    order = np.argsort(matrix < 0, axis=1, kind="stable")
    return np.take_along_axis(matrix, order, axis=1)[:, :N_DIAG]


def _procedures(
    rng: np.random.Generator, sp: Spells, spell: np.ndarray, order: np.ndarray
) -> dict[str, pa.Array]:
    n = spell.size
    kind = sp.kind[spell]
    elective = (kind == ELECTIVE) | (kind == AFTER_DEATH)
    count = np.where(order == 0, sp.n_procedures[spell], np.where(rng.random(n) < 0.3, 1, 0))
    pool_el = np.array(w.ELECTIVE_PROCEDURES, dtype="S4")
    pool_em = np.array(w.EMERGENCY_PROCEDURES, dtype="S4")
    out: dict[str, pa.Array] = {}
    dash = (count == 0) & (rng.random(n) < 0.005)
    for j, name in enumerate(OPERTN_COLUMNS):
        if j < 3:
            code = np.where(
                elective,
                pool_el[rng.integers(0, pool_el.size, n)],
                pool_em[rng.integers(0, pool_em.size, n)],
            )
            if j == 0:
                code = np.where(dash, b"-", code)
                out[name] = from_bytes(code, mask=(count <= j) & ~dash)
            else:
                out[name] = from_bytes(code, mask=count <= j)
        else:
            out[name] = pa.nulls(n, type=pa.string())
    return out
