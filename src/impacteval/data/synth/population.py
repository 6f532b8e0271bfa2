"""Simulated people: demographics, places, latent frailty, conditions, care homes and deaths.

Three kinds of people are simulated, in this order of rows:

* the general population of all ages (persons table, most of the activity);
* care-home movers: people aged 65+ who move into a care home between 2013-01-01 and the
  data cut; their area is chosen with confounded selection (frailer and older people are
  more likely to be in the intervention area 04N);
* orphans: general-population people whose events are generated but who are left out of the
  persons table (their rows become unlinkable, DATA_CONTRACT.md §7.7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from impacteval.data.synth import world as w
from impacteval.data.synth.arrow import unique_tokens
from impacteval.data.synth.homes import Homes, assign_homes, build_homes

#: England-like age distribution at 2012-01-01 in 5-year bands from -5 (born during the
#: extract) to 100 (ONS 2011 census shape, rounded).
_AGE_BAND_WEIGHTS = np.array(
    [
        5.9,
        6.3,
        5.6,
        5.8,
        6.3,
        6.8,
        6.9,
        6.6,
        6.8,
        7.3,
        7.3,
        6.4,
        5.7,
        6.0,
        4.7,
        3.9,
        3.2,
        2.5,
        1.5,
        0.6,
        0.2,
    ]
)
SEX_CODES = ("1", "2", "9", "0")
ETHNOS_CODES = (
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "J",
    "K",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
    "Z",
    "99",
)
_ETHNOS_GENERAL = np.array(
    [80.0, 1.0, 3.0, 0.5, 0.3, 0.5, 0.4, 2.5, 2.0, 0.8, 0.8, 1.0, 1.2, 0.3, 0.4, 1.0, 0.8, 0.4]
)
_ETHNOS_MOVERS = np.array(
    [92.0, 1.0, 2.0, 0.1, 0.1, 0.1, 0.1, 1.0, 0.6, 0.2, 0.2, 0.5, 0.5, 0.1, 0.1, 0.2, 2.0, 1.0]
)


@dataclass(frozen=True)
class People:
    """All simulated people (general, movers, orphans), one entry per person."""

    n_persons: int  # rows written to the persons table (general + movers)
    token: np.ndarray  # S16
    birth: np.ndarray  # day of birth (15th of the birth month)
    sex: np.ndarray  # index into SEX_CODES
    ethnos: np.ndarray  # index into ETHNOS_CODES
    area: np.ndarray  # index into world.AREAS
    lsoa: np.ndarray  # LSOA number (E01 + 6 digits)
    imd: np.ndarray  # IMD 2019 decile, 1 = most deprived (movers: of the care home)
    rate_imd: np.ndarray  # deprivation that drives rates (movers: of where they lived before)
    gp: np.ndarray  # GP practice code number (letter from area + 5 digits)
    z: np.ndarray  # latent frailty
    conditions: np.ndarray  # (n, K) bool
    condition_code: np.ndarray  # (n, K) which code of the condition this person gets
    em_mult: np.ndarray  # multiplier of emergency / A&E intensity (mean 1 within age band)
    reg_start: np.ndarray
    reg_end: np.ndarray  # NEVER if still registered at the cut
    obs_start: np.ndarray  # first day events can happen
    obs_end: np.ndarray  # exclusive last day (death, emigration or end of data)
    death: np.ndarray  # day of death, NEVER if alive at the cut (or not observed)
    mover: np.ndarray  # bool
    orphan: np.ndarray  # bool
    move_in: np.ndarray  # day of moving in, NEVER if not a mover
    prior_em: np.ndarray  # movers: emergency admissions drawn for the year before moving in
    res_end: np.ndarray  # exclusive end of residency (death/move-out), NEVER if resident
    moved_out: np.ndarray  # bool
    home: np.ndarray  # index into Homes, -1 if not a mover
    treated: np.ndarray  # bool: moved into an intervention home
    gp_letter: np.ndarray  # index into world.AREA_GP_LETTER


def _selection_term(prior: np.ndarray) -> np.ndarray:
    """Prior-year emergency admissions as they enter selection (capped, so overlap stays)."""
    return np.minimum(prior, w.SELECTION_CAP) - 1.5


def _softmax_choice(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(size=(logits.shape[0],))
    return (u[:, None] > cum).sum(axis=1)


def _normalise_by_band(values: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Divide by the mean within 10-year age bands so age curves keep their meaning."""
    band = np.clip(age // 10, 0, 10).astype(np.int64)
    sums = np.bincount(band, weights=values, minlength=11)
    counts = np.bincount(band, minlength=11)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    return values / means[band]


def _conditions(
    rng: np.random.Generator, age: np.ndarray, z: np.ndarray, mover: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    k = len(w.CONDITIONS)
    intercept = np.array([c[2] for c in w.CONDITIONS])
    per_decade = np.array([c[3] for c in w.CONDITIONS])
    per_z = np.array([c[4] for c in w.CONDITIONS])
    bump = np.array([c[5] for c in w.CONDITIONS])
    logit = (
        intercept
        + per_decade * ((age - 75.0) / 10.0)[:, None]
        + per_z * z[:, None]
        + bump * mover[:, None]
    )
    has = rng.random((age.size, k)) < 1.0 / (1.0 + np.exp(-logit))
    n_codes = np.array([len(c[1]) for c in w.CONDITIONS])
    code = (rng.random((age.size, k)) * n_codes).astype(np.int8)
    return has, code


def build_people(
    rng: np.random.Generator, n_persons: int, part: tuple[int, int] = (0, 1)
) -> tuple[People, Homes]:
    """Simulate everybody in the synthetic world (see module docstring).

    ``part = (i, k)`` marks chunk ``i`` of ``k`` of a chunked extract: its tokens and
    SETTING_IDs come from disjoint ranges, so chunks can be written one after another.
    """
    n_mover = int(round(w.CARE_HOME_SHARE * n_persons))
    n_general = n_persons - n_mover
    n_orphan = max(1, int(round(w.ORPHAN_SHARE * n_persons)))
    n_gen_all = n_general + n_orphan  # general-population rows incl. orphans, simulated alike
    n = n_gen_all + n_mover
    mover = np.zeros(n, dtype=bool)
    mover[n_gen_all:] = True
    orphan = np.zeros(n, dtype=bool)
    orphan[n_general:n_gen_all] = True

    # --- ages and birth days -----------------------------------------------------------------
    band = rng.choice(
        _AGE_BAND_WEIGHTS.size, size=n_gen_all, p=_AGE_BAND_WEIGHTS / _AGE_BAND_WEIGHTS.sum()
    )
    age_at_start = (band - 1) * 5.0 + rng.random(n_gen_all) * 5.0
    first_born = -(w.END_DAY - 1 - w.START_DAY) / w.YEAR
    age_at_start = np.maximum(age_at_start, first_born)
    move_in = np.full(n, w.NEVER, dtype=np.int64)
    move_in[mover] = rng.integers(w.MOVE_IN_START_DAY, w.END_DAY, size=n_mover)
    age_at_move = np.clip(rng.normal(85.0, 7.5, size=n_mover), 65.2, 104.0)
    birth_float = np.empty(n)
    birth_float[:n_gen_all] = w.START_DAY - age_at_start * w.YEAR
    birth_float[mover] = move_in[mover] - age_at_move * w.YEAR
    birth = _fifteenth_of_month(birth_float)
    # conditions and multipliers use age in mid-2014 (general) or at moving in (movers)
    ref_day = np.where(mover, move_in, w.START_DAY + 2.4 * w.YEAR)
    age_ref = (ref_day - birth) / w.YEAR

    # --- latent frailty and conditions ---------------------------------------------------------
    z = rng.normal(0.0, 1.0, size=n) + 0.8 * mover
    conditions, condition_code = _conditions(rng, np.maximum(age_ref, 0.0), z, mover)
    em_effect = np.array([c[6] for c in w.CONDITIONS])
    death_effect = np.array([c[7] for c in w.CONDITIONS])
    lin_em = 0.5 * z + conditions @ em_effect
    lin_death = 0.45 * z + conditions @ death_effect
    em_mult = np.empty(n)
    death_mult = np.empty(n)
    gen = ~mover
    em_mult[gen] = _normalise_by_band(np.exp(lin_em[gen]), np.maximum(age_ref[gen], 0.0))
    death_mult[gen] = _normalise_by_band(np.exp(lin_death[gen]), np.maximum(age_ref[gen], 0.0))
    raw = np.exp(w.MOVER_SPREAD * lin_em[mover] + 0.02 * (age_ref[mover] - 85.0))
    em_mult[mover] = raw / raw.mean()
    raw = np.exp(w.MOVER_SPREAD * lin_death[mover] + 0.07 * (age_ref[mover] - 85.0))
    death_mult[mover] = raw / raw.mean()

    # --- sex and ethnicity ---------------------------------------------------------------------
    p_male = np.where(mover, 0.30, 0.494)
    sex = np.where(rng.random(n) < p_male, 0, 1).astype(np.int64)
    quirk = rng.random(n)
    sex[quirk < 0.001] = 2
    sex[(quirk >= 0.001) & (quirk < 0.0015)] = 3
    ethnos = np.where(
        mover,
        rng.choice(len(ETHNOS_CODES), size=n, p=_ETHNOS_MOVERS / _ETHNOS_MOVERS.sum()),
        rng.choice(len(ETHNOS_CODES), size=n, p=_ETHNOS_GENERAL / _ETHNOS_GENERAL.sum()),
    )

    # --- areas: general population by weight, movers with confounded selection ---------------
    area = np.empty(n, dtype=np.int64)
    area[gen] = rng.choice(
        len(w.AREAS), size=int(gen.sum()), p=w.AREA_WEIGHTS / w.AREA_WEIGHTS.sum()
    )
    zm = z[mover] - 0.8
    agem = age_ref[mover] - 85.0
    # movers' rates follow the deprivation of where they lived before the move
    rate_imd_m = np.clip(np.round(rng.normal(6.0, 2.5, n_mover)), 1, 10).astype(np.int64)
    # their prior-year emergency admissions are drawn now, so selection can depend on them
    # (events.draw_events spreads these counts over the four pre-move quarters)
    quarter_years = np.diff(w.PRE_QUARTERS) / w.YEAR
    mu_prior = (
        w.MOVER_PRE["em"]
        * float((w.MOVER_SURGE * quarter_years).sum())
        * em_mult[mover]
        * (1.0 + w.EM_DEPRIVATION_SLOPE * (5.5 - rate_imd_m))
    )
    prior_em_m = rng.poisson(mu_prior)
    logits = np.column_stack(
        [
            w.SELECTION[0] + w.SELECTION[1] * _selection_term(prior_em_m) + w.SELECTION[2] * agem,
            np.full(n_mover, 0.875),
            np.zeros(n_mover),
        ]
    )
    group = _softmax_choice(rng, logits)
    n_comp, n_other = len(w.COMPARISON_AREAS), len(w.OTHER_AREAS)
    area_m = np.where(
        group == 0,
        0,
        np.where(
            group == 1,
            1 + rng.integers(0, n_comp, n_mover),
            1 + n_comp + rng.integers(0, n_other, n_mover),
        ),
    )
    area[mover] = area_m

    # --- LSOAs, IMD and GP practices per area --------------------------------------------------
    area_pop = np.bincount(area, minlength=len(w.AREAS))
    n_lsoa = np.maximum(3, np.round(area_pop / 1500.0)).astype(np.int64)
    lsoa_numbers = rng.choice(33_768, size=int(n_lsoa.sum()), replace=n_lsoa.sum() > 33_768) + 1
    if n_lsoa.sum() > 33_768:  # very large runs: keep codes unique within E01000001..E01999999
        lsoa_numbers = rng.choice(999_999, size=int(n_lsoa.sum()), replace=False) + 1
    lsoa_area = np.repeat(np.arange(len(w.AREAS)), n_lsoa)
    lsoa_imd = np.clip(np.round(rng.normal(w.AREA_IMD_MEAN[lsoa_area], 2.2)), 1, 10).astype(
        np.int64
    )
    lsoa_first = np.concatenate([[0], np.cumsum(n_lsoa)[:-1]])
    n_gp = np.maximum(2, np.round(area_pop / 7000.0)).astype(np.int64)
    gp_numbers = rng.choice(100_000, size=int(n_gp.sum()), replace=False)
    gp_first = np.concatenate([[0], np.cumsum(n_gp)[:-1]])

    def pick(first: np.ndarray, count: np.ndarray, areas: np.ndarray) -> np.ndarray:
        return first[areas] + (rng.random(areas.size) * count[areas]).astype(np.int64)

    lsoa_idx = pick(lsoa_first, n_lsoa, area)
    gp_idx = pick(gp_first, n_gp, area)

    # --- care homes and who moves where --------------------------------------------------------
    homes = build_homes(
        rng, area_m, lsoa_first, n_lsoa, lsoa_numbers, lsoa_imd, gp_first, n_gp, part
    )
    p_nursing = 1.0 / (1.0 + np.exp(-(-0.2 + 0.8 * zm + 0.03 * agem)))
    wants_nursing = rng.random(n_mover) < p_nursing
    home_m = assign_homes(rng, homes, area_m, wants_nursing)
    home = np.full(n, -1, dtype=np.int64)
    home[mover] = home_m
    lsoa = lsoa_numbers[lsoa_idx]
    imd = lsoa_imd[lsoa_idx]
    gp = gp_numbers[gp_idx]
    lsoa[mover] = homes.lsoa[home_m]
    rate_imd = imd.copy()
    rate_imd[mover] = rate_imd_m
    imd[mover] = homes.imd[home_m]
    prior_em = np.zeros(n, dtype=np.int64)
    prior_em[mover] = prior_em_m
    gp[mover] = gp_numbers[homes.gp[home_m]]
    gp_letter = area.copy()
    treated = np.zeros(n, dtype=bool)
    treated[mover] = homes.intervention[home_m]

    # --- registration, deaths, moving out -------------------------------------------------------
    reg_start = np.maximum(birth, rng.integers(w.day(dt.date(1995, 1, 1)), w.START_DAY, size=n))
    late = (rng.random(n) < 0.05) & gen
    reg_start[late] = rng.integers(w.START_DAY, w.END_DAY, size=int(late.sum()))
    reg_start = np.maximum(reg_start, birth)
    obs_start = np.maximum(reg_start, w.START_DAY)
    emigrate = obs_start + (rng.exponential(1.0 / 0.01, size=n) * w.YEAR).astype(np.int64)
    emigrate[mover] = w.NEVER
    death = np.full(n, w.NEVER, dtype=np.int64)
    death[gen] = _general_deaths(rng, birth[gen], obs_start[gen], death_mult[gen])
    hazard = w.MOVER_DEATH * death_mult[mover]
    death[mover] = move_in[mover] + (rng.exponential(1.0, n_mover) / hazard * w.YEAR).astype(
        np.int64
    )
    move_out = np.full(n, w.NEVER, dtype=np.int64)
    move_out[mover] = (
        move_in[mover]
        + 1
        + (rng.exponential(1.0 / w.MOVER_MOVE_OUT, n_mover) * w.YEAR).astype(np.int64)
    )
    # deaths abroad after emigration are not registered; deaths after the cut are unknown
    death = np.where((emigrate < death) | (death >= w.END_DAY), w.NEVER, death)
    reg_end = np.where(emigrate < w.END_DAY, emigrate, w.NEVER)
    reg_end = np.minimum(reg_end, death)
    obs_end = np.minimum(np.minimum(death, reg_end), w.END_DAY)
    res_end = np.minimum(death, move_out)
    res_end = np.where(res_end < w.END_DAY, res_end, w.NEVER)
    res_end[~mover] = w.NEVER
    moved_out = mover & (move_out < w.END_DAY) & (move_out < death)

    people = People(
        n_persons=n_persons,
        token=unique_tokens(rng, n, part),
        birth=birth,
        sex=sex,
        ethnos=ethnos,
        area=area,
        lsoa=lsoa,
        imd=imd,
        rate_imd=rate_imd,
        gp=gp,
        z=z,
        conditions=conditions,
        condition_code=condition_code,
        em_mult=em_mult,
        reg_start=reg_start,
        reg_end=reg_end,
        obs_start=obs_start,
        obs_end=obs_end,
        death=death,
        mover=mover,
        orphan=orphan,
        move_in=move_in,
        prior_em=prior_em,
        res_end=res_end,
        moved_out=moved_out,
        home=home,
        treated=treated,
        gp_letter=gp_letter,
    )
    return people, homes


def _fifteenth_of_month(days: np.ndarray) -> np.ndarray:
    """Round days to the 15th of their month (MYDOB carries month and year only)."""
    months = np.floor(days).astype("datetime64[D]").astype("datetime64[M]")
    return (months.astype("datetime64[D]") + np.timedelta64(14, "D")).astype(np.int64)


def _general_deaths(
    rng: np.random.Generator, birth: np.ndarray, obs_start: np.ndarray, mult: np.ndarray
) -> np.ndarray:
    """Death day from piecewise-constant (calendar-year) Gompertz-like hazards; NEVER if none."""
    exposure = rng.exponential(1.0, size=birth.size)
    death = np.full(birth.size, w.NEVER, dtype=np.int64)
    cum = np.zeros(birth.size)
    for lo, hi in zip(w.YEAR_BOUNDS[:-1], w.YEAR_BOUNDS[1:], strict=True):
        start = np.clip(np.maximum(lo, obs_start), lo, hi)
        length = (hi - start) / w.YEAR
        age = np.maximum(((start + hi) / 2.0 - birth) / w.YEAR, 0.0)
        h = np.exp(np.interp(age, w.MORT_KNOTS, np.log(w.MORT_HAZARD))) * mult
        new_cum = cum + h * length
        hit = (death == w.NEVER) & (new_cum >= exposure) & (length > 0)
        frac = (exposure[hit] - cum[hit]) / (h[hit] * length[hit])
        death[hit] = start[hit] + np.floor(frac * (hi - start[hit])).astype(np.int64)
        cum = new_cum
    return death
