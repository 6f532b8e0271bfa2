"""The estimator contract, as one function every estimator (built-in or yours) must pass.

:func:`check_estimator` fits an estimator several times on data you give it and checks what
the rest of impacteval relies on: ``fit`` never mutates its input or the estimator, gives
the same answer for the same seed, returns a complete and internally consistent
:class:`~impacteval.results.EffectEstimate` that serialises to JSON, raises an
:class:`~impacteval.exceptions.ImpactEvalError` (with ``where=``) rather than a ``KeyError``
when a role's column is missing, and, if you know the true effect, recovers it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import typing
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from impacteval.exceptions import ImpactEvalError
from impacteval.results import EffectEstimate, EffectScale

_SCALES = frozenset(typing.get_args(EffectScale))
_NUMERIC_FIELDS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")
_SEED_FIELDS = ("seed", "random_state")


class EstimatorCheckError(AssertionError):
    """An estimator broke the contract; the message lists every failed check."""

    def __init__(self, name: str, failures: Sequence[str]) -> None:
        self.failures = tuple(failures)
        lines = "\n".join(f"  - {f}" for f in self.failures)
        super().__init__(f"{name} failed {len(self.failures)} contract check(s):\n{lines}")


@dataclass(frozen=True, kw_only=True)
class CheckReport:
    """What :func:`check_estimator` checked (all passed, or it would have raised).

    Attributes
    ----------
    estimator
        ``repr`` of the estimator checked.
    passed
        Names of the checks that ran, in order.
    estimate
        The estimate from the first fit (for printing or further assertions).
    warnings
        Messages of the warnings the first fit issued (the check records them, so they do
        not leak into your test output).
    """

    estimator: str
    passed: tuple[str, ...]
    estimate: EffectEstimate
    warnings: tuple[str, ...] = ()


def _seed_field(estimator: Any) -> str | None:
    if not dataclasses.is_dataclass(estimator):
        return None
    names = {f.name for f in dataclasses.fields(estimator)}
    return next((n for n in _SEED_FIELDS if n in names), None)


def _same(a: Any, b: Any, *, rtol: float = 1e-10, path: str = "") -> str | None:
    """First difference between two JSON-like values (None if equal within ``rtol``)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            return f"{path or 'record'}: keys differ"
        for k in a:
            diff = _same(a[k], b[k], rtol=rtol, path=f"{path}.{k}" if path else str(k))
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths differ ({len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = _same(x, y, rtol=rtol, path=f"{path}[{i}]")
            if diff:
                return diff
        return None
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        if math.isclose(a, float(b), rel_tol=rtol, abs_tol=1e-12):
            return None
        return f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: values differ"


def _frame_unchanged(before: pd.DataFrame, after: pd.DataFrame) -> str | None:
    """What changed between two frames, by name only (never the values)."""
    if list(after.columns) != list(before.columns):
        added = [str(c) for c in after.columns if c not in before.columns]
        removed = [str(c) for c in before.columns if c not in after.columns]
        if added or removed:
            return f"columns added: {added}, removed: {removed}"
        return "column order changed"
    if after.shape != before.shape:
        return f"shape changed from {before.shape} to {after.shape}"
    if not after.index.equals(before.index):
        return "index changed"
    changed_types = [str(c) for c in before.columns if after[c].dtype != before[c].dtype]
    if changed_types:
        return f"dtype changed in column(s) {changed_types}"
    changed = []
    for c in before.columns:
        try:
            pd.testing.assert_series_equal(after[c], before[c], check_exact=True)
        except AssertionError:
            changed.append(str(c))
    if changed:
        return f"values changed in column(s) {changed}"
    if after.attrs != before.attrs:
        return "DataFrame.attrs changed"
    if after.flags.allows_duplicate_labels != before.flags.allows_duplicate_labels:
        return "DataFrame.flags changed"
    return None


def _completeness(est: EffectEstimate, allow_nan: Collection[str],
                  estimate_in_ci: bool) -> list[str]:
    problems: list[str] = []
    for name in ("design", "estimator", "outcome", "estimand"):
        value = getattr(est, name)
        if not isinstance(value, str) or not value:
            problems.append(f"{name} must be a non-empty string")
    if est.scale not in _SCALES:
        problems.append(f"scale {est.scale!r} is not one of {', '.join(sorted(_SCALES))}")
    values: dict[str, float] = {}
    for name in _NUMERIC_FIELDS:
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            problems.append(f"{name} must be a number, got {type(value).__name__}")
            continue
        values[name] = float(value)
        if not math.isfinite(values[name]) and name not in allow_nan:
            problems.append(f"{name} is not finite (pass allow_nan=({name!r},) if that is by design)")
    for name in ("n_treated", "n_control"):
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            problems.append(f"{name} must be a non-negative integer")
    if not (isinstance(est.ci_level, float | int) and 0 < est.ci_level < 1):
        problems.append("ci_level must lie strictly between 0 and 1")
    fin = {k: v for k, v in values.items() if math.isfinite(v)}
    if "std_error" in fin and fin["std_error"] < 0:
        problems.append("std_error is negative")
    if "p_value" in fin and not 0 <= fin["p_value"] <= 1:
        problems.append("p_value outside [0, 1]")
    lo, hi, mid = fin.get("ci_lower"), fin.get("ci_upper"), fin.get("estimate")
    if lo is not None and hi is not None and lo > hi:
        problems.append("ci_lower > ci_upper")
    if estimate_in_ci and None not in (lo, hi, mid) and not lo <= mid <= hi:  # type: ignore[operator]
        problems.append("estimate outside [ci_lower, ci_upper]")
    if est.scale in ("rate_ratio", "odds_ratio", "risk_ratio"):
        if any(v <= 0 for k, v in fin.items() if k in ("estimate", "ci_lower", "ci_upper")):
            problems.append(f"a {est.scale} and its CI must be positive")
    try:
        json.dumps(est.to_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"to_dict() is not JSON-serialisable ({type(exc).__name__})")
    try:
        tidy = est.tidy()
        if len(tidy) != 1:
            problems.append("tidy() must return one row")
    except Exception as exc:
        problems.append(f"tidy() raised {type(exc).__name__}")
    return problems


def _identifier_values(data: pd.DataFrame, limit: int = 200) -> list[str]:
    """Some text values of the data (ids, codes) that an error message must not repeat."""
    values: list[str] = []
    for col in data.columns:
        if data[col].dtype.kind in "OSUT" or isinstance(data[col].dtype, pd.StringDtype):
            for v in data[col].dropna().astype(str).unique()[:limit]:
                if len(v) >= 4 and v not in data.columns:
                    values.append(v)
    return values


def _role_columns(data: pd.DataFrame, roles: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(role, column) pairs naming a column of ``data`` (first column of list roles)."""
    out: list[tuple[str, str]] = []
    for role, value in roles.items():
        if isinstance(value, str) and value in data.columns:
            out.append((role, value))
        elif isinstance(value, list | tuple) and value and isinstance(value[0], str) \
                and value[0] in data.columns:
            out.append((role, value[0]))
    return out


def check_estimator(
    estimator: Any,
    data: pd.DataFrame,
    roles: Mapping[str, Any],
    *,
    truth: float | None = None,
    tolerance: float | None = None,
    rng_seeds: Sequence[int] = (0, 1),
    allow_nan: Collection[str] = (),
    estimate_in_ci: bool = True,
    check_missing_roles: bool = True,
) -> CheckReport:
    """Check that ``estimator`` keeps the estimator contract on ``data``.

    Checks, in order (all run; every failure is reported together):

    1. ``fit(data, **roles)`` returns an :class:`~impacteval.results.EffectEstimate`;
    2. it mutates neither ``data`` (values, dtypes, index, column order, ``attrs``), nor
       ``roles``, nor the estimator;
    3. it is deterministic: for each seed in ``rng_seeds`` (set on the estimator's ``seed``
       or ``random_state`` field when it has one; otherwise the seeds are ignored and the
       estimator must simply give the same answer twice) two fits give the same record;
    4. the record is complete: non-empty names, a valid ``scale``, finite ``estimate``,
       ``std_error``, ``ci_lower``, ``ci_upper``, ``p_value`` (except those named in
       ``allow_nan``), ``ci_lower <= estimate <= ci_upper`` (unless ``estimate_in_ci`` is
       False, for designs whose interval is centred elsewhere, such as robust
       bias-corrected RD), positive ratios, counts that are non-negative integers, a
       JSON-serialisable ``to_dict()`` and a one-row ``tidy()``;
    5. for each role naming a column (the first column of a list role), fitting without
       that column raises an :class:`~impacteval.exceptions.ImpactEvalError` with ``where``
       set (not ``KeyError``, ``TypeError`` ...) whose message repeats no text value of the
       data (identifiers, codes: messages never contain row-level values);
    6. if ``truth`` is given: ``|estimate - truth| <= tolerance``, or, without a tolerance,
       ``ci_lower <= truth <= ci_upper``.

    Parameters
    ----------
    estimator
        An estimator instance (a frozen dataclass with ``fit``).
    data
        Data to fit (small: the estimator is fitted ``2 * len(rng_seeds) + 1 + #roles`` times).
    roles
        Keyword arguments of ``fit`` (column names and other roles).
    truth, tolerance
        Known effect on the estimate's scale, and the allowed absolute error.
    rng_seeds
        Seeds for the determinism check.
    allow_nan
        Headline fields allowed to be NaN by design (e.g. ``("std_error", "ci_lower",
        "ci_upper")`` for a synthetic control whose inference is a permutation test).
    estimate_in_ci
        Require ``ci_lower <= estimate <= ci_upper``.
    check_missing_roles
        Run check 5.

    Returns
    -------
    CheckReport
        The checks that ran and the first estimate.

    Raises
    ------
    EstimatorCheckError
        (an ``AssertionError``) listing every failed check.

    Examples
    --------
    >>> from impacteval.estimators.regression import MatchedRateRatio
    >>> from impacteval.testing import simulate_matched_cohort
    >>> study = simulate_matched_cohort(1500, seed=3)
    >>> report = check_estimator(MatchedRateRatio(), study.data, study.roles,
    ...                          truth=study.truth, tolerance=0.15)
    >>> "recovers truth" in report.passed
    True
    """
    name = type(estimator).__name__
    if not callable(getattr(estimator, "fit", None)):
        raise EstimatorCheckError(name, ["has no fit method"])
    failures: list[str] = []
    passed: list[str] = []
    data_before = data.copy(deep=True)
    data_before.attrs = copy.deepcopy(data.attrs)
    roles_before = copy.deepcopy(dict(roles))
    est_before = copy.deepcopy(estimator)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            first = estimator.fit(data, **roles)
        except Exception as exc:
            raise EstimatorCheckError(
                name, [f"fit raised {type(exc).__name__}: {str(exc)[:300]}"]
            ) from exc
    warned = tuple(dict.fromkeys(str(w.message).splitlines()[0][:200] for w in caught))

    if not isinstance(first, EffectEstimate):
        raise EstimatorCheckError(name, [f"fit returned {type(first).__name__}, not EffectEstimate"])
    passed.append("returns EffectEstimate")

    diff = _frame_unchanged(data_before, data)
    (failures.append(f"fit mutated its input data ({diff})") if diff
     else passed.append("does not mutate data"))
    if dict(roles) != roles_before:
        failures.append("fit mutated the roles it was given")
    else:
        passed.append("does not mutate roles")
    try:
        same_self = est_before == estimator
    except Exception:
        same_self = repr(est_before) == repr(estimator)
    (passed.append("does not mutate the estimator") if same_self
     else failures.append("fit mutated the estimator"))

    seed_field = _seed_field(estimator)
    determinism: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        variants = ([dataclasses.replace(estimator, **{seed_field: s}) for s in rng_seeds]
                    if seed_field and rng_seeds else [estimator])
        for variant in variants:
            try:
                a = variant.fit(data, **roles).to_dict()
                b = variant.fit(data, **roles).to_dict()
            except Exception as exc:
                determinism.append(f"refit raised {type(exc).__name__}")
                continue
            d = _same(a, b)
            if d:
                label = f" with {seed_field}={getattr(variant, seed_field)}" if seed_field else ""
                determinism.append(f"two fits{label} differ at {d}")
    if determinism:
        failures.extend(f"not deterministic: {d}" for d in determinism)
    else:
        passed.append("deterministic for a seed")

    problems = _completeness(first, allow_nan, estimate_in_ci)
    failures.extend(f"incomplete result: {p}" for p in problems)
    if not problems:
        passed.append("complete result record")

    if check_missing_roles:
        role_failures: list[str] = []
        identifiers = _identifier_values(data)
        for role, column in _role_columns(data, roles):
            reduced = data.drop(columns=[column])
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    estimator.fit(reduced, **roles)
            except ImpactEvalError as exc:
                if not exc.where:
                    role_failures.append(f"missing {role} column: the error has no where=")
                text = str(exc)
                if any(v in text for v in identifiers):
                    role_failures.append(
                        f"missing {role} column: the error message repeats a value from the data"
                    )
            except Exception as exc:
                role_failures.append(
                    f"missing {role} column raised {type(exc).__name__}, not an ImpactEvalError"
                )
            else:
                role_failures.append(f"missing {role} column: fit did not raise")
        failures.extend(role_failures)
        if not role_failures:
            passed.append("clear error on a missing role column")

    if truth is not None:
        est = float(first.estimate)
        if tolerance is not None:
            ok = math.isfinite(est) and abs(est - truth) <= tolerance
            what = f"|estimate - truth| = {abs(est - truth):.4g} > tolerance {tolerance:.4g}"
        else:
            lo, hi = float(first.ci_lower), float(first.ci_upper)
            ok = math.isfinite(lo) and math.isfinite(hi) and lo <= truth <= hi
            what = f"truth {truth:.4g} outside the CI [{lo:.4g}, {hi:.4g}]"
        (passed.append("recovers truth") if ok else failures.append(f"does not recover truth: {what}"))

    if failures:
        raise EstimatorCheckError(name, failures)
    return CheckReport(estimator=repr(estimator), passed=tuple(passed), estimate=first,
                       warnings=warned)
