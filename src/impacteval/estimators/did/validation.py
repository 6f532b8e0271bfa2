"""Input checks shared by the difference-in-differences estimators.

Messages name columns, counts and allowed values only, never row values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError, DesignError, SchemaError

WHERE = "did"


def as_list(columns: str | Sequence[str] | None) -> list[str]:
    """A column role given as one name, several names or ``None`` as a list of names."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def check_columns(data: pd.DataFrame, roles: dict[str, list[str]], *, where: str = WHERE) -> None:
    """Every named column exists; roles map a role name to its columns."""
    if not isinstance(data, pd.DataFrame):
        raise SchemaError("the data must be a pandas DataFrame", where=where,
                          hint="pass the analysis panel as a DataFrame")
    for role, cols in roles.items():
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise SchemaError(
                f"{role} column(s) {missing} not in the data ({data.shape[1]} columns)",
                where=f"{where}.{role}",
                hint="name columns that exist in the analysis panel",
            )


def numeric(data: pd.DataFrame, column: str, *, role: str, where: str = WHERE) -> np.ndarray:
    """A column as float64 (nullable and boolean columns allowed; missing -> NaN)."""
    s = data[column]
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("Float64")
    if not pd.api.types.is_numeric_dtype(s):
        raise SchemaError(
            f"column '{column}' must be numeric (found {s.dtype})",
            where=f"{where}.{role}",
            hint="convert the column to numbers before fitting",
        )
    return s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def binary(data: pd.DataFrame, column: str, *, role: str, where: str = WHERE) -> np.ndarray:
    """A 0/1 column as float64 (missing -> NaN); other values raise SchemaError."""
    x = numeric(data, column, role=role, where=where)
    ok = np.isnan(x) | (x == 0) | (x == 1)
    if not ok.all():
        raise SchemaError(
            f"column '{column}' must be 0/1 ({int((~ok).sum())} rows have other values)",
            where=f"{where}.{role}",
            hint="code the indicator as 0 (no) and 1 (yes)",
        )
    return x


def check_level(ci_level: float, *, where: str = WHERE) -> None:
    """Confidence level strictly between 0 and 1."""
    if not 0 < ci_level < 1:
        raise ConfigError(f"ci_level must be in (0, 1), got {ci_level}", where=f"{where}.ci_level",
                          hint="use e.g. 0.95")


def require(condition: bool, message: str, *, where: str, hint: str) -> None:
    """Raise DesignError unless ``condition``."""
    if not condition:
        raise DesignError(message, where=where, hint=hint)


def weights_column(data: pd.DataFrame, column: str | None, *, where: str = WHERE) -> np.ndarray:
    """Non-negative weights (all 1 when ``column`` is None); missing -> NaN."""
    if column is None:
        return np.ones(len(data))
    w = numeric(data, column, role="weights", where=where)
    if np.any(w[~np.isnan(w)] < 0):
        raise SchemaError(f"column '{column}' has negative weights", where=f"{where}.weights",
                          hint="matching weights must be >= 0")
    return w
