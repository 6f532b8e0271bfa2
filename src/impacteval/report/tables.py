"""Released tables: the result records after disclosure control, ready to write and render.

Each ``release_*`` function takes one record of an
:class:`~impacteval.results.EvaluationResult` and returns a :class:`ReleasedTable`: the table
after :func:`~impacteval.report.sdc.apply_sdc`, which of its columns hold counts (for
``tables/_sdc.json`` and :func:`~impacteval.report.checks.check_outputs`) and the SDC log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from impacteval.exceptions import DisclosureError
from impacteval.report.sdc import (
    ColumnTotal,
    DisclosureRegime,
    RateColumn,
    RowTotal,
    apply_sdc,
    is_count_name,
)
from impacteval.results import EffectEstimate, EvaluationResult

__all__ = [
    "ReleasedTable",
    "absolute_difference",
    "absolute_difference_ci",
    "estimate_rows",
    "release_estimate_details",
    "is_naive",
    "release_attrition",
    "release_balance",
    "release_estimates",
    "release_figure_data",
    "release_mapping",
    "release_outcome_summary",
    "release_report_counts",
    "release_table_one",
    "release_tables",
]

#: Column names that identify people or records; never released outside ``private/``.
_IDENTIFIER_NAMES = frozenset(
    {"person_id", "patient_id", "nhs_number", "token_person_id", "hesid", "encrypted_hesid"}
)
_SCORE_COLUMNS = ("logit", "propensity", "score", "distance", "ps")
_TABLE_ONE_COLUMNS = ("treated_before", "control_before", "treated_after", "control_after")
_TABLE_ONE_COUNT_STATS = ("n", "count")


@dataclass(frozen=True)
class ReleasedTable:
    """A table after disclosure control.

    Attributes
    ----------
    name
        File stem (``tables/<name>.csv`` or ``figures/<name>.csv``).
    frame
        The released table; counts are numbers or the suppression label.
    count_columns
        Columns holding counts (checked by ``check_outputs``).
    midpoint6_columns
        Columns holding midpoint-6 rounded counts.
    count_rows
        If set, ``count_columns`` hold counts only in rows where ``frame[column]`` is one of
        the listed values (Table 1: the ``n`` rows); other rows hold means or percentages.
    log
        The SDC log entries for this table.
    """

    name: str
    frame: pd.DataFrame
    count_columns: tuple[str, ...] = ()
    midpoint6_columns: tuple[str, ...] = ()
    count_rows: Mapping[str, tuple[str, ...]] | None = None
    log: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def sdc_record(self) -> dict[str, Any]:
        """The entry for this table in ``_sdc.json``."""
        return {
            "count_columns": list(self.count_columns),
            "midpoint6_columns": list(self.midpoint6_columns),
            "count_rows": (
                {k: list(v) for k, v in self.count_rows.items()} if self.count_rows else None
            ),
        }


def _reject_identifiers(df: pd.DataFrame, name: str) -> None:
    bad = [c for c in df.columns if str(c).lower() in _IDENTIFIER_NAMES]
    if bad:
        raise DisclosureError(
            f"table {name!r} has identifier column(s) {bad}; identifiers are never released",
            where=f"report.{name}",
            hint="put row-level artefacts in EvaluationResult.private",
        )


def _released(
    name: str,
    df: pd.DataFrame,
    counts: Sequence[str],
    regime: DisclosureRegime,
    *,
    rate_columns: Mapping[str, RateColumn] | None = None,
    margins: Sequence[RowTotal] = (),
) -> ReleasedTable:
    _reject_identifiers(df, name)
    safe, log = apply_sdc(
        df, counts, regime, rate_columns=rate_columns, margins=margins, table=name
    )
    mp6 = tuple(c for c in safe.columns if str(c).endswith("_midpoint6"))
    counts_left = tuple(c for c in counts if c in safe.columns)
    return ReleasedTable(name, safe, counts_left, mp6, None, tuple(log))


def release_attrition(attrition: pd.DataFrame, regime: DisclosureRegime) -> ReleasedTable:
    """Participant flow (``step, description, n_treated, n_control[, n_total]``) after SDC.

    When an ``n_total`` column is present it is treated as a released row total of
    ``n_treated + n_control`` for secondary suppression.
    """
    counts = [c for c in attrition.columns if is_count_name(str(c))]
    margins = []
    if {"n_total", "n_treated", "n_control"} <= set(attrition.columns):
        margins.append(RowTotal("n_total", ("n_treated", "n_control")))
    return _released("attrition", attrition, counts, regime, margins=margins)


def release_table_one(table_one: pd.DataFrame, regime: DisclosureRegime) -> ReleasedTable:
    """Table 1 before and after matching, after SDC.

    Rows with ``statistic`` ``n`` or ``count`` (or ``covariate`` ``n``) are counts and are
    suppressed/rounded; their ``statistic`` is written as ``n``. A
    ``percent`` row implies a count (``percent / 100 * n`` of its column): that count is
    suppressed/rounded and the percentage recomputed from the rounded count and rounded ``n``.
    A ``proportion`` row is handled the same way (shown to three decimals), and so is a ``mean``
    row whose values all lie in [0, 1]: it may be the mean of a 0/1 indicator, which would
    reveal a count (over-cautious for a continuous covariate on [0, 1], never unsafe); such
    rows are relabelled ``proportion``. Other
    ``mean`` rows are suppressed when their column's ``n`` is suppressed.

    Rows sharing a ``variable`` (or ``group``) value are the categories of one variable and add
    up to ``n``: secondary suppression then makes sure a suppressed category cannot be recovered
    as ``n`` minus the others.
    """
    _reject_identifiers(table_one, "table_one")
    value_cols = [c for c in _TABLE_ONE_COLUMNS if c in table_one.columns]
    missing = {"covariate", "statistic"} - set(table_one.columns)
    if missing or not value_cols:
        raise DisclosureError(
            "table_one needs columns covariate, statistic and at least one of "
            f"{', '.join(_TABLE_ONE_COLUMNS)}",
            where="report.table_one",
        )
    t1 = table_one.reset_index(drop=True)
    stat = t1["statistic"].astype(str).str.lower()
    is_n = (stat.isin(_TABLE_ONE_COUNT_STATS) | (t1["covariate"].astype(str) == "n")).to_numpy()
    # The checker finds count rows by ``statistic``, so count rows are labelled "n".
    t1 = t1.assign(statistic=t1["statistic"].astype(object).where(~is_n, "n"))
    stat = t1["statistic"].astype(str).str.lower()
    is_pct = stat.isin(["percent", "%", "pct"]).to_numpy()
    n_rows = np.flatnonzero(is_n)
    out = t1.copy()
    for c in value_cols:
        out[c] = out[c].astype("object")
    log: list[Mapping[str, Any]] = []
    if len(n_rows) == 0:
        raise DisclosureError(
            "table_one has no 'n' row, so its percentages cannot be checked",
            where="report.table_one",
            hint="add a row with statistic 'n' holding the number of people per column",
        )
    n_row = int(n_rows[0])
    safe_n = pd.DataFrame()
    for r in n_rows:
        safe_r, r_log = apply_sdc(
            t1.loc[[int(r)], value_cols], value_cols, regime, table="table_one"
        )
        log += r_log
        safe_n = safe_r if int(r) == n_row else safe_n
        for c in value_cols:
            out.at[int(r), c] = safe_r.at[0, c]
    group_col = next((g for g in ("variable", "group") if g in t1.columns), None)
    hidden_n: set[str] = set()
    is_prop = stat.isin(["proportion"]).to_numpy() | (
        stat.isin(["mean"]).to_numpy() & _all_within_unit_interval(t1, value_cols)
    )
    for idx, per, decimals in (
        (np.flatnonzero(is_pct), 100.0, 1),
        (np.flatnonzero(is_prop & ~is_pct), 1.0, 3),
    ):
        if len(idx) == 0:
            continue
        frame: dict[str, Any] = {}
        rates: dict[str, RateColumn] = {}
        # Categories of one variable (same `variable`/`group` value) add up to n: each group
        # gets a total row (n) so that secondary suppression protects it.
        groups = (
            [f"g:{v}" if pd.notna(v) else f"row:{r}" for r, v in zip(idx, t1.loc[idx, group_col],
                                                                       strict=True)]
            if group_col else [f"row:{r}" for r in idx]
        )
        named = sorted({g for g in groups if g.startswith("g:")})
        for c in value_cols:
            share = pd.to_numeric(t1.loc[idx, c], errors="coerce").to_numpy(dtype=float)
            n_c = float(t1.at[n_row, c])
            frame[f"{c}__k"] = np.r_[np.round(share / per * n_c), np.full(len(named), n_c)]
            frame[f"{c}__n"] = np.full(len(idx) + len(named), n_c)
            rates[f"{c}__share"] = RateColumn(f"{c}__k", f"{c}__n", per=per, decimals=decimals)
        counts = list(frame)
        frame["__group"] = groups + named
        frame["__kind"] = ["part"] * len(idx) + ["total"] * len(named)
        margins = [ColumnTotal("__kind", "total", by=("__group",),
                               columns=tuple(f"{c}__k" for c in value_cols))]
        safe_share, share_log = apply_sdc(
            pd.DataFrame(frame), counts, regime, rate_columns=rates, margins=margins,
            table="table_one",
        )
        for c in value_cols:
            if any(isinstance(v, str) for v in safe_share[f"{c}__k"].iloc[len(idx):]):
                hidden_n.add(c)  # a group total (= n) had to go: hide n in this column
        log += [
            {**e, "column": str(e["column"]).split("__")[0]}
            for e in share_log
            if not str(e["column"]).endswith("__n")
        ]
        for j, r in enumerate(idx):
            for c in value_cols:
                out.at[int(r), c] = safe_share.at[j, f"{c}__share"]
    is_pct = is_pct | is_prop
    out.loc[is_prop & ~stat.isin(["percent", "%", "pct"]).to_numpy(), "statistic"] = "proportion"
    for c in hidden_n:
        for r in n_rows:
            out.at[int(r), c] = regime.label
    other = np.flatnonzero(~is_n & ~is_pct)
    for c in value_cols:
        n_hidden = isinstance(safe_n.at[0, c], str) or c in hidden_n
        for r in other:
            v = t1.at[int(r), c]
            out.at[int(r), c] = regime.label if n_hidden else _round_float(v, 2)
    return ReleasedTable(
        "table_one",
        out,
        tuple(value_cols),
        (),
        {"statistic": ("n",)},
        tuple(log),
    )


def _all_within_unit_interval(t1: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Per row: every non-missing value of ``cols`` lies in [0, 1] (and at least one exists)."""
    values = t1[list(cols)].apply(pd.to_numeric, errors="coerce")
    inside = ((values >= 0) & (values <= 1)) | values.isna()
    return (inside.all(axis=1) & values.notna().any(axis=1)).to_numpy()


def _round_float(v: Any, decimals: int) -> Any:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return v
    return None if np.isnan(x) else round(x, decimals)


def release_balance(
    balance: pd.DataFrame,
    regime: DisclosureRegime,
    *,
    smd_threshold: float = 0.1,
    variance_ratio_range: tuple[float, float] = (0.5, 2.0),
) -> ReleasedTable:
    """Balance table with pass/fail against the thresholds.

    Balance statistics are not counts and are released as they are; a count column (by
    name, e.g. ``n_treated``) would be controlled. Group-mean columns (``mean_*``) are dropped.

    Adds ``smd_ok`` (``|smd_after| <= smd_threshold``) and, when ``variance_ratio_after`` is
    present, ``variance_ratio_ok``.
    """
    _reject_identifiers(balance, "balance")
    # Group means (mean_treated_before, ...) are left out: the mean of a 0/1 covariate is a
    # proportion that reveals a count; Table 1 releases the means after disclosure control.
    out = balance.drop(columns=[c for c in balance.columns if str(c).startswith("mean_")])
    if "smd_after" in out.columns:
        smd = pd.to_numeric(out["smd_after"], errors="coerce")
        out["smd_ok"] = (smd.abs() <= smd_threshold).where(smd.notna())
    if "variance_ratio_after" in out.columns:
        vr = pd.to_numeric(out["variance_ratio_after"], errors="coerce")
        lo, hi = variance_ratio_range
        out["variance_ratio_ok"] = ((vr >= lo) & (vr <= hi)).where(vr.notna())
    counts = [c for c in out.columns if is_count_name(str(c))]
    return _released("balance", out, counts, regime)


def is_naive(estimate: EffectEstimate) -> bool:
    """Whether an estimate is the unmatched (naive) comparison.

    By convention ``details["sample"]`` is ``"matched"`` or ``"unmatched"``; a label or
    estimator name containing ``naive`` or ``unmatched`` also marks it.
    """
    sample = str(estimate.details.get("sample", "")).lower()
    text = f"{estimate.label} {estimate.estimator}".lower()
    return sample in ("unmatched", "naive", "all") or "naive" in text or "unmatched" in text


def _detail(details: Mapping[str, Any], *names: str) -> float | None:
    for n in names:
        if n in details and details[n] is not None:
            try:
                return float(details[n])
            except (TypeError, ValueError):
                continue
    return None


def absolute_difference(details: Mapping[str, Any]) -> float | None:
    """The absolute difference per 1,000 (person-years) an estimate's details carry, if any.

    Read from ``absolute_difference_per_1000_py`` or ``absolute_difference_per_1000``.
    """
    return _detail(details, "absolute_difference_per_1000_py", "absolute_difference_per_1000")


def absolute_difference_ci(details: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Its confidence limits: ``absolute_difference_ci_lower/_upper`` (or the ``_per_1000``
    spellings, or a two-element ``absolute_difference_per_1000_ci``)."""
    return _abs_ci(details)


def _abs_ci(details: Mapping[str, Any]) -> tuple[float | None, float | None]:
    for key in ("absolute_difference_per_1000_ci", "absolute_difference_ci"):
        v = details.get(key)
        if isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2:
            return _detail({"a": v[0]}, "a"), _detail({"b": v[1]}, "b")
    lo = _detail(
        details, "absolute_difference_per_1000_ci_lower", "absolute_difference_ci_lower"
    )
    hi = _detail(
        details, "absolute_difference_per_1000_ci_upper", "absolute_difference_ci_upper"
    )
    return lo, hi


def _method(e: EffectEstimate) -> str:
    """How an estimate was made, for the tables: the design (matched or naive for a matched
    cohort), and whether it is an alternative specification or a negative control."""
    method = (("naive (unmatched)" if is_naive(e) else "matched")
              if e.design == "matched_cohort" else e.design.replace("_", " "))
    nc = e.details.get("negative_control")
    if nc == "exposure":
        method += f"; negative-control exposure {e.details.get('exposure', '')}".rstrip()
    elif nc:
        method += "; negative-control outcome"
    if e.details.get("specification"):
        method += f"; alternative: {e.details['specification']}"
    return method


def estimate_rows(estimates: Sequence[EffectEstimate]) -> pd.DataFrame:
    """One row per estimate with the headline fields the report shows (counts unrounded).

    ``specification`` and ``negative_control`` are set for the estimates of alternative
    specifications and negative controls (from their ``details``), empty otherwise.
    """
    rows = []
    for e in estimates:
        lo, hi = _abs_ci(e.details)
        rows.append(
            {
                "outcome": e.outcome,
                "method": _method(e),
                "specification": e.details.get("specification") or None,
                "negative_control": e.details.get("negative_control") or None,
                "label": e.label or e.estimator,
                "design": e.design,
                "estimator": e.estimator,
                "estimand": e.estimand,
                "scale": e.scale,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "ci_level": e.ci_level,
                "ci_lower": e.ci_lower,
                "ci_upper": e.ci_upper,
                "p_value": e.p_value,
                "n_treated": e.n_treated,
                "n_control": e.n_control,
                "absolute_difference_per_1000": absolute_difference(e.details),
                "absolute_difference_per_1000_ci_lower": lo,
                "absolute_difference_per_1000_ci_upper": hi,
            }
        )
    return pd.DataFrame(rows, columns=_ESTIMATE_COLUMNS)


#: Columns of :func:`estimate_rows` (also when there is no estimate, e.g. an SPC run).
_ESTIMATE_COLUMNS = [
    "outcome", "method", "specification", "negative_control", "label", "design", "estimator",
    "estimand", "scale", "estimate", "std_error", "ci_level", "ci_lower", "ci_upper", "p_value",
    "n_treated", "n_control", "absolute_difference_per_1000",
    "absolute_difference_per_1000_ci_lower", "absolute_difference_per_1000_ci_upper",
]


def release_estimates(
    estimates: Sequence[EffectEstimate], regime: DisclosureRegime
) -> ReleasedTable:
    """The estimates table: model outputs exempt, ``n_treated``/``n_control`` controlled."""
    return _released("estimates", estimate_rows(estimates), ["n_treated", "n_control"], regime)


def release_outcome_summary(summary: pd.DataFrame, regime: DisclosureRegime) -> ReleasedTable:
    """Crude counts and rates per arm after SDC.

    ``n_persons`` and ``events`` are counts; ``rate_per_1000_py`` is recomputed from the
    released ``events`` and ``person_years`` (person-years are shown to one decimal).
    """
    counts = [c for c in summary.columns if is_count_name(str(c))]
    rates: dict[str, RateColumn] = {}
    df = summary
    if {"events", "person_years"} <= set(summary.columns):
        df = summary.assign(person_years=pd.to_numeric(summary["person_years"]).round(1))
        rates["rate_per_1000_py"] = RateColumn("events", "person_years", per=1000.0, decimals=1)
    return _released("outcome_summary", df, counts, regime, rate_columns=rates)


def release_report_counts(
    name: str, report: pd.DataFrame, regime: DisclosureRegime
) -> ReleasedTable:
    """An ingest or linkage report (``table, measure, count``) after SDC."""
    counts = [c for c in report.columns if is_count_name(str(c))]
    return _released(name, report, counts, regime)


def _bin_scores(df: pd.DataFrame, score: str, bins: int = 20) -> pd.DataFrame:
    """Histogram counts per arm of a row-level score (so that no row-level data is released)."""
    x = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    t = pd.to_numeric(df["treated"], errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(x) & ~np.isnan(t)
    x, t = x[ok], t[ok]
    # Coarse edges (multiples of 0.5): the exact minimum and maximum would each describe one
    # person.
    lo, hi = (np.floor(x.min() * 2) / 2, np.ceil(x.max() * 2) / 2) if len(x) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    n_t, _ = np.histogram(x[t == 1], bins=edges)
    n_c, _ = np.histogram(x[t == 0], bins=edges)
    return pd.DataFrame(
        {
            "score": score,
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "n_treated": n_t,
            "n_control": n_c,
        }
    )


def release_figure_data(
    name: str, df: pd.DataFrame, regime: DisclosureRegime
) -> ReleasedTable:
    """The data behind a figure after SDC.

    Count columns are found by name (:func:`~impacteval.report.sdc.is_count_name`). A
    row-level score table (a ``treated`` column and a score column such as ``logit`` or
    ``propensity``, but no count column) is first reduced to histogram counts per arm.
    """
    counts = [c for c in df.columns if is_count_name(str(c))]
    score = next((c for c in _SCORE_COLUMNS if c in df.columns), None)
    if not counts and score is not None and "treated" in df.columns:
        df = _bin_scores(df, score)
        counts = ["n_treated", "n_control"]
    return _released(name, df, counts, regime)


def release_tables(
    result: EvaluationResult, regime: DisclosureRegime
) -> dict[str, ReleasedTable]:
    """Every released table of a result, in report order (absent records are skipped)."""
    matching = dict(result.config.get("matching") or {})
    vr = matching.get("variance_ratio_range") or (0.5, 2.0)
    tables = {
        "attrition": release_attrition(result.attrition, regime),
        "table_one": release_table_one(result.table_one, regime),
        "balance": release_balance(
            result.balance,
            regime,
            smd_threshold=float(matching.get("smd_threshold", 0.1)),
            variance_ratio_range=(float(vr[0]), float(vr[1])),
        ),
        "estimates": release_estimates(result.estimates, regime),
    }
    if result.outcome_summary is not None:
        tables["outcome_summary"] = release_outcome_summary(result.outcome_summary, regime)
    if result.ingest_report is not None:
        tables["ingest_report"] = release_report_counts(
            "ingest_report", result.ingest_report, regime
        )
    if result.linkage_report is not None:
        tables["linkage_report"] = release_report_counts(
            "linkage_report", result.linkage_report, regime
        )
    records = (result.diagnostics or {}).get("subgroups")
    if records:
        from impacteval.report.subgroups import COUNTS, release_subgroups

        frame, log = release_subgroups(records, regime)
        tables["subgroups"] = ReleasedTable("subgroups", frame, COUNTS, log=tuple(log))
    return tables



def release_mapping(
    values: Mapping[str, Any], regime: DisclosureRegime, *, where: str = "diagnostics"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A mapping (diagnostics, estimate details) with count-named numeric entries controlled.

    Keys named like counts (:func:`~impacteval.report.sdc.is_count_name`) holding a number
    are suppressed or rounded; nested mappings are handled the same way; everything else is
    returned unchanged.
    """
    out: dict[str, Any] = {}
    log: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key], sub = release_mapping(value, regime, where=f"{where}.{key}")
            log += sub
        elif (
            is_count_name(str(key))
            and isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool)
            and not np.isnan(float(value))
        ):
            safe, entry = apply_sdc(pd.DataFrame({"v": [float(value)]}), ["v"], regime, table=where)
            log += [{**e, "column": str(key)} for e in entry]
            out[key] = safe.at[0, "v"]
        else:
            out[key] = value
    return out, log


def release_estimate_details(
    details: Mapping[str, Any], regime: DisclosureRegime, *, where: str = "estimates.details"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An estimate's details for release.

    Count-named entries are controlled (:func:`release_mapping`), and crude rates are
    recomputed from the released counts so that rate x person-years cannot give back an exact
    count: for ``arm`` in ``treated``/``control``, when ``rate_<arm>``, ``person_years_<arm>``
    and ``n_events_<arm>`` (or ``events_<arm>``) are all present, ``rate_<arm>`` becomes the
    released events per 1,000 person-years (one decimal), or the label if they are suppressed.
    Model outputs (ratios, CIs, absolute differences) are exempt.
    """
    out, log = release_mapping(details, regime, where=where)
    for arm in ("treated", "control"):
        events_key = next((k for k in (f"n_events_{arm}", f"events_{arm}") if k in out), None)
        rate_key, py_key = f"rate_{arm}", f"person_years_{arm}"
        if events_key is None or rate_key not in out or py_key not in out:
            continue
        events, py = out[events_key], _detail(out, py_key)
        if isinstance(events, str):
            out[rate_key] = regime.label
        elif events is not None and py:
            out[rate_key] = round(float(events) / py * 1000.0, 1)
        log.append({"table": where, "column": rate_key, "action": "rate_recomputed", "cells": 1})
    return out, log
