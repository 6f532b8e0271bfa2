"""Ambulatory care sensitive conditions (ACSC): 19 conditions of the NHS Institute list.

The list (``codelists/acsc.csv``; Purdy et al. 2010, NHS Institute Appendix A) is applied to the
admission episode of each admission. Each code row belongs to a *rule* and says which field it
looks at (``primary_diagnosis`` = ``DIAG_4_01``; ``secondary_diagnosis`` = ``DIAG_4_02`` ..;
``any_diagnosis``; ``primary_procedure`` = ``OPERTN_4_01``; ``any_procedure``) and its role:

* ``include``: the rule fires if any include row matches,
* ``exclude``: ... unless an exclude row matches (e.g. cardiac procedures for heart failure,
  sickle-cell ``D57`` for influenza/pneumonia),
* ``require``: ... and, if the rule has require rows, one of them matches (acute bronchitis
  ``J20`` counts only with a secondary COPD code).

An admission is avoidable if any rule fires. All matching is by code prefix through equi-joins.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from impacteval.derive.codelists import load_codelist, match_prefixes

_FIELDS = {
    "primary_diagnosis": ("diagnosis", True, False),
    "secondary_diagnosis": ("diagnosis", False, True),
    "any_diagnosis": ("diagnosis", True, True),
    "primary_procedure": ("procedure", True, False),
    "any_procedure": ("procedure", True, True),
}


def _long_codes(episodes: ir.Table, key: str) -> ir.Table:
    """``key, kind, primary, code``: one row per non-null diagnosis / procedure code.

    Unpivoted by a cross join with a small table of (column position) rows and a ``CASE`` that
    picks the column, so ``episodes`` appears once in the plan (a union of one projection per
    column would repeat it 44 times).
    """
    columns = [
        (kind, f"{prefix}{i:02d}")
        for kind, prefix, n_max in (("diagnosis", "DIAG_4_", 20), ("procedure", "OPERTN_4_", 24))
        for i in range(1, n_max + 1)
        if f"{prefix}{i:02d}" in episodes.columns
    ]
    slots = ibis.memtable(
        pd.DataFrame({
            "_slot": pd.Series(range(len(columns)), dtype="int64"),
            "kind": [kind for kind, _ in columns],
            "primary": [col.endswith("_01") for _, col in columns],
        })
    )
    pairs = episodes.select(key, *(col for _, col in columns)).cross_join(slots)
    code = ibis.cases(*((pairs._slot == i, pairs[col].cast("string")) for i, (_, col) in
                        enumerate(columns)))
    long = pairs.select(key, "kind", "primary", code=code.upper())
    return long.filter(long.code.notnull())


def acsc_conditions(episodes: ir.Table, key: str) -> ir.Table:
    """ACSC conditions present in each admission episode.

    Parameters
    ----------
    episodes
        One row per admission episode: ``key`` plus ``DIAG_4_01..20`` and ``OPERTN_4_01..24``
        (whichever exist; procedures are optional and, if absent, no procedure exclusion applies).
    key
        Column identifying the admission.

    Returns
    -------
    ibis.Table
        ``(key, category)``: one row per admission and ACSC condition it meets; admissions that
        meet none are absent.
    """
    cl = load_codelist("acsc")
    cl["needs_require"] = cl["rule"].isin(set(cl.loc[cl["role"] == "require", "rule"]))
    if "DIAG_4_01" not in episodes.columns:
        raise ValueError("admission episodes have no DIAG_4_01 column")
    codes = _long_codes(episodes, key)
    m = match_prefixes(
        codes, "code", cl, columns=("rule", "category", "role", "field", "needs_require")
    )
    keep = ibis.literal(False)
    for field, (kind, primary_ok, secondary_ok) in _FIELDS.items():
        if primary_ok and secondary_ok:
            position = ibis.literal(True)
        else:
            position = m.primary if primary_ok else ~m.primary
        keep = keep | ((m.field == field) & (m.kind == kind) & position)
    hits = m.filter(keep)
    per_rule = hits.group_by([key, "rule", "category", "needs_require"]).aggregate(
        inc=(hits.role == "include").any(),
        exc=(hits.role == "exclude").any(),
        req=(hits.role == "require").any(),
    )
    fired = per_rule.filter(per_rule.inc, ~per_rule.exc, ~per_rule.needs_require | per_rule.req)
    return fired.select(key, "category").distinct()
