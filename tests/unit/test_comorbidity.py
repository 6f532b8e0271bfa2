"""Charlson, frailty syndromes and HFRS on known code sets, and the shipped code lists.

Expected scores are computed by hand from the weight tables in
shared/reference/nhs_routine_data.md: §4.1 (Charlson categories, Quan 2005 ICD-10 codes,
Charlson 1987 and Quan 2011 weights), §4.3 (HFRS weights, Gilbert et al. 2018; Imperial frailty
syndromes, Soong et al. 2015; IAU six categories, Lloyd et al. 2019).
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import ibis
import pandas as pd
import pytest

from impacteval.derive.codelists import CODELIST_COLUMNS, codelist_versions, load_codelist
from impacteval.derive.comorbidity import (
    CHARLSON_CATEGORIES,
    charlson,
    frailty_syndromes,
    hfrs,
)
from impacteval.derive.diagnoses import diagnoses
from impacteval.exceptions import ConfigError

# key -> (codes, Charlson 1987 score, Quan 2011 score)
CHARLSON_CASES = {
    # ami 1/0 + diabwc 2/1 + metacanc 6/6; canc (C34, 2/2) dropped under metacanc
    "hierarchy": (["I219", "E112", "C780", "C349"], 9, 7),
    "canc_only": (["C349"], 2, 2),
    "mld_msld": (["K703", "K704"], 3, 4),  # mld dropped under msld
    "diab_diabwc": (["E119", "E112"], 2, 1),  # diab dropped under diabwc
    "diab_only": (["E109"], 1, 0),
    "repeat": (["I210", "I211", "I219"], 1, 0),  # a category counts once
    "chf_range": (["I427", "I500"], 1, 2),  # I425-I429 expanded; chf once
    "dementia_copd": (["F019", "J449"], 2, 3),
    "aids_hp": (["B201", "G819"], 8, 4),
    "padded_3char": (["E11X"], None, None),  # E11 without a 4th character: neither diab nor diabwc
    "no_match": (["R100"], None, None),  # absent from the output
}
# key -> (codes, iau6 count, imperial9 count)
FRAILTY_CASES = {
    "cognitive": (["F000", "F05X", "R410"], 1, 2),  # dementia + delirium -> one IAU category
    "z74": (["Z740"], 2, 2),  # Z74 is both dependence and mobility
    "falls_ulcer": (["W190", "S720", "L891"], 2, 1 + 1),
    "incontinence": (["R32X"], None, 1),  # not an IAU category
    "all_nine": (["F32X", "F05X", "F00X", "Z75X", "R55X", "R15X", "R26X", "L89X", "R54X"], 6, 9),
}
# key -> (codes, HFRS): F00 7.1 + G81 4.4 + W19 3.2 (F00 counted once) = 14.7
HFRS_CASES = {
    "three": (["F000", "F001", "G819", "W19X"], 14.7),
    "one": (["R500"], 0.1),
    "none": (["I219"], None),
}


def dx_table(cases: dict[str, tuple]) -> ibis.Table:
    rows = [(k, c) for k, (codes, *_) in cases.items() for c in codes]
    return ibis.memtable(pd.DataFrame(rows, columns=["row_key", "code"]))


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def fetch(con, expr) -> pd.DataFrame:
    return con.to_pyarrow(expr).to_pandas().set_index("row_key")


@pytest.fixture(scope="module")
def charlson_1987(con):
    return fetch(con, charlson(dx_table(CHARLSON_CASES), "row_key", flags=True))


@pytest.fixture(scope="module")
def charlson_2011(con):
    return fetch(con, charlson(dx_table(CHARLSON_CASES), "row_key", weights="quan_2011"))


@pytest.mark.parametrize("case", CHARLSON_CASES)
def test_charlson_scores(charlson_1987, charlson_2011, case):
    _, w1987, w2011 = CHARLSON_CASES[case]
    if w1987 is None:
        assert case not in charlson_1987.index and case not in charlson_2011.index
    else:
        assert charlson_1987.loc[case, "charlson"] == w1987
        assert charlson_2011.loc[case, "charlson"] == w2011


def test_charlson_flags_are_before_the_hierarchy(charlson_1987):
    row = charlson_1987.loc["hierarchy"]
    assert (row.ami, row.diabwc, row.canc, row.metacanc, row.diab) == (1, 1, 1, 1, 0)
    assert list(charlson_1987.columns) == ["charlson", *CHARLSON_CATEGORIES]
    assert str(charlson_1987["charlson"].dtype) == "int64"


def test_charlson_rejects_unknown_weights():
    with pytest.raises(ConfigError, match="quan_2011"):
        charlson(dx_table(CHARLSON_CASES), "row_key", weights="deyo")  # type: ignore[arg-type]


@pytest.mark.parametrize("categories", ["iau6", "imperial9"])
def test_frailty_syndrome_counts(con, categories):
    got = fetch(con, frailty_syndromes(dx_table(FRAILTY_CASES), "row_key", categories=categories,
                                       flags=True))
    for case, (_, iau6, imperial9) in FRAILTY_CASES.items():
        want = iau6 if categories == "iau6" else imperial9
        if want is None:
            assert case not in got.index
        else:
            assert got.loc[case, "frailty_syndromes"] == want, case
    n_categories = 6 if categories == "iau6" else 9
    assert got.shape[1] == 1 + n_categories


def test_iau6_category_names():
    assert set(load_codelist("frailty_iau6")["category"]) == {
        "anx_dep", "cognitive", "dependence", "falls_fractures", "mobility", "pressure_ulcers"}


def test_hfrs_known_code_sets(con):
    got = fetch(con, hfrs(dx_table(HFRS_CASES), "row_key"))
    assert got.loc["three", "hfrs"] == pytest.approx(14.7)
    assert got.loc["one", "hfrs"] == pytest.approx(0.1)
    assert "none" not in got.index


def test_hfrs_of_every_code_is_the_published_maximum(con):
    cl = load_codelist("hfrs")
    dx = ibis.memtable(pd.DataFrame({"row_key": 1, "code": cl["code"] + "X"}))
    got = fetch(con, hfrs(dx, "row_key"))
    assert got.loc[1, "hfrs"] == pytest.approx(173.2)  # maximum in nhs_routine_data.md §4.3


def test_scores_from_the_diagnoses_table(con):
    apc = ibis.memtable(pd.DataFrame({
        "person_id": ["a", "a", "b"],
        "EPISTART": [dt.date(2015, 1, 1), dt.date(2015, 2, 1), dt.date(2015, 1, 1)],
        "EPISTAT": ["3", "3", "3"],
        "DIAG_4_01": ["I219", "C780", "R69X"],
        "DIAG_4_02": ["E112", None, None],
    }))
    got = fetch(con, charlson(diagnoses(apc).rename(row_key="person_id"), "row_key"))
    assert got.to_dict()["charlson"] == {"a": 9}


def test_diagnoses_long_table(con):
    apc = ibis.memtable(pd.DataFrame({
        "person_id": ["a", "a", "b"],
        "EPISTART": [dt.date(2015, 1, 1), dt.date(2015, 1, 1), dt.date(2015, 3, 1)],
        "EPISTAT": ["3", "3", "1"],
        "DIAG_4_01": ["I219", "I219", "J45X"],
        "DIAG_4_02": ["R69X", " e112", None],
        "DIAG_4_03": [None, "", None],
    }))
    got = con.to_pyarrow(diagnoses(apc)).to_pandas().sort_values("code")
    # duplicates, nulls, blanks, R69X and the unfinished episode are gone
    assert list(got.code) == ["E112", "I219"]
    assert set(got.person_id) == {"a"}


@pytest.mark.parametrize("name", sorted(codelist_versions()))
def test_codelist_files(name):
    cl = load_codelist(name)
    assert list(cl.columns[:5]) == list(CODELIST_COLUMNS)
    assert not cl.duplicated(["code", "category", *cl.columns[5:]]).any()
    assert cl["code"].str.fullmatch(r"[A-Z][0-9A-Z]{0,3}").all()
    assert (cl["source"] != "").all() and (cl["licence"] != "").all()
    meta = codelist_versions()[name]
    assert {"version", "source", "licence", "description"} <= set(meta)


def test_every_csv_is_versioned():
    files = resources.files("impacteval.derive").joinpath("codelists")
    csvs = {p.name.removesuffix(".csv") for p in files.iterdir() if p.name.endswith(".csv")}
    versions = json.loads(files.joinpath("VERSIONS.json").read_text("utf-8"))
    assert csvs == set(versions)


def test_charlson_lists_share_codes_and_differ_in_weights():
    a, b = load_codelist("charlson_1987"), load_codelist("charlson_quan_2011")
    assert a[["code", "category"]].equals(b[["code", "category"]])
    assert set(a["category"]) == set(CHARLSON_CATEGORIES)
    w = b.drop_duplicates("category").set_index("category")["weight"]
    assert (w["chf"], w["msld"], w["aids"], w["ami"]) == (2, 4, 2, 0)  # §4.1 Quan 2011 column


def test_hfrs_list_has_109_codes():
    assert len(load_codelist("hfrs")) == 109


def test_unknown_codelist_is_a_config_error():
    with pytest.raises(ConfigError, match="charlson_1987"):
        load_codelist("charlson")


def test_prefix_matching_needs_the_whole_prefix(con):
    # K70 alone is not K703 (mld); I25 alone is not I252 (ami); I252X is I252
    dx = ibis.memtable(pd.DataFrame({"row_key": ["a", "b", "c"], "code": ["K70X", "I25X", "I252"]}))
    got = fetch(con, charlson(dx, "row_key"))
    assert got.to_dict()["charlson"] == {"c": 1}
