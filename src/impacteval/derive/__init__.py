"""Derive stage: episodes -> provider spells -> CIPS, the long event table, diagnoses, code
lists and comorbidity / frailty scores. Everything is an Ibis expression (DuckDB and Spark).

Public entry points:

* :func:`build_spells` (``impacteval.derive.spells``)
* :func:`derive_events` (``impacteval.derive.events``)
* :func:`diagnoses` (``impacteval.derive.diagnoses``)
* :func:`charlson`, :func:`frailty_syndromes`, :func:`hfrs` (``impacteval.derive.comorbidity``)
* :func:`load_codelist`, :func:`codelist_versions` (``impacteval.derive.codelists``)
"""

from __future__ import annotations

from impacteval.derive.codelists import codelist_versions, load_codelist
from impacteval.derive.comorbidity import charlson, frailty_syndromes, hfrs
from impacteval.derive.diagnoses import diagnoses
from impacteval.derive.events import EVENT_SCHEMA, EVENTS, derive_events
from impacteval.derive.spells import SPELL_SCHEMA, build_cips, build_spells

__all__ = [
    "EVENTS",
    "EVENT_SCHEMA",
    "SPELL_SCHEMA",
    "build_cips",
    "build_spells",
    "charlson",
    "codelist_versions",
    "derive_events",
    "diagnoses",
    "frailty_syndromes",
    "hfrs",
    "load_codelist",
]
