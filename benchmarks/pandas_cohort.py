"""The link, derive and cohort stages written again in plain pandas, for the benchmark.

This is the peer in ``benchmarks/link_derive_cohort.py``: the same rules as
``impacteval.linkage``, ``impacteval.derive`` and ``impacteval.cohort`` (their docstrings state
them), applied with pandas merges, group-bys and vectorised date arithmetic to the cleaned
contract tables. It reads the same code lists. It is a benchmark, not part of the package:
the package runs these stages on DuckDB (or Spark) through Ibis.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from impacteval.derive.codelists import load_codelist

EMERGENCY = {"21", "22", "23", "24", "25", "2A", "2D", "28"}
ELECTIVE = {"11", "12", "13"}
TRANSFER_SD = {"51", "52", "53"}
TRANSFER_METH = {"2B", "81"}
NOT_DISCHARGED = {"8", "9"}
DISCHARGED = {"1", "2", "3", "4", "5"}
MEASURES = {
    "emergency_admissions": "emergency_admission",
    "avoidable_emergency_admissions": "avoidable_emergency_admission",
    "elective_admissions": "elective_admission",
    "ae_attendances": "ae_attendance",
    "op_attendances": "op_attendance",
    "bed_days": "bed_days",
}


def link(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Drop records whose person_id is not in persons (orphans)."""
    ids = tables["persons"]["person_id"]
    out = {"persons": tables["persons"]}
    for name, df in tables.items():
        if name != "persons":
            out[name] = df[df["person_id"].isin(ids)]
    return out


def _isin(s: pd.Series, codes: set[str]) -> pd.Series:
    return s.isin(codes).fillna(False).astype(bool)


def build_spells(apc: pd.DataFrame) -> pd.DataFrame:
    """Provider spells and CIPS ids (rules of impacteval.derive.spells)."""
    e = apc[(apc["EPISTAT"] == "3") & apc["person_id"].notna() & apc["PROCODE3"].notna()
            & apc["EPIKEY"].notna() & apc["EPISTART"].notna()].copy()
    adm_tr = _isin(e["ADMISORC"], TRANSFER_SD) | _isin(e["ADMIMETH"], TRANSFER_METH)
    dis_tr = _isin(e["DISDEST"], TRANSFER_SD)
    impute = e["ADMIDATE"].isna() & (e["EPIORDER"] == 1).fillna(False) & ~adm_tr
    e["ADMIDATE_FILLED"] = e["ADMIDATE"].where(~impute, e["EPISTART"])
    e["TRANSIT"] = np.select([adm_tr & dis_tr, dis_tr, adm_tr], [2, 1, 3], 0)
    e = e.sort_values(["person_id", "PROCODE3", "EPISTART", "EPIEND", "EPIORDER", "TRANSIT",
                       "EPIKEY"], na_position="last", kind="stable")
    grp = e.groupby(["person_id", "PROCODE3"], sort=False)
    prev_adm = grp["ADMIDATE_FILLED"].shift()
    prev_start = grp["EPISTART"].shift()
    prev_end = grp["EPIEND"].shift()
    prev_dis = grp["DISMETH"].shift()
    prev_exists = grp["EPIKEY"].shift().notna()
    prev_nd = _isin(prev_dis, NOT_DISCHARGED) | (prev_dis.isna() & prev_exists)
    cont = ((e["ADMIDATE_FILLED"] == prev_adm) | (e["EPISTART"] == prev_start)
            | (prev_nd & (e["EPISTART"] == prev_end)))
    e["_no"] = (~cont).astype(np.int64).groupby([e["person_id"], e["PROCODE3"]], sort=False).cumsum()
    e["SPELL_ID"] = e["person_id"] + "-" + e["PROCODE3"] + "-" + e["_no"].astype(str)
    g = e.groupby("SPELL_ID", sort=False)
    first = g.head(1).set_index("SPELL_ID")
    last = g.tail(1).set_index("SPELL_ID")
    discharged = _isin(last["DISMETH"], DISCHARGED)
    disdate = last["DISDATE"].where(last["DISDATE"].notna(), last["EPIEND"].where(discharged))
    sp = pd.DataFrame({
        "person_id": first["person_id"], "PROCODE3": first["PROCODE3"],
        "ADMIDATE": first["ADMIDATE_FILLED"].fillna(first["EPISTART"]),
        "EPISTART": first["EPISTART"], "ADMIMETH": first["ADMIMETH"],
        "ADMISORC": first["ADMISORC"], "EPIKEY_ADM": first["EPIKEY"],
        "DISDATE": disdate, "EPIEND": last["EPIEND"], "DISDEST": last["DISDEST"],
    }).reset_index()
    # CIPS: chain spells within 3 days when a transfer marker is present
    sp = sp.sort_values(["person_id", "EPISTART", "EPIEND", "PROCODE3", "SPELL_ID"],
                        na_position="last", kind="stable")
    pg = sp.groupby("person_id", sort=False)
    prev_end = pg["EPIEND"].shift()
    prev_dest = pg["DISDEST"].shift()
    close = ((sp["EPISTART"] - prev_end).dt.days <= 3).fillna(False)
    transfer = _isin(prev_dest, TRANSFER_SD) | _isin(sp["ADMISORC"], TRANSFER_SD) | _isin(
        sp["ADMIMETH"], TRANSFER_METH)
    sp["_c"] = (~(close & transfer)).astype(np.int64).groupby(sp["person_id"], sort=False).cumsum()
    sp["CIPS_ID"] = sp["person_id"] + "-C" + sp["_c"].astype(str)
    return sp.drop(columns="_c")


def _prefix_match(codes: pd.DataFrame, codelist: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows of ``codes`` (column ``code``) whose code starts with a list code (equi-joins)."""
    parts = []
    for length in sorted(codelist["code"].str.len().unique()):
        sub = codelist[codelist["code"].str.len() == length][["code", *columns]]
        left = codes.assign(_p=codes["code"].str.slice(0, int(length)))
        parts.append(left.merge(sub.rename(columns={"code": "_p"}), on="_p").drop(columns="_p"))
    return pd.concat(parts, ignore_index=True)


def acsc_keys(episodes: pd.DataFrame) -> set[str]:
    """EPIKEYs of admission episodes meeting an ACSC rule (impacteval.derive.acsc)."""
    cl = load_codelist("acsc")
    needs = set(cl.loc[cl["role"] == "require", "rule"])
    dx = [c for c in episodes.columns if c.startswith("DIAG_4_")]
    op = [c for c in episodes.columns if c.startswith("OPERTN_4_")]
    long = []
    for kind, cols in (("diagnosis", dx), ("procedure", op)):
        if cols:
            m = episodes[["EPIKEY", *cols]].melt("EPIKEY", var_name="col", value_name="code").dropna()
            m["kind"] = kind
            m["primary"] = m["col"].str.endswith("_01")
            long.append(m.drop(columns="col"))
    codes = pd.concat(long, ignore_index=True)
    codes["code"] = codes["code"].str.upper()
    m = _prefix_match(codes, cl, ["rule", "role", "field"])
    fields = {"primary_diagnosis": ("diagnosis", "p"), "secondary_diagnosis": ("diagnosis", "s"),
              "any_diagnosis": ("diagnosis", "a"), "primary_procedure": ("procedure", "p"),
              "any_procedure": ("procedure", "a")}
    ok = np.zeros(len(m), dtype=bool)
    for field, (kind, pos) in fields.items():
        position = m["primary"] if pos == "p" else (~m["primary"] if pos == "s" else True)
        ok |= ((m["field"] == field) & (m["kind"] == kind) & position).to_numpy()
    hits = m[ok]
    flags = hits.assign(inc=hits["role"] == "include", exc=hits["role"] == "exclude",
                        req=hits["role"] == "require").groupby(["EPIKEY", "rule"])[
        ["inc", "exc", "req"]].any().reset_index()
    fires = flags["inc"] & ~flags["exc"] & (~flags["rule"].isin(needs) | flags["req"])
    return set(flags.loc[fires, "EPIKEY"])


def derive_events(t: dict[str, pd.DataFrame], data_cut: dt.date) -> pd.DataFrame:
    """Long event table ``person_id, event, start_date, end_date, nights``."""
    apc = t["apc_episodes"]
    sp = build_spells(apc)
    sp = sp.sort_values(["person_id", "EPISTART", "EPIEND", "PROCODE3", "SPELL_ID"],
                        na_position="last", kind="stable")
    cg = sp.groupby("CIPS_ID", sort=False)
    sp["CIPS_START"] = cg.cumcount() == 0
    firsts = sp[sp["CIPS_START"]].set_index("CIPS_ID")
    lasts = sp[cg.cumcount(ascending=False) == 0].set_index("CIPS_ID")
    sp["CIPS_ADMIDATE"] = sp["CIPS_ID"].map(firsts["ADMIDATE"])
    sp["CIPS_ADMIMETH"] = sp["CIPS_ID"].map(firsts["ADMIMETH"])
    sp["CIPS_EPIKEY_ADM"] = sp["CIPS_ID"].map(firsts["EPIKEY_ADM"])
    sp["CIPS_DISDATE"] = sp["CIPS_ID"].map(lasts["DISDATE"])
    cand = apc[(apc["EPISTAT"] == "3") & _isin(apc["ADMIMETH"], EMERGENCY)]
    avoidable = acsc_keys(cand)
    emerg = _isin(sp["CIPS_ADMIMETH"], EMERGENCY)
    elect = _isin(sp["CIPS_ADMIMETH"], ELECTIVE)
    cut = pd.Timestamp(data_cut)
    rows = []
    for name, mask in (("emergency_admission", sp["CIPS_START"] & emerg),
                       ("avoidable_emergency_admission",
                        sp["CIPS_START"] & emerg & sp["CIPS_EPIKEY_ADM"].isin(avoidable)),
                       ("elective_admission", sp["CIPS_START"] & elect)):
        s = sp[mask]
        nights = (s["CIPS_DISDATE"] - s["CIPS_ADMIDATE"]).dt.days
        rows.append(pd.DataFrame({"person_id": s["person_id"], "event": name,
                                  "start_date": s["CIPS_ADMIDATE"], "end_date": s["CIPS_DISDATE"],
                                  "nights": nights}))
    b = sp[emerg | elect]
    end = b["DISDATE"].fillna(cut).clip(upper=cut)
    rows.append(pd.DataFrame({"person_id": b["person_id"], "event": "bed_days",
                              "start_date": b["ADMIDATE"], "end_date": end,
                              "nights": (end - b["ADMIDATE"]).dt.days}))
    ae = t["ae_attendances"]
    ae = ae[_isin(ae["AEATTENDCAT"], {"1", "3"}) & ~_isin(ae["AEATTENDDISP"], {"12", "13"})]
    rows.append(pd.DataFrame({"person_id": ae["person_id"], "event": "ae_attendance",
                              "start_date": ae["ARRIVALDATE"]}))
    op = t["op_appointments"]
    op = op[_isin(op["ATTENDED"], {"5", "6"})]
    rows.append(pd.DataFrame({"person_id": op["person_id"], "event": "op_attendance",
                              "start_date": op["APPTDATE"]}))
    d = t["deaths"]
    rows.append(pd.DataFrame({"person_id": d["person_id"], "event": "death", "start_date": d["DOD"]}))
    ev = pd.concat(rows, ignore_index=True)
    return ev[ev["start_date"].notna() & (ev["start_date"] <= cut)]


def _scores(dx: pd.DataFrame) -> pd.DataFrame:
    """charlson (1987, hierarchy), frailty_syndromes (IAU 6), hfrs per person_id."""
    ch = _prefix_match(dx, load_codelist("charlson_1987"), ["category", "weight"])
    ch = ch.drop_duplicates(["person_id", "category"])
    wide = ch.pivot_table(index="person_id", columns="category", values="weight", aggfunc="max")
    for low, high in (("mld", "msld"), ("diab", "diabwc"), ("canc", "metacanc")):
        if low in wide and high in wide:
            wide.loc[wide[high].notna(), low] = np.nan
    charlson = wide.sum(axis=1)
    fr = _prefix_match(dx, load_codelist("frailty_iau6"), ["category"])
    frailty = fr.drop_duplicates(["person_id", "category"]).groupby("person_id").size()
    h = dx.assign(code=dx["code"].str.slice(0, 3)).drop_duplicates(["person_id", "code"])
    hf = _prefix_match(h, load_codelist("hfrs"), ["weight"]).drop_duplicates(["person_id", "code"])
    hfrs = hf.groupby("person_id")["weight"].sum()
    out = pd.DataFrame({"charlson": charlson, "frailty_syndromes": frailty, "hfrs": hfrs})
    return out.fillna(0)


def build_cohort(t: dict[str, pd.DataFrame], events: pd.DataFrame, *, index_window, min_age,
                 setting_types, intervention_ids, control_areas, data_cut, lookback_days,
                 outcomes) -> pd.DataFrame:
    """Person-level cohort table (rules of impacteval.cohort)."""
    s = t["settings"][t["settings"]["START_DATE"].notna()]
    s = s.sort_values(["person_id", "START_DATE", "SETTING_ID", "END_DATE"], kind="stable")
    first = s.groupby("person_id", sort=False).head(1)
    p = t["persons"][["person_id", "MYDOB", "SEX", "ETHNOS", "IMD19_DECILE", "CCG_CODE"]]
    dod = t["deaths"].groupby("person_id")["DOD"].min()
    c = first.merge(p, on="person_id").rename(columns={
        "START_DATE": "index_date", "SETTING_ID": "setting_id", "SETTING_TYPE": "setting_type"})
    c["DOD"] = c["person_id"].map(dod)
    c["treated"] = c["setting_id"].isin(intervention_ids).astype(np.int64)
    idx = c["index_date"]
    bm = c["MYDOB"].str.slice(0, 2).astype(int)
    by = c["MYDOB"].str.slice(2, 6).astype(int)
    before = (idx.dt.month < bm) | ((idx.dt.month == bm) & (idx.dt.day < 15))
    c["age"] = idx.dt.year - by - before.astype(int)
    cut = pd.Timestamp(data_cut)
    c["follow_up_end"] = pd.concat([c["DOD"].fillna(cut), c["END_DATE"].fillna(cut)],
                                   axis=1).min(axis=1).clip(upper=cut)
    lo, hi = (pd.Timestamp(x) for x in index_window)
    keep = ((idx >= lo) & (idx <= hi) & ((c["treated"] == 1) | c["CCG_CODE"].isin(control_areas))
            & c["setting_type"].isin(setting_types) & (c["age"] >= min_age)
            & (c["DOD"].isna() | (c["DOD"] >= idx)) & (c["follow_up_end"] >= idx))
    c = c[keep].copy()
    # windowed counts: one merge of the cohort to its events, then conditional sums
    m = c[["person_id", "index_date", "follow_up_end"]].merge(events, on="person_id")
    fu_stop = m["follow_up_end"] + pd.Timedelta(days=1)
    windows = {"_y2": (m["index_date"] - pd.Timedelta(days=730), m["index_date"] - pd.Timedelta(days=365)),
               "_y1": (m["index_date"] - pd.Timedelta(days=365), m["index_date"]),
               "": (m["index_date"], fu_stop)}
    out = {}
    for suffix, (start, stop) in windows.items():
        names = MEASURES if suffix else {k: v for k, v in MEASURES.items() if k in outcomes}
        for col, event in names.items():
            is_ev = m["event"] == event
            if event == "bed_days":
                n = (np.minimum(m["end_date"], stop) - np.maximum(m["start_date"], start)).dt.days
                val = n.clip(lower=0).where(is_ev, 0).fillna(0)
            else:
                val = (is_ev & (m["start_date"] >= start) & (m["start_date"] < stop)).astype(int)
            out[col + suffix] = val.groupby(m["person_id"]).sum()
    counts = pd.DataFrame(out)
    c = c.set_index("person_id").join(counts).fillna({k: 0 for k in counts.columns})
    # comorbidity scores over the look-back diagnoses
    apc = t["apc_episodes"]
    apc = apc[(apc["EPISTAT"] == "3") & apc["person_id"].isin(c.index)]
    dcols = [x for x in apc.columns if x.startswith("DIAG_4_")]
    dx = apc[["person_id", "EPISTART", *dcols]].melt(["person_id", "EPISTART"], value_name="code")
    dx = dx[dx["code"].notna()].drop(columns="variable")
    dx["code"] = dx["code"].str.strip().str.upper()
    dx = dx[(dx["code"] != "") & ~dx["code"].str.startswith("R69")]  # 'unknown' codes
    dx["index_date"] = dx["person_id"].map(c["index_date"])
    dx = dx[(dx["EPISTART"] >= dx["index_date"] - pd.Timedelta(days=lookback_days))
            & (dx["EPISTART"] < dx["index_date"])]
    c = c.join(_scores(dx[["person_id", "code"]]))
    c[["charlson", "frailty_syndromes", "hfrs"]] = c[["charlson", "frailty_syndromes", "hfrs"]].fillna(0)
    c["person_years"] = ((c["follow_up_end"] - c["index_date"]).dt.days + 1) / 365.25
    c["deaths"] = (c["DOD"].notna() & (c["DOD"] <= c["follow_up_end"])).astype(int)
    return c.reset_index().sort_values("person_id", ignore_index=True)


__all__ = ["build_cohort", "build_spells", "derive_events", "link"]
