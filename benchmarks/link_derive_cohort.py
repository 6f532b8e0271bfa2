"""Benchmark: link + derive + cohort on DuckDB (impacteval, via Ibis) against plain pandas.

    .venv/bin/python benchmarks/link_derive_cohort.py --persons 1000000 --seed 1

Generates (or reuses) a synthetic extract, runs impacteval's ingest once to get the cleaned
contract tables (not timed: both sides start from the same cleaned Parquet files), then runs
each implementation in a fresh process and reports its wall time and peak resident memory
(``ru_maxrss`` of that process, DuckDB's threads included), the ratios, and whether the two
cohort tables agree column by column.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = REPO / "configs" / "demo.yaml"
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")

OURS = r"""
import json, resource, sys, time
from pathlib import Path
import ibis
from impacteval.config import load_config
from impacteval.cohort import build_cohort
from impacteval.derive import derive_events, diagnoses
from impacteval.engine import connect
from impacteval.linkage import link
clean, cfg_path, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
cfg = load_config(cfg_path)
t0 = time.perf_counter()
con = connect("duckdb")
tables = {n: con.read_parquet(str(clean / f"{n}.parquet")) for n in %r}
linked = link(tables)
events = derive_events(linked.tables, data_cut=cfg.data.data_cut)
cohort = build_cohort(con, linked.tables, events, diagnoses(linked.tables["apc_episodes"]),
                      cfg.cohort, list(cfg.outcomes), cfg.data.data_cut)
seconds = time.perf_counter() - t0
cohort.table.to_parquet(out)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(cohort.table)}))
""" % (TABLES,)

PANDAS = r"""
import json, resource, sys, time
from pathlib import Path
import pandas as pd
sys.path.insert(0, %r)
import pandas_cohort as pc
from impacteval.cohort.intervention import intervention_settings
from impacteval.config import load_config
clean, cfg_path, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
cfg = load_config(cfg_path)
t0 = time.perf_counter()
t = {}
for n in %r:
    df = pd.read_parquet(clean / f"{n}.parquet")
    for c in df.columns:
        if str(df[c].dtype).startswith(("date32", "object")) and n != "persons" or c in ("REG_START", "REG_END"):
            if c.endswith("DATE") or c in ("EPISTART", "EPIEND", "DOD", "DOR", "REG_START", "REG_END", "START_DATE", "END_DATE"):
                df[c] = pd.to_datetime(df[c])
    t[n] = df
t = pc.link(t)
events = pc.derive_events(t, cfg.data.data_cut)
c = cfg.cohort
table = pc.build_cohort(t, events, index_window=c.index_window, min_age=c.min_age,
                        setting_types=list(c.setting_types), intervention_ids=intervention_settings(c),
                        control_areas=list(c.control_areas), data_cut=cfg.data.data_cut,
                        lookback_days=c.lookback_days, outcomes=list(cfg.outcomes))
seconds = time.perf_counter() - t0
table.to_parquet(out)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(table)}))
""" % (str(HERE), TABLES)


def _config_for(data: Path, folder: Path) -> Path:
    import yaml

    cfg = yaml.safe_load(CONFIG.read_text())
    for table in TABLES:
        cfg["data"][table] = str(data / f"{table}.parquet")
    cfg["cohort"]["treated_settings_file"] = str(data / "intervention_settings.csv")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _clean_tables(cfg_path: Path, clean: Path) -> None:
    from impacteval.config import load_config
    from impacteval.data.ingest import ingest
    from impacteval.engine import connect

    cfg = load_config(cfg_path)
    con = connect("duckdb")
    result = ingest(cfg.data, con)
    clean.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables.items():
        con.to_parquet(table, clean / f"{name}.parquet")


def _run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=None, help="reuse or write the extract here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iebench-"))
    data = args.data or work / "extract"
    if not (data / "persons.parquet").is_file():
        from impacteval.data.synth import generate

        t0 = time.perf_counter()
        generate(args.persons, args.seed, data)
        print(f"generated {args.persons:,} persons in {time.perf_counter() - t0:.1f} s")
    rows = pd.read_parquet(data / "apc_episodes.parquet", columns=["EPIKEY"]).shape[0]
    cfg_path = _config_for(data, work)
    clean = work / "clean"
    _clean_tables(cfg_path, clean)
    ours = _run(OURS, str(clean), str(cfg_path), str(work / "ours.parquet"))
    peer = _run(PANDAS, str(clean), str(cfg_path), str(work / "pandas.parquet"))
    print(f"extract: {args.persons:,} persons, {rows:,} APC episode rows")
    print(f"{'engine':<22}{'seconds':>10}{'peak MB':>10}{'cohort rows':>13}")
    for name, r in (("impacteval (DuckDB)", ours), ("plain pandas", peer)):
        print(f"{name:<22}{r['seconds']:>10.1f}{r['peak_mb']:>10.0f}{r['rows']:>13,}")
    print(f"pandas / impacteval: time x{peer['seconds'] / ours['seconds']:.2f}, "
          f"peak memory x{peer['peak_mb'] / ours['peak_mb']:.2f}")
    a = pd.read_parquet(work / "ours.parquet").set_index("person_id").sort_index()
    b = pd.read_parquet(work / "pandas.parquet").set_index("person_id").sort_index()
    same_rows = a.index.equals(b.index)
    cols = [c for c in a.columns if c in b.columns and pd.api.types.is_numeric_dtype(a[c])]
    diffs = {c: int((a[c].astype(float) - b.loc[a.index, c].astype(float)).abs().gt(1e-9).sum())
             for c in cols} if same_rows else {}
    bad = {c: n for c, n in diffs.items() if n}
    print(f"same persons: {same_rows}; columns compared: {len(cols)}; "
          f"columns that differ: {bad if bad else 'none'}")


if __name__ == "__main__":
    main()
