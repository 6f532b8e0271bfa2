"""Synthetic care-home world with a known intervention effect (``impacteval synth-data``).

:func:`generate` writes the five contract tables plus ``settings`` as Parquet, with
``truth.json`` and ``intervention_settings.csv``. Modules: :mod:`.world` (fixed constants), :mod:`.homes` (care homes),
:mod:`.population` (people, homes, deaths), :mod:`.events` (intensities and thinning),
:mod:`.spells` and :mod:`.apc` (admissions -> episodes), :mod:`.tables` (other tables),
:mod:`.truth` (the known effect), :mod:`.arrow` (column builders and the Parquet writer).
"""

from __future__ import annotations

from impacteval.data.synth.generate import TABLES, generate

__all__ = ["TABLES", "generate"]
