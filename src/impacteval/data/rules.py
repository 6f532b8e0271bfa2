"""Row rules of the loader: what makes a row rejected or flagged, and how rows are counted.

Counting is sequential: a row is counted under the *first* dropping rule it breaks, so
``rows_read - sum(rows_rejected:*) == rows_out`` holds exactly. ``rows_kept_flagged:<rule>``
counts rows that break a rule the config keeps, among the rows still present at that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from impacteval.data.deaths import latest_registration

#: Admissions that are transfers are never given an imputed ADMIDATE (nhs_routine_data.md §1.3,
#: HF HES_pipeline [S1]).
TRANSFER_ADMIMETH = ("2B", "81")
TRANSFER_ADMISORC = ("51", "52", "53")
#: Two A&E rows of one person at one provider on one day are duplicates when the later arrives
#: within this many minutes of the row before it (nhs_routine_data.md §1.5 [S1]).
AE_DUPLICATE_MINUTES = 60


@dataclass(frozen=True)
class RowRule:
    """A row-level rule: ``name`` (report label), ``cond`` (True = breaks it), ``drop``."""

    name: str
    cond: ir.BooleanValue
    drop: bool

    @property
    def measure(self) -> str:
        return f"rows_rejected:{self.name}" if self.drop else f"rows_kept_flagged:{self.name}"


def sequential_metrics(rules: Sequence[RowRule], prefix: str) -> dict[str, ir.Scalar]:
    """Aggregate metrics counting each rule on the rows no earlier dropping rule removed."""
    metrics: dict[str, ir.Scalar] = {}
    dropped: ir.BooleanValue = ibis.literal(False)
    for i, rule in enumerate(rules):
        cond = rule.cond.fill_null(False)
        metrics[f"{prefix}{i}"] = (cond & ~dropped).ifelse(1, 0).sum()
        if rule.drop:
            dropped = dropped | cond
    return metrics


def drop_condition(rules: Sequence[RowRule]) -> ir.BooleanValue:
    """True where any dropping rule is broken."""
    dropped: ir.BooleanValue = ibis.literal(False)
    for rule in rules:
        if rule.drop:
            dropped = dropped | rule.cond.fill_null(False)
    return dropped


def imputable_admidate(t: ibis.Table) -> ir.BooleanValue:
    """Where ``ADMIDATE`` is null and may be filled from ``EPISTART`` (§1.3).

    First episode of a spell (``EPIORDER == 1``) and not a transfer in (``ADMIMETH`` 2B/81,
    ``ADMISORC`` 51-53).
    """
    transfer = (t.ADMIMETH.isin(TRANSFER_ADMIMETH).fill_null(False)
                | t.ADMISORC.isin(TRANSFER_ADMISORC).fill_null(False))
    return (t.ADMIDATE.isnull() & t.EPISTART.notnull() & (t.EPIORDER == 1).fill_null(False)
            & ~transfer)


def arrival_minutes(time: ir.StringValue) -> ir.IntegerValue:
    """Minutes after midnight of an ``HH:MM`` string (null if null)."""
    return time.substr(0, 2).cast("int64") * 60 + time.substr(3, 2).cast("int64")


def flag_ae_duplicates(ae: ibis.Table, *, flag: str) -> ibis.Table:
    """Add boolean column ``flag``: True on an A&E row that repeats the row before it.

    Rows of one person at one provider on one ``ARRIVALDATE`` are ordered by ``ARRIVALTIME``
    (then ``AEKEY``); a row arriving within 60 minutes of the previous row is a duplicate, so
    the first of a burst is kept. Rows without a time are never flagged. Window functions only
    (no ASOF join), so the rule runs on Spark too.
    """
    t = ae.mutate(_arrival_min=arrival_minutes(ae.ARRIVALTIME))
    window = ibis.window(
        group_by=[t.person_id, t.PROCODE3, t.ARRIVALDATE],
        order_by=[ibis.asc(t._arrival_min, nulls_first=False), t.AEKEY],
    )
    t = t.mutate(_prev_min=t._arrival_min.lag().over(window))
    dup = ((t._arrival_min - t._prev_min) <= AE_DUPLICATE_MINUTES).fill_null(False)
    return t.mutate(**{flag: dup}).drop("_arrival_min", "_prev_min")


def attach_death_date(events: ibis.Table, deaths: ibis.Table, *, column: str) -> ibis.Table:
    """Left-join each event to its person's date of death (latest registration) as ``column``."""
    d = latest_registration(deaths)
    d = d.select(_death_pid=d.person_id, **{column: d.DOD})
    joined = events.left_join(d, events.person_id == d._death_pid)
    return joined.drop("_death_pid")
