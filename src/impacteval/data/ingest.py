"""Stage 1: read the episode tables, check them against the contract, clean and count.

``validate_inputs`` is the fast path (``impacteval validate``): it reads every file lazily and
runs one aggregate query per table. ``ingest`` runs the same checks, then returns the cleaned
tables (materialised on the engine by default, or lazy) and a report of what was fixed,
dropped or flagged. Nothing is pulled into pandas except one-row count aggregates, so extracts
of hundreds of millions of rows stay on the engine.

What happens to each table, in order:

1. read (CSV as all-string; Parquet as stored), apply ``data.rename``, check required columns;
2. cast each contract column to its type; blank strings -> null (``values_fixed:<c>:blank``);
3. map HES sentinels (``values_fixed:<c>:sentinel`` / ``:infant_age``);
4. errors (``SchemaError``, raised before anything is returned): values that do not cast,
   codes/patterns/ranges broken, duplicated keys, ``REG_START > REG_END`` in ``persons``,
   ``START_DATE > END_DATE`` in ``settings``;
5. imputation: ``ADMIDATE`` from ``EPISTART`` on first, non-transfer episodes
   (``values_fixed:ADMIDATE:imputed_from_EPISTART``); ``DOD`` from ``DOR``
   (``values_fixed:DOD:filled_from_DOR``);
6. rows rejected, each counted under the first rule it breaks: null in a non-nullable column
   (``missing:<c>``), event date after ``data_cut`` (``after_data_cut``), then the
   ``data.on_invalid`` rules (``unfinished_episodes``, ``epiend_before_epistart``,
   ``duplicate_ae_within_hour``, ``events_after_death``), each dropped or kept-and-flagged;
7. always kept and flagged: ``ADMIDATE_after_EPISTART``, ``ADMIDATE_after_DISDATE``,
   ``DOD_after_DOR``, ``DOD_before_birth_month`` (``MYDOB`` of the person in ``persons``).

Events after death are handled here (not in linkage) because the policy lives in
``data.on_invalid``: an event dated strictly after the person's date of death (latest
registration) breaks the rule; an event on the day of death does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from impacteval.config.models import CONTRACT_TABLES, DataSpec
from impacteval.data.columns import IBIS_TYPE, cast_column, map_sentinels, violates
from impacteval.data.contract import (
    CONTRACT,
    FLAGGED_DATE_ORDER,
    IMPOSSIBLE_DATE_ORDER,
    TableSchema,
)
from impacteval.data.readers import apply_rename, check_columns, check_file, read_raw
from impacteval.data.rules import (
    RowRule,
    attach_death_date,
    drop_condition,
    flag_ae_duplicates,
    imputable_admidate,
    sequential_metrics,
)
from impacteval.exceptions import SchemaError

_EVENT_TABLES = ("apc_episodes", "ae_attendances", "op_appointments")
_TYPE_HINT = {
    "date": "dates must be ISO YYYY-MM-DD text or a Parquet date",
    "int": "values must be whole numbers",
    "bool": "values must be true/false (or 1/0, y/n)",
    "string": "codes must be stored as text (a CSV column, or a Parquet string column)",
}
_NULL_HINT = "; write unknown values as empty fields (text such as NA or NULL is not a null)"


@dataclass(frozen=True)
class IngestResult:
    """Cleaned tables and the ingest report.

    Attributes
    ----------
    tables
        ``{table: ibis.Table}`` on the connection given to :func:`ingest` (materialised, or
        lazy with ``materialise=False``); every contract column present, in contract order,
        typed (absent optional columns are typed nulls); extra columns dropped.
    report
        ``pd.DataFrame`` with columns ``table, measure, count`` (``rows_read``,
        ``rows_rejected:<reason>``, ``values_fixed:<column>:<kind>``,
        ``rows_kept_flagged:<rule>``, ``columns_absent``, ``columns_ignored``, ``rows_out``).
    """

    tables: Mapping[str, ibis.Table]
    report: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    def cached(self) -> IngestResult:
        """The same result with every table computed once and kept by the engine.

        For a result of ``ingest(..., materialise=False)``, whose tables are lazy: each query
        on them re-reads the files and re-runs the cleaning (and Ibis recompiles it, about a
        second per query). DuckDB: a temporary table, spilled to ``temp_directory`` when over
        ``memory_limit``; Spark: ``DataFrame.cache``.
        """
        return IngestResult(tables={k: t.cache() for k, t in self.tables.items()},
                            report=self.report)


@dataclass
class _Prepared:
    """One table after typing and sentinel mapping, with its row rules (stage A)."""

    schema: TableSchema
    wide: ibis.Table
    present: tuple[str, ...]
    ignored: int
    rules: list[RowRule]
    source_types: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)


def _spec_tables(spec: DataSpec) -> list[str]:
    if spec.analysis_ready:
        raise SchemaError(
            "ingest reads episode tables; this config gives an analysis-ready table",
            where="data.table", hint="analysis-ready tables skip stages 1-4",
        )
    return [t for t in (*CONTRACT_TABLES, "settings") if getattr(spec, t) is not None]


def _flag(kind: str, name: str) -> str:
    return f"_{kind}__{name}"


def _prepare(con: BaseBackend, spec: DataSpec, table: str) -> _Prepared:
    schema = CONTRACT[table]
    rename = spec.rename.get(table, {})
    raw = apply_rename(read_raw(con, table, check_file(table, getattr(spec, table))), schema,
                       rename)
    check_columns(raw, schema, rename)
    present = tuple(c for c in schema.names if c in raw.columns)
    ignored = len([c for c in raw.columns if c not in schema])
    # Three stacked projections (typed -> sentinels mapped -> checked): each layer refers to
    # the previous one by column, so no expression is repeated in the SQL (a single projection
    # inlines the typed value into every check and compiles ~10x slower).
    typed_cols: dict[str, ir.Value] = {}
    source_types: dict[str, str] = {}
    for name in schema.names:
        col = schema.column(name)
        if name not in raw.columns:
            typed_cols[name] = ibis.null().cast(IBIS_TYPE[col.dtype])
            continue
        typed = cast_column(raw[name], col)
        source_types[name] = typed.source_type
        typed_cols[name] = typed.value
        if typed.can_be_bad:  # only flags that can be true: narrower queries
            typed_cols[_flag("bad", name)] = typed.bad
        if typed.can_be_blank:
            typed_cols[_flag("blank", name)] = typed.blank
    layer = raw.select(**typed_cols)
    mapped: dict[str, ir.Value] = {}
    for name in present:
        col = schema.column(name)
        if col.sentinels:
            mapped[name], mapped[_flag("sentinel", name)] = map_sentinels(layer[name], col)
    layer = layer.mutate(**mapped)
    checks = {_flag("violates", name): violates(layer[name], schema.column(name))
              for name in present if schema.column(name).has_value_rules}
    wide = _impute(layer.mutate(**checks), table)
    rules = _stage_a_rules(wide, schema, spec)
    return _Prepared(schema, wide, present, ignored, rules, source_types)


def _impute(wide: ibis.Table, table: str) -> ibis.Table:
    """Fill ``ADMIDATE`` from ``EPISTART`` (§1.3) and ``DOD`` from ``DOR``, with a flag column."""
    if table == "apc_episodes":
        fill = imputable_admidate(wide)
        wide = wide.mutate(**{_flag("imputed", "ADMIDATE"): fill})
        wide = wide.mutate(ADMIDATE=ibis.ifelse(wide[_flag("imputed", "ADMIDATE")],
                                                wide.EPISTART, wide.ADMIDATE))
    elif table == "deaths":
        fill = wide.DOD.isnull() & wide.DOR.notnull()
        wide = wide.mutate(**{_flag("imputed", "DOD"): fill})
        wide = wide.mutate(DOD=ibis.ifelse(wide[_flag("imputed", "DOD")], wide.DOR, wide.DOD))
    return wide


def _stage_a_rules(t: ibis.Table, schema: TableSchema, spec: DataSpec) -> list[RowRule]:
    rules = [RowRule(f"missing:{c.name}", t[c.name].isnull(), True)
             for c in schema.columns if not c.allows_null]
    if schema.event_date is not None and spec.data_cut is not None:
        rules.append(RowRule("after_data_cut", t[schema.event_date] > spec.data_cut, True))
    policy = spec.on_invalid
    if schema.name == "apc_episodes":
        rules.append(RowRule("unfinished_episodes", t.EPISTAT != "3",
                             policy.unfinished_episodes == "drop"))
        rules.append(RowRule("epiend_before_epistart", t.EPIEND < t.EPISTART,
                             policy.epiend_before_epistart == "drop"))
    for a, b in FLAGGED_DATE_ORDER.get(schema.name, ()):
        rules.append(RowRule(f"{a}_after_{b}", t[a] > t[b], False))
    return rules


def _profile(prep: _Prepared) -> dict[str, int]:
    """Run the one aggregate query of stage A and return its counts by name."""
    t, schema = prep.wide, prep.schema
    metrics: dict[str, ir.Scalar] = {"rows_read": t.count()}
    for name in prep.present:
        for kind in ("bad", "blank", "sentinel", "violates"):
            if _flag(kind, name) in t.columns:
                metrics[_flag(kind, name)] = t[_flag(kind, name)].ifelse(1, 0).sum()
    for name in ("ADMIDATE", "DOD"):
        if _flag("imputed", name) in t.columns:
            metrics[_flag("imputed", name)] = t[_flag("imputed", name)].ifelse(1, 0).sum()
    if schema.key is not None:
        metrics["_duplicate_keys"] = t[schema.key].count() - t[schema.key].nunique()
    for a, b in IMPOSSIBLE_DATE_ORDER.get(schema.name, ()):
        metrics[f"_order__{a}__{b}"] = (t[a] > t[b]).fill_null(False).ifelse(1, 0).sum()
    metrics.update(sequential_metrics(prep.rules, "_rule"))
    row = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    return {k: int(v or 0) for k, v in row.items()}


def _raise_problems(prep: _Prepared) -> None:
    """Raise the first contract violation found in ``prep.counts`` (if any)."""
    schema, counts = prep.schema, prep.counts
    problems: list[SchemaError] = []
    for name in prep.present:
        col = schema.column(name)
        n_bad = counts.get(_flag("bad", name), 0)
        if n_bad:
            problems.append(SchemaError(
                f"{n_bad} row(s) are not a valid {col.dtype} "
                f"(column stored as {prep.source_types[name]})",
                where=f"{schema.name}.{name}", hint=_TYPE_HINT[col.dtype] + _NULL_HINT,
            ))
    for name in prep.present:
        col = schema.column(name)
        n = counts.get(_flag("violates", name), 0)
        if n:
            mapped = ", ".join(r for r, _ in col.sentinels) if col.sentinels else "none"
            problems.append(SchemaError(
                f"{n} row(s) have a value outside the contract ({col.describe_rule()})",
                where=f"{schema.name}.{name}",
                hint=f"recode to the contract's values (sentinels mapped to null first: {mapped}); "
                     "codes with leading zeros must be stored as text" + _NULL_HINT,
            ))
    if counts.get("_duplicate_keys"):
        problems.append(SchemaError(
            f"{counts['_duplicate_keys']} duplicate value(s) of the key {schema.key}",
            where=f"{schema.name}.{schema.key}",
            hint=f"each {schema.key} must appear once in {schema.name}; de-duplicate the extract",
        ))
    for a, b in IMPOSSIBLE_DATE_ORDER.get(schema.name, ()):
        n = counts[f"_order__{a}__{b}"]
        if n:
            problems.append(SchemaError(
                f"{n} row(s) have {a} after {b}", where=f"{schema.name}.{a}",
                hint=f"{a} must be on or before {b}; correct or remove these rows",
            ))
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first = SchemaError(
                f"{first.message} (and {len(problems) - 1} more problem(s) in {schema.name})",
                where=first.where, hint=first.hint,
            )
        raise first


def _prepare_all(con: BaseBackend, spec: DataSpec) -> dict[str, _Prepared]:
    tables = _spec_tables(spec)
    for table in tables:  # every file problem before any query
        check_file(table, getattr(spec, table))
    prepared = {table: _prepare(con, spec, table) for table in tables}
    for prep in prepared.values():
        prep.counts = _profile(prep)
        _raise_problems(prep)
    return prepared


def validate_inputs(spec: DataSpec, con: BaseBackend) -> None:
    """Check every input table against the contract without producing any output.

    Parameters
    ----------
    spec
        The ``data`` section of the config (episode tables).
    con
        An Ibis backend (``impacteval.engine.connect()``).

    Raises
    ------
    SchemaError
        Missing file, missing required column, values of the wrong type, codes outside the
        contract, duplicated keys, impossible date order. The message names the table and
        column and gives counts, never row values.
    """
    _prepare_all(con, spec)


def ingest(spec: DataSpec, con: BaseBackend, *, materialise: bool = True) -> IngestResult:
    """Read, check and clean the episode tables.

    Parameters
    ----------
    spec
        The ``data`` section of the config (episode tables, renames, ``on_invalid``,
        ``data_cut``).
    con
        An Ibis backend; the returned tables are expressions on it.
    materialise
        Compute each cleaned table once and keep it on the engine (``Table.cache()``: a
        DuckDB temporary table, spilled to ``temp_directory`` under ``memory_limit``; a cached
        Spark DataFrame). Without it every later query re-reads the files, re-runs the
        cleaning and recompiles it (about 1 s of Ibis compilation per query on this graph;
        derive + link on 3,000 synthetic persons went from 17 s to 3 s). ``False`` returns
        purely lazy tables; :meth:`IngestResult.cached` materialises later.

    Returns
    -------
    IngestResult
        Cleaned tables and the report (``table, measure, count``).

    Raises
    ------
    SchemaError
        As :func:`validate_inputs`; raised before any table is returned.

    Examples
    --------
    >>> from impacteval.engine import connect
    >>> result = ingest(config.data, connect())          # doctest: +SKIP
    >>> result.report.query("measure == 'rows_read'")     # doctest: +SKIP
    """
    prepared = _prepare_all(con, spec)
    rows: list[tuple[str, str, int]] = []
    stage_a: dict[str, ibis.Table] = {}
    for table, prep in prepared.items():
        rows += _stage_a_report(prep)
        kept = prep.wide.filter(~drop_condition(prep.rules))
        stage_a[table] = kept.select(*prep.schema.names)
    deaths = stage_a.get("deaths")
    out: dict[str, ibis.Table] = {}
    for table, t in stage_a.items():
        rules: list[RowRule] = []
        if table == "ae_attendances":
            t = flag_ae_duplicates(t, flag="_dup_ae")
            rules.append(RowRule("duplicate_ae_within_hour", t._dup_ae,
                                 spec.on_invalid.duplicate_ae_within_hour == "drop"))
        if table in _EVENT_TABLES and deaths is not None:
            t = attach_death_date(t, deaths, column="_dod")
            date = CONTRACT[table].event_date
            assert date is not None
            rules.append(RowRule("events_after_death", t[date] > t._dod,
                                 spec.on_invalid.events_after_death == "drop"))
        if table == "deaths" and "persons" in stage_a:
            t = _attach_birth_month(t, stage_a["persons"])
            rules.append(RowRule("DOD_before_birth_month", t.DOD < t._birth, False))
        if not rules:
            out[table] = t.cache() if materialise else t
            continue
        flags = {f"_rule{i}": r.cond.fill_null(False) for i, r in enumerate(rules)}
        t = t.select(*CONTRACT[table].names, **flags)
        if materialise:  # the flagged table once; counts and the filter then read it
            t = t.cache()
        cached_rules = [RowRule(r.name, t[f"_rule{i}"], r.drop) for i, r in enumerate(rules)]
        counts = t.aggregate(**sequential_metrics(cached_rules, "_n")).to_pyarrow().to_pylist()[0]
        rows += [(table, r.measure, int(counts[f"_n{i}"] or 0)) for i, r in enumerate(rules)]
        out[table] = t.filter(~drop_condition(cached_rules)).select(*CONTRACT[table].names)
    order = {name: i for i, name in enumerate(CONTRACT)}
    rows.sort(key=lambda r: order[r[0]])  # stable: per table, in the order the rules ran
    report = _add_rows_out(pd.DataFrame(rows, columns=["table", "measure", "count"]))
    return IngestResult(tables=out, report=report)


def _attach_birth_month(deaths: ibis.Table, persons: ibis.Table) -> ibis.Table:
    """Left-join the first day of each person's birth month (from ``MYDOB``) as ``_birth``."""
    dob = persons.MYDOB
    births = persons.select(
        _birth_pid=persons.person_id,
        _birth=ibis.date(dob.substr(2, 4).cast("int64"), dob.substr(0, 2).cast("int64"), 1),
    ).view()
    return deaths.left_join(births, deaths.person_id == births._birth_pid).drop("_birth_pid")


def _stage_a_report(prep: _Prepared) -> list[tuple[str, str, int]]:
    table, counts = prep.schema.name, prep.counts
    rows = [(table, "rows_read", counts["rows_read"]),
            (table, "columns_absent", len(prep.schema.names) - len(prep.present)),
            (table, "columns_ignored", prep.ignored)]
    for name in prep.present:
        col = prep.schema.column(name)
        if counts.get(_flag("blank", name)):
            rows.append((table, f"values_fixed:{name}:blank", counts[_flag("blank", name)]))
        if counts.get(_flag("sentinel", name)):
            rows.append((table, f"values_fixed:{name}:{col.sentinel_kind}",
                         counts[_flag("sentinel", name)]))
    if _flag("imputed", "ADMIDATE") in counts:
        rows.append((table, "values_fixed:ADMIDATE:imputed_from_EPISTART",
                     counts[_flag("imputed", "ADMIDATE")]))
    if _flag("imputed", "DOD") in counts:
        rows.append((table, "values_fixed:DOD:filled_from_DOR", counts[_flag("imputed", "DOD")]))
    for i, rule in enumerate(prep.rules):
        n = counts[f"_rule{i}"]
        if n or not rule.name.startswith("missing:"):
            rows.append((table, rule.measure, n))
    return rows


def _add_rows_out(report: pd.DataFrame) -> pd.DataFrame:
    """Append ``rows_out = rows_read - sum(rows_rejected:*)`` per table (exact by construction)."""
    extra = []
    for table, part in report.groupby("table", sort=False):
        read = int(part.loc[part.measure == "rows_read", "count"].sum())
        rejected = int(part.loc[part.measure.str.startswith("rows_rejected:"), "count"].sum())
        extra.append(pd.DataFrame([(table, "rows_out", read - rejected)], columns=report.columns))
        extra.insert(-1, part)
    out = pd.concat(extra, ignore_index=True)
    return out.astype({"table": "string", "measure": "string", "count": "int64"})

