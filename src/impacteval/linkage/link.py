"""Stage 2: deterministic linkage of the episode tables on the pseudonymised ``person_id``.

The shared pseudonym makes linkage an equi-join (shared/reference/engines.md §4: a plain join
returned exactly the pairs splink's deterministic linkage did). A record links when its
``person_id`` is in ``persons``; the others (orphans) are removed and counted per table.
Deaths are reduced to one row per person, the latest registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import ibis
import pandas as pd

from impacteval.data.deaths import latest_registration
from impacteval.exceptions import LinkageError

#: Tables whose rows are a person's hospital events (for ``persons_without_events``).
EVENT_TABLES = ("apc_episodes", "ae_attendances", "op_appointments")


@dataclass(frozen=True)
class LinkResult:
    """Linked tables and the linkage report.

    Attributes
    ----------
    tables
        ``{table: ibis.Table}``: ``persons`` unchanged; every other table restricted to rows
        whose ``person_id`` is in ``persons``; ``deaths`` one row per person.
    report
        ``pd.DataFrame`` with columns ``table, measure, count``. Per linked table: ``records``
        (rows given), ``linked``, ``orphaned`` (``records == linked + orphaned``); ``deaths``
        also ``duplicate_death_registrations`` (linked rows beyond one per person) and
        ``persons`` (deaths kept); ``persons``: ``records``, ``persons_without_events``
        (no A&E, admitted-patient or outpatient record).
    """

    tables: Mapping[str, ibis.Table]
    report: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    @property
    def rates(self) -> pd.Series:
        """Linkage rate per table (``linked / records``; NaN for an empty table)."""
        wide = self.report.pivot(index="table", columns="measure", values="count")
        wide = wide.loc[wide["linked"].notna()]
        rate = wide["linked"].astype("float64") / wide["records"].astype("float64").where(
            wide["records"] > 0)
        return rate.rename("linkage_rate")


def link(tables: Mapping[str, ibis.Table]) -> LinkResult:
    """Link every table to ``persons`` on ``person_id``.

    Parameters
    ----------
    tables
        ``{table: ibis.Table}`` with at least ``persons`` (``person_id`` unique, as ingest
        guarantees); any other table with a ``person_id`` column is linked. Usually
        ``ingest(...).tables``.

    Returns
    -------
    LinkResult
        Linked tables and the report. Linking is idempotent: ``link(link(x).tables)`` gives the
        same tables, with no orphans or duplicate deaths.

    Raises
    ------
    LinkageError
        No ``persons`` table, a ``persons`` table with repeated or null ``person_id``, a table
        without ``person_id``, or no record of any event table links (the pseudonyms come from
        different schemes).

    Examples
    --------
    >>> linked = link(ingest(config.data, con).tables)   # doctest: +SKIP
    >>> linked.rates                                      # doctest: +SKIP
    """
    if "persons" not in tables:
        raise LinkageError("no persons table to link to", where="linkage",
                           hint="give data.persons (one row per pseudonymised person)")
    for name, t in tables.items():
        if "person_id" not in t.columns:
            raise LinkageError("table has no person_id column", where=f"linkage.{name}",
                               hint=f"map the person key with data.rename.{name}")
    persons = tables["persons"]
    n = persons.aggregate(n=persons.count(), ids=persons.person_id.nunique(),
                          nulls=persons.person_id.isnull().ifelse(1, 0).sum())
    size = {k: int(v or 0) for k, v in n.to_pyarrow().to_pylist()[0].items()}
    if size["n"] != size["ids"] or size["nulls"]:
        raise LinkageError(
            f"persons must have one row per non-null person_id; {size['n'] - size['ids']} "
            "row(s) repeat or lack one", where="linkage.persons",
            hint="de-duplicate persons (ingest checks this for files it reads)",
        )
    rows: list[tuple[str, str, int]] = []
    out: dict[str, ibis.Table] = {"persons": persons}
    for name, t in tables.items():
        if name == "persons":
            continue
        # a fresh view per join: linked tables may themselves descend from persons
        ids = persons.select(_link_pid=persons.person_id, _linked=ibis.literal(True)).view()
        j = t.left_join(ids, t.person_id == ids._link_pid)
        metrics = {"records": j.count(), "linked": j._linked.notnull().ifelse(1, 0).sum()}
        if name == "deaths":
            metrics["persons"] = j._link_pid.nunique()
        counts = {k: int(v or 0) for k, v in j.aggregate(**metrics).to_pyarrow().to_pylist()[0].items()}
        rows += [(name, "records", counts["records"]), (name, "linked", counts["linked"]),
                 (name, "orphaned", counts["records"] - counts["linked"])]
        linked = t.semi_join(ids, t.person_id == ids._link_pid)
        if name == "deaths":
            rows.append((name, "duplicate_death_registrations", counts["linked"] - counts["persons"]))
            rows.append((name, "persons", counts["persons"]))
            linked = latest_registration(linked)
        out[name] = linked
    _check_any_linked(rows)
    rows = [("persons", "records", size["n"]),
            ("persons", "persons_without_events", _persons_without_events(persons, out)), *rows]
    report = pd.DataFrame(rows, columns=["table", "measure", "count"]).astype(
        {"table": "string", "measure": "string", "count": "int64"})
    return LinkResult(tables=out, report=report)


def _persons_without_events(persons: ibis.Table, linked: Mapping[str, ibis.Table]) -> int:
    events = [linked[t].select("person_id") for t in EVENT_TABLES if t in linked]
    if not events:
        return int(persons.count().to_pyarrow().as_py())
    seen = ibis.union(*events, distinct=True) if len(events) > 1 else events[0].distinct()
    seen = seen.select(_event_pid=seen.person_id).view()
    lonely = persons.anti_join(seen, persons.person_id == seen._event_pid)
    return int(lonely.count().to_pyarrow().as_py())


def _check_any_linked(rows: list[tuple[str, str, int]]) -> None:
    counts = {(t, m): n for t, m, n in rows}
    events = [t for t in EVENT_TABLES if (t, "records") in counts]
    records = sum(counts[(t, "records")] for t in events)
    linked = sum(counts[(t, "linked")] for t in events)
    if records > 0 and linked == 0:
        raise LinkageError(
            f"none of {records} event record(s) has a person_id found in persons",
            where="linkage.person_id",
            hint="the tables must share one pseudonymisation scheme (same key, same salt); "
                 "check data.rename maps the same identifier in every table",
        )
