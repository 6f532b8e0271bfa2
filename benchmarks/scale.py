"""Benchmark: time and peak memory of stages 1-4 (ingest, link, derive, cohort) per engine.

    .venv/bin/python benchmarks/scale.py --persons 1000000 --engines duckdb spark \\
        --memory-limit 8GB --threads 2 --work /work/scale_tmp

Generates (or reuses, with ``--data``) a synthetic extract, in chunks of ``--chunk-persons``
(one Parquet file per chunk in a folder per table) so the generator's memory stays that of
one chunk. Each engine then runs in a fresh process that calls the same stage functions as
``impacteval run`` in the same order, with the runner's progress display on stderr. Stage 3
(derive) only builds expressions; the engines execute them in stage 4, whose time and memory
therefore include the derivation of spells and events.

CPU s is the user + system time of the process and its children over the stage (on a shared
machine a better guide than wall time). Peak memory is the largest resident set of the process and its children (the JVM for Spark),
sampled every 0.1 s by a thread, reset at each stage start. DuckDB runs with ``memory_limit``,
``threads`` and ``temp_directory`` (spilling) as in the config keys ``data.memory_limit``,
``data.threads`` and ``data.temp_directory``; Spark runs in local mode with ``local[threads]``
and ``spark.driver.memory`` equal to the memory limit. At the end the cohort tables of the
engines are compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = REPO / "configs" / "demo.yaml"
TABLES = ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings")
STAGES = ("ingest", "link", "derive", "cohort")

WORKER = r"""
import contextlib, json, os, sys, threading, time
from pathlib import Path
import psutil
from impacteval.cohort import build_cohort
from impacteval.config import load_config
from impacteval.data.ingest import ingest
from impacteval.derive import derive_events, diagnoses
from impacteval.engine import connect
from impacteval.linkage import link
from impacteval.pipeline.progress import StageProgress

cfg_path, engine, memory_limit, threads, temp, out = sys.argv[1:7]
cfg = load_config(cfg_path)
me = psutil.Process()
peak = {"now": 0}
stop = threading.Event()

def rss() -> int:
    total = 0
    for p in [me, *me.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total

def sample() -> None:
    while not stop.is_set():
        peak["now"] = max(peak["now"], rss())
        time.sleep(0.1)

threading.Thread(target=sample, daemon=True).start()
t_start = time.perf_counter()
if engine == "spark":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(f"local[{threads}]")
             .config("spark.driver.memory", memory_limit.replace("GB", "g"))
             .config("spark.sql.shuffle.partitions", str(4 * int(threads)))
             .config("spark.local.dir", temp).config("spark.ui.enabled", "false").getOrCreate())
    con = connect("spark", spark_session=spark)
else:
    con = connect("duckdb", memory_limit=memory_limit, threads=int(threads), temp_directory=temp)
startup = time.perf_counter() - t_start
bar = StageProgress(total=4)
peaks, cpu = {}, {}

def cpu_seconds() -> float:
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total

@contextlib.contextmanager
def stage(name, description):
    peak["now"], start = rss(), cpu_seconds()
    with bar.stage(name, description):
        yield
    peaks[name], cpu[name] = peak["now"], cpu_seconds() - start

with stage("ingest", "ingest and clean episode tables"):
    ingested = ingest(cfg.data, con)
with stage("link", "link datasets on the pseudonymised key"):
    linked = link(ingested.tables)
with stage("derive", "derive spells and events"):
    events = derive_events(linked.tables, data_cut=cfg.data.data_cut)
    dx = diagnoses(linked.tables["apc_episodes"])
with stage("cohort", "build cohort, covariates and outcomes"):
    cohort = build_cohort(con, linked.tables, events, dx, cfg.cohort, list(cfg.outcomes),
                          cfg.data.data_cut)
stop.set()
cohort.table.sort_values("person_id").reset_index(drop=True).to_parquet(out)
rows = {r["table"]: int(r["count"]) for r in ingested.report.to_dict("records")
        if r["measure"] == "rows_read"}
print(json.dumps({"startup": startup, "seconds": bar.timings, "cpu": cpu, "peak_mb": {k: v / 2**20 for k, v in peaks.items()},
                  "cohort_rows": len(cohort.table), "rows_read": rows}))
"""


def _config_for(data: Path, folder: Path) -> Path:
    import yaml

    cfg = yaml.safe_load(CONFIG.read_text())
    for table in TABLES:
        single = data / f"{table}.parquet"
        cfg["data"][table] = str(single if single.is_file() else data / table)
    cfg["cohort"]["treated_settings_file"] = str(data / "intervention_settings.csv")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run_engine(engine: str, cfg_path: Path, args: argparse.Namespace, out: Path) -> dict:
    temp = args.work / f"spill-{engine}"
    temp.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", WORKER, str(cfg_path), engine, args.memory_limit,
           str(args.threads), str(temp), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t0
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk-persons", type=int, default=1_000_000)
    ap.add_argument("--engines", nargs="+", choices=("duckdb", "spark"), default=["duckdb", "spark"])
    ap.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit; Spark driver memory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, required=True, help="folder for the extract, spill and outputs")
    ap.add_argument("--data", type=Path, default=None, help="reuse the extract in this folder")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = args.data or args.work / f"extract-{args.persons}"
    if not (data / "truth.json").is_file():
        from impacteval.data.synth import generate

        t0 = time.perf_counter()
        generate(args.persons, args.seed, data, chunk_persons=args.chunk_persons, progress=True)
        print(f"generated {args.persons:,} persons in {time.perf_counter() - t0:.1f} s")
    cfg_path = _config_for(data, args.work)
    results = {}
    for engine in args.engines:
        results[engine] = _run_engine(engine, cfg_path, args, args.work / f"cohort-{engine}.parquet")
    first = results[args.engines[0]]
    rows = ", ".join(f"{t} {n:,}" for t, n in first["rows_read"].items())
    print(f"\nextract: {args.persons:,} persons; rows read: {rows}")
    print(f"limits: memory {args.memory_limit}, threads {args.threads}")
    head = f"{'engine':<8}{'stage':<10}{'seconds':>10}{'CPU s':>10}{'peak MB':>10}"
    print(head)
    print("-" * len(head))
    for engine, r in results.items():
        print(f"{engine:<8}{'start':<10}{r['startup']:>10.1f}")
        for s in STAGES:
            print(f"{engine:<8}{s:<10}{r['seconds'][s]:>10.1f}{r['cpu'][s]:>10.1f}{r['peak_mb'][s]:>10.0f}")
        total, total_cpu = sum(r["seconds"].values()), sum(r["cpu"].values())
        print(f"{engine:<8}{'total':<10}{total:>10.1f}{total_cpu:>10.1f}{max(r['peak_mb'].values()):>10.0f}"
              f"   cohort rows {r['cohort_rows']:,}")
    if len(results) > 1:
        import pandas as pd

        frames = [pd.read_parquet(args.work / f"cohort-{e}.parquet") for e in results]
        try:
            for other in frames[1:]:
                pd.testing.assert_frame_equal(frames[0], other, check_dtype=False)
            same = "yes"
        except AssertionError as exc:
            same = f"no ({str(exc).splitlines()[0]})"
        print(f"cohort tables identical across engines: {same}")


if __name__ == "__main__":
    main()
