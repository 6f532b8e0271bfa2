"""The list of intervention settings (care homes) named in the cohort spec."""

from __future__ import annotations

import csv
from pathlib import Path

from impacteval.config.models import CohortSpec
from impacteval.exceptions import ConfigError

SETTING_ID_COLUMN = "SETTING_ID"


def intervention_settings(spec: CohortSpec) -> list[str]:
    """SETTING_IDs of the intervention settings: ``treated_settings`` plus the file's IDs.

    Parameters
    ----------
    spec
        Cohort spec; ``treated_settings_file`` (if set) is a CSV with a ``SETTING_ID`` column.
        IDs are read as strings, surrounding blanks stripped, empty cells ignored.

    Returns
    -------
    list[str]
        Sorted, de-duplicated IDs.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, has no ``SETTING_ID`` column, or the combined
        list is empty.
    """
    ids = {s.strip() for s in spec.treated_settings if s.strip()}
    if spec.treated_settings_file is not None:
        ids |= _read_ids(Path(spec.treated_settings_file))
    if not ids:
        raise ConfigError(
            "no intervention settings are named",
            where="cohort.treated_settings",
            hint="list SETTING_IDs in cohort.treated_settings or in the treated_settings_file CSV",
        )
    return sorted(ids)


def _read_ids(path: Path) -> set[str]:
    where = "cohort.treated_settings_file"
    if not path.is_file():
        raise ConfigError(
            f"file not found: {path.name}",
            where=where,
            hint="give the path of a CSV with a SETTING_ID column (relative to the config file)",
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if SETTING_ID_COLUMN not in header:
                raise ConfigError(
                    f"{path.name} has no {SETTING_ID_COLUMN} column (found {len(header)} columns)",
                    where=where,
                    hint=f"add a header row with a column named {SETTING_ID_COLUMN}",
                )
            return {
                (row.get(SETTING_ID_COLUMN) or "").strip()
                for row in reader
                if (row.get(SETTING_ID_COLUMN) or "").strip()
            }
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(
            f"cannot read {path.name}: {type(exc).__name__}",
            where=where,
            hint="save the file as UTF-8 CSV with a SETTING_ID header",
        ) from exc
