"""Covariate frames to numeric design matrices, shared by the propensity model and balance.

One rule everywhere: numeric columns pass through unchanged (nothing is standardised);
booleans become 0/1; text and categorical columns become one indicator column per level,
named ``"<column>[<level>]"``, with levels in sorted order. The propensity model drops the
first level of each (the reference category, as R's treatment contrasts do); the balance
table keeps every level (as MatchIt's ``summary()`` and cobalt do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from impacteval.exceptions import DesignError


@dataclass(frozen=True, kw_only=True)
class Encoding:
    """How a covariate frame was turned into numbers (kept so new data encode the same way).

    Attributes
    ----------
    columns
        Input column names in order.
    levels
        Categorical column -> its levels (sorted), for columns that were expanded.
    drop_first
        Whether the first level of each categorical column was dropped.
    """

    columns: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    drop_first: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", MappingProxyType(dict(self.levels)))

    @property
    def design_columns(self) -> list[str]:
        """Names of the numeric columns :meth:`transform` returns."""
        out: list[str] = []
        for col in self.columns:
            if col in self.levels:
                levels = self.levels[col][1:] if self.drop_first else self.levels[col]
                out.extend(f"{col}[{lev}]" for lev in levels)
            else:
                out.append(col)
        return out

    def transform(self, X: pd.DataFrame, *, where: str) -> np.ndarray:
        """Encode ``X`` (same columns as at fit time) into a float matrix."""
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise DesignError(
                f"covariate column(s) missing: {', '.join(missing)}",
                where=where,
                hint="pass the same covariate columns that the model was fitted on",
            )
        parts: list[np.ndarray] = []
        for col in self.columns:
            s = X[col]
            if col in self.levels:
                values = s.astype("string")
                if values.isna().any():
                    raise _missing_error(col, int(values.isna().sum()), where)
                known = set(self.levels[col])
                unknown = int((~values.isin(known)).sum())
                if unknown:
                    raise DesignError(
                        f"column {col!r} has {unknown} value(s) outside its fitted levels "
                        f"({', '.join(self.levels[col])})",
                        where=where,
                        hint="recode the column to the levels seen when fitting",
                    )
                levels = self.levels[col][1:] if self.drop_first else self.levels[col]
                arr = values.to_numpy(dtype=object)
                for lev in levels:
                    parts.append((arr == lev).astype(float))
            else:
                parts.append(_numeric(s, col, where))
        if not parts:
            return np.empty((len(X), 0))
        return np.column_stack(parts)


def _missing_error(col: str, count: int, where: str) -> DesignError:
    return DesignError(
        f"column {col!r} has {count} missing value(s)",
        where=where,
        hint="impute or drop the missing values (or add a missing-indicator category) before matching",
    )


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _numeric(s: pd.Series, col: str, where: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        if s.isna().any():
            raise _missing_error(col, int(s.isna().sum()), where)
        return s.astype(float).to_numpy()
    arr = s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise _missing_error(col, int(bad.sum()), where)
    return arr


def fit_encoding(X: pd.DataFrame, *, drop_first: bool, where: str) -> Encoding:
    """Learn the encoding of ``X`` (which columns are categorical and their levels).

    Parameters
    ----------
    X
        Covariates, one row per unit. Not modified.
    drop_first
        Drop the first (sorted) level of each categorical column.
    where
        Location named in errors (e.g. ``"matching.propensity"``).
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame of covariates")
    if X.columns.duplicated().any():
        raise DesignError("covariate names are duplicated", where=where, hint="rename the columns")
    levels: dict[str, tuple[str, ...]] = {}
    for col in X.columns:
        s = X[col]
        if _is_categorical(s):
            values = s.astype("string")
            if values.isna().any():
                raise _missing_error(str(col), int(values.isna().sum()), where)
            levels[str(col)] = tuple(sorted(values.unique().tolist()))
    return Encoding(columns=tuple(str(c) for c in X.columns), levels=levels, drop_first=drop_first)


def encode(
    X: pd.DataFrame, *, drop_first: bool, where: str
) -> tuple[np.ndarray, list[str], Encoding]:
    """Encode ``X`` as a float matrix; return (matrix, column names, encoding)."""
    enc = fit_encoding(X, drop_first=drop_first, where=where)
    return enc.transform(X, where=where), enc.design_columns, enc


def as_treatment(treated: object, n: int | None, *, where: str) -> np.ndarray:
    """Validate a treatment indicator (bool or 0/1) and return it as a bool array."""
    arr = np.asarray(treated)
    if arr.ndim != 1:
        raise DesignError("the treatment indicator must be one-dimensional", where=where)
    if n is not None and arr.shape[0] != n:
        raise DesignError(
            f"the treatment indicator has {arr.shape[0]} values but there are {n} units",
            where=where,
        )
    if arr.dtype == bool:
        out = arr.copy()
    else:
        try:
            num = arr.astype(float)
        except (TypeError, ValueError) as exc:
            raise DesignError(
                "the treatment indicator must be 0/1 or boolean", where=where
            ) from exc
        if not np.all(np.isin(num, (0.0, 1.0))):
            raise DesignError(
                "the treatment indicator must be 0/1 or boolean (found other values or missing)",
                where=where,
                hint="code treated units 1 and controls 0",
            )
        out = num == 1.0
    return out
