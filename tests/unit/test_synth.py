"""Synthetic data generator: determinism, contract shape, codes, quirks, realism, confounding
and the known effect.

Sources of the numbers asserted here:
* contract columns, types and code sets: /work/shared/design/DATA_CONTRACT.md §7.1-7.5
  (copied below on purpose, so the test does not trust the generator's own schemas);
* realism ranges: the task brief (general population 600-1100 emergency admissions per
  10,000 per year; care-home residents 0.5-0.9 per resident-year) around the targets in
  DATA_CONTRACT.md §7.7 ([S20] 776-891 per 10,000; [S22] 0.70 admissions and 0.98 A&E per
  resident-year; [S23] ~301 A&E per 10,000 per month; [S20b] 38-40% die within a year;
  [S21] prior-year emergency admissions 1.5-1.8; [S34] ~20% ACSC);
* quirk rates: "each ~0.1-1%" in the brief; asserted as non-zero and at most 1.5%.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from impacteval.data.synth import generate
from impacteval.exceptions import ConfigError

TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")
CUT = pd.Timestamp("2016-08-31")
EMERGENCY = {"21", "22", "23", "24", "25", "2A", "2D", "28"}
ELECTIVE = {"11", "12", "13"}
COMPARISON = {"03W", "04C", "10X", "06H", "06Q", "99E"}
S, D, N, B = pa.string(), pa.date32(), pa.int64(), pa.bool_()
EXPECTED_SCHEMA: dict[str, dict[str, pa.DataType]] = {
    "persons": {
        "person_id": S,
        "MYDOB": S,
        "SEX": S,
        "ETHNOS": S,
        "LSOA11": S,
        "IMD19_DECILE": N,
        "GPPRAC": S,
        "CCG_CODE": S,
        "REG_START": D,
        "REG_END": D,
    },
    "apc_episodes": {
        "EPIKEY": S,
        "person_id": S,
        "PROCODE3": S,
        "ADMIDATE": D,
        "EPISTART": D,
        "EPIEND": D,
        "DISDATE": D,
        "EPIORDER": N,
        "EPISTAT": S,
        "CLASSPAT": S,
        "ADMIMETH": S,
        "ADMISORC": S,
        "DISMETH": S,
        "DISDEST": S,
        "STARTAGE": N,
        "MAINSPEF": S,
        "TRETSPEF": S,
        **{f"DIAG_4_{i:02d}": S for i in range(1, 21)},
        **{f"OPERTN_4_{i:02d}": S for i in range(1, 25)},
        "SITETRET": S,
    },
    "ae_attendances": {
        "AEKEY": S,
        "person_id": S,
        "PROCODE3": S,
        "ARRIVALDATE": D,
        "ARRIVALTIME": S,
        "AEDEPTTYPE": S,
        "AEATTENDCAT": S,
        "AEARRIVALMODE": S,
        "AEATTENDDISP": S,
        "DEP_MINUTES": N,
        "ADMITTED_FLAG": B,
        "DIAG_01": S,
    },
    "op_appointments": {
        "ATTENDKEY": S,
        "person_id": S,
        "PROCODE3": S,
        "APPTDATE": D,
        "ATTENDED": S,
        "FIRSTATT": S,
        "TRETSPEF": S,
        "OUTCOME": S,
        "PRIORITY": S,
        "CONSMED": S,
    },
    "deaths": {
        "person_id": S,
        "DOD": D,
        "DOR": D,
        "CAUSE_OF_DEATH": S,
        **{f"CAUSE_OF_DEATH_{i:02d}": S for i in range(1, 16)},
        "POD_TYPE": S,
    },
    "settings": {
        "person_id": S,
        "SETTING_ID": S,
        "SETTING_TYPE": S,
        "SETTING_BEDS": N,
        "SETTING_RURAL": S,
        "START_DATE": D,
        "END_DATE": D,
    },
}
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("persons", "SEX"): {"1", "2", "9", "0"},
    ("persons", "ETHNOS"): set("ABCDEFGHJKLMNPRSZ") | {"99"},
    ("apc_episodes", "EPISTAT"): {"1", "3", "9"},
    ("apc_episodes", "CLASSPAT"): {"1", "2", "3", "4", "5"},
    ("apc_episodes", "ADMIMETH"): {
        "11",
        "12",
        "13",
        "21",
        "22",
        "23",
        "24",
        "25",
        "2A",
        "2B",
        "2C",
        "2D",
        "28",
        "31",
        "32",
        "81",
        "82",
        "83",
    },
    ("apc_episodes", "ADMISORC"): {
        "19",
        "29",
        "37",
        "38",
        "39",
        "40",
        "41",
        "42",
        "49",
        "50",
        "51",
        "52",
        "53",
        "54",
        "65",
        "66",
        "79",
        "85",
        "87",
        "88",
    },
    ("apc_episodes", "DISMETH"): {"1", "2", "3", "4", "5", "8"},
    ("apc_episodes", "DISDEST"): {
        "19",
        "29",
        "30",
        "37",
        "38",
        "48",
        "49",
        "50",
        "51",
        "52",
        "53",
        "54",
        "65",
        "66",
        "79",
        "84",
        "85",
        "87",
        "88",
        "98",
    },
    ("ae_attendances", "AEDEPTTYPE"): {"01", "02", "03", "04", "05"},
    ("ae_attendances", "AEATTENDCAT"): {"1", "2", "3"},
    ("ae_attendances", "AEARRIVALMODE"): {"1", "2"},
    ("ae_attendances", "AEATTENDDISP"): {
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "10",
        "11",
        "12",
        "13",
        "14",
    },
    ("op_appointments", "ATTENDED"): {"0", "2", "3", "4", "5", "6", "7"},
    ("op_appointments", "FIRSTATT"): {"1", "2", "3", "4", "5"},
    ("op_appointments", "OUTCOME"): {"1", "2", "3", "4", "5"},
    ("op_appointments", "PRIORITY"): {"1", "2", "3"},
    ("op_appointments", "CONSMED"): {"01", "02", "03", "04", "05", "09", "10", "11", "98"},
    ("deaths", "POD_TYPE"): {"hospital", "care_home", "hospice", "home", "other"},
    ("settings", "SETTING_TYPE"): {"residential", "nursing"},
    ("settings", "SETTING_RURAL"): {"urban", "rural"},
}
ACSC_PRIMARY = (  # nhs_routine_data.md §4.4 (Strategy Unit regexes), primary-diagnosis groups
    r"^(J1[0134]|J15[3479]|J168|J18[18]|I20|I24[089]|J4[56]|I110|I50|I10X|I119|J81|J4[12347]|"
    r"E1[0-4][0-8]|D50[189]|E4[0-3]X|E550|E643|L0[34]|L08[089]|L88X|L980|R02X|G4[01]|O15|R56|"
    r"E86X|K52[289]|A690|K0[2-68]|K09[89]|K1[23]|H6[67]|J0[236]|J312|N7[034]|K2[5-8][012456]|"
    r"N1[012]|N136)"
)


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("synth20k")
    truth = generate(20_000, 2017, out)
    return out, truth, _read(out)


@pytest.fixture(scope="module")
def cohort(world: tuple[Path, dict, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """Care-home residents with arm, follow-up, prior and follow-up counts (from the files)."""
    out, _, t = world
    intervention = set(pd.read_csv(out / "intervention_settings.csv", dtype=str)["SETTING_ID"])
    res = t["settings"].merge(t["persons"][["person_id", "CCG_CODE", "MYDOB"]], on="person_id")
    res["treated"] = res["SETTING_ID"].isin(intervention)
    res["arm"] = np.where(
        res["treated"], "treated", np.where(res["CCG_CODE"].isin(COMPARISON), "comparison", "other")
    )
    res["start"] = pd.to_datetime(res["START_DATE"])
    res["end"] = pd.to_datetime(res["END_DATE"]).fillna(CUT).clip(upper=CUT)
    res["py"] = (res["end"] - res["start"]).dt.days / 365.25
    res["age"] = res["start"].dt.year - res["MYDOB"].str[2:].astype(int)
    apc = t["apc_episodes"]
    em = apc[(apc["EPIORDER"] == 1) & apc["ADMIMETH"].isin(EMERGENCY)][
        ["person_id", "EPISTART", "DIAG_4_01"]
    ]
    em = em.assign(day=pd.to_datetime(em["EPISTART"]))
    ae = t["ae_attendances"].assign(day=lambda d: pd.to_datetime(d["ARRIVALDATE"]))[
        ["person_id", "day"]
    ]
    dx = apc.melt(
        id_vars=["person_id", "EPISTART"], value_vars=[f"DIAG_4_{i:02d}" for i in range(1, 21)]
    )
    dx = dx.dropna(subset=["value"]).assign(day=lambda d: pd.to_datetime(d["EPISTART"]))
    frail = dx[dx["value"].str.match(r"^(F0[0-5]|R41|Z74|Z75|R55|S72|W[01]|R26|L89|R54|F32|F41)")]

    def count(events: pd.DataFrame, lo: str, hi: str, name: str) -> None:
        j = events.merge(res[["person_id", "start", "end"]], on="person_id")
        if lo == "pre":
            m = (j["day"] >= j["start"] - pd.Timedelta(days=365)) & (j["day"] < j["start"])
        elif lo == "pre2":
            m = (j["day"] >= j["start"] - pd.Timedelta(days=730)) & (j["day"] < j["start"])
        else:
            m = (j["day"] >= j["start"]) & (j["day"] < j["end"])
        res[name] = res["person_id"].map(j[m].groupby("person_id").size()).fillna(0)

    count(em, "pre", "", "em_pre")
    count(em, "fu", "", "em_fu")
    count(ae, "pre", "", "ae_pre")
    count(ae, "fu", "", "ae_fu")
    count(frail.drop_duplicates(["person_id", "value"]), "pre2", "", "frail_dx")
    return res


# --- determinism ------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = generate(3_000, 11, tmp_path / "a")
    b = generate(3_000, 11, tmp_path / "b")
    c = generate(3_000, 12, tmp_path / "c")
    fa, fb, fc = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert set(fa) == {f"{t}.parquet" for t in TABLES} | {"truth.json", "intervention_settings.csv"}
    assert fa == fb
    assert a == b == json.loads(fa["truth.json"])
    for name in fa:
        assert fa[name] != fc[name], name
    assert c["seed"] == 12 and c["n_persons"] == 3_000


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"n_persons": 100, "seed": 1}, "synth.n_persons"),
        ({"n_persons": 3_000, "seed": -1}, "synth.seed"),
        ({"n_persons": 3_000, "seed": 1, "rate_ratio": 0.0}, "synth.rate_ratio"),
        ({"n_persons": 3_000, "seed": 1, "rate_ratio": 1.5}, "synth.rate_ratio"),
    ],
)
def test_bad_arguments_raise_config_error(tmp_path: Path, kwargs: dict, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        generate(out=tmp_path, **kwargs)
    assert err.value.where == where and err.value.hint
    assert not any(tmp_path.iterdir())


# --- contract shape and codes -----------------------------------------------------------------


def test_every_contract_column_with_its_arrow_type(world: tuple[Path, dict, dict]) -> None:
    out, _, _ = world
    for table, expected in EXPECTED_SCHEMA.items():
        schema = pq.read_schema(out / f"{table}.parquet")
        assert schema.names == list(expected), table
        for name, dtype in expected.items():
            assert schema.field(name).type == dtype, (table, name)


def test_codes_in_allowed_sets_and_formats(world: tuple[Path, dict, dict]) -> None:
    _, _, t = world
    for (table, column), allowed in ALLOWED.items():
        values = set(t[table][column].dropna().unique())
        assert values and values <= allowed, (table, column, values - allowed)
    p = t["persons"]
    assert p["person_id"].is_unique and p["person_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert p["MYDOB"].str.fullmatch(r"(0[1-9]|1[0-2])\d{4}").all()
    lsoa = p["LSOA11"].dropna()
    assert lsoa[lsoa != "Z99999999"].str.fullmatch(r"E01\d{6}").all()
    gp = p["GPPRAC"].dropna()
    assert gp[gp != "V81999"].str.fullmatch(r"[A-Z]\d{5}").all()
    assert p["IMD19_DECILE"].dropna().between(1, 10).all()
    assert p["CCG_CODE"].str.fullmatch(r"[0-9A-Z]{3}").all()
    assert (p["REG_END"].dropna() >= p.loc[p["REG_END"].notna(), "REG_START"]).all()
    apc = t["apc_episodes"]
    for key, table in (
        ("EPIKEY", "apc_episodes"),
        ("AEKEY", "ae_attendances"),
        ("ATTENDKEY", "op_appointments"),
    ):
        assert t[table][key].is_unique and t[table][key].notna().all()
    assert apc["PROCODE3"].str.fullmatch(r"[A-Z0-9]{3}").all()
    assert apc["EPIORDER"].between(1, 97).all()
    for i in range(1, 21):
        assert apc[f"DIAG_4_{i:02d}"].dropna().str.fullmatch(r"[A-Z]\d{2}[0-9X]").all()
    for i in range(1, 25):
        ops = apc[f"OPERTN_4_{i:02d}"].dropna()
        assert ops[ops != "-"].str.fullmatch(r"[A-Z]\d{2}[0-9]").all()
    age = apc["STARTAGE"]
    assert (age.between(0, 120) | age.between(7001, 7007)).all()
    ae = t["ae_attendances"]
    assert ae["ARRIVALTIME"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    assert ae["DEP_MINUTES"].between(0, 4320).all()
    assert (ae["ADMITTED_FLAG"] == (ae["AEATTENDDISP"] == "01")).all()
    d = t["deaths"]
    for c in ["CAUSE_OF_DEATH", *[f"CAUSE_OF_DEATH_{i:02d}" for i in range(1, 16)]]:
        assert d[c].dropna().str.fullmatch(r"[A-Z]\d{2}[0-9X]?").all()
    assert (d["DOR"] >= d["DOD"]).where(d["DOD"].notna(), True).all()
    for table, col in (
        ("apc_episodes", "EPISTART"),
        ("ae_attendances", "ARRIVALDATE"),
        ("op_appointments", "APPTDATE"),
        ("deaths", "DOR"),
    ):
        assert pd.to_datetime(t[table][col]).min() >= pd.Timestamp("2012-01-01"), table
    assert pd.to_datetime(apc["DISDATE"]).max() <= CUT
    assert pd.to_datetime(apc["EPISTART"]).max() <= CUT


def test_quirks_present_at_low_rates(world: tuple[Path, dict, dict]) -> None:
    _, _, t = world
    p, apc, ae, op, d = (
        t[k] for k in ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths")
    )
    first = apc[apc["EPIORDER"] == 1]
    admidate = pd.to_datetime(first["ADMIDATE"])
    ae_day = pd.to_datetime(ae["ARRIVALDATE"])
    minutes = ae["ARRIVALTIME"].str[:2].astype(int) * 60 + ae["ARRIVALTIME"].str[3:].astype(int)
    a = ae.assign(day=ae_day, m=minutes).sort_values(["person_id", "PROCODE3", "day", "m"])
    same = (
        (a["person_id"] == a["person_id"].shift())
        & (a["PROCODE3"] == a["PROCODE3"].shift())
        & (a["day"] == a["day"].shift())
    )
    dup_within_hour = same & (a["m"] - a["m"].shift() <= 60)
    dod = d.dropna(subset=["DOD"]).groupby("person_id")["DOD"].min()
    after_death = pd.to_datetime(op["APPTDATE"]) > pd.to_datetime(op["person_id"].map(dod))
    known = set(p["person_id"])
    rates = {
        "admidate_missing": first["ADMIDATE"].isna().mean(),
        "admidate_sentinel": admidate.isin(
            [pd.Timestamp("1800-01-01"), pd.Timestamp("1801-01-01")]
        ).mean(),
        "epiend_before_epistart": (apc["EPIEND"] < apc["EPISTART"]).mean(),
        "r69x": (apc["DIAG_4_01"] == "R69X").mean(),
        "dash_procedure": (apc["OPERTN_4_01"] == "-").mean(),
        "ae_duplicates": dup_within_hour.mean(),
        "gp_v81999": (p["GPPRAC"] == "V81999").mean(),
        "lsoa_z99999999": (p["LSOA11"] == "Z99999999").mean(),
        "ethnos_z": (p["ETHNOS"] == "Z").mean(),
        "ethnos_99": (p["ETHNOS"] == "99").mean(),
        "sex_9": (p["SEX"] == "9").mean(),
        "sex_0": (p["SEX"] == "0").mean(),
        "op_after_death": after_death.mean(),
        "apc_unlinkable": (~apc["person_id"].isin(known)).mean(),
        "ae_unlinkable": (~ae["person_id"].isin(known)).mean(),
        "op_unlinkable": (~op["person_id"].isin(known)).mean(),
        "unfinished": (apc["EPISTAT"] == "1").mean(),
        "infant_ages": apc["STARTAGE"].between(7001, 7007).mean(),
        "death_registered_twice": d["person_id"].duplicated().mean(),
        "deaths_unlinkable": (~d["person_id"].isin(known)).mean(),
    }
    for name, rate in rates.items():
        assert 0 < rate <= 0.015, (name, rate)
    # unfinished episodes: no end, no discharge; DOR differs between two registrations
    unfinished = apc[apc["EPISTAT"] == "1"]
    assert unfinished["EPIEND"].isna().all() and unfinished["DISDATE"].isna().all()
    twice = d[d["person_id"].duplicated(keep=False)]
    assert (twice.groupby("person_id")["DOR"].nunique() == 2).all()
    # infant age codes only for people born within a year of the episode
    infants = apc[apc["STARTAGE"] >= 7001].merge(p[["person_id", "MYDOB"]], on="person_id")
    born = pd.to_datetime(infants["MYDOB"].str[2:] + "-" + infants["MYDOB"].str[:2] + "-01")
    assert ((pd.to_datetime(infants["EPISTART"]) - born).dt.days < 400).all()


# --- structure ---------------------------------------------------------------------------------


def test_spell_structure_transfers_and_deaths_in_hospital(world: tuple[Path, dict, dict]) -> None:
    _, _, t = world
    apc = t["apc_episodes"]
    later = apc[apc["EPIORDER"] > 1]
    assert 0.05 < len(later) / len(apc) < 0.3  # most spells have one episode, some several
    prev = apc.assign(EPIORDER=apc["EPIORDER"] + 1)[
        ["person_id", "ADMIDATE", "EPIORDER", "EPIEND", "DISMETH", "DISDATE"]
    ]
    j = later.merge(prev, on=["person_id", "ADMIDATE", "EPIORDER"], suffixes=("", "_prev"))
    assert len(j) >= 0.95 * later["ADMIDATE"].notna().sum()
    chained = j[j["EPIEND_prev"].notna()]  # previous episode's EPIEND is this EPISTART
    assert (chained["EPISTART"] == chained["EPIEND_prev"]).mean() > 0.99
    assert (j["DISMETH_prev"] == "8").all() and j["DISDATE_prev"].isna().all()
    # transfers: DISDEST 51 -> a 2B / ADMISORC 51 spell at another trust within 3 days
    out = apc[apc["DISDEST"] == "51"][["person_id", "PROCODE3", "DISDATE"]]
    into = apc[(apc["ADMIMETH"] == "2B") & (apc["EPIORDER"] == 1)]
    assert len(out) > 10 and (into["ADMISORC"] == "51").all()
    m = out.merge(
        into[["person_id", "PROCODE3", "EPISTART"]], on="person_id", suffixes=("", "_next")
    )
    gap = (pd.to_datetime(m["EPISTART"]) - pd.to_datetime(m["DISDATE"])).dt.days
    m = m[gap.between(0, 3) & (m["PROCODE3"] != m["PROCODE3_next"])]
    assert m[["person_id", "DISDATE"]].drop_duplicates().shape[0] >= 0.9 * len(out)
    # deaths in hospital: DISMETH 4 with DISDEST 79 on the death date, for a share of deaths
    died = apc[apc["DISMETH"] == "4"]
    assert (died["DISDEST"] == "79").all()
    dod = t["deaths"].groupby("person_id")["DOD"].min()
    assert (died["DISDATE"] == died["person_id"].map(dod)).mean() > 0.99
    hospital = t["deaths"].drop_duplicates("person_id")["POD_TYPE"].eq("hospital").mean()
    assert 0.25 < hospital < 0.6
    # A&E "admitted" rows sit on the day of an emergency admission via A&E (ADMIMETH 21)
    via_ae = apc[(apc["EPIORDER"] == 1) & (apc["ADMIMETH"] == "21")][["person_id", "EPISTART"]]
    adm = t["ae_attendances"][t["ae_attendances"]["AEATTENDDISP"] == "01"]
    hit = adm.merge(
        via_ae.drop_duplicates(),
        left_on=["person_id", "ARRIVALDATE"],
        right_on=["person_id", "EPISTART"],
    )
    assert len(hit.drop_duplicates("AEKEY")) >= 0.9 * len(adm)


# --- realism -----------------------------------------------------------------------------------


def test_general_population_volumes(world: tuple[Path, dict, dict]) -> None:
    _, _, t = world
    p = t["persons"][~t["persons"]["person_id"].isin(t["settings"]["person_id"])]
    start = pd.to_datetime(p["REG_START"]).clip(lower=pd.Timestamp("2012-01-01"))
    end = pd.to_datetime(p["REG_END"]).fillna(CUT).clip(upper=CUT)
    py = ((end - start).dt.days.clip(lower=0) / 365.25).sum()
    apc = t["apc_episodes"]
    first = apc[(apc["EPIORDER"] == 1) & apc["person_id"].isin(p["person_id"])]
    em = first[first["ADMIMETH"].isin(EMERGENCY)]
    assert 600 <= len(em) / py * 1e4 <= 1100
    ae = t["ae_attendances"][t["ae_attendances"]["person_id"].isin(p["person_id"])]
    assert 200 <= len(ae) / py * 1e4 / 12 <= 400
    assert 0 < first["ADMIMETH"].isin(ELECTIVE).sum() / py < 0.25
    op = t["op_appointments"]
    assert (
        0.8
        <= op[op["ATTENDED"].isin(["5", "6"]) & op["person_id"].isin(p["person_id"])].shape[0] / py
        <= 3.0
    )
    acsc = apc[(apc["EPIORDER"] == 1) & apc["ADMIMETH"].isin(EMERGENCY)]["DIAG_4_01"].str.match(
        ACSC_PRIMARY
    )
    assert 0.15 <= acsc.mean() <= 0.25
    # rises steeply with age: rate per person-year at 80+ over that under 65 (curve ratio ~5)
    person_py = pd.Series(
        ((end - start).dt.days.clip(lower=0) / 365.25).to_numpy(), index=p["person_id"]
    )
    age = pd.Series(2014 - p["MYDOB"].str[2:].astype(int).to_numpy(), index=p["person_id"])
    n_em = em.groupby("person_id").size().reindex(person_py.index, fill_value=0)
    old, young = age >= 80, age < 65
    assert (n_em[old].sum() / person_py[old].sum()) > 3 * (
        n_em[young].sum() / person_py[young].sum()
    )


def test_care_home_residents_volumes(cohort: pd.DataFrame) -> None:
    assert (cohort["age"] >= 65).all()
    assert cohort["start"].between(pd.Timestamp("2013-01-01"), CUT).all()
    assert 0.5 <= cohort["em_fu"].sum() / cohort["py"].sum() <= 0.9
    assert 0.7 <= cohort["ae_fu"].sum() / cohort["py"].sum() <= 1.3
    assert 1.2 <= cohort["em_pre"].mean() <= 2.2
    early = cohort[cohort["start"] <= CUT - pd.Timedelta(days=365)]
    died_1y = (early["END_DATE"].notna() & ((early["end"] - early["start"]).dt.days < 365)).mean()
    assert 0.3 <= died_1y <= 0.55  # move-outs (~8%/year) count here too


def test_scale_of_treated_and_controls(
    world: tuple[Path, dict, dict], cohort: pd.DataFrame
) -> None:
    n = cohort["arm"].value_counts()
    # a 60,000-person run should give 300-600 treated: 20,000 persons -> 100-200
    assert 100 <= n["treated"] <= 200
    assert n["comparison"] >= 3 * n["treated"]
    assert (cohort.loc[cohort["treated"], "CCG_CODE"] == "04N").all()
    assert cohort.groupby("SETTING_ID")["CCG_CODE"].nunique().eq(1).all()
    assert set(cohort["SETTING_ID"][cohort["treated"]]) <= set(
        pd.read_csv(world[0] / "intervention_settings.csv", dtype=str)["SETTING_ID"]
    )


# --- confounding and the effect ------------------------------------------------------------------


def test_treated_older_frailer_with_overlap(cohort: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression

    sub = cohort[cohort["arm"] != "other"]
    tr, co = sub[sub["treated"]], sub[~sub["treated"]]
    assert tr["age"].mean() > co["age"].mean() + 1
    assert tr["em_pre"].mean() > 1.15 * co["em_pre"].mean()
    assert tr["frail_dx"].mean() > co["frail_dx"].mean()
    x = sub[["age", "em_pre", "ae_pre", "frail_dx"]].to_numpy(float)
    ps = LogisticRegression(max_iter=1000).fit(x, sub["treated"]).predict_proba(x)[:, 1]
    ps_t, ps_c = ps[sub["treated"].to_numpy()], ps[~sub["treated"].to_numpy()]
    assert np.mean(ps_t <= ps_c.max()) >= 0.95  # treated mostly within the controls' range
    assert np.mean(ps_t > np.quantile(ps_c, 0.99)) < 0.25


def test_naive_comparison_is_biased_towards_null(
    world: tuple[Path, dict, dict], cohort: pd.DataFrame
) -> None:
    sub = cohort[cohort["arm"] != "other"]
    rate = sub.groupby("treated")["em_fu"].sum() / sub.groupby("treated")["py"].sum()
    naive = rate[True] / rate[False]
    truth = world[1]["outcomes"]["emergency_admissions"]["value"]
    assert naive > truth + 0.1


def test_truth_record(world: tuple[Path, dict, dict]) -> None:
    out, truth, _ = world
    assert truth == json.loads((out / "truth.json").read_text())
    o = truth["outcomes"]
    for name in ("emergency_admissions", "avoidable_emergency_admissions", "ae_attendances"):
        assert o[name] == {"scale": "rate_ratio", "value": 0.75, "note": o[name]["note"]}
    for name in ("elective_admissions", "op_attendances", "deaths"):
        assert o[name]["value"] == 1.0
    assert 0.75 < o["bed_days"]["value"] < 1.0
    assert (
        truth["data_cut"] == "2016-08-31" and truth["n_persons"] == 20_000 and truth["seed"] == 2017
    )
    s = truth["sample"]
    for name in ("elective_admissions", "op_attendances", "deaths"):
        assert s["observed"][name] == s["counterfactual"][name]
    for name in ("emergency_admissions", "ae_attendances"):
        cf, obs = s["counterfactual"][name], s["observed"][name]
        sd = np.sqrt(cf * 0.75 * 0.25)  # binomial thinning
        assert abs(obs - 0.75 * cf) < 4 * sd, name


def test_effect_seen_in_files_same_world_two_rate_ratios(tmp_path: Path) -> None:
    """Same seed, rate ratio 1.0 vs 0.5: the counterfactual world is shared, so controls'
    counts are identical and treated follow-up counts halve (an unconfounded comparison)."""
    t1 = generate(20_000, 5, tmp_path / "one", rate_ratio=1.0)
    t5 = generate(20_000, 5, tmp_path / "half", rate_ratio=0.5)
    assert t1["sample"]["counterfactual"] == t5["sample"]["counterfactual"]
    assert t1["sample"]["observed"] == t1["sample"]["counterfactual"]

    def counts(folder: Path) -> pd.DataFrame:
        s = pd.read_parquet(folder / "settings.parquet")
        ids = set(pd.read_csv(folder / "intervention_settings.csv", dtype=str)["SETTING_ID"])
        s = s.assign(
            treated=s["SETTING_ID"].isin(ids),
            start=pd.to_datetime(s["START_DATE"]),
            end=pd.to_datetime(s["END_DATE"]).fillna(CUT + pd.Timedelta(days=1)),
        )
        apc = pd.read_parquet(
            folder / "apc_episodes.parquet",
            columns=["person_id", "EPIORDER", "ADMIMETH", "EPISTART"],
        )
        apc = apc[apc["EPIORDER"] == 1].merge(s, on="person_id")
        apc = apc[
            (pd.to_datetime(apc["EPISTART"]) >= apc["start"])
            & (pd.to_datetime(apc["EPISTART"]) < apc["end"])
        ]
        ae = pd.read_parquet(
            folder / "ae_attendances.parquet", columns=["person_id", "ARRIVALDATE"]
        ).merge(s, on="person_id")
        ae = ae[
            (pd.to_datetime(ae["ARRIVALDATE"]) >= ae["start"])
            & (pd.to_datetime(ae["ARRIVALDATE"]) < ae["end"])
        ]
        return pd.DataFrame(
            {
                "em": apc[apc["ADMIMETH"].isin(EMERGENCY)].groupby("treated").size(),
                "el": apc[apc["ADMIMETH"].isin(ELECTIVE)].groupby("treated").size(),
                "ae": ae.groupby("treated").size(),
            }
        )

    one, half = counts(tmp_path / "one"), counts(tmp_path / "half")
    assert one.loc[False, "em"] == half.loc[False, "em"]  # controls untouched
    assert one.loc[True, "el"] == half.loc[True, "el"]  # electives unaffected
    for outcome in ("em", "ae"):
        n1, n5 = one.loc[True, outcome], half.loc[True, outcome]
        # A&E rows near-duplicated by the quirk add a little noise; thinning SD is sqrt(n/4)
        assert abs(n5 - 0.5 * n1) < 4 * np.sqrt(n1 * 0.25) + 3, outcome
