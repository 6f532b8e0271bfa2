"""Benchmark: 1:1 logit-propensity nearest-neighbour matching, impacteval against R's MatchIt.

Simulated data: ``--n-treated`` treated and ``--n-control`` controls (default 10,000 and
1,000,000) with 10 covariates (7 normal, 3 binary), treatment by a logit in them. Both sides
fit the logistic propensity model and match 1:1 without replacement on the logit propensity
(MatchIt: ``distance = "glm", link = "linear.logit"``, default order "largest"); times cover
model fit plus matching (MatchIt's ``matchit()`` call; our ``PropensityModel().fit`` plus
``nearest_neighbour_match``). MatchIt runs through ``Rscript`` (subprocess) on the same data,
written to a temporary CSV; reading the CSV is not timed. Also reports how many matched pairs
agree.

MatchIt must be the build with upstream's abs() fix (Debian's 4.5.1 truncates distance
differences: see tests/reference/scripts/build_matchit_fixed.sh); pass its library with
``--matchit-lib`` (default /tmp/Rlib).

    python benchmarks/nearest_vs_matchit.py [--n-treated 10000] [--n-control 1000000]

Measured 2026-11-30 on the shared 2-core machine (load about 8): impacteval 25.4 s, MatchIt
192.6 s (ratio 7.6); all 10,000 pairs identical.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from impacteval.matching import PropensityModel, nearest_neighbour_match

R_SCRIPT = r"""
suppressPackageStartupMessages({library(MatchIt, lib.loc = Sys.getenv("MATCHIT_LIB")); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- data.table::fread(args[1], data.table = FALSE)
covs <- setdiff(names(d), "treat")
f <- reformulate(covs, response = "treat")
t0 <- proc.time()[["elapsed"]]
m <- matchit(f, data = d, method = "nearest", distance = "glm", link = "linear.logit")
elapsed <- proc.time()[["elapsed"]] - t0
mm <- m$match.matrix
pairs <- cbind(as.integer(rownames(mm)), as.integer(mm[, 1]))
pairs <- pairs[!is.na(pairs[, 2]), , drop = FALSE]
writeLines(toJSON(pairs), args[2])
cat(toJSON(list(seconds = elapsed), auto_unbox = TRUE, digits = NA))
"""


def simulate(n1: int, n0: int, seed: int) -> pd.DataFrame:
    """Ten covariates; treated units drawn from a shifted population."""
    rng = np.random.default_rng(seed)
    n = n1 + n0
    treat = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    shift = 0.4 * treat
    cols = {f"x{k}": rng.normal(shift * (k % 3 - 1), 1.0) for k in range(7)}
    for k in range(7, 10):
        cols[f"b{k}"] = (rng.random(n) < 0.3 + 0.2 * shift).astype(int)
    df = pd.DataFrame(cols)
    df.insert(0, "treat", treat)
    return df


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-treated", type=int, default=10_000)
    parser.add_argument("--n-control", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--matchit-lib", default="/tmp/Rlib")
    args = parser.parse_args()
    df = simulate(args.n_treated, args.n_control, args.seed)
    covs = [c for c in df.columns if c != "treat"]
    t = df["treat"].to_numpy()
    t0 = time.perf_counter()
    fit = PropensityModel().fit(df[covs], t)
    m = nearest_neighbour_match(fit.logit, t, distance_name="logit_propensity")
    ours = time.perf_counter() - t0
    print(f"{args.n_treated} treated, {args.n_control} controls, 10 covariates")
    print(f"impacteval: {ours:8.2f} s ({m.n_matched_treated} pairs)")
    if shutil.which("Rscript") is None or not Path(args.matchit_lib, "MatchIt").exists():
        print("MatchIt (fixed build) not found: build it with build_matchit_fixed.sh to compare.")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        out = Path(tmp) / "pairs.json"
        script = Path(tmp) / "run.R"
        df.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(script), str(data), str(out)],
            capture_output=True,
            text=True,
            env={"MATCHIT_LIB": args.matchit_lib, "PATH": "/usr/bin:/bin"},
        )
        if proc.returncode != 0:
            print("MatchIt failed:", proc.stderr.strip()[-500:])
            return 1
        r_seconds = float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])
        r_pairs = {(int(a) - 1, int(b) - 1) for a, b in json.loads(out.read_text())}
    ours_pairs = set(zip(m.pairs["treated_index"], m.pairs["control_index"], strict=True))
    print(f"MatchIt:    {r_seconds:8.2f} s ({len(r_pairs)} pairs)")
    print(f"ratio MatchIt / impacteval: {r_seconds / ours:.1f}")
    print(f"pairs in common: {len(ours_pairs & r_pairs)} of {len(r_pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
