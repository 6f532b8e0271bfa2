"""Time the synthetic data generator and report rows per table.

Usage: ``python benchmarks/synth_speed.py [N_PERSONS] [OUT_DIR]`` (defaults: 1,000,000 persons,
a temporary folder that is removed afterwards). Prints stage timings (``progress=True``), the
row count and size of every table, and the total wall time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from impacteval.data.synth import TABLES, generate


def main(n_persons: int, out: Path) -> None:
    start = time.perf_counter()
    generate(n_persons, 2017, out, progress=True)
    elapsed = time.perf_counter() - start
    for table in TABLES:
        path = out / f"{table}.parquet"
        rows = pq.ParquetFile(path).metadata.num_rows
        print(f"{table:<16} {rows:>12,d} rows {path.stat().st_size / 1e6:8.1f} MB")
    print(f"{n_persons:,d} persons in {elapsed:.1f} s")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if len(sys.argv) > 2:
        main(n, Path(sys.argv[2]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(n, Path(tmp))
