"""Benchmark: impacteval's GeneticMatcher against R's Matching::GenMatch on the same data.

Simulated confounded data (6 covariates: 4 continuous, 2 binary; treatment by a logit in
them). Our loss is ``--loss`` (default ``smd``: minimise the largest |SMD|, the quantity
compared); GenMatch uses its default p-value loss. Both searches use the same population size and number of generations (GenMatch with
``hard.generation.limit = TRUE`` and ``wait.generations`` = the generation limit, so neither
stops early), ATT, 1:1 matching with replacement, balance on the covariates, the p-value loss.
GenMatch runs through ``Rscript`` (subprocess) in the same script run; its weights are then
used by ``Matching::Match`` and the resulting match's largest |SMD| (treated-arm SD of the
unmatched sample, the same definition as ours) is computed in R.

Prints one line per size and loss: median times over ``--runs`` search seeds, the time ratio
(R / ours), the median largest |SMD| and the median smallest balance p-value of the final
match (paired t-tests and KS tests computed by one function for both tools; GenMatch's
weights re-matched with ``ties = FALSE`` for it).

    python benchmarks/genetic_vs_genmatch.py [--sizes 200x2000,500x5000] [--pop 20] [--gens 5]
        [--runs 5] [--loss smd|pvalue|both]

Needs Rscript with r-cran-matching and r-cran-rgenoud; without them only ours runs.
The issue's size (2,000 treated, 50,000 controls) takes GenMatch about 18 minutes here:

    python benchmarks/genetic_vs_genmatch.py --sizes 200x2000,500x5000,1000x10000,2000x50000

Measured 2026-11-30 on the shared 2-core machine (load about 8), pop 20, 5 generations, one
seed: 2000 x 50000: ours 4.4 s (smd loss), GenMatch 1087 s (ratio 247); largest |SMD| 0.018
(ours) vs 0.033 (GenMatch).

The p-value loss (warm start from the SMD search, random moves around the best genome),
measured 2026-11-30 (load 8-12) with

    python benchmarks/genetic_vs_genmatch.py --sizes 200x2000,500x5000 --runs 5 --loss both

(4.4 minutes), medians over search seeds 1..5:

    size        loss    ours_s  genmatch_s  ratio  max|smd| ours / GenMatch  min p ours / GenMatch
    200x2000    pvalue   2.87     8.47       3.0       0.059 / 0.068          0.083 / 0.039
    500x5000    pvalue   2.14    36.35      17.0       0.084 / 0.072          0.012 / 0.0002
    200x2000    smd      1.47     8.47       5.8       0.042 / 0.068          0.025 / 0.039
    500x5000    smd      1.45    36.35      25.1       0.047 / 0.072          0.000 / 0.0002

At the issue's size, ours only (``--sizes 2000x50000 --runs 1 --loss both --no-r``): smd loss
6.5 s, largest |SMD| 0.018; p-value loss 10.3 s, largest |SMD| 0.024 (before the warm start:
0.068), against GenMatch's 1087 s and 0.033 above (same data, seed 1).

Both searches are noisy from seed to seed (GenMatch's smallest p-value at 200x2000 ranged
0.016 to 0.13 over six seeds), hence the medians.
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

from impacteval.matching.genetic import GeneticMatcher

R_SCRIPT = r"""
suppressPackageStartupMessages({library(Matching); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); pop <- as.integer(args[2]); gens <- as.integer(args[3])
seed <- as.integer(args[4])
X <- as.matrix(d[, setdiff(names(d), "treat")]); Tr <- d$treat
t0 <- proc.time()[["elapsed"]]
set.seed(seed)
gen <- GenMatch(Tr = Tr, X = X, BalanceMatrix = X, estimand = "ATT", M = 1, replace = TRUE,
                pop.size = pop, max.generations = gens, wait.generations = gens,
                hard.generation.limit = TRUE, print.level = 0)
m <- Match(Tr = Tr, X = X, estimand = "ATT", M = 1, replace = TRUE, Weight.matrix = gen)
# the same weights without ties (one control per treated unit), for one p-value function
m1 <- Match(Tr = Tr, X = X, estimand = "ATT", M = 1, replace = TRUE, Weight.matrix = gen,
            ties = FALSE)
elapsed <- proc.time()[["elapsed"]] - t0
sd1 <- apply(X[Tr == 1, , drop = FALSE], 2, sd)
mt <- colSums(X[m$index.treated, , drop = FALSE] * m$weights) / sum(m$weights)
mc <- colSums(X[m$index.control, , drop = FALSE] * m$weights) / sum(m$weights)
cat(toJSON(list(seconds = elapsed, max_abs_smd = max(abs(mt - mc) / sd1), min_p_own = gen$value[1],
                idx_t = m1$index.treated - 1, idx_c = m1$index.control - 1),
           auto_unbox = TRUE, digits = NA))
"""


def simulate(n1: int, n0: int, seed: int) -> pd.DataFrame:
    """Confounded data: controls drawn from a shifted population; 4 continuous, 2 binary."""
    rng = np.random.default_rng(seed)
    n = n1 + n0
    treat = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    shift = np.where(treat == 1, 0.5, 0.0)
    age = rng.normal(70 + 5 * shift, 8)
    adm = rng.gamma(2 + 2 * shift, 1.0)
    imd = rng.normal(shift, 1)
    bmi = rng.normal(27 - 2 * shift, 4)
    frail = (rng.random(n) < 0.3 + 0.3 * shift).astype(int)
    male = (rng.random(n) < 0.5 - 0.2 * shift).astype(int)
    return pd.DataFrame(
        {
            "treat": treat,
            "age": age,
            "adm": adm,
            "imd": imd,
            "bmi": bmi,
            "frail": frail,
            "male": male,
        }
    )


def run_r(path: Path, pop: int, gens: int, seed: int) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(R_SCRIPT)
    proc = subprocess.run(
        ["Rscript", f.name, str(path), str(pop), str(gens), str(seed)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        print("GenMatch failed:", proc.stderr.strip().splitlines()[-1:], file=sys.stderr)
        return None
    out = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def _min_p(df: pd.DataFrame, covs: list[str], ti: np.ndarray, ci: np.ndarray) -> float:
    """Smallest balance p-value of 1:1 pairs: paired t-tests on every covariate and asymptotic
    KS tests on the non-binary ones (our p-value loss), the same function for both tools."""
    from scipy import stats

    from impacteval.matching.genetic import _ks_pvalue

    order = np.argsort(ti, kind="stable")
    X = df[covs].to_numpy(dtype=float)
    Xt, Xc = X[ti[order]], X[ci[order]]
    diff = Xt - Xc
    n = diff.shape[0]
    sd = diff.std(axis=0, ddof=1)
    mean = diff.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.abs(mean) / (sd / np.sqrt(n))
    p = list(np.where(sd > 0, 2 * stats.t.sf(tstat, n - 1), np.where(mean == 0, 1.0, 0.0)))
    for j in range(X.shape[1]):
        if not np.all(np.isin(X[:, j], (0.0, 1.0))):
            p.append(_ks_pvalue(Xt[:, j], Xc[:, j]))
    return float(min(p))


def _ours(df: pd.DataFrame, covs: list[str], loss: str, pop: int, gens: int,
          seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    g = GeneticMatcher(
        loss=loss, pop_size=pop, max_generations=gens, wait_generations=gens, seed=seed
    ).fit(df[covs], df["treat"].to_numpy())
    seconds = time.perf_counter() - t0
    _, after = g.match.balance(df[covs])
    pairs = g.match.pairs
    return {
        "seconds": seconds,
        "max_abs_smd": float(np.abs(after["smd"]).max()),
        "min_p": _min_p(df, covs, pairs["treated_index"].to_numpy(),
                        pairs["control_index"].to_numpy()),
    }


def _genmatch(df: pd.DataFrame, covs: list[str], pop: int, gens: int,
              seed: int) -> dict[str, float] | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        df.to_csv(path, index=False)
        r = run_r(path, pop, gens, seed)
    if r is None:
        return None
    r["min_p"] = _min_p(df, covs, np.asarray(r.pop("idx_t"), dtype=np.int64),
                        np.asarray(r.pop("idx_c"), dtype=np.int64))
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200x2000,500x5000,1000x10000")
    parser.add_argument("--pop", type=int, default=20)
    parser.add_argument("--gens", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261130, help="seed of the data")
    parser.add_argument("--runs", type=int, default=1,
                        help="search seeds 1..RUNS for both tools; medians are printed")
    parser.add_argument("--loss", default="smd", choices=["smd", "pvalue", "both"])
    parser.add_argument("--no-r", action="store_true", help="run ours only")
    args = parser.parse_args()
    covs = ["age", "adm", "imd", "bmi", "frail", "male"]
    losses = ["smd", "pvalue"] if args.loss == "both" else [args.loss]
    print(f"pop_size={args.pop} generations={args.gens} our loss={args.loss} (GenMatch: pvals); "
          f"medians over search seeds 1..{args.runs}")
    print("min_p: the smallest balance p-value of the final 1:1 match (paired t and KS tests), "
          "one function for both tools (GenMatch's match re-done with ties = FALSE)")
    print("n_treated n_control  loss    ours_s  genmatch_s  ratio  ours_max|smd|  "
          "genmatch_max|smd|  ours_min_p  genmatch_min_p")
    seeds = range(1, args.runs + 1)

    def med(rows: list[dict[str, float]], key: str) -> float:
        return float(np.median([r[key] for r in rows]))

    for size in args.sizes.split(","):
        n1, n0 = (int(v) for v in size.split("x"))
        df = simulate(n1, n0, args.seed)
        rs: list[dict[str, float]] = []
        if not args.no_r:
            for s in seeds:
                r = _genmatch(df, covs, args.pop, args.gens, s)
                if r is not None:
                    rs.append(r)
        for loss in losses:
            ours = [_ours(df, covs, loss, args.pop, args.gens, s) for s in seeds]
            head = (f"{n1:9d} {n0:9d}  {loss:6s} {med(ours, 'seconds'):7.2f}")
            smd, p = med(ours, "max_abs_smd"), med(ours, "min_p")
            if not rs:
                print(f"{head}  {'-':>10}  {'-':>5}  {smd:13.4f}  {'-':>17}  {p:10.4f}  -")
            else:
                rsec = med(rs, "seconds")
                print(
                    f"{head}  {rsec:10.2f}  {rsec / med(ours, 'seconds'):5.1f}  "
                    f"{smd:13.4f}  {med(rs, 'max_abs_smd'):17.4f}  {p:10.4f}  "
                    f"{med(rs, 'min_p'):14.4f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
