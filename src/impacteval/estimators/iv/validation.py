"""Checks of the data and roles given to the instrumental-variables estimator.

Every failure raises :class:`~impacteval.exceptions.DesignError` naming the column(s) and
counts involved, never a row-level value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from impacteval.exceptions import DesignError

WHERE = "estimators.instrumental_variables"

# A column whose part not explained by the covariates has a norm below this fraction of its
# own (centred) norm is treated as collinear with them.
_COLLINEAR_TOL = 1e-8


def check_roles(
    *,
    outcome: str,
    treatment: str,
    instruments: Sequence[str],
    covariates: Sequence[str],
    cluster: str | None,
    cov_type: str,
) -> None:
    """Check that the roles are consistent before any data are touched."""
    if isinstance(instruments, str) or isinstance(covariates, str):
        raise DesignError(
            "instruments and covariates must be sequences of column names, not a string",
            where=WHERE,
            hint="pass a list, e.g. instruments=['distance_km']",
        )
    n_endog = 1
    if len(instruments) < n_endog:
        raise DesignError(
            f"fewer instruments ({len(instruments)}) than endogenous regressors ({n_endog}): "
            "the effect is not identified",
            where=f"{WHERE}.instruments",
            hint="name at least one excluded instrument (a variable that moves the treatment "
            "but affects the outcome only through it)",
        )
    roles: dict[str, list[str]] = {}
    for role, names in (
        ("outcome", [outcome]),
        ("treatment", [treatment]),
        ("instruments", list(instruments)),
        ("covariates", list(covariates)),
    ):
        for name in names:
            roles.setdefault(name, []).append(role)
    clashes = {name: r for name, r in roles.items() if len(r) > 1}
    if clashes:
        desc = "; ".join(f"{name!r} is {' and '.join(r)}" for name, r in sorted(clashes.items()))
        raise DesignError(
            f"a column has more than one role: {desc}",
            where=WHERE,
            hint="give each column one role; an instrument must not also be a covariate, the "
            "treatment or the outcome, and must not be listed twice",
        )
    if cov_type == "clustered" and cluster is None:
        raise DesignError(
            "cov_type='clustered' needs a cluster column",
            where=f"{WHERE}.cluster",
            hint="pass cluster='<column>' (e.g. the GP practice or area code)",
        )
    if cov_type != "clustered" and cluster is not None:
        raise DesignError(
            f"a cluster column was given but cov_type is {cov_type!r}",
            where=f"{WHERE}.cluster",
            hint="use cov_type='clustered' for cluster-robust inference, or drop cluster",
        )


def check_columns(data: pd.DataFrame, numeric: Sequence[str], cluster: str | None) -> None:
    """Missing columns, non-numeric columns and missing values."""
    wanted = [*numeric, *([cluster] if cluster is not None else [])]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise DesignError(
            f"column(s) not in the data: {', '.join(repr(c) for c in missing)}",
            where=WHERE,
            hint="check the spelling of the outcome, treatment, instrument, covariate and "
            "cluster names against the analysis table",
        )
    not_numeric = [
        c
        for c in numeric
        if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))
    ]
    if not_numeric:
        raise DesignError(
            f"column(s) must be numeric: {', '.join(repr(c) for c in not_numeric)}",
            where=WHERE,
            hint="encode categories as 0/1 indicator columns before fitting",
        )
    counts = {c: int(data[c].isna().sum()) for c in wanted}
    for c in numeric:
        values = data[c].to_numpy(dtype=float, na_value=np.nan)
        counts[c] += int(np.isinf(values).sum())
    bad = {c: k for c, k in counts.items() if k}
    if bad:
        desc = ", ".join(f"{c!r} ({k} rows)" for c, k in bad.items())
        raise DesignError(
            f"missing or infinite values in {desc}",
            where=WHERE,
            hint="drop or impute these rows before fitting; the estimator does not drop rows "
            "silently",
        )


def check_design(
    *,
    treatment: np.ndarray,
    instruments: np.ndarray,
    instrument_names: Sequence[str],
    exog: np.ndarray,
    covariate_names: Sequence[str],
    clusters: np.ndarray | None,
) -> None:
    """Constant or collinear instruments, collinear covariates, too few rows or clusters."""
    n = exog.shape[0]
    k = exog.shape[1] + instruments.shape[1]
    if n <= k + 1:
        raise DesignError(
            f"{n} rows is too few for {k + 1} regressors",
            where=WHERE,
            hint="use fewer covariates or instruments, or more data",
        )
    if np.ptp(treatment) == 0:
        raise DesignError(
            "the treatment column is constant",
            where=f"{WHERE}.treatment",
            hint="the treatment must vary for its effect to be estimated",
        )
    for j, name in enumerate(instrument_names):
        if np.ptp(instruments[:, j]) == 0:
            raise DesignError(
                f"instrument {name!r} is constant",
                where=f"{WHERE}.instruments",
                hint="a constant is absorbed by the intercept; choose an instrument that varies",
            )
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise DesignError(
            "the covariates are collinear (with each other or with the intercept)",
            where=f"{WHERE}.covariates",
            hint="drop redundant covariates (e.g. one level of each set of indicators)",
        )
    qw, _ = np.linalg.qr(exog)
    resid = instruments - qw @ (qw.T @ instruments)
    centred = instruments - instruments.mean(axis=0)
    for j, name in enumerate(instrument_names):
        if np.linalg.norm(resid[:, j]) <= _COLLINEAR_TOL * np.linalg.norm(centred[:, j]):
            raise DesignError(
                f"instrument {name!r} is collinear with the covariates "
                f"({', '.join(repr(c) for c in covariate_names) or 'intercept'})",
                where=f"{WHERE}.instruments",
                hint="an instrument must carry variation the covariates do not; drop it or "
                "the covariate it duplicates",
            )
    if np.linalg.matrix_rank(resid) < resid.shape[1]:
        raise DesignError(
            "the instruments are collinear with each other (given the covariates)",
            where=f"{WHERE}.instruments",
            hint="drop instruments that are linear combinations of the others",
        )
    if clusters is not None:
        g = np.unique(clusters).shape[0]
        need = instruments.shape[1] + 2
        if g < need:
            raise DesignError(
                f"{g} clusters is too few for cluster-robust inference with "
                f"{instruments.shape[1]} instrument(s) (need at least {need})",
                where=f"{WHERE}.cluster",
                hint="cluster on a coarser grouping with more groups, or use cov_type='robust'",
            )
