"""Benchmark: impacteval's RegressionDiscontinuity against rdrobust on simulated data.

Same N simulated observations (default 1,000,000), both estimators in one process, default
settings (p=1, triangular kernel, mserd bandwidth) and the chosen variance (default nn).
Prints the time of each, the ratio and the largest relative difference of the estimates,
standard errors and bandwidths. rdrobust is imported only here; without it the script says so
and exits.

    python benchmarks/rdd_vs_rdrobust.py [--n 1000000] [--vce nn] [--seed 20261130]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from impacteval.estimators.rdd import RegressionDiscontinuity


def simulate(n: int, seed: int) -> pd.DataFrame:
    """Sharp RD with the Lee (2008) design of CCT (2014): x ~ 2 Beta(2, 4) - 1, jump 0.04."""
    rng = np.random.default_rng(seed)
    x = 2 * rng.beta(2, 4, size=n) - 1
    # Lee (2008)-style curvature used in Calonico, Cattaneo and Titiunik (2014) simulations.
    left = 0.48 + 1.27 * x + 7.18 * x**2 + 20.21 * x**3 + 21.54 * x**4 + 7.33 * x**5
    right = 0.52 + 0.84 * x - 3.00 * x**2 + 7.99 * x**3 - 9.01 * x**4 + 3.56 * x**5
    y = np.where(x < 0, left, right) + rng.normal(0, 0.1295, size=n)
    return pd.DataFrame({"x": x, "y": y})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--vce", default="nn", choices=["nn", "hc0", "hc1", "hc2", "hc3"])
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    try:
        from rdrobust import rdrobust
    except ImportError:
        print("rdrobust is not installed: `pip install rdrobust` to run this benchmark.")
        return 0

    df = simulate(args.n, args.seed)
    t0 = time.perf_counter()
    ours = RegressionDiscontinuity(vce=args.vce).fit(df, outcome="y", running="x")
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = rdrobust(df["y"].to_numpy(), df["x"].to_numpy(), vce=args.vce)
    t_ref = time.perf_counter() - t0

    d = ours.details
    pairs = {
        "tau_conventional": (d["estimate_conventional"], ref.coef.iloc[0, 0]),
        "tau_bias_corrected": (d["estimate_bias_corrected"], ref.coef.iloc[1, 0]),
        "se_conventional": (d["se_conventional"], ref.se.iloc[0, 0]),
        "se_robust": (d["se_robust"], ref.se.iloc[2, 0]),
        "h": (d["h_left"], ref.bws.iloc[0, 0]),
        "b": (d["b_left"], ref.bws.iloc[1, 0]),
    }
    rel = {k: abs(a - b) / abs(b) for k, (a, b) in pairs.items()}
    print(f"n = {args.n:,}  vce = {args.vce}")
    print(f"impacteval: {t_ours:8.2f} s   estimate {d['estimate_conventional']:.6f}")
    print(f"rdrobust:   {t_ref:8.2f} s   estimate {ref.coef.iloc[0, 0]:.6f}")
    print(f"speed-up (rdrobust / impacteval): {t_ref / t_ours:.1f}x")
    print(f"max relative difference: {max(rel.values()):.2e} ({max(rel, key=rel.get)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
