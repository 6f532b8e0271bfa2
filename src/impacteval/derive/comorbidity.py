"""Comorbidity and frailty scores from a long diagnosis table.

Each function takes ``dx``, a long table with a key column (any name, e.g. a cohort row id) and
a ``code`` column of ICD-10 codes (4 characters without dot, as :func:`~impacteval.derive.
diagnoses.diagnoses` returns), already restricted to the look-back window the caller wants.
It returns one row per key **that has at least one matching code**; keys without a match are
absent, so the caller left-joins the result and fills 0.

Matching is by code prefix through equi-joins on the first 3 / 4 characters
(:func:`~impacteval.derive.codelists.match_prefixes`), which scales on DuckDB and Spark.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir

from impacteval.derive.codelists import load_codelist, match_prefixes
from impacteval.exceptions import ConfigError

#: Charlson categories (Quan 2005 ICD-10 mapping), in the order of nhs_routine_data.md §4.1.
CHARLSON_CATEGORIES = (
    "ami", "chf", "pvd", "cevd", "dementia", "copd", "rheumd", "pud", "mld", "diab", "diabwc",
    "hp", "rend", "canc", "msld", "metacanc", "aids",
)
#: Hierarchy: a category does not add to the score when the more severe one is present.
CHARLSON_HIERARCHY = {"mld": "msld", "diab": "diabwc", "canc": "metacanc"}
#: Weight set name -> shipped code list.
CHARLSON_WEIGHTS = {"charlson_1987": "charlson_1987", "quan_2011": "charlson_quan_2011"}
#: Frailty category set name -> shipped code list.
FRAILTY_SETS = {"iau6": "frailty_iau6", "imperial9": "frailty_imperial9"}


def _check_dx(dx: ir.Table, key: str) -> ir.Table:
    if key == "code":
        raise ValueError("the key column cannot be called 'code'")
    missing = [c for c in (key, "code") if c not in dx.columns]
    if missing:
        raise ValueError(f"diagnosis table lacks column(s) {missing}")
    t = dx.select(key, code=dx.code.cast("string").strip().upper())
    return t.filter(t.code.notnull())


def _category_flags(
    dx: ir.Table, key: str, list_name: str, categories: tuple[str, ...]
) -> tuple[ir.Table, dict[str, float]]:
    """Per key, one boolean column per category (True if any code of the category is present)."""
    cl = load_codelist(list_name)
    weights = cl.drop_duplicates("category").set_index("category")["weight"].to_dict()
    matched = match_prefixes(_check_dx(dx, key), "code", cl, columns=("category",))
    present = matched.select(key, "category").distinct()
    flags = present.group_by(key).aggregate(
        **{c: (present.category == c).any() for c in categories}
    )
    return flags, weights


def charlson(
    dx: ir.Table,
    key: str,
    *,
    weights: Literal["charlson_1987", "quan_2011"] = "charlson_1987",
    flags: bool = False,
) -> ir.Table:
    """Charlson comorbidity score (Quan 2005 ICD-10 codes) per key.

    Parameters
    ----------
    dx
        Long diagnosis table with columns ``key`` and ``code``.
    key
        Name of the key column.
    weights
        ``"charlson_1987"`` (original Charlson weights) or ``"quan_2011"`` (Quan re-weighting).
    flags
        Also return one int64 0/1 column per category (:data:`CHARLSON_CATEGORIES`), *before*
        the hierarchy, e.g. for "other conditions predictive of readmission".

    Returns
    -------
    ibis.Table
        ``(key, charlson[, ami, chf, ...])``, ``charlson`` int64. The hierarchy drops ``mld``
        when ``msld`` is present, ``diab`` with ``diabwc`` and ``canc`` with ``metacanc``.
        Keys without any Charlson code are absent (score 0 after the caller's left join).

    Examples
    --------
    Source of the weights: nhs_routine_data.md §4.1 (Charlson 1987): I21 (ami 1) + E112
    (diabwc 2) + C34 (canc 2, dropped) + C78 (metacanc 6) scores 9.
    """
    if weights not in CHARLSON_WEIGHTS:
        raise ConfigError(
            f"unknown Charlson weights {weights!r}", where="covariates.comorbidity.charlson.weights",
            hint=f"use one of: {', '.join(CHARLSON_WEIGHTS)}",
        )
    f, w = _category_flags(dx, key, CHARLSON_WEIGHTS[weights], CHARLSON_CATEGORIES)
    terms = []
    for c in CHARLSON_CATEGORIES:
        if w[c] == 0:
            continue
        counted = f[c] & ~f[CHARLSON_HIERARCHY[c]] if c in CHARLSON_HIERARCHY else f[c]
        terms.append(ibis.ifelse(counted, int(w[c]), 0))
    score = terms[0]
    for term in terms[1:]:
        score = score + term
    out = [f[key], score.cast("int64").name("charlson")]
    if flags:
        out += [f[c].cast("int64").name(c) for c in CHARLSON_CATEGORIES]
    return f.select(*out)


def frailty_syndromes(
    dx: ir.Table,
    key: str,
    *,
    categories: Literal["iau6", "imperial9"] = "iau6",
    flags: bool = False,
) -> ir.Table:
    """Number of frailty syndrome categories present per key.

    Parameters
    ----------
    dx
        Long diagnosis table with columns ``key`` and ``code``.
    key
        Name of the key column.
    categories
        ``"iau6"``: anx_dep, cognitive, dependence, falls_fractures, mobility, pressure_ulcers
        (IAU care-home evaluations, Lloyd et al. 2019); ``"imperial9"``: the nine Imperial
        frailty syndromes (Soong et al. 2015).
    flags
        Also return one int64 0/1 column per category.

    Returns
    -------
    ibis.Table
        ``(key, frailty_syndromes[, <category>...])``, int64; keys with none are absent.
    """
    if categories not in FRAILTY_SETS:
        raise ConfigError(
            f"unknown frailty category set {categories!r}",
            where="covariates.comorbidity.frailty_syndromes",
            hint=f"use one of: {', '.join(FRAILTY_SETS)}",
        )
    name = FRAILTY_SETS[categories]
    cats = tuple(load_codelist(name)["category"].drop_duplicates())
    f, _ = _category_flags(dx, key, name, cats)
    count = f[cats[0]].cast("int64")
    for c in cats[1:]:
        count = count + f[c].cast("int64")
    out = [f[key], count.cast("int64").name("frailty_syndromes")]
    if flags:
        out += [f[c].cast("int64").name(c) for c in cats]
    return f.select(*out)


def hfrs(dx: ir.Table, key: str) -> ir.Table:
    """Hospital Frailty Risk Score (Gilbert et al. 2018) per key.

    The score is the sum of the weights of the **distinct 3-character codes** present (each of
    the 109 codes counts once however often it is recorded), rounded to one decimal.

    Returns
    -------
    ibis.Table
        ``(key, hfrs)`` with ``hfrs`` float64; keys with no HFRS code are absent. Note that
        :func:`~impacteval.derive.diagnoses.diagnoses` drops R69 ("unknown"), which carries an
        HFRS weight of 1.3, so that code never contributes from episode data.
    """
    cl = load_codelist("hfrs")
    t = _check_dx(dx, key)
    t = t.select(key, code=t.code.substr(0, 3))
    matched = match_prefixes(t, "code", cl, columns=("weight",)).distinct()
    out = matched.group_by(key).aggregate(hfrs=matched.weight.sum())
    return out.select(out[key], out.hfrs.cast("float64").round(1).cast("float64").name("hfrs"))
