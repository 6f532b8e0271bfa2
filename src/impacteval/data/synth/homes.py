"""Care homes (the ``settings`` of a care-home design) and who moves into which."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impacteval.data.synth import world as w


@dataclass(frozen=True)
class Homes:
    """Care homes (settings): one entry per home."""

    setting_id: np.ndarray  # S11 bytes, "1-" + 9 digits (CQC-location-like)
    area: np.ndarray  # index into world.AREAS
    nursing: np.ndarray  # bool
    beds: np.ndarray  # int64
    rural: np.ndarray  # bool
    intervention: np.ndarray  # bool
    lsoa: np.ndarray  # LSOA number of the home
    imd: np.ndarray  # IMD decile of the home's LSOA
    gp: np.ndarray  # index of the GP practice the home is aligned with


def build_homes(
    rng: np.random.Generator,
    mover_area: np.ndarray,
    lsoa_first: np.ndarray,
    n_lsoa: np.ndarray,
    lsoa_numbers: np.ndarray,
    lsoa_imd: np.ndarray,
    gp_first: np.ndarray,
    n_gp: np.ndarray,
    part: tuple[int, int] = (0, 1),
) -> Homes:
    """Care homes per area (about MOVERS_PER_HOME movers each, at least two: one nursing,
    one residential); in 04N most are intervention homes.

    ``part = (i, k)``: the ``i``-th of ``k`` chunks takes its SETTING_IDs from the ``i``-th
    of ``k`` disjoint ranges, so chunks never share a setting.
    """
    n_area = len(w.AREAS)
    expected = np.bincount(mover_area, minlength=n_area)
    n_homes = np.maximum(2, np.round(expected / w.MOVERS_PER_HOME)).astype(np.int64)
    area = np.repeat(np.arange(n_area), n_homes)
    first = np.concatenate([[0], np.cumsum(n_homes)[:-1]])
    position = np.arange(area.size) - first[area]
    nursing = np.where(
        position == 0, True, np.where(position == 1, False, rng.random(area.size) < 0.45)
    )
    beds = np.where(
        nursing,
        rng.lognormal(np.log(52.0), 0.35, area.size),
        rng.lognormal(np.log(30.0), 0.4, area.size),
    )
    beds = np.clip(np.round(beds), 6, 150).astype(np.int64)
    rural = rng.random(area.size) < w.AREA_RURAL[area]
    intervention = np.zeros(area.size, dtype=bool)
    in_04n = np.flatnonzero(area == 0)
    n_non = max(1, int(round((1 - w.INTERVENTION_HOME_SHARE) * in_04n.size)))
    intervention[rng.permutation(in_04n)[n_non:]] = True
    lsoa_idx = lsoa_first[area] + (rng.random(area.size) * n_lsoa[area]).astype(np.int64)
    gp_idx = gp_first[area] + (rng.random(area.size) * n_gp[area]).astype(np.int64)
    i, k = part
    span = 900_000_000 // k
    ids = rng.choice(span, size=area.size, replace=False) + 100_000_000 + i * span
    setting_id = np.char.add(b"1-", ids.astype("S9"))
    return Homes(
        setting_id=setting_id,
        area=area,
        nursing=nursing,
        beds=beds,
        rural=rural,
        intervention=intervention,
        lsoa=lsoa_numbers[lsoa_idx],
        imd=lsoa_imd[lsoa_idx],
        gp=gp_idx,
    )


def assign_homes(
    rng: np.random.Generator, homes: Homes, area: np.ndarray, nursing: np.ndarray
) -> np.ndarray:
    """Each mover gets a home of the wanted type in their area, chosen in proportion to beds."""
    out = np.empty(area.size, dtype=np.int64)
    u = rng.random(area.size)
    for a in range(len(w.AREAS)):
        for kind in (True, False):
            who = np.flatnonzero((area == a) & (nursing == kind))
            if who.size == 0:
                continue
            cand = np.flatnonzero((homes.area == a) & (homes.nursing == kind))
            cum = np.cumsum(homes.beds[cand]) / homes.beds[cand].sum()
            out[who] = cand[np.minimum(np.searchsorted(cum, u[who], side="right"), cand.size - 1)]
    return out
