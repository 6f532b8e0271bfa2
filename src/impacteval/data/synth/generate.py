"""Entry point: :func:`generate` writes the synthetic extract and its truth."""

from __future__ import annotations

import copy
import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from impacteval.data.synth import world as w
from impacteval.data.synth.apc import episodes_table
from impacteval.data.synth.arrow import write_parquet
from impacteval.data.synth.events import draw_events, draw_terminal_admissions
from impacteval.data.synth.population import build_people
from impacteval.data.synth.spells import EM, TERMINAL, TRANSFER, build_spells, select
from impacteval.data.synth.tables import (
    ae_table,
    deaths_table,
    op_table,
    persons_table,
    settings_table,
)
from impacteval.data.synth.truth import compute_truth
from impacteval.exceptions import ConfigError

TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")
MIN_PERSONS = 500


def generate(
    n_persons: int,
    seed: int,
    out: Path,
    *,
    rate_ratio: float = 0.75,
    progress: bool = False,
    chunk_persons: int | None = None,
) -> dict[str, Any]:
    """Write a synthetic extract with a known effect of a care-home intervention.

    The fixed world (``docs/dev/interfaces.md``, "Synthetic data"): data from 2012-01-01 to
    the cut 2016-08-31; people aged 65+ move into care homes from 2013-01-01; the
    intervention settings are most care homes in area ``04N``; comparison areas are
    ``03W 04C 10X 06H 06Q 99E``; other areas are neither. While a treated person lives in an
    intervention home, their intensity of emergency admissions (incl. avoidable ones) and
    A&E attendances is ``rate_ratio`` times what it would have been; elective admissions,
    outpatient attendances and death are unaffected.

    Parameters
    ----------
    n_persons
        Rows of the persons table (about 6% are care-home movers); at least 500.
    seed
        Seed of the only random generator used; the same seed gives byte-identical files.
    out
        Folder to write (created if missing; files of the same names are replaced).
    rate_ratio
        Multiplier of the affected intensities, in (0, 1].
    progress
        Print stage timings and row counts to stderr.
    chunk_persons
        Write the extract in chunks of at most this many persons, so memory stays that of one
        chunk (about 3 GB per million persons) however large ``n_persons`` is. Each table is
        then a folder of Parquet files (``out/<table>/part-00000.parquet``, ...), which the
        readers accept in place of a file. Chunks are independent draws of the same world
        (seeded from ``seed`` and the chunk number) with disjoint tokens, SETTING_IDs and
        record keys; the extract differs from an unchunked one of the same seed. ``None``
        (default) or ``chunk_persons >= n_persons`` writes one file per table.

    Returns
    -------
    dict
        The truth mapping also written to ``out/truth.json``: ``outcomes`` (per outcome
        ``scale``, ``value``, ``note``), ``seed``, ``n_persons``, ``data_cut``, ``rate_ratio``,
        ``world`` and ``sample`` (counterfactual and observed counts in treated follow-up).

    Raises
    ------
    ConfigError
        If ``n_persons`` is below 500, ``seed`` is negative or ``rate_ratio`` is outside (0, 1].

    Examples
    --------
    >>> truth = generate(60_000, 2017, Path("data/demo"))  # doctest: +SKIP
    >>> truth["outcomes"]["emergency_admissions"]  # doctest: +SKIP
    {'scale': 'rate_ratio', 'value': 0.75, 'note': '...'}
    """
    _validate(n_persons, seed, rate_ratio)
    if chunk_persons is not None and (isinstance(chunk_persons, bool) or chunk_persons < MIN_PERSONS):
        raise ConfigError(
            f"chunks need at least {MIN_PERSONS} persons each", where="synth.chunk_persons",
            hint="use --chunk-persons 1000000 (about 3 GB of memory per chunk)",
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock = _Clock(progress)
    n_chunks = 1 if chunk_persons is None else -(-int(n_persons) // int(chunk_persons))
    if n_chunks == 1:
        rng = np.random.default_rng(seed)
        chunk = _write_chunk(rng, int(n_persons), float(rate_ratio), lambda t: out / f"{t}.parquet",
                             None, (0, 1), clock)
        truth, world, intervention = chunk.truth, chunk.world, chunk.intervention
    else:
        keys = np.random.default_rng(seed).integers(10**11, 5 * 10**11, size=3)
        for table in TABLES:
            (out / table).mkdir(exist_ok=True)
            for old in (out / table).glob("part-*.parquet"):
                old.unlink()
        sizes = np.diff(np.linspace(0, int(n_persons), n_chunks + 1).round().astype(np.int64))
        parts: list[_Chunk] = []
        for i, size in enumerate(sizes):
            rng = np.random.default_rng([int(seed), i])
            chunk = _write_chunk(rng, int(size), float(rate_ratio),
                                 functools.partial(_part_path, out, i), keys, (i, n_chunks), clock)
            keys = keys + np.array(chunk.key_rows)
            parts.append(chunk)
            clock.tick(f"chunk {i + 1}/{n_chunks}", int(size))
        truth = _merge_truth([p.truth for p in parts])
        world = {k: sum(p.world[k] for p in parts) for k in parts[0].world}
        world["chunks"] = n_chunks
        intervention = np.sort(np.concatenate([p.intervention for p in parts]))

    (out / "intervention_settings.csv").write_text(
        "SETTING_ID\n" + "".join(s.decode() + "\n" for s in intervention), encoding="utf-8"
    )
    truth.update(
        {
            "seed": int(seed),
            "n_persons": int(n_persons),
            "world": {
                "data_start": w.DATA_START.isoformat(),
                "move_in_window": [w.MOVE_IN_START.isoformat(), w.MOVE_IN_END.isoformat()],
                "intervention_area": w.INTERVENTION_AREA,
                "comparison_areas": list(w.COMPARISON_AREAS),
                "other_areas": list(w.OTHER_AREAS),
                **world,
            },
        }
    )
    (out / "truth.json").write_text(
        json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    clock.tick("done", 0)
    return truth


@dataclass(frozen=True)
class _Chunk:
    """What one chunk of the world leaves behind once its tables are written."""

    truth: dict[str, Any]
    world: dict[str, int]
    intervention: np.ndarray  # SETTING_IDs of its intervention homes
    key_rows: tuple[int, int, int]  # rows that used serial keys: APC, A&E, OP


def _write_chunk(
    rng: np.random.Generator,
    n_persons: int,
    rate_ratio: float,
    path: Callable[[str], Path],
    keys: np.ndarray | None,
    part: tuple[int, int],
    clock: _Clock,
) -> _Chunk:
    """Simulate ``n_persons`` and write their rows of every table to ``path(table)``.

    ``keys`` (EPIKEY, AEKEY, ATTENDKEY starts) are drawn from ``rng`` when ``None``.
    """
    people, homes = build_people(rng, n_persons, part)
    clock.tick("people", int(people.token.size))
    draws = draw_events(rng, people, rate_ratio)
    terminal = draw_terminal_admissions(rng, people, rate_ratio)
    spells = build_spells(rng, people, draws["em"], terminal, draws["el"])
    clock.tick("events", int(spells.person.size))
    truth = compute_truth(people, spells, draws["ae"], draws["op"], rate_ratio)

    drawn = rng.integers(10**11, 5 * 10**11, size=3)
    keys = drawn if keys is None else keys
    apc = episodes_table(rng, people, spells, int(keys[0]))
    write_parquet(apc, path("apc_episodes"))
    clock.tick("apc_episodes", apc.num_rows)
    rows = [apc.num_rows]
    del apc

    kept = select(spells, spells.keep)
    via_ae = ((kept.kind == EM) | (kept.kind == TERMINAL)) & (kept.method == b"21")
    admitted = (kept.person[via_ae], kept.adm[via_ae], kept.provider[via_ae])
    ae = draws["ae"]
    ae_tab = ae_table(rng, people, admitted, (ae.person[ae.keep], ae.day[ae.keep]), int(keys[1]))
    write_parquet(ae_tab, path("ae_attendances"))
    clock.tick("ae_attendances", ae_tab.num_rows)
    rows.append(ae_tab.num_rows)
    del ae_tab

    op_tab = op_table(rng, people, draws["op"].person, draws["op"].day, int(keys[2]))
    write_parquet(op_tab, path("op_appointments"))
    clock.tick("op_appointments", op_tab.num_rows)
    rows.append(op_tab.num_rows)
    del op_tab

    in_hospital = np.zeros(people.token.size, dtype=bool)
    in_hospital[kept.person[kept.kind == TERMINAL]] = True
    for name, table in (
        ("deaths", deaths_table(rng, people, in_hospital)),
        ("persons", persons_table(rng, people)),
        ("settings", settings_table(people, homes)),
    ):
        write_parquet(table, path(name))
        clock.tick(name, table.num_rows)

    return _Chunk(
        truth=truth,
        world={
            "n_settings": int(homes.area.size),
            "n_intervention_settings": int(homes.intervention.sum()),
            "transfer_spells": int((spells.kind == TRANSFER).sum()),
        },
        intervention=homes.setting_id[homes.intervention],
        key_rows=(rows[0], rows[1], rows[2]),
    )


def _part_path(out: Path, i: int, table: str) -> Path:
    return out / table / f"part-{i:05d}.parquet"


def _merge_truth(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One truth mapping for a chunked extract: counts add up; bed days' value is the
    counterfactual-nights-weighted mean of the chunks' values."""
    merged = copy.deepcopy(parts[0])
    sample = merged["sample"]
    sample["n_treated"] = sum(p["sample"]["n_treated"] for p in parts)
    sample["treated_person_years"] = round(sum(p["sample"]["treated_person_years"] for p in parts), 6)
    for kind in ("counterfactual", "observed"):
        for name in sample[kind]:
            sample[kind][name] = sum(p["sample"][kind][name] for p in parts)
    nights = [p["sample"]["counterfactual"]["bed_days"] for p in parts]
    values = [p["outcomes"]["bed_days"]["value"] for p in parts]
    if sum(nights) > 0:
        merged["outcomes"]["bed_days"]["value"] = round(
            sum(n * v for n, v in zip(nights, values, strict=True) if v is not None) / sum(nights), 6
        )
    return merged


def _validate(n_persons: int, seed: int, rate_ratio: float) -> None:
    if (
        isinstance(n_persons, bool)
        or not isinstance(n_persons, int | np.integer)
        or n_persons < MIN_PERSONS
    ):
        raise ConfigError(
            f"needs a whole number of persons of at least {MIN_PERSONS}",
            where="synth.n_persons",
            hint=f"use --persons {MIN_PERSONS} or more (the demo uses 60000)",
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(
            "the seed must be a non-negative whole number",
            where="synth.seed",
            hint="use e.g. --seed 2017",
        )
    if not (0.0 < float(rate_ratio) <= 1.0):
        raise ConfigError(
            "the rate ratio must be in (0, 1]: the effect is applied by thinning events",
            where="synth.rate_ratio",
            hint="use a value such as 0.75 (a 25% reduction) or 1.0 (no effect)",
        )


class _Clock:
    """Stage timings for ``progress=True`` (counts only, never row values)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()

    def tick(self, stage: str, rows: int) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            print(f"synth: {stage:<16} {rows:>12,d} rows  {elapsed:7.1f} s", file=sys.stderr)


__all__ = ["TABLES", "generate"]
